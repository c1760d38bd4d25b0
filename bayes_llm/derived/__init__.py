"""Derived quantities: posterior bands for every headline figure of the paper.

One module per job, each vectorised over the posterior's ``(chain, draw)`` and summarised
at the project's interval (:data:`bayes_llm.constants.HDI_PROB`, a 94% HDI):

* :mod:`~bayes_llm.derived.frontier` -- frontier compute share: the primary estimand on
  the accuracy scale over the frontier (top-k models of the first and last cohort, against
  the counterfactual without scaling), its additive decomposition in compute-equivalent
  decades, the pairwise (paper's Table 1) and reference-model definitions; guarded ratios;
* :mod:`~bayes_llm.derived.averaging` -- the frontier figures averaged over several fits
  of the same data (compute curves, measurement error of compute) with stacking or equal
  weights (kind "posterior (model-averaged)");
* :mod:`~bayes_llm.derived.company` -- company share, model-based: Nakagawa &
  Schielzeth's superpopulation share, Gelman's finite-population ANOVA, Bayesian R² with
  and without the developer block;
* :mod:`~bayes_llm.derived.shapley_null` -- the paper's Shapley statistic with its null
  reference and a developer-clustered bootstrap band (a sampling band, not a posterior);
* :mod:`~bayes_llm.derived.shapley_band` -- the Shapley machinery (weighted subset R²);
* :mod:`~bayes_llm.derived.variance` -- the hierarchical model's variance partition
  across models (finite population);
* :mod:`~bayes_llm.derived.fast` -- NumPy building blocks shared by the headline;
* :mod:`~bayes_llm.derived.multipliers` -- compute-equivalent multipliers;
* :mod:`~bayes_llm.derived.paper` -- the paper's claims and OLS point values;
* :mod:`~bayes_llm.derived.headline` -- the headline table and its exports.

Typical use::

    from bayes_llm.derived import headline_table, write_headline

    table = headline_table(fit)          # fit: bayes_llm.model.Fit
    write_headline(table, "out/headline")
"""

from bayes_llm.derived.averaging import (
    AVERAGED_KIND,
    averaged_frontier,
    check_same_data,
    stacking_weights_from,
)
from bayes_llm.derived.company import GROUP_CODING_FLAG, company_shares
from bayes_llm.derived.frontier import (
    EXPLAINED_COMPONENTS,
    GUARD_RULE,
    default_frontier_pair,
    default_reference_compute,
    frontier_gain,
    frontier_models,
    mix_draws,
    pair_decomposition,
    ratio_guard,
    reference_decomposition,
    reference_sensitivity,
)
from bayes_llm.derived.headline import (
    HEADLINE_COLUMNS,
    HEADLINE_FIGURES,
    KINDS,
    PAIR_FIGURE_TEMPLATE,
    PRIMARY,
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
    within_spread_centred,
    within_spread_model_based,
)
from bayes_llm.derived.paper import PAPER_CLAIMS, PaperClaim, ols_point_fit, paper_ols
from bayes_llm.derived.shapley_band import (
    SHAPLEY_PARTS,
    shapley_draws,
    shapley_point,
    weighted_shapley,
)
from bayes_llm.derived.shapley_null import ShapleyReference, shapley_reference
from bayes_llm.derived.summary import interval, summarise_draws, summary_frame
from bayes_llm.derived.variance import variance_partition

__all__ = [
    "AVERAGED_KIND",
    "averaged_frontier",
    "check_same_data",
    "stacking_weights_from",
    "EXPLAINED_COMPONENTS",
    "GROUP_CODING_FLAG",
    "GUARD_RULE",
    "KINDS",
    "PRIMARY",
    "ShapleyReference",
    "company_shares",
    "frontier_gain",
    "mix_draws",
    "ratio_guard",
    "shapley_reference",
    "within_spread_centred",
    "within_spread_model_based",
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
