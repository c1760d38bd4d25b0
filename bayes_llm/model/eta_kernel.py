"""The integrated binomial likelihood of :mod:`bayes_llm.model.eta_integral` as one compiled loop.

:func:`bayes_llm.model.eta_integral.log_marginal` is written once in array operations
that run on NumPy and on PyTensor tensors. As a PyTensor graph (the model's log density)
and its automatic gradient, and as NumPy's one-array-per-operation passes (the Gibbs
steps' conditionals over a grid of lineage effects), that formula costs several times
what it must: every node of the quadrature's defensive mixture is evaluated twice,
although at nearly every count both mode searches reach the same mode, and the
temporaries of each operation go through memory. Here the same rule is one numba loop
over counts:

* the same two Fisher-scoring searches (``ITERATIONS`` steps of at most ``MAX_STEP``),
  stopped early once a step is below 1e-12 (relative): the centre is then fixed to
  rounding, so the rule is the same;
* where both searches end at the same centre and scale (to 1e-9 of the scale), the
  mixture ½ N(c, s) + ½ N(c, s) is N(c, s) and its ``NODES`` nodes are evaluated once
  (the value is the same as the formula's, to rounding);
* log p and log(1 - p) of p = g + (1 - g) logistic(e) from one exponential;
* the value and its derivatives in ``mu`` and ``sigma`` in the same pass, the centres
  and scales held fixed as in the formula's ``disconnected_grad``:
  d log L / d mu = E[(e - mu)] / sigma², d log L / d sigma = E[(e - mu)²] / sigma³ -
  1 / sigma, the expectations under the quadrature's normalised weights.

:class:`IntegratedBinomial` wraps it as a PyTensor ``Op`` (value, d/dmu, d/dsigma; its
gradient multiplies the last two), and PyTensor's numba backend calls the loop directly
(its JAX backend, for the numpyro sampler, the formula in ``jax.numpy``: :func:`register_jax`).
``tests/test_eta_kernel.py`` keeps it equal to the formula (values and gradients) and to
the independent Simpson's rule of :mod:`bayes_llm.verify.logdensity`;
``benchmarks/bench_eta_integral.py`` measures both.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from bayes_llm.model.eta_integral import ITERATIONS, MAX_STEP, NODES, gauss_hermite
from bayes_llm.model.strict_jit import closure_jit, kernel_arrays, kernel_jit

_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
#: Two searches whose centres and scales agree to this fraction of the scale found one mode.
SAME_MODE = 1e-9
#: A scoring step shorter than this (relative to 1 + |centre|) ends the search.
CONVERGED = 1e-12


@kernel_jit
def _logistic_slope_and_information(c, n, g, inv_var):
    """logistic(c), d log p / dc and the information n dlogp s + 1/sigma² at ``c``."""
    s = 1.0 / (1.0 + math.exp(-c))
    dlogp = (1.0 - g) * s * (1.0 - s) / (g + (1.0 - g) * s) if g > 0.0 else 1.0 - s
    return s, dlogp, n * dlogp * s + inv_var


@kernel_jit
def _centre_and_scale(k, n, g, mu, sigma, from_prior):
    """One quadrature component: ``eta_integral.mode_and_scale`` for one count."""
    if from_prior:
        c = mu
    else:
        rate = min(max((k / n - g) / (1.0 - g), 0.5 / n), 1.0 - 0.5 / n)
        c = math.log(rate) - math.log1p(-rate)
    inv_var = 1.0 / (sigma * sigma)
    for _ in range(ITERATIONS):
        s, dlogp, info = _logistic_slope_and_information(c, n, g, inv_var)
        score = k * dlogp - (n - k) * s - (c - mu) * inv_var
        step = min(max(score / info, -MAX_STEP), MAX_STEP)
        c = c + step
        if abs(step) < CONVERGED * (1.0 + abs(c)):
            break
    _, _, info = _logistic_slope_and_information(c, n, g, inv_var)
    return c, 1.0 / math.sqrt(info)


@kernel_jit
def _log_kernel(e, k, n, g, log1m_g, mu, inv_sigma):
    """``eta_integral._log_kernel`` for one node: log Binomial (no coefficient) - z²/2."""
    t = math.exp(-abs(e))
    softplus = max(e, 0.0) + math.log1p(t)
    logistic = 1.0 / (1.0 + t) if e >= 0.0 else t / (1.0 + t)
    if g > 0.0:
        log_p = math.log(g + (1.0 - g) * logistic)
    else:
        log_p = e - softplus
    z = (e - mu) * inv_sigma
    return k * log_p + (n - k) * (log1m_g - softplus) - 0.5 * z * z


@kernel_jit
def _marginal_flat(k, n, g, mu, sigma, x, log_w, value, d_mu, d_sigma):
    """Fill ``value`` (and, when ``d_mu`` has the length of ``mu``, both derivatives)."""
    log1m_g = math.log1p(-g)
    nodes = x.shape[0]
    want_gradient = d_mu.shape[0] == mu.shape[0]
    terms = np.empty(2 * nodes)
    points = np.empty(2 * nodes)
    for i in range(mu.shape[0]):
        ki, ni, mi, si = k[i], n[i], mu[i], sigma[i]
        c1, s1 = _centre_and_scale(ki, ni, g, mi, si, False)
        c2, s2 = _centre_and_scale(ki, ni, g, mi, si, True)
        log_s1, log_s2 = math.log(s1), math.log(s2)
        one_mode = abs(c1 - c2) <= SAME_MODE * s1 and abs(s1 - s2) <= SAME_MODE * s1
        components = 1 if one_mode else 2
        inv_sigma = 1.0 / si
        top = -np.inf
        for j in range(components):
            c, s = (c1, s1) if j == 0 else (c2, s2)
            for q in range(nodes):
                e = c + s * x[q]
                if one_mode:
                    log_q = -0.5 * x[q] * x[q] - log_s1
                else:
                    z1 = (e - c1) / s1
                    z2 = (e - c2) / s2
                    a = -0.5 * z1 * z1 - log_s1
                    b = -0.5 * z2 * z2 - log_s2
                    log_q = max(a, b) + math.log1p(math.exp(-abs(a - b))) - _LOG2
                term = log_w[q] + _log_kernel(e, ki, ni, g, log1m_g, mi, inv_sigma) - log_q
                terms[j * nodes + q] = term
                points[j * nodes + q] = e
                top = max(top, term)
        total, first, second = 0.0, 0.0, 0.0
        for r in range(components * nodes):
            weight = math.exp(terms[r] - top)
            total += weight
            if want_gradient:
                d = points[r] - mi
                first += weight * d
                second += weight * d * d
        constant = (math.lgamma(ni + 1.0) - math.lgamma(ki + 1.0) - math.lgamma(ni - ki + 1.0)
                    - math.log(si))
        # the formula's log q carries -log sqrt(2 pi), which the constant's cancels
        value[i] = top + math.log(total) - (components - 1) * _LOG2 + constant
        if want_gradient:
            inv_var = inv_sigma * inv_sigma
            d_mu[i] = first / total * inv_var
            d_sigma[i] = second / total * inv_var * inv_sigma - inv_sigma


@kernel_jit
def _marginal_value(k, n, mu, sigma, g, x, log_w):
    """:func:`_marginal_flat`'s value on four arrays of one shape."""
    kf, nf = np.ascontiguousarray(k).ravel(), np.ascontiguousarray(n).ravel()
    mf, sf = np.ascontiguousarray(mu).ravel(), np.ascontiguousarray(sigma).ravel()
    value = np.empty(mf.shape[0])
    _marginal_flat(kf, nf, g, mf, sf, x, log_w, value, np.empty(0), np.empty(0))
    return value.reshape(mu.shape)


