"""MCMC diagnostic plots: trace and marginal densities, and rank (ECDF-difference) plots.

Both use ArviZ 1.x (:func:`arviz.plot_trace_dist`, :func:`arviz.plot_rank`) on the fit's
low-dimensional parameters (intercept, slope, scales, period effects...). Per-model
latent effects and long vectors of developer effects are summarised by the diagnostics
table (:attr:`bayes_llm.model.Fit.diagnostics`) instead.

The p-value ArviZ prints on each rank panel is its multi-chain rank uniformity test: if
every chain sampled the same distribution with *independent* draws, the probability of a
discrepancy between the chains' rank distributions at least as large as the one seen.
MCMC draws are autocorrelated, and on raw draws the test then rejects well-mixed chains
(an AR(1) chain with correlation 0.6 gives p < 0.01 most of the time). So :func:`plot_rank`
and :func:`rank_tests` first thin every chain by the factor that makes its draws roughly
independent (draws per chain over bulk ESS per chain, see :func:`rank_thin_factor`), and
the report's verdict uses the same numbers as the plot.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from scipy.stats import rankdata

from bayes_llm.model.diagnostics import PER_MODEL_VARS

#: Largest number of elements per draw for a variable to be plotted by default.
MAX_ELEMENTS: int = 4


def default_var_names(fit, *, max_elements: int = MAX_ELEMENTS) -> list[str]:
    """Return the fit's low-dimensional, non-constant posterior variables.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    max_elements : int
        Variables with more elements per draw are left out.

    Returns
    -------
    list of str
        In posterior order; never empty (``alpha`` and ``beta`` at least).
    """
    post = fit.dt["posterior"].to_dataset()
    names = []
    for name, da in post.data_vars.items():
        if name in PER_MODEL_VARS or "model" in da.dims:
            continue
        first = da.isel(chain=0, draw=0)
        if first.size > max_elements:
            continue
        if float(da.std(("chain", "draw")).min()) == 0.0:
            continue
        names.append(str(name))
    return names or [n for n in ("alpha", "beta") if n in post]


def _flat(fit, var_names: list[str]) -> pd.DataFrame:
    post = fit.dt["posterior"].to_dataset()
    frames = []
    for name in var_names:
        da = post[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        values = da.transpose("chain", "draw", *extra).to_numpy()
        n_chain, n_draw = values.shape[:2]
        values = values.reshape(n_chain, n_draw, -1)
        labels = [name]
        if extra:
            grids = np.meshgrid(*[da[d].values for d in extra], indexing="ij")
            labels = [f"{name}[{', '.join(str(g.ravel()[i]) for g in grids)}]"
                      for i in range(values.shape[-1])]
        chains, draws = np.meshgrid(da["chain"].values, da["draw"].values, indexing="ij")
        for i, label in enumerate(labels):
            frames.append(pd.DataFrame({"variable": name, "parameter": label,
                                        "chain": chains.ravel(), "draw": draws.ravel(),
                                        "value": values[:, :, i].ravel()}))
    return pd.concat(frames, ignore_index=True)


def trace_data(*, fit, var_names: list[str] | None = None) -> pd.DataFrame:
    """Return the draws behind :func:`plot_trace`.

    Returns
    -------
    DataFrame
        Long format: ``variable``, ``parameter`` (with its coordinate, e.g.
        ``period_effect[2024q3-2025q1]``), ``chain``, ``draw``, ``value``.
    """
    return _flat(fit, var_names or default_var_names(fit))


def rank_data(*, fit, var_names: list[str] | None = None) -> pd.DataFrame:
    """Fractional ranks behind :func:`plot_rank`.

    Each parameter's draws are ranked across all chains together and scaled to (0, 1];
    with good mixing every chain's ranks are uniform.

    Returns
    -------
    DataFrame
        :func:`trace_data` plus ``rank`` (fractional rank).
    """
    frame = trace_data(fit=fit, var_names=var_names)
    frame["rank"] = frame.groupby("parameter")["value"].transform(
        lambda v: rankdata(v) / len(v))
    return frame


def rank_thin_factor(fit, var_names: list[str] | None = None) -> int:
    """Thinning that makes each chain's draws roughly independent for the rank test.

    ``ceil(draws per chain / (smallest bulk ESS / chains))`` over ``var_names``, at least 1,
    and at most what leaves 50 draws per chain.
    """
    names = var_names or default_var_names(fit)
    post = fit.dt["posterior"].to_dataset()[names]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        ess = az.ess(post, method="bulk")
    values = np.concatenate([np.ravel(ess[v].values) for v in ess.data_vars])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return 1
    factor = int(np.ceil(n_draw / (values.min() / n_chain)))
    return int(max(1, min(factor, max(1, n_draw // 50))))


def _thinned_posterior(fit, names: list[str], thin: int | None) -> tuple[xr.Dataset, int]:
    """Return the posterior of ``names`` thinned as the rank test and plot both use it.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    names : list of str
        Posterior variables.
    thin : int, optional
        Thinning factor; default :func:`rank_thin_factor`.

    Returns
    -------
    (Dataset, int)
        Every ``thin``-th draw of each chain, and the factor used.
    """
    factor = rank_thin_factor(fit, names) if thin is None else int(thin)
    post = fit.dt["posterior"].to_dataset()[names].isel(draw=slice(None, None, factor))
    return post, factor


def rank_tests(*, fit, var_names: list[str] | None = None, thin: int | None = None,
               envelope_prob: float | None = None) -> pd.DataFrame:
    """Run the rank plot's multi-chain uniformity test, one row per panel.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    var_names : list of str, optional
        Posterior variables; default :func:`default_var_names`.
    thin : int, optional
        Thinning factor; default :func:`rank_thin_factor`.
    envelope_prob : float, optional
        The plot's envelope probability; ``alpha = 1 - envelope_prob`` is the level at
        which ArviZ marks a panel (default ArviZ's ``stats.envelope_prob``).

    Returns
    -------
    DataFrame
        ``parameter``, ``p_value``, ``alpha``, ``flagged`` (``p_value < alpha``) and
        ``thin``.
    """
    from arviz_base import rcParams

    names = var_names or default_var_names(fit)
    post, factor = _thinned_posterior(fit, names, thin)
    prob = rcParams["stats.envelope_prob"] if envelope_prob is None else envelope_prob
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        ranks = post.azstats.compute_ranks(dim=("chain", "draw"), relative=True)
        p_values = ranks.azstats.mchain_uniformity_test(dim=("chain", "draw"))[0]
    rows = []
    for name in names:
        da = p_values[name]
        if da.ndim == 0:
            rows.append((name, float(da)))
            continue
        stacked = da.stack(_e=list(da.dims))
        for i in range(stacked.sizes["_e"]):
            labels = ", ".join(str(stacked[d].values[i]) for d in da.dims)
            rows.append((f"{name}[{labels}]", float(stacked.values[i])))
    frame = pd.DataFrame(rows, columns=["parameter", "p_value"])
    frame["alpha"] = 1 - prob
    frame["flagged"] = frame["p_value"] < frame["alpha"]
    frame["thin"] = factor
    return frame


def _figure(pc, title: str) -> Figure:
    fig = pc.viz["figure"].item()
    fig.suptitle(title, fontsize=11)
    return fig


def _tree(fit) -> xr.DataTree:
    """Return the fit's posterior (and sample stats, for divergence marks) only."""
    groups = {"posterior": fit.dt["posterior"].to_dataset()}
    if "sample_stats" in fit.dt:
        groups["sample_stats"] = fit.dt["sample_stats"].to_dataset()
    return xr.DataTree.from_dict(groups)


def plot_trace(*, fit, var_names: list[str] | None = None) -> Figure:
    """Trace and marginal density per chain (:func:`arviz.plot_trace_dist`).

    Parameters
    ----------
    fit : Fit
        A fitted model.
    var_names : list of str, optional
        Posterior variables; default :func:`default_var_names`.

    Returns
    -------
    Figure
    """
    names = var_names or default_var_names(fit)
    n_rows = sum(1 for _ in names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pc = az.plot_trace_dist(_tree(fit), var_names=names, backend="matplotlib",
                                figure_kwargs={"figsize": (11, 1.6 * n_rows + 0.8),
                                               "layout": "constrained"})
    return _figure(pc, "Traces and marginal posteriors by chain")


def plot_rank(*, fit, var_names: list[str] | None = None, thin: int | None = None) -> Figure:
    """Rank ECDF-difference plots per chain (:func:`arviz.plot_rank`).

    Chains that mix well stay near zero; each panel's p-value is :func:`rank_tests`' (see
    the module docstring for what it means), computed on draws thinned by ``thin``.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    var_names : list of str, optional
        Posterior variables; default :func:`default_var_names`.
    thin : int, optional
        Keep every ``thin``-th draw; default :func:`rank_thin_factor`.

    Returns
    -------
    Figure
    """
    names = var_names or default_var_names(fit)
    post, factor = _thinned_posterior(fit, names, thin)
    n_panels = sum(int(post[n].isel(chain=0, draw=0).size) for n in names)
    cols = min(4, n_panels)
    rows = int(np.ceil(n_panels / cols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tree = xr.DataTree.from_dict({"posterior": post})
        pc = az.plot_rank(tree, var_names=names, backend="matplotlib",
                          figure_kwargs={"figsize": (3.2 * cols, 2.4 * rows + 0.6),
                                         "layout": "constrained"})
    return _figure(pc, "Rank plots (ECDF difference by chain"
                   + (f", every {factor}th draw)" if factor > 1 else ")"))


__all__ = ["default_var_names", "plot_rank", "plot_trace", "rank_data", "rank_tests",
           "rank_thin_factor", "trace_data"]
