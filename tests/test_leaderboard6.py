"""The joint six-benchmark model: spec checks, data shapes, derived figures, recovery."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_llm.derived.leaderboard6 import common_share, correlation_table, developer_summary
from bayes_llm.derived.summary import interval
from bayes_llm.errors import BayesLLMError, SpecError
from bayes_llm.model.design import prepare_data
from bayes_llm.model.leaderboard6 import (
    build_leaderboard6_model,
    count_noise_variance,
    fit_leaderboard6,
    prepare_leaderboard6_data,
    squeeze_unit,
)
from bayes_llm.model.spec import load_spec
from bayes_llm.verify.leaderboard6_sim import simulate_leaderboard6

TRUE_CORR = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])

#: Compile mode of the structure checks: no C/numba compilation (seconds, not minutes,
#: with a cold compile cache).
FAST = "FAST_COMPILE"


def test_bundled_spec_and_unsupported_structures():
    spec = load_spec("leaderboard6")
    assert spec.outcome == "leaderboard6"
    with pytest.raises(SpecError, match="needs developer = 'developer'"):
        spec.with_changes(developer="group")
    with pytest.raises(SpecError, match="does not support developer_slopes"):
        spec.with_changes(developer_slopes=True)


def test_single_outcome_pipeline_refuses_leaderboard6(paper_df):
    with pytest.raises(BayesLLMError, match="prepare_leaderboard6_data"):
        prepare_data(paper_df, load_spec("leaderboard6"))


def test_simulated_data_shapes_and_missing_scores():
    frame, long, truth = simulate_leaderboard6(n_models=40, n_developers=5, seed=3,
                                               missing_share=0.2)
    spec = load_spec("leaderboard6")
    data = prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    observed = long["score"].notna()
    assert data.k.size + data.y.size == int(observed.sum())
    assert data.y.size == int((observed & (long["benchmark"] == "ifeval")).sum())
    assert data.n_models == 40 and len(data.coords["developer"]) == 5
    assert data.coords["count_benchmark"] == ["gpqa", "mmlu_pro"]
    assert (data.k <= data.n).all() and (data.k >= 0).all()
    assert ((data.y > 0) & (data.y < 1)).all()
    model = build_leaderboard6_model(data, spec)
    names = {v.name for v in model.free_RVs}
    assert {"alpha", "beta", "ability", "ability_loading", "developer_chol", "eta",
            "sigma_model", "ifeval_precision", "period_effect_z"} <= names  # the spec's
    assert "period_effect" in model.named_vars  # gamma itself, a deterministic
    assert model.named_vars_to_dims["developer_effect"] == ("developer", "benchmark")
    assert model.named_vars_to_dims["eta"] == ("count_obs",)
    assert [rv.name for rv in model.observed_RVs] == ["correct", "ifeval_score"]
    other = build_leaderboard6_model(data, spec.with_changes(
        developer_parameterisation="centred"), residuals="non_centred")
    names = {v.name for v in other.free_RVs}
    assert {"eta_z", "developer_raw"} <= names and not {"eta", "developer_z"} & names
    mixed = build_leaderboard6_model(data, spec, residuals="mixed")
    names = {v.name for v in mixed.free_RVs}
    assert {"eta_z", "eta_centred"} <= names  # gpqa non-centred, mmlu_pro centred
    assert mixed.named_vars_to_dims["eta"] == ("count_obs",)
    marginal = build_leaderboard6_model(data, spec, residuals="marginal")
    names = {v.name for v in marginal.free_RVs}
    assert "sigma_model" in names and not {"eta", "eta_z", "eta_centred"} & names
    assert [rv.name for rv in marginal.observed_RVs] == ["correct", "ifeval_score"]
    assert np.isfinite(marginal.compile_logp(mode=FAST)(marginal.initial_point()))
    weak = build_leaderboard6_model(data, spec, residuals="weak_marginal")
    names = {v.name for v in weak.free_RVs}
    assert "eta_centred" in names and not {"eta", "eta_z"} & names  # mmlu_pro centred
    assert weak.named_vars_to_dims["eta_centred"] == ("count_obs_centred",)
    assert [rv.name for rv in weak.observed_RVs] == ["correct", "correct_weak", "ifeval_score"]
    assert np.isfinite(weak.compile_logp(mode=FAST)(weak.initial_point()))
    with pytest.raises(BayesLLMError, match="residuals must be one of"):
        build_leaderboard6_model(data, spec, residuals="sideways")
    with pytest.raises(BayesLLMError, match="ability must be one of"):
        build_leaderboard6_model(data, spec, ability_scaling="sideways")


def test_data_hash_covers_every_observed_score():
    """A joint fit's data are its scores too: changing one count or one IFEval score, or
    the benchmarks, changes the hash (a study's cached joint fit is keyed on it)."""
    frame, long, truth = simulate_leaderboard6(n_models=30, n_developers=4, seed=5)
    spec = load_spec("leaderboard6")
    base = prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    assert base.data_hash == prepare_leaderboard6_data(
        frame, spec, long.copy(), benchmarks=truth.benchmarks).data_hash
    for bench in ("gpqa", "ifeval"):
        changed = long.copy()
        row = changed.index[(changed["benchmark"] == bench) & changed["score"].notna()][0]
        changed.loc[row, "score"] = min(changed.loc[row, "score"] + 0.05, 0.99)
        other = prepare_leaderboard6_data(frame, spec, changed, benchmarks=truth.benchmarks)
        assert other.data_hash != base.data_hash, bench
    fewer = prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks[1:])
    assert fewer.data_hash != base.data_hash


