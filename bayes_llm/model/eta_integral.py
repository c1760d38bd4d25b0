"""The model-level effect integrated out of the binomial likelihood.

For a model with ``k`` of ``n`` items correct, guessing floor ``g`` and linear predictor
``mu``, the binomial likelihood with a Normal model-level effect is

    L(mu, sigma) = ∫ Binomial(k | n, g + (1 - g) logistic(e)) Normal(e | mu, sigma) de.

With ``integrate_model_effect = true`` the model is written with this marginal in place of
a sampled ``eta`` per model (the same model: ``eta`` is summed out, as the collapse
indicator of ``floor_mixture`` is). The integral has no closed form; it is computed by
adaptive Gauss–Hermite quadrature (Liu & Pierce 1994; lme4's ``nAGQ``; Pinheiro & Bates
1995): the integrand ``exp(h(e))``, ``h(e) = log Binomial(k | e) + log Normal(e | mu,
sigma)``, is centred at its mode ``c`` (``ITERATIONS`` Fisher-scoring steps, each at most
``MAX_STEP`` long, from the observed logit score; a second component from ``mu``, see
:func:`log_marginal`)
and scaled by ``s = (I(c) + 1/sigma^2)^(-1/2)`` (I the binomial Fisher information in
``e``); then

    log L = log s + log sqrt(2 pi) + logsumexp_q(log w_q + h(c + s x_q) + x_q^2 / 2)

over the ``NODES`` probabilists' Gauss–Hermite nodes ``x_q`` and weights ``w_q``
(normalised to sum 1). Any ``c`` and ``s`` give a valid quadrature of the same integral;
placing them at the mode makes ``NODES`` nodes exact to ~1e-7 at the model-effect SDs
of these data (``tests/test_eta_integral.py`` measures the error against an independent
Simpson's rule, ``bayes_llm.verify.logdensity.integrated_binomial_logpmf``). A fixed grid cannot work here:
with 12,032 questions the binomial likelihood in ``e`` is ~0.03 wide, and for a model near
the floor the integrand's peak lies up to ~10 likelihood widths away from the observed
score.

The formula is written once for NumPy arrays and PyTensor tensors (the reference:
``ops=NUMPY_OPS``, :func:`pytensor_graph_log_marginal`); the model's log density and the
default NumPy path (checks, Gibbs steps, drawing ``eta`` after sampling) run the same rule
as one compiled loop, :mod:`bayes_llm.model.eta_kernel`. The gradient holds the centres and scales
fixed (``disconnected_grad``): since they change the rule, not the integral, the gradient
of the rule at fixed nodes equals the integral's gradient to the rule's accuracy
(``tests/test_eta_integral.py`` checks it against finite differences of the reference),
and HMC stays exact for any gradient that is a deterministic function of the position
(the accept step uses the log density itself). Not differentiating through the 2 x
``ITERATIONS`` scoring steps halves the cost of a log density and gradient on the 809
models (8.6 -> 4.3 ms; the gradient changed by < 2e-11 relative).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from scipy import special

#: Gauss–Hermite nodes. Largest error of log L over k/n in 0.105-0.85 (n = 12,032, g =
#: 0.1) and mu in -4..3: 8e-10 at sigma = 0.1, 4e-7 at 0.4, 2e-4 at 1.0, 1e-2 at 2.0
#: (models at the floor, where the likelihood in eta has a plateau; 11 nodes: 6e-6 at
#: 0.4, 7e-4 at 1.0). sigma_model's posterior on the 809 models is ~0.41.
NODES = 15
#: Fisher-scoring steps to the integrand's mode from each side (6 suffice on the checked
#: grid, 3-4 do not; 12 let the prior's side reach a mode up to ~10 logits away).
ITERATIONS = 12
#: Longest scoring step (logit units): keeps the first steps from overshooting.
MAX_STEP = 1.0

_NUMPY = SimpleNamespace(
    log=np.log, log1p=np.log1p, exp=np.exp, sqrt=np.sqrt, clip=np.clip,
    sigmoid=special.expit, softplus=lambda x: np.logaddexp(0.0, x),
    logaddexp=np.logaddexp, gammaln=special.gammaln,
    logsumexp=lambda x: special.logsumexp(x, axis=-1), expand=lambda x: np.asarray(x)[..., None],
    fixed=lambda x: x,
)
#: The NumPy operations of the written-out formula (``log_marginal(..., ops=NUMPY_OPS)``).
NUMPY_OPS = _NUMPY


def pytensor_ops(*, hold_centres: bool = True) -> SimpleNamespace:
    """Return the PyTensor versions of the operations the integral is written in.

    ``hold_centres=False`` differentiates through the mode search as well (the gradient
    is the same to rounding, only slower: ``benchmarks/bench_eta_integral.py --unfixed``).
    """
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_grad

    return SimpleNamespace(
        log=pt.log, log1p=pt.log1p, exp=pt.exp, sqrt=pt.sqrt, clip=pt.clip,
        sigmoid=pt.sigmoid, softplus=pt.softplus, logaddexp=pt.logaddexp, gammaln=pt.gammaln,
        logsumexp=lambda x: pt.logsumexp(x, axis=-1), expand=lambda x: pt.shape_padright(x),
        fixed=disconnected_grad if hold_centres else (lambda x: x),
    )


def gauss_hermite(nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss–Hermite nodes and log weights (weights summing to 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, np.log(w / w.sum())


def _log_success(eta, g: float, ops):
    """Log p and log(1 - p) of p = g + (1 - g) logistic(eta), stable in both tails."""
    log_fail = math.log1p(-g) - ops.softplus(eta)
    if g > 0:
        log_p = ops.logaddexp(math.log(g), math.log1p(-g) - ops.softplus(-eta))
    else:
        log_p = -ops.softplus(-eta)
    return log_p, log_fail


def _log_binomial(eta, k, n, g, ops):
    """Log Binomial(k | n, p(eta)) without the binomial coefficient."""
    log_p, log_fail = _log_success(eta, g, ops)
    return k * log_p + (n - k) * log_fail


def _log_kernel(eta, k, n, g, mu, sigma, ops):
    """Return the part of h(eta) that varies with eta (see :func:`_log_constant`).

    h(eta) = log Binomial(k | n, p(eta)) + log Normal(eta | mu, sigma) is this plus
    :func:`_log_constant`, which the quadrature adds once per count instead of at
    every node, and which cancels in the importance weights of :func:`draw_conditional_eta`.
    """
    z = (eta - mu) / sigma
    return _log_binomial(eta, k, n, g, ops) - 0.5 * z * z


def _log_constant(k, n, sigma, ops):
    """Return log C(n, k) - log sigma - log sqrt(2 pi), the terms of h free of eta."""
    return (ops.gammaln(n + 1.0) - ops.gammaln(k + 1.0) - ops.gammaln(n - k + 1.0)
            - ops.log(sigma) - 0.5 * math.log(2.0 * math.pi))


def _binomial_score_and_information(eta, k, n, g, ops):
    """d/deta log Binomial(k | n, p(eta)) and the binomial Fisher information in eta.

    With p = g + (1 - g) s, s = logistic(eta): d log(1 - p)/deta = -s and d log p/deta =
    (1 - g) s (1 - s) / p (1 - s for g = 0), so the score is k dlogp - (n - k) s and the
    information n dp^2 / (p (1 - p)) = n dlogp s. Written so, neither divides by 1 - p,
    which rounds to 0 beyond ~37 logits (e.g. a lineage effect from the Student-t law's far
    tail), where dp / (1 - p) was 0/0: NaN, and the model's log density with it.
    """
    s = ops.sigmoid(eta)
    dlogp = (1.0 - g) * s * (1.0 - s) / (g + (1.0 - g) * s) if g > 0 else 1.0 - s
    return k * dlogp - (n - k) * s, n * dlogp * s


def _score_and_information(eta, k, n, g, mu, sigma, ops):
    """h'(eta) and the expected information of h at eta (binomial Fisher + 1/sigma^2)."""
    score, information = _binomial_score_and_information(eta, k, n, g, ops)
    return score - (eta - mu) / sigma**2, information + 1.0 / sigma**2


