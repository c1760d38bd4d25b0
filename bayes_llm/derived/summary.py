"""Shared helpers of the derived quantities: the fit interface, intervals and probabilities.

Every derived quantity is an ``xarray`` object with the sample dims ``(chain, draw)`` of
the posterior it came from. It is summarised by its posterior median and a credible
interval. The interval is a choice: every summarising function takes ``hdi_prob`` and
``ci_kind`` keywords; left at ``None`` they fall back to the project's one setting,
:data:`bayes_llm.constants.HDI_PROB` and :data:`bayes_llm.constants.CI_KIND` (a 94% HDI),
read when the function is *called* (so changing the constants after import takes effect).
ArviZ always receives the values explicitly (never its own defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm import constants
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENT_VARIABLES, COMPONENTS, linear_components
from bayes_llm.model.design import OUTCOMES
from bayes_llm.model.spec import ModelSpec

#: The sample dimensions of every posterior quantity.
SAMPLE_DIMS: tuple[str, str] = ("chain", "draw")
#: The interval kinds ArviZ offers: highest-density and equal-tailed.
CI_KINDS: tuple[str, str] = ("hdi", "eti")


def resolve_interval(hdi_prob: float | None = None,
                     ci_kind: str | None = None) -> tuple[float, str]:
    """Return the interval setting to use: the arguments, or the project's constants.

    Parameters
    ----------
    hdi_prob : float, optional
        Interval probability in (0, 1); ``None`` reads
        :data:`bayes_llm.constants.HDI_PROB` now (at call time, not import time).
    ci_kind : {"hdi", "eti"}, optional
        Interval kind; ``None`` reads :data:`bayes_llm.constants.CI_KIND` now.

    Returns
    -------
    tuple
        ``(prob, kind)``, validated.

    Raises
    ------
    BayesLLMError
        One line naming the bad value.
    """
    prob = constants.HDI_PROB if hdi_prob is None else hdi_prob
    kind = constants.CI_KIND if ci_kind is None else str(ci_kind).lower()
    try:
        prob = float(prob)
    except (TypeError, ValueError):
        raise BayesLLMError(f"interval probability {prob!r} is not a number") from None
    if not (0.0 < prob < 1.0) or not np.isfinite(prob):
        raise BayesLLMError(f"interval probability {prob!r} must lie strictly between 0 and 1")
    if kind not in CI_KINDS:
        raise BayesLLMError(f"unknown interval kind '{kind}'; choose 'hdi' or 'eti'")
    return prob, kind


@contextmanager
def interval_setting(hdi_prob: float | None = None,
                     ci_kind: str | None = None) -> Iterator[tuple[float, str]]:
    """Use another interval as the project's setting inside a ``with`` block.

    Every table, plot and report made inside the block (anything that leaves ``hdi_prob``
    and ``ci_kind`` at ``None``) uses it; the command line's ``--hdi-prob`` and
    ``--ci-kind`` work this way. ``None`` keeps the current value.

    Examples
    --------
    >>> with interval_setting(0.9, "eti"):  # doctest: +SKIP
    ...     table = headline_table(fit)
    """
    prob, kind = resolve_interval(hdi_prob, ci_kind)
    saved = constants.HDI_PROB, constants.CI_KIND
    constants.HDI_PROB, constants.CI_KIND = prob, kind
    try:
        yield prob, kind
    finally:
        constants.HDI_PROB, constants.CI_KIND = saved


def interval_label(hdi_prob: float | None = None, ci_kind: str | None = None) -> str:
    """Human label of an interval setting, e.g. ``"94% HDI"`` or ``"89.5% ETI"``."""
    prob, kind = resolve_interval(hdi_prob, ci_kind)
    pct = f"{prob * 100:.1f}".rstrip("0").rstrip(".")
    return f"{pct}% {kind.upper()}"


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


def interval(da: xr.DataArray, *, hdi_prob: float | None = None, ci_kind: str | None = None,
             log10: bool = False, prob: float | None = None,
             kind: str | None = None) -> xr.DataArray:
    """Credible interval over ``(chain, draw)``.

    Parameters
    ----------
    da : DataArray
        Draws with dims ``(chain, draw, ...)``.
    hdi_prob : float, optional
        Interval probability (``None``: :data:`bayes_llm.constants.HDI_PROB` at call time).
    ci_kind : {"hdi", "eti"}, optional
        Highest-density or equal-tailed (``None``: :data:`bayes_llm.constants.CI_KIND`).
    log10 : bool
        Compute the interval of ``log10(da)`` and transform back: used for multipliers,
        whose posterior is skewed on the multiplier scale but near-symmetric on the
        log-compute scale (the HDI is not invariant to transformation; this choice makes
        the multiplier's interval the image of the log10-multiplier's interval).
    prob, kind
        Older spellings of ``hdi_prob`` and ``ci_kind``.

    Returns
    -------
    DataArray
        With a ``ci_bound`` dim (``lower``, ``upper``).
    """
    prob, kind = resolve_interval(_pick(hdi_prob, prob), _pick(ci_kind, kind))
    values = np.log10(da) if log10 else da
    from bayes_llm.model.draw_stats import eti_bounds, hdi_bounds

    other = [d for d in values.dims if d not in SAMPLE_DIMS]
    flat = values.transpose(*other, *SAMPLE_DIMS).values
    flat = flat.reshape(*flat.shape[: len(other)], -1)
    bounds = (hdi_bounds if kind == "hdi" else eti_bounds)(flat, prob)
    bound = xr.DataArray(["lower", "upper"], dims="ci_bound",
                         attrs={"ci_kind": kind, "ci_prob": prob})
    coords = {name: coord for name, coord in values.coords.items()
              if not set(coord.dims) & set(SAMPLE_DIMS)}
    out = xr.DataArray(bounds, dims=(*other, "ci_bound"), coords=coords,
                       name=values.name).assign_coords(ci_bound=bound)
    return 10.0**out if log10 else out


def _pick(new, old):
    """Return the new keyword if given, else its older spelling (``None``: the constant)."""
    return old if new is None else new


def summarise_draws(da: xr.DataArray, *, hdi_prob: float | None = None,
                    ci_kind: str | None = None, log10: bool = False,
                    prob: float | None = None, kind: str | None = None) -> dict[str, float]:
    """Median and interval of a scalar-per-draw quantity.

    Parameters
    ----------
    da : DataArray
        Draws with dims ``(chain, draw)``.
    hdi_prob : float, optional
        Interval probability (``None``: :data:`bayes_llm.constants.HDI_PROB` at call time).
    ci_kind : {"hdi", "eti"}, optional
        Interval kind (``None``: :data:`bayes_llm.constants.CI_KIND` at call time).
    log10 : bool
        Interval of ``log10(da)``, transformed back (see :func:`interval`).
    prob, kind
        Older spellings of ``hdi_prob`` and ``ci_kind``.

    Returns
    -------
    dict
        ``median``, ``lower``, ``upper`` (NaN when any draw is not finite).
    """
    prob, kind = resolve_interval(_pick(hdi_prob, prob), _pick(ci_kind, kind))
    values = np.asarray(da, dtype=float)
    nan = float("nan")
    if values.size == 0 or not np.all(np.isfinite(values)) or (log10 and np.any(values <= 0)):
        return {"median": float(np.median(values)) if values.size else nan,
                "lower": nan, "upper": nan}
    bounds = interval(da, hdi_prob=prob, ci_kind=kind, log10=log10)
    return {"median": float(da.median(list(SAMPLE_DIMS))),
            "lower": float(bounds.sel(ci_bound="lower")),
            "upper": float(bounds.sel(ci_bound="upper"))}


def summary_frame(da: xr.DataArray, dim: str, *, hdi_prob: float | None = None,
                  ci_kind: str | None = None, log10: bool = False,
                  prob: float | None = None, kind: str | None = None) -> pd.DataFrame:
    """Median and interval of every entry of ``da`` along ``dim``, one row per entry.

    ``hdi_prob``/``ci_kind`` as in :func:`summarise_draws` (``None``: the constants).
    """
    prob, kind = resolve_interval(_pick(hdi_prob, prob), _pick(ci_kind, kind))
    rows = []
    for label in da.coords[dim].values:
        rows.append({dim: label, **summarise_draws(da.sel({dim: label}), hdi_prob=prob,
                                                   ci_kind=kind, log10=log10)})
    return pd.DataFrame(rows, columns=[dim, "median", "lower", "upper"])


def probability(event: xr.DataArray) -> float:
    """Posterior probability of a boolean event: the share of draws where it holds."""
    return float(np.asarray(event, dtype=float).mean())


def broadcast_like_draws(value: float | np.ndarray, like: xr.DataArray) -> xr.DataArray:
    """Return a constant (or ``(chain, draw)`` array) on ``like``'s sample dims."""
    template = like.isel({d: 0 for d in like.dims if d not in SAMPLE_DIMS}, drop=True)
    return xr.zeros_like(template, dtype=float) + value


__all__ = ["CI_KINDS", "SAMPLE_DIMS", "FitLike", "broadcast_like_draws", "check_models",
           "interval", "interval_label", "interval_setting", "period_levels", "probability",
           "resolve_interval", "score_columns", "stacked_components", "summarise_draws", "summary_frame"]
