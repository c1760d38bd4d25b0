"""The joint model of the Open LLM Leaderboard benchmarks (``outcome = "leaderboard6"``).

For model i of developer j(i), released in period t(i), with x_i = log10 C_i - c0, and
benchmark b with n_b items and chance level c_b (:mod:`bayes_llm.data.benchmarks`):

    mu_ib  = alpha_b + beta_b x_i + gamma_t(i) + delta_b,t(i) + u_j(i),b + lambda_b theta_i
    u_j    ~ MvNormal(0, diag(s) R diag(s))           developer effects, correlated across b
    R      ~ LKJ(eta = 2),  s_b ~ prior of sigma_developer
    theta  ~ ZeroSumNormal(1),  lambda_b ~ prior of ability_loading (half-line)
    gamma  ~ ZeroSumNormal(sigma_period)              shared period effects
    delta_b ~ ZeroSumNormal(sigma_period_benchmark)   each benchmark's period deviations
    counts (BBH, MATH, GPQA, MuSR, MMLU-Pro):
        eta_ib ~ Normal(mu_ib, sigma_model_b)        benchmark-specific model residual
        k_ib   ~ Binomial(n_b, c_b + (1 - c_b) logistic(eta_ib))
    IFEval (a mean of two accuracies, not a count):
        y_i*   ~ Beta(logistic(mu_ib) phi, (1 - logistic(mu_ib)) phi)
        with y* = (y (n - 1) + 1/2) / n, n = 541 (Smithson & Verkuilen 2006, so that the
        four scores of exactly 0 stay inside (0, 1)); the Beta noise is IFEval's residual.

theta_i is the model-level ability common to all benchmarks (its loadings lambda_b > 0 fix
its sign; sum-to-zero over models, so that lambda_b mean(theta) cannot trade off with
alpha_b); eta_ib - mu_ib is the benchmark-specific residual. alpha_b is the logit of the
score above chance at the centring compute; beta_b the logit change per 10x compute.

Parameterisation: centred developer effects (``developer_effect`` is the sampled
``MvNormal``) and centred residuals ``eta`` by default, as the rest of the package;
``developer_parameterisation = "non_centred"`` samples ``developer_z`` ~ Normal(0, 1) and
sets u = z L' with L the Cholesky factor. Either way the effects are then centred over
developers, u_j - mean_k u_k (``developer_effect``; the sampled ``developer_raw`` or
``developer_z``), the multivariate analogue of the package's ``ZeroSumNormal``: it keeps
alpha_b apart from the mean developer effect. The mean of the raw effects is pinned by its
prior only (a harmless direction for NUTS).

Two exact-or-approximate alternatives for the slow mixing of the residual scales
(``models/README.md``): ``residuals = "marginal"`` integrates each count residual eta out,
replacing Normal + Binomial by a beta-binomial with the same mean and variance of the count
(moment matching, :func:`marginal_count_moments`: an approximation of the residual's shape,
not of its first two moments); ``ability_scaling = "scaled"`` samples theta / h with h its
approximate conditional posterior SD, per model (:func:`_scaled_ability`; exact: theta
keeps its prior).

``intercept = "models"`` samples each alpha_b at the models' average period instead
(alpha*_b, flat, with alpha's prior as a potential; :func:`_models_intercept`): the same
model, with alpha decoupled from the period effects' models-weighted mean.

Only ``likelihood = "binomial"``, ``developer = "developer"``, ``developer_effect =
"pooled"`` and ``period_effect = "exchangeable"`` are supported (checked in
:mod:`bayes_llm.model.spec`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_llm.data.benchmarks import BENCHMARK_NAMES, benchmark
from bayes_llm.data.samples import SampleReport, select_sample
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.build import partial_centring_split, prior_variable
from bayes_llm.model.design import data_hash, period_labels
from bayes_llm.model.spec import (
    PERIOD_CENTRING_WEIGHTS,
    ModelSpec,
)

#: LKJ shape of the developer correlation matrix: 2 puts mild mass away from +-1.
LKJ_ETA = 2.0
#: The benchmark with a bounded (Beta) likelihood; every other one is a binomial count.
BOUNDED_BENCHMARKS = frozenset({"ifeval"})


@dataclass
class Leaderboard6Data:
    """Arrays and coordinates of a joint fit.

    Attributes
    ----------
    frame : DataFrame
        The models (after the spec's sample filter), in model order.
    x : ndarray
        Centred log10 compute per model.
    period_idx, developer_idx : ndarray
        Per model.
    benchmarks : tuple of str
        The benchmarks in the fit (coords ``benchmark``).
    chance, n_items : ndarray
        Per benchmark.
    count_model, count_benchmark, k, n : ndarray
        One entry per observed count (benchmarks other than IFEval).
    bounded_model, bounded_benchmark, y : ndarray
        One entry per observed IFEval score (squeezed into (0, 1)).
    coords : dict
    data_hash : str
        SHA-256 of the model table's columns and of every observed score.
    """

    frame: pd.DataFrame
    x: np.ndarray
    period_idx: np.ndarray
    developer_idx: np.ndarray
    benchmarks: tuple[str, ...]
    chance: np.ndarray
    n_items: np.ndarray
    count_model: np.ndarray
    count_benchmark: np.ndarray
    k: np.ndarray
    n: np.ndarray
    bounded_model: np.ndarray
    bounded_benchmark: np.ndarray
    y: np.ndarray
    coords: dict[str, list[str]]
    report: SampleReport | None = None
    data_hash: str = field(default="")

    @property
    def n_models(self) -> int:
        """Number of models in the fit."""
        return len(self.frame)


def squeeze_unit(y: np.ndarray, n: int) -> np.ndarray:
    """Map shares in [0, 1] into (0, 1): (y (n - 1) + 1/2) / n (Smithson & Verkuilen 2006)."""
    return (np.asarray(y, float) * (n - 1) + 0.5) / n


def prepare_leaderboard6_data(df: pd.DataFrame, spec: ModelSpec,
                              long: pd.DataFrame | None = None, *,
                              benchmarks: tuple[str, ...] = BENCHMARK_NAMES
                              ) -> Leaderboard6Data:
    """Index models, periods, developers and the observed (model, benchmark) scores.

    Parameters
    ----------
    df : DataFrame
        The canonical model table.
    spec : ModelSpec
        A spec with ``outcome = "leaderboard6"`` (sample, period, compute centre).
    long : DataFrame, optional
        The long table of :func:`bayes_llm.data.benchmarks.benchmark_long_table`
        (default: computed from the leaderboard source).
    benchmarks : tuple of str
        The benchmarks to model (default all six).

    Returns
    -------
    Leaderboard6Data
        Missing scores are left out (never imputed); a model keeps the benchmarks it has.
    """
    unknown = [b for b in benchmarks if b not in BENCHMARK_NAMES]
    if unknown or not benchmarks:
        raise BayesLLMError(f"unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
                            f"choose from {', '.join(BENCHMARK_NAMES)}")
    frame, report = select_sample(df, spec.sample)
    frame = frame.reset_index(drop=True)
    if long is None:
        from bayes_llm.data.benchmarks import benchmark_long_table

        long = benchmark_long_table(frame)
    models = frame["model_id"].astype(str).tolist()
    obs = long[long["benchmark"].isin(benchmarks) & long["score"].notna()
               & long["model_id"].astype(str).isin(models)]
    has_any = frame["model_id"].astype(str).isin(set(obs["model_id"].astype(str)))
    frame = frame[has_any.to_numpy()].reset_index(drop=True)
    if len(frame) < 3:
        raise BayesLLMError(f"spec '{spec.name}': only {len(frame)} models have a benchmark "
                            "score; a fit needs at least 3")
    models = frame["model_id"].astype(str).tolist()
    periods = period_labels(frame, spec.period, fill_gaps=False)
    period_idx = pd.Categorical(frame[spec.period].astype(str), categories=periods).codes
    units = sorted(frame["developer"].astype(str).unique())
    developer_idx = pd.Categorical(frame["developer"].astype(str), categories=units).codes
    model_pos = {m: i for i, m in enumerate(models)}
    bench_pos = {b: i for i, b in enumerate(benchmarks)}
    m_idx = obs["model_id"].astype(str).map(model_pos).to_numpy(np.int64)
    b_idx = obs["benchmark"].map(bench_pos).to_numpy(np.int64)
    bounded = obs["benchmark"].isin(BOUNDED_BENCHMARKS).to_numpy()
    n_items = np.array([benchmark(b).n_items for b in benchmarks], dtype=np.int64)
    chance = np.array([benchmark(b).chance for b in benchmarks], float)
    score = obs["score"].to_numpy(float)
    k = np.rint(score[~bounded] * n_items[b_idx[~bounded]]).astype(np.int64)
    y = squeeze_unit(score[bounded], int(n_items[b_idx[bounded]][0])) if bounded.any() \
        else np.zeros(0)
    counted = [b for b in benchmarks if b not in BOUNDED_BENCHMARKS]
    coords = {
        "model": models, "period": periods, "developer": units,
        "benchmark": list(benchmarks), "benchmark_b": list(benchmarks),
        "count_benchmark": counted,
        "count_obs": [f"{models[i]}|{benchmarks[b]}" for i, b in
                      zip(m_idx[~bounded], b_idx[~bounded], strict=True)],
        "bounded_obs": [models[i] for i in m_idx[bounded]],
    }
    return Leaderboard6Data(
        frame=frame, x=frame["log10_flop"].to_numpy(float) - spec.compute_centre,
        period_idx=np.asarray(period_idx, np.int64),
        developer_idx=np.asarray(developer_idx, np.int64), benchmarks=tuple(benchmarks),
        chance=chance, n_items=n_items,
        count_model=m_idx[~bounded], count_benchmark=b_idx[~bounded], k=k,
        n=n_items[b_idx[~bounded]], bounded_model=m_idx[bounded],
        bounded_benchmark=b_idx[bounded], y=y, coords=coords, report=report,
        data_hash=_scores_hash(data_hash(frame), benchmarks, m_idx[~bounded],
                               b_idx[~bounded], k, m_idx[bounded], y),
    )


def _scores_hash(frame_hash: str, benchmarks, *arrays: np.ndarray) -> str:
    """SHA-256 of the model table's hash, the benchmarks and every observed score array.

    The model-table hash (:func:`bayes_llm.model.design.data_hash`) covers models, compute,
    dates and developers only; a joint fit's data are also its scores, so a changed score
    changes the hash (and a cached fit keyed on it is refitted).
    """
    digest = hashlib.sha256(frame_hash.encode())
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    digest.update(json.dumps(list(benchmarks)).encode())
    return digest.hexdigest()


def _prior(spec: ModelSpec, name: str, rv_name: str | None = None, **kwargs):
    return prior_variable(spec.prior(name), rv_name or name, **kwargs)


def _period_effects(spec: ModelSpec):
    """Shared period effects gamma ~ ZeroSumNormal(sigma_period), as the spec samples them.

    With w the centring weight of ``period_parameterisation``
    (:data:`~bayes_llm.model.spec.PERIOD_CENTRING_WEIGHTS`): ``centred`` (w = 1) samples
    gamma itself (``period_effect``); otherwise ``period_effect_z`` ~ ZeroSumNormal(
    sigma_period^w) and gamma = sigma_period^(1 - w) z, a deterministic ``period_effect``
    (``non_centred``: w = 0; ``partially_non_centred``: w = 1/2, the partially non-centred
    parameterisation of Papaspiliopoulos, Roberts & Skold 2007). The same prior every time.

    With three cohorts sigma_period is barely informed: centred, gamma makes a funnel with
    it (on the 809 models one chain of four went down to sigma_period ~ 0.004 and diverged
    there 21 times); non-centred, the data's pinning of gamma makes a banana in (sigma, z)
    that lengthened one chain's trajectories from ~110 to ~190 leapfrog steps; halfway
    between did neither (``models/README.md``).
    """
    sigma = _prior(spec, "sigma_period")
    w = PERIOD_CENTRING_WEIGHTS[spec.period_parameterisation]
    if w == 1.0:
        return pm.ZeroSumNormal("period_effect", sigma=sigma, dims="period")
    z = pm.ZeroSumNormal("period_effect_z", sigma=sigma**w if w else 1.0, dims="period")
    return pm.Deterministic("period_effect", sigma ** (1.0 - w) * z, dims="period")


def _developer_effects(spec: ModelSpec, data: Leaderboard6Data):
    """Developer effects correlated across benchmarks (LKJ Cholesky prior).

    Each developer's raw effect is MvNormal(0, L L'): sampled as itself (``developer_raw``,
    centred), as ``developer_z`` ~ Normal(0, I) with raw = z L' (non-centred), or, with
    ``partial``, centred for the developers of :func:`partial_centring_split` and
    non-centred for the others (dims ``developer_centred`` and ``developer_non_centred``).
    The same prior every time.
    """
    n_benchmarks = len(data.benchmarks)
    sd = spec.prior("sigma_developer")
    sd_dist = prior_variable(sd, shape=n_benchmarks)
    chol, corr, sds = pm.LKJCholeskyCov("developer_chol", n=n_benchmarks, eta=LKJ_ETA,
                                        sd_dist=sd_dist, compute_corr=True)
    pm.Deterministic("developer_corr", corr, dims=("benchmark", "benchmark_b"))
    pm.Deterministic("sigma_developer", sds, dims="benchmark")
    if spec.developer_parameterisation == "partial":
        centred, non_centred = partial_centring_split(data)
        labels = np.asarray(data.coords["developer"])
        model = pm.modelcontext(None)
        raw = pt.zeros((labels.size, n_benchmarks))
        if non_centred.size:
            model.add_coord("developer_non_centred", labels[non_centred])
            z = pm.Normal("developer_z", 0.0, 1.0,
                          dims=("developer_non_centred", "benchmark"))
            raw = pt.set_subtensor(raw[non_centred], z @ chol.T)
        if centred.size:
            model.add_coord("developer_centred", labels[centred])
            own = pm.MvNormal("developer_raw", mu=pt.zeros(n_benchmarks), chol=chol,
                              dims=("developer_centred", "benchmark"))
            raw = pt.set_subtensor(raw[centred], own)
    elif spec.developer_parameterisation == "non_centred":
        z = pm.Normal("developer_z", 0.0, 1.0, dims=("developer", "benchmark"))
        raw = z @ chol.T
    else:
        raw = pm.MvNormal("developer_raw", mu=pt.zeros(n_benchmarks), chol=chol,
                          dims=("developer", "benchmark"))
    # sum-to-zero over developers (per benchmark), as ZeroSumNormal for one outcome
    return pm.Deterministic("developer_effect", raw - raw.mean(axis=0, keepdims=True),
                            dims=("developer", "benchmark"))


#: How the count residuals eta are sampled: ``centred`` (eta itself), ``non_centred``
#: (``eta_z`` ~ Normal(0, 1), eta = mu + sigma_model z) for every count benchmark,
#: ``mixed``: non-centred for :data:`WEAK_COUNT_BENCHMARKS`, centred for the others, or
#: ``marginal``: eta integrated out by a moment-matched beta-binomial
#: (:func:`marginal_count_moments`; no per-model residual is sampled).
#: ``weak_marginal``: integrated out for :data:`WEAK_COUNT_BENCHMARKS`, centred otherwise.
RESIDUAL_PARAMETERISATIONS = ("centred", "non_centred", "mixed", "marginal", "weak_marginal")
#: Approximate likelihoods for probing the posterior's geometry (``benchmarks/
#: bench_leaderboard6.py --residuals gaussian``), not offered by ``bayes-llm joint``: with
#: ``gaussian`` every observation's observed logit is Normal around mu with its
#: delta-method noise variance, so that theta and the residuals integrate out in closed form
#: (:func:`_gaussian_marginal_loglik`; theta drawn afterwards, :func:`draw_marginal_ability`).
#: On the 809 models it attenuates the developer correlations by 0.03-0.15 against the
#: binomial model (``models/README.md``): not a model to report.
PROBE_APPROXIMATIONS = ("gaussian",)
#: Gauss-Hermite nodes for the logit-normal moments of the ``marginal`` residuals.
HERMITE_NODES = 9
#: Count benchmarks whose residuals mixed worst centred on the 809 models (smallest bulk
#: ESS of sigma_model: GPQA 50, MuSR 62; few items, residual SD near the binomial noise).
WEAK_COUNT_BENCHMARKS = frozenset({"gpqa", "musr"})


#: How the ability theta is sampled: ``unit`` (theta itself, ZeroSumNormal(1)), ``scaled``
#: (:func:`_scaled_ability`) or ``conditional`` (:func:`_conditional_ability`); the same
#: prior every time.
ABILITY_PARAMETERISATIONS = ("unit", "scaled", "conditional")


def _observed_share(data: Leaderboard6Data) -> tuple[np.ndarray, np.ndarray]:
    """Each count's chance level c and observed share above it, s = (k/n - c)/(1 - c).

    s is clipped to [0.02, 0.98], so counts at or below the floor stay finite (data only).
    """
    c = data.chance[data.count_benchmark]
    n = data.n_items[data.count_benchmark]
    return c, np.clip((data.k / n - c) / (1 - c), 0.02, 0.98)


def count_noise_variance(data: Leaderboard6Data) -> np.ndarray:
    """Binomial noise variance of each count on its latent logit scale (one per count).

    The delta-method variance p (1 - p) / (n [(1 - c) s (1 - s)]^2) at the observed share
    p = k / n, s = (p - c) / (1 - c) clipped to [0.02, 0.98] (so counts at or below the
    guessing floor c get a large but finite variance). Depends on the data only.
    """
    c, s = _observed_share(data)
    n = data.n_items[data.count_benchmark]
    p = c + (1 - c) * s
    return p * (1 - p) / (n * ((1 - c) * s * (1 - s)) ** 2)


def observed_count_logit(data: Leaderboard6Data) -> np.ndarray:
    """Each count's observed logit above its floor, logit(s) (s of :func:`count_noise_variance`)."""
    _, s = _observed_share(data)
    return np.log(s / (1.0 - s))


