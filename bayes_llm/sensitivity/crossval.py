"""Cross-validation of study variants: PSIS-LOO, leave-developers-out K-fold, comparison.

**One scale for every likelihood.** Logit-normal and Student-t variants are densities of
the logit score ``y``; the binomial variant is a probability of ``k`` correct answers.
To compare them, the binomial's pointwise log-likelihood is put on the logit-score scale
with the Jacobian of ``k -> y`` (``log p(y) = log P(k) + log n + log((1 - g) q (1 - q))``,
``q = (k/n - g)/(1 - g)``, the continuous approximation of a count with spacing 1/n).

**Integrated LOO for the binomial.** Each binomial model has its own latent ``eta``,
which makes plain PSIS-LOO unreliable (one parameter per observation: Pareto k is high).
The binomial log-likelihood is therefore integrated over ``eta ~ Normal(mu, sigma_model)``
on a fine grid around the observed score (the binomial is sharp: 12,032 questions), per
draw. This is the model's predictive for a *new* model at the same compute, period and
developer, which is what leave-one-model-out asks.

**Leave-developers-out K-fold** (``kfold``): developers (the ``developer`` strings) are split
into K folds balanced by model count; each fold's variant is refit without those
developers, and each held-out model's log predictive density is computed with its
developer effect drawn from the population distribution (integrated analytically: the
latent predictor is Gaussian given a draw), and for the binomial also its model effect.
This is the question "how well does the model predict a new developer's models", and it
needs no Pareto-k condition.

Comparisons are only made between variants fitted to the same observations (same
outcome, same models); :func:`compare_variants` groups them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special, stats

from bayes_llm.model.design import OUTCOMES, prepare_data, years_from_period_midpoint
from bayes_llm.model.option_terms import collapse_lineage_rows, fitted_lineage_idx
from bayes_llm.model.spec import ModelSpec

#: Grid points of the integral over a binomial model's latent ``eta``.
ETA_GRID = 241
#: Draws x columns per block of :func:`laplace_marginal_loglik` (times 24 nodes in memory).
LAPLACE_BLOCK_VALUES = 100_000
#: Half-width of that grid, in binomial standard errors of the accuracy.
ETA_GRID_SE = 10.0
#: Gauss-Hermite nodes for the Student-t predictive with an unknown developer effect.
HERMITE_NODES = 32
#: Models per chunk in the grid integral (bounds memory: draws x chunk x grid).
CHUNK = 64


# --------------------------------------------------------------------------- likelihoods
def logit_score_jacobian(k: np.ndarray, n: np.ndarray, guess: float) -> np.ndarray:
    """``log |dk/dy|``-style term putting a binomial log-probability on the logit-score scale.

    Returns ``log(n (1 - g) q (1 - q))`` with ``q = (k/n - g)/(1 - g)``; NaN where ``q``
    is not inside (0, 1) (the logit score is undefined there).
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    q = (k / n - guess) / (1.0 - guess)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(n) + np.log1p(-guess) + np.log(q) + np.log1p(-q)
    return np.where((q > 0) & (q < 1), out, np.nan)


def _eta_grid(k: np.ndarray, n: np.ndarray, guess: float, size: int) -> np.ndarray:
    """Grid over ``eta`` (models x size) covering where the binomial likelihood lives."""
    p_hat = np.clip(k / n, 0.5 / n, 1 - 0.5 / n)
    se = np.sqrt(p_hat * (1 - p_hat) / n)
    lo = np.clip(p_hat - ETA_GRID_SE * se, guess + 1e-9, 1 - 1e-9)
    hi = np.clip(p_hat + ETA_GRID_SE * se, guess + 1e-9, 1 - 1e-9)
    q_lo, q_hi = (lo - guess) / (1 - guess), (hi - guess) / (1 - guess)
    e_lo = special.logit(np.clip(q_lo, 1e-12, 1 - 1e-12))
    e_hi = special.logit(np.clip(q_hi, 1e-12, 1 - 1e-12))
    t = np.linspace(0.0, 1.0, size)
    return e_lo[:, None] + (e_hi - e_lo)[:, None] * t[None, :]


