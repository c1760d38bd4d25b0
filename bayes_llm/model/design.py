"""Turn the canonical model table and a spec into the arrays and coordinates a model needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data.benchmarks import (
    OUTCOME_BENCHMARKS,
    benchmark,
    outcome_columns,
    with_outcome_columns,
)
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.data.samples import SampleReport, select_sample
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.spec import ModelSpec

#: Outcome -> (accuracy column, logit column, guessing floor, number of questions).
OUTCOMES: dict[str, tuple[str, str, float, int]] = {
    "mmlu_pro": ("mmlu_pro_acc", "mmlu_pro_logit", C.MMLU_PRO_GUESS_RATE, C.MMLU_PRO_N_QUESTIONS),
    "math_lvl5": ("math_lvl5_acc", "math_lvl5_logit", C.MATH_GUESS_RATE, C.MATH_LVL5_N_QUESTIONS),
    # The other leaderboard benchmarks: columns joined by bayes_llm.data.benchmarks, chance
    # level and items from its BENCHMARKS.
    **{name: (outcome_columns(name)[0], outcome_columns(name)[2], benchmark(name).chance,
              benchmark(name).n_items) for name in OUTCOME_BENCHMARKS},
}
#: Columns whose values define a fit's data (hashed to detect a data change).
HASHED_COLUMNS = ("model_id", "developer", "developer_group", "log10_flop", "release_month",
                  "mmlu_pro_acc", "math_lvl5_acc", "compute_is_estimate")


@dataclass
class ModelData:
    """Arrays and coordinates for one fit.

    Attributes
    ----------
    frame : DataFrame
        The models in the fit (after the spec's sample filter), in model order.
    x : ndarray
        Centred log10 compute, ``log10_flop - compute_centre``.
    y : ndarray
        Logit outcome (guessing floor removed).
    k, n : ndarray, int
        Correct answers and questions (binomial likelihood).
    guess : float
        Guessing floor of the outcome.
    period_idx, developer_idx : ndarray
        Index of each model's period and developer unit.
    group_of_developer : ndarray
        For the nested structure: index of each developer's group.
    coords : dict
        ``model``, ``period``, ``developer`` (units: strings or groups), ``developer_group``.
    """

    frame: pd.DataFrame
    x: np.ndarray
    y: np.ndarray
    k: np.ndarray
    n: np.ndarray
    guess: float
    period_idx: np.ndarray
    developer_idx: np.ndarray
    group_of_developer: np.ndarray
    compute_error_sd: np.ndarray
    coords: dict[str, list[str]]
    report: SampleReport
    data_hash: str = field(default="")
    #: Index of each model's base-model lineage (``lineage_effect``; see
    #: :mod:`bayes_llm.data.lineage`); coords ``lineage``.
    lineage_idx: np.ndarray | None = None
    #: Indices (into coords ``lineage``) of lineages with several models whose effect is
    #: sampled / with one model.
    lineage_multi: np.ndarray | None = None
    lineage_single: np.ndarray | None = None
    #: True for each model alone in its lineage (its lineage is in ``lineage_single``).
    lineage_alone: np.ndarray | None = None
    #: Indices (into coords ``lineage``) of the multi-model lineages whose effect is summed
    #: out on a grid (``lineage_grid``; not in ``lineage_multi``); empty without it.
    lineage_grid: np.ndarray | None = None
    #: Index (coords ``developer_kind``: trainer, finetuner) of each developer unit's kind
    #: (``developer_distribution = "normal_by_kind"``; see
    #: :func:`bayes_llm.data.lineage.developer_kinds`).
    developer_kind: np.ndarray | None = None
    #: 1.0 for models scored off the leaderboard harness (no ``hf_id``), else 0.0.
    off_harness: np.ndarray | None = None
    #: Mean centred log10 compute of each developer unit's models (``developer_mean_compute``).
    developer_mean_x: np.ndarray | None = None
    #: Knots of the monotone compute curve, centred (``compute_knots - compute_centre``).
    knots: np.ndarray | None = None
    #: Years from each model's release month to its period's calendar midpoint
    #: (``period_trend``; :func:`years_from_period_midpoint`).
    period_time: np.ndarray | None = None

    @property
    def n_models(self) -> int:
        """Number of models in the fit."""
        return len(self.frame)


def period_labels(frame: pd.DataFrame, period: str, *, fill_gaps: bool) -> list[str]:
    """Ordered period labels; with ``fill_gaps`` every calendar period in the range."""
    present = sorted(frame[period].astype(str).unique())
    if not fill_gaps or period == "cohort":
        return present
    freq = "Q" if period == "quarter" else "M"
    rng = pd.period_range(pd.Period(present[0], freq), pd.Period(present[-1], freq), freq=freq)
    fmt = (lambda p: str(p)) if period == "quarter" else (lambda p: p.strftime("%Y-%m"))
    return [fmt(p) for p in rng]


def cohort_spans() -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Return the paper's cohorts in calendar order: label -> (first month, last month)."""
    return {label: (pd.Timestamp(first), pd.Timestamp(last))
            for first, last, label in C.PAPER_COHORTS}


def period_midpoint(label: str, period: str) -> float:
    """Calendar midpoint of a period, in months since 1970-01 (month ordinals).

    A cohort of the paper (:data:`bayes_llm.constants.PAPER_COHORTS`) spans its first to
    its last month (2024-07 to 2025-03: midpoint 2024-11); a quarter its three months (the
    middle one). Months are counted at their start, so a cohort of 12 months has its
    midpoint half-way between its 6th and 7th months.
    """
    if period == "cohort":
        spans = cohort_spans()
        if label not in spans:
            raise BayesLLMError(f"period '{label}' is not one of the paper's cohorts "
                                f"({', '.join(spans)})")
        first, last = (month.to_period("M").ordinal for month in spans[label])
        return (first + last) / 2.0
    if period == "quarter":
        start = pd.Period(str(label).upper(), "Q").asfreq("M", how="start").ordinal
        return start + 1.0
    raise BayesLLMError(f"period '{period}' has no time within it (cohort or quarter only)")


def years_from_period_midpoint(months: pd.Series, labels, period: str) -> np.ndarray:
    """Years from each release month (Timestamps) to the midpoint of its period ``labels``.

    The covariate of ``period_trend``: negative before the midpoint, positive after.
    """
    ordinals = pd.to_datetime(pd.Series(months)).dt.to_period("M").map(lambda p: p.ordinal)
    mids = {str(label): period_midpoint(str(label), period) for label in set(labels)}
    centre = np.array([mids[str(label)] for label in labels], float)
    return (ordinals.to_numpy(float) - centre) / 12.0


def data_hash(frame: pd.DataFrame, outcome: str | None = None) -> str:
    """SHA-256 of the columns that define the data of a fit.

    :data:`HASHED_COLUMNS`, plus the raw-score column of ``outcome`` when it is one of the
    joined leaderboard benchmarks (so MMLU-Pro and MATH Lvl 5 fits keep their hashes).
    """
    cols = [c for c in HASHED_COLUMNS if c in frame]
    if outcome in OUTCOME_BENCHMARKS:
        cols.append(OUTCOMES[outcome][0])
    hashed = pd.util.hash_pandas_object(frame[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def prepare_data(df: pd.DataFrame, spec: ModelSpec) -> ModelData:
    """Apply the spec's sample and outcome, and index periods and developers.

    Parameters
    ----------
    df : DataFrame
        The canonical model table (e.g. from :func:`bayes_llm.load_paper_dataset`).
    spec : ModelSpec
        The model specification.

    Returns
    -------
    ModelData
    """
    if spec.outcome == "leaderboard6":
        raise BayesLLMError(f"spec '{spec.name}': outcome 'leaderboard6' is the joint "
                            "six-benchmark model; prepare it with bayes_llm.model.leaderboard6."
                            "prepare_leaderboard6_data and fit it with fit_leaderboard6 "
                            "(the single-outcome pipeline does not take it)")
    if spec.outcome not in OUTCOMES:
        raise BayesLLMError(f"spec '{spec.name}': outcome '{spec.outcome}' is not a "
                            f"single-benchmark outcome ({', '.join(OUTCOMES)})")
    df = with_outcome_columns(df, spec.outcome)
    acc_col, logit_col, guess, n_questions = OUTCOMES[spec.outcome]
    require = (acc_col,) if spec.likelihood == "binomial" else (logit_col,)
    frame, report = select_sample(df, spec.sample, require=require)
    if len(frame) < 3:
        raise BayesLLMError(f"spec '{spec.name}': only {len(frame)} models left after the "
                            f"sample filter ({report}); a fit needs at least 3")
    frame = frame.reset_index(drop=True)
    periods = period_labels(frame, spec.period,
                            fill_gaps=spec.period_effect == "random_walk")
    period_idx = pd.Categorical(frame[spec.period].astype(str), categories=periods).codes
    if spec.developer == "group":
        unit = frame["developer_group"].astype(str)
        order = [g for g in paper_group_order() if g in set(unit)]
        units = order + sorted(set(unit) - set(order))
    else:
        unit = frame["developer"].astype(str)
        units = sorted(unit.unique())
    developer_idx = pd.Categorical(unit, categories=units).codes
    groups_present = [g for g in paper_group_order() if g in set(frame["developer_group"])]
    groups = groups_present + sorted(set(frame["developer_group"]) - set(groups_present))
    dev_to_group = frame.groupby(unit)["developer_group"].first()
    group_of_developer = pd.Categorical(dev_to_group.reindex(units).astype(str),
                                        categories=groups).codes
    x = frame["log10_flop"].to_numpy(float) - spec.compute_centre
    options = _option_arrays(frame, spec, x, np.asarray(developer_idx), len(units))
    acc = frame[acc_col].to_numpy(float)
    k = np.rint(acc * n_questions).astype(np.int64)
    if spec.lineage_effect:
        _split_grid_lineages(options, spec, acc)
    sd = np.where(frame["compute_is_estimate"].to_numpy(bool), spec.compute_error_sd_estimate,
                  spec.compute_error_sd_reported)
    return ModelData(
        frame=frame,
        x=x,
        y=frame[logit_col].to_numpy(float),
        k=k,
        n=np.full(len(frame), n_questions, dtype=np.int64),
        guess=guess,
        period_idx=np.asarray(period_idx, dtype=np.int64),
        developer_idx=np.asarray(developer_idx, dtype=np.int64),
        group_of_developer=np.asarray(group_of_developer, dtype=np.int64),
        compute_error_sd=sd,
        coords={"model": frame["model_id"].astype(str).tolist(), "period": periods,
                "developer": units, "developer_group": groups, **options.pop("coords")},
        report=report,
        data_hash=data_hash(frame, spec.outcome),
        **options,
    )


def _split_grid_lineages(options: dict, spec: ModelSpec, accuracy: np.ndarray) -> None:
    """Move the lineages summed out on a grid (``lineage_grid``) from ``lineage_multi``."""
    grid = np.zeros(0, dtype=np.int64)
    if spec.lineage_grid == "near_floor":
        from bayes_llm.model.lineage_grid import near_floor_lineages

        grid = near_floor_lineages(options["lineage_idx"], accuracy, options["lineage_multi"])
    lineages = options["coords"]["lineage"]
    options["lineage_grid"] = grid
    options["lineage_multi"] = np.setdiff1d(options["lineage_multi"], grid).astype(np.int64)
    options["coords"]["lineage_multi"] = [lineages[i] for i in options["lineage_multi"]]
    if spec.lineage_grid != "none":
        options["coords"]["lineage_grid"] = [lineages[i] for i in grid]


def off_harness(frame: pd.DataFrame) -> np.ndarray:
    """1.0 for models not scored on the leaderboard harness (no ``hf_id``), else 0.0.

    On the paper's 809 models these are the 11 models (Anthropic, DeepSeek, Google, OpenAI,
    xAI) that do not match the Open LLM Leaderboard v2 table.
    """
    if "hf_id" not in frame:
        return np.ones(len(frame))
    return frame["hf_id"].isna().to_numpy(float)


def developer_mean_compute(x: np.ndarray, developer_idx: np.ndarray, n_units: int) -> np.ndarray:
    """Mean of ``x`` over each developer unit's models (NaN for a unit with none)."""
    total = np.bincount(developer_idx, weights=x, minlength=n_units)
    count = np.bincount(developer_idx, minlength=n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def segment_labels(knots: tuple[float, ...]) -> list[str]:
    """Labels of the monotone curve's segments, e.g. ``<22``, ``22-23``, ``>25`` (log10 FLOP)."""
    inner = [f"{a:g}-{b:g}" for a, b in zip(knots, knots[1:], strict=False)]
    return [f"<{knots[0]:g}", *inner, f">{knots[-1]:g}"]


def _option_arrays(frame: pd.DataFrame, spec: ModelSpec, x: np.ndarray,
                   developer_idx: np.ndarray, n_units: int) -> dict:
    """Arrays and coordinates of the issue-10 options the spec switches on."""
    out: dict = {"coords": {}}
    if spec.lineage_effect:
        from bayes_llm.data.lineage import model_lineages

        labels, codes = np.unique(model_lineages(frame, spec.lineage_source),
                                  return_inverse=True)
        lineages = [str(label) for label in labels]
        out["lineage_idx"] = codes.astype(np.int64)
        out["coords"]["lineage"] = lineages
        sizes = np.bincount(out["lineage_idx"], minlength=len(lineages))
        out["lineage_multi"] = np.flatnonzero(sizes > 1)
        out["lineage_single"] = np.flatnonzero(sizes == 1)
        out["lineage_alone"] = sizes[out["lineage_idx"]] == 1
        out["coords"]["lineage_multi"] = [lineages[i] for i in out["lineage_multi"]]
        out["coords"]["lineage_single"] = [lineages[i] for i in out["lineage_single"]]
        if spec.developer_distribution == "normal_by_kind":
            from bayes_llm.data.lineage import DEVELOPER_KINDS, developer_kinds

            kinds = developer_kinds(frame, np.asarray(lineages)[codes])
            row_kind = frame["developer"].astype(str).map(kinds).map(DEVELOPER_KINDS.index)
            out["developer_kind"] = np.zeros(n_units, dtype=np.int64)
            out["developer_kind"][developer_idx] = row_kind.to_numpy(np.int64)
            out["coords"]["developer_kind"] = list(DEVELOPER_KINDS)
    if spec.protocol_effect:
        out["off_harness"] = off_harness(frame)
    if spec.developer_mean_compute:
        out["developer_mean_x"] = developer_mean_compute(x, developer_idx, n_units)
    if spec.period_trend:
        out["period_time"] = years_from_period_midpoint(frame["release_month"],
                                                        frame[spec.period].astype(str),
                                                        spec.period)
    if spec.compute_curve == "monotone":
        out["knots"] = np.asarray(spec.compute_knots, float) - spec.compute_centre
        out["coords"]["compute_segment"] = segment_labels(spec.compute_knots)
        out["coords"]["compute_knot"] = [f"{k:g}" for k in spec.compute_knots]
    return out
