"""Company share: the model-based definitions beside the paper's Shapley statistic.

Three panels (see :mod:`bayes_llm.derived`):

* **variance partition** of the latent score across the fit's models (posterior: median,
  interval, mean bar; the four shares sum to one);
* **company-share definitions** (posterior): the primary superpopulation share (Nakagawa
  & Schielzeth 2013), the finite-population developer share with its own-variance and
  covariance-with-compute parts (Gelman 2005), the Bayesian R² gained by the developer
  block (Gelman et al. 2019);
* **the paper's Shapley statistic** of the OLS R² (a statistic of the data, *not* a
  posterior): its value, a developer-clustered bootstrap band, and for the developer
  block its null level (the same statistic with no developer effect, grey).

The paper's values (where the paper reported the quantity) are marked with crosses; its
quoted 14-18% company share is shaded on the developer rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayes_llm.constants import DEFAULT_SEED, HDI_PROB
from bayes_llm.derived.company import company_shares
from bayes_llm.derived.fast import component_covariance, fast_components
from bayes_llm.derived.shapley_band import shapley_point
from bayes_llm.derived.shapley_null import N_BOOT, N_NULL, ShapleyReference, shapley_reference
from bayes_llm.derived.summary import summarise_draws
from bayes_llm.derived.variance import variance_partition
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENTS
from bayes_llm.plots._paper import paper_point_fit
from bayes_llm.plots._style import COMPONENT_COLOURS, PAPER_COLOUR, new_figure

COLUMNS = ["method", "component", "figure", "kind", "mean", "median", "lower", "upper",
           "paper_ols", "null_median", "null_lower", "null_upper"]
#: Methods in plot order: (key, panel title).
METHODS: tuple[tuple[str, str], ...] = (
    ("partition", "variance partition (posterior)"),
    ("company", "company-share definitions (posterior)"),
    ("shapley", "paper's Shapley statistic (not a posterior)"),
)
#: Display names of the rows.
PART_LABELS: dict[str, str] = {
    "compute": "compute", "period": "period (shared progress)",
    "developer": "developer (company)", "residual": "residual (unexplained)",
    "model": "model-level effects",
    "superpop": "superpopulation share (primary)",
    "finite": "finite-population share",
    "own": "  of which own variance", "cov_compute": "  of which covariance with compute",
    "r2_increment": "Bayesian R² gained by developers",
    "lineage": "base-model lineage share (not company)"}
_COMPANY_ROWS = (("superpop", "company_share_superpop", "superpop_share", "developer"),
                 ("finite", "variance_developer_share", None, "developer"),
                 ("own", "variance_developer_own_share", "developer_own_share", "developer"),
                 ("cov_compute", "variance_developer_cov_compute_share",
                  "developer_cov_compute_share", "compute"),
                 ("r2_increment", "bayes_r2_developer_increment",
                  "bayes_r2_developer_increment", "developer"))
#: The lineage block's share, shown under the company rows for a fit with lineage effects.
_LINEAGE_ROW = ("lineage", "lineage_share_superpop", "lineage_superpop_share", "lineage")


def _band(values: np.ndarray) -> tuple[float, float]:
    tail = 100 * (1 - HDI_PROB) / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def _posterior_draws(fit, draws) -> tuple[dict, dict]:
    """Partition shares by component and company-share draws by variable."""
    if draws is not None:
        missing = [f"variance_{c}_share" for c in COMPONENTS
                   if f"variance_{c}_share" not in draws]
        missing += [fid for _, fid, _, _ in _COMPANY_ROWS if fid not in draws]
        if missing:
            raise BayesLLMError("the headline draws given lack " + ", ".join(missing))
        part = {c: draws[f"variance_{c}_share"] for c in COMPONENTS}
        company = {key: draws[fid] for key, fid, _, _ in _COMPANY_ROWS}
        if _LINEAGE_ROW[1] in draws:
            company["lineage"] = draws[_LINEAGE_ROW[1]]
        return part, company
    comps = fast_components(fit)
    sigma = component_covariance(comps)
    share = variance_partition(fit, components=comps, covariance=sigma)["share"]
    shares = company_shares(fit, components=comps, covariance=sigma)
    part = {str(c): share.sel(component=c) for c in share["component"].values}
    company = {key: shares[var] if var else share.sel(component="developer")
               for key, _, var, _ in _COMPANY_ROWS}
    if "lineage_effect" in fit.dt["posterior"]:
        company["lineage"] = shares[_LINEAGE_ROW[2]]
    return part, company


def variance_shares_data(*, fit, baseline=None, df: pd.DataFrame | None = None,
                         seed: int = DEFAULT_SEED, cluster: str = "developer",
                         paper: bool = True, n_boot: int = N_BOOT,
                         n_null: int = N_NULL, draws: xr.Dataset | None = None,
                         shapley: ShapleyReference | None = None) -> pd.DataFrame:
    """Rows behind :func:`plot_variance_shares`.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS with the fit's coding (default: run it, as the headline does).
    df : DataFrame, optional
        Full canonical table for that OLS run.
    seed : int
        Seed of the Shapley bootstrap and null (the headline table's default).
    cluster : str
        Column resampled by the bootstrap (default ``"developer"``).
    paper : bool
        Mark the paper's OLS Shapley values (its method on the fit's coding).
    n_boot, n_null : int
        Bootstrap and null replicates.
    draws : Dataset, optional
        :func:`bayes_llm.derived.headline.headline_draws` of ``fit``, already computed:
        the posterior rows are read from it (the same figures) instead of recomputed.
    shapley : ShapleyReference, optional
        :func:`bayes_llm.derived.shapley_null.shapley_reference` of ``fit`` with this
        ``seed``, ``cluster``, ``n_boot`` and ``n_null``, already computed (the headline
        table's): not recomputed.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``kind`` is ``posterior`` or ``sampling band``;
        ``null_*`` only on the Shapley developer row.
    """
    part, company = _posterior_draws(fit, draws)
    rows = []
    for comp, one in part.items():
        rows.append({"method": "partition", "component": comp,
                     "figure": f"variance_{comp}_share", "kind": "posterior",
                     "mean": float(one.mean()), **summarise_draws(one)})
    for key, fid, _, _ in (*_COMPANY_ROWS, _LINEAGE_ROW):
        if key not in company:
            continue  # the lineage row: lineage fits only
        one = company[key]
        rows.append({"method": "company", "component": key, "figure": fid,
                     "kind": "posterior", "mean": float(one.mean()), **summarise_draws(one)})
    ref = shapley if shapley is not None else shapley_reference(
        fit, seed=seed, cluster=cluster, n_boot=n_boot, n_null=n_null)
    point = paper_point_fit(fit, baseline, df) if paper else None
    paper_values = shapley_point(point) if point is not None else {}
    for comp in ("compute", "period", "developer", "residual"):
        lo, hi = _band(ref.part(comp, "boot"))
        row = {"method": "shapley", "component": comp, "figure": f"shapley_{comp}_share",
               "kind": "sampling band", "mean": ref.point[comp], "median": ref.point[comp],
               "lower": lo, "upper": hi, "paper_ols": paper_values.get(comp, np.nan)}
        if comp == "developer":
            null = ref.part(comp, "null")
            nlo, nhi = _band(null)
            row.update({"null_median": float(np.median(null)), "null_lower": nlo,
                        "null_upper": nhi})
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_variance_shares(*, fit, baseline=None, df: pd.DataFrame | None = None,
                         seed: int = DEFAULT_SEED, cluster: str = "developer",
                         paper: bool = True, claim: tuple[float, float] | None = (0.14, 0.18),
                         draws: xr.Dataset | None = None,
                         shapley: ShapleyReference | None = None) -> Figure:
    """Company-share definitions and the paper's statistic, each with its own kind of band.

    Parameters
    ----------
    fit, baseline, df, seed, cluster, paper, draws, shapley
        See :func:`variance_shares_data` (``draws`` and ``shapley``: precomputed results
        that spare recomputing them).
    claim : (float, float), optional
        The paper's quoted company-share range, shaded on the developer rows.

    Returns
    -------
    Figure
    """
    data = variance_shares_data(fit=fit, baseline=baseline, df=df, seed=seed,
                                cluster=cluster, paper=paper, draws=draws, shapley=shapley)
    fig = new_figure((14, 3.8))
    axes = fig.subplots(1, len(METHODS), sharex=True)
    colour_of = {key: c for key, _, _, c in (*_COMPANY_ROWS, _LINEAGE_ROW)}
    for ax, (key, title) in zip(axes, METHODS, strict=True):
        sub = data[data["method"] == key].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        for yi, row in zip(y, sub.itertuples(), strict=True):
            colour = COMPONENT_COLOURS.get(colour_of.get(row.component, row.component),
                                           "#666666")
            if claim is not None and row.component in ("developer", "superpop", "finite",
                                                       "r2_increment"):
                ax.fill_betweenx([yi - 0.35, yi + 0.35], 100 * claim[0], 100 * claim[1],
                                 color="#f4d03f", alpha=0.5, lw=0,
                                 label=f"paper's claim {claim[0]:.0%}–{claim[1]:.0%}")
            if np.isfinite(row.null_median):
                ax.plot([100 * row.null_lower, 100 * row.null_upper], [yi - 0.22] * 2,
                        color="#999999", lw=4, solid_capstyle="butt",
                        label="null (no developer effect)")
            ax.barh(yi, 100 * row.mean, height=0.55, color=colour, alpha=0.35)
            ax.plot([100 * row.lower, 100 * row.upper], [yi, yi], color=colour, lw=2.5)
            ax.plot(100 * row.median, yi, "o", color=colour, mec="black", mew=0.5, ms=6)
            right = max(row.upper, row.median,
                        row.paper_ols if np.isfinite(row.paper_ols) else row.upper)
            # offset in points, past the marker's half-width: never on top of the paper's x
            ax.annotate(f"{100 * row.median:.1f}%", (100 * right, yi), xytext=(7, 0),
                        textcoords="offset points", va="center", fontsize=8)
            if np.isfinite(row.paper_ols):
                ax.plot(100 * row.paper_ols, yi, "x", color=PAPER_COLOUR, ms=8, mew=2,
                        zorder=5, label="paper's OLS, this coding")
        ax.set_yticks(y, [PART_LABELS.get(c, c) for c in sub["component"]], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"share (%): point/median, {HDI_PROB:.0%} band, mean (bar)")
        ax.grid(axis="x", alpha=0.3)
    top = float(np.nanmax(data[["upper", "paper_ols"]].to_numpy(float)))
    low = min(0.0, float(np.nanmin(data["lower"].to_numpy(float))))
    axes[0].set_xlim(100 * low - 2, 100 * top + 12)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), fontsize=8,
                   loc="outside lower center", ncol=len(legend))
    coding = " (13-group coding: not companies)" if fit.spec.developer == "group" else ""
    fig.suptitle(f"Company share{coding}", fontsize=11)
    return fig


__all__ = ["METHODS", "PART_LABELS", "plot_variance_shares", "variance_shares_data"]
