"""The two-scale model effect (``model_effect = "two_scale"``, issue 10).

A mixture of a core and a wide Normal of total SD ``sigma_model``, summed out with eta
by quadrature. The log density is compared term by term with the independent NumPy
reference in ``test_logdensity.py`` (case ``integrated_two_scale``, and a deliberate error);
here: the spec rules, the SDs, the integral of each component against an independent
rule, the component and eta draws, the prediction, the log score and the cross-validation
log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from integrated_fakes import GUESS, N_ITEMS, integrated_fit, integrated_spec_dict
from scipy import special, stats

from bayes_llm.errors import SpecError
from bayes_llm.model import eta_integral as ei
from bayes_llm.model.spec import spec_from_dict
from bayes_llm.verify.logdensity import integrated_binomial_logpmf

BASE = integrated_spec_dict("two_scale")


@pytest.mark.parametrize(("change", "fragment"), [
    ({"integrate_model_effect": False}, "needs integrate_model_effect = true"),
    ({"model_effect": "student_t"}, "model_effect = 'normal', 'two_scale' or 'laplace'"),
    ({"likelihood": "logit_normal"}, "needs likelihood = 'binomial'"),
    ({"priors": {"model_wide_probability": {"dist": "Normal", "mu": 0, "sigma": 1}}},
     "is a probability"),
])
def test_invalid_two_scale_specs_are_one_line_errors(change, fragment):
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, **change}, source="bad.toml")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_the_mixture_has_total_sd_sigma_model_and_a_wider_second_component():
    sigma, w, log_ratio = 0.4, np.array([0.05, 0.2, 0.6]), np.array([-2.0, 1.0, 2.5])
    core, wide = ei.two_scale_sds(sigma, w, log_ratio)
    np.testing.assert_allclose(np.sqrt((1 - w) * core**2 + w * wide**2), sigma, rtol=1e-12)
    np.testing.assert_allclose(wide / core, 1.0 + np.exp(log_ratio), rtol=1e-12)
    assert np.all(wide > core)


def test_each_components_integral_matches_an_independent_rule():
    """logsumexp_j log w_j + log ∫ Binomial N(mu, s_j) against Simpson's rule."""
    k = np.array([1300.0, 3000.0, 6000.0, 9000.0])
    mu = np.array([-1.0, -1.2, 0.3, 1.0])
    w, core, wide = 0.25, 0.15, 0.7
    scales = [(np.log1p(-w), core), (np.log(w), wide)]
    mine = ei.log_marginal_scales(k, N_ITEMS, GUESS, mu, scales)
    reference = np.logaddexp(np.log1p(-w) + integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu,
                                                                        core),
                             np.log(w) + integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu,
                                                                    wide))
    np.testing.assert_allclose(mine, reference, atol=1e-5)  # the rule's error at SD 0.7
    # the same call with one component is log_marginal itself
    np.testing.assert_array_equal(ei.log_marginal_scales(k, N_ITEMS, GUESS, mu, [(0.0, core)]),
                                  ei.log_marginal(k, N_ITEMS, GUESS, mu, core))


def test_a_count_far_from_mu_is_drawn_from_the_wide_component():
    """The component is drawn from its posterior probability (weight x marginal)."""
    rng = np.random.default_rng(3)
    S = 4000
    k = np.array([round(0.40 * N_ITEMS), round(0.60 * N_ITEMS)], float)
    observed = special.logit((k / N_ITEMS - GUESS) / (1 - GUESS))
    mu = np.broadcast_to(observed[0], (S, 2)).copy()  # model 0 at mu, model 1 ~0.9 logit off
    w, core, wide = 0.2, 0.1, 0.6
    scales = [(np.full((S, 1), np.log1p(-w)), np.full((S, 1), core)),
              (np.full((S, 1), np.log(w)), np.full((S, 1), wide))]
    eta, sd = ei.draw_conditional_eta_scales(k, N_ITEMS, GUESS, mu, scales, rng)
    logs = np.stack([lw[0, 0] + ei.log_marginal(k, N_ITEMS, GUESS, mu[0], s[0, 0])
                     for lw, s in scales])
    p_wide = np.exp(logs[1] - special.logsumexp(logs, axis=0))
    share_wide = (sd == wide).mean(axis=0)
    assert p_wide[1] > 0.99 and p_wide[0] < 0.2
    np.testing.assert_allclose(share_wide, p_wide, atol=4 * np.sqrt(0.25 / S))
    assert np.abs(eta.mean(axis=0) - observed).max() < 0.01  # pinned by 12,032 items
    # a collapsed model's would-be score: the component by its weight alone
    fresh, fresh_sd = ei.draw_prior_eta_scales(mu, scales, rng)
    assert (fresh_sd == wide).mean() == pytest.approx(w, abs=0.02)
    sd_fresh = np.std(fresh - mu)
    assert sd_fresh == pytest.approx(np.sqrt((1 - w) * core**2 + w * wide**2), rel=0.05)


