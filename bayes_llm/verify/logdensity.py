"""The documented joint log density, in NumPy/SciPy, written from ``models/README.md``.

This is an independent implementation of the model of a spec: it does not import or read
``bayes_llm.model.build``. Comparing it with the PyMC model's log density at random
parameter points (``tests/test_logdensity.py``) catches coding errors in ``build.py``
(a wrong sign, scale, index or prior) that simulation-based calibration cannot see when
the simulator and the fit share the same mistake.

For model *i* of developer unit *j(i)* in period *t(i)*, with centred compute *x_i*::

    mu_i = alpha + beta x_i + gamma_t(i) + u_j(i) [+ b_j(i) x_i] [+ delta_t(i) x_i]
           [+ tau s_i]

(``s_i``: years from the release month to the period's midpoint, ``period_trend``; see
:func:`years_within_period`)

Variables are the *sampled* (value) variables of the model, on their constrained scale
(a scale is a positive number, a sum-to-zero vector has its ``n`` entries); the density is
with respect to Lebesgue measure on those values, and for a sum-to-zero vector with
respect to Lebesgue measure on the sum-to-zero subspace (orthonormal coordinates):

* ``ZeroSumNormal(sigma)`` on ``n`` levels: ``u = z - mean(z)`` with ``z_k ~ Normal(0, sigma)``
  independent; density ``(2 pi sigma^2)^(-(n-1)/2) exp(-sum(u^2) / (2 sigma^2))``;
* random walk: ``w_1 ~ prior(alpha)``, ``w_t - w_(t-1) ~ Normal(drift, sigma_period)``;
* nested: ``g ~ ZeroSumNormal(sigma_group)`` over groups, ``u_j ~ Normal(g_group(j),
  sigma_developer)``;
* non-centred pooled developers: ``z_j ~ Normal(0, 1)``, ``u_j = sigma_developer z_j``;
* Student-t developers (``developer_distribution``): iid ``StudentT(nu_developer, 0,
  sigma_developer)``, not sum-to-zero;
* developers by kind (``normal_by_kind``): ``sigma_developer_kind`` (two scales, each with
  the ``sigma_developer`` prior), ``u_j ~ Normal(0, sigma_developer_kind[kind_j])`` iid;
* lineages (``lineage_effect``): iid ``Normal(0, sigma_lineage)`` (or ``StudentT(nu_lineage,
  0, sigma_lineage)``, ``lineage_distribution``, with z ~ StudentT(nu_lineage, 0, 1) and
  every single-model lineage sampled), sampled as
  ``lineage_multi_effect`` for lineages with several models and as
  ``sigma_lineage * lineage_single_z``, ``z ~ Normal(0, 1)``, for single-model ones
  (with an integrated model effect the single-model ones are summed out with ``eta``:
  their model's effect SD is ``sqrt(sigma_model^2 + sigma_lineage^2)``);
* errors-in-variables: ``x_true_i ~ Normal(mu_x, sigma_x)``, ``x_obs_i ~ Normal(x_true_i,
  tau_i)``;
* likelihoods: ``Binomial(n, g + (1 - g) logistic(eta_i))`` with ``eta_i ~ Normal(mu_i,
  sigma_model)``; ``Normal(mu_i, sigma)``; ``StudentT(nu, mu_i, sigma)``;
* floor mixture (``floor_mixture``): ``pi ~ Beta``, the binomial count becomes
  ``pi BetaBinomial(n, m kappa, (1 - m) kappa) + (1 - pi) Binomial(n, p_i)`` with
  ``m = g + (1 - g) B logistic(collapse_logit_mean)``, ``kappa = K +
  exp(collapse_log_concentration)`` (B = 0.03, K = 2,000: ``bayes_llm.model.spec``);
  with ``collapse_by_period`` one ``pi_t`` per period (iid, each with pi's prior) and
  model i uses ``pi_t(i)``; with ``collapse_by_compute`` ``pi_i = logistic(a + b x_i)`` of
  the reported centred compute x_i (``a = collapse_intercept``, ``b =
  collapse_compute_slope``); with ``collapse_by_lineage`` the log odds of model i gain
  ``sigma_collapse_lineage * z_l(i)``, ``z_l ~ Normal(0, 1)`` iid over all lineages
  (``collapse_lineage_z``; pi, or pi_t, enters on its log-odds scale);
* integrated model effect (``integrate_model_effect``): no ``eta``; each count's density
  is ``∫ Binomial(k_i | n, g + (1 - g) logistic(e)) Normal(e | mu_i, sigma_model) de``
  (in the floor mixture in place of ``Binomial(n, p_i)``), computed here by SciPy's
  adaptive quadrature (QUADPACK) per model, not by the model's Gauss–Hermite rule;
* lineages summed out (``lineage_grid``; the lineages of ``data.lineage_grid``, not
  sampled): each such lineage's models contribute ``log ∫ law(u) prod_i p(k_i | mu_i + u)
  du`` (the lineage law's density times the models' integrated, floor-mixed densities),
  computed here by composite Simpson's rule on a fine grid over the range where the
  integrand is within e^-50 of its maximum, not by the model's trapezoid rule on fixed
  nodes (:func:`grid_lineage_log_marginals`).

The variable names are the ones listed in ``models/README.md`` ("Sampled variables").
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import special, stats

from bayes_llm.model.design import ModelData
from bayes_llm.model.spec import (
    COLLAPSE_BAND,
    COLLAPSE_MIN_CONCENTRATION,
    PARTIAL_CENTRING_MIN_MODELS,
    ModelSpec,
    Prior,
)

#: Absolute tolerance on the mean of a sum-to-zero vector.
ZERO_SUM_ATOL = 1e-9


def prior_logpdf(prior: Prior, x: np.ndarray | float) -> np.ndarray:
    """Log density of a prior family (PyMC parameterisation, see ``models/README.md``).

    ``Gamma(alpha, beta)`` has rate ``beta``; ``Exponential(lam)`` has rate ``lam``; the
    ``Half*`` families are the positive half of the symmetric family, doubled.
    """
    p = prior.params
    x = np.asarray(x, dtype=float)
    d = prior.dist
    if d == "Normal":
        return stats.norm.logpdf(x, p["mu"], p["sigma"])
    if d == "HalfNormal":
        return stats.halfnorm.logpdf(x, scale=p["sigma"])
    if d == "StudentT":
        return stats.t.logpdf(x, p["nu"], p["mu"], p["sigma"])
    if d == "HalfStudentT":
        return np.where(x >= 0, np.log(2.0) + stats.t.logpdf(x, p["nu"], 0.0, p["sigma"]),
                        -np.inf)
    if d == "Exponential":
        return stats.expon.logpdf(x, scale=1.0 / p["lam"])
    if d == "Gamma":
        return stats.gamma.logpdf(x, p["alpha"], scale=1.0 / p["beta"])
    if d == "Cauchy":
        return stats.cauchy.logpdf(x, p["alpha"], p["beta"])
    if d == "HalfCauchy":
        return stats.halfcauchy.logpdf(x, scale=p["beta"])
    if d == "Beta":
        return stats.beta.logpdf(x, p["alpha"], p["beta"])
    raise ValueError(f"unknown prior family {d!r}")


def prior_draw(prior: Prior, rng: np.random.Generator, size=None) -> np.ndarray:
    """Draw from a prior family (same parameterisation as :func:`prior_logpdf`)."""
    p = prior.params
    d = prior.dist
    if d == "Normal":
        return rng.normal(p["mu"], p["sigma"], size)
    if d == "HalfNormal":
        return np.abs(rng.normal(0.0, p["sigma"], size))
    if d == "StudentT":
        return p["mu"] + p["sigma"] * rng.standard_t(p["nu"], size)
    if d == "HalfStudentT":
        return np.abs(p["sigma"] * rng.standard_t(p["nu"], size))
    if d == "Exponential":
        return rng.exponential(1.0 / p["lam"], size)
    if d == "Gamma":
        return rng.gamma(p["alpha"], 1.0 / p["beta"], size)
    if d == "Cauchy":
        return p["alpha"] + p["beta"] * rng.standard_cauchy(size)
    if d == "HalfCauchy":
        return np.abs(p["beta"] * rng.standard_cauchy(size))
    if d == "Beta":
        return rng.beta(p["alpha"], p["beta"], size)
    raise ValueError(f"unknown prior family {d!r}")


def zero_sum_normal_logpdf(u: np.ndarray, sigma: float) -> float:
    """Log density of ``ZeroSumNormal(sigma)`` on the sum-to-zero subspace.

    ``u = z - mean(z)`` with ``z_k ~ Normal(0, sigma)`` independent has covariance
    ``sigma^2 (I - 11'/n)``: on the ``(n-1)``-dimensional subspace it is an isotropic
    Normal with variance ``sigma^2``, so the density (orthonormal coordinates on the
    subspace) is ``(2 pi sigma^2)^(-(n-1)/2) exp(-|u|^2 / (2 sigma^2))``.
    """
    u = np.asarray(u, dtype=float)
    if abs(u.mean()) > ZERO_SUM_ATOL:
        raise ValueError(f"a sum-to-zero vector has mean {u.mean():.3g}")
    n = u.size
    return float(-0.5 * (n - 1) * np.log(2.0 * np.pi * sigma**2)
                 - 0.5 * np.sum(u**2) / sigma**2)


def structure(spec: ModelSpec, data: ModelData) -> dict[str, bool | int]:
    """Which documented parts a spec has on this design.

    Returns
    -------
    dict
        ``n_periods``, ``random_walk``, ``period`` (``"none"``, ``"exchangeable"``,
        ``"fixed"`` or ``"random_walk"``), ``interaction``, ``developer`` (``"none"``,
        ``"nested"``, ``"centred"``, ``"non_centred"``, ``"student_t"`` or ``"fixed"``),
        ``slopes``,
        ``compute_error``, ``likelihood``.
    """
    n_periods = len(data.coords["period"])
    if n_periods == 1:
        period = "none"
    elif spec.period_effect == "random_walk":
        period = "random_walk"
    else:
        period = spec.period_effect
    if spec.developer == "none":
        developer = "none"
    elif spec.developer == "nested":
        developer = "nested"
    elif spec.developer_effect == "fixed":
        developer = "fixed"
    elif getattr(spec, "developer_distribution", "normal") == "student_t":
        developer = "student_t"
    elif getattr(spec, "developer_distribution", "normal") == "normal_by_kind":
        developer = "by_kind"
    else:
        developer = spec.developer_parameterisation
    return {"n_periods": n_periods, "period": period,
            "interaction": bool(spec.compute_period_interaction and n_periods > 1),
            "developer": developer,
            "slopes": bool(spec.developer_slopes and spec.developer != "none"),
            "compute_error": bool(spec.compute_error), "likelihood": spec.likelihood,
            "monotone": getattr(spec, "compute_curve", "linear") == "monotone",
            "lineage": bool(getattr(spec, "lineage_effect", False)),
            "t_lineage": getattr(spec, "lineage_distribution", "normal") == "student_t",
            "protocol": bool(getattr(spec, "protocol_effect", False)),
            "trend": bool(getattr(spec, "period_trend", False)),
            "mundlak": bool(getattr(spec, "developer_mean_compute", False)
                            and spec.developer != "none"),
            "t_model": getattr(spec, "model_effect", "normal") == "student_t",
            "two_scale": getattr(spec, "model_effect", "normal") == "two_scale",
            "laplace": getattr(spec, "model_effect", "normal") == "laplace",
            "t_compute": getattr(spec, "compute_population", "normal") == "student_t",
            "floor_mixture": bool(getattr(spec, "floor_mixture", False)),
            "integrated": bool(getattr(spec, "integrate_model_effect", False)),
            "collapse_by_period": bool(getattr(spec, "collapse_by_period", False)),
            "collapse_by_compute": bool(getattr(spec, "collapse_by_compute", False)),
            "collapse_by_lineage": bool(getattr(spec, "collapse_by_lineage", False))}


def monotone_curve(x: np.ndarray, slopes: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Return the monotone piecewise-linear compute curve f(x), with f(0) = 0.

    ``f(x) = sum_k s_k (clip(x, kappa_k, kappa_(k+1)) - clip(0, kappa_k, kappa_(k+1)))``
    over the ``K + 1`` segments of the ``K`` (centred) knots, ``kappa_0 = -inf`` and
    ``kappa_(K+1) = +inf``.
    """
    edges = np.concatenate([[-np.inf], np.asarray(knots, float), [np.inf]])
    x = np.asarray(x, float)[..., None]
    lo, hi = edges[:-1], edges[1:]
    return np.sum(np.asarray(slopes, float) * (np.clip(x, lo, hi) - np.clip(0.0, lo, hi)),
                  axis=-1)


def years_within_period(spec: ModelSpec, data: ModelData) -> np.ndarray:
    """Years from each model's release month to its period's midpoint, from the dates alone.

    Written apart from ``bayes_llm.model.design`` (which the PyMC model uses): months are
    counted as ``12 year + month``; a quarter's midpoint is its middle month, a cohort's
    the mean of its first and last months (:data:`bayes_llm.constants.PAPER_COHORTS`).
    """
    from bayes_llm import constants

    months = np.array([12 * m.year + m.month - 1 for m in data.frame["release_month"]], float)
    if spec.period == "quarter":
        mid = months - months % 3 + 1
    else:
        mid = np.full(len(months), np.nan)
        for first, last, _ in constants.PAPER_COHORTS:
            a, b = (12 * int(d[:4]) + int(d[5:7]) - 1 for d in (first, last))
            mid[(months >= a) & (months <= b)] = (a + b) / 2
    return (months - mid) / 12


def lineage_effects(data: ModelData, v: Mapping[str, np.ndarray], *,
                    singles_summed_out: bool = False) -> np.ndarray:
    """Each lineage's effect: sampled for multi-model lineages, sigma * z for the others.

    ``singles_summed_out`` (integrated model effect): 0 for single-model lineages, whose
    effect is in the model effect's variance instead.
    """
    out = np.zeros(len(data.coords["lineage"]))
    if len(data.lineage_multi):
        out[data.lineage_multi] = np.asarray(v["lineage_multi_effect"], float)
    if len(data.lineage_single) and not singles_summed_out:
        out[data.lineage_single] = float(v["sigma_lineage"]) * np.asarray(
            v["lineage_single_z"], float)
    return out


def slope_at_centre(slopes: np.ndarray, knots: np.ndarray) -> float:
    """Slope of the segment containing x = 0 (at a knot, the segment above): ``beta``."""
    return float(np.asarray(slopes)[int(np.searchsorted(np.asarray(knots), 0.0,
                                                        side="right"))])


def collapse_shape(guess: float, logit_mean, log_concentration) -> tuple:
    """Beta parameters ``(m kappa, (1 - m) kappa)`` of the collapsed models' accuracy.

    ``m = g + (1 - g) B logistic(collapse_logit_mean)`` (in a band of width B =
    ``COLLAPSE_BAND`` above the guessing floor g), ``kappa = K + exp(collapse_log_concentration)``
    (K = ``COLLAPSE_MIN_CONCENTRATION``).
    """
    m = guess + (1.0 - guess) * COLLAPSE_BAND * special.expit(logit_mean)
    kappa = COLLAPSE_MIN_CONCENTRATION + np.exp(log_concentration)
    return m * kappa, (1.0 - m) * kappa


def floor_mixture_logpmf(k, n, p, guess: float, pi, logit_mean,
                         log_concentration) -> np.ndarray:
    """Log probability of each count under the collapse mixture (``floor_mixture``).

    ``log(pi BetaBinomial(k; n, a, b) + (1 - pi) Binomial(k; n, p))`` with ``(a, b)`` of
    :func:`collapse_shape`; ``pi``, ``logit_mean`` and ``log_concentration`` broadcast
    against ``k`` and ``p`` (e.g. one value per posterior draw as a column).
    """
    a, b = collapse_shape(guess, np.asarray(logit_mean, float),
                          np.asarray(log_concentration, float))
    pi = np.asarray(pi, float)
    with np.errstate(divide="ignore"):  # pi = 0 or 1: one component drops out
        collapsed = np.log(pi) + stats.betabinom.logpmf(k, n, a, b)
        regular = np.log1p(-pi) + stats.binom.logpmf(k, n, p)
    return np.logaddexp(collapsed, regular)


def integrated_binomial_logpmf(k, n, guess: float, mu, sigma) -> np.ndarray:
    """``log ∫ Binomial(k | n, g + (1 - g) logistic(e)) Normal(e | mu, sigma) de`` per model.

    Composite Simpson's rule on 4,001 points over the interval where the integrand is
    within a factor e^-60 of its maximum (located on a grid of spacing 0.01 over
    [-40, 40]; the likelihood peak of a 12,000-item benchmark is ~0.03 wide and can lie
    far from both the observed score and ``mu``). Relative error of the integral ~1e-10
    on the cases of ``tests/test_eta_integral.py``.
    """
    k = np.atleast_1d(np.asarray(k, float))
    mu = np.broadcast_to(np.asarray(mu, float), k.shape)
    sigma = np.broadcast_to(np.asarray(sigma, float), k.shape)

    def log_effect(e, i):
        return stats.norm.logpdf(e, mu[i][:, None], sigma[i][:, None])

    return _simpson_log_integral(k, n, guess, log_effect)


def _simpson_log_integral(k, n, guess: float, log_effect, kink=None) -> np.ndarray:
    """Log ∫ Binomial(k | n, g + (1 - g) logistic(e)) exp(log_effect(e, rows)) de per count.

    ``log_effect(e, rows)`` is the effect's log density on the grid ``e`` (rows x points)
    of the counts ``rows``. The interval where the integrand is within e^-60 of its
    maximum is found on a grid of spacing 0.01 over [-40, 40]; composite Simpson's rule
    on 4,001 points covers it, or each side of ``kink`` (per count) separately.
    """
    from scipy import integrate

    k = np.asarray(k, float)[:, None]
    n = np.broadcast_to(np.asarray(n, float), k.shape[:1])[:, None]
    rows = np.arange(k.shape[0])
    log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)

    def log_f(e):
        p = guess + (1.0 - guess) * special.expit(e)
        return (log_choose + special.xlogy(k, p) + special.xlog1py(n - k, -p)
                + log_effect(e, rows))

    step = 0.01
    coarse = np.arange(-40.0, 40.0 + step / 2, step)[None, :]
    values = log_f(np.broadcast_to(coarse, (k.shape[0], coarse.shape[1])))
    keep = values > values.max(axis=1, keepdims=True) - 60.0
    lo = coarse[0, np.argmax(keep, axis=1)] - step
    hi = coarse[0, keep.shape[1] - 1 - np.argmax(keep[:, ::-1], axis=1)] + step
    pieces = [(lo, hi)]
    if kink is not None:  # each side of the kink that lies inside the interval
        cut = np.clip(np.asarray(kink, float), lo, hi)
        pieces = [(lo, cut), (cut, hi)]
    total = None
    for a, b in pieces:
        grid = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, 4001)[None, :]
        values = log_f(grid)
        peak = values.max(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):  # a side of no width adds nothing
            part = peak[:, 0] + np.log(integrate.simpson(np.exp(values - peak), x=grid,
                                                         axis=1))
        total = part if total is None else np.logaddexp(total, part)
    return total


