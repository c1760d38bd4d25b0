"""The model effect integrated out of the binomial (``integrate_model_effect``, issue 10).

The adaptive Gauss–Hermite rule of :mod:`bayes_llm.model.eta_integral` is checked against
an independent Simpson's rule (:func:`bayes_llm.verify.logdensity.integrated_binomial_logpmf`);
the PyMC model's per-model log density against the same reference; the conditional
draws of eta against moments by the reference rule. Each check is shown to fail on a
deliberate error.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from bayes_llm.errors import SpecError
from bayes_llm.model import build, load_spec, prepare_data
from bayes_llm.model import eta_integral as ei
from bayes_llm.model.spec import spec_from_dict
from bayes_llm.verify import logdensity as ld

N_ITEMS, GUESS = 12032, 0.1
#: Observed accuracies from the floor cluster (0.105-0.12) to strong models.
ACCURACIES = (0.1049, 0.1065, 0.11, 0.12, 0.15, 0.3, 0.6, 0.85)
MEANS = (-4.0, -1.5, 0.5, 3.0)


def _grid():
    k = np.array([round(a * N_ITEMS) for a in ACCURACIES for _ in MEANS], float)
    mu = np.array([m for _ in ACCURACIES for m in MEANS])
    return k, mu


@pytest.mark.parametrize(("sigma", "tol"), [(0.1, 1e-8), (0.4, 1e-6), (1.0, 1e-3)])
def test_quadrature_matches_an_independent_rule(sigma, tol):
    k, mu = _grid()
    mine = ei.log_marginal(k, N_ITEMS, GUESS, mu, sigma)
    reference = ld.integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu, sigma)
    assert np.max(np.abs(mine - reference)) < tol


def test_a_non_adaptive_rule_is_caught(monkeypatch):
    """Gauss–Hermite on Normal(mu, sigma) itself (no mode search) misses the ~0.03-wide
    likelihood: the reference shows it (the written-out formula, which
    ``tests/test_eta_kernel.py`` keeps equal to the compiled loop that ``log_marginal``
    runs by default)."""
    monkeypatch.setattr(ei, "mode_and_scale",
                        lambda k, n, g, mu, sigma, ops=None, from_prior=False: (
                            mu + 0.0 * k, sigma + 0.0 * mu))
    k, mu = _grid()
    error = np.abs(ei.log_marginal(k, N_ITEMS, GUESS, mu, 0.4, ops=ei.NUMPY_OPS)
                   - ld.integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu, 0.4))
    assert error.max() > 1.0


def test_far_above_the_curve_the_marginal_is_finite_and_matches_the_reference():
    """Means 40-200 logits above the curve (a lineage effect from the Student-t law's far
    tail, which a Gibbs step may propose and accept at a model at the floor): p rounds to
    1, yet the marginal is finite in NumPy and in the model's PyTensor graph, with a finite
    gradient, about 0 for a perfect count, its closed form for one miss, and far below 0
    for counts at the floor (the scoring's old dp / (1 - p) was 0/0 there, NaN in the
    model's log density)."""
    import pytensor
    import pytensor.tensor as pt

    k = np.array([N_ITEMS, N_ITEMS - 1, round(0.11 * N_ITEMS), N_ITEMS, 40.0])
    mu = np.array([40.0, 40.0, 60.0, 200.0, 200.0])
    numpy_value = ei.log_marginal(k, N_ITEMS, GUESS, mu, 0.3)
    m = pt.dvector("mu")
    value = ei.pytensor_log_marginal(k, np.full(k.shape, float(N_ITEMS)), GUESS, m, 0.3)
    graph = pytensor.function([m], [value, pytensor.grad(value.sum(), m)])(mu)
    for logp in (numpy_value, graph[0]):
        assert np.all(np.isfinite(logp))
        assert abs(logp[0]) < 1e-9 and abs(logp[3]) < 1e-9
        # one miss: n (1 - g) E[exp(-eta)], eta ~ N(40, 0.3) (p^(n-1) is 1 to 1e-13)
        assert logp[1] == pytest.approx(np.log(N_ITEMS) + np.log1p(-GUESS) - 40.0
                                        + 0.5 * 0.3**2, abs=1e-6)
        assert logp[2] < -1e4 and logp[4] < -1e5  # the prior's tail at the floor's peak
    assert np.all(np.isfinite(graph[1]))


def _pytensor_gradient(k, mu, sigma):
    import pytensor
    import pytensor.tensor as pt

    m, s = pt.dvector("mu"), pt.dscalar("sigma")
    total = ei.pytensor_log_marginal(k, np.full(k.shape, float(N_ITEMS)), GUESS, m, s).sum()
    fn = pytensor.function([m, s], pytensor.grad(total, [m, s], disconnected_inputs="ignore"))
    return fn(mu, sigma)


def test_gradient_matches_finite_differences_of_the_reference():
    """The model's gradient treats the quadrature centres as constants (they change the
    rule, not the integral: a valid HMC gradient, 2x faster); it must still be the
    reference's gradient."""
    k, mu = _grid()
    sigma, h = 0.4, 1e-5
    g_mu, g_sigma = _pytensor_gradient(k, mu, sigma)

    def ref(m, s):
        return ld.integrated_binomial_logpmf(k, N_ITEMS, GUESS, m, s)

    fd_mu = (ref(mu + h, sigma) - ref(mu - h, sigma)) / (2 * h)
    fd_sigma = np.sum(ref(mu, sigma + h) - ref(mu, sigma - h)) / (2 * h)
    np.testing.assert_allclose(g_mu, fd_mu, rtol=1e-4, atol=1e-4)
    assert g_sigma == pytest.approx(fd_sigma, rel=1e-4)


def test_a_gradient_that_ignores_mu_is_caught(monkeypatch):
    """Holding mu itself fixed (a plausible slip when stopping gradients) is caught."""
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_grad

    original = ei.pytensor_log_marginal

    def mu_held(k, n, g, mu, sigma):
        return original(k, n, g, disconnected_grad(mu), pt.as_tensor(sigma))

    monkeypatch.setattr(ei, "pytensor_log_marginal", mu_held)
    k, mu = _grid()
    g_mu, _ = _pytensor_gradient(k, mu, 0.4)
    fd = (ld.integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu + 1e-5, 0.4)
          - ld.integrated_binomial_logpmf(k, N_ITEMS, GUESS, mu - 1e-5, 0.4)) / 2e-5
    assert not np.allclose(g_mu, fd, rtol=1e-4, atol=1e-4)


