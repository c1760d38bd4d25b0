"""Design matrix and clustered OLS fit of the paper's frequentist baseline.

The regression is

    y_i = a + beta * log10(C_i) + period effect + developer effect + e_i,

with ``y`` the logit of the (guess-corrected) benchmark score, one dummy per period except
the first (the reference) and one dummy per developer (group) except the reference
("Other, Small" when present). It is fitted by unweighted OLS with standard errors
clustered by the paper's 13 developer groups.

Small-sample correction of the clustered covariance: statsmodels' default for
``cov_type="cluster"`` (``use_correction=True``), i.e. Stata's
``G / (G - 1) * (N - 1) / (N - K)`` factor. This is the correction that reproduces the
paper's standard error of the compute slope; without it the SE is about 5% smaller.
Inference uses a t distribution with ``G - 1`` degrees of freedom, as Stata does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data.benchmarks import (
    OUTCOME_BENCHMARKS,
    benchmark,
    outcome_columns,
    with_outcome_columns,
)
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.data.samples import SAMPLES, SampleReport, select_sample
from bayes_llm.data.schema import check_ols_size
from bayes_llm.errors import SpecError

#: Outcome name -> (logit column regressed on, score column on the accuracy scale used for
#: thresholds and percentage-point contributions, human-readable label).
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "mmlu_pro": ("mmlu_pro_logit", "mmlu_pro_norm", "MMLU-Pro, normalised (acc - 0.1) / 0.9"),
    "math_lvl5": ("math_lvl5_logit", "math_lvl5_acc", "MATH Level 5, raw accuracy"),
    # The other leaderboard benchmarks (bayes_llm.data.benchmarks): logit of the score above
    # the chance level, as for MMLU-Pro.
    **{name: (outcome_columns(name)[2], outcome_columns(name)[1],
              f"{benchmark(name).label}, normalised (acc - {benchmark(name).chance:.3g}) / "
              f"{1 - benchmark(name).chance:.3g}") for name in OUTCOME_BENCHMARKS},
}
#: Period coding -> column of the canonical table.
PERIODS: dict[str, str] = {"cohort": "cohort", "quarter": "quarter", "month": "month"}
#: Developer coding -> column of the canonical table.
DEVELOPER_CODINGS: dict[str, str] = {"groups": "developer_group", "developer": "developer"}
#: Column whose values define the clusters of the standard errors.
CLUSTER_COLUMN: str = "developer_group"
#: Confidence level of every frequentist interval of the baseline.
CONFIDENCE_LEVEL: float = 0.95
#: Name of the compute regressor in the design matrix.
COMPUTE_TERM: str = "log10_flop"
#: Names of the three regressor blocks (the Shapley "players").
BLOCK_NAMES: tuple[str, str, str] = ("compute", "period", "developer")


@dataclass(frozen=True)
class BaselineSpec:
    """Which baseline regression to run.

    Parameters
    ----------
    sample : str
        A sample of :data:`bayes_llm.data.SAMPLES`.
    period : {"cohort", "quarter", "month"}
        Time fixed effects.
    outcome : {"mmlu_pro", "math_lvl5"}
        Benchmark. ``math_lvl5`` uses logit(raw accuracy); zero scores are excluded and
        counted in the sample report.
    developers : {"groups", "developer"}
        ``groups``: the paper's 13 developer groups; ``developer``: every developer
        string its own fixed effect.

    """

    sample: str = "full"
    period: str = "cohort"
    outcome: str = "mmlu_pro"
    developers: str = "groups"

    def __post_init__(self) -> None:
        for name, value, allowed in (("sample", self.sample, SAMPLES),
                                     ("period", self.period, PERIODS),
                                     ("outcome", self.outcome, OUTCOMES),
                                     ("developers", self.developers, DEVELOPER_CODINGS)):
            if value not in allowed:
                raise SpecError(f"unknown {name} '{value}'; choose from {', '.join(allowed)}")

    @property
    def outcome_column(self) -> str:
        """Column of the logit outcome."""
        return OUTCOMES[self.outcome][0]

    @property
    def score_column(self) -> str:
        """Column of the score on the (normalised) accuracy scale."""
        return OUTCOMES[self.outcome][1]

    @property
    def period_column(self) -> str:
        """Column of the period labels."""
        return PERIODS[self.period]

    @property
    def developer_column(self) -> str:
        """Column of the developer labels."""
        return DEVELOPER_CODINGS[self.developers]


@dataclass
class Design:
    """The regression's data: outcome, regressors and bookkeeping.

    Attributes
    ----------
    data : DataFrame
        The rows used, in the order of ``y`` and ``X``.
    y : ndarray
        Outcome, shape (n,).
    X : DataFrame
        Regressors *without* the intercept: ``log10_flop``, ``period[...]`` and
        ``developer[...]`` dummies.
    blocks : dict of str to list of str
        Columns of ``X`` in each block: ``compute``, ``period``, ``developer``.
    period_levels, developer_levels : list of str
        All levels present, the reference level first.
    clusters : ndarray
        Integer cluster code of each row.

    """

    data: pd.DataFrame
    y: np.ndarray
    X: pd.DataFrame
    blocks: dict[str, list[str]]
    period_levels: list[str]
    developer_levels: list[str]
    clusters: np.ndarray

    @property
    def base_period(self) -> str:
        """The reference (omitted) period."""
        return self.period_levels[0]

    @property
    def base_developer(self) -> str:
        """The reference (omitted) developer level."""
        return self.developer_levels[0]

    def block_arrays(self) -> dict[str, np.ndarray]:
        """Regressor blocks as float arrays, the input of :func:`shapley_r2`."""
        return {name: self.X[cols].to_numpy(float) for name, cols in self.blocks.items()}


def period_term(level: str) -> str:
    """Design-matrix column name of a period dummy."""
    return f"period[{level}]"


def developer_term(level: str) -> str:
    """Design-matrix column name of a developer dummy."""
    return f"developer[{level}]"


def reference_developer(levels: list[str], coding: str, counts: pd.Series) -> str:
    """Pick the omitted developer level.

    ``"Other, Small"`` when present (the paper's choice). Otherwise, with the paper's
    groups, the first group of :func:`paper_group_order` present (e.g. Qwen in the majors
    sample); with per-developer effects, the developer with the most models (ties broken
    alphabetically).
    """
    if C.PAPER_BASE_GROUP in levels:
        return C.PAPER_BASE_GROUP
    if coding == "groups":
        for group in paper_group_order():
            if group in levels:
                return group
    ranked = sorted(levels, key=lambda lvl: (-int(counts[lvl]), lvl))
    return ranked[0]


def _dummies(values: pd.Series, levels: list[str], namer) -> pd.DataFrame:
    """0/1 columns for every level but the first."""
    arr = values.to_numpy(object)
    return pd.DataFrame({namer(lvl): (arr == lvl).astype(float) for lvl in levels[1:]},
                        index=values.index)


def build_design(df: pd.DataFrame, spec: BaselineSpec) -> Design:
    """Build the baseline's design matrix from an already selected sample.

    Parameters
    ----------
    df : DataFrame
        Canonical model table restricted to the sample; rows with a missing outcome or
        period must already be removed (see :func:`select_baseline_sample`).
    spec : BaselineSpec
        The regression to build.

    Returns
    -------
    Design

    """
    if len(df) == 0:
        raise SpecError(f"sample '{spec.sample}' has no models for outcome '{spec.outcome}'")
    data = df.reset_index(drop=True)
    period = data[spec.period_column].astype(str)
    developer = data[spec.developer_column].astype(str)
    period_levels = sorted(period.unique())
    dev_present = set(developer.unique())
    if spec.developers == "groups":
        order = [g for g in paper_group_order() if g in dev_present]
        order += sorted(dev_present - set(order))
    else:
        order = sorted(dev_present)
    base = reference_developer(order, spec.developers, developer.value_counts())
    developer_levels = [base, *(lvl for lvl in order if lvl != base)]
    check_ols_size(str(df.attrs.get("source_file") or "the model table"), len(data),
                   2 + len(period_levels) + len(developer_levels))  # before allocating
    compute = pd.DataFrame({COMPUTE_TERM: data["log10_flop"].to_numpy(float)})
    periods = _dummies(period, period_levels, period_term)
    devs = _dummies(developer, developer_levels, developer_term)
    X = pd.concat([compute, periods, devs], axis=1)
    blocks = {"compute": [COMPUTE_TERM], "period": list(periods.columns),
              "developer": list(devs.columns)}
    clusters = pd.factorize(data[CLUSTER_COLUMN].astype(str), sort=True)[0]
    return Design(data=data, y=data[spec.outcome_column].to_numpy(float), X=X, blocks=blocks,
                  period_levels=period_levels, developer_levels=developer_levels,
                  clusters=np.asarray(clusters))


def select_baseline_sample(df: pd.DataFrame,
                           spec: BaselineSpec) -> tuple[pd.DataFrame, SampleReport]:
    """Apply the spec's sample filter and drop (and count) rows lacking outcome or period."""
    df = with_outcome_columns(df, spec.outcome)
    require = (spec.outcome_column, spec.period_column, "log10_flop", spec.developer_column,
               CLUSTER_COLUMN)
    return select_sample(df, spec.sample, require=tuple(dict.fromkeys(require)))


@dataclass
class OLSFit:
    """A fitted baseline regression.

    Attributes
    ----------
    spec : BaselineSpec
    design : Design
    result : statsmodels RegressionResults
        Clustered-covariance OLS result; ``params`` are indexed by term name with
        ``const`` first.
    sample_report : SampleReport or None
    rank : int or None
        Column rank of the design matrix (intercept included).

    """

    spec: BaselineSpec
    design: Design
    result: object = field(repr=False)
    sample_report: SampleReport | None = None
    rank: int | None = None

    @property
    def full_rank(self) -> bool:
        """Whether every coefficient is identified (design matrix of full column rank)."""
        return self.rank is None or self.rank == len(self.params)

    @property
    def params(self) -> pd.Series:
        """Coefficients by term."""
        return self.result.params

    @property
    def cov(self) -> pd.DataFrame:
        """Cluster-robust covariance of the coefficients."""
        return self.result.cov_params()

    @property
    def beta(self) -> float:
        """Slope on log10 training compute."""
        return float(self.params[COMPUTE_TERM])

    @property
    def beta_se(self) -> float:
        """Clustered standard error of the slope."""
        return float(self.result.bse[COMPUTE_TERM])

    @property
    def r2(self) -> float:
        """Coefficient of determination."""
        return float(self.result.rsquared)

    @property
    def nobs(self) -> int:
        """Number of models."""
        return int(self.result.nobs)

    @property
    def n_clusters(self) -> int:
        """Number of clusters of the standard errors."""
        return int(len(np.unique(self.design.clusters)))

    @property
    def df_inference(self) -> int:
        """Degrees of freedom of t-based intervals (clusters minus one)."""
        return self.n_clusters - 1

    @property
    def residuals(self) -> pd.Series:
        """OLS residuals, indexed by model id."""
        return pd.Series(np.asarray(self.result.resid, float),
                         index=self.design.data["model_id"].to_numpy(), name="residual")

    def period_effects(self) -> pd.Series:
        """Effect of every period level (the reference is 0)."""
        levels = self.design.period_levels
        values = [0.0, *(float(self.params[period_term(lvl)]) for lvl in levels[1:])]
        return pd.Series(values, index=levels, name="period_effect")

    def developer_effects(self) -> pd.Series:
        """Effect of every developer level (the reference is 0)."""
        levels = self.design.developer_levels
        values = [0.0, *(float(self.params[developer_term(lvl)]) for lvl in levels[1:])]
        return pd.Series(values, index=levels, name="developer_effect")


def fit_design(design: Design, spec: BaselineSpec,
               sample_report: SampleReport | None = None) -> OLSFit:
    """Fit OLS with cluster-robust (CR1, Stata-corrected) standard errors."""
    # here, and not statsmodels.api (0.3 s more): reading cached OLS values needs neither
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning
    from statsmodels.tools.tools import add_constant

    exog = add_constant(design.X, has_constant="add")
    model = OLS(design.y, exog)
    with warnings.catch_warnings():
        # Rank deficiency is recorded in OLSFit.rank and reported as a note instead.
        warnings.simplefilter("ignore", category=SingularMatrixWarning)
        if len(np.unique(design.clusters)) < 2:
            # One cluster: the CR1 covariance divides by (clusters - 1), so clustered
            # standard errors are undefined; keep the estimates, report NaN errors.
            result = model.fit(use_t=True)
            result._results.cov_params_default = np.full((exog.shape[1],) * 2, np.nan)
        else:
            result = model.fit(cov_type="cluster", cov_kwds={"groups": design.clusters},
                               use_t=True)
    return OLSFit(spec=spec, design=design, result=result, sample_report=sample_report,
                  rank=int(model.rank))


def fit_baseline_ols(df: pd.DataFrame, spec: BaselineSpec | None = None) -> OLSFit:
    """Select the sample, build the design and fit the baseline regression.

    Parameters
    ----------
    df : DataFrame
        The full canonical model table (e.g. from
        :func:`bayes_llm.data.load_paper_dataset`).
    spec : BaselineSpec, optional
        Defaults to the paper's main specification.

    Returns
    -------
    OLSFit

    """
    spec = spec or BaselineSpec()
    sample, report = select_baseline_sample(df, spec)
    design = build_design(sample, spec)
    return fit_design(design, spec, report)


def coefficient_table(fit: OLSFit, level: float = CONFIDENCE_LEVEL) -> pd.DataFrame:
    """Tidy table of coefficients with clustered SEs, t statistics and intervals."""
    res = fit.result
    ci = res.conf_int(alpha=1 - level)
    blocks = {term: name for name, terms in fit.design.blocks.items() for term in terms}
    terms = list(res.params.index)
    return pd.DataFrame({
        "term": terms,
        "block": [blocks.get(t, "intercept") for t in terms],
        "estimate": np.asarray(res.params, float),
        "std_error": np.asarray(res.bse, float),
        "t_value": np.asarray(res.tvalues, float),
        "p_value": np.asarray(res.pvalues, float),
        "ci_low": np.asarray(ci.iloc[:, 0], float),
        "ci_high": np.asarray(ci.iloc[:, 1], float),
    })
