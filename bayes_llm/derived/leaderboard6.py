"""Derived quantities of the joint benchmark model (:mod:`bayes_llm.model.leaderboard6`).

* Correlation of developer effects between two benchmarks: ``developer_corr`` (the LKJ
  correlation matrix R) per draw, summarised per pair.
* Common share of developer variance: per draw, the developer covariance is
  Sigma = diag(s) R diag(s); its largest eigenvalue over its trace is the share of the
  total developer variance (summed over benchmarks, on the logit scale) along the single
  direction shared most by all benchmarks (the first principal component). 1 means a
  developer's advantage is one number moving every benchmark (in fixed proportions);
  1/B (B benchmarks) means unrelated, equally variable benchmark-specific effects.
  ``1 - common_share`` is the benchmark-specific share. It is a description of Sigma, not
  a factor model: with correlations near 0 it still exceeds 1/B when the variances differ.

Every summary is a median and the project's interval (:mod:`bayes_llm.derived.summary`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.derived.summary import summarise_draws


def developer_covariance(posterior: xr.Dataset) -> xr.DataArray:
    """Sigma = diag(s) R diag(s) per draw, dims ``(chain, draw, benchmark, benchmark_b)``."""
    s = posterior["sigma_developer"]
    r = posterior["developer_corr"]
    return r * s * s.rename(benchmark="benchmark_b")


def common_share(posterior: xr.Dataset) -> xr.DataArray:
    """Largest eigenvalue of Sigma over its trace, per draw (see the module docstring)."""
    cov = developer_covariance(posterior).transpose("chain", "draw", "benchmark",
                                                    "benchmark_b")
    eig = np.linalg.eigvalsh(cov.values)
    share = eig[..., -1] / eig.sum(axis=-1)
    return xr.DataArray(share, dims=("chain", "draw"),
                        coords={"chain": cov["chain"], "draw": cov["draw"]},
                        name="developer_common_share")


def correlation_table(posterior: xr.Dataset, *, hdi_prob: float | None = None) -> pd.DataFrame:
    """One row per benchmark pair: median correlation of developer effects and interval."""
    corr = posterior["developer_corr"]
    names = [str(b) for b in corr["benchmark"].values]
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            draws = corr.sel(benchmark=a, benchmark_b=b)
            rows.append({"benchmark": a, "other": b,
                         **summarise_draws(draws, hdi_prob=hdi_prob),
                         "p_positive": float((draws > 0).mean())})
    return pd.DataFrame(rows, columns=["benchmark", "other", "median", "lower", "upper",
                                       "p_positive"])


def developer_summary(posterior: xr.Dataset, *, hdi_prob: float | None = None) -> pd.DataFrame:
    """Developer SD per benchmark and the common share, each with median and interval."""
    rows = [{"quantity": f"sigma_developer[{b}]",
             **summarise_draws(posterior["sigma_developer"].sel(benchmark=b),
                               hdi_prob=hdi_prob)}
            for b in posterior["sigma_developer"]["benchmark"].values]
    rows.append({"quantity": "developer_common_share",
                 **summarise_draws(common_share(posterior), hdi_prob=hdi_prob)})
    return pd.DataFrame(rows, columns=["quantity", "median", "lower", "upper"])