def mode_and_scale(k, n, g: float, mu, sigma, ops=_NUMPY, *, from_prior: bool = False):
    """Centre ``c`` and scale ``s`` of one quadrature component (see the module docstring).

    Fisher scoring from the observed logit score (``from_prior=False``: the likelihood's
    side; a count at 0 or n, or at or below the floor, starts half an item inside) or from
    ``mu`` (the prior's side). ``k``, ``n``, ``mu`` broadcast; ``sigma`` broadcasts
    against them.
    """
    if from_prior:
        centre = mu + 0.0 * k
    else:
        rate = ops.clip((k / n - g) / (1.0 - g), 0.5 / n, 1.0 - 0.5 / n)
        centre = ops.log(rate) - ops.log1p(-rate) + 0.0 * mu
    for _ in range(ITERATIONS):
        score, info = _score_and_information(centre, k, n, g, mu, sigma, ops)
        centre = centre + ops.clip(score / info, -MAX_STEP, MAX_STEP)
    _, info = _score_and_information(centre, k, n, g, mu, sigma, ops)
    return centre, 1.0 / ops.sqrt(info)


def _log_normal(e, centre, scale, ops):
    z = (e - centre) / scale
    return -0.5 * z * z - ops.log(scale) - 0.5 * math.log(2.0 * math.pi)