@pytest.mark.parametrize("scaling", ["scaled", "conditional"])
def test_scaled_ability_keeps_the_unit_prior(scaling):
    """theta = centred(m + h z), m + h z ~ Normal(0, I) given the other parameters (``scaled``:
    m = 0; ``conditional``: m the conditional mean, which depends on the developer effects,
    slopes and scales): a change of variables, theta's prior intact."""
    import pymc as pm

    frame, long, truth = simulate_leaderboard6(n_models=30, n_developers=4, seed=5)
    spec = load_spec("leaderboard6")
    data = prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    model = build_leaderboard6_model(data, spec, residuals="marginal",
                                     ability_scaling=scaling)
    names = {v.name for v in model.free_RVs}
    assert "ability_z" in names and "ability" not in names
    assert model.named_vars_to_dims["ability"] == ("model",)
    assert np.isfinite(model.compile_logp(mode=FAST)(model.initial_point()))
    with model:
        prior = pm.sample_prior_predictive(draws=2000, var_names=["ability"],
                                           random_seed=1, compile_kwargs={"mode": FAST})
    theta = prior["prior"]["ability"].values.reshape(2000, -1)
    assert np.abs(theta.sum(axis=1)).max() < 1e-8  # sum-to-zero
    # ZeroSumNormal(1) over 30 models: each element has variance 29/30
    assert theta.var() == pytest.approx(29 / 30, rel=0.05)
    # h is per model, yet the best- and the least-measured models keep the same prior
    counts = np.bincount(data.count_model, minlength=data.n_models)
    noise = np.bincount(data.count_model, weights=1.0 / count_noise_variance(data),
                        minlength=data.n_models)
    for i in (int(np.argmax(noise)), int(np.argmin(counts))):
        assert theta[:, i].var() == pytest.approx(29 / 30, rel=0.12)


@pytest.mark.parametrize(("mu", "sigma", "chance"), [(-2.5, 0.16, 0.25), (0.4, 0.3, 0.33),
                                                     (-4.0, 1.2, 0.0), (1.5, 0.8, 0.1)])
def test_marginal_counts_match_logit_normal_binomial(mu, sigma, chance):
    """The moment-matched beta-binomial has the logit-normal binomial's mean and variance."""
    from scipy import integrate, stats

    from bayes_llm.model.leaderboard6 import marginal_count_moments

    def p_of(e):
        return chance + (1 - chance) / (1 + np.exp(-e))

    def moment(f):
        return integrate.quad(lambda e: f(p_of(e)) * stats.norm.pdf(e, mu, sigma),
                              mu - 12 * sigma, mu + 12 * sigma)[0]

    mean_true = moment(lambda p: p)
    var_true = moment(lambda p: (p - mean_true) ** 2)
    mean_p, precision = marginal_count_moments(np.array(mu), np.array(sigma), chance)
    # 9 Gauss-Hermite nodes: exact to ~1e-6 (relative) up to sigma ~ 1
    assert mean_p == pytest.approx(mean_true, rel=1e-5)
    assert mean_p * (1 - mean_p) / (precision + 1) == pytest.approx(var_true, rel=1e-3)
    n = 1000  # the count: mean n E p, variance n E p (1 - E p) + n (n - 1) Var p
    bb = stats.betabinom(n, mean_p * precision, (1 - mean_p) * precision)
    assert bb.mean() == pytest.approx(n * mean_true, rel=1e-5)
    assert bb.var() == pytest.approx(n * mean_true * (1 - mean_true)
                                     + n * (n - 1) * var_true, rel=1e-3)
    # the tensor version (used in the model) gives the same numbers
    import pytensor.tensor as pt

    m_t, phi_t = marginal_count_moments(pt.as_tensor(mu), pt.as_tensor(sigma), chance)
    assert float(m_t.eval()) == pytest.approx(float(mean_p))
    assert float(phi_t.eval()) == pytest.approx(float(precision), rel=1e-8)


