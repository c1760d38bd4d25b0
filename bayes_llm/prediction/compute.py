"""Centred log10 compute of new rows, with the fit's measurement model where it has one.

Without ``compute_error`` the reported compute is taken as the truth (``x = log10_flop -
compute_centre``), as in the fit. With errors-in-variables the fit says reported compute is
a measurement, ``x_obs ~ Normal(x_true, sd)`` (``sd`` = ``compute_error_sd_estimate`` for
rows with ``compute_is_estimate``, else ``compute_error_sd_reported``), with true compute
drawn from a population ``Normal(mu_x, sigma_x)`` or ``StudentT(nu_x, mu_x, sigma_x)``. A
new row's true compute is then drawn, per posterior draw, from its posterior given the
reported value:

* Normal population: the conjugate Normal, precision ``1/sd^2 + 1/sigma_x^2``;
* Student-t population: sampling-importance-resampling, :data:`SIR_CANDIDATES` candidates
  from ``Normal(x_obs, sd)`` weighted by the population density (the measurement SD, 0.05
  to 0.3 decades, is far narrower than the population, so the weights are even).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from bayes_llm.model.spec import ModelSpec

#: Candidates per draw and row for the Student-t population (see the module docstring).
SIR_CANDIDATES: int = 32


def measurement_sd(frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """Measurement SD (decades) of each row's reported compute under the spec."""
    estimate = (frame["compute_is_estimate"].fillna(False).astype(bool).to_numpy()
                if "compute_is_estimate" in frame else np.zeros(len(frame), bool))
    return np.where(estimate, spec.compute_error_sd_estimate, spec.compute_error_sd_reported)


def true_compute(post: dict[str, np.ndarray], frame: pd.DataFrame, spec: ModelSpec,
                 rng: np.random.Generator) -> np.ndarray:
    """Per-draw centred log10 compute of each row, shape ``(sample, row)``."""
    x_obs = frame["log10_flop"].to_numpy(float) - spec.compute_centre
    n_samples = post["alpha"].shape[0]
    if not spec.compute_error:
        return np.broadcast_to(x_obs, (n_samples, len(x_obs))).copy()
    sd = measurement_sd(frame, spec)[None, :]
    mu_x, sigma_x = post["mu_x"][:, None], post["sigma_x"][:, None]
    if "nu_x" not in post:
        precision = 1.0 / sd**2 + 1.0 / sigma_x**2
        mean = (x_obs[None, :] / sd**2 + mu_x / sigma_x**2) / precision
        return mean + rng.standard_normal(mean.shape) / np.sqrt(precision)
    nu_x = post["nu_x"][:, None]
    out = np.empty((n_samples, len(x_obs)))
    for r in range(len(x_obs)):  # one row at a time keeps memory at sample x candidates
        cand = x_obs[r] + sd[0, r] * rng.standard_normal((n_samples, SIR_CANDIDATES))
        logw = stats.t.logpdf(cand, df=nu_x, loc=mu_x, scale=sigma_x)
        w = np.exp(logw - special.logsumexp(logw, axis=1, keepdims=True))
        pick = (w.cumsum(axis=1) < rng.random((n_samples, 1))).sum(axis=1)
        out[:, r] = cand[np.arange(n_samples), np.minimum(pick, SIR_CANDIDATES - 1)]
    return out


__all__ = ["SIR_CANDIDATES", "measurement_sd", "true_compute"]
