"""Where to put the quadrature panels of the binomial–Laplace marginal (one half of it).

:mod:`bayes_llm.model.laplace_integral` integrates each half ``e = mu ± t``, ``t ≥ 0``,
of ∫ Binomial(k | n, g + (1 - g) logistic(e)) Laplace(e | mu, b) de on three panels whose
ends depend on the count and on (mu, b): the half's constrained maximum ``t*`` (Newton
steps from the observed score), where its log integrand ``phi`` has dropped ``PEAK``
below ``phi(t*)`` on the far side, and where it has dropped ``TAIL`` on either side (or
the kink, t = 0). The search is a loop of some 40 Newton steps per count; written as a
PyTensor graph it was unrolled into thousands of nodes that numba took over 20 minutes
to compile, so it is one compiled kernel here, a PyTensor ``Op`` with no gradient (the
panels change the quadrature rule, not the integral; the caller holds them fixed).

The kernel is written once in scalar Python and compiled by numba; NumPy callers and the
``Op``'s C-backend ``perform`` call the compiled loop, nutpie's numba backend inlines it.
Its binomial log likelihood, score and information restate ``eta_integral``'s in scalar
form (a numba kernel cannot take that module's ``ops`` namespace); a test keeps the two
equal (``tests/test_laplace_integral.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from bayes_llm.model.strict_jit import closure_jit, kernel_arrays, kernel_jit

#: Newton steps to each half's maximum.
ITERATIONS = 8
#: Newton steps to each end of a window.
EDGE_ITERATIONS = 4
#: Longest Newton step (logit units).
MAX_STEP = 1.0
#: How far below its maximum the integrand is cut off (log scale).
TAIL = 36.0
#: Where the peak's panel ends and the far tail's begins (log drop from the maximum).
PEAK = 12.0
#: Longest half-window (logit units): a bound where the information is ~0.
MAX_WINDOW = 60.0


@kernel_jit
def _clip(x, lo, hi):
    return min(max(x, lo), hi)


@kernel_jit
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@kernel_jit
def _log_binomial(eta, k, n, g):
    """Log Binomial(k | n, g + (1 - g) logistic(eta)) without the binomial coefficient."""
    log_fail = math.log1p(-g) - _softplus(eta)
    if g > 0.0:
        a, c = math.log(g), math.log1p(-g) - _softplus(-eta)
        log_p = max(a, c) + math.log1p(math.exp(-abs(a - c)))
    else:
        log_p = -_softplus(-eta)
    return k * log_p + (n - k) * log_fail


@kernel_jit
def _score_and_information(eta, k, n, g):
    """d/deta of :func:`_log_binomial` and the binomial Fisher information in eta."""
    s = 1.0 / (1.0 + math.exp(-eta))
    p = g + (1.0 - g) * s
    dp = (1.0 - g) * s * (1.0 - s)
    return (k / p - (n - k) / (1.0 - p)) * dp, n * dp * dp / (p * (1.0 - p))


@kernel_jit
def _edge(u, drop, lo, hi, top, k, n, g, mu, b, side):
    """Newton steps to phi(u) = top - drop, kept in [lo, hi]."""
    for _ in range(EDGE_ITERATIONS):
        slope, _info = _score_and_information(mu + side * u, k, n, g)
        d = side * slope - 1.0 / b
        if abs(d) < 1e-12:  # never a zero slope
            d += 1e-12
        phi = _log_binomial(mu + side * u, k, n, g) - u / b
        u = _clip(u - (phi - top + drop) / d, lo, hi)
    return u


@kernel_jit
def _window_one(k, n, g, mu, b, side):
    """Start, maximum, middle and end (in t) of one half's panels for one count."""
    rate = _clip((k / n - g) / (1.0 - g), 0.5 / n, 1.0 - 0.5 / n)
    t = side * (math.log(rate) - math.log1p(-rate) - mu)
    for _ in range(ITERATIONS):
        slope, info = _score_and_information(mu + side * t, k, n, g)
        t = t + _clip((side * slope - 1.0 / b) / (info + 1e-30), -MAX_STEP, MAX_STEP)
    t = _clip(t, 0.0, MAX_WINDOW)
    slope, info = _score_and_information(mu + side * t, k, n, g)
    d_phi = min(side * slope - 1.0 / b, 0.0)  # ~0 at an interior maximum
    # smallest d > 0 with d_phi d - info d^2 / 2 = -TAIL (a stable form of the root): the
    # tangent bound, the Newton steps' start (too short next to the floor, where the
    # likelihood is skewed and flattens into a plateau)
    reach = 2.0 * TAIL / (-d_phi + math.sqrt(d_phi * d_phi + 2.0 * TAIL * info))
    reach = _clip(reach, 1e-6, MAX_WINDOW)
    top = _log_binomial(mu + side * t, k, n, g) - t / b
    low, high = t + 1e-3 * reach, t + MAX_WINDOW
    middle = _edge(t + reach * math.sqrt(PEAK / TAIL), PEAK, low, high, top, k, n, g, mu, b,
                   side)
    end = _edge(t + reach, TAIL, middle, high, top, k, n, g, mu, b, side)
    start = _edge(_clip(t - reach, 0.0, MAX_WINDOW), TAIL, 0.0, t - 1e-3 * reach, top, k, n,
                  g, mu, b, side)
    return _clip(start, 0.0, MAX_WINDOW), t, middle, end


