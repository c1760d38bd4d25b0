"""A dataset summary: counts, ranges and the compute-spread figure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Percentile definitions offered for the 95th/5th compute ratio. Stata's ``summarize,
#: detail`` and ``_pctile`` use the inverted empirical CDF averaged at ties
#: (NumPy's "averaged_inverted_cdf"); NumPy's default is "linear" interpolation.
PERCENTILE_METHODS: dict[str, str] = {"stata": "averaged_inverted_cdf", "numpy": "linear"}


def compute_percentile_ratio(log10_flop: pd.Series | np.ndarray, *, upper: float = 95,
                             lower: float = 5, method: str = "stata") -> float:
    """Ratio of the ``upper`` to ``lower`` percentile of training compute.

    Parameters
    ----------
    log10_flop : array
        log10 training FLOP per model.
    upper, lower : float
        Percentiles (0-100).
    method : {"stata", "numpy"}
        Percentile definition, see :data:`PERCENTILE_METHODS`.
    """
    if method not in PERCENTILE_METHODS:
        raise ValueError(f"method must be one of {list(PERCENTILE_METHODS)}")
    x = np.asarray(log10_flop, dtype=float)
    np_method = PERCENTILE_METHODS[method]
    hi = np.percentile(x, upper, method=np_method)
    lo = np.percentile(x, lower, method=np_method)
    return float(10 ** (hi - lo))


@dataclass
class DatasetSummary:
    """Counts and ranges of a canonical model table."""

    n_models: int
    n_developers: int
    n_groups: int
    first_month: str
    last_month: str
    by_group: pd.Series
    by_cohort: pd.Series
    ranges: pd.DataFrame
    compute_ratio_95_5: dict[str, float]

    def to_text(self) -> str:
        """Render a human-readable multi-line summary."""
        lines = [
            f"models:               {self.n_models}",
            f"developer strings:    {self.n_developers}",
            f"developer groups:     {self.n_groups} (the paper's coding)",
            f"releases:             {self.first_month} to {self.last_month}",
            "",
            "models by cohort:",
            *(f"  {k:<16} {v:>5}" for k, v in self.by_cohort.items()),
            "",
            "models by developer group:",
            *(f"  {k:<16} {v:>5}" for k, v in self.by_group.items()),
            "",
            "ranges:",
            self.ranges.to_string(float_format=lambda v: f"{v:.4g}"),
            "",
            "95th / 5th percentile training-compute ratio:",
            f"  {self.compute_ratio_95_5['stata']:,.0f}x (Stata percentiles, inverted "
            "empirical CDF averaged at ties; the figure quoted in coverage of the paper)",
            f"  {self.compute_ratio_95_5['numpy']:,.0f}x (NumPy default, linear interpolation)",
        ]
        return "\n".join(lines)


def summarise(df: pd.DataFrame) -> DatasetSummary:
    """Summarise a canonical model table."""
    columns = {
        "log10 training FLOP": "log10_flop",
        "parameters (B)": "params_b",
        "tokens (B)": "tokens_b",
        "MMLU-Pro accuracy": "mmlu_pro_acc",
        "MMLU-Pro normalised": "mmlu_pro_norm",
        "MATH Lvl 5 accuracy": "math_lvl5_acc",
    }
    ranges = pd.DataFrame(
        {label: [df[c].min(), df[c].median(), df[c].max(), int(df[c].notna().sum())]
         for label, c in columns.items()},
        index=["min", "median", "max", "n"],
    ).T
    return DatasetSummary(
        n_models=len(df),
        n_developers=int(df["developer"].nunique()),
        n_groups=int(df["developer_group"].nunique()),
        first_month=df["release_month"].min().strftime("%Y-%m"),
        last_month=df["release_month"].max().strftime("%Y-%m"),
        by_group=df["developer_group"].value_counts().astype(int),
        by_cohort=df["cohort"].value_counts().sort_index().astype(int),
        ranges=ranges,
        compute_ratio_95_5={m: compute_percentile_ratio(df["log10_flop"], method=m)
                            for m in PERCENTILE_METHODS},
    )
