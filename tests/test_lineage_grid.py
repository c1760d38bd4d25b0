"""Lineage effects summed out on a grid (``lineage_grid``, issue 10).

The grid's rule, its self-check and the draws after sampling, each against an
independent calculation; the selection rule on the 809 models. The model's log density
with the grid is checked against the NumPy reference in ``tests/test_logdensity.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayes_llm.model import lineage_grid as lg


def _two_peaks(u, low=-1.1, high=-0.5, sd_low=0.08, sd_high=0.1, weight_low=0.3):
    """Log of a two-peak density (unnormalised: total mass 1) on ``u``."""
    return np.logaddexp(np.log(weight_low) + stats.norm.logpdf(u, low, sd_low),
                        np.log1p(-weight_low) + stats.norm.logpdf(u, high, sd_high))


def _integrand(log_f, scale=1.0, nu=None, repeat=None):
    """One lineage whose conditional is ``log_f`` on the grid, under a law of ``scale``
    (and ``nu``): the likelihood part is ``log_f`` minus the law (``repeat``: that many
    copies stacked as draws)."""
    nodes, _ = lg.grid_nodes()
    law = lg.log_law(nodes, scale, nu)
    loglik = (log_f(nodes) - law)[None, :]
    if repeat is not None:
        loglik = np.broadcast_to(loglik, (repeat, 1, lg.NODE_COUNT))
    tails = np.stack(lg.law_log_tails(scale, nu))
    return lg.LineageIntegrand(loglik, law, tails, np.asarray(scale, float),
                               None if nu is None else np.asarray(nu, float))


def test_grid_covers_its_range_with_its_step():
    nodes, log_w = lg.grid_nodes()
    assert nodes[0] == lg.GRID_LOW and nodes[-1] == pytest.approx(lg.GRID_HIGH)
    assert len(nodes) == lg.NODE_COUNT
    for low, high, step in lg.SEGMENTS:
        inside = nodes[(nodes >= low - 1e-9) & (nodes <= high + 1e-9)]
        assert np.allclose(np.diff(inside), step)
    assert np.exp(log_w).sum() == pytest.approx(lg.GRID_HIGH - lg.GRID_LOW)


def test_rule_is_fourth_order_with_mass_at_its_ends():
    """Gregory's end corrections: a smooth integrand with mass at every segment's ends (a
    cubic times an exponential) is integrated to ~h^4, where the plain trapezoid rule is
    off by ~h^2."""
    nodes, log_w = lg.grid_nodes()
    f = np.exp(0.3 * nodes) * (1 + 0.1 * nodes ** 3 / 100)
    exact = integrate.quad(lambda u: np.exp(0.3 * u) * (1 + 0.1 * u ** 3 / 100),
                           lg.GRID_LOW, lg.GRID_HIGH, epsabs=1e-13, epsrel=1e-13)[0]
    gregory = abs(np.sum(np.exp(log_w) * f) / exact - 1)
    trapezoid = abs(integrate.trapezoid(f, nodes) / exact - 1)
    assert gregory < 1e-5 and trapezoid > 30 * gregory


def test_trapezoid_rule_integrates_two_separated_peaks():
    """Two peaks 0.6 apart with SDs 0.08 and 0.1 (as on the fold-1 fit): the rule's log
    integral equals the exact one (mass 1) to 1e-5, and its self-check passes."""
    integrand = _integrand(_two_peaks)
    assert integrand.log_marginal()[0] == pytest.approx(0.0, abs=1e-5)
    check = lg.quadrature_check(integrand)
    assert not lg.check_failures(check)
    assert check["tail_mass"] < 1e-12


def test_quadrature_check_catches_a_peak_too_narrow_for_the_step():
    """A peak of SD 0.02 (a fifth of the step) is integrated badly, and the check says so."""
    integrand = _integrand(lambda u: _two_peaks(u, sd_low=0.02, weight_low=0.9))
    assert abs(integrand.log_marginal()[0]) > 1e-3  # the rule is off ...
    check = lg.quadrature_check(integrand)
    assert check["half_step_difference"] > lg.MAX_HALF_STEP_DIFFERENCE  # ... and detected
    assert "every other node" in lg.check_failures(check)[0]


@pytest.mark.parametrize("nu", [2.0, None])
def test_tails_beyond_the_grid_make_a_flat_likelihood_exact(nu):
    """A lineage whose likelihood is flat (all its models at the floor): its conditional is
    the law, whose Student-t tails beyond the grid hold 3% (scale 1, nu = 2). Rule plus
    tails integrate it to 2e-5 (the coarse segment's Gregory rule on the law's shoulder),
    where the rule alone misses the tail mass; the check reports the mass and passes (the
    likelihood is flat)."""
    scale = 1.0
    integrand = _integrand(lambda u: lg.log_law(u, scale, nu), scale, nu)
    assert integrand.log_marginal()[0] == pytest.approx(0.0, abs=2e-5)
    check = lg.quadrature_check(integrand)
    assert not lg.check_failures(check)
    if nu is not None:
        beyond = stats.t.sf(lg.GRID_HIGH / scale, nu) + stats.t.cdf(lg.GRID_LOW / scale, nu)
        assert special.logsumexp(integrand.density) < np.log1p(-0.9 * beyond)  # grid alone
        assert check["tail_mass"] == pytest.approx(beyond, rel=1e-4)


def test_quadrature_check_catches_a_likelihood_that_rises_beyond_the_grid():
    """Likelihood rising towards the grid's upper end (a lineage far above the curve): the
    tails held at the end value are wrong, and the check's tail error says so."""
    integrand = _integrand(lambda u: 3.0 * u + lg.log_law(u, 1.0), 1.0)
    check = lg.quadrature_check(integrand)
    assert check["tail_error"] > lg.MAX_TAIL_ERROR
    assert check["tail_error_high"] == check["tail_error"] > 1e3 * check["tail_error_low"]
    assert "tails beyond the grid" in lg.check_failures(check)[0]


