"""Per-model decomposition of the linear predictor into compute, period, developer and model parts.

For every posterior draw and model i:

* ``compute``   = f(x_i) + (b_j + delta_t) x_i — scaling with compute, f the compute curve
  (:func:`bayes_llm.model.curve.compute_effect`: beta x for the linear curve; developer-
  specific and period-specific slope deviations included when the spec has them);
* ``period``    = gamma_t(i) [+ tau s_i] — shared algorithmic progress (with
  ``period_trend``, the within-period trend is part of it);
* ``developer`` = u_j(i) [+ lambda xbar_j(i)] — the developer's "secret sauce" (with
  ``developer_mean_compute``, the Mundlak term is part of the developer's effect);
* ``model_effect`` = eta_i - mu_i (binomial: the model-level efficiency effect) or y_i - mu_i
  (logit-normal / Student-t: the residual, as in the paper); with ``lineage_effect`` or
  ``protocol_effect`` it includes the lineage effect and the protocol offset (both are
  model-level, neither compute, period nor developer);
* ``intercept`` = alpha.

``intercept + compute + period + developer + model_effect`` equals the model's latent logit score
(binomial ``eta``, otherwise the observed ``y``) exactly, draw by draw.
"""

from __future__ import annotations

import xarray as xr

from bayes_llm.model.curve import KNOTS_NAME, compute_effect

#: Component labels (used as coordinate values by the derived quantities).
COMPONENTS = ("compute", "period", "developer", "model")
#: Variable holding each component in :func:`linear_components` (the model-level part
#: cannot be called ``model``: that is the name of the model dimension).
COMPONENT_VARIABLES = {"compute": "compute", "period": "period", "developer": "developer",
                       "model": "model_effect"}


def _index(values: xr.DataArray, idx: xr.DataArray, dim: str) -> xr.DataArray:
    out = values.isel({dim: idx.astype(int)})
    return out.drop_vars(dim, errors="ignore")


def latent_score(dt: xr.DataTree) -> xr.DataArray:
    """Each model's latent logit score per draw (binomial ``eta``) or observed logit ``y``."""
    post = dt["posterior"].to_dataset()
    if "eta" in post:
        return post["eta"]
    return dt["observed_data"]["y"]


def compute_x(dt: xr.DataTree) -> xr.DataArray:
    """Centred log10 compute per model (the latent true value under errors-in-variables)."""
    post = dt["posterior"].to_dataset()
    if "log10_flop_true" in post:
        return post["log10_flop_true"]
    return dt["constant_data"]["log10_flop_centred"]


def linear_components(dt: xr.DataTree, *, thin: int = 1) -> xr.Dataset:
    """Return ``compute``, ``period``, ``developer``, ``model_effect`` and ``intercept`` per draw.

    Parameters
    ----------
    dt : DataTree
        A fit's result with ``posterior`` and ``constant_data`` groups.
    thin : int
        Keep every ``thin``-th draw of each chain (default 1: all draws). The result holds
        four float64 arrays of shape (chain, draw, model), and computing it needs about as
        much again in temporaries: at 100,000 models and 1,000 draws that is several GB
        (see ``benchmarks/bench_scaling.py --components``); ``thin=10`` divides it by 10.

    Returns
    -------
    Dataset
        Variables with dims (chain, draw, model); ``intercept`` with dims (chain, draw).
    """
    if isinstance(thin, bool) or not isinstance(thin, int) or thin < 1:
        raise ValueError(f"thin must be a positive integer, not {thin!r}")
    post = dt["posterior"].to_dataset()
    if thin > 1:
        post = post.isel(draw=slice(None, None, thin))
    const = dt["constant_data"].to_dataset()
    x = post["log10_flop_true"] if "log10_flop_true" in post else compute_x(dt)
    pidx = const["period_idx"]
    didx = const["developer_idx"]
    compute = compute_effect(post, x, knots=const[KNOTS_NAME].values if KNOTS_NAME in const
                             else None)
    if "developer_slope" in post:
        compute = compute + _index(post["developer_slope"], didx, "developer") * x
    if "compute_period_slope" in post:
        compute = compute + _index(post["compute_period_slope"], pidx, "period") * x
    period = _index(post["period_effect"], pidx, "period")
    if "period_trend" in post:  # progress within the period is progress too
        period = period + post["period_trend"] * const["period_time"]
    if "developer_effect" in post:
        developer = _index(post["developer_effect"], didx, "developer")
    else:
        developer = xr.zeros_like(period)
    if "mundlak_lambda" in post:
        xbar = _index(const["developer_mean_compute"], didx, "developer")
        developer = developer + post["mundlak_lambda"] * xbar
    mu = post["alpha"] + compute + period + developer
    latent = post["eta"] if "eta" in post else latent_score(dt)
    model = latent - mu
    return xr.Dataset({"compute": compute, "period": period, "developer": developer,
                       "model_effect": model, "intercept": post["alpha"]})
