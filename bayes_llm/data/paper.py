"""Loader for the paper's 809-model dataset (``secret-sauce/dataset_for_github.xlsx``)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data import schema as S
from bayes_llm.data.grouping import major_developers, paper_developer_groups
from bayes_llm.data.sources import project_data_dir, resolve

#: Canonical name -> the spreadsheet's column label.
PAPER_LABELS: dict[str, str] = {
    "hf_id": "Hugging Face ID",
    "model_id": "Model",
    "developer": "Model Developer (str)",
    "developer_label_in_file": "Dummy for Top Company",
    "params_b": "Parameters (Billions)",
    "tokens_total_b": "Total Dataset Tokens",
    "tokens_base_b": "Basemodel Dataset Tokens",
    "release_month": "Month of Model Release",
    "mmlu_pro_acc": "MMLU Pro Raw Score",
    "math_lvl5_acc": "Raw MATH Level 5 Score",
    # The file's own derived columns, checked against our recomputation:
    "file_quarter": "Quarter of Model Release",
    "file_cohort": "Three Time Split",
    "file_mmlu_pro_norm": "Normalized MMLU-Pro Score",
    "file_mmlu_pro_logit": "Logit Transformed MMLU-Pro Score",
    "file_ln_flop_1e18": "Ln(FLOPs)",
    "file_log10_flop": "Log(FLOPs)",
    "file_math_lvl5_logit": "Logit Transformed Math Score",
}
PAPER_REQUIRED: tuple[str, ...] = (
    "model_id", "developer", "params_b", "tokens_total_b", "tokens_base_b", "release_month",
    "mmlu_pro_acc", "math_lvl5_acc",
)
#: Pairs (our column, the file's column) compared after recomputation, with tolerances.
DERIVED_CHECKS: tuple[tuple[str, str, float], ...] = (
    ("mmlu_pro_norm", "file_mmlu_pro_norm", 1e-6),
    ("mmlu_pro_logit", "file_mmlu_pro_logit", 1e-5),
    ("ln_flop_1e18", "file_ln_flop_1e18", 1e-5),
    ("log10_flop", "file_log10_flop", 1e-5),
    ("math_lvl5_logit", "file_math_lvl5_logit", 1e-5),
)


def derived_check_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return the comparison of recomputed derived columns with the file's own as a DataFrame.

    Kept in ``df.attrs`` as plain records so pandas operations on ``df`` stay cheap and safe.
    """
    return pd.DataFrame(df.attrs.get("derived_check", []))


def compute_estimate_models() -> set[str]:
    """Model ids whose N and D are third-party estimates (``data/compute_provenance.csv``)."""
    table = pd.read_csv(project_data_dir() / "compute_provenance.csv")
    return set(table.loc[table["compute_is_third_party_estimate"], "model"])


def read_paper_frame(path: str | os.PathLike) -> pd.DataFrame:
    """Read the spreadsheet (or a CSV export of it) as raw strings and numbers."""
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        return pd.read_excel(path)
    return pd.read_csv(path)


def load_paper_dataset(
    path: str | os.PathLike | None = None,
    *,
    mirror: str | os.PathLike | None = None,
    window: tuple[str, str] | None = (C.PAPER_FIRST_MONTH, C.PAPER_LAST_MONTH),
    verify_checksum: bool = True,
) -> pd.DataFrame:
    """Load, validate and tidy the paper's dataset.

    Parameters
    ----------
    path : path, optional
        An explicit file. With ``verify_checksum=True`` it must be the pinned original.
    mirror : path, optional
        A mirror folder (defaults to ``$BAYES_LLM_DATA_MIRROR``).
    window : (str, str) or None
        Allowed release months; rows outside are an error.
    verify_checksum : bool
        Verify the file against the manifest. Set false to validate a modified copy.

    Returns
    -------
    DataFrame
        One row per model with the canonical columns of :mod:`bayes_llm.data.schema`.
        ``df.attrs["derived_check"]`` (records, see :func:`derived_check_table`) compares
        every recomputed column with the file's own (max absolute difference and whether it
        is within tolerance),
        and ``df.attrs["source_file"]`` the file read.
    """
    if path is None or verify_checksum:
        file = resolve("secret_sauce", path=path, mirror=mirror)
    else:
        file = Path(path)
    raw = read_paper_frame(file)
    return tidy_paper_frame(raw, file=str(file), window=window)


