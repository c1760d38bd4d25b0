"""Simulation-based calibration: the rank machinery, and a CI check that can fail.

The CI check (issue 12): 40 replications on a tiny design with the NumPy simulator and the
model compiled once; exact KS test per quantity, Holm across quantities, family-wise
alpha 1%. Its false-alarm rate is measured by simulation of calibrated ranks, and a
deliberate miscalibration (a prior scale differing between fit and simulator) must make
it fail. The full-design run is ``python -m bayes_llm.verify.run_sbc`` (results in
``verification/sbc/``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.model import load_spec
from bayes_llm.verify import rankcheck, run_sbc, sbc
from bayes_llm.verify.plots import ecdf_band, ecdf_difference_plot
from bayes_llm.verify.simulate import reduced_design


def _post(values: np.ndarray) -> xr.Dataset:
    return xr.Dataset({"theta": (("chain", "draw"), values)})


def test_fractional_ranks_are_uniform_when_truth_is_a_posterior_draw():
    rng = np.random.default_rng(0)
    us = []
    for _ in range(400):
        draws = rng.normal(size=(2, 50))
        truth = pd.Series({"theta": rng.normal()})
        us.append(sbc.rank_statistics(_post(draws), truth, rng, thin=1)["u"].iloc[0])
    tests = sbc.uniformity_tests(pd.DataFrame({"theta": us}))
    assert tests.loc["theta", "ks_p"] > 0.01
    assert tests.loc["theta", "chi2_p"] > 0.01


def test_rank_statistics_thins_to_ess_and_breaks_ties():
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(size=(2, 400)), axis=1)  # strongly autocorrelated
    row = sbc.rank_statistics(_post(walk), pd.Series({"theta": 0.0}), rng).iloc[0]
    assert row["thin"] > 5 and row["n_ranked"] < 200
    const = sbc.rank_statistics(_post(np.zeros((2, 10))), pd.Series({"theta": 0.0}), rng,
                                thin=1).iloc[0]
    assert 0 <= const["rank"] <= 20 and 0 < const["u"] < 1


def test_uniformity_tests_flag_a_miscalibrated_quantity():
    rng = np.random.default_rng(2)
    ranks = pd.DataFrame({"good": rng.uniform(size=100), "biased": rng.uniform(0.6, 1, 100)})
    tests = sbc.uniformity_tests(ranks)
    assert tests.loc["biased", "chi2_p"] < 1e-6 and tests.loc["biased", "ks_p"] < 1e-6
    assert tests.loc["good", "chi2_p"] > 1e-3
    assert tests.loc["good", "bins"] == 20


def test_ecdf_band_has_its_simultaneous_coverage():
    n = 50
    z, lo, hi = ecdf_band(n, prob=0.95, seed=3)
    rng = np.random.default_rng(4)
    outside = 0
    for _ in range(400):
        u = np.sort(rng.uniform(size=n))
        diff = np.searchsorted(u, z, side="right") / n - z
        outside += bool(np.any((diff < lo) | (diff > hi)))
    assert 0.01 < outside / 400 < 0.10


def test_ecdf_difference_plot_returns_a_figure():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    rng = np.random.default_rng(5)
    ranks = pd.DataFrame({"a": rng.uniform(size=30), "b": rng.uniform(size=30),
                          "c": rng.uniform(size=30)})
    fig = ecdf_difference_plot(ranks, pvalues={"a": 0.5}, ncols=2, title="t")
    assert isinstance(fig, Figure)
    assert sum(ax.get_visible() for ax in fig.axes) == 3
    plt.close(fig)


def test_cli_rejects_an_unknown_spec(tmp_path, capsys):
    code = sbc.main(["--model", "no_such_model", "--out", str(tmp_path / "x"),
                     "--replications", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: no_such_model: no such spec file")
    assert not (tmp_path / "x").exists()


def test_full_design_runner_takes_a_reduced_design(monkeypatch, tmp_path, capsys):
    """--design-models N runs on reduced_design(table, N, seed=--seed); 0 is a user error."""
    seen = {}

    def fake_run(spec, data, **kwargs):
        seen["n_models"] = data.n_models
        raise run_sbc.BayesLLMError("stop after the design")

    monkeypatch.setattr(run_sbc, "run", fake_run)
    args = ["--model", "binomial_developers", "--reps", "1", "--out", str(tmp_path / "x")]
    assert run_sbc.main([*args, "--design-models", "120", "--seed", "4"]) == 2
    assert 110 <= seen["n_models"] <= 130
    assert run_sbc.main([*args, "--design-models", "0"]) == 2
    err = capsys.readouterr().err
    assert "error: --design-models must be between 1 and 809, not 0" in err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------------
# The CI check: exact KS per quantity, Holm across quantities, family-wise alpha = 1%.


def test_exact_ks_pvalue_matches_scipy():
    from scipy import stats

    u = np.random.default_rng(0).uniform(size=37)
    assert rankcheck.ks_pvalue(u) == pytest.approx(
        stats.kstest(u, "uniform", method="exact").pvalue, rel=1e-10)


def test_holm_adjustment():
    p = pd.Series({"a": 0.01, "b": 0.04, "c": 0.03, "d": np.nan})
    adjusted = rankcheck.holm(p)
    assert adjusted["a"] == pytest.approx(0.03) and adjusted["c"] == pytest.approx(0.06)
    assert adjusted["b"] == pytest.approx(0.06) and np.isnan(adjusted["d"])


@pytest.mark.parametrize(("reps", "quantities", "correlation"), [
    (40, 7, 0.0), (40, 7, 0.6),
    pytest.param(200, 45, 0.0, marks=pytest.mark.slow)])  # the full-design table (~20 s)
def test_false_alarm_rate_of_the_check_is_about_one_percent(reps, quantities, correlation):
    """Simulated calibrated ranks: the check fails in ~1% of runs (at most 1%, Holm).

    Bounds: 99.9% binomial interval around 1% for the number of simulations.
    """
    n_sim = 20000 if reps < 100 else 4000
    rate, rejections, _ = rankcheck.false_alarm_rate(reps, quantities, n_sim=n_sim,
                                                     correlation=correlation, seed=reps)
    lower, upper = stats_binom_interval(n_sim, 0.01)
    assert rejections <= upper, rate
    if correlation == 0.0:  # independent quantities: Bonferroni/Holm is nearly exact
        assert rejections >= lower, rate


def stats_binom_interval(n: int, p: float, level: float = 0.999) -> tuple[int, int]:
    from scipy import stats

    return (int(stats.binom.ppf((1 - level) / 2, n, p)),
            int(stats.binom.ppf(1 - (1 - level) / 2, n, p)))


def test_check_rejects_non_uniform_ranks_and_passes_uniform_ones():
    rng = np.random.default_rng(7)
    ranks = pd.DataFrame({f"q{i}": rng.uniform(size=60) for i in range(6)})
    assert rankcheck.check_ranks(ranks).passed
    ranks["q3"] = rng.beta(2, 2, size=60)  # too narrow a posterior: ranks pile in the middle
    ranks["q4"] = rng.uniform(0, 0.7, size=60)  # biased posterior
    check = rankcheck.check_ranks(ranks)
    assert check.rejected == ["q4"] or set(check.rejected) == {"q3", "q4"}
    assert "FAIL" in check.to_text()


@pytest.fixture(scope="module")
def ci_setup(paper_df):
    """A tiny design (~26 models, 3 cohorts) and the model compiled once for nutpie."""
    from bayes_llm.model import prepare_data
    from bayes_llm.verify.reuse import ReusableSampler

    spec = load_spec("logit_normal_groups").with_changes(
        name="ci_sbc", developer="none", period_effect="exchangeable")
    data = prepare_data(reduced_design(paper_df, 20, seed=1, min_per_period=6), spec)
    return spec, data, ReusableSampler(spec, data)


CI_REPS = 40
CI_MCMC = {"draws": 100, "tune": 150, "chains": 1}


@pytest.mark.mcmc
def test_ci_sbc_check_passes_the_calibrated_model(ci_setup):
    """Simulator and fit agree: the check passes (it would fail by chance in ~1% of seeds)."""
    spec, data, sampler = ci_setup
    state = run_sbc.run(spec, data, reps=CI_REPS, seed=11, derived=False, sampler=sampler,
                        log=lambda line: None, **CI_MCMC)
    assert state.fits["error"].eq("").all(), state.fits
    check = rankcheck.check_ranks(state.ranks())
    assert {"alpha", "beta", "sigma", "sigma_period", "shared_progress"} <= set(
        check.table.index)
    assert check.passed, check.to_text()


@pytest.mark.mcmc
def test_ci_sbc_check_rejects_an_injected_miscalibration(ci_setup):
    """The fit's prior scale of sigma_period is 4x the simulator's: the check must fail.

    (The simulator draws sigma_period ~ HalfNormal(0.125) while the fitted model keeps
    HalfNormal(0.5): the same mismatch as a prior scale quadrupled in the fit.)
    """
    spec, data, sampler = ci_setup
    sim = spec.with_changes(priors={"sigma_period": {"dist": "HalfNormal", "sigma": 0.125}})
    state = run_sbc.run(spec, data, reps=CI_REPS, seed=11, derived=False, sampler=sampler,
                        sim_spec=sim, log=lambda line: None, **CI_MCMC)
    check = rankcheck.check_ranks(state.ranks())
    assert not check.passed
    assert "sigma_period" in check.rejected, check.to_text()
    assert check.table.loc["sigma_period", "mean_u"] < 0.4  # truth below the posterior


def test_numpy_simulator_matches_the_documented_prior(paper_df):
    """Moments of the NumPy simulator's draws against the documented priors."""
    from bayes_llm.model import prepare_data
    from bayes_llm.verify.generate import draw_parameters

    spec = load_spec("binomial_developers")
    data = prepare_data(reduced_design(paper_df, 60, seed=2), spec)
    rng = np.random.default_rng(0)
    draws = [draw_parameters(spec, data, rng) for _ in range(4000)]
    beta = np.array([d["beta"] for d in draws])
    sd = np.array([d["sigma_developer"] for d in draws])
    dev = np.array([d["developer_effect"] for d in draws])
    assert abs(beta.mean()) < 0.06 and beta.std() == pytest.approx(1.0, rel=0.05)
    assert sd.mean() == pytest.approx(np.sqrt(2 / np.pi), rel=0.05)  # HalfNormal(1)
    np.testing.assert_allclose(dev.sum(axis=1), 0.0, atol=1e-9)  # sum-to-zero
    n = dev.shape[1]  # ZeroSumNormal: u_k / (sigma sqrt(1 - 1/n)) ~ Normal(0, 1)
    assert np.mean(dev[:, 0] ** 2 / (sd**2 * (1 - 1 / n))) == pytest.approx(1.0, abs=0.08)