def _counted_positions(n_benchmarks: int, counted: list[int]) -> np.ndarray:
    """Benchmark index -> its position in ``sigma_model`` (-1 for a benchmark without counts)."""
    out = np.full(n_benchmarks, -1, dtype=np.int64)
    out[counted] = np.arange(len(counted))
    return out


def _ability_precision(data: Leaderboard6Data, loading, sigma_model, counted: list[int]):
    """Per count lambda and sigma_model^2 + v, and per model h (theta's conditional SD).

    h_i = (1 + sum_o lambda_b(o)^2 / (sigma_model_b(o)^2 + v_o))^(-1/2) over model i's
    counts o (v_o of :func:`count_noise_variance`).
    """
    to_counted = _counted_positions(len(data.benchmarks), counted)
    lam = loading[data.count_benchmark]
    variance = sigma_model[to_counted[data.count_benchmark]] ** 2 + count_noise_variance(data)
    precision = pt.zeros(data.n_models)[data.count_model].inc(lam**2 / variance)
    return lam, variance, 1.0 / pt.sqrt(1.0 + precision)


def _scaled_ability(data: Leaderboard6Data, loading, sigma_model, counted: list[int]):
    """Theta = centred(h * z) with z_i ~ Normal(0, 1 / h_i): theta keeps its ZeroSumNormal(1) prior.

    h_i = (1 + sum_o lambda_b(o)^2 / (sigma_model_b(o)^2 + v_o))^(-1/2), the sum over model
    i's observed counts o (benchmark b(o), binomial noise v_o of
    :func:`count_noise_variance`), approximates theta_i's posterior SD given the other
    parameters: with well-measured benchmarks theta is pinned far more tightly than its
    prior, and how tightly moves with lambda_b and sigma_model_b (a funnel). Sampling z,
    whose posterior SD is about 1 whatever those scales, removes most of it. Given the
    scales, h * z ~ Normal(0, I) exactly, so its centred version theta is ZeroSumNormal(1)
    (the mean of h * z is a direction the likelihood does not see, pinned by its prior).
    h is per model: a model scored on fewer benchmarks (the 11 off the leaderboard) or
    near a benchmark's floor (large v_o) is pinned less. The first version used one h for
    every model (the median noise per benchmark); on the 809 models per-model h raised the
    smallest bulk ESS of sigma_model from 26 to 250 (``models/README.md``).
    """
    _, _, h = _ability_precision(data, loading, sigma_model, counted)
    z = pm.Normal("ability_z", 0.0, 1.0 / h, dims="model")
    scaled = h * z
    return pm.Deterministic("ability", scaled - scaled.mean(), dims="model")