def test_marginal_is_a_probability_over_counts():
    """Summed over every count 0..n the marginal is 1 (a small benchmark: n = 200)."""
    n = 200
    k = np.arange(n + 1, dtype=float)
    for mu, sigma in ((-1.0, 0.4), (1.5, 0.8)):
        total = np.exp(special.logsumexp(ei.log_marginal(k, n, 0.25, np.full(n + 1, mu),
                                                         sigma)))
        assert total == pytest.approx(1.0, abs=1e-6)


def _posterior_moments(k, mu, sigma):
    e = np.linspace(-12, 8, 400_001)
    p = GUESS + (1 - GUESS) * special.expit(e)
    log_w = stats.binom.logpmf(k, N_ITEMS, p) + stats.norm.logpdf(e, mu, sigma)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    mean = np.sum(w * e)
    return mean, np.sqrt(np.sum(w * (e - mean) ** 2))


@pytest.mark.parametrize(("acc", "mu"), [(0.3, -0.5), (0.12, -1.0), (0.7, 2.0)])
def test_conditional_eta_draws_have_the_posterior_moments(acc, mu):
    k, sigma, draws = round(acc * N_ITEMS), 0.4, 20_000
    rng = np.random.default_rng(1)
    eta = ei.draw_conditional_eta(np.full(1, k, float), N_ITEMS, GUESS,
                                  np.full((draws, 1), mu), np.full(draws, sigma), rng)[:, 0]
    mean, sd = _posterior_moments(k, mu, sigma)
    assert eta.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(draws))
    assert eta.std() == pytest.approx(sd, rel=0.03)


def test_draws_from_the_proposal_alone_are_caught():
    """One candidate per draw (no resampling) gives the proposal's 1.5x wider spread."""
    k, mu, sigma, draws = round(0.3 * N_ITEMS), -0.5, 0.4, 20_000
    eta = ei.draw_conditional_eta(np.full(1, k, float), N_ITEMS, GUESS,
                                  np.full((draws, 1), mu), np.full(draws, sigma),
                                  np.random.default_rng(1), candidates=1)[:, 0]
    assert eta.std() > 1.3 * _posterior_moments(k, mu, sigma)[1]