@pytest.mark.slow
@pytest.mark.mcmc
def test_full_design_sbc_default_spec(tmp_path):
    """The acceptance run (200 replications on the 809 models): hours on 2 cores."""
    code = run_sbc.main(["--model", "binomial_developers", "--reps", "200",
                         "--out", str(tmp_path / "sbc")])
    assert code == 0


@pytest.mark.mcmc
def test_full_design_runner_saves_resumes_and_refuses_other_settings(ci_setup, tmp_path):
    """The runner saves after every replication and continues where it stopped."""
    from bayes_llm.errors import BayesLLMError

    spec, data, sampler = ci_setup
    out = tmp_path / "run"
    kwargs = {"draws": 50, "tune": 50, "chains": 2, "seed": 4, "out": out, "derived": False,
              "sampler": sampler, "log": lambda line: None}
    first = run_sbc.run(spec, data, reps=2, **kwargs)
    assert sorted(p.name for p in out.iterdir()) >= ["coverage.csv", "ecdf.png", "fits.csv",
                                                     "ranks.csv", "records.csv",
                                                     "settings.json", "summary.md",
                                                     "tests.csv"]
    lines: list[str] = []
    more = run_sbc.run(spec, data, reps=3, **{**kwargs, "log": lines.append})
    assert len(lines) == 1 and "replication 2 (3/3)" in lines[0]  # only the new one ran
    pd.testing.assert_frame_equal(more.records[more.records["replication"] < 2]
                                  .reset_index(drop=True), first.records)
    assert {"inside_hdi", "u", "rank"} <= set(more.records.columns)
    with pytest.raises(BayesLLMError, match="other settings"):
        run_sbc.run(spec, data, reps=4, **{**kwargs, "draws": 60})
    assert "| spec |" in run_sbc.index_text(tmp_path)
    assert run_sbc.main(["--report", "--out", str(out)]) == 0


