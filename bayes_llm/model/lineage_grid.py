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
                  ≈ sum_g w_g law(u_g) prod_{i in l} L_i(mu_i + u_g),

L_i the model's likelihood with its model effect integrated out (and mixed with the
collapsed component under ``floor_mixture``), u_g the ``NODE_COUNT`` nodes of a uniform
grid over [``GRID_LOW``, ``GRID_HIGH``] and w_g the trapezoid rule's weights. Both peaks
are on the grid wherever they are, so no sampler has to cross the valley; this is the same
model, and each u_l is drawn from its conditional posterior after sampling
(:func:`draw_lineage_effects`).

Why a uniform grid and the trapezoid rule: it needs no knowledge of where the peaks are,
and for an integrand that is smooth on the scale of the step h its error falls like
exp(-2 pi^2 s^2 / h^2) for a peak of SD s (Trefethen & Weideman 2014, "The exponentially
convergent trapezoidal rule", SIAM Review 56:385-458): 3e-6 relative at the narrowest peak
measured on the fold-1 fit (s ~ 0.08) with h = 0.1. Peaks narrower than that, or mass near
the grid's ends, are measured on every fit rather than assumed away: the rule on every
other node (step 2h) is compared with the full rule and the mass in the end cells is
recorded (:func:`quadrature_check`).

Which lineages (:func:`near_floor_lineages`, a rule on the data, fixed before sampling): a
lineage with several models, at least one of them below ``FLOOR_ACCURACY`` and a median
accuracy below ``NEAR_FLOOR_MEDIAN``, i.e. whose regular level is near the collapsed
component's band, so that "weak" and "collapsed" both explain its weakest models. On the
809 models: 22 lineages holding 117 models
(``verification/exploratory/lineage_straddle.py``). Which lineages are summed out is a
computational choice: any set gives the same posterior.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

#: Range and step of the grid (logits). The lineage law's scale is ~0.5 on these data
#: and the near-floor lineages' effects lie in [-4.1, 0] on every fit inspected.
GRID_LOW = -6.0
GRID_HIGH = 2.0
GRID_STEP = 0.1
NODE_COUNT = int(round((GRID_HIGH - GRID_LOW) / GRID_STEP)) + 1
#: Accuracy below which a model is at the floor (MMLU-Pro: chance 0.10).
FLOOR_ACCURACY = 0.13
#: A near-floor lineage's median accuracy is below this.
NEAR_FLOOR_MEDIAN = 0.2
#: Largest acceptable difference (log units, any lineage and draw) between the full rule
#: and the rule on every other node (step 2h), and largest share of a lineage's conditional
#: mass in the two end cells (:func:`quadrature_check`). The trapezoid rule's error on a
#: peak of SD s is ~exp(-2 pi^2 s^2 / h^2), so the full rule's is about the fourth power
#: of the coarse rule's: a difference of 0.1 means an error of ~1e-4 in the full rule.
MAX_HALF_STEP_DIFFERENCE = 0.1
MAX_END_MASS = 1e-6


def grid_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Return the grid's nodes and the trapezoid rule's log weights (h; h/2 at the ends)."""
    nodes = GRID_LOW + GRID_STEP * np.arange(NODE_COUNT)
    weights = np.full(NODE_COUNT, GRID_STEP)
    weights[[0, -1]] = GRID_STEP / 2
    return nodes, np.log(weights)


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


class GridLayout(NamedTuple):
    """The models of the summed-out lineages and how they map to those lineages.

    ``models``: indices of the models in a summed-out lineage; ``others``: every other
    model; ``position``: each of ``models``' lineage as a position in ``lineages``;
    ``membership``: (lineages, models) 0/1 matrix; ``first``: each lineage's first model
    (an index into all models), where the model's log density records the lineage's
    marginal.
    """

    lineages: np.ndarray
    models: np.ndarray
    others: np.ndarray
    position: np.ndarray
    membership: np.ndarray
    first: np.ndarray

    @classmethod
    def build(cls, lineage_idx: np.ndarray, lineages: np.ndarray) -> GridLayout:
        """Lay out the models of ``lineages`` (indices into the lineage coordinate)."""
        lineage_idx = np.asarray(lineage_idx)
        lineages = np.asarray(lineages, dtype=np.int64)
        inside = np.isin(lineage_idx, lineages)
        models = np.flatnonzero(inside)
        position = np.searchsorted(lineages, lineage_idx[models])
        membership = (position[None, :] == np.arange(len(lineages))[:, None]).astype(float)
        first = np.array([models[position == p][0] for p in range(len(lineages))],
                         dtype=np.int64)
        return cls(lineages, models, np.flatnonzero(~inside), position, membership, first)


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


def node_log_density(node_loglik, membership: np.ndarray, log_law_nodes):
    """Each lineage's log posterior density (unnormalised) at each node, with the weights.

    ``node_loglik`` (..., models, nodes): each summed-out model's log likelihood with its
    lineage effect at each node; ``log_law_nodes`` (..., nodes). Returns (..., lineages,
    nodes) as a NumPy array: sum of the lineage's models' log likelihoods plus the law's
    log density plus the trapezoid log weight.
    """
    _, log_w = grid_nodes()
    return (np.matmul(membership, node_loglik)
            + (np.asarray(log_law_nodes) + log_w)[..., None, :])


def quadrature_check(log_density: np.ndarray) -> dict[str, float]:
    """How well the grid integrates the lineages' conditionals (one value over all of them).

    Parameters
    ----------
    log_density : array (..., lineages, nodes)
        From :func:`node_log_density` (the full rule's log weights included).

    Returns
    -------
    dict
        ``half_step_difference``: the largest |log of the full rule - log of the rule on
        every other node (step 2h)|, about the coarse rule's error (the full rule's is
        about its fourth power, see :data:`MAX_HALF_STEP_DIFFERENCE`); ``end_mass``: the
        largest share of a conditional's mass at the two end nodes (mass beyond the grid
        would be lost).
    """
    _, log_w = grid_nodes()
    base = log_density - log_w  # the integrand at the nodes, without the weights
    full = special.logsumexp(log_density, axis=-1)
    half_nodes = np.arange(0, NODE_COUNT, 2)
    half_w = np.full(len(half_nodes), 2 * GRID_STEP)
    if half_nodes[-1] == NODE_COUNT - 1:
        half_w[[0, -1]] = GRID_STEP
    else:  # an even number of nodes: the coarse rule ends one step short
        half_w[0] = GRID_STEP
    half = special.logsumexp(base[..., half_nodes] + np.log(half_w), axis=-1)
    shares = np.exp(log_density - full[..., None])
    end = shares[..., 0] + shares[..., -1]
    return {"half_step_difference": float(np.max(np.abs(full - half), initial=0.0)),
            "end_mass": float(np.max(end, initial=0.0))}


#: Independence Metropolis–Hastings steps that correct a draw from the grid's interpolant
#: to the exact conditional (:func:`draw_lineage_effects`).
CORRECTION_STEPS = 5


def _interpolant(log_density: np.ndarray):
    """Pieces of the trapezoid rule's piecewise-linear interpolant of the density.

    Returns the node densities left and right of each cell (scaled so the largest node is
    1), the cumulative cell areas (..., cells) and the log of the scale.
    """
    _, log_w = grid_nodes()
    base = log_density - log_w
    top = base.max(axis=-1, keepdims=True)
    dens = np.exp(base - top)
    left, right = dens[..., :-1], dens[..., 1:]
    return left, right, np.cumsum(0.5 * (left + right), axis=-1), top[..., 0]


def _interpolant_draw(pieces, rng: np.random.Generator) -> np.ndarray:
    """One draw from the interpolant: a cell by its area, then the linear density in it."""
    nodes, _ = grid_nodes()
    left, right, cdf, _ = pieces
    pick = rng.uniform(size=cdf.shape[:-1]) * cdf[..., -1]
    cell = np.minimum((cdf < pick[..., None]).sum(axis=-1), NODE_COUNT - 2)
    a = np.take_along_axis(left, cell[..., None], -1)[..., 0]
    b = np.take_along_axis(right, cell[..., None], -1)[..., 0]
    # inverse CDF of the density a + (b - a) t on t in [0, 1] (normalised by (a + b) / 2)
    q = rng.uniform(size=a.shape)
    slope = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(np.abs(slope) > 1e-12 * np.maximum(a, b),
                     (np.sqrt(a * a + slope * q * (a + b)) - a) / slope, q)
    return nodes[cell] + GRID_STEP * np.clip(t, 0.0, 1.0)


def _interpolant_log_density(pieces, u: np.ndarray) -> np.ndarray:
    """Log of the interpolant at ``u`` (on the scale of ``log_density``, unnormalised)."""
    left, right, _, top = pieces
    position = np.clip((u - GRID_LOW) / GRID_STEP, 0.0, NODE_COUNT - 1 - 1e-12)
    cell = np.minimum(position.astype(int), NODE_COUNT - 2)
    t = position - cell
    a = np.take_along_axis(left, cell[..., None], -1)[..., 0]
    b = np.take_along_axis(right, cell[..., None], -1)[..., 0]
    with np.errstate(divide="ignore"):
        return np.log(a + (b - a) * t) + top


def draw_lineage_effects(log_density: np.ndarray, rng: np.random.Generator,
                         exact=None, steps: int = CORRECTION_STEPS
                         ) -> tuple[np.ndarray, float]:
    """Draw each lineage's effect from its conditional, given each draw's other variables.

    A draw from the trapezoid rule's own interpolant (the density linear between nodes: a
    cell with probability proportional to its area, then a point from the linear density
    on it) is close to the conditional but not exact: at a peak of SD ~h the interpolant
    is off by up to ~15%. With ``exact`` it is corrected by ``steps`` independence
    Metropolis–Hastings steps with the interpolant as the proposal (Tierney 1994, Annals
    of Statistics 22:1701): each step's acceptance ratio is p(u') q(u) / (p(u) q(u')), and
    the chain's distance to p shrinks by a factor 1 - min(q/p) per step.

    Parameters
    ----------
    log_density : array (..., lineages, nodes)
        From :func:`node_log_density`.
    rng : numpy.random.Generator
        Source of the draws.
    exact : callable, optional
        ``exact(u)`` for ``u`` of shape (..., lineages): the conditional's log density
        (unnormalised, any constant). Without it the interpolant's draw is returned.
    steps : int
        Correction steps.

    Returns
    -------
    effects : numpy.ndarray
        Shape (..., lineages).
    acceptance : float
        Share of the correction steps accepted (1.0 without ``exact``).
    """
    pieces = _interpolant(log_density)
    u = _interpolant_draw(pieces, rng)
    if exact is None:
        return u, 1.0
    log_ratio = exact(u) - _interpolant_log_density(pieces, u)
    accepted = 0
    for _ in range(steps):
        proposal = _interpolant_draw(pieces, rng)
        proposal_ratio = exact(proposal) - _interpolant_log_density(pieces, proposal)
        accept = np.log(rng.uniform(size=u.shape)) < proposal_ratio - log_ratio
        u = np.where(accept, proposal, u)
        log_ratio = np.where(accept, proposal_ratio, log_ratio)
        accepted += int(accept.sum())
    return u, accepted / max(steps * u.size, 1)


def node_log_likelihoods(k, n, g: float, mu: np.ndarray, scales, collapse=None,
                         offsets: np.ndarray | None = None) -> np.ndarray:
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

    Returns
    -------
    numpy.ndarray
        Shape (draws, models, nodes) (or points).
    """
    from scipy import stats

    from bayes_llm.model.eta_integral import log_marginal_scales

    offsets = grid_nodes()[0] if offsets is None else offsets
    m = np.asarray(mu, float)[..., None] + offsets
    kk = np.asarray(k, float)[:, None]
    nn = np.asarray(n, float)[:, None]
    comps = [(np.asarray(log_w, float)[..., None],
              np.broadcast_to(np.asarray(sd, float)[..., None], m.shape)) for log_w, sd in scales]
    regular = log_marginal_scales(kk, nn, g, m, comps)
    if collapse is None:
        return regular
    pi, a, b = collapse
    pi = np.asarray(pi, float)[..., None]
    a, b = (np.asarray(v, float)[:, None, None] for v in (a, b))
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(pi) + stats.betabinom.logpmf(kk, nn, a, b),
                            np.log1p(-pi) + regular)


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
    nodes, _ = grid_nodes()
    idx = layout.models
    k, n = np.asarray(k, float)[idx], np.broadcast_to(np.asarray(n, float), np.shape(k))[idx]
    effects = np.empty((mu.shape[0], len(layout.lineages)))
    check = {"half_step_difference": 0.0, "end_mass": 0.0}
    accepted = 0.0
    for start in range(0, mu.shape[0], DRAW_BLOCK):
        sl = slice(start, start + DRAW_BLOCK)
        block_mu = mu[sl][:, idx]
        block_scales = [(lw[sl][:, idx], sd[sl][:, idx]) for lw, sd in scales]
        block_collapse = (None if collapse is None else
                          (collapse[0][sl][:, idx], collapse[1][sl], collapse[2][sl]))
        loglik = node_log_likelihoods(k, n, g, block_mu, block_scales, block_collapse)
        nu = None if nu_lineage is None else np.asarray(nu_lineage, float)[sl, None]
        scale = np.asarray(sigma_lineage, float)[sl, None]
        law = log_law(nodes[None, :], scale, nu)
        density = node_log_density(loglik, layout.membership, law)
        for key, value in quadrature_check(density).items():
            check[key] = max(check[key], value)

        def exact(u, block_mu=block_mu, block_scales=block_scales,
                  block_collapse=block_collapse, scale=scale, nu=nu):
            """Return the conditional's log density at u (draws, lineages), as at the nodes."""
            ll = node_log_likelihoods(k, n, g, block_mu, block_scales, block_collapse,
                                      offsets=u[:, layout.position][..., None])[..., 0]
            return np.matmul(ll, layout.membership.T) + log_law(u, scale, nu)

        effects[sl], acceptance = draw_lineage_effects(density, rng, exact)
        accepted += acceptance * effects[sl].size
    check["acceptance"] = accepted / max(effects.size, 1)
    return effects, check
