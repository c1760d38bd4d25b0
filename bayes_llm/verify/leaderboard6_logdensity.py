"""The joint six-benchmark model's log density, in NumPy/SciPy, from ``models/README.md``.

An independent implementation of the density of ``outcome = "leaderboard6"`` (section "The
joint model of the six leaderboard benchmarks" of ``models/README.md``): it does not import
``bayes_llm.model.leaderboard6``'s model code (only its data container, ``Leaderboard6Data``).
``tests/test_leaderboard6_logdensity.py`` compares it with the PyMC model term by term.

For model *i*, benchmark *b*::

    mu_ib = alpha_b + beta_b x_i + gamma_t(i) + delta_b,t(i) + u_j(i),b + lambda_b theta_i

Terms (each sampled variable given its parents, each observed variable; constrained values,
Lebesgue measure, sum-to-zero vectors on their subspace as in
:mod:`bayes_llm.verify.logdensity`):

* ``alpha``, ``beta``, ``ability_loading``, ``sigma_model`` (count benchmarks),
  ``sigma_period``, ``sigma_period_benchmark``, ``ifeval_precision`` (phi): their spec priors;
* ``period_effect`` gamma ~ ZeroSumNormal(sigma_period) (``period_parameterisation``
  ``non_centred``: ``period_effect_z`` ~ ZeroSumNormal(1), gamma = sigma_period z;
  ``partially_non_centred``: ``period_effect_z`` ~ ZeroSumNormal(sqrt(sigma_period)),
  gamma = sqrt(sigma_period) z);
  ``period_benchmark_effect`` delta_b ~ ZeroSumNormal(sigma_period_benchmark) over
  periods, for each benchmark (only with more than one period);
* ability, ``unit``: ``ability`` theta ~ ZeroSumNormal(1) over models; ``scaled``:
  ``ability_z`` z_i ~ Normal(0, 1/h_i), h_i = (1 + sum_o lambda_b(o)^2 / (sigma_model_b(o)^2
  + v_o))^(-1/2) over model i's counts o, v_o = p (1 - p) / (n [(1 - c) s (1 - s)]^2) at
  the observed share p = k/n, s = (p - c)/(1 - c) clipped to [0.02, 0.98]; theta = h z -
  mean(h z); ``conditional``: z_i ~ Normal(-m_i/h_i, 1/h_i) and theta = m + h z - mean(m + h z),
  m_i = h_i^2 sum_o lambda_b(o) (logit(s_o) - mu_rest_o) / (sigma_model_b(o)^2 + v_o) with
  mu_rest the linear predictor without lambda theta;
* developer effects: ``developer_z`` ~ Normal(0, 1) iid (non-centred, raw = z L') or
  ``developer_raw`` ~ MvNormal(0, L L') per developer (centred), or, ``partial``, the
  latter for the developers with at least ``PARTIAL_CENTRING_MIN_MODELS`` models (in the
  order of the developer labels) and the former for the rest; u = raw - mean over
  developers;
* counts, ``centred``: ``eta`` ~ Normal(mu, sigma_model_b), ``correct`` ~ Binomial(n_b,
  c_b + (1 - c_b) logistic(eta)); ``marginal``: ``correct`` ~ BetaBinomial(n_b, m kappa,
  (1 - m) kappa) with m = c + (1 - c) E q, Var p = (1 - c)^2 Var q (q = logistic(eta), eta ~
  Normal(mu, sigma_model); 9-point Gauss-Hermite quadrature), kappa = m (1 - m) / (Var p +
  1e-12 m (1 - m)) - 1;
* ``ifeval_score`` y* ~ Beta(logistic(mu) phi, (1 - logistic(mu)) phi).
* ``developer_chol`` (packed lower-triangular L, Sigma = L L' = diag(s) R diag(s)):
  s_b ~ prior of ``sigma_developer``, R ~ LKJ(eta = 2), as a density of L
  (:func:`lkj_cholesky_cov_logpdf`: Lewandowski, Kurowicka & Joe 2009 for the
  normalising constant, the Stan Functions Reference for the density of the correlation's
  Cholesky factor, and the Jacobian of (s, C) -> L derived there).

What was read from the builder (``bayes_llm/model/leaderboard6.py``), for names and shapes
only, where the README is silent: the variable names ``developer_z``/``developer_raw``,
``ability_z``, ``ifeval_precision``; the packing of ``developer_chol`` (lower triangle, row
by row, ``numpy.tril_indices``, PyMC's convention); that ``period_benchmark_effect`` has dims (benchmark,
period); the 1e-12 floor in the beta-binomial precision (now also in ``models/README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special, stats

from bayes_llm.model.spec import ModelSpec
from bayes_llm.verify.logdensity import informed_developers, prior_logpdf, zero_sum_normal_logpdf

#: Gauss-Hermite points of the marginal residuals (``models/README.md``).
QUADRATURE_POINTS = 9
#: Relative floor on Var p in the beta-binomial precision (binomial limit as sigma -> 0).
VARIANCE_FLOOR = 1e-12
#: LKJ shape of the developer correlation (``models/README.md``: eta = 2).
LKJ_ETA = 2.0
#: Residual and ability parameterisations this module implements.
RESIDUALS = ("centred", "marginal", "gaussian")
ABILITY = ("unit", "scaled", "conditional")


def unpack_lower(packed: np.ndarray, n: int) -> np.ndarray:
    """Return the ``n x n`` lower-triangular matrix of a packed (row-by-row) triangle."""
    out = np.zeros((n, n))
    out[np.tril_indices(n)] = np.asarray(packed, float)
    return out


def lkj_normalising_log_constant(n: int, eta: float) -> float:
    """Log of the LKJ(eta) normalising constant on n x n correlation matrices.

    Lewandowski, Kurowicka & Joe (2009), eq. 16: c_n(eta) = 2^(sum_k (2 eta - 2 + n - k)
    (n - k)) prod_k B(eta + (n - k - 1)/2, eta + (n - k - 1)/2)^(n - k), k = 1..n-1, the
    integral of det(R)^(eta - 1); for n = 2 it gives the Beta(eta, eta) law of (r + 1)/2.
    """
    k = np.arange(1, n)
    b = eta + (n - k - 1) / 2.0
    return float(np.sum((2 * eta - 2 + n - k) * (n - k)) * np.log(2.0)
                 + np.sum((n - k) * special.betaln(b, b)))


def lkj_cholesky_cov_logpdf(packed: np.ndarray, n: int, eta: float, sd_prior) -> float:
    """Log density of the packed Cholesky factor L of Sigma = diag(s) R diag(s).

    s_b iid ``sd_prior``, R ~ LKJ(eta). With s_i = |row i of L| and the correlation's
    Cholesky factor C = diag(1/s) L (unit rows): the LKJ density of C with respect to its
    strictly lower entries is c_n^-1 prod_i C_ii^(n - i + 2 eta - 3) (i = 0..n-1; Stan
    Functions Reference, ``lkj_corr_cholesky``), and row i of L = s_i (c, sqrt(1 - |c|^2))
    has volume element dL_i = s_i^i / C_ii ds_i dc (a sphere of radius s_i in i + 1
    dimensions, projected on its first i coordinates), so
    log p(L) = sum_i log p_s(s_i) + log p_LKJ(C) - sum_i (i log s_i - log C_ii).
    """
    chol = unpack_lower(packed, n)
    sds = np.sqrt(np.sum(chol**2, axis=1))
    c_diag = np.diag(chol) / sds
    i = np.arange(n)
    log_lkj = float(np.sum((n - i + 2 * eta - 3) * np.log(c_diag))) \
        - lkj_normalising_log_constant(n, eta)
    log_jacobian = -float(np.sum(i * np.log(sds) - np.log(c_diag)))
    return float(np.sum(prior_logpdf(sd_prior, sds))) + log_lkj + log_jacobian


def logit_normal_count_moments(mu, sigma, chance) -> tuple[np.ndarray, np.ndarray]:
    """Mean m and Beta precision kappa of p = c + (1 - c) logistic(eta), eta ~ N(mu, sigma).

    E q and Var q (q = logistic(eta)) by Gauss-Hermite quadrature in the physicists' form:
    E f(eta) = sum_k w_k f(mu + sqrt(2) sigma t_k) / sqrt(pi).
    """
    t, w = special.roots_hermite(QUADRATURE_POINTS)
    w = w / np.sqrt(np.pi)
    mu = np.asarray(mu, float)[:, None]
    sigma = np.asarray(sigma, float)[:, None]
    q = special.expit(mu + np.sqrt(2.0) * sigma * t[None, :])
    e_q = q @ w
    var_q = ((q - e_q[:, None]) ** 2) @ w
    c = np.asarray(chance, float)
    m = c + (1.0 - c) * e_q
    var_p = (1.0 - c) ** 2 * var_q
    kappa = m * (1.0 - m) / (var_p + VARIANCE_FLOOR * m * (1.0 - m)) - 1.0
    return m, kappa


def clipped_share(k, n, chance) -> np.ndarray:
    """Return a count's share above its floor, s = (k/n - c)/(1 - c) clipped to [0.02, 0.98]."""
    p = np.asarray(k, float) / np.asarray(n, float)
    return np.clip((p - chance) / (1.0 - chance), 0.02, 0.98)