def _narrow_peaks(u):
    """Two peaks of SD 0.02 and 0.025, 0.6 apart: a fifth of the grid's step (a lineage of
    many regular models in two agreeing groups, as ``fp:1.24B/9000BT`` on fold 1)."""
    return _two_peaks(u, sd_low=0.02, sd_high=0.025)


def _narrow_cdf(u):
    return 0.3 * stats.norm.cdf(u, -1.1, 0.02) + 0.7 * stats.norm.cdf(u, -0.5, 0.025)


def _windowed(log_f, observed=(-1.1, -0.5), repeat=None):
    """:func:`_integrand` of ``log_f`` with a window over two regular models whose peaks are
    at ``observed`` (mu = 0): the first model carries the likelihood, the second none."""
    integrand = _integrand(log_f, repeat=repeat)
    windows = lg.GridWindows(np.array([0]), np.array([[True, True]]), np.asarray(observed),
                             np.array([0, 1]), np.array([0, 0]), np.ones((1, 2)))

    def node_loglik(offsets):  # (..., 2 models, points)
        first = log_f(offsets[..., :1, :]) - lg.log_law(offsets[..., :1, :], 1.0)
        return np.concatenate([first, np.zeros_like(first)], axis=-2)

    mu = np.zeros((repeat, 2)) if repeat else np.zeros(2)
    return integrand._replace(window=lg.window_integrand(windows, mu, 1.0, None, node_loglik))


def test_window_integrates_peaks_too_narrow_for_the_step():
    """The same narrow peaks that defeat the grid's rule (off by > 0.1) are integrated to
    1e-6 with a window over them (its step 0.022 for a plateau of 1.6: the trapezoid rule's
    exp(-2 pi^2 (0.02 / 0.022)^2) ~ 1e-7), and both self-checks pass."""
    assert abs(_integrand(_narrow_peaks).log_marginal()[0]) > 0.1
    assert lg.WINDOW_NODES % 2 == 1  # the half rule takes every other node, both ends kept
    integrand = _windowed(_narrow_peaks)
    assert integrand.log_marginal()[0] == pytest.approx(0.0, abs=1e-6)
    check = lg.quadrature_check(integrand)
    assert not lg.check_failures(check)