def test_summary_of_a_run_whose_fits_all_raised():
    """A run where every fit raised is summarised (counted as raised), not a KeyError."""
    fits = pd.DataFrame([run_sbc._fit_row(i, None, {}, 1.0, "KeyError: 'y'") for i in range(2)])
    state = run_sbc.SBCRun(pd.DataFrame(), fits, {"spec": "s", "n_models": 40, "chains": 2,
                                                   "draws": 50, "tune": 50})
    text = run_sbc.summary_text(state)
    assert "2 fits raised (no ranks); 0 failed the full diagnostics gate" in text
    assert "2 did not converge" in text


@pytest.mark.slow
@pytest.mark.mcmc
def test_full_design_runner_ranks_an_integrated_spec(tmp_path):
    """An integrated spec's fits get eta drawn given the simulated counts, then ranked.

    Before ``draw_integrated_effects`` was called here, every fit of an integrated spec
    raised (the headline figures need eta; its posterior has only eta_mean): no ranks.
    """
    out = tmp_path / "sbc"
    spec = Path(__file__).resolve().parent.parent / "verification/specs/sbc_collapse_lineage.toml"
    run_sbc.main(["--model", str(spec), "--reps", "2",
                  "--design-models", "40", "--draws", "50", "--tune", "50",
                  "--out", str(out)])
    fits = pd.read_csv(out / "fits.csv", keep_default_na=False)
    records = pd.read_csv(out / "records.csv")
    assert (fits["error"] == "").all()
    assert {"company_share_superpop", "sigma_collapse_lineage"} <= set(records["quantity"])
