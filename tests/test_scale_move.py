"""The scale moves with every effect held (``[sampler] lineage_scale_move`` and
``developer_scale_move``, :mod:`bayes_llm.model.scale_move`) and the developer ridge move
(``developer_ridge_move``: the z's held, the lineages compensating).

Checked against what could go wrong: started at exact draws of a toy model's prior, each
move keeps them (KS), and without its Jacobian it does not (the check can fail); on the
real model each keeps every effect of its block and the likelihood, and moves its scale;
the spec refuses either where the model lacks what it moves, and samples them with PyMC.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_llm.errors import BayesLLMError
from bayes_llm.model import load_spec, prepare_data
from bayes_llm.model.spec import SpecError

N_SINGLE, N_MULTI, N_DEVELOPERS = 20, 3, 30


def _toy_model(group):
    """One block's law alone: the lineage law (sigma, nu, centred multi-model and
    non-centred single ones) or the developer population (sigma, non-centred z's)."""
    import pymc as pm

    with pm.Model() as model:
        if group == "lineage":
            sigma = pm.HalfNormal("sigma_lineage", 0.5)
            nu = pm.Gamma("nu_lineage", alpha=2.0, beta=0.1)
            pm.StudentT("lineage_multi_effect", nu=nu, mu=0.0, sigma=sigma, shape=N_MULTI)
            pm.StudentT("lineage_single_z", nu=nu, mu=0.0, sigma=1.0, shape=N_SINGLE)
        else:
            pm.HalfNormal("sigma_developer", 1.0)
            pm.Normal("developer_z", 0.0, 1.0, shape=N_DEVELOPERS)
    return model


def _prior_draws(group, rng, n):
    """Exact prior draws: (sigma, nu or None, z, centred effects or None)."""
    if group == "lineage":
        sigma = np.abs(rng.normal(0.0, 0.5, n))
        nu = rng.gamma(2.0, 1 / 0.1, n)
        z = stats.t.rvs(nu[:, None], size=(n, N_SINGLE), random_state=rng)
        u = sigma[:, None] * stats.t.rvs(nu[:, None], size=(n, N_MULTI), random_state=rng)
        return sigma, nu, z, u
    return np.abs(rng.normal(0.0, 1.0, n)), None, rng.normal(size=(n, N_DEVELOPERS)), None


def _moved(group, step, n=600, iterations=8, seed=0):
    """Exact prior draws, each moved ``iterations`` times; (start, end) sigma[, nu] and z."""
    rng = np.random.default_rng(seed)
    sigma, nu, z, u = _prior_draws(group, rng, n)
    step.setup_chain(np.random.default_rng(seed + 1), 0, iterations)
    step.scales = np.full(step.scales.size, 0.6)
    end = np.empty((n, 2)), np.empty_like(z)
    for i in range(n):
        if group == "lineage":
            point = {"sigma_lineage_log__": np.log(sigma[i]), "nu_lineage_log__": np.log(nu[i]),
                     "lineage_multi_effect": u[i], "lineage_single_z": z[i]}
        else:
            point = {"sigma_developer_log__": np.log(sigma[i]), "developer_z": z[i]}
        for _ in range(iterations):
            point, _ = step.step(point)
        end[0][i] = np.exp([point[f"sigma_{group}_log__"],
                            point.get("nu_lineage_log__", np.nan)])
        end[1][i] = point[f"{group}_single_z" if group == "lineage" else "developer_z"]
    return (sigma, nu, z), end


def _toy_step(group):
    from bayes_llm.model.scale_move import DEVELOPER_GROUP, LINEAGE_GROUP, ScaleMove

    with _toy_model(group):
        return ScaleMove(group=LINEAGE_GROUP if group == "lineage" else DEVELOPER_GROUP)


@pytest.mark.parametrize("group", ["lineage", "developer"])
def test_the_move_keeps_the_prior_and_every_effect(group):
    """Started at exact draws of the toy prior, the moved sigma (and nu) are still draws of
    it (KS against fresh draws), sigma moved, and each sigma * z (each single-model
    lineage's or developer's effect) is where it was."""
    step = _toy_step(group)
    (sigma, nu, z), (scale_tail, z_end) = _moved(group, step)
    fresh_sigma, fresh_nu, _, _ = _prior_draws(group, np.random.default_rng(99), 4000)
    assert stats.ks_2samp(scale_tail[:, 0], fresh_sigma).pvalue > 1e-3
    if group == "lineage":
        assert stats.ks_2samp(scale_tail[:, 1], fresh_nu).pvalue > 1e-3
    assert np.mean(scale_tail[:, 0] != sigma) > 0.5
    np.testing.assert_allclose(scale_tail[:, :1] * z_end, sigma[:, None] * z, rtol=1e-10)


@pytest.mark.parametrize("group", ["lineage", "developer"])
@pytest.mark.parametrize("wrong", ["dropped", "sign flipped"])
def test_the_same_move_with_a_wrong_jacobian_is_caught(group, wrong):
    """Dropping the Jacobian of the z's rescaling (the move then targets sigma^n times the
    prior), or flipping its sign: the same check fails."""
    step = _toy_step(group)
    right = step.log_jacobian
    step.log_jacobian = ((lambda sigma, proposed, n: 0.0) if wrong == "dropped" else
                         (lambda sigma, proposed, n: -right(sigma, proposed, n)))
    _, (scale_tail, _) = _moved(group, step)
    fresh_sigma, _, _, _ = _prior_draws(group, np.random.default_rng(99), 4000)
    assert stats.ks_2samp(scale_tail[:, 0], fresh_sigma).pvalue < 1e-6


def test_the_scales_adapt_while_tuning_and_stay_after():
    step = _toy_step("lineage")
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


def test_each_group_names_its_statistics_and_proposes_in_its_own_dimensions():
    """The developer move has no tail (one proposal SD) and its own statistics' names, so
    both moves can run in one sampler."""
    lineage, developer = _toy_step("lineage"), _toy_step("developer")
    assert lineage.scales.size == 2 and developer.scales.size == 1
    assert set(developer.stats_dtypes_shapes) == {"developer_scale_acceptance",
                                                  "developer_scale_step"}
    assert set(lineage.stats_dtypes_shapes) == {"lineage_scale_acceptance",
                                                "lineage_scale_step"}
    for step in (lineage, developer):  # PyMC's trace backends read the old attribute too
        assert list(step.stats_dtypes) == [{k: v[0] for k, v in
                                            step.stats_dtypes_shapes.items()}]


def _real_spec():
    return load_spec("binomial_developers").with_changes(
        name="scale_move", integrate_model_effect=True, model_effect="two_scale",
        lineage_effect=True, lineage_source="fingerprint", lineage_distribution="student_t",
        floor_mixture=True, collapse_by_compute=True,
        developer_parameterisation="non_centred",
        sampler={"lineage_scale_move": True, "developer_scale_move": True,
                 "developer_ridge_move": True})


@pytest.fixture(scope="module")
def real(paper_df):
    """(spec, data, model, the compound steps of its sampler), built once (each compile
    takes seconds)."""
    from bayes_llm.model.build import build_model
    from bayes_llm.model.sampling import compound_steps

    spec = _real_spec()
    design = paper_df[paper_df["log10_flop"] < 23.0].copy()
    data = prepare_data(design, spec)
    model = build_model(data, spec)
    return spec, data, model, compound_steps(model, data, "pymc", spec.sampler)


def _start_and_effects(model, jitter):
    """A start off the model's initial point and a function of it: (lineage effects,
    developer effects)."""
    rng = np.random.default_rng(5)
    point = {k: np.asarray(v, float) + jitter * rng.standard_normal(np.shape(v))
             for k, v in model.initial_point().items()}
    observed = model.replace_rvs_by_values([model["lineage_effect"], model["developer_effect"]])
    return point, model.compile_fn(observed, inputs=model.value_vars, point_fn=True,
                                   on_unused_input="ignore")


@pytest.mark.parametrize("group", ["lineage", "developer"])
def test_on_the_real_model_the_effects_and_the_likelihood_stay(real, group):
    """On the binomial model with Student-t lineage effects and non-centred developers:
    after each move, every effect of its block (and of the other block) and the
    log-likelihood are unchanged (to rounding), and its scale has moved."""
    _, _, model, steps = real
    step = {s.group.name: s for s in steps[:-1]}[group]
    point, effects = _start_and_effects(model, 0.2)
    loglik = model.compile_fn(model.logp(vars=model.observed_RVs, sum=True),
                              inputs=model.value_vars, point_fn=True,
                              on_unused_input="ignore")
    step.setup_chain(np.random.default_rng(6), 0, 1)
    step.scales = np.full(step.scales.size, 0.05)
    new = point
    for _ in range(4):
        new, _ = step.step(new)
    assert new[f"sigma_{group}_log__"] != point[f"sigma_{group}_log__"]
    for after, before in zip(effects(new), effects(point), strict=True):
        np.testing.assert_allclose(after, before, rtol=1e-10, atol=1e-12)
    assert abs(float(loglik(new)) - float(loglik(point))) < 1e-6


def test_compound_steps_build_both_moves_before_nuts(real, monkeypatch):
    """The spec's two moves become two steps, one per block, and NUTS runs last; each flag
    alone builds its own move only."""
    import pymc as pm

    from bayes_llm.model import scale_move
    from bayes_llm.model.sampling import compound_steps

    spec, data, model, steps = real
    assert [s.group.name for s in steps[:-1]] == ["lineage", "developer", "developer_ridge"]
    assert isinstance(steps[-1], pm.NUTS)
    # the same with each flag alone, the steps' compilation skipped
    monkeypatch.setattr(scale_move, "ScaleMove", lambda group: group.name)
    monkeypatch.setattr(scale_move, "CompensatedScaleMove", lambda compensation: "ridge")
    monkeypatch.setattr(pm, "NUTS", lambda **_: "nuts")
    flags = ("lineage_scale_move", "developer_scale_move", "developer_ridge_move")
    for on, built in zip(flags, ("lineage", "developer", "ridge"), strict=True):
        alone = spec.with_changes(sampler={f: f == on for f in flags})
        assert compound_steps(model, data, "pymc", alone.sampler) == [built, "nuts"]
    with pytest.raises(BayesLLMError, match="developer_ridge_move = true: the sampler needs "
                       "the model's design"):
        compound_steps(model, None, "pymc", spec.sampler)


def test_the_options_need_their_block_and_the_pymc_backend():
    from bayes_llm.model.sampling import spec_backend

    base = load_spec("binomial_developers")
    with pytest.raises(SpecError, match="lineage_scale_move = true needs lineage_effect"):
        base.with_changes(sampler={"lineage_scale_move": True})
    with pytest.raises(SpecError, match="lineage_scale_move must be true or false"):
        base.with_changes(lineage_effect=True, sampler={"lineage_scale_move": 1})
    with pytest.raises(SpecError, match="developer_scale_move = true needs developer = "
                       "'developer', developer_effect = 'pooled' and "
                       "developer_parameterisation = 'non_centred'"):
        base.with_changes(sampler={"developer_scale_move": True})  # centred developers
    with pytest.raises(SpecError, match="developer_scale_move = true needs"):
        base.with_changes(developer_parameterisation="non_centred", developer_effect="fixed",
                          sampler={"developer_scale_move": True})
    on = base.with_changes(lineage_effect=True, sampler={"lineage_scale_move": True})
    off = on.with_changes(sampler={"lineage_scale_move": False})
    assert "lineage_scale_move" not in off.to_dict()["sampler"]  # hash as before the option
    assert on.hash() != off.hash()
    assert spec_backend(on) == "pymc" and spec_backend(off) == "nutpie"
    developer = base.with_changes(developer_parameterisation="non_centred",
                                  sampler={"developer_scale_move": True})
    assert developer.to_dict()["sampler"]["developer_scale_move"] is True
    assert "developer_scale_move" not in base.to_dict()["sampler"]
    assert spec_backend(developer) == "pymc"
    partial = base.with_changes(developer_parameterisation="partial",
                                sampler={"developer_scale_move": True})  # z's of the weak ones
    assert partial.sampler.developer_scale_move


@pytest.mark.slow
def test_a_short_pymc_run_with_the_three_moves(paper_df):
    """PyMC's NUTS with the three moves, two chains in two processes (the steps travel to them):
    each move's statistics are recorded under its own name, its acceptance is a rate, its
    scale adapted."""
    from bayes_llm.model.fit import fit_model

    design = paper_df[paper_df["log10_flop"] < 23.0].copy()
    fit = fit_model(_real_spec(), design, draws=20, tune=20, chains=2, cores=2,
                    progressbar=False)
    assert fit.metadata["backend"] == "pymc"
    stats_ = fit.dt["sample_stats"]
    for group in ("lineage", "developer", "developer_ridge"):
        rate = stats_[f"{group}_scale_acceptance"].values
        assert np.all((rate >= 0) & (rate <= 1)) and rate.mean() > 0
        assert np.all(stats_[f"{group}_scale_step"].values != 0.1)  # adapted while tuning


# --- the developer ridge move: the z's held, the lineages compensating ------------------

N_COMPENSATED = 8


def test_majority_developers_names_a_developer_only_with_more_than_half():
    from bayes_llm.model.scale_move import majority_developers

    lineage = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 3])
    developer = np.array([5, 5, 5, 2, 5, 5, 2, 2, 7, 1, 1])
    np.testing.assert_array_equal(majority_developers(lineage, developer, 5),
                                  [5, -1, 7, 1, -1])  # 3/4, 2/4, alone, 2/2, no model


