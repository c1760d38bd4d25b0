"""Plots: each returns a Figure, and its companion *_data function the numbers drawn."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from bayes_llm import plots
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.predictive import posterior_predictive, prior_predictive

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", [n for n in plots.__all__ if n.startswith("plot_")
                                  or n.endswith("_data")])
def test_every_plot_and_data_function_is_keyword_only(name):
    params = inspect.signature(getattr(plots, name)).parameters.values()
    assert params, name
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), name
    if name.startswith("plot_"):
        companion = name[len("plot_"):] + "_data"
        assert companion in plots.__all__, f"{name} has no companion {companion}"


def test_plots_refuse_positional_arguments(paper_mirror_fit):
    with pytest.raises(TypeError):
        plots.plot_score_vs_compute(paper_mirror_fit)


def test_data_overview(paper_df):
    data = plots.data_overview_data(df=paper_df)
    assert len(data) == len(paper_df)
    # normalised accuracy removes the 10% guessing floor
    np.testing.assert_allclose(data["score"], (paper_df["mmlu_pro_acc"] - 0.1) / 0.9)
    assert sorted(data["period"].unique()) == sorted(paper_df["cohort"].unique())
    fig = plots.plot_data_overview(df=paper_df)
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3


def test_score_vs_compute(binomial_fit, tmp_path):
    data = plots.score_vs_compute_data(fit=binomial_fit, grid_points=20)
    curves = data[data["layer"] == "curve"]
    points = data[data["layer"] == "point"]
    assert len(points) == len(binomial_fit.models)
    assert len(curves) == 20 * curves["period"].nunique()
    assert (curves["hdi_lower"] <= curves["mean"] + 1e-12).all()
    assert (curves["mean"] <= curves["hdi_upper"] + 1e-12).all()
    assert curves[["hdi_lower", "hdi_upper"]].stack().between(0, 1).all()
    # each period's curve rises with compute, and later periods lie higher at equal compute
    for _, c in curves.groupby("period"):
        assert np.all(np.diff(c["mean"].to_numpy()) > 0)
    first, last = sorted(curves["period"].unique())[0], sorted(curves["period"].unique())[-1]
    x = 23.5
    at = {p: np.interp(x, c["log10_flop"], c["mean"]) for p, c in curves.groupby("period")}
    assert at[last] > at[first]
    fig = plots.plot_score_vs_compute(fit=binomial_fit, grid_points=20)
    assert isinstance(fig, Figure)
    assert binomial_fit.spec.name not in fig.get_suptitle()  # no internal spec names
    assert "94% HDI" in fig.get_suptitle()
    path = plots.save_figure(fig, tmp_path / "svc.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_developer_effects_mark_the_papers_values(paper_mirror_fit):
    data = plots.developer_effects_data(fit=paper_mirror_fit)
    assert len(data) == 13
    ref = data[data["unit"] == "Other, Small"].iloc[0]
    assert ref["median"] == 1.0 and ref["reference"] == "Other, Small"
    rows = data.set_index("unit")
    # the paper's OLS group multipliers (Table 2): Nvidia 61.4x, Microsoft 60.5x
    assert rows.loc["Nvidia", "paper_ols"] == pytest.approx(61.38, rel=0.01)
    assert rows.loc["Microsoft", "paper_ols"] == pytest.approx(60.51, rel=0.01)
    assert (data["lower"] <= data["median"]).all() and (data["median"] <= data["upper"]).all()
    assert data["is_major"].sum() == 10
    assert list(data["median"]) == sorted(data["median"], reverse=True)
    fig = plots.plot_developer_effects(fit=paper_mirror_fit, paper=False)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xscale() == "log"


def test_developer_effects_per_developer_shows_majors(binomial_fit):
    data = plots.developer_effects_data(fit=binomial_fit, level="developer", paper=False)
    assert len(data) == binomial_fit.models["developer_unit"].nunique()
    assert data["paper_ols"].isna().all()
    fig = plots.plot_developer_effects(fit=binomial_fit, level="developer", paper=False,
                                       max_rows=20)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 20
    for dev in binomial_fit.models.loc[binomial_fit.models["is_major"], "developer_unit"].unique():
        assert any(label.startswith(f"{dev} ") for label in labels), dev


def test_frontier_decomposition(paper_mirror_fit):
    data = plots.frontier_decomposition_data(fit=paper_mirror_fit)
    pairs = list(dict.fromkeys(data["pair"]))
    assert pairs[0] == "meta-llama__Llama-2-70b-hf -> GPT-4.5"
    assert len(pairs) == 2
    # shares sum to one draw by draw, hence their posterior means too
    np.testing.assert_allclose(data[data["pair"] == pairs[0]]["mean"].sum(), 1.0, atol=1e-9)
    # the paper's second pair (net change ~0.1 logit): undefined, no numbers to draw
    second = data[data["pair"] == pairs[1]]
    assert second["median"].isna().all() and second["note"].str.startswith("undefined").all()
    first = data[data["pair"] == pairs[0]].set_index("component")
    # the paper's Table 1: 113.5% of Llama-2-70B -> GPT-4.5 is scaling
    assert first.loc["compute", "paper_ols"] == pytest.approx(1.135, abs=0.005)
    assert first.loc["compute", "lower"] < first.loc["compute", "paper_ols"] < \
        first.loc["compute", "upper"]
    explained = plots.frontier_decomposition_data(fit=paper_mirror_fit, explained=True,
                                                  paper=False)
    assert set(explained["component"]) == {"compute", "period", "developer"}
    np.testing.assert_allclose(explained[explained["pair"] == pairs[0]]["mean"].sum(), 1.0,
                               atol=1e-9)
    assert isinstance(plots.plot_frontier_decomposition(fit=paper_mirror_fit, paper=False),
                      Figure)


def test_results_figures_data_with_the_headlines_components(binomial_fit):
    """The report passes the headline's components to these figures: same numbers."""
    from bayes_llm.derived.fast import fast_components
    from bayes_llm.plots.frontier import frontier_gain_data

    comps = fast_components(binomial_fit)
    # a developer's component is a copy of its posterior effect: exactly the same
    pd.testing.assert_frame_equal(
        plots.developer_effects_data(fit=binomial_fit, paper=False, components=comps),
        plots.developer_effects_data(fit=binomial_fit, paper=False), check_exact=True)
    pd.testing.assert_frame_equal(
        plots.frontier_decomposition_data(fit=binomial_fit, paper=False, components=comps),
        plots.frontier_decomposition_data(fit=binomial_fit, paper=False), rtol=1e-12)
    pd.testing.assert_frame_equal(
        frontier_gain_data(fit=binomial_fit, components=comps),
        frontier_gain_data(fit=binomial_fit), rtol=1e-12)