def _grid_lineages(data: ModelData) -> np.ndarray:
    """Lineages whose effect is summed out of the likelihood (``lineage_grid``), or none."""
    grid = getattr(data, "lineage_grid", None)
    return np.zeros(0, dtype=np.int64) if grid is None else np.asarray(grid, dtype=np.int64)


def lineage_law_logpdf(u, v: Mapping[str, np.ndarray], parts: dict) -> np.ndarray:
    """Log density of the lineage law at ``u``: Normal(0, sigma_lineage) or Student-t."""
    sd = float(v["sigma_lineage"])
    if parts["t_lineage"]:
        return stats.t.logpdf(u, float(v["nu_lineage"]), 0.0, sd)
    return stats.norm.logpdf(u, 0.0, sd)


def lineage_log_integrand(u, v: Mapping[str, np.ndarray], parts: dict, k, n, guess: float,
                          mu, pi=None) -> np.ndarray:
    """``log law(u) + sum_i log p(k_i | mu_i + u)`` at each ``u``, for one lineage's models.

    ``k``, ``n``, ``mu`` (and ``pi``) are the lineage's models'; ``p`` is
    :func:`integrated_count_logpmf`'s density, ``mu`` the linear predictor without the
    lineage's effect. The integrand of :func:`grid_lineage_log_marginals`, and the
    lineage effect's conditional log density up to a constant.
    """
    u = np.atleast_1d(np.asarray(u, float))
    mu = np.asarray(mu, float)
    tile = len(u)
    ll = integrated_count_logpmf(
        v, parts, np.tile(k, tile), np.tile(np.broadcast_to(n, mu.shape), tile), guess,
        (mu[None, :] + u[:, None]).ravel(), pi=None if pi is None else np.tile(pi, tile))
    return ll.reshape(tile, mu.size).sum(axis=1) + lineage_law_logpdf(u, v, parts)