def _toy_ridge_step():
    """The developer population and the lineage law, eight centred and eight single-model
    lineages each held up by one developer (developers 0-7 and 8-15 of 30)."""
    import pymc as pm

    from bayes_llm.model.scale_move import CompensatedScaleMove, Compensation

    positions = np.arange(N_COMPENSATED)
    with pm.Model():
        pm.HalfNormal("sigma_developer", 1.0)
        pm.Normal("developer_z", 0.0, 1.0, shape=N_DEVELOPERS)
        sigma = pm.HalfNormal("sigma_lineage", 0.5)
        pm.Normal("lineage_multi_effect", 0.0, sigma, shape=N_COMPENSATED)
        pm.Normal("lineage_single_z", 0.0, 1.0, shape=N_COMPENSATED)
        return CompensatedScaleMove(compensation=Compensation(
            positions, positions, positions, positions + N_COMPENSATED))


def _ridge_prior(rng, n):
    return {"sigma_developer": np.abs(rng.normal(0.0, 1.0, n)),
            "developer_z": rng.normal(size=(n, N_DEVELOPERS)),
            "sigma_lineage": (sigma_l := np.abs(rng.normal(0.0, 0.5, n))),
            "lineage_multi_effect": sigma_l[:, None] * rng.normal(size=(n, N_COMPENSATED)),
            "lineage_single_z": rng.normal(size=(n, N_COMPENSATED))}