def _conditional_ability(data: Leaderboard6Data, loading, sigma_model, counted: list[int],
                         mu_rest):
    """Theta = centred(m + h z), z_i ~ Normal(-m_i / h_i, 1 / h_i): m + h z ~ Normal(0, I).

    Like :func:`_scaled_ability`, but centred on theta_i's approximate conditional
    posterior mean given every other parameter, m_i = h_i^2 sum_o lambda_b(o) (y_o -
    mu_rest_o) / (sigma_model_b(o)^2 + v_o) over model i's counts o (y_o the observed logit
    of :func:`observed_count_logit`, mu_rest the linear predictor without lambda theta, v_o
    of :func:`count_noise_variance`), as well as scaled by its conditional SD h_i. Given the
    other parameters, m + h z ~ Normal(0, I) exactly whatever m and h are, so theta is
    exactly ZeroSumNormal(1); z's posterior is then about Normal(0, 1) whatever the
    developer effects, slopes and scales, where under ``scaled`` its mean moved with them
    (the correlated directions measured in ``models/README.md``).
    """
    lam, variance, h = _ability_precision(data, loading, sigma_model, counted)
    resid = observed_count_logit(data) - mu_rest[data.count_model, data.count_benchmark]
    m = h**2 * pt.zeros(data.n_models)[data.count_model].inc(lam * resid / variance)
    z = pm.Normal("ability_z", -m / h, 1.0 / h, dims="model")
    pre = m + h * z
    return pm.Deterministic("ability", pre - pre.mean(), dims="model")