def grid_lineage_log_marginals(v: Mapping[str, np.ndarray], parts: dict, data: ModelData,
                               mu, pi=None, *, step: float = 0.02) -> np.ndarray:
    """``log ∫ law(u) prod_(i in l) p(k_i | mu_i + u) du`` for each summed-out lineage l.

    ``p`` is :func:`integrated_count_logpmf`'s density (model effect integrated out, mixed
    with the collapsed component at ``pi``), ``mu`` the linear predictor without the
    lineage's effect. The integrand is located on a grid of spacing 0.25 over [-15, 10]
    and integrated by composite Simpson's rule with spacing about ``step`` over the range
    where it is within e^-50 of its maximum (a range that holds every peak); where that
    range reaches -15 or 10, the law's tail beyond is added (:data:`REFERENCE_LOW`).
    """
    from scipy import integrate

    mu = np.asarray(mu, float)
    n = np.broadcast_to(np.asarray(data.n, float), mu.shape)
    out = []
    for lineage in _grid_lineages(data):
        rows = np.flatnonzero(np.asarray(data.lineage_idx) == lineage)

        def log_f(u: np.ndarray, rows: np.ndarray = rows) -> np.ndarray:
            return lineage_log_integrand(u, v, parts, data.k[rows], n[rows], data.guess,
                                         mu[rows], None if pi is None else np.asarray(pi)[rows])

        coarse = np.arange(REFERENCE_LOW, REFERENCE_HIGH + 1e-9, 0.25)
        values = log_f(coarse)
        keep = np.flatnonzero(values > values.max() - 50.0)
        lo = max(coarse[keep[0]] - 0.25, REFERENCE_LOW)
        hi = min(coarse[keep[-1]] + 0.25, REFERENCE_HIGH)
        fine = np.linspace(lo, hi, 2 * int(np.ceil((hi - lo) / (2 * step))) + 1)
        values = log_f(fine)
        peak = values.max()
        pieces = [peak + math.log(integrate.simpson(np.exp(values - peak), x=fine))]
        for bound, edge, at in ((REFERENCE_LOW, values[0], lo), (REFERENCE_HIGH, values[-1], hi)):
            if at == bound:  # the integrand reaches the range's end: add the law's tail
                pieces.append(edge - float(lineage_law_logpdf(bound, v, parts)[()])
                              + _law_log_tail(abs(bound), v, parts))
        out.append(float(special.logsumexp(pieces)))
    return np.asarray(out)


