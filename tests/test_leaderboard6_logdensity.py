"""The joint six-benchmark PyMC model's log density equals the documented one, term by term.

``bayes_llm.verify.leaderboard6_logdensity`` writes the density of ``models/README.md``
("The joint model of the six leaderboard benchmarks") in NumPy/SciPy. At prior draws of the
PyMC model (a small simulated design: 40 models, 5 developers, 3 cohorts; IFEval, GPQA,
MMLU-Pro), every term (each sampled variable given its parents, each observed variable)
must agree to 1e-6 relative on the constrained values, for residuals centred / marginal x
ability unit / scaled and both developer parameterisations (and, for the default one, on
the sampler's unconstrained values with the log-Jacobians added), including the LKJCholeskyCov
prior of ``developer_chol`` (written from Lewandowski et al. 2009 and the Stan reference).

The last test injects deliberate errors into the builder and shows the comparison catches
each in the term it affects.
"""

from __future__ import annotations

import zlib

import numpy as np
import pymc as pm
import pytest
from pymc.model.transform.conditioning import remove_value_transforms

import bayes_llm.model.leaderboard6 as l6
from bayes_llm.model.spec import load_spec
from bayes_llm.verify import leaderboard6_logdensity as ld6
from bayes_llm.verify.leaderboard6_sim import simulate_leaderboard6

#: Every term is a closed form here (no quadrature): float64 rounding only. Tight enough to
#: catch a prior built from float32 constants (sigma_period was ~1e-7 off).
RTOL = 1e-8
MODE = "FAST_COMPILE"


@pytest.fixture(scope="module")
def design():
    frame, long, truth = simulate_leaderboard6(n_models=40, n_developers=5, seed=5,
                                               missing_share=0.1)
    spec = load_spec("leaderboard6")
    data = l6.prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    return spec, data


def _pymc_terms(model):
    """Return point -> {variable name: its log density term} of the PyMC model (constrained)."""
    untransformed = remove_value_transforms(model)
    rvs = untransformed.free_RVs + untransformed.observed_RVs + untransformed.potentials
    fn = untransformed.compile_fn(untransformed.logp(vars=rvs, jacobian=False, sum=False),
                                  inputs=untransformed.value_vars, mode=MODE,
                                  on_unused_input="ignore")
    return lambda point: {rv.name: float(np.sum(t))
                          for rv, t in zip(rvs, fn(point), strict=True)}


def _compare(spec, data, residuals, ability, *, n_points=2, seed=0, intercept="equal"):
    """Return (mine, theirs) term dicts at ``n_points`` prior draws of the PyMC model."""
    model = l6.build_leaderboard6_model(data, spec, residuals=residuals,
                                        ability_scaling=ability, intercept=intercept)
    draws = pm.draw(model.free_RVs, draws=max(n_points, 2), random_seed=seed, mode=MODE)
    terms_of = _pymc_terms(model)
    out = []
    for k in range(n_points):
        point = {rv.name: np.asarray(d[k]) for rv, d in zip(model.free_RVs, draws,
                                                            strict=True)}
        theirs = terms_of(point)
        mine = ld6.log_density_terms(spec, data, point, residuals=residuals,
                                     ability_scaling=ability, intercept=intercept)
        out.append((mine, theirs))
    return out


def _assert_agree(pairs, what):
    for mine, theirs in pairs:
        assert set(mine) == set(theirs), (what, sorted(mine), sorted(theirs))
        for name, value in mine.items():
            assert np.isfinite(value), (what, name)
            assert theirs[name] == pytest.approx(value, rel=RTOL, abs=1e-9), (what, name)


@pytest.mark.parametrize(("residuals", "ability", "developer"), [
    ("marginal", "scaled", "non_centred"),   # the command's default before partial centring
    ("marginal", "unit", "non_centred"),
    ("centred", "scaled", "non_centred"),
    ("centred", "unit", "centred"),
    ("marginal", "conditional", "non_centred"),
    ("centred", "conditional", "centred"),
])
def test_joint_log_density_matches_the_pymc_model(design, residuals, ability, developer):
    spec, data = design
    spec = spec.with_changes(developer_parameterisation=developer)
    pairs = _compare(spec, data, residuals, ability, seed=zlib.crc32(f"{residuals}{ability}".encode()) % 1000)
    _assert_agree(pairs, f"{residuals}/{ability}/{developer}")