def build_leaderboard6_model(data: Leaderboard6Data, spec: ModelSpec, *,
                             residuals: str = "centred",
                             ability_scaling: str = "unit",
                             intercept: str = "equal") -> pm.Model:
    """Create the joint PyMC model (equations in the module docstring).

    ``residuals`` chooses the parameterisation of the count residuals
    (:data:`RESIDUAL_PARAMETERISATIONS`), ``ability_scaling`` that of theta
    (:data:`ABILITY_PARAMETERISATIONS`; the model is the same either way).

    Returns
    -------
    pymc.Model
        Free variables: ``alpha``, ``beta``, ``ability_loading`` (per benchmark),
        ``period_effect``, ``period_benchmark_effect``, their scales, ``developer_chol``
        (with ``developer_corr`` and ``sigma_developer`` as deterministics),
        ``developer_effect``, ``ability`` (theta), ``eta`` (count residuals),
        ``sigma_model`` (per counted benchmark), ``ifeval_precision``. Observed:
        ``correct`` (counts) and ``ifeval_score``. With ``intercept = "models"``,
        ``alpha_models`` is sampled instead of ``alpha`` (then a deterministic) and
        ``alpha_prior`` is a potential. With a ``period_parameterisation`` other than
        ``centred``, ``period_effect_z`` is sampled and ``period_effect`` is a deterministic.
    """
    n_b = len(data.benchmarks)
    n_periods = len(data.coords["period"])
    with pm.Model(coords=data.coords) as model:
        x = pm.Data("log10_flop_centred", data.x, dims="model")
        period_idx = pm.Data("period_idx", data.period_idx, dims="model")
        developer_idx = pm.Data("developer_idx", data.developer_idx, dims="model")
        if intercept not in INTERCEPT_PARAMETERISATIONS:
            raise BayesLLMError(f"intercept must be one of "
                                f"{', '.join(INTERCEPT_PARAMETERISATIONS)}, not {intercept!r}")
        at_models_mean = intercept == "models" and n_periods > 1
        if at_models_mean:  # alpha is set once the period effects exist (_models_intercept)
            alpha_models = pm.Flat("alpha_models", dims="benchmark")
        else:
            alpha = _prior(spec, "alpha", dims="benchmark")
        beta = _prior(spec, "beta", dims="benchmark")
        loading = _prior(spec, "ability_loading", dims="benchmark")
        counted = [data.benchmarks.index(b) for b in data.coords["count_benchmark"]]
        sigma_model = (_prior(spec, "sigma_model", dims="count_benchmark") if data.k.size
                       else None)
        if ability_scaling not in ABILITY_PARAMETERISATIONS:
            raise BayesLLMError(f"ability must be one of {', '.join(ABILITY_PARAMETERISATIONS)}"
                                f", not {ability_scaling!r}")
        if residuals not in RESIDUAL_PARAMETERISATIONS + PROBE_APPROXIMATIONS:
            raise BayesLLMError(f"residuals must be one of "
                                f"{', '.join(RESIDUAL_PARAMETERISATIONS)}, not {residuals!r}")
        gaussian = residuals == "gaussian"
        conditional = ability_scaling == "conditional" and data.k.size and not gaussian
        ability = None  # integrated out (gaussian) or added last (conditional)
        if not (gaussian or conditional):
            ability = (_scaled_ability(data, loading, sigma_model, counted)
                       if ability_scaling == "scaled" and data.k.size
                       else pm.ZeroSumNormal("ability", sigma=1.0, dims="model"))
        # mu as a model x benchmark matrix, then picked at the observed pairs
        mu = beta[None, :] * x[:, None]
        if not at_models_mean:
            mu = mu + alpha[None, :]
        if ability is not None:
            mu = mu + loading[None, :] * ability[:, None]
        if n_periods > 1:
            gamma = _period_effects(spec)
            delta = pm.ZeroSumNormal("period_benchmark_effect",
                                     sigma=_prior(spec, "sigma_period_benchmark"),
                                     dims=("benchmark", "period"))
            mu = mu + gamma[period_idx][:, None] + delta.T[period_idx]
            if at_models_mean:
                mu = mu + _models_intercept(data, spec, alpha_models, gamma, delta)[None, :]
        u = _developer_effects(spec, data)
        mu = mu + u[developer_idx]
        if conditional:  # theta last: its parameterisation uses everything else in mu
            ability = _conditional_ability(data, loading, sigma_model, counted, mu)
            mu = mu + loading[None, :] * ability[:, None]
        if gaussian:
            phi = _prior(spec, "ifeval_precision") if data.y.size else None
            pm.Potential("marginal_loglik", _gaussian_marginal_loglik(
                data, mu, loading, sigma_model, phi, counted, lib=pt))
            return model
        if data.k.size:
            cm = pm.Data("count_model_idx", data.count_model, dims="count_obs")
            cb = pm.Data("count_benchmark_idx", data.count_benchmark, dims="count_obs")
            scale = sigma_model[_counted_positions(n_b, counted)[data.count_benchmark]]
            chance = pt.as_tensor(data.chance)[cb]
            if residuals == "marginal":
                mean_p, precision = marginal_count_moments(mu[cm, cb], scale, chance)
                pm.BetaBinomial("correct", n=data.n, alpha=mean_p * precision,
                                beta=(1.0 - mean_p) * precision, observed=data.k,
                                dims="count_obs")
            elif residuals == "weak_marginal":
                _weak_marginal_counts(data, mu[cm, cb], scale, chance)
            elif residuals == "non_centred":
                z = pm.Normal("eta_z", 0.0, 1.0, dims="count_obs")
                eta = pm.Deterministic("eta", mu[cm, cb] + scale * z, dims="count_obs")
            elif residuals == "centred":
                eta = pm.Normal("eta", mu[cm, cb], scale, dims="count_obs")
            else:
                eta = _mixed_residuals(data, mu[cm, cb], scale)
            if residuals not in ("marginal", "weak_marginal"):
                p = chance + (1.0 - chance) * pm.math.sigmoid(eta)
                pm.Binomial("correct", n=data.n, p=p, observed=data.k, dims="count_obs")
        if data.y.size:
            bm = pm.Data("bounded_model_idx", data.bounded_model, dims="bounded_obs")
            mean = pm.math.sigmoid(mu[bm, data.bounded_benchmark])
            phi = _prior(spec, "ifeval_precision")
            pm.Beta("ifeval_score", alpha=mean * phi, beta=(1.0 - mean) * phi,
                    observed=data.y, dims="bounded_obs")
    return model


