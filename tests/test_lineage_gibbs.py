"""The Gibbs step over the near-floor lineages' effects (``[sampler] lineage_gibbs``).

Its kernel against an independent two-peak density (invariance, crossing the valley, a
wrong target caught), its conditional against the PyMC model's own log density (a wrong
wiring caught), the spec's and backend's refusals, and a short PyMC run with the step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bayes_llm.errors import BayesLLMError
from bayes_llm.model import lineage_grid as lg
from bayes_llm.model import load_spec, prepare_data
from bayes_llm.model.spec import SpecError, spec_from_dict

LOW, HIGH, SD_LOW, SD_HIGH, WEIGHT_LOW = -1.1, -0.5, 0.08, 0.1, 0.3
DRAWS = 4000


def _two_peaks(u, weight_low=WEIGHT_LOW):
    """Log density (mass 1) of two peaks 0.6 apart with a valley of ~12 log units."""
    return np.logaddexp(np.log(weight_low) + stats.norm.logpdf(u, LOW, SD_LOW),
                        np.log1p(-weight_low) + stats.norm.logpdf(u, HIGH, SD_HIGH))


def _two_peak_cdf(u):
    return (WEIGHT_LOW * stats.norm.cdf(u, LOW, SD_LOW)
            + (1 - WEIGHT_LOW) * stats.norm.cdf(u, HIGH, SD_HIGH))


def _integrand(repeat: int) -> lg.LineageIntegrand:
    """``repeat`` draws of one lineage whose conditional is the two peaks (law scale 1)."""
    nodes, _ = lg.grid_nodes()
    law = lg.log_law(nodes, 1.0)
    loglik = np.broadcast_to((_two_peaks(nodes) - law)[None, None, :],
                             (repeat, 1, lg.NODE_COUNT))
    return lg.LineageIntegrand(loglik, law, np.stack(lg.law_log_tails(1.0, None)),
                               np.asarray(1.0), None)


def _from_conditional(rng, size):
    low = rng.uniform(size=size) < WEIGHT_LOW
    return np.where(low, rng.normal(LOW, SD_LOW, size), rng.normal(HIGH, SD_HIGH, size))


def test_the_kernel_leaves_the_conditional_invariant():
    """Chains started at draws from the conditional are still draws from it after the
    step (KS), whichever number of steps: the Metropolis-Hastings correction makes the
    grid's interpolant an exact kernel."""
    rng = np.random.default_rng(1)
    start = _from_conditional(rng, (DRAWS, 1))
    for steps in (1, 3):
        out, acceptance = lg.draw_lineage_effects(_integrand(DRAWS), rng, _two_peaks,
                                                  steps, start=start)
        assert stats.kstest(out[:, 0], _two_peak_cdf).pvalue > 1e-3
        assert 0.8 < acceptance <= 1.0


def test_a_chain_in_one_peak_crosses_the_valley():
    """Every chain starts in the lower peak, 12 log units of valley from the other; after
    the step the share in the upper peak is its conditional mass 0.7 (binomial bounds),
    where NUTS alone would stay put."""
    rng = np.random.default_rng(2)
    start = np.full((DRAWS, 1), LOW)
    out, _ = lg.draw_lineage_effects(_integrand(DRAWS), rng, _two_peaks, 3,
                                     start=start)
    upper = np.mean(out[:, 0] > -0.8)
    assert abs(upper - (1 - WEIGHT_LOW)) < 4 * np.sqrt(0.21 / DRAWS)


def test_a_kernel_with_the_wrong_target_fails_the_same_test():
    """The same kernel aimed at a conditional with the peaks' weights changed (0.5 for
    0.3, as a wrong likelihood would give): its draws fail the KS test above."""
    rng = np.random.default_rng(3)
    start = _from_conditional(rng, (DRAWS, 1))
    out, _ = lg.draw_lineage_effects(_integrand(DRAWS), rng,
                                     lambda u: _two_peaks(u, weight_low=0.5), 3,
                                     start=start)
    assert stats.kstest(out[:, 0], _two_peak_cdf).pvalue < 1e-6


