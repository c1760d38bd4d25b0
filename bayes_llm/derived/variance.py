"""The hierarchical model's own variance partition of the latent score, per draw.

For each draw, with ``T_i = compute_i + period_i + developer_i + model_i`` the latent
logit score of model i less the intercept (:func:`bayes_llm.derived.summary.stacked_components`), the
share of component k is

    share_k = Cov(c_k, T) / Var(T),

covariances and variances taken across the fit's models. Because
``Var(T) = sum_k Cov(c_k, T)``, the shares sum to one exactly, and each component's
covariances with the others are split evenly between the two (the "Pratt" or
covariance allocation; a share can be negative when a component runs against the total).
This is the model-based counterpart of the paper's Shapley split: for an OLS fit the
residual is uncorrelated with the fitted values, so the ``model`` share is ``1 - R²`` and
the other three sum to ``R²``.

The ``developer`` share is the company-effect share under the fit's developer coding:
the paper's 13 groups when the fit's spec has ``developer = "group"``, every developer
string (pooled) when it has ``developer = "developer"``.
"""

from __future__ import annotations

import xarray as xr

from bayes_llm.derived.fast import component_covariance
from bayes_llm.derived.summary import FitLike, stacked_components


def variance_partition(fit: FitLike, *, components: xr.DataArray | None = None,
                       covariance: xr.DataArray | None = None) -> xr.Dataset:
    """Share of the variance of the latent score due to each component, per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.
    covariance : DataArray, optional
        Precomputed :func:`bayes_llm.derived.fast.component_covariance` of them.

    Returns
    -------
    Dataset
        ``share`` (chain, draw, component), summing to one over ``component``;
        ``covariance`` (chain, draw, component), ``Cov(c_k, T)``; ``total_variance``
        (chain, draw), ``Var(T)``. Population (ddof 0) moments across models.
    """
    values = stacked_components(fit, components)
    sigma = component_covariance(values) if covariance is None else covariance
    cov_da = sigma.sum("component2")
    var_da = cov_da.sum("component")
    return xr.Dataset({"share": cov_da / var_da, "covariance": cov_da,
                       "total_variance": var_da})

__all__ = ["variance_partition"]
