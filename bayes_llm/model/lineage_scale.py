"""A Metropolis-Hastings move of the lineage law's scale and tail with every effect held.

With ``lineage_effect`` the effects of lineages with several models are sampled centred
(``lineage_multi_effect`` ~ law(0, sigma_lineage[, nu_lineage])) and those of single-model
lineages non-centred (``lineage_effect = sigma_lineage * lineage_single_z``). NUTS moves
sigma_lineage with the z's held, which changes every single-model lineage's effect and so
the likelihood; sigma_lineage and nu_lineage then mix slowly (bulk ESS ~200 of 4,000 draws on
a developer fold, ``models/README.md``). This step moves them along the other direction,
where the likelihood does not change: a random-walk proposal (gamma, delta) on their
unconstrained values, with each z rescaled so that sigma * z, hence every lineage effect,
stays where it is,

    v_sigma' = v_sigma + gamma,   z' = z * sigma(v_sigma) / sigma(v_sigma'),
    v_nu'    = v_nu + delta,

accepted with probability min(1, pi(x') |J| / pi(x)), pi the model's joint density on the
unconstrained values (PyMC's, likelihood included) and |J| = (sigma / sigma')^n the
Jacobian of the map (n single-model lineages). The map is a group action with
T_(-gamma) = T_gamma^(-1) and (gamma, delta) is symmetric, so the move leaves the posterior
invariant (Liu & Sabatti 2000, Biometrika 87:353, generalised Gibbs moves); alternating it
with NUTS's move in the non-centred direction is the interweaving strategy of Yu & Meng
(2011, J. Comput. Graph. Stat. 20:531). The proposal scales adapt towards an acceptance
rate of 0.3 while the chain tunes and are fixed after, so the draws come from a fixed,
valid kernel. The model is unchanged.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
from pymc.step_methods.compound import BlockedStep, StepMethodState
from pymc.step_methods.state import dataclass_state

#: Proposals per iteration (each a full evaluation of the model's log density).
SCALE_PROPOSALS = 5
#: Acceptance rate the proposal scales adapt to while tuning.
TARGET_ACCEPTANCE = 0.3
#: First proposal SD on the unconstrained values of sigma_lineage and nu_lineage.
FIRST_SCALE = 0.1
SCALE_VARIABLE, TAIL_VARIABLE, SINGLE_VARIABLE = ("sigma_lineage", "nu_lineage",
                                                  "lineage_single_z")


@dataclass_state
class LineageScaleState(StepMethodState):
    """The step's state between chains (PyMC's sampling state): its proposal scales."""

    scales: np.ndarray = field(default_factory=lambda: np.full(2, FIRST_SCALE))
    tune: bool = True


class LineageScaleMove(BlockedStep):
    """Random-walk moves of sigma_lineage (and nu_lineage) that keep every lineage effect.

    Parameters
    ----------
    proposals : int
        Metropolis-Hastings proposals per iteration.
    model : pymc.Model
        The sampled model (with ``sigma_lineage``).
    rng : numpy.random.Generator, optional
        Replaced per chain by PyMC (:meth:`setup_chain`).
    """

    name = "lineage_scale_move"
    stats_dtypes_shapes = {"lineage_scale_acceptance": (np.float64, []),
                           "lineage_scale_step": (np.float64, [])}
    _state_class = LineageScaleState

    def __init__(self, vars=None, *, proposals: int = SCALE_PROPOSALS, model=None, rng=None,
                 blocked: bool = True):
        import pymc as pm

        model = pm.modelcontext(model)
        if SCALE_VARIABLE not in model.named_vars:
            raise ValueError(f"the model has no {SCALE_VARIABLE} (lineage_effect = false)")
        names = [n for n in (SCALE_VARIABLE, TAIL_VARIABLE, SINGLE_VARIABLE)
                 if n in model.named_vars]
        values = {n: model.rvs_to_values[model[n]] for n in names}
        self.vars = list(values.values())
        self._scale_value = values[SCALE_VARIABLE].name
        self._tail_value = values[TAIL_VARIABLE].name if TAIL_VARIABLE in values else None
        self._single_value = (values[SINGLE_VARIABLE].name if SINGLE_VARIABLE in values
                              else None)
        self.proposals = int(proposals)
        self._logp = model.compile_logp(jacobian=True)
        scale = model.replace_rvs_by_values([model[SCALE_VARIABLE]])
        self._sigma = model.compile_fn(scale[0], inputs=model.value_vars,
                                       on_unused_input="ignore", point_fn=True)
        self.scales = np.full(2, FIRST_SCALE)
        self.tune = True
        self._iteration = 0
        self.rng = np.random.default_rng(rng)

    def setup_chain(self, rng, tune: int, draws: int) -> None:
        """Take the chain's generator and start its proposal scales afresh."""
        super().setup_chain(rng, tune, draws)
        self.scales = np.full(2, FIRST_SCALE)
        self.tune = tune > 0
        self._iteration = 0

    def log_jacobian(self, sigma: float, proposed: float, n: int) -> float:
        """Return log |J| of the map: each of the ``n`` z's multiplied by sigma / sigma'."""
        return n * (np.log(sigma) - np.log(proposed))

    def propose(self, point: dict) -> tuple[dict, float]:
        """One proposal from ``point`` and the log of its Jacobian."""
        new = dict(point)
        gamma, delta = self.rng.normal(0.0, self.scales)
        new[self._scale_value] = np.asarray(point[self._scale_value] + gamma)
        if self._tail_value is not None:
            new[self._tail_value] = np.asarray(point[self._tail_value] + delta)
        log_j = 0.0
        if self._single_value is not None:
            sigma, proposed = float(self._sigma(point)), float(self._sigma(new))
            z = np.asarray(point[self._single_value], float)
            new[self._single_value] = z * (sigma / proposed)
            log_j = self.log_jacobian(sigma, proposed, z.size)
        return new, log_j

    def step(self, point):
        """Make the proposals; return the new point and the step's stats."""
        current = dict(point)
        logp = float(self._logp(current))
        accepted = 0
        for _ in range(self.proposals):
            new, log_j = self.propose(current)
            proposed = float(self._logp(new))
            if np.log(self.rng.uniform()) < proposed - logp + log_j:
                current, logp = new, proposed
                accepted += 1
        rate = accepted / self.proposals
        if self.tune:  # Robbins-Monro on the log scale, gain decreasing with the iteration
            self._iteration += 1
            self.scales = self.scales * np.exp((rate - TARGET_ACCEPTANCE)
                                               / np.sqrt(self._iteration))
        return current, [{"lineage_scale_acceptance": rate,
                          "lineage_scale_step": float(self.scales[0])}]

    @staticmethod
    def competence(var, has_grad):
        """Never chosen automatically: the step is asked for by ``[sampler] lineage_scale_move``."""
        from pymc.step_methods.compound import Competence

        return Competence.INCOMPATIBLE