def test_real_design_shapes(paper_df):
    spec = load_spec("leaderboard6")
    data = prepare_leaderboard6_data(paper_df, spec)
    assert data.n_models == 809 and len(data.benchmarks) == 6
    # 798 matched models x 6 benchmarks + 11 with MMLU-Pro and MATH from the paper
    assert data.k.size + data.y.size == 798 * 6 + 11 * 2
    assert data.y.size == 798
    assert squeeze_unit(np.array([0.0, 1.0]), 541).tolist() == [0.5 / 541, 540.5 / 541]


def test_common_share_bounds_and_correlation_table():
    rng = np.random.default_rng(0)
    bench = ["a", "b", "c"]
    corr = np.broadcast_to(TRUE_CORR, (2, 50, 3, 3))
    post = xr.Dataset({
        "developer_corr": (("chain", "draw", "benchmark", "benchmark_b"), corr),
        "sigma_developer": (("chain", "draw", "benchmark"), rng.uniform(0.5, 1, (2, 50, 3))),
    }, coords={"benchmark": bench, "benchmark_b": bench})
    share = common_share(post)
    assert ((share > 1 / 3) & (share <= 1)).all()
    # equal SDs and perfect correlation: one direction holds all the variance
    post1 = post.assign(developer_corr=post["developer_corr"] * 0 + 1,
                        sigma_developer=post["sigma_developer"] * 0 + 0.7)
    assert np.allclose(common_share(post1), 1.0)
    table = correlation_table(post)
    assert len(table) == 3
    assert table.set_index(["benchmark", "other"]).loc[("a", "b"), "median"] == \
        pytest.approx(0.8)
    assert list(developer_summary(post)["quantity"])[-1] == "developer_common_share"


@pytest.mark.slow  # 40 s on an idle machine, 4 min under load: kept out of the default suite
@pytest.mark.mcmc
@pytest.mark.parametrize(("residuals", "ability", "intercept", "developers"), [
    ("centred", "unit", "equal", "non_centred"),
    ("marginal", "scaled", "equal", "non_centred"),
    ("marginal", "scaled", "models", "non_centred"),
    # the command's default (every simulated developer has several models: all centred;
    # the spec's partially non-centred period effects in every case)
    ("marginal", "conditional", "models", "partial"),
])
def test_recovery_of_developer_correlations(residuals, ability, intercept, developers):
    """3 benchmarks x 150 models x 15 developers, known correlations.

    ~20 quantities are checked at 94%, so a miss now and then is expected of a calibrated
    fit. Measured: at simulation seed 1 the IFEval loading (true 0.55, HDI 0.28-0.50) and
    precision fell just outside; at seeds 2, 3 and 4 the loadings, precision and developer
    SDs were all inside. The test uses seed 2 and tolerates a few misses among the
    non-correlation quantities, so it does not depend on that seed.
    """
    frame, long, truth = simulate_leaderboard6(corr=TRUE_CORR, seed=2)
    spec = load_spec("leaderboard6").with_changes(
        sampler={"draws": 300, "tune": 300, "chains": 2, "seed": 2},
        developer_parameterisation=developers)
    data = prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    dt = fit_leaderboard6(data, spec, cores=2, residuals=residuals, ability_scaling=ability,
                          intercept=intercept)
    post = dt["posterior"].to_dataset()
    outside = []
    for i, a in enumerate(truth.benchmarks):
        for j, b in enumerate(truth.benchmarks):
            if j <= i:
                continue
            lo, hi = interval(post["developer_corr"].sel(benchmark=a, benchmark_b=b)).values
            if not lo <= TRUE_CORR[i, j] <= hi:
                outside.append((f"corr[{a},{b}]", TRUE_CORR[i, j], lo, hi))
    counted = [truth.benchmarks.index(b) for b in data.coords["count_benchmark"]]
    checks = {"alpha": truth.alpha, "beta": truth.beta,
              "ability_loading": truth.ability_loading,
              "sigma_developer": truth.sigma_developer,
              "sigma_model": truth.sigma_model[counted]}
    for name, true in checks.items():
        bounds = interval(post[name]).transpose(..., "ci_bound").values
        for value, (lo, hi) in zip(true, bounds, strict=True):
            if not lo <= value <= hi:
                outside.append((name, value, lo, hi))
    lo, hi = interval(post["ifeval_precision"]).values
    if not lo <= truth.ifeval_precision <= hi:
        outside.append(("ifeval_precision", truth.ifeval_precision, lo, hi))
    # the three correlations, the question this model exists for, must all be covered; of
    # the other ~17 quantities a calibrated fit misses each with probability 0.06, so
    # allow up to 3 misses (P(more than 3) ~ 0.02 under calibration) instead of none
    corr_misses = [o for o in outside if o[0].startswith("corr[")]
    assert not corr_misses, f"true correlations outside their 94% intervals: {corr_misses}"
    assert len(outside) <= 3, f"true values outside their 94% intervals: {outside}"
    # informative, not only a wide posterior: the strong correlation is clearly positive
    assert float((post["developer_corr"].sel(benchmark="ifeval", benchmark_b="gpqa") > 0)
                 .mean()) > 0.95