#: The reference's range for a summed-out lineage's effect. Beyond it the likelihood is
#: flat (above: every model's regular part is negligible beside its collapsed part, or the
#: integrand is; below: the regular part is at its plateau), so the integral beyond is
#: the law's tail mass times the integrand's likelihood part at the range's end.
REFERENCE_LOW = -15.0
REFERENCE_HIGH = 10.0


def _law_log_tail(z: float, v: Mapping[str, np.ndarray], parts: dict) -> float:
    """Log of the lineage law's mass beyond ``z`` > 0 (scipy's survival functions)."""
    sd = float(v["sigma_lineage"])
    if parts["t_lineage"]:
        return float(stats.t.logsf(z / sd, float(v["nu_lineage"])))
    return float(stats.norm.logsf(z / sd))


def _singles_summed_out(parts: dict) -> bool:
    """Whether single-model lineages' effects are summed out with the model effect.

    So with an integrated Normal (or two-scale) model effect: a Normal lineage effect adds
    to each component's variance. Not with a Laplace one (a Laplace plus a Normal is not a
    Laplace), nor with Student-t lineage effects: those lineage effects are sampled.
    """
    return (bool(parts["integrated"]) and not parts.get("laplace", False)
            and not parts.get("t_lineage", False))


def integrated_binomial_laplace_logpmf(k, n, guess: float, mu, scale) -> np.ndarray:
    """``log ∫ Binomial(k | n, g + (1 - g) logistic(e)) Laplace(e | mu, scale) de`` per model.

    As :func:`integrated_binomial_logpmf`, with the interval split at the Laplace law's
    kink ``mu`` and composite Simpson's rule on 4,001 points on each side (Simpson's rule
    is exact to its order only where the integrand is smooth).
    """
    k = np.atleast_1d(np.asarray(k, float))
    mu = np.broadcast_to(np.asarray(mu, float), k.shape)
    scale = np.broadcast_to(np.asarray(scale, float), k.shape)

    def log_effect(e, i):
        return -np.abs(e - mu[i][:, None]) / scale[i][:, None] - np.log(2.0 * scale[i][:, None])

    return _simpson_log_integral(k, n, guess, log_effect, kink=mu)


