"""Developer efficiency factors ("secret sauce") as a forest plot on a log scale.

A developer's efficiency factor is the training-compute multiplier its effect is worth,
``10 ** ((u_j - u_ref) / beta)`` per posterior draw
(:func:`bayes_llm.derived.multipliers.developer_multipliers` and
:func:`~bayes_llm.derived.multipliers.group_multipliers`): a factor of 10 means the
developer's models score as well as the reference developer's would with ten times the
compute. The reference is the paper's "Other, Small" group unless stated otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bayes_llm.derived.multipliers import developer_multipliers, group_multipliers
from bayes_llm.derived.summary import interval_label, summarise_draws
from bayes_llm.errors import BayesLLMError
from bayes_llm.plots._paper import paper_point_fit
from bayes_llm.plots._style import (
    PAPER_COLOUR,
    group_colours,
    multiplier_ticks,
    new_figure,
    sort_groups,
)

#: Most rows drawn by :func:`plot_developer_effects` (majors always; then the extremes).
MAX_ROWS: int = 40
COLUMNS = ["unit", "level", "developer_group", "is_major", "n_models", "reference", "median",
           "lower", "upper", "prob_above_1", "paper_ols"]


def _paper_values(fit, baseline, df, level: str, reference: str | None) -> dict[str, float]:
    """Return the paper's OLS point multipliers by unit, computed as the headline table does."""
    point = paper_point_fit(fit, baseline, df)
    if point is None:
        return {}
    try:
        values = (group_multipliers(point, reference) if level == "group"
                  else developer_multipliers(point, reference))
    except BayesLLMError:
        return {}
    dim = "developer_group" if level == "group" else "developer"
    return {str(u): float(values.sel({dim: u}).values.ravel()[0])
            for u in values.coords[dim].values}


def developer_effects_data(*, fit, baseline=None, level: str = "group",
                           reference: str | None = None, df: pd.DataFrame | None = None,
                           paper: bool = True, components=None) -> pd.DataFrame:
    """Posterior efficiency factors behind :func:`plot_developer_effects`.

    Parameters
    ----------
    fit : Fit
        A fitted model with developer effects.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS regression whose point multipliers fill ``paper_ols``; default
        the paper's regression on the fit's models with the fit's coding (as in the
        headline table). Pass ``run_baseline(df)`` for the paper's published 13-group
        values.
    level : {"group", "developer"}
        ``group``: the paper's 13 groups (a group's effect is the model-weighted mean
        developer effect of its models, identical to the group effect under group coding);
        ``developer``: every developer unit of the fit.
    reference : str, optional
        Reference developer or group (default "Other, Small", see
        :mod:`bayes_llm.derived.multipliers`).
    df : DataFrame, optional
        Full canonical table for the default OLS run.
    paper : bool
        Compute the paper's values (``False``: ``paper_ols`` is NaN).
    components : DataArray, optional
        The fit's components, already computed
        (:func:`bayes_llm.derived.fast.fast_components`; the report shares the headline's).

    Returns
    -------
    DataFrame
        One row per unit, sorted by posterior median (largest first): ``unit``,
        ``developer_group``, ``is_major``, ``n_models``, ``reference``, ``median``,
        ``lower``, ``upper`` (the project's interval), ``prob_above_1`` (posterior
        probability the factor exceeds 1) and ``paper_ols`` (the baseline's point value,
        NaN when not available or not comparable).
    """
    if level not in ("group", "developer"):
        raise BayesLLMError(f"unknown level '{level}'; choose 'group' or 'developer'")
    if "developer_effect" not in fit.dt["posterior"]:
        raise BayesLLMError(f"fit '{fit.spec.name}' has no developer effects to plot")
    models = fit.models
    if level == "group":
        draws = group_multipliers(fit, reference, components=components)
        dim = "developer_group"
        unit_col = "developer_group"
    else:
        draws = developer_multipliers(fit, reference, components=components)
        dim = "developer"
        unit_col = "developer_unit"
    ref = str(draws.attrs.get("reference", reference or ""))
    paper_values = _paper_values(fit, baseline, df, level, reference) if paper else {}
    counts = models[unit_col].astype(str).value_counts()
    group_of = models.groupby(models[unit_col].astype(str))["developer_group"].agg(
        lambda s: s.astype(str).mode().iloc[0])
    major_of = models.groupby(models[unit_col].astype(str))["is_major"].agg(
        lambda s: bool(s.astype(bool).all()))
    rows = []
    for unit in (str(u) for u in draws.coords[dim].values):
        values = draws.sel({dim: unit})
        if np.allclose(np.asarray(values), 1.0):
            summary = {"median": 1.0, "lower": 1.0, "upper": 1.0}
        else:
            summary = summarise_draws(values, log10=True)
        rows.append({"unit": unit, "level": level,
                     "developer_group": str(group_of.get(unit, unit)),
                     "is_major": bool(major_of.get(unit, False)),
                     "n_models": int(counts.get(unit, 0)), "reference": ref, **summary,
                     "prob_above_1": (np.nan if unit == ref else
                                      float((np.asarray(values) > 1.0).mean())),
                     "paper_ols": paper_values.get(unit, np.nan)})
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["median", "unit"], ascending=[False, True]).reset_index(drop=True)


