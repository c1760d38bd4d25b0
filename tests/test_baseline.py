"""The frequentist baseline reproduces the paper's published figures from the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from bayes_llm.baseline import (
    BaselineSpec,
    contrast_multiplier,
    fit_baseline_ols,
    run_baseline,
    within_spread,
)
from bayes_llm.baseline.ols import COMPUTE_TERM, period_term
from bayes_llm.errors import SpecError

LLAMA, GPT45 = "meta-llama__Llama-2-70b-hf", "GPT-4.5"
FLAN, MINITRON = "google__flan-ul2", "nvidia__Minitron-4B-Base"


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Small least-squares problems run fastest (and steadiest) on one BLAS thread."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def full(paper_df: pd.DataFrame):
    return run_baseline(paper_df)


@pytest.fixture(scope="module")
def majors(paper_df: pd.DataFrame):
    return run_baseline(paper_df, BaselineSpec(sample="majors"))


def _within(actual: float, target: float, rel: float) -> bool:
    return abs(actual / target - 1) <= rel


# --------------------------------------------------------------------------- regression
def test_full_sample_regression(full):
    assert full.nobs == 809
    assert full.beta == pytest.approx(0.789, abs=0.001)
    assert full.beta_se == pytest.approx(0.192, abs=0.002)
    assert full.r2 == pytest.approx(0.526, abs=0.001)
    assert full.n_clusters == 13


def test_majors_regression(majors):
    assert majors.nobs == 122
    assert majors.beta == pytest.approx(0.885, abs=0.001)
    assert majors.r2 == pytest.approx(0.637, abs=0.001)
    # "Other, Small" is absent among the majors, so the first paper group present is the base.
    assert majors.fit.design.base_developer == "Qwen"


def test_cluster_correction_is_the_stata_cr1_factor(full):
    """The published SE needs the G/(G-1)*(N-1)/(N-K) correction; without it SE is ~0.182."""
    fit = full.fit
    raw = fit.result.model.fit(cov_type="cluster",
                               cov_kwds={"groups": fit.design.clusters,
                                         "use_correction": False})
    se_raw = float(raw.bse[COMPUTE_TERM])
    n, k, g = fit.nobs, len(fit.params), fit.n_clusters
    factor = g / (g - 1) * (n - 1) / (n - k)
    assert se_raw * np.sqrt(factor) == pytest.approx(full.beta_se, rel=1e-10)
    assert abs(se_raw - 0.192) > 0.005
    # Inference uses t with G - 1 degrees of freedom.
    assert fit.df_inference == 12


def test_coefficient_table(full):
    coef = full.coefficients.set_index("term")
    assert list(coef.index[:2]) == ["const", COMPUTE_TERM]
    assert coef.loc[COMPUTE_TERM, "block"] == "compute"
    assert (coef["ci_low"] < coef["estimate"]).all() and (coef["estimate"] < coef["ci_high"]).all()
    # 1 + 1 slope + 2 cohort + 12 developer-group coefficients.
    assert len(coef) == 16
    assert not any("Other, Small" in t for t in coef.index)
    assert not any("2022q4-2023q3" in t for t in coef.index)


# ---------------------------------------------------------------------------- Shapley
def test_shapley_full_sample(full):
    shares = full.shapley.set_index("block")["share_of_variance"] * 100
    assert shares["compute"] == pytest.approx(32.0, abs=0.1)
    assert shares["period"] == pytest.approx(2.7, abs=0.1)
    assert shares["developer"] == pytest.approx(18.0, abs=0.1)
    assert shares["residual"] == pytest.approx(47.4, abs=0.1)
    assert shares.sum() == pytest.approx(100.0, abs=1e-9)
    blocks = full.shapley.set_index("block").loc[["compute", "period", "developer"]]
    assert blocks["share_of_variance"].sum() == pytest.approx(full.r2, abs=1e-12)


# ------------------------------------------------------------------------- multipliers
def test_multipliers_reproduce_paper(full):
    assert 7.45 <= full.multiplier("shared_progress") <= 7.60
    for label, target in {"Deepseek": 2.3, "Microsoft": 60.5, "Nvidia": 61.4}.items():
        got = full.multiplier("developer", label)
        assert _within(got, target, 0.02), (label, got)
    spread = full.multiplier("within_spread")
    assert _within(spread, 40.6, 0.02)


def test_within_spread_percentile_definition(full):
    """NumPy's default "linear" percentiles give 40.6x; other definitions land elsewhere."""
    linear = within_spread(full.fit)
    assert linear["n_models"] == 122
    assert round(linear["multiplier"], 1) == 40.6
    stata = within_spread(full.fit, method="averaged_inverted_cdf")
    assert round(stata["multiplier"], 1) != 40.6


