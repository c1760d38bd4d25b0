"""The canonical model table: column names, meanings, and validation of raw input.

Every loader (the paper's spreadsheet, a user's CSV or Parquet) maps its columns onto the
canonical names below, then calls :func:`validate_and_derive`, which checks every value and
recomputes the derived columns. Errors name the file, the row (1 = header) and the column
as written in the file.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.errors import DataValidationError


@dataclass(frozen=True)
class Column:
    """A canonical column: its name, kind and meaning."""

    name: str
    kind: str  # "str", "float", "bool", "month"
    description: str


CANONICAL_COLUMNS: tuple[Column, ...] = (
    Column("model_id", "str", "Unique model identifier (the paper's `Model`, e.g. Qwen__Qwen2.5-72B)"),
    Column("hf_id", "str", "Open LLM Leaderboard v2 evaluation id; missing for models scored elsewhere"),
    Column("developer", "str", "Developer string (Hugging Face organisation or company)"),
    Column("developer_group", "str", "The paper's 13-group developer coding, recomputed from the data"),
    Column("developer_label_in_file", "str", "The file's own `Dummy for Top Company` label (15 labels)"),
    Column("is_major", "bool", "Developer is one of the paper's 10 named major developers"),
    Column("params_b", "float", "Parameters N, billions (MoE models at total parameters)"),
    Column("tokens_total_b", "float", "Training tokens including fine-tuning, billions, when known"),
    Column("tokens_base_b", "float", "Base model's pre-training tokens, billions"),
    Column("tokens_b", "float", "Tokens D used for compute: total when known, else the base model's"),
    Column("has_full_token_count", "bool", "tokens_total_b is known"),
    Column("log10_flop", "float", "log10 of training compute C = 6 N D in FLOP"),
    Column("ln_flop_1e18", "float", "ln(C / 1e18), the paper's `Ln(FLOPs)` (N, D in billions)"),
    Column("release_month", "month", "First day of the release month"),
    Column("month", "str", "Release month label, e.g. 2024-08"),
    Column("quarter", "str", "Release quarter label, e.g. 2024Q3"),
    Column("cohort", "str", "The paper's three release cohorts"),
    Column("mmlu_pro_acc", "float", "MMLU-Pro accuracy (10 options; chance = 0.1)"),
    Column("mmlu_pro_norm", "float", "(acc - 0.1) / 0.9"),
    Column("mmlu_pro_logit", "float", "logit of mmlu_pro_norm: the paper's outcome"),
    Column("math_lvl5_acc", "float", "MATH Level 5 exact-match accuracy"),
    Column("math_lvl5_logit", "float", "logit of MATH Level 5 accuracy; missing when the score is 0"),
    Column("on_hf_leaderboard", "bool", "Scored on the Open LLM Leaderboard v2 (has hf_id)"),
    Column("compute_is_estimate", "bool", "N and D are third-party estimates (proprietary model)"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in CANONICAL_COLUMNS)

#: Columns a user's own table must provide (besides compute, see below).
USER_REQUIRED: tuple[str, ...] = ("model_id", "developer", "release_month", "mmlu_pro_acc")
#: Compute may be given directly, or as parameters and tokens.
USER_COMPUTE_CHOICES: tuple[tuple[str, ...], ...] = (("log10_flop",), ("params_b", "tokens_b"))


def _logit(p: np.ndarray | pd.Series) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p) - np.log1p(-p)


def normalise_mmlu_pro(acc: np.ndarray | pd.Series) -> np.ndarray:
    """Remove the 10-option guessing floor: (acc - 0.1) / 0.9."""
    return (np.asarray(acc, dtype=float) - C.MMLU_PRO_GUESS_RATE) / (1 - C.MMLU_PRO_GUESS_RATE)


def logit(p: np.ndarray | pd.Series) -> np.ndarray:
    """Return log(p / (1 - p)); ``nan`` or ``inf`` at the boundaries."""
    return _logit(p)


def log10_training_flop(params_b: np.ndarray, tokens_b: np.ndarray) -> np.ndarray:
    """log10 of C = 6 N D with N and D in billions (so C in FLOP is 6 N D 1e18).

    Computed as a sum of logs, so a huge N or D gives a large finite value (which the
    loaders report as implausible) instead of overflowing to ``inf``.
    """
    return (np.log10(C.FLOP_PER_PARAM_TOKEN) + np.log10(np.asarray(params_b, dtype=float))
            + np.log10(np.asarray(tokens_b, dtype=float)) + 18.0)


def cohort_of(month: pd.Series) -> pd.Series:
    """Map release months (Timestamps) onto the paper's three cohorts; outside -> NA."""
    labels = pd.Series(pd.NA, index=month.index, dtype="string")
    for first, last, label in C.PAPER_COHORTS:
        inside = (month >= pd.Timestamp(first)) & (month <= pd.Timestamp(last))
        labels[inside] = label
    return labels


