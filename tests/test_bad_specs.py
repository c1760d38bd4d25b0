"""Bad model specs (tests/bad_inputs/spec_*.toml) through `bayes-llm fit` and `load_spec`.

The expected error of each file is the "Spec files" table of tests/bad_inputs/README.md.
Every one must fail fast (before loading data or sampling) with exit code 2 and one line
naming the file and the problem, and leave no output folder behind.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from bayes_llm.cli import main
from bayes_llm.errors import SpecError
from bayes_llm.model import load_spec, spec_from_dict

CORPUS = Path(__file__).parent / "bad_inputs"
README = CORPUS / "README.md"
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


class SpecCase(NamedTuple):
    file: str
    problem: str
    fragment: str


def spec_cases() -> list[SpecCase]:
    match = re.search(r"^## Spec files\n(.*?)(?=^## |\Z)", README.read_text(), re.M | re.S)
    assert match, f"{README} has no section '## Spec files'"
    cases = []
    for line in match.group(1).splitlines():
        row = ROW.match(line.strip())
        if row:
            problem, fragment = (c.strip() for c in row.group(2).split("|"))
            cases.append(SpecCase(row.group(1), problem, fragment.strip("`")))
    return cases


SPEC_CASES = spec_cases()
REQUIRED = {  # the problems the corpus must cover
    "spec_unknown_likelihood.toml", "spec_negative_prior_scale.toml",
    "spec_scale_prior_normal.toml", "spec_unknown_key.toml", "spec_unknown_sample.toml",
    "spec_not_toml.toml", "spec_zero_draws.toml",
}


def test_every_spec_file_is_listed_and_exists():
    listed = {c.file for c in SPEC_CASES}
    present = {p.name for p in CORPUS.glob("spec_*.toml")}
    assert listed == present
    assert REQUIRED <= listed
    assert len(SPEC_CASES) == len(listed)  # no duplicate rows


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c.file for c in SPEC_CASES])
def test_cli_fit_rejects_bad_spec(case: SpecCase, tmp_path, capsys, monkeypatch):
    path = CORPUS / case.file

    def no_data(*args, **kwargs):  # a spec error must come before loading any data
        raise AssertionError("data was loaded for an invalid spec")

    # import the command module first: imported while options.load_data is patched, it
    # would bind the patched function for good and poison every later test
    importlib.import_module("bayes_llm.cli.fit_cmd")
    monkeypatch.setattr("bayes_llm.cli.options.load_data", no_data)
    monkeypatch.setattr("bayes_llm.cli.fit_cmd.load_data", no_data)
    monkeypatch.setattr("bayes_llm.model.fit_model", no_data)
    out = tmp_path / "run"
    code = main(["fit", "--model", str(path), "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 2
    assert stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    assert case.fragment in lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder either


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c.file for c in SPEC_CASES])
def test_load_spec_raises_spec_error(case: SpecCase):
    path = CORPUS / case.file
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert case.fragment in message


def test_boolean_draws_are_rejected():
    with pytest.raises(SpecError, match="draws must be a positive integer"):
        spec_from_dict({"name": "x", "sampler": {"draws": True}})
