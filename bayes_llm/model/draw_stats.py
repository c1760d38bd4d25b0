"""Intervals and convergence diagnostics of per-draw figures, in NumPy.

The headline table needs, for each of its ~50 figures, an interval (HDI or equal-tailed)
and the figure's own R-hat and bulk/tail ESS. ArviZ computes both, but importing
``arviz_stats`` costs ~0.8 s, a third of what ``bayes-llm headline`` may take
(issue 14). These functions compute the same quantities from their published definitions
and agree with ``arviz_stats`` to rounding (``tests/test_draw_stats.py`` compares them on
autocorrelated, tied and badly mixed chains):

* **HDI** (unimodal, "nearest" draws): the shortest interval between two sorted draws
  that contains ``floor(prob * S)`` further draws (Hyndman 1996; Chen & Shao 1999);
* **equal-tailed interval**: the (1 - prob)/2 and (1 + prob)/2 quantiles, linear
  interpolation (Hyndman & Fan 1996, type 7);
* **R-hat**: rank-normalised split-R-hat, the larger of the bulk (ranks of the draws)
  and tail (ranks of |draw - median|) versions (Vehtari, Gelman, Simpson, Carpenter &
  Bürkner 2021, eq. 4.1–4.2);
* **bulk ESS**: the ESS of the rank-normalised split chains; **tail ESS**: the smaller
  ESS of the indicators I(draw <= q_0.05) and I(draw <= q_0.95) on split chains
  (Vehtari et al. 2021, section 4.3), each by Geyer's initial monotone sequence on the
  FFT autocovariance (Stan's estimator; Geyer 1992).

Ranks are fractional (ties get their average rank) and back-transformed with Blom's
offset, z = Phi^-1((r - 3/8) / (S + 1/4)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

#: Tail probability of the tail ESS (the 5% and 95% quantiles).
TAIL_PROB: float = 0.05


def hdi_bounds(values: np.ndarray, prob: float) -> np.ndarray:
    """Shortest interval of ``prob`` mass between draws, over the last axis.

    Parameters
    ----------
    values : ndarray
        Draws on the last axis (any leading shape).
    prob : float
        Interval probability in (0, 1).

    Returns
    -------
    ndarray
        Shape ``values.shape[:-1] + (2,)``: lower and upper bound. A row with a NaN
        draw gets NaN bounds.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    ordered = np.sort(values, axis=-1)
    inc = min(int(np.floor(prob * n)), n - 1)
    widths = ordered[..., inc:] - ordered[..., : n - inc]
    start = np.argmin(widths, axis=-1)[..., None]
    out = np.concatenate([np.take_along_axis(ordered, start, -1),
                          np.take_along_axis(ordered, start + inc, -1)], axis=-1)
    out[np.any(np.isnan(values), axis=-1)] = np.nan
    return out


def eti_bounds(values: np.ndarray, prob: float) -> np.ndarray:
    """Equal-tailed interval of ``prob`` over the last axis (linear quantiles).

    Returns
    -------
    ndarray
        Shape ``values.shape[:-1] + (2,)``; NaN where a row has a NaN draw.
    """
    values = np.asarray(values, dtype=float)
    q = np.quantile(values, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0], axis=-1)
    out = np.moveaxis(q, 0, -1)
    out[np.any(np.isnan(values), axis=-1)] = np.nan
    return out


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..S of a flat array, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]  # one past each run of equal values
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def _z_scale(chains: np.ndarray) -> np.ndarray:
    """Rank-normalise draws of shape (chain, draw) jointly over all chains (Blom offset)."""
    ranks = _average_ranks(chains.ravel())
    return ndtri((ranks - 0.375) / (ranks.size + 0.25)).reshape(chains.shape)


def _split(chains: np.ndarray) -> np.ndarray:
    """Each chain's first and last half as two chains (the middle draw of an odd count dropped)."""
    half = chains.shape[1] // 2
    return np.vstack([chains[:, :half], chains[:, chains.shape[1] - half:]])


def _basic_rhat(chains: np.ndarray) -> float:
    n = chains.shape[1]
    within = np.mean(np.var(chains, axis=1, ddof=1))
    between = n * np.var(np.mean(chains, axis=1), ddof=1)
    return float(np.sqrt((between / within + n - 1) / n))


def rank_rhat(chains: np.ndarray) -> float:
    """Rank-normalised split R-hat of one quantity, draws of shape (chain, draw).

    NaN with fewer than 2 chains or 4 draws.
    """
    chains = np.asarray(chains, dtype=float)
    if chains.shape[0] < 2 or chains.shape[1] < 4:
        return float("nan")
    split = _split(chains)
    folded = np.abs(split - np.median(split))
    return max(_basic_rhat(_z_scale(split)), _basic_rhat(_z_scale(folded)))


def _autocovariance(chains: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain at every lag (biased, divided by n), by FFT."""
    n = chains.shape[1]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    centred = chains - chains.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n] / n


def _geyer_ess(chains: np.ndarray) -> float:
    """ESS of draws (chain, draw) by Geyer's initial monotone sequence (Stan's estimator)."""
    chains = np.asarray(chains, dtype=float)
    m, n = chains.shape
    if np.ptp(chains) < np.finfo(float).resolution:
        return float(chains.size)
    acov = _autocovariance(chains)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(chains.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho[0] = even = 1.0
    rho[1] = odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    t = 1
    while t < n - 3 and even + odd > 0.0:  # initial positive sequence
        even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    last = t - 2
    if even > 0:
        rho[last + 1] = even
    t = 1
    while t <= last - 2:  # made monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[: last + 1]) + np.sum(rho[last + 1: last + 2])
    tau = max(tau, 1.0 / np.log10(chains.size))
    return float("nan") if np.isnan(rho).any() else float(chains.size / tau)


def ess_bulk(chains: np.ndarray) -> float:
    """Bulk ESS of one quantity, draws (chain, draw); NaN with fewer than 4 draws."""
    chains = np.asarray(chains, dtype=float)
    if chains.shape[1] < 4:
        return float("nan")
    return _geyer_ess(_z_scale(_split(chains)))


def ess_tail(chains: np.ndarray, prob: float = TAIL_PROB) -> float:
    """Tail ESS: the smaller ESS of I(draw <= q_prob) and I(draw <= q_(1-prob)), split chains."""
    chains = np.asarray(chains, dtype=float)
    if chains.shape[1] < 4:
        return float("nan")
    return min(_geyer_ess(_split(chains <= np.quantile(chains, p)).astype(float))
               for p in sorted((prob, 1.0 - prob)))


__all__ = ["TAIL_PROB", "ess_bulk", "ess_tail", "eti_bounds", "hdi_bounds", "rank_rhat"]
