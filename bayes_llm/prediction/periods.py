"""Place new rows among a fit's periods, compared as dates, and extrapolate period terms.

Every fitted period label is turned into an integer position on its calendar (quarters and
months: their calendar ordinal; cohorts: their index in :data:`bayes_llm.constants.
PAPER_COHORTS`), never sorted as text. A row is anchored at the latest fitted period at or
before its own and lies ``h`` steps after it:

* inside a fitted period: ``h = 0``, the period's own effect;
* after the last fitted period, or in a gap the fit has no models for: ``h >= 1`` steps,
  extrapolated by :func:`period_term` (the rule is documented in ``models/README.md``);
* before the first fitted period: :class:`PeriodBeforeFitError` naming the row.

A fit with a within-period trend (``period_trend``) adds ``tau`` times the years from the
row's release month to the midpoint of its anchor period: inside a fitted period, its own
midpoint (the model's term); after the last one, the trend continued from the last
period's midpoint, on top of the anchor's effect and the added variance above.

Cohort steps beyond the paper's last cohort are cohort lengths: a month ``m`` months after
the end of the last cohort lies ``ceil(m / L)`` steps after it, ``L`` the length of that
cohort in months (9 for 2024-07 to 2025-03).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import cohort_spans, years_from_period_midpoint


class PeriodBeforeFitError(BayesLLMError):
    """A row to predict was released before the first period of the fit."""


class PeriodExtrapolationError(BayesLLMError):
    """A row needs a period the fit cannot extrapolate to (e.g. a fit with one period)."""


@dataclass(frozen=True)
class PeriodPlacement:
    """Where each row lies relative to the fitted periods.

    Attributes
    ----------
    label : ndarray of str
        The row's own period label (a cohort beyond the paper's window reads e.g.
        ``"after 2024q3-2025q1 +1"``).
    anchor : ndarray of int
        Index (in the fit's ``period`` coordinate order) of the latest fitted period at or
        before the row.
    steps : ndarray of int
        Periods between the anchor and the row (0 inside a fitted period).
    """

    label: np.ndarray
    anchor: np.ndarray
    steps: np.ndarray


def _cohort_bounds() -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    return [(first, last, label) for label, (first, last) in cohort_spans().items()]


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def cohort_position(month: pd.Timestamp) -> tuple[int, str]:
    """Position of a release month on the cohort calendar and its label.

    Returns ``(-1, "before ...")`` for a month before the first cohort.
    """
    bounds = _cohort_bounds()
    for i, (first, last, label) in enumerate(bounds):
        if first <= month <= last:
            return i, label
    first, last, label = bounds[-1]
    if month > last:
        length = _months_between(first, last) + 1
        steps = int(np.ceil(_months_between(last, month) / length))
        return len(bounds) - 1 + steps, f"after {label} +{steps}"
    return -1, f"before {bounds[0][2]}"


def label_position(label: str, period: str) -> int:
    """Calendar position of a fitted period label (``period``: cohort, quarter or month)."""
    if period == "cohort":
        labels = list(cohort_spans())
        if label not in labels:
            raise BayesLLMError(f"fit period '{label}' is not one of the paper's cohorts "
                                f"({', '.join(labels)})")
        return labels.index(label)
    freq = "Q" if period == "quarter" else "M"
    return pd.Period(str(label).upper(), freq).ordinal


def row_positions(months: pd.Series, period: str) -> tuple[np.ndarray, np.ndarray]:
    """Calendar positions and labels of release months (Timestamps)."""
    months = pd.to_datetime(pd.Series(months))
    if period == "cohort":
        pairs = [cohort_position(m) for m in months]
        return (np.array([p for p, _ in pairs], dtype=np.int64),
                np.array([label for _, label in pairs], dtype=object))
    freq = "Q" if period == "quarter" else "M"
    per = months.dt.to_period(freq)
    labels = per.astype(str) if period == "quarter" else per.dt.strftime("%Y-%m")
    return (np.array([p.ordinal for p in per], dtype=np.int64),
            np.asarray(labels, dtype=object))


def place_rows(frame: pd.DataFrame, fitted_labels: list[str], period: str,
               row_names: list[str] | None = None) -> PeriodPlacement:
    """Anchor each row of ``frame`` (``release_month``) at a fitted period, by date.

    ``row_names`` name the rows in errors (default ``row <i> (model_id '<id>')``).

    Raises
    ------
    PeriodBeforeFitError
        One line naming the first row released before the fit's first period.
    """
    fitted = np.array([label_position(str(p), period) for p in fitted_labels], dtype=np.int64)
    order = np.argsort(fitted, kind="stable")
    positions, labels = row_positions(frame["release_month"], period)
    sorted_pos = fitted[order]
    k = np.searchsorted(sorted_pos, positions, side="right") - 1
    if (k < 0).any():
        i = int(np.argmax(k < 0))
        first = fitted_labels[int(order[0])]
        month = pd.Timestamp(frame["release_month"].iloc[i])
        name = (row_names[i] if row_names is not None
                else f"row {i + 1} (model_id '{frame['model_id'].iloc[i]}')")
        raise PeriodBeforeFitError(
            f"{name}: released {month:%Y-%m}, "
            f"before the fit's first period '{first}'; a fit cannot predict before its data")
    anchor = order[k]
    steps = positions - sorted_pos[k]
    return PeriodPlacement(label=labels, anchor=np.asarray(anchor, dtype=np.int64),
                           steps=np.asarray(steps, dtype=np.int64))


def successive_step_variance(effects: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per-draw mean squared difference of successive period effects (dates order).

    ``effects`` has shape ``(sample, period)``; returns shape ``(sample,)``.
    """
    ordered = effects[:, order]
    return np.mean(np.diff(ordered, axis=1) ** 2, axis=1)


def period_term(effects: np.ndarray, placement: PeriodPlacement, fitted_labels: list[str],
                period: str, *, drift: np.ndarray | None = None,
                sigma_step: np.ndarray | None = None,
                row_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw mean and variance of each row's period effect, shape ``(sample, row)``.

    Parameters
    ----------
    effects : ndarray
        ``(sample, period)`` fitted effects (``period_effect``, or a per-period slope).
    placement : PeriodPlacement
        From :func:`place_rows`.
    fitted_labels : list of str
        The fit's period labels, in the order of ``effects``.
    period : str
        The spec's period kind (cohort, quarter or month).
    drift, sigma_step : ndarray, optional
        ``(sample,)``: a random walk's drift and innovation SD. The row's effect is then
        the anchor's plus ``h * drift`` with variance ``h * sigma_step**2`` (the walk
        walked forward). Without them (exchangeable or fixed periods) the anchor's effect
        is kept and the variance ``h * s**2`` is added, ``s**2`` the draw's mean squared
        difference between successive fitted periods (see ``models/README.md``).
    row_names : list of str, optional
        How errors name the rows.
    """
    anchor, steps = placement.anchor, placement.steps.astype(float)
    mean = effects[:, anchor]
    if not (steps > 0).any():
        return mean, np.zeros_like(mean)
    if drift is not None and sigma_step is not None:
        mean = mean + steps[None, :] * drift[:, None]
        return mean, steps[None, :] * (sigma_step[:, None] ** 2)
    if effects.shape[1] < 2:
        i = int(np.argmax(steps > 0))
        name = row_names[i] if row_names is not None else f"row {i + 1}"
        raise PeriodExtrapolationError(
            f"{name}: its period '{placement.label[i]}' is not in the fit, which has "
            f"one period ('{fitted_labels[0]}'), so there is no period-to-period variation "
            "to extrapolate with; fit with several periods")
    order = np.argsort([label_position(str(p), period) for p in fitted_labels], kind="stable")
    s2 = successive_step_variance(effects, order)
    return mean, steps[None, :] * s2[:, None]


@dataclass(frozen=True)
class RowPeriodTerms:
    """Each row's period terms, per draw, from :func:`row_period_terms`.

    Attributes
    ----------
    placement : PeriodPlacement
        Where each row lies relative to the fitted periods.
    mean, var : ndarray
        ``(sample, row)``: mean and variance of the row's period effect
        (``period_effect``; a random walk walked forward when the fit has one).
    slope_mean, slope_var : ndarray or None
        ``(sample, row)``: mean and variance of the row's per-period compute slope
        (``compute_period_slope``); ``None`` when the fit has none.
    """

    placement: PeriodPlacement
    mean: np.ndarray
    var: np.ndarray
    slope_mean: np.ndarray | None = None
    slope_var: np.ndarray | None = None


def row_period_terms(post: dict[str, np.ndarray], coords: dict[str, list[str]],
                     period: str, frame: pd.DataFrame,
                     row_names: list[str] | None = None) -> RowPeriodTerms:
    """Place the rows of ``frame`` among the fit's periods and give their period terms.

    Parameters
    ----------
    post : dict of str to ndarray
        Stacked posterior arrays, ``(sample, ...)``
        (:func:`bayes_llm.prediction.predict_rows.posterior_arrays`).
    coords : dict of str to list of str
        The fit's coordinates; ``coords["period"]`` the fitted period labels (a fit
        without periods has the single label ``"all"``).
    period : str
        The spec's period kind (cohort, quarter or month).
    frame : DataFrame
        The rows, with ``release_month``.
    row_names : list of str, optional
        How errors name the rows.

    Returns
    -------
    RowPeriodTerms
        The placement, the period effect's term (:func:`period_term`, with the fit's
        random-walk drift and step SD when it has them, plus a within-period trend's
        ``tau`` times the years from the anchor period's midpoint) and, when the fit has
        per-period compute slopes, their term.
    """
    labels = coords.get("period", ["all"])
    placement = place_rows(frame, labels, period, row_names)
    walk = "period_drift" in post
    mean, var = period_term(post["period_effect"], placement, labels, period,
                            drift=post.get("period_drift") if walk else None,
                            sigma_step=post.get("sigma_period") if walk else None,
                            row_names=row_names)
    if "period_trend" in post:
        anchors = [str(labels[i]) for i in placement.anchor]
        years = years_from_period_midpoint(frame["release_month"], anchors, period)
        mean = mean + post["period_trend"][:, None] * years[None, :]
    if "compute_period_slope" not in post:
        return RowPeriodTerms(placement, mean, var)
    slope_mean, slope_var = period_term(post["compute_period_slope"], placement, labels,
                                        period, row_names=row_names)
    return RowPeriodTerms(placement, mean, var, slope_mean, slope_var)


__all__ = ["PeriodBeforeFitError", "PeriodExtrapolationError", "PeriodPlacement",
           "RowPeriodTerms", "cohort_position", "label_position", "period_term", "place_rows",
           "row_period_terms", "row_positions", "successive_step_variance"]
