"""Lineage effects summed out of the likelihood on a fixed grid (``lineage_grid``).

With ``lineage_effect`` a lineage l's models share an effect u_l ~ law(sigma_lineage[,
nu_lineage]) (Normal or Student-t). The sampled model treats u_l as a variable. For a
lineage near the guessing floor its conditional posterior can have two separated peaks,
one where its weak models are regular members of a weak lineage and one where they
collapsed (``models/README.md``, "Are the two modes in the lineage effect's own
dimension?": on the developer folds two peaks 0.6 logits apart with a valley 5.7-9.3 log
units deep at every draw checked), which NUTS chains do not cross. With
``lineage_grid = "near_floor"`` the effect of each such lineage is summed out instead:

    p(k_l | rest) = ∫ law(u) prod_{i in l} L_i(mu_i + u) du
                  ≈ sum_g w_g law(u_g) prod_{i in l} L_i(mu_i + u_g)
                    + law(u < a) prod_i L_i(mu_i + a) + law(u > b) prod_i L_i(mu_i + b),

L_i the model's likelihood with its model effect integrated out (and mixed with the
collapsed component under ``floor_mixture``), u_g the ``NODE_COUNT`` nodes of the grid
over [a, b] = [``GRID_LOW``, ``GRID_HIGH``] (``SEGMENTS``: step 0.1 over [-6, 2], where
every peak is, and 0.25 over [-9, -6] and [2, 5]) and w_g the trapezoid rule's weights on
each segment with Gregory's end corrections. Both peaks are on the grid wherever they are, so no
sampler has to cross the valley; this is the same model, and each u_l is drawn from its
conditional posterior after sampling (:func:`draw_lineage_effects`).

Why a uniform step and the trapezoid rule: it needs no knowledge of where the peaks are,
and for an integrand that is smooth on the scale of the step h its error falls like
exp(-2 pi^2 s^2 / h^2) for a peak of SD s (Trefethen & Weideman 2014, "The exponentially
convergent trapezoidal rule", SIAM Review 56:385-458): 3e-6 relative at the narrowest peak
measured on the fold-1 fit (s ~ 0.08) with h = 0.1.

The tails: a lineage whose models are all at the floor has a likelihood that is flat in
its effect far from its peaks (high up every model's regular part is negligible beside
its collapsed part; far down the regular part is at its plateau), so there its
conditional is the lineage law itself, and a Student-t law puts ~1% of its mass beyond 4
scales (P(t_3 > 4) = 0.014). Beyond the grid's ends the integral is the law's exact tail
mass (its CDF) times the likelihood at the end, held constant: exact where the likelihood
is flat there. Beyond the fine segment the regular part of such a lineage can still
change over a logit or more (a wide model-effect component of SD ~1 keeps a model's
regular part alive far from its peak), hence the coarse segments before the tails begin.
With mass at a segment's ends the trapezoid rule is only second order, hence Gregory's
third-order end weights (Numerical Recipes, 2007, eq. 4.1.14), which leave the interior
nodes' weights, and so the exponential accuracy on peaks inside the grid, unchanged.

Narrow peaks: a lineage with regular models (above the floor line) has a conditional
peak of SD ~sigma_core / sqrt(n_regular) wherever a group of its regular models agree, and
with a two-scale model effect (core SD ~0.07) that is ~0.02 for 14 models, a fifth of the
step, where the rule's error is of order one (fold 1 of the developer split:
``fp:1.24B/9000BT`` off by up to 0.17 log units, with two such peaks 0.6 logits apart;
``models/README.md``). Such a lineage's integral is split by a smooth window phi (a box
over its regular models' peaks, the hull of logit((k/n - g)/(1 - g)) - mu_i, widened by
``WINDOW_MARGIN`` and convolved with Normal(0, ``WINDOW_EDGE``)):

    ∫ f = ∫ f (1 - phi)  [the grid's rule]  +  ∫ f phi  [trapezoid rule on WINDOW_NODES
                                                          nodes spread over the window]

The first integrand is zero where the narrow peaks are and smooth on the grid's scale
elsewhere; the second vanishes smoothly at its ends, so the trapezoid rule converges
exponentially on it. Any window gives the same integral (a partition of unity), so the
window, placed from the draw's mu, changes the rule and not the model; the gradient holds
it fixed (as :mod:`bayes_llm.model.eta_integral` holds its centres). Measured on the
fold-1 fit's 400 draws against a step-0.01 rule: 0.17 -> 1.6e-9 log units on
``fp:1.24B/9000BT``, every lineage within 1.6e-5
(``verification/exploratory/lineage_grid_ranges.py --grid-check``).

What the rule may get wrong is measured on every fit rather than assumed away
(:func:`quadrature_check`): the rule on every other node of each segment against the full
rule (peaks too narrow for the step), the same for each window's rule, and the tails'
share of each conditional times the change of the likelihood over the last logit before
each end (a likelihood that is not flat where the tails begin).

Which lineages (:func:`near_floor_lineages`, a rule on the data, fixed before sampling): a
lineage with several models, at least one of them below ``FLOOR_ACCURACY`` and a median
accuracy below ``NEAR_FLOOR_MEDIAN``, i.e. whose regular level is near the collapsed
component's band, so that "weak" and "collapsed" both explain its weakest models. On the
809 models: 22 lineages holding 117 models
(``verification/exploratory/lineage_straddle.py``). Which lineages are summed out is a
computational choice: any set gives the same posterior.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy import special

#: The grid (logits): segments (low, high, step), each integrated by the trapezoid rule with
#: Gregory's end corrections. The lineage law's scale is ~0.5 on these data and the
#: near-floor lineages' effects lie in [-4.1, 0] on every fit inspected: the fine segment
#: holds every peak; the coarse ones carry the likelihood to where it is flat (beyond the
#: fine segment a near-floor lineage's regular part still changes over a logit or more
#: with a wide model-effect component; peaks there would be caught by the half-step check).
SEGMENTS = ((-9.0, -6.0, 0.25), (-6.0, 2.0, 0.1), (2.0, 5.0, 0.25))
GRID_LOW = SEGMENTS[0][0]
GRID_HIGH = SEGMENTS[-1][1]
#: The fine segment's step.
GRID_STEP = SEGMENTS[1][2]
NODE_COUNT = 1 + sum(int(round((high - low) / step)) for low, high, step in SEGMENTS)
#: Accuracy below which a model is at the floor (MMLU-Pro: chance 0.10).
FLOOR_ACCURACY = 0.13
#: A near-floor lineage's median accuracy is below this.
NEAR_FLOOR_MEDIAN = 0.2
#: Largest acceptable difference (log units, any lineage and draw) between the full rule
#: and the rule on every other node (step 2h) (:func:`quadrature_check`). The trapezoid
#: rule's error on a peak of SD s is ~exp(-2 pi^2 s^2 / h^2), so the full rule's is about
#: the fourth power of the coarse rule's: a difference of 0.1 means an error of ~1e-4 in
#: the full rule.
MAX_HALF_STEP_DIFFERENCE = 0.1
#: Largest acceptable estimate of the tails' relative error (:func:`quadrature_check`).
MAX_TAIL_ERROR = 1e-4
#: How far inside the grid the likelihood's change towards each end is measured (logits).
TAIL_LOOKBACK = 1.0
#: Gregory's third-order end weights of the trapezoid rule, in units of the step.
_END_WEIGHTS = (3.0 / 8.0, 7.0 / 6.0, 23.0 / 24.0)
#: A window's plateau reaches this far (logits) beyond the hull of its regular models'
#: peaks (:func:`window_bounds`). A narrow peak lies inside the hull; 0.5 = 5 edge SDs, so
#: the coarse rule sees at most ~3e-7 of a peak at the hull's edge.
WINDOW_MARGIN = 0.5
#: SD (logits) of the window's smoothed edges: the window is a box over the plateau
#: convolved with Normal(0, WINDOW_EDGE), which the fine segment's step h = 0.1 resolves
#: (the trapezoid rule's error on such an edge is ~exp(-2 pi^2 s^2 / h^2) = 3e-9 at s = h).
#: The plateau is kept inside the fine segment (:func:`window_bounds`).
WINDOW_EDGE = 0.1
#: The window's nodes reach this many edge SDs beyond its plateau (the window is ~1e-9 there).
WINDOW_REACH = 6.0
#: Nodes of each window's trapezoid rule, spread evenly over it (odd: the self-check's
#: half rule takes every other node). A hull of 1 logit: step 0.025, which integrates a
#: peak of SD 0.02 to ~3e-6 and one of SD 0.03 to ~1e-12 (exp(-2 pi^2 s^2 / h^2)).
WINDOW_NODES = 129


def _rule_weights(count: int, step: float) -> np.ndarray:
    """Return the trapezoid rule's weights with Gregory's end corrections (summing to the range)."""
    weights = np.full(count, step)
    ends = step * np.asarray(_END_WEIGHTS)
    weights[:3] = ends
    weights[-3:] = ends[::-1]
    return weights


def _composite_rule(every: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the rule on every ``every``-th node of each segment."""
    nodes, weights = [np.zeros(0)], [np.zeros(0)]
    for low, high, step in SEGMENTS:
        count = int(round((high - low) / (every * step))) + 1
        x, w = low + every * step * np.arange(count), _rule_weights(count, every * step)
        if weights[-1].size:  # the node shared with the previous segment
            weights[-1][-1] += w[0]
            x, w = x[1:], w[1:]
        nodes.append(x)
        weights.append(w)
    return np.concatenate(nodes), np.concatenate(weights)