def _spec(paper_df, **changes):
    spec = load_spec("binomial_developers").with_changes(integrate_model_effect=True,
                                                          **changes)
    return spec, prepare_data(paper_df, spec)


@pytest.mark.parametrize("mixture", [False, True])
def test_pymc_density_of_each_count_matches_the_reference(paper_df, mixture):
    from pymc.model.transform.conditioning import remove_value_transforms

    from bayes_llm.verify.generate import draw_parameters

    spec, data = _spec(paper_df, floor_mixture=mixture)
    model = remove_value_transforms(build.build_model(data, spec))
    assert "eta" not in [v.name for v in model.free_RVs]
    params = draw_parameters(spec, data, np.random.default_rng(3))
    # a point near the posterior (prior draws put mu up to ~10 logits from the data, where
    # the rule's error reaches ~1e-2; tests/test_logdensity.py covers such points)
    params["sigma_model"] = np.asarray(0.45)
    params.update(alpha=np.asarray(-1.4), beta=np.asarray(0.85),
                  developer_effect=0.6 * params["developer_effect"] / np.std(
                      params["developer_effect"]), period_effect=0.0 * params["period_effect"])
    names = ld.value_names(spec, data)
    obs = model.observed_RVs[0]
    logp = model.compile_fn(model.logp(vars=[obs], sum=False)[0], inputs=model.value_vars,
                            on_unused_input="ignore", mode="FAST_COMPILE")
    theirs = np.asarray(logp({n: params[n] for n in names}))
    mu = ld._mu(spec, data, params, ld.structure(spec, data))
    mine = ld.integrated_binomial_logpmf(data.k, data.n, data.guess, mu, 0.45)
    if mixture:
        pi = float(params["collapse_probability"])
        a, b = ld.collapse_shape(data.guess, float(params["collapse_logit_mean"]),
                                 float(params["collapse_log_concentration"]))
        mine = np.logaddexp(np.log(pi) + stats.betabinom.logpmf(data.k, data.n, a, b),
                            np.log1p(-pi) + mine)
    # ~1e-11 for most models, up to ~5e-5 for floor models below their mean (the
    # likelihood's plateau at the floor skews the integrand); a wrong term is off by >> 1
    assert np.max(np.abs(theirs - mine)) < 2e-4
    assert np.median(np.abs(theirs - mine)) < 1e-8
    # the sum is what log_density_terms reports for the observed counts
    assert ld.log_density_terms(spec, data, params)["correct"] == pytest.approx(mine.sum())


def test_add_eta_draws_separates_collapsed_from_regular_models():
    """A floor model under a large mu is collapsed (eta ~ Normal(mu, sigma)); a working one
    is pinned near its observed score."""
    import xarray as xr

    chains, draws = 2, 400
    k = np.array([round(0.111 * N_ITEMS), round(0.5 * N_ITEMS)], float)
    shape = (chains, draws)
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.full((*shape, 2), 0.5)),
        "sigma_model": (("chain", "draw"), np.full(shape, 0.4)),
        "collapse_probability": (("chain", "draw"), np.full(shape, 0.09)),
        "collapse_mean": (("chain", "draw"), np.full(shape, 0.112)),
        "collapse_concentration": (("chain", "draw"), np.full(shape, 3000.0))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["floor", "works"]})
    dt = ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post}), k, N_ITEMS, GUESS, 5)
    out = dt["posterior"].to_dataset()
    assert ei.ETA_MEAN not in out and out["eta"].dims == ("chain", "draw", "model")
    floor, works = out["eta"].sel(model="floor").values, out["eta"].sel(model="works").values
    assert floor.mean() == pytest.approx(0.5, abs=0.05)
    assert floor.std() == pytest.approx(0.4, rel=0.1)
    observed = np.log((0.5 - GUESS) / (1 - GUESS)) - np.log1p(-(0.5 - GUESS) / (1 - GUESS))
    assert abs(works.mean() - observed) < 0.01 and works.std() < 0.05