def test_variance_shares(paper_mirror_fit):
    data = plots.variance_shares_data(fit=paper_mirror_fit)
    assert "lineage" not in set(data["component"])  # lineage fits only
    shap = data[data["method"] == "shapley"].set_index("component")
    # the paper's Shapley split: 32.0% compute, 2.7% period, 18.0% developer groups
    assert shap.loc["compute", "paper_ols"] == pytest.approx(0.320, abs=0.002)
    assert shap.loc["period", "paper_ols"] == pytest.approx(0.027, abs=0.002)
    assert shap.loc["developer", "paper_ols"] == pytest.approx(0.180, abs=0.002)
    for method in ("partition", "shapley"):
        assert data[data["method"] == method]["mean"].sum() == pytest.approx(1.0, abs=1e-9)
    assert set(data["figure"]) >= {"shapley_developer_share", "variance_developer_share",
                                   "company_share_superpop"}
    assert set(data.loc[data["method"] == "shapley", "kind"]) == {"sampling band"}
    null = shap.loc["developer"]
    assert null["null_lower"] < null["null_median"] < null["median"]
    assert isinstance(plots.plot_variance_shares(fit=paper_mirror_fit), Figure)


def test_variance_shares_from_precomputed_draws_are_identical(paper_mirror_fit):
    """The report passes the headline's draws and Shapley reference: same rows, not redone."""
    from bayes_llm.derived import headline_draws
    from bayes_llm.derived.shapley_null import shapley_reference

    fresh = plots.variance_shares_data(fit=paper_mirror_fit)
    given = plots.variance_shares_data(fit=paper_mirror_fit,
                                       draws=headline_draws(paper_mirror_fit),
                                       shapley=shapley_reference(paper_mirror_fit))
    pd.testing.assert_frame_equal(given, fresh, check_exact=False, rtol=1e-12, atol=1e-14)
    with pytest.raises(BayesLLMError, match="lack variance_compute_share"):
        plots.variance_shares_data(fit=paper_mirror_fit, draws=xr.Dataset())


def test_predictive_plots(paper_mirror_fit, paper_df):
    prior = prior_predictive(paper_mirror_fit.spec, paper_df, 50, 1)
    data = plots.predictive_check_data(pred=prior, n_bins=6, accuracy_bins=20)
    assert set(data["panel"]) == {"compute", "histogram"}
    hist = data[data["panel"] == "histogram"]
    widths = hist["bin_right"] - hist["bin_left"]
    # densities integrate to one over the accuracy axis
    assert float((hist["observed_density"] * widths).sum()) == pytest.approx(1.0)
    assert isinstance(plots.plot_predictive_check(pred=prior, n_bins=6), Figure)
    post = posterior_predictive(paper_mirror_fit, paper_df, 1, draws=60)
    sample = plots.ppc_dist_data(pred=post, num_samples=10)
    assert (sample["source"] == "observed").sum() == len(paper_df)
    assert sample.loc[sample["source"] == "predictive", "sample"].nunique() == 10
    fig = plots.plot_ppc_dist(pred=post, num_samples=10)
    assert isinstance(fig, Figure)
    assert "Posterior predictive" in fig.get_suptitle()


def test_diagnostic_plots(paper_mirror_fit):
    names = plots.default_var_names(paper_mirror_fit)
    assert {"alpha", "beta", "sigma", "period_effect"} <= set(names)
    assert "developer_effect" not in names  # 13 elements: left to the diagnostics table
    trace = plots.trace_data(fit=paper_mirror_fit)
    post = paper_mirror_fit.dt["posterior"]
    n_samples = post.sizes["chain"] * post.sizes["draw"]
    n_params = sum(int(post[n].isel(chain=0, draw=0).size) for n in names)
    assert len(trace) == n_samples * n_params
    np.testing.assert_allclose(trace.loc[trace["parameter"] == "beta", "value"],
                               post["beta"].values.ravel())
    ranks = plots.rank_data(fit=paper_mirror_fit, var_names=["beta"])
    assert ranks["rank"].between(0, 1).all()
    assert ranks["rank"].mean() == pytest.approx(0.5, abs=0.01)
    for fig in (plots.plot_trace(fit=paper_mirror_fit, var_names=["alpha", "beta"]),
                plots.plot_rank(fit=paper_mirror_fit, var_names=["beta", "sigma"])):
        assert isinstance(fig, Figure)
        assert paper_mirror_fit.spec.name not in fig.get_suptitle()
        assert plots.figure_png(fig).startswith(PNG_SIGNATURE)
