"""Simulation-based calibration: the rank machinery, and a short run of the real pipeline.

The full run (100+ replications) is `python -m bayes_llm.verify.sbc` and the slow test
below; CI runs 3 replications with tiny draws per model and only checks that nothing is
grossly miscalibrated (no quantity with every rank in one extreme decile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.errors import BayesLLMError
from bayes_llm.model import load_spec
from bayes_llm.verify import sbc
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


@pytest.fixture(scope="module")
def small_design(paper_df):
    return reduced_design(paper_df, 60, seed=1, min_per_period=6)


@pytest.mark.mcmc
@pytest.mark.parametrize("spec_name", ["binomial_developers", "logit_normal_groups"])
def test_short_sbc_is_not_grossly_miscalibrated(small_design, spec_name, tmp_path):
    lines: list[str] = []
    spec = load_spec(spec_name)
    kwargs = {"replications": 3, "draws": 100, "tune": 150, "chains": 2, "seed": 11,
              "out": tmp_path / "sbc"}
    result = sbc.run_sbc(spec, small_design, log=lines.append, **kwargs)
    assert len(lines) == 3 and "ETA" in lines[-1]  # progress, one line per replication
    assert result.fits["error"].eq("").all(), result.fits
    assert result.n_replications == 3
    ranks = result.ranks()
    expected = {"alpha", "beta", "sigma_developer", "shared_progress", "developer_share"}
    assert expected <= set(ranks.columns)
    assert ranks.columns.str.startswith("period_contrast").sum() == 2
    assert ((ranks > 0) & (ranks < 1)).all().all()
    assert result.extreme_quantities() == [], result.tests()
    saved = sbc.SBCResult.load(tmp_path / "sbc")
    pd.testing.assert_frame_equal(saved.ranks(), ranks, check_names=False)
    assert (tmp_path / "sbc" / "ecdf.png").is_file()
    assert "3 replications" in (tmp_path / "sbc" / "summary.txt").read_text()
    # resuming a finished run refits nothing; other settings are refused before any fit
    again = sbc.run_sbc(spec, small_design, resume=True, log=lines.append, **kwargs)
    pd.testing.assert_frame_equal(again.ranks(), ranks)
    with pytest.raises(BayesLLMError, match="other settings"):
        sbc.run_sbc(spec, small_design, resume=True, **{**kwargs, "draws": 70})


@pytest.mark.mcmc
def test_resume_extends_a_saved_run_without_refitting(small_design, tmp_path):
    spec = load_spec("logit_normal_groups")
    kwargs = {"draws": 60, "tune": 100, "chains": 2, "seed": 3, "out": tmp_path / "r"}
    first = sbc.run_sbc(spec, small_design, replications=1, progress=False, **kwargs)
    lines: list[str] = []
    extended = sbc.run_sbc(spec, small_design, replications=2, resume=True,
                           log=lines.append, **kwargs)
    assert lines[0].endswith("resuming: 1 of 2 replications done") and len(lines) == 2
    assert extended.n_replications == 2 and len(extended.fits) == 2
    pd.testing.assert_frame_equal(extended.records[extended.records["replication"] == 0],
                                  first.records)
    with pytest.raises(BayesLLMError, match="already holds 2 replications"):
        sbc.run_sbc(spec, small_design, replications=1, resume=True, **kwargs)
    # a run whose saved truths differ from the prior draws is not continued
    records = (tmp_path / "r" / "records.csv")
    table = pd.read_csv(records)
    table.loc[0, "truth"] += 1.0
    records.write_text(table.to_csv(index=False))
    with pytest.raises(BayesLLMError, match="prior draws no longer match"):
        sbc.run_sbc(spec, small_design, replications=3, resume=True, **kwargs)


def test_cli_rejects_an_unknown_spec(tmp_path, capsys):
    code = sbc.main(["--model", "no_such_model", "--out", str(tmp_path / "x"),
                     "--replications", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: no_such_model: no such spec file")
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.mcmc
def test_full_sbc_binomial(tmp_path, capsys):
    code = sbc.main(["--model", "binomial_developers", "--replications", "100",
                     "--draws", "500", "--tune", "500", "--out", str(tmp_path / "sbc")])
    assert code == 0
    result = sbc.SBCResult.load(tmp_path / "sbc")
    tests = result.tests()
    assert (tests["chi2_p"] > 1e-3).all(), tests
    assert result.extreme_quantities() == []
