"""The binomial likelihood with a Laplace model-level effect integrated out.

For a model with ``k`` of ``n`` items correct, guessing floor ``g``, linear predictor
``mu`` and a Laplace model effect of scale ``b`` (SD ``b sqrt 2``),

    L(mu, b) = ∫ Binomial(k | n, g + (1 - g) logistic(e)) exp(-|e - mu| / b) / (2 b) de.

A Laplace law has heavy (exponential) tails and, unlike any finite mixture of Normals, a
log-concave density, so a lineage or developer effect shared by several models whose
effects are Laplace has a unimodal conditional posterior wherever the models' binomial
likelihoods are log-concave (Prékopa's theorem; away from the guessing floor).

The density has a kink at ``mu``, so the integral is split there: each half,
``∫_0^∞ exp(phi(t)) dt`` with ``phi(t) = log Binomial(k | mu ± t) - t / b`` (concave in t
away from the floor), is computed by Gauss–Legendre quadrature on two panels around its
constrained maximum ``t*`` (Newton steps from the observed score; ``t* = 0`` when the
maximum lies beyond the kink) on three panels: from where ``phi`` is ``TAIL`` (36) below
``phi(t*)`` (or from the kink) to ``t*``, from ``t*`` to where it is ``PEAK`` (12) below
on the far side, and the far tail on to ``TAIL`` below (the panels split the skewed
likelihood next to the floor at its maximum). Each end is found by Newton steps on ``phi`` itself, started
from the tangent bound ``phi'(t*) d - I d^2 / 2 = -TAIL`` (``I`` the binomial Fisher
information at ``t*``), which alone is too short next to the floor, where the likelihood
is skewed and flattens into a plateau. The panels are held fixed in the gradient
(``disconnected_grad``), as :mod:`bayes_llm.model.eta_integral` holds its centres: a
panel changes the rule, not the integral; the kink stays at the panel's end ``t = 0`` as
``mu`` moves, so its boundary term is in the gradient.

Status (issue 10): a building block, not yet used by any spec. It agrees with quadpack
to 1e-8 relative (``tests/test_laplace_integral.py``: k/n 0.101-0.85 of 12,032 items,
floor counts included, mu -4..3, b 0.02-1). Its cost, 2 x (24 + 24 + 8) = 112
likelihood evaluations per count, is 4.6 times the Normal marginal's
(``benchmarks/bench_laplace_integral.py``).
"""

from __future__ import annotations

import numpy as np

from bayes_llm.model.eta_integral import (
    _NUMPY,
    _binomial_score_and_information,
    _log_binomial,
)

#: Gauss–Legendre nodes of each of a half's two panels around its maximum.
NODES = 24
#: Gauss–Legendre nodes of a half's far-tail panel (at most e^-PEAK of the half, so a
#: coarser rule keeps the whole to 1e-8).
FAR_NODES = 8
#: Newton steps to each half's maximum.
ITERATIONS = 12
#: Newton steps to each end of a window.
EDGE_ITERATIONS = 8
#: Longest Newton step (logit units).
MAX_STEP = 1.0
#: How far below its maximum the integrand is cut off (log scale).
TAIL = 36.0
#: Where the peak's panel ends and the far tail's begins (log drop from the maximum).
PEAK = 12.0
#: Longest half-window (logit units): a bound where the information is ~0.
MAX_WINDOW = 60.0


