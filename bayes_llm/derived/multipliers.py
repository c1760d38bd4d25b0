"""Compute-equivalent multipliers per draw: effects as factors of training compute.

A shift ``c`` on the logit scale is worth multiplying training compute by
``10 ** (c / beta)`` (``beta``: the common slope on log10 compute; with slope extensions
the multipliers are valid at the centring compute, where developer- and period-specific
slope deviations vanish). Every function returns draws with dims ``(chain, draw, ...)``:

* :func:`shared_progress` -- ``10 ** ((gamma_last - gamma_first) / beta)``, the paper's
  shared algorithmic progress (7.5x on the cohorts);
* :func:`period_multipliers` -- every period against the first;
* :func:`developer_multipliers` -- every developer unit ``10 ** ((u_j - u_ref) / beta)``;
* :func:`group_multipliers` -- every paper group, from the model-weighted mean developer
  effect of its models (identical to ``u_g`` under the 13-group coding), against
  "Other, Small" as in the paper;
* :func:`within_spread` -- ``10 ** ((p90 - p10) / beta)`` of the model-level effects of the
  ten major developers' models (the paper's 40.6x within-developer spread; for
  logit-normal fits the model-level effect is the residual, as in the paper; for
  binomial fits it is the latent efficiency effect, free of binomial noise);
* :func:`within_spread_centred` -- the same percentile spread after centring each model's
  effect within its developer (draw by draw), developers with a single selected model
  left out: under partial pooling a developer's model-level effects no longer average
  zero (the shrunk part of its developer effect leaks in), so the uncentred spread mixes
  between- and within-developer differences;
* :func:`within_spread_model_based` -- ``10 ** ((z_hi - z_lo) sigma_model / beta)``, the
  spread implied by the model's own distribution of model-level effects (Normal: z the
  standard Normal quantiles; Student-t: t quantiles with the fit's ``nu``).

Reference of the developer multipliers (``reference=None``): the unit "Other, Small" when
the fit uses the paper's groups; with every developer string as its own unit, the
model-weighted mean developer effect of the models in the paper's "Other, Small" group,
so the figures stay comparable with the paper's. When that group is absent (e.g. the
majors sample) the reference falls back to the first group of the paper's order present
(as the baseline does). ``reference="mean"`` uses the unweighted average developer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm import constants as C
from bayes_llm.baseline.multipliers import SPREAD_PERCENTILE_METHOD, SPREAD_PERCENTILES
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.derived.summary import FitLike, period_levels, stacked_components
from bayes_llm.errors import BayesLLMError


def compute_equivalent(shift: xr.DataArray, beta: xr.DataArray) -> xr.DataArray:
    """Return the compute factor ``10 ** (shift / beta)`` worth a logit shift."""
    return 10.0 ** (shift / beta)


def _posterior(fit: FitLike) -> xr.Dataset:
    return fit.dt["posterior"].to_dataset()


def shared_progress(fit: FitLike, *, first: str | None = None,
                    last: str | None = None) -> xr.DataArray:
    """Shared algorithmic progress ``10 ** ((gamma_last - gamma_first) / beta)`` per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    first, last : str, optional
        Period labels; default the fit's first and last periods.
    """
    post = _posterior(fit)
    levels = period_levels(fit)
    first = levels[0] if first is None else first
    last = levels[-1] if last is None else last
    gamma = post["period_effect"]
    shift = gamma.sel(period=last, drop=True) - gamma.sel(period=first, drop=True)
    return compute_equivalent(shift, post["beta"]).rename("shared_progress")


def period_multipliers(fit: FitLike) -> xr.DataArray:
    """Every period against the first, per draw; dims ``(chain, draw, period)``."""
    post = _posterior(fit)
    gamma = post["period_effect"]
    shift = gamma - gamma.isel(period=0, drop=True)
    return compute_equivalent(shift, post["beta"]).rename("period_multiplier")


def _developer_component(fit: FitLike, components: xr.DataArray | None) -> xr.DataArray:
    comps = stacked_components(fit, components)
    return comps.sel(component="developer", drop=True)


def _group_means(fit: FitLike, components: xr.DataArray | None) -> xr.DataArray:
    """Model-weighted mean developer effect of each paper group present, per draw."""
    dev = _developer_component(fit, components)
    groups = fit.models["developer_group"].astype(str).to_numpy()
    order = [g for g in paper_group_order() if g in set(groups)]
    order += sorted(set(groups) - set(order))
    dev = dev.assign_coords(developer_group=("model", groups))
    means = dev.groupby("developer_group").mean("model")
    return means.sel(developer_group=order)


def _default_group_reference(groups: list[str]) -> str:
    if C.PAPER_BASE_GROUP in groups:
        return C.PAPER_BASE_GROUP
    return groups[0]


def developer_reference(fit: FitLike, reference: str | None = None, *,
                        components: xr.DataArray | None = None) -> tuple[xr.DataArray, str]:
    """Return the reference developer effect per draw and a description of it.

    See the module docstring for the rule when ``reference`` is ``None``. Otherwise
    ``"mean"`` (unweighted mean over units), a developer unit, or a paper group (the
    model-weighted mean developer effect of its models).
    """
    post = _posterior(fit)
    if "developer_effect" not in post:
        raise BayesLLMError(f"fit '{fit.spec.name}' has no developer effects")
    effects = post["developer_effect"]
    units = [str(u) for u in effects.coords["developer"].values]
    if reference == "mean":
        return effects.mean("developer"), "mean developer"
    if reference is not None and reference in units:
        return effects.sel(developer=reference, drop=True), reference
    means = _group_means(fit, components)
    groups = [str(g) for g in means.coords["developer_group"].values]
    if reference is None:
        if C.PAPER_BASE_GROUP in units:
            return effects.sel(developer=C.PAPER_BASE_GROUP, drop=True), C.PAPER_BASE_GROUP
        reference = _default_group_reference(groups)
    if reference not in groups:
        raise BayesLLMError(f"unknown reference developer '{reference}': not 'mean', a "
                            f"developer unit of the fit or a paper group present "
                            f"({', '.join(groups)})")
    label = reference if reference in units else f"{reference} (mean of its models)"
    return means.sel(developer_group=reference, drop=True), label


def developer_multipliers(fit: FitLike, reference: str | None = None, *,
                          components: xr.DataArray | None = None) -> xr.DataArray:
    """Each developer unit's efficiency factor ``10 ** ((u_j - u_ref) / beta)`` per draw.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, developer)``; attribute ``reference`` names the reference.
    """
    post = _posterior(fit)
    ref, label = developer_reference(fit, reference, components=components)
    out = compute_equivalent(post["developer_effect"] - ref, post["beta"])
    out.attrs["reference"] = label
    return out.rename("developer_multiplier")


def group_multipliers(fit: FitLike, reference: str | None = None, *,
                      components: xr.DataArray | None = None) -> xr.DataArray:
    """Each paper group's efficiency factor against ``reference`` per draw.

    A group's effect is the model-weighted mean developer effect of its models, which is
    ``u_g`` itself under the 13-group coding and the average secret sauce of the group's
    models under per-developer coding (what the paper's group dummy measures).

    Parameters
    ----------
    fit : FitLike
        A fit.
    reference : str, optional
        A paper group; default "Other, Small" (the first group present without it).
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, developer_group)``; attribute ``reference``.
    """
    post = _posterior(fit)
    means = _group_means(fit, components)
    groups = [str(g) for g in means.coords["developer_group"].values]
    reference = _default_group_reference(groups) if reference is None else reference
    if reference not in groups:
        raise BayesLLMError(f"reference group '{reference}' not in the fit "
                            f"({', '.join(groups)})")
    out = compute_equivalent(means - means.sel(developer_group=reference, drop=True),
                             post["beta"])
    out.attrs["reference"] = reference
    return out.rename("group_multiplier")


def within_spread(fit: FitLike, mask: np.ndarray | None = None, *,
                  percentiles: tuple[float, float] = SPREAD_PERCENTILES,
                  method: str = SPREAD_PERCENTILE_METHOD,
                  components: xr.DataArray | None = None) -> xr.DataArray:
    """Within-developer efficiency spread ``10 ** ((q_hi - q_lo) / beta)`` per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    mask : ndarray of bool, optional
        Models to use, in model order; default the ten major developers' models
        (``fit.models["is_major"]``).
    percentiles : (float, float)
        Percentiles of the model-level effects (default p10 and p90, as the paper).
    method : str
        NumPy percentile method (default ``"linear"``, the baseline's definition).
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    DataArray
        Dims ``(chain, draw)``; attribute ``n_models``.
    """
    if mask is None:
        mask = fit.models["is_major"].astype(bool).to_numpy()
    mask = np.asarray(mask, dtype=bool)
    if mask.sum() < 2:
        raise BayesLLMError(f"the within-developer spread needs at least two models; "
                            f"{int(mask.sum())} selected")
    comps = stacked_components(fit, components)
    model = comps.sel(component="model", drop=True).transpose("chain", "draw", "model")
    values = model.values[..., np.flatnonzero(mask)]
    lo, hi = np.percentile(values, list(percentiles), axis=-1, method=method)
    beta = _posterior(fit)["beta"].transpose("chain", "draw")
    out = xr.DataArray(10.0 ** ((hi - lo) / beta.values), dims=("chain", "draw"),
                       coords={d: beta[d].values for d in ("chain", "draw")},
                       name="within_spread")
    out.attrs["n_models"] = int(mask.sum())
    return out


def _major_mask(fit: FitLike, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        mask = fit.models["is_major"].astype(bool).to_numpy()
    return np.asarray(mask, dtype=bool)


def within_spread_centred(fit: FitLike, mask: np.ndarray | None = None, *,
                          percentiles: tuple[float, float] = SPREAD_PERCENTILES,
                          method: str = SPREAD_PERCENTILE_METHOD,
                          by: str = "developer",
                          components: xr.DataArray | None = None) -> xr.DataArray:
    """Within-developer spread of model-level effects centred within developer, per draw.

    For each draw, each selected model's effect minus the mean effect of the selected
    models of its developer (column ``by`` of ``fit.models``, default the developer
    string: a company); developers with one selected model are left out. Then
    ``10 ** ((q_hi - q_lo) / beta)`` as :func:`within_spread`.

    Returns
    -------
    DataArray
        Dims ``(chain, draw)``; attributes ``n_models`` and ``n_developers`` used.
    """
    mask = _major_mask(fit, mask)
    codes = pd.factorize(fit.models[by].astype(str), sort=True)[0]
    sizes = np.bincount(codes[mask], minlength=codes.max() + 1)
    keep = mask & (sizes[codes] >= 2)
    if keep.sum() < 2:
        raise BayesLLMError("the centred within-developer spread needs a developer with at "
                            f"least two selected models; {int(keep.sum())} qualify")
    comps = stacked_components(fit, components)
    model = comps.sel(component="model", drop=True).transpose("chain", "draw", "model")
    values = model.values[..., np.flatnonzero(keep)]
    kc = pd.factorize(codes[keep])[0]
    onehot = np.zeros((len(kc), kc.max() + 1))
    onehot[np.arange(len(kc)), kc] = 1.0
    means = (values @ onehot) / onehot.sum(axis=0)
    centred = values - means[..., kc]
    lo, hi = np.percentile(centred, list(percentiles), axis=-1, method=method)
    beta = _posterior(fit)["beta"].transpose("chain", "draw")
    out = xr.DataArray(10.0 ** ((hi - lo) / beta.values), dims=("chain", "draw"),
                       coords={d: beta[d].values for d in ("chain", "draw")},
                       name="within_spread_centred")
    out.attrs.update({"n_models": int(keep.sum()), "n_developers": int(kc.max() + 1)})
    return out


def within_spread_model_based(fit: FitLike, *,
                              percentiles: tuple[float, float] = SPREAD_PERCENTILES
                              ) -> xr.DataArray:
    """Spread implied by the model's distribution of model-level effects, per draw.

    ``10 ** ((q_hi - q_lo) * scale / beta)`` with ``scale`` ``sigma_model`` (binomial) or
    ``sigma`` and ``q`` the standard Normal (Student-t with ``nu``) quantiles.
    """
    from scipy.special import ndtri, stdtrit  # what scipy.stats' norm/t ppf call, lighter

    post = _posterior(fit)
    scale = post["sigma_model"] if "sigma_model" in post else post["sigma"]
    lo, hi = (p / 100.0 for p in percentiles)
    if "nu" in post and fit.spec.likelihood == "student_t":
        nu = post["nu"].values
        width = stdtrit(nu, hi) - stdtrit(nu, lo)
    else:
        width = ndtri(hi) - ndtri(lo)
    out = 10.0 ** (width * scale / post["beta"])
    return out.rename("within_spread_model_based")


__all__ = ["compute_equivalent", "developer_multipliers", "developer_reference",
           "group_multipliers", "period_multipliers", "shared_progress", "within_spread",
           "within_spread_centred", "within_spread_model_based"]