def test_window_off_the_peaks_is_caught():
    """A window placed away from the narrow peaks (a wrong hull) leaves them to the grid:
    the rule is off, and the grid's half-step check says so."""
    integrand = _windowed(_narrow_peaks, observed=(1.0, 1.2))
    assert abs(integrand.log_marginal()[0]) > 0.1
    assert "every other node" in lg.check_failures(lg.quadrature_check(integrand))[0]


def test_window_is_a_partition_of_unity():
    """phi + (1 - phi) = 1 everywhere (each written without cancellation), phi ~ 1 on the
    plateau, ~1e-9 where the window's nodes end."""
    u = np.linspace(-9, 5, 2_801)
    lo, hi = -1.6, 0.0
    phi, rest = np.exp(lg.log_window(u, lo, hi)), np.exp(lg.log_window_complement(u, lo, hi))
    assert np.allclose(phi + rest, 1.0, rtol=0, atol=1e-15)
    assert np.all(phi[(u > lo + 0.6) & (u < hi - 0.6)] > 1 - 1e-9)
    reach = lg.WINDOW_REACH * lg.WINDOW_EDGE
    assert np.exp(lg.log_window(lo - reach, lo, hi)) < 1e-8
    # the far side of phi is the small difference of two erfc values, not 1 - (1 - tiny)
    assert np.exp(lg.log_window(hi + 1.5, lo, hi)) == pytest.approx(
        0.5 * (special.erfc(1.5 / (np.sqrt(2) * lg.WINDOW_EDGE))
               - special.erfc((hi + 1.5 - lo) / (np.sqrt(2) * lg.WINDOW_EDGE))), rel=1e-12)


def test_draws_follow_narrow_peaks_on_a_window():
    """Draws from the interpolant on the grid's and the window's nodes, corrected against
    the exact density, pass the KS test against the narrow peaks' CDF (the uncorrected
    grid-only interpolant's draws fail it); the window's nodes make the proposal close to
    the density (acceptance 0.96 against 0.66 on the grid's nodes alone)."""
    rng = np.random.default_rng(4)
    draws, acceptance = lg.draw_lineage_effects(_windowed(_narrow_peaks, repeat=20_000), rng,
                                                exact=_narrow_peaks)
    assert stats.kstest(draws[:, 0], _narrow_cdf).pvalue > 0.01
    assert acceptance > 0.9
    coarse = _integrand(_narrow_peaks, repeat=20_000)
    assert lg.draw_lineage_effects(coarse, rng, exact=_narrow_peaks)[1] < 0.8
    assert stats.kstest(lg.draw_lineage_effects(coarse, rng)[0][:, 0], _narrow_cdf).pvalue < 0.01


def _two_peak_cdf(u):
    return 0.3 * stats.norm.cdf(u, -1.1, 0.08) + 0.7 * stats.norm.cdf(u, -0.5, 0.1)


def test_draws_follow_the_conditional_density():
    """Draws from the grid's interpolant corrected by Metropolis–Hastings steps against the
    exact density: Kolmogorov–Smirnov against the two-peak density's CDF (40,000 draws),
    and each peak's share."""
    draws, acceptance = lg.draw_lineage_effects(
        _integrand(_two_peaks, repeat=40_000), np.random.default_rng(1), exact=_two_peaks)
    assert stats.kstest(draws[:, 0], _two_peak_cdf).pvalue > 0.01
    assert np.mean(draws < -0.8) == pytest.approx(0.3, abs=0.01)
    assert acceptance > 0.8  # the interpolant is close to the density


