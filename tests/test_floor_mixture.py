"""The floor (collapse) mixture option (``floor_mixture``, issue 10).

Spec checks, the PyMC build, the NumPy simulator, the mixture predictive (draws, CDF and
the log score of the accuracy bin) and one tiny real fit through prediction, scores and
the headline. The log density itself is compared term by term in ``test_logdensity.py``
(cases ``floor_mixture*``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special, stats

from bayes_llm.errors import SpecError
from bayes_llm.model import build_model, prepare_data, spec_from_dict
from bayes_llm.model.spec import load_spec
from bayes_llm.verify import logdensity as ld

BASE = {"name": "t", "likelihood": "binomial", "period_effect": "fixed",
        "developer": "developer", "floor_mixture": True}
GUESS, N_ITEMS = 0.1, 12_032


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"likelihood": "logit_normal"}, "floor_mixture = true needs likelihood = 'binomial'"),
        ({"likelihood": "student_t"}, "floor_mixture = true needs likelihood = 'binomial'"),
        ({"floor_mixture": "yes"}, "'floor_mixture' must be true or false"),
        ({"priors": {"collapse_probability": {"dist": "HalfNormal", "sigma": 0.1}}},
         "'collapse_probability' is a probability and needs dist = 'Beta'"),
        ({"priors": {"sigma_model": {"dist": "Beta", "alpha": 1, "beta": 1}}},
         "'sigma_model' cannot have a Beta prior"),
        ({"priors": {"collapse_probability": {"dist": "Beta", "alpha": 1, "beta": 0}}},
         "must be positive"),
        ({"floor_mixture": False, "collapse_by_compute": True},
         "collapse_by_compute = true needs floor_mixture = true"),
        ({"collapse_by_compute": True, "collapse_by_period": True},
         "choose one of collapse_by_period and collapse_by_compute"),
        ({"collapse_by_lineage": True},
         "collapse_by_lineage = true needs floor_mixture = true and lineage_effect = true"),
        ({"priors": {"collapse_compute_slope": {"dist": "Beta", "alpha": 1, "beta": 1}}},
         "'collapse_compute_slope' cannot have a Beta prior"),
    ],
)
def test_invalid_floor_mixture_specs_are_one_line_errors(change, fragment):
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, **change}, source="bad.toml")
    message = str(err.value)
    assert fragment in message, message
    assert message.startswith("bad.toml") and "\n" not in message


def test_leaderboard6_refuses_the_floor_mixture():
    spec = load_spec("leaderboard6").to_dict()
    with pytest.raises(SpecError, match="floor_mixture"):
        spec_from_dict({**spec, "floor_mixture": True}, source="lb.toml")


def test_bundled_spec_is_the_default_plus_the_mixture_integrated_with_a_monotone_curve():
    spec = load_spec("binomial_floor_mixture")
    default = load_spec("binomial_developers").to_dict()
    d = spec.to_dict()
    changed = {k for k in set(d) | set(default)
               if k not in ("name", "description") and d.get(k) != default.get(k)}
    assert changed == {"floor_mixture", "integrate_model_effect", "compute_curve"}
    assert spec.compute_curve == "monotone" and spec.integrate_model_effect
    assert (spec.period, spec.period_effect) == ("cohort", "fixed")
    assert spec.floor_mixture and "floor_mixture" not in load_spec(
        "binomial_developers").to_dict()


def test_the_mixture_builds_on_the_809_models(paper_df):
    spec = spec_from_dict(BASE)
    data = prepare_data(paper_df, spec)
    model = build_model(data, spec)
    free = {v.name for v in model.free_RVs}
    assert {"collapse_probability", "collapse_logit_mean", "collapse_log_concentration",
            "eta", "sigma_model"} <= free
    assert {"collapse_mean", "collapse_concentration"} <= {v.name for v in model.deterministics}
    assert model["correct"].owner.op.__class__.__name__.startswith("Mixture")
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))


def test_chains_start_at_a_low_pi_and_the_observed_logit_scores(paper_df):
    from bayes_llm.model.build import initial_values

    spec = spec_from_dict(BASE)
    data = prepare_data(paper_df, spec)
    start = initial_values(data, spec)
    assert float(start["collapse_probability"]) == pytest.approx(0.05)
    eta = start["eta"]
    assert eta.shape == (data.n_models,) and np.isfinite(eta).all()
    acc = GUESS + (1 - GUESS) * special.expit(eta)
    inside = np.abs(data.k / data.n - 0.6) < 0.3
    np.testing.assert_allclose(acc[inside], (data.k / data.n)[inside], rtol=1e-9)
    assert acc.min() == pytest.approx(GUESS + (1 - GUESS) * 0.1)  # floor models start higher
    assert float(start["sigma_model"]) == pytest.approx(0.5)
    assert float(start["alpha"]) == pytest.approx(np.median(eta))  # cohorts: alpha
    walk = spec.with_changes(period="month", period_effect="random_walk")
    walk_start = initial_values(prepare_data(paper_df, walk), walk)
    assert "alpha" not in walk_start and np.ptp(walk_start["period_walk"]) == 0.0
    assert initial_values(data, spec.with_changes(floor_mixture=False)) is None


def test_simulated_counts_put_a_share_pi_at_the_floor(paper_df):
    """The NumPy simulator: with pi = 0.3 about 30% of counts are beta-binomial near 0.11."""
    from bayes_llm.verify.generate import draw_observations, draw_parameters

    spec = spec_from_dict(BASE)
    data = prepare_data(paper_df, spec)
    rng = np.random.default_rng(1)
    params = draw_parameters(spec, data, rng)
    params.update(eta=np.full(data.n_models, 1.0), collapse_probability=np.asarray(0.3),
                  collapse_logit_mean=np.asarray(-4.0),
                  collapse_log_concentration=np.asarray(8.0))
    acc = draw_observations(spec, data, params, rng)["correct"] / data.n
    regular = GUESS + (1 - GUESS) * special.expit(1.0)
    low = acc < 0.2
    assert abs(low.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / data.n_models)
    a, b = ld.collapse_shape(GUESS, -4.0, 8.0)
    assert abs(acc[low].mean() - a / (a + b)) < 0.005
    assert np.all(np.abs(acc[~low] - regular) < 0.02)


# --- the mixture predictive -----------------------------------------------------------

class _FakeFit:
    """Just enough of a fit for ``option_terms.collapse_distribution``."""

    def __init__(self, pi, mean, conc):
        shape = (1, len(pi))
        self.dt = xr.DataTree.from_dict({"posterior": xr.Dataset({
            "collapse_probability": (("chain", "draw"), np.reshape(pi, shape)),
            "collapse_mean": (("chain", "draw"), np.reshape(mean, shape)),
            "collapse_concentration": (("chain", "draw"), np.reshape(conc, shape))})})


def _prediction(pi: float, s: int = 300):
    """A mixture prediction for three rows, as ``predict`` builds it."""
    from bayes_llm.prediction.result import Prediction

    rng = np.random.default_rng(0)
    mu = np.tile(np.array([-1.0, 0.0, 0.5]), (s, 1))
    sigma = np.full(s, 0.5)
    eta = mu + sigma[:, None] * rng.standard_normal(mu.shape)
    p = GUESS + (1 - GUESS) * special.expit(eta)
    mean, conc = GUESS + (1 - GUESS) * special.expit(-4.0), np.exp(8.0)
    noise = {"p": p, "mu": mu, "sigma": sigma, "collapse_probability": np.full((s, 3), pi),
             "collapse_a": np.full(s, mean * conc), "collapse_b": np.full(s, (1 - mean) * conc)}
    frame = pd.DataFrame({"model_id": ["a", "b", "c"]})
    acc = xr.DataArray(rng.binomial(N_ITEMS, p) / N_ITEMS, dims=("sample", "row"))
    return Prediction(frame=frame, latent=acc, accuracy=acc, likelihood="binomial",
                      n_items=np.full(3, N_ITEMS), guess=GUESS, outcome="mmlu_pro",
                      observed_column="mmlu_pro", diagnostics_ok=True, diagnostics="ok",
                      noise=noise)


def test_collapse_distribution_of_a_fit():
    from bayes_llm.model.option_terms import collapse_distribution

    fit = _FakeFit([0.1, 0.2], [0.11, 0.12], [1000.0, 2000.0])
    dist = collapse_distribution(fit)
    np.testing.assert_allclose(dist["a"].values.ravel(), [110.0, 240.0])
    np.testing.assert_allclose(dist["b"].values.ravel(), [890.0, 1760.0])
    np.testing.assert_allclose(dist["probability"].values.ravel(), [0.1, 0.2])
    plain = _FakeFit([0.1], [0.1], [1.0])
    del plain.dt["posterior"]["collapse_probability"]
    assert collapse_distribution(plain) is None


def test_mixture_cdf_is_the_pi_weighted_sum_of_the_components():
    pred = _prediction(0.25)
    v = np.array([0.115, 0.30, 0.60])
    k = np.floor(v * N_ITEMS + 1e-9)
    a, b = pred.noise["collapse_a"][0], pred.noise["collapse_b"][0]
    expected = (0.25 * stats.betabinom.cdf(k, N_ITEMS, a, b)[None, :]
                + 0.75 * stats.binom.cdf(k[None, :], N_ITEMS, pred.noise["p"]))
    np.testing.assert_allclose(pred.cdf(v), expected, rtol=1e-9)  # pmf summed once per draw
    # at the floor the collapsed component carries the mass: CDF ~ pi there and then
    assert 0.1 < pred.cdf(np.array([0.13, 0.13, 0.13])).mean() < 0.3


def test_mixture_log_score_of_the_accuracy_bin():
    """Per draw pi BetaBinomial(k) + (1 - pi) P_regular(k): checked at pi = 0, 1 and between."""
    from bayes_llm.validate.scores import score_rows

    y = np.array([0.112, 0.30, 0.45])
    n = np.full(3, N_ITEMS)
    k = np.rint(y * N_ITEMS)
    plain = _prediction(0.0)
    regular_noise = {key: plain.noise[key] for key in ("p", "mu", "sigma")}
    regular = _prediction(0.0)
    regular.noise = regular_noise
    base = score_rows(regular, y, n, discrete=True)
    assert (base["log_score_method"] == "integrated_eta").all()
    none = score_rows(plain, y, n, discrete=True)
    assert (none["log_score_method"] == "integrated_eta_mixture").all()
    np.testing.assert_allclose(none["log_score"], base["log_score"], rtol=1e-12)
    only = score_rows(_prediction(1.0), y, n, discrete=True)
    a, b = plain.noise["collapse_a"][0], plain.noise["collapse_b"][0]
    np.testing.assert_allclose(only["log_score"][:1],
                               stats.betabinom.logpmf(k[:1], N_ITEMS, a, b), rtol=1e-10)
    mixed = score_rows(_prediction(0.2), y, n, discrete=True)
    expected = np.log(0.2 * np.exp(only["log_score"]) + 0.8 * np.exp(base["log_score"]))
    np.testing.assert_allclose(mixed["log_score"], expected, rtol=1e-8)
    # a model at the floor: the regular predictive gives it almost nothing, the mixture pi
    assert mixed["log_score"][0] > base["log_score"][0] + 5


def test_floor_mixture_logpmf_limits():
    k = np.array([3500, 3600])  # far above the floor: the collapsed component is ~0 there
    p = np.array([0.3, 0.3])
    regular = ld.floor_mixture_logpmf(k, N_ITEMS, p, GUESS, 1e-12, -4.0, 8.0)
    np.testing.assert_allclose(regular, stats.binom.logpmf(k, N_ITEMS, p), rtol=1e-9)
    a, b = ld.collapse_shape(GUESS, -4.0, 8.0)
    np.testing.assert_allclose(a / (a + b), GUESS + (1 - GUESS) * 0.03 * special.expit(-4.0))
    np.testing.assert_allclose(a + b, 2000.0 + np.exp(8.0))
    # the band and the minimum concentration hold for any value of the sampled variables
    for x in (-50.0, 0.0, 50.0):
        a, b = ld.collapse_shape(GUESS, x, -50.0)
        assert GUESS <= a / (a + b) <= GUESS + (1 - GUESS) * 0.03 and a + b >= 2000.0


# --- one tiny real fit ------------------------------------------------------------------

@pytest.mark.slow  # ~2 min: a real (non-mixing) fit; the fast tests cover each piece
@pytest.mark.mcmc
def test_tiny_fit_feeds_prediction_scores_and_headline(paper_df):
    """A small real fit: posterior of the new variables, mixture predictions, headline."""
    from bayes_llm.derived import headline_draws
    from bayes_llm.model import fit_model
    from bayes_llm.prediction import predict
    from bayes_llm.validate.scores import score_rows

    spec = load_spec("binomial_developers").with_changes(floor_mixture=True)
    frame = paper_df.iloc[::4].copy()  # ~200 models, ~15% of them at the floor
    fit = fit_model(spec, frame, draws=60, tune=100, chains=1, progressbar=False)
    post = fit.posterior
    for name in ("collapse_probability", "collapse_mean", "collapse_concentration"):
        assert name in post
    assert 0.02 < float(post["collapse_probability"].mean()) < 0.4
    assert 0.1 < float(post["collapse_mean"].mean()) < 0.145
    pred = predict(fit, paper_df.iloc[1::20], seed=1)
    assert "collapse_probability" in pred.noise
    acc = pred.accuracy.values
    share_low = float(np.mean(acc < 0.125))
    assert 0.0 < share_low < 0.5
    rows = score_rows(pred, pred.observed, pred.n_items, discrete=True)
    assert (rows["log_score_method"] == "integrated_eta_mixture").all()
    assert np.isfinite(rows["log_score"]).all() and np.isfinite(rows["pit"]).all()
    draws = headline_draws(fit)
    assert np.isfinite(draws["variance_developer_share"].values).all()


def test_cross_validation_loglik_mixes_in_the_collapsed_component():
    """``sensitivity.crossval`` sums the collapse indicator out with the posterior's pi, a, b."""
    import xarray as xr

    from bayes_llm.sensitivity.crossval import _with_collapse

    k = np.array([1350.0, 4000.0])
    n = np.full(2, N_ITEMS)
    regular = np.array([[-400.0, -9.0], [-380.0, -8.5]])  # (draw, model)
    pi, mean, conc = np.array([0.1, 0.3]), np.array([0.112, 0.114]), np.array([3000.0, 2500.0])
    post = xr.Dataset({"collapse_probability": (("chain", "draw"), pi[None]),
                       "collapse_mean": (("chain", "draw"), mean[None]),
                       "collapse_concentration": (("chain", "draw"), conc[None])})
    tree = xr.DataTree.from_dict({"posterior": post})
    mixed = _with_collapse(regular, tree, k, n)
    collapsed = stats.betabinom.logpmf(k[None, :], N_ITEMS, (mean * conc)[:, None],
                                       ((1 - mean) * conc)[:, None])
    expected = np.log(pi[:, None] * np.exp(collapsed) + (1 - pi[:, None]) * np.exp(regular))
    np.testing.assert_allclose(mixed, expected, rtol=1e-10)
    assert mixed[0, 0] > regular[0, 0] + 300  # a model at the floor is a collapsed one
    no_mixture = xr.DataTree.from_dict({"posterior": post.drop_vars("collapse_probability")})
    assert _with_collapse(regular, no_mixture, k, n) is regular


