"""A calibrated pass/fail check of SBC ranks: exact KS tests with a Holm correction.

Each quantity's fractional ranks ``u`` (randomised, in (0, 1); see
:func:`bayes_llm.verify.sbc.rank_statistics`) are exactly Uniform(0, 1) under
calibration (Talts et al. 2018; Modrák et al. 2023), whatever the number of draws ranked.
Per quantity the check computes the exact two-sided Kolmogorov-Smirnov p-value of
uniformity, and across quantities applies Holm's step-down correction, which controls the
family-wise error rate at ``alpha`` under any dependence between the quantities (ranks of
quantities of one replication are dependent). So with ``alpha = 0.01`` a calibrated model
is rejected with probability at most 1% (about 1% when the quantities are nearly
independent, less when they are strongly dependent); :func:`false_alarm_rate` measures it
by simulating uniform ranks.

Ranks from autocorrelated draws are only approximately uniform; the ranks are computed on
draws thinned to about the effective sample size, as Talts et al. recommend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Family-wise false-alarm rate of the check.
DEFAULT_ALPHA: float = 0.01


def ks_statistics(u: np.ndarray) -> np.ndarray:
    """Two-sided KS distance to Uniform(0, 1) of each row of ``u`` (shape ``(..., n)``)."""
    u = np.sort(np.asarray(u, dtype=float), axis=-1)
    n = u.shape[-1]
    i = np.arange(1, n + 1)
    return np.maximum((i / n - u).max(axis=-1), (u - (i - 1) / n).max(axis=-1))


def ks_pvalue(u: np.ndarray) -> float:
    """Exact two-sided Kolmogorov-Smirnov p-value of ``u`` against Uniform(0, 1).

    The exact distribution of the two-sided statistic (``scipy.stats.kstwo``), as
    ``scipy.stats.kstest(u, "uniform", method="exact")``.
    """
    u = np.asarray(u, dtype=float)
    u = u[np.isfinite(u)]
    if len(u) == 0:
        return float("nan")
    return float(stats.kstwo.sf(ks_statistics(u), len(u)))


def holm(pvalues: pd.Series) -> pd.Series:
    """Holm-adjusted p-values (NaN entries are left out and stay NaN)."""
    p = pvalues.dropna().sort_values(kind="stable")
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p.to_numpy()))
    out = pd.Series(np.nan, index=pvalues.index, dtype=float)
    out[p.index] = adjusted
    return out


@dataclass
class RankCheck:
    """The outcome of :func:`check_ranks`.

    Attributes
    ----------
    table : DataFrame
        Indexed by quantity: ``n`` (replications), ``mean_u``, ``ks_p`` and ``holm_p``
        (the Holm-adjusted p-value), ``rejected`` (``holm_p < alpha``).
    alpha : float
        Family-wise level.
    """

    table: pd.DataFrame
    alpha: float

    @property
    def rejected(self) -> list[str]:
        """Quantities whose ranks are not uniform at the family-wise level."""
        return list(self.table.index[self.table["rejected"]])

    @property
    def passed(self) -> bool:
        """Whether no quantity is rejected."""
        return not self.rejected

    def to_text(self) -> str:
        """One line verdict plus the table."""
        verdict = ("PASS: no quantity rejected" if self.passed else
                   f"FAIL: rejected {', '.join(self.rejected)}")
        return (f"SBC rank check (exact KS per quantity, Holm across {len(self.table)} "
                f"quantities, family-wise alpha {self.alpha:g}): {verdict}\n"
                + self.table.to_string(float_format=lambda v: f"{v:.3g}"))


def check_ranks(ranks: pd.DataFrame, *, alpha: float = DEFAULT_ALPHA) -> RankCheck:
    """Test every column of ``ranks`` for uniformity, Holm-corrected.

    Parameters
    ----------
    ranks : DataFrame
        Fractional ranks in (0, 1): one row per replication, one column per quantity.
    alpha : float
        Family-wise false-alarm rate.
    """
    rows = {}
    for name in ranks.columns:
        u = ranks[name].dropna().to_numpy(float)
        rows[name] = {"n": len(u), "mean_u": float(np.mean(u)) if len(u) else np.nan,
                      "ks_p": ks_pvalue(u)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "quantity"
    table["holm_p"] = holm(table["ks_p"])
    table["rejected"] = table["holm_p"] < alpha
    return RankCheck(table=table, alpha=alpha)


def false_alarm_rate(n_replications: int, n_quantities: int, *, alpha: float = DEFAULT_ALPHA,
                     n_sim: int = 2000, seed: int = 0, correlation: float = 0.0
                     ) -> tuple[float, int, int]:
    """Rejection rate of :func:`check_ranks` on simulated calibrated ranks.

    Parameters
    ----------
    n_replications, n_quantities : int
        Shape of one rank table.
    alpha : float
        Family-wise level of the check.
    n_sim : int
        Simulated rank tables.
    seed : int
        Seed.
    correlation : float
        Correlation between quantities of one replication (Gaussian copula; the marginals
        stay exactly uniform).

    Returns
    -------
    (rate, rejections, n_sim)
    """
    rng = np.random.default_rng(seed)
    cov = np.full((n_quantities, n_quantities), correlation) + np.eye(n_quantities) * (
        1.0 - correlation)
    chol = np.linalg.cholesky(cov)
    z = rng.normal(size=(n_sim, n_replications, n_quantities)) @ chol.T
    u = np.swapaxes(stats.norm.cdf(z), 1, 2)  # (sim, quantity, replication)
    # Holm rejects some hypothesis iff its first step does: min p < alpha / m, i.e. the
    # largest KS distance exceeds the exact critical value at level alpha / m
    critical = stats.kstwo.isf(alpha / n_quantities, n_replications)
    rejections = int((ks_statistics(u).max(axis=1) > critical).sum())
    return rejections / n_sim, rejections, n_sim


def coverage_table(records: pd.DataFrame, *, prob: float = 0.94,
                   alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Observed coverage of the ``prob`` posterior intervals, per quantity, with bounds.

    With parameters drawn from the prior (as in SBC), a ``prob`` credible interval contains
    the truth in exactly a share ``prob`` of replications, whatever the interval kind. Two
    intervals are tallied: the central (equal-tailed) one, ``u`` inside ``((1 - prob) / 2,
    (1 + prob) / 2)``, from every replication's fractional rank; and the HDI, from the
    ``inside_hdi`` column where the run recorded it.

    Parameters
    ----------
    records : DataFrame
        One row per (replication, quantity) with ``quantity``, ``u`` and optionally
        ``inside_hdi``.
    prob : float
        Interval probability.
    alpha : float
        Family-wise level: each quantity gets an exact two-sided binomial test of
        coverage ``prob``, Holm-adjusted across quantities; ``lower``/``upper`` are the
        per-quantity ``1 - alpha`` binomial bounds of the count.

    Returns
    -------
    DataFrame
        Indexed by quantity: ``n``, ``covered_central``, ``coverage_central``, ``n_hdi``,
        ``covered_hdi``, ``coverage_hdi``, ``lower``, ``upper`` (bounds on the central
        count), ``p_central``, ``holm_central``, ``p_hdi``, ``holm_hdi``.
    """
    lo_u, hi_u = (1 - prob) / 2, (1 + prob) / 2
    rows = {}
    for name, group in records.groupby("quantity", sort=False):
        u = group["u"].dropna().to_numpy(float)
        covered = int(((u > lo_u) & (u < hi_u)).sum())
        n = len(u)
        hdi = (group["inside_hdi"].dropna().astype(bool) if "inside_hdi" in group
               else pd.Series(dtype=bool))
        rows[name] = {
            "n": n, "covered_central": covered,
            "coverage_central": covered / n if n else np.nan,
            "n_hdi": len(hdi), "covered_hdi": int(hdi.sum()),
            "coverage_hdi": float(hdi.mean()) if len(hdi) else np.nan,
            "lower": int(stats.binom.ppf(alpha / 2, n, prob)) if n else np.nan,
            "upper": int(stats.binom.ppf(1 - alpha / 2, n, prob)) if n else np.nan,
            "p_central": float(stats.binomtest(covered, n, prob).pvalue) if n else np.nan,
            "p_hdi": (float(stats.binomtest(int(hdi.sum()), len(hdi), prob).pvalue)
                      if len(hdi) else np.nan)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "quantity"
    table["holm_central"] = holm(table["p_central"])
    table["holm_hdi"] = holm(table["p_hdi"])
    return table


__all__ = ["DEFAULT_ALPHA", "RankCheck", "check_ranks", "coverage_table", "false_alarm_rate",
           "holm", "ks_pvalue", "ks_statistics"]