def binomial_logit_noise(k, n, chance) -> np.ndarray:
    """Delta-method variance of a count's latent logit (the v_o of the scaled ability)."""
    s = clipped_share(k, n, chance)
    p = chance + (1.0 - chance) * s
    return p * (1.0 - p) / (n * ((1.0 - chance) * s * (1.0 - s)) ** 2)


def ability_scale(data, loading: np.ndarray, sigma_model: np.ndarray) -> np.ndarray:
    """h_i = (1 + sum over model i's counts of lambda^2 / (sigma_model^2 + v))^(-1/2)."""
    b = data.count_benchmark
    c = data.chance[b]
    counted = _counted(data)
    sig = np.asarray(sigma_model, float)[counted[b]]
    lam = np.asarray(loading, float)[b]
    v = binomial_logit_noise(data.k, data.n, c)
    precision = np.bincount(data.count_model, weights=lam**2 / (sig**2 + v),
                            minlength=data.n_models)
    return 1.0 / np.sqrt(1.0 + precision)


def _counted(data) -> np.ndarray:
    """Benchmark index -> position in ``sigma_model`` (-1 for IFEval)."""
    out = np.full(len(data.benchmarks), -1, dtype=np.int64)
    names = list(data.benchmarks)
    for pos, name in enumerate(data.coords["count_benchmark"]):
        out[names.index(name)] = pos
    return out