@pytest.mark.parametrize(("periods", "residuals", "ability", "intercept"), [
    ("partially_non_centred", "marginal", "conditional", "models"),   # the command's default
    ("non_centred", "marginal", "conditional", "models"),
    ("partially_non_centred", "centred", "unit", "equal"),
    ("non_centred", "centred", "unit", "equal"),
])
def test_non_centred_period_effects_match_the_pymc_model(design, periods, residuals, ability,
                                                         intercept):
    """Non-centred (gamma = sigma z, z ~ ZSN(1)) and partially non-centred (gamma = sqrt(sigma)
    z, z ~ ZSN(sqrt(sigma))) period effects: the term is z's, gamma enters mu.

    With ``intercept = "models"`` the flat alpha* has no prior draws: it is set from an
    equal-intercept draw, alpha* = alpha + w (gamma + delta), as in the test below.
    """
    spec, data = design
    spec = spec.with_changes(period_parameterisation=periods)
    if intercept == "equal":
        pairs = _compare(spec, data, residuals, ability, seed=17)
    else:
        equal = l6.build_leaderboard6_model(data, spec, residuals=residuals,
                                            ability_scaling=ability)
        model = l6.build_leaderboard6_model(data, spec, residuals=residuals,
                                            ability_scaling=ability, intercept=intercept)
        draws = pm.draw(equal.free_RVs, draws=2, random_seed=17, mode=MODE)
        point = {rv.name: np.asarray(d[0]) for rv, d in zip(equal.free_RVs, draws, strict=True)}
        w = l6.period_weights(data)
        factor = (point["sigma_period"] if periods == "non_centred"
                  else np.sqrt(point["sigma_period"]))
        gamma = factor * point["period_effect_z"]
        point["alpha_models"] = (point.pop("alpha") + gamma @ w
                                 + point["period_benchmark_effect"] @ w)
        theirs = _pymc_terms(model)(point)
        pairs = [(ld6.log_density_terms(spec, data, point, residuals=residuals,
                                        ability_scaling=ability, intercept=intercept), theirs)]
    for mine, _ in pairs:
        assert "period_effect_z" in mine and "period_effect" not in mine
    _assert_agree(pairs, f"{periods} periods, {residuals}/{ability}/{intercept}")


@pytest.mark.parametrize("periods", ["centred", "non_centred", "partially_non_centred"])
def test_every_period_parameterisation_has_the_same_prior(design, periods):
    """Forward draws: gamma / sigma_period ~ ZeroSumNormal(1) whatever the parameterisation."""
    spec, data = design
    spec = spec.with_changes(period_parameterisation=periods)
    model = l6.build_leaderboard6_model(data, spec, residuals="marginal", ability_scaling="unit")
    gamma, sigma = pm.draw([model["period_effect"], model["sigma_period"]], draws=8000,
                           random_seed=5, mode=MODE)
    standardised = gamma / sigma[:, None]
    n = standardised.shape[1]
    np.testing.assert_allclose(standardised.sum(axis=1), 0.0, atol=1e-9)
    # ZeroSumNormal(1) over n periods: each element has variance 1 - 1/n
    assert np.all(np.abs(standardised.var(axis=0) - (1 - 1 / n)) < 0.05), standardised.var(0)


@pytest.fixture(scope="module")
def uneven_design():
    """The design above with two developers of one model each (8, 8, 8, 8, 6, 1, 1 models)."""
    frame, long, truth = simulate_leaderboard6(n_models=40, n_developers=5, seed=5,
                                               missing_share=0.1)
    frame = frame.copy()
    frame.loc[frame.index[frame["developer"] == "dev04"][:2], "developer"] = ["solo1", "solo2"]
    spec = load_spec("leaderboard6").with_changes(developer_parameterisation="partial")
    data = l6.prepare_leaderboard6_data(frame, spec, long, benchmarks=truth.benchmarks)
    return spec, data


def test_partial_centring_splits_developers_by_their_number_of_models(uneven_design):
    spec, data = uneven_design
    centred, non_centred = l6.partial_centring_split(data)
    labels = np.asarray(data.coords["developer"])
    assert sorted(labels[non_centred]) == ["solo1", "solo2"]
    assert len(centred) == 5
    model = l6.build_leaderboard6_model(data, spec, residuals="marginal",
                                        ability_scaling="conditional", intercept="models")
    assert model.named_vars_to_dims["developer_z"] == ("developer_non_centred", "benchmark")
    assert model.named_vars_to_dims["developer_raw"] == ("developer_centred", "benchmark")
    assert list(model.coords["developer_non_centred"]) == ["solo1", "solo2"]
    assert len(model.coords["developer_centred"]) == 5


