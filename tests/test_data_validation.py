"""Bad input gives one clear error naming file, row and column, and a non-zero CLI exit.

Rows are counted as a person finds them in the file: 1 is the header, 2 the first data row.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from bayes_llm.cli import main
from bayes_llm.data import load_model_table, load_paper_dataset
from bayes_llm.data.paper import PAPER_LABELS, derived_check_table, read_paper_frame
from bayes_llm.data.sources import get_source
from bayes_llm.errors import ChecksumError, DataValidationError

HEADER = ["model_id", "developer", "release_month", "mmlu_pro_acc", "params_b", "tokens_b"]
GOOD = [
    ["Fjord-7B", "fjordlabs", "2024-03", "0.412", "7.2", "2000"],
    ["Fjord-13B", "fjordlabs", "2024-05", "0.455", "13", "2000"],
    ["Heron-1B", "heronai", "2024-08", "0.218", "1.1", "3000"],
    ["Heron-3B", "heronai", "2024-11", "0.301", "3.0", "3000"],
]


def write_table(folder: Path, name: str, header=HEADER, rows=GOOD, *,
                cell: tuple[int, str, str] | None = None) -> Path:
    """Write a CSV, optionally with one cell (data index, column, text) replaced."""
    rows = [list(r) for r in rows]
    if cell is not None:
        index, column, text = cell
        rows[index][header.index(column)] = text
    path = folder / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def run_cli(path: Path, capsys) -> tuple[int, str, str]:
    code = main(["data", "summary", "--data", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_cli_error(path: Path, capsys, *fragments: str) -> str:
    """The CLI fails with exit 2, one line on stderr containing ``fragments``, no stdout."""
    code, out, err = run_cli(path, capsys)
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"error: {path}")
    for fragment in fragments:
        assert fragment in err
    return err


def test_the_valid_table_loads(tmp_path, capsys):
    path = write_table(tmp_path, "good.csv")
    df = load_model_table(path)
    assert df["model_id"].tolist() == [r[0] for r in GOOD]
    assert df["developer_group"].eq("Other, Small").all()  # mean ln(FLOP/1e18) <= 12
    code, out, err = run_cli(path, capsys)
    assert code == 0 and "models:               4" in out
    assert err == f"data: {path} (--data)\n"  # where the data came from, nothing else


# (data index, column, text, expected message fragment); file row = index + 2.
CELL_CASES = [
    (2, "mmlu_pro_acc", "45.3", "score 45.3 is outside (0, 1); scores are accuracies, not percent"),
    (1, "mmlu_pro_acc", "1.0", "score 1.0 is outside (0, 1)"),
    (1, "mmlu_pro_acc", "-0.2", "score -0.2 is outside (0, 1)"),
    (3, "mmlu_pro_acc", "0.1", "score 0.1 is at or below the 0.1 guessing floor"),
    (3, "mmlu_pro_acc", "0.07", "its logit is undefined"),
    (2, "mmlu_pro_acc", "0", "guessing floor"),
    (2, "mmlu_pro_acc", "", "value is missing"),
    (2, "mmlu_pro_acc", "high", "value 'high' is not a number"),
    (1, "params_b", "7B", "value '7B' is not a number"),
    (1, "params_b", "0", "value 0.0 must be positive"),
    (1, "params_b", "-7", "value -7.0 must be positive"),
    (3, "params_b", "NaN", "value is missing"),
    (3, "params_b", "nan", "value is missing"),
    (2, "tokens_b", "-2000", "value -2000.0 must be positive"),
    (2, "tokens_b", "inf", "value is infinite"),
    (3, "developer", "", "value is missing (empty)"),
    (3, "developer", "   ", "value is missing (empty)"),
    (1, "release_month", "2021-06", "release month 2021-06 is outside the window 2022-11 to "
                                    "2025-03"),
    (1, "release_month", "2025-04", "is outside the window"),
    (1, "release_month", "2024-13", "value '2024-13' is not a date"),
    (1, "release_month", "", "value is missing (empty)"),
    (3, "model_id", "Fjord-7B", "duplicate model id 'Fjord-7B' (first seen in row 2)"),
    (2, "model_id", " Fjord-13B ", "duplicate model id 'Fjord-13B' (first seen in row 3)"),
    (3, "model_id", "", "value is missing (empty)"),
    (0, "params_b", "1e30", "training compute 1e52 FLOP (params_b=1e+30, tokens_b=2000) is "
                            "implausibly large"),
    (0, "tokens_b", "1e300", "is implausibly large"),
    (0, "params_b", "1e400", "value is infinite"),
]


@pytest.mark.parametrize(("index", "column", "text", "fragment"), CELL_CASES,
                         ids=[f"{c[1]}={c[2]!r}" for c in CELL_CASES])
def test_bad_cell_names_file_row_and_column(tmp_path, capsys, index, column, text, fragment):
    path = write_table(tmp_path, "models.csv", cell=(index, column, text))
    with pytest.raises(DataValidationError) as info:
        load_model_table(path)
    error = info.value
    assert error.file == str(path)
    assert error.row == index + 2
    assert error.column == column
    assert fragment in error.problem
    assert str(error) == f"{path}, row {index + 2}, column '{column}': {error.problem}"
    assert "\n" not in str(error)
    assert_cli_error(path, capsys, f"row {index + 2}", f"column '{column}'", fragment)


def test_math_score_in_percent(tmp_path, capsys):
    header = [*HEADER, "math_lvl5_acc"]
    rows = [[*r, "0.12"] for r in GOOD]
    path = write_table(tmp_path, "math.csv", header, rows, cell=(2, "math_lvl5_acc", "31"))
    with pytest.raises(DataValidationError) as info:
        load_model_table(path)
    assert (info.value.row, info.value.column) == (4, "math_lvl5_acc")
    assert "not percent" in str(info.value)


def test_math_score_of_zero_is_allowed_and_its_logit_missing(tmp_path):
    header = [*HEADER, "math_lvl5_acc"]
    rows = [[*r, "0.12"] for r in GOOD]
    path = write_table(tmp_path, "math.csv", header, rows, cell=(2, "math_lvl5_acc", "0"))
    df = load_model_table(path)
    assert df["math_lvl5_logit"].isna().tolist() == [False, False, True, False]


def test_compute_given_as_log10_flop(tmp_path, capsys):
    header = ["model_id", "developer", "release_month", "mmlu_pro_acc", "log10_flop"]
    rows = [[*r[:4], "23.1"] for r in GOOD]
    assert len(load_model_table(write_table(tmp_path, "ok.csv", header, rows))) == 4
    nan = write_table(tmp_path, "nan.csv", header, rows, cell=(1, "log10_flop", "NaN"))
    with pytest.raises(DataValidationError, match="value is missing") as info:
        load_model_table(nan)
    assert (info.value.row, info.value.column) == (3, "log10_flop")
    huge = write_table(tmp_path, "huge.csv", header, rows, cell=(2, "log10_flop", "41"))
    assert_cli_error(huge, capsys, "row 4", "column 'log10_flop'", "1e41 FLOP is implausibly")


def test_estimate_flag_must_be_true_or_false(tmp_path, capsys):
    header = [*HEADER, "compute_is_estimate"]
    rows = [[*r, "false"] for r in GOOD]
    path = write_table(tmp_path, "flags.csv", header, rows,
                       cell=(1, "compute_is_estimate", "maybe"))
    assert_cli_error(path, capsys, "row 3", "column 'compute_is_estimate'",
                     "value 'maybe' is not true/false")


# --- whole-file problems ----------------------------------------------------------------


def _file_error(path: Path) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        load_model_table(path)
    assert info.value.file == str(path)
    assert "\n" not in str(info.value)
    return info.value


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "nope.csv"
    error = _file_error(path)
    assert error.problem == "file does not exist"
    assert_cli_error(path, capsys, "file does not exist")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert _file_error(path).problem == "the file is empty"
    assert_cli_error(path, capsys, "the file is empty")


def test_blank_lines_only(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n\n")
    assert "no header or data rows" in _file_error(path).problem


def test_header_only(tmp_path, capsys):
    path = write_table(tmp_path, "header.csv", rows=[])
    error = _file_error(path)
    assert (error.row, error.column, error.problem) == (None, None, "the file has no data rows")
    assert_cli_error(path, capsys, "no data rows")


@pytest.mark.parametrize(("wrong", "right"), [
    ("developr", "developer"), ("Developer", "developer"), ("mmlu_pro_accuracy", "mmlu_pro_acc"),
    ("release_date", "release_month"), ("model", "model_id"),
])
def test_misspelled_column_suggests_the_close_match(tmp_path, capsys, wrong, right):
    header = [wrong if c == right else c for c in HEADER]
    path = write_table(tmp_path, "cols.csv", header)
    error = _file_error(path)
    assert error.column == right
    assert f"missing required column '{right}' (did you mean '{wrong}'?)" in error.problem
    assert_cli_error(path, capsys, f"column '{right}'", f"did you mean '{wrong}'?")


def test_missing_column_without_close_match_lists_the_columns(tmp_path):
    header = ["zzz" if c == "developer" else c for c in HEADER]
    error = _file_error(write_table(tmp_path, "cols.csv", header))
    assert "did you mean" not in error.problem
    assert "columns found: model_id, zzz, release_month" in error.problem


def test_missing_compute_columns(tmp_path, capsys):
    header = HEADER[:-1]
    rows = [r[:-1] for r in GOOD]
    path = write_table(tmp_path, "nocompute.csv", header, rows)
    error = _file_error(path)
    assert error.column == "log10_flop"
    assert "provide column 'log10_flop', or both 'params_b' and 'tokens_b'" in error.problem
    assert_cli_error(path, capsys, "missing compute")


def test_ragged_row(tmp_path, capsys):
    path = tmp_path / "ragged.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD[0]) + "\n"
                    + ",".join([*GOOD[1], "extra", "fields"]) + "\n")
    assert "Expected 6 fields in line 3, saw 8" in _file_error(path).problem
    assert_cli_error(path, capsys, "cannot parse the file")


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes((",".join(HEADER) + "\n").encode() + b"Fj\xf6rd,acme,2024-01,0.4,7,9\n")
    assert_cli_error(path, capsys, "cannot read the file as '.csv'", "utf-8")


def test_corrupt_parquet(tmp_path, capsys):
    path = tmp_path / "models.parquet"
    path.write_text("model_id,developer\nnot,parquet\n")
    assert "cannot read the file as '.parquet'" in _file_error(path).problem
    assert_cli_error(path, capsys, "cannot read the file as '.parquet'")


def test_unsupported_suffix(tmp_path, capsys):
    path = tmp_path / "models.json"
    path.write_text("[]")
    assert_cli_error(path, capsys, "unsupported file type '.json'")


def test_bad_row_in_parquet_names_row_and_column(tmp_path):
    frame = pd.DataFrame(GOOD, columns=HEADER).astype({"mmlu_pro_acc": float,
                                                        "params_b": float, "tokens_b": float})
    frame.loc[2, "tokens_b"] = -1.0
    path = tmp_path / "models.parquet"
    frame.to_parquet(path, index=False)
    error = _file_error(path)
    assert (error.row, error.column) == (4, "tokens_b")


# --- the paper's own format (a modified copy, checksum not verified) --------------------


@pytest.fixture(scope="module")
def raw_paper(mirror_dir) -> pd.DataFrame:
    return read_paper_frame(mirror_dir / get_source("secret_sauce").mirror_path)


def _paper_copy(raw: pd.DataFrame, folder: Path, edit=None) -> Path:
    frame = raw.copy()
    if edit is not None:
        edit(frame)
    path = folder / "paper_copy.csv"
    frame.to_csv(path, index=False)
    return path


def test_unmodified_csv_export_loads_like_the_original(raw_paper, paper_df, tmp_path):
    path = _paper_copy(raw_paper, tmp_path)
    df = load_paper_dataset(path, verify_checksum=False)
    assert len(df) == 809
    assert derived_check_table(df)["ok"].all()
    assert (df["developer_group"] == paper_df["developer_group"]).all()
    with pytest.raises(ChecksumError):
        load_paper_dataset(path)  # a copy is not the pinned file


def _set(index: int, label: str, value):
    def edit(frame: pd.DataFrame) -> None:
        frame[label] = frame[label].astype(object)
        frame.loc[index, label] = value
    return edit


PAPER_CASES = [
    (_set(100, "Parameters (Billions)", "seven"), 102, "Parameters (Billions)",
     "value 'seven' is not a number"),
    (_set(50, "MMLU Pro Raw Score", 45.2), 52, "MMLU Pro Raw Score", "not percent"),
    (_set(60, "MMLU Pro Raw Score", 0.095), 62, "MMLU Pro Raw Score", "guessing floor"),
    (_set(7, "Month of Model Release", "2021-06-01"), 9, "Month of Model Release",
     "outside the window"),
    (_set(5, "Model Developer (str)", None), 7, "Model Developer (str)", "value is missing"),
    (_set(300, "Parameters (Billions)", -3), 302, "Parameters (Billions)", "must be positive"),
    (_set(12, "Basemodel Dataset Tokens", 0), 14, "Basemodel Dataset Tokens",
     "must be positive"),
]


@pytest.mark.parametrize(("edit", "row", "column", "fragment"), PAPER_CASES,
                         ids=[c[3] for c in PAPER_CASES])
def test_paper_format_errors_use_the_files_labels(raw_paper, tmp_path, edit, row, column,
                                                  fragment):
    path = _paper_copy(raw_paper, tmp_path, edit)
    with pytest.raises(DataValidationError) as info:
        load_paper_dataset(path, verify_checksum=False)
    assert (info.value.file, info.value.row, info.value.column) == (str(path), row, column)
    assert fragment in info.value.problem


def test_paper_duplicate_model_names_both_rows(raw_paper, tmp_path):
    def edit(frame):
        frame.loc[10, "Model"] = frame.loc[3, "Model"]
    path = _paper_copy(raw_paper, tmp_path, edit)
    with pytest.raises(DataValidationError) as info:
        load_paper_dataset(path, verify_checksum=False)
    assert (info.value.row, info.value.column) == (12, "Model")
    assert f"duplicate model id '{raw_paper.loc[3, 'Model']}' (first seen in row 5)" in str(
        info.value)


def test_paper_both_token_counts_missing(raw_paper, tmp_path):
    def edit(frame):
        frame.loc[20, ["Total Dataset Tokens", "Basemodel Dataset Tokens"]] = float("nan")
    path = _paper_copy(raw_paper, tmp_path, edit)
    with pytest.raises(DataValidationError, match="both token counts are missing") as info:
        load_paper_dataset(path, verify_checksum=False)
    assert (info.value.row, info.value.column) == (22, "Total Dataset Tokens")


def test_paper_misspelled_column(raw_paper, tmp_path):
    label = PAPER_LABELS["developer"]
    path = tmp_path / "renamed.csv"
    raw_paper.rename(columns={label: "Model Developr (str)"}).to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_paper_dataset(path, verify_checksum=False)
    assert info.value.column == label
    assert "(did you mean 'Model Developr (str)'?)" in str(info.value)


def test_paper_window_none_accepts_out_of_window_months(raw_paper, tmp_path):
    path = _paper_copy(raw_paper, tmp_path, _set(7, "Month of Model Release", "2021-06-01"))
    with pytest.warns(UserWarning, match="cohort"):
        df = load_paper_dataset(path, verify_checksum=False, window=None)
    assert df.loc[7, "month"] == "2021-06"
    assert pd.isna(df.loc[7, "cohort"])


def test_paper_derived_mismatch_is_flagged(raw_paper, tmp_path):
    path = _paper_copy(raw_paper, tmp_path, _set(40, "Log(FLOPs)", 30.0))
    with pytest.warns(UserWarning, match="log10_flop"):
        df = load_paper_dataset(path, verify_checksum=False)
    check = derived_check_table(df).set_index("column")
    assert not check.loc["log10_flop", "ok"]
    assert check.loc["log10_flop", "max_abs_diff"] > 1
    assert check.drop(index="log10_flop")["ok"].all()


def test_clean_paper_load_emits_no_warning(paper_df, mirror_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_paper_dataset(mirror=mirror_dir)
