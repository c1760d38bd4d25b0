"""Plots of the data, the fit and the headline figures (matplotlib; ArviZ 1.x where it fits).

Every plot function is keyword-only, returns its :class:`matplotlib.figure.Figure`, and
has a companion ``*_data`` function returning the numbers it draws as a DataFrame:

* :func:`plot_data_overview` / :func:`data_overview_data`: score vs compute, raw data;
* :func:`plot_score_vs_compute` / :func:`score_vs_compute_data`: posterior scaling curves
  with HDI bands per period, points by developer group;
* :func:`plot_developer_effects` / :func:`developer_effects_data`: efficiency factors as a
  forest plot (log scale), majors highlighted, the paper's OLS values marked;
* :func:`plot_frontier_decomposition` / :func:`frontier_decomposition_data`: progress
  between model pairs split into compute, period, developer and model parts;
* :func:`plot_variance_shares` / :func:`variance_shares_data`: Shapley and variance
  shares with intervals, the paper's values marked;
* :func:`plot_predictive_check` / :func:`predictive_check_data` and :func:`plot_ppc_dist`
  / :func:`ppc_dist_data`: prior and posterior predictive checks on the accuracy scale;
* :func:`plot_trace` / :func:`trace_data` and :func:`plot_rank` / :func:`rank_data`:
  MCMC diagnostics (ArviZ).

Intervals are the project's one setting, :data:`bayes_llm.constants.HDI_PROB` (94% HDI).
Figures are not registered with pyplot (except ArviZ's), so nothing needs closing; save
them with :func:`save_figure` (atomic PNG) or :func:`figure_png` (bytes).
"""

from bayes_llm.plots._style import figure_png, group_colours, save_figure
from bayes_llm.plots.developers import developer_effects_data, plot_developer_effects
from bayes_llm.plots.diagnostics import (
    default_var_names,
    plot_rank,
    plot_trace,
    rank_data,
    trace_data,
)
from bayes_llm.plots.frontier import (
    default_pairs,
    frontier_decomposition_data,
    plot_frontier_decomposition,
)
from bayes_llm.plots.predictive import (
    plot_ppc_dist,
    plot_predictive_check,
    ppc_dist_data,
    predictive_check_data,
)
from bayes_llm.plots.scaling import (
    data_overview_data,
    plot_data_overview,
    plot_score_vs_compute,
    score_vs_compute_data,
)
from bayes_llm.plots.variance import plot_variance_shares, variance_shares_data

__all__ = [
    "data_overview_data",
    "default_pairs",
    "default_var_names",
    "developer_effects_data",
    "figure_png",
    "frontier_decomposition_data",
    "group_colours",
    "plot_data_overview",
    "plot_developer_effects",
    "plot_frontier_decomposition",
    "plot_ppc_dist",
    "plot_predictive_check",
    "plot_rank",
    "plot_score_vs_compute",
    "plot_trace",
    "plot_variance_shares",
    "ppc_dist_data",
    "predictive_check_data",
    "rank_data",
    "save_figure",
    "score_vs_compute_data",
    "trace_data",
    "variance_shares_data",
]
