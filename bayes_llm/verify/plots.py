"""Plots for verification: ECDF differences of SBC ranks with simultaneous bands."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats


def ecdf_band(n: int, *, prob: float = 0.95, grid: np.ndarray | None = None,
              n_sims: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous band for the ECDF difference ``F_n(z) - z`` of ``n`` uniform draws.

    The simulation method of Säilynoja, Bürkner & Vehtari (2022): find the pointwise level
    ``gamma`` at which pointwise binomial intervals on the grid cover a whole uniform ECDF
    with probability ``prob``, then return those intervals.

    Parameters
    ----------
    n : int
        Number of ranks (replications).
    prob : float
        Simultaneous coverage.
    grid : ndarray, optional
        Evaluation points in (0, 1); default 99 equally spaced points.
    n_sims : int
        Simulated uniform samples used to calibrate ``gamma``.
    seed : int
        Seed of the simulation.

    Returns
    -------
    (grid, lower, upper)
        The band of ``F_n(z) - z`` on ``grid``.
    """
    z = np.linspace(0.01, 0.99, 99) if grid is None else np.asarray(grid, float)
    rng = np.random.default_rng(seed)
    sims = np.sort(rng.uniform(size=(n_sims, n)), axis=1)
    counts = np.stack([np.searchsorted(row, z, side="right") for row in sims])
    lower_tail = stats.binom.cdf(counts, n, z)
    upper_tail = stats.binom.sf(counts - 1, n, z)
    pointwise = np.minimum(1.0, 2.0 * np.minimum(lower_tail, upper_tail))
    gamma = float(np.quantile(pointwise.min(axis=1), 1.0 - prob))
    lower = stats.binom.ppf(gamma / 2, n, z) / n - z
    upper = stats.binom.ppf(1 - gamma / 2, n, z) / n - z
    return z, lower, upper


def ecdf_difference_plot(ranks: pd.DataFrame, *, prob: float = 0.95,
                         pvalues: Mapping[str, float] | None = None, ncols: int = 4,
                         title: str = ""):
    """One panel per quantity: ECDF of the fractional ranks minus the uniform CDF.

    Parameters
    ----------
    ranks : DataFrame
        Fractional ranks in (0, 1): one row per replication, one column per quantity.
    prob : float
        Simultaneous coverage of the grey band; a calibrated quantity's curve leaves it
        with probability ``1 - prob``.
    pvalues : mapping, optional
        Quantity -> p-value printed in the panel title.
    ncols : int
        Panels per row.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(ranks.columns)
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False,
                             sharex=True)
    bands: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for ax, name in zip(axes.ravel(), names, strict=False):
        u = np.sort(ranks[name].dropna().to_numpy(float))
        n = len(u)
        if n == 0:
            ax.set_title(f"{name}\n(no ranks)", fontsize=8)
            continue
        if n not in bands:
            bands[n] = ecdf_band(n, prob=prob)
        z, lo, hi = bands[n]
        ax.fill_between(z, lo, hi, color="0.85", label=f"{prob:.0%} simultaneous band")
        grid = np.linspace(0, 1, 201)
        diff = np.searchsorted(u, grid, side="right") / n - grid
        outside = np.any((np.interp(z, grid, diff) < lo) | (np.interp(z, grid, diff) > hi))
        ax.plot(grid, diff, color="C3" if outside else "C0", lw=1.4)
        ax.axhline(0, color="0.4", lw=0.6)
        label = name if pvalues is None or name not in pvalues else \
            f"{name}\np = {pvalues[name]:.2g}"
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF - uniform", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["ecdf_band", "ecdf_difference_plot"]
