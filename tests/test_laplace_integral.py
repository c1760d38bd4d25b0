"""The binomial-Laplace marginal (bayes_llm.model.laplace_integral) against quadpack.

A building block of a Laplace model effect (issue 10; not yet a spec option): it must
agree with an adaptive quadrature split at the kink to 1e-8 relative, at the floor
(where the likelihood is skewed and flattens into a plateau) as well as away from it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from bayes_llm.model.laplace_integral import laplace_log_marginal

N_ITEMS, GUESS = 12032.0, 0.1


def _reference(k: float, mu: float, b: float) -> float:
    """log ∫ Binomial Laplace by scipy's quad, split at mu and at the likelihood's peak."""

    def log_f(e):
        p = GUESS + (1.0 - GUESS) * special.expit(e)
        return (special.gammaln(N_ITEMS + 1) - special.gammaln(k + 1)
                - special.gammaln(N_ITEMS - k + 1) + special.xlogy(k, p)
                + special.xlog1py(N_ITEMS - k, -p) - abs(e - mu) / b - np.log(2.0 * b))

    grid = np.linspace(-40.0, 40.0, 40001)
    values = log_f(grid)
    peak = values.max()
    inside = grid[values > peak - 60.0]
    lo, hi = inside[0] - 0.01, inside[-1] + 0.01
    points = [x for x in (mu, grid[values.argmax()]) if lo < x < hi]
    value, _ = integrate.quad(lambda e: np.exp(log_f(e) - peak), lo, hi, points=points,
                              limit=500, epsabs=0.0, epsrel=1e-12)
    return float(np.log(value) + peak)


@pytest.mark.parametrize("rate", [0.101, 0.105, 0.13, 0.2, 0.4, 0.85])
def test_laplace_marginal_matches_quadpack(rate):
    k = float(np.round(rate * N_ITEMS))
    mus = np.array([-4.0, -1.0, -0.5, 0.0, 0.5, 3.0])
    for b in (0.02, 0.1, 0.3, 1.0):
        ours = laplace_log_marginal(np.full(mus.shape, k), N_ITEMS, GUESS, mus,
                                    np.full(mus.shape, b))
        for mu, value in zip(mus, ours, strict=True):
            assert abs(np.expm1(value - _reference(k, mu, b))) < 1e-8, (rate, mu, b)


def test_laplace_marginal_catches_a_wrong_kink():
    """The check can fail: a marginal with the Laplace's scale mistaken for its SD (b
    against b / sqrt 2), or with the half e < mu left out, is far off."""
    k, mu, b = float(np.round(0.4 * N_ITEMS)), 0.3, 0.3
    right = laplace_log_marginal(np.array([k]), N_ITEMS, GUESS, np.array([mu]),
                                 np.array([b]))[0]
    assert abs(np.expm1(right - _reference(k, mu, b))) < 1e-8
    assert abs(np.expm1(right - _reference(k, mu, b / np.sqrt(2.0)))) > 1e-3
    from bayes_llm.model import laplace_integral

    real = laplace_integral.half_window
    try:  # the half e < mu given no window: only the half e > mu is integrated
        laplace_integral.half_window = lambda k, n, g, mu, b, side, ops: (
            real(k, n, g, mu, b, side, ops) if side > 0 else (0.0 * mu,) * 4)
        one_half = laplace_log_marginal(np.array([k]), N_ITEMS, GUESS, np.array([mu]),
                                        np.array([b]))[0]
    finally:
        laplace_integral.half_window = real
    assert abs(np.expm1(one_half - _reference(k, mu, b))) > 1e-3


def test_laplace_marginal_pytensor_value_and_gradient():
    """The PyTensor graph (panels held fixed in the gradient) gives the NumPy value, and
    its gradient in mu and b matches central differences of the integral: the kink's
    boundary term is in it."""
    import pytensor
    import pytensor.tensor as pt

    from bayes_llm.model.eta_integral import pytensor_ops

    k = np.round(np.array([0.105, 0.2, 0.4, 0.4, 0.85]) * N_ITEMS)
    mu0 = np.array([-1.0, -1.2, -0.45, 0.3, 2.0])
    b0 = np.array([0.3, 0.1, 0.2, 0.05, 0.4])
    mu, b = pt.dvector("mu"), pt.dvector("b")
    total = laplace_log_marginal(k, N_ITEMS, GUESS, mu, b, ops=pytensor_ops()).sum()
    f = pytensor.function([mu, b], [total, *pytensor.grad(total, [mu, b])])
    value, d_mu, d_b = f(mu0, b0)
    assert np.isclose(value, laplace_log_marginal(k, N_ITEMS, GUESS, mu0, b0).sum(),
                      rtol=1e-12)
    h = 1e-5
    for i in range(len(k)):
        step = np.zeros_like(mu0)
        step[i] = h
        fd_mu = (laplace_log_marginal(k, N_ITEMS, GUESS, mu0 + step, b0).sum()
                 - laplace_log_marginal(k, N_ITEMS, GUESS, mu0 - step, b0).sum()) / (2 * h)
        fd_b = (laplace_log_marginal(k, N_ITEMS, GUESS, mu0, b0 + step).sum()
                - laplace_log_marginal(k, N_ITEMS, GUESS, mu0, b0 - step).sum()) / (2 * h)
        assert np.isclose(d_mu[i], fd_mu, rtol=1e-5, atol=1e-6), (i, d_mu[i], fd_mu)
        assert np.isclose(d_b[i], fd_b, rtol=1e-5, atol=1e-6), (i, d_b[i], fd_b)


def _conditional_moments(k: float, mu: float, b: float) -> tuple[float, float]:
    """Mean and SD of p(e | k) ∝ Binomial(k | e) Laplace(e | mu, b) on a fine grid."""
    e = np.linspace(-30.0, 30.0, 600_001)
    p = GUESS + (1.0 - GUESS) * special.expit(e)
    log_f = special.xlogy(k, p) + special.xlog1py(N_ITEMS - k, -p) - np.abs(e - mu) / b
    w = np.exp(log_f - log_f.max())
    w /= w.sum()
    mean = float(np.sum(w * e))
    return mean, float(np.sqrt(np.sum(w * (e - mean) ** 2)))


@pytest.mark.parametrize(("rate", "mu", "b"), [
    (0.4, -0.5, 0.2),     # likelihood-dominated, peak inside a half
    (0.4, 0.5, 0.05),     # a narrow Laplace pulling across the kink
    (0.101, -1.0, 0.3),   # at the floor: the plateau, a long left tail
    (0.13, -1.5, 0.5),
    (0.2, -4.0, 1.0),     # mu far from the data
])
def test_eta_draws_given_the_count_have_the_conditional_moments(rate, mu, b):
    """``draw_conditional_eta_laplace``: 20,000 draws have the mean of p(e | k) to 4 Monte
    Carlo SEs and its SD to 2.5% (sampling-importance-resampling over 64 candidates
    widens it by ~1%)."""
    from bayes_llm.model.laplace_integral import draw_conditional_eta_laplace

    k, draws = float(np.round(rate * N_ITEMS)), 20_000
    rng = np.random.default_rng(zlib_seed(rate, mu, b))
    e = draw_conditional_eta_laplace(np.array([k]), N_ITEMS, GUESS, np.full((draws, 1), mu),
                                     np.full(draws, b), rng)[:, 0]
    mean, sd = _conditional_moments(k, mu, b)
    assert abs(e.mean() - mean) < 4.0 * sd / np.sqrt(draws), (e.mean(), mean)
    assert abs(e.std() / sd - 1.0) < 0.025, (e.std(), sd)


def test_eta_draws_check_catches_a_wrong_scale():
    """The moment check can fail: draws made with the Laplace's SD as its scale (b sqrt 2)
    miss the conditional SD at the floor, where the prior shapes the posterior."""
    from bayes_llm.model.laplace_integral import draw_conditional_eta_laplace

    k, mu, b, draws = float(np.round(0.101 * N_ITEMS)), -1.0, 0.3, 20_000
    e = draw_conditional_eta_laplace(np.array([k]), N_ITEMS, GUESS, np.full((draws, 1), mu),
                                     np.full(draws, b * np.sqrt(2.0)),
                                     np.random.default_rng(3))[:, 0]
    mean, sd = _conditional_moments(k, mu, b)
    assert (abs(e.mean() - mean) > 4.0 * sd / np.sqrt(draws)
            or abs(e.std() / sd - 1.0) > 0.025)


def zlib_seed(*values: float) -> int:
    """A seed fixed by the case's values."""
    import zlib

    return zlib.crc32(repr(values).encode())