@pytest.mark.parametrize("wrong", ["interpolant only", "at the nodes"])
def test_draws_from_a_wrong_density_fail_the_same_test(wrong):
    """The test above can fail: the interpolant's draws without the correction (at a peak of
    SD ~h the linear interpolant is off by up to ~15%), and draws at the nodes only, are
    both rejected by the same KS test."""
    rng = np.random.default_rng(1)
    if wrong == "interpolant only":
        draws = lg.draw_lineage_effects(_integrand(_two_peaks, repeat=40_000), rng)[0][:, 0]
    else:
        nodes, log_w = lg.grid_nodes()
        density = _two_peaks(nodes) + log_w
        probs = np.exp(density - special.logsumexp(density))
        draws = rng.choice(nodes, size=40_000, p=probs / probs.sum())
    assert stats.kstest(draws, _two_peak_cdf).pvalue < 0.01


def test_draws_reach_into_the_tails_beyond_the_grid():
    """A flat likelihood under a Student-t law (nu = 2, scale 1): the draws follow the law,
    3% of them beyond the grid's ends, by the same KS test, which rejects draws from the
    law cut at the grid's ends (what the grid without tails would draw)."""
    scale, nu = 1.0, 2.0
    law = stats.t(nu, 0.0, scale)
    draws, _ = lg.draw_lineage_effects(
        _integrand(lambda u: law.logpdf(u), scale, nu, repeat=40_000),
        np.random.default_rng(3), exact=lambda u: law.logpdf(u))
    assert stats.kstest(draws[:, 0], law.cdf).pvalue > 0.01
    assert np.mean(draws > lg.GRID_HIGH) == pytest.approx(law.sf(lg.GRID_HIGH), abs=0.003)
    assert np.mean(draws < lg.GRID_LOW) == pytest.approx(law.cdf(lg.GRID_LOW), abs=0.003)
    cut = law.ppf(law.cdf(lg.GRID_LOW) + np.random.default_rng(3).uniform(size=40_000)
                  * (law.cdf(lg.GRID_HIGH) - law.cdf(lg.GRID_LOW)))
    assert stats.kstest(cut, law.cdf).pvalue < 0.01


def test_near_floor_rule():
    lineage = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3])
    accuracy = np.array([0.11, 0.15, 0.18,   # 0: a model at the floor, median 0.15: chosen
                         0.12, 0.35, 0.40,   # 1: a model at the floor, median 0.35: not
                         0.14, 0.16,         # 2: none at the floor: not
                         0.11])              # 3: one model (not a candidate)
    chosen = lg.near_floor_lineages(lineage, accuracy, candidates=np.array([0, 1, 2]))
    assert chosen.tolist() == [0]


def test_near_floor_lineages_of_the_809_models(paper_df):
    """22 fingerprint lineages holding 117 models (``lineage_straddle.py``'s count)."""
    from bayes_llm.model import load_spec, prepare_data

    spec = load_spec("binomial_developers").with_changes(
        name="grid", lineage_effect=True, lineage_source="fingerprint",
        integrate_model_effect=True, lineage_grid="near_floor")
    data = prepare_data(paper_df, spec)
    assert len(data.lineage_grid) == 22
    assert np.isin(data.lineage_idx, data.lineage_grid).sum() == 117
    assert not set(data.lineage_grid) & set(data.lineage_multi)
    assert "fp:1.24B/9000BT" in [data.coords["lineage"][i] for i in data.lineage_grid]


def test_layout_maps_models_to_their_lineages():
    accuracy = np.array([0.11, 0.12, 0.11, 0.5, 0.4, 0.12])  # lineage 2 has a regular model
    layout = lg.GridLayout.build(np.array([4, 2, 4, 7, 2, 4]), np.array([2, 4]), accuracy, 0.1)
    assert layout.models.tolist() == [0, 1, 2, 4, 5]
    assert layout.others.tolist() == [3]
    assert layout.position.tolist() == [1, 0, 1, 0, 1]
    assert layout.first.tolist() == [1, 0]
    assert layout.membership.sum(axis=1).tolist() == [2, 3]
    windows = layout.windows  # one window, lineage 2 (position 0): models 1 and 4
    assert windows.lineages.tolist() == [0]
    assert windows.models.tolist() == [1, 3]
    assert windows.regular.tolist() == [[False, False, False, True, False]]
    assert windows.observed_logit[3] == pytest.approx(special.logit(0.3 / 0.9))