def integrated_count_logpmf(v: Mapping[str, np.ndarray], parts: dict, k, n, guess: float,
                            mu, *, pi=None, alone=None) -> np.ndarray:
    """Log pmf of each count with the model effect integrated out (no prior terms).

    The observation term of :func:`log_density_terms` for the ``integrated`` model effect:
    a Normal (SD ``sigma_model``), a Laplace of that SD, or the two-scale mixture (total SD
    ``sigma_model``, wide SD r times the core's), each integrated over the binomial; then,
    with the floor mixture, mixed with the collapsed component at collapse probability
    ``pi``. ``alone`` marks the counts whose single-model lineage effect is summed out with
    the model effect (its variance added). Shared with the exploratory scripts that
    evaluate the term for a subset of the models (``lineage_conditional.py``).

    Returns
    -------
    numpy.ndarray
        One log probability per count.
    """
    mu = np.asarray(mu, float)
    if parts["laplace"]:  # a Laplace law of SD sigma_model: scale sigma_model / sqrt 2
        regular = integrated_binomial_laplace_logpmf(
            k, n, guess, mu, np.full(mu.size, float(v["sigma_model"]) / math.sqrt(2.0)))
    else:
        # (log weight, SD) of each Normal component of the model effect
        components = [(0.0, float(v["sigma_model"]))]
        if parts["two_scale"]:
            w, r = float(v["model_wide_probability"]), 1.0 + math.exp(
                float(v["model_wide_log_ratio"]))
            core = float(v["sigma_model"]) / math.sqrt((1.0 - w) + w * r * r)
            components = [(math.log(1.0 - w), core), (math.log(w), r * core)]
        regular = None
        for log_w, scale in components:
            sd = np.full(mu.size, scale)
            if alone is not None:
                sd = np.sqrt(sd**2 + float(v["sigma_lineage"]) ** 2 * alone)
            term = log_w + integrated_binomial_logpmf(k, n, guess, mu, sd)
            regular = term if regular is None else np.logaddexp(regular, term)
    if parts["floor_mixture"]:
        a, b = collapse_shape(guess, float(v["collapse_logit_mean"]),
                              float(v["collapse_log_concentration"]))
        regular = np.logaddexp(np.log(pi) + stats.betabinom.logpmf(k, n, a, b),
                               np.log1p(-pi) + regular)
    return regular


