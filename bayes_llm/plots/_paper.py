"""The paper's point values for the plots, computed exactly as the headline table does."""

from __future__ import annotations

import pandas as pd

from bayes_llm.errors import BayesLLMError


def paper_point_fit(fit, baseline=None, df: pd.DataFrame | None = None):
    """Return the paper's OLS estimator laid out as a one-draw pseudo-fit, or ``None``.

    Parameters
    ----------
    fit : Fit
        The Bayesian fit whose coding the regression mirrors.
    baseline : BaselineResults or OLSFit, optional
        An already computed baseline (used as is); default: the paper's regression on the
        fit's models with the fit's period, outcome and developer coding (as
        :func:`bayes_llm.derived.headline_table` does).
    df : DataFrame, optional
        The full canonical table for that regression (the fit's sample is applied).

    Returns
    -------
    PointFit or None
        ``None`` when the regression cannot be run for this fit (e.g. a coding the
        baseline does not support).
    """
    from bayes_llm.derived.paper import ols_point_fit, paper_ols

    try:
        return ols_point_fit(paper_ols(fit, baseline, df=df), fit.spec)
    except (BayesLLMError, KeyError, ValueError):
        return None
