"""Running a study: cache hits and misses, failing variants, the tidy table, the CLI.

One small study (logit-normal, 13 groups, 60 draws, 1 chain, PyMC's sampler; three
variants) is fitted once per module; the other tests copy its output folder and change the spec or the data.
"""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest

from bayes_llm.cli import main
from bayes_llm.sensitivity import load_study, run_study
from bayes_llm.sensitivity.runner import TABLE_COLUMNS

pytestmark = pytest.mark.mcmc

STUDY = """
    name = "small"
    base = "logit_normal_groups"
    [sampler]
    draws = 60
    tune = 60
    chains = 1
    [crossval]
    method = "none"
    [axes.priors.wide]
    scale_priors = {scale}
    [axes.sample.majors]
    sample = "majors"
"""
#: PyMC's own NUTS compiles tiny models faster than nutpie (the cache logic is the same).
BACKEND = "pymc"
#: A model outside the majors sample: changing it must leave the majors variant cached.
NON_MAJOR = "AI-Sweden-Models__gpt-sw3-40b"


def _study(folder, scale: float = 2.0):
    path = folder / "small.toml"
    path.write_text(textwrap.dedent(STUDY.format(scale=scale)), encoding="utf-8")
    return load_study(path)


def _run(study, df, out, **kwargs):
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("crossval", "none")
    kwargs.setdefault("backend", BACKEND)
    return run_study(study, df, out, **kwargs)


@pytest.fixture(scope="module")
def first(tmp_path_factory, paper_df):
    folder = tmp_path_factory.mktemp("study")
    study = _study(folder)
    result = _run(study, paper_df, folder / "out")
    return folder, result


