"""MCMC diagnostic plots: trace and marginal densities, and rank (ECDF-difference) plots.

Both use ArviZ 1.x (:func:`arviz.plot_trace_dist`, :func:`arviz.plot_rank`) on the fit's
low-dimensional parameters (intercept, slope, scales, period effects...). Per-model
latent effects and long vectors of developer effects are summarised by the diagnostics
table (:attr:`bayes_llm.model.Fit.diagnostics`) instead.
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
    return _figure(pc, f"'{fit.spec.name}': traces and marginal posteriors by chain")


def plot_rank(*, fit, var_names: list[str] | None = None) -> Figure:
    """Rank ECDF-difference plots per chain (:func:`arviz.plot_rank`).

    Chains that mix well stay inside the simultaneous envelope.

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
    post = fit.dt["posterior"]
    n_panels = sum(int(post[n].isel(chain=0, draw=0).size) for n in names)
    cols = min(4, n_panels)
    rows = int(np.ceil(n_panels / cols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pc = az.plot_rank(_tree(fit), var_names=names, backend="matplotlib",
                          figure_kwargs={"figsize": (3.2 * cols, 2.4 * rows + 0.6),
                                         "layout": "constrained"})
    return _figure(pc, f"'{fit.spec.name}': rank plots (ECDF difference by chain)")


__all__ = ["default_var_names", "plot_rank", "plot_trace", "rank_data", "trace_data"]