@pytest.mark.parametrize("nu", [None, 4.0])
def test_law_density_is_normal_or_student_t(nu):
    u = np.linspace(-3, 3, 7)
    expected = (stats.norm.logpdf(u, 0, 0.5) if nu is None else stats.t.logpdf(u, nu, 0, 0.5))
    assert np.allclose(lg.log_law(u, 0.5, nu), expected, rtol=1e-12)


def test_summed_out_effects_follow_the_reference_conditional():
    """Draws of one lineage's effect after sampling, at one fixed draw of everything else,
    against its conditional computed by the independent NumPy reference (Simpson's rule on
    a fine grid, ``bayes_llm.verify.logdensity``): three models, two near the floor, with
    the floor mixture and a two-scale model effect."""
    args, fine, cdf_values = _three_model_lineage(4_000)
    *head, collapse = args
    effects, check = lg.draw_summed_out_effects(*head, np.random.default_rng(2),
                                                collapse=collapse)
    assert not lg.check_failures(check)
    assert stats.kstest(effects[:, 0], lambda u: np.interp(u, fine, cdf_values)).pvalue > 0.01


def test_add_eta_draws_draws_the_summed_out_lineages_and_their_pointwise_densities():
    """Wiring after sampling (``add_eta_draws``): a summed-out lineage's effect is drawn from
    its conditional (mean as the reference's), recorded in ``lineage_effect`` beside a sampled
    lineage's, each of its models' pointwise log likelihood becomes its density given the
    drawn effect, and the other model's is left as it was."""
    import xarray as xr

    from bayes_llm.model import eta_integral as ei
    from bayes_llm.verify.logdensity import integrated_binomial_logpmf, lineage_log_integrand

    n_items, g = 12_032, 0.1
    chains, draws = 2, 300
    shape = (chains, draws)
    k = np.array([1_330, 1_450, 2_300, 5_000], float)
    mu = np.array([-1.2, -1.0, -0.9, 0.3])
    s_m, s_l, nu = 0.3, 0.5, 5.0
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.broadcast_to(mu, (*shape, 4)).copy()),
        "sigma_model": (("chain", "draw"), np.full(shape, s_m)),
        "sigma_lineage": (("chain", "draw"), np.full(shape, s_l)),
        "nu_lineage": (("chain", "draw"), np.full(shape, nu)),
        "lineage_multi_effect": (("chain", "draw", "lineage_multi"), np.full((*shape, 1), 0.2))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["a", "b", "c", "d"],
                "lineage_multi": ["s"]})
    pointwise = xr.Dataset({"correct": (("chain", "draw", "model"),
                                        np.broadcast_to([-50.0, 0.0, 0.0, -7.5], (*shape, 4)))},
                           coords={"chain": range(chains), "draw": range(draws),
                                   "model": ["a", "b", "c", "d"]})
    layout = ei.LineageLayout(np.array([0, 0, 0, 1]), np.array([1]), np.zeros(0, int),
                              np.zeros(4, bool), ["g", "s"], singles_summed_out=False,
                              grid=np.array([0]))
    tree = xr.DataTree.from_dict({"posterior": post, "log_likelihood": pointwise})
    out = ei.add_eta_draws(tree, k, n_items, g, 4, lineages=layout)
    effect = out["posterior"]["lineage_effect"]
    np.testing.assert_allclose(effect.sel(lineage="s"), 0.2)
    assert effect.attrs["lineage_grid_half_step_difference"] < 0.1
    assert effect.attrs["lineage_grid_acceptance"] > 0.8
    drawn = effect.sel(lineage="g").values.ravel()

    fine = np.linspace(-4.0, 2.0, 1_201)
    log_f = lineage_log_integrand(
        fine, {"sigma_model": s_m, "sigma_lineage": s_l, "nu_lineage": nu},
        {"laplace": False, "two_scale": False, "floor_mixture": False, "t_lineage": True},
        k[:3], n_items, g, mu[:3])
    weights = np.exp(log_f - log_f.max())
    mean = np.sum(weights * fine) / weights.sum()
    sd = np.sqrt(np.sum(weights * (fine - mean) ** 2) / weights.sum())
    assert abs(drawn.mean() - mean) < 4 * sd / np.sqrt(drawn.size)

    ll = out["log_likelihood"]["correct"].values.reshape(-1, 4)
    for s in (0, 137, 599):
        expected = integrated_binomial_logpmf(k[:3], n_items, g, mu[:3] + drawn[s], s_m)
        np.testing.assert_allclose(ll[s, :3], expected, rtol=1e-6)
    np.testing.assert_allclose(ll[:, 3], -7.5)