def developer_effects(spec: ModelSpec, data, v: Mapping[str, np.ndarray]) -> np.ndarray:
    """Return u = raw - mean over developers (raw = z L' non-centred, else sampled)."""
    nb = len(data.benchmarks)
    chol = unpack_lower(v["developer_chol"], nb)
    if spec.developer_parameterisation == "non_centred":
        raw = np.asarray(v["developer_z"], float) @ chol.T
    elif spec.developer_parameterisation == "partial":
        many = informed_developers(data)
        raw = np.zeros((many.size, nb))
        if np.any(~many):
            raw[~many] = np.asarray(v["developer_z"], float) @ chol.T
        if np.any(many):
            raw[many] = np.asarray(v["developer_raw"], float)
    else:
        raw = np.asarray(v["developer_raw"], float)
    return raw - raw.mean(axis=0, keepdims=True)


def _period_z_scale_and_factor(spec: ModelSpec, sigma: float) -> tuple[float, float]:
    """(SD of z, gamma / z) of ``period_parameterisation`` (written out, not looked up)."""
    kind = spec.period_parameterisation
    if kind == "non_centred":
        return 1.0, sigma
    if kind == "partially_non_centred":
        return float(np.sqrt(sigma)), float(np.sqrt(sigma))
    raise ValueError(f"period_parameterisation {kind!r} samples gamma itself")