def test_beta_binomial_cdf_equals_scipy_at_every_row_and_draw():
    """The predictive CDF's collapsed component (summed once per draw) is scipy's."""
    from scipy import stats

    from bayes_llm.prediction.result import betabinom_cdf

    rng = np.random.default_rng(0)
    k = np.concatenate([[-1.0, 0.0, 1300.0, 1450.0, 12031.0, 12032.0, 12040.0],
                        rng.integers(0, 12032, 20).astype(float)])
    n = np.where(np.arange(len(k)) % 3 == 0, 12032, 12031)
    a = rng.uniform(200.0, 3000.0, 5)
    b = a * rng.uniform(7.0, 9.0, 5)
    expected = stats.betabinom.cdf(np.clip(k, -1, n)[None, :], n[None, :], a[:, None],
                                   b[:, None])
    np.testing.assert_allclose(betabinom_cdf(k, n, a, b), expected, atol=1e-10)


def test_per_row_collapse_probabilities_are_scored_row_by_row(monkeypatch):
    """(sample, row) probabilities, as ``predict`` gives them (e.g. ``collapse_by_period``),
    scored in blocks of one row: each row gets its own pi."""
    from bayes_llm.validate import scores
    from bayes_llm.validate.scores import score_rows

    monkeypatch.setattr(scores, "INTEGRAL_BLOCK_VALUES", 1)  # one row per block
    y = np.array([0.112, 0.30, 0.45])
    n = np.full(3, N_ITEMS)
    per_row = _prediction(0.0)
    s = per_row.noise["p"].shape[0]
    per_row.noise["collapse_probability"] = np.tile([0.0, 1.0, 0.2], (s, 1))
    got = score_rows(per_row, y, n, discrete=True)["log_score"].to_numpy()
    for j, pi in enumerate((0.0, 1.0, 0.2)):
        alone = score_rows(_prediction(pi), y, n, discrete=True)["log_score"].to_numpy()
        assert got[j] == pytest.approx(alone[j], rel=1e-10)


