"""The :class:`Prediction` returned by :func:`bayes_llm.predict`: draws, summaries, CDFs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special, stats

#: Default accuracy thresholds of :meth:`Prediction.summary` (P(accuracy > threshold)).
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.5,)
#: Slack when turning an accuracy into a count of correct items (``floor(v * n + EPS)``),
#: so that an observed ``k / n`` is not floored to ``k - 1`` by rounding.
COUNT_EPS: float = 1e-9


def interval_bounds(values: np.ndarray, prob: float | None = None,
                    kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of the project's interval over axis 0 (NaN-free columns)."""
    from arviz_stats.base import array_stats

    from bayes_llm.derived.summary import resolve_interval

    prob, kind = resolve_interval(prob, kind)
    moved = np.moveaxis(np.asarray(values, float), 0, -1)
    bounds = getattr(array_stats, kind)(moved, prob, axis=-1)
    return bounds[..., 0], bounds[..., 1]


#: Draws per block of :func:`betabinom_cdf` (a block holds draws x (n + 1) floats).
CDF_BLOCK = 128


def betabinom_cdf(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """BetaBinomial(n_r, a_s, b_s) CDF at ``k_r`` for every draw s and row r, ``(S, R)``.

    Per draw and distinct ``n``, the probabilities of 0..n are summed once and read at
    every row's ``k``. Equal to ``scipy.stats.betabinom.cdf`` (which sums the pmf for each
    (draw, row) pair separately: ~0.2 ms each, minutes for a validation run's 4,000
    draws x 490 rows).
    """
    k = np.asarray(k, float)
    n = np.broadcast_to(np.asarray(n), k.shape).astype(np.int64)
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = np.empty((len(a), len(k)))
    for size in np.unique(n):
        rows = np.flatnonzero(n == size)
        j = np.arange(size + 1, dtype=float)
        log_choose = special.gammaln(size + 1.0) - special.gammaln(j + 1) - special.gammaln(
            size - j + 1)
        kk = k[rows]
        index = np.clip(kk, 0, size).astype(np.int64)
        for start in range(0, len(a), CDF_BLOCK):
            sl = slice(start, start + CDF_BLOCK)
            aa, bb = a[sl, None], b[sl, None]
            log_pmf = (log_choose + special.betaln(j + aa, size - j + bb)
                       - special.betaln(aa, bb))
            cum = np.cumsum(np.exp(log_pmf), axis=1)
            value = np.minimum(cum[:, index], 1.0)
            out[sl, rows] = np.where(kk < 0, 0.0, np.where(kk >= size, 1.0, value))
    return out


@dataclass
class Prediction:
    """Posterior predictive draws for new rows.

    Attributes
    ----------
    frame : DataFrame
        The rows, with ``period`` (the row's period label), ``period_steps_ahead`` (periods
        after the latest fitted period at or before the row; 0 inside one),
        ``developer_known`` and ``in_fit`` (the model id is one of the fit's; it is still
        predicted as a new model) added.
    latent : DataArray
        Dims ``("sample", "row")``, coord ``model_id``: the latent score on the logit
        scale above the guessing floor. Binomial: ``eta`` = linear predictor + a fresh
        model-level effect; logit-normal and Student-t: the linear predictor (the model
        deviation is the observation noise there).
    accuracy : DataArray
        Same dims: predictive draws of raw benchmark accuracy, observation noise included.
    likelihood : str
        The fit's likelihood.
    n_items : ndarray
        Items (questions) per row: the binomial's number of trials.
    guess : float
        Guessing floor of the outcome.
    outcome : str
        The benchmark (``mmlu_pro`` or ``math_lvl5``); its accuracy column is
        ``observed_column``.
    diagnostics_ok, diagnostics : bool, str
        The fit's MCMC diagnostic status (``"ok"`` or ``"FAILED: ..."``); it travels with
        every table and file made from the prediction.
    """

    frame: pd.DataFrame
    latent: xr.DataArray
    accuracy: xr.DataArray
    likelihood: str
    n_items: np.ndarray
    guess: float
    outcome: str
    observed_column: str
    diagnostics_ok: bool
    diagnostics: str
    spec_name: str = ""
    #: Per-draw parameters of the observation model (see :meth:`cdf`).
    noise: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def observed(self) -> np.ndarray:
        """The rows' observed accuracy (NaN where absent)."""
        if self.observed_column not in self.frame:
            return np.full(len(self.frame), np.nan)
        return pd.to_numeric(self.frame[self.observed_column], errors="coerce").to_numpy(float)

    def cdf(self, values: np.ndarray) -> np.ndarray:
        """Per-draw predictive CDF of accuracy at ``values`` (one per row).

        Binomial: ``P(k <= floor(v n))`` with ``k ~ Binomial(n, p)``, ``p`` the draw's
        success probability (guessing floor included); with a floor mixture the draw's
        ``pi BetaBinomial(n, a, b) + (1 - pi) Binomial(n, p)`` (the collapse indicator
        summed out, ``p`` the regular component's). Logit-normal and Student-t: the
        continuous CDF of the draw's observation model on the logit-above-floor scale at
        ``logit((v - g) / (1 - g))`` (0 at or below the floor ``g``, 1 at or above 1).
        Exact per draw, conditional on the draw's sampled new-unit and period effects.

        Parameters
        ----------
        values : ndarray
            Shape ``(row,)`` accuracies (NaN gives NaN).

        Returns
        -------
        ndarray
            Shape ``(sample, row)``.
        """
        v = np.asarray(values, float)
        if v.shape != (len(self.frame),):
            raise ValueError(f"values must have shape ({len(self.frame)},), got {v.shape}")
        if self.likelihood == "binomial":
            k = np.floor(v * self.n_items + COUNT_EPS)
            out = stats.binom.cdf(k[None, :], self.n_items[None, :], self.noise["p"])
            if "collapse_probability" in self.noise:
                pi = self.noise["collapse_probability"]  # (sample, row)
                collapsed = betabinom_cdf(k, self.n_items, self.noise["collapse_a"],
                                          self.noise["collapse_b"])
                out = pi * collapsed + (1.0 - pi) * out
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = special.logit((v - self.guess) / (1.0 - self.guess))
            z = (y[None, :] - self.noise["mu"]) / self.noise["sigma"][:, None]
            if self.likelihood == "student_t":
                out = stats.t.cdf(z, df=self.noise["nu"][:, None])
            else:
                out = stats.norm.cdf(z)
            out = np.where(v[None, :] <= self.guess, 0.0, out)
            out = np.where(v[None, :] >= 1.0, 1.0, out)
        return np.where(np.isnan(v)[None, :], np.nan, out)

    def pmf_bin(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Per-draw predictive probability of accuracy in ``(lower, upper]``, ``(sample, row)``."""
        return self.cdf(upper) - self.cdf(lower)

    def summary(self, prob: float | None = None, kind: str | None = None,
                thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
        """One row per predicted row: median, interval and P(accuracy > threshold).

        Parameters
        ----------
        prob, kind : optional
            The interval (default: the project's ``HDI_PROB`` and ``CI_KIND``, read now).
        thresholds : tuple of float
            Accuracies; a column ``p_accuracy_above_<t>`` each.

        Returns
        -------
        DataFrame
            Identification columns, ``observed_accuracy`` (NaN where absent), the
            accuracy and latent median and interval, the probabilities, the interval used
            and the fit's diagnostic status.
        """
        from bayes_llm.derived.summary import interval_label, resolve_interval

        prob, kind = resolve_interval(prob, kind)
        keep = [c for c in ("model_id", "developer", "developer_group", "log10_flop", "period",
                            "period_steps_ahead", "developer_known", "in_fit")
                if c in self.frame]
        out = self.frame[keep].reset_index(drop=True).copy()
        if "release_month" in self.frame:
            out.insert(2, "release_month",
                       pd.to_datetime(self.frame["release_month"]).dt.strftime("%Y-%m").values)
        out["observed_accuracy"] = self.observed
        acc = self.accuracy.values
        lat = self.latent.values
        out["accuracy_median"] = np.median(acc, axis=0)
        out["accuracy_lower"], out["accuracy_upper"] = interval_bounds(acc, prob, kind)
        out["latent_median"] = np.median(lat, axis=0)
        out["latent_lower"], out["latent_upper"] = interval_bounds(lat, prob, kind)
        for t in thresholds:
            out[f"p_accuracy_above_{t:g}"] = np.mean(acc > t, axis=0)
        out["interval"] = interval_label(prob, kind)
        out["likelihood"] = self.likelihood
        out["fit_diagnostics_ok"] = self.diagnostics_ok
        out["fit_diagnostics"] = self.diagnostics
        return out

    def to_dataset(self) -> xr.Dataset:
        """Return the draws as a Dataset (``latent``, ``accuracy``), with the status in attrs."""
        ds = xr.Dataset({"latent": self.latent, "accuracy": self.accuracy})
        ds["n_items"] = xr.DataArray(self.n_items, dims="row")
        ds.attrs.update({"likelihood": self.likelihood, "outcome": self.outcome,
                         "guess_rate": self.guess, "spec_name": self.spec_name,
                         "fit_diagnostics_ok": int(self.diagnostics_ok),
                         "fit_diagnostics": self.diagnostics})
        return ds


__all__ = ["DEFAULT_THRESHOLDS", "Prediction", "interval_bounds"]