def test_multiplier_intervals(full):
    table = full.multipliers
    assert set(table["kind"]) == {"shared_progress", "period", "developer", "within_spread"}
    assert (table["ci_low"] < table["multiplier"]).all()
    assert (table["multiplier"] < table["ci_high"]).all()
    assert len(table[table["kind"] == "developer"]) == 12
    assert set(table.loc[table["kind"] == "developer", "reference"]) == {"Other, Small"}


def test_contrast_multiplier_delta_method(full):
    fit = full.fit
    term = period_term("2024q3-2025q1")
    out = contrast_multiplier(fit, {term: 1.0})
    c, b = fit.params[term], fit.beta
    assert out["multiplier"] == pytest.approx(10 ** (c / b))
    cov = fit.cov.loc[[term, COMPUTE_TERM], [term, COMPUTE_TERM]].to_numpy()
    grad = np.array([1 / b, -c / b**2])
    assert out["se_log10"] == pytest.approx(np.sqrt(grad @ cov @ grad))
    # A contrast between two non-base levels equals the ratio of their multipliers.
    other = period_term("2023q4-2024q2")
    diff = contrast_multiplier(fit, {term: 1.0, other: -1.0})
    ratio = out["multiplier"] / contrast_multiplier(fit, {other: 1.0})["multiplier"]
    assert diff["multiplier"] == pytest.approx(ratio)


# ---------------------------------------------------------------------------- pairwise
def test_pairwise_llama_to_gpt45(full):
    pw = full.pairwise
    pair = pw[(pw["model_a"] == LLAMA) & (pw["model_b"] == GPT45)].set_index("component")
    assert pair.loc["scaling", "share"] * 100 == pytest.approx(113.5, abs=1.0)
    assert pair.loc["residual", "share"] * 100 == pytest.approx(-51.4, abs=1.0)
    assert pair["value"].sum() == pytest.approx(pair["delta_y"].iloc[0], abs=1e-9)
    assert pair["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert pair["contribution_pp"].sum() == pytest.approx(pair["delta_score"].iloc[0] * 100)


def test_pairwise_default_pairs_present(full):
    assert set(zip(full.pairwise["model_a"], full.pairwise["model_b"], strict=True)) == {
        (LLAMA, GPT45), (FLAN, MINITRON)}
    assert full.notes == []


def test_pairwise_missing_models(paper_df):
    res = run_baseline(paper_df, BaselineSpec(sample="hf_leaderboard"))
    assert any("GPT-4.5" in n and "skipped" in n for n in res.notes)
    assert set(res.pairwise["model_b"]) == {MINITRON}
    with pytest.raises(SpecError, match="not in the fitted sample"):
        run_baseline(paper_df, BaselineSpec(sample="hf_leaderboard"), pairs=[(LLAMA, GPT45)])


# -------------------------------------------------------------------------- thresholds
def test_threshold_declines(full):
    thr = full.thresholds.set_index("scope")
    assert _within(thr.loc["majors", "decline"], 51.8, 0.02)
    assert _within(thr.loc["all", "decline"], 8016.0, 0.02)
    assert (thr["first_month"] == "2023-03").all()
    assert (thr["end_month"] == "2025-03").all()
    paths = full.threshold_paths
    for _, path in paths.groupby("scope"):
        running = path["running_min_log10_flop"].to_numpy()
        assert (np.diff(running) <= 0).all()
        assert path["month"].is_monotonic_increasing


# ------------------------------------------------------------------------ other specs
def test_math_outcome_excludes_zero_scores(paper_df):
    spec = BaselineSpec(outcome="math_lvl5")
    fit = fit_baseline_ols(paper_df, spec)
    n_zero = int((paper_df["math_lvl5_acc"] == 0).sum())
    assert n_zero > 0
    assert fit.sample_report.excluded["missing math_lvl5_logit"] == n_zero
    assert fit.nobs == len(paper_df) - n_zero


@pytest.mark.parametrize("period", ["quarter", "month"])
def test_finer_periods_run(paper_df, period):
    res = run_baseline(paper_df, BaselineSpec(period=period))
    levels = sorted(paper_df[period].unique())
    assert res.fit.design.period_levels == levels
    assert res.shapley["share_of_variance"].sum() == pytest.approx(1.0)
    first = res.multipliers[res.multipliers["kind"] == "shared_progress"]["label"].iloc[0]
    assert first == f"{levels[-1]} vs {levels[0]}"


def test_per_developer_fixed_effects(paper_df):
    res = run_baseline(paper_df, BaselineSpec(developers="developer"))
    n_dev = paper_df["developer"].nunique()
    assert len(res.multipliers[res.multipliers["kind"] == "developer"]) == n_dev - 1
    assert res.r2 > 0.526  # finer fixed effects can only raise R²
    assert res.n_clusters == 13  # still clustered by the paper's groups


def test_spec_validation():
    with pytest.raises(SpecError, match="unknown period"):
        BaselineSpec(period="year")
    with pytest.raises(SpecError, match="unknown sample"):
        BaselineSpec(sample="everything")
