"""The issue-10 option terms of the linear predictor for any rows, e.g. new models.

For prediction (``bayes_llm.prediction``) each row needs, per posterior draw, the terms
that the options add to mu (see ``models/README.md``): the lineage effect, the protocol
offset and the developer-mean-compute (Mundlak) term. :func:`option_terms` returns their
sum as a per-draw mean plus the extra Gaussian variance of effects the fit has not seen:

* **lineage** (``lineage_effect``): a row whose lineage (:mod:`bayes_llm.data.lineage`) is
  one of the fit's gets that lineage's effect; a new lineage a fresh Normal(0,
  sigma_lineage) effect (the lineage effects are iid, not sum-to-zero), i.e. mean 0 and
  variance sigma_lineage²; with Student-t lineage effects a StudentT(nu_lineage, 0,
  sigma_lineage) draw per posterior draw, added to the mean.
* **protocol** (``protocol_effect``): kappa for rows with no ``hf_id``.
* **Mundlak** (``developer_mean_compute``): lambda times the developer unit's mean
  centred log compute: the fit's value for a known unit, else the mean over the unit's
  rows in ``frame``.

The compute curve is :func:`bayes_llm.model.curve.compute_effect`; the model-level effect
of a new model is described by :func:`model_effect_distribution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.model.design import off_harness


def _tree(fit: Any) -> xr.DataTree:
    return getattr(fit, "dt", fit)


def option_terms(fit: Any, frame: pd.DataFrame, *, units: list[str] | None = None,
                 compute_centre: float | None = None,
                 lineage_source: str | None = None,
                 rng: np.random.Generator | None = None) -> tuple[xr.DataArray, xr.DataArray]:
    """Per-draw mean and extra variance of the option terms for the rows of ``frame``.

    Parameters
    ----------
    fit : Fit or DataTree
        A fit's result (``posterior`` and ``constant_data``).
    frame : DataFrame
        Canonical rows (``model_id``, ``hf_id``, ``log10_flop`` and the developer column).
    units : list of str, optional
        Each row's developer unit (default ``frame["developer"]``; pass the groups for
        ``developer = "group"``).
    compute_centre : float, optional
        c0 of the fit (default ``fit.spec.compute_centre``).
    lineage_source : str, optional
        How the fit defined lineages (default ``fit.spec.lineage_source``; required
        when ``fit`` is a bare DataTree of a fit with a lineage effect).
    rng : Generator, optional
        Required for Student-t lineage effects (``nu_lineage`` in the posterior): a new
        lineage's effect is then one StudentT(nu_lineage, 0, sigma_lineage) draw per
        posterior draw, added to the mean (not a variance).

    Returns
    -------
    (DataArray, DataArray)
        Mean and variance, dims ``(chain, draw, row)``; zeros for a fit without options.
    """
    dt = _tree(fit)
    post = dt["posterior"].to_dataset()
    const = dt["constant_data"].to_dataset() if "constant_data" in dt.children else None
    n = len(frame)
    zero = xr.zeros_like(post["alpha"]) + xr.DataArray(np.zeros(n), dims="row")
    mean, var = zero.copy(), zero.copy()
    if "lineage_effect" in post:
        if lineage_source is None:
            if not hasattr(fit, "spec"):
                raise ValueError("option_terms: pass lineage_source with a bare DataTree "
                                 "(the fit's spec says how its lineages were defined)")
            lineage_source = fit.spec.lineage_source
        idx = rows_lineage_idx(post["lineage_effect"].coords["lineage"].values, frame,
                               lineage_source)
        effects = post["lineage_effect"].isel(lineage=xr.DataArray(np.maximum(idx, 0),
                                                                   dims="row"))
        effects = effects.drop_vars("lineage", errors="ignore")
        is_new = xr.DataArray(idx < 0, dims="row")
        mean = mean + effects.where(~is_new, 0.0)
        if "nu_lineage" in post:
            if rng is None:
                raise ValueError("option_terms: pass rng for a fit with Student-t lineage "
                                 "effects (a new lineage's effect is drawn)")
            fresh = post["sigma_lineage"] * xr.apply_ufunc(
                lambda nu: rng.standard_t(nu[..., None], (*nu.shape, n)),
                post["nu_lineage"], output_core_dims=[["row"]])
            mean = mean + fresh.where(is_new, 0.0)
        else:
            var = var + (post["sigma_lineage"] ** 2) * is_new
    if "protocol_effect" in post:
        mean = mean + post["protocol_effect"] * xr.DataArray(off_harness(frame), dims="row")
    if "mundlak_lambda" in post:
        if compute_centre is None:
            compute_centre = fit.spec.compute_centre
        unit = pd.Series(units if units is not None else frame["developer"].astype(str),
                         index=frame.index).astype(str)
        x = frame["log10_flop"].to_numpy(float) - compute_centre
        row_means = pd.Series(x, index=frame.index).groupby(unit).transform("mean")
        fitted = const["developer_mean_compute"].to_series() if const is not None else None
        xbar = np.array([fitted.get(u, m) if fitted is not None else m
                         for u, m in zip(unit, row_means, strict=True)], float)
        mean = mean + post["mundlak_lambda"] * xr.DataArray(xbar, dims="row")
    return mean, var


def model_effect_distribution(fit: Any) -> tuple[str, xr.DataArray, xr.DataArray | None]:
    """Return the model effect's family, its total SD and a Student-t's degrees of freedom.

    ``("normal", sigma_model, None)``, ``("student_t", sigma_model, nu_model)`` or
    ``("two_scale", sigma_model, None)`` (its components: :func:`two_scale_components`) or
    ``("laplace", sigma_model, None)`` (a Laplace law of SD sigma_model, scale
    sigma_model / sqrt 2).
    """
    post = _tree(fit)["posterior"].to_dataset()
    if "nu_model" in post:
        return "student_t", post["sigma_model"], post["nu_model"]
    if "model_wide_probability" in post:
        return "two_scale", post["sigma_model"], None
    from bayes_llm.model.laplace_integral import LAPLACE_SCALE

    if LAPLACE_SCALE in post:
        return "laplace", post["sigma_model"], None
    return "normal", post["sigma_model"], None


def two_scale_components(fit: Any) -> dict[str, xr.DataArray]:
    """Core SD, wide SD and wide share of a ``model_effect = "two_scale"`` fit, per draw.

    A new model's effect is Normal(0, ``core``) with probability 1 - ``wide_probability``
    and Normal(0, ``wide``) otherwise (``models/README.md``).
    """
    post = _tree(fit)["posterior"].to_dataset()
    return {"core": post["sigma_model_core"], "wide": post["sigma_model_wide"],
            "wide_probability": post["model_wide_probability"]}


def collapse_distribution(fit: Any) -> dict[str, xr.DataArray] | None:
    """Return the collapsed component of a ``floor_mixture`` fit, else None.

    Returns ``a`` and ``b`` per draw and the collapse probability: ``probability`` (pi, per
    draw or per draw and period), or with ``collapse_by_compute`` its ``intercept`` and
    ``slope`` on the log-odds scale. A new model is collapsed with probability pi (see
    :func:`collapse_probability_per_model`), and then its accuracy is Beta(a, b) (its count
    beta-binomial), ``a = m kappa``, ``b = (1 - m) kappa`` with ``m = collapse_mean`` and
    ``kappa = collapse_concentration`` (see ``models/README.md``).
    """
    post = _tree(fit)["posterior"].to_dataset()
    if "collapse_compute_slope" in post:
        out = {"intercept": post["collapse_intercept"], "slope": post["collapse_compute_slope"]}
    elif "collapse_probability" in post:
        out = {"probability": post["collapse_probability"]}
    else:
        return None
    if "collapse_lineage_z" in post:  # collapse_by_lineage
        out.update(lineage_sd=post["sigma_collapse_lineage"],
                   lineage_z=post["collapse_lineage_z"])
    mean, conc = post["collapse_mean"], post["collapse_concentration"]
    return {**out, "a": mean * conc, "b": (1.0 - mean) * conc}


def rows_lineage_idx(fitted: Any, frame: pd.DataFrame, lineage_source: str) -> np.ndarray:
    """Each row's position among the fit's lineage labels ``fitted``, -1 for a new lineage.

    The rows' lineages are :func:`bayes_llm.data.lineage.model_lineages` of ``frame`` by
    ``lineage_source``, as the fit's were.
    """
    from bayes_llm.data.lineage import model_lineages

    known = {str(label): i for i, label in enumerate(fitted)}
    return np.array([known.get(str(label), -1)
                     for label in model_lineages(frame, lineage_source)], dtype=np.int64)


def collapse_lineage_rows(lineage_z: xr.DataArray | None, frame: pd.DataFrame,
                          lineage_source: str) -> np.ndarray | None:
    """Each row's lineage among a ``collapse_by_lineage`` fit's (-1: new), else None.

    ``lineage_z`` is the fit's ``collapse_lineage_z`` (None without the option); the rows'
    positions come from :func:`rows_lineage_idx`.
    """
    if lineage_z is None:
        return None
    return rows_lineage_idx(lineage_z.coords["lineage"].values, frame, lineage_source)


def fitted_lineage_idx(fit: Any) -> np.ndarray | None:
    """Each fitted model's index into the fit's lineages (``constant_data``), or None."""
    dt = _tree(fit)
    if "constant_data" not in dt.children or "lineage_idx" not in dt["constant_data"]:
        return None
    return np.asarray(dt["constant_data"]["lineage_idx"].values, dtype=np.int64)


def collapse_probability_per_model(draws: Mapping[str, np.ndarray], n_models: int, *,
                                   period_idx: np.ndarray | None = None,
                                   x: np.ndarray | None = None,
                                   lineage_idx: np.ndarray | None = None,
                                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Each model's collapse probability per draw, shape ``(sample, model)``.

    ``draws`` holds the stacked draws of :func:`collapse_distribution`'s probability terms:
    ``probability`` of shape ``(sample,)`` (one pi for every model) or ``(sample, period)``
    (``collapse_by_period``; ``period_idx`` gives each model's period, its anchor period
    for a row after the fit's last), or ``intercept`` and ``slope`` of shape ``(sample,)``
    (``collapse_by_compute``; ``x`` gives each model's reported centred log10 compute,
    pi = logistic(intercept + slope x)). With ``lineage_sd`` (sample,) and ``lineage_z``
    (sample, lineage) (``collapse_by_lineage``) the model's lineage propensity
    ``lineage_sd * lineage_z[l]`` is added to its log odds; ``lineage_idx`` gives each
    model's lineage in the fit, -1 for a lineage the fit has not seen, whose propensity is
    a fresh ``lineage_sd * Normal(0, 1)`` draw per draw and model (needs ``rng``).
    """
    from scipy import special

    if "slope" in draws:
        if x is None:
            raise ValueError("a compute-dependent collapse probability needs each model's "
                             "centred compute")
        x = np.asarray(x, float)[None, :]
        logit = (np.asarray(draws["intercept"], float)[:, None]
                 + np.asarray(draws["slope"], float)[:, None] * x)
    else:
        pi = np.asarray(draws["probability"], float)
        if pi.ndim == 1:
            pi = np.broadcast_to(pi[:, None], (pi.shape[0], n_models))
        elif period_idx is None:
            raise ValueError("a per-period collapse probability needs each model's period")
        else:
            pi = pi[:, np.asarray(period_idx, dtype=np.int64)]
        if "lineage_z" not in draws:
            return pi
        logit = special.logit(pi)
    if "lineage_z" in draws:
        logit = logit + lineage_propensity(draws, lineage_idx, rng)
    return special.expit(logit)


