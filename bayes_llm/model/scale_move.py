"""Metropolis-Hastings moves of a population scale with every effect it scales held.

Two blocks of the binomial model are sampled partly non-centred: the effects of single-
model lineages (``lineage_effect = sigma_lineage * lineage_single_z``; lineages with
several models are centred, ``lineage_multi_effect`` ~ law(0, sigma_lineage[,
nu_lineage])) and, with ``developer_parameterisation = "non_centred"`` (or ``"partial"``:
those with one model), the developers (``developer_effect = sigma_developer *
developer_z``). NUTS moves such a scale with the z's held, which changes every effect it
scales and so the likelihood; the scale then mixes slowly (bulk ESS ~200-270 of 4,000
draws on the time split and a developer fold, ``models/README.md``). This step moves it
along the other direction, where the likelihood does not change: a random-walk proposal
(gamma, delta) on the unconstrained scale (and the law's tail, where it has one), with
each z rescaled so that sigma * z, hence every effect, stays where it is,

    v_sigma' = v_sigma + gamma,   z' = z * sigma(v_sigma) / sigma(v_sigma'),
    v_nu'    = v_nu + delta,

accepted with probability min(1, pi(x') |J| / pi(x)), pi the model's joint density on the
unconstrained values (PyMC's, likelihood included) and |J| = (sigma / sigma')^n the
Jacobian of the map (n z's). The map is a group action with T_(-gamma) = T_gamma^(-1) and
(gamma, delta) is symmetric, so the move leaves the posterior invariant (Liu & Sabatti
2000, Biometrika 87:353, generalised Gibbs moves); alternating it with NUTS's move in the
non-centred direction is the interweaving strategy of Yu & Meng (2011, J. Comput. Graph.
Stat. 20:531). The proposal scales adapt towards an acceptance rate of 0.3 while the chain
tunes and are fixed after, so the draws come from a fixed, valid kernel. The model is
unchanged.

:class:`CompensatedScaleMove` (``[sampler] developer_ridge_move``) moves sigma_developer
the other way, with the developer z's held (every developer effect d_j = sigma * z_j
scaled, as NUTS does), and shifts the effect of each lineage whose models are mostly one
developer's by minus that developer's change, so that the linear predictor of its models
stays: the slow direction of the time split's fit, where a developer's offset sits either
in its own effect or in its lineages' effects (``models/README.md``). The shifts are
translations given the scales, so the map's Jacobian is 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pymc.step_methods.compound import StepMethodState
from pymc.step_methods.state import dataclass_state

from bayes_llm.model.requested_step import RequestedStep

#: Proposals per iteration (each a full evaluation of the model's log density).
SCALE_PROPOSALS = 5
#: Acceptance rate the proposal scales adapt to while tuning.
TARGET_ACCEPTANCE = 0.3
#: First proposal SD on the unconstrained values of the scale and the tail.
FIRST_SCALE = 0.1


@dataclass(frozen=True)
class ScaleGroup:
    """A population scale, its law's tail (if any) and the non-centred z's it multiplies.

    Attributes
    ----------
    name : str
        Prefix of the step's statistics (``<name>_scale_acceptance``, ``<name>_scale_step``).
    scale, tail, z : str or None
        The model's variables: the scale (required), the law's degrees of freedom and the
        standardised effects (``None``: the model has none, or the group has no such
        variable).
    """

    name: str
    scale: str
    tail: str | None
    z: str | None


#: The lineage law: sigma_lineage, nu_lineage (Student-t lineages) and the single-model
#: lineages' z's (``[sampler] lineage_scale_move``).
LINEAGE_GROUP = ScaleGroup("lineage", "sigma_lineage", "nu_lineage", "lineage_single_z")
#: The developer population: sigma_developer and the non-centred developers' developer_z
#: (all with ``non_centred``, the one-model developers with ``partial``; ``[sampler]
#: developer_scale_move``).
DEVELOPER_GROUP = ScaleGroup("developer", "sigma_developer", None, "developer_z")


@dataclass_state
class ScaleMoveState(StepMethodState):
    """The step's state between chains (PyMC's sampling state): its proposal scales."""

    scales: np.ndarray = field(default_factory=lambda: np.full(2, FIRST_SCALE))
    tune: bool = True


class ScaleMove(RequestedStep):
    """Random-walk moves of a population scale (and tail) that keep every effect it scales.

    Parameters
    ----------
    group : ScaleGroup
        Which scale (:data:`LINEAGE_GROUP` or :data:`DEVELOPER_GROUP`).
    proposals : int
        Metropolis-Hastings proposals per iteration.
    model : pymc.Model
        The sampled model (with the group's scale).
    rng : numpy.random.Generator, optional
        Replaced per chain by PyMC (:meth:`setup_chain`).
    """

    name = "scale_move"
    stats_dtypes_shapes = {"scale_acceptance": (np.float64, []),
                           "scale_step": (np.float64, [])}
    _state_class = ScaleMoveState

    def __init__(self, vars=None, *, group: ScaleGroup = LINEAGE_GROUP,
                 proposals: int = SCALE_PROPOSALS, model=None, rng=None,
                 blocked: bool = True):
        import pymc as pm

        model = pm.modelcontext(model)
        if group.scale not in model.named_vars:
            raise ValueError(f"the model has no {group.scale} (the {group.name} scale move "
                             "needs it)")
        if group.scale not in {rv.name for rv in model.free_RVs}:
            raise ValueError(f"{group.scale} is not a sampled variable of the model")
        names = [n for n in (group.scale, group.tail, group.z)
                 if n is not None and n in model.named_vars]
        values = {n: model.rvs_to_values[model[n]] for n in names}
        self.vars = list(values.values())
        self.group = group
        self._scale_value = values[group.scale].name
        self._tail_value = values[group.tail].name if group.tail in values else None
        self._z_value = values[group.z].name if group.z in values else None
        # each block's statistics under its own names, so that both moves can run in one
        # sampler; PyMC's trace backends read both attributes of the instance
        self.stats_dtypes_shapes = {f"{group.name}_scale_acceptance": (np.float64, []),
                                    f"{group.name}_scale_step": (np.float64, [])}
        self.stats_dtypes = [{k: dtype for k, (dtype, _) in self.stats_dtypes_shapes.items()}]
        self.proposals = int(proposals)
        self._logp = model.compile_logp(jacobian=True)
        scale = model.replace_rvs_by_values([model[group.scale]])
        self._sigma = model.compile_fn(scale[0], inputs=model.value_vars,
                                       on_unused_input="ignore", point_fn=True)
        self._dims = 2 if self._tail_value is not None else 1
        self.scales = np.full(self._dims, FIRST_SCALE)
        self.tune = True
        self._iteration = 0
        self.rng = np.random.default_rng(rng)

    def setup_chain(self, rng, tune: int, draws: int) -> None:
        """Take the chain's generator and start its proposal scales afresh."""
        super().setup_chain(rng, tune, draws)
        self.scales = np.full(self._dims, FIRST_SCALE)
        self.tune = tune > 0
        self._iteration = 0

    def log_jacobian(self, sigma: float, proposed: float, n: int) -> float:
        """Return log |J| of the map: each of the ``n`` z's multiplied by sigma / sigma'."""
        return n * (np.log(sigma) - np.log(proposed))

    def propose(self, point: dict, sigma: float) -> tuple[dict, float, float]:
        """One proposal from ``point`` (whose scale is ``sigma``).

        Returns
        -------
        new : dict
            The proposed point.
        log_j : float
            The log of the map's Jacobian.
        proposed : float
            The scale at ``new``.
        """
        new = dict(point)
        steps = self.rng.normal(0.0, self.scales)  # (gamma[, delta])
        new[self._scale_value] = np.asarray(point[self._scale_value] + steps[0])
        if self._tail_value is not None:
            new[self._tail_value] = np.asarray(point[self._tail_value] + steps[1])
        proposed = float(self._sigma(new))
        log_j = 0.0
        if self._z_value is not None:
            z = np.asarray(point[self._z_value], float)
            new[self._z_value] = z * (sigma / proposed)
            log_j = self.log_jacobian(sigma, proposed, z.size)
        return new, log_j, proposed

    def step(self, point):
        """Make the proposals; return the new point and the step's stats."""
        current = dict(point)
        logp, sigma = float(self._logp(current)), float(self._sigma(current))
        accepted = 0
        for _ in range(self.proposals):
            new, log_j, proposed_sigma = self.propose(current, sigma)
            proposed = float(self._logp(new))
            if np.log(self.rng.uniform()) < proposed - logp + log_j:
                current, logp, sigma = new, proposed, proposed_sigma
                accepted += 1
        rate = accepted / self.proposals
        if self.tune:  # Robbins-Monro on the log scale, gain decreasing with the iteration
            self._iteration += 1
            self.scales = self.scales * np.exp((rate - TARGET_ACCEPTANCE)
                                               / np.sqrt(self._iteration))
        name = self.group.name
        return current, [{f"{name}_scale_acceptance": rate,
                          f"{name}_scale_step": float(self.scales[0])}]


#: The developer population moved with its z's held and the lineages compensating
#: (``[sampler] developer_ridge_move``; :class:`CompensatedScaleMove`).
DEVELOPER_RIDGE_GROUP = ScaleGroup("developer_ridge", "sigma_developer", None, "developer_z")


@dataclass(frozen=True)
class Compensation:
    """Which sampled lineage values shift with which developer's effect.

    Attributes
    ----------
    multi_position, multi_developer : ndarray of int
        Positions in ``lineage_multi_effect`` (centred lineages) and the developer (index
        into ``developer_z``) whose change each one takes off.
    single_position, single_developer : ndarray of int
        The same for ``lineage_single_z`` (non-centred single-model lineages: the shift is
        divided by sigma_lineage).
    """

    multi_position: np.ndarray
    multi_developer: np.ndarray
    single_position: np.ndarray
    single_developer: np.ndarray


def majority_developers(lineage_idx: np.ndarray, developer_idx: np.ndarray,
                        n_lineages: int) -> np.ndarray:
    """Each lineage's developer with more than half of its models, or -1 where none has.

    Parameters
    ----------
    lineage_idx, developer_idx : ndarray of int
        Each model's lineage and developer.
    n_lineages : int
        Number of lineages.
    """
    out = np.full(n_lineages, -1, dtype=np.int64)
    for lineage in range(n_lineages):
        members = developer_idx[lineage_idx == lineage]
        if members.size:
            values, counts = np.unique(members, return_counts=True)
            if 2 * counts.max() > members.size:
                out[lineage] = values[np.argmax(counts)]
    return out


def lineage_compensation(data) -> Compensation:
    """Return the :class:`Compensation` of a design: sampled lineages by majority developer.

    ``data`` is the model's :class:`~bayes_llm.model.design.ModelData`; a lineage no
    developer holds more than half of is not shifted (its models' predictor moves with
    their developers' effects, and the acceptance weighs that), nor is one summed out on a
    grid (no sampled value).
    """
    owner = majority_developers(data.lineage_idx, data.developer_idx,
                                len(data.coords["lineage"]))

    def positions(lineages):
        lineages = np.asarray([] if lineages is None else lineages, dtype=np.int64)
        keep = np.flatnonzero(owner[lineages] >= 0).astype(np.int64)
        return keep, owner[lineages[keep]]

    multi = positions(data.lineage_multi)
    single = positions(data.lineage_single)
    return Compensation(*multi, *single)


class CompensatedScaleMove(ScaleMove):
    """Random-walk moves of sigma_developer with the z's held and the lineages compensating.

    With non-centred developers (d_j = sigma * z_j), the proposal v_sigma' = v_sigma + gamma
    holds every z, so each d_j changes by (sigma' - sigma) z_j; each compensated lineage
    (:func:`lineage_compensation`) of developer j is shifted by -(sigma' - sigma) z_j (its
    centred effect, or its z by that over sigma_lineage), so the linear predictor of every
    model of j in it stays. Given the scales the shifts are translations, and their sum
    over two proposals is the shift of the sum: the map is a group action with unit
    Jacobian, accepted with probability min(1, pi(x') / pi(x)).

    Parameters
    ----------
    compensation : Compensation
        The lineages shifted and their developers.
    proposals : int
        Metropolis-Hastings proposals per iteration.
    model : pymc.Model
        The sampled model (with ``sigma_developer`` and ``developer_z``).
    rng : numpy.random.Generator, optional
        Replaced per chain by PyMC.
    """

    def __init__(self, vars=None, *, compensation: Compensation,
                 proposals: int = SCALE_PROPOSALS, model=None, rng=None, blocked: bool = True):
        import pymc as pm

        model = pm.modelcontext(model)
        super().__init__(group=DEVELOPER_RIDGE_GROUP, proposals=proposals, model=model,
                         rng=rng)
        if self._z_value is None:
            raise ValueError("the model has no developer_z (the developer ridge move needs "
                             "non-centred developers)")
        if "lineage_single_z" not in model.named_vars:  # summed out with eta: no value
            compensation = Compensation(compensation.multi_position,
                                        compensation.multi_developer,
                                        *(np.zeros(0, dtype=np.int64),) * 2)
        self.compensation = compensation
        self._multi_value = self._single_value = self._lineage_sigma = None
        if compensation.multi_position.size:
            self._multi_value = model.rvs_to_values[model["lineage_multi_effect"]].name
        if compensation.single_position.size:
            self._single_value = model.rvs_to_values[model["lineage_single_z"]].name
            sigma = model.replace_rvs_by_values([model["sigma_lineage"]])[0]
            self._lineage_sigma = model.compile_fn(sigma, inputs=model.value_vars,
                                                   on_unused_input="ignore", point_fn=True)
        self.vars += [v for v in model.value_vars
                      if v.name in (self._multi_value, self._single_value)]

    def log_jacobian(self, sigma: float, proposed: float, n: int) -> float:
        """Return log |J| = 0: the map is a translation given the scales."""
        return 0.0

    def propose(self, point: dict, sigma: float) -> tuple[dict, float, float]:
        """One proposal: sigma moved, the z's held, the compensated lineages shifted."""
        new = dict(point)
        gamma = self.rng.normal(0.0, self.scales[0])
        new[self._scale_value] = np.asarray(point[self._scale_value] + gamma)
        proposed = float(self._sigma(new))
        change = (proposed - sigma) * np.asarray(point[self._z_value], float)  # d' - d
        c = self.compensation
        if self._multi_value is not None:
            effect = np.array(point[self._multi_value], float)
            effect[c.multi_position] -= change[c.multi_developer]
            new[self._multi_value] = effect
        if self._single_value is not None:
            z = np.array(point[self._single_value], float)
            z[c.single_position] -= change[c.single_developer] / float(
                self._lineage_sigma(point))
            new[self._single_value] = z
        return new, self.log_jacobian(sigma, proposed, 0), proposed