@kernel_jit
def _windows_flat(k, n, mu, b, g, side):
    """:func:`_window_one` over flat arrays of equal length."""
    size = mu.shape[0]
    start, peak = np.empty(size), np.empty(size)
    middle, end = np.empty(size), np.empty(size)
    for i in range(size):
        start[i], peak[i], middle[i], end[i] = _window_one(k[i], n[i], g, mu[i], b[i], side)
    return start, peak, middle, end


@kernel_jit
def _windows(k, n, mu, b, g, side):
    """:func:`_windows_flat` on arrays of one shape (any rank); four arrays of that shape."""
    shape = mu.shape
    out = _windows_flat(np.ascontiguousarray(k).ravel(), np.ascontiguousarray(n).ravel(),
                        np.ascontiguousarray(mu).ravel(), np.ascontiguousarray(b).ravel(),
                        g, side)
    return (out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape),
            out[3].reshape(shape))


def numpy_half_window(k, n, g: float, mu, b, side: float):
    """Start, maximum, middle and end of one half's panels, on NumPy arrays (broadcast)."""
    return _windows(*kernel_arrays(k, n, mu, b), float(g), float(side))


class LaplaceWindow(Op):
    """The panels' ends of one half as a PyTensor ``Op`` (inputs k, n, mu, b of one shape).

    No gradient: the outputs are disconnected from the inputs (the caller holds them
    fixed, as a change of quadrature rule).
    """

    __props__ = ("g", "side")

    def __init__(self, g: float, side: float):
        self.g = float(g)
        self.side = float(side)

    def make_node(self, k, n, mu, b):
        """Apply the op to k, n, mu and b (float64, one shape); four outputs of that shape."""
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in (k, n, mu, b)]
        return Apply(self, inputs, [inputs[2].type() for _ in range(4)])

    def perform(self, node, inputs, output_storage):
        """Compute the four arrays with the compiled kernel."""
        for store, value in zip(output_storage, numpy_half_window(*inputs[:2], self.g,
                                                                  *inputs[2:], self.side),
                                strict=True):
            store[0] = value

    def infer_shape(self, node, input_shapes):
        """Every output has mu's shape."""
        return [input_shapes[2]] * 4

    def connection_pattern(self, node):
        """No output depends differentiably on any input."""
        return [[False] * 4 for _ in node.inputs]

    def grad(self, inputs, output_grads):
        """Disconnected: the panels are a choice of rule, held fixed."""
        return [disconnected_type() for _ in inputs]


def pytensor_half_window(k, n, g: float, mu, b, side: float):
    """:func:`numpy_half_window` on PyTensor tensors (k, n, mu, b broadcast to mu's shape)."""
    k, n, mu, b = pt.broadcast_arrays(*(pt.as_tensor_variable(v) for v in (k, n, mu, b)))
    return LaplaceWindow(g, side)(k, n, mu, b)


def _register_numba() -> None:
    """Let PyTensor's numba backend (nutpie) call the compiled kernel directly."""
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    @register_funcify_default_op_cache_key(LaplaceWindow)
    def _funcify(op, node=None, **kwargs):
        g, side = op.g, op.side

        @closure_jit
        def window(k, n, mu, b):
            return _windows(k, n, mu, b, g, side)

        return window


_register_numba()

__all__ = ["LaplaceWindow", "numpy_half_window", "pytensor_half_window"]
