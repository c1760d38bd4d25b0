"""The Laplace model effect (``model_effect = "laplace"``, issue 10).

A Laplace law of SD ``sigma_model`` (scale ``sigma_model / sqrt 2``) summed out of each
count by the binomial–Laplace marginal. The log density is compared term by term with the
independent NumPy reference (Simpson's rule split at the kink) in ``test_logdensity.py``
(case ``integrated_laplace``, and a deliberate error); the marginal itself against
quadpack and the eta draws against the exact conditional in ``test_laplace_integral.py``.
Here: the spec rules, the eta draws after sampling, the prediction, its log score and the
cross-validation log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from integrated_fakes import GUESS, N_ITEMS, integrated_fit, integrated_spec_dict
from scipy import special, stats

from bayes_llm.errors import SpecError
from bayes_llm.model import eta_integral as ei
from bayes_llm.model.laplace_integral import LAPLACE_SCALE
from bayes_llm.model.spec import spec_from_dict
from bayes_llm.verify.logdensity import integrated_binomial_laplace_logpmf

BASE = integrated_spec_dict("laplace")


@pytest.mark.parametrize(("change", "fragment"), [
    ({"integrate_model_effect": False}, "model_effect = 'laplace' needs integrate_model_effect"),
    ({"likelihood": "logit_normal"}, "needs likelihood = 'binomial'"),
])
def test_invalid_laplace_specs_are_one_line_errors(change, fragment):
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, **change}, source="bad.toml")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def _laplace_fit(n_draws=4000, sigma=0.3, mean=-0.4):
    """A fit-like object of a Laplace spec, one period, no developer."""
    return integrated_fit("laplace", {LAPLACE_SCALE: sigma / np.sqrt(2.0)}, n_draws=n_draws,
                          sigma=sigma, mean=mean)


def test_prediction_draws_a_laplace_effect_and_the_log_score_integrates_it():
    """A new model's latent score is mu plus a Laplace draw of SD sigma_model (excess
    kurtosis 3); the log score of its accuracy bin is the binomial–Laplace integral."""
    from bayes_llm.model.option_terms import model_effect_distribution
    from bayes_llm.prediction import predict
    from bayes_llm.validate.scores import bin_log_probability

    fit = _laplace_fit()
    assert model_effect_distribution(fit)[0] == "laplace"
    row = pd.DataFrame({"model_id": ["new"], "hf_id": [None], "developer": ["anyone"],
                        "release_month": ["2024-01"], "log10_flop": [23.5],
                        "mmlu_pro_acc": [0.45]})
    pred = predict(fit, row, seed=5)
    deviation = pred.latent.values[:, 0] - (-0.4)
    assert np.std(deviation) == pytest.approx(0.3, rel=0.06)
    assert stats.kurtosis(deviation) == pytest.approx(3.0, abs=1.0)
    np.testing.assert_allclose(pred.noise["laplace_scale"], 0.3 / np.sqrt(2.0))
    k = np.array([round(0.45 * N_ITEMS)], float)
    logp, method = bin_log_probability(pred, k, np.array([N_ITEMS]), k / N_ITEMS,
                                       k / N_ITEMS)
    assert method == "integrated_eta"
    expected = integrated_binomial_laplace_logpmf(k, N_ITEMS, GUESS, -0.4, 0.3 / np.sqrt(2.0))
    assert logp[0] == pytest.approx(expected[0], abs=1e-6)
    # a Normal effect of the same SD scores this count differently: the check can fail
    normal = ei.log_marginal(k, float(N_ITEMS), GUESS, np.array([-0.4]), np.array([0.3]))
    assert abs(normal[0] - expected[0]) > 0.05


def test_cross_validation_loglik_integrates_the_laplace_effect():
    from bayes_llm.sensitivity.crossval import model_effect_loglik

    fit = _laplace_fit(n_draws=3)
    post = fit.dt["posterior"].to_dataset()
    k = np.array([1400.0, 5000.0])
    n = np.full(2, float(N_ITEMS))
    mean = np.array([[-0.4, -0.2], [-0.5, 0.1], [-2.0, -0.4]])
    got = model_effect_loglik(k, n, GUESS, mean, post)
    want = np.stack([integrated_binomial_laplace_logpmf(k, N_ITEMS, GUESS, row,
                                                        0.3 / np.sqrt(2.0)) for row in mean])
    np.testing.assert_allclose(got, want, rtol=1e-8)
    # a Normal term (a new developer's effect) is integrated by one draw per posterior
    # draw: the estimate averages to the convolution's density
    many = np.full((4000, 1), -0.4)
    fit_many = _laplace_fit(n_draws=4000).dt["posterior"].to_dataset()
    est = model_effect_loglik(k[:1], n[:1], GUESS, many, fit_many, extra_variance=0.04,
                              seed=1)
    grid = np.linspace(-1.4, 0.6, 2001)
    shift = stats.norm.pdf(grid, 0.0, 0.2) * (grid[1] - grid[0])
    exact = special.logsumexp(np.log(shift) + integrated_binomial_laplace_logpmf(
        np.full(grid.shape, k[0]), N_ITEMS, GUESS, -0.4 + grid, 0.3 / np.sqrt(2.0)))
    assert special.logsumexp(est[:, 0]) - np.log(4000) == pytest.approx(exact, abs=0.03)


def test_add_eta_draws_under_a_laplace_effect_and_the_floor_mixture():
    """A collapsed model's would-be score is a Laplace draw of SD sigma_model; a regular
    model's eta sits at its observed score; a lineage layout is refused (every lineage
    effect of a Laplace fit is sampled)."""
    chains, draws = 1, 2000
    k = np.array([round(0.111 * N_ITEMS), round(0.5 * N_ITEMS)], float)
    shape = (chains, draws)
    post = xr.Dataset({
        ei.ETA_MEAN: (("chain", "draw", "model"), np.full((*shape, 2), 0.2)),
        "sigma_model": (("chain", "draw"), np.full(shape, 0.3)),
        LAPLACE_SCALE: (("chain", "draw"), np.full(shape, 0.3 / np.sqrt(2.0))),
        "collapse_probability": (("chain", "draw"), np.full(shape, 0.09)),
        "collapse_mean": (("chain", "draw"), np.full(shape, 0.112)),
        "collapse_concentration": (("chain", "draw"), np.full(shape, 3000.0))},
        coords={"chain": range(chains), "draw": range(draws), "model": ["floor", "works"]})
    dt = ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post.copy()}), k, N_ITEMS,
                          GUESS, 5)
    eta = dt["posterior"]["eta"]
    assert ei.ETA_MEAN not in dt["posterior"]
    floor = eta.sel(model="floor").values.ravel() - 0.2
    assert np.std(floor) == pytest.approx(0.3, rel=0.1)
    assert stats.kurtosis(floor) > 1.5  # Laplace, not Normal
    works = eta.sel(model="works").values.ravel()
    observed = special.logit((0.5 - GUESS) / (1 - GUESS))
    assert abs(works.mean() - observed) < 0.01
    layout = ei.LineageLayout(np.array([0, 1]), np.array([], int), np.array([0, 1]),
                              np.array([True, True]), ["a", "b"])
    with pytest.raises(ValueError, match="Laplace"):
        ei.add_eta_draws(xr.DataTree.from_dict({"posterior": post.copy()}), k, N_ITEMS,
                         GUESS, 5, lineages=layout)
