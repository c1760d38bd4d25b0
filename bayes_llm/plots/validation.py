"""Calibration plots of out-of-sample predictions: PIT histograms per method.

Under a calibrated predictive the PIT values (randomised for a discrete predictive;
Czado, Gneiting & Held 2009) are Uniform(0, 1) (Gneiting, Balabdaoui & Raftery 2007): a
U shape says the intervals are too narrow, a hump that they are too wide, a slope a bias.
The grey band is the central 94% range of a bin's count under uniformity (binomial).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from bayes_llm.plots._style import new_figure

#: Histogram bins of the PIT plot.
PIT_BINS: int = 10
#: Probability of the band drawn around the uniform count.
PIT_BAND: float = 0.94


def pit_histogram_data(*, scores: pd.DataFrame, bins: int = PIT_BINS,
                       method_column: str = "method") -> pd.DataFrame:
    """Count PIT values per bin and method, with the band under uniformity.

    Returns
    -------
    DataFrame
        ``method``, ``bin_lower``, ``bin_upper``, ``count``, ``n_models``, ``expected``,
        ``band_lower``, ``band_upper``, ``fit_diagnostics_ok`` (when in ``scores``).
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for method, sub in scores.groupby(method_column, sort=False):
        pit = sub["pit"].to_numpy(float)
        counts, _ = np.histogram(np.clip(pit, 0, 1), bins=edges)
        m = len(pit)
        lo, hi = stats.binom.interval(PIT_BAND, m, 1.0 / bins)
        ok = bool(sub["fit_diagnostics_ok"].all()) if "fit_diagnostics_ok" in sub else True
        for b in range(bins):
            rows.append({"method": method, "bin_lower": edges[b], "bin_upper": edges[b + 1],
                         "count": int(counts[b]), "n_models": m, "expected": m / bins,
                         "band_lower": lo, "band_upper": hi, "fit_diagnostics_ok": ok})
    return pd.DataFrame(rows)


def plot_pit_histogram(*, scores: pd.DataFrame, bins: int = PIT_BINS,
                       method_column: str = "method", title: str | None = None) -> Figure:
    """One PIT histogram per method; a method whose fits failed diagnostics is titled so."""
    data = pit_histogram_data(scores=scores, bins=bins, method_column=method_column)
    methods = list(dict.fromkeys(data["method"]))
    ncol = min(3, max(1, len(methods)))
    nrow = int(np.ceil(len(methods) / ncol)) or 1
    fig = new_figure((4.0 * ncol, 3.0 * nrow + 0.4))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, method in zip(axes, methods, strict=False):
        sub = data[data["method"] == method]
        width = sub["bin_upper"] - sub["bin_lower"]
        ax.axhspan(sub["band_lower"].iloc[0], sub["band_upper"].iloc[0], color="#dddddd",
                   zorder=0, label=f"{PIT_BAND:.0%} band, uniform")
        ax.bar(sub["bin_lower"], sub["count"], width=width, align="edge", color="#4c72b0",
               edgecolor="white", zorder=1)
        ax.axhline(sub["expected"].iloc[0], color="#111111", lw=1, ls="--", zorder=2)
        ok = bool(sub["fit_diagnostics_ok"].iloc[0])
        label = f"{method} (n={int(sub['n_models'].iloc[0])})"
        if not ok:
            label = f"!! {method}: FITS FAILED DIAGNOSTICS !!"
        ax.set_title(label, fontsize=9, color="#000000" if ok else "#c0392b")
        ax.set_xlim(0, 1)
        ax.set_xlabel("PIT (accuracy scale)")
        ax.set_ylabel("held-out models")
    for ax in axes[len(methods):]:
        ax.set_visible(False)
    if methods:
        axes[0].legend(fontsize=7, loc="upper center")
    fig.suptitle(title or "PIT of held-out models (uniform if calibrated)", fontsize=10)
    return fig


__all__ = ["PIT_BAND", "PIT_BINS", "pit_histogram_data", "plot_pit_histogram"]
