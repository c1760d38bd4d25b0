"""Plots of a sensitivity study: a forest plot per headline figure and a tornado plot.

Every plot function is keyword-only, takes the tidy study table (``sensitivity.csv`` /
:attr:`StudyResult.table`) and returns a :class:`matplotlib.figure.Figure`; the data
behind each plot comes from a matching ``*_data`` function as a DataFrame.

* :func:`forest_plot` - each headline figure's posterior median and interval in every
  variant, with the paper's value (dashed line) and the paper's claimed range (band);
  failed variants are listed and marked, variants with failed diagnostics drawn hollow.
* :func:`tornado_plot` - for each figure, how far each axis moves the median from the
  base variant (bars from the lowest to the highest median over the axis's levels),
  axes sorted by that swing: which choice moves the figure most.

Multipliers are drawn on a log scale and their swing is measured in log10 units.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd

from bayes_llm.sensitivity.study import BASE_VARIANT

#: Colour per variant status.
STATUS_COLOURS = {"ok": "#1f4e79", "warnings": "#d98c00", "failed": "#b22222"}


def claim_bounds() -> dict[str, tuple[float, float, str]]:
    """Figure id -> (lower, upper, text) of the paper's claimed range, where it has one."""
    try:
        from bayes_llm.derived import HEADLINE_FIGURES
        from bayes_llm.derived.paper import PAPER_CLAIMS
    except ImportError:
        return {}
    out = {}
    for fid, fig in HEADLINE_FIGURES.items():
        claim = PAPER_CLAIMS.get(getattr(fig, "claim", None) or "")
        if claim is not None:
            out[fid] = (claim.lower, claim.upper, claim.text)
    return out


def key_figures(table: pd.DataFrame) -> list[str]:
    """Return the figures behind the paper's quoted claims (all figures if none are marked)."""
    if "kind" in table:  # the paper's quoted ranges themselves are not figures to plot
        table = table[table["kind"].fillna("posterior") != "quoted claim"]
    figures = list(dict.fromkeys(table["figure"]))
    claims = claim_bounds()
    if "paper_claim" in table:
        marked = table.loc[table["paper_claim"].fillna("").astype(str) != "", "figure"]
        claimed = [f for f in figures if f in set(marked) or f in claims]
    else:
        claimed = [f for f in figures if f in claims]
    return claimed or figures


def _unit(table: pd.DataFrame, figure: str) -> str:
    if "unit" not in table:
        return "share"
    units = table.loc[table["figure"] == figure, "unit"].dropna()
    return str(units.iloc[0]) if len(units) else "share"


def forest_data(*, table: pd.DataFrame, figures: list[str] | None = None) -> pd.DataFrame:
    """Return the data of :func:`forest_plot`: one row per figure and variant.

    Parameters
    ----------
    table : DataFrame
        The tidy study table.
    figures : list of str, optional
        Figure ids (default :func:`key_figures`).

    Returns
    -------
    DataFrame
        ``figure``, ``figure_label``, ``unit``, ``variant``, ``axis``, ``level``, ``median``,
        ``lower``, ``upper``, ``status``, ``error``, ``paper_value`` (the paper's estimator on
        the variant's data), ``paper_reference`` (on the base variant's data),
        ``claim_lower``, ``claim_upper``, ``claim``.
    """
    figures = figures or key_figures(table)
    claims = claim_bounds()
    base = table[table["variant"] == BASE_VARIANT].set_index("figure")["paper_value"] \
        if (table["variant"] == BASE_VARIANT).any() else pd.Series(dtype=float)
    rows = []
    for figure in figures:
        sub = table[table["figure"] == figure]
        lo, hi, text = claims.get(figure, (np.nan, np.nan, ""))
        ref = base.get(figure, np.nan)
        if (pd.isna(ref)) and sub["paper_value"].notna().any():
            ref = sub["paper_value"].dropna().iloc[0]
        for row in sub.itertuples(index=False):
            rows.append({"figure": figure, "figure_label": row.figure_label,
                         "unit": _unit(table, figure), "variant": row.variant,
                         "axis": row.axis, "level": row.level, "median": row.median,
                         "lower": row.lower, "upper": row.upper, "status": row.status,
                         "error": row.error if isinstance(row.error, str) else "",
                         "paper_value": row.paper_value, "paper_reference": ref,
                         "claim_lower": lo, "claim_upper": hi, "claim": text})
    return pd.DataFrame(rows)