def test_a_start_needs_the_exact_conditional():
    with pytest.raises(ValueError, match="needs the exact conditional"):
        lg.draw_lineage_effects(_integrand(2), np.random.default_rng(0), None,
                                start=np.zeros((2, 1)))


GIBBS_SPEC_FILE = (Path(__file__).resolve().parent.parent
                   / "verification/specs/fc_two_nc_ratio2_tlin_gibbs.toml")
GIBBS_OPTIONS = {
    "integrate_model_effect": True, "model_effect": "two_scale", "lineage_effect": True,
    "lineage_source": "fingerprint", "lineage_distribution": "student_t",
    "floor_mixture": True, "collapse_by_compute": True,
    "sampler": {"lineage_gibbs": True}}
#: Near-floor lineages with models on both sides of the floor line and at it only.
GIBBS_LINEAGES = ("fp:1.78B/18000BT", "fp:0.36B/600BT", "fp:0.03B/2BT")


def _gibbs_design(paper_df):
    """The near-floor lineages above and the models below 10^22.5 FLOP."""
    spec = load_spec("binomial_developers").with_changes(name="gibbs", **GIBBS_OPTIONS)
    full = prepare_data(paper_df, spec)
    lineage = np.asarray(full.coords["lineage"])[full.lineage_idx]
    keep = np.isin(lineage, GIBBS_LINEAGES) | (paper_df["log10_flop"].to_numpy() < 22.5)
    return spec, paper_df[keep].copy()


def _step_and_model(paper_df):
    from bayes_llm.model.build import build_model
    from bayes_llm.model.lineage_gibbs import LineageGibbs

    spec, design = _gibbs_design(paper_df)
    data = prepare_data(design, spec)
    model = build_model(data, spec)
    lineages = lg.near_floor_lineages(data.lineage_idx, data.k / data.n, data.lineage_multi)
    labels = [data.coords["lineage"][i] for i in lineages]
    assert set(GIBBS_LINEAGES) <= set(labels)
    with model:
        step = LineageGibbs(data=data, lineages=lineages)
    return spec, data, model, step, labels


def _perturbed_point(model, rng):
    point = {k: np.asarray(v, float).copy() for k, v in model.initial_point().items()}
    for name, value in point.items():
        point[name] = value + 0.3 * rng.standard_normal(value.shape)
    point["sigma_model_log__"] = np.asarray(np.log(0.3))
    return point


def _disagreements(model, step, point, moves=(-2.0, 0.7)) -> list[tuple[str, float]]:
    """Per near-floor lineage and new value of its effect: the change of the PyMC model's
    log density minus the change of the step's exact conditional."""
    logp = model.compile_logp()
    _, exact, current, factor = step._conditional(point)
    out = []
    for j, position in enumerate(step._positions):
        for new in moves:
            moved = {k: v.copy() for k, v in point.items()}
            moved[step._value_name][position] = new / factor  # z = u / sigma for singles
            u = current[None, :].copy()
            u[0, j] = new
            model_change = logp(moved) - logp(point)
            step_change = exact(u)[0, j] - exact(current[None, :])[0, j]
            out.append((j, model_change - step_change))
    return out


def test_the_step_conditional_is_the_model_conditional(paper_df):
    """For each near-floor lineage, the change of the PyMC model's log density when its
    effect moves between two values equals the change of the step's exact conditional
    (which adds back what the model's eta_mean holds: the effect, the two-scale scales,
    the compute-dependent collapse probability, the Student-t law)."""
    _, data, model, step, labels = _step_and_model(paper_df)
    point = _perturbed_point(model, np.random.default_rng(4))
    for j, difference in _disagreements(model, step, point):
        assert abs(difference) <= 1e-6, labels[j]


def test_a_step_wired_to_the_wrong_lineages_is_caught(paper_df):
    """The same check with the step's lineages shifted by one (its conditional reads the
    wrong models): the changes disagree."""
    _, data, model, step, labels = _step_and_model(paper_df)
    step._positions = np.roll(step._positions, 1)
    point = _perturbed_point(model, np.random.default_rng(4))
    worst = max(abs(d) for _, d in _disagreements(model, step, point, moves=(-2.0,)))
    assert worst > 0.1


