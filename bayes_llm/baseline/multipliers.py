"""Compute-equivalent multipliers: effects expressed as factors of training compute.

A shift ``c`` on the logit scale is worth as much as multiplying training compute by
``10 ** (c / beta)``, with ``beta`` the slope on log10 compute. Intervals use the delta
method on ``g = c / beta`` with the cluster-robust covariance of ``(c, beta)``, a t
critical value with ``G - 1`` degrees of freedom, and are then exponentiated (so they are
asymmetric on the multiplier scale).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayes_llm.baseline.ols import (
    COMPUTE_TERM,
    CONFIDENCE_LEVEL,
    OLSFit,
    developer_term,
    period_term,
)

#: Percentile definition of the within-developer efficiency spread: NumPy's default
#: ("linear", Hyndman & Fan type 7, as in R's default and Excel's PERCENTILE.INC).
SPREAD_PERCENTILE_METHOD: str = "linear"
#: Percentiles of the within-developer spread.
SPREAD_PERCENTILES: tuple[float, float] = (10.0, 90.0)

MULTIPLIER_COLUMNS: list[str] = [
    "kind", "label", "reference", "n_models", "log10_multiplier", "se_log10", "multiplier",
    "ci_low", "ci_high",
]


def critical_value(fit: OLSFit, level: float = CONFIDENCE_LEVEL) -> float:
    """Two-sided t critical value with clusters-minus-one degrees of freedom."""
    from scipy import stats  # here: importing the package (e.g. for a cached headline) needs none

    return float(stats.t.ppf(0.5 + level / 2, fit.df_inference))


def contrast_multiplier(fit: OLSFit, weights: Mapping[str, float],
                        level: float = CONFIDENCE_LEVEL) -> dict[str, float]:
    """Compute-equivalent multiplier of a linear contrast of coefficients.

    Parameters
    ----------
    fit : OLSFit
        The fitted baseline.
    weights : mapping of term to weight
        The contrast ``c = sum(w_k * theta_k)`` (e.g. ``{"period[2024q3-2025q1]": 1}``).
    level : float
        Confidence level.

    Returns
    -------
    dict
        ``log10_multiplier`` (``c / beta``), its delta-method ``se_log10``, and
        ``multiplier``, ``ci_low``, ``ci_high`` on the compute-factor scale.

    """
    params = fit.params
    cov = fit.cov
    terms = list(params.index)
    a = np.zeros(len(terms))
    for term, w in weights.items():
        a[terms.index(term)] += w
    b_idx = terms.index(COMPUTE_TERM)
    beta = float(params.iloc[b_idx])
    c = float(a @ params.to_numpy(float))
    g = c / beta
    grad = a / beta
    grad[b_idx] -= c / beta**2
    se = float(np.sqrt(max(grad @ cov.to_numpy(float) @ grad, 0.0)))
    crit = critical_value(fit, level)
    return {"log10_multiplier": g, "se_log10": se, "multiplier": 10**g,
            "ci_low": 10 ** (g - crit * se), "ci_high": 10 ** (g + crit * se)}


def _effect_weights(term_of, levels: list[str], level: str, reference: str) -> dict[str, float]:
    """Contrast weights of ``level`` minus ``reference`` (the base level has no term)."""
    weights: dict[str, float] = {}
    if level != levels[0]:
        weights[term_of(level)] = 1.0
    if reference != levels[0]:
        weights[term_of(reference)] = weights.get(term_of(reference), 0.0) - 1.0
    return weights


def period_multipliers(fit: OLSFit, level: float = CONFIDENCE_LEVEL) -> pd.DataFrame:
    """Shared algorithmic progress: last vs first period, then every period vs the first."""
    levels = fit.design.period_levels
    periods = fit.design.data[fit.spec.period_column].astype(str)
    rows = []
    if len(levels) > 1:
        first, last = levels[0], levels[-1]
        rows.append({"kind": "shared_progress", "label": f"{last} vs {first}",
                     "reference": first, "n_models": int((periods == last).sum()),
                     **contrast_multiplier(fit, _effect_weights(period_term, levels, last,
                                                                first), level)})
        for lvl in levels[1:]:
            rows.append({"kind": "period", "label": lvl, "reference": first,
                         "n_models": int((periods == lvl).sum()),
                         **contrast_multiplier(fit, _effect_weights(period_term, levels, lvl,
                                                                    first), level)})
    return pd.DataFrame(rows, columns=MULTIPLIER_COLUMNS)


def developer_multipliers(fit: OLSFit, level: float = CONFIDENCE_LEVEL) -> pd.DataFrame:
    """Every developer level's multiplier relative to the reference level."""
    levels = fit.design.developer_levels
    devs = fit.design.data[fit.spec.developer_column].astype(str)
    counts = devs.value_counts()
    rows = [{"kind": "developer", "label": lvl, "reference": levels[0],
             "n_models": int(counts[lvl]),
             **contrast_multiplier(fit, {developer_term(lvl): 1.0}, level)}
            for lvl in levels[1:]]
    return pd.DataFrame(rows, columns=MULTIPLIER_COLUMNS)