def _collapse_names(parts: dict) -> list[str]:
    """Return the collapsed component's sampled variables (``floor_mixture``)."""
    rate = (["collapse_intercept", "collapse_compute_slope"] if parts["collapse_by_compute"]
            else ["collapse_probability"])
    lineage = (["sigma_collapse_lineage", "collapse_lineage_z"] if parts["collapse_by_lineage"]
               else [])
    return [*rate, *lineage, "collapse_logit_mean", "collapse_log_concentration"]


def _model_collapse_probability(data: ModelData, v: Mapping[str, np.ndarray],
                                parts: dict) -> np.ndarray:
    """Return each model's collapse probability.

    pi, its period's pi (``collapse_by_period``) or logistic(a + b x_i) of its reported
    centred compute (``collapse_by_compute``).
    """
    if parts["collapse_by_compute"]:
        logit = float(v["collapse_intercept"]) + float(v["collapse_compute_slope"]) * data.x
    else:
        pi = np.asarray(v["collapse_probability"], float)
        pi = pi[data.period_idx] if parts["collapse_by_period"] else np.full(len(data.k), pi)
        if not parts["collapse_by_lineage"]:
            return pi
        logit = np.log(pi) - np.log1p(-pi)
    if parts["collapse_by_lineage"]:  # the lineage's propensity on the log-odds scale
        z = np.asarray(v["collapse_lineage_z"], float)
        logit = logit + float(v["sigma_collapse_lineage"]) * z[np.asarray(data.lineage_idx)]
    return 1.0 / (1.0 + np.exp(-logit))


def _collapse_priors(prior, normal, parts: dict) -> None:
    """Add the collapsed component's prior terms (``collapse_lineage_z``: Normal(0, 1))."""
    for name in _collapse_names(parts):
        if name == "collapse_lineage_z":
            normal(name, 0.0, 1.0)
        else:
            prior(name)


def _mu(spec: ModelSpec, data: ModelData, v: Mapping[str, np.ndarray],
        parts: dict) -> np.ndarray:
    """Return the linear predictor ``mu_i`` from the sampled variables ``v``."""
    x = np.asarray(v["log10_flop_true"], float) if parts["compute_error"] else data.x
    t = data.period_idx
    j = data.developer_idx
    if parts["period"] == "random_walk":
        walk = np.asarray(v["period_walk"], float)
        level = walk[t]  # alpha + gamma_t = the walk's level in period t
    elif parts["period"] == "none":
        level = np.full(len(t), float(v["alpha"]))
    else:
        level = float(v["alpha"]) + np.asarray(v["period_effect"], float)[t]
    if parts["monotone"]:
        mu = level + monotone_curve(x, np.exp(np.asarray(v["log_compute_slope"], float)),
                                    data.knots)
    else:
        slope = float(v["beta"]) + np.zeros(len(t))
        if parts["interaction"]:
            slope = slope + np.asarray(v["compute_period_slope"], float)[t]
        if parts["slopes"]:
            slope = slope + np.asarray(v["developer_slope"], float)[j]
        mu = level + slope * x
    if parts["lineage"]:
        mu = mu + lineage_effects(data, v, singles_summed_out=_singles_summed_out(parts))[
            data.lineage_idx]
    if parts["trend"]:
        mu = mu + float(v["period_trend"]) * years_within_period(spec, data)
    if parts["protocol"]:
        mu = mu + float(v["protocol_effect"]) * data.off_harness
    if parts["mundlak"]:
        mu = mu + float(v["mundlak_lambda"]) * data.developer_mean_x[j]
    if parts["developer"] == "non_centred":
        mu = mu + float(v["sigma_developer"]) * np.asarray(v["developer_z"], float)[j]
    elif parts["developer"] == "partial":
        mu = mu + partial_developer_effects(data, v)[j]
    elif parts["developer"] != "none":
        mu = mu + np.asarray(v["developer_effect"], float)[j]
    return mu


def informed_developers(data) -> np.ndarray:
    """Per developer: whether it has at least ``PARTIAL_CENTRING_MIN_MODELS`` models.

    ``partial`` samples these developers centred; the single-outcome and the joint design.
    """
    counts = np.bincount(np.asarray(data.developer_idx),
                         minlength=len(data.coords["developer"]))
    return counts >= PARTIAL_CENTRING_MIN_MODELS


def partial_developer_effects(data: ModelData, v: dict) -> np.ndarray:
    """Developer effects of ``partial``: own values where informed, sigma * z elsewhere."""
    informed = informed_developers(data)
    effect = np.empty(informed.size)
    effect[informed] = np.asarray(v["developer_centred_effect"], float)
    effect[~informed] = float(v["sigma_developer"]) * np.asarray(v["developer_z"], float)
    return effect