def test_the_multi_lineage_step_covers_every_multi_model_lineage(paper_df, monkeypatch):
    """``multi_lineage_gibbs``: the step is built on every multi-model lineage (regular ones
    beside the near-floor ones), and for each the change of the model's log density when its
    effect moves equals the change of the step's exact conditional."""
    import pymc as pm

    from bayes_llm.model.lineage_gibbs import LineageGibbs
    from bayes_llm.model.sampling import compound_steps

    monkeypatch.setattr(pm, "NUTS", lambda **kwargs: None)  # not compiled: not checked here

    spec, data, model, near_floor_step, _ = _step_and_model(paper_df)
    settings = spec.with_changes(sampler={"lineage_gibbs": False,
                                          "multi_lineage_gibbs": True}).sampler
    assert settings.custom_steps == ("multi_lineage_gibbs",)
    steps = compound_steps(model, data, "pymc", settings)
    gibbs = [s for s in steps if isinstance(s, LineageGibbs)]
    assert len(gibbs) == 1 and gibbs[0].block == "multi"
    np.testing.assert_array_equal(gibbs[0]._layout.lineages, data.lineage_multi)
    assert len(data.lineage_multi) > near_floor_step._positions.size
    point = _perturbed_point(model, np.random.default_rng(4))
    assert max(abs(d) for _, d in _disagreements(model, gibbs[0], point)) <= 1e-6


def _single_step(model, data):
    from bayes_llm.model.lineage_gibbs import LineageGibbs

    with model:
        return LineageGibbs(data=data, lineages=data.lineage_single, block="single")


def test_the_single_lineage_step_conditional_is_the_model_conditional(paper_df):
    """``single_lineage_gibbs``: for each single-model lineage (Student-t, non-centred), the
    change of the model's log density when its z moves to u / sigma_lineage equals the
    change of the step's exact conditional of u; the same step with the z's read as the
    effects (sigma_lineage dropped) or wired to the wrong lineages is caught."""
    _, data, model, _, _ = _step_and_model(paper_df)
    step = _single_step(model, data)
    assert step._positions.size == len(data.lineage_single) > 20
    assert set(step.stats_dtypes_shapes) == {"single_lineage_gibbs_acceptance",
                                             "single_lineage_gibbs_moved"}
    point = _perturbed_point(model, np.random.default_rng(4))
    point["sigma_lineage_log__"] = np.asarray(np.log(0.5))
    moves = (-0.9, 0.4)
    assert max(abs(d) for _, d in _disagreements(model, step, point, moves)) <= 1e-6
    step.block = "multi"  # the deliberate error: factor 1, the z's taken for the effects
    assert max(abs(d) for _, d in _disagreements(model, step, point, moves)) > 0.1
    step.block = "single"
    step._positions = np.roll(step._positions, 1)
    assert max(abs(d) for _, d in _disagreements(model, step, point, moves)) > 0.1


def test_the_single_lineage_step_records_the_drawn_effects_as_z(paper_df, monkeypatch):
    """The update draws effects u and records z = u / sigma_lineage: with the draw made a
    known shift of every single-model lineage's effect, each effect sigma * z moves by
    exactly that shift and the multi-model lineages are untouched; recording u itself
    as z (the deliberate error) is caught."""
    _, data, model, _, _ = _step_and_model(paper_df)
    step = _single_step(model, data)
    point = _perturbed_point(model, np.random.default_rng(4))
    point["sigma_lineage_log__"] = np.asarray(np.log(0.5))
    shift = np.linspace(-0.3, 0.3, step._positions.size)
    monkeypatch.setattr(lg, "draw_lineage_effects",
                        lambda integrand, rng, exact, steps, start: (start + shift, 1.0))

    def effect_change(new):
        return 0.5 * (new["lineage_single_z"] - point["lineage_single_z"])[step._positions]

    new, stats_ = step.step(point)
    np.testing.assert_allclose(effect_change(new), shift, atol=1e-12)
    assert stats_[0]["single_lineage_gibbs_moved"] == np.count_nonzero(shift)
    np.testing.assert_array_equal(new["lineage_multi_effect"], point["lineage_multi_effect"])
    conditional = step._conditional
    monkeypatch.setattr(step, "_conditional", lambda p: (*conditional(p)[:3], 1.0))
    assert np.abs(effect_change(step.step(point)[0]) - shift).max() > 0.05