def within_spread(fit: OLSFit, mask: np.ndarray | pd.Series | None = None, *,
                  percentiles: tuple[float, float] = SPREAD_PERCENTILES,
                  method: str = SPREAD_PERCENTILE_METHOD,
                  level: float = CONFIDENCE_LEVEL) -> dict[str, float]:
    """Within-developer efficiency spread as a compute multiplier.

    ``10 ** ((q_hi - q_lo) / beta)`` where ``q`` are percentiles of the OLS residuals of
    the selected models (by default the models of the 10 major developers, ``is_major``).
    Percentiles use NumPy's ``method`` (default ``"linear"``, the definition that
    reproduces the paper's p90/p10 figure; Stata's averaged inverted CDF gives a slightly
    larger value).

    The interval reflects only the uncertainty of ``beta`` (delta method with its clustered
    SE); the residual percentiles are treated as fixed.

    Returns
    -------
    dict
        ``n_models``, ``log10_multiplier``, ``se_log10``, ``multiplier``, ``ci_low``,
        ``ci_high`` (NaN when fewer than two models are selected).

    """
    if mask is None:
        mask = fit.design.data["is_major"].to_numpy(bool)
    resid = np.asarray(fit.result.resid, float)[np.asarray(mask, bool)]
    nan = float("nan")
    if resid.size < 2:
        return {"n_models": int(resid.size), "log10_multiplier": nan, "se_log10": nan,
                "multiplier": nan, "ci_low": nan, "ci_high": nan}
    lo, hi = np.percentile(resid, percentiles, method=method)
    delta = float(hi - lo)
    beta, beta_se = fit.beta, fit.beta_se
    g = delta / beta
    se = abs(delta) / beta**2 * beta_se
    crit = critical_value(fit, level)
    return {"n_models": int(resid.size), "log10_multiplier": g, "se_log10": se,
            "multiplier": 10**g, "ci_low": 10 ** (g - crit * se),
            "ci_high": 10 ** (g + crit * se)}


def multiplier_table(fit: OLSFit, level: float = CONFIDENCE_LEVEL, *,
                     percentiles: tuple[float, float] = SPREAD_PERCENTILES,
                     method: str = SPREAD_PERCENTILE_METHOD) -> pd.DataFrame:
    """All compute-equivalent multipliers of a fit in one tidy table.

    Rows, by ``kind``: ``shared_progress`` (last vs first period), ``period`` (each period
    vs the first), ``developer`` (each developer level vs the reference, "Other, Small"
    in the paper's coding) and ``within_spread`` (p90/p10 of the residuals among the
    major developers' models).
    """
    lo, hi = percentiles
    spread = within_spread(fit, percentiles=percentiles, method=method, level=level)
    spread_row = pd.DataFrame([{"kind": "within_spread",
                                "label": f"p{hi:g} vs p{lo:g} residual, majors' models",
                                "reference": f"p{lo:g}", **spread}], columns=MULTIPLIER_COLUMNS)
    parts = [period_multipliers(fit, level), developer_multipliers(fit, level), spread_row]
    parts = [p for p in parts if not p.empty]
    table = pd.concat(parts, ignore_index=True)
    table["n_models"] = table["n_models"].astype(int)
    return table