def with_period_effects(spec: ModelSpec, v: Mapping[str, np.ndarray]) -> Mapping:
    """Return ``v`` with gamma as ``period_effect`` (from ``period_effect_z`` unless centred)."""
    if spec.period_parameterisation != "centred" and "period_effect_z" in v:
        _, factor = _period_z_scale_and_factor(spec, float(v["sigma_period"]))
        return {**v, "period_effect": factor * np.asarray(v["period_effect_z"], float)}
    return v


def _rest(spec: ModelSpec, data, v: Mapping[str, np.ndarray]) -> np.ndarray:
    """Return the linear predictor without lambda theta (model x benchmark)."""
    t = data.period_idx
    mu = (np.asarray(v["alpha"], float)[None, :]
          + np.asarray(v["beta"], float)[None, :] * data.x[:, None])
    if len(data.coords["period"]) > 1:
        mu = mu + np.asarray(v["period_effect"], float)[t][:, None] \
            + np.asarray(v["period_benchmark_effect"], float).T[t]
    return mu + developer_effects(spec, data, v)[data.developer_idx]


def conditional_mean(spec: ModelSpec, data, v: Mapping[str, np.ndarray]) -> np.ndarray:
    """m_i = h_i^2 sum_o lambda (y_o - mu_rest_o) / (sigma_model^2 + v_o), y_o = logit(s_o).

    s_o = (k/n - c)/(1 - c) clipped to [0.02, 0.98] (the ``conditional`` ability's centre).
    """
    b = data.count_benchmark
    c = data.chance[b]
    sig = np.asarray(v["sigma_model"], float)[_counted(data)[b]]
    lam = np.asarray(v["ability_loading"], float)[b]
    noise = binomial_logit_noise(data.k, data.n, c)
    resid = special.logit(clipped_share(data.k, data.n, c)) \
        - _rest(spec, data, v)[data.count_model, b]
    h = ability_scale(data, v["ability_loading"], v["sigma_model"])
    return h**2 * np.bincount(data.count_model, weights=lam * resid / (sig**2 + noise),
                              minlength=data.n_models)


def ability(spec: ModelSpec, data, v: Mapping[str, np.ndarray],
            ability_scaling: str) -> np.ndarray:
    """Return theta: sampled (``unit``), h z - mean(h z) (``scaled``) or m + h z centred."""
    if ability_scaling == "unit":
        return np.asarray(v["ability"], float)
    hz = ability_scale(data, v["ability_loading"], v["sigma_model"]) * np.asarray(
        v["ability_z"], float)
    if ability_scaling == "conditional":
        hz = conditional_mean(spec, data, v) + hz
    return hz - hz.mean()


def linear_predictor(spec: ModelSpec, data, v: Mapping[str, np.ndarray],
                     ability_scaling: str) -> np.ndarray:
    """Return mu as a model x benchmark matrix."""
    return _rest(spec, data, v) + (np.asarray(v["ability_loading"], float)[None, :]
                                   * ability(spec, data, v, ability_scaling)[:, None])


def models_mean_intercept(data, v: Mapping[str, np.ndarray]) -> np.ndarray:
    """alpha_b from the intercept at the models' average period (``intercept = "models"``).

    alpha_b = alpha*_b - sum_t w_t (gamma_t + delta_b,t), w_t the share of the models
    released in period t.
    """
    counts = np.bincount(data.period_idx, minlength=len(data.coords["period"]))
    w = counts / counts.sum()
    gamma = np.asarray(v["period_effect"], float)
    delta = np.asarray(v["period_benchmark_effect"], float)  # (benchmark, period)
    return np.asarray(v["alpha_models"], float) - float(gamma @ w) - delta @ w