def lineage_propensity(draws: Mapping[str, np.ndarray], lineage_idx: np.ndarray | None,
                       rng: np.random.Generator | None) -> np.ndarray:
    """Each model's lineage propensity to collapse per draw (log odds), ``(sample, model)``.

    See :func:`collapse_probability_per_model` (``collapse_by_lineage``).
    """
    if lineage_idx is None:
        raise ValueError("a lineage-dependent collapse probability needs each model's "
                         "lineage")
    idx = np.asarray(lineage_idx, dtype=np.int64)
    sd = np.asarray(draws["lineage_sd"], float)[:, None]
    z = np.asarray(draws["lineage_z"], float)[:, np.maximum(idx, 0)]
    new = idx < 0
    if new.any():
        if rng is None:
            raise ValueError("a lineage the fit has not seen needs rng (its propensity to "
                             "collapse is drawn)")
        z = z.copy()
        z[:, new] = rng.standard_normal((z.shape[0], int(new.sum())))
    return sd * z


def collapse_log_terms(ll_regular: np.ndarray, pi: np.ndarray, a: np.ndarray, b: np.ndarray,
                       k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the two log terms of a ``floor_mixture`` count's density, each ``(S, M)``.

    ``log(pi BetaBinomial(k | n, a, b))`` and ``log(1 - pi) + ll_regular``: their
    ``logaddexp`` is the log-likelihood with the collapse indicator summed out, their
    difference the log posterior odds that the model is collapsed. ``ll_regular`` and
    ``pi`` have shape ``(sample, model)`` (:func:`collapse_probability_per_model`), ``a``
    and ``b`` shape ``(sample,)``, ``k`` and ``n`` shape ``(model,)``.
    """
    from scipy import stats

    a, b = (np.asarray(v, float)[:, None] for v in (a, b))
    k, n = (np.asarray(v, float)[None, :] for v in (k, n))
    with np.errstate(divide="ignore"):  # pi = 0 or 1: one component drops out
        return (np.log(pi) + stats.betabinom.logpmf(k, n, a, b),
                np.log1p(-pi) + ll_regular)


def collapse_mixture_loglik(ll_regular: np.ndarray, pi: np.ndarray, a: np.ndarray,
                            b: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Log-likelihood of a ``floor_mixture`` model, the collapse indicator summed out.

    ``log(pi BetaBinomial(k | n, a, b) + (1 - pi) exp(ll_regular))`` per draw and model;
    shapes as in :func:`collapse_log_terms`.
    """
    return np.logaddexp(*collapse_log_terms(ll_regular, pi, a, b, k, n))


__all__ = ["collapse_distribution", "collapse_lineage_rows", "collapse_log_terms",
           "collapse_mixture_loglik", "collapse_probability_per_model", "fitted_lineage_idx",
           "lineage_propensity", "model_effect_distribution", "option_terms",
           "rows_lineage_idx", "two_scale_components"]
