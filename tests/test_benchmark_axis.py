"""Benchmark as an axis: single-benchmark outcomes and the joint model as a study variant.

The outcomes are checked on the paper's 809 models joined to the leaderboard table (the
mirror); the runner's joint dispatch runs ``run_joint`` on a simulated six-benchmark design
with the sampler replaced by a fake posterior (no MCMC); one tiny real GPQA fit is marked
``mcmc``.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from joint_fakes import fake_joint_posterior

from bayes_llm.data.benchmarks import (
    BENCHMARK_NAMES,
    NOT_COUNTS,
    OUTCOME_BENCHMARKS,
    benchmark,
    benchmark_long_table,
)
from bayes_llm.errors import SpecError
from bayes_llm.model import spec as spec_module
from bayes_llm.model.design import HASHED_COLUMNS, OUTCOMES, data_hash, prepare_data
from bayes_llm.model.spec import load_spec, spec_from_dict
from bayes_llm.sensitivity import load_study, run_study
from bayes_llm.sensitivity.joint import SHARE_NOTE, joint_figures

BASE = "models/binomial_developers.toml"


def _spec(outcome: str, likelihood: str = "binomial"):
    return load_spec(BASE).with_changes(outcome=outcome, likelihood=likelihood)


@pytest.fixture(scope="module")
def scores(paper_df) -> pd.DataFrame:
    """Model x benchmark raw scores of the 809 models (the data layer's join)."""
    long = benchmark_long_table(paper_df)
    return long.pivot(index="model_id", columns="benchmark", values="score")


@pytest.mark.parametrize("name", ["bbh", "gpqa", "musr"])
def test_count_outcomes_on_the_809_models(paper_df, scores, name):
    data = prepare_data(paper_df, _spec(name))
    b = benchmark(name)
    have = scores[name].dropna().index
    assert data.n_models == len(have) == 798
    assert set(data.frame["model_id"]) == set(have)
    assert data.report.excluded[f"missing {name}_acc"] == len(paper_df) - 798 == 11
    left_out = set(paper_df["model_id"]) - set(have)
    assert paper_df.set_index("model_id").loc[sorted(left_out), "hf_id"].isna().all()
    assert data.guess == b.chance and (data.n == b.n_items).all()
    assert ((data.k >= 0) & (data.k <= data.n)).all()
    expected = np.rint(scores.loc[data.frame["model_id"], name].to_numpy() * b.n_items)
    np.testing.assert_array_equal(data.k, expected)


@pytest.mark.parametrize("name", OUTCOME_BENCHMARKS)
def test_logit_columns_mirror_the_canonical_definition(paper_df, scores, name):
    """<b>_logit = logit((acc - c) / (1 - c)), missing at or below the chance level."""
    data = prepare_data(paper_df, _spec(name, "logit_normal"))
    c = benchmark(name).chance
    acc = scores[name].dropna()
    above = acc[acc > c]
    assert data.n_models == len(above) and set(data.frame["model_id"]) == set(above.index)
    norm = (above - c) / (1 - c)
    expected = np.log(norm / (1 - norm))
    got = data.frame.set_index("model_id").loc[above.index, f"{name}_logit"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(data.y, data.frame[f"{name}_logit"].to_numpy())


def test_paper_outcomes_keep_their_data_hash_and_new_ones_hash_their_scores(paper_df):
    mmlu = prepare_data(paper_df, _spec("mmlu_pro"))
    assert mmlu.data_hash == data_hash(mmlu.frame[list(HASHED_COLUMNS)])
    gpqa = prepare_data(paper_df, _spec("gpqa"))
    assert gpqa.data_hash != data_hash(gpqa.frame)  # the GPQA score is part of it
    from bayes_llm.data.benchmarks import add_benchmark_columns

    changed = add_benchmark_columns(paper_df, ("gpqa",))
    row = changed["gpqa_acc"].first_valid_index()
    changed.loc[row, "gpqa_acc"] = min(1.0, changed.loc[row, "gpqa_acc"] + 0.01)
    assert prepare_data(changed, _spec("gpqa")).data_hash != gpqa.data_hash
    assert prepare_data(changed, _spec("mmlu_pro")).data_hash == mmlu.data_hash


def test_ifeval_refuses_the_binomial():
    with pytest.raises(SpecError, match=r"outcome = 'ifeval'.*likelihood = 'binomial'"):
        spec_from_dict({"name": "x", "outcome": "ifeval"})
    ok = spec_from_dict({"name": "x", "outcome": "ifeval", "likelihood": "student_t"})
    assert ok.outcome == "ifeval"
    assert set(spec_module.NOT_COUNT_OUTCOMES) == set(NOT_COUNTS)
    single = [o for o in spec_module.OUTCOMES if o != "leaderboard6"]
    assert list(OUTCOMES) == single


def test_baseline_and_plots_take_the_new_outcomes(paper_df):
    from bayes_llm.baseline.ols import BaselineSpec, fit_baseline_ols
    from bayes_llm.plots.scaling import OUTCOME_LABELS, data_overview_data

    fit = fit_baseline_ols(paper_df, BaselineSpec(outcome="bbh"))
    assert fit.sample_report.n_kept == prepare_data(paper_df, _spec("bbh", "logit_normal")).n_models
    assert OUTCOME_LABELS["gpqa"] == "GPQA"
    assert len(data_overview_data(df=paper_df, outcome="musr")) == 798


def test_study_file_expands_to_one_variant_per_benchmark():
    study = load_study("studies/benchmarks.toml")
    variants = {v.name: v.spec for v in study.variants()}
    assert list(variants) == ["base", "benchmark-ifeval", "benchmark-bbh",
                              "benchmark-math_lvl5", "benchmark-gpqa", "benchmark-musr",
                              "benchmark-joint"]
    outcomes = {n: (s.outcome, s.likelihood) for n, s in variants.items()}
    assert outcomes["base"] == ("mmlu_pro", "binomial")
    assert outcomes["benchmark-ifeval"] == ("ifeval", "logit_normal")
    assert outcomes["benchmark-gpqa"] == ("gpqa", "binomial")
    assert outcomes["benchmark-joint"] == ("leaderboard6", "binomial")
    assert {(s.sampler.draws, s.sampler.chains) for s in variants.values()} == {(1000, 4)}
    assert study.crossval.method == "none"


# ----------------------------------------------------------------- the joint variant
JOINT_STUDY = """
    name = "joint_axis"
    base = "binomial_developers"
    [sampler]
    draws = 50
    tune = 50
    chains = 2
    [crossval]
    method = "none"
    [axes.benchmark.joint]
    outcome = "leaderboard6"
    period_effect = "exchangeable"
"""


def _fake_fit(data, spec, **_kwargs) -> xr.DataTree:
    """The joint sampler replaced: random draws, no sampling (``joint_fakes``)."""
    return fake_joint_posterior(data, chains=2, draws=200)


@pytest.fixture
def joint_design(monkeypatch):
    from bayes_llm.verify.leaderboard6_sim import simulate_leaderboard6

    frame, long, _ = simulate_leaderboard6(benchmarks=BENCHMARK_NAMES, n_models=60,
                                           n_developers=6, seed=3)
    frame.attrs["source_file"] = "simulated"
    monkeypatch.setattr("bayes_llm.data.benchmarks.benchmark_long_table", lambda f: long)
    calls = []

    def fake(data, spec, **kwargs):
        calls.append(spec.sampler.seed)
        return _fake_fit(data, spec, **kwargs)

    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", fake)
    return frame, calls


def test_runner_fits_the_joint_variant_and_tabulates_its_named_answers(joint_design,
                                                                       tmp_path):
    frame, calls = joint_design
    path = tmp_path / "joint.toml"
    path.write_text(textwrap.dedent(JOINT_STUDY), encoding="utf-8")
    study = load_study(path)
    result = run_study(study, frame, tmp_path / "out", workers=1, only=["benchmark-joint"],
                       crossval="none", hdi_prob=0.9)
    assert len(calls) == 1
    row = result.variants.set_index("variant").loc["benchmark-joint"]
    assert row["status"] in ("ok", "warnings") and row["outcome"] == "leaderboard6"
    assert row["n_models"] == 60 and np.isfinite(row["r_hat_max"])
    table = result.table
    assert table["figure"].tolist() == joint_figures()
    assert (table["status"] == row["status"]).all() and (table["interval"] == "90% HDI").all()
    shares = table[table["figure"].str.startswith("company_share_latent[")]
    assert len(shares) == 6 and (shares["note"] == SHARE_NOTE).all()
    assert not (table["figure"] == "company_share").any()
    # the rows are the joint result's answers, at the study's interval
    joint = result.load_fit("benchmark-joint")
    answers = joint.make_tables(0.9, "hdi")
    corr = answers["correlations"].set_index(["benchmark", "other"]).loc[("gpqa", "mmlu_pro")]
    got = table.set_index("figure").loc["developer_corr[gpqa,mmlu_pro]"]
    assert got[["median", "lower", "upper"]].tolist() == pytest.approx(
        corr[["median", "lower", "upper"]].tolist())
    gpqa = answers["benchmark_shares"].set_index("benchmark").loc["gpqa"]
    got = table.set_index("figure").loc["company_share_latent[gpqa]"]
    assert got["median"] == pytest.approx(gpqa["company_share_median"])
    log = (tmp_path / "out" / "logs" / "benchmark-joint.log").read_text(encoding="utf-8")
    assert "residuals 'marginal'" in log and "PSIS-LOO: not computed" in log

    # a second run reuses the cached joint fit (its checksums verified), refits nothing
    again = run_study(study, frame, tmp_path / "out", workers=1, only=["benchmark-joint"],
                      crossval="none", hdi_prob=0.9)
    assert len(calls) == 1 and again.cached == ["benchmark-joint"]
    pd.testing.assert_series_equal(again.table["median"], table["median"])
    # another interval: the cached joint folder is loaded (load_joint) and re-tabulated
    other = run_study(study, frame, tmp_path / "out", workers=1, only=["benchmark-joint"],
                      crossval="none", hdi_prob=0.8)
    assert len(calls) == 1 and (other.table["interval"] == "80% HDI").all()
    assert (other.table["upper"] - other.table["lower"]
            < table["upper"] - table["lower"] + 1e-12).all()


def test_a_failing_joint_variant_keeps_its_named_rows(joint_design, tmp_path, monkeypatch):
    frame, _ = joint_design

    def broken(*args, **kwargs):
        raise RuntimeError("sampler exploded")

    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", broken)
    path = tmp_path / "joint.toml"
    path.write_text(textwrap.dedent(JOINT_STUDY), encoding="utf-8")
    result = run_study(load_study(path), frame, tmp_path / "out", workers=1,
                       only=["benchmark-joint"], crossval="none")
    assert result.failed == ["benchmark-joint"]
    assert result.table["figure"].tolist() == joint_figures()
    assert result.table["error"].str.contains("sampler exploded").all()


@pytest.mark.mcmc
def test_tiny_gpqa_fit_saves_loads_and_gives_a_headline(paper_df, tmp_path):
    from bayes_llm.model.fit import fit_model, load_fit
    from bayes_llm.sensitivity.headline import compute_headline

    majors = paper_df[paper_df["is_major"]].reset_index(drop=True)
    spec = _spec("gpqa").with_changes(sample="hf_leaderboard",
                                      sampler={"draws": 100, "tune": 100, "chains": 1})
    fit = fit_model(spec, majors, backend="pymc", progressbar=False, cores=1)
    assert {"gpqa_acc", "gpqa_norm", "gpqa_logit"} <= set(fit.models.columns)
    folder = fit.save(tmp_path / "fit")
    again = load_fit(folder, df=majors)  # same data hash when recomputed from the table
    assert again.metadata["data_hash"] == fit.metadata["data_hash"]
    table = compute_headline(again)
    assert table["median"].notna().sum() > 10
