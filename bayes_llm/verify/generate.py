"""An independent NumPy simulator of the documented model (``models/README.md``).

Simulation-based calibration needs data drawn from the prior predictive distribution. If
the simulator were the fitted PyMC graph itself, a sign or scale error in
``bayes_llm.model.build`` would be reproduced in the simulated data and stay invisible;
this module draws every parameter and the outcome with NumPy from the documented model
instead (it does not import ``build.py``), so such an error makes the SBC ranks
non-uniform.

The structure (which variables exist for a spec on a design) is shared with the
independent log density :mod:`bayes_llm.verify.logdensity`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from bayes_llm.model.design import ModelData
from bayes_llm.model.spec import ModelSpec
from bayes_llm.verify.logdensity import (
    collapse_shape,
    informed_developers,
    lineage_effects,
    monotone_curve,
    prior_draw,
    slope_at_centre,
    structure,
    years_within_period,
)


def zero_sum_normal_draw(sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``u = z - mean(z)``, ``z_k ~ Normal(0, sigma)`` independent."""
    z = rng.normal(0.0, sigma, n)
    return z - z.mean()


def draw_parameters(spec: ModelSpec, data: ModelData,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw every parameter from the prior, in the fitted model's naming.

    Returns the sampled variables of :func:`bayes_llm.verify.logdensity.value_names` and
    the derived ones a fit reports: ``alpha`` and ``period_effect`` (always; zeros for a
    single period; for a random walk, its mean and the deviations from it),
    ``developer_effect`` (non-centred: ``sigma_developer * developer_z``).
    """
    parts = structure(spec, data)
    pr = spec.prior
    n_models = data.n_models
    n_periods = parts["n_periods"]
    n_units = len(data.coords["developer"])
    v: dict[str, np.ndarray] = {}
    if parts["period"] == "random_walk":
        v["sigma_period"] = prior_draw(pr("sigma_period"), rng)
        v["period_drift"] = prior_draw(pr("period_drift"), rng)
        start = prior_draw(pr("alpha"), rng)
        steps = rng.normal(v["period_drift"], v["sigma_period"], n_periods - 1)
        walk = start + np.concatenate([[0.0], np.cumsum(steps)])
        v["period_walk"] = walk
        v["alpha"] = np.asarray(walk.mean())
        v["period_effect"] = walk - walk.mean()
    else:
        v["alpha"] = prior_draw(pr("alpha"), rng)
        if parts["period"] == "exchangeable":
            v["sigma_period"] = prior_draw(pr("sigma_period"), rng)
            v["period_effect"] = zero_sum_normal_draw(v["sigma_period"], n_periods, rng)
        elif parts["period"] == "fixed":
            v["period_effect"] = zero_sum_normal_draw(pr("period_fixed").params["sigma"],
                                                      n_periods, rng)
        else:
            v["period_effect"] = np.zeros(n_periods)
    if parts["monotone"]:
        v["log_slope_mean"] = prior_draw(pr("log_slope_mean"), rng)
        v["sigma_curve"] = prior_draw(pr("sigma_curve"), rng)
        v["log_compute_slope"] = rng.normal(v["log_slope_mean"], v["sigma_curve"],
                                            len(data.knots) + 1)
        v["compute_slope"] = np.exp(v["log_compute_slope"])
        v["beta"] = np.asarray(slope_at_centre(v["compute_slope"], data.knots))
    else:
        v["beta"] = prior_draw(pr("beta"), rng)
    x = data.x
    if parts["compute_error"]:
        v["mu_x"] = prior_draw(pr("mu_x"), rng)
        v["sigma_x"] = prior_draw(pr("sigma_x"), rng)
        if parts["t_compute"]:
            v["nu_x"] = prior_draw(pr("nu_x"), rng)
            x = v["mu_x"] + v["sigma_x"] * rng.standard_t(v["nu_x"], n_models)
        else:
            x = rng.normal(v["mu_x"], v["sigma_x"], n_models)
        v["log10_flop_true"] = x
    slope = v["beta"] + np.zeros(n_models)
    if parts["interaction"]:
        v["sigma_interaction"] = prior_draw(pr("sigma_interaction"), rng)
        v["compute_period_slope"] = zero_sum_normal_draw(v["sigma_interaction"], n_periods,
                                                         rng)
        slope = slope + v["compute_period_slope"][data.period_idx]
    dev = parts["developer"]
    u = np.zeros(n_units)
    if dev == "nested":
        v["sigma_group"] = prior_draw(pr("sigma_group"), rng)
        n_groups = len(data.coords["developer_group"])
        v["group_effect"] = zero_sum_normal_draw(v["sigma_group"], n_groups, rng)
        v["sigma_developer"] = prior_draw(pr("sigma_developer"), rng)
        u = rng.normal(v["group_effect"][data.group_of_developer], v["sigma_developer"])
        v["developer_effect"] = u
    elif dev == "centred":
        v["sigma_developer"] = prior_draw(pr("sigma_developer"), rng)
        u = zero_sum_normal_draw(v["sigma_developer"], n_units, rng)
        v["developer_effect"] = u
    elif dev == "student_t":
        v["sigma_developer"] = prior_draw(pr("sigma_developer"), rng)
        v["nu_developer"] = prior_draw(pr("nu_developer"), rng)
        u = v["sigma_developer"] * rng.standard_t(v["nu_developer"], n_units)
        v["developer_effect"] = u
    elif dev == "by_kind":
        v["sigma_developer_kind"] = prior_draw(pr("sigma_developer"), rng, 2)
        scale = v["sigma_developer_kind"][data.developer_kind]
        v["sigma_developer"] = np.sqrt(np.mean(scale**2))
        u = rng.normal(0.0, scale)
        v["developer_effect"] = u
    elif dev == "non_centred":
        v["sigma_developer"] = prior_draw(pr("sigma_developer"), rng)
        v["developer_z"] = rng.normal(0.0, 1.0, n_units)
        u = v["sigma_developer"] * v["developer_z"]
        v["developer_effect"] = u
    elif dev == "partial":  # the same prior as non_centred, in the sampler's coordinates
        v["sigma_developer"] = prior_draw(pr("sigma_developer"), rng)
        informed = informed_developers(data)
        u = rng.normal(0.0, v["sigma_developer"], n_units)
        if (~informed).any():
            v["developer_z"] = u[~informed] / v["sigma_developer"]
        if informed.any():
            v["developer_centred_effect"] = u[informed]
        v["developer_effect"] = u
    elif dev == "fixed":
        u = zero_sum_normal_draw(pr("developer_fixed").params["sigma"], n_units, rng)
        v["developer_effect"] = u
    if parts["slopes"]:
        v["sigma_slope"] = prior_draw(pr("sigma_slope"), rng)
        v["developer_slope"] = rng.normal(0.0, v["sigma_slope"], n_units)
        slope = slope + v["developer_slope"][data.developer_idx]
    if parts["monotone"]:
        mu = v["alpha"] + v["period_effect"][data.period_idx] + monotone_curve(
            x, v["compute_slope"], data.knots)
    else:
        mu = v["alpha"] + v["period_effect"][data.period_idx] + slope * x
    if dev != "none":
        mu = mu + u[data.developer_idx]
    if parts["lineage"]:
        v["sigma_lineage"] = prior_draw(pr("sigma_lineage"), rng)
        if parts["t_lineage"]:
            v["nu_lineage"] = prior_draw(pr("nu_lineage"), rng)

            def standard_draw(size: int) -> np.ndarray:
                return rng.standard_t(v["nu_lineage"], size)
        else:
            standard_draw = rng.standard_normal
        if len(data.lineage_multi):
            v["lineage_multi_effect"] = v["sigma_lineage"] * standard_draw(
                len(data.lineage_multi))
        if len(data.lineage_single):
            v["lineage_single_z"] = standard_draw(len(data.lineage_single))
        v["lineage_effect"] = lineage_effects(data, v)
        grid = getattr(data, "lineage_grid", None)
        if grid is not None and len(grid):  # summed out of the model (lineage_grid), not sampled
            v["lineage_effect"][grid] = v["sigma_lineage"] * standard_draw(len(grid))
        mu = mu + v["lineage_effect"][data.lineage_idx]
    if parts["protocol"]:
        v["protocol_effect"] = prior_draw(pr("protocol_effect"), rng)
        mu = mu + v["protocol_effect"] * data.off_harness
    if parts["mundlak"]:
        v["mundlak_lambda"] = prior_draw(pr("mundlak_lambda"), rng)
        mu = mu + v["mundlak_lambda"] * data.developer_mean_x[data.developer_idx]
    if parts["trend"]:
        v["period_trend"] = prior_draw(pr("period_trend"), rng)
        mu = mu + v["period_trend"] * years_within_period(spec, data)
    v["mu"] = mu
    if spec.likelihood == "binomial":
        v["sigma_model"] = prior_draw(pr("sigma_model"), rng)
        if parts["t_model"]:
            v["nu_model"] = prior_draw(pr("nu_model"), rng)
            v["eta"] = mu + v["sigma_model"] * rng.standard_t(v["nu_model"], n_models)
        elif parts.get("laplace"):  # a Laplace law of SD sigma_model (scale / sqrt 2)
            v["model_laplace_scale"] = v["sigma_model"] / np.sqrt(2.0)
            v["eta"] = rng.laplace(mu, v["model_laplace_scale"])
        elif parts.get("two_scale"):  # total SD sigma_model; the wide SD r times the core's
            v["model_wide_probability"] = prior_draw(pr("model_wide_probability"), rng)
            v["model_wide_log_ratio"] = prior_draw(pr("model_wide_log_ratio"), rng)
            w, r = v["model_wide_probability"], 1.0 + np.exp(v["model_wide_log_ratio"])
            core = v["sigma_model"] / np.sqrt(1.0 - w + w * r * r)
            v["sigma_model_core"], v["sigma_model_wide"] = core, r * core
            wide = rng.uniform(size=n_models) < w
            v["eta"] = rng.normal(mu, np.where(wide, r * core, core))
        else:
            v["eta"] = rng.normal(mu, v["sigma_model"])
        if parts["floor_mixture"]:
            rate = (("collapse_intercept", "collapse_compute_slope")
                    if parts.get("collapse_by_compute") else ("collapse_probability",))
            for name in (*rate, "collapse_logit_mean", "collapse_log_concentration"):
                v[name] = prior_draw(pr(name), rng)
            if parts.get("collapse_by_period"):
                v["collapse_probability"] = prior_draw(pr("collapse_probability"), rng,
                                                       len(data.coords["period"]))
            if parts.get("collapse_by_lineage"):  # each lineage's propensity to collapse
                v["sigma_collapse_lineage"] = prior_draw(pr("sigma_collapse_lineage"), rng)
                v["collapse_lineage_z"] = rng.standard_normal(len(data.coords["lineage"]))
            a, b = collapse_shape(data.guess, v["collapse_logit_mean"],
                                  v["collapse_log_concentration"])
            v["collapse_mean"] = a / (a + b)
            v["collapse_concentration"] = a + b
    else:
        v["sigma"] = prior_draw(pr("sigma"), rng)
        if spec.likelihood == "student_t":
            v["nu"] = prior_draw(pr("nu"), rng)
    return {k: np.asarray(val, dtype=float) for k, val in v.items()}


def draw_observations(spec: ModelSpec, data: ModelData, params: dict[str, np.ndarray],
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw the observations given the parameters.

    Returns ``correct`` (binomial: correct answers out of ``data.n``; with
    ``floor_mixture`` each model is collapsed with probability pi and then its success
    probability is a Beta draw, i.e. a beta-binomial count) or ``y`` (logit score), and
    ``log10_flop_obs`` (centred observed compute) under errors-in-variables.
    """
    out: dict[str, np.ndarray] = {}
    if spec.compute_error:
        out["log10_flop_obs"] = rng.normal(params["log10_flop_true"], data.compute_error_sd)
    if spec.likelihood == "binomial":
        p = data.guess + (1.0 - data.guess) * special.expit(params["eta"])
        if "collapse_logit_mean" in params:
            # floor mixture: a collapsed model's accuracy is Beta(a, b), its count binomial
            if "collapse_compute_slope" in params:  # from the (drawn) reported compute
                x = out.get("log10_flop_obs", data.x)
                pi = special.expit(params["collapse_intercept"]
                                   + params["collapse_compute_slope"] * x)
            else:
                pi = np.asarray(params["collapse_probability"], float)
                if pi.ndim:  # collapse_by_period: each model's period's probability
                    pi = pi[data.period_idx]
            if "collapse_lineage_z" in params:  # plus the lineage's propensity (log odds)
                pi = special.expit(special.logit(pi) + params["sigma_collapse_lineage"]
                                   * params["collapse_lineage_z"][data.lineage_idx])
            collapsed = rng.uniform(size=data.n_models) < pi
            a, b = collapse_shape(data.guess, params["collapse_logit_mean"],
                                  params["collapse_log_concentration"])
            p = np.where(collapsed, rng.beta(a, b, data.n_models), p)
        out["correct"] = rng.binomial(data.n, p).astype(np.int64)
    elif spec.likelihood == "logit_normal":
        out["y"] = rng.normal(params["mu"], params["sigma"])
    else:
        out["y"] = params["mu"] + params["sigma"] * rng.standard_t(params["nu"], data.n_models)
    return out


def draw_prior_predictive(spec: ModelSpec, data: ModelData, rng: np.random.Generator
                          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One draw of ``(parameters, observations)`` from the prior predictive distribution."""
    params = draw_parameters(spec, data, rng)
    return params, draw_observations(spec, data, params, rng)


__all__ = ["draw_observations", "draw_parameters", "draw_prior_predictive",
           "zero_sum_normal_draw"]