def _read_only(array: np.ndarray) -> np.ndarray:
    """Return ``array`` made read-only (a constant of the grid, shared by every caller)."""
    array.setflags(write=False)
    return array


_NODES, _WEIGHTS = _composite_rule()
_read_only(_NODES)
_LOG_WEIGHTS = _read_only(np.log(_WEIGHTS))


def grid_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Return the grid's nodes and the rule's log weights (trapezoid, Gregory's ends).

    Both are computed once and read-only.
    """
    return _NODES, _LOG_WEIGHTS


def _node_index(u: float) -> int:
    """Index of the grid's node nearest ``u``."""
    return int(np.argmin(np.abs(_NODES - u)))


def _rule_node_index(every: int) -> np.ndarray:
    """Return the grid indices of the nodes of the rule on every ``every``-th node of each segment.

    Raises ``ValueError`` where the segments' steps do not divide into that spacing.
    """
    sub, _ = _composite_rule(every)
    index = np.array([_node_index(u) for u in sub])
    if not np.allclose(_NODES[index], sub):
        raise ValueError(f"the grid has no rule on every {every} nodes")
    return index


#: The rule on every other node of each segment (:func:`quadrature_check`): indices of its
#: nodes on the grid and its log weights.
_, _HALF_WEIGHTS = _composite_rule(every=2)
_HALF_INDEX = _read_only(_rule_node_index(2))
_HALF_LOG_WEIGHTS = _read_only(np.log(_HALF_WEIGHTS))
#: The nodes :data:`TAIL_LOOKBACK` logits inside each end (:func:`quadrature_check`).
_LOOKBACK_INDEX = (_node_index(GRID_LOW + TAIL_LOOKBACK), _node_index(GRID_HIGH - TAIL_LOOKBACK))


def near_floor_lineages(lineage_idx: np.ndarray, accuracy: np.ndarray,
                        candidates: np.ndarray) -> np.ndarray:
    """Lineages among ``candidates`` with a model below the floor line and a low median.

    Parameters
    ----------
    lineage_idx : array of int
        Each model's lineage.
    accuracy : array of float
        Each model's observed accuracy.
    candidates : array of int
        The lineages that may be summed out (those with several models).

    Returns
    -------
    numpy.ndarray
        Sorted lineage indices: at least one model below :data:`FLOOR_ACCURACY` and a
        median accuracy below :data:`NEAR_FLOOR_MEDIAN`.
    """
    lineage_idx = np.asarray(lineage_idx)
    accuracy = np.asarray(accuracy, float)
    chosen = [int(lin) for lin in np.sort(np.asarray(candidates, int))
              if (accuracy[lineage_idx == lin].min() < FLOOR_ACCURACY
                  and np.median(accuracy[lineage_idx == lin]) < NEAR_FLOOR_MEDIAN)]
    return np.asarray(chosen, dtype=np.int64)


class GridWindows(NamedTuple):
    """The windows over the narrow peaks of the summed-out lineages with regular models.

    ``lineages``: positions (in the layout's ``lineages``) of the lineages with a model at
    or above :data:`FLOOR_ACCURACY`; ``regular``: (windows, layout's models) bool, each
    window's regular models; ``observed_logit``: each of the layout's models' logit((k/n -
    g)/(1 - g)) (its peak is there minus mu); ``models``: positions (in the layout's
    ``models``) of the windowed lineages' models; ``position``: each of those models' window;
    ``membership``: (windows, ``models``) 0/1.
    """

    lineages: np.ndarray
    regular: np.ndarray
    observed_logit: np.ndarray
    models: np.ndarray
    position: np.ndarray
    membership: np.ndarray

    @classmethod
    def build(cls, position: np.ndarray, count: int, accuracy: np.ndarray,
              guess: float) -> GridWindows:
        """From the layout's models' lineage positions, the lineage count and accuracies."""
        position = np.asarray(position, dtype=np.int64)
        accuracy = np.asarray(accuracy, float)
        regular_model = accuracy >= FLOOR_ACCURACY
        lineages = np.array([p for p in range(count) if regular_model[position == p].any()],
                            dtype=np.int64)
        regular = (position[None, :] == lineages[:, None]) & regular_model[None, :]
        share = np.clip((accuracy - guess) / (1.0 - guess), 1e-3, 1.0 - 1e-3)
        models = np.flatnonzero(np.isin(position, lineages))
        window = np.searchsorted(lineages, position[models])
        membership = (window[None, :] == np.arange(len(lineages))[:, None]).astype(float)
        return cls(lineages, regular, special.logit(share), models, window, membership)


class GridLayout(NamedTuple):
    """The models of the summed-out lineages and how they map to those lineages.

    ``models``: indices of the models in a summed-out lineage; ``others``: every other
    model; ``position``: each of ``models``' lineage as a position in ``lineages``;
    ``membership``: (lineages, models) 0/1 matrix; ``first``: each lineage's first model
    (an index into all models), where the model's log density records the lineage's
    marginal; ``windows``: the windows over the narrow peaks (:class:`GridWindows`).
    """

    lineages: np.ndarray
    models: np.ndarray
    others: np.ndarray
    position: np.ndarray
    membership: np.ndarray
    first: np.ndarray
    windows: GridWindows

    @classmethod
    def build(cls, lineage_idx: np.ndarray, lineages: np.ndarray, accuracy: np.ndarray,
              guess: float) -> GridLayout:
        """Lay out the models of ``lineages`` (indices into the lineage coordinate).

        ``accuracy`` (every model's k/n) and ``guess`` (the floor) place the windows.
        """
        lineage_idx = np.asarray(lineage_idx)
        lineages = np.asarray(lineages, dtype=np.int64)
        inside = np.isin(lineage_idx, lineages)
        models = np.flatnonzero(inside)
        position = np.searchsorted(lineages, lineage_idx[models])
        membership = (position[None, :] == np.arange(len(lineages))[:, None]).astype(float)
        first = np.array([models[position == p][0] for p in range(len(lineages))],
                         dtype=np.int64)
        windows = GridWindows.build(position, len(lineages),
                                    np.asarray(accuracy, float)[models], guess)
        return cls(lineages, models, np.flatnonzero(~inside), position, membership, first,
                   windows)


def _numpy_ops():
    """Return the array operations of the windows' formulas (NumPy)."""
    from types import SimpleNamespace

    return SimpleNamespace(where=np.where, max=np.max, min=np.min, clip=np.clip,
                           erfc=special.erfc, log=np.log, maximum=np.maximum,
                           fixed=lambda x: x)


def pytensor_window_ops():
    """Return the windows' operations on PyTensor tensors.

    The windows' placement is held fixed in the gradient (it changes the rule, not the
    integral).
    """
    from types import SimpleNamespace

    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_grad

    return SimpleNamespace(where=pt.where, max=pt.max, min=pt.min, clip=pt.clip,
                           erfc=pt.erfc, log=pt.log, maximum=pt.maximum,
                           fixed=disconnected_grad)


#: Beyond any plausible peak: a stand-in for the excluded models in the windows' min and max.
_FAR = 1e6


def window_bounds(mu, windows: GridWindows, ops=None):
    """Each window's plateau (lo, hi), each (..., windows), from the layout's models' ``mu``.

    The hull of the regular models' peaks (``observed_logit - mu``) widened by
    :data:`WINDOW_MARGIN`, kept :data:`WINDOW_REACH` edge SDs inside the grid's fine
    segment (whose step resolves the edges; a narrow peak beyond it would be left to the
    grid's rule, and its half-step check).
    """
    ops = ops or _numpy_ops()
    peaks = windows.observed_logit - mu  # (..., models)
    regular = windows.regular
    lo = ops.min(ops.where(regular, peaks[..., None, :], _FAR), axis=-1) - WINDOW_MARGIN
    hi = ops.max(ops.where(regular, peaks[..., None, :], -_FAR), axis=-1) + WINDOW_MARGIN
    inner = WINDOW_REACH * WINDOW_EDGE
    low, high = SEGMENTS[1][0] + inner, SEGMENTS[1][1] - inner
    return (ops.fixed(ops.clip(lo, low, high)), ops.fixed(ops.clip(hi, low, high)))


#: Position of each window node in [0, 1] and the trapezoid rule's log weights in steps.
_WINDOW_SPREAD = _read_only(np.linspace(0.0, 1.0, WINDOW_NODES))
_WINDOW_LOG_WEIGHTS = np.zeros(WINDOW_NODES)
_WINDOW_LOG_WEIGHTS[[0, -1]] = math.log(0.5)
_read_only(_WINDOW_LOG_WEIGHTS)


def window_nodes(lo, hi, ops=None):
    """Each window's nodes (..., windows, WINDOW_NODES) and its rule's log weights.

    The nodes run from :data:`WINDOW_REACH` edge SDs below the plateau to as far above it.
    """
    ops = ops or _numpy_ops()
    start = lo - WINDOW_REACH * WINDOW_EDGE
    width = hi - lo + 2.0 * WINDOW_REACH * WINDOW_EDGE
    nodes = start[..., None] + width[..., None] * _WINDOW_SPREAD
    log_step = ops.log(width / (WINDOW_NODES - 1))
    return nodes, log_step[..., None] + _WINDOW_LOG_WEIGHTS


def _edge_arguments(u, lo, hi):
    """(u - lo) / r and (hi - u) / r, r = sqrt 2 WINDOW_EDGE: the edges' erfc arguments."""
    r = math.sqrt(2.0) * WINDOW_EDGE
    return (u - lo) / r, (hi - u) / r


def log_window(u, lo, hi, ops=None):
    """Log of the window phi at ``u`` (lo, hi broadcast against it).

    phi = (erf((u - lo) / r) - erf((u - hi) / r)) / 2, r = sqrt 2 WINDOW_EDGE, written as a
    difference of two small erfc values on each side (no cancellation where phi is small).
    """
    ops = ops or _numpy_ops()
    a, b = _edge_arguments(u, lo, hi)  # a = (u - lo) / r, b = (hi - u) / r
    below = ops.erfc(-a) - ops.erfc(b)  # u below the plateau: both arguments small
    above = ops.erfc(-b) - ops.erfc(a)  # u above it
    phi = 0.5 * ops.where(a < b, below, above)
    return ops.log(ops.maximum(phi, 1e-300))


def log_window_complement(u, lo, hi, ops=None):
    """Log of 1 - phi at ``u``: (erfc((u - lo) / r) + erfc((hi - u) / r)) / 2."""
    ops = ops or _numpy_ops()
    a, b = _edge_arguments(u, lo, hi)
    return ops.log(ops.maximum(0.5 * (ops.erfc(a) + ops.erfc(b)), 1e-300))


def log_law(u, sigma, nu=None, ops=np):
    """Log density of the lineage law at ``u``: Normal(0, sigma) or StudentT(nu, 0, sigma).

    ``ops`` is NumPy or a namespace with ``log``, ``log1p`` and ``gammaln`` (PyTensor's,
    :func:`bayes_llm.model.eta_integral.pytensor_ops`).
    """
    z = u / sigma
    if nu is None:
        return -0.5 * z * z - ops.log(sigma) - 0.5 * math.log(2.0 * math.pi)
    gammaln = ops.gammaln if ops is not np else special.gammaln
    return (gammaln(0.5 * (nu + 1.0)) - gammaln(0.5 * nu) - 0.5 * ops.log(nu * math.pi)
            - ops.log(sigma) - 0.5 * (nu + 1.0) * ops.log1p(z * z / nu))


def law_log_tails(sigma, nu=None) -> tuple[np.ndarray, np.ndarray]:
    """Log of the lineage law's mass below ``GRID_LOW`` and above ``GRID_HIGH`` (NumPy).

    ``sigma`` and ``nu`` (None: Normal) broadcast; each result has their shape.
    """
    from scipy import stats

    sigma = np.asarray(sigma, float)
    below, above = -GRID_LOW / sigma, GRID_HIGH / sigma
    if nu is None:
        return stats.norm.logsf(below), stats.norm.logsf(above)
    nu = np.asarray(nu, float)
    return stats.t.logsf(below, nu), stats.t.logsf(above, nu)


#: Terms of the series for a Student-t tail (:func:`pytensor_law_log_tails`): the series
#: in x = nu / (nu + z^2) falls like x^n / sqrt(n); x < 0.1 at the fits' scales (z >= 10),
#: and 200 terms are exact to ~1e-9 up to x = 0.9 (z = 0.33 sqrt(nu), a lineage law wider
#: than the grid).
SERIES_TERMS = 200


def pytensor_law_log_tails(sigma, nu=None):
    """:func:`law_log_tails` on PyTensor tensors (the model's log density).

    Normal: log(erfc(z / sqrt 2) / 2) written as log(erfcx(z / sqrt 2) / 2) - z^2 / 2, stable
    far into the tail. Student-t: P(T > z) = I_x(a, 1/2) / 2 with a = nu / 2 and x = nu / (nu
    + z^2) for z > 0, the regularised incomplete beta function, as its hypergeometric series
    B(x; a, 1/2) = (x^a / a) sum_n a / (a + n) (1/2)_n / n! x^n (Abramowitz & Stegun 26.5.4,
    15.1.1; :data:`SERIES_TERMS` terms): elementary operations only, so the gradient in nu
    is the series' own on every backend (PyTensor's incomplete beta function has no gradient
    in its shape parameters under the JAX backend).
    """
    import pytensor.tensor as pt

    out = []
    for bound in (-GRID_LOW, GRID_HIGH):
        z = bound / sigma
        if nu is None:
            out.append(pt.log(0.5 * pt.erfcx(z / math.sqrt(2.0))) - 0.5 * z * z)
            continue
        n = np.arange(SERIES_TERMS, dtype=float)
        log_coefficients = special.gammaln(n + 0.5) - special.gammaln(0.5) - special.gammaln(n + 1)
        a = 0.5 * nu
        log_x = pt.log(nu) - pt.log(nu + z * z)
        series = pt.logsumexp(log_coefficients + n * pt.shape_padright(log_x)
                              + pt.shape_padright(pt.log(a)) - pt.log(pt.shape_padright(a) + n),
                              axis=-1)
        log_beta = pt.gammaln(a) + pt.gammaln(0.5) - pt.gammaln(a + 0.5)
        out.append(math.log(0.5) + a * log_x - pt.log(a) - log_beta + series)
    return out


class WindowIntegrand(NamedTuple):
    """The windowed lineages' integrands on their windows (NumPy; :class:`GridWindows`).

    ``lineages``: their positions among the summed-out lineages; ``nodes`` (..., windows,
    WINDOW_NODES); ``values``: log(law(u_j) prod_i L_i(mu_i + u_j)) there; ``log_weights``:
    log(w_j phi(u_j)), the rule's weights times the window; ``complement`` (..., windows,
    NODE_COUNT): log(1 - phi) at the grid's nodes.
    """

    lineages: np.ndarray
    nodes: np.ndarray
    values: np.ndarray
    log_weights: np.ndarray
    complement: np.ndarray

    @property
    def density(self) -> np.ndarray:
        """log(w_j phi(u_j) law(u_j) prod_i L_i(mu_i + u_j)), (..., windows, WINDOW_NODES)."""
        return self.values + self.log_weights


class LineageIntegrand(NamedTuple):
    """Each summed-out lineage's integrand on the grid and its tails beyond it (NumPy).

    ``loglik`` (..., lineages, nodes): the sum of the lineage's models' log likelihoods with
    its effect at each node; ``law`` (..., nodes): the law's log density at the nodes;
    ``law_tails`` (..., 2): the law's log mass below and above the grid
    (:func:`law_log_tails`); ``scale`` and ``nu`` (...,): the law (for draws in the tails;
    ``nu`` None: Normal); ``window``: the windowed lineages' part (None: no windows).
    Leading shapes broadcast (``law`` and the rest lack the lineage axis).
    """

    loglik: np.ndarray
    law: np.ndarray
    law_tails: np.ndarray
    scale: np.ndarray
    nu: np.ndarray | None
    window: WindowIntegrand | None = None

    @classmethod
    def build(cls, node_loglik, membership: np.ndarray, scale, nu=None,
              window: WindowIntegrand | None = None) -> LineageIntegrand:
        """From each summed-out model's log likelihoods at the nodes (..., models, nodes).

        ``membership`` (lineages, models); ``scale`` and ``nu`` of shape (...,) or scalars;
        ``window`` from :func:`window_integrand`.
        """
        nodes, _ = grid_nodes()
        scale = np.asarray(scale, float)
        nu = None if nu is None else np.asarray(nu, float)
        loglik = np.matmul(membership, node_loglik)
        law = log_law(nodes, scale[..., None], None if nu is None else nu[..., None])
        return cls(loglik, law, np.stack(law_log_tails(scale, nu), axis=-1), scale, nu, window)

    @property
    def density(self) -> np.ndarray:
        """log(w_g law(u_g) prod_i L_i(mu_i + u_g)) (times 1 - phi in a window's lineage).

        Shape (..., lineages, nodes).
        """
        _, log_w = grid_nodes()
        out = self.loglik + (self.law + log_w)[..., None, :]
        if self.window is not None and self.window.lineages.size:
            out = out.copy()
            out[..., self.window.lineages, :] += self.window.complement
        return out

    @property
    def tails(self) -> np.ndarray:
        """Log mass beyond the grid's ends, likelihood held at its end value, (..., lineages, 2)."""
        return self.loglik[..., [0, -1]] + self.law_tails[..., None, :]

    def log_marginal(self) -> np.ndarray:
        """Each lineage's log marginal likelihood, (..., lineages)."""
        out = special.logsumexp(np.concatenate([self.density, self.tails], axis=-1), axis=-1)
        return _add_windows(out, self.window)


def _add_windows(coarse: np.ndarray, window: WindowIntegrand | None,
                 every: int = 1) -> np.ndarray:
    """Add each window's integral (its rule on every ``every``-th node) to ``coarse``."""
    if window is None or not window.lineages.size:
        return coarse
    density = window.density
    if every > 1:  # the same rule at ``every`` times the step (WINDOW_NODES - 1 is even)
        density = density[..., ::every] + math.log(every)
    out = coarse.copy()
    out[..., window.lineages] = np.logaddexp(out[..., window.lineages],
                                             special.logsumexp(density, axis=-1))
    return out


def window_integrand(windows: GridWindows, mu: np.ndarray, scale, nu, node_loglik
                     ) -> WindowIntegrand:
    """Return the windowed lineages' part of a :class:`LineageIntegrand` (NumPy).

    ``mu`` (..., layout's models) without the lineage effects; ``node_loglik(offsets)``
    returns the layout's windowed models' log likelihoods at ``offsets`` (..., windowed
    models, points).
    """
    nodes, _ = grid_nodes()
    lo, hi = window_bounds(mu, windows)
    points, log_w = window_nodes(lo, hi)
    loglik = np.matmul(windows.membership, node_loglik(points[..., windows.position, :]))
    scale = np.asarray(scale, float)[..., None, None]
    nu = None if nu is None else np.asarray(nu, float)[..., None, None]
    lo, hi = lo[..., None], hi[..., None]
    return WindowIntegrand(windows.lineages, points, loglik + log_law(points, scale, nu),
                           log_w + log_window(points, lo, hi),
                           log_window_complement(nodes, lo, hi))


def quadrature_check(integrand: LineageIntegrand) -> dict[str, float]:
    """How well the rule integrates the lineages' conditionals (one value over all of them).

    Returns
    -------
    dict
        ``half_step_difference``: the largest |log of the full rule - log of the rule on
        every other node of each segment (Gregory's ends), tails and windows included in
        both|, about the coarse rule's error (the full rule's is about its fourth power, see
        :data:`MAX_HALF_STEP_DIFFERENCE`); ``window_half_step_difference``: the same for
        the windows' rules on every other node; ``tail_mass``: the largest share of a
        conditional beyond the grid (integrated exactly where the likelihood is flat
        there); ``tail_error``: the largest estimate of the tails' error relative to the
        marginal, each tail's share times |exp(d) - 1| with d the likelihood's change
        (log units) over the last :data:`TAIL_LOOKBACK` logits before its end, i.e. the
        error if the likelihood went on changing beyond the end as it did before it (an
        estimate, not a bound; see :data:`MAX_TAIL_ERROR`); ``tail_error_low`` and
        ``tail_error_high``: the same for the tail below and above the grid alone.
    """
    density, tails = integrand.density, integrand.tails
    coarse = special.logsumexp(np.concatenate([density, tails], axis=-1), axis=-1)
    full = _add_windows(coarse, integrand.window)
    base = density - _LOG_WEIGHTS
    half = _add_windows(special.logsumexp(
        np.concatenate([base[..., _HALF_INDEX] + _HALF_LOG_WEIGHTS, tails], axis=-1), axis=-1),
        integrand.window)
    window_half = _add_windows(coarse, integrand.window, every=2)
    shares = np.exp(tails - full[..., None])
    loglik = integrand.loglik
    change = np.stack([loglik[..., 0] - loglik[..., _LOOKBACK_INDEX[0]],
                       loglik[..., -1] - loglik[..., _LOOKBACK_INDEX[1]]], axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.where(shares > 0, shares * np.abs(np.expm1(change)), 0.0)
    per_end = {f"tail_error_{end}": float(np.max(np.nan_to_num(error[..., i], nan=np.inf),
                                                 initial=0.0))
               for i, end in enumerate(("low", "high"))}
    return {"half_step_difference": float(np.max(np.abs(full - half), initial=0.0)),
            "window_half_step_difference": float(np.max(np.abs(full - window_half),
                                                        initial=0.0)),
            "tail_mass": float(np.max(shares.sum(axis=-1), initial=0.0)),
            "tail_error": max(per_end.values()), **per_end}


def check_failures(check: dict[str, float]) -> list[str]:
    """List the parts of a :func:`quadrature_check` over their limits (empty: it passes)."""
    out = []
    if check["half_step_difference"] > MAX_HALF_STEP_DIFFERENCE:
        out.append(f"the rule with every other node differs by up to "
                   f"{check['half_step_difference']:.2g} log units (limit "
                   f"{MAX_HALF_STEP_DIFFERENCE:g})")
    if check.get("window_half_step_difference", 0.0) > MAX_HALF_STEP_DIFFERENCE:
        out.append(f"the windows' rule with every other node differs by up to "
                   f"{check['window_half_step_difference']:.2g} log units (limit "
                   f"{MAX_HALF_STEP_DIFFERENCE:g})")
    if check["tail_error"] > MAX_TAIL_ERROR:
        out.append(f"the tails beyond the grid may be off by up to {check['tail_error']:.2g} "
                   f"of a marginal (limit {MAX_TAIL_ERROR:g}; their mass up to "
                   f"{check['tail_mass']:.2g})")
    return out


#: Independence Metropolis–Hastings steps that correct a draw from the grid's interpolant
#: to the exact conditional (:func:`draw_lineage_effects`).
CORRECTION_STEPS = 5


class _Proposal(NamedTuple):
    """The proposal of :func:`draw_lineage_effects`.

    Each lineage's nodes (the grid's, and its window's if it has one) and the cells'
    widths, the node values left and right of each cell (scaled so that the largest node is
    1), cumulative areas of [lower tail, cells..., upper tail], the log scale, the log
    likelihood at the two ends and the law (broadcast to the lineages).
    """

    nodes: np.ndarray
    widths: np.ndarray
    left: np.ndarray
    right: np.ndarray
    cdf: np.ndarray
    top: np.ndarray
    end_loglik: np.ndarray
    scale: np.ndarray
    nu: np.ndarray | None


def _proposal_nodes(integrand: LineageIntegrand) -> tuple[np.ndarray, np.ndarray]:
    """Each lineage's nodes in order and the conditional's log density there (unnormalised).

    A windowed lineage has the grid's nodes and its window's; every other lineage the grid's
    and as many copies of the grid's last node (cells of zero width, never drawn).
    """
    base = integrand.loglik + integrand.law[..., None, :]
    nodes = np.broadcast_to(_NODES, base.shape)
    window = integrand.window
    if window is None or not window.lineages.size:
        return nodes, base
    shape = (*base.shape[:-1], window.nodes.shape[-1])
    extra_nodes = np.full(shape, GRID_HIGH)
    extra_values = np.broadcast_to(base[..., -1:], shape).copy()
    extra_nodes[..., window.lineages, :] = window.nodes  # inside the grid (window_bounds)
    extra_values[..., window.lineages, :] = window.values
    nodes = np.concatenate([nodes, extra_nodes], axis=-1)
    order = np.argsort(nodes, axis=-1, kind="stable")
    return (np.take_along_axis(nodes, order, -1),
            np.take_along_axis(np.concatenate([base, extra_values], axis=-1), order, -1))


def _proposal(integrand: LineageIntegrand) -> _Proposal:
    """Build the rule's piecewise-linear interpolant of the conditional, with its tails."""
    nodes, base = _proposal_nodes(integrand)
    widths = np.diff(nodes, axis=-1)
    top = base.max(axis=-1, keepdims=True)
    dens = np.exp(base - top)
    left, right = dens[..., :-1], dens[..., 1:]
    tails = np.exp(integrand.tails - top)
    areas = np.concatenate([tails[..., :1], 0.5 * widths * (left + right), tails[..., 1:]],
                           axis=-1)
    shape = base.shape[:-1]
    scale = np.broadcast_to(np.asarray(integrand.scale, float)[..., None], shape)
    nu = (None if integrand.nu is None
          else np.broadcast_to(np.asarray(integrand.nu, float)[..., None], shape))
    return _Proposal(nodes, widths, left, right, np.cumsum(areas, axis=-1), top[..., 0],
                     integrand.loglik[..., [0, -1]], scale, nu)


def _law_tail_draw(q: np.ndarray, scale: np.ndarray, nu, bound: float) -> np.ndarray:
    """Return the law's quantile of upper-tail probability q P(u > bound) (bound > 0).

    For q uniform, a draw from the law beyond ``bound`` (by the inverse survival function,
    exact for small tail masses).
    """
    from scipy import stats

    z = bound / scale
    if nu is None:
        return scale * stats.norm.isf(q * stats.norm.sf(z))
    return scale * stats.t.isf(q * stats.t.sf(z, nu), nu)


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[..., index]`` with one index per leading position."""
    return np.take_along_axis(values, index[..., None], -1)[..., 0]


def _proposal_draw(prop: _Proposal, rng: np.random.Generator) -> np.ndarray:
    """Draw a piece by its area, then a point in it (linear density in a cell, law in a tail)."""
    count = prop.nodes.shape[-1]
    pick = rng.uniform(size=prop.cdf.shape[:-1]) * prop.cdf[..., -1]
    piece = np.minimum((prop.cdf < pick[..., None]).sum(axis=-1), count)
    cell = np.clip(piece - 1, 0, count - 2)
    a, b = _take(prop.left, cell), _take(prop.right, cell)
    # inverse CDF of the density a + (b - a) t on t in [0, 1] (normalised by (a + b) / 2)
    q = rng.uniform(size=a.shape)
    slope = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(np.abs(slope) > 1e-12 * np.maximum(a, b),
                     (np.sqrt(a * a + slope * q * (a + b)) - a) / slope, q)
    out = _take(prop.nodes, cell) + _take(prop.widths, cell) * np.clip(t, 0.0, 1.0)
    # the draws in a tail overwrite theirs in place (``out`` is a new array)
    for end, bound, sign in ((0, -GRID_LOW, -1.0), (count, GRID_HIGH, 1.0)):
        chosen = piece == end
        if chosen.any():
            nu = None if prop.nu is None else prop.nu[chosen]
            out[chosen] = sign * _law_tail_draw(q[chosen], prop.scale[chosen], nu, bound)
    return out


def _proposal_log_density(prop: _Proposal, u: np.ndarray) -> np.ndarray:
    """Log of the proposal's density at ``u`` (on the integrand's scale, unnormalised)."""
    count = prop.nodes.shape[-1]
    cell = np.clip((prop.nodes <= u[..., None]).sum(axis=-1) - 1, 0, count - 2)
    width = _take(prop.widths, cell)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(width > 0, np.clip((u - _take(prop.nodes, cell)) / width, 0.0, 1.0), 0.0)
    a, b = _take(prop.left, cell), _take(prop.right, cell)
    with np.errstate(divide="ignore"):
        inside = np.log(a + (b - a) * t) + prop.top
    beyond = log_law(u, prop.scale, prop.nu) + np.where(u < GRID_LOW, prop.end_loglik[..., 0],
                                                         prop.end_loglik[..., 1])
    return np.where((u < GRID_LOW) | (u > GRID_HIGH), beyond, inside)


def draw_lineage_effects(integrand: LineageIntegrand, rng: np.random.Generator,
                         exact=None, steps: int = CORRECTION_STEPS,
                         start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Draw each lineage's effect from its conditional, given each draw's other variables.

    A draw from the trapezoid rule's own interpolant (a piece with probability proportional
    to its area: a cell, where the density is linear between its nodes, or a tail beyond
    the grid, where it is the law times the likelihood at the grid's end) is close to the
    conditional but not exact: at a peak of SD ~h the interpolant is off by up to ~15%.
    With ``exact`` it is corrected by ``steps`` independence Metropolis–Hastings steps with
    the interpolant as the proposal (Tierney 1994, Annals of Statistics 22:1701): each
    step's acceptance ratio is p(u') q(u) / (p(u) q(u')), and the chain's distance to p
    shrinks by a factor 1 - min(q/p) per step.

    Parameters
    ----------
    integrand : LineageIntegrand
        The conditionals on the grid and beyond.
    rng : numpy.random.Generator
        Source of the draws.
    exact : callable, optional
        ``exact(u)`` for ``u`` of shape (..., lineages): the conditional's log density
        (unnormalised, any constant). Without it the interpolant's draw is returned.
    steps : int
        Correction steps.
    start : array (..., lineages), optional
        Where the Metropolis-Hastings chain starts (needs ``exact``): a Markov chain's
        current value, so that the ``steps`` leave the conditional invariant exactly (the
        Gibbs step of :mod:`bayes_llm.model.lineage_gibbs`); default a draw from the
        interpolant.

    Returns
    -------
    effects : numpy.ndarray
        Shape (..., lineages).
    acceptance : float
        Share of the correction steps accepted (1.0 without ``exact``).
    """
    prop = _proposal(integrand)
    if start is not None:
        if exact is None:
            raise ValueError("a chain started at a given value needs the exact conditional")
        u = np.array(start, dtype=float, copy=True)
    else:
        u = _proposal_draw(prop, rng)
    if exact is None:
        return u, 1.0
    log_ratio = exact(u) - _proposal_log_density(prop, u)
    accepted = 0
    for _ in range(steps):
        proposal = _proposal_draw(prop, rng)
        proposal_ratio = exact(proposal) - _proposal_log_density(prop, proposal)
        accept = np.log(rng.uniform(size=u.shape)) < proposal_ratio - log_ratio
        u = np.where(accept, proposal, u)
        log_ratio = np.where(accept, proposal_ratio, log_ratio)
        accepted += int(accept.sum())
    return u, accepted / max(steps * u.size, 1)


def node_log_likelihoods(k, n, g: float, mu: np.ndarray, scales, collapse=None,
                         offsets: np.ndarray | None = None, hermite_nodes: int | None = None
                         ) -> np.ndarray:
    """Each summed-out model's log likelihood with its lineage effect at each node (NumPy).

    Parameters
    ----------
    k, n : array (models,)
        Items correct and items of the summed-out lineages' models.
    g : float
        Guessing floor.
    mu : array (draws, models)
        Linear predictors without the lineage effect.
    scales : sequence of (log weight, SD) pairs, each (draws, models)
        The model effect's components (:func:`bayes_llm.model.eta_integral.model_effect_scales`).
    collapse : tuple (pi, a, b), optional
        ``floor_mixture``: collapse probabilities (draws, models) and the collapsed
        component's Beta shapes (draws,).
    offsets : array, optional
        The lineage effects to evaluate at, broadcasting against (draws, models, points);
        default the grid's nodes.
    hermite_nodes : int, optional
        Gauss–Hermite nodes of each model's integral over its model effect (default
        :data:`bayes_llm.model.eta_integral.NODES`; fewer only for a proposal).

    Returns
    -------
    numpy.ndarray
        Shape (draws, models, nodes) (or points).
    """
    from scipy import stats

    from bayes_llm.model.eta_integral import NODES, log_marginal_scales

    offsets = grid_nodes()[0] if offsets is None else offsets
    hermite_nodes = NODES if hermite_nodes is None else int(hermite_nodes)
    m = np.asarray(mu, float)[..., None] + offsets
    kk = np.asarray(k, float)[:, None]
    nn = np.asarray(n, float)[:, None]
    comps = [(np.asarray(log_w, float)[..., None],
              np.broadcast_to(np.asarray(sd, float)[..., None], m.shape)) for log_w, sd in scales]
    # finite far above the curve too (mu + u beyond ~37 logits, e.g. a Gibbs proposal in
    # the Student-t law's tail: the quadrature's scoring has no 0/0 where p rounds to 1)
    regular = log_marginal_scales(kk, nn, g, m, comps, nodes=hermite_nodes)
    if collapse is None:
        return regular
    pi, a, b = collapse
    pi = np.asarray(pi, float)[..., None]
    a, b = (np.asarray(v, float)[:, None, None] for v in (a, b))
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(pi) + stats.betabinom.logpmf(kk, nn, a, b),
                            np.log1p(-pi) + regular)