def _copy(first, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(first[1].out, out)
    return out


def test_first_run_fits_every_variant_and_writes_one_tidy_table(first):
    folder, result = first
    names = ["base", "priors-wide", "sample-majors"]
    assert sorted(result.fitted) == sorted(names) and result.cached == []
    assert result.variants["variant"].tolist() == names
    assert set(result.variants["status"]) <= {"ok", "warnings"}
    table = result.table
    assert list(table.columns[:11]) == TABLE_COLUMNS[:11]
    assert {"status", "diagnostics", "error", "cached", "cache_key"} <= set(table.columns)
    n_figures = table["figure"].nunique()
    assert n_figures >= 20 and len(table) == 3 * n_figures
    key = table[table["figure"] == "frontier_pair_compute_share_explained"].set_index("variant")
    assert np.all(np.isfinite(key["median"]))
    assert np.all(key["lower"] <= key["median"]) and np.all(key["median"] <= key["upper"])
    assert key.loc["sample-majors", "n_models"] == 122 and key.loc["base", "n_models"] == 809
    on_disk = pd.read_csv(result.out / "sensitivity.csv")
    assert len(on_disk) == len(table)
    assert on_disk["median"].to_numpy() == pytest.approx(table["median"].to_numpy(),
                                                         nan_ok=True)
    assert len(list((result.out / "fits").iterdir())) == 3
    for name in names:
        log = (result.out / "logs" / f"{name}.log").read_text()
        assert f"variant '{name}'" in log and f'name = "small.{name}"' in log
        assert "status:" in log and "headline figures computed" in log


def test_second_run_refits_nothing(first, tmp_path, paper_df, monkeypatch):
    folder, result = first
    out = _copy(first, tmp_path)

    def no_fitting(*args, **kwargs):
        raise AssertionError("a cached variant was refitted")

    monkeypatch.setattr("bayes_llm.model.fit.fit_model", no_fitting)
    again = _run(_study(folder), paper_df, out)
    assert again.fitted == [] and sorted(again.cached) == sorted(result.variants["variant"])
    assert again.table["cached"].all()
    assert again.table["median"].to_numpy() == pytest.approx(result.table["median"].to_numpy(),
                                                             nan_ok=True)
    assert "cache hit" in (out / "logs" / "base.log").read_text()


def test_an_interrupted_run_resumes_without_refitting_finished_variants(first, tmp_path,
                                                                       paper_df):
    out = _copy(first, tmp_path)
    key = first[1].variants.set_index("variant").loc["priors-wide", "cache_key"]
    shutil.rmtree(out / "fits" / key)  # never finished ...
    (out / "fits" / f".{key}.x.partial").mkdir()  # ... and left a half-written folder
    (out / "fits" / f".{key}.x.partial" / "posterior.nc").write_bytes(b"truncated")
    resumed = _run(_study(first[0]), paper_df, out)
    assert resumed.fitted == ["priors-wide"]
    assert sorted(resumed.cached) == ["base", "sample-majors"]
    assert (out / "fits" / key / "posterior.nc").stat().st_size > 1000


def test_a_spec_change_refits_exactly_that_variant(first, tmp_path, paper_df):
    out = _copy(first, tmp_path)
    changed = _run(_study(tmp_path, scale=3.0), paper_df, out)
    assert changed.fitted == ["priors-wide"]
    assert sorted(changed.cached) == ["base", "sample-majors"]
    old = first[1].variants.set_index("variant")["cache_key"]
    new = changed.variants.set_index("variant")["cache_key"]
    assert new["priors-wide"] != old["priors-wide"]
    assert new["base"] == old["base"] and new["sample-majors"] == old["sample-majors"]


def test_a_data_change_refits_exactly_the_variants_using_that_model(first, tmp_path, paper_df):
    out = _copy(first, tmp_path)
    df = paper_df.copy()
    row = df["model_id"] == NON_MAJOR
    assert row.sum() == 1 and not df.loc[row, "is_major"].any()
    df.loc[row, "mmlu_pro_acc"] += 0.01
    norm = (df.loc[row, "mmlu_pro_acc"] - 0.1) / 0.9
    df.loc[row, "mmlu_pro_norm"] = norm
    df.loc[row, "mmlu_pro_logit"] = np.log(norm / (1 - norm))
    changed = _run(_study(first[0]), df, out)
    assert sorted(changed.fitted) == ["base", "priors-wide"]
    assert changed.cached == ["sample-majors"]


def test_failing_variants_are_listed_with_their_error_never_dropped(tmp_path, paper_df,
                                                                      monkeypatch):
    path = tmp_path / "fail.toml"
    path.write_text(textwrap.dedent("""
        name = "fail"
        base = "logit_normal_groups"
        [sampler]
        draws = 30
        tune = 30
        chains = 1
        [axes.sample.full_tokens]
        sample = "full_tokens"
        [axes.sample.majors]
        sample = "majors"
    """), encoding="utf-8")
    study = load_study(path)
    df = paper_df.copy()
    df["has_full_token_count"] = False  # the full_tokens sample is now empty

    def broken_fit(spec, *args, **kwargs):
        raise RuntimeError(f"sampler exploded for {spec.name}")

    monkeypatch.setattr("bayes_llm.model.fit.fit_model", broken_fit)
    result = _run(study, df, tmp_path / "out", loo=False, only=["sample-full_tokens",
                                                                "sample-majors"])
    status = result.variants.set_index("variant")
    assert result.failed == ["sample-full_tokens", "sample-majors"]
    assert "only 0 models left" in status.loc["sample-full_tokens", "error"]
    assert status.loc["sample-majors", "error"] == \
        "fit: RuntimeError: sampler exploded for fail.sample-majors"
    rows = result.table[result.table["variant"] == "sample-majors"]
    assert len(rows) == result.table["figure"].nunique() and rows["median"].isna().all()
    assert not (tmp_path / "out" / "fits").exists() or not any((tmp_path / "out" / "fits")
                                                               .iterdir())
    log = (tmp_path / "out" / "logs" / "sample-majors.log").read_text()
    assert "RuntimeError: sampler exploded" in log and "Traceback" in log
    assert "failed: data: " in result.to_text() or "failed" in result.to_text()


def test_cli_reuses_the_cache_and_writes_table_and_plots(first, tmp_path, mirror_dir, capsys):
    out = _copy(first, tmp_path)
    study_file = first[0] / "small.toml"
    code = main(["sensitivity", str(study_file), "--out", str(out), "--mirror", str(mirror_dir),
                 "--workers", "1", "--cv", "none", "--no-psense", "--quiet", "--backend",
                 BACKEND])
    printed = capsys.readouterr().out
    assert code == 0
    assert "0 fitted, 3 from cache, 0 failed" in printed
    assert "frontier_pair_compute_share_explained" in printed and "(paper's claim: 80-90%)" \
        in printed
    assert (out / "forest.png").stat().st_size > 10_000
    assert (out / "tornado.png").stat().st_size > 10_000
    code = main(["sensitivity", str(study_file), "--out", str(out), "--mirror", str(mirror_dir),
                 "--dry-run", "--backend", BACKEND])
    listing = capsys.readouterr().out
    assert code == 0 and listing.count("cached fits/") == 3


def test_cli_interval_choice_reuses_the_fits_and_sets_every_table(first, tmp_path, mirror_dir,
                                                                  capsys, monkeypatch):
    """Issue 14: --hdi-prob/--ci-kind on sensitivity; the fits are reused, the tables follow."""
    out = _copy(first, tmp_path)
    study_file = first[0] / "small.toml"

    def no_fitting(*args, **kwargs):
        raise AssertionError("a cached variant was refitted")

    monkeypatch.setattr("bayes_llm.model.fit.fit_model", no_fitting)
    code = main(["sensitivity", str(study_file), "--out", str(out), "--mirror", str(mirror_dir),
                 "--workers", "1", "--cv", "none", "--no-psense", "--quiet", "--no-plots",
                 "--backend", BACKEND, "--hdi-prob", "0.5", "--ci-kind", "eti"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "0 fitted, 3 from cache, 0 failed" in printed
    assert "(median [50% ETI])" in printed and "50% ETI" in printed.split("\n", 4)[-1]
    assert "94% HDI" not in printed
    table = pd.read_csv(out / "sensitivity.csv")
    default = first[1].table
    posterior = table["kind"] == "posterior"
    assert set(table.loc[posterior, "interval"]) == {"50% ETI"}
    assert set(default.loc[default["kind"] == "posterior", "interval"]) == {"94% HDI"}
    merged = table[posterior].merge(default, on=["variant", "figure"], suffixes=("", "_94"))
    merged = merged[np.isfinite(merged["upper"]) & np.isfinite(merged["upper_94"])]
    assert len(merged) > 30
    np.testing.assert_allclose(merged["median"], merged["median_94"], rtol=1e-12)
    width, width_94 = merged["upper"] - merged["lower"], merged["upper_94"] - merged["lower_94"]
    assert (width <= width_94 + 1e-12).all() and (width < width_94).mean() > 0.9
    assert main(["sensitivity", str(study_file), "--out", str(tmp_path / "new"),
                 "--hdi-prob", "1.5"]) == 2
    assert "interval probability 1.5 must lie strictly between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_cli_rejects_unknown_study_and_cv_method(tmp_path, capsys):
    assert main(["sensitivity", str(tmp_path / "nope.toml")]) == 2
    assert "no such study file" in capsys.readouterr().err
    assert main(["sensitivity", "default", "--cv", "waic"]) == 2
    assert "unknown method 'waic'" in capsys.readouterr().err