@pytest.mark.parametrize(("residuals", "ability"), [("marginal", "conditional"),
                                                    ("centred", "unit")])
def test_partial_centring_log_density_matches_the_pymc_model(uneven_design, residuals, ability):
    """Centred rows MvNormal, non-centred rows standard Normal, both put back in place."""
    spec, data = uneven_design
    _assert_agree(_compare(spec, data, residuals, ability, seed=11),
                  f"partial {residuals}/{ability}")


def test_partial_centring_with_misplaced_rows_is_caught(uneven_design, monkeypatch):
    """A deliberate error: the centred developers' rows put back in the wrong order."""
    spec, data = uneven_design
    split = l6.partial_centring_split
    monkeypatch.setattr(l6, "partial_centring_split",
                        lambda d: (split(d)[0][::-1], split(d)[1]))
    pairs = _compare(spec, data, "marginal", "unit", n_points=1, seed=11)
    mine, theirs = pairs[0]
    assert theirs["correct"] != pytest.approx(mine["correct"], rel=RTOL)
    assert theirs["developer_raw"] == pytest.approx(mine["developer_raw"], rel=RTOL)


def test_partial_centring_has_the_same_prior_for_every_developer(uneven_design):
    """Forward draws: the developer effects' covariance is the same for both kinds."""
    spec, data = uneven_design
    model = l6.build_leaderboard6_model(data, spec, residuals="marginal", ability_scaling="unit")
    u, chol = pm.draw([model["developer_effect"], model["developer_chol"]], draws=4000,
                      random_seed=3, mode=MODE)
    n_dev, nb = u.shape[1], u.shape[2]
    # raw ~ MvNormal(0, Sigma) per developer, u = raw - mean: Var u_j = Sigma (1 - 1/J)
    standardised = []
    for draw in range(u.shape[0]):
        lower = ld6.unpack_lower(chol[draw], nb)
        standardised.append(np.linalg.solve(lower, u[draw].T).T / np.sqrt(1 - 1 / n_dev))
    z = np.stack(standardised)  # (draws, developer, benchmark): each row ~ Normal(0, I)
    labels = list(data.coords["developer"])
    for name in ("solo1", "dev00"):
        var = z[:, labels.index(name), :].var(axis=0)
        assert np.all(np.abs(var - 1.0) < 0.1), (name, var)


def _log_jacobian(transform, value: np.ndarray, n_benchmarks: int) -> float:
    """log |d constrained / d unconstrained| of one variable, by hand."""
    kind = type(transform).__name__
    if kind == "LogTransform":  # sigma = exp(y)
        return float(np.sum(np.log(value)))
    if kind == "CholeskyCovPacked":  # the diagonal of L = exp(y), the rest as is
        return float(np.sum(np.log(np.diag(ld6.unpack_lower(value, n_benchmarks)))))
    assert kind in ("NoneType", "ZeroSumTransform"), kind  # isometry onto the subspace
    return 0.0


