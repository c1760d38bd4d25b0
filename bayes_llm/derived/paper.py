"""The paper's side of every headline figure: its quoted claims and its OLS point values.

Two kinds of paper numbers appear in the headline table:

* **Claims** (:data:`PAPER_CLAIMS`): ranges the paper states in words. They are the only
  paper numbers written down here; the posterior probability that a figure lies in the
  claimed range is reported next to it.
* **Point values**: every figure evaluated at the paper's estimator, i.e. the clustered-OLS
  baseline of :mod:`bayes_llm.baseline` (never hard-coded). :func:`ols_point_fit` turns an
  OLS fit into a one-draw pseudo-posterior with the same layout as a Bayesian fit, so the
  very same code computes the paper value and the posterior draws (the Shapley split with
  equal weights is then exactly the paper's 32.0 / 2.7 / 18.0, the shared-progress
  multiplier 7.5x, the within-developer spread 40.6x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.baseline.ols import (
    BaselineSpec,
    OLSFit,
    developer_term,
    fit_baseline_ols,
    period_term,
)
from bayes_llm.derived.summary import FitLike
from bayes_llm.model.spec import ModelSpec


@dataclass(frozen=True)
class PaperClaim:
    """A range the paper states in words, on the scale of the matching headline figures."""

    lower: float
    upper: float
    text: str
    statement: str


#: The paper's quoted claims (the only paper numbers not recomputed from the data).
PAPER_CLAIMS: dict[str, PaperClaim] = {
    "frontier_compute_share": PaperClaim(
        0.80, 0.90, "80-90%",
        "At the frontier, 80-90% of performance differences are explained by higher "
        "training compute (abstract)."),
    "company_share": PaperClaim(
        0.14, 0.18, "14-18%",
        "Developer-specific ('secret sauce') effects account for 14-18% of the differences "
        "in performance (the paper's quoted company share; the abstract gives no number)."),
    "within_spread": PaperClaim(
        40.0, math.inf, "more than 40x",
        "A firm can train two models with more than 40x compute efficiency difference "
        "(abstract)."),
}


def paper_claims_table() -> pd.DataFrame:
    """:data:`PAPER_CLAIMS` as a table (claim, lower, upper, text, statement)."""
    return pd.DataFrame([{"claim": k, "lower": c.lower, "upper": c.upper, "text": c.text,
                          "statement": c.statement} for k, c in PAPER_CLAIMS.items()])


def baseline_spec_for(spec: ModelSpec, *, sample: str = "full") -> BaselineSpec:
    """Return the paper's regression with the fit's period, outcome and developer coding.

    The paper's 13 groups when the fit is group-coded, else every developer string as a
    fixed effect. ``sample`` is ``"full"`` when the regression runs on ``fit.models``
    (already the fit's sample).
    """
    developers = "groups" if spec.developer == "group" else "developer"
    return BaselineSpec(sample=sample, period=spec.period, outcome=spec.outcome,
                        developers=developers)


def paper_ols(fit: FitLike, baseline: object | None = None, *,
              df: pd.DataFrame | None = None) -> OLSFit:
    """Fit (or take) the paper's OLS for a fit.

    Parameters
    ----------
    fit : FitLike
        The Bayesian fit whose coding the regression mirrors.
    baseline : BaselineResults or OLSFit, optional
        Already computed baseline results (their OLS fit is used as is).
    df : DataFrame, optional
        The full canonical table: the regression then runs on the fit's sample of it;
        default ``fit.models``.
    """
    if baseline is not None:
        return baseline if isinstance(baseline, OLSFit) else baseline.fit
    if df is not None:
        return fit_baseline_ols(df, baseline_spec_for(fit.spec, sample=fit.spec.sample))
    return fit_baseline_ols(fit.models, baseline_spec_for(fit.spec))


@dataclass
class PointFit:
    """A one-draw pseudo-fit (see :func:`ols_point_fit`); satisfies ``FitLike``."""

    spec: ModelSpec
    dt: xr.DataTree
    models: pd.DataFrame


def ols_point_fit(ols: OLSFit, spec: ModelSpec) -> PointFit:
    """Lay an OLS fit out as a one-draw posterior (chain 0, draw 0).

    ``alpha`` is the intercept at the spec's centring compute, ``beta`` the slope,
    ``period_effect`` and ``developer_effect`` the OLS effects (reference levels 0);
    ``constant_data`` and ``observed_data`` hold the regression's data, so
    :func:`bayes_llm.model.linear_components` returns the OLS decomposition with the
    residual as the ``model`` component.

    Parameters
    ----------
    ols : OLSFit
        The baseline regression.
    spec : ModelSpec
        The Bayesian fit's spec (outcome and centring compute).
    """
    design = ols.design
    data = design.data.reset_index(drop=True)
    pcol, dcol = ols.spec.period_column, ols.spec.developer_column
    periods = list(design.period_levels)
    developers = list(design.developer_levels)
    params = ols.params  # one lookup (the per-level accessors re-read it per level)
    period_eff = np.array([0.0, *params.reindex([period_term(p) for p in periods[1:]])
                           .to_numpy(float)])
    dev_eff = np.array([0.0, *params.reindex([developer_term(d) for d in developers[1:]])
                        .to_numpy(float)])
    beta = ols.beta
    alpha = float(ols.params["const"]) + beta * spec.compute_centre
    sample = {"chain": [0], "draw": [0]}

    def one(values: np.ndarray, dims: tuple[str, ...], coords: dict) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, float)[None, None, ...],
                            dims=("chain", "draw", *dims), coords={**sample, **coords})

    posterior = xr.Dataset({
        "alpha": one(np.array(alpha), (), {}),
        "beta": one(np.array(beta), (), {}),
        "period_effect": one(period_eff, ("period",), {"period": periods}),
        "developer_effect": one(dev_eff, ("developer",), {"developer": developers}),
    })
    model_ids = data["model_id"].astype(str).to_numpy()
    period_idx = pd.Categorical(data[pcol].astype(str), categories=periods).codes
    developer_idx = pd.Categorical(data[dcol].astype(str), categories=developers).codes
    constant = xr.Dataset({
        "log10_flop_centred": ("model", data["log10_flop"].to_numpy(float)
                               - spec.compute_centre),
        "period_idx": ("model", np.asarray(period_idx, dtype=np.int64)),
        "developer_idx": ("model", np.asarray(developer_idx, dtype=np.int64)),
    }, coords={"model": model_ids})
    observed = xr.Dataset({"y": ("model", np.asarray(design.y, float))},
                          coords={"model": model_ids})
    dt = xr.DataTree.from_dict({"posterior": posterior, "constant_data": constant,
                                "observed_data": observed})
    models = data.copy()
    models["period"] = data[pcol].astype(str)
    models["developer_unit"] = data[dcol].astype(str)
    return PointFit(spec=spec, dt=dt, models=models)


__all__ = ["PAPER_CLAIMS", "PaperClaim", "PointFit", "baseline_spec_for", "ols_point_fit",
           "paper_claims_table", "paper_ols"]