@kernel_jit
def _marginal_and_gradient(k, n, mu, sigma, g, x, log_w):
    """:func:`_marginal_flat`'s value and derivatives on four arrays of one shape."""
    kf, nf = np.ascontiguousarray(k).ravel(), np.ascontiguousarray(n).ravel()
    mf, sf = np.ascontiguousarray(mu).ravel(), np.ascontiguousarray(sigma).ravel()
    size = mf.shape[0]
    value, d_mu, d_sigma = np.empty(size), np.empty(size), np.empty(size)
    _marginal_flat(kf, nf, g, mf, sf, x, log_w, value, d_mu, d_sigma)
    return value.reshape(mu.shape), d_mu.reshape(mu.shape), d_sigma.reshape(mu.shape)


def _rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    x, log_w = gauss_hermite(int(nodes))
    return np.ascontiguousarray(x), np.ascontiguousarray(log_w)


def numpy_log_marginal(k, n, g: float, mu, sigma, nodes: int = NODES) -> np.ndarray:
    """:func:`bayes_llm.model.eta_integral.log_marginal` on NumPy arrays (broadcast), compiled."""
    return _marginal_value(*kernel_arrays(k, n, mu, sigma), float(g), *_rule(nodes))


def numpy_log_marginal_and_gradient(k, n, g: float, mu, sigma, nodes: int = NODES
                                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the log marginal and its derivatives in ``mu`` and ``sigma`` (centres fixed)."""
    return _marginal_and_gradient(*kernel_arrays(k, n, mu, sigma), float(g), *_rule(nodes))


class IntegratedBinomial(Op):
    """The log marginal as a PyTensor ``Op``: inputs k, n, mu, sigma of one shape.

    Outputs the value and its derivatives in ``mu`` and ``sigma``; the gradient of the
    value is the output gradient times those (the derivative outputs have none: NUTS needs
    first derivatives only).
    """

    __props__ = ("g", "nodes")

    def __init__(self, g: float, nodes: int = NODES):
        self.g = float(g)
        self.nodes = int(nodes)

    def make_node(self, k, n, mu, sigma):
        """Apply the op to k, n, mu and sigma (float64, one shape); three outputs of it."""
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in (k, n, mu, sigma)]
        return Apply(self, inputs, [inputs[2].type() for _ in range(3)])

    def perform(self, node, inputs, output_storage):
        """Compute the value and both derivatives with the compiled loop."""
        x, log_w = _rule(self.nodes)
        outs = _marginal_and_gradient(*(np.array(v, np.float64, order="C") for v in inputs),
                                      self.g, x, log_w)
        for store, value in zip(output_storage, outs, strict=True):
            store[0] = value

    def infer_shape(self, node, input_shapes):
        """Every output has mu's shape."""
        return [input_shapes[2]] * 3

    def connection_pattern(self, node):
        """Connect the value to mu and sigma; the derivative outputs carry no gradient."""
        return [[False, False, False], [False, False, False], [True, False, False],
                [True, False, False]]

    def pullback(self, inputs, outputs, cotangents):
        """d/dmu and d/dsigma times the value's cotangent (k and n are data)."""
        _, d_mu, d_sigma = outputs
        g_value = cotangents[0]
        return [disconnected_type(), disconnected_type(), g_value * d_mu, g_value * d_sigma]


def pytensor_log_marginal(k, n, g: float, mu, sigma, nodes: int = NODES):
    """Return the log marginal of tensors ``mu``, ``sigma`` (k, n, sigma broadcast to mu)."""
    k, n, mu, sigma = pt.broadcast_arrays(*(pt.as_tensor_variable(v) for v in (k, n, mu, sigma)))
    return IntegratedBinomial(g, nodes)(k, n, mu, sigma)[0]


def _register_numba() -> None:
    """Let PyTensor's numba backend (PyMC's and nutpie's log density) call the loop directly."""
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    @register_funcify_default_op_cache_key(IntegratedBinomial)
    def _funcify(op, node=None, **kwargs):
        g = op.g
        x, log_w = _rule(op.nodes)

        @closure_jit
        def integrated(k, n, mu, sigma):
            return _marginal_and_gradient(k, n, mu, sigma, g, x, log_w)

        return integrated


_register_numba()

_JAX_REGISTERED = False


def register_jax() -> None:
    """Let PyTensor's JAX backend (the numpyro sampler) evaluate the op.

    JAX cannot call the numba loop, so the op's JAX form is the written-out formula of
    :func:`bayes_llm.model.eta_integral.log_marginal` in ``jax.numpy`` (centres held by
    ``stop_gradient``), with the derivative outputs from JAX's own reverse pass: the same
    rule, to rounding. Registered on first use rather than at import, since importing JAX
    takes about a second; :func:`bayes_llm.model.sampling.sample_posterior` calls it for
    the numpyro backend.
    """
    global _JAX_REGISTERED
    if _JAX_REGISTERED:
        return
    from types import SimpleNamespace

    import jax
    import jax.numpy as jnp
    from jax.scipy import special as jspecial
    from pytensor.link.jax.dispatch import jax_funcify

    from bayes_llm.model.eta_integral import log_marginal

    ops = SimpleNamespace(
        log=jnp.log, log1p=jnp.log1p, exp=jnp.exp, sqrt=jnp.sqrt, clip=jnp.clip,
        sigmoid=jax.nn.sigmoid, softplus=jax.nn.softplus, logaddexp=jnp.logaddexp,
        gammaln=jspecial.gammaln, logsumexp=lambda x: jspecial.logsumexp(x, axis=-1),
        expand=lambda x: jnp.asarray(x)[..., None], fixed=jax.lax.stop_gradient)

    @jax_funcify.register(IntegratedBinomial)
    def _funcify(op, **kwargs):
        g, nodes = op.g, op.nodes

        def integrated(k, n, mu, sigma):
            value, pullback = jax.vjp(
                lambda m, s: log_marginal(k, n, g, m, s, ops, nodes), mu, sigma)
            d_mu, d_sigma = pullback(jnp.ones_like(value))
            return value, d_mu, d_sigma

        return integrated

    _JAX_REGISTERED = True


__all__ = ["IntegratedBinomial", "numpy_log_marginal", "numpy_log_marginal_and_gradient",
           "pytensor_log_marginal", "register_jax"]
