"""Each variant of a study is sampled with its own backend (``spec_backend``): PyMC for a
variant with a ``[sampler]`` custom step, nutpie for the others; an explicit backend that
cannot sample a variant is refused before any work."""

from __future__ import annotations

import textwrap

import pytest

from bayes_llm.cli import main
from bayes_llm.errors import SpecError
from bayes_llm.sensitivity import load_study, run_study
from bayes_llm.sensitivity.cache import cache_key

STUDY = """
    name = "moves"
    base = "binomial_developers"
    [crossval]
    method = "none"
    [axes.sampler.scale_move]
    lineage_effect = true
    sampler = { lineage_scale_move = true }
"""


def _study_file(folder, text=STUDY):
    path = folder / "moves.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_each_variant_is_fitted_and_keyed_with_its_own_backend(tmp_path, paper_df,
                                                                monkeypatch):
    """The fit tasks handed to the workers carry each variant's backend, and the cache key
    is made with it (fails if one backend is used for the whole study)."""
    from bayes_llm.model.design import prepare_data
    from bayes_llm.sensitivity import runner

    handed = {}

    def fake_execute(func, tasks, **_):
        for task in tasks:
            handed[task.variant] = task
            yield task, None, RuntimeError("not fitted in this test")

    monkeypatch.setattr(runner, "execute", fake_execute)
    study = load_study(_study_file(tmp_path))
    run_study(study, paper_df, tmp_path / "out", workers=1, crossval="none", psense=False)
    assert {name: task.backend for name, task in handed.items()} == {
        "base": "nutpie", "sampler-scale_move": "pymc"}
    moved = handed["sampler-scale_move"]
    data_hash = prepare_data(paper_df, moved.spec).data_hash
    assert moved.key == cache_key(moved.spec, data_hash, backend="pymc")


def test_an_explicit_backend_is_used_for_every_variant(tmp_path, paper_df, monkeypatch):
    from bayes_llm.sensitivity import runner

    handed = {}

    def fake_execute(func, tasks, **_):
        for task in tasks:
            handed[task.variant] = task.backend
            yield task, None, RuntimeError("not fitted in this test")

    monkeypatch.setattr(runner, "execute", fake_execute)
    study = load_study(_study_file(tmp_path))
    run_study(study, paper_df, tmp_path / "out", workers=1, crossval="none", psense=False,
              backend="pymc")
    assert handed == {"base": "pymc", "sampler-scale_move": "pymc"}


def test_the_cli_refuses_a_backend_a_variant_cannot_use(tmp_path, capsys):
    path = _study_file(tmp_path)
    code = main(["sensitivity", str(path), "--out", str(tmp_path / "out"), "--dry-run",
                 "--backend", "nutpie"])
    err = capsys.readouterr().err
    assert code == 2
    assert "lineage_scale_move = true needs the 'pymc' backend" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_level_custom_step_must_be_a_bool(tmp_path):
    path = _study_file(tmp_path, STUDY.replace("lineage_scale_move = true",
                                               "lineage_scale_move = 1"))
    with pytest.raises(SpecError, match="lineage_scale_move: must be true or false"):
        load_study(path)