def test_the_step_draws_with_the_generator_pymc_gives_each_chain(paper_df):
    """The same chain generator gives the same update (a fit is reproducible from its seed,
    PyMC spawning one generator per chain and step) and another generator another update
    (the step keeps no generator of its own)."""
    _, _, model, step, _ = _step_and_model(paper_df)
    point = _perturbed_point(model, np.random.default_rng(4))

    def update(seed):
        step.setup_chain(np.random.default_rng(seed), 0, 1)
        new, _ = step.step(point)
        return new[step._value_name]

    first, again, other = update(5), update(5), update(6)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_the_option_needs_a_sampled_integrated_lineage_effect_and_the_pymc_backend(paper_df):
    base = load_spec("binomial_developers").to_dict()
    with pytest.raises(SpecError, match="lineage_gibbs = true needs lineage_effect"):
        spec_from_dict({**base, "sampler": {**base["sampler"], "lineage_gibbs": True}},
                       source="x.toml")
    with pytest.raises(SpecError, match="multi_lineage_gibbs = true needs lineage_effect"):
        spec_from_dict({**base, "sampler": {**base["sampler"], "multi_lineage_gibbs": True}},
                       source="x.toml")
    with pytest.raises(SpecError, match="lineage_gibbs must be true or false"):
        spec_from_dict({**base, "sampler": {**base["sampler"], "lineage_gibbs": "yes"}},
                       source="x.toml")
    on = load_spec("binomial_developers").with_changes(name="gibbs", **GIBBS_OPTIONS)
    with pytest.raises(SpecError, match="lineage_grid = 'none'"):
        on.with_changes(lineage_grid="near_floor")
    with pytest.raises(SpecError, match="single_lineage_gibbs = true needs lineage_effect "
                       "= true, lineage_distribution = 'student_t'"):
        on.with_changes(lineage_distribution="normal", sampler={"single_lineage_gibbs": True})
    assert on.with_changes(sampler={"single_lineage_gibbs": True}).sampler.custom_steps == (
        "lineage_gibbs", "single_lineage_gibbs")
    off = on.with_changes(sampler={"lineage_gibbs": False})
    assert "lineage_gibbs" not in off.to_dict()["sampler"]  # hash as before the option
    assert "lineage_gibbs" in on.to_dict()["sampler"] and on.hash() != off.hash()
    from bayes_llm.model.sampling import compound_steps

    with pytest.raises(BayesLLMError, match="needs the 'pymc' backend"):
        compound_steps(None, None, "nutpie", on.sampler)


@pytest.mark.slow
def test_a_short_pymc_run_with_the_step(paper_df):
    """PyMC's NUTS (the spec's own backend) with both Gibbs blocks on the small design: each
    is recorded, NUTS's log density is the draw's, and the near-floor and single-model
    lineages' effects move every iteration."""
    from bayes_llm.model.fit import fit_model

    spec, design = _gibbs_design(paper_df)
    spec = spec.with_changes(sampler={"single_lineage_gibbs": True})
    fit = fit_model(spec, design, draws=30, tune=30, chains=1, cores=1, progressbar=False)
    assert fit.metadata["backend"] == "pymc"  # the spec's own backend
    stats_ = fit.dt["sample_stats"]
    for block in ("lineage_gibbs", "single_lineage_gibbs"):  # each under its own names
        acceptance = stats_[f"{block}_acceptance"].values
        assert np.all((acceptance > 0) & (acceptance <= 1)) and acceptance.mean() > 0.5
        assert np.all(stats_[f"{block}_moved"].values >= 1)
    assert np.all(stats_["lp"].values != 0.0)


