"""Frontier compute share: how much of frontier progress is due to scaling, per draw.

Three documented definitions, each computed draw by draw from the components of
:mod:`bayes_llm.model.components` (``latent score = intercept + compute + period +
developer + model``, see :func:`bayes_llm.derived.summary.stacked_components`; the
latent score is the binomial ``eta`` or, for logit-normal and Student-t fits, the
observed logit ``y``):

(a) **Pairwise progress** for models A -> B (the paper's Table 1 method). The change in
    latent score ``d_eta = eta_B - eta_A`` splits exactly into ``d compute`` (scaling:
    ``beta * d log10 C`` plus any slope extensions), ``d period`` (shared algorithmic
    progress), ``d developer`` and ``d model`` (the model-level effect; the paper's
    residual). Each share is ``component / d_eta``; the four sum to one. Shares can be
    negative or exceed one when components pull in opposite directions (the paper's
    Llama-2-70B -> GPT-4.5 scaling share is 113.5%).
(b) **Explained part only**: the same, leaving the model-level effect out, i.e.
    ``component / (d compute + d period + d developer)``; the three sum to one.
(c) **Against a reference model**: for each frontier model (default: every period's
    best-scoring model), the gain over a hypothetical reference model with compute
    ``reference_log10_flop`` (default: the median compute of the first period's models),
    released in the first period, from the average developer (unweighted mean of the
    developer effects) and with a model-level effect of zero. The compute part is
    ``slope_ref * (x_i - x_ref)`` for a plain model (``compute_i - slope_ref * x_ref`` in
    general, with ``slope_ref = beta + mean developer slope + first-period slope
    deviation``). The share depends on the reference; :func:`reference_sensitivity`
    tabulates it over a grid of reference computes.

Model-id pairs default to the best-scoring model (by the outcome's accuracy) of the first
cohort against that of the last cohort: on the paper's 809 models this is
``meta-llama__Llama-2-70b-hf`` -> ``GPT-4.5``, the paper's own example.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
from bayes_llm.derived.summary import (
    FitLike,
    check_models,
    period_levels,
    score_columns,
    stacked_components,
    summarise_draws,
)
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENTS
from bayes_llm.model.curve import compute_effect

#: The components that a fit's mean structure explains (definition (b) leaves ``model`` out).
EXPLAINED_COMPONENTS: tuple[str, ...] = ("compute", "period", "developer")


def shares_of(values: xr.DataArray) -> xr.Dataset:
    """Turn component values into shares of their total, all and explained-only.

    Parameters
    ----------
    values : DataArray
        With a ``component`` dim over :data:`bayes_llm.model.components.COMPONENTS`.

    Returns
    -------
    Dataset
        ``value`` (the input), ``total`` (sum over components), ``share``
        (``value / total``, sums to one), ``explained_total`` and ``explained_share``
        (over compute, period, developer only; NaN for ``model``; sums to one).
    """
    total = values.sum("component")
    explained = values.sel(component=list(EXPLAINED_COMPONENTS))
    explained_total = explained.sum("component")
    explained_share = (explained / explained_total).reindex(component=values["component"])
    return xr.Dataset({"value": values, "total": total, "share": values / total,
                       "explained_total": explained_total,
                       "explained_share": explained_share})


def _best_model(frame: pd.DataFrame, score: str) -> str:
    scores = frame[score].astype(float)
    if scores.notna().sum() == 0:
        raise BayesLLMError("no model with a score to pick the frontier from")
    return str(frame.loc[scores.idxmax(), "model_id"])


def default_frontier_pair(fit: FitLike) -> tuple[str, str]:
    """Best-scoring model of the first cohort and of the last cohort.

    Cohorts are the ``cohort`` column of ``fit.models`` (the fit's ``period`` column when
    there is none); "best" is the highest accuracy of the spec's outcome.
    """
    models = fit.models
    column = "cohort" if "cohort" in models else "period"
    acc_col, _ = score_columns(fit.spec)
    labels = models[column].astype(str)
    levels = sorted(labels.unique())
    return (_best_model(models[labels == levels[0]], acc_col),
            _best_model(models[labels == levels[-1]], acc_col))


def pair_label(model_a: str, model_b: str) -> str:
    """Return the label of a pair, as in the baseline's pairwise table: ``"A -> B"``."""
    return f"{model_a} -> {model_b}"


