"""Pairwise progress decomposition (the paper's Table 1).

For models A -> B the change in the logit outcome splits exactly into

    dy = beta * d log10 C  +  d period effect  +  d developer effect  +  d residual.

Each component's share is ``component / dy``; its contribution in percentage points of
the (normalised) accuracy is ``share * d score * 100``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayes_llm.baseline.ols import OLSFit
from bayes_llm.errors import SpecError

#: The paper's example pairs (model ids of the dataset): Llama-2-70B -> GPT-4.5 and
#: Flan-UL2 -> Minitron-4B-Base.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("meta-llama__Llama-2-70b-hf", "GPT-4.5"),
    ("google__flan-ul2", "nvidia__Minitron-4B-Base"),
)
COMPONENTS: tuple[str, ...] = ("scaling", "period", "developer", "residual")
PAIRWISE_COLUMNS: list[str] = [
    "pair", "model_a", "model_b", "component", "value", "share", "contribution_pp",
    "delta_y", "delta_score",
]


def decompose_pair(fit: OLSFit, model_a: str, model_b: str) -> pd.DataFrame:
    """Decompose the outcome change from ``model_a`` to ``model_b``.

    Parameters
    ----------
    fit : OLSFit
        A fitted baseline whose sample contains both models.
    model_a, model_b : str
        Model ids (``model_id`` column).

    Returns
    -------
    DataFrame
        One row per component (scaling, period, developer, residual) with its value on
        the logit scale, share of ``delta_y`` and contribution in percentage points.

    """
    data = fit.design.data.set_index("model_id")
    missing = [m for m in (model_a, model_b) if m not in data.index]
    if missing:
        raise SpecError(f"model(s) {', '.join(missing)} not in the fitted sample "
                        f"'{fit.spec.sample}' (outcome '{fit.spec.outcome}')")
    a, b = data.loc[model_a], data.loc[model_b]
    resid = fit.residuals
    period = fit.period_effects()
    developer = fit.developer_effects()
    pcol, dcol = fit.spec.period_column, fit.spec.developer_column
    values = {
        "scaling": fit.beta * (float(b["log10_flop"]) - float(a["log10_flop"])),
        "period": float(period[str(b[pcol])] - period[str(a[pcol])]),
        "developer": float(developer[str(b[dcol])] - developer[str(a[dcol])]),
        "residual": float(resid[model_b] - resid[model_a]),
    }
    delta_y = float(b[fit.spec.outcome_column]) - float(a[fit.spec.outcome_column])
    delta_score = float(b[fit.spec.score_column]) - float(a[fit.spec.score_column])
    rows = []
    for name in COMPONENTS:
        share = values[name] / delta_y if delta_y != 0 else float("nan")
        rows.append({"pair": f"{model_a} -> {model_b}", "model_a": model_a,
                     "model_b": model_b, "component": name, "value": values[name],
                     "share": share, "contribution_pp": share * delta_score * 100,
                     "delta_y": delta_y, "delta_score": delta_score})
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


def pairwise_table(fit: OLSFit, pairs: Sequence[tuple[str, str]] | None = None, *,
                   skip_missing: bool | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Decompose several pairs.

    Parameters
    ----------
    fit : OLSFit
        A fitted baseline.
    pairs : sequence of (str, str), optional
        Defaults to :data:`DEFAULT_PAIRS`.
    skip_missing : bool, optional
        Skip (with a note) pairs whose models are not in the sample instead of raising.
        Defaults to true for the default pairs and false for pairs given explicitly.

    Returns
    -------
    (DataFrame, list of str)
        The long table (one row per pair and component) and notes on skipped pairs.

    """
    if skip_missing is None:
        skip_missing = pairs is None
    pairs = DEFAULT_PAIRS if pairs is None else tuple(pairs)
    frames, notes = [], []
    for model_a, model_b in pairs:
        try:
            frames.append(decompose_pair(fit, model_a, model_b))
        except SpecError as exc:
            if not skip_missing:
                raise
            notes.append(f"pair {model_a} -> {model_b} skipped: {exc}")
    if not frames:
        return pd.DataFrame(columns=PAIRWISE_COLUMNS), notes
    return pd.concat(frames, ignore_index=True), notes
