"""Run every file of the bad-input corpus (tests/bad_inputs/) through the CLI and the API.

The expected outcome of each file is the table in tests/bad_inputs/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from bayes_llm.cli import main
from bayes_llm.data import load_model_table
from bayes_llm.errors import DataValidationError

CORPUS = Path(__file__).parent / "bad_inputs"
README = CORPUS / "README.md"
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


class Case(NamedTuple):
    file: str
    problem: str
    fragment: str
    row: int | None
    column: str | None


def _table_rows(text: str) -> list[tuple[str, list[str]]]:
    rows = []
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows.append((match.group(1), [c.strip() for c in match.group(2).split("|")]))
    return rows


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{README} has no section '## {heading}'"
    return match.group(1)


def data_cases() -> list[Case]:
    cases = []
    for name, cells in _table_rows(_section(README.read_text(), "Data tables")):
        problem, fragment, row, column = cells
        cases.append(Case(name, problem, fragment.strip("`"),
                          None if row == "-" else int(row), None if column == "-" else column))
    return cases


DATA_CASES = data_cases()


def test_readme_lists_every_file_and_only_existing_ones():
    listed = {name for name, _ in _table_rows(README.read_text())}
    present = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md"}
    assert listed == present
    assert len(DATA_CASES) >= 20


def test_corpus_files_are_small():
    for case in DATA_CASES:
        lines = (CORPUS / case.file).read_text().splitlines()
        assert len(lines) <= 6, case.file  # header + at most 5 rows


@pytest.mark.parametrize("case", DATA_CASES, ids=[c.file for c in DATA_CASES])
def test_cli_rejects_bad_input(case: Case, capsys):
    path = CORPUS / case.file
    code = main(["data", "summary", "--data", str(path)])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""  # no partial output
    lines = err.splitlines()
    assert len(lines) == 1, err
    message = lines[0]
    where = [str(path)]
    if case.row is not None:
        where.append(f"row {case.row}")
    if case.column is not None:
        where.append(f"column '{case.column}'")
    assert message.startswith(f"error: {', '.join(where)}: "), message
    assert case.fragment in message


@pytest.mark.parametrize("case", DATA_CASES, ids=[c.file for c in DATA_CASES])
def test_api_error_names_file_row_and_column(case: Case):
    path = CORPUS / case.file
    with pytest.raises(DataValidationError) as info:
        load_model_table(path)
    error = info.value
    assert (error.file, error.row, error.column) == (str(path), case.row, case.column)
    assert case.fragment in error.problem