def _interpolation_matrix(full: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(kept, full) weights: values at ``full[kept]`` times it interpolate linearly to ``full``."""
    eye = np.eye(len(kept))
    return np.stack([np.interp(full, full[kept], row) for row in eye])


@functools.cache
def _thinned_rules(every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the grid's and a window's nodes kept at ``every``-th spacing, their interpolations.

    Returns (grid indices kept, (kept, grid nodes) matrix, window indices kept, (kept, window
    nodes) matrix). The grid keeps the nodes of the rule on every ``every``-th node of each
    segment (ends included); a window every ``every``-th of its evenly spread nodes.
    """
    grid_kept = _rule_node_index(every)
    if (WINDOW_NODES - 1) % every:
        raise ValueError(f"the grid has no rule on every {every} nodes")
    window_kept = np.arange(0, WINDOW_NODES, every)
    return (_read_only(grid_kept), _read_only(_interpolation_matrix(_NODES, grid_kept)),
            _read_only(window_kept),
            _read_only(_interpolation_matrix(_WINDOW_SPREAD, window_kept)))


def lineage_integrand(k, n, g: float, mu: np.ndarray, scales, layout: GridLayout, scale,
                      nu=None, collapse=None, every: int = 1,
                      hermite_nodes: int | None = None) -> LineageIntegrand:
    """Each summed-out lineage's integrand on the grid and on its window (NumPy).

    Parameters
    ----------
    k, n : array (layout's models,)
        Items correct and items of the summed-out lineages' models.
    g : float
        Guessing floor.
    mu : array (draws, layout's models)
        Linear predictors without the lineage effects.
    scales : sequence of (log weight, SD) pairs, each (draws, layout's models)
        The model effect's components.
    layout : GridLayout
        The summed-out lineages and their windows.
    scale, nu : array (draws,)
        The lineage law (``nu`` None: Normal).
    collapse : tuple (pi (draws, layout's models), a (draws,), b (draws,)), optional
        ``floor_mixture``.
    every : int
        1: the likelihoods at every node (an integrand to integrate). 2 or 4: at every
        ``every``-th node of each segment and window, linearly interpolated between them
        (log scale): ``every`` times cheaper, an approximation fit only for a proposal whose
        draws an exact Metropolis-Hastings step corrects (the Gibbs step of
        :mod:`bayes_llm.model.lineage_gibbs`).
    hermite_nodes : int, optional
        Gauss–Hermite nodes of each model's integral over its model effect (default
        :data:`bayes_llm.model.eta_integral.NODES`); fewer is, like ``every`` > 1, an
        approximation for a proposal only.
    """
    node_loglik = functools.partial(node_log_likelihoods, hermite_nodes=hermite_nodes)
    if every == 1:
        loglik = node_loglik(k, n, g, mu, scales, collapse)
    else:
        grid_kept, grid_matrix, window_kept, window_matrix = _thinned_rules(every)
        loglik = node_loglik(k, n, g, mu, scales, collapse,
                             offsets=_NODES[grid_kept]) @ grid_matrix
    windows = layout.windows
    if not windows.lineages.size:
        return LineageIntegrand.build(loglik, layout.membership, scale, nu)
    idx = windows.models
    sub_scales = [(lw[:, idx], sd[:, idx]) for lw, sd in scales]
    sub_collapse = None if collapse is None else (collapse[0][:, idx], collapse[1], collapse[2])

    def window_loglik(offsets):
        if every == 1:
            return node_loglik(k[idx], n[idx], g, mu[:, idx], sub_scales, sub_collapse,
                               offsets=offsets)
        return node_loglik(k[idx], n[idx], g, mu[:, idx], sub_scales, sub_collapse,
                           offsets=offsets[..., window_kept]) @ window_matrix

    return LineageIntegrand.build(loglik, layout.membership, scale, nu,
                                  window_integrand(windows, mu, scale, nu, window_loglik))


def exact_conditional(k, n, g: float, mu: np.ndarray, scales, layout: GridLayout, scale,
                      nu=None, collapse=None):
    """Return ``exact(u)``: each lineage's conditional log density at ``u`` (unnormalised).

    The arguments are :func:`lineage_integrand`'s; ``u`` has shape (draws, lineages) and
    the value is on the same scale as the integrand's node values (the lineage law's log
    density plus the lineage's models' log likelihoods).
    """
    def exact(u):
        ll = node_log_likelihoods(k, n, g, mu, scales, collapse,
                                  offsets=u[:, layout.position][..., None])[..., 0]
        return np.matmul(ll, layout.membership.T) + log_law(
            u, np.asarray(scale, float)[:, None],
            None if nu is None else np.asarray(nu, float)[:, None])

    return exact


#: Draws per block when drawing the summed-out lineages' effects (memory: a block holds
#: draws x models x nodes x Gauss-Hermite nodes numbers).
DRAW_BLOCK = 10


def draw_summed_out_effects(k, n, g: float, mu: np.ndarray, scales, layout: GridLayout,
                            sigma_lineage: np.ndarray, nu_lineage: np.ndarray | None,
                            rng: np.random.Generator, collapse=None
                            ) -> tuple[np.ndarray, dict[str, float]]:
    """Draw each summed-out lineage's effect given each posterior draw of the rest.

    Parameters
    ----------
    k, n : array (models,)
        Every model's items correct and items.
    g : float
        Guessing floor.
    mu : array (draws, models)
        Linear predictors without the summed-out lineages' effects.
    scales : sequence of (log weight, SD) pairs, each (draws, models)
        The model effect's components.
    layout : GridLayout
        The summed-out lineages.
    sigma_lineage, nu_lineage : array (draws,)
        The lineage law's scale and (Student-t, else None) degrees of freedom.
    rng : numpy.random.Generator
        Source of the draws.
    collapse : tuple (pi (draws, models), a (draws,), b (draws,)), optional
        ``floor_mixture``.

    Returns
    -------
    effects : numpy.ndarray
        (draws, lineages of ``layout``).
    check : dict
        :func:`quadrature_check` over every draw.
    """
    idx = layout.models
    k, n = np.asarray(k, float)[idx], np.broadcast_to(np.asarray(n, float), np.shape(k))[idx]
    effects = np.empty((mu.shape[0], len(layout.lineages)))
    check: dict[str, float] = {}
    accepted = 0.0
    for start in range(0, mu.shape[0], DRAW_BLOCK):
        sl = slice(start, start + DRAW_BLOCK)
        block_mu = mu[sl][:, idx]
        block_scales = [(lw[sl][:, idx], sd[sl][:, idx]) for lw, sd in scales]
        block_collapse = (None if collapse is None else
                          (collapse[0][sl][:, idx], collapse[1][sl], collapse[2][sl]))
        nu = None if nu_lineage is None else np.asarray(nu_lineage, float)[sl]
        scale = np.asarray(sigma_lineage, float)[sl]
        integrand = lineage_integrand(k, n, g, block_mu, block_scales, layout, scale, nu,
                                      block_collapse)
        for key, value in quadrature_check(integrand).items():
            check[key] = max(check.get(key, 0.0), value)

        exact = exact_conditional(k, n, g, block_mu, block_scales, layout, scale, nu,
                                  block_collapse)
        effects[sl], acceptance = draw_lineage_effects(integrand, rng, exact)
        accepted += acceptance * effects[sl].size
    check["acceptance"] = accepted / max(effects.size, 1)
    return effects, check
