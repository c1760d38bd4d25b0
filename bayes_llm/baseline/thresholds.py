"""Threshold-compute declines: how fast the compute needed for a given score fell.

Convention (the one that reproduces the paper): a model *reaches* a threshold when its
score is at least the threshold. For each calendar month, take the minimum training
compute among models released in that month that reach it; then take the running
minimum over months. The running minimum equals the minimum over all models released up
to and including that month (cumulative), and months without a qualifying release carry
the previous value forward. The decline is the ratio of the value in the first month in
which any model reached the threshold to the value in the end month (by default the last
release month of the sample, March 2025 in the paper's data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayes_llm.errors import SpecError

#: Default thresholds on the normalised score.
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.15,)

THRESHOLD_COLUMNS: list[str] = [
    "scope", "threshold", "n_models_reaching", "first_month", "first_model",
    "first_log10_flop", "end_month", "end_model", "end_log10_flop", "log10_decline",
    "decline",
]
PATH_COLUMNS: list[str] = [
    "scope", "threshold", "month", "n_reaching_in_month", "month_min_log10_flop",
    "running_min_log10_flop", "running_min_model",
]


def threshold_path(df: pd.DataFrame, threshold: float, *, score_column: str,
                   end_month: str | None = None) -> pd.DataFrame:
    """Monthly minimum compute to reach ``threshold``, made monotone by a running minimum.

    Parameters
    ----------
    df : DataFrame
        Models with ``model_id``, ``month`` ("YYYY-MM"), ``log10_flop`` and ``score_column``.
    threshold : float
        Score a model must reach (``score >= threshold``).
    score_column : str
        Column of the score, e.g. ``mmlu_pro_norm``.
    end_month : str, optional
        Last month of the path ("YYYY-MM"); defaults to the last month in ``df``.

    Returns
    -------
    DataFrame
        One row per month from the first month reached to ``end_month`` (empty when no
        model reaches the threshold by then).

    """
    end = end_month or str(df["month"].max())
    hits = df.loc[(df[score_column] >= threshold) & (df["month"].astype(str) <= end)]
    if hits.empty:
        return pd.DataFrame(columns=PATH_COLUMNS[2:])
    hits = hits.sort_values(["month", "log10_flop", "model_id"], kind="mergesort")
    per_month = hits.groupby(hits["month"].astype(str), sort=True).agg(
        n=("model_id", "size"), min_flop=("log10_flop", "min"), model=("model_id", "first"))
    months = pd.period_range(per_month.index[0], end, freq="M").strftime("%Y-%m")
    per_month = per_month.reindex(months)
    running, holder = np.inf, ""
    run_values, run_models = [], []
    for value, model in zip(per_month["min_flop"], per_month["model"], strict=True):
        if np.isfinite(value) and value < running:
            running, holder = float(value), str(model)
        run_values.append(running)
        run_models.append(holder)
    return pd.DataFrame({
        "month": list(months),
        "n_reaching_in_month": per_month["n"].fillna(0).astype(int).to_numpy(),
        "month_min_log10_flop": per_month["min_flop"].to_numpy(float),
        "running_min_log10_flop": run_values,
        "running_min_model": run_models,
    })



def check_thresholds(thresholds) -> None:
    """Raise :class:`SpecError` unless every threshold lies strictly between 0 and 1."""
    bad = [t for t in thresholds if not 0.0 < float(t) < 1.0]
    if bad:
        raise SpecError(f"thresholds must lie strictly between 0 and 1 (scores are "
                        f"accuracies, not percent); got {', '.join(map(str, bad))}")

def threshold_declines(
    df: pd.DataFrame,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    score_column: str = "mmlu_pro_norm",
    scopes: Mapping[str, pd.Series | np.ndarray] | None = None,
    end_month: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decline of the minimum compute reaching each threshold, per scope.

    Parameters
    ----------
    df : DataFrame
        The sample (canonical columns).
    thresholds : sequence of float
        Thresholds on ``score_column``.
    score_column : str
        Score on the accuracy scale (normalised for MMLU-Pro).
    scopes : mapping of str to boolean mask, optional
        Subsets of ``df``; default ``{"majors": df.is_major, "all": all rows}``.
    end_month : str, optional
        End of the window ("YYYY-MM"); default the last release month in ``df`` (shared
        by all scopes).

    Returns
    -------
    (DataFrame, DataFrame)
        Summary (one row per scope and threshold: first month and compute, end-month
        running minimum, decline factor) and the monthly paths.

    """
    check_thresholds(thresholds)
    end = end_month or str(df["month"].max())
    if scopes is None:
        scopes = {"majors": df["is_major"].to_numpy(bool),
                  "all": np.ones(len(df), dtype=bool)}
    rows, paths = [], []
    for scope, mask in scopes.items():
        sub = df.loc[np.asarray(mask, bool)]
        for threshold in thresholds:
            path = threshold_path(sub, float(threshold), score_column=score_column,
                                  end_month=end)
            n_reach = int(((sub[score_column] >= threshold)
                           & (sub["month"].astype(str) <= end)).sum())
            row = {"scope": scope, "threshold": float(threshold), "n_models_reaching": n_reach,
                   "end_month": end}
            if path.empty:
                nan = float("nan")
                row.update(first_month="", first_model="", first_log10_flop=nan, end_model="",
                           end_log10_flop=nan, log10_decline=nan, decline=nan)
            else:
                first, last = path.iloc[0], path.iloc[-1]
                log10_decline = float(first["running_min_log10_flop"]
                                      - last["running_min_log10_flop"])
                row.update(first_month=first["month"], first_model=first["running_min_model"],
                           first_log10_flop=float(first["running_min_log10_flop"]),
                           end_model=last["running_min_model"],
                           end_log10_flop=float(last["running_min_log10_flop"]),
                           log10_decline=log10_decline, decline=10**log10_decline)
                path.insert(0, "threshold", float(threshold))
                path.insert(0, "scope", scope)
                paths.append(path)
            rows.append(row)
    summary = pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)
    path_table = (pd.concat(paths, ignore_index=True) if paths
                  else pd.DataFrame(columns=PATH_COLUMNS))
    return summary, path_table