def test_the_option_left_off_changes_nothing_and_needs_the_integrated_model():
    from bayes_llm.errors import SpecError
    from bayes_llm.model import load_spec
    from bayes_llm.model.spec import spec_from_dict

    spec = load_spec("binomial_developers")
    assert "lineage_grid" not in spec.to_dict()  # the hashes of existing specs are unchanged
    on = spec.with_changes(lineage_effect=True, integrate_model_effect=True,
                           lineage_grid="near_floor")
    assert on.hash() != on.with_changes(lineage_grid="none").hash()
    base = spec.to_dict()
    for change in ({"lineage_effect": True}, {"integrate_model_effect": True},
                   {"lineage_effect": True, "integrate_model_effect": True,
                    "model_effect": "laplace"}):
        with pytest.raises(SpecError, match="lineage_grid = 'near_floor' needs"):
            spec_from_dict({**base, **change, "lineage_grid": "near_floor"}, source="x.toml")


@pytest.mark.parametrize("sigma", [0.6, 3.0])
@pytest.mark.parametrize("nu", [2.5, 12.0, None])
def test_pytensor_law_tails_and_their_gradients_match_scipy(nu, sigma):
    """The model's tail masses (the incomplete beta function's series, or erfcx) equal
    scipy's, and their gradients in the scale and nu equal scipy's by central differences
    (a law of scale 3 puts the series' x near 0.5 at the upper end)."""
    import pytensor
    import pytensor.tensor as pt

    sigma_t, nu_t = pt.dscalar("sigma"), pt.dscalar("nu")
    tails = lg.pytensor_law_log_tails(sigma_t, None if nu is None else nu_t)
    total = tails[0] + tails[1]
    grads = pytensor.grad(total, [sigma_t, nu_t], disconnected_inputs="ignore")
    fn = pytensor.function([sigma_t, nu_t], [*tails, *grads], on_unused_input="ignore")
    low, high, d_sigma, d_nu = fn(sigma, 1.0 if nu is None else nu)
    assert (float(low), float(high)) == pytest.approx(lg.law_log_tails(sigma, nu), rel=1e-8)

    def scipy_total(s, v):
        return float(np.sum(lg.law_log_tails(s, v)))

    eps = 1e-6
    assert float(d_sigma) == pytest.approx(
        (scipy_total(sigma + eps, nu) - scipy_total(sigma - eps, nu)) / (2 * eps), rel=1e-5)
    if nu is not None:
        assert float(d_nu) == pytest.approx(
            (scipy_total(sigma, nu + eps) - scipy_total(sigma, nu - eps)) / (2 * eps), rel=1e-5)