def gaussian_observations(data: Leaderboard6Data) -> dict[str, np.ndarray]:
    """Per observation (counts, then IFEval scores): model, benchmark, observed logit, noise.

    ``noise`` is the data-only part of each observation's variance on the logit scale: the
    binomial delta-method variance v_o of a count (:func:`count_noise_variance`), and for
    an IFEval score y* the factor 1 / (y* (1 - y*)) that the Beta precision phi divides
    (Var logit y* ~ 1 / ((phi + 1) y* (1 - y*)) by the delta method). ``logit`` is logit(s)
    of the clipped share above the floor for counts (:func:`observed_count_logit`) and
    logit(y*) for IFEval.
    """
    y_star = data.y
    return {"model": np.concatenate([data.count_model, data.bounded_model]).astype(np.int64),
            "benchmark": np.concatenate([data.count_benchmark,
                                         data.bounded_benchmark]).astype(np.int64),
            "logit": np.concatenate([observed_count_logit(data),
                                     np.log(y_star / (1.0 - y_star))]),
            "noise": np.concatenate([count_noise_variance(data),
                                     1.0 / (y_star * (1.0 - y_star))]),
            "bounded": np.r_[np.zeros(data.k.size, bool), np.ones(data.y.size, bool)]}


def _gaussian_variance(data: Leaderboard6Data, obs: dict, sigma_model, phi, counted, lib):
    """Each observation's variance d_o: sigma_model_b^2 + v_o (counts), noise / (phi + 1) (IFEval)."""
    to_counted = _counted_positions(len(data.benchmarks), counted)
    parts = []
    n_counts = data.k.size
    if n_counts:
        idx = to_counted[obs["benchmark"][:n_counts]]
        sig = sigma_model[:, idx] if lib is np else sigma_model[idx]
        parts.append(sig**2 + obs["noise"][:n_counts])
    if data.y.size:
        phi = lib.expand_dims(phi, -1) if lib is np else phi
        parts.append(obs["noise"][n_counts:] / (phi + 1.0))
    return parts[0] if len(parts) == 1 else lib.concatenate(parts, axis=-1)