def test_one_component_draws_exactly_as_the_normal_model():
    mu = np.full((50, 3), -0.5)
    k = np.array([2000.0, 4000.0, 7000.0])
    a = ei.draw_conditional_eta(k, N_ITEMS, GUESS, mu, np.full((50, 1), 0.3),
                                np.random.default_rng(1))
    b, _ = ei.draw_conditional_eta_scales(k, N_ITEMS, GUESS, mu,
                                          ei.model_effect_scales(np.full((50, 1), 0.3)),
                                          np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


def _two_scale_fit(n_draws=2000, sigma=0.3, w=0.2, log_ratio=1.0, mean=-0.4):
    """A fit-like object of a two-scale spec, one period, no developer; and its two SDs."""
    core, wide = ei.two_scale_sds(sigma, w, log_ratio)
    fit = integrated_fit("two_scale", {"model_wide_probability": w,
                                       "model_wide_log_ratio": log_ratio,
                                       "sigma_model_core": core, "sigma_model_wide": wide},
                         n_draws=n_draws, sigma=sigma, mean=mean)
    return fit, core, wide


def test_prediction_draws_the_mixture_and_the_log_score_integrates_it():
    """A new model's latent score is mu plus a core or wide draw; the log score of its
    accuracy bin is the w-weighted mixture of the two integrals."""
    import pandas as pd

    from bayes_llm.prediction import predict
    from bayes_llm.validate.scores import bin_log_probability

    fit, core, wide = _two_scale_fit()
    row = pd.DataFrame({"model_id": ["new"], "hf_id": [None], "developer": ["anyone"],
                        "release_month": ["2024-01"], "log10_flop": [23.5],
                        "mmlu_pro_acc": [0.45]})
    pred = predict(fit, row, seed=5)
    deviation = pred.latent.values[:, 0] - (-0.4)
    assert np.std(deviation) == pytest.approx(0.3, rel=0.06)
    assert stats.kurtosis(deviation) > 1.0  # a Normal's excess kurtosis is 0
    assert {"sigma_wide", "wide_probability"} <= set(pred.noise)
    np.testing.assert_allclose(pred.noise["sigma"], core)
    k = np.array([round(0.45 * N_ITEMS)], float)
    logp, method = bin_log_probability(pred, k, np.array([N_ITEMS]), k / N_ITEMS,
                                       k / N_ITEMS)
    assert method == "integrated_eta"
    expected = np.logaddexp(
        np.log(0.8) + integrated_binomial_logpmf(k, N_ITEMS, GUESS, -0.4, core),
        np.log(0.2) + integrated_binomial_logpmf(k, N_ITEMS, GUESS, -0.4, wide))
    assert logp[0] == pytest.approx(expected[0], abs=2e-3)


def test_cross_validation_loglik_mixes_the_two_components():
    from bayes_llm.sensitivity.crossval import (
        binomial_marginal_loglik,
        model_effect_components,
        scale_mixture_loglik,
    )

    fit, core, wide = _two_scale_fit(n_draws=3)
    post = fit.dt["posterior"].to_dataset()
    components = model_effect_components(post)
    np.testing.assert_allclose([c[1][0, 0] for c in components], [core, wide])
    k = np.array([1400.0, 5000.0])
    mean = np.full((3, 2), -0.4)
    extra = 0.04
    n = np.full(2, float(N_ITEMS))
    got = scale_mixture_loglik(k, n, GUESS, mean, components, extra_variance=extra)
    want = np.logaddexp(
        np.log(0.8) + binomial_marginal_loglik(k, n, GUESS, mean, np.sqrt(core**2 + extra)),
        np.log(0.2) + binomial_marginal_loglik(k, n, GUESS, mean, np.sqrt(wide**2 + extra)))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_add_eta_draws_records_eta_under_the_mixture():
    """After sampling an integrated two-scale fit, eta is drawn given each count."""
    chains, draws = 1, 400
    core, wide = ei.two_scale_sds(0.3, 0.2, 1.0)
    k = np.array([round(0.111 * N_ITEMS), round(0.5 * N_ITEMS)], float)
    shape = (chains, draws)
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.full((*shape, 2), 0.2)),
        "sigma_model": (("chain", "draw"), np.full(shape, 0.3)),
        "model_wide_probability": (("chain", "draw"), np.full(shape, 0.2)),
        "model_wide_log_ratio": (("chain", "draw"), np.full(shape, 1.0)),
        "collapse_probability": (("chain", "draw"), np.full(shape, 0.09)),
        "collapse_mean": (("chain", "draw"), np.full(shape, 0.112)),
        "collapse_concentration": (("chain", "draw"), np.full(shape, 3000.0))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["floor", "works"]})
    dt = ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post}), k, N_ITEMS, GUESS, 5)
    eta = dt["posterior"]["eta"]
    floor = eta.sel(model="floor").values.ravel()
    # a collapsed model's would-be score: the prior mixture, SD 0.3 (not the core's 0.16)
    assert np.std(floor - 0.2) == pytest.approx(0.3, rel=0.15)
    assert abs(core - 0.3) > 0.1
    works = eta.sel(model="works").values.ravel()
    observed = special.logit((0.5 - GUESS) / (1 - GUESS))
    assert abs(works.mean() - observed) < 0.01


