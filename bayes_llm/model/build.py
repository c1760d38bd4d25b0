"""Build the PyMC model from a spec and prepared data.

For model i of developer unit j(i) released in period t(i), with x_i = log10 C_i - c0:

    mu_i  = alpha + f(x_i) + gamma_t(i) [+ tau * s_i] + u_j(i) [+ b_j(i) x_i]
            [+ delta_t(i) x_i] [+ l_lineage(i)] [+ kappa * off_i] [+ lambda * xbar_j(i)]
    s_i  = years from model i's release month to its period's midpoint (``period_trend``)
    f(x) = beta x (linear) or a monotone piecewise-linear curve (see ``curve.py``)
    binomial:      eta_i ~ Normal(mu_i, sigma_model) (or StudentT(nu_model, mu_i, sigma_model));
                   k_i ~ Binomial(n, g + (1 - g) logistic(eta_i))
                   [floor_mixture: k_i ~ pi BetaBinomial(n, m_c kappa, (1 - m_c) kappa)
                                         + (1 - pi) Binomial(n, g + (1 - g) logistic(eta_i))]
    logit_normal:  y_i ~ Normal(mu_i, sigma)
    student_t:     y_i ~ StudentT(nu, mu_i, sigma)

Parameterisation: every random effect is *centred* (the effect itself is the sampled
variable, e.g. ``eta ~ Normal(mu, sigma_model)`` rather than ``mu + sigma_model * z``).
With 12,032 questions per model and dozens of models per period and developer the data
dominate each effect, and centred effects mix far better here: on the 809 models the
binomial model took ~100 s with a non-centred model effect (tree depth 9-10) and ~2 s
centred (tree depth 4), with zero divergences (see ``benchmarks/``). Exchangeable period
effects and pooled developer and group effects sum to zero (``ZeroSumNormal``, the same
prior up to a factor 1 - 1/n on the variance) so they are not confounded with alpha;
unpooled ("fixed") effects are sum-to-zero with a fixed wide scale; random-walk period
levels are sampled directly, with alpha their mean. Student-t developer effects
(``developer_distribution = "student_t"``) are iid StudentT(nu_developer, 0,
sigma_developer), not sum-to-zero: alpha is then the population location, pinned by the
prior on the effects (its posterior SD ~ sigma_developer / sqrt(J)). Effects by kind
(``developer_distribution = "normal_by_kind"``) are iid Normal with one scale per kind of
developer, likewise not sum-to-zero.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_llm.errors import BayesLLMError, SpecError
from bayes_llm.model.design import ModelData
from bayes_llm.model.spec import (
    COLLAPSE_BAND,
    COLLAPSE_MIN_CONCENTRATION,
    PARTIAL_CENTRING_MIN_MODELS,
    ModelSpec,
    Prior,
)

#: Name of the observed outcome variable, by likelihood.
OBSERVED_NAME = {"binomial": "correct", "logit_normal": "y", "student_t": "y"}


def partial_centring_split(data) -> tuple[np.ndarray, np.ndarray]:
    """Developer indices ``(centred, non_centred)`` of ``developer_parameterisation = "partial"``.

    Centred: developers with at least :data:`~bayes_llm.model.spec.PARTIAL_CENTRING_MIN_MODELS`
    models in the design (their effects are informed by several models' scores); the
    others (one model each: 123 of 256 on the paper's data, 59 of 116 in the time split's
    training set) non-centred. ``data``: a design with ``developer_idx`` and
    ``coords["developer"]`` (:class:`~bayes_llm.model.design.ModelData` or the joint
    model's).
    """
    counts = np.bincount(data.developer_idx, minlength=len(data.coords["developer"]))
    strong = counts >= PARTIAL_CENTRING_MIN_MODELS
    return np.flatnonzero(strong), np.flatnonzero(~strong)


def prior_variable(prior: Prior, name: str | None = None, **kwargs):
    """Return ``prior`` as a PyMC variable ``name``, or without a name as a ``.dist``.

    The parameters go in as float64 NumPy scalars: PyTensor makes a Python float that
    float32 holds exactly (1.0, 9.0, 1.5) a float32 constant, so a term of constants alone
    (a Beta prior's log B(a, b), a Normal's log sigma) was rounded to float32, ~4e-8 off per
    term (found by the NumPy reference density, ``bayes_llm.verify.logdensity``).
    """
    family = getattr(pm, prior.dist)
    params = {k: np.float64(v) for k, v in prior.params.items()}
    if name is None:
        return family.dist(**params, **kwargs)
    return family(name, **params, **kwargs)


def _prior(spec: ModelSpec, name: str, rv_name: str | None = None, **kwargs):
    return prior_variable(spec.prior(name), rv_name or name, **kwargs)


def _random_walk_level(spec: ModelSpec):
    """Random-walk period levels; returns ``(alpha, period_effect)`` as deterministics.

    The sampled variable is the walk of *levels* (centred: each period's level is pinned
    by its own models), started from the ``alpha`` prior. ``alpha`` is their mean and
    ``period_effect`` the deviations, so ``alpha + period_effect`` is each period's level,
    as for the other period codings. Anchoring the walk at zero in the first period instead
    ties every level to that period's few models (one in 2022Q4): bulk ESS fell to ~15.
    """
    sigma = _prior(spec, "sigma_period")
    drift = _prior(spec, "period_drift")
    start = spec.prior("alpha")
    walk = pm.GaussianRandomWalk(
        "period_walk", mu=drift, sigma=sigma,
        init_dist=prior_variable(start), dims="period")
    alpha = pm.Deterministic("alpha", walk.mean())
    return alpha, pm.Deterministic("period_effect", walk - walk.mean(), dims="period")


def _period_effects(spec: ModelSpec, n_periods: int):
    if n_periods == 1:
        return pm.Deterministic("period_effect", pt.zeros(1), dims="period")
    if spec.period_effect == "exchangeable":
        sigma = _prior(spec, "sigma_period")
        return pm.ZeroSumNormal("period_effect", sigma=sigma, dims="period")
    return _fixed_effects(spec, "period_fixed", "period_effect", "period")


def _developer_effects(spec: ModelSpec, data: ModelData):
    if spec.developer == "nested":
        sigma_group = _prior(spec, "sigma_group")
        group = pm.ZeroSumNormal("group_effect", sigma=sigma_group, dims="developer_group")
        sigma = _prior(spec, "sigma_developer")
        gidx = pm.Data("group_of_developer", data.group_of_developer, dims="developer")
        return pm.Normal("developer_effect", group[gidx], sigma, dims="developer")
    if spec.developer_effect == "pooled":
        if spec.developer_distribution == "normal_by_kind":
            return _developer_effects_by_kind(spec, data)
        sigma = _prior(spec, "sigma_developer")
        if spec.developer_distribution == "student_t":
            nu = _prior(spec, "nu_developer")
            return pm.StudentT("developer_effect", nu=nu, mu=0.0, sigma=sigma, dims="developer")
        if spec.developer_parameterisation == "non_centred":
            z = pm.Normal("developer_z", 0.0, 1.0, dims="developer")
            return pm.Deterministic("developer_effect", sigma * z, dims="developer")
        if spec.developer_parameterisation == "partial":
            return _partially_centred_developers(sigma, data)
        return pm.ZeroSumNormal("developer_effect", sigma=sigma, dims="developer")
    return _fixed_effects(spec, "developer_fixed", "developer_effect", "developer")


def _partially_centred_developers(sigma, data: ModelData):
    """Developer effects iid Normal(0, sigma), centred where informed, non-centred elsewhere.

    The developers of :func:`partial_centring_split` with several models are sampled as
    themselves (``developer_centred_effect``), those with one model as ``sigma *
    developer_z`` (Papaspiliopoulos, Roberts & Skold 2007: each effect in the
    parameterisation its information suits). The same prior as ``non_centred`` (iid, alpha
    the population location); only the sampler's coordinates differ.
    """
    centred, non_centred = partial_centring_split(data)
    labels = np.asarray(data.coords["developer"])
    model = pm.modelcontext(None)
    effect = pt.zeros(labels.size)
    if non_centred.size:
        model.add_coord("developer_non_centred", labels[non_centred])
        z = pm.Normal("developer_z", 0.0, 1.0, dims="developer_non_centred")
        effect = pt.set_subtensor(effect[non_centred], sigma * z)
    if centred.size:
        model.add_coord("developer_centred", labels[centred])
        own = pm.Normal("developer_centred_effect", 0.0, sigma, dims="developer_centred")
        effect = pt.set_subtensor(effect[centred], own)
    return pm.Deterministic("developer_effect", effect, dims="developer")


def _developer_effects_by_kind(spec: ModelSpec, data: ModelData):
    """Return developer effects iid ``Normal(0, sigma_developer_kind[kind_j])``, centred.

    One scale per developer kind (trainer, finetuner), each with the ``sigma_developer``
    prior; not sum-to-zero (alpha is the population location, as for Student-t effects).
    ``sigma_developer`` is recorded as the SD of the population of developers, a mixture
    of the kinds in the fit's proportions: ``sqrt(mean_j sigma_kind[kind_j]^2)``, so the
    derived variance shares read it as before.
    """
    kind = pm.Data("developer_kind_of_developer", data.developer_kind, dims="developer")
    scales = _prior(spec, "sigma_developer", rv_name="sigma_developer_kind",
                    dims="developer_kind")
    pm.Deterministic("sigma_developer", pt.sqrt(pt.mean(scales[kind] ** 2)))
    return pm.Normal("developer_effect", 0.0, scales[kind], dims="developer")


def _fixed_effects(spec: ModelSpec, prior_name: str, name: str, dims: str):
    """Unpooled effects: sum-to-zero with a fixed wide scale (no learned between-unit SD).

    Equivalent to fixed effects up to the (irrelevant) choice of reference level: every
    contrast between two levels, which is all the derived quantities use, has the same
    likelihood as in OLS, with a wide prior. Sum-to-zero coding decorrelates the effects
    from ``alpha`` and mixes far better than reference coding with a small reference level.
    """
    prior = spec.prior(prior_name)
    if prior.dist != "Normal" or prior.params.get("mu", 0.0) != 0.0:
        raise SpecError(f"{spec.source}: prior '{prior_name}' must be Normal(mu=0, sigma=...) "
                        "(unpooled effects are coded sum-to-zero)")
    return pm.ZeroSumNormal(name, sigma=np.float64(prior.params["sigma"]), dims=dims)


def _monotone_curve(spec: ModelSpec, data: ModelData, x):
    """Monotone piecewise-linear f(x) (see :mod:`bayes_llm.model.curve`); returns f(x).

    Segment slopes s_k = exp(l_k), l_k ~ Normal(log_slope_mean, sigma_curve) (centred: the
    data pin most segments' slopes; non-centred mixed worse, see ``models/README.md``).
    ``beta`` is recorded as a derived quantity: the curve's slope at the centring compute
    (x = 0).
    """
    knots = pm.Data("compute_knots", data.knots, dims="compute_knot")
    mean = _prior(spec, "log_slope_mean")
    sigma = _prior(spec, "sigma_curve")
    log_slope = pm.Normal("log_compute_slope", mean, sigma, dims="compute_segment")
    slopes = pm.Deterministic("compute_slope", pt.exp(log_slope), dims="compute_segment")
    lower = pt.concatenate([[-np.inf], knots])
    upper = pt.concatenate([knots, [np.inf]])
    basis = (pt.clip(x[:, None], lower[None, :], upper[None, :])
             - pt.clip(0.0, lower, upper)[None, :])
    centre_segment = int(np.searchsorted(data.knots, 0.0, side="right"))
    pm.Deterministic("beta", slopes[centre_segment])
    return pt.sum(basis * slopes[None, :], axis=1)


def _lineage_effects(data: ModelData, sigma, nu=None, *, singles_summed_out: bool = False,
                     grid: bool = False):
    """Lineage effects l ~ Normal(0, sigma_lineage), iid; returns the ``lineage_effect`` vector.

    With ``nu`` (``lineage_distribution = "student_t"``) they are iid StudentT(nu, 0,
    sigma_lineage) instead: centred ones StudentT(nu, 0, sigma), non-centred ones sigma * z
    with z ~ StudentT(nu, 0, 1).

    Mixed parameterisation of one model: lineages with several models are centred
    (``lineage_multi_effect``: the data pin them); single-model lineages are non-centred
    (``lineage_single_z`` ~ Normal(0, 1), l = sigma * z): only the priors separate their
    lineage effect from the model's own effect. Not sum-to-zero: with hundreds of lineages
    their mean is pinned by the prior (SD sigma / sqrt(L)).

    ``singles_summed_out`` (an integrated model effect): a single-model lineage's effect
    and its model's effect are two Normals on one model, summed out together (the model's
    effect SD becomes sqrt(sigma_model^2 + sigma_lineage^2), :func:`_integrated_counts`);
    the vector then holds 0 for them and is not recorded: ``add_eta_draws`` draws their
    effects after sampling and records ``lineage_effect``. ``grid`` (``lineage_grid``): the
    lineages of ``data.lineage_grid`` are summed out of the likelihood
    (:func:`_integrated_counts`); the vector holds 0 for them and is not recorded either.
    """
    n = len(data.coords["lineage"])
    multi, single = data.lineage_multi, data.lineage_single
    effect = pt.zeros(n)
    if multi.size:
        centred = (pm.Normal("lineage_multi_effect", 0.0, sigma, dims="lineage_multi")
                   if nu is None else
                   pm.StudentT("lineage_multi_effect", nu=nu, mu=0.0, sigma=sigma,
                               dims="lineage_multi"))
        effect = pt.set_subtensor(effect[multi], centred)
    if singles_summed_out:
        return effect
    if single.size:
        z = (pm.Normal("lineage_single_z", 0.0, 1.0, dims="lineage_single") if nu is None
             else pm.StudentT("lineage_single_z", nu=nu, mu=0.0, sigma=1.0,
                              dims="lineage_single"))
        effect = pt.set_subtensor(effect[single], sigma * z)
    if grid:
        return effect
    return pm.Deterministic("lineage_effect", effect, dims="lineage")


def _option_terms(spec: ModelSpec, data: ModelData, developer_idx):
    """Lineage, protocol and developer-mean-compute terms of mu, and sigma_lineage.

    Returns ``(term, sigma_lineage, nu_lineage)``: ``term`` is None when all are off,
    ``sigma_lineage`` None without a lineage effect, ``nu_lineage`` None without Student-t
    lineage effects.
    """
    term = sigma = nu = None
    if spec.lineage_effect:
        idx = pm.Data("lineage_idx", data.lineage_idx, dims="model")
        sigma = _prior(spec, "sigma_lineage")
        nu = (_prior(spec, "nu_lineage") if spec.lineage_distribution == "student_t"
              else None)
        # a Laplace model effect plus a Normal lineage effect is not a Laplace, and a
        # Student-t lineage effect is not Normal: a model alone in its lineage then keeps
        # its lineage effect sampled (non-centred)
        term = _lineage_effects(data, sigma, nu,
                                singles_summed_out=spec.lineage_singles_summed_out,
                                grid=spec.lineage_grid != "none")[idx]
    if spec.protocol_effect:
        off = data.off_harness
        if off.min() == 1.0:
            raise BayesLLMError(f"spec '{spec.name}': every model is scored off the leaderboard "
                                "harness (no hf_id), so protocol_effect is confounded with "
                                "alpha; drop protocol_effect")
        flag = pm.Data("off_harness", off, dims="model")
        kappa = _prior(spec, "protocol_effect") * flag
        term = kappa if term is None else term + kappa
    if spec.developer_mean_compute:
        xbar = pm.Data("developer_mean_compute", data.developer_mean_x, dims="developer")
        mundlak = _prior(spec, "mundlak_lambda") * xbar[developer_idx]
        term = mundlak if term is None else term + mundlak
    return term, sigma, nu


#: floor_mixture: starting collapse probability and model-effect SD of every chain
#: (before jitter).
COLLAPSE_START = 0.05
SIGMA_MODEL_START = 0.5
#: Clip of the observed success rate above the floor when starting eta at it: models at
#: the floor start at rate 0.1 (accuracy 0.19 on MMLU-Pro), where the collapsed
#: component, not an eta far below mu, explains them (see :func:`initial_values`).
START_CLIP = (0.1, 0.995)


def _observed_logit(data: ModelData) -> np.ndarray:
    """Each model's observed logit score above the floor, clipped to ``START_CLIP``."""
    rate = (np.asarray(data.k, float) / data.n - data.guess) / (1.0 - data.guess)
    rate = np.clip(rate, *START_CLIP)
    return np.log(rate) - np.log1p(-rate)


def initial_values(data: ModelData, spec: ModelSpec) -> dict[str, np.ndarray] | None:
    """Return starting values for the sampler (before its jitter), or None (PyMC's).

    Only ``floor_mixture`` sets any: pi = ``COLLAPSE_START``, each model's ``eta`` at
    its observed logit score above the floor but no lower than logit(0.1),
    ``sigma_model`` = ``SIGMA_MODEL_START`` and the level (``alpha``, or every period of
    a random walk) at the median of those scores. From PyMC's
    default start (pi = 0.5, eta = mu for every model) chains got stuck in a mode with
    most models "collapsed" and eta near -20; starting floor models at their observed
    logit (-5) let a chain settle where they are regular models far below mu, 300 log
    density units below the other chains (``models/README.md``). A start does not change
    the model.
    """
    if not (spec.likelihood == "binomial" and spec.floor_mixture):
        return None
    eta = _observed_logit(data)
    if spec.collapse_by_compute:  # pi = COLLAPSE_START at every compute
        start = {"collapse_intercept": np.asarray(np.log(COLLAPSE_START / (1 - COLLAPSE_START))),
                 "collapse_compute_slope": np.asarray(0.0)}
    else:
        start = {"collapse_probability": (np.full(len(data.coords["period"]), COLLAPSE_START)
                                          if spec.collapse_by_period
                                          else np.asarray(COLLAPSE_START))}
    if spec.collapse_by_lineage:  # every lineage at the population's propensity
        start["collapse_lineage_z"] = np.zeros(len(data.coords["lineage"]))
    start.update({"eta": eta, "sigma_model": np.asarray(SIGMA_MODEL_START)})
    if spec.integrate_model_effect:
        del start["eta"]  # summed out: not a variable of the model
    # the overall level at the models' median logit score (a random walk: every period)
    level = float(np.median(eta))
    if spec.period_effect == "random_walk" and len(data.coords["period"]) > 1:
        start["period_walk"] = np.full(len(data.coords["period"]), level)
    else:
        start["alpha"] = np.asarray(level)
    return start


def _collapse_component(spec: ModelSpec, data: ModelData, period_idx):
    """Priors and derived mean/concentration of the collapsed component; returns (pi, a, b).

    ``pi`` is a scalar, or each model's: its period's probability (``collapse_by_period``)
    or ``logistic(collapse_intercept + collapse_compute_slope x_i)`` of its reported
    centred log10 compute x_i (``collapse_by_compute``). With ``collapse_by_lineage`` the
    lineage's propensity ``sigma_collapse_lineage * collapse_lineage_z[l(i)]`` (non-centred,
    z ~ Normal(0, 1)) is added to each model's log odds of collapse.
    """
    if spec.collapse_by_compute:
        intercept = _prior(spec, "collapse_intercept")
        slope = _prior(spec, "collapse_compute_slope")
        logit_pi = intercept + slope * np.asarray(data.x, float)
        pi = pm.math.sigmoid(logit_pi)
    elif spec.collapse_by_period:
        pi = _prior(spec, "collapse_probability", dims="period")[period_idx]
    else:
        pi = _prior(spec, "collapse_probability")
    if spec.collapse_by_lineage:  # each lineage's propensity added to the log odds
        if not spec.collapse_by_compute:
            logit_pi = pt.log(pi) - pt.log1p(-pi)
        sd = _prior(spec, "sigma_collapse_lineage")
        z = pm.Normal("collapse_lineage_z", 0.0, 1.0, dims="lineage")
        pi = pm.math.sigmoid(logit_pi + sd * z[np.asarray(data.lineage_idx, dtype=np.int64)])
    logit_mean = _prior(spec, "collapse_logit_mean")
    log_conc = _prior(spec, "collapse_log_concentration")
    mean = pm.Deterministic("collapse_mean", data.guess + (1.0 - data.guess) * COLLAPSE_BAND
                            * pm.math.sigmoid(logit_mean))
    conc = pm.Deterministic("collapse_concentration",
                            COLLAPSE_MIN_CONCENTRATION + pt.exp(log_conc))
    return pi, mean * conc, (1.0 - mean) * conc


def _floor_mixture(spec: ModelSpec, data: ModelData, name: str, p, period_idx) -> None:
    """Observed counts from the collapse mixture (``floor_mixture``; ``models/README.md``).

    With probability ``collapse_probability`` (pi) a model is collapsed and its count is
    BetaBinomial(n, m_c kappa, (1 - m_c) kappa), with mean accuracy
    ``m_c = g + (1 - g) COLLAPSE_BAND logistic(collapse_logit_mean)`` in a band just above
    the guessing floor g and concentration ``kappa = COLLAPSE_MIN_CONCENTRATION +
    exp(collapse_log_concentration)``; otherwise it is the regular
    Binomial(n, p_i). The indicator is marginalised (``pm.Mixture``: log-sum-exp of the
    weighted component log probabilities), so NUTS samples only continuous variables.

    Chains start from :func:`initial_values` (the sampler's ``initvals``).
    """
    pi, a, b = _collapse_component(spec, data, period_idx)
    collapsed = pm.BetaBinomial.dist(n=data.n, alpha=a, beta=b, shape=(len(data.k),))
    regular = pm.Binomial.dist(n=data.n, p=p)
    weights = pt.stack([pi, 1.0 - pi], axis=-1)  # (2,) or, per model, (model, 2)
    pm.Mixture(name, w=weights, comp_dists=[collapsed, regular],
               observed=data.k, dims="model")


def _two_scale(spec: ModelSpec, sigma_model):
    """Core SD, wide SD and wide share of a ``two_scale`` model effect of total SD sigma_model.

    ``model_wide_probability`` w and ``model_wide_log_ratio`` l are sampled; the wide SD is
    r times the core's, ``r = 1 + exp(l)``, and the core's is set so that the mixture's
    SD is ``sigma_model`` (:func:`bayes_llm.model.eta_integral.two_scale_sds`).
    """
    from bayes_llm.model.eta_integral import pytensor_ops, two_scale_sds

    w = _prior(spec, "model_wide_probability")
    log_ratio = _prior(spec, "model_wide_log_ratio")
    core, wide = two_scale_sds(sigma_model, w, log_ratio, ops=pytensor_ops())
    core = pm.Deterministic("sigma_model_core", core)
    wide = pm.Deterministic("sigma_model_wide", wide)
    return core, wide, w


class _GridTerms:
    """What the likelihood needs to sum the ``lineage_grid`` lineages' effects out.

    ``layout``: :class:`bayes_llm.model.lineage_grid.GridLayout` of ``data.lineage_grid``;
    ``sigma`` and ``nu``: the lineage law's scale and (Student-t) degrees of freedom
    tensors (``nu`` None for a Normal law).
    """

    def __init__(self, data: ModelData, sigma, nu):
        from bayes_llm.model.lineage_grid import GridLayout

        self.layout = GridLayout.build(data.lineage_idx, data.lineage_grid,
                                       np.asarray(data.k, float) / np.asarray(data.n, float),
                                       float(data.guess))
        self.params = [sigma] if nu is None else [sigma, nu]


def _subset(t, idx):
    """``t`` at the models ``idx``.

    A scalar, or a length-1 vector (CustomDist passes scalar parameters so), stays as it is.
    """
    if t.ndim == 0 or t.type.broadcastable[0]:
        return t
    return t[idx]


def _integrated_counts(spec: ModelSpec, data: ModelData, name: str, mu, sigma_model,
                       period_idx, wide: tuple = (), *, laplace: bool = False,
                       grid: _GridTerms | None = None) -> None:
    """Observed counts with the model effect summed out (``integrate_model_effect``).

    Each count's density is the marginal ∫ Binomial(k | n, g + (1 - g) logistic(e))
    Normal(e | mu_i, sigma_model) de by adaptive Gauss–Hermite quadrature
    (:mod:`bayes_llm.model.eta_integral`); with ``wide = (sigma_wide, w)``
    (``model_effect = "two_scale"``; ``sigma_model`` is then the core SD) the effect is
    the mixture (1 - w) Normal(mu_i, sigma_model) + w Normal(mu_i, sigma_wide), one
    quadrature per component; with ``laplace`` (``model_effect = "laplace"``;
    ``sigma_model`` is then the Laplace law's scale b, SD b sqrt 2) it is Laplace(mu_i, b),
    integrated by :func:`bayes_llm.model.laplace_integral.laplace_log_marginal`. With
    ``floor_mixture`` it is mixed with the
    collapsed component as in :func:`_floor_mixture`. With ``grid`` (``lineage_grid``) the
    models of the summed-out lineages (``mu`` without their lineage effect) have their
    lineage's effect summed out as well (:mod:`bayes_llm.model.lineage_grid`): the
    lineage's log marginal is recorded at its first model and 0 at the others, so the
    total is the model's log density (pointwise values of those models are replaced after
    sampling, :func:`bayes_llm.model.eta_integral.add_eta_draws`). The random draws (prior
    and posterior predictive) draw a fresh eta (and a fresh effect for a summed-out
    lineage), i.e. they replicate new models.
    """
    from bayes_llm.model.eta_integral import pytensor_log_marginal

    n = np.broadcast_to(np.asarray(data.n, float), np.shape(data.k)).copy()
    g = float(data.guess)

    def regular(value, n, mu, sigma, *wide):
        if laplace:
            from bayes_llm.model.eta_integral import pytensor_ops
            from bayes_llm.model.laplace_integral import laplace_log_marginal

            return laplace_log_marginal(value, n, g, mu, pt.broadcast_to(sigma, mu.shape),
                                        ops=pytensor_ops())
        if not wide:
            return pytensor_log_marginal(value, n, g, mu, sigma)
        # both components in one quadrature over a (2, model) array: the same graph as
        # one component (two separate ones took numba minutes longer to compile)
        sigma_wide, w = wide
        both = pytensor_log_marginal(
            value, n, g, pt.stack([mu, mu]),
            pt.stack([pt.broadcast_to(sigma, mu.shape), pt.broadcast_to(sigma_wide, mu.shape)]))
        return pt.logaddexp(pt.log1p(-w) + both[0], pt.log(w) + both[1])

    def per_model(value, n, mu, sigma, collapse, wide):
        """Each count's log density given mu (any shape ``value`` and ``n`` broadcast to)."""
        reg = regular(value, n, mu, sigma, *wide)
        if not collapse:
            return reg
        pi, a, b = collapse
        collapsed = pm.logp(pm.BetaBinomial.dist(n=n, alpha=a, beta=b), value)
        return pt.logaddexp(pt.log(pi) + collapsed, pt.log1p(-pi) + reg)

    collapse = list(_collapse_component(spec, data, period_idx)) if spec.floor_mixture else []
    grid_params = grid.params if grid is not None else []
    n_collapse, n_grid = len(collapse), len(grid_params)

    def unpack(params):
        mu, sigma, rest = params[0], params[1], params[2:]
        return (mu, sigma, rest[:n_collapse], rest[n_collapse:n_collapse + n_grid],
                rest[n_collapse + n_grid:])

    def logp(value, *params):
        mu, sigma, coll, law, wide = unpack(params)
        if grid is None:
            return per_model(value, n, mu, sigma, coll, wide)
        return _grid_log_density(grid, value, n, mu, sigma, coll, law, wide, per_model)

    def draw_regular(mu, sigma, rng, size, *wide):
        if wide:
            shape = size if size is not None else np.broadcast(mu, sigma, wide[0]).shape
            sigma = np.where(rng.uniform(size=shape) < wide[1], wide[0], sigma)
        eta = (rng.laplace(mu, sigma, size=size) if laplace
               else rng.normal(mu, sigma, size=size))
        return g + (1.0 - g) / (1.0 + np.exp(-eta))

    def random(*params, rng=None, size=None):
        mu, sigma, coll, law, wide = unpack(params)
        if grid is not None:  # a fresh effect for each summed-out lineage
            mu = np.array(mu, float, copy=True)
            lay = grid.layout
            fresh = (rng.standard_normal(len(lay.lineages)) if len(law) == 1
                     else rng.standard_t(law[1], len(lay.lineages)))
            mu[..., lay.models] += law[0] * fresh[lay.position]
        p = draw_regular(mu, sigma, rng, size, *wide)
        if coll:
            pi, a, b = coll
            q = rng.beta(a, b, size=p.shape)
            p = np.where(rng.uniform(size=p.shape) < pi, q, p)
        return rng.binomial(n.astype(np.int64), p)

    pm.CustomDist(name, mu, sigma_model, *collapse, *grid_params, *wide, logp=logp,
                  random=random, observed=data.k, dims="model")


def _grid_log_density(grid: _GridTerms, value, n, mu, sigma, coll, law, wide, per_model):
    """Per-model log densities with the ``lineage_grid`` lineages' effects summed out.

    The other models' log densities as usual; for each summed-out lineage the log of
    sum_g w_g law(u_g) prod_i L_i(mu_i + u_g) plus the tails beyond the grid, and for a
    lineage with regular models the grid's part times 1 - phi plus its window's part
    (:mod:`bayes_llm.model.lineage_grid`), recorded at the lineage's first model, 0 at its
    other models. Every count's density (the other models' at mu, the summed-out models'
    at mu + u_g for every node, the windowed models' at every window node) is one call of
    ``per_model`` on one long vector, so the quadrature's graph is built (and compiled)
    once.
    """
    from bayes_llm.model import lineage_grid as lg
    from bayes_llm.model.eta_integral import pytensor_ops

    lay = grid.layout
    win = lay.windows
    nodes, log_w = lg.grid_nodes()
    if not lay.lineages.size:
        return per_model(value, n, mu, sigma, coll, wide)
    ops, law_ops = lg.pytensor_window_ops(), pytensor_ops()
    nu = law[1] if len(law) > 1 else None
    # rows: the other models once, each summed-out model once per node, then each windowed
    # model once per node of its window
    rows = [lay.others, np.repeat(lay.models, len(nodes))]
    shift = [pt.zeros(len(lay.others)), pt.as_tensor(np.tile(nodes, len(lay.models)))]
    if win.lineages.size:
        lo, hi = lg.window_bounds(mu[lay.models], win, ops=ops)
        points, window_log_w = lg.window_nodes(lo, hi, ops=ops)
        rows.append(np.repeat(lay.models[win.models], lg.WINDOW_NODES))
        shift.append(points[win.position].flatten())
    rows = np.concatenate(rows)
    every = per_model(value[rows], n[rows], mu[rows] + pt.concatenate(shift),
                      _subset(sigma, rows), [_subset(c, rows) for c in coll],
                      [_subset(w, rows) for w in wide])
    out = pt.zeros_like(mu)
    if lay.others.size:
        out = pt.set_subtensor(out[lay.others], every[:len(lay.others)])
    start, stop = len(lay.others), len(lay.others) + len(lay.models) * len(nodes)
    node_loglik = every[start:stop].reshape((len(lay.models), len(nodes)))
    law_nodes = lg.log_law(pt.as_tensor(nodes), law[0], nu, ops=law_ops) + log_w
    loglik = pt.dot(pt.as_tensor(lay.membership), node_loglik)
    coarse = loglik + law_nodes[None, :]
    if win.lineages.size:
        coarse = pt.inc_subtensor(coarse[win.lineages], lg.log_window_complement(
            pt.as_tensor(nodes)[None, :], lo[:, None], hi[:, None], ops=ops))
    below, above = lg.pytensor_law_log_tails(law[0], nu)
    pieces = pt.concatenate([coarse, (loglik[:, 0] + below)[:, None],
                             (loglik[:, -1] + above)[:, None]], axis=1)
    marginal = pt.logsumexp(pieces, axis=-1)
    if win.lineages.size:
        window_loglik = pt.dot(pt.as_tensor(win.membership),
                               every[stop:].reshape((len(win.models), lg.WINDOW_NODES)))
        window = (window_loglik + lg.log_law(points, law[0], nu, ops=law_ops)
                  + window_log_w + lg.log_window(points, lo[:, None], hi[:, None], ops=ops))
        marginal = pt.set_subtensor(marginal[win.lineages], pt.logaddexp(
            marginal[win.lineages], pt.logsumexp(window, axis=-1)))
    return pt.set_subtensor(out[lay.first], marginal)


def model_coords(data: ModelData, spec: ModelSpec) -> dict[str, list[str]]:
    """Coordinates of the PyMC model (including contrast dims where used)."""
    return dict(data.coords)


def build_model(data: ModelData, spec: ModelSpec) -> pm.Model:
    """Create the PyMC model for ``spec`` on ``data``.

    Parameters
    ----------
    data : ModelData
        From :func:`bayes_llm.model.design.prepare_data`.
    spec : ModelSpec
        The model specification.

    Returns
    -------
    pymc.Model
        Free variables: ``alpha``, ``beta``, period and developer effects and their scales,
        ``eta`` (binomial: each model's latent logit ability), optional extensions.
        Constant data: ``log10_flop_centred``, ``period_idx``, ``developer_idx``.
    """
    with pm.Model(coords=model_coords(data, spec)) as model:
        x_obs = pm.Data("log10_flop_centred", data.x, dims="model")
        period_idx = pm.Data("period_idx", data.period_idx, dims="model")
        developer_idx = pm.Data("developer_idx", data.developer_idx, dims="model")
        n_periods = len(data.coords["period"])
        walk = spec.period_effect == "random_walk" and n_periods > 1
        alpha, gamma = _random_walk_level(spec) if walk else (_prior(spec, "alpha"), None)
        # beta first, as before the curve option existed (same variable order, same draws)
        beta = _prior(spec, "beta") if spec.compute_curve == "linear" else None
        x = x_obs
        if spec.compute_error:
            mu_x = _prior(spec, "mu_x")
            sigma_x = _prior(spec, "sigma_x")
            if spec.compute_population == "student_t":
                nu_x = _prior(spec, "nu_x")
                x = pm.StudentT("log10_flop_true", nu=nu_x, mu=mu_x, sigma=sigma_x,
                                dims="model")
            else:
                x = pm.Normal("log10_flop_true", mu_x, sigma_x, dims="model")
            pm.Normal("log10_flop_obs", x, data.compute_error_sd, observed=data.x, dims="model")
        if spec.compute_curve == "monotone":
            mu = alpha + _monotone_curve(spec, data, x)
        else:
            mu = alpha + beta * x
        if gamma is None:
            gamma = _period_effects(spec, n_periods)
        mu = mu + gamma[period_idx]
        if spec.period_trend:  # within-period progress: gamma is each period's midpoint level
            period_time = pm.Data("period_time", data.period_time, dims="model")
            mu = mu + _prior(spec, "period_trend") * period_time
        if spec.compute_period_interaction and len(data.coords["period"]) > 1:
            sigma_i = _prior(spec, "sigma_interaction")
            delta = pm.ZeroSumNormal("compute_period_slope", sigma=sigma_i, dims="period")
            mu = mu + delta[period_idx] * x
        if spec.developer != "none":
            u = _developer_effects(spec, data)
            mu = mu + u[developer_idx]
            if spec.developer_slopes:
                sigma_s = _prior(spec, "sigma_slope")
                slope = pm.Normal("developer_slope", 0.0, sigma_s, dims="developer")
                mu = mu + slope[developer_idx] * x
        extra, sigma_lineage, nu_lineage = _option_terms(spec, data, developer_idx)
        if extra is not None:
            mu = mu + extra
        name = OBSERVED_NAME[spec.likelihood]
        if spec.likelihood == "binomial":
            sigma_model = _prior(spec, "sigma_model")
            if spec.integrate_model_effect:
                from bayes_llm.model.eta_integral import ETA_MEAN

                # mu per draw, for drawing eta after sampling (add_eta_draws)
                mu = pm.Deterministic(ETA_MEAN, mu, dims="model")
                wide: tuple = ()
                if spec.model_effect == "laplace":  # sigma_model: the Laplace law's SD
                    from bayes_llm.model.laplace_integral import LAPLACE_SCALE

                    scale = pm.Deterministic(LAPLACE_SCALE, sigma_model / np.sqrt(2.0))
                    _integrated_counts(spec, data, name, mu, scale, period_idx,
                                       laplace=True)
                    return model
                if spec.model_effect == "two_scale":  # sigma_model: the mixture's SD
                    sigma_model, wide_sd, wide_probability = _two_scale(spec, sigma_model)
                    wide = (wide_sd, wide_probability)
                if spec.lineage_singles_summed_out:  # single-model lineages summed out with eta
                    single = pm.Data("single_lineage_model",
                                     data.lineage_alone.astype(float), dims="model")
                    sigma_model = pt.sqrt(sigma_model**2 + sigma_lineage**2 * single)
                    if wide:
                        wide = (pt.sqrt(wide[0]**2 + sigma_lineage**2 * single), wide[1])
                grid = (_GridTerms(data, sigma_lineage, nu_lineage)
                        if spec.lineage_grid != "none" else None)
                _integrated_counts(spec, data, name, mu, sigma_model, period_idx, wide,
                                   grid=grid)
                return model
            if spec.model_effect == "student_t":
                nu_model = _prior(spec, "nu_model")
                eta = pm.StudentT("eta", nu=nu_model, mu=mu, sigma=sigma_model, dims="model")
            else:
                eta = pm.Normal("eta", mu, sigma_model, dims="model")
            p = data.guess + (1.0 - data.guess) * pm.math.sigmoid(eta)
            if spec.floor_mixture:
                _floor_mixture(spec, data, name, p, period_idx)
            else:
                pm.Binomial(name, n=data.n, p=p, observed=data.k, dims="model")
        elif spec.likelihood == "logit_normal":
            sigma = _prior(spec, "sigma")
            pm.Normal(name, mu, sigma, observed=data.y, dims="model")
        else:
            sigma = _prior(spec, "sigma")
            nu = _prior(spec, "nu")
            pm.StudentT(name, nu=nu, mu=mu, sigma=sigma, observed=data.y, dims="model")
    return model