def _grid(n: int, ncols: int, *, width: float, height: float):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def forest_plot(*, table: pd.DataFrame, figures: list[str] | None = None, ncols: int = 2,
                title: str | None = None):
    """Forest plot: each headline figure across the variants of a study.

    Parameters
    ----------
    table : DataFrame
        The tidy study table.
    figures : list of str, optional
        Figure ids, one panel each (default :func:`key_figures`).
    ncols : int
        Panels per row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = forest_data(table=table, figures=figures)
    figs = list(dict.fromkeys(data["figure"]))
    variants = list(dict.fromkeys(table["variant"]))
    fig, axes = _grid(len(figs), ncols, width=5.2, height=0.28 * len(variants) + 1.3)
    for ax, figure in zip(axes, figs, strict=False):
        sub = data[data["figure"] == figure].set_index("variant").reindex(variants)
        y = np.arange(len(variants))[::-1]
        log = sub["unit"].iloc[0] == "multiplier"
        if np.isfinite(sub["claim_lower"].iloc[0]):
            hi = sub["claim_upper"].iloc[0]
            if not np.isfinite(hi):  # open-ended claim ("more than 40x"): to the data's edge
                hi = np.nanmax([sub["upper"].max() * 1.2, sub["claim_lower"].iloc[0] * 1.5])
            ax.axvspan(sub["claim_lower"].iloc[0], hi, color="#e8e8e8", zorder=0,
                       label="paper's claimed range")
        ref = sub["paper_reference"].iloc[0]
        if np.isfinite(ref):
            ax.axvline(ref, color="black", ls="--", lw=1, zorder=1, label="paper's value")
        finite = sub[np.isfinite(sub["median"])]
        xmin = np.nanmin(finite["lower"].to_numpy(float)) if len(finite) else 0.0
        for yi, (name, row) in zip(y, sub.iterrows(), strict=True):
            colour = STATUS_COLOURS.get(str(row["status"]), "grey")
            if not np.isfinite(row["median"]):
                ax.plot([xmin], [yi], marker="x", color=STATUS_COLOURS["failed"], ls="none")
                ax.annotate("failed" if row["status"] == "failed" else "n/a", (xmin, yi),
                            xytext=(6, 0), textcoords="offset points", va="center",
                            fontsize=7, color=STATUS_COLOURS["failed"])
                continue
            ax.plot([row["lower"], row["upper"]], [yi, yi], color=colour, lw=1.6, zorder=2)
            ax.plot([row["median"]], [yi], marker="o", ms=5, zorder=3, color=colour,
                    mfc=colour if row["status"] == "ok" else "white")
            if np.isfinite(row["paper_value"]) and name != BASE_VARIANT:
                ax.plot([row["paper_value"]], [yi], marker="|", ms=8, color="black", alpha=0.5,
                        zorder=2)
        ax.set_yticks(y, variants, fontsize=8)
        labels = sub["figure_label"].dropna().astype(str)
        ax.set_title(_wrap(labels.iloc[0] if len(labels) and labels.iloc[0] else figure),
                     fontsize=9)
        ax.set_xlabel(f"{figure} ({'multiplier, log scale' if log else 'share'})", fontsize=8)
        if log:
            _log_axis(ax)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], marker="o", color=STATUS_COLOURS["ok"], label="ok"),
                Line2D([], [], marker="o", color=STATUS_COLOURS["warnings"], mfc="white",
                       label="diagnostic warnings"),
                Line2D([], [], marker="|", ms=8, color="black", ls="none",
                       label="paper's estimator on the variant's data")]
    labels += ["ok", "diagnostic warnings", "paper's estimator on the variant's data"]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    from bayes_llm.sensitivity.runner import table_interval

    fig.suptitle(title or f"Headline figures across variants (median and "
                 f"{table_interval(table)})", fontsize=10)
    return fig


def _wrap(text: str, width: int = 52) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _log_axis(ax) -> None:
    """Log x axis with plain-number tick labels."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _pad_limits(ax, values, *, log: bool, pad: float = 0.45) -> None:
    """Set x limits around ``values`` with room for the level labels at the bar ends."""
    v = np.asarray([x for x in values if np.isfinite(x) and (not log or x > 0)], float)
    if not len(v):
        return
    t = np.log10(v) if log else v
    lo, hi = t.min(), t.max()
    span = hi - lo if hi > lo else (abs(hi) * 0.1 or 0.1)
    lo, hi = lo - pad * span, hi + pad * span
    ax.set_xlim(*((10**lo, 10**hi) if log else (lo, hi)))


def _scale(unit: str):
    return np.log10 if unit == "multiplier" else (lambda v: v)