def log_marginal(k, n, g: float, mu, sigma, ops=None, nodes: int = NODES):
    """Log ∫ Binomial(k | n, g + (1 - g) logistic(e)) Normal(e | mu, sigma) de.

    Importance quadrature with the defensive mixture q = ½ N(c1, s1) + ½ N(c2, s2) of
    the component found from the likelihood's side and the one found from the prior's
    side (:func:`mode_and_scale`): ∫ f = ½ E_N1[f/q] + ½ E_N2[f/q], each expectation by
    ``NODES`` Gauss–Hermite nodes. Where both searches reach the same mode this is the
    adaptive Gauss–Hermite rule; where the integrand has two modes (a count far from
    ``mu``: the likelihood's peak, and the plateau of a likelihood that flattens at the
    guessing floor) each component covers one.

    Parameters
    ----------
    k, n : array_like
        Items correct and items (broadcast with ``mu``).
    g : float
        Guessing floor.
    mu, sigma : array_like or tensor
        Mean and SD of the Normal model-level effect (``sigma`` broadcasts with ``mu``).
    ops : namespace, optional
        The operations the formula is evaluated in: :data:`NUMPY_OPS` or
        :func:`pytensor_ops`. Default (None): NumPy arrays, by the compiled loop of
        :mod:`bayes_llm.model.eta_kernel` (the same rule, several times faster; its tests
        keep the two equal).
    nodes : int
        Gauss–Hermite nodes per component (:data:`NODES`; fewer only for an
        approximation that an exact step corrects, e.g. a Gibbs step's proposal).

    Returns
    -------
    array or tensor
        The log marginal likelihood, shape of ``mu``.
    """
    if ops is None:
        from bayes_llm.model.eta_kernel import numpy_log_marginal

        return numpy_log_marginal(k, n, g, mu, sigma, nodes)
    x, log_w = gauss_hermite(nodes)
    parts = [tuple(ops.fixed(v) for v in mode_and_scale(k, n, g, mu, sigma, ops,
                                                         from_prior=side))
             for side in (False, True)]
    kk, nn, mm, ss = ops.expand(k), ops.expand(n), ops.expand(mu), ops.expand(sigma)
    sums = []
    for centre, scale in parts:
        e = ops.expand(centre) + ops.expand(scale) * x
        log_q = ops.logaddexp(*(_log_normal(e, ops.expand(c), ops.expand(s), ops)
                                for c, s in parts)) - math.log(2.0)
        h = _log_kernel(e, kk, nn, g, mm, ss, ops)
        sums.append(ops.logsumexp(log_w + h - log_q) - math.log(2.0))
    return ops.logaddexp(*sums) + _log_constant(k, n, sigma, ops)


def pytensor_log_marginal(k, n, g: float, mu, sigma):
    """:func:`log_marginal` on PyTensor tensors (the model's log density).

    One :class:`bayes_llm.model.eta_kernel.IntegratedBinomial` op: the compiled loop and
    its own gradient (the centres held fixed, as here). :func:`pytensor_graph_log_marginal`
    is the formula written as a PyTensor graph, kept for checks and timings.
    """
    from bayes_llm.model.eta_kernel import pytensor_log_marginal as compiled

    return compiled(k, n, g, mu, sigma)


def pytensor_graph_log_marginal(k, n, g: float, mu, sigma, *, hold_centres: bool = True):
    """:func:`log_marginal`'s formula as a PyTensor graph with PyTensor's gradient."""
    import pytensor.tensor as pt

    ops = pytensor_ops(hold_centres=hold_centres)
    return log_marginal(pt.as_tensor(k), pt.as_tensor(n), g, mu,
                        pt.broadcast_to(sigma, pt.shape(mu)), ops)


def two_scale_sds(sigma_model, wide_probability, log_ratio, ops=_NUMPY):
    """Core and wide SDs of a ``two_scale`` model effect whose total SD is ``sigma_model``.

    The effect is Normal(0, s_core) with probability 1 - w and Normal(0, r s_core) with
    probability w, ``r = 1 + exp(log_ratio)`` > 1 (so the two never swap), and ``s_core``
    is set so that the mixture's SD, sqrt((1 - w) s_core^2 + w (r s_core)^2), is
    ``sigma_model``: the variance shares read ``sigma_model`` as before.
    """
    ratio = 1.0 + ops.exp(log_ratio)
    core = sigma_model / ops.sqrt(1.0 - wide_probability + wide_probability * ratio**2)
    return core, ratio * core


