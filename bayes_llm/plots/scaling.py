"""Score against training compute: the raw data, and the posterior scaling curves.

Scores are shown on the *normalised* accuracy scale, ``(accuracy - g) / (1 - g)`` with
``g`` the guessing floor (10% for MMLU-Pro's ten options, 0 for MATH Level 5), so 0 is
chance and 1 is perfect; a secondary axis gives the raw accuracy. The model is linear on
the logit of this scale, so its curves are logistic in log10 compute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayes_llm.data.benchmarks import OUTCOME_BENCHMARKS, benchmark, with_outcome_columns
from bayes_llm.derived.summary import interval_label
from bayes_llm.model.design import OUTCOMES
from bayes_llm.model.predictive import interval
from bayes_llm.plots._style import group_colours, new_figure, period_colour, sort_groups

#: Number of compute grid points of each curve.
GRID_POINTS: int = 60
#: Display names of the outcomes.
OUTCOME_LABELS: dict[str, str] = {"mmlu_pro": "MMLU-Pro", "math_lvl5": "MATH Level 5",
                                  **{b: benchmark(b).label for b in OUTCOME_BENCHMARKS}}
POINT_COLUMNS = ["layer", "period", "model_id", "developer_group", "log10_flop", "score",
                 "mean", "hdi_lower", "hdi_upper"]


def _normalised(acc: pd.Series | np.ndarray, guess: float) -> np.ndarray:
    return (np.asarray(acc, float) - guess) / (1.0 - guess)


def _raw_axis(ax, guess: float) -> None:
    if guess <= 0:
        return
    sec = ax.secondary_yaxis("right", functions=(lambda n: guess + (1 - guess) * n,
                                                 lambda a: (a - guess) / (1 - guess)))
    sec.set_ylabel("raw accuracy")


def _scatter_by_group(ax, points: pd.DataFrame, colours: dict[str, str], majors: set[str], *,
                      sizes: tuple[float, float], minor_alpha: float) -> None:
    """Scatter models' score against log10 compute, one colour and label per developer group.

    Parameters
    ----------
    ax : Axes
        The panel.
    points : DataFrame
        ``developer_group``, ``log10_flop`` and ``score`` of each model.
    colours : dict of str to str
        Colour of each developer group (:func:`bayes_llm.plots._style.group_colours`).
    majors : set of str
        Groups drawn larger, opaque, outlined and on top.
    sizes : (float, float)
        Marker size of a major group's points and of the others'.
    minor_alpha : float
        Opacity of the other groups' points (majors' 0.9).
    """
    for group in sort_groups(points["developer_group"]):
        g = points[points["developer_group"] == group]
        major = group in majors
        ax.scatter(g["log10_flop"], g["score"], s=sizes[0] if major else sizes[1],
                   color=colours[group], alpha=0.9 if major else minor_alpha,
                   edgecolor="black" if major else "none", linewidth=0.3, label=group,
                   zorder=3 if major else 2)


def data_overview_data(*, df: pd.DataFrame, outcome: str = "mmlu_pro",
                       period: str = "cohort") -> pd.DataFrame:
    """Return the models behind :func:`plot_data_overview`.

    Parameters
    ----------
    df : DataFrame
        The canonical model table.
    outcome : {"mmlu_pro", "math_lvl5"}
        Benchmark.
    period : str
        Column of the period labels (``cohort``, ``quarter`` or ``month``).

    Returns
    -------
    DataFrame
        ``model_id``, ``developer``, ``developer_group``, ``is_major``, ``period``,
        ``log10_flop``, ``accuracy`` and ``score`` (normalised accuracy), for models with
        both a score and a compute value.
    """
    acc_col, _, guess, _ = OUTCOMES[outcome]
    df = with_outcome_columns(df, outcome)
    frame = df[["model_id", "developer", "developer_group", "is_major", period, "log10_flop",
                acc_col]].dropna(subset=[acc_col, "log10_flop"])
    out = pd.DataFrame({
        "model_id": frame["model_id"].astype(str),
        "developer": frame["developer"].astype(str),
        "developer_group": frame["developer_group"].astype(str),
        "is_major": frame["is_major"].astype(bool),
        "period": frame[period].astype(str),
        "log10_flop": frame["log10_flop"].astype(float),
        "accuracy": frame[acc_col].astype(float),
        "score": _normalised(frame[acc_col], guess),
    })
    return out.reset_index(drop=True)


def plot_data_overview(*, df: pd.DataFrame, outcome: str = "mmlu_pro",
                       period: str = "cohort") -> Figure:
    """Scatter of score against log10 compute, one panel per period, by developer group.

    Parameters
    ----------
    df : DataFrame
        The canonical model table.
    outcome : {"mmlu_pro", "math_lvl5"}
        Benchmark.
    period : str
        Period column; one panel per period (use ``"cohort"`` for the paper's three).

    Returns
    -------
    Figure
    """
    data = data_overview_data(df=df, outcome=outcome, period=period)
    guess = OUTCOMES[outcome][2]
    periods = sorted(data["period"].unique())
    colours = group_colours(sort_groups(data["developer_group"]))
    fig = new_figure((4.2 * len(periods) + 1.8, 4.2))
    axes = fig.subplots(1, len(periods), sharex=True, sharey=True, squeeze=False)[0]
    for ax, per in zip(axes, periods, strict=True):
        sub = data[data["period"] == per]
        first = sub.groupby("developer_group")["is_major"].first()
        _scatter_by_group(ax, sub, colours, set(first.index[first.astype(bool)]),
                          sizes=(22, 10), minor_alpha=0.55)
        ax.set_title(f"{per} (n = {len(sub)})")
        ax.set_xlabel("log10 training FLOP")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("normalised accuracy (0 = chance)")
    _raw_axis(axes[-1], guess)
    handles = {h.get_label(): h for ax in axes for h in ax.collections}
    order = [g for g in sort_groups(data["developer_group"]) if g in handles]
    fig.legend([handles[g] for g in order], order, loc="outside right center", fontsize=8,
               title="developer group", title_fontsize=8, markerscale=1.3)
    fig.suptitle(f"{OUTCOME_LABELS.get(outcome, outcome)} score vs training compute "
                 f"({len(data)} models)")
    return fig


def _typical_curve_parts(fit) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Intercept (per draw and period) and slope (per draw and period) of the curves."""
    post = fit.dt["posterior"].to_dataset()
    const = fit.dt["constant_data"].to_dataset()
    offset = xr.zeros_like(post["alpha"])
    slope = post["beta"] + xr.zeros_like(post["period_effect"])
    if "developer_effect" in post:
        n_units = post.sizes["developer"]
        counts = np.bincount(np.asarray(const["developer_idx"], int), minlength=n_units)
        weights = xr.DataArray(counts / counts.sum(), dims="developer")
        offset = (post["developer_effect"] * weights).sum("developer")
        if "developer_slope" in post:
            slope = slope + (post["developer_slope"] * weights).sum("developer")
    if "compute_period_slope" in post:
        slope = slope + post["compute_period_slope"]
    intercept = post["alpha"] + post["period_effect"] + offset
    return intercept, slope, offset


def score_vs_compute_data(*, fit, grid_points: int = GRID_POINTS) -> pd.DataFrame:
    """Curves and points behind :func:`plot_score_vs_compute`.

    The curve of period ``t`` is the normalised score of a typical model: the logistic of
    ``alpha + gamma_t + slope_t * (log10 C - c0) + u_bar`` with ``u_bar`` the average
    developer effect over the fit's models (model-count weighted) and a model-level effect
    of zero. It is drawn over the compute range of the period's own models.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    grid_points : int
        Points per curve.

    Returns
    -------
    DataFrame
        ``layer`` is ``"curve"`` (``period``, ``log10_flop``, posterior ``mean`` and
        ``hdi_lower`` / ``hdi_upper`` of the curve at the project's interval) or
        ``"point"`` (``model_id``, ``developer_group``, ``period``, ``log10_flop``,
        ``score``: the observed normalised accuracy).
    """
    acc_col, _, guess, _ = OUTCOMES[fit.spec.outcome]
    models = fit.models
    intercept, slope, _ = _typical_curve_parts(fit)
    periods = [str(p) for p in intercept.coords["period"].values]
    rows = []
    for period in periods:
        sub = models[models["period"].astype(str) == period]
        if sub.empty:
            continue
        grid = np.linspace(sub["log10_flop"].min(), sub["log10_flop"].max(), grid_points)
        xc = xr.DataArray(grid - fit.spec.compute_centre, dims="grid")
        eta = intercept.sel(period=period) + slope.sel(period=period) * xc
        score = 1.0 / (1.0 + np.exp(-eta))
        flat = score.stack(sample=("chain", "draw")).transpose("sample", "grid").to_numpy()
        lo, hi = interval(flat, axis=0)
        mean = flat.mean(axis=0)
        for i, x in enumerate(grid):
            rows.append({"layer": "curve", "period": period, "log10_flop": float(x),
                         "mean": float(mean[i]), "hdi_lower": float(lo[i]),
                         "hdi_upper": float(hi[i])})
    points = pd.DataFrame({
        "layer": "point", "period": models["period"].astype(str),
        "model_id": models["model_id"].astype(str),
        "developer_group": models["developer_group"].astype(str),
        "log10_flop": models["log10_flop"].astype(float),
        "score": _normalised(models[acc_col], guess),
    })
    curves = pd.DataFrame(rows)
    return pd.concat([curves, points], ignore_index=True).reindex(columns=POINT_COLUMNS)


def plot_score_vs_compute(*, fit, grid_points: int = GRID_POINTS) -> Figure:
    """Observed scores and posterior scaling curves, one panel per period.

    Each panel shows the period's models (coloured by developer group; majors outlined),
    the posterior mean curve of a typical model with its interval band
    (:data:`bayes_llm.constants.HDI_PROB`), and the other periods' mean curves dashed for
    comparison: the vertical gap between curves is shared algorithmic progress.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    grid_points : int
        Points per curve.

    Returns
    -------
    Figure
    """
    data = score_vs_compute_data(fit=fit, grid_points=grid_points)
    guess = OUTCOMES[fit.spec.outcome][2]
    curves = data[data["layer"] == "curve"]
    points = data[data["layer"] == "point"]
    periods = list(dict.fromkeys(curves["period"]))
    colours = group_colours(sort_groups(points["developer_group"]))
    majors = set(fit.models.loc[fit.models["is_major"].astype(bool), "developer_group"]
                 .astype(str)) if "is_major" in fit.models else set()
    fig = new_figure((4.2 * len(periods) + 1.8, 4.4))
    axes = fig.subplots(1, len(periods), sharex=True, sharey=True, squeeze=False)[0]
    for i, (ax, period) in enumerate(zip(axes, periods, strict=True)):
        sub = points[points["period"] == period]
        _scatter_by_group(ax, sub, colours, majors, sizes=(20, 9), minor_alpha=0.5)
        for j, other in enumerate(periods):
            if other == period:
                continue
            c = curves[curves["period"] == other]
            ax.plot(c["log10_flop"], c["mean"], ls="--", lw=1.2, color=period_colour(j),
                    alpha=0.8, label=f"mean curve {other}", zorder=4)
        c = curves[curves["period"] == period]
        ax.fill_between(c["log10_flop"], c["hdi_lower"], c["hdi_upper"],
                        color=period_colour(i), alpha=0.3, zorder=4,
                        label=interval_label())
        ax.plot(c["log10_flop"], c["mean"], lw=2.2, color=period_colour(i), zorder=5,
                label=f"mean curve {period}")
        ax.set_title(f"{period} (n = {len(sub)})")
        ax.set_xlabel("log10 training FLOP")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("normalised accuracy (0 = chance)")
    axes[0].set_ylim(min(-0.02, float(points["score"].min()) - 0.02),
                     max(0.9, float(points["score"].max()) + 0.03))
    _raw_axis(axes[-1], guess)
    group_handles = {h.get_label(): h for ax in axes for h in ax.collections
                     if h.get_label() in colours}
    order = [g for g in sort_groups(points["developer_group"]) if g in group_handles]
    fig.legend([group_handles[g] for g in order], order, loc="outside right center",
               fontsize=8, title="developer group", title_fontsize=8)
    fig.suptitle("Typical model's score vs compute by period "
                 f"(mean and {interval_label()}; dashed: other periods)")
    return fig


__all__ = ["data_overview_data", "plot_data_overview", "plot_score_vs_compute",
           "score_vs_compute_data"]
