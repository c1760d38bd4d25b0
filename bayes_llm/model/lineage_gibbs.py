"""A Gibbs step that moves the near-floor lineages' effects between their peaks.

With ``lineage_effect`` the conditional posterior of a lineage effect near the guessing
floor can have two peaks with a deep valley between them (``models/README.md``, "Are the
two modes in the lineage effect's own dimension?"), which NUTS chains do not cross.
``lineage_grid = "near_floor"`` sums such effects out of the likelihood on a grid: exact,
but every gradient then evaluates each summed-out model's likelihood at every node (14-35x
the cost of a gradient on the validation splits). This step does the same integral once
per iteration instead of once per gradient: after each NUTS transition it updates each
near-floor lineage's effect u_l by independence Metropolis-Hastings steps from its
conditional

    p(u_l | rest) ∝ law(u_l; sigma_lineage[, nu_lineage]) prod_{i in l} L_i(mu_i + u_l),

with the grid's piecewise-linear interpolant of that conditional as the proposal
(:func:`bayes_llm.model.lineage_grid.draw_lineage_effects` started from the chain's
current value). The proposal covers both peaks wherever they are, so a chain crosses the
valley whenever the other peak has mass; the acceptance step uses the exact conditional,
so each update leaves the posterior invariant (Tierney 1994, Annals of Statistics
22:1701), whatever the grid's accuracy, and NUTS (which also moves every lineage effect)
followed by this step is a valid MCMC kernel for the same model (a composition of
kernels that each leave the posterior invariant). The model is unchanged: the sampled
spec with ``lineage_grid = "none"``.

PyMC's own NUTS runs the other variables (compound steps need ``backend = "pymc"``;
nutpie and numpyro take no custom steps). ``L_i`` is the model's integrated likelihood
(two-scale model effect, floor mixture), computed by the same NumPy code that draws the
summed-out effects after a grid fit.

The same step serves the single-model lineages of Student-t lineage effects
(``[sampler] single_lineage_gibbs``; ``block="single"``), sampled non-centred as
``lineage_single_z`` with u_l = sigma_lineage * z_l: a model alone in its lineage is seen
by the data only through u_l + eta_i, so its conditional has the lineage law's tail and the
wide model-effect component's as two explanations of a model off the curve, whose tails
NUTS explores slowly (tail ESS ~220 of 4,000 draws on the time split). The update draws u_l
from the same exact conditional (the law of u_l = sigma * z is the law above, and z's is
u's at a constant Jacobian given sigma) and records z_l = u_l / sigma_lineage.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
from pymc.step_methods.compound import StepMethodState
from pymc.step_methods.state import dataclass_state

from bayes_llm.model.eta_integral import TWO_SCALE_NAMES
from bayes_llm.model.requested_step import RequestedStep

#: The free variable of the multi-model lineages' effects.
LINEAGE_VARIABLE = "lineage_multi_effect"
#: The free variable of the single-model lineages' (non-centred) effects.
SINGLE_VARIABLE = "lineage_single_z"
#: Each block: (free variable, the design's sampled lineages, prefix of the statistics).
BLOCKS = {"multi": (LINEAGE_VARIABLE, "lineage_multi", "lineage_gibbs"),
          "single": (SINGLE_VARIABLE, "lineage_single", "single_lineage_gibbs")}
#: Independence Metropolis-Hastings steps per iteration (each a fresh proposal).
GIBBS_STEPS = 3
#: The proposal's likelihoods at every ``PROPOSAL_EVERY``-th node of the grid and windows,
#: interpolated between (:func:`bayes_llm.model.lineage_grid.lineage_integrand`): half the
#: cost of the full rule's nodes; the exact acceptance step keeps the update exact.
PROPOSAL_EVERY = 2
#: The proposal's Gauss–Hermite nodes per model integral over its model effect: 7, about
#: half the cost of the 15 the exact conditional keeps
#: (:data:`bayes_llm.model.eta_integral.NODES`), at log-likelihood errors of 1e-3 or less
#: for SDs up to 0.4 and up to 0.08 at SD 2 (models at the floor), small beside the
#: interpolation's: the acceptance on developer fold 1's design was unchanged.
PROPOSAL_HERMITE_NODES = 7
#: Variables the conditional reads, when the model has them.
_INPUTS = ("eta_mean", "sigma_model", *TWO_SCALE_NAMES, "sigma_lineage", "nu_lineage",
           "collapse_intercept", "collapse_compute_slope", "collapse_probability",
           "collapse_mean", "collapse_concentration")


@dataclass_state
class LineageGibbsState(StepMethodState):
    """The step's state between chains (PyMC's sampling state): its step count."""

    steps: int = field(default=GIBBS_STEPS)


class LineageGibbs(RequestedStep):
    """Independence Metropolis-Hastings updates of lineage effects from their conditionals.

    Parameters
    ----------
    data : ModelData
        The design the model was built on (counts, lineages, periods, compute).
    lineages : array of int
        The lineages to update (indices into the lineage coordinate; each must be in
        ``data.lineage_multi``, or ``data.lineage_single`` with ``block="single"``).
    block : {"multi", "single"}
        The centred multi-model lineages (``lineage_multi_effect``; the near-floor ones,
        ``[sampler] lineage_gibbs``) or the non-centred single-model ones
        (``lineage_single_z``, ``[sampler] single_lineage_gibbs``).
    steps : int
        Metropolis-Hastings steps per iteration.
    every : int
        The proposal's node spacing in grid nodes (1, 2 or 4; :data:`PROPOSAL_EVERY`).
    hermite_nodes : int
        The proposal's Gauss–Hermite nodes per model integral
        (:data:`PROPOSAL_HERMITE_NODES`).
    model : pymc.Model
        The sampled model (``lineage_grid = "none"``).
    rng : numpy.random.Generator, optional
        Replaced per chain by PyMC (:meth:`setup_chain`).
    """

    name = "lineage_gibbs"
    stats_dtypes_shapes = {"lineage_gibbs_acceptance": (np.float64, []),
                           "lineage_gibbs_moved": (np.int64, [])}
    _state_class = LineageGibbsState

    def __init__(self, vars=None, *, data=None, lineages=None, block: str = "multi",
                 steps: int = GIBBS_STEPS, every: int = PROPOSAL_EVERY,
                 hermite_nodes: int = PROPOSAL_HERMITE_NODES, model=None, rng=None,
                 blocked: bool = True):
        import pymc as pm

        from bayes_llm.model.lineage_grid import GridLayout

        model = pm.modelcontext(model)
        variable, sampled_lineages, prefix = BLOCKS[block]
        value = model.rvs_to_values[model[variable]]
        self.vars = [value]
        self.steps = int(steps)
        self.every = int(every)
        self.hermite_nodes = int(hermite_nodes)
        self.block = block
        self._variable = variable
        self._value_name = value.name
        self._acceptance, self._moved = f"{prefix}_acceptance", f"{prefix}_moved"
        # each block's statistics under its own names (PyMC reads both attributes)
        self.stats_dtypes_shapes = {self._acceptance: (np.float64, []),
                                    self._moved: (np.int64, [])}
        self.stats_dtypes = [{k: dtype for k, (dtype, _) in self.stats_dtypes_shapes.items()}]
        lineages = np.asarray(lineages, dtype=np.int64)
        sampled = np.asarray(getattr(data, sampled_lineages), dtype=np.int64)
        missing = np.setdiff1d(lineages, sampled)
        if missing.size:
            raise ValueError(f"lineages {missing.tolist()} are not sampled {block}-model "
                             "lineages")
        self._positions = np.array([np.flatnonzero(sampled == lin)[0] for lin in lineages],
                                   dtype=np.int64)
        self._layout = GridLayout.build(data.lineage_idx, lineages, data.k / data.n,
                                        data.guess)
        models = self._layout.models
        self._k = np.asarray(data.k, float)[models]
        self._n = np.broadcast_to(np.asarray(data.n, float), np.shape(data.k))[models]
        self._g = float(data.guess)
        self._period_idx = np.asarray(data.period_idx)[models]
        self._x = None if data.x is None else np.asarray(data.x, float)[models]
        self._names = [name for name in (*_INPUTS, variable) if name in model.named_vars]
        # the variables' values at the point (a free variable's graph is a random draw)
        outputs = model.replace_rvs_by_values([model[name] for name in self._names])
        self._values = model.compile_fn(outputs, inputs=model.value_vars,
                                        on_unused_input="ignore", point_fn=True)
        self.rng = np.random.default_rng(rng)

    def _conditional(self, point):
        """Return the conditional's integrand and exact log density, the effects and a factor.

        The factor takes the free variable to the effect (sigma_lineage for the single-model
        block's z's, else 1). One draw: the variables the conditional reads, evaluated at
        ``point`` (the chain's values), minus the current effects from ``eta_mean`` (it
        holds them).
        """
        from bayes_llm.model import lineage_grid as lg
        from bayes_llm.model.eta_integral import model_effect_scales
        from bayes_llm.model.option_terms import collapse_probability_per_model

        v = dict(zip(self._names, self._values(point), strict=True))
        layout = self._layout
        factor = float(v["sigma_lineage"]) if self.block == "single" else 1.0
        current = factor * np.asarray(v[self._variable], float)[self._positions]
        mu = (np.asarray(v["eta_mean"], float)[layout.models]
              - current[layout.position])[None, :]
        wide = (tuple(np.reshape(v[name], (1, 1)) for name in TWO_SCALE_NAMES)
                if TWO_SCALE_NAMES[0] in v else (None, None))
        scales = [(np.broadcast_to(lw, mu.shape), np.broadcast_to(sd, mu.shape))
                  for lw, sd in model_effect_scales(np.reshape(v["sigma_model"], (1, 1)),
                                                    *wide)]
        collapse = None
        if "collapse_mean" in v:
            draws = ({"intercept": np.reshape(v["collapse_intercept"], 1),
                      "slope": np.reshape(v["collapse_compute_slope"], 1)}
                     if "collapse_intercept" in v else
                     {"probability": np.asarray(v["collapse_probability"], float)[None, ...]})
            pi = collapse_probability_per_model(draws, len(layout.models),
                                                period_idx=self._period_idx, x=self._x)
            mean, conc = float(v["collapse_mean"]), float(v["collapse_concentration"])
            collapse = (pi, np.array([mean * conc]), np.array([(1.0 - mean) * conc]))
        scale = np.reshape(v["sigma_lineage"], 1)
        nu = np.reshape(v["nu_lineage"], 1) if "nu_lineage" in v else None
        integrand = lg.lineage_integrand(self._k, self._n, self._g, mu, scales, layout,
                                         scale, nu, collapse, every=self.every,
                                         hermite_nodes=self.hermite_nodes)
        exact = lg.exact_conditional(self._k, self._n, self._g, mu, scales, layout, scale,
                                     nu, collapse)
        return integrand, exact, current, factor

    def step(self, point):
        """Update the block's lineage effects; return the new point and the step's stats."""
        from bayes_llm.model.lineage_grid import draw_lineage_effects

        integrand, exact, current, factor = self._conditional(point)
        drawn, acceptance = draw_lineage_effects(integrand, self.rng, exact, self.steps,
                                                 start=current[None, :])
        new = dict(point)
        values = np.array(point[self._value_name], dtype=float, copy=True)
        values[self._positions] = drawn[0] / factor
        new[self._value_name] = values
        moved = int(np.sum(drawn[0] != current))
        return new, [{self._acceptance: float(acceptance), self._moved: moved}]