def pair_decomposition(fit: FitLike, pairs: Sequence[tuple[str, str]] | None = None, *,
                       components: xr.DataArray | None = None) -> xr.Dataset:
    """Definitions (a) and (b): decompose the latent-score change of model pairs, per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    pairs : sequence of (model_id, model_id), optional
        Pairs A -> B; default ``[default_frontier_pair(fit)]``.
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    Dataset
        Dims ``(chain, draw, pair, component)``, see :func:`shares_of`: ``share`` is
        definition (a), ``explained_share`` definition (b), ``total`` the change in latent
        score. Coordinates ``model_a`` and ``model_b`` along ``pair``.

    Raises
    ------
    BayesLLMError
        A model id is not in the fit.
    """
    pairs = [default_frontier_pair(fit)] if pairs is None else [tuple(p) for p in pairs]
    if not pairs:
        raise BayesLLMError("no pairs to decompose")
    check_models(fit, [m for pair in pairs for m in pair])
    stacked = stacked_components(fit, components)
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    labels = pd.Index([pair_label(x, y) for x, y in pairs], name="pair")
    va = stacked.sel(model=a).drop_vars("model").rename(model="pair")
    vb = stacked.sel(model=b).drop_vars("model").rename(model="pair")
    values = (vb - va).assign_coords(pair=labels)
    out = shares_of(values)
    return out.assign_coords(model_a=("pair", a), model_b=("pair", b))


def frontier_models(fit: FitLike) -> pd.DataFrame:
    """Each period's best-scoring model (the fit's periods, in order).

    Returns
    -------
    DataFrame
        ``period``, ``model_id``, ``log10_flop`` and the outcome's accuracy, one row per
        period that has models.
    """
    acc_col, _ = score_columns(fit.spec)
    models = fit.models
    rows = []
    for period in period_levels(fit):
        sub = models[models["period"].astype(str) == period]
        if sub.empty or sub[acc_col].notna().sum() == 0:
            continue
        best = _best_model(sub, acc_col)
        row = sub[sub["model_id"].astype(str) == best].iloc[0]
        rows.append({"period": period, "model_id": best,
                     "log10_flop": float(row["log10_flop"]), acc_col: float(row[acc_col])})
    return pd.DataFrame(rows, columns=["period", "model_id", "log10_flop", acc_col])


def default_reference_compute(fit: FitLike) -> float:
    """Median log10 FLOP of the first period's models (the reference model's compute)."""
    first = period_levels(fit)[0]
    models = fit.models
    values = models.loc[models["period"].astype(str) == first, "log10_flop"].astype(float)
    if values.empty:
        values = models["log10_flop"].astype(float)
    return float(np.median(values))


def _reference_developer(post: xr.Dataset, reference: str) -> xr.DataArray | float:
    if "developer_effect" not in post:
        return 0.0
    effects = post["developer_effect"]
    if reference == "mean":
        return effects.mean("developer")
    units = [str(u) for u in effects.coords["developer"].values]
    if reference not in units:
        raise BayesLLMError(f"reference developer '{reference}' is not a developer unit of "
                            f"the fit; use 'mean' or one of: {', '.join(units[:10])}"
                            + (" ..." if len(units) > 10 else ""))
    return effects.sel(developer=reference).drop_vars("developer")


def reference_parts(fit: FitLike, reference_log10_flop: float, *,
                    reference_developer: str = "mean") -> xr.DataArray:
    """Return the reference model's compute, period, developer and model parts per draw.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, component)``; the ``model`` part is zero.
    """
    post = fit.dt["posterior"].to_dataset()
    first = period_levels(fit)[0]
    slope = post["beta"]
    if "developer_slope" in post:
        slope = slope + post["developer_slope"].mean("developer")
    if "compute_period_slope" in post:
        slope = slope + post["compute_period_slope"].sel(period=first, drop=True)
    x_ref = float(reference_log10_flop) - fit.spec.compute_centre
    compute = slope * x_ref
    if "compute_slope" in post:  # monotone compute curve: f(x_ref), not beta * x_ref
        compute = compute_effect(fit.dt, x_ref)
    period = post["period_effect"].sel(period=first, drop=True)
    developer = xr.zeros_like(compute) + _reference_developer(post, reference_developer)
    model = xr.zeros_like(compute)
    parts = xr.concat([compute, period, developer, model],
                      dim=pd.Index(list(COMPONENTS), name="component"))
    return parts.transpose("chain", "draw", "component")


