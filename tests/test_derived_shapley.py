"""The Bayesian-bootstrap Shapley band and the ``weights`` option of the baseline Shapley."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from bayes_llm.baseline import BaselineSpec, fit_baseline_ols, shapley_r2, subset_r2
from bayes_llm.derived.paper import ols_point_fit
from bayes_llm.derived.shapley_band import (
    SHAPLEY_PARTS,
    Categorical,
    dirichlet_weights,
    shapley_draws,
    shapley_inputs,
    shapley_point,
    weighted_shapley,
    weighted_subset_r2,
)
from bayes_llm.model import load_spec


@pytest.fixture(scope="module")
def group_point(paper_df):
    """The paper's OLS laid out as a one-draw fit (13 groups): no MCMC needed."""
    return ols_point_fit(fit_baseline_ols(paper_df, BaselineSpec()), load_spec("paper_mirror"))


@pytest.fixture(scope="module")
def developer_point(paper_df):
    ols = fit_baseline_ols(paper_df, BaselineSpec(developers="developer"))
    return ols_point_fit(ols, load_spec("binomial_developers"))


def _dense(blocks):
    return {k: (b.dummies() if isinstance(b, Categorical) else b) for k, b in blocks.items()}


def test_equal_weights_reproduce_the_paper(group_point):
    shares = shapley_point(group_point)
    assert 100 * shares["compute"] == pytest.approx(32.0, abs=0.1)
    assert 100 * shares["period"] == pytest.approx(2.7, abs=0.1)
    assert 100 * shares["developer"] == pytest.approx(18.0, abs=0.1)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    y, blocks, _ = shapley_inputs(group_point)
    dense = _dense(blocks)
    unweighted = shapley_r2(y, dense)
    equal = shapley_r2(y, dense, weights=np.full(len(y), 3.0))
    for name in unweighted:
        assert equal[name] == pytest.approx(unweighted[name], abs=1e-12)
        assert shares[name] == pytest.approx(unweighted[name], abs=1e-12)


@pytest.mark.parametrize("coding", ["group_point", "developer_point"])
def test_fast_weighted_path_matches_dense_wls(coding, request):
    fit = request.getfixturevalue(coding)
    y, blocks, _ = shapley_inputs(fit)
    w = dirichlet_weights(1, len(y), seed=7)[0]
    fast = weighted_subset_r2(y, blocks, w)
    dense = subset_r2(y, _dense(blocks), weights=w)
    assert set(fast) == set(dense)
    for subset, value in dense.items():
        assert fast[subset] == pytest.approx(value, abs=1e-9), subset


def test_zero_weight_equals_dropping_the_model():
    rng = np.random.default_rng(1)
    n = 40
    x = rng.normal(size=n)
    g = rng.integers(0, 3, size=n)
    y = 0.5 * x + 0.3 * g + rng.normal(size=n)
    w = np.ones(n)
    w[:5] = 0.0
    blocks = {"x": x, "g": Categorical(g)}
    kept = {"x": x[5:], "g": Categorical(g[5:])}
    weighted = weighted_shapley(y, blocks, w)
    dropped = weighted_shapley(y[5:], kept)
    for name in weighted:
        assert weighted[name] == pytest.approx(dropped[name], abs=1e-12)
    dense = shapley_r2(y, _dense(blocks), weights=w)
    assert dense["x"] == pytest.approx(dropped["x"], abs=1e-12)


def test_baseline_weights_are_validated():
    y = np.arange(5.0)
    with pytest.raises(ValueError, match="entries"):
        shapley_r2(y, {"x": y**2}, weights=np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        shapley_r2(y, {"x": y**2}, weights=-np.ones(5))


def test_dirichlet_weights():
    w = dirichlet_weights(50, 6, seed=3)
    assert w.shape == (50, 6) and np.allclose(w.sum(axis=1), 1.0) and (w > 0).all()
    assert np.array_equal(w, dirichlet_weights(50, 6, seed=3))
    clusters = np.array([0, 0, 1, 1, 1, 2])
    wc = dirichlet_weights(10, 6, seed=3, clusters=clusters)
    assert np.allclose(wc.sum(axis=1), 1.0)
    assert np.allclose(wc[:, 0], wc[:, 1]) and np.allclose(wc[:, 2], wc[:, 4])


def test_bootstrap_band_on_the_paper_data(group_point, developer_point):
    point = shapley_draws(group_point, bootstrap=False)
    assert point["share"].sizes == {"chain": 1, "draw": 1, "block": 4}
    assert list(point["block"].values) == list(SHAPLEY_PARTS)
    # the same models under a fit-shaped posterior with 400 draws, for the band
    posterior = group_point.dt["posterior"].to_dataset().isel(
        draw=np.zeros(400, dtype=int)).assign_coords(draw=np.arange(400))
    fit = replace(group_point, dt=xr.DataTree.from_dict({"posterior": posterior}))
    band = shapley_draws(fit, seed=11)
    assert band["share"].sizes["draw"] == 400
    sums = band["share"].sum("block")
    assert np.allclose(sums, 1.0, atol=1e-12)
    assert np.allclose(band["r2"], 1 - band["share"].sel(block="residual"))
    med = band["share"].median(("chain", "draw"))
    for block, paper in (("compute", 0.320), ("period", 0.027), ("developer", 0.180)):
        assert float(med.sel(block=block)) == pytest.approx(paper, abs=0.02)
    lo, hi = band["share"].sel(block="developer").quantile([0.03, 0.97]).values
    assert lo < 0.18 < hi and hi - lo > 0.02
    assert np.array_equal(shapley_draws(fit, seed=11)["share"], band["share"])
    clustered = shapley_draws(fit, seed=11, cluster="developer_group")
    width = np.ptp(clustered["share"].sel(block="developer").values)
    assert width > np.ptp(band["share"].sel(block="developer").values)
    # every developer string its own effect: the developer block explains far more
    dev = shapley_point(developer_point)
    assert dev["developer"] > 0.4 and sum(dev.values()) == pytest.approx(1.0)