@pytest.mark.parametrize("g", [0.0, 0.1])
def test_the_kernels_scalar_binomial_terms_equal_the_shared_ones(g):
    """``laplace_window`` restates the binomial log likelihood, score and information in
    scalar form (a numba kernel cannot take the ``ops`` namespace); they must equal
    ``eta_integral``'s, from the floor to the ceiling and far into both tails."""
    from bayes_llm.model import eta_integral as ei
    from bayes_llm.model import laplace_window as lw

    ops = ei._NUMPY
    n = 12_032.0
    for k in (0.0, 1_203.0, 1_300.0, 6_000.0, 11_900.0, n):
        for eta in (-40.0, -6.0, -0.3, 0.0, 2.5, 9.0, 40.0):
            expected = ei._log_binomial(eta, k, n, g, ops)
            assert lw._log_binomial(eta, k, n, g) == pytest.approx(expected, rel=1e-12,
                                                                  abs=1e-9)
            if abs(eta) < 30:  # the score's 0/0 at saturated p is never evaluated there
                score, info = ei._binomial_score_and_information(eta, k, n, g, ops)
                mine = lw._score_and_information(eta, k, n, g)
                assert mine[0] == pytest.approx(score, rel=1e-10, abs=1e-9)
                assert mine[1] == pytest.approx(info, rel=1e-10, abs=1e-12)
