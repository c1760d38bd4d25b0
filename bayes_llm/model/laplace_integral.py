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
away from the floor), is computed by Gauss–Legendre quadrature on a window around its
constrained maximum ``t*`` (Newton steps from the observed score; ``t* = 0`` when the
maximum lies beyond the kink). By concavity ``phi`` lies below its tangent, so it falls at
least ``TAIL`` (e^-36) below ``phi(t*)`` at ``t* + d`` with ``phi'(t*) d - I d^2 / 2 = -TAIL``
(``I`` the binomial Fisher information at ``t*``): the window ends there (and starts there
on the left, or at 0). The window is held fixed in the gradient (``disconnected_grad``),
as :mod:`bayes_llm.model.eta_integral` holds its centres: a window changes the rule,
not the integral; the kink stays at the window's end ``t = 0`` as ``mu`` moves, so its
boundary term is in the gradient.

Status (issue 10): a building block, not yet used by any spec. Away from the floor
(``tests/test_laplace_integral.py``: k/n 0.13-0.85 of 12,032 items, mu -4..3, b
0.02-1) it agrees with quadpack to 1e-8. Near the floor (k/n 0.101-0.105) the
likelihood in e is skewed and flattens into a plateau, the window's Gauss–Legendre rule
does not resolve it, and the error is up to 7e-4 relative with 32 nodes (7e-5 with 48,
2e-6 with 64): the window there needs the likelihood's two scales, as
:func:`bayes_llm.model.eta_integral.log_marginal` has its two components.
"""

from __future__ import annotations

import numpy as np

from bayes_llm.model.eta_integral import _NUMPY, _log_success

#: Gauss–Legendre nodes per half's window.
NODES = 32
#: Gauss–Legendre nodes per half's tail panel beyond the window.
TAIL_NODES = 24
#: Newton steps to each half's maximum.
ITERATIONS = 12
#: Longest Newton step (logit units).
MAX_STEP = 1.0
#: How far below its maximum the integrand is cut off (log scale).
TAIL = 36.0
#: Longest half-window (logit units): a bound where the information is ~0.
MAX_WINDOW = 60.0


def gauss_legendre(nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes on [0, 1] and their log weights (summing to 1)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return 0.5 * (x + 1.0), np.log(0.5 * w)


def _log_binomial(e, k, n, g, ops):
    """Log Binomial(k | n, p(e)) without the binomial coefficient."""
    log_p, log_fail = _log_success(e, g, ops)
    return k * log_p + (n - k) * log_fail


def _slope_and_information(e, k, n, g, ops):
    """d/de log Binomial(k | n, p(e)) and the binomial Fisher information in e."""
    s = ops.sigmoid(e)
    p = g + (1.0 - g) * s
    dp = (1.0 - g) * s * (1.0 - s)
    return (k / p - (n - k) / (1.0 - p)) * dp, n * dp * dp / (p * (1.0 - p))


def half_window(k, n, g: float, mu, b, side: float, ops=_NUMPY):
    """Start and length of the window of one half (``side`` +1: e > mu; -1: e < mu)."""
    rate = ops.clip((k / n - g) / (1.0 - g), 0.5 / n, 1.0 - 0.5 / n)
    t = side * (ops.log(rate) - ops.log1p(-rate) - mu)
    for _ in range(ITERATIONS):
        slope, info = _slope_and_information(mu + side * t, k, n, g, ops)
        t = t + ops.clip((side * slope - 1.0 / b) / (info + 1e-300), -MAX_STEP, MAX_STEP)
    t = ops.clip(t, 0.0, MAX_WINDOW)
    slope, info = _slope_and_information(mu + side * t, k, n, g, ops)
    d_phi = ops.clip(side * slope - 1.0 / b, -1e300, 0.0)  # ~0 at an interior maximum
    # smallest d > 0 with d_phi d - info d^2 / 2 = -TAIL (a stable form of the root)
    reach = 2.0 * TAIL / (-d_phi + ops.sqrt(d_phi * d_phi + 2.0 * TAIL * info))
    reach = ops.clip(reach, 0.0, MAX_WINDOW)
    start = ops.clip(t - reach, 0.0, MAX_WINDOW)
    return start, t + reach - start


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
    x, log_w = gauss_legendre()
    x2, log_w2 = gauss_legendre(TAIL_NODES)
    kk, nn, mm, bb = ops.expand(k), ops.expand(n), ops.expand(mu), ops.expand(b)
    halves = []
    for side in (1.0, -1.0):
        start, length = (ops.fixed(v) for v in half_window(k, n, g, mu, b, side, ops))
        t = ops.expand(start) + ops.expand(length) * x
        phi = _log_binomial(mm + side * t, kk, nn, g, ops) - t / bb
        halves.append(ops.logsumexp(log_w + phi) + ops.log(length))
        # beyond the window the tangent bound fails where the likelihood flattens (a
        # count near the floor, e far below it): there the integrand falls at rate 1/b,
        # so a second panel of TAIL b covers it (negligible where the likelihood falls)
        end = ops.expand(start + length)
        t = end + TAIL * bb * x2
        phi = _log_binomial(mm + side * t, kk, nn, g, ops) - t / bb
        halves.append(ops.logsumexp(log_w2 + phi) + ops.log(TAIL * b))
    constant = (ops.gammaln(n + 1.0) - ops.gammaln(k + 1.0) - ops.gammaln(n - k + 1.0)
                - ops.log(2.0 * b))
    out = halves[0]
    for half in halves[1:]:
        out = ops.logaddexp(out, half)
    return out + constant


__all__ = ["laplace_log_marginal"]
