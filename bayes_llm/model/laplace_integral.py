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

Used by ``model_effect = "laplace"`` (issue 10; ``models/README.md``). It agrees with quadpack
to 1e-8 relative (``tests/test_laplace_integral.py``: k/n 0.101-0.85 of 12,032 items,
floor counts included, mu -4..3, b 0.02-1). Its cost, 2 x (24 + 24 + 8) = 112
likelihood evaluations per count, is 4.6 times the Normal marginal's
(``benchmarks/bench_laplace_integral.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from bayes_llm.model.eta_integral import _NUMPY, _log_binomial, _log_normal
from bayes_llm.model.laplace_window import (
    PEAK,
    TAIL,
    numpy_half_window,
    pytensor_half_window,
)

#: Name of the Laplace law's scale b (SD b sqrt 2 = sigma_model) in a fit's posterior; its
#: presence marks a ``model_effect = "laplace"`` fit.
LAPLACE_SCALE = "model_laplace_scale"
#: Weight of the Laplace law itself in the proposal of :func:`draw_conditional_eta_laplace`.
PRIOR_SHARE = 0.1
#: Gauss–Legendre nodes of each of a half's two panels around its maximum.
NODES = 24
#: Gauss–Legendre nodes of a half's far-tail panel (at most e^-PEAK of the half, so a
#: coarser rule keeps the whole to 1e-8).
FAR_NODES = 8
def gauss_legendre(nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes on [0, 1] and their log weights (summing to 1)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return 0.5 * (x + 1.0), np.log(0.5 * w)


def half_window(k, n, g: float, mu, b, side: float, ops=_NUMPY):
    """Start, maximum, middle and end of one half's panels (``side`` +1: e > mu; -1: e < mu).

    In t = |e - mu|: the integrand is ``PEAK`` below its maximum at the middle (far side)
    and ``TAIL`` below it at the start (unless that is the kink, t = 0) and at the end
    (:mod:`bayes_llm.model.laplace_window`: a compiled kernel, a PyTensor ``Op`` on
    tensors).
    """
    if ops is _NUMPY:
        return numpy_half_window(k, n, g, mu, b, side)
    return pytensor_half_window(k, n, g, mu, b, side)


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


def draw_conditional_eta_laplace(k, n, g: float, mu: np.ndarray, b: np.ndarray,
                                 rng: np.random.Generator, *, candidates: int = 64
                                 ) -> np.ndarray:
    """Draw e from p(e | k, mu, b) ∝ Binomial(k | n, g + (1 - g) logistic(e)) Laplace(e | mu, b).

    Sampling-importance-resampling: ``candidates`` draws from a mixture of three
    proposals, weighted by the integrand over the proposal density, one kept per draw.
    The proposals: a Normal around each half's constrained maximum t* (:func:`half_window`;
    SD 1.5 times the half's width w there), with weight (together 1 - ``PRIOR_SHARE``)
    proportional to the half's rough mass exp(phi(t*)) w, and the Laplace law itself
    (weight ``PRIOR_SHARE``), which bounds the importance weight by 1 / ``PRIOR_SHARE``
    times the likelihood's maximum, also on the guessing floor's plateau. ``mu`` is
    ``(S, M)``, ``b`` ``(S,)``, ``(S, 1)`` or ``(S, M)``; ``k`` and ``n`` ``(M,)``.
    """
    mu = np.asarray(mu, float)
    b = np.broadcast_to(np.asarray(b, float).reshape(mu.shape[0], -1), mu.shape)
    k = np.broadcast_to(np.asarray(k, float), mu.shape)
    n = np.broadcast_to(np.asarray(n, float), mu.shape)
    centres, spreads, log_mass = [], [], []
    for side in (1.0, -1.0):
        start, peak, middle, _ = half_window(k, n, g, mu, b, side)
        # the half's width at its maximum: PEAK below it on the far side, TAIL on the near
        width = np.maximum(np.maximum((middle - peak) / np.sqrt(2.0 * PEAK),
                                      (peak - start) / np.sqrt(2.0 * TAIL)), 1e-4)
        centres.append(mu + side * peak)
        spreads.append(1.5 * width)
        log_mass.append(_log_binomial(mu + side * peak, k, n, g, _NUMPY) - peak / b
                        + np.log(width))
    odds_up = log_mass[0] - log_mass[1]
    log_shares = [np.log1p(-PRIOR_SHARE) + special.log_expit(odds_up),
                  np.log1p(-PRIOR_SHARE) + special.log_expit(-odds_up),
                  np.full(mu.shape, np.log(PRIOR_SHARE))]
    shape = (*mu.shape, candidates)
    u = rng.uniform(size=shape)
    normal = rng.standard_normal(shape)
    e = rng.laplace(mu[..., None], b[..., None], size=shape)
    up, down = np.exp(log_shares[0])[..., None], np.exp(log_shares[1])[..., None]
    e = np.where(u < up, centres[0][..., None] + spreads[0][..., None] * normal, e)
    e = np.where((u >= up) & (u < up + down),
                 centres[1][..., None] + spreads[1][..., None] * normal, e)
    log_q = np.logaddexp(np.logaddexp(
        log_shares[0][..., None] + _log_normal(e, centres[0][..., None], spreads[0][..., None],
                                                _NUMPY),
        log_shares[1][..., None] + _log_normal(e, centres[1][..., None], spreads[1][..., None],
                                                _NUMPY)),
        log_shares[2][..., None] + _log_laplace_density(e, mu[..., None], b[..., None]))
    log_w = (_log_binomial(e, k[..., None], n[..., None], g, _NUMPY)
             + _log_laplace_density(e, mu[..., None], b[..., None]) - log_q)
    log_w -= log_w.max(axis=-1, keepdims=True)
    cum = np.cumsum(np.exp(log_w), axis=-1)
    pick_u = rng.uniform(size=(*mu.shape, 1)) * cum[..., -1:]
    pick = np.minimum((cum < pick_u).sum(axis=-1), candidates - 1)
    return np.take_along_axis(e, pick[..., None], axis=-1)[..., 0]


def _log_laplace_density(x, mean, b):
    """Log Laplace(x | mean, b)."""
    return -np.abs(x - mean) / b - np.log(2.0 * b)


__all__ = ["LAPLACE_SCALE", "draw_conditional_eta_laplace", "laplace_log_marginal"]
