"""Which developers' advantage is concentrated in one benchmark (joint benchmark model).

The contrast, per posterior draw, for developer j and benchmark b:

    z_jb = u_jb / sigma_developer_b          effect in that benchmark's developer SDs
    d_jb = z_jb - mean_b' z_jb'              benchmark-specific deviation
    D_j  = max_b d_jb                        the largest benchmark-specific advantage

The common part of a developer's effect is taken as its mean standardised effect over the
benchmarks (equal weights: every benchmark counts once, whatever its loading); ``d_jb``
is what is left on benchmark b. Standardising by the benchmark's developer SD puts
benchmarks with different spreads of developer effects (and different logit scales) on
one footing. A developer whose effect is the same number of SDs on every benchmark has
``D_j = 0``; one whose advantage is all on one benchmark of B has ``D_j = (B - 1)/B``
times that effect. The table gives ``P(D_j > threshold)`` (threshold in SDs, default 1),
the posterior median and interval of ``D_j`` and the benchmark where the maximum falls
most often (with that share of draws).

A high probability says the developer's standing on one benchmark is well above its
standing on the others; it does not say why (tuning, data curation or contamination
look the same here). With few models a developer's effects are shrunk towards the
correlated prior and ``D_j`` towards what the correlations imply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.derived.summary import SAMPLE_DIMS, summarise_draws

#: Default threshold of :func:`concentration_table`, in developer SDs.
DEFAULT_THRESHOLD: float = 1.0


def models_per_developer(data) -> pd.Series:
    """Models per developer of a :class:`~bayes_llm.model.leaderboard6.Leaderboard6Data`."""
    units = data.coords["developer"]
    counts = np.bincount(data.developer_idx, minlength=len(units))
    return pd.Series(counts, index=pd.Index(units, name="developer"), name="n_models")


def specific_deviation(posterior: xr.Dataset) -> xr.DataArray:
    """``d_jb`` per draw, dims ``(chain, draw, developer, benchmark)`` (module docstring)."""
    z = posterior["developer_effect"] / posterior["sigma_developer"]
    return (z - z.mean("benchmark")).transpose(*SAMPLE_DIMS, "developer", "benchmark")


def concentration_table(posterior: xr.Dataset, *, threshold: float = DEFAULT_THRESHOLD,
                        n_models: pd.Series | None = None,
                        hdi_prob: float | None = None) -> pd.DataFrame:
    """One row per developer: how concentrated its advantage is in one benchmark.

    Parameters
    ----------
    posterior : Dataset
        Posterior of a ``leaderboard6`` fit (``developer_effect``, ``sigma_developer``).
    threshold : float
        Threshold for ``D_j`` in developer SDs.
    n_models : Series, optional
        Models per developer (index: developer), copied into the table.
    hdi_prob : float, optional
        Interval probability (project default when ``None``).

    Returns
    -------
    DataFrame
        ``developer``, ``n_models``, ``top_benchmark`` (where ``D_j`` falls most often),
        ``top_share`` (its share of draws), ``median``, ``lower``, ``upper`` (of
        ``D_j``), ``p_concentrated`` (``P(D_j > threshold)``), sorted by the latter.
    """
    d = specific_deviation(posterior)
    top = d.max("benchmark")
    arg = d.argmax("benchmark").values  # (chain, draw, developer)
    benches = [str(b) for b in d["benchmark"].values]
    rows = []
    for j, dev in enumerate(d["developer"].values):
        counts = np.bincount(arg[..., j].ravel(), minlength=len(benches))
        best = int(counts.argmax())
        draws = top.sel(developer=dev)
        rows.append({"developer": str(dev),
                     "n_models": (int(n_models.get(dev, 0)) if n_models is not None
                                  else np.nan),
                     "top_benchmark": benches[best],
                     "top_share": counts[best] / counts.sum(),
                     **summarise_draws(draws, hdi_prob=hdi_prob),
                     "p_concentrated": float((draws > threshold).mean())})
    table = pd.DataFrame(rows)
    table.attrs["threshold"] = threshold
    return table.sort_values("p_concentrated", ascending=False, ignore_index=True)


__all__ = ["DEFAULT_THRESHOLD", "concentration_table", "models_per_developer",
           "specific_deviation"]