def test_sensitivity_studies_see_the_two_scale_priors():
    from bayes_llm.sensitivity.study import used_priors

    spec = spec_from_dict(BASE)
    assert {"model_wide_probability", "model_wide_log_ratio", "sigma_model"} <= set(
        used_priors(spec))
    assert "model_wide_probability" not in used_priors(spec.with_changes(model_effect="normal"))


def test_add_eta_draws_integrates_each_component_once(monkeypatch):
    """The component draw and the collapse odds share one quadrature per component."""
    chains, draws = 1, 40
    shape = (chains, draws)
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.full((*shape, 2), 0.2)),
        "sigma_model": (("chain", "draw"), np.full(shape, 0.3)),
        "model_wide_probability": (("chain", "draw"), np.full(shape, 0.2)),
        "model_wide_log_ratio": (("chain", "draw"), np.full(shape, 1.0)),
        "collapse_probability": (("chain", "draw"), np.full(shape, 0.09)),
        "collapse_mean": (("chain", "draw"), np.full(shape, 0.112)),
        "collapse_concentration": (("chain", "draw"), np.full(shape, 3000.0))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["a", "b"]})
    calls = []
    original = ei.log_marginal

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(ei, "log_marginal", counted)
    k = np.array([round(0.111 * N_ITEMS), round(0.5 * N_ITEMS)], float)
    ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post}), k, N_ITEMS, GUESS, 5)
    assert len(calls) == 2  # one block of draws, two components


def test_scale_components_weights_and_widening():
    comps = ei.scale_components(np.array([[0.1]]), np.array([[0.5]]), np.array([[0.25]]),
                                extra_variance=0.09)
    np.testing.assert_allclose([np.exp(c[0]).item() for c in comps], [0.75, 0.25])
    np.testing.assert_allclose([c[1].item() for c in comps],
                               [np.sqrt(0.01 + 0.09), np.sqrt(0.25 + 0.09)])
    sd = np.array([[0.3]])
    (log_w, single), = ei.scale_components(sd)
    assert log_w.item() == 0.0 and single is sd
    assert ei.widen(sd) is sd  # nothing added: the very array, no rounding
