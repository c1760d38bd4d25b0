"""Shared helpers of the derived quantities: the fit interface, intervals and probabilities.

Every derived quantity is an ``xarray`` object with the sample dims ``(chain, draw)`` of
the posterior it came from. It is summarised by its posterior median and an interval of
the project's one setting, :data:`bayes_llm.constants.HDI_PROB` and
:data:`bayes_llm.constants.CI_KIND` (a 94% HDI), computed by ArviZ with those values
passed explicitly (never ArviZ's defaults).
"""

from __future__ import annotations

from typing import Protocol

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENT_VARIABLES, COMPONENTS, linear_components
from bayes_llm.model.design import OUTCOMES
from bayes_llm.model.spec import ModelSpec

#: The sample dimensions of every posterior quantity.
SAMPLE_DIMS: tuple[str, str] = ("chain", "draw")


class FitLike(Protocol):
    """What the derived quantities need from a fit (:class:`bayes_llm.model.Fit` has it).

    ``dt`` holds ``posterior``, ``constant_data`` (and ``observed_data`` without ``eta``);
    ``models`` lists the models in model order with ``model_id``, ``developer``,
    ``developer_group``, ``is_major``, ``cohort``, ``period``, ``developer_unit``,
    ``log10_flop`` and the outcome's accuracy and logit columns.
    """

    spec: ModelSpec
    dt: xr.DataTree
    models: pd.DataFrame


def score_columns(spec: ModelSpec) -> tuple[str, str]:
    """Return the (accuracy, logit) columns of the spec's outcome, e.g. ``mmlu_pro_acc``."""
    acc_col, logit_col, _, _ = OUTCOMES[spec.outcome]
    return acc_col, logit_col


def period_levels(fit: FitLike) -> list[str]:
    """Return the fit's period labels, in order (the first is the reference period)."""
    return [str(p) for p in fit.dt["posterior"]["period_effect"].coords["period"].values]


def check_models(fit: FitLike, model_ids: list[str] | tuple[str, ...]) -> None:
    """Raise a one-line error naming every model id that is not in the fit."""
    known = set(fit.models["model_id"].astype(str))
    missing = [m for m in model_ids if m not in known]
    if missing:
        raise BayesLLMError(f"model(s) {', '.join(missing)} not in the fit "
                            f"'{fit.spec.name}' ({len(known)} models)")


def stacked_components(fit: FitLike,
                       components: xr.DataArray | None = None) -> xr.DataArray:
    """Stack the four components per draw and model along a ``component`` dim.

    The ``model`` component is computed here as ``latent score - intercept - compute -
    period - developer`` (the definition of :mod:`bayes_llm.model.components`), so the
    four add up to the latent score less the intercept exactly, draw by draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    components : DataArray, optional
        An already stacked result of this function (returned unchanged); lets callers
        compute it once and share it.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, model, component)`` over
        :data:`bayes_llm.model.components.COMPONENTS`.
    """
    if components is not None:
        return components
    comps = linear_components(fit.dt)
    stacked = xr.concat([comps[COMPONENT_VARIABLES[c]].reset_coords(drop=True)
                         for c in COMPONENTS],
                        dim=pd.Index(list(COMPONENTS), name="component"))
    return stacked.transpose(*SAMPLE_DIMS, "model", "component")


def interval(da: xr.DataArray, *, prob: float = HDI_PROB, kind: str = CI_KIND,
             log10: bool = False) -> xr.DataArray:
    """Credible interval over ``(chain, draw)`` at the project's setting.

    Parameters
    ----------
    da : DataArray
        Draws with dims ``(chain, draw, ...)``.
    prob : float
        Interval probability (default :data:`HDI_PROB`).
    kind : {"hdi", "eti"}
        Highest-density or equal-tailed (default :data:`CI_KIND`).
    log10 : bool
        Compute the interval of ``log10(da)`` and transform back: used for multipliers,
        whose posterior is skewed on the multiplier scale but near-symmetric on the
        log-compute scale (the HDI is not invariant to transformation; this choice makes
        the multiplier's interval the image of the log10-multiplier's interval).

    Returns
    -------
    DataArray
        With a ``ci_bound`` dim (``lower``, ``upper``).
    """
    if kind not in ("hdi", "eti"):
        raise BayesLLMError(f"unknown interval kind '{kind}'; choose 'hdi' or 'eti'")
    values = np.log10(da) if log10 else da
    func = az.hdi if kind == "hdi" else az.eti
    out = func(values, prob=prob, dim=list(SAMPLE_DIMS))
    return 10.0**out if log10 else out


def summarise_draws(da: xr.DataArray, *, prob: float = HDI_PROB, kind: str = CI_KIND,
                    log10: bool = False, hdi_prob: float | None = None,
                    ci_kind: str | None = None) -> dict[str, float]:
    """Median and interval of a scalar-per-draw quantity.

    ``hdi_prob`` and ``ci_kind`` (when not None) override ``prob`` and ``kind``.

    Returns
    -------
    dict
        ``median``, ``lower``, ``upper`` (NaN when any draw is not finite).
    """
    prob = prob if hdi_prob is None else hdi_prob
    kind = kind if ci_kind is None else ci_kind
    values = np.asarray(da, dtype=float)
    nan = float("nan")
    if values.size == 0 or not np.all(np.isfinite(values)) or (log10 and np.any(values <= 0)):
        return {"median": float(np.median(values)) if values.size else nan,
                "lower": nan, "upper": nan}
    bounds = interval(da, prob=prob, kind=kind, log10=log10)
    return {"median": float(da.median(list(SAMPLE_DIMS))),
            "lower": float(bounds.sel(ci_bound="lower")),
            "upper": float(bounds.sel(ci_bound="upper"))}


def summary_frame(da: xr.DataArray, dim: str, *, prob: float = HDI_PROB, kind: str = CI_KIND,
                  log10: bool = False) -> pd.DataFrame:
    """Median and interval of every entry of ``da`` along ``dim``, one row per entry."""
    rows = []
    for label in da.coords[dim].values:
        rows.append({dim: label, **summarise_draws(da.sel({dim: label}), prob=prob, kind=kind,
                                                   log10=log10)})
    return pd.DataFrame(rows, columns=[dim, "median", "lower", "upper"])


def probability(event: xr.DataArray) -> float:
    """Posterior probability of a boolean event: the share of draws where it holds."""
    return float(np.asarray(event, dtype=float).mean())


def broadcast_like_draws(value: float | np.ndarray, like: xr.DataArray) -> xr.DataArray:
    """Return a constant (or ``(chain, draw)`` array) on ``like``'s sample dims."""
    template = like.isel({d: 0 for d in like.dims if d not in SAMPLE_DIMS}, drop=True)
    return xr.zeros_like(template, dtype=float) + value


__all__ = ["SAMPLE_DIMS", "FitLike", "broadcast_like_draws", "check_models", "interval",
           "period_levels", "probability", "score_columns", "stacked_components",
           "summarise_draws", "summary_frame"]
