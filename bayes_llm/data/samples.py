"""Documented sample filters. Excluded rows are counted and reported, never dropped silently."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bayes_llm.errors import BayesLLMError

#: Sample name -> (description, predicate keeping a row).
SAMPLES: dict[str, tuple[str, object]] = {
    "full": ("all models", lambda df: pd.Series(True, index=df.index)),
    "majors": ("models of the 10 major developers", lambda df: df["is_major"]),
    "hf_leaderboard": ("models scored on the Open LLM Leaderboard v2",
                       lambda df: df["on_hf_leaderboard"]),
    "full_tokens": ("models whose total training tokens are known",
                    lambda df: df["has_full_token_count"]),
    "no_compute_estimates": ("models whose N and D are not third-party estimates",
                             lambda df: ~df["compute_is_estimate"]),
}


@dataclass
class SampleReport:
    """What a sample filter kept and dropped."""

    sample: str
    description: str
    n_before: int
    n_kept: int
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        """Number of rows excluded, all reasons together."""
        return self.n_before - self.n_kept

    def __str__(self) -> str:
        reasons = "; ".join(f"{k}: {v}" for k, v in self.excluded.items() if v)
        return (f"sample '{self.sample}' ({self.description}): kept {self.n_kept} of "
                f"{self.n_before} models" + (f" (excluded: {reasons})" if reasons else ""))


def select_sample(df: pd.DataFrame, sample: str = "full", *,
                  require: tuple[str, ...] = ()) -> tuple[pd.DataFrame, SampleReport]:
    """Apply a named sample filter, and drop rows missing any ``require`` column.

    Parameters
    ----------
    df : DataFrame
        The canonical model table.
    sample : str
        One of :data:`SAMPLES`.
    require : tuple of str
        Columns that must be non-missing (e.g. ``("math_lvl5_logit",)`` for the MATH
        outcome, which drops models scoring exactly 0). Each is reported separately.

    Returns
    -------
    (DataFrame, SampleReport)
    """
    if sample not in SAMPLES:
        raise BayesLLMError(f"unknown sample '{sample}'; choose from {', '.join(SAMPLES)}")
    description, keep_fn = SAMPLES[sample]
    keep = keep_fn(df).astype(bool)
    excluded = {f"not in sample '{sample}'": int((~keep).sum())}
    for column in require:
        missing = keep & df[column].isna()
        excluded[f"missing {column}"] = int(missing.sum())
        keep &= ~missing
    kept = df.loc[keep].copy()
    kept.attrs = dict(df.attrs)
    report = SampleReport(sample, description, len(df), len(kept), excluded)
    kept.attrs["sample_report"] = report
    return kept, report
