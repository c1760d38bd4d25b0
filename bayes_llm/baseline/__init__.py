"""The paper's frequentist baseline: clustered OLS, Shapley R², multipliers, Table 1.

Typical use::

    from bayes_llm.data import load_paper_dataset
    from bayes_llm.baseline import run_baseline

    res = run_baseline(load_paper_dataset())
    print(res.summary())
    res.export("out/baseline")
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayes_llm.baseline.multipliers import (
    SPREAD_PERCENTILE_METHOD,
    SPREAD_PERCENTILES,
    contrast_multiplier,
    multiplier_table,
    within_spread,
)
from bayes_llm.baseline.ols import (
    CONFIDENCE_LEVEL,
    DEVELOPER_CODINGS,
    OUTCOMES,
    PERIODS,
    BaselineSpec,
    Design,
    OLSFit,
    build_design,
    coefficient_table,
    fit_baseline_ols,
)
from bayes_llm.baseline.pairwise import DEFAULT_PAIRS, decompose_pair, pairwise_table
from bayes_llm.baseline.results import BaselineResults, shapley_table
from bayes_llm.baseline.shapley import shapley_r2, subset_r2
from bayes_llm.baseline.thresholds import DEFAULT_THRESHOLDS, threshold_declines, threshold_path

#: Reference periods with fewer models than this get a caution in the notes.
SMALL_REFERENCE_N: int = 5


def fit_notes(fit: OLSFit) -> list[str]:
    """Cautions about a fit: rank deficiency and a thinly populated reference period."""
    notes = []
    if not fit.full_rank:
        notes.append(
            f"the design matrix is rank-deficient (rank {fit.rank} of {len(fit.params)} "
            f"columns): some {fit.spec.period} and developer effects are not separately "
            f"identified, so their coefficients and multipliers are arbitrary "
            f"(minimum-norm solution)")
    if fit.n_clusters < 2:
        notes.append("one developer cluster: clustered standard errors and intervals are "
                     "undefined (CR1 divides by clusters - 1)")
    periods = fit.design.data[fit.spec.period_column].astype(str)
    n_base = int((periods == fit.design.base_period).sum())
    if n_base < SMALL_REFERENCE_N:
        notes.append(
            f"the reference {fit.spec.period} {fit.design.base_period} has only {n_base} "
            f"model(s); every {fit.spec.period} effect and the shared-progress multiplier "
            f"are measured against it and are correspondingly imprecise")
    return notes


def run_baseline(
    df: pd.DataFrame,
    spec: BaselineSpec | None = None,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    level: float = CONFIDENCE_LEVEL,
    spread_percentiles: tuple[float, float] = SPREAD_PERCENTILES,
    spread_method: str = SPREAD_PERCENTILE_METHOD,
) -> BaselineResults:
    """Run the whole frequentist baseline on a canonical model table.

    Parameters
    ----------
    df : DataFrame
        The full canonical model table; the spec's sample filter is applied here.
    spec : BaselineSpec, optional
        Sample, period, outcome and developer coding; defaults to the paper's main
        specification (full sample, cohorts, MMLU-Pro, 13 developer groups).
    pairs : sequence of (model_id, model_id), optional
        Pairs for the progress decomposition; default :data:`DEFAULT_PAIRS` (pairs whose
        models are outside the sample are then skipped with a note).
    thresholds : sequence of float
        Score thresholds (normalised accuracy scale) for the compute-decline analysis.
    level : float
        Confidence level of the intervals.
    spread_percentiles : (float, float)
        Percentiles of the within-developer efficiency spread.
    spread_method : str
        NumPy percentile method of the spread (default ``"linear"``).

    Returns
    -------
    BaselineResults

    """
    spec = spec or BaselineSpec()
    fit = fit_baseline_ols(df, spec)
    blocks = fit.design.block_arrays()
    shares = shapley_r2(fit.design.y, blocks)
    pairwise, notes = pairwise_table(fit, pairs)
    notes = [*fit_notes(fit), *notes]
    thresh, paths = threshold_declines(fit.design.data, thresholds,
                                       score_column=spec.score_column)
    return BaselineResults(
        spec=spec,
        sample_report=fit.sample_report,
        nobs=fit.nobs,
        n_clusters=fit.n_clusters,
        beta=fit.beta,
        beta_se=fit.beta_se,
        r2=fit.r2,
        level=level,
        coefficients=coefficient_table(fit, level),
        shapley=shapley_table(shares, fit.r2, spec),
        multipliers=multiplier_table(fit, level, percentiles=spread_percentiles,
                                     method=spread_method),
        pairwise=pairwise,
        thresholds=thresh,
        threshold_paths=paths,
        notes=notes,
        fit=fit,
    )


__all__ = [
    "CONFIDENCE_LEVEL",
    "DEFAULT_PAIRS",
    "DEFAULT_THRESHOLDS",
    "DEVELOPER_CODINGS",
    "OUTCOMES",
    "PERIODS",
    "SPREAD_PERCENTILES",
    "SPREAD_PERCENTILE_METHOD",
    "BaselineResults",
    "BaselineSpec",
    "Design",
    "OLSFit",
    "build_design",
    "coefficient_table",
    "contrast_multiplier",
    "decompose_pair",
    "fit_notes",
    "fit_baseline_ols",
    "multiplier_table",
    "pairwise_table",
    "run_baseline",
    "shapley_r2",
    "subset_r2",
    "threshold_declines",
    "threshold_path",
    "within_spread",
]
