"""The compiled loop of the integrated binomial likelihood (:mod:`bayes_llm.model.eta_kernel`).

It must be the same rule as the written-out formula of :mod:`bayes_llm.model.eta_integral`
(values and, centres held fixed, gradients), hence as close to the independent Simpson's
rule as the formula is; each comparison is shown to catch a deliberate error.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayes_llm.model import eta_integral as ei
from bayes_llm.model import eta_kernel as ek
from bayes_llm.verify import logdensity as ld

N_ITEMS, GUESS = 12032, 0.1


def _counts(size=400, seed=0):
    """Counts from the floor cluster to strong models; means near and far from the data."""
    rng = np.random.default_rng(seed)
    rate = np.concatenate([rng.uniform(0.098, 0.125, size // 4), rng.uniform(0.12, 0.9,
                                                                             size - size // 4)])
    k = np.round(rate * N_ITEMS)
    logit = np.log(np.clip((rate - GUESS) / (1 - GUESS), 1e-3, None))
    logit -= np.log1p(-np.clip((rate - GUESS) / (1 - GUESS), 1e-3, 1 - 1e-3))
    mu = logit + rng.normal(0.0, 1.0, size) + np.where(rng.uniform(size=size) < 0.2,
                                                       rng.normal(0.0, 4.0, size), 0.0)
    return k, mu


@pytest.mark.parametrize("sigma", [0.05, 0.4, 1.5])
@pytest.mark.parametrize("nodes", [7, 15])
def test_the_loop_equals_the_formula(sigma, nodes):
    k, mu = _counts()
    loop = ek.numpy_log_marginal(k, N_ITEMS, GUESS, mu, sigma, nodes)
    formula = ei.log_marginal(k, N_ITEMS, GUESS, mu, sigma, ops=ei.NUMPY_OPS, nodes=nodes)
    assert np.max(np.abs(loop - formula) / (1.0 + np.abs(formula))) < 1e-10


def test_the_default_numpy_path_is_the_loop_and_broadcasts():
    k, mu = _counts(60)
    mu2 = np.stack([mu, mu + 0.3])  # (2, models) against counts (models,)
    sigma = np.array([[0.1], [0.6]])
    value = ei.log_marginal(k, N_ITEMS, GUESS, mu2, sigma)
    assert value.shape == (2, 60)
    expected = ei.log_marginal(k, N_ITEMS, GUESS, mu2, sigma, ops=ei.NUMPY_OPS)
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-9)


#: Largest error of the 15-node rule against the reference on these counts (models at the
#: floor, where the likelihood's plateau skews the integrand, err most): measured 7e-11,
#: 1.2e-4 and 3.5e-3 at the three SDs.
RULE_TOLERANCE = {0.1: 1e-9, 0.4: 5e-4, 1.0: 1e-2}


@pytest.mark.parametrize("sigma", sorted(RULE_TOLERANCE))
def test_the_loop_matches_the_independent_rule(sigma):
    k, mu = _counts(200, seed=1)
    near = np.abs(mu - np.median(mu)) < 6  # the reference's range (as the formula's test)
    loop = ek.numpy_log_marginal(k[near], N_ITEMS, GUESS, mu[near], sigma)
    reference = ld.integrated_binomial_logpmf(k[near], N_ITEMS, GUESS, mu[near], sigma)
    assert np.max(np.abs(loop - reference)) < RULE_TOLERANCE[sigma]


def test_too_few_nodes_are_caught_by_the_independent_rule():
    """Seven Gauss–Hermite nodes (a proposal's rule) where the model's density uses
    fifteen: the reference shows an error above the tolerance (so that test can fail)."""
    k, mu = _counts(200, seed=1)
    near = np.abs(mu - np.median(mu)) < 6
    loop = ek.numpy_log_marginal(k[near], N_ITEMS, GUESS, mu[near], 0.4, nodes=7)
    reference = ld.integrated_binomial_logpmf(k[near], N_ITEMS, GUESS, mu[near], 0.4)
    assert np.max(np.abs(loop - reference)) > RULE_TOLERANCE[0.4]


def _graph_value_and_gradient(fn, k, mu, sigma):
    import pytensor
    import pytensor.tensor as pt

    m, s = pt.dvector("mu"), pt.dvector("sigma")
    value = fn(k, np.full(k.shape, float(N_ITEMS)), GUESS, m, s)
    total = value.sum()
    f = pytensor.function([m, s], [value, *pytensor.grad(total, [m, s])])
    return f(mu, np.full(mu.shape, sigma))


@pytest.mark.parametrize("sigma", [0.1, 0.8])
def test_the_op_and_its_gradient_equal_the_formula_graph(sigma):
    k, mu = _counts(300, seed=2)
    op = _graph_value_and_gradient(ei.pytensor_log_marginal, k, mu, sigma)
    graph = _graph_value_and_gradient(ei.pytensor_graph_log_marginal, k, mu, sigma)
    for mine, theirs in zip(op, graph, strict=True):
        assert np.max(np.abs(mine - theirs) / (1.0 + np.abs(theirs))) < 1e-8


def test_a_gradient_without_the_sigma_term_is_caught(monkeypatch):
    """The same comparison fails when the op's d/dsigma drops its -1/sigma."""
    k, mu = _counts(100, seed=3)
    graph = _graph_value_and_gradient(ei.pytensor_graph_log_marginal, k, mu, 0.3)
    original = ek.IntegratedBinomial.pullback

    def wrong(self, inputs, outputs, cotangents):
        grads = original(self, inputs, outputs, cotangents)
        return [*grads[:3], grads[3] + cotangents[0] / inputs[3]]

    monkeypatch.setattr(ek.IntegratedBinomial, "pullback", wrong)
    op = _graph_value_and_gradient(ei.pytensor_log_marginal, k, mu, 0.3)
    assert np.max(np.abs(op[2] - graph[2])) > 1.0


def test_the_op_compiles_in_the_numba_backend_without_a_fallback():
    """PyTensor's numba backend calls the loop itself (no object-mode fallback warning),
    with the same values as the C/Python path (under the sampler's strict floating point)."""
    import warnings

    import pytensor
    import pytensor.tensor as pt

    from bayes_llm.model.sampling import reproducible_compilation

    k, mu = _counts(50, seed=4)
    m = pt.dvector("mu")
    value = ei.pytensor_log_marginal(k, np.full(k.shape, float(N_ITEMS)), GUESS, m, 0.2)
    outputs = [value, pytensor.grad(value.sum(), m)]
    with warnings.catch_warnings(), reproducible_compilation():
        warnings.simplefilter("error")
        # numba compiles on the first call: inside the block, as sampling does
        numba_values = pytensor.function([m], outputs, mode="NUMBA")(mu)
    python_fn = pytensor.function([m], outputs, mode="FAST_COMPILE")
    for a, b in zip(numba_values, python_fn(mu), strict=True):
        np.testing.assert_array_equal(a, b)