def log_marginal_scales(k, n, g: float, mu, scales, ops=None, nodes: int = NODES):
    """Log ∫ Binomial(k | ...) sum_j w_j Normal(e | mu, sigma_j) de, one term per component.

    ``scales`` is a sequence of ``(log_weight, sigma)`` pairs (weights summing to one);
    each component's integral is :func:`log_marginal`'s (``nodes`` Gauss–Hermite nodes),
    and they are combined by log-sum-exp. One pair ``(0, sigma)`` is :func:`log_marginal`
    itself. ``ops`` as in :func:`log_marginal` (default: the compiled loop on NumPy arrays).
    """
    terms = [log_w + log_marginal(k, n, g, mu, sigma, ops, nodes) for log_w, sigma in scales]
    logaddexp = np.logaddexp if ops is None else ops.logaddexp
    out = terms[0]
    for term in terms[1:]:
        out = logaddexp(out, term)
    return out


def component_log_marginals(k, n, g: float, mu, scales) -> np.ndarray:
    """``log w_j + log ∫ Binomial(k | ...) Normal(e | mu, sigma_j) de`` stacked, ``(J, ...)``.

    ``scales`` as in :func:`log_marginal_scales` (whose value is their log-sum-exp).
    """
    mu = np.asarray(mu, float)
    return np.stack([np.asarray(log_w, float) + log_marginal(
        k, n, g, mu, np.broadcast_to(np.asarray(sd, float), mu.shape)) for log_w, sd in scales])


