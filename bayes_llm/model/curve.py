"""The compute curve f(x): the one place that turns centred log10 compute into logits.

Downstream code (components, frontier, prediction) calls :func:`compute_effect` for any
curve instead of multiplying by ``beta``:

* ``compute_curve = "linear"``: f(x) = beta * x.
* ``compute_curve = "monotone"``: a continuous piecewise-linear curve with knots
  kappa_1 < ... < kappa_K (centred log10 FLOP, ``compute_knots - compute_centre``) and
  segment slopes s_0, ..., s_K > 0 (variable ``compute_slope``, dims ``compute_segment``):
  segment k covers [kappa_k, kappa_{k+1}] with kappa_0 = -inf and kappa_{K+1} = +inf, and

      f(x) = sum_k s_k * (clip(x, kappa_k, kappa_{k+1}) - clip(0, kappa_k, kappa_{k+1})),

  so f(0) = 0 (alpha stays the score at the centring compute), f is increasing, and beyond
  the outer knots it continues with the outer segments' slopes. With every s_k equal to
  beta it is the linear curve.

The functions take a fit's result tree (``posterior`` and ``constant_data`` groups), an
object with a ``dt`` attribute (a :class:`~bayes_llm.model.fit.Fit`), or a posterior
Dataset (then pass ``knots`` for a monotone curve).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

#: Name of the constant-data variable holding the centred knots.
KNOTS_NAME = "compute_knots"
SLOPES_NAME = "compute_slope"


def _posterior_and_knots(source: Any, knots: Any = None) -> tuple[xr.Dataset, np.ndarray | None]:
    tree = getattr(source, "dt", source)
    if isinstance(tree, xr.DataTree):
        post = tree["posterior"].to_dataset()
        if knots is None and "constant_data" in tree.children \
                and KNOTS_NAME in tree["constant_data"]:
            knots = tree["constant_data"][KNOTS_NAME].values
    elif isinstance(tree, xr.Dataset):
        post = tree
        if knots is None and KNOTS_NAME in post:
            knots = post[KNOTS_NAME].values
    else:
        raise TypeError(f"expected a fit, a DataTree or a posterior Dataset, not "
                        f"{type(source).__name__}")
    if SLOPES_NAME in post and knots is None:
        raise ValueError("a monotone compute curve needs its knots: pass a result tree with "
                         f"constant_data['{KNOTS_NAME}'] or knots=...")
    return post, None if knots is None else np.asarray(knots, float).ravel()


def _as_array(x: Any) -> xr.DataArray:
    if isinstance(x, xr.DataArray):
        return x
    arr = np.asarray(x, float)
    if arr.ndim == 0:
        return xr.DataArray(arr)
    if arr.ndim == 1:
        return xr.DataArray(arr, dims=["model"])
    raise ValueError("x must be a scalar, a 1-d array or a DataArray")


def curve_kind(source: Any) -> str:
    """``"monotone"`` when the posterior has segment slopes, else ``"linear"``."""
    post, _ = _posterior_and_knots(source, knots=np.zeros(1))
    return "monotone" if SLOPES_NAME in post else "linear"


def _bounds(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lower = np.concatenate([[-np.inf], knots])
    upper = np.concatenate([knots, [np.inf]])
    return lower, upper


def compute_effect(source: Any, x: Any, *, knots: Any = None) -> xr.DataArray:
    """Per-draw f(x): the logit contribution of centred log10 compute ``x``.

    Parameters
    ----------
    source : Fit, DataTree or Dataset
        A fit's result (posterior with ``beta``, or ``compute_slope`` and the knots).
    x : float, array or DataArray
        Centred log10 compute (``log10_flop - compute_centre``). A 1-d array gets dim
        ``model``; a DataArray may carry ``chain``/``draw`` dims (latent true compute).
    knots : array, optional
        Centred knots, when ``source`` is a bare posterior Dataset of a monotone curve.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, *x.dims)``.
    """
    post, kn = _posterior_and_knots(source, knots)
    xa = _as_array(x)
    if SLOPES_NAME not in post:
        return post["beta"] * xa
    slopes = post[SLOPES_NAME]
    lower, upper = _bounds(kn)
    total = None
    for k in range(slopes.sizes["compute_segment"]):
        basis = xa.clip(lower[k], upper[k]) - float(np.clip(0.0, lower[k], upper[k]))
        term = slopes.isel(compute_segment=k, drop=True) * basis
        total = term if total is None else total + term
    return total


def compute_slope_at(source: Any, x: Any, *, knots: Any = None) -> xr.DataArray:
    """Per-draw derivative f'(x) (at a knot: the slope of the segment above it)."""
    post, kn = _posterior_and_knots(source, knots)
    xa = _as_array(x)
    if SLOPES_NAME not in post:
        return post["beta"] + xr.zeros_like(xa)
    seg = xr.apply_ufunc(lambda v: np.searchsorted(kn, v, side="right"), xa)
    return post[SLOPES_NAME].isel(compute_segment=seg).drop_vars("compute_segment",
                                                                  errors="ignore")


def inverse_compute_effect(source: Any, value: Any, *, knots: Any = None) -> xr.DataArray:
    """Per-draw x with f(x) = ``value`` (centred log10 compute); NaN where undefined.

    ``value`` is a logit contribution (scalar, or a DataArray with ``chain``/``draw``
    dims). For the linear curve this is value / beta (NaN where beta <= 0); the monotone
    curve is strictly increasing, so the inverse always exists.
    """
    post, kn = _posterior_and_knots(source, knots)
    va = value if isinstance(value, xr.DataArray) else xr.DataArray(np.asarray(value, float))
    if SLOPES_NAME not in post:
        beta = post["beta"]
        return (va / beta).where(beta > 0)
    slopes = post[SLOPES_NAME]
    f_knots = compute_effect(post, xr.DataArray(kn, dims=["compute_knot"]), knots=kn)
    f_knots = f_knots.drop_vars("compute_knot", errors="ignore")
    lower, upper = _bounds(kn)
    out = xr.full_like(va * slopes.isel(compute_segment=0, drop=True), np.nan)
    n_seg = slopes.sizes["compute_segment"]
    for k in range(n_seg):
        # anchor: the segment's lower knot, or its upper knot for the first segment
        anchor_i = k - 1 if k > 0 else 0
        anchor_x = kn[anchor_i]
        anchor_f = f_knots.isel(compute_knot=anchor_i, drop=True)
        s = slopes.isel(compute_segment=k, drop=True)
        cand = anchor_x + (va - anchor_f) / s
        inside = (cand >= lower[k]) & (cand <= upper[k])
        out = xr.where(inside & out.isnull(), cand, out)
    return out


__all__ = ["compute_effect", "compute_slope_at", "curve_kind", "inverse_compute_effect"]