def tidy_paper_frame(raw: pd.DataFrame, *, file: str,
                     window: tuple[str, str] | None) -> pd.DataFrame:
    """Validate a raw paper-format frame and return the canonical table."""
    table = S.RawTable(raw, file, PAPER_LABELS)
    S.empty_check(table)
    table.require(PAPER_REQUIRED)
    out = pd.DataFrame(index=table.frame.index)
    out["model_id"] = table.text("model_id")
    S.check_unique(table, out["model_id"], "model_id")
    out["hf_id"] = table.text("hf_id", allow_missing=True) if table.has("hf_id") else pd.NA
    out["developer"] = table.text("developer")
    out["params_b"] = table.numeric("params_b")
    S.check_positive(table, out["params_b"], "params_b")
    out["tokens_total_b"] = table.numeric("tokens_total_b", allow_missing=True)
    S.check_positive(table, out["tokens_total_b"], "tokens_total_b")
    out["tokens_base_b"] = table.numeric("tokens_base_b", allow_missing=True)
    S.check_positive(table, out["tokens_base_b"], "tokens_base_b")
    out["tokens_b"] = out["tokens_total_b"].fillna(out["tokens_base_b"])
    if out["tokens_b"].isna().any():
        table.fail("both token counts are missing, so training compute is undefined",
                   index=out["tokens_b"].isna().idxmax(), name="tokens_total_b")
    out["has_full_token_count"] = out["tokens_total_b"].notna()
    out["log10_flop"] = S.log10_training_flop(out["params_b"], out["tokens_b"])
    S.ensure_finite(table, out, "log10_flop")
    out["release_month"] = table.months("release_month")
    S.check_window(table, out["release_month"], "release_month", window)
    out["mmlu_pro_acc"] = table.numeric("mmlu_pro_acc")
    S.check_scores(table, out["mmlu_pro_acc"], "mmlu_pro_acc", C.MMLU_PRO_GUESS_RATE)
    out["math_lvl5_acc"] = table.numeric("math_lvl5_acc", allow_missing=True)
    S.check_scores(table, out["math_lvl5_acc"], "math_lvl5_acc", C.MATH_GUESS_RATE)
    out = S.derive_columns(out)
    if table.has("developer_label_in_file"):
        out["developer_label_in_file"] = table.text("developer_label_in_file", allow_missing=True)
    else:
        out["developer_label_in_file"] = pd.NA
    out["developer_group"] = paper_developer_groups(out["developer"], out["ln_flop_1e18"])
    out["is_major"] = out["developer"].isin(major_developers().keys())
    out["on_hf_leaderboard"] = out["hf_id"].notna()
    out["compute_is_estimate"] = out["model_id"].isin(compute_estimate_models())
    out = out[list(S.COLUMN_NAMES)]
    out.attrs["derived_check"] = _check_derived(table, out).to_dict("records")
    out.attrs["source_file"] = file
    return out


def _check_derived(table: S.RawTable, out: pd.DataFrame) -> pd.DataFrame:
    """Compare recomputed columns with the file's own; warn loudly on a mismatch."""
    rows = []
    for ours, theirs, tol in DERIVED_CHECKS:
        if not table.has(theirs):
            continue
        file_values = pd.to_numeric(table.frame[table.label(theirs)], errors="coerce")
        diff = np.abs(out[ours].to_numpy(float) - file_values.to_numpy(float))
        both = np.isfinite(diff)
        presence = np.isfinite(out[ours].to_numpy(float)) != np.isfinite(file_values.to_numpy(float))
        max_diff = float(diff[both].max()) if both.any() else 0.0
        ok = max_diff <= tol and not presence.any()
        rows.append({"column": ours, "file_column": table.label(theirs),
                     "max_abs_diff": max_diff, "n_missing_mismatch": int(presence.sum()),
                     "tolerance": tol, "ok": ok})
    if table.has("file_cohort"):
        file_cohort = table.text("file_cohort", allow_missing=True)
        n_bad = int((file_cohort != out["cohort"]).fillna(True).sum())
        rows.append({"column": "cohort", "file_column": table.label("file_cohort"),
                     "max_abs_diff": float(n_bad), "n_missing_mismatch": 0,
                     "tolerance": 0.0, "ok": n_bad == 0})
    check = pd.DataFrame(rows)
    bad = check.loc[~check["ok"], "column"].tolist() if not check.empty else []
    if bad:
        warnings.warn(f"{table.file}: recomputed columns differ from the file's own: "
                      f"{', '.join(bad)} (see df.attrs['derived_check'])", stacklevel=3)
    return check
