"""Turn the canonical model table and a spec into the arrays and coordinates a model needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.data.samples import SampleReport, select_sample
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.spec import ModelSpec

#: Outcome -> (accuracy column, logit column, guessing floor, number of questions).
OUTCOMES: dict[str, tuple[str, str, float, int]] = {
    "mmlu_pro": ("mmlu_pro_acc", "mmlu_pro_logit", C.MMLU_PRO_GUESS_RATE, C.MMLU_PRO_N_QUESTIONS),
    "math_lvl5": ("math_lvl5_acc", "math_lvl5_logit", C.MATH_GUESS_RATE, C.MATH_LVL5_N_QUESTIONS),
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


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the columns that define the data of a fit."""
    cols = [c for c in HASHED_COLUMNS if c in frame]
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
    acc = frame[acc_col].to_numpy(float)
    k = np.rint(acc * n_questions).astype(np.int64)
    sd = np.where(frame["compute_is_estimate"].to_numpy(bool), spec.compute_error_sd_estimate,
                  spec.compute_error_sd_reported)
    return ModelData(
        frame=frame,
        x=frame["log10_flop"].to_numpy(float) - spec.compute_centre,
        y=frame[logit_col].to_numpy(float),
        k=k,
        n=np.full(len(frame), n_questions, dtype=np.int64),
        guess=guess,
        period_idx=np.asarray(period_idx, dtype=np.int64),
        developer_idx=np.asarray(developer_idx, dtype=np.int64),
        group_of_developer=np.asarray(group_of_developer, dtype=np.int64),
        compute_error_sd=sd,
        coords={"model": frame["model_id"].astype(str).tolist(), "period": periods,
                "developer": units, "developer_group": groups},
        report=report,
        data_hash=data_hash(frame),
    )