def reference_decomposition(fit: FitLike, models: Sequence[str] | None = None, *,
                            reference_log10_flop: float | None = None,
                            reference_developer: str = "mean",
                            components: xr.DataArray | None = None) -> xr.Dataset:
    """Definition (c): each frontier model's gain over a reference model, per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    models : sequence of str, optional
        Model ids; default the frontier models (:func:`frontier_models`).
    reference_log10_flop : float, optional
        The reference model's log10 FLOP; default :func:`default_reference_compute`.
    reference_developer : str
        ``"mean"`` (the unweighted average developer effect, default) or a developer unit.
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    Dataset
        Dims ``(chain, draw, model, component)``, see :func:`shares_of`; ``share`` is the
        compute (etc.) share of the gain ``total`` over the reference model. Attributes
        record the reference.
    """
    model_ids = (frontier_models(fit)["model_id"].tolist() if models is None
                 else [str(m) for m in models])
    check_models(fit, model_ids)
    if reference_log10_flop is None:
        reference_log10_flop = default_reference_compute(fit)
    stacked = stacked_components(fit, components).sel(model=model_ids)
    ref = reference_parts(fit, reference_log10_flop, reference_developer=reference_developer)
    out = shares_of(stacked - ref)
    out.attrs.update({"reference_log10_flop": float(reference_log10_flop),
                      "reference_period": period_levels(fit)[0],
                      "reference_developer": reference_developer,
                      "reference_model_effect": 0.0})
    return out


def reference_sensitivity(fit: FitLike, reference_grid: Sequence[float] | None = None, *,
                          model: str | None = None, reference_developer: str = "mean",
                          prob: float = HDI_PROB, kind: str = CI_KIND,
                          components: xr.DataArray | None = None) -> pd.DataFrame:
    """How definition (c) depends on the reference model's compute.

    Parameters
    ----------
    fit : FitLike
        A fit.
    reference_grid : sequence of float, optional
        Reference log10 FLOP values; default nine points from the smallest to the largest
        compute in the fit.
    model : str, optional
        The frontier model; default the last period's best-scoring model.
    reference_developer : str
        As in :func:`reference_decomposition`.
    prob, kind
        Interval setting (default the project's 94% HDI).
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    DataFrame
        One row per reference compute: ``reference_log10_flop``, ``model``, then median and
        interval of the compute share (``share_*``) and of the explained-only compute share
        (``explained_share_*``).
    """
    if model is None:
        model = frontier_models(fit)["model_id"].iloc[-1]
    if reference_grid is None:
        x = fit.models["log10_flop"].astype(float)
        reference_grid = np.round(np.linspace(x.min(), x.max(), 9), 2)
    comps = stacked_components(fit, components)
    rows = []
    for ref in reference_grid:
        dec = reference_decomposition(fit, [model], reference_log10_flop=float(ref),
                                      reference_developer=reference_developer,
                                      components=comps)
        share = summarise_draws(dec["share"].sel(model=model, component="compute"),
                                prob=prob, kind=kind)
        expl = summarise_draws(dec["explained_share"].sel(model=model, component="compute"),
                               prob=prob, kind=kind)
        rows.append({"reference_log10_flop": float(ref), "model": model,
                     **{f"share_{k}": v for k, v in share.items()},
                     **{f"explained_share_{k}": v for k, v in expl.items()}})
    return pd.DataFrame(rows)


__all__ = ["EXPLAINED_COMPONENTS", "default_frontier_pair", "default_reference_compute",
           "frontier_models", "pair_decomposition", "pair_label", "reference_decomposition",
           "reference_parts", "reference_sensitivity", "shares_of"]
