"""Company share, model-based: three literature definitions, per posterior draw.

Every quantity is computed draw by draw on the latent logit scale from the fit's
parameters and its decomposition ``latent = intercept + compute + period + developer +
model`` (:func:`bayes_llm.derived.summary.stacked_components`).

(a) **Superpopulation share** (Nakagawa & Schielzeth 2013; Nakagawa, Johnson &
    Schielzeth 2017): ``sigma2_dev / (sigma2_fixed + sigma2_dev + sigma2_period +
    sigma2_lineage + sigma2_model + sigma2_dist)``, where

    * ``sigma2_fixed`` is the variance across models of the fixed part of the linear
      predictor (the compute term, plus the period effects when periods are unpooled or a
      random walk, plus a developer-mean-compute (Mundlak) term when the spec has one;
      population variance, ddof 0);
    * ``sigma2_dev`` is the between-developer variance of a pooled developer effect
      (``sigma_developer**2``; nested: ``sigma_group**2 + sigma_developer**2``; developer
      slopes add ``sigma_slope**2 * mean(x**2)``, Nakagawa et al. 2017, eq. 11); for
      Student-t developer effects (``nu_developer``) the variance of the realised effects
      (ddof 1), as for a Student-t model-level effect below. For
      *unpooled* developer effects there is no superpopulation variance; the variance of
      the realised unit effects (ddof 1) stands in for it, as Gelman (2005) does for a
      batch of fixed effects, and the figure says so;
    * ``sigma2_period`` (exchangeable periods: ``sigma_period**2``) and ``sigma2_lineage``
      (a base-model lineage effect, ``sigma_lineage**2``; for Student-t lineage effects,
      ``nu_lineage``, the variance of the realised lineage effects, ddof 1, as for
      Student-t developer effects) are included when the spec has them;
    * ``sigma2_model`` is the model-level variance: binomial ``sigma_model**2`` (an
      observation-level effect, Nakagawa et al. 2017); logit-normal ``sigma**2``;
      Student-t (likelihood, or a Student-t model-level effect ``nu_model``) the variance
      of the realised model-level effects (ddof 1), since ``sigma**2 nu / (nu - 2)`` is
      infinite for ``nu <= 2``. A lineage effect has its own block
      (``sigma_lineage**2``); a protocol offset (11 models) is left out of the fixed
      part's variance;
    * no distribution-specific variance: the shares are of the variance of *latent*
      performance. A binomial model's measurement noise (12,032 questions) is not a
      performance difference, and the delta-method term ``mean_i p_i (1 - p_i) / (n [(1 -
      g) s_i (1 - s_i)]**2)`` that Nakagawa et al. (2017) would add, evaluated at the
      posterior mean of the latent scores (about 0.01 logit² on the 809 models, against
      ~0.46 for ``sigma_model**2``), made the share and the Bayesian R² fail
      simulation-based calibration on the full design (coverage of their 94% intervals
      0.68 and 0.49 in 200 replications, ``verification/sbc/binomial_developers``): the
      term is unbounded near the guessing floor, where the latent score is weakly
      identified, so a plug-in of it is not a function of the parameters that the data
      pin down. Without it the ranks are uniform.

With a floor mixture (``floor_mixture``) every figure here describes the *regular*
(non-collapsed) population: ``sigma_model`` is the spread of the regular models'
effects, and ``eta_i`` of a model the fit puts in the collapsed component is its
would-be regular score (the likelihood then says little about it, so its posterior is
close to Normal(mu_i, sigma_model)). The share of collapsed models is its own posterior
quantity (``collapse_probability``, a headline row), not part of any variance share.

(b) **Finite-population ANOVA** (Gelman 2005): the SD of the realised effects of each
    batch, ``s_dev = sd_j(u_j)`` over developer units (ddof 1), beside the
    superpopulation ``sigma_dev``; and, across models, the developer block's *own*
    variance ``Var_i(u_j(i)) / Var_i(T_i)`` and its covariance with compute
    ``Cov_i(u_j(i), compute_i) / Var_i(T_i)`` shown separately (``T`` the latent score
    less the intercept). Own variance + its covariances with compute, period and the
    model-level effect is the developer row of
    :func:`bayes_llm.derived.variance.variance_partition`.

(c) **Bayesian R²** (Gelman, Goodrich, Gabry & Vehtari 2019):
    ``Var_i(mu_i) / (Var_i(mu_i) + sigma2_res)`` with ``mu_i`` the fitted linear predictor
    (realised developer effects included) and the model-based residual variance
    ``sigma2_res = sigma2_model`` (latent scale, as in (a)). *Without the developer block*: the
    developer effects move to the residual, ``Var_i(mu_i - u_i) / (Var_i(mu_i - u_i) +
    sigma2_dev + sigma2_res)`` (the analogue of Nakagawa's marginal R²); the increment
    is the difference.

"Company" means a company: with the paper's 13-group coding (``developer = "group"``)
three of the "developers" are bins of each developer's mean compute, not companies; the
figures are then flagged (:data:`GROUP_CODING_FLAG`) and kept for reproduction only.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_llm.derived.fast import as_draws, component_covariance
from bayes_llm.derived.summary import SAMPLE_DIMS, FitLike, stacked_components

#: The warning on every table and plot of a fit with the paper's 13-group coding.
GROUP_CODING_FLAG: str = (
    "13-group coding (paper reproduction only): 3 of the 13 groups ('Other, Small/Med/"
    "Large') are bins of each developer's mean compute, not companies")
#: The short form carried by each company figure of such a fit.
GROUP_CODING_NOTE: str = "13-group coding: compute bins among the groups, not companies"


def coding_flag(fit: FitLike) -> str:
    """Return :data:`GROUP_CODING_NOTE` for a 13-group-coded fit, else ``""``."""
    return GROUP_CODING_NOTE if fit.spec.developer == "group" else ""


def developer_variance(fit: FitLike) -> tuple[xr.DataArray, str]:
    """Between-developer variance per draw and how it was obtained.

    Returns
    -------
    (DataArray, str)
        ``sigma2_dev`` with dims ``(chain, draw)`` (zero when the fit has no developer
        effects) and a short note (empty for a pooled effect).
    """
    post = fit.dt["posterior"].to_dataset()
    beta = post["beta"]
    if "developer_effect" not in post:
        return xr.zeros_like(beta), "the fit has no developer effects"
    note = ""
    if "nu_developer" in post:
        var = post["developer_effect"].var("developer", ddof=1)
        note = ("Student-t developer effects: the variance of the realised unit effects "
                "stands in for sigma^2 nu / (nu - 2), infinite for nu <= 2 (Gelman 2005)")
    elif "sigma_developer" in post:
        var = post["sigma_developer"] ** 2
        if "sigma_group" in post:
            var = var + post["sigma_group"] ** 2
    else:
        var = post["developer_effect"].var("developer", ddof=1)
        note = ("developer effects are unpooled: the variance of the realised unit effects "
                "stands in for the superpopulation variance (Gelman 2005)")
    if "sigma_slope" in post:
        x = fit.dt["constant_data"]["log10_flop_centred"]
        var = var + post["sigma_slope"] ** 2 * float(np.mean(np.asarray(x) ** 2))
    return var.reset_coords(drop=True), note


def lineage_variance(fit: FitLike) -> tuple[xr.DataArray, str]:
    """Between-lineage variance per draw and how it was obtained.

    Returns
    -------
    (DataArray, str)
        ``sigma2_lineage`` with dims ``(chain, draw)``: ``sigma_lineage**2`` for Normal
        lineage effects, the variance of the realised lineage effects (ddof 1) for
        Student-t ones (``nu_lineage``), zero when the fit has no lineage effect; and a
        short note (empty unless the lineage effects are Student-t).
    """
    post = fit.dt["posterior"].to_dataset()
    if "nu_lineage" in post and "lineage_effect" in post:
        return (post["lineage_effect"].var("lineage", ddof=1).reset_coords(drop=True),
                "Student-t lineage effects: the variance of the realised lineage effects "
                "stands in for sigma_lineage^2 nu / (nu - 2), infinite for nu <= 2 "
                "(Gelman 2005)")
    if "sigma_lineage" in post:
        return (post["sigma_lineage"] ** 2).reset_coords(drop=True), ""
    return xr.zeros_like(post["beta"]).reset_coords(drop=True), ""


def residual_variances(fit: FitLike, components: xr.DataArray | None = None
                       ) -> tuple[xr.DataArray, str]:
    """Model-level variance per draw (see the module docstring) and a note.

    Returns
    -------
    (DataArray, str)
        ``sigma2_model`` with dims ``(chain, draw)`` and how it was obtained (empty for a
        Normal model-level effect).
    """
    post = fit.dt["posterior"].to_dataset()
    zero = xr.zeros_like(post["beta"])
    likelihood = fit.spec.likelihood
    if likelihood == "binomial" and "sigma_model" in post and "nu_model" not in post:
        return post["sigma_model"] ** 2, ""
    if likelihood == "logit_normal" and "sigma" in post:
        return post["sigma"] ** 2, ""
    comps = stacked_components(fit, components)
    resid = comps.sel(component="model", drop=True).transpose(*SAMPLE_DIMS, "model")
    return (as_draws(np.var(resid.values, axis=-1, ddof=1), zero),
            "Student-t model-level effects: the variance of the realised effects stands "
            "in for sigma^2 nu / (nu - 2)")


def company_shares(fit: FitLike, *, components: xr.DataArray | None = None,
                   covariance: xr.DataArray | None = None) -> xr.Dataset:
    """Compute the three model-based company-share definitions per draw.

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
        Dims ``(chain, draw)``:

        * ``superpop_share`` -- definition (a); ``variance_<block>`` the variance
          components it is made of (``fixed``, ``developer``, ``period``, ``lineage``,
          ``model``, ``dist``); ``lineage_superpop_share`` the lineage block's share of
          the same total (zero without a lineage effect);
        * ``sd_developer_finite`` (s_dev, logits) and ``sd_developer_superpop``
          (sqrt of ``variance_developer``) -- definition (b); ``sd_period_finite`` and
          ``sd_model_finite``, the other batches of the ANOVA table;
        * ``developer_own_share``, ``developer_cov_compute_share``,
          ``developer_cov_other_share`` -- definition (b) across models;
        * ``bayes_r2``, ``bayes_r2_no_developer``, ``bayes_r2_developer_increment`` --
          definition (c).

        Attribute ``notes``: how each variance was obtained, and the coding flag.
    """
    comps = stacked_components(fit, components).transpose(*SAMPLE_DIMS, "model", "component")
    post = fit.dt["posterior"].to_dataset()
    sig = (component_covariance(comps) if covariance is None else covariance).values
    c, p, d = (list(comps["component"].values).index(k)
               for k in ("compute", "period", "developer"))
    zero = xr.zeros_like(post["beta"].transpose(*SAMPLE_DIMS))
    pooled_period = "sigma_period" in post and fit.spec.period_effect == "exchangeable"
    var_fixed = sig[..., c, c] if pooled_period else \
        sig[..., c, c] + sig[..., p, p] + 2 * sig[..., c, p]
    mundlak_note = ""
    if "mundlak_lambda" in post:
        # the developer-mean-compute (Mundlak) term is a fixed effect: in the fixed part
        const = fit.dt["constant_data"].to_dataset()
        didx = np.asarray(const["developer_idx"].values, dtype=int)
        xbar = np.asarray(const["developer_mean_compute"].values, dtype=float)[didx]
        lam = post["mundlak_lambda"].transpose(*SAMPLE_DIMS).values[..., None]
        parts = {k: comps.sel(component=k).transpose(*SAMPLE_DIMS, "model").values
                 for k in ("compute", "period")}
        fixed = parts["compute"] + lam * xbar
        if not pooled_period:
            fixed = fixed + parts["period"]
        var_fixed = fixed.var(axis=-1)
        mundlak_note = ("the developer-mean-compute (Mundlak) term is counted in the fixed "
                        "part; the developer block is the remaining developer effect")
    v = {"fixed": as_draws(var_fixed, zero)}
    v["developer"], dev_note = developer_variance(fit)
    dev_note = "; ".join(x for x in (dev_note, mundlak_note) if x)
    v["period"] = post["sigma_period"] ** 2 if pooled_period else zero
    v["lineage"], lineage_note = lineage_variance(fit)
    v["model"], res_note = residual_variances(fit, comps)
    v = {k: val.reset_coords(drop=True).transpose(*SAMPLE_DIMS) for k, val in v.items()}
    total = sum(v.values())
    out = {f"variance_{k}": val for k, val in v.items()}
    out["superpop_share"] = v["developer"] / total
    out["lineage_superpop_share"] = v["lineage"] / total
    if "developer_effect" in post:
        out["sd_developer_finite"] = post["developer_effect"].std("developer", ddof=1)
    else:
        out["sd_developer_finite"] = zero
    out["sd_developer_superpop"] = np.sqrt(v["developer"])
    # the other batches of Gelman's (2005) ANOVA table, finite population
    out["sd_period_finite"] = (post["period_effect"].std("period", ddof=1)
                               if post.sizes.get("period", 0) > 1 else zero)
    model_part = comps.sel(component="model").transpose(*SAMPLE_DIMS, "model").values
    out["sd_model_finite"] = as_draws(model_part.std(axis=-1, ddof=1), zero)
    var_t = sig.sum(axis=(-1, -2))
    own = sig[..., d, d]
    cov_compute = sig[..., d, c]
    cov_all = sig[..., d, :].sum(axis=-1)
    out["developer_own_share"] = as_draws(own / var_t, zero)
    out["developer_cov_compute_share"] = as_draws(cov_compute / var_t, zero)
    out["developer_cov_other_share"] = as_draws((cov_all - own - cov_compute) / var_t, zero)
    explained = [c, p, d]
    var_mu = sig[..., explained, :][..., explained].sum(axis=(-1, -2))
    var_mu0 = sig[..., [c, p], :][..., [c, p]].sum(axis=(-1, -2))
    res = v["model"].values
    r2 = var_mu / (var_mu + res)
    r2_0 = var_mu0 / (var_mu0 + v["developer"].values + res)
    out["bayes_r2"] = as_draws(r2, zero)
    out["bayes_r2_no_developer"] = as_draws(r2_0, zero)
    out["bayes_r2_developer_increment"] = as_draws(r2 - r2_0, zero)
    ds = xr.Dataset({k: val.reset_coords(drop=True).transpose("chain", "draw")
                     for k, val in out.items()})
    notes = [n for n in (dev_note, lineage_note, res_note, coding_flag(fit)) if n]
    ds.attrs["notes"] = "; ".join(notes)
    ds.attrs["developer_note"] = dev_note
    ds.attrs["lineage_note"] = lineage_note
    return ds


__all__ = ["GROUP_CODING_FLAG", "GROUP_CODING_NOTE", "coding_flag", "company_shares",
           "developer_variance", "lineage_variance", "residual_variances"]