def test_cross_validation_uses_each_models_period_probability():
    """``collapse_by_period``: each model is mixed with its own period's pi."""
    import xarray as xr

    from bayes_llm.sensitivity.crossval import _with_collapse

    k = np.array([1350.0, 1350.0])
    n = np.full(2, N_ITEMS)
    regular = np.array([[-400.0, -400.0]])
    post = xr.Dataset({"collapse_probability": (("chain", "draw", "period"), [[[0.05, 0.3]]]),
                       "collapse_mean": (("chain", "draw"), [[0.112]]),
                       "collapse_concentration": (("chain", "draw"), [[3000.0]])})
    tree = xr.DataTree.from_dict({"posterior": post})
    mixed = _with_collapse(regular, tree, k, n, np.array([1, 0]))
    assert mixed[0, 0] - mixed[0, 1] == pytest.approx(np.log(0.3 / 0.05), rel=1e-6)
    with pytest.raises(ValueError, match="period"):
        _with_collapse(regular, tree, k, n)


def _compute_collapse_tree(intercept, slope):
    post = xr.Dataset({"collapse_intercept": (("chain", "draw"), [intercept]),
                       "collapse_compute_slope": (("chain", "draw"), [slope]),
                       "collapse_mean": (("chain", "draw"), [[0.112] * len(slope)]),
                       "collapse_concentration": (("chain", "draw"), [[3000.0] * len(slope)])})
    return xr.DataTree.from_dict({"posterior": post})