def test_single_model_lineages_are_drawn_given_eta():
    """A model alone in its lineage has effect SD sqrt(sigma_model^2 + sigma_lineage^2);
    its lineage effect given eta is Normal(r (eta - mu), sigma_l sigma_m / SD), r =
    sigma_l^2 / SD^2; a multi-model lineage keeps its sampled effect."""
    import xarray as xr

    chains, draws, s_m, s_l = 2, 2000, 0.3, 0.4
    shape = (chains, draws)
    # models: two of lineage "a" (sampled), one alone in "b" at the floor (its eta is then
    # close to its prior: mu = -8 lies on the likelihood's plateau), so eta - mu has the
    # summed-out SD
    k = np.array([round(0.5 * N_ITEMS), round(0.52 * N_ITEMS), round(0.1 * N_ITEMS)], float)
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.full((*shape, 3), -8.0)),
        "sigma_model": (("chain", "draw"), np.full(shape, s_m)),
        "sigma_lineage": (("chain", "draw"), np.full(shape, s_l)),
        "lineage_multi_effect": (("chain", "draw", "lineage_multi"), np.full((*shape, 1), 0.7))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["m1", "m2", "m3"],
                "lineage_multi": ["a"]})
    layout = ei.LineageLayout(np.array([0, 0, 1]), np.array([0]), np.array([1]),
                              np.array([False, False, True]), ["a", "b"])
    dt = ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post}), k, N_ITEMS, GUESS, 3,
                          lineages=layout)
    out = dt["posterior"].to_dataset()
    assert out["lineage_effect"].dims == ("chain", "draw", "lineage")
    np.testing.assert_allclose(out["lineage_effect"].sel(lineage="a"), 0.7)
    dev = out["eta"].sel(model="m3").values.ravel() + 8.0
    lin = out["lineage_effect"].sel(lineage="b").values.ravel()
    sd = np.hypot(s_m, s_l)
    assert dev.std() == pytest.approx(sd, rel=0.08)  # the summed-out SD, not sigma_model
    slope, intercept = np.polyfit(dev, lin, 1)
    assert slope == pytest.approx(s_l**2 / sd**2, abs=0.03) and abs(intercept) < 0.02
    assert np.std(lin - slope * dev) == pytest.approx(s_l * s_m / sd, rel=0.08)


def test_integration_needs_a_normal_binomial_model_effect():
    base = load_spec("binomial_developers").to_dict()
    for change, fragment in (({"likelihood": "logit_normal"}, "needs likelihood = 'binomial'"),
                             ({"model_effect": "student_t"}, "model_effect = 'normal'")):
        with pytest.raises(SpecError, match=fragment):
            spec_from_dict({**base, "integrate_model_effect": True, **change}, source="x.toml")


def test_the_option_left_off_changes_nothing():
    spec = load_spec("binomial_developers")
    assert "integrate_model_effect" not in spec.to_dict()
    assert spec.with_changes(integrate_model_effect=True).hash() != spec.hash()


@pytest.mark.slow  # compiling the quadrature's scoring steps and their gradient: minutes
def test_a_small_integrated_fit_saves_eta_and_predicts_new_models(paper_df):
    """End to end on 80 models: the posterior has eta (not eta_mean), the log-likelihood
    is the marginal, and the PyMC posterior predictive replicates new models only."""
    from bayes_llm.errors import BayesLLMError
    from bayes_llm.model.fit import fit_model
    from bayes_llm.model.predictive import posterior_predictive

    df = paper_df.sort_values("model_id").iloc[::10].copy()
    fit = fit_model(load_spec("binomial_floor_mixture"), df, draws=30, tune=30, chains=2,
                    cores=1, progressbar=False)
    post = fit.dt["posterior"]
    assert "eta" in post and ei.ETA_MEAN not in post
    assert post["eta"].dims == ("chain", "draw", "model") and post.sizes["model"] == len(df)
    assert np.isfinite(post["eta"].values).all()
    assert fit.dt["log_likelihood"]["correct"].shape == (2, 30, len(df))
    tree = posterior_predictive(fit, df, 1, draws=20)
    assert tree.attrs["new_models"] and np.isfinite(
        tree["posterior_predictive"]["accuracy"].values).all()
    with pytest.raises(BayesLLMError, match="new_models=True"):
        posterior_predictive(fit, df, 1, draws=20, new_models=False)