#: Unambiguous date text: YYYY-MM or YYYY-MM-DD, optionally with a time of day.
ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)?$")
#: Characters refused in names and ids: C0/C1 control characters (tabs, newlines, NUL,
#: escape sequences...), which corrupt tables, logs and file names.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Plausibility bounds of training compute, in log10 FLOP. Below 1e15 FLOP (a million
#: parameters on a few hundred million tokens) nothing is a language model; above 1e30
#: is ~2000x the largest reported training runs (~5e26 FLOP in 2025).
FLOP_BOUNDS = (15.0, 30.0)
#: log10_flop given together with params_b and tokens_b must agree with log10(6 N D)
#: within this many decades (a factor of ~3: MoE or reported rounding, not a typo).
FLOP_AGREEMENT_DECADES = 0.5
#: The paper's dummy-variable OLS holds an n x k design matrix in memory (plus copies for
#: the Shapley decomposition); larger tables are refused with a clear message.
OLS_MAX_MATRIX_BYTES = 2_000_000_000

_BOOL_WORDS: dict[str, bool] = {
    "true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
    "1.0": True, "0.0": False,
}


def _suggest(missing: str, present: list[str]) -> str:
    close = difflib.get_close_matches(missing, present, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class RawTable:
    """A raw table plus the map from canonical names to the file's own column labels.

    Parameters
    ----------
    frame : DataFrame
        The table as read, with a default RangeIndex (row i is file row i + 2).
    file : str
        The file name used in error messages.
    labels : dict
        Canonical name -> column label in the file.
    """

    def __init__(self, frame: pd.DataFrame, file: str, labels: dict[str, str]) -> None:
        self.frame = frame.reset_index(drop=True)
        self.file = file
        self.labels = labels

    def label(self, name: str) -> str:
        """Return the file's label for a canonical column."""
        return self.labels.get(name, name)

    def has(self, name: str) -> bool:
        """Whether the file provides canonical column ``name``."""
        return self.label(name) in self.frame.columns

    def fail(self, message: str, *, index: int | None = None, name: str | None = None):
        """Raise a :class:`DataValidationError` for a row index and canonical column."""
        row = None if index is None else int(index) + 2
        column = None if name is None else self.label(name)
        raise DataValidationError(self.file, message, row=row, column=column)

    def require(self, names: tuple[str, ...]) -> None:
        """Fail on the first canonical column the file lacks."""
        present = [str(c) for c in self.frame.columns]
        for name in names:
            if not self.has(name):
                label = self.label(name)
                raise DataValidationError(
                    self.file,
                    f"missing required column '{label}'{_suggest(label, present)}; "
                    f"columns found: {', '.join(present)}",
                    column=label,
                )

    def numeric(self, name: str, *, allow_missing: bool = False) -> pd.Series:
        """Return column ``name`` as floats; fail on text, on inf and (unless allowed) on blanks."""
        raw = self.frame[self.label(name)]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad_text = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad_text.any():
            i = bad_text.idxmax()
            self.fail(f"value {raw[i]!r} is not a number", index=i, name=name)
        if not allow_missing and values.isna().any():
            self.fail("value is missing", index=values.isna().idxmax(), name=name)
        if np.isinf(values).any():
            self.fail("value is infinite", index=np.isinf(values).idxmax(), name=name)
        return values

    def text(self, name: str, *, allow_missing: bool = False) -> pd.Series:
        """Return column ``name`` as stripped strings; fail on blanks unless allowed."""
        raw = self.frame[self.label(name)]
        values = raw.astype("string").str.strip()
        blank = values.isna() | (values == "")
        if not allow_missing and blank.any():
            self.fail("value is missing (empty)", index=blank.idxmax(), name=name)
        control = values.str.contains(CONTROL_CHARACTERS, na=False)
        if control.any():
            i = control.idxmax()
            char = CONTROL_CHARACTERS.search(str(values[i])).group()
            self.fail(f"value {str(values[i])!r} contains a control character "
                      f"(U+{ord(char):04X}); names must be printable text", index=i, name=name)
        return values.mask(blank, pd.NA)

    def months(self, name: str) -> pd.Series:
        """Return column ``name`` as month-start Timestamps.

        Only unambiguous forms are accepted: real date cells (a datetime column, as in a
        spreadsheet or Parquet file) and ISO text ``YYYY-MM`` or ``YYYY-MM-DD`` (optionally
        with a time). Anything else (``15/08/2024``, ``08/15/2024``, an Excel serial number,
        ``202408``) is an error naming the cell: day/month order is never guessed.
        """
        raw = self.frame[self.label(name)]
        if pd.api.types.is_datetime64_any_dtype(raw):
            values = pd.to_datetime(raw)
        else:
            for i, value in raw.items():
                if isinstance(value, datetime.date | np.datetime64) and not pd.isna(value):
                    continue  # a real date cell in a mixed column
                if pd.isna(value) or str(value).strip() == "":
                    self.fail("value is missing (empty)", index=i, name=name)
                text = str(value).strip()
                if isinstance(value, int | float | np.number) or text.isdigit():
                    self.fail(f"value {value!r} is a number, not a date (an Excel serial "
                              "number or YYYYMM?); write the month as YYYY-MM", index=i,
                              name=name)
                if not ISO_DATE.match(text):
                    self.fail(f"value {value!r} is not a date in an unambiguous form; write "
                              "YYYY-MM or YYYY-MM-DD (day/month order is never guessed)",
                              index=i, name=name)
            values = pd.to_datetime(raw.map(lambda v: v if isinstance(
                v, datetime.date | np.datetime64) else str(v).strip()), errors="coerce",
                format="ISO8601")
        bad = values.isna()
        if bad.any():
            i = bad.idxmax()
            if pd.isna(raw[i]) or str(raw[i]).strip() == "":
                self.fail("value is missing (empty)", index=i, name=name)
            self.fail(f"value {raw[i]!r} is not a date (expected e.g. 2024-08)", index=i, name=name)
        return values.dt.to_period("M").dt.to_timestamp()

    def boolean(self, name: str) -> pd.Series:
        """Return column ``name`` as booleans (true/false, yes/no, 1/0; blank = false)."""
        raw = self.frame[self.label(name)]
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype(bool)
        words = raw.astype("string").str.strip().str.lower()
        values = words.map(_BOOL_WORDS.get, na_action="ignore")
        bad = words.notna() & (words != "") & values.isna()
        if bad.any():
            i = bad.idxmax()
            self.fail(f"value {raw[i]!r} is not true/false", index=i, name=name)
        return values.fillna(False).astype(bool)


def check_positive(table: RawTable, values: pd.Series, name: str) -> None:
    """Fail on the first value that is not strictly positive."""
    bad = values.notna() & (values <= 0)
    if bad.any():
        i = bad.idxmax()
        table.fail(f"value {float(values[i])!r} must be positive", index=i, name=name)


def check_scores(table: RawTable, values: pd.Series, name: str, floor: float) -> None:
    """Fail on accuracies outside (0, 1) or at/below the guessing ``floor``."""
    outside = values.notna() & ((values < 0) | (values >= 1))
    if outside.any():
        i = outside.idxmax()
        table.fail(f"score {float(values[i])!r} is outside (0, 1); scores are accuracies, "
                   "not percent",
                   index=i, name=name)
    if floor > 0:
        low = values.notna() & (values <= floor)
        if low.any():
            i = low.idxmax()
            table.fail(
                f"score {float(values[i])!r} is at or below the {floor:g} guessing floor, so the "
                f"normalised score is <= 0 and its logit is undefined", index=i, name=name)


def check_unique(table: RawTable, values: pd.Series, name: str) -> None:
    """Fail on the first duplicated value, naming both rows."""
    dup = values.duplicated(keep="first") & values.notna()
    if dup.any():
        i = dup.idxmax()
        first = values[values == values[i]].index[0]
        table.fail(f"duplicate model id {values[i]!r} (first seen in row {first + 2})",
                   index=i, name=name)


def check_window(table: RawTable, months: pd.Series, name: str,
                 window: tuple[str, str] | None) -> None:
    """Fail on release months outside ``window`` (inclusive month labels)."""
    if window is None:
        return
    lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    bad = (months < lo) | (months > hi)
    if bad.any():
        i = bad.idxmax()
        table.fail(f"release month {months[i]:%Y-%m} is outside the window "
                   f"{window[0]} to {window[1]}", index=i, name=name)


def derive_columns(out: pd.DataFrame) -> pd.DataFrame:
    """Add the derived canonical columns (scores, compute, periods) to a validated table."""
    out["mmlu_pro_norm"] = normalise_mmlu_pro(out["mmlu_pro_acc"])
    out["mmlu_pro_logit"] = logit(out["mmlu_pro_norm"])
    if "math_lvl5_acc" in out:
        math_logit = logit(out["math_lvl5_acc"])
        out["math_lvl5_logit"] = np.where(np.isfinite(math_logit), math_logit, np.nan)
    else:
        out["math_lvl5_acc"] = np.nan
        out["math_lvl5_logit"] = np.nan
    out["ln_flop_1e18"] = (out["log10_flop"] - 18.0) * np.log(10.0)
    out["month"] = out["release_month"].dt.strftime("%Y-%m")
    out["quarter"] = out["release_month"].dt.to_period("Q").astype(str)
    out["cohort"] = cohort_of(out["release_month"])
    return out


def ensure_finite(table: RawTable, out: pd.DataFrame, name: str) -> None:
    """Fail if a derived column is not finite (e.g. a huge value that overflowed)."""
    values = out[name].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        table.fail(f"derived {name} is not finite ({values[i]}); check the inputs", index=i,
                   name=name)


def empty_check(table: RawTable) -> None:
    """Fail on a table without data rows."""
    if table.frame.empty:
        raise DataValidationError(table.file, "the file has no data rows")


def check_flop_bounds(table: RawTable, out: pd.DataFrame) -> None:
    """Fail on training compute outside :data:`FLOP_BOUNDS`, naming a column the file has."""
    lo, hi = FLOP_BOUNDS
    for bad, word, bound in ((out["log10_flop"] > hi, "large", f"> 1e{hi:.0f}"),
                             (out["log10_flop"] < lo, "small", f"< 1e{lo:.0f}")):
        if not bad.any():
            continue
        i = bad.idxmax()
        name, inputs = "log10_flop", ""
        if not table.has("log10_flop"):
            n, d = out["params_b"][i], out["tokens_b"][i]
            # Blame the input further from a typical model (10B parameters, 1T tokens).
            name = "params_b" if abs(np.log10(n / 1e1)) >= abs(np.log10(d / 1e3)) else "tokens_b"
            inputs = f" (params_b={n:g}, tokens_b={d:g})"
        table.fail(f"training compute 1e{out['log10_flop'][i]:.0f} FLOP{inputs} is implausibly "
                   f"{word} ({bound}; plausible training compute is 1e{lo:.0f} to "
                   f"1e{hi:.0f} FLOP)", index=i, name=name)


def check_flop_agreement(table: RawTable, out: pd.DataFrame) -> None:
    """Fail when log10_flop contradicts params_b x tokens_b by more than the tolerance."""
    given = out["log10_flop"]
    implied = log10_training_flop(out["params_b"], out["tokens_b"])
    gap = (given - implied).abs()
    bad = gap.notna() & (gap > FLOP_AGREEMENT_DECADES)
    if bad.any():
        i = bad.idxmax()
        table.fail(f"log10_flop {given[i]:.2f} contradicts params_b x tokens_b: 6 N D = "
                   f"10^{implied[i]:.2f} FLOP, {gap[i]:.2f} decades apart (tolerance "
                   f"{FLOP_AGREEMENT_DECADES:g} decades); fix one of them",
                   index=i, name="log10_flop")


def check_ols_size(file: str, n_rows: int, n_columns: int) -> None:
    """Fail when the dummy-variable OLS design matrix would not fit in memory."""
    need = 8 * n_rows * n_columns
    if need > OLS_MAX_MATRIX_BYTES:
        raise DataValidationError(
            file, f"the table is too large for the paper's dummy-variable OLS: {n_rows:,} "
            f"models x {n_columns:,} dummy columns is a {need / 1e9:.1f} GB design matrix "
            f"(limit {OLS_MAX_MATRIX_BYTES / 1e9:.0f} GB); use the 13-group coding "
            "(--developers groups) or a smaller sample; the Bayesian fit has no such limit")