def test_compute_dependent_collapse_probability_is_logistic_in_compute():
    """``collapse_by_compute``: pi_i = logistic(a + b x_i), per draw and row."""
    from bayes_llm.model.option_terms import (
        collapse_distribution,
        collapse_probability_per_model,
    )

    tree = _compute_collapse_tree([-2.0, -3.0], [-1.5, 0.5])
    dist = collapse_distribution(tree)
    assert "probability" not in dist
    drawn = {key: value.values.reshape(-1) for key, value in dist.items()}
    x = np.array([-2.0, 0.0, 1.0])
    pi = collapse_probability_per_model(drawn, 3, x=x)
    expected = special.expit(np.array([[-2.0 + 3.0, -2.0, -3.5], [-3.0 - 1.0, -3.0, -2.5]]))
    np.testing.assert_allclose(pi, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="compute"):
        collapse_probability_per_model(drawn, 3)


def test_lineage_propensity_is_added_to_the_log_odds_and_drawn_for_a_new_lineage():
    """``collapse_by_lineage``: pi_i = logistic(logit(pi) + s z_l(i)); lineage -1 (new) gets
    a fresh z per draw, which needs an rng; without lineages it is an error."""
    from bayes_llm.model.option_terms import collapse_probability_per_model

    drawn = {"probability": np.array([0.1, 0.2]), "lineage_sd": np.array([1.0, 2.0]),
             "lineage_z": np.array([[0.5, -1.0], [1.5, 0.0]])}
    lineage_idx = np.array([1, 0, 1])
    pi = collapse_probability_per_model(drawn, 3, lineage_idx=lineage_idx)
    logit = special.logit(np.array([0.1, 0.2]))[:, None]
    expected = special.expit(logit + np.array([[-1.0, 0.5, -1.0], [0.0, 3.0, 0.0]]))
    np.testing.assert_allclose(pi, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="lineage"):
        collapse_probability_per_model(drawn, 3)
    with pytest.raises(ValueError, match="rng"):
        collapse_probability_per_model(drawn, 2, lineage_idx=np.array([0, -1]))
    many = {"probability": np.full(50_000, 0.1), "lineage_sd": np.full(50_000, 1.5),
            "lineage_z": np.zeros((50_000, 1))}
    fresh = collapse_probability_per_model(many, 1, lineage_idx=np.array([-1]),
                                           rng=np.random.default_rng(0))[:, 0]
    z = np.random.default_rng(1).standard_normal(200_000)
    assert fresh.mean() == pytest.approx(special.expit(special.logit(0.1) + 1.5 * z).mean(),
                                         abs=0.005)