def gauss_legendre(nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes on [0, 1] and their log weights (summing to 1)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return 0.5 * (x + 1.0), np.log(0.5 * w)


def half_window(k, n, g: float, mu, b, side: float, ops=_NUMPY):
    """Start, middle and end of one half's window (``side`` +1: e > mu; -1: e < mu).

    In t = |e - mu|: the integrand is ``PEAK`` below its maximum at the middle (far side)
    and ``TAIL`` below it at the start (unless that is the kink, t = 0) and at the end.
    """
    rate = ops.clip((k / n - g) / (1.0 - g), 0.5 / n, 1.0 - 0.5 / n)
    t = side * (ops.log(rate) - ops.log1p(-rate) - mu)
    for _ in range(ITERATIONS):
        slope, info = _binomial_score_and_information(mu + side * t, k, n, g, ops)
        t = t + ops.clip((side * slope - 1.0 / b) / (info + 1e-30), -MAX_STEP, MAX_STEP)
    t = ops.clip(t, 0.0, MAX_WINDOW)
    slope, info = _binomial_score_and_information(mu + side * t, k, n, g, ops)
    d_phi = side * slope - 1.0 / b
    d_phi = 0.5 * (d_phi - ops.sqrt(d_phi * d_phi))  # min(d_phi, 0): ~0 at an interior maximum
    # smallest d > 0 with d_phi d - info d^2 / 2 = -TAIL (a stable form of the root)
    reach = 2.0 * TAIL / (-d_phi + ops.sqrt(d_phi * d_phi + 2.0 * TAIL * info))
    reach = ops.clip(reach, 1e-6, MAX_WINDOW)

    def phi(u):
        return _log_binomial(mu + side * u, k, n, g, ops) - u / b

    def edge(u, drop, lo, hi):
        # Newton steps to phi(u) = phi(t) - drop (the tangent bound fails where the
        # likelihood is skewed or flattens, next to the floor), kept in [lo, hi]
        for _ in range(EDGE_ITERATIONS):
            slope_u, _ = _binomial_score_and_information(mu + side * u, k, n, g, ops)
            d = side * slope_u - 1.0 / b
            d = d + (ops.sqrt(d * d) < 1e-12) * 1e-12  # never a zero slope
            u = ops.clip(u - (phi(u) - top + drop) / d, lo, hi)
        return u

    top = phi(t)
    low, high = t + 1e-3 * reach, t + MAX_WINDOW
    middle = edge(t + reach * (PEAK / TAIL) ** 0.5, PEAK, low, high)
    end = edge(t + reach, TAIL, middle, high)
    start = edge(ops.clip(t - reach, 0.0, MAX_WINDOW), TAIL, 0.0 * t, t - 1e-3 * reach)
    return ops.clip(start, 0.0, MAX_WINDOW), t, middle, end


def laplace_log_marginal(k, n, g: float, mu, b, ops=_NUMPY):
    """Log ∫ Binomial(k | n, g + (1 - g) logistic(e)) Laplace(e | mu, b) de.

    Parameters
    ----------
    k, n : array_like
        Items correct and items (broadcast with ``mu``).
    g : float
        Guessing floor.
    mu, b : array_like or tensor
        Location and scale of the Laplace model effect (``b`` broadcasts with ``mu``).
    ops : namespace
        NumPy (default) or PyTensor operations (:func:`bayes_llm.model.eta_integral.pytensor_ops`).

    Returns
    -------
    array or tensor
        The log marginal likelihood, shape of ``mu``.
    """
    # data as float64 arrays: PyTensor makes a Python float that float32 holds exactly
    # (12032.0) a float32 constant, and log C(n, k) in float32 is ~0.004 off
    k, n = (v if hasattr(v, "type") else np.asarray(v, np.float64) for v in (k, n))
    rules = [gauss_legendre(NODES), gauss_legendre(NODES), gauss_legendre(FAR_NODES)]
    kk, nn, mm, bb = ops.expand(k), ops.expand(n), ops.expand(mu), ops.expand(b)
    halves = []
    for side in (1.0, -1.0):
        start, peak, middle, end = (ops.fixed(v)
                                    for v in half_window(k, n, g, mu, b, side, ops))
        # three panels: up to the maximum (or from the kink), on to PEAK below it, and
        # the far tail (at most e^-PEAK of the half; long where the likelihood flattens
        # into the floor's plateau)
        for (lo, hi), (x, log_w) in zip(((start, peak), (peak, middle), (middle, end)),
                                        rules, strict=True):
            width = hi - lo + 1e-30  # a panel of no width (t* at the kink) adds ~e^-69
            t = ops.expand(lo) + ops.expand(width) * x
            phi = _log_binomial(mm + side * t, kk, nn, g, ops) - t / bb
            halves.append(ops.logsumexp(log_w + phi) + ops.log(width))
    constant = (ops.gammaln(n + 1.0) - ops.gammaln(k + 1.0) - ops.gammaln(n - k + 1.0)
                - ops.log(2.0 * b))
    out = halves[0]
    for half in halves[1:]:
        out = ops.logaddexp(out, half)
    return out + constant


__all__ = ["laplace_log_marginal"]