def _ridge_moved(step, n=600, iterations=8, seed=0):
    """Exact prior draws and the same draws after ``iterations`` ridge moves each."""
    start = _ridge_prior(np.random.default_rng(seed), n)
    step.setup_chain(np.random.default_rng(seed + 1), 0, iterations)
    step.scales = np.full(1, 0.6)
    end = {k: np.empty_like(v) for k, v in start.items()}
    for i in range(n):
        point = {"sigma_developer_log__": np.log(start["sigma_developer"][i]),
                 "sigma_lineage_log__": np.log(start["sigma_lineage"][i]),
                 **{k: start[k][i] for k in ("developer_z", "lineage_multi_effect",
                                             "lineage_single_z")}}
        for _ in range(iterations):
            point, _ = step.step(point)
        for k in end:
            end[k][i] = (np.exp(point[f"{k}_log__"]) if k.startswith("sigma")
                         else point[k])
    return start, end


def _predictors(draws):
    """Developer effect plus lineage effect of each compensated lineage's models."""
    d = draws["sigma_developer"][:, None] * draws["developer_z"]
    multi = d[:, :N_COMPENSATED] + draws["lineage_multi_effect"]
    single = (d[:, N_COMPENSATED:2 * N_COMPENSATED]
              + draws["sigma_lineage"][:, None] * draws["lineage_single_z"])
    return np.hstack([multi, single])


