"""The NumPy intervals and convergence diagnostics of bayes_llm.model.draw_stats.

They replace ArviZ in the headline (issue 14: importing arviz_stats cost ~0.8 s), so each is
checked against arviz_stats itself on draws where the definitions matter: autocorrelated
chains, odd draw counts (split chains drop the middle draw), ties (average ranks), one
chain, and chains that disagree. A deliberate error (R-hat without splitting, or the tail
ESS at ArviZ's default ci_prob quantiles instead of 5%/95%) is shown to be caught.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_llm.model import draw_stats as ds

az = pytest.importorskip("arviz_stats")


def _ar1(rng, chains: int, draws: int, rho: float, drift: float = 0.0) -> np.ndarray:
    x = np.zeros((chains, draws))
    noise = rng.normal(size=(chains, draws))
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x + drift * np.arange(chains)[:, None]


def _cases():
    rng = np.random.default_rng(20261202)
    return {
        "well mixed": _ar1(rng, 4, 1000, 0.3),
        "sticky, odd draws": _ar1(rng, 4, 1001, 0.95),
        "two short chains": _ar1(rng, 2, 100, 0.0),
        "chains disagree": _ar1(rng, 4, 500, 0.3, drift=1.0),
        "ties": np.round(_ar1(rng, 4, 400, 0.6)),
        "counts": rng.poisson(2.0, size=(3, 200)).astype(float),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_rhat_and_ess_equal_arviz(name):
    draws = _cases()[name]
    da = xr.DataArray(draws, dims=("chain", "draw"))
    assert ds.rank_rhat(draws) == pytest.approx(float(az.rhat(da)), rel=1e-10)
    assert ds.ess_bulk(draws) == pytest.approx(float(az.ess(da, method="bulk")), rel=1e-10)
    tail = float(az.ess(da, method="tail", prob=(0.05, 0.95)))
    assert ds.ess_tail(draws) == pytest.approx(tail, rel=1e-10)


def test_one_chain_has_ess_but_no_rhat():
    draws = _cases()["well mixed"][:1]
    assert np.isnan(ds.rank_rhat(draws))
    da = xr.DataArray(draws, dims=("chain", "draw"))
    assert ds.ess_bulk(draws) == pytest.approx(float(az.ess(da, method="bulk")), rel=1e-10)


def test_disagreeing_chains_fail_rhat_and_unsplit_rhat_would_miss_a_trend():
    assert ds.rank_rhat(_cases()["chains disagree"]) > 1.1
    # a trend inside each chain: the chains agree with each other, so only splitting
    # each chain in halves reveals it (the deliberate error: no split)
    trend = np.tile(np.linspace(-3, 3, 400), (4, 1)) + np.random.default_rng(1).normal(
        size=(4, 400))
    z = ds._z_scale(trend)
    assert ds._basic_rhat(z) < 1.01  # unsplit: looks converged
    assert ds.rank_rhat(trend) > 1.1  # split: caught


def test_tail_ess_uses_the_5_and_95_percent_quantiles():
    draws = _cases()["well mixed"]
    da = xr.DataArray(draws, dims=("chain", "draw"))
    ours = ds.ess_tail(draws)
    at_89 = float(az.ess(da, method="tail"))  # ArviZ's default: its ci_prob (0.89)
    assert ours == pytest.approx(float(az.ess(da, method="tail", prob=(0.05, 0.95))))
    assert abs(ours - at_89) > 10  # the two definitions differ: the test can tell


@pytest.mark.parametrize("prob", [0.5, 0.89, 0.94])
def test_intervals_equal_arviz(prob):
    draws = _cases()["sticky, odd draws"]
    da = xr.DataArray(draws, dims=("chain", "draw"))
    np.testing.assert_allclose(ds.hdi_bounds(draws.ravel(), prob),
                               az.hdi(da, prob=prob).values, rtol=0, atol=0)
    np.testing.assert_allclose(ds.eti_bounds(draws.ravel(), prob),
                               az.eti(da, prob=prob).values, rtol=1e-12)


def test_hdi_is_the_shortest_interval_and_nan_rows_stay_nan():
    rng = np.random.default_rng(3)
    skewed = rng.exponential(size=4000)
    lo, hi = ds.hdi_bounds(skewed, 0.9)
    assert lo <= np.quantile(skewed, 0.01)  # an exponential's HDI starts near 0
    eti = ds.eti_bounds(skewed, 0.9)
    assert hi - lo < eti[1] - eti[0]
    rows = np.vstack([skewed, skewed])
    rows[1, 5] = np.nan
    out = ds.hdi_bounds(rows, 0.9)
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1]))


def test_summary_interval_matches_arviz_with_extra_dims():
    from bayes_llm.derived.summary import interval

    rng = np.random.default_rng(4)
    da = xr.DataArray(rng.gamma(2.0, size=(2, 300, 3)), dims=("chain", "draw", "developer"),
                      coords={"developer": ["a", "b", "c"], "chain": [0, 1]}, name="effect")
    for kind, func in (("hdi", az.hdi), ("eti", az.eti)):
        ours = interval(da, hdi_prob=0.9, ci_kind=kind)
        xr.testing.assert_allclose(ours, func(da, prob=0.9, dim=["chain", "draw"]))
        assert ours.dims == ("developer", "ci_bound") and ours.name == "effect"
        assert ours["ci_bound"].attrs == {"ci_kind": kind, "ci_prob": 0.9}
