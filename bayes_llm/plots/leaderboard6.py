"""Plots of the joint benchmark model: developer-effect correlations and a heat map.

* :func:`plot_developer_correlation`: the LKJ correlation matrix of developer effects
  across benchmarks, each cell coloured by its posterior median and labelled with the
  median and the project's interval (:func:`bayes_llm.derived.summary.interval_label`).
* :func:`plot_developer_benchmark_effects`: posterior median developer effect (logits) per
  developer and benchmark, for developers with at least ``min_models`` models; a cell is
  hatched when its interval contains zero.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayes_llm.derived.summary import SAMPLE_DIMS, interval, interval_label
from bayes_llm.errors import BayesLLMError
from bayes_llm.plots._style import new_figure

#: Default fewest models of a developer drawn in the heat map.
MIN_MODELS: int = 10


def correlation_matrix_data(posterior: xr.Dataset, *, hdi_prob: float | None = None
                            ) -> xr.Dataset:
    """Median, lower and upper bound of each developer-effect correlation.

    Returns
    -------
    Dataset
        ``median``, ``lower``, ``upper`` with dims ``(benchmark, benchmark_b)``.
    """
    corr = posterior["developer_corr"]
    bounds = interval(corr, hdi_prob=hdi_prob)
    return xr.Dataset({"median": corr.median(SAMPLE_DIMS),
                       "lower": bounds.sel(ci_bound="lower", drop=True),
                       "upper": bounds.sel(ci_bound="upper", drop=True)})


def plot_developer_correlation(posterior: xr.Dataset, *, hdi_prob: float | None = None,
                               ax=None) -> Figure:
    """Correlation matrix of developer effects with median and interval in each cell."""
    data = correlation_matrix_data(posterior, hdi_prob=hdi_prob)
    names = [str(b) for b in data["benchmark"].values]
    nb = len(names)
    fig = ax.figure if ax is not None else new_figure((1.3 * nb + 2, 1.1 * nb + 1))
    ax = ax if ax is not None else fig.add_subplot()
    med = data["median"].transpose("benchmark", "benchmark_b").values
    lo = data["lower"].transpose("benchmark", "benchmark_b").values
    hi = data["upper"].transpose("benchmark", "benchmark_b").values
    shown = med.copy()
    np.fill_diagonal(shown, np.nan)  # the diagonal is 1 by construction: grey, unlabelled
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#dddddd")
    image = ax.imshow(shown, cmap=cmap, vmin=-1, vmax=1)
    for i in range(nb):
        for j in range(nb):
            if i == j:
                continue
            colour = "white" if abs(med[i, j]) > 0.6 else "black"
            ax.text(j, i, f"{med[i, j]:.2f}\n[{lo[i, j]:.2f}, {hi[i, j]:.2f}]",
                    ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(nb), names, rotation=45, ha="right")
    ax.set_yticks(range(nb), names)
    ax.set_title("Correlation of developer effects across benchmarks\n"
                 f"posterior median [{interval_label(hdi_prob)}]")
    fig.colorbar(image, ax=ax, shrink=0.8, label="median correlation")
    return fig


def developer_benchmark_effects_data(posterior: xr.Dataset, n_models: pd.Series, *,
                                     min_models: int = MIN_MODELS,
                                     hdi_prob: float | None = None) -> pd.DataFrame:
    """Long table behind the heat map: developer, benchmark, median, lower, upper.

    Parameters
    ----------
    posterior : Dataset
        Posterior of a ``leaderboard6`` fit.
    n_models : Series
        Models per developer (index: developer).
    min_models : int
        Fewest models of a developer shown.
    hdi_prob : float, optional
        Interval probability (project default when ``None``).
    """
    keep = [str(d) for d in posterior["developer"].values
            if int(n_models.get(str(d), 0)) >= min_models]
    if not keep:
        raise BayesLLMError(f"no developer has {min_models} or more models; lower min_models")
    eff = posterior["developer_effect"].sel(developer=keep)
    bounds = interval(eff, hdi_prob=hdi_prob)
    frame = pd.DataFrame({
        "median": eff.median(SAMPLE_DIMS).to_series(),
        "lower": bounds.sel(ci_bound="lower", drop=True).to_series(),
        "upper": bounds.sel(ci_bound="upper", drop=True).to_series(),
    }).reset_index()
    frame["n_models"] = frame["developer"].map(lambda d: int(n_models.get(d, 0)))
    return frame


def plot_developer_benchmark_effects(posterior: xr.Dataset, n_models: pd.Series, *,
                                     min_models: int = MIN_MODELS,
                                     hdi_prob: float | None = None) -> Figure:
    """Heat map of median developer effects (logits), developers x benchmarks.

    Rows are sorted by the mean effect over benchmarks (largest first); cells whose
    interval contains zero are hatched.
    """
    frame = developer_benchmark_effects_data(posterior, n_models, min_models=min_models,
                                             hdi_prob=hdi_prob)
    med = frame.pivot(index="developer", columns="benchmark", values="median")
    benches = [str(b) for b in posterior["benchmark"].values]
    med = med[benches]
    order = med.mean(axis=1).sort_values(ascending=False).index
    med = med.loc[order]
    lo = frame.pivot(index="developer", columns="benchmark", values="lower").loc[order, benches]
    hi = frame.pivot(index="developer", columns="benchmark", values="upper").loc[order, benches]
    nd, nb = med.shape
    fig = new_figure((1.1 * nb + 3, 0.3 * nd + 1.5))
    ax = fig.add_subplot()
    limit = float(np.nanmax(np.abs(med.values))) or 1.0
    image = ax.imshow(med.values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(nd):
        for j in range(nb):
            if lo.values[i, j] <= 0 <= hi.values[i, j]:
                ax.add_patch(_hatch(j, i))
    counts = frame.drop_duplicates("developer").set_index("developer")["n_models"]
    ax.set_yticks(range(nd), [f"{d} ({counts[d]})" for d in order])
    ax.set_ylabel("developer (models)")
    ax.set_xticks(range(nb), benches, rotation=45, ha="right")
    ax.set_title(f"Developer effects by benchmark (developers with ≥ {min_models} models)\n"
                 f"hatched: {interval_label(hdi_prob)} contains 0")
    fig.colorbar(image, ax=ax, label="median developer effect (logits)")
    return fig


def _hatch(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="grey",
                     linewidth=0)


__all__ = ["MIN_MODELS", "correlation_matrix_data", "developer_benchmark_effects_data",
           "plot_developer_benchmark_effects", "plot_developer_correlation"]