def draw_conditional_eta_scales(k, n, g: float, mu: np.ndarray, scales,
                                rng: np.random.Generator, *, component_logs=None
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Draw eta given the count under a scale mixture; return eta and the SD drawn with.

    ``scales`` as in :func:`log_marginal_scales`, each weight and SD ``(S, 1)`` or
    ``(S, M)``. The component is drawn from its posterior probability (its weight times
    its marginal likelihood; ``component_logs``, :func:`component_log_marginals`, when
    the caller has them already), then eta from :func:`draw_conditional_eta` with its SD.
    One component: exactly :func:`draw_conditional_eta` (the same random numbers).
    """
    mu = np.asarray(mu, float)
    sds = [np.broadcast_to(np.asarray(sd, float), mu.shape) for _, sd in scales]
    if len(scales) == 1:
        return draw_conditional_eta(k, n, g, mu, sds[0], rng), sds[0]
    logs = (component_log_marginals(k, n, g, mu, scales) if component_logs is None
            else component_logs)
    probs = np.exp(logs - special.logsumexp(logs, axis=0, keepdims=True))
    sigma = _pick(sds, probs, rng)
    return draw_conditional_eta(k, n, g, mu, sigma, rng), sigma


def draw_prior_eta_scales(mu: np.ndarray, scales, rng: np.random.Generator
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Draw eta from the scale mixture alone; return eta and the SD drawn with.

    Used for a collapsed model's would-be regular score. One component:
    ``rng.normal(mu, sd)`` (the same random numbers as before the mixture existed).
    """
    mu = np.asarray(mu, float)
    sds = [np.broadcast_to(np.asarray(sd, float), mu.shape) for _, sd in scales]
    if len(scales) == 1:
        return rng.normal(mu, sds[0]), sds[0]
    probs = np.stack([np.broadcast_to(np.exp(np.asarray(log_w, float)), mu.shape)
                      for log_w, _ in scales])
    sigma = _pick(sds, probs, rng)
    return rng.normal(mu, sigma), sigma


def _pick(sds: list[np.ndarray], probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each cell's SD from the component drawn with probabilities ``probs`` (K, ...)."""
    u = rng.uniform(size=probs.shape[1:])
    index = np.minimum((u[None] > np.cumsum(probs, axis=0)).sum(axis=0), len(sds) - 1)
    return np.choose(index, sds)


def widen(sd, extra_variance=0.0):
    """``sqrt(sd^2 + extra_variance)``; exactly ``sd`` when nothing is added (no rounding)."""
    if np.isscalar(extra_variance) and extra_variance == 0.0:
        return sd
    return np.sqrt(np.asarray(sd, float) ** 2 + extra_variance)


def scale_components(core, wide=None, wide_probability=None, extra_variance=0.0
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(log weight, SD)`` of each Normal component of a model effect (NumPy).

    One component ``(0, core)`` when ``wide`` is None, else ``(log(1 - w), core)`` and
    ``(log w, wide)``; ``extra_variance`` is added to each component's variance
    (:func:`widen`). The one place the components' weights are written down.
    """
    core = np.asarray(core, float)
    if wide is None:
        return [(np.zeros_like(core), widen(core, extra_variance))]
    w = np.asarray(wide_probability, float)
    return [(np.log1p(-w), widen(core, extra_variance)),
            (np.log(w), widen(np.asarray(wide, float), extra_variance))]


def model_effect_scales(sigma_model, wide_probability=None, log_ratio=None,
                        extra_variance=0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(log weight, SD)`` of each component of the model effect, per draw (NumPy).

    ``sigma_model`` etc. are ``(S, 1)`` arrays (``wide_probability`` None: one Normal
    component); ``extra_variance`` (e.g. ``sigma_lineage^2`` for a model alone in its
    lineage, summed out with eta) is added to each component's variance.
    """
    sigma_model = np.asarray(sigma_model, float)
    if wide_probability is None:
        return scale_components(sigma_model, extra_variance=extra_variance)
    w = np.asarray(wide_probability, float)
    core, wide = two_scale_sds(sigma_model, w, np.asarray(log_ratio, float))
    return scale_components(core, wide, w, extra_variance)


def draw_conditional_eta(k, n, g: float, mu: np.ndarray, sigma: np.ndarray,
                         rng: np.random.Generator, *, candidates: int = 24) -> np.ndarray:
    """Draw eta from p(eta | k, mu, sigma) ∝ Binomial(k | eta) Normal(eta | mu, sigma).

    Sampling-importance-resampling: ``candidates`` draws from the mixture of
    Normal(c_j, 1.5 s_j) around :func:`log_marginal`'s two components, weighted by the
    integrand over the proposal density, one kept per draw. ``mu`` is ``(S, M)``,
    ``sigma`` ``(S,)`` or ``(S, M)``.
    """
    mu = np.asarray(mu, float)
    sigma = np.broadcast_to(np.asarray(sigma, float).reshape(mu.shape[0], -1), mu.shape)
    k = np.asarray(k, float)
    parts = [mode_and_scale(k, n, g, mu, sigma, from_prior=side) for side in (False, True)]
    centres = np.stack([c for c, _ in parts], axis=-1)[..., None]
    spreads = 1.5 * np.stack([s for _, s in parts], axis=-1)[..., None]
    side = rng.integers(0, 2, size=(*mu.shape, candidates))
    pick_c = np.where(side == 0, centres[..., 0, :], centres[..., 1, :])
    pick_s = np.where(side == 0, spreads[..., 0, :], spreads[..., 1, :])
    e = pick_c + pick_s * rng.standard_normal((*mu.shape, candidates))
    log_q = np.logaddexp(_log_normal(e, centres[..., 0, :], spreads[..., 0, :], _NUMPY),
                         _log_normal(e, centres[..., 1, :], spreads[..., 1, :], _NUMPY))
    log_w = (_log_kernel(e, k[..., None], np.asarray(n, float)[..., None], g,
                         mu[..., None], sigma[..., None], _NUMPY) - log_q)
    log_w -= log_w.max(axis=-1, keepdims=True)
    w = np.exp(log_w)
    cum = np.cumsum(w, axis=-1)
    u = rng.uniform(size=(*mu.shape, 1)) * cum[..., -1:]
    pick = np.minimum((cum < u).sum(axis=-1), candidates - 1)
    return np.take_along_axis(e, pick[..., None], axis=-1)[..., 0]


#: Name of the linear predictor recorded while sampling an integrated model (dropped once
#: ``eta`` is drawn from it).
ETA_MEAN = "eta_mean"
#: The sampled variables of ``model_effect = "two_scale"`` (wide share, log(r - 1)).
TWO_SCALE_NAMES = ("model_wide_probability", "model_wide_log_ratio")
#: Draws per block when drawing eta after sampling (bounds the candidates' memory).
DRAW_BLOCK = 250
#: Seed offset of the eta draws (a stream of their own, fixed by the sampler's seed).
SEED_OFFSET = 7919


class LineageLayout(NamedTuple):
    """Where the lineage effects of an integrated fit live (``lineage_effect`` on).

    ``lineage_idx``: each model's lineage; ``multi`` and ``single``: indices of the
    lineages with several models (sampled) and with one; ``alone``: True for each model
    alone in its lineage; ``labels``: every lineage's label; ``singles_summed_out``:
    whether the single-model lineages' effects were summed out with eta (else sampled as
    ``lineage_single_z``); ``grid``: the lineages summed out on a grid (``lineage_grid``).
    """

    lineage_idx: np.ndarray
    multi: np.ndarray
    single: np.ndarray
    alone: np.ndarray
    labels: list
    singles_summed_out: bool = True
    grid: np.ndarray = np.zeros(0, dtype=np.int64)

    @classmethod
    def from_data(cls, data, *, singles_summed_out: bool = True) -> LineageLayout:
        """Read the layout off a :class:`~bayes_llm.model.design.ModelData` with lineages."""
        grid = getattr(data, "lineage_grid", None)
        return cls(data.lineage_idx, data.lineage_multi, data.lineage_single,
                   data.lineage_alone, list(data.coords["lineage"]), singles_summed_out,
                   np.zeros(0, dtype=np.int64) if grid is None else np.asarray(grid))


def _collapse_draws(dt, n_model: int, period_idx, x):
    """Per-draw collapse probability of each model and the collapsed component's shapes.

    Returns ``(pi, a, b)`` with ``pi`` of shape (S, M) and ``a``, ``b`` stacked over
    (chain, draw), or None for a fit without ``floor_mixture``.
    """
    from bayes_llm.model.option_terms import (
        collapse_distribution,
        collapse_probability_per_model,
        fitted_lineage_idx,
    )

    collapse = collapse_distribution(dt)
    if collapse is None:
        return None
    drawn = {key: value.stack(sample=("chain", "draw")).transpose("sample", ...).values
             for key, value in collapse.items()}
    pi = collapse_probability_per_model(drawn, n_model, period_idx=period_idx, x=x,
                                        lineage_idx=fitted_lineage_idx(dt))
    return pi, drawn["a"], drawn["b"]


def _as_eta(eta: np.ndarray, mean):
    """Return the (S, M) draws of eta as a DataArray shaped and labelled like ``eta_mean``."""
    import xarray as xr

    return xr.DataArray(eta.reshape(mean.shape), coords=mean.coords, dims=mean.dims,
                        name="eta")


def add_eta_draws(dt, k, n, g: float, seed: int, period_idx=None,
                  lineages: LineageLayout | None = None, x=None):
    """Add each model's ``eta`` to a fit of an integrated model, drawn given every draw.

    For posterior draw s and model i: under ``floor_mixture`` the model is collapsed with
    probability ``pi BB(k_i) / (pi BB(k_i) + (1 - pi) L_i)`` (``L_i`` :func:`log_marginal`);
    a collapsed model's eta is its would-be regular score, Normal(mu_is, sigma_s), as in
    the model that samples eta; otherwise eta is drawn from p(eta | k_i, mu_is, sigma_s)
    (:func:`draw_conditional_eta`). With ``model_effect = "two_scale"`` the component
    (core or wide SD) is drawn first, from its posterior probability for a regular model
    and its weight for a collapsed one (:func:`draw_conditional_eta_scales`). Together
    with the sampled draws these are draws from the joint posterior of the model with eta.
    ``eta_mean`` (mu) is removed afterwards.

    Parameters
    ----------
    dt : DataTree
        The sampled fit, with ``eta_mean``, ``sigma_model`` (and the collapse variables).
    k, n : array_like
        Items correct and items per model.
    g : float
        Guessing floor.
    seed : int
        Seed of the draws (with ``SEED_OFFSET``).
    period_idx : array_like, optional
        Each model's period: needed when pi has a ``period`` dimension
        (``collapse_by_period``).
    lineages : LineageLayout, optional
        With a lineage effect: a model alone in its lineage has effect SD
        ``sqrt(sigma_model^2 + sigma_lineage^2)`` (its lineage's effect was summed out with
        eta), and once eta is drawn its lineage effect is drawn from l | eta ~
        Normal(r (eta - mu), sigma_lineage sigma_model / SD), r = sigma_lineage^2 / SD^2;
        ``lineage_effect`` (chain, draw, lineage) is then recorded.
    x : array_like, optional
        Each model's reported centred log10 compute: needed when pi depends on it
        (``collapse_by_compute``).

    Returns
    -------
    DataTree
        ``dt`` with ``eta`` (chain, draw, model) in place of ``eta_mean``.
    """
    import xarray as xr

    post = dt["posterior"].to_dataset()
    mean = post[ETA_MEAN].transpose("chain", "draw", "model")
    n_chain, n_draw, n_model = mean.shape
    from bayes_llm.model.laplace_integral import LAPLACE_SCALE

    if LAPLACE_SCALE in post:
        if lineages is not None:
            raise ValueError("a Laplace model effect keeps every lineage effect sampled: "
                             "pass no lineage layout")
        return _add_laplace_eta_draws(dt, post, mean, k, n, g, seed, period_idx, x)
    mu = mean.values.reshape(n_chain * n_draw, n_model)
    extra = 0.0
    if lineages is not None:
        s_lin = post["sigma_lineage"].values.reshape(-1, 1)
        if lineages.singles_summed_out:
            extra = s_lin**2 * lineages.alone[None, :]
    wide = ((post[name].values.reshape(-1, 1) for name in TWO_SCALE_NAMES)
            if TWO_SCALE_NAMES[0] in post else (None, None))
    scales = [(np.broadcast_to(log_w, mu.shape), np.broadcast_to(sd, mu.shape))
              for log_w, sd in model_effect_scales(post["sigma_model"].values.reshape(-1, 1),
                                                   *wide, extra_variance=extra)]
    k = np.broadcast_to(np.asarray(k, float), (n_model,))
    n = np.broadcast_to(np.asarray(n, float), (n_model,))
    from bayes_llm.model.option_terms import collapse_log_terms

    collapse = _collapse_draws(dt, n_model, period_idx, x)
    mixture = collapse is not None
    if mixture:
        pi, a_all, b_all = collapse
    rng = np.random.default_rng([seed, SEED_OFFSET])
    grid = _grid_draws(post, lineages, k, n, g, mu, scales, collapse, rng)
    if grid is not None:  # mu with the summed-out lineages' drawn effects
        mu = mu.copy()
        mu[:, grid.layout.models] += grid.effects[:, grid.layout.position]
        grid_loglik = np.empty((mu.shape[0], len(grid.layout.models)))
    eta, sigma = np.empty_like(mu), np.empty_like(mu)
    for start in range(0, mu.shape[0], DRAW_BLOCK):
        sl = slice(start, start + DRAW_BLOCK)
        block_scales = [(log_w[sl], sd[sl]) for log_w, sd in scales]
        # each component's integral once: for the component draw, the collapse odds and
        # the summed-out lineages' models' pointwise densities
        logs = (component_log_marginals(k, n, g, mu[sl], block_scales)
                if mixture or len(scales) > 1 or grid is not None else None)
        block, block_sd = draw_conditional_eta_scales(k, n, g, mu[sl], block_scales, rng,
                                                      component_logs=logs)
        if logs is not None:
            regular = logs[0] if len(logs) == 1 else special.logsumexp(logs, axis=0)
        if mixture:
            log_c, log_r = collapse_log_terms(regular, pi[sl], a_all[sl], b_all[sl], k, n)
            collapsed = rng.uniform(size=block.shape) < special.expit(log_c - log_r)
            fresh, fresh_sd = draw_prior_eta_scales(mu[sl], block_scales, rng)
            block = np.where(collapsed, fresh, block)
            block_sd = np.where(collapsed, fresh_sd, block_sd)
        if grid is not None:  # each summed-out model's density given its lineage's effect
            density = np.logaddexp(log_c, log_r) if mixture else regular
            grid_loglik[sl] = density[:, grid.layout.models]
        eta[sl], sigma[sl] = block, block_sd
    post = post.drop_vars(ETA_MEAN).assign(eta=_as_eta(eta, mean))
    if lineages is not None:
        effect = _lineage_draws(post, lineages, eta - mu, sigma, s_lin, rng, (n_chain, n_draw),
                                grid)
        if grid is not None:  # the grid's self-check travels with the draws
            effect.attrs.update({f"lineage_grid_{key}": float(value)
                                 for key, value in grid.check.items()})
        post = post.assign(lineage_effect=effect)
    if grid is not None:
        _replace_pointwise(dt, grid.layout.models, grid_loglik, (n_chain, n_draw))
    dt["posterior"] = xr.DataTree(post)
    return dt


class _GridDraws(NamedTuple):
    layout: object
    effects: np.ndarray
    check: dict


def _grid_draws(post, lineages: LineageLayout | None, k, n, g: float, mu: np.ndarray,
                scales, collapse, rng: np.random.Generator) -> _GridDraws | None:
    """Draw the effects of the lineages summed out on a grid (``lineage_grid``), or None.

    Warns when the grid's quadrature check fails
    (:func:`bayes_llm.model.lineage_grid.quadrature_check`).
    """
    if lineages is None or not len(lineages.grid):
        return None
    import warnings

    from bayes_llm.model import lineage_grid as lg

    layout = lg.GridLayout.build(lineages.lineage_idx, lineages.grid, k / n, g)
    nu = post["nu_lineage"].values.reshape(-1) if "nu_lineage" in post else None
    effects, check = lg.draw_summed_out_effects(
        k, n, g, mu, scales, layout, post["sigma_lineage"].values.reshape(-1), nu, rng,
        collapse=collapse)
    failures = lg.check_failures(check)
    if failures:
        warnings.warn("lineage_grid: the grid may not integrate the summed-out lineages' "
                      "effects accurately: " + "; ".join(failures), stacklevel=3)
    return _GridDraws(layout, effects, check)


def _replace_pointwise(dt, models: np.ndarray, loglik: np.ndarray, shape: tuple) -> None:
    """Put the summed-out lineages' models' own log-likelihoods into ``log_likelihood``.

    The sampled model records each such lineage's marginal at its first model and 0 at
    the others; after the lineage effects are drawn each model's density given its
    lineage's effect is the pointwise value, as for a sampled lineage.
    """
    import xarray as xr

    if "log_likelihood" not in dt.children:
        return
    ds = dt["log_likelihood"].to_dataset()
    name = next(iter(ds.data_vars))
    values = ds[name].transpose("chain", "draw", ...).values.copy()
    values[..., models] = loglik.reshape(*shape, len(models))
    ds[name] = ds[name].transpose("chain", "draw", ...).copy(data=values)
    dt["log_likelihood"] = xr.DataTree(ds)


def _add_laplace_eta_draws(dt, post, mean, k, n, g: float, seed: int, period_idx, x):
    """:func:`add_eta_draws` for ``model_effect = "laplace"`` (scale b = ``model_laplace_scale``).

    A regular model's eta is drawn from p(eta | k_i, mu_is, b_s)
    (:func:`bayes_llm.model.laplace_integral.draw_conditional_eta_laplace`); under
    ``floor_mixture`` a model is collapsed with probability ``pi BB(k_i) / (pi BB(k_i) +
    (1 - pi) L_i)``, ``L_i`` the binomial–Laplace marginal, and a collapsed model's eta is
    a fresh Laplace(mu_is, b_s) draw. Every lineage effect was sampled.
    """
    import xarray as xr

    from bayes_llm.model.laplace_integral import (
        LAPLACE_SCALE,
        draw_conditional_eta_laplace,
        laplace_log_marginal,
    )
    from bayes_llm.model.option_terms import collapse_log_terms

    n_chain, n_draw, n_model = mean.shape
    mu = mean.values.reshape(n_chain * n_draw, n_model)
    scale = np.broadcast_to(post[LAPLACE_SCALE].values.reshape(-1, 1), mu.shape)
    k = np.broadcast_to(np.asarray(k, float), (n_model,))
    n = np.broadcast_to(np.asarray(n, float), (n_model,))
    collapse = _collapse_draws(dt, n_model, period_idx, x)
    if collapse is not None:
        pi, a_all, b_all = collapse
    rng = np.random.default_rng([seed, SEED_OFFSET])
    eta = np.empty_like(mu)
    for start in range(0, mu.shape[0], DRAW_BLOCK):
        sl = slice(start, start + DRAW_BLOCK)
        block = draw_conditional_eta_laplace(k, n, g, mu[sl], scale[sl], rng)
        if collapse is not None:
            regular = laplace_log_marginal(np.broadcast_to(k, mu[sl].shape),
                                           np.broadcast_to(n, mu[sl].shape), g, mu[sl],
                                           scale[sl])
            log_c, log_r = collapse_log_terms(regular, pi[sl], a_all[sl], b_all[sl], k, n)
            collapsed = rng.uniform(size=block.shape) < special.expit(log_c - log_r)
            block = np.where(collapsed, rng.laplace(mu[sl], scale[sl]), block)
        eta[sl] = block
    dt["posterior"] = xr.DataTree(post.drop_vars(ETA_MEAN).assign(eta=_as_eta(eta, mean)))
    return dt


def _lineage_draws(post, lineages: LineageLayout, deviation: np.ndarray, sd: np.ndarray,
                   s_lin: np.ndarray, rng: np.random.Generator, shape: tuple[int, int],
                   grid: _GridDraws | None = None):
    """``lineage_effect`` draws: sampled for multi-model lineages, drawn given eta for the rest.

    ``deviation`` (S, M) is eta - mu (mu without the summed-out lineage effect); ``sd``
    (S, M) the SD of that deviation, ``s_lin`` (S, 1) sigma_lineage. Single-model lineages
    sampled (not summed out with eta) are ``sigma_lineage * lineage_single_z``; the
    lineages summed out on a grid take ``grid``'s drawn effects.
    """
    import xarray as xr

    n_lineage = len(lineages.labels)
    effect = np.zeros((deviation.shape[0], n_lineage))
    if len(lineages.multi):
        effect[:, lineages.multi] = post["lineage_multi_effect"].values.reshape(
            deviation.shape[0], -1)
    if grid is not None:
        effect[:, grid.layout.lineages] = grid.effects
    if len(lineages.single) and not lineages.singles_summed_out:
        effect[:, lineages.single] = s_lin * post["lineage_single_z"].values.reshape(
            deviation.shape[0], -1)
    elif len(lineages.single):
        # the model of each single-model lineage (one each)
        model_of = np.full(n_lineage, -1)
        model_of[lineages.lineage_idx] = np.arange(len(lineages.lineage_idx))
        cols = model_of[lineages.single]
        share = s_lin**2 / sd[:, cols] ** 2
        spread = np.sqrt(share) * np.sqrt(sd[:, cols] ** 2 - s_lin**2)
        effect[:, lineages.single] = (share * deviation[:, cols]
                                      + spread * rng.standard_normal(share.shape))
    return xr.DataArray(effect.reshape(*shape, n_lineage), dims=("chain", "draw", "lineage"),
                        coords={"chain": post["chain"], "draw": post["draw"],
                                "lineage": list(lineages.labels)}, name="lineage_effect")
