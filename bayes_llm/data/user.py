"""Load a researcher's own model table (CSV or Parquet) in the canonical schema."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data import schema as S
from bayes_llm.data.grouping import major_developers, paper_developer_groups
from bayes_llm.errors import DataValidationError


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or Parquet file, with a clear error for a missing or empty file."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(str(path), "file does not exist")
    if path.stat().st_size == 0:
        raise DataValidationError(str(path), "the file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".csv", ".txt"}:
            _check_header(path, pd.read_csv(path, header=None, nrows=1, dtype=str))
            return pd.read_csv(path)
        if suffix in {".xlsx", ".xls"}:
            if suffix == ".xlsx":
                check_spreadsheet_size(path)
            _check_header(path, pd.read_excel(path, header=None, nrows=1, dtype=str))
            return pd.read_excel(path)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(str(path), "the file has no header or data rows") from exc
    except pd.errors.ParserError as exc:
        line = re.search(r"in line (\d+)", str(exc))  # pandas counts lines from 1 = header
        raise DataValidationError(str(path), f"cannot parse the file: {_one_line(exc)}",
                                  row=int(line.group(1)) if line else None) from exc
    except ImportError as exc:
        raise DataValidationError(
            str(path), f"reading '{suffix}' files needs an optional package ({_one_line(exc)}); "
            "install bayes_llm[parquet] or give a .csv file") from exc
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        # A corrupt or mislabelled file (e.g. a CSV named .parquet, bad UTF-8): one line,
        # not a traceback.
        raise DataValidationError(
            str(path), f"cannot read the file as '{suffix}': {_one_line(exc)}") from exc
    raise DataValidationError(str(path), f"unsupported file type '{suffix}' (use .csv or .parquet)")


#: Largest uncompressed size of a spreadsheet's parts (an .xlsx is a zip archive): checked
#: before inflating anything, so a small file that inflates to gigabytes is refused at once.
MAX_SPREADSHEET_BYTES = 100_000_000


def check_spreadsheet_size(path: Path, limit: int | None = None) -> None:
    """Refuse an .xlsx whose zip members would inflate beyond ``limit`` bytes.

    Reads only the zip's central directory (the declared sizes); nothing is decompressed.
    ``limit`` defaults to :data:`MAX_SPREADSHEET_BYTES`.
    """
    limit = MAX_SPREADSHEET_BYTES if limit is None else limit
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise DataValidationError(str(path), f"cannot read the file as '.xlsx': "
                                  f"{_one_line(exc)}") from exc
    if total > limit:
        raise DataValidationError(
            str(path), f"the spreadsheet inflates to {total / 1e6:,.0f} MB (from "
            f"{path.stat().st_size / 1e6:,.1f} MB on disk), above the limit of "
            f"{limit / 1e6:,.0f} MB; export the table as CSV")


def _check_header(path: Path, header: pd.DataFrame) -> None:
    """Fail on a duplicated column name (pandas would silently rename it ``name.1``)."""
    if header.empty:
        return
    names = [str(v).strip() for v in header.iloc[0].tolist() if not pd.isna(v)]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataValidationError(
                str(path), f"duplicate column header '{name}' (columns {seen[name]} and "
                f"{position}); every column needs its own name", column=name)
        seen[name] = position


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def load_model_table(
    path: str | os.PathLike,
    *,
    window: tuple[str, str] | None = (C.PAPER_FIRST_MONTH, C.PAPER_LAST_MONTH),
    for_prediction: bool = False,
) -> pd.DataFrame:
    """Load a user's table with canonical column names, validated like the paper's data.

    Required columns: ``model_id``, ``developer``, ``release_month`` (a date or ``YYYY-MM``),
    ``mmlu_pro_acc`` (accuracy in (0.1, 1)), and compute, either as ``log10_flop`` or as
    ``params_b`` and ``tokens_b`` (billions). Optional: ``hf_id``, ``math_lvl5_acc``,
    ``tokens_total_b``, ``tokens_base_b`` (else ``tokens_b``), ``developer_group`` (else the
    paper's coding is computed), ``developer_label_in_file``, ``compute_is_estimate``
    (true/false, yes/no or 1/0; blank = false).

    Parameters
    ----------
    path : path
        A ``.csv`` or ``.parquet`` file.
    window : (str, str) or None
        Allowed release months (inclusive); ``None`` allows any month. Cohorts are defined
        only inside the paper's window; quarters and months work for any date.
    for_prediction : bool
        A table of models to predict (:func:`bayes_llm.predict`): any release month
        (``window`` is ignored) and ``mmlu_pro_acc`` may be absent or blank (scores, where
        given, are validated as usual and kept for checking the predictions).

    Returns
    -------
    DataFrame
        The canonical table (see :mod:`bayes_llm.data.schema`).
    """
    raw = read_table(path)
    table = S.RawTable(raw, str(path), {})
    S.empty_check(table)
    required = S.USER_REQUIRED
    if for_prediction:
        window = None
        required = tuple(c for c in required if c != "mmlu_pro_acc")
    table.require(required)
    if not any(all(table.has(c) for c in choice) for choice in S.USER_COMPUTE_CHOICES):
        raise DataValidationError(
            str(path), "missing compute: provide column 'log10_flop', or both 'params_b' and "
            "'tokens_b' (billions)", column="log10_flop")
    out = pd.DataFrame(index=table.frame.index)
    out["model_id"] = table.text("model_id")
    S.check_unique(table, out["model_id"], "model_id")
    out["hf_id"] = table.text("hf_id", allow_missing=True) if table.has("hf_id") else pd.NA
    out["developer"] = table.text("developer")
    for name in ("params_b", "tokens_b", "tokens_total_b"):
        out[name] = table.numeric(name, allow_missing=True) if table.has(name) else np.nan
        S.check_positive(table, out[name], name)
    if table.has("tokens_base_b"):
        out["tokens_base_b"] = table.numeric("tokens_base_b", allow_missing=True)
        S.check_positive(table, out["tokens_base_b"], "tokens_base_b")
    else:
        out["tokens_base_b"] = out["tokens_b"]
    out["has_full_token_count"] = out["tokens_total_b"].notna()
    if table.has("log10_flop"):
        out["log10_flop"] = table.numeric("log10_flop")
    else:
        out["params_b"] = table.numeric("params_b")
        out["tokens_b"] = table.numeric("tokens_b")
        out["log10_flop"] = S.log10_training_flop(out["params_b"], out["tokens_b"])
    S.ensure_finite(table, out, "log10_flop")
    S.check_flop_bounds(table, out)
    if table.has("log10_flop"):
        S.check_flop_agreement(table, out)
    out["release_month"] = table.months("release_month")
    S.check_window(table, out["release_month"], "release_month", window)
    if not for_prediction:
        out["mmlu_pro_acc"] = table.numeric("mmlu_pro_acc")
    elif table.has("mmlu_pro_acc"):
        out["mmlu_pro_acc"] = table.numeric("mmlu_pro_acc", allow_missing=True)
    else:
        out["mmlu_pro_acc"] = np.nan
    S.check_scores(table, out["mmlu_pro_acc"], "mmlu_pro_acc", C.MMLU_PRO_GUESS_RATE)
    if table.has("math_lvl5_acc"):
        out["math_lvl5_acc"] = table.numeric("math_lvl5_acc", allow_missing=True)
        S.check_scores(table, out["math_lvl5_acc"], "math_lvl5_acc", C.MATH_GUESS_RATE)
    out = S.derive_columns(out)
    out["developer_label_in_file"] = (
        table.text("developer_label_in_file", allow_missing=True)
        if table.has("developer_label_in_file") else pd.NA)
    if table.has("developer_group"):
        out["developer_group"] = table.text("developer_group")
    else:
        out["developer_group"] = paper_developer_groups(out["developer"], out["ln_flop_1e18"])
    out["is_major"] = out["developer"].isin(major_developers().keys())
    out["on_hf_leaderboard"] = out["hf_id"].notna()
    if table.has("compute_is_estimate"):
        out["compute_is_estimate"] = table.boolean("compute_is_estimate")
    else:
        out["compute_is_estimate"] = False
    out = out[list(S.COLUMN_NAMES)]
    out.attrs["source_file"] = str(path)
    out.attrs["derived_check"] = []
    return out
