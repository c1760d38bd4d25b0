"""Derived quantities: posterior bands for every headline figure of the paper.

One module per job, each vectorised over the posterior's ``(chain, draw)`` and summarised
at the project's interval (:data:`bayes_llm.constants.HDI_PROB`, a 94% HDI):

* :mod:`~bayes_llm.derived.frontier` -- frontier compute share, three definitions
  (pairwise A -> B, explained part only, against a reference model);
* :mod:`~bayes_llm.derived.shapley_band` -- the paper's Shapley split of R² with a
  Bayesian-bootstrap band (company share, definition a);
* :mod:`~bayes_llm.derived.variance` -- the hierarchical model's variance partition
  (company share, definition b);
* :mod:`~bayes_llm.derived.multipliers` -- compute-equivalent multipliers;
* :mod:`~bayes_llm.derived.paper` -- the paper's claims and OLS point values;
* :mod:`~bayes_llm.derived.headline` -- the headline table and its exports.

Typical use::

    from bayes_llm.derived import headline_table, write_headline

    table = headline_table(fit)          # fit: bayes_llm.model.Fit
    write_headline(table, "out/headline")
"""

from bayes_llm.derived.frontier import (
    EXPLAINED_COMPONENTS,
    default_frontier_pair,
    default_reference_compute,
    frontier_models,
    pair_decomposition,
    reference_decomposition,
    reference_sensitivity,
)
from bayes_llm.derived.headline import (
    HEADLINE_COLUMNS,
    HEADLINE_FIGURES,
    PAIR_FIGURE_TEMPLATE,
    Event,
    Figure,
    headline_draws,
    headline_markdown,
    headline_table,
    headline_text,
    pair_figure_id,
    write_headline,
)
from bayes_llm.derived.multipliers import (
    developer_multipliers,
    group_multipliers,
    period_multipliers,
    shared_progress,
    within_spread,
)
from bayes_llm.derived.paper import PAPER_CLAIMS, PaperClaim, ols_point_fit, paper_ols
from bayes_llm.derived.shapley_band import (
    SHAPLEY_PARTS,
    shapley_draws,
    shapley_point,
    weighted_shapley,
)
from bayes_llm.derived.summary import interval, summarise_draws, summary_frame
from bayes_llm.derived.variance import variance_partition

__all__ = [
    "EXPLAINED_COMPONENTS",
    "HEADLINE_COLUMNS",
    "HEADLINE_FIGURES",
    "PAIR_FIGURE_TEMPLATE",
    "PAPER_CLAIMS",
    "SHAPLEY_PARTS",
    "Event",
    "Figure",
    "PaperClaim",
    "default_frontier_pair",
    "default_reference_compute",
    "developer_multipliers",
    "frontier_models",
    "group_multipliers",
    "headline_draws",
    "headline_markdown",
    "headline_table",
    "headline_text",
    "interval",
    "ols_point_fit",
    "pair_decomposition",
    "pair_figure_id",
    "paper_ols",
    "period_multipliers",
    "reference_decomposition",
    "reference_sensitivity",
    "shapley_draws",
    "shapley_point",
    "shared_progress",
    "summarise_draws",
    "summary_frame",
    "variance_partition",
    "weighted_shapley",
    "within_spread",
    "write_headline",
]