@pytest.mark.parametrize(("layout", "ability", "developer", "periods"), [
    ("design", "scaled", "non_centred", "centred"),       # the command's default before
    ("uneven_design", "conditional", "partial", "centred"),
    ("uneven_design", "conditional", "partial", "non_centred"),
    ("uneven_design", "conditional", "partial", "partially_non_centred"),  # the bundled spec's
])
def test_unconstrained_log_density_adds_the_jacobians(request, layout, ability, developer,
                                                      periods):
    """On the sampler's space (``jacobian=True``) each term gains its log-Jacobian.

    Marginal residuals (the command's); the transforms are the same for the others.
    """
    import pytensor

    residuals = "marginal"
    spec, data = request.getfixturevalue(layout)
    spec = spec.with_changes(developer_parameterisation=developer,
                             period_parameterisation=periods)
    model = l6.build_leaderboard6_model(data, spec, residuals=residuals,
                                        ability_scaling=ability)
    draws = pm.draw(model.free_RVs, draws=2, random_seed=11, mode=MODE)
    point = {rv.name: np.asarray(d[0]) for rv, d in zip(model.free_RVs, draws, strict=True)}
    nb = len(data.benchmarks)
    forward, names, jac = [], [], {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms.get(rv)
        x = pytensor.tensor.as_tensor_variable(point[rv.name])
        forward.append(x if transform is None else transform.forward(x, *rv.owner.inputs))
        names.append(model.rvs_to_values[rv].name)
        jac[rv.name] = _log_jacobian(transform, point[rv.name], nb)
    values = pytensor.function([], forward, mode=MODE, on_unused_input="ignore")()
    tpoint = dict(zip(names, values, strict=True))
    rvs = model.free_RVs + model.observed_RVs + model.potentials
    fn = model.compile_fn(model.logp(vars=rvs, jacobian=True, sum=False),
                          inputs=model.value_vars, mode=MODE, on_unused_input="ignore")
    theirs = {rv.name: float(np.sum(t)) for rv, t in zip(rvs, fn(tpoint), strict=True)}
    mine = {n: v + jac.get(n, 0.0) for n, v in ld6.log_density_terms(
        spec, data, point, residuals=residuals, ability_scaling=ability).items()}
    _assert_agree([(mine, theirs)], f"{residuals}/{ability}: unconstrained + Jacobian")
    assert any(abs(j) > 1e-3 for j in jac.values())  # the Jacobians are not all trivial


def test_gauss_hermite_moments_match_numerical_integration():
    """The independent quadrature agrees with adaptive integration of the logit-normal."""
    from scipy import integrate, special, stats

    for mu, sigma, c in [(0.3, 0.4, 0.25), (-1.5, 0.9, 0.1), (2.0, 0.2, 0.0)]:
        def moment(f, mu=mu, sigma=sigma):
            return integrate.quad(lambda e: f(special.expit(e)) * stats.norm.pdf(e, mu, sigma),
                                  mu - 12 * sigma, mu + 12 * sigma)[0]
        e_q = moment(lambda q: q)
        var_q = moment(lambda q: q**2) - e_q**2
        m, kappa = ld6.logit_normal_count_moments([mu], [sigma], c)
        assert m[0] == pytest.approx(c + (1 - c) * e_q, rel=1e-5)
        var_p = m[0] * (1 - m[0]) / (kappa[0] + 1)
        assert var_p == pytest.approx((1 - c) ** 2 * var_q, rel=1e-3)


def test_lkj_density_in_two_dimensions_is_the_beta_law():
    """n = 2: L = (s1, 0; s2 r, s2 sqrt(1 - r^2)), (r + 1)/2 ~ Beta(eta, eta).

    By hand: p(L) = p(s1) p(s2) p(r) / |d(L21, L22)/d(s2, r)| with that Jacobian
    s2 / sqrt(1 - r^2).
    """
    from scipy import stats

    from bayes_llm.model.spec import Prior

    sd = Prior("HalfNormal", {"sigma": 1.5})
    for s1, s2, r, eta in [(0.7, 1.2, 0.3, 2.0), (2.0, 0.4, -0.8, 1.0), (1.0, 1.0, 0.95, 3.5)]:
        packed = np.array([s1, s2 * r, s2 * np.sqrt(1 - r**2)])
        expected = (stats.halfnorm.logpdf([s1, s2], scale=1.5).sum()
                    + stats.beta.logpdf((r + 1) / 2, eta, eta) - np.log(2.0)
                    - np.log(s2 / np.sqrt(1 - r**2)))
        assert ld6.lkj_cholesky_cov_logpdf(packed, 2, eta, sd) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------
# The check can fail: deliberate errors in the builder are caught in the term they affect.


def _wrong_prior_scale(name, factor):
    original = l6._prior

    def wrong(spec, prior_name, rv_name=None, **kwargs):
        if prior_name != name:
            return original(spec, prior_name, rv_name, **kwargs)
        prior = spec.prior(prior_name)
        params = dict(prior.params)
        params["sigma"] *= factor
        return getattr(pm, prior.dist)(rv_name or prior_name, **params, **kwargs)

    return wrong


@pytest.mark.parametrize(("error", "residuals", "ability", "term"), [
    ("ability_loading prior scale doubled", "marginal", "scaled", "ability_loading"),
    ("h dropped (noise variance 0)", "marginal", "scaled", "ability_z"),
    ("Var p not scaled by (1 - c)^2", "marginal", "unit", "correct"),
    ("developer effects not centred", "centred", "unit", "eta"),
    ("LKJ shape 1 instead of 2", "marginal", "scaled", "developer_chol"),
    ("conditional centre off by 0.1 logit", "marginal", "conditional", "ability_z"),
    ("non-centred gamma scaled twice by sigma_period", "marginal", "unit", "correct"),
    ("partially non-centred z with SD sigma instead of sqrt(sigma)", "marginal", "unit",
     "period_effect_z"),
])
def test_a_deliberate_error_in_the_builder_is_caught(design, monkeypatch, error, residuals,
                                                     ability, term):
    spec, data = design
    if error.startswith("ability_loading"):
        monkeypatch.setattr(l6, "_prior", _wrong_prior_scale("ability_loading", 2.0))
    elif error.startswith("h dropped"):
        monkeypatch.setattr(l6, "count_noise_variance", lambda d: np.zeros(d.k.size))
    elif error.startswith("LKJ"):
        monkeypatch.setattr(l6, "LKJ_ETA", 1.0)
    elif error.startswith("conditional centre"):
        observed = l6.observed_count_logit
        monkeypatch.setattr(l6, "observed_count_logit", lambda d: observed(d) + 0.1)
    elif error.startswith("non-centred gamma"):
        spec = spec.with_changes(period_parameterisation="non_centred")
        original = pm.Deterministic

        def twice(name, var, *args, **kwargs):
            if name == "period_effect":  # sigma z -> sigma^2 z
                var = var * var.owner.inputs[0]
            return original(name, var, *args, **kwargs)

        monkeypatch.setattr(l6.pm, "Deterministic", twice)
    elif error.startswith("partially non-centred"):
        spec = spec.with_changes(period_parameterisation="partially_non_centred")
        original_zsn = pm.ZeroSumNormal

        def wrong_scale(name, *args, sigma=1.0, **kwargs):
            if name == "period_effect_z":  # sigma^(1/2) -> sigma
                sigma = sigma**2
            return original_zsn(name, *args, sigma=sigma, **kwargs)

        monkeypatch.setattr(l6.pm, "ZeroSumNormal", wrong_scale)
    elif error.startswith("Var p"):
        original = l6.marginal_count_moments

        def unscaled(mu, sigma, chance, **kwargs):
            # precision from Var q instead of Var p = (1 - c)^2 Var q
            mean_p, precision = original(mu, sigma, chance, **kwargs)
            return mean_p, (precision + 1.0) * (1.0 - chance) ** 2 - 1.0

        monkeypatch.setattr(l6, "marginal_count_moments", unscaled)
    else:
        original = pm.Deterministic

        def uncentred(name, var, *args, **kwargs):
            if name == "developer_effect":
                var = var.owner.inputs[0]  # raw - mean(raw) -> raw
            return original(name, var, *args, **kwargs)

        monkeypatch.setattr(l6.pm, "Deterministic", uncentred)
    pairs = _compare(spec, data, residuals, ability, n_points=1, seed=1)
    mine, theirs = pairs[0]
    wrong = [n for n, val in mine.items()
             if theirs[n] != pytest.approx(val, rel=RTOL, abs=1e-9)]
    assert term in wrong, (error, wrong)
    with pytest.raises(AssertionError):
        _assert_agree(pairs, error)


@pytest.mark.parametrize("developer", ["non_centred", "centred"])
def test_gaussian_marginal_likelihood_matches_the_multivariate_normal(design, developer):
    """The rank-one (Woodbury) marginal equals one explicit MvNormal per model."""
    spec, data = design
    spec = spec.with_changes(developer_parameterisation=developer)
    pairs = _compare(spec, data, "gaussian", "unit", seed=17)
    _assert_agree(pairs, f"gaussian/{developer}")
    assert all("ability" not in mine and "eta" not in mine for mine, _ in pairs)


def test_gaussian_ability_draws_follow_their_conditional(design):
    """theta | rest ~ Normal(b/a, 1/a): checked against the Gaussian conditioning formula."""
    import xarray as xr

    spec, data = design
    model = l6.build_leaderboard6_model(data, spec, residuals="gaussian")
    draws = pm.draw(model.free_RVs + model.deterministics, draws=1, random_seed=3,
                    mode=MODE)
    names = [v.name for v in model.free_RVs + model.deterministics]
    point = {n: np.asarray(d) for n, d in zip(names, draws, strict=True)}
    dims = {n: model.named_vars_to_dims.get(n, ()) for n in names}
    post = xr.Dataset({n: (("chain", "draw", *dims[n]), np.repeat(point[n][None, None],
                                                                  4000, axis=1))
                       for n in names if dims[n] or point[n].ndim == 0},
                      coords={k: list(v) for k, v in model.coords.items() if v is not None})
    theta = l6.draw_marginal_ability(post, data, seed=1).values[0]  # (draw, model)
    rest = ld6._rest(spec, data, point)
    i = int(data.count_model[0])
    obs = l6.gaussian_observations(data)
    pick = obs["model"] == i
    lam = point["ability_loading"][obs["benchmark"][pick]]
    counted = ld6._counted(data)[obs["benchmark"][pick]]
    bounded = obs["bounded"][pick]
    d = np.where(bounded, obs["noise"][pick] / (point["ifeval_precision"] + 1.0),
                 point["sigma_model"][np.maximum(counted, 0)] ** 2 + obs["noise"][pick])
    cov = np.diag(d) + np.outer(lam, lam)
    gain = np.linalg.solve(cov, lam)  # Cov(theta, y) Cov(y)^-1
    mean = gain @ (obs["logit"][pick] - rest[i, obs["benchmark"][pick]])
    var = 1.0 - gain @ lam
    sd = np.sqrt(var / theta.shape[0])
    assert abs(theta[:, i].mean() - mean) < 4 * sd
    assert theta[:, i].var() == pytest.approx(var, rel=0.1)
    wrong = l6.draw_marginal_ability(post.assign(ability_loading=post["ability_loading"] * 2),
                                     data, seed=1).values[0]
    assert abs(wrong[:, i].mean() - mean) > 4 * sd or abs(wrong[:, i].var() - var) > 0.1 * var


@pytest.mark.parametrize(("residuals", "ability"), [("marginal", "conditional"),
                                                    ("centred", "scaled")])
def test_models_mean_intercept_is_the_same_model(design, residuals, ability):
    """``intercept = "models"``: alpha's prior at alpha = alpha* - w (gamma + delta), term by term.

    Prior draws of a flat alpha* are not defined, so alpha* is set from an equal-intercept
    draw (alpha* = alpha + w (gamma + delta)): both parameterisations must then give the
    same log density of every observation, and alpha_prior must equal alpha's prior term.
    """
    spec, data = design
    spec = spec.with_changes(developer_parameterisation="non_centred",
                             period_parameterisation="centred")
    equal = l6.build_leaderboard6_model(data, spec, residuals=residuals, ability_scaling=ability)
    shifted = l6.build_leaderboard6_model(data, spec, residuals=residuals,
                                          ability_scaling=ability, intercept="models")
    draws = pm.draw(equal.free_RVs, draws=2, random_seed=23, mode=MODE)
    point = {rv.name: np.asarray(d[0]) for rv, d in zip(equal.free_RVs, draws, strict=True)}
    w = l6.period_weights(data)
    point_models = {k: v for k, v in point.items() if k != "alpha"}
    point_models["alpha_models"] = (point["alpha"] + point["period_effect"] @ w
                                    + point["period_benchmark_effect"] @ w)
    np.testing.assert_allclose(ld6.models_mean_intercept(data, point_models), point["alpha"],
                               rtol=1e-12)
    mine_equal = ld6.log_density_terms(spec, data, point, residuals=residuals,
                                       ability_scaling=ability)
    mine_models = ld6.log_density_terms(spec, data, point_models, residuals=residuals,
                                        ability_scaling=ability, intercept="models")
    assert mine_models["alpha_prior"] == pytest.approx(mine_equal["alpha"], rel=1e-12)
    theirs = _pymc_terms(shifted)(point_models)
    _assert_agree([(mine_models, theirs)], f"models intercept {residuals}/{ability}")
    observed = [k for k in mine_equal if k in ("correct", "ifeval_score")]
    assert observed
    for name in observed:
        assert mine_models[name] == pytest.approx(mine_equal[name], rel=1e-10)
    # a deliberate error: weights by period instead of by model share would differ
    wrong = dict(point_models, alpha_models=point["alpha"] + point["period_effect"].mean()
                 + point["period_benchmark_effect"].mean(axis=1))
    assert not np.allclose(ld6.models_mean_intercept(data, wrong), point["alpha"])
