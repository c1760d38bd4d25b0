"""Shares of performance variance: compute, shared progress, developer, the rest.

Two posterior views of the paper's "how much is company-specific" question, side by
side (see :mod:`bayes_llm.derived`):

* **Shapley split of R²** (the paper's statistic, 32.0% / 2.7% / 18.0% of the variance for
  compute / period / developer groups) with a Bayesian-bootstrap band
  (:func:`bayes_llm.derived.shapley_band.shapley_draws`); the rest is the residual;
* **the hierarchical model's variance partition** of the latent score
  (:func:`bayes_llm.derived.variance.variance_partition`); the rest is the model-level
  effect.

The paper's values (its OLS estimator under the fit's coding, as in the headline table)
are marked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bayes_llm.constants import DEFAULT_SEED, HDI_PROB
from bayes_llm.derived.shapley_band import shapley_draws
from bayes_llm.derived.summary import summarise_draws
from bayes_llm.derived.variance import variance_partition
from bayes_llm.plots._paper import paper_point_fit
from bayes_llm.plots._style import COMPONENT_COLOURS, PAPER_COLOUR, new_figure

COLUMNS = ["method", "component", "figure", "mean", "median", "lower", "upper", "paper_ols"]
#: Methods in plot order: (key, label, figure-id prefix of the headline table).
METHODS: tuple[tuple[str, str, str], ...] = (
    ("shapley", "Shapley split of R² (Bayesian bootstrap)", "shapley"),
    ("variance", "hierarchical model's variance partition", "variance"),
)
#: Display names of the parts.
PART_LABELS: dict[str, str] = {"compute": "compute", "period": "period (shared progress)",
                               "developer": "developer (company)",
                               "residual": "residual (unexplained)",
                               "model": "model-level effects"}


def _parts(fit, *, seed: int, cluster: str | None, bootstrap: bool = True):
    shap = shapley_draws(fit, seed=seed, cluster=cluster, bootstrap=bootstrap)["share"]
    var = variance_partition(fit)["share"]
    return {"shapley": (shap, "block"), "variance": (var, "component")}


def variance_shares_data(*, fit, baseline=None, df: pd.DataFrame | None = None,
                         seed: int = DEFAULT_SEED, cluster: str | None = None,
                         paper: bool = True) -> pd.DataFrame:
    """Shares behind :func:`plot_variance_shares`.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS (default: run with the fit's coding, as the headline table does).
    df : DataFrame, optional
        Full canonical table for that OLS run.
    seed : int
        Seed of the Bayesian bootstrap (the headline table's default, so the numbers match).
    cluster : str, optional
        Bootstrap by cluster (e.g. ``"developer_group"``).
    paper : bool
        Compute the paper's values.

    Returns
    -------
    DataFrame
        One row per method and part: ``figure`` (the headline-table id), posterior
        ``mean``, ``median``, ``lower`` / ``upper`` and ``paper_ols``.
    """
    parts = _parts(fit, seed=seed, cluster=cluster)
    point = paper_point_fit(fit, baseline, df) if paper else None
    paper_parts = (_parts(point, seed=seed, cluster=None, bootstrap=False)
                   if point is not None else {})
    rows = []
    for key, _, prefix in METHODS:
        draws, dim = parts[key]
        for part in (str(p) for p in draws[dim].values):
            one = draws.sel({dim: part})
            value = np.nan
            if key in paper_parts:
                pdraws, pdim = paper_parts[key]
                value = float(pdraws.sel({pdim: part}).values.ravel()[0])
            rows.append({"method": key, "component": part, "figure": f"{prefix}_{part}_share",
                         "mean": float(one.mean()), **summarise_draws(one),
                         "paper_ols": value})
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_variance_shares(*, fit, baseline=None, df: pd.DataFrame | None = None,
                         seed: int = DEFAULT_SEED, cluster: str | None = None,
                         paper: bool = True, claim: tuple[float, float] | None = (0.14, 0.18)
                         ) -> Figure:
    """Posterior shares of variance with intervals, for both methods, paper values marked.

    Parameters
    ----------
    fit, baseline, df, seed, cluster, paper
        See :func:`variance_shares_data`.
    claim : (float, float), optional
        The paper's quoted company-share range, shaded on the developer rows.

    Returns
    -------
    Figure
    """
    data = variance_shares_data(fit=fit, baseline=baseline, df=df, seed=seed, cluster=cluster,
                                paper=paper)
    fig = new_figure((11, 3.6))
    axes = fig.subplots(1, len(METHODS), sharex=True)
    for ax, (key, title, _) in zip(axes, METHODS, strict=True):
        sub = data[data["method"] == key].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        for yi, row in zip(y, sub.itertuples(), strict=True):
            colour = COMPONENT_COLOURS.get(row.component, "#666666")
            if claim is not None and row.component == "developer":
                ax.fill_betweenx([yi - 0.35, yi + 0.35], 100 * claim[0], 100 * claim[1],
                                 color="#f4d03f", alpha=0.5, lw=0,
                                 label=f"paper's claim {claim[0]:.0%}–{claim[1]:.0%}")
            ax.barh(yi, 100 * row.mean, height=0.55, color=colour, alpha=0.35)
            ax.plot([100 * row.lower, 100 * row.upper], [yi, yi], color=colour, lw=2.5)
            ax.plot(100 * row.median, yi, "o", color=colour, mec="black", mew=0.5, ms=6)
            right = max(row.upper, row.paper_ols if np.isfinite(row.paper_ols) else row.upper)
            # offset in points, past the marker's half-width: never on top of the paper's x
            ax.annotate(f"{100 * row.median:.1f}%", (100 * right, yi), xytext=(7, 0),
                        textcoords="offset points", va="center", fontsize=8)
            if np.isfinite(row.paper_ols):
                ax.plot(100 * row.paper_ols, yi, "x", color=PAPER_COLOUR, ms=8, mew=2, zorder=5,
                        label="paper OLS" if yi == y[0] else None)
        ax.set_yticks(y, [PART_LABELS.get(c, c) for c in sub["component"]], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"share of variance (%): median, {HDI_PROB:.0%} HDI, mean (bar)")
        ax.grid(axis="x", alpha=0.3)
        top = max(float(data["upper"].max()), float(np.nanmax(data["paper_ols"]))
                  if data["paper_ols"].notna().any() else 0.0)
        ax.set_xlim(0, 100 * top + 12)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), fontsize=8,
                   loc="outside lower center", ncol=len(legend))
    fig.suptitle("What explains differences in performance", fontsize=11)
    return fig


__all__ = ["METHODS", "PART_LABELS", "plot_variance_shares", "variance_shares_data"]
