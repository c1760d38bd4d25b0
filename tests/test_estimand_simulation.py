"""Issue-11 estimands on data simulated with known truth (small designs, real MCMC).

* No developer effect: the model-based company share sits near zero (median < 2%) while
  the paper's Shapley statistic sits at its null level (far above zero).
* A true developer share of 20% (superpopulation, Nakagawa & Schielzeth 2013): the 94%
  interval covers it.
* A curved (monotone, piecewise-linear) compute effect: the frontier estimand of a fit with
  the monotone curve recovers the true compute share (slow).

Designs: 20 developers of ~8 models each on the paper's compute and release dates
(:func:`bayes_llm.verify.simulate.synthetic_design`), logit-normal likelihood, 200 draws
and 200 tuning steps x 2 chains; the simulator is the model itself
(:func:`bayes_llm.verify.simulate.simulate`).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_llm.derived.company import company_shares
from bayes_llm.derived.frontier import frontier_gain
from bayes_llm.derived.shapley_null import shapley_reference
from bayes_llm.derived.summary import interval
from bayes_llm.model import fit_model, spec_from_dict
from bayes_llm.model.design import prepare_data
from bayes_llm.verify.simulate import simulate, synthetic_design

SAMPLER = {"draws": 200, "tune": 200, "chains": 2, "seed": 11}
SIGMA, BETA, PERIODS = 0.45, 0.6, np.array([-0.4, 0.0, 0.4])


def _spec(**extra):
    return spec_from_dict({"name": "sim_company", "likelihood": "logit_normal",
                           "developer": "developer", "developer_effect": "pooled",
                           "period_effect": "fixed", "sampler": SAMPLER, **extra})


@pytest.fixture(scope="module")
def design(paper_df):
    return synthetic_design(paper_df, 160, n_developers=20, seed=4, zipf=0.0)


def _fixed_variance(spec, design) -> float:
    data = prepare_data(design, spec)
    fixed = BETA * data.x + PERIODS[data.period_idx]
    return float(np.var(fixed))


@pytest.mark.mcmc
def test_no_developer_effect(design):
    spec = _spec()
    sim = simulate(spec, design, {"alpha": -0.4, "beta": BETA, "sigma": SIGMA,
                                  "period_effect": PERIODS,
                                  "developer_effect": np.zeros(20)}, seed=1)
    fit = fit_model(spec, sim.df, progressbar=False)
    share = company_shares(fit)["superpop_share"]
    assert float(share.median()) < 0.02
    ref = shapley_reference(fit, n_boot=50, n_null=200, seed=3)
    null = ref.part("developer", "null")
    lo, hi = np.percentile(null, [1, 99])
    # the paper's statistic is far from zero with no developer effect: at its null level
    assert np.median(null) > 0.05
    assert lo <= ref.point["developer"] <= hi


@pytest.mark.mcmc
def test_true_developer_share_of_20_percent_is_covered(design):
    spec = _spec()
    var_fixed = _fixed_variance(spec, design)
    sigma_dev = float(np.sqrt(0.25 * (var_fixed + SIGMA**2)))   # share = 0.2 exactly
    truth = sigma_dev**2 / (var_fixed + sigma_dev**2 + SIGMA**2)
    assert truth == pytest.approx(0.2)
    sim = simulate(spec, design, {"alpha": -0.4, "beta": BETA, "sigma": SIGMA,
                                  "period_effect": PERIODS, "sigma_developer": sigma_dev},
                   seed=2)
    fit = fit_model(spec, sim.df, progressbar=False)
    share = company_shares(fit)["superpop_share"]
    bounds = interval(share)
    assert float(bounds.sel(ci_bound="lower")) <= truth <= float(bounds.sel(ci_bound="upper"))


def _truth_fit(fit, sim):
    """A one-draw pseudo-fit holding the true parameters (and the fit's data)."""
    post = sim.truth_dataset()
    dt = xr.DataTree.from_dict({"posterior": post,
                                "constant_data": fit.dt["constant_data"].to_dataset(),
                                "observed_data": fit.dt["observed_data"].to_dataset()})
    return type("Truth", (), {"spec": fit.spec, "dt": dt, "models": fit.models})()


@pytest.mark.slow
def test_frontier_estimand_recovers_a_curved_compute_share(paper_df):
    design = synthetic_design(paper_df, 200, n_developers=40, seed=6, zipf=0.5)
    spec = spec_from_dict({"name": "sim_curve", "likelihood": "binomial",
                           "developer": "developer", "developer_effect": "pooled",
                           "period_effect": "fixed", "compute_curve": "monotone",
                           "sampler": {"draws": 400, "tune": 400, "chains": 2, "seed": 5}})
    # concave curve: steep below 1e23 FLOP, flat above 1e24
    sim = simulate(spec, design, {"alpha": -0.4, "compute_slope": np.array(
        [0.9, 0.8, 0.5, 0.25, 0.15]), "sigma_model": 0.3, "period_effect": PERIODS,
        "sigma_developer": 0.3}, seed=7)
    fit = fit_model(spec, sim.df, progressbar=False)
    truth = float(frontier_gain(_truth_fit(fit, sim))["compute_share"].values.ravel()[0])
    share = frontier_gain(fit)["compute_share"]
    bounds = interval(share)
    assert float(bounds.sel(ci_bound="lower")) <= truth <= float(bounds.sel(ci_bound="upper"))
