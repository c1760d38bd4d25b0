"""Power-scaling sensitivity of the headline figures, without refitting."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_llm.model import fit_model, load_spec
from bayes_llm.sensitivity.psense import psense_headline, top_level_priors, verdict

SMALL = {"draws": 150, "tune": 150, "chains": 2, "cores": 1, "progressbar": False,
         "backend": "pymc"}


def _spec(**priors):
    spec = load_spec("logit_normal_groups").with_changes(sample="majors")
    return spec.with_changes(priors=priors) if priors else spec


@pytest.fixture(scope="module")
def default_psense(paper_df):
    fit = fit_model(_spec(), paper_df, **SMALL)
    return fit, psense_headline(fit)


def test_verdicts_follow_the_threshold_rule():
    assert verdict(0.10, 0.20) == "prior-data conflict"
    assert verdict(0.10, 0.01) == "weak likelihood"
    assert verdict(0.01, 0.20) == "robust"
    assert verdict(0.01, 0.01) == "robust"
    assert verdict(0.04, 0.20, threshold=0.03) == "prior-data conflict"
    assert verdict(np.nan, 0.2) == "undetermined"


def test_a_figure_equal_in_every_draw_up_to_rounding_is_not_power_scaled():
    """Data computed through per-draw arithmetic differs in its last bits: still data."""
    import xarray as xr

    from bayes_llm.sensitivity.psense import _scalar_figures

    rng = np.random.default_rng(0)
    dims = ("chain", "draw")
    draws = xr.Dataset({
        "observed_gain": (dims, 0.3 + 1e-16 * rng.standard_normal((2, 50))),
        "slope": (dims, 0.8 + 1e-3 * rng.standard_normal((2, 50))),
    })
    kept, notes = _scalar_figures(draws)
    assert list(kept.data_vars) == ["slope"]
    assert any("'observed_gain' is the same in every draw" in n for n in notes)


@pytest.mark.mcmc
def test_psense_reports_each_headline_figure_and_top_level_prior(default_psense):
    fit, res = default_psense
    priors = top_level_priors(fit)
    assert priors == ["alpha", "beta", "period_effect", "sigma_developer", "sigma"]
    assert res.priors == priors
    figures = res.summary[res.summary["kind"] == "figure"]
    assert {"frontier_pair_compute_share_explained", "variance_developer_share",
            "company_share_superpop", "frontier_gain_compute_share"} <= set(figures["quantity"])
    # the paper's Shapley statistic is a sampling band of an OLS statistic, not a posterior:
    # never power-scaled
    assert not any(q.startswith("shapley_") for q in res.summary["quantity"])
    assert set(res.summary["verdict"]) <= {"robust", "weak likelihood", "prior-data conflict"}
    # the frontier's observed gain is data (one value for every draw): not power-scaled
    assert "frontier_gain" not in set(res.summary["quantity"])
    assert any("'frontier_gain' is the same in every draw" in n for n in res.notes)
    assert (res.summary["prior_sensitivity"] >= 0).all()
    assert (res.summary["likelihood_sensitivity"] >= 0).all()
    # by prior: one row per (quantity, top-level prior)
    assert len(res.by_prior) == len(res.summary) * len(priors)
    assert set(res.by_prior["prior"]) == set(priors)
    # default priors are weak: the compute slope is data-driven
    beta = res.summary.set_index("quantity").loc["beta"]
    assert beta["verdict"] == "robust" and beta["likelihood_sensitivity"] > 0.05
    text = res.to_text()
    assert "frontier_pair_compute_share_explained" in text and "top-level priors" in text


@pytest.mark.mcmc
def test_a_dogmatic_prior_on_beta_is_flagged(paper_df, default_psense):
    fit = fit_model(_spec(beta={"dist": "Normal", "mu": 0.0, "sigma": 0.02}), paper_df, **SMALL)
    res = psense_headline(fit)
    summary = res.summary.set_index("quantity")
    assert summary.loc["beta", "verdict"] == "prior-data conflict"
    assert summary.loc["beta", "prior_sensitivity"] > 0.05
    by_prior = res.by_prior[res.by_prior["quantity"] == "beta"].set_index("prior")
    assert by_prior["prior_sensitivity"].idxmax() == "beta"
    # the compute share of frontier progress inherits the dogmatic prior's pull
    _, default = default_psense
    base = default.summary.set_index("quantity")
    assert summary.loc["frontier_pair_compute_share", "prior_sensitivity"] > \
        base.loc["frontier_pair_compute_share", "prior_sensitivity"]