def _segment_sum(values, index: np.ndarray, n: int, lib):
    """Sum ``values`` (last axis: observations) into ``n`` models."""
    if lib is np:
        out = np.zeros((*values.shape[:-1], n))
        np.add.at(out, (..., index), values)
        return out
    return pt.zeros(n)[index].inc(values)


def _ability_sums(lam, resid, d, model_idx: np.ndarray, n_models: int, lib):
    """Per model a_i = 1 + sum_o lambda_o^2 / d_o and b_i = sum_o lambda_o r_o / d_o.

    theta_i | rest ~ Normal(b_i / a_i, 1 / a_i) under the ``gaussian`` likelihood, and
    they give its marginal (:func:`_gaussian_marginal_loglik`).
    """
    a = 1.0 + _segment_sum(lam**2 / d, model_idx, n_models, lib)
    return a, _segment_sum(lam * resid / d, model_idx, n_models, lib)


def _gaussian_marginal_loglik(data: Leaderboard6Data, mu, loading, sigma_model, phi,
                              counted: list[int], *, lib=pt):
    """Log likelihood of the ``gaussian`` approximation with theta integrated out.

    Each observation o of model i: y_o = lambda_b theta_i + mu_o + e_o, e_o ~ Normal(0, d_o)
    (:func:`_gaussian_variance`), theta_i ~ Normal(0, 1). Per model the observations are
    jointly Normal with covariance D_i + lambda lambda' (a rank-one update), so with
    a_i = 1 + sum_o lambda_o^2 / d_o and b_i = sum_o lambda_o r_o / d_o (r = y - mu)
    (matrix determinant lemma and Sherman-Morrison):

        log p = -1/2 sum_o [log(2 pi d_o) + r_o^2 / d_o] - 1/2 sum_i [log a_i - b_i^2 / a_i].

    theta's prior here is iid Normal(0, 1), not the sampled models' sum-to-zero version:
    a direction of scale 1/sqrt(N) in which alpha_b and lambda_b mean(theta) trade off.
    """
    obs = gaussian_observations(data)
    d = _gaussian_variance(data, obs, sigma_model, phi, counted, lib)
    r = obs["logit"] - mu[obs["model"], obs["benchmark"]]
    a, b = _ability_sums(loading[obs["benchmark"]], r, d, obs["model"], data.n_models, lib)
    return -0.5 * (lib.sum(lib.log(2.0 * np.pi * d) + r**2 / d)
                   + lib.sum(lib.log(a) - b**2 / a))


