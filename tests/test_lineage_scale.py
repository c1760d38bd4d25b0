"""The scale move of sigma_lineage and nu_lineage with every lineage effect held
(``[sampler] lineage_scale_move``, :mod:`bayes_llm.model.lineage_scale`).

Checked against what could go wrong: started at exact draws of a toy model's prior, the
move keeps them (KS), and without its Jacobian it does not (the check can fail); on the
real model it keeps every lineage effect and the likelihood, and moves sigma_lineage; the
spec refuses it without a lineage effect and samples it with PyMC.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_llm.model import load_spec, prepare_data
from bayes_llm.model.spec import SpecError

N_SINGLE, N_MULTI = 20, 3


def _toy_model():
    """The lineage law alone: sigma, nu, centred multi-model and non-centred single ones."""
    import pymc as pm

    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma_lineage", 0.5)
        nu = pm.Gamma("nu_lineage", alpha=2.0, beta=0.1)
        pm.StudentT("lineage_multi_effect", nu=nu, mu=0.0, sigma=sigma, shape=N_MULTI)
        pm.StudentT("lineage_single_z", nu=nu, mu=0.0, sigma=1.0, shape=N_SINGLE)
    return model


def _prior_draws(rng, n):
    sigma = np.abs(rng.normal(0.0, 0.5, n))
    nu = rng.gamma(2.0, 1 / 0.1, n)
    z = stats.t.rvs(nu[:, None], size=(n, N_SINGLE), random_state=rng)
    u = sigma[:, None] * stats.t.rvs(nu[:, None], size=(n, N_MULTI), random_state=rng)
    return sigma, nu, z, u


def _moved(step, n=600, iterations=8, seed=0):
    """Exact prior draws, each moved ``iterations`` times; (start, end) sigma, nu and z."""
    rng = np.random.default_rng(seed)
    sigma, nu, z, u = _prior_draws(rng, n)
    step.setup_chain(np.random.default_rng(seed + 1), 0, iterations)
    step.scales = np.array([0.6, 0.6])
    end = np.empty((n, 2)), np.empty((n, N_SINGLE))
    for i in range(n):
        point = {"sigma_lineage_log__": np.log(sigma[i]), "nu_lineage_log__": np.log(nu[i]),
                 "lineage_multi_effect": u[i], "lineage_single_z": z[i]}
        for _ in range(iterations):
            point, _ = step.step(point)
        end[0][i] = np.exp([point["sigma_lineage_log__"], point["nu_lineage_log__"]])
        end[1][i] = point["lineage_single_z"]
    return (sigma, nu, z), end


def _toy_step():
    from bayes_llm.model.lineage_scale import LineageScaleMove

    with _toy_model():
        return LineageScaleMove()


def test_the_move_keeps_the_prior_and_every_effect():
    """Started at exact draws of the toy prior, the moved sigma and nu are still draws of
    it (KS against fresh draws), sigma moved, and each sigma * z (each single-model
    lineage's effect) is where it was."""
    step = _toy_step()
    (sigma, nu, z), (scale_tail, z_end) = _moved(step)
    fresh_sigma, fresh_nu, _, _ = _prior_draws(np.random.default_rng(99), 4000)
    assert stats.ks_2samp(scale_tail[:, 0], fresh_sigma).pvalue > 1e-3
    assert stats.ks_2samp(scale_tail[:, 1], fresh_nu).pvalue > 1e-3
    assert np.mean(scale_tail[:, 0] != sigma) > 0.5
    np.testing.assert_allclose(scale_tail[:, :1] * z_end, sigma[:, None] * z, rtol=1e-10)


@pytest.mark.parametrize("wrong", ["dropped", "sign flipped"])
def test_the_same_move_with_a_wrong_jacobian_is_caught(wrong):
    """Dropping the Jacobian of the z's rescaling (the move then targets sigma^20 times the
    prior), or flipping its sign: the same check fails."""
    step = _toy_step()
    right = step.log_jacobian
    step.log_jacobian = ((lambda sigma, proposed, n: 0.0) if wrong == "dropped" else
                         (lambda sigma, proposed, n: -right(sigma, proposed, n)))
    _, (scale_tail, _) = _moved(step)
    fresh_sigma, _, _, _ = _prior_draws(np.random.default_rng(99), 4000)
    assert stats.ks_2samp(scale_tail[:, 0], fresh_sigma).pvalue < 1e-6


def test_the_scales_adapt_while_tuning_and_stay_after():
    step = _toy_step()
    step.setup_chain(np.random.default_rng(3), 5, 5)
    point = {"sigma_lineage_log__": np.log(0.4), "nu_lineage_log__": np.log(10.0),
             "lineage_multi_effect": np.zeros(N_MULTI), "lineage_single_z": np.zeros(N_SINGLE)}
    first = step.scales.copy()
    for _ in range(5):
        point, stats_ = step.step(point)
    tuned = step.scales.copy()
    assert not np.array_equal(first, tuned)
    step.stop_tuning()
    for _ in range(5):
        point, stats_ = step.step(point)
    assert np.array_equal(step.scales, tuned)
    assert stats_[0]["lineage_scale_step"] == tuned[0]


def _real_model_and_step(paper_df):
    from bayes_llm.model.build import build_model
    from bayes_llm.model.lineage_scale import LineageScaleMove

    spec = load_spec("binomial_developers").with_changes(
        name="scale_move", integrate_model_effect=True, model_effect="two_scale",
        lineage_effect=True, lineage_source="fingerprint", lineage_distribution="student_t",
        floor_mixture=True, collapse_by_compute=True,
        sampler={"lineage_scale_move": True})
    design = paper_df[paper_df["log10_flop"] < 23.0].copy()
    model = build_model(prepare_data(design, spec), spec)
    with model:
        step = LineageScaleMove()
    return spec, model, step


def test_on_the_real_model_the_effects_and_the_likelihood_stay(paper_df):
    """On the binomial model with Student-t lineage effects: after the move, every lineage
    effect and the log-likelihood are unchanged (to rounding), sigma_lineage has moved."""
    _, model, step = _real_model_and_step(paper_df)
    rng = np.random.default_rng(5)
    point = {k: np.asarray(v, float) + 0.2 * rng.standard_normal(np.shape(v))
             for k, v in model.initial_point().items()}
    observed = model.replace_rvs_by_values([model["lineage_effect"]])
    effects = model.compile_fn(observed[0], inputs=model.value_vars, point_fn=True,
                               on_unused_input="ignore")
    loglik = model.compile_fn(model.logp(vars=model.observed_RVs, sum=True),
                              inputs=model.value_vars, point_fn=True,
                              on_unused_input="ignore")
    step.setup_chain(np.random.default_rng(6), 0, 1)
    step.scales = np.array([0.05, 0.05])
    new = point
    for _ in range(4):
        new, _ = step.step(new)
    assert new["sigma_lineage_log__"] != point["sigma_lineage_log__"]
    np.testing.assert_allclose(effects(new), effects(point), rtol=1e-10, atol=1e-12)
    assert abs(float(loglik(new)) - float(loglik(point))) < 1e-6


def test_the_option_needs_a_lineage_effect_and_the_pymc_backend():
    from bayes_llm.model.sampling import spec_backend

    base = load_spec("binomial_developers")
    with pytest.raises(SpecError, match="lineage_scale_move = true needs lineage_effect"):
        base.with_changes(sampler={"lineage_scale_move": True})
    with pytest.raises(SpecError, match="lineage_scale_move must be true or false"):
        base.with_changes(lineage_effect=True, sampler={"lineage_scale_move": 1})
    on = base.with_changes(lineage_effect=True, sampler={"lineage_scale_move": True})
    off = on.with_changes(sampler={"lineage_scale_move": False})
    assert "lineage_scale_move" not in off.to_dict()["sampler"]  # hash as before the option
    assert on.hash() != off.hash()
    assert spec_backend(on) == "pymc" and spec_backend(off) == "nutpie"


@pytest.mark.slow
def test_a_short_pymc_run_with_the_move(paper_df):
    """PyMC's NUTS with the move, two chains in two processes (the step travels to them):
    the move's statistics are recorded, its acceptance is a rate, its scale adapted."""
    from bayes_llm.model.fit import fit_model

    spec, _, _ = _real_model_and_step(paper_df)
    design = paper_df[paper_df["log10_flop"] < 23.0].copy()
    fit = fit_model(spec, design, draws=20, tune=20, chains=2, cores=2, progressbar=False)
    assert fit.metadata["backend"] == "pymc"
    stats_ = fit.dt["sample_stats"]
    rate = stats_["lineage_scale_acceptance"].values
    assert np.all((rate >= 0) & (rate <= 1)) and rate.mean() > 0
    assert np.all(stats_["lineage_scale_step"].values != 0.1)  # adapted while tuning