def value_names(spec: ModelSpec, data: ModelData) -> list[str]:
    """Names of the sampled variables of ``spec`` on this design (``models/README.md``)."""
    parts = structure(spec, data)
    names: list[str] = []
    if parts["period"] == "random_walk":
        names += ["sigma_period", "period_drift", "period_walk"]
    else:
        names.append("alpha")
        if parts["period"] == "exchangeable":
            names += ["sigma_period", "period_effect"]
        elif parts["period"] == "fixed":
            names.append("period_effect")
    if parts["monotone"]:
        names += ["log_slope_mean", "sigma_curve", "log_compute_slope"]
    else:
        names.append("beta")
    if parts["compute_error"]:
        names += ["mu_x", "sigma_x", "log10_flop_true"]
        if parts["t_compute"]:
            names.append("nu_x")
    if parts["lineage"]:
        names.append("sigma_lineage")
        if parts["t_lineage"]:
            names.append("nu_lineage")
        if len(data.lineage_multi):
            names.append("lineage_multi_effect")
        if len(data.lineage_single) and not _singles_summed_out(parts):
            names.append("lineage_single_z")
    if parts["trend"]:
        names.append("period_trend")
    if parts["protocol"]:
        names.append("protocol_effect")
    if parts["mundlak"]:
        names.append("mundlak_lambda")
    if parts["interaction"]:
        names += ["sigma_interaction", "compute_period_slope"]
    dev = parts["developer"]
    if dev == "nested":
        names += ["sigma_group", "group_effect", "sigma_developer", "developer_effect"]
    elif dev == "centred":
        names += ["sigma_developer", "developer_effect"]
    elif dev == "student_t":
        names += ["sigma_developer", "nu_developer", "developer_effect"]
    elif dev == "by_kind":
        names += ["sigma_developer_kind", "developer_effect"]
    elif dev == "non_centred":
        names += ["sigma_developer", "developer_z"]
    elif dev == "partial":
        informed = informed_developers(data)
        names += (["sigma_developer"] + (["developer_z"] if (~informed).any() else [])
                  + (["developer_centred_effect"] if informed.any() else []))
    elif dev == "fixed":
        names.append("developer_effect")
    if parts["slopes"]:
        names += ["sigma_slope", "developer_slope"]
    if spec.likelihood == "binomial":
        names += ["sigma_model"] + ([] if parts["integrated"] else ["eta"])
        names += ["nu_model"] if parts["t_model"] else []
        names += ["model_wide_probability", "model_wide_log_ratio"] if parts["two_scale"] else []
        if parts["floor_mixture"]:
            names += _collapse_names(parts)
    elif spec.likelihood == "logit_normal":
        names.append("sigma")
    else:
        names += ["sigma", "nu"]
    return names