def test_the_cli_refuses_another_backend_before_loading_data(tmp_path, capsys, monkeypatch):
    """``bayes-llm fit --backend nutpie`` of a spec with the step: one line naming the spec
    file and the backend it needs, exit 2, no data read, nothing written."""
    import importlib

    from bayes_llm.cli import main

    def no_data(*args, **kwargs):
        raise AssertionError("data was loaded for a spec the backend cannot sample")

    importlib.import_module("bayes_llm.cli.fit_cmd")
    monkeypatch.setattr("bayes_llm.cli.fit_cmd.load_data", no_data)
    out = tmp_path / "run"
    code = main(["fit", "--model", str(GIBBS_SPEC_FILE), "--out", str(out),
                 "--backend", "nutpie"])
    stdout, err = capsys.readouterr()
    assert code == 2 and stdout == ""
    assert err.splitlines() == [f"error: {GIBBS_SPEC_FILE}: [sampler] lineage_gibbs = true "
                                "needs the 'pymc' backend (PyMC's NUTS with the Gibbs step; "
                                "nutpie and numpyro take no custom step), not 'nutpie'; pass "
                                "--backend pymc or leave --backend out"]
    assert not out.exists()


def test_without_a_backend_the_spec_with_the_step_is_sampled_by_pymc(tmp_path, capsys,
                                                                     monkeypatch):
    """No ``--backend``: the spec's own backend (pymc for the step, nutpie otherwise) is
    the one ``fit`` names and hands to the sampler."""
    import importlib

    from bayes_llm.cli import main
    from bayes_llm.model.sampling import check_backend, spec_backend

    gibbs = load_spec(str(GIBBS_SPEC_FILE))
    plain = load_spec("binomial_developers")
    assert spec_backend(gibbs) == "pymc" and spec_backend(plain) == "nutpie"
    assert spec_backend(plain, "numpyro") == "numpyro"
    check_backend(None, gibbs, plain)  # each spec's own backend: accepted
    with pytest.raises(BayesLLMError, match="not 'nutpie'"):
        check_backend("nutpie", plain, gibbs)

    handed = []

    class Stop(Exception):
        pass

    def fake_fit(spec, df, *, backend, **kwargs):
        handed.append(backend)
        raise Stop

    importlib.import_module("bayes_llm.cli.fit_cmd")
    monkeypatch.setattr("bayes_llm.model.fit_model", fake_fit)
    with pytest.raises(Stop):
        main(["fit", "--model", str(GIBBS_SPEC_FILE), "--out", str(tmp_path / "run")])
    assert handed == ["pymc"]
    assert "with pymc" in capsys.readouterr().err


def test_the_conditional_far_above_the_curve_is_the_collapsed_part_alone(paper_df):
    """A proposal from the Student-t law's far tail (u = +200): each model's regular part is
    zero there, so a lineage's conditional is its law times its models' collapsed parts,
    finite, and far below its value near the models (no NaN that would silently reject)."""
    from scipy import stats as st

    _, data, model, step, labels = _step_and_model(paper_df)
    point = _perturbed_point(model, np.random.default_rng(4))
    _, exact, current, _ = step._conditional(point)
    far = exact(current[None, :] + 200.0)[0]
    near = exact(current[None, :])[0]
    assert np.all(np.isfinite(far)) and np.all(far < near - 5.0)
    v = dict(zip(step._names, step._values(point), strict=True))
    j = labels.index("fp:0.03B/2BT")  # two models at the floor
    layout = step._layout
    models = layout.models[layout.position == j]
    u = current[j] + 200.0
    pi = 1.0 / (1.0 + np.exp(-(float(v["collapse_intercept"])
                               + float(v["collapse_compute_slope"]) * data.x[models])))
    a = float(v["collapse_mean"] * v["collapse_concentration"])
    b = float((1.0 - v["collapse_mean"]) * v["collapse_concentration"])
    n = np.broadcast_to(np.asarray(data.n), np.shape(data.k))[models]
    expected = (np.sum(np.log(pi) + st.betabinom.logpmf(data.k[models], n, a, b))
                + st.t.logpdf(u, float(v["nu_lineage"]), 0.0, float(v["sigma_lineage"])))
    assert far[j] == pytest.approx(expected, abs=1e-9)