def _three_model_lineage(draws: int):
    """The three-model lineage above (two near the floor, one regular: a window), its
    integrand's arguments and its conditional by the independent NumPy reference."""
    from bayes_llm.model.eta_integral import model_effect_scales
    from bayes_llm.verify.logdensity import collapse_shape, lineage_log_integrand

    n = 12_032
    k = np.array([1_330, 1_400, 2_300])
    mu = np.array([-1.2, -1.0, -0.9])
    v = {"sigma_model": 0.3, "model_wide_probability": 0.2, "model_wide_log_ratio": 1.0,
         "sigma_lineage": 0.5, "nu_lineage": 5.0, "collapse_logit_mean": 0.0,
         "collapse_log_concentration": np.log(1_000.0)}
    parts = {"laplace": False, "two_scale": True, "t_lineage": True, "floor_mixture": True}
    a, b = collapse_shape(0.1, v["collapse_logit_mean"], v["collapse_log_concentration"])
    scales = [(np.broadcast_to(lw, (draws, 3)), np.broadcast_to(sd, (draws, 3)))
              for lw, sd in model_effect_scales(np.full((draws, 1), v["sigma_model"]),
                                                np.full((draws, 1), 0.2),
                                                np.full((draws, 1), 1.0))]
    args = (k, np.full(3, n), 0.1, np.broadcast_to(mu, (draws, 3)), scales,
            lg.GridLayout.build(np.zeros(3, int), np.array([0]), k / n, 0.1),
            np.full(draws, 0.5), np.full(draws, 5.0),
            (np.full((draws, 3), 0.1), np.full(draws, a), np.full(draws, b)))
    fine = np.linspace(-4.0, 1.5, 1_101)
    log_f = lineage_log_integrand(fine, v, parts, k, n, 0.1, mu, np.full(3, 0.1))
    cdf_values = integrate.cumulative_simpson(np.exp(log_f - log_f.max()), x=fine,
                                              initial=0.0)
    return args, fine, cdf_values / cdf_values[-1]


def test_a_thinned_proposal_keeps_the_exact_update_exact():
    """``lineage_integrand(every=2 or 4)`` (the Gibbs step's cheaper proposal): the
    likelihoods at the kept nodes of the grid and of the window are the full rule's, those
    between are interpolated; chains started at draws from the reference conditional stay
    draws from it after three exact Metropolis-Hastings steps with that proposal (KS), at
    an acceptance that falls as the proposal coarsens; a spacing the grid's segments do
    not divide is refused. The Gibbs step's own proposal (every other node, fewer
    Gauss-Hermite nodes per model integral) differs from the full rule's likelihoods by
    less than 0.1 and keeps the update exact at about the same acceptance."""
    draws = 1_000
    args, fine, cdf_values = _three_model_lineage(draws)
    full = lg.lineage_integrand(*args)
    exact = lg.exact_conditional(*args)
    rng = np.random.default_rng(7)
    start = np.interp(rng.uniform(size=(draws, 1)), cdf_values, fine)
    acceptances, thinned = [], {}
    for every in (2, 4):
        thin = thinned[every] = lg.lineage_integrand(*args, every=every)
        grid_kept, _, window_kept, _ = lg._thinned_rules(every)
        np.testing.assert_allclose(thin.loglik[..., grid_kept], full.loglik[..., grid_kept],
                                   rtol=1e-12)
        np.testing.assert_allclose(thin.window.values[..., window_kept],
                                   full.window.values[..., window_kept], rtol=1e-12)
        assert np.abs(thin.loglik - full.loglik).max() > 0  # interpolated between them
        out, acceptance = lg.draw_lineage_effects(thin, rng, exact, 3, start=start)
        assert stats.kstest(out[:, 0], lambda u: np.interp(u, fine, cdf_values)).pvalue > 0.01
        acceptances.append(acceptance)
    assert 0.5 < acceptances[1] < acceptances[0] <= 1.0
    with pytest.raises(ValueError, match="no rule on every 3 nodes"):
        lg._thinned_rules(3)

    # the Gibbs step's proposal: every other node, and fewer Gauss-Hermite nodes per model
    # integral; its likelihoods are approximate, the update stays exact
    from bayes_llm.model.lineage_gibbs import PROPOSAL_EVERY, PROPOSAL_HERMITE_NODES

    coarse = lg.lineage_integrand(*args, every=PROPOSAL_EVERY,
                                  hermite_nodes=PROPOSAL_HERMITE_NODES)
    difference = np.abs(coarse.loglik - thinned[PROPOSAL_EVERY].loglik)
    assert 0 < difference.max() < 0.1
    out, acceptance = lg.draw_lineage_effects(coarse, rng, exact, 3, start=start)
    assert stats.kstest(out[:, 0], lambda u: np.interp(u, fine, cdf_values)).pvalue > 0.01
    assert acceptance > acceptances[0] - 0.05
