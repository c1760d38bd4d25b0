"""Prior and posterior predictive checks on the accuracy scale.

Inputs are the trees of :func:`bayes_llm.model.predictive.prior_predictive` and
:func:`~bayes_llm.model.predictive.posterior_predictive`, which carry each replicated
score as raw benchmark ``accuracy`` (guessing floor included).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from bayes_llm.derived.summary import interval_label
from bayes_llm.model.predictive import interval, predictive_bands, predictive_draws
from bayes_llm.plots._style import new_figure

#: Histogram bins of accuracy in :func:`plot_predictive_check`.
ACCURACY_BINS: int = 30
PRED_COLOUR = "#4c72b0"
OBS_COLOUR = "#111111"


def _group(pred: xr.DataTree) -> str:
    return "prior_predictive" if "prior_predictive" in pred else "posterior_predictive"


def _title(pred: xr.DataTree) -> str:
    group = _group(pred)
    what = "Prior" if group == "prior_predictive" else "Posterior"
    extra = ""
    if group == "posterior_predictive":
        extra = (" (new models: latent ability redrawn)" if pred.attrs.get("new_models")
                 else " (fitted models: outcome noise only)")
    return f"{what} predictive check{extra}"


def _histograms(acc: np.ndarray, obs: np.ndarray, bins: int) -> pd.DataFrame:
    edges = np.linspace(0.0, 1.0, bins + 1)
    width = np.diff(edges)
    observed = np.histogram(obs, edges)[0] / (len(obs) * width)
    sims = np.stack([np.histogram(row, edges)[0] for row in acc]) / (acc.shape[1] * width)
    lo, hi = interval(sims, axis=0)
    return pd.DataFrame({"panel": "histogram", "bin_left": edges[:-1], "bin_right": edges[1:],
                         "observed_density": observed,
                         "median": np.median(sims, axis=0),
                         "hdi_lower": lo, "hdi_upper": hi})


def predictive_check_data(*, pred: xr.DataTree, n_bins: int = 12,
                          accuracy_bins: int = ACCURACY_BINS) -> pd.DataFrame:
    """Return the data behind :func:`plot_predictive_check`.

    Parameters
    ----------
    pred : DataTree
        A prior or posterior predictive tree (with ``accuracy``).
    n_bins : int
        Equal-count compute bins of the left panel.
    accuracy_bins : int
        Histogram bins of accuracy (right panel).

    Returns
    -------
    DataFrame
        ``panel == "compute"``: the rows of
        :func:`bayes_llm.model.predictive.predictive_bands`; ``panel == "histogram"``:
        per accuracy bin, the observed density and the predictive median and interval
        of the density across draws.
    """
    acc, obs, _ = predictive_draws(pred)
    bands = predictive_bands(pred, n_bins=n_bins).assign(panel="compute")
    hist = _histograms(acc, obs, accuracy_bins)
    return pd.concat([bands, hist], ignore_index=True)


def plot_predictive_check(*, pred: xr.DataTree, n_bins: int = 12,
                          accuracy_bins: int = ACCURACY_BINS) -> Figure:
    """Predictive accuracy against compute, and the distribution of accuracy.

    Left: the predictive median, 50% and :data:`~bayes_llm.constants.HDI_PROB` intervals
    of a model's accuracy in bins of compute, with the observed models and their bin
    medians. Right: the observed histogram of accuracy against the predictive median
    and interval of the histogram. The guessing floor is dashed.

    Parameters
    ----------
    pred : DataTree
        A prior or posterior predictive tree.
    n_bins, accuracy_bins : int
        See :func:`predictive_check_data`.

    Returns
    -------
    Figure
    """
    data = predictive_check_data(pred=pred, n_bins=n_bins, accuracy_bins=accuracy_bins)
    _, obs, x = predictive_draws(pred)
    guess = float(pred.attrs.get("guess_rate", 0.0))
    bands = data[data["panel"] == "compute"]
    hist = data[data["panel"] == "histogram"]
    fig = new_figure((11, 4.2))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    ax1.scatter(x, obs, s=6, color="#999999", alpha=0.5, label="observed models", zorder=2)
    ax1.fill_between(bands["log10_flop"], bands["hdi_lower"], bands["hdi_upper"],
                     color=PRED_COLOUR, alpha=0.2, label=f"predictive {interval_label()}", zorder=1)
    ax1.fill_between(bands["log10_flop"], bands["q25"], bands["q75"], color=PRED_COLOUR,
                     alpha=0.35, label="predictive 50%", zorder=1)
    ax1.plot(bands["log10_flop"], bands["median"], color=PRED_COLOUR, lw=2,
             label="predictive median", zorder=3)
    ax1.plot(bands["log10_flop"], bands["observed_median"], "s-", color=OBS_COLOUR, ms=4,
             lw=1.2, label="observed bin median", zorder=4)
    if guess > 0:
        ax1.axhline(guess, color="black", ls="--", lw=0.8)
        ax2.axvline(guess, color="black", ls="--", lw=0.8, label="guessing floor")
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("log10 training FLOP")
    ax1.set_ylabel("accuracy")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7, loc="upper left")
    centres = (hist["bin_left"] + hist["bin_right"]) / 2
    ax2.fill_between(centres, hist["hdi_lower"], hist["hdi_upper"], step="mid",
                     color=PRED_COLOUR, alpha=0.25, label=f"predictive {interval_label()}")
    ax2.step(centres, hist["median"], where="mid", color=PRED_COLOUR, lw=1.8,
             label="predictive median")
    ax2.step(centres, hist["observed_density"], where="mid", color=OBS_COLOUR, lw=1.8,
             label="observed")
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("accuracy")
    ax2.set_ylabel("density across models")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle(_title(pred), fontsize=11)
    return fig


def ppc_dist_data(*, pred: xr.DataTree, num_samples: int = 50,
                  seed: int = 0) -> pd.DataFrame:
    """Accuracy of the replicated draws shown by :func:`plot_ppc_dist`, and the data.

    Returns
    -------
    DataFrame
        ``source`` (``"observed"`` or ``"predictive"``), ``sample`` (draw index, -1 for
        the data), ``model_id`` and ``accuracy``.
    """
    acc, obs, _ = predictive_draws(pred)
    group = _group(pred)
    models = [str(m) for m in pred[group]["accuracy"].coords["model"].values]
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(acc.shape[0], size=min(num_samples, acc.shape[0]), replace=False))
    frames = [pd.DataFrame({"source": "observed", "sample": -1, "model_id": models,
                            "accuracy": obs})]
    for s in take:
        frames.append(pd.DataFrame({"source": "predictive", "sample": int(s),
                                    "model_id": models, "accuracy": acc[s]}))
    return pd.concat(frames, ignore_index=True)


def plot_ppc_dist(*, pred: xr.DataTree, num_samples: int = 50) -> Figure:
    """ArviZ's predictive density overlay (:func:`arviz.plot_ppc_dist`) of accuracy.

    Parameters
    ----------
    pred : DataTree
        A prior or posterior predictive tree.
    num_samples : int
        Replicated data sets drawn.

    Returns
    -------
    Figure
    """
    group = _group(pred)
    pc = az.plot_ppc_dist(pred, var_names=["accuracy"], group=group, num_samples=num_samples,
                          backend="matplotlib",
                          figure_kwargs={"figsize": (7, 3.2), "layout": "constrained"})
    fig = pc.viz["figure"].item()
    fig.suptitle(_title(pred), fontsize=10)
    return fig


__all__ = ["plot_ppc_dist", "plot_predictive_check", "ppc_dist_data", "predictive_check_data"]