def _rows_to_show(data: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    if len(data) <= max_rows:
        return data
    majors = data[data["is_major"]]
    rest = data[~data["is_major"]]
    room = max(max_rows - len(majors), 2)
    keep = pd.concat([rest.head(room // 2 + room % 2), rest.tail(room // 2)])
    return data.loc[sorted(set(majors.index) | set(keep.index))]


def plot_developer_effects(*, fit, baseline=None, level: str = "group",
                           reference: str | None = None, df: pd.DataFrame | None = None,
                           paper: bool = True, max_rows: int = MAX_ROWS,
                           components=None) -> Figure:
    """Forest plot of developer efficiency factors (log scale), majors highlighted.

    Points are posterior medians, bars the project's interval
    (:data:`bayes_llm.constants.HDI_PROB`); the paper's OLS point values are red crosses.

    Parameters
    ----------
    fit : Fit
        A fitted model with developer effects.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS regression whose point values are marked (see
        :func:`developer_effects_data`).
    level : {"group", "developer"}
        Paper groups or the fit's developer units.
    reference : str, optional
        Reference developer or group (default "Other, Small").
    df : DataFrame, optional
        Full canonical table for the default OLS run.
    paper : bool
        Mark the paper's OLS values.
    max_rows : int
        With more units than this, show every major and the most extreme others.
    components : DataArray, optional
        See :func:`developer_effects_data`.

    Returns
    -------
    Figure
    """
    data = developer_effects_data(fit=fit, baseline=baseline, level=level, reference=reference,
                                  df=df, paper=paper, components=components)
    shown = _rows_to_show(data, max_rows)
    colours = group_colours(sort_groups(data["developer_group"]))
    n = len(shown)
    fig = new_figure((7.5, 1.2 + 0.28 * n))
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    for yi, row in zip(y, shown.itertuples(), strict=True):
        colour = colours.get(row.developer_group, "#555555") if row.is_major else "#666666"
        ax.plot([row.lower, row.upper], [yi, yi], color=colour, lw=2.4 if row.is_major else 1.6,
                solid_capstyle="butt")
        ax.plot(row.median, yi, "o", color=colour, ms=6 if row.is_major else 4.5,
                mec="black" if row.is_major else colour, mew=0.5)
        if np.isfinite(row.paper_ols):
            ax.plot(row.paper_ols, yi, "x", color=PAPER_COLOUR, ms=7, mew=2, zorder=5)
    ax.axvline(1.0, color="black", lw=0.8, ls=":")
    labels = [f"{r.unit}  (n={r.n_models})" + ("  [reference]" if r.unit == r.reference else "")
              for r in shown.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    for tick, row in zip(ax.get_yticklabels(), shown.itertuples(), strict=True):
        if row.is_major:
            tick.set_fontweight("bold")
            tick.set_color(colours.get(row.developer_group, "black"))
    ax.set_xscale("log")
    multiplier_ticks(ax, "x")
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", alpha=0.3, which="both")
    ref = data["reference"].iloc[0] if len(data) else ""
    ax.set_xlabel(f"efficiency factor vs {ref} (compute multiplier, log scale)")
    handles = [ax.plot([], [], "o-", color="#444444",
                       label=f"posterior median, {interval_label()}")[0]]
    if data["paper_ols"].notna().any():
        handles.append(ax.plot([], [], "x", color=PAPER_COLOUR, mew=2, label="paper OLS")[0])
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    what = "developer groups" if level == "group" else "developers"
    note = f" ({n} of {len(data)} shown)" if n < len(data) else ""
    ax.set_title(f"Efficiency of {what}{note}; majors in bold", fontsize=10)
    return fig


__all__ = ["developer_effects_data", "plot_developer_effects"]