def draw_marginal_ability(posterior, data: Leaderboard6Data, seed: int):
    """Draws of theta for a ``gaussian`` fit, from its exact conditional given each draw.

    Under the ``gaussian`` likelihood theta_i | everything else ~ Normal(b_i / a_i, 1 / a_i)
    (a_i, b_i of :func:`_ability_sums`, at each posterior draw), so a posterior
    draw of theta is one Normal draw per model and posterior draw. Returns a DataArray
    ``ability`` with dims (chain, draw, model), one chain at a time (memory).
    """
    import xarray as xr

    def values(name, *dims):
        return posterior[name].transpose("chain", "draw", *dims).values

    obs = gaussian_observations(data)
    counted = [data.benchmarks.index(b) for b in data.coords.get("count_benchmark", [])]
    rng = np.random.default_rng(seed)
    periods = "period_effect" in posterior
    out = np.empty((posterior.sizes["chain"], posterior.sizes["draw"], data.n_models))
    for c in range(out.shape[0]):
        mu = values("alpha", "benchmark")[c][:, obs["benchmark"]] + values(
            "beta", "benchmark")[c][:, obs["benchmark"]] * data.x[obs["model"]]
        if periods:
            t = data.period_idx[obs["model"]]
            mu = mu + values("period_effect", "period")[c][:, t] + values(
                "period_benchmark_effect", "benchmark", "period")[c][:, obs["benchmark"], t]
        mu = mu + values("developer_effect", "developer", "benchmark")[c][
            :, data.developer_idx[obs["model"]], obs["benchmark"]]
        sigma = values("sigma_model", "count_benchmark")[c] if data.k.size else None
        phi = values("ifeval_precision")[c] if data.y.size else None
        d = _gaussian_variance(data, obs, sigma, phi, counted, np)
        lam = values("ability_loading", "benchmark")[c][:, obs["benchmark"]]
        a, b = _ability_sums(lam, obs["logit"] - mu, d, obs["model"], data.n_models, np)
        out[c] = b / a + rng.standard_normal(a.shape) / np.sqrt(a)
    return xr.DataArray(out, dims=("chain", "draw", "model"),
                        coords={"chain": posterior["chain"].values,
                                "draw": posterior["draw"].values,
                                "model": data.coords["model"]}, name="ability")


#: How the intercepts alpha_b are sampled: ``equal`` (alpha itself, with its prior) or
#: ``models`` (:func:`_models_intercept`; the same model).
INTERCEPT_PARAMETERISATIONS = ("equal", "models")


def period_weights(data: Leaderboard6Data) -> np.ndarray:
    """Share of the models in each period (the weights of :func:`_models_intercept`)."""
    n_periods = len(data.coords["period"])
    return np.bincount(data.period_idx, minlength=n_periods) / data.n_models


def _models_intercept(data: Leaderboard6Data, spec: ModelSpec, alpha_models, gamma, delta):
    """alpha_b = alpha*_b - sum_t w_t (gamma_t + delta_b,t), alpha's prior as a potential.

    The period effects sum to zero with equal weights over periods, the models do not
    (most are in the later cohorts), so the data pin alpha_b plus the models-weighted mean
    of the period effects, and every alpha_b trades off with gamma (posterior correlations
    up to 0.6 and 0.94 between benchmarks; ``models/README.md``). Sampling alpha*_b, the
    intercept at the models' average period (``alpha_models``, flat), and setting
    alpha_b = alpha*_b - sum_t w_t (gamma_t + delta_b,t) (w_t: share of the models in
    period t) with alpha's own prior added as the potential ``alpha_prior`` is the same
    model: the map (alpha*, gamma, delta) -> (alpha, gamma, delta) is a shear with unit
    Jacobian. Returns alpha (a deterministic, as before).
    """
    w = period_weights(data)
    alpha = pm.Deterministic("alpha", alpha_models - pt.dot(gamma, w) - pt.dot(delta, w),
                             dims="benchmark")
    prior = spec.prior("alpha")
    pm.Potential("alpha_prior", pm.logp(prior_variable(prior), alpha).sum())
    return alpha


