"""The paper's OLS as a predictive reference on the same split.

On the training models, the paper's regression (:mod:`bayes_llm.baseline.ols`: the logit of
the score above the guessing floor on log10 compute, period dummies and developer-group
dummies) is refitted. For a held-out model with regressor row ``x0`` (intercept included)
its predictive distribution on the logit scale is the classical OLS prediction

    z ~ Normal(x0' b, s^2 (1 + x0' (X'X)^-1 x0)),

with ``s`` the residual standard deviation (``sqrt(SSR / (N - p))``) and ``(X'X)^-1`` the
homoskedastic (not the clustered) covariance factor, matching the residual-SD assumption.
It is put on the accuracy scale by ``acc = g + (1 - g) logistic(z)`` (``g`` the guessing
floor), which is monotone, so its CDF is ``Phi((logit((a - g)/(1 - g)) - m) / sd)``.

**Levels unseen in training.** A held-out model whose developer group or period has no
training model has no fitted dummy; its dummy is dropped, i.e. it is predicted at the
reference level (the paper's reference group "Other, Small", or the first period), with
no added variance. This is what a user of the paper's regression would do; the count of
such models is reported (``unseen_levels``), and under ``developers:K`` splits most
held-out developers still have a known *group* (the paper's coding pools small
developers into three compute bins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from bayes_llm.baseline.ols import (
    COMPUTE_TERM,
    BaselineSpec,
    build_design,
    developer_term,
    fit_design,
    period_term,
    select_baseline_sample,
)
from bayes_llm.model.design import OUTCOMES

#: Name of the reference method in every validation table.
OLS_METHOD: str = "paper_ols"


@dataclass
class OLSPrediction:
    """Predictive distribution of the paper's OLS for some rows (the prediction interface).

    Attributes
    ----------
    frame : DataFrame
        The predicted rows.
    mean, sd : ndarray
        Predictive mean and SD of the logit score above the floor, per row.
    guess : float
        Guessing floor of the outcome.
    n_items : ndarray
        Items of the benchmark per row.
    accuracy : ndarray
        ``(sample, row)`` draws of accuracy (for quantiles, the median and the CRPS).
    unseen : ndarray of bool
        Rows whose developer group or period had no training model (reference level used).
    """

    frame: pd.DataFrame
    mean: np.ndarray
    sd: np.ndarray
    guess: float
    n_items: np.ndarray
    accuracy: np.ndarray = field(repr=False)
    unseen: np.ndarray = field(repr=False)

    def cdf(self, values: np.ndarray) -> np.ndarray:
        """Predictive CDF of accuracy at one value per row, shape ``(1, row)``."""
        a = np.asarray(values, float)
        q = (a - self.guess) / (1 - self.guess)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = special.logit(np.clip(q, 0.0, 1.0))
        out = stats.norm.cdf((z - self.mean) / self.sd)
        out = np.where(q <= 0, 0.0, np.where(q >= 1, 1.0, out))
        return out[None, :]

    def pmf_bin(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Probability of accuracy in ``(lower, upper]`` per row, shape ``(1, row)``."""
        return self.cdf(upper) - self.cdf(lower)


def predict_ols(train: pd.DataFrame, test: pd.DataFrame, *, outcome: str = "mmlu_pro",
                draws: int = 2000, seed: int = 0) -> OLSPrediction:
    """Fit the paper's OLS on ``train`` and give its predictive distribution for ``test``.

    Parameters
    ----------
    train, test : DataFrame
        Canonical model tables (test rows need ``log10_flop``, ``cohort`` and
        ``developer_group``; their scores are not used).
    outcome : {"mmlu_pro", "math_lvl5"}
        Benchmark.
    draws : int
        Draws of accuracy per row (for quantiles and the CRPS).
    seed : int
        Seed of those draws.

    Returns
    -------
    OLSPrediction
    """
    spec = BaselineSpec(outcome=outcome)
    sample, _ = select_baseline_sample(train, spec)
    design = build_design(sample, spec)
    fit = fit_design(design, spec)
    params = fit.params
    x0 = pd.DataFrame(0.0, index=range(len(test)), columns=params.index)
    x0["const"] = 1.0
    x0[COMPUTE_TERM] = test["log10_flop"].to_numpy(float)
    periods = test[spec.period_column].astype(str).to_numpy()
    groups = test[spec.developer_column].astype(str).to_numpy()
    unseen = np.zeros(len(test), dtype=bool)
    for i, (p, g) in enumerate(zip(periods, groups, strict=True)):
        for level, term, known in ((p, period_term(p), design.period_levels),
                                   (g, developer_term(g), design.developer_levels)):
            if level not in known:
                unseen[i] = True
            elif term in x0.columns:  # the reference level has no column
                x0.loc[i, term] = 1.0
    X0 = x0.to_numpy(float)
    mean = X0 @ params.to_numpy(float)
    scale = float(fit.result.scale)  # SSR / (N - p)
    xtx_inv = np.asarray(fit.result.normalized_cov_params, float)
    leverage = np.einsum("ij,jk,ik->i", X0, xtx_inv, X0)
    sd = np.sqrt(scale * (1.0 + leverage))
    _, _, guess, n_q = OUTCOMES[outcome]
    rng = np.random.default_rng(seed)
    z = mean[None, :] + sd[None, :] * rng.standard_normal((draws, len(test)))
    acc = guess + (1 - guess) * special.expit(z)
    return OLSPrediction(frame=test.reset_index(drop=True), mean=mean, sd=sd, guess=guess,
                         n_items=np.full(len(test), n_q), accuracy=acc, unseen=unseen)


__all__ = ["OLS_METHOD", "OLSPrediction", "predict_ols"]