def test_the_ridge_move_keeps_the_prior_and_the_compensated_predictors():
    """From exact prior draws, eight ridge moves leave sigma_developer and the compensated
    lineages' effects distributed as the prior (KS against fresh draws); sigma moved, the
    z's held, and each compensated lineage's developer effect plus lineage effect held."""
    start, end = _ridge_moved(_toy_ridge_step())
    fresh = _ridge_prior(np.random.default_rng(99), 4000)
    assert stats.ks_2samp(end["sigma_developer"], fresh["sigma_developer"]).pvalue > 1e-3
    for name in ("lineage_multi_effect", "lineage_single_z"):
        assert stats.ks_2samp(end[name][:, 0], fresh[name][:, 0]).pvalue > 1e-3
    assert np.mean(end["sigma_developer"] != start["sigma_developer"]) > 0.5
    np.testing.assert_array_equal(end["developer_z"], start["developer_z"])
    np.testing.assert_allclose(_predictors(end), _predictors(start), atol=1e-10)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_ridge_move_with_a_jacobian_it_does_not_have_is_caught(sign):
    """The map is a translation given the scales (Jacobian 1); with the scale move's
    Jacobian of the z's rescaling added (either sign), the same check fails."""
    step = _toy_ridge_step()
    step.log_jacobian = lambda sigma, proposed, n: sign * N_DEVELOPERS * (
        np.log(sigma) - np.log(proposed))
    _, end = _ridge_moved(step)
    fresh = _ridge_prior(np.random.default_rng(99), 4000)
    assert stats.ks_2samp(end["sigma_developer"], fresh["sigma_developer"]).pvalue < 1e-6


