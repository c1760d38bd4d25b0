"""Proper scoring rules and calibration checks for predictions of held-out models.

Every score is on the **accuracy scale** (the benchmark's fraction of correct answers),
whatever the likelihood of the model that made the prediction, so a binomial model, a
logit-normal model and the paper's OLS are scored on one scale:

* **Log score of the accuracy bin.** An observed accuracy ``y`` on a benchmark of ``n``
  items is the count ``k = round(y n)`` divided by ``n``. Its log score is
  ``log P(y in [(k - 0.5)/n, (k + 0.5)/n])`` under the predictive distribution, i.e.
  ``log mean_s [F_s((k + 0.5)/n) - F_s((k - 0.5)/n)]`` over posterior draws ``s``. For a
  binomial model this *is* the predictive probability of ``k`` (its accuracy lives on the
  grid ``k/n``); for a continuous model (logit-normal, Student-t, OLS) it is the
  probability that the model gives to the same bin. So discrete and continuous
  likelihoods are scored on the same events, one observation scale. A density on the
  logit scale (what ArviZ's LOO of a logit-normal fit sums) is not comparable with a
  binomial's probability of ``k`` (Vehtari, Gelman & Gabry 2017; Yao, Vehtari, Simpson
  & Gelman 2018: compare elpd only on one observation scale); the bin probability of a
  continuous model is its accuracy density times ``1/n`` up to O(1/n²), so differences
  between models equal differences of accuracy-scale log densities. It is the logarithmic
  score of Gneiting & Raftery (2007), a strictly proper rule. For a binomial prediction the
  per-draw probability integrates the fresh model-level effect (see
  :func:`bin_log_probability`: the average of a few hundred 12,032-item binomial spikes
  is far too noisy to take a log of).
* **CRPS** (Gneiting & Raftery 2007, eq. 21, the energy form):
  ``CRPS(F, y) = E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent predictive draws;
  from ``S`` draws the second term is computed in ``O(S log S)`` by sorting:
  ``E|X - X'| = (2 / S²) sum_i (2i - S - 1) x_(i)`` (the V-statistic, i = 1..S).
  Reported in accuracy points (×100), lower is better.
* **PIT** (Gneiting, Balabdaoui & Raftery 2007): ``F(y)`` with ``F`` the predictive CDF
  (the mixture over draws). For a discrete predictive the *randomised* PIT of Czado,
  Gneiting & Held (2009), ``F(y-) + V [F(y) - F(y-)]`` with ``V ~ Uniform(0, 1)``, is
  uniform under a calibrated model; with the bin above, ``F(y-) = F((k - 0.5)/n)`` and
  ``F(y) = F((k + 0.5)/n)``. A continuous predictive uses the plain PIT ``F(y)``.
* **Coverage** of the central (equal-tailed) 50/80/90/94% intervals from the draws'
  quantiles: whether ``y`` lies in ``[q_(1-p)/2, q_(1+p)/2]``.
* **Absolute error of the predictive median**, in accuracy points.

Totals and means come with **paired standard errors of differences** against a reference
method, computed on the same held-out models as in Vehtari, Gelman & Gabry (2017,
section 5): ``se(sum d_i) = sqrt(m var(d))``, ``se(mean d_i) = sd(d) / sqrt(m)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

#: Central interval probabilities whose coverage is reported.
COVERAGE_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.94)
#: Smallest bin probability kept before taking the log (the number of rows floored is
#: reported in ``log_score_floored``; a floored row means the model put essentially no
#: mass on what happened).
MIN_PROBABILITY: float = 1e-300
#: Values (draws x rows x grid points) per block of the binomial's integral (bounds memory).
INTEGRAL_BLOCK_VALUES: int = 5_000_000
#: Name of the observation scale of every score here (recorded in validate outputs; the
#: comparison refuses to mix it with any other scale).
SCORE_SCALE: str = "accuracy_bin"


class PredictiveLike(Protocol):
    """What the scoring needs from a prediction (a :class:`bayes_llm.predict` result).

    ``accuracy``: draws of accuracy, dims ``("sample", "row")`` (an ``xarray.DataArray``
    or an array of that shape); ``cdf(values)`` and ``pmf_bin(lower, upper)``: per-draw
    predictive CDF at one value per row, and its difference, each ``(sample, row)``.
    """

    accuracy: object

    def cdf(self, values: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Per-draw predictive CDF of accuracy at one value per row, ``(sample, row)``."""

    def pmf_bin(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:  # pragma: no cover
        """``cdf(upper) - cdf(lower)``, ``(sample, row)``."""


def level_label(level: float) -> str:
    """Column suffix of a coverage level (0.94 -> ``"94"``)."""
    return f"{round(level * 100):d}"


def accuracy_draws(pred: PredictiveLike) -> np.ndarray:
    """Return the prediction's accuracy draws as a float array ``(sample, row)``."""
    acc = pred.accuracy
    if hasattr(acc, "dims") and hasattr(acc, "transpose"):
        acc = acc.transpose("sample", "row")
    return np.asarray(acc, dtype=float)


def accuracy_bins(y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the count ``k = round(y n)`` and its bin ``[(k - 0.5)/n, (k + 0.5)/n]`` of accuracy."""
    y = np.asarray(y, float)
    n = np.asarray(n, float)
    k = np.rint(y * n)
    return k, (k - 0.5) / n, (k + 0.5) / n


def crps_from_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of each column's sample against its observation (Gneiting & Raftery 2007).

    Parameters
    ----------
    draws : ndarray
        ``(S, M)`` predictive draws, one column per observation.
    y : ndarray
        ``(M,)`` observations.

    Returns
    -------
    ndarray
        ``(M,)``: ``E|X - y| - 0.5 E|X - X'|`` under the empirical distribution of the
        draws, ``O(S log S)`` per column (sorted draws; see the module docstring).
    """
    x = np.sort(np.asarray(draws, float), axis=0)
    s = x.shape[0]
    first = np.mean(np.abs(x - np.asarray(y, float)[None, :]), axis=0)
    weights = (2.0 * np.arange(1, s + 1) - s - 1.0)[:, None]
    mean_abs_pair = 2.0 / s**2 * np.sum(weights * x, axis=0)
    return first - 0.5 * mean_abs_pair


def central_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed central interval of each column's draws at probability ``level``."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


def bin_log_probability(pred: PredictiveLike, k: np.ndarray, n: np.ndarray,
                        lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, str]:
    """Log predictive probability of each row's accuracy bin, and how it was computed.

    In general ``log mean_s pmf_bin_s`` (``"cdf_bin"``). A binomial prediction whose draws
    carry the latent mean ``mu`` and Normal model-effect scale ``sigma`` (``pred.noise``)
    is instead integrated over the fresh model effect per draw (``"integrated_eta"``):
    ``P_s(k) = ∫ Binomial(k | n, g + (1 - g) logistic(e)) Normal(e | mu_s, sigma_s) de``
    (:func:`bayes_llm.sensitivity.crossval.binomial_marginal_loglik`). The event is the
    same bin (a binomial's accuracy is on the grid ``k/n``); only the Monte Carlo estimate
    differs. With 12,032 items each draw's binomial is a spike ~0.003 wide, so the average
    of ``S`` spikes estimates the predictive probability of a bin between or beyond them
    with huge relative variance, and its log is biased far downwards (in a 100-draw run,
    two held-out models got probabilities below 1e-300); integrating the model effect,
    which is what spreads the predictive, removes that (a Rao-Blackwellised estimate of
    the same probability). A two-scale model effect (``sigma_wide`` and
    ``wide_probability`` in ``pred.noise``) is integrated per component and mixed, a
    Laplace one (``laplace_scale``) by
    :func:`bayes_llm.model.laplace_integral.laplace_log_marginal`; a
    Student-t one falls back to ``"cdf_bin"``. With a
    floor mixture (``collapse_probability``, ``collapse_a``, ``collapse_b`` in
    ``pred.noise``) the per-draw probability is ``pi_s BetaBinomial(k | n, a_s, b_s) +
    (1 - pi_s) P_s(k)`` (``"integrated_eta_mixture"``): the collapse indicator is summed
    out as well.
    """
    noise = getattr(pred, "noise", None) or {}
    if (getattr(pred, "likelihood", None) == "binomial" and "mu" in noise
            and "sigma" in noise and noise.get("nu") is None):
        from scipy import special

        from bayes_llm.model.eta_integral import scale_components
        from bayes_llm.model.option_terms import collapse_mixture_loglik
        from bayes_llm.sensitivity.crossval import ETA_GRID, scale_mixture_loglik

        mu = np.asarray(noise["mu"], float)
        laplace = noise.get("laplace_scale")  # a Laplace model effect's scale per draw
        if laplace is not None:
            laplace = np.asarray(laplace, float).reshape(-1, 1)
        column = {key: np.asarray(noise[key], float).reshape(-1, 1)
                  for key in ("sigma", "sigma_wide", "wide_probability") if key in noise}
        # model_effect = "two_scale": "sigma" is the core SD
        components = scale_components(column["sigma"], column.get("sigma_wide"),
                                      column.get("wide_probability"))
        k, n = np.asarray(k, float), np.broadcast_to(np.asarray(n, float), np.shape(k))
        # rows in small blocks: the grid integral holds draws x rows x grid values
        block = max(1, int(INTEGRAL_BLOCK_VALUES // (mu.shape[0] * ETA_GRID)))
        out = np.empty(len(k))
        for start in range(0, len(k), block):
            sl = slice(start, start + block)
            if laplace is not None:
                from bayes_llm.model.laplace_integral import laplace_log_marginal

                ll = laplace_log_marginal(k[sl], n[sl], float(pred.guess), mu[:, sl],
                                          np.broadcast_to(laplace, mu[:, sl].shape))
            else:
                ll = scale_mixture_loglik(k[sl], n[sl], float(pred.guess), mu[:, sl],
                                          components)
            if "collapse_probability" in noise:
                ll = collapse_mixture_loglik(ll, noise["collapse_probability"][:, sl],
                                             noise["collapse_a"], noise["collapse_b"],
                                             k[sl], n[sl])
            out[sl] = special.logsumexp(ll, axis=0) - math.log(ll.shape[0])
        mixture = "collapse_probability" in noise
        return out, "integrated_eta_mixture" if mixture else "integrated_eta"
    prob = np.mean(np.asarray(pred.pmf_bin(lower, upper), float), axis=0)
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(prob, 0.0)), "cdf_bin"


def pit_values(pred: PredictiveLike, y: np.ndarray, n: np.ndarray, *, discrete: bool,
               rng: np.random.Generator) -> np.ndarray:
    """PIT of each observation under the mixture predictive CDF.

    ``discrete=True``: the randomised PIT of Czado, Gneiting & Held (2009) over the
    accuracy bin of ``y``; ``False``: the plain PIT ``F(y)`` (Gneiting, Balabdaoui &
    Raftery 2007).
    """
    y = np.asarray(y, float)
    if not discrete:
        return np.clip(np.mean(np.asarray(pred.cdf(y), float), axis=0), 0.0, 1.0)
    _, lower, upper = accuracy_bins(y, n)
    below = np.mean(np.asarray(pred.cdf(lower), float), axis=0)
    at = np.mean(np.asarray(pred.cdf(upper), float), axis=0)
    return np.clip(below + rng.uniform(size=len(y)) * (at - below), 0.0, 1.0)


def score_rows(pred: PredictiveLike, y: np.ndarray, n: np.ndarray, *, discrete: bool,
               seed: int = 0, levels: tuple[float, ...] = COVERAGE_LEVELS) -> pd.DataFrame:
    """Score a prediction against observed accuracies, one row per held-out model.

    Parameters
    ----------
    pred : PredictiveLike
        Predictive draws and CDF for the ``M`` rows.
    y : ndarray
        Observed accuracy (fraction correct, guessing floor included), ``(M,)``.
    n : ndarray
        Items of the benchmark per row (defines the accuracy bin).
    discrete : bool
        Whether the predictive is discrete (binomial): randomised PIT.
    seed : int
        Seed of the PIT's randomisation.
    levels : tuple of float
        Central interval probabilities for coverage.

    Returns
    -------
    DataFrame
        ``observed``, ``k``, ``n``, ``pred_median``, ``pred_mean``, for each level ``p``
        ``lower_p``/``upper_p``/``covered_p``, ``pit``, ``log_score`` (log bin
        probability, see :func:`bin_log_probability`), ``log_score_floored``,
        ``log_score_method``, ``crps_pp`` and ``abs_error_pp`` (accuracy
        points).
    """
    draws = accuracy_draws(pred)
    y = np.asarray(y, float)
    n = np.broadcast_to(np.asarray(n, float), y.shape)
    if draws.ndim != 2 or draws.shape[1] != len(y):
        raise ValueError(f"prediction has shape {draws.shape}; expected (sample, {len(y)})")
    k, lower, upper = accuracy_bins(y, n)
    log_prob, how = bin_log_probability(pred, k, n, lower, upper)
    floored = ~(log_prob >= math.log(MIN_PROBABILITY))
    median = np.median(draws, axis=0)
    out = {"observed": y, "k": k.astype(int), "n": n.astype(int), "pred_median": median,
           "pred_mean": draws.mean(axis=0)}
    for level in levels:
        lo, hi = central_interval(draws, level)
        lab = level_label(level)
        out[f"lower_{lab}"] = lo
        out[f"upper_{lab}"] = hi
        out[f"covered_{lab}"] = (lo <= y) & (y <= hi)
    out["pit"] = pit_values(pred, y, n, discrete=discrete, rng=np.random.default_rng(seed))
    out["log_score"] = np.where(floored, math.log(MIN_PROBABILITY), log_prob)
    out["log_score_floored"] = floored
    out["log_score_method"] = how
    out["crps_pp"] = 100.0 * crps_from_draws(draws, y)
    out["abs_error_pp"] = 100.0 * np.abs(median - y)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class PairedDifference:
    """Sum and mean of per-model differences ``a - b`` with their paired SEs."""

    total: float
    total_se: float
    mean: float
    mean_se: float
    n: int


def paired_difference(a: np.ndarray, b: np.ndarray) -> PairedDifference:
    """Paired difference of two methods' scores on the same models (Vehtari et al. 2017).

    ``se(sum) = sqrt(m var(d))`` and ``se(mean) = sd(d)/sqrt(m)``, ``d = a - b`` (sample
    variance with ``ddof = 1``; NaN for fewer than two models).
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    m = len(d)
    if m == 0:
        return PairedDifference(math.nan, math.nan, math.nan, math.nan, 0)
    var = float(np.var(d, ddof=1)) if m > 1 else math.nan
    return PairedDifference(total=float(d.sum()), total_se=math.sqrt(m * var),
                            mean=float(d.mean()), mean_se=math.sqrt(var / m), n=m)


#: Scores summarised per method: column -> (summary name, higher is better).
SUMMARISED: dict[str, tuple[str, bool]] = {
    "log_score": ("log_score", True),
    "crps_pp": ("crps_pp", False),
    "abs_error_pp": ("mae_pp", False),
}


def summarise_scores(scores: pd.DataFrame, *, reference: str | None,
                     method_column: str = "method",
                     levels: tuple[float, ...] = COVERAGE_LEVELS) -> pd.DataFrame:
    """One row per method: means, coverage and paired differences against ``reference``.

    Only models scored by every method enter (so every method is judged on the same held-out
    models); ``n_models`` says how many.

    Returns
    -------
    DataFrame
        ``method``, ``n_models``, ``elpd`` (sum of log scores), ``elpd_se``
        (``sqrt(m var)``), ``log_score`` (mean), ``crps_pp``, ``mae_pp``,
        ``coverage_p`` per level, ``pit_ks`` (Kolmogorov–Smirnov distance of the PITs from
        uniform), ``log_score_floored`` (rows floored), and against the reference
        ``elpd_diff``/``elpd_diff_se`` and ``<score>_diff``/``<score>_diff_se`` (means).
    """
    methods = list(dict.fromkeys(scores[method_column]))
    counts = scores.groupby("model_id")[method_column].nunique()
    common = set(counts.index[counts == len(methods)])
    rows = []
    by_method = {m: scores[(scores[method_column] == m) & scores["model_id"].isin(common)]
                 .sort_values("model_id") for m in methods}
    ref = by_method.get(reference) if reference else None
    for method, sub in by_method.items():
        m = len(sub)
        ls = sub["log_score"].to_numpy(float)
        row = {"method": method, "n_models": m, "elpd": float(ls.sum()),
               "elpd_se": math.sqrt(m * float(np.var(ls, ddof=1))) if m > 1 else math.nan}
        for col, (name, _) in SUMMARISED.items():
            row[name] = float(sub[col].mean()) if m else math.nan
        for level in levels:
            lab = level_label(level)
            row[f"coverage_{lab}"] = float(sub[f"covered_{lab}"].mean()) if m else math.nan
        row["pit_ks"] = pit_ks_distance(sub["pit"].to_numpy(float))
        row["log_score_floored"] = int(sub["log_score_floored"].sum())
        if ref is not None:
            diff = paired_difference(ls, ref["log_score"].to_numpy(float))
            row["elpd_diff"], row["elpd_diff_se"] = diff.total, diff.total_se
            for col, (name, _) in SUMMARISED.items():
                d = paired_difference(sub[col].to_numpy(float), ref[col].to_numpy(float))
                row[f"{name}_diff"], row[f"{name}_diff_se"] = d.mean, d.mean_se
        rows.append(row)
    return pd.DataFrame(rows)


def pit_ks_distance(pit: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance of PIT values from Uniform(0, 1) (NaN when empty)."""
    u = np.sort(np.asarray(pit, float)[np.isfinite(pit)])
    m = len(u)
    if m == 0:
        return math.nan
    i = np.arange(1, m + 1)
    return float(max(np.max(i / m - u), np.max(u - (i - 1) / m)))


def coverage_table(scores: pd.DataFrame, *, method_column: str = "method",
                   levels: tuple[float, ...] = COVERAGE_LEVELS) -> pd.DataFrame:
    """Coverage of each central interval per method, with its binomial standard error.

    Returns
    -------
    DataFrame
        ``method``, ``level`` (nominal), ``coverage``, ``se``
        (``sqrt(c (1 - c) / m)``), ``n_models``, ``below`` and ``above`` (share of models
        below the lower / above the upper end: where the misses fall).
    """
    rows = []
    for method, sub in scores.groupby(method_column, sort=False):
        m = len(sub)
        for level in levels:
            lab = level_label(level)
            c = float(sub[f"covered_{lab}"].mean()) if m else math.nan
            rows.append({"method": method, "level": level, "coverage": c,
                         "se": math.sqrt(c * (1 - c) / m) if m else math.nan, "n_models": m,
                         "below": float((sub["observed"] < sub[f"lower_{lab}"]).mean()),
                         "above": float((sub["observed"] > sub[f"upper_{lab}"]).mean())})
    return pd.DataFrame(rows)


__all__ = ["COVERAGE_LEVELS", "MIN_PROBABILITY", "SCORE_SCALE", "PairedDifference",
           "PredictiveLike", "accuracy_bins", "accuracy_draws", "central_interval",
           "coverage_table", "crps_from_draws", "level_label", "paired_difference",
           "pit_ks_distance", "pit_values", "score_rows", "summarise_scores"]