def binomial_marginal_loglik(k: np.ndarray, n: np.ndarray, guess: float, mean: np.ndarray,
                             sd: np.ndarray, *, grid: int = ETA_GRID) -> np.ndarray:
    """``log ∫ Binomial(k | n, g + (1 - g) logistic(e)) Normal(e | mean, sd) de`` per draw and model.

    Parameters
    ----------
    k, n : ndarray
        Correct answers and questions per model, shape ``(M,)``.
    guess : float
        The guessing floor ``g``.
    mean, sd : ndarray
        Mean and SD of the latent ``eta``, shape ``(S, M)`` (``sd`` may broadcast).
    grid : int
        Grid points (trapezoid rule) over the region where the binomial likelihood is
        non-negligible (``ETA_GRID_SE`` standard errors either side of ``k/n``).

    Returns
    -------
    ndarray
        Shape ``(S, M)``.
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    mean = np.asarray(mean, float)
    sd = np.broadcast_to(np.asarray(sd, float), mean.shape)
    out = np.empty(mean.shape)
    for start in range(0, len(k), CHUNK):
        sl = slice(start, start + CHUNK)
        e = _eta_grid(k[sl], n[sl], guess, grid)                       # (m, G)
        p = guess + (1 - guess) * special.expit(e)
        log_binom = stats.binom.logpmf(k[sl, None], n[sl, None], p)   # (m, G)
        de = e[:, 1] - e[:, 0]                                          # (m,)
        log_w = np.log(np.r_[0.5, np.ones(grid - 2), 0.5])             # trapezoid weights
        z = (e[None, :, :] - mean[:, sl, None]) / sd[:, sl, None]      # (S, m, G)
        log_norm = -0.5 * z**2 - np.log(sd[:, sl, None]) - 0.5 * math.log(2 * math.pi)
        out[:, sl] = (special.logsumexp(log_binom[None] + log_norm + log_w, axis=-1)
                      + np.log(de)[None, :])
    return out


def student_t_marginal_loglik(y: np.ndarray, mean: np.ndarray, var: np.ndarray,
                              sigma: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """``log ∫ StudentT(y | e, sigma, nu) Normal(e | mean, sqrt(var)) de`` (Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite.hermgauss(HERMITE_NODES)
    e = mean[..., None] + np.sqrt(2 * np.maximum(var, 0.0))[..., None] * nodes
    lp = stats.t.logpdf(y[None, :, None], df=nu[..., None], loc=e, scale=sigma[..., None])
    return special.logsumexp(lp + np.log(weights / math.sqrt(math.pi)), axis=-1)


def _draws(post: xr.Dataset, name: str) -> np.ndarray:
    """Return the posterior draws of ``name`` stacked to ``(S, ...)``."""
    da = post[name]
    return da.stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()


def model_effect_components(post: xr.Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(log weight, SD)`` of each Normal component of the model effect, per stacked draw.

    One component ``(0, sigma_model)``, or the core and wide ones of ``model_effect =
    "two_scale"`` (:func:`bayes_llm.model.eta_integral.model_effect_scales`); each array
    has shape ``(S, 1)``.
    """
    from bayes_llm.model.eta_integral import TWO_SCALE_NAMES, model_effect_scales

    sigma = _draws(post, "sigma_model")[:, None]
    if TWO_SCALE_NAMES[0] not in post:
        return model_effect_scales(sigma)
    w, log_ratio = (_draws(post, name)[:, None] for name in TWO_SCALE_NAMES)
    return model_effect_scales(sigma, w, log_ratio)


def laplace_marginal_loglik(k: np.ndarray, n: np.ndarray, guess: float, mean: np.ndarray,
                            scale: np.ndarray) -> np.ndarray:
    """``log ∫ Binomial(k | ...) Laplace(e | mean, scale) de`` per draw and model, ``(S, M)``.

    :func:`bayes_llm.model.laplace_integral.laplace_log_marginal` in blocks of columns
    (its nodes hold draws x columns x 24 values); ``scale`` is ``(S, 1)`` or ``(S, M)``.
    """
    from bayes_llm.model.laplace_integral import laplace_log_marginal

    k, n = np.asarray(k, float), np.broadcast_to(np.asarray(n, float), np.shape(k))
    mean = np.asarray(mean, float)
    scale = np.broadcast_to(np.asarray(scale, float), mean.shape)
    out = np.empty(mean.shape)
    block = max(1, LAPLACE_BLOCK_VALUES // max(1, mean.shape[0]))
    for start in range(0, len(k), block):
        sl = slice(start, start + block)
        out[:, sl] = laplace_log_marginal(k[sl], n[sl], guess, mean[:, sl], scale[:, sl])
    return out


def model_effect_loglik(k: np.ndarray, n: np.ndarray, guess: float, mean: np.ndarray,
                        post: xr.Dataset, extra_variance: np.ndarray | float = 0.0, *,
                        seed: int = 0) -> np.ndarray:
    """Each count's log-likelihood per draw with the model effect integrated out, ``(S, M)``.

    Normal effects (one or two scales): :func:`scale_mixture_loglik`, ``extra_variance``
    added to each component's variance. A Laplace effect (``model_effect = "laplace"``):
    :func:`laplace_marginal_loglik`; a Normal term of variance ``extra_variance`` (e.g. a
    new developer's effect) is then integrated by one draw per posterior draw
    (``mean + sqrt(extra_variance) z``, seeded by ``seed``), an unbiased estimate of
    the density that averaging over the draws completes.
    """
    from bayes_llm.model.laplace_integral import LAPLACE_SCALE

    if LAPLACE_SCALE not in post:
        return scale_mixture_loglik(k, n, guess, mean, model_effect_components(post),
                                    extra_variance=extra_variance)
    extra = np.broadcast_to(np.asarray(extra_variance, float), mean.shape)
    if np.any(extra > 0):
        rng = np.random.default_rng(seed)
        mean = mean + np.sqrt(extra) * rng.standard_normal(mean.shape)
    return laplace_marginal_loglik(k, n, guess, mean, _draws(post, LAPLACE_SCALE)[:, None])


def scale_mixture_loglik(k: np.ndarray, n: np.ndarray, guess: float, mean: np.ndarray,
                         components, extra_variance: np.ndarray | float = 0.0) -> np.ndarray:
    """:func:`binomial_marginal_loglik` under a mixture of Normal model effects, ``(S, M)``.

    ``log sum_j w_j ∫ Binomial(k | ...) Normal(e | mean, sqrt(sd_j^2 + extra_variance)) de``
    over ``components`` (:func:`model_effect_components`); one component ``(0, sd)`` is
    :func:`binomial_marginal_loglik` with ``sd`` widened by ``extra_variance``.
    """
    from bayes_llm.model.eta_integral import widen

    out = None
    for log_w, sd in components:
        term = binomial_marginal_loglik(k, n, guess, mean, widen(sd, extra_variance))
        if len(components) > 1:
            term = term + log_w
        out = term if out is None else np.logaddexp(out, term)
    return out


def _with_collapse(loglik: np.ndarray, fit, k: np.ndarray, n: np.ndarray,
                   period_idx: np.ndarray | None = None,
                   x: np.ndarray | None = None,
                   lineage_idx: np.ndarray | None = None) -> np.ndarray:
    """Mix in the collapsed component of a ``floor_mixture`` fit (else ``loglik`` as is).

    ``period_idx``: each column's period in the fit (``collapse_by_period``'s pi); ``x``:
    each column's reported centred log10 compute (``collapse_by_compute``'s pi);
    ``lineage_idx``: each column's lineage in the fit, -1 for a new one
    (``collapse_by_lineage``: a new lineage's propensity is drawn once per posterior draw,
    seeded by the fit's seed, so the mean density over draws integrates over it).
    """
    from bayes_llm.model.option_terms import (
        collapse_distribution,
        collapse_mixture_loglik,
        collapse_probability_per_model,
    )

    collapse = collapse_distribution(fit)
    if collapse is None:
        return loglik
    drawn = {name: _draws(xr.Dataset(collapse), name) for name in collapse}
    rng = np.random.default_rng(fit.spec.sampler.seed) if "lineage_z" in drawn else None
    pi = collapse_probability_per_model(drawn, loglik.shape[1], period_idx=period_idx, x=x,
                                        lineage_idx=lineage_idx, rng=rng)
    return collapse_mixture_loglik(loglik, pi, drawn["a"], drawn["b"], k, n)


def logit_scale_defined(k: np.ndarray, n: np.ndarray, guess: float) -> bool:
    """Tell whether every count has a finite logit score (strictly inside the guess floor and 1).

    When not (e.g. MATH scores of 0), binomial variants are scored on the count scale:
    comparable among themselves but not with logit-score likelihoods, which cannot be fitted
    to the same observations anyway.
    """
    return bool(np.all(np.isfinite(logit_score_jacobian(k, n, guess))))


def pointwise_loglik(fit) -> xr.DataArray:
    """Pointwise log-likelihood on the logit-score scale, ``(chain, draw, model)``.

    Binomial fits: integrated over the model effect ``eta`` plus the Jacobian (see the
    module docstring), or on the count scale when some score has no logit (the result's
    ``scale`` attribute says which); logit-normal and Student-t fits: the
    ``log_likelihood`` group.
    """
    spec: ModelSpec = fit.spec
    ll = fit.dt["log_likelihood"].to_dataset()
    if spec.likelihood != "binomial":
        return ll["y"].assign_attrs(scale="logit_score")
    from bayes_llm.model.components import linear_components

    comps = linear_components(fit.dt)
    mu = comps["intercept"] + comps["compute"] + comps["period"] + comps["developer"]
    mu = mu.transpose("chain", "draw", "model")
    _, _, guess, _ = OUTCOMES[spec.outcome]
    k = fit.dt["observed_data"]["correct"].to_numpy()
    n = np.full(k.shape, OUTCOMES[spec.outcome][3], dtype=float)
    nc, nd, nm = mu.shape
    values = model_effect_loglik(k, n, guess, mu.to_numpy().reshape(nc * nd, nm),
                                 fit.dt["posterior"].to_dataset())
    const = fit.dt["constant_data"]
    values = _with_collapse(values, fit, k, n, const["period_idx"].to_numpy(),
                            const["log10_flop_centred"].to_numpy(), fitted_lineage_idx(fit))
    scale = "logit_score" if logit_scale_defined(k, n, guess) else "count"
    if scale == "logit_score":
        values = values + logit_score_jacobian(k, n, guess)[None, :]
    return xr.DataArray(values.reshape(nc, nd, nm), dims=("chain", "draw", "model"),
                        coords={"model": mu.coords["model"].values}, name="score",
                        attrs={"scale": scale})


# --------------------------------------------------------------------------- PSIS-LOO
@dataclass
class LooResult:
    """PSIS-LOO of one variant on the logit-score scale."""

    elpd: float
    se: float
    p: float
    n_data_points: int
    n_samples: int
    good_k: float
    n_high_k: int
    max_k: float
    pointwise: pd.DataFrame = field(repr=False)
    warning: bool = False
    scale: str = "logit_score"

    @property
    def reliable(self) -> bool:
        """Tell whether every Pareto k is at most ``good_k``."""
        return self.n_high_k == 0

    def to_dict(self) -> dict[str, Any]:
        """Return the scalars only (for JSON)."""
        return {"elpd": self.elpd, "se": self.se, "p": self.p,
                "n_data_points": self.n_data_points, "n_samples": self.n_samples,
                "good_k": self.good_k, "n_high_k": self.n_high_k, "max_k": self.max_k,
                "warning": self.warning, "scale": self.scale}

    @classmethod
    def from_parts(cls, scalars: dict[str, Any], pointwise: pd.DataFrame) -> LooResult:
        """Rebuild from :meth:`to_dict` and the pointwise table."""
        return cls(pointwise=pointwise, **scalars)

    def to_elpd_data(self):
        """Return it as an ArviZ ``ELPDDataLOO`` (for :func:`arviz.compare`)."""
        from arviz_stats.utils import ELPDDataLOO

        ids = self.pointwise["model_id"].astype(str).to_numpy()
        return ELPDDataLOO(
            elpd=self.elpd, se=self.se, p=self.p, n_samples=self.n_samples,
            n_data_points=self.n_data_points, scale="log", warning=self.warning,
            good_k=self.good_k,
            elpd_i=xr.DataArray(self.pointwise["elpd_i"].to_numpy(), dims=["model"],
                                coords={"model": ids}),
            pareto_k=xr.DataArray(self.pointwise["pareto_k"].to_numpy(), dims=["model"],
                                  coords={"model": ids}))


def loo_variant(fit) -> LooResult:
    """PSIS-LOO of a fit on the logit-score scale (integrated over ``eta`` for the binomial).

    Parameters
    ----------
    fit : Fit
        A fitted variant.

    Returns
    -------
    LooResult
        With ``n_high_k`` the number of models whose Pareto k exceeds ``good_k``.
    """
    import warnings

    import arviz as az

    ll = pointwise_loglik(fit).rename("score")
    post = fit.dt["posterior"].to_dataset()
    tree = xr.DataTree.from_dict({"posterior": post, "log_likelihood": xr.Dataset({"score": ll})})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = az.loo(tree, pointwise=True, var_name="score")
    k = np.asarray(res.pareto_k).ravel()
    good_k = float(res.good_k)
    pointwise = pd.DataFrame({"model_id": [str(m) for m in ll.coords["model"].values],
                              "elpd_i": np.asarray(res.elpd_i).ravel(), "pareto_k": k})
    return LooResult(elpd=float(res.elpd), se=float(res.se), p=float(res.p),
                     n_data_points=int(res.n_data_points), n_samples=int(res.n_samples),
                     good_k=good_k, n_high_k=int(np.sum(k > good_k)),
                     max_k=float(np.nanmax(k)), pointwise=pointwise,
                     warning=bool(res.warning), scale=ll.attrs.get("scale", "logit_score"))


# --------------------------------------------------------------------------- K-fold
def developer_folds(frame: pd.DataFrame, k: int, *, seed: int) -> dict[str, int]:
    """Assign each developer string to one of ``k`` folds, balanced by model count.

    Developers are shuffled with ``seed`` and then placed, largest first, into the fold
    with the fewest models so far (ties: the lowest fold number).

    Returns
    -------
    dict
        Developer -> fold (0 .. k-1).
    """
    counts = frame["developer"].astype(str).value_counts()
    if len(counts) < k:
        from bayes_llm.errors import BayesLLMError

        raise BayesLLMError(f"K-fold by developer needs at least {k} developers; the sample "
                            f"has {len(counts)}")
    rng = np.random.default_rng(seed)
    devs = list(counts.index)
    rng.shuffle(devs)
    devs.sort(key=lambda d: -counts[d])  # stable: shuffled order breaks ties
    sizes = [0] * k
    out = {}
    for dev in devs:
        fold = int(np.argmin(sizes))
        out[dev] = fold
        sizes[fold] += int(counts[dev])
    return out


def _known_or_nearest(label: str, known: list[str]) -> str:
    """``label`` if known, else the latest known label before it (or the first)."""
    if label in known:
        return label
    earlier = [p for p in known if p <= label]
    return earlier[-1] if earlier else known[0]


def heldout_loglik(fit, test: pd.DataFrame, *, jacobian: bool = True) -> np.ndarray:
    """Log predictive density of held-out models per draw, on the logit-score scale.

    Parameters
    ----------
    fit : Fit
        A fit to the training models.
    test : DataFrame
        The held-out models as prepared by :func:`bayes_llm.model.prepare_data` (the
        ``frame`` of the full sample) for the same spec.
    jacobian : bool
        Put a binomial variant on the logit-score scale (default).

    Returns
    -------
    ndarray
        Shape ``(S, M_test)``. Developer units (and their slopes) not in the training
        fit are integrated over their population distribution (the nested model: the
        group's effect, or the group population when the group is new too; unpooled
        effects: their prior). A period not in the training fit takes the nearest earlier
        period's effect (random walk, fixed) or the exchangeable population. Under
        ``compute_error`` the observed compute is used. ``jacobian=False`` leaves a binomial
    variant on the count scale (see :func:`logit_scale_defined`).
    """
    spec: ModelSpec = fit.spec
    post = fit.dt["posterior"].to_dataset()
    acc_col, logit_col, guess, n_q = OUTCOMES[spec.outcome]
    x = test["log10_flop"].to_numpy(float) - spec.compute_centre
    alpha, beta = _draws(post, "alpha"), _draws(post, "beta")
    S, M = alpha.shape[0], len(test)
    mean = alpha[:, None] + beta[:, None] * x[None, :]
    var = np.zeros((S, M))
    # period
    periods = [str(p) for p in post["period_effect"].coords["period"].values]
    gamma = _draws(post, "period_effect")
    labels = test[spec.period].astype(str).tolist()
    for j, label in enumerate(labels):
        if label in periods or spec.period_effect != "exchangeable" or "sigma_period" not in post:
            mean[:, j] += gamma[:, periods.index(_known_or_nearest(label, periods))]
        else:
            var[:, j] += _draws(post, "sigma_period") ** 2
        if "compute_period_slope" in post:
            if label in periods:
                mean[:, j] += _draws(post, "compute_period_slope")[:, periods.index(label)] * x[j]
            else:
                var[:, j] += (_draws(post, "sigma_interaction") * x[j]) ** 2
    if "period_trend" in post:  # years from the midpoint of the period whose effect is used
        anchors = [_known_or_nearest(label, periods) for label in labels]
        years = years_from_period_midpoint(test["release_month"], anchors, spec.period)
        mean += _draws(post, "period_trend")[:, None] * years[None, :]
    # developer
    if spec.developer != "none":
        units = [str(u) for u in post["developer_effect"].coords["developer"].values]
        effect = _draws(post, "developer_effect")
        unit_col = "developer_group" if spec.developer == "group" else "developer"
        slopes = _draws(post, "developer_slope") if "developer_slope" in post else None
        for j, unit in enumerate(test[unit_col].astype(str)):
            if unit in units:
                i = units.index(unit)
                mean[:, j] += effect[:, i]
                if slopes is not None:
                    mean[:, j] += slopes[:, i] * x[j]
                continue
            if spec.developer == "nested":
                groups = [str(g) for g in post["group_effect"].coords["developer_group"].values]
                group = str(test["developer_group"].iloc[j])
                if group in groups:
                    mean[:, j] += _draws(post, "group_effect")[:, groups.index(group)]
                else:
                    var[:, j] += _draws(post, "sigma_group") ** 2
                var[:, j] += _draws(post, "sigma_developer") ** 2
            elif spec.developer_effect == "pooled":
                var[:, j] += _draws(post, "sigma_developer") ** 2
            else:
                prior = spec.prior("developer_fixed")
                mean[:, j] += prior.params.get("mu", 0.0)
                var[:, j] += prior.params["sigma"] ** 2
            if slopes is not None:
                var[:, j] += (_draws(post, "sigma_slope") * x[j]) ** 2
    if spec.likelihood == "binomial":
        k = np.rint(test[acc_col].to_numpy(float) * n_q)
        n = np.full(M, float(n_q))
        # collapse_by_period: the period whose effect the row took (as above)
        fitted_period = [periods.index(_known_or_nearest(label, periods)) for label in labels]
        ll = model_effect_loglik(k, n, guess, mean, post, extra_variance=var,
                                 seed=spec.sampler.seed)
        out = _with_collapse(ll, fit, k, n, np.asarray(fitted_period), x,
                             collapse_lineage_rows(post.get("collapse_lineage_z"), test,
                                                   spec.lineage_source))
        return out + logit_score_jacobian(k, n, guess)[None, :] if jacobian else out
    y = test[logit_col].to_numpy(float)
    sigma = _draws(post, "sigma")[:, None]
    if spec.likelihood == "logit_normal":
        return stats.norm.logpdf(y[None, :], loc=mean, scale=np.sqrt(var + sigma**2))
    nu = _draws(post, "nu")[:, None]
    return student_t_marginal_loglik(y, mean, var, np.broadcast_to(sigma, mean.shape),
                                     np.broadcast_to(nu, mean.shape))


def lpd(loglik: np.ndarray) -> np.ndarray:
    """Pointwise log predictive density ``log mean_s exp(loglik[s, i])``."""
    return special.logsumexp(loglik, axis=0) - math.log(loglik.shape[0])


@dataclass
class FoldTask:
    """One fold of a leave-developers-out K-fold for one variant (picklable)."""

    variant: str
    key: str
    fold: int
    folds: int
    spec: ModelSpec
    df: pd.DataFrame
    heldout_developers: tuple[str, ...]
    backend: str = "nutpie"


def run_fold(task: FoldTask) -> pd.DataFrame:
    """Fit the variant without the fold's developers; score the held-out models.

    Returns
    -------
    DataFrame
        ``model_id``, ``developer``, ``fold``, ``elpd_i`` (log predictive density on the
        logit-score scale) and the fit's diagnostics status in ``diagnostics``.
    """
    from bayes_llm.model.fit import fit_model

    held = set(task.heldout_developers)
    full = prepare_data(task.df, task.spec).frame
    test = full[full["developer"].astype(str).isin(held)].reset_index(drop=True)
    train = task.df[~task.df["developer"].astype(str).isin(held)]
    fit = fit_model(task.spec, train, backend=task.backend, progressbar=False, cores=1)
    acc_col, _, guess, n_q = OUTCOMES[task.spec.outcome]
    k_all = np.rint(full[acc_col].to_numpy(float) * n_q)
    jacobian = logit_scale_defined(k_all, np.full(len(k_all), float(n_q)), guess)
    values = lpd(heldout_loglik(fit, test, jacobian=jacobian))
    status = "ok" if fit.diagnostics.ok else "warnings: " + "; ".join(fit.diagnostics.failures)
    return pd.DataFrame({"model_id": test["model_id"].astype(str), "developer":
                         test["developer"].astype(str), "fold": task.fold, "elpd_i": values,
                         "diagnostics": status})


def kfold_result(pointwise: pd.DataFrame, *, folds: int, n_samples: int):
    """Build an ArviZ ``ELPDDataLOOKFold`` from the pooled held-out pointwise values."""
    from arviz_stats.utils import ELPDDataLOOKFold

    pointwise = pointwise.sort_values("model_id")
    values = pointwise["elpd_i"].to_numpy(float)
    m = len(values)
    return ELPDDataLOOKFold(
        elpd=float(values.sum()), se=float(math.sqrt(m * values.var())), p=float("nan"),
        n_samples=n_samples, n_data_points=m, scale="log", warning=False, good_k=None,
        elpd_i=xr.DataArray(values, dims=["model"],
                            coords={"model": pointwise["model_id"].astype(str).to_numpy()}),
        n_folds=folds)


# --------------------------------------------------------------------------- comparison
def comparison_groups(variants: dict[str, tuple[str, str]]) -> list[list[str]]:
    """Group variant names by ``(outcome, data_hash)``: only those see the same observations."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, key in variants.items():
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def compare_elpd(results: dict[str, Any], *, method: str) -> pd.DataFrame:
    """Compare ELPD estimates of variants fitted to the same observations.

    Parameters
    ----------
    results : dict
        Variant name -> ArviZ ``ELPDData`` (PSIS-LOO or K-fold, not mixed).
    method : str
        Label for the ``method`` column (e.g. ``"psis-loo"``, ``"kfold-5 by developer"``).

    Returns
    -------
    DataFrame
        One row per variant, best first: ``variant``, ``method``, ``rank``, ``elpd``, ``se``,
        ``elpd_diff`` (to the best), ``dse`` (SE of the paired difference), ``p_worse``,
        ``weight`` (stacking), ``p``, ``diag_elpd``, ``diag_diff``.
    """
    import warnings

    import arviz as az

    if len(results) == 1:
        name, res = next(iter(results.items()))
        return pd.DataFrame([{"variant": name, "method": method, "rank": 0,
                              "elpd": res.elpd, "se": res.se, "elpd_diff": 0.0, "dse": 0.0,
                              "p_worse": np.nan, "weight": 1.0, "p": res.p,
                              "diag_elpd": "", "diag_diff": ""}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(results, method="stacking", round_to="none")
    table = table.reset_index(names="variant")
    table.insert(1, "method", method)
    cols = ["variant", "method", "rank", "elpd", "se", "elpd_diff", "dse", "p_worse", "weight",
            "p", "diag_elpd", "diag_diff"]
    for col in cols:
        if col not in table:
            table[col] = np.nan
    return table[cols]


# --------------------------------------------------------------------------- in a study
@dataclass
class CrossvalResult:
    """Cross-validation of a study's variants.

    Attributes
    ----------
    loo : DataFrame
        One row per variant: PSIS-LOO ``elpd``, ``se``, ``p``, ``n_high_k``, ``max_k``,
        ``good_k`` and ``reliable`` (every Pareto k good), on the logit-score scale.
    compare : DataFrame
        One row per compared variant: ``group`` (variants fitted to the same observations),
        ``method`` and the columns of :func:`compare_elpd`; failed variants are listed
        with their error.
    kfold : DataFrame
        Pooled held-out pointwise values of the K-fold runs (``variant``, ``model_id``,
        ``developer``, ``fold``, ``elpd_i``).
    notes : list of str
        Why a method was chosen, what was skipped.
    """

    loo: pd.DataFrame
    compare: pd.DataFrame
    kfold: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """Render the comparison table as text, group by group."""
        lines = []
        for group, sub in self.compare.groupby("group", sort=False):
            lines.append(f"group {group} ({sub['method'].iloc[0]}):")
            for row in sub.itertuples(index=False):
                if isinstance(row.error, str) and row.error:
                    lines.append(f"  {row.variant:<32} not compared: {row.error}")
                    continue
                lines.append(f"  {row.variant:<32} elpd {row.elpd:10.1f} (SE {row.se:5.1f})  "
                             f"diff {row.elpd_diff:8.1f} (SE {row.dse:5.1f})  weight "
                             f"{row.weight:5.2f}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _fold_cache_dir(out, key: str, assignment: dict[str, int], k: int):
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(sorted(assignment.items())).encode()).hexdigest()[:8]
    return out / "kfold" / f"{key[:12]}-k{k}-{digest}"


def run_crossval(result, *, df: pd.DataFrame, method: str, folds: int,
                 workers: int = 1, scheduler: str | None = None, backend: str | None = None,
                 progress=None) -> CrossvalResult:
    """Cross-validate a study's variants and compare those fitted to the same observations.

    Parameters
    ----------
    result : StudyResult
        The study run (variants, their plans, the cache).
    df : DataFrame
        The canonical model table.
    method : {"auto", "loo", "kfold"}
        ``auto``: PSIS-LOO for a group when every variant's Pareto k are good, else
        leave-developers-out K-fold for the whole group (one method per comparison).
    folds : int
        K of the K-fold.
    workers, scheduler, backend
        As in :func:`bayes_llm.sensitivity.run_study` (fold refits run the same way, each
        with its variant's backend: that of its full fit).
    progress : callable, optional
        Called with one line of text per event.

    Returns
    -------
    CrossvalResult
        Also written to ``loo.csv``, ``compare.csv`` and ``kfold/`` in the output folder.
    """
    from bayes_llm.atomic import write_text_atomic
    from bayes_llm.sensitivity.cache import FitCache
    from bayes_llm.sensitivity.runner import execute

    say = progress or (lambda _m: None)
    plans = result.plans
    out = result.out
    study = result.study
    cache = FitCache(out / "fits")
    wanted = list(study.crossval.variants or result.variants["variant"])
    status = result.variants.set_index("variant")
    notes: list[str] = []
    loo_rows, loo_results, errors = [], {}, {}
    seen: dict[str, str] = {}
    for name in wanted:
        if name not in status.index:
            continue
        plan = plans[name]
        if plan.variant.spec.outcome == "leaderboard6":
            notes.append(f"{name} is the joint six-benchmark model: not cross-validated (no "
                         "other variant is fitted to its observations)")
            continue
        if not plan.key or cache.lookup(plan.key) is None:
            errors[name] = f"variant failed: {status.loc[name, 'error']}"
            continue
        if plan.key in seen:  # same model and data (e.g. headline-only variants): one fit
            notes.append(f"{name} is the same fit as {seen[plan.key]}; compared once")
            continue
        seen[plan.key] = name
        entry = cache.entry(plan.key)
        pointwise = entry.read_extra("loo_pointwise", {"key": plan.key})
        scalars = entry.read_extra_meta("loo_pointwise")
        if pointwise is None or not scalars:
            errors[name] = "no PSIS-LOO result (run with loo enabled)"
            continue
        res = LooResult.from_parts(scalars, pointwise)
        loo_results[name] = res
        loo_rows.append({"variant": name, **res.to_dict(), "reliable": res.reliable})
    loo_table = pd.DataFrame(loo_rows)
    groups = comparison_groups({n: (plans[n].variant.spec.outcome, plans[n].data_hash)
                                for n in loo_results})
    compare_frames, kfold_frames = [], []
    fold_jobs: list[tuple[str, FoldTask]] = []
    group_method: dict[int, str] = {}
    group_folds: dict[int, dict[str, int]] = {}
    for gi, names in enumerate(groups):
        reliable = all(loo_results[n].reliable for n in names)
        chosen = method if method != "auto" else ("loo" if reliable else "kfold")
        if method == "auto" and len(names) == 1:
            chosen = "loo"  # nothing fitted to the same observations to compare with
            notes.append(f"group {gi + 1}: only {names[0]} is fitted to these observations; "
                         "PSIS-LOO reported, no K-fold refits")
        elif method == "auto" and not reliable:
            bad = [f"{n} ({loo_results[n].n_high_k} k > {loo_results[n].good_k:.2f})"
                   for n in names if not loo_results[n].reliable]
            notes.append(f"group {gi + 1}: PSIS-LOO unreliable for {', '.join(bad)}; using "
                         f"{folds}-fold leave-developers-out cross-validation")
        elif method == "loo" and not reliable:
            notes.append(f"group {gi + 1}: some Pareto k are high; PSIS-LOO may be biased")
        group_method[gi] = chosen
        if chosen != "kfold":
            continue
        spec0 = plans[names[0]].variant.spec
        frame = prepare_data(df, spec0).frame
        assignment = developer_folds(frame, folds, seed=study.crossval.seed)
        group_folds[gi] = assignment
        for name in names:
            plan = plans[name]
            folder = _fold_cache_dir(out, plan.key, assignment, folds)
            for fold in range(folds):
                if (folder / f"fold{fold}.csv").is_file():
                    continue
                held = tuple(sorted(d for d, f in assignment.items() if f == fold))
                fold_jobs.append((name, FoldTask(variant=name, key=plan.key, fold=fold,
                                                 folds=folds, spec=plan.variant.spec, df=df,
                                                 heldout_developers=held,
                                                 backend=plan.backend)))
    if fold_jobs:
        say(f"cross-validation: {len(fold_jobs)} K-fold refits to run")
    failed_folds: dict[str, str] = {}
    for i, (task, table, exc) in enumerate(execute(run_fold, [t for _, t in fold_jobs],
                                                   workers=workers, scheduler=scheduler)):
        if exc is not None:
            failed_folds[task.variant] = f"fold {task.fold}: {type(exc).__name__}: {exc}"
            say(f"[kfold {i + 1}/{len(fold_jobs)}] {task.variant} fold {task.fold}: failed")
            continue
        folder = _fold_cache_dir(out, task.key, group_folds[next(
            gi for gi, ns in enumerate(groups) if task.variant in ns)], task.folds)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / f"fold{task.fold}.csv", table.to_csv(index=False))
        say(f"[kfold {i + 1}/{len(fold_jobs)}] {task.variant} fold {task.fold + 1}/{task.folds}"
            " done")
    for gi, names in enumerate(groups):
        chosen = group_method[gi]
        if chosen == "kfold":
            label = f"{folds}-fold by developer"
            results = {}
            for name in names:
                if name in failed_folds:
                    errors[name] = f"K-fold failed: {failed_folds[name]}"
                    continue
                folder = _fold_cache_dir(out, plans[name].key, group_folds[gi], folds)
                parts = pd.concat([pd.read_csv(folder / f"fold{f}.csv") for f in range(folds)],
                                  ignore_index=True)
                parts.insert(0, "variant", name)
                kfold_frames.append(parts)
                s = plans[name].variant.spec.sampler
                results[name] = kfold_result(parts, folds=folds, n_samples=s.draws * s.chains)
        else:
            label = "psis-loo"
            results = {n: loo_results[n].to_elpd_data() for n in names}
        if results:
            table = compare_elpd(results, method=label)
            table.insert(0, "group", gi + 1)
            table.insert(3, "scale", loo_results[names[0]].scale)
            compare_frames.append(table)
    for name, error in errors.items():
        compare_frames.append(pd.DataFrame([{"group": 0, "variant": name, "method": "",
                                             "error": error}]))
    compare = pd.concat(compare_frames, ignore_index=True) if compare_frames else pd.DataFrame()
    if "error" not in compare:
        compare["error"] = ""
    compare["error"] = compare["error"].fillna("")
    kfold = pd.concat(kfold_frames, ignore_index=True) if kfold_frames else pd.DataFrame(
        columns=["variant", "model_id", "developer", "fold", "elpd_i", "diagnostics"])
    write_text_atomic(out / "loo.csv", loo_table.to_csv(index=False))
    write_text_atomic(out / "compare.csv", compare.to_csv(index=False))
    write_text_atomic(out / "kfold_pointwise.csv", kfold.to_csv(index=False))
    return CrossvalResult(loo=loo_table, compare=compare, kfold=kfold, notes=notes)


__all__ = ["CrossvalResult", "FoldTask", "LooResult", "binomial_marginal_loglik", "compare_elpd",
           "comparison_groups", "developer_folds", "heldout_loglik", "kfold_result",
           "laplace_marginal_loglik", "logit_scale_defined", "logit_score_jacobian",
           "loo_variant", "lpd", "model_effect_loglik", "pointwise_loglik", "run_crossval",
           "run_fold", "student_t_marginal_loglik"]
