"""The inverse question: how much compute developer X needs to reach accuracy A in period t.

Per posterior draw, the *typical* model of the developer in the period (model-level
effect 0, so its accuracy is the median of a new model's predictive accuracy; on the
harness; a lineage effect of 0) reaches accuracy ``A`` where its linear predictor equals
``m* = logit((A - g) / (1 - g))``. Everything except the compute curve is assembled as in
:func:`bayes_llm.predict` (a new developer or a future period contribute a fresh draw,
so their uncertainty is in the band), and the curve is inverted per draw:

* linear: ``x = (m* - rest) / (beta + b_j + delta_t)``; a draw whose total slope is
  ``<= 0`` cannot reach ``A`` by adding compute and is reported as unreachable (NaN),
  never as a number;
* monotone: :func:`bayes_llm.model.curve.inverse_compute_effect` (strictly increasing and
  unbounded, so every draw reaches ``A``).

With errors-in-variables the curve is a function of *true* compute, so the answer is true
log10 FLOP. The band is the project's interval over the draws that reach ``A``; the share
that do is reported next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from bayes_llm import constants as C
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import OUTCOMES
from bayes_llm.prediction.periods import row_period_terms
from bayes_llm.prediction.predict_rows import diagnostics_status, draw_indices, posterior_arrays
from bayes_llm.prediction.result import interval_bounds
from bayes_llm.prediction.units import developer_terms


@dataclass
class ComputeNeeded:
    """Posterior of the log10 training compute needed to reach an accuracy.

    Attributes
    ----------
    draws : ndarray
        One value per posterior draw (log10 FLOP); NaN where the draw cannot reach it.
    developer, period, accuracy : the question asked.
    developer_known : bool
        Whether the developer unit is in the fit (else a fresh population draw).
    period_steps_ahead : int
        Periods after the latest fitted period at or before ``period``.
    diagnostics_ok, diagnostics : the fit's MCMC status.
    """

    draws: np.ndarray
    developer: str
    period: str
    accuracy: float
    developer_known: bool
    period_steps_ahead: int
    diagnostics_ok: bool
    diagnostics: str

    @property
    def share_reachable(self) -> float:
        """Share of draws in which the accuracy can be reached."""
        return float(np.mean(np.isfinite(self.draws)))

    def summary(self, prob: float | None = None, kind: str | None = None) -> pd.DataFrame:
        """One row: median and interval over the reaching draws, and their share."""
        from bayes_llm.derived.summary import interval_label, resolve_interval

        prob, kind = resolve_interval(prob, kind)
        ok = self.draws[np.isfinite(self.draws)]
        if ok.size >= 2:
            lo, hi = interval_bounds(ok[:, None], prob, kind)
            median, lower, upper = float(np.median(ok)), float(lo[0]), float(hi[0])
        else:
            median = lower = upper = float("nan")
        return pd.DataFrame([{
            "developer": self.developer, "developer_known": self.developer_known,
            "period": self.period, "period_steps_ahead": self.period_steps_ahead,
            "accuracy": self.accuracy, "log10_flop_median": median,
            "log10_flop_lower": lower, "log10_flop_upper": upper,
            "interval": interval_label(prob, kind),
            "share_of_draws_reaching": self.share_reachable,
            "fit_diagnostics_ok": self.diagnostics_ok, "fit_diagnostics": self.diagnostics}])


def period_start(text: str, period: str) -> pd.Timestamp:
    """First month of a period given as ``2025q2``, ``2025-06`` or a cohort label."""
    t = str(text).strip()
    for first, _last, label in C.PAPER_COHORTS:
        if t == label:
            return pd.Timestamp(first)
    try:
        if "q" in t.lower():
            return pd.Period(t.upper(), "Q").start_time
        return pd.Period(t, "M").start_time
    except (ValueError, TypeError) as exc:
        raise BayesLLMError(f"period '{text}': write a quarter (2025q2), a month (2025-06) or "
                            "a cohort label") from exc


def _developer_group(fit: Any, developer: str) -> str:
    models = getattr(fit, "models", None)
    if models is not None and "developer_group" in models:
        rows = models[models["developer"].astype(str) == developer]
        if len(rows):
            return str(rows["developer_group"].iloc[0])
    return developer


def compute_needed(fit: Any, developer: str, accuracy: float, period: str, *,
                   seed: int = DEFAULT_SEED, draws: int | None = None) -> ComputeNeeded:
    """Posterior of the log10 FLOP developer ``developer`` needs for ``accuracy`` in ``period``.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    developer : str
        A developer (or, for a group-coded fit, a developer group). Unknown: a fresh draw
        from the developer population.
    accuracy : float
        Target raw accuracy, strictly between the guessing floor and 1.
    period : str
        ``2025q2``, ``2025-06`` or a cohort label; after the fit's last period it is
        extrapolated as in :func:`bayes_llm.predict`.
    seed : int
        Seed of the fresh draws (new developer, later period).
    draws : int, optional
        Use about this many evenly spaced posterior draws (default all).
    """
    spec = fit.spec
    _, _, guess, _ = OUTCOMES[spec.outcome]
    if not guess < accuracy < 1.0:
        raise BayesLLMError(f"accuracy {accuracy!r} must lie strictly between the guessing "
                            f"floor {guess:g} and 1")
    if spec.developer_mean_compute:
        raise BayesLLMError(f"spec '{spec.name}': compute-needed is not implemented for the "
                            "developer-mean-compute (Mundlak) term, whose value depends on "
                            "the compute asked for")
    month = period_start(period, spec.period)
    group = _developer_group(fit, developer)
    frame = pd.DataFrame({"model_id": [f"{developer} @ {period}"], "developer": [developer],
                          "developer_group": [group], "release_month": [month],
                          "log10_flop": [spec.compute_centre]})
    names = [f"--developer '{developer}' --period '{period}'"]
    n_total = fit.dt["posterior"].sizes["chain"] * fit.dt["posterior"].sizes["draw"]
    idx = draw_indices(n_total, draws)
    post, coords = posterior_arrays(fit, idx)
    rng = np.random.default_rng(seed)
    periods = row_period_terms(post, coords, spec.period, frame, names)
    dev = developer_terms(post, coords, spec, frame, names, rng)
    shape = periods.mean.shape
    rest = (post["alpha"][:, None] + periods.mean + dev.mean
            + np.sqrt(periods.var + dev.var) * rng.standard_normal(shape))
    target = special.logit((accuracy - guess) / (1.0 - guess))
    value = (target - rest)[:, 0]
    if spec.compute_curve == "monotone":
        from bayes_llm.model.curve import inverse_compute_effect
        from bayes_llm.prediction.predict_rows import _knots

        ds = xr.Dataset({"compute_slope": (("sample", "compute_segment"),
                                           post["compute_slope"])})
        x = inverse_compute_effect(ds, xr.DataArray(value, dims="sample"),
                                   knots=_knots(fit)).values
    else:
        slope = post["beta"] + (dev.slope_mean + np.sqrt(dev.slope_var)
                                * rng.standard_normal(shape))[:, 0]
        if periods.slope_mean is not None:
            slope = slope + (periods.slope_mean + np.sqrt(periods.slope_var)
                             * rng.standard_normal(shape))[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(slope > 0, value / slope, np.nan)
    ok, status = diagnostics_status(fit)
    return ComputeNeeded(draws=x + spec.compute_centre, developer=developer,
                         period=str(period), accuracy=float(accuracy),
                         developer_known=bool(dev.known[0]),
                         period_steps_ahead=int(periods.placement.steps[0]),
                         diagnostics_ok=ok, diagnostics=status)


__all__ = ["ComputeNeeded", "compute_needed", "period_start"]
