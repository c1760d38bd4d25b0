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
            return pd.read_csv(path)
        if suffix in {".xlsx", ".xls"}:
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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def load_model_table(
    path: str | os.PathLike,
    *,
    window: tuple[str, str] | None = (C.PAPER_FIRST_MONTH, C.PAPER_LAST_MONTH),
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

    Returns
    -------
    DataFrame
        The canonical table (see :mod:`bayes_llm.data.schema`).
    """
    raw = read_table(path)
    table = S.RawTable(raw, str(path), {})
    S.empty_check(table)
    table.require(S.USER_REQUIRED)
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
    huge = out["log10_flop"] > 40
    if huge.any():
        i = huge.idxmax()
        # Name a column the file has: log10_flop if given, else the larger of N and D
        # relative to a generous bound (10T parameters, 1 quadrillion tokens).
        name, inputs = "log10_flop", ""
        if not table.has("log10_flop"):
            n, d = out["params_b"][i], out["tokens_b"][i]
            name = "params_b" if n / 1e4 >= d / 1e6 else "tokens_b"
            inputs = f" (params_b={n:g}, tokens_b={d:g})"
        table.fail(f"training compute 1e{out['log10_flop'][i]:.0f} FLOP{inputs} is implausibly "
                   "large (> 1e40)", index=i, name=name)
    out["release_month"] = table.months("release_month")
    S.check_window(table, out["release_month"], "release_month", window)
    out["mmlu_pro_acc"] = table.numeric("mmlu_pro_acc")
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
