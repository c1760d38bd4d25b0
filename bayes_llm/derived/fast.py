"""Fast per-draw building blocks of the headline figures, in plain NumPy.

:func:`fast_components` returns exactly what
:func:`bayes_llm.derived.summary.stacked_components` returns (the four components of
each model's latent score per draw, from :mod:`bayes_llm.model.components`), built with
NumPy fancy indexing instead of xarray's ``isel`` so that the headline table of a
4,000-draw, 809-model fit stays well under a second for this step. :func:`var_models` and
:func:`cov_models` are the population (ddof 0) moments across models that the variance
shares use, without xarray's NaN-skipping reductions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.derived.summary import SAMPLE_DIMS, FitLike, stacked_components
from bayes_llm.model.components import COMPONENTS, latent_score

#: Posterior variables of model options the NumPy path does not reproduce (non-linear
#: compute curve, developer-mean-compute term, within-period trend): such fits use the
#: reference implementation.
_SLOW_PATH: tuple[str, ...] = ("compute_slope", "mundlak_lambda", "period_trend")


def _np(da: xr.DataArray, *dims: str) -> np.ndarray:
    return np.asarray(da.transpose(*SAMPLE_DIMS, *dims).values, dtype=float)


def _gather(values: np.ndarray, idx: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``values[..., idx]`` (written into ``out`` when given), with its index checks."""
    size = values.shape[-1]
    if idx.size and (idx.max() >= size or idx.min() < -size):
        raise IndexError(f"index out of bounds for a dimension of size {size}")
    # mode="wrap" only maps negative indices as indexing does (bounds checked above) and,
    # unlike the default, writes straight into ``out`` without a buffer
    return np.take(values, idx, axis=-1, out=out, mode="wrap")


def fast_components(fit: FitLike) -> xr.DataArray:
    """Return the four components per draw and model, dims ``(chain, draw, model, component)``.

    Equal to :func:`bayes_llm.derived.summary.stacked_components` (same definition,
    same extensions: developer slopes, compute x period slopes, errors-in-variables);
    fits with a non-linear compute curve, a developer-mean-compute term or a
    within-period trend (:data:`_SLOW_PATH`) are passed to it.
    """
    post = fit.dt["posterior"].to_dataset()
    if any(v in post for v in _SLOW_PATH):
        return stacked_components(fit)
    const = fit.dt["constant_data"].to_dataset()
    pidx = np.asarray(const["period_idx"].values, dtype=int)
    didx = np.asarray(const["developer_idx"].values, dtype=int)
    if "log10_flop_true" in post:
        x = _np(post["log10_flop_true"], "model")
    else:
        x = np.asarray(const["log10_flop_centred"].values, dtype=float)[None, None, :]
    beta = post["beta"].transpose(*SAMPLE_DIMS)
    n_chain, n_draw = beta.shape
    n = len(pidx)
    # component-major layout: each component is one contiguous (chain, draw, model) block;
    # the gathers write straight into it (no (chain, draw, model) temporary: on a
    # 4,000-draw fit each is 26 MB of fresh memory)
    out = np.empty((len(COMPONENTS), n_chain, n_draw, n))
    slope = beta.values[..., None]
    if "developer_slope" in post:
        slope = slope + _gather(_np(post["developer_slope"], "developer"), didx)
    if "compute_period_slope" in post:
        slope = slope + _gather(_np(post["compute_period_slope"], "period"), pidx)
    np.multiply(slope, x, out=out[0])
    _gather(_np(post["period_effect"], "period"), pidx, out=out[1])
    if "developer_effect" in post:
        _gather(_np(post["developer_effect"], "developer"), didx, out=out[2])
    else:
        out[2] = 0.0
    if "eta" in post:
        np.subtract(post["eta"].transpose(*SAMPLE_DIMS, "model").values,
                    _np(post["alpha"])[..., None], out=out[3])
    else:
        y = np.asarray(latent_score(fit.dt).values, dtype=float)
        np.subtract(y[None, None, :], _np(post["alpha"])[..., None], out=out[3])
    out[3] -= out[0]
    out[3] -= out[1]
    out[3] -= out[2]
    model_coord = post["eta"]["model"].values if "eta" in post else const["model"].values
    da = xr.DataArray(out, dims=("component", *SAMPLE_DIMS, "model"),
                      coords={"chain": beta["chain"].values, "draw": beta["draw"].values,
                              "model": model_coord,
                              "component": pd.Index(list(COMPONENTS), name="component")})
    return da.transpose(*SAMPLE_DIMS, "model", "component")


def var_models(a: np.ndarray) -> np.ndarray:
    """Return the population variance over the last axis (ddof 0)."""
    c = a - a.mean(axis=-1, keepdims=True)
    return np.einsum("...i,...i->...", c, c) / a.shape[-1]


def cov_models(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the population covariance over the last axis (ddof 0)."""
    ca = a - a.mean(axis=-1, keepdims=True)
    cb = b - b.mean(axis=-1, keepdims=True)
    return np.einsum("...i,...i->...", ca, cb) / a.shape[-1]


#: Draws per block of :func:`component_covariance` (a few MB at 809 models).
_COV_BLOCK = 250


def component_covariance(components: xr.DataArray) -> xr.DataArray:
    """Covariance matrix of the components across models, per draw (ddof 0).

    Returns
    -------
    DataArray
        Dims ``(chain, draw, component, component2)``. Every variance share of the
        headline (variance partition, the developer block's own variance and its
        covariance with compute, Var of the fixed part, Bayesian R²) is a function of it,
        so it is computed once (batched matrix products over blocks of draws) and shared.
    """
    names = [str(c) for c in components["component"].values]
    stacked = components.transpose(*SAMPLE_DIMS, "model", "component").values
    n, k = stacked.shape[-2:]
    cov = np.empty((*stacked.shape[:2], k, k))
    for chain in range(stacked.shape[0]):  # blocks of draws: no copy of the whole array
        for start in range(0, stacked.shape[1], _COV_BLOCK):
            block = stacked[chain, start:start + _COV_BLOCK]
            centred = block - block.mean(axis=-2, keepdims=True)
            cov[chain, start:start + _COV_BLOCK] = np.matmul(np.swapaxes(centred, -1, -2),
                                                             centred) / n
    coords = {d: components[d].values for d in SAMPLE_DIMS}
    out = xr.DataArray(cov, dims=(*SAMPLE_DIMS, "component", "component2"),
                       coords={**coords, "component": names, "component2": names})
    return out


def as_draws(values: np.ndarray, like: xr.DataArray) -> xr.DataArray:
    """Wrap a ``(chain, draw)`` array on ``like``'s sample coordinates."""
    return xr.DataArray(np.asarray(values, dtype=float), dims=SAMPLE_DIMS,
                        coords={d: like[d].values for d in SAMPLE_DIMS})


__all__ = ["as_draws", "component_covariance", "cov_models",
           "fast_components", "var_models"]
