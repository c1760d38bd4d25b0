"""Frontier decomposition: how much of the progress from model A to model B is scaling.

For each pair A -> B the change in latent logit score splits exactly into compute
(scaling), period (shared algorithmic progress), developer and model-level parts
(:func:`bayes_llm.derived.frontier.pair_decomposition`, the paper's Table 1). The plot
stacks the posterior mean shares (which sum to 100% draw by draw, hence also on average)
and, beside it, shows each share's posterior median and interval with the paper's OLS
value marked. A pair whose change in latent score is near zero has undefined shares
(:func:`bayes_llm.derived.frontier.ratio_guard`; e.g. Flan-UL2 -> Minitron-4B, a net
change of 0.1 logit against ~3 logits of movements): no bar is drawn for it, only the
reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bayes_llm.baseline.pairwise import DEFAULT_PAIRS
from bayes_llm.constants import HDI_PROB
from bayes_llm.derived.frontier import (
    TOP_K,
    default_frontier_pair,
    frontier_gain,
    pair_decomposition,
    pair_guards,
    pair_label,
)
from bayes_llm.derived.summary import summarise_draws
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENTS
from bayes_llm.plots._paper import paper_point_fit
from bayes_llm.plots._style import COMPONENT_COLOURS, PAPER_COLOUR, new_figure

COLUMNS = ["pair", "model_a", "model_b", "definition", "component", "mean", "median",
           "lower", "upper", "paper_ols", "note"]
#: Plain names of the components.
COMPONENT_LABELS: dict[str, str] = {"compute": "compute (scaling)",
                                    "period": "period (shared progress)",
                                    "developer": "developer", "model": "model-level"}


def default_pairs(fit) -> list[tuple[str, str]]:
    """Return the headline table's frontier pair plus the paper's Table 1 pairs in the fit."""
    known = set(fit.models["model_id"].astype(str))
    pairs = [default_frontier_pair(fit), *DEFAULT_PAIRS]
    out: list[tuple[str, str]] = []
    for pair in pairs:
        pair = (str(pair[0]), str(pair[1]))
        if set(pair) <= known and pair not in out:
            out.append(pair)
    return out


def frontier_decomposition_data(*, fit, pairs: Sequence[tuple[str, str]] | None = None,
                                baseline=None, df: pd.DataFrame | None = None,
                                explained: bool = False, paper: bool = True,
                                components=None) -> pd.DataFrame:
    """Shares of each pair's progress by component, behind :func:`plot_frontier_decomposition`.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    pairs : sequence of (model_id, model_id), optional
        Pairs A -> B; default :func:`default_pairs`.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS for the ``paper_ols`` column (default: run with the fit's coding).
    df : DataFrame, optional
        Full canonical table for that OLS run.
    explained : bool
        Definition (b): shares of the explained part only (compute, period, developer).
    paper : bool
        Compute the paper's OLS values.
    components : DataArray, optional
        The fit's components, already computed
        (:func:`bayes_llm.derived.fast.fast_components`; the report shares the headline's).

    Returns
    -------
    DataFrame
        One row per pair and component: posterior ``mean`` (sums to one over components),
        ``median``, ``lower`` / ``upper`` (the project's interval), ``paper_ols``, and
        ``note``: the reason when the pair's shares are undefined (then NaN).
    """
    pairs = default_pairs(fit) if pairs is None else [tuple(p) for p in pairs]
    if not pairs:
        raise BayesLLMError("no model pair to decompose (the default pairs are not in the fit)")
    var = "explained_share" if explained else "share"
    comps = [c for c in COMPONENTS if not (explained and c == "model")]
    dec = pair_decomposition(fit, pairs, components=components)
    guards = pair_guards(dec)
    point = paper_point_fit(fit, baseline, df) if paper else None
    pdec = None
    if point is not None:
        known = set(point.models["model_id"].astype(str))
        ok = [p for p in pairs if set(p) <= known]
        pdec = pair_decomposition(point, ok) if ok else None
    rows = []
    for a, b in pairs:
        label = pair_label(a, b)
        why = guards[label]["explained" if explained else "share"]
        for comp in comps:
            draws = dec[var].sel(pair=label, component=comp)
            summary = (summarise_draws(draws) if not why else
                       {"median": np.nan, "lower": np.nan, "upper": np.nan})
            paper_value = np.nan
            if pdec is not None and label in pdec["pair"].values:
                paper_value = float(pdec[var].sel(pair=label, component=comp).values.ravel()[0])
            rows.append({"pair": label, "model_a": a, "model_b": b,
                         "definition": "explained" if explained else "all", "component": comp,
                         "mean": float(draws.mean()) if not why else np.nan, **summary,
                         "paper_ols": paper_value, "note": why})
    return pd.DataFrame(rows, columns=COLUMNS)


def frontier_gain_data(*, fit, top_k: int = TOP_K, components=None) -> pd.DataFrame:
    """Return the primary frontier estimand behind the top row of the plot.

    ``components``: the fit's components, already computed (optional).

    Returns
    -------
    DataFrame
        One row per quantity: ``quantity`` (``gain``, ``gain_from_scaling``,
        ``gain_without_scaling`` in accuracy points; ``decades_<component>`` in
        compute-equivalent decades), ``unit``, posterior ``median``, ``lower``, ``upper``,
        and ``note`` (why a figure is undefined, if it is).
    """
    gain = frontier_gain(fit, top_k=top_k, components=components)
    rows = []
    for var in gain.data_vars:
        if var == "compute_share":
            continue
        values = gain[var]
        note = gain.attrs["notes"].get(str(var), "")
        summary = (summarise_draws(values) if not note and np.all(np.isfinite(values))
                   else {"median": np.nan, "lower": np.nan, "upper": np.nan})
        rows.append({"quantity": str(var),
                     "unit": "decades" if str(var).startswith("decades") else "accuracy",
                     **summary, "note": note})
    out = pd.DataFrame(rows, columns=["quantity", "unit", "median", "lower", "upper", "note"])
    out.attrs.update({k: gain.attrs[k] for k in ("first", "last", "top_k")})
    return out


def _plot_frontier_gain(ax_gain, ax_dec, data: pd.DataFrame) -> None:
    acc = data[data["unit"] == "accuracy"].reset_index(drop=True)
    words = {"gain": "frontier's gain", "gain_from_scaling": "due to scaling",
             "gain_without_scaling": "without scaling"}
    colours = {"gain": "#444444", "gain_from_scaling": COMPONENT_COLOURS["compute"],
               "gain_without_scaling": "#999999"}
    y = np.arange(len(acc))[::-1]
    for yi, row in zip(y, acc.itertuples(), strict=True):
        colour = colours.get(row.quantity, "#666666")
        ax_gain.barh(yi, 100 * row.median, height=0.55, color=colour, alpha=0.4)
        ax_gain.plot([100 * row.lower, 100 * row.upper], [yi, yi], color=colour, lw=2.5)
    ax_gain.set_yticks(y, [words.get(q, q) for q in acc["quantity"]], fontsize=8)
    ax_gain.axvline(0, color="black", lw=0.8)
    ax_gain.set_xlabel("accuracy points (posterior median bar, HDI line)", fontsize=8)
    ax_gain.set_title(f"frontier (top {data.attrs['top_k']} per cohort), accuracy scale",
                      fontsize=9)
    dec = data[data["unit"] == "decades"].reset_index(drop=True)
    y = np.arange(len(dec))[::-1]
    for yi, row in zip(y, dec.itertuples(), strict=True):
        comp = row.quantity.removeprefix("decades_")
        colour = COMPONENT_COLOURS.get(comp, "#444444")
        ax_dec.plot([row.lower, row.upper], [yi, yi], color=colour, lw=2.5)
        ax_dec.plot(row.median, yi, "o", color=colour, mec="black", mew=0.4, ms=5)
    ax_dec.set_yticks(y, [q.removeprefix("decades_") for q in dec["quantity"]], fontsize=8)
    ax_dec.axvline(0, color="black", lw=0.8)
    ax_dec.set_xlabel("compute-equivalent decades (additive, no ratio)", fontsize=8)
    ax_dec.set_title("the frontier's latent gain, decomposed", fontsize=9)
    for ax in (ax_gain, ax_dec):
        ax.grid(axis="x", alpha=0.3)


def _short(model_id: str, width: int = 28) -> str:
    name = model_id.split("__", 1)[-1]
    return name if len(name) <= width else name[: width - 1] + "…"


def plot_frontier_decomposition(*, fit, pairs: Sequence[tuple[str, str]] | None = None,
                                baseline=None, df: pd.DataFrame | None = None,
                                explained: bool = False, paper: bool = True,
                                components=None) -> Figure:
    """Plot the frontier estimand, then stacked shares of progress per pair.

    Top row: the primary frontier estimand (:func:`frontier_gain_data`): the frontier's
    gain in accuracy, the part due to scaling and the counterfactual without it; beside
    it the additive decomposition in compute-equivalent decades. Then, per pair, left:
    one horizontal bar, stacked from the posterior mean share of each
    component (negative shares stack to the left of zero; the total is 100%). Right: the
    posterior median and :data:`~bayes_llm.constants.HDI_PROB` interval of every share,
    the paper's OLS values as red crosses.

    Parameters
    ----------
    fit, pairs, baseline, df, explained, paper, components
        See :func:`frontier_decomposition_data`.

    Returns
    -------
    Figure
    """
    data = frontier_decomposition_data(fit=fit, pairs=pairs, baseline=baseline, df=df,
                                       explained=explained, paper=paper,
                                       components=components)
    labels = list(dict.fromkeys(data["pair"]))
    comps = list(dict.fromkeys(data["component"]))
    n = len(labels)
    fig = new_figure((12, 3.2 + 1.9 * n))
    grid = fig.subplots(n + 1, 2, width_ratios=[1, 1.2], squeeze=False,
                        height_ratios=[1.5] + [1] * n)
    _plot_frontier_gain(grid[0, 0], grid[0, 1], frontier_gain_data(fit=fit, components=components))
    axes = grid[1:]
    offsets = np.linspace(0.3, -0.3, len(comps))
    for i, label in enumerate(labels):
        ax1, ax2 = axes[i]
        sub = data[data["pair"] == label].set_index("component")
        a, b = sub["model_a"].iloc[0], sub["model_b"].iloc[0]
        why = str(sub["note"].iloc[0])
        if why:
            for ax in (ax1, ax2):
                ax.text(0.5, 0.5, "shares undefined: the net change is near zero\n"
                        "(no bars drawn; see the headline notes)", ha="center",
                        va="center", fontsize=8, transform=ax.transAxes)
                ax.set_yticks([])
                ax.set_xticks([])
            ax1.set_ylabel(f"{_short(a)} →\n{_short(b)}", fontsize=8, rotation=0,
                           ha="right", va="center")
            continue
        pos, neg = 0.0, 0.0
        for comp in comps:
            v = 100 * float(sub.loc[comp, "mean"])
            left = pos if v >= 0 else neg + v
            ax1.barh(0, abs(v), left=left, height=0.6, color=COMPONENT_COLOURS[comp],
                     edgecolor="white", label=COMPONENT_LABELS[comp])
            if abs(v) >= 0.08 * max(100.0, pos - neg + abs(v)):
                ax1.text(left + abs(v) / 2, 0, f"{v:.0f}%", ha="center", va="center",
                         fontsize=8, color="white")
            if v >= 0:
                pos += v
            else:
                neg += v
        ax1.axvline(0, color="black", lw=0.8)
        ax1.axvline(100, color="black", lw=0.8, ls=":")
        ax1.set_yticks([0], [f"{_short(a)} →\n{_short(b)}"], fontsize=8)
        ax1.set_ylim(-0.6, 0.6)
        ax1.grid(axis="x", alpha=0.3)
        for off, comp in zip(offsets, comps, strict=True):
            row = sub.loc[comp]
            colour = COMPONENT_COLOURS[comp]
            ax2.plot([100 * row["lower"], 100 * row["upper"]], [off] * 2, color=colour, lw=2.2)
            ax2.plot(100 * row["median"], off, "o", color=colour, ms=5, mec="black", mew=0.4)
            if np.isfinite(row["paper_ols"]):
                ax2.plot(100 * row["paper_ols"], off, "x", color=PAPER_COLOUR, ms=6, mew=1.8,
                         zorder=5)
        ax2.axvline(0, color="black", lw=0.8)
        ax2.axvline(100, color="black", lw=0.8, ls=":")
        ax2.set_yticks(offsets, [COMPONENT_LABELS[c] for c in comps], fontsize=7)
        ax2.set_ylim(-0.5, 0.5)
        ax2.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("posterior mean share of the change in latent score (%)")
    axes[-1, 1].set_xlabel(f"share (%): posterior median and {HDI_PROB:.0%} HDI")
    legend: dict = {}
    for ax in axes[:, 0]:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(name, handle)
    handles, names = list(legend.values()), list(legend.keys())
    fig.legend(handles, names, fontsize=7, loc="outside lower center", ncol=len(comps) + 1)
    if data["paper_ols"].notna().any():
        axes[0, 1].plot([], [], "x", color=PAPER_COLOUR, mew=1.8, label="paper OLS")
        axes[0, 1].legend(fontsize=7, loc="best")
    what = "explained part only" if explained else "all four components"
    fig.suptitle(f"Frontier progress (top: the primary estimand; below: model pairs, "
                 f"{what})", fontsize=11)
    return fig


__all__ = ["COMPONENT_LABELS", "default_pairs", "frontier_decomposition_data",
           "frontier_gain_data", "plot_frontier_decomposition"]