def log_density_terms(spec: ModelSpec, data, v: Mapping[str, np.ndarray], *,
                      residuals: str = "centred", ability_scaling: str = "unit",
                      intercept: str = "equal") -> dict[str, float]:
    """Log density of each sampled variable given its parents, and of each observation.

    Parameters
    ----------
    spec : ModelSpec
        A ``leaderboard6`` spec.
    data : Leaderboard6Data
        The design and observations.
    v : mapping
        Sampled variable name -> constrained value (``developer_chol`` packed).
    residuals, ability_scaling : str
        ``"centred"``, ``"marginal"`` or ``"gaussian"``; ``"unit"``, ``"scaled"`` or
        ``"conditional"``.
    intercept : str
        ``"equal"`` (alpha sampled) or ``"models"`` (alpha* sampled, flat; alpha's prior
        as the term ``alpha_prior``).

    Returns
    -------
    dict
        Term name (the PyMC variable name) -> log density.
    """
    if residuals not in RESIDUALS or ability_scaling not in ABILITY:
        raise ValueError(f"residuals {residuals!r} / ability {ability_scaling!r}: this check "
                         f"covers {RESIDUALS} x {ABILITY}")
    pr = spec.prior
    terms: dict[str, float] = {}
    v = with_period_effects(spec, v)

    def prior(name: str) -> None:
        terms[name] = float(np.sum(prior_logpdf(pr(name), v[name])))

    if intercept == "models" and len(data.coords["period"]) > 1:
        # alpha* is flat (log density 0); alpha's prior enters as the potential alpha_prior
        v = {**v, "alpha": models_mean_intercept(data, v)}
        terms["alpha_models"] = 0.0
        terms["alpha_prior"] = float(np.sum(prior_logpdf(pr("alpha"), v["alpha"])))
    else:
        prior("alpha")
    for name in ("beta", "ability_loading"):
        prior(name)
    has_counts = data.k.size > 0
    if has_counts:
        prior("sigma_model")
    if residuals == "gaussian":
        ability_mode = None  # integrated out: no ability term
    elif ability_scaling in ("scaled", "conditional") and has_counts:
        h = ability_scale(data, v["ability_loading"], v["sigma_model"])
        centre = (-conditional_mean(spec, data, v) / h if ability_scaling == "conditional"
                  else 0.0)
        z = np.asarray(v["ability_z"], float)
        terms["ability_z"] = float(np.sum(stats.norm.logpdf(z, centre, 1.0 / h)))
        ability_mode = ability_scaling
    else:
        terms["ability"] = zero_sum_normal_logpdf(v["ability"], 1.0)
        ability_mode = "unit"
    if len(data.coords["period"]) > 1:
        prior("sigma_period")
        prior("sigma_period_benchmark")
        if spec.period_parameterisation != "centred":
            sd, _ = _period_z_scale_and_factor(spec, float(v["sigma_period"]))
            terms["period_effect_z"] = zero_sum_normal_logpdf(v["period_effect_z"], sd)
        else:
            terms["period_effect"] = zero_sum_normal_logpdf(v["period_effect"],
                                                            float(v["sigma_period"]))
        terms["period_benchmark_effect"] = float(sum(
            zero_sum_normal_logpdf(row, float(v["sigma_period_benchmark"]))
            for row in np.asarray(v["period_benchmark_effect"], float)))
    nb = len(data.benchmarks)
    terms["developer_chol"] = lkj_cholesky_cov_logpdf(v["developer_chol"], nb, LKJ_ETA,
                                                      pr("sigma_developer"))
    kind = spec.developer_parameterisation
    many = informed_developers(data)
    if kind == "non_centred" or (kind == "partial" and np.any(~many)):
        terms["developer_z"] = float(np.sum(stats.norm.logpdf(
            np.asarray(v["developer_z"], float))))
    if kind == "centred" or (kind == "partial" and np.any(many)):
        cov = unpack_lower(v["developer_chol"], nb)
        cov = cov @ cov.T
        raw = np.asarray(v["developer_raw"], float).reshape(-1, nb)
        terms["developer_raw"] = float(np.sum(stats.multivariate_normal.logpdf(
            raw, np.zeros(nb), cov)))
    if residuals == "gaussian":
        if data.y.size:
            prior("ifeval_precision")
        terms["marginal_loglik"] = gaussian_marginal_loglik(spec, data, v)
        return terms
    mu = linear_predictor(spec, data, v, ability_mode)
    if has_counts:
        mu_c = mu[data.count_model, data.count_benchmark]
        c = data.chance[data.count_benchmark]
        sig = np.asarray(v["sigma_model"], float)[_counted(data)[data.count_benchmark]]
        if residuals == "centred":
            eta = np.asarray(v["eta"], float)
            terms["eta"] = float(np.sum(stats.norm.logpdf(eta, mu_c, sig)))
            terms["correct"] = float(np.sum(stats.binom.logpmf(
                data.k, data.n, c + (1.0 - c) * special.expit(eta))))
        else:
            m, kappa = logit_normal_count_moments(mu_c, sig, c)
            terms["correct"] = float(np.sum(stats.betabinom.logpmf(
                data.k, data.n, m * kappa, (1.0 - m) * kappa)))
    if data.y.size:
        prior("ifeval_precision")
        phi = float(v["ifeval_precision"])
        mean = special.expit(mu[data.bounded_model, data.bounded_benchmark])
        terms["ifeval_score"] = float(np.sum(stats.beta.logpdf(
            data.y, mean * phi, (1.0 - mean) * phi)))
    return terms