def log_density_terms(spec: ModelSpec, data: ModelData,
                      v: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Log density of each sampled variable given its parents, and of each observation.

    Keys are the names of :func:`value_names` (the random walk's term includes its start
    from the ``alpha`` prior) and the observed variables: ``correct`` (binomial) or ``y``,
    and ``log10_flop_obs`` under errors-in-variables.
    """
    missing = [n for n in value_names(spec, data) if n not in v]
    if missing:
        raise KeyError(f"values lack {', '.join(missing)}")
    parts = structure(spec, data)
    pr = spec.prior
    terms: dict[str, float] = {}

    def prior(name: str, prior_name: str | None = None) -> None:
        terms[name] = float(np.sum(prior_logpdf(pr(prior_name or name), v[name])))

    def normal(name: str, mean, sd) -> None:
        terms[name] = float(np.sum(stats.norm.logpdf(np.asarray(v[name], float), mean, sd)))

    if parts["period"] == "random_walk":
        prior("sigma_period")
        prior("period_drift")
        walk = np.asarray(v["period_walk"], float)
        terms["period_walk"] = float(prior_logpdf(pr("alpha"), walk[0])) + float(np.sum(
            stats.norm.logpdf(np.diff(walk), float(v["period_drift"]),
                              float(v["sigma_period"]))))
    else:
        prior("alpha")
        if parts["period"] == "exchangeable":
            prior("sigma_period")
            terms["period_effect"] = zero_sum_normal_logpdf(v["period_effect"],
                                                            float(v["sigma_period"]))
        elif parts["period"] == "fixed":
            terms["period_effect"] = zero_sum_normal_logpdf(
                v["period_effect"], pr("period_fixed").params["sigma"])
    if parts["monotone"]:
        prior("log_slope_mean")
        prior("sigma_curve")
        normal("log_compute_slope", float(v["log_slope_mean"]), float(v["sigma_curve"]))
    else:
        prior("beta")
    if parts["compute_error"]:
        prior("mu_x")
        prior("sigma_x")
        if parts["t_compute"]:
            prior("nu_x")
            terms["log10_flop_true"] = float(np.sum(stats.t.logpdf(
                np.asarray(v["log10_flop_true"], float), float(v["nu_x"]), float(v["mu_x"]),
                float(v["sigma_x"]))))
        else:
            normal("log10_flop_true", float(v["mu_x"]), float(v["sigma_x"]))
    if parts["lineage"]:
        prior("sigma_lineage")
        if parts["t_lineage"]:
            prior("nu_lineage")
            nu_l = float(v["nu_lineage"])

            def lineage_law(name: str, sd: float) -> None:
                terms[name] = float(np.sum(stats.t.logpdf(np.asarray(v[name], float), nu_l,
                                                          0.0, sd)))
        else:
            def lineage_law(name: str, sd: float) -> None:
                normal(name, 0.0, sd)
        if len(data.lineage_multi):
            lineage_law("lineage_multi_effect", float(v["sigma_lineage"]))
        if len(data.lineage_single) and not _singles_summed_out(parts):
            lineage_law("lineage_single_z", 1.0)
    if parts["trend"]:
        prior("period_trend")
    if parts["protocol"]:
        prior("protocol_effect")
    if parts["mundlak"]:
        prior("mundlak_lambda")
    if parts["interaction"]:
        prior("sigma_interaction")
        terms["compute_period_slope"] = zero_sum_normal_logpdf(v["compute_period_slope"],
                                                               float(v["sigma_interaction"]))
    dev = parts["developer"]
    if dev == "nested":
        prior("sigma_group")
        prior("sigma_developer")
        group = np.asarray(v["group_effect"], float)
        terms["group_effect"] = zero_sum_normal_logpdf(group, float(v["sigma_group"]))
        normal("developer_effect", group[data.group_of_developer], float(v["sigma_developer"]))
    elif dev == "centred":
        prior("sigma_developer")
        terms["developer_effect"] = zero_sum_normal_logpdf(v["developer_effect"],
                                                           float(v["sigma_developer"]))
    elif dev == "non_centred":
        prior("sigma_developer")
        normal("developer_z", 0.0, 1.0)
    elif dev == "partial":
        prior("sigma_developer")
        informed = informed_developers(data)
        if (~informed).any():
            normal("developer_z", 0.0, 1.0)
        if informed.any():
            normal("developer_centred_effect", 0.0, float(v["sigma_developer"]))
    elif dev == "student_t":
        prior("sigma_developer")
        prior("nu_developer")
        terms["developer_effect"] = float(np.sum(stats.t.logpdf(
            np.asarray(v["developer_effect"], float), float(v["nu_developer"]), 0.0,
            float(v["sigma_developer"]))))
    elif dev == "by_kind":
        prior("sigma_developer_kind", "sigma_developer")
        normal("developer_effect", 0.0,
               np.asarray(v["sigma_developer_kind"], float)[data.developer_kind])
    elif dev == "fixed":
        terms["developer_effect"] = zero_sum_normal_logpdf(
            v["developer_effect"], pr("developer_fixed").params["sigma"])
    if parts["slopes"]:
        prior("sigma_slope")
        normal("developer_slope", 0.0, float(v["sigma_slope"]))
    mu = _mu(spec, data, v, parts)
    if parts["compute_error"]:
        terms["log10_flop_obs"] = float(np.sum(stats.norm.logpdf(
            data.x, np.asarray(v["log10_flop_true"], float), data.compute_error_sd)))
    if spec.likelihood == "binomial":
        prior("sigma_model")
        if parts["integrated"]:
            if parts["two_scale"]:
                prior("model_wide_probability")
                prior("model_wide_log_ratio")
            if parts["floor_mixture"]:
                _collapse_priors(prior, normal, parts)
            alone = (np.isin(data.lineage_idx, data.lineage_single)
                     if parts["lineage"] and _singles_summed_out(parts) else None)
            pi = (_model_collapse_probability(data, v, parts) if parts["floor_mixture"]
                  else None)
            regular = integrated_count_logpmf(v, parts, data.k, data.n, data.guess, mu,
                                              pi=pi, alone=alone)
            grid = _grid_lineages(data)
            if grid.size:  # their models' densities are inside the lineages' marginals
                regular = np.where(np.isin(data.lineage_idx, grid), 0.0, regular)
                regular = np.append(regular, grid_lineage_log_marginals(v, parts, data, mu,
                                                                        pi))
            terms["correct"] = float(np.sum(regular))
            return terms
        if parts["t_model"]:
            prior("nu_model")
            terms["eta"] = float(np.sum(stats.t.logpdf(np.asarray(v["eta"], float),
                                                       float(v["nu_model"]), mu,
                                                       float(v["sigma_model"]))))
        else:
            normal("eta", mu, float(v["sigma_model"]))
        p = data.guess + (1.0 - data.guess) * special.expit(np.asarray(v["eta"], float))
        if parts["floor_mixture"]:
            _collapse_priors(prior, normal, parts)
            terms["correct"] = float(np.sum(floor_mixture_logpmf(
                data.k, data.n, p, data.guess, _model_collapse_probability(data, v, parts),
                float(v["collapse_logit_mean"]), float(v["collapse_log_concentration"]))))
            return terms
        terms["correct"] = float(np.sum(stats.binom.logpmf(data.k, data.n, p)))
        return terms
    prior("sigma")
    if spec.likelihood == "logit_normal":
        terms["y"] = float(np.sum(stats.norm.logpdf(data.y, mu, float(v["sigma"]))))
    else:
        prior("nu")
        terms["y"] = float(np.sum(stats.t.logpdf(data.y, float(v["nu"]), mu,
                                                 float(v["sigma"]))))
    return terms


def log_density(spec: ModelSpec, data: ModelData, values: Mapping[str, np.ndarray]) -> float:
    """Joint log density ``log p(theta) + log p(data | theta)`` at the sampled variables.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    data : ModelData
        The design and observations (:func:`bayes_llm.model.prepare_data`).
    values : mapping
        Every name of :func:`value_names` -> its value (constrained scale).

    Returns
    -------
    float
        The sum of :func:`log_density_terms`.
    """
    return float(sum(log_density_terms(spec, data, values).values()))


__all__ = ["collapse_shape", "floor_mixture_logpmf", "grid_lineage_log_marginals",
           "integrated_binomial_laplace_logpmf",
           "integrated_binomial_logpmf", "integrated_count_logpmf", "lineage_law_logpdf",
           "lineage_log_integrand", "log_density", "log_density_terms",
           "monotone_curve", "prior_draw", "prior_logpdf",
           "slope_at_centre", "structure", "value_names", "zero_sum_normal_logpdf"]