def test_on_the_real_model_the_ridge_move_holds_the_compensated_models(real, monkeypatch):
    """On the binomial model: each ridge move changes sigma_developer and every developer
    effect, holds the z's, and holds the linear predictor's developer + lineage part of
    every model whose lineage is compensated by its own developer; shifting single-model
    lineages' z's without dividing by sigma_lineage (a deliberate error) breaks that."""
    from bayes_llm.model.scale_move import lineage_compensation, majority_developers

    _, data, model, steps = real
    step = {s.group.name: s for s in steps[:-1]}["developer_ridge"]
    compensation = lineage_compensation(data)
    assert compensation.multi_position.size and compensation.single_position.size
    owner = majority_developers(data.lineage_idx, data.developer_idx,
                                len(data.coords["lineage"]))
    held = owner[data.lineage_idx] == data.developer_idx
    assert 0 < held.sum() < held.size
    point, effects = _start_and_effects(model, 0.3)

    def part(p):
        lineage, developer = effects(p)
        return lineage[data.lineage_idx] + developer[data.developer_idx], developer

    def moved():
        step.setup_chain(np.random.default_rng(6), 0, 1)
        step.scales = np.full(1, 0.05)
        new = point
        for _ in range(4):
            new, _ = step.step(new)
        return new

    new = moved()
    assert new["sigma_developer_log__"] != point["sigma_developer_log__"]
    np.testing.assert_array_equal(new["developer_z"], point["developer_z"])
    (after, d_after), (before, d_before) = part(new), part(point)
    assert np.all(d_after != d_before)
    np.testing.assert_allclose(after[held], before[held], rtol=1e-10, atol=1e-12)
    assert np.abs(after[~held] - before[~held]).max() > 1e-4
    monkeypatch.setattr(step, "_lineage_sigma", lambda p: 1.0)  # the deliberate error
    wrong = moved()
    assert np.abs(part(wrong)[0][held] - before[held]).max() > 1e-4


def test_the_ridge_move_needs_non_centred_developers_and_lineages():
    base = load_spec("binomial_developers").with_changes(lineage_effect=True)
    with pytest.raises(SpecError, match="developer_ridge_move = true needs developer = "
                       "'developer', developer_effect = 'pooled', developer_distribution = "
                       "'normal', developer_parameterisation = 'non_centred' and "
                       "lineage_effect = true"):
        base.with_changes(sampler={"developer_ridge_move": True})  # centred developers
    with pytest.raises(SpecError, match="developer_ridge_move = true needs"):
        base.with_changes(developer_parameterisation="partial",
                          sampler={"developer_ridge_move": True})
    with pytest.raises(SpecError, match="developer_ridge_move = true needs"):
        base.with_changes(lineage_effect=False, developer_parameterisation="non_centred",
                          sampler={"developer_ridge_move": True})
    on = base.with_changes(developer_parameterisation="non_centred",
                           sampler={"developer_ridge_move": True})
    assert on.sampler.custom_steps == ("developer_ridge_move",)
    assert "developer_ridge_move" not in base.to_dict()["sampler"]


def test_the_ridge_move_leaves_summed_out_single_lineages_alone(paper_df):
    """Normal lineage effects sum the single-model lineages out with eta (no
    lineage_single_z): the move shifts only the sampled multi-model lineages."""
    from bayes_llm.model.build import build_model
    from bayes_llm.model.scale_move import CompensatedScaleMove, lineage_compensation

    spec = _real_spec().with_changes(lineage_distribution="normal")
    data = prepare_data(paper_df[paper_df["log10_flop"] < 23.0].copy(), spec)
    model = build_model(data, spec)
    assert "lineage_single_z" not in model.named_vars
    assert lineage_compensation(data).single_position.size
    with model:
        step = CompensatedScaleMove(compensation=lineage_compensation(data))
    assert step.compensation.single_position.size == 0 and step._single_value is None
    assert step.compensation.multi_position.size