def gaussian_marginal_loglik(spec: ModelSpec, data, v: Mapping[str, np.ndarray]) -> float:
    """Return the ``gaussian`` log likelihood, theta integrated out, one MvNormal per model.

    Model i's observed logits (counts: logit of the clipped share above the floor; IFEval:
    logit y*) are Normal with mean mu_rest and covariance diag(d) + lambda lambda', d =
    sigma_model^2 + v for counts (v of :func:`binomial_logit_noise`) and 1 / ((phi + 1)
    y* (1 - y*)) for IFEval: written with the covariance matrix itself
    (``scipy.stats.multivariate_normal``), not the rank-one identities of the builder.
    """
    rest = _rest(spec, data, with_period_effects(spec, v))
    lam = np.asarray(v["ability_loading"], float)
    models, benches, ys, ds = [], [], [], []
    if data.k.size:
        b = data.count_benchmark
        c = data.chance[b]
        sig = np.asarray(v["sigma_model"], float)[_counted(data)[b]]
        models.append(data.count_model)
        benches.append(b)
        ys.append(special.logit(clipped_share(data.k, data.n, c)))
        ds.append(sig**2 + binomial_logit_noise(data.k, data.n, c))
    if data.y.size:
        phi = float(v["ifeval_precision"])
        models.append(data.bounded_model)
        benches.append(data.bounded_benchmark)
        ys.append(special.logit(data.y))
        ds.append(1.0 / ((phi + 1.0) * data.y * (1.0 - data.y)))
    model, bench = np.concatenate(models), np.concatenate(benches)
    y, d = np.concatenate(ys), np.concatenate(ds)
    total = 0.0
    for i in np.unique(model):
        pick = model == i
        lam_i = lam[bench[pick]]
        cov = np.diag(d[pick]) + np.outer(lam_i, lam_i)
        total += float(stats.multivariate_normal.logpdf(y[pick], rest[i, bench[pick]], cov))
    return total


__all__ = ["ability_scale", "binomial_logit_noise", "clipped_share", "conditional_mean",
           "developer_effects", "gaussian_marginal_loglik", "linear_predictor",
           "models_mean_intercept", "log_density_terms",
           "logit_normal_count_moments", "unpack_lower", "with_period_effects"]