def tornado_data(*, table: pd.DataFrame, figures: list[str] | None = None,
                 baseline: str = BASE_VARIANT) -> pd.DataFrame:
    """Return the data of :func:`tornado_plot`: how far each axis moves each median.

    Only variants that change a single axis are used (in a grid: those with every other
    axis at its base level). Failed variants, and figures with NaN medians, are left out of
    the range and counted in ``n_failed``.

    Returns
    -------
    DataFrame
        ``figure``, ``figure_label``, ``unit``, ``axis``, ``base_median``, ``low``,
        ``high`` (the lowest and highest median over the axis's levels and the base),
        ``low_level``, ``high_level``, ``swing`` (``high - low``; log10 units for
        multipliers), ``largest_shift`` (the level moving the median most) and its
        ``shift``, ``n_levels``, ``n_failed``; sorted by figure, then swing (largest first).
    """
    figures = figures or key_figures(table)
    rows = []
    single = table[(table["variant"] != baseline) & ~table["axis"].astype(str).str.contains(
        "+", regex=False)]
    for figure in figures:
        sub = table[table["figure"] == figure]
        unit = _unit(table, figure)
        f = _scale(unit)
        base_rows = sub[sub["variant"] == baseline]
        base = float(base_rows["median"].iloc[0]) if len(base_rows) else np.nan
        label = sub["figure_label"].dropna().iloc[0] if sub["figure_label"].notna().any() else ""
        for axis, levels in single[single["figure"] == figure].groupby("axis", sort=False):
            ok = levels[np.isfinite(levels["median"].astype(float)) &
                        (levels["status"] != "failed")]
            values = {"base": base, **dict(zip(ok["level"], ok["median"].astype(float),
                                               strict=True))}
            values = {k: v for k, v in values.items() if np.isfinite(v)}
            if not values:
                continue
            low_level = min(values, key=values.get)
            high_level = max(values, key=values.get)
            shifts = {k: abs(float(f(v)) - float(f(base))) for k, v in values.items()
                      if k != "base"} if np.isfinite(base) else {}
            top = max(shifts, key=shifts.get) if shifts else ""
            rows.append({"figure": figure, "figure_label": label, "unit": unit, "axis": axis,
                         "base_median": base, "low": values[low_level],
                         "high": values[high_level], "low_level": low_level,
                         "high_level": high_level,
                         "swing": float(f(values[high_level]) - f(values[low_level])),
                         "largest_shift": top, "shift": shifts.get(top, np.nan),
                         "n_levels": len(levels), "n_failed": int(len(levels) - len(ok))})
    out = pd.DataFrame(rows, columns=["figure", "figure_label", "unit", "axis", "base_median",
                                      "low", "high", "low_level", "high_level", "swing",
                                      "largest_shift", "shift", "n_levels", "n_failed"])
    order = {f: i for i, f in enumerate(figures)}
    out["_order"] = out["figure"].map(order)
    out = out.sort_values(["_order", "swing"], ascending=[True, False]).drop(columns="_order")
    return out.reset_index(drop=True)


def tornado_plot(*, table: pd.DataFrame, figures: list[str] | None = None,
                 baseline: str = BASE_VARIANT, ncols: int = 2, title: str | None = None):
    """Tornado plot: which axis moves each headline figure most.

    Parameters
    ----------
    table : DataFrame
        The tidy study table.
    figures : list of str, optional
        Figure ids, one panel each (default :func:`key_figures`).
    baseline : str
        The reference variant (default ``base``).
    ncols : int
        Panels per row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = tornado_data(table=table, figures=figures, baseline=baseline)
    figs = [f for f in (figures or key_figures(table)) if f in set(data["figure"])]
    n_axes = int(data.groupby("figure").size().max()) if len(data) else 1
    fig, axes = _grid(max(len(figs), 1), ncols, width=5.2, height=0.35 * n_axes + 1.2)
    for ax, figure in zip(axes, figs, strict=False):
        sub = data[data["figure"] == figure].iloc[::-1]
        y = np.arange(len(sub))
        base = float(sub["base_median"].iloc[0])
        log = sub["unit"].iloc[0] == "multiplier"
        ax.barh(y, sub["high"] - sub["low"], left=sub["low"], color="#7fa7cf",
                edgecolor="#1f4e79", height=0.6)
        for yi, row in zip(y, sub.itertuples(index=False), strict=True):
            ax.annotate(str(row.low_level), (row.low, yi), xytext=(-3, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=7)
            ax.annotate(str(row.high_level), (row.high, yi), xytext=(3, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7)
            if row.n_failed:
                ax.annotate(f"{row.n_failed} failed", (row.high, yi), xytext=(3, -8),
                            textcoords="offset points", fontsize=6,
                            color=STATUS_COLOURS["failed"])
        if np.isfinite(base):
            ax.axvline(base, color="black", lw=1, label="base variant")
        ax.set_yticks(y, sub["axis"], fontsize=8)
        _pad_limits(ax, [*sub["low"], *sub["high"], base], log=log)
        if log:
            _log_axis(ax)
        label = sub["figure_label"].iloc[0]
        ax.set_title(_wrap(label if isinstance(label, str) and label else figure), fontsize=9)
        ax.set_xlabel(f"posterior median of {figure}", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title or "Which modelling choice moves each figure most (range of medians "
                 "over each axis's levels)", fontsize=10)
    return fig


__all__ = ["claim_bounds", "forest_data", "forest_plot", "key_figures", "tornado_data",
           "tornado_plot"]