def test_cross_validation_uses_each_models_compute_probability():
    """``collapse_by_compute``: a floor count is likelier collapsed at lower compute."""
    from bayes_llm.sensitivity.crossval import _with_collapse

    k = np.array([1350.0, 1350.0])
    n = np.full(2, N_ITEMS)
    regular = np.array([[-400.0, -400.0]])
    tree = _compute_collapse_tree([-2.0], [-1.0])
    mixed = _with_collapse(regular, tree, k, n, x=np.array([-2.0, 0.0]))
    # the regular term is negligible: the difference is that of log pi
    expected = np.log(special.expit(0.0)) - np.log(special.expit(-2.0))
    assert mixed[0, 0] - mixed[0, 1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("coding", ["constant", "period", "compute"])
def test_headline_collapse_probability_is_the_average_over_the_fits_models(coding):
    """The headline's ``collapse_probability`` is each draw's mean of the models' pi, for
    every coding of pi (one for all, per period, by compute)."""
    from types import SimpleNamespace

    from bayes_llm.derived.headline import _average_collapse_probability
    from bayes_llm.model.option_terms import collapse_distribution

    period_idx = np.array([0, 0, 0, 1])  # three models in the first period, one in the second
    x = np.array([-2.0, 0.0, 1.0, 3.0])
    shape = ("chain", "draw")
    post = {"collapse_mean": (shape, [[0.112, 0.113]]),
            "collapse_concentration": (shape, [[3000.0, 2000.0]])}
    if coding == "constant":
        post["collapse_probability"] = (shape, [[0.1, 0.3]])
        expected = np.array([0.1, 0.3])
    elif coding == "period":
        post["collapse_probability"] = (("chain", "draw", "period"), [[[0.1, 0.5], [0.2, 0.6]]])
        expected = np.array([(3 * 0.1 + 0.5) / 4, (3 * 0.2 + 0.6) / 4])
    else:
        post["collapse_intercept"] = (shape, [[-2.0, -1.0]])
        post["collapse_compute_slope"] = (shape, [[-1.0, 0.5]])
        expected = np.array([special.expit(-2.0 - x).mean(), special.expit(-1.0 + 0.5 * x).mean()])
    const = xr.Dataset({"period_idx": ("model", period_idx), "log10_flop_centred": ("model", x)})
    fit = SimpleNamespace(dt=xr.DataTree.from_dict({"posterior": xr.Dataset(post),
                                                    "constant_data": const}))
    average = _average_collapse_probability(fit, collapse_distribution(fit))
    assert average.dims == ("chain", "draw")
    np.testing.assert_allclose(average.values[0], expected, rtol=1e-12)