def marginal_count_moments(mu, sigma, chance, *, nodes: int = HERMITE_NODES):
    """Mean and Beta precision of p = c + (1 - c) logistic(eta), eta ~ Normal(mu, sigma).

    The ``marginal`` residuals replace the latent eta by a beta-binomial whose Beta has the
    mean and variance of p under the logit-normal residual (moment matching): with
    q = logistic(eta), E q and Var q by Gauss-Hermite quadrature (``nodes`` points; the
    variance as the weighted mean of (q_k - E q)^2, free of cancellation), E p = c + (1 - c)
    E q, Var p = (1 - c)^2 Var q and precision = E p (1 - E p) / Var p - 1 (Var p <=
    E p (1 - E p) always, so the precision is positive). The count keeps the mean and
    variance of the logit-normal binomial; its shape is the beta-binomial's.

    Works on numpy arrays and pytensor tensors alike (broadcasting).

    Returns
    -------
    mean_p, precision
    """
    x, w = np.polynomial.hermite.hermgauss(nodes)
    w = w / np.sqrt(np.pi)
    tensor = isinstance(mu, pt.TensorVariable) or isinstance(sigma, pt.TensorVariable)
    lib = pt if tensor else np
    sigmoid = pm.math.sigmoid if tensor else (lambda v: 1.0 / (1.0 + np.exp(-v)))
    eta = lib.expand_dims(mu, -1) + np.sqrt(2.0) * lib.expand_dims(sigma, -1) * x
    q = sigmoid(eta)
    mean_q = (q * w).sum(axis=-1)
    var_q = (((q - lib.expand_dims(mean_q, -1)) ** 2) * w).sum(axis=-1)
    mean_p = chance + (1.0 - chance) * mean_q
    var_p = (1.0 - chance) ** 2 * var_q
    # a floor on Var p keeps the precision finite as sigma -> 0 (binomial limit, 1e12)
    precision = mean_p * (1.0 - mean_p) / (var_p + 1e-12 * mean_p * (1.0 - mean_p)) - 1.0
    return mean_p, precision


def _weak_marginal_counts(data: Leaderboard6Data, mean, scale, chance):
    """Add the count likelihoods: beta-binomial for the weak benchmarks, binomial otherwise.

    :data:`WEAK_COUNT_BENCHMARKS` get the ``marginal`` beta-binomial (their residual
    integrated out, observed ``correct_weak``); the others a binomial with a centred
    residual ``eta_centred`` (observed ``correct``).
    """
    weak = np.isin(np.asarray(data.benchmarks)[data.count_benchmark],
                   list(WEAK_COUNT_BENCHMARKS))
    w, s = np.flatnonzero(weak), np.flatnonzero(~weak)
    coords = data.coords["count_obs"]
    model = pm.modelcontext(None)
    if s.size:
        model.add_coord("count_obs_centred", [coords[i] for i in s])
        eta = pm.Normal("eta_centred", mean[s], scale[s], dims="count_obs_centred")
        p = chance[s] + (1.0 - chance[s]) * pm.math.sigmoid(eta)
        pm.Binomial("correct", n=data.n[s], p=p, observed=data.k[s],
                    dims="count_obs_centred")
    if w.size:
        model.add_coord("count_obs_weak", [coords[i] for i in w])
        mean_p, precision = marginal_count_moments(mean[w], scale[w], chance[w])
        pm.BetaBinomial("correct_weak", n=data.n[w], alpha=mean_p * precision,
                        beta=(1.0 - mean_p) * precision, observed=data.k[w],
                        dims="count_obs_weak")


def _mixed_residuals(data: Leaderboard6Data, mean, scale):
    """Count residuals: non-centred for :data:`WEAK_COUNT_BENCHMARKS`, centred otherwise."""
    weak = np.isin(np.asarray(data.benchmarks)[data.count_benchmark],
                   list(WEAK_COUNT_BENCHMARKS))
    w, s = np.flatnonzero(weak), np.flatnonzero(~weak)
    eta = pt.zeros(data.k.size)
    coords = data.coords["count_obs"]
    model = pm.modelcontext(None)
    if s.size:
        model.add_coord("count_obs_centred", [coords[i] for i in s])
        strong = pm.Normal("eta_centred", mean[s], scale[s], dims="count_obs_centred")
        eta = pt.set_subtensor(eta[s], strong)
    if w.size:
        model.add_coord("count_obs_weak", [coords[i] for i in w])
        z = pm.Normal("eta_z", 0.0, 1.0, dims="count_obs_weak")
        eta = pt.set_subtensor(eta[w], mean[w] + scale[w] * z)
    return pm.Deterministic("eta", eta, dims="count_obs")


def fit_leaderboard6(data: Leaderboard6Data, spec: ModelSpec, *, backend: str = "nutpie",
                     progressbar: bool = False, cores: int | None = None,
                     residuals: str = "centred", ability_scaling: str = "unit",
                     intercept: str = "equal"):
    """Build and sample the joint model; returns the DataTree of :func:`sample_posterior`."""
    from bayes_llm.model.sampling import sample_posterior

    model = build_leaderboard6_model(data, spec, residuals=residuals,
                                     ability_scaling=ability_scaling, intercept=intercept)
    dt = sample_posterior(model, spec.sampler, backend=backend, progressbar=progressbar,
                          cores=cores)
    if residuals == "gaussian":  # theta was integrated out: its draws, given each draw
        post = dt["posterior"].to_dataset()
        post["ability"] = draw_marginal_ability(post, data, seed=spec.sampler.seed + 1)
        dt["posterior"] = post
    return dt
