"""The base of the package's PyMC step methods: used only where a spec asks for them."""

from __future__ import annotations

from pymc.step_methods.compound import BlockedStep


class RequestedStep(BlockedStep):
    """A PyMC step method that ``pm.sample`` never assigns by itself.

    The package's custom steps (``[sampler] lineage_gibbs``, ``multi_lineage_gibbs``,
    ``single_lineage_gibbs``,
    ``lineage_scale_move``, ``developer_scale_move``, ``developer_ridge_move``) are built by
    :func:`bayes_llm.model.sampling.compound_steps`
    and handed to ``pm.sample`` beside NUTS; PyMC's automatic assignment must never pick one.
    """

    @staticmethod
    def competence(var, has_grad):
        """Never chosen automatically: the step is asked for in a spec's ``[sampler]``."""
        from pymc.step_methods.compound import Competence

        return Competence.INCOMPATIBLE
