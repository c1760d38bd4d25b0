"""Declarative model specifications (TOML files in ``models/``) and their validation.

A spec names every modelling choice: the outcome and sample, the likelihood, how periods
and developers enter, optional extensions, priors and sampler settings. Any effect can be
``pooled`` (a partially pooled random effect) or ``fixed`` (an unpooled effect with a wide
prior, i.e. the paper's fixed effects). See ``models/README.md`` for every key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bayes_llm.bundled import bundled_folder
from bayes_llm.data.samples import SAMPLES
from bayes_llm.errors import SpecError

LIKELIHOODS = ("binomial", "logit_normal", "student_t")
#: Single-benchmark outcomes (the paper's two, then the other leaderboard benchmarks of
#: bayes_llm.data.benchmarks) and the joint six-benchmark model.
OUTCOMES = ("mmlu_pro", "math_lvl5", "ifeval", "bbh", "gpqa", "musr", "leaderboard6")
#: Outcomes whose score is not a count of independent successes: logit-scale likelihoods
#: only (IFEval averages prompt-level and instruction-level accuracy; see
#: bayes_llm.data.benchmarks.NOT_COUNTS, which a test keeps equal to this).
NOT_COUNT_OUTCOMES = ("ifeval",)
PERIODS = ("cohort", "quarter", "month")
PERIOD_EFFECTS = ("exchangeable", "random_walk", "fixed")
DEVELOPER_LEVELS = ("developer", "group", "nested", "none")
DEVELOPER_EFFECTS = ("pooled", "fixed")
PARAMETERISATIONS = ("centred", "non_centred", "partial")
#: ``developer_parameterisation = "partial"``: developers with at least this many models
#: get centred effects, the others non-centred (models/README.md).
PARTIAL_CENTRING_MIN_MODELS = 2
#: How the shared period effects gamma ~ ZeroSumNormal(sigma_period) of the joint model are
#: sampled (models/README.md): z ~ ZeroSumNormal(sigma_period^w), gamma = sigma_period^(1 - w)
#: z, with w the centring weight of :data:`PERIOD_CENTRING_WEIGHTS` (1: gamma itself; 0:
#: non-centred; in between: partially non-centred, Papaspiliopoulos, Roberts & Skold 2007).
PERIOD_CENTRING_WEIGHTS = {"centred": 1.0, "non_centred": 0.0, "partially_non_centred": 0.5}
PERIOD_PARAMETERISATIONS = tuple(PERIOD_CENTRING_WEIGHTS)
MASS_MATRICES = ("diag", "low_rank")
MODEL_EFFECTS = ("normal", "student_t", "two_scale", "laplace")
#: Population of pooled developer effects: Normal (sum-to-zero) or Student-t (heavy tails).
DEVELOPER_DISTRIBUTIONS = ("normal", "student_t", "normal_by_kind")
#: Population of lineage effects (``lineage_effect``): Normal or Student-t (heavy tails).
LINEAGE_DISTRIBUTIONS = ("normal", "student_t")
COMPUTE_CURVES = ("linear", "monotone")
#: What defines a lineage (``lineage_effect``): the leaderboard's base-model chain or the
#: base model's fingerprint (parameters and pre-training tokens); see
#: :mod:`bayes_llm.data.lineage`.
LINEAGE_SOURCES = ("leaderboard", "fingerprint")
#: Which multi-model lineages have their effect summed out on a fixed grid instead of
#: sampled (``lineage_grid``; :mod:`bayes_llm.model.lineage_grid`): none, or those near the
#: guessing floor (a model below the floor line and a median accuracy near it), whose
#: effect's conditional posterior can have two separated peaks.
LINEAGE_GRIDS = ("none", "near_floor")
COMPUTE_POPULATIONS = ("normal", "student_t")
#: Default knots (log10 FLOP) of the monotone compute curve: one segment per decade over
#: the bulk of the 809 models (65 below 1e22, 7 above 1e25).
DEFAULT_COMPUTE_KNOTS = (22.0, 23.0, 24.0, 25.0)
#: Keys added for issue 10, with their defaults (the behaviour before they existed). A spec
#: that leaves them at their defaults serialises and hashes exactly as before.
OPTION_DEFAULTS: dict[str, Any] = {
    "model_effect": "normal",
    "developer_distribution": "normal",
    "compute_curve": "linear",
    "compute_knots": DEFAULT_COMPUTE_KNOTS,
    "lineage_effect": False,
    "lineage_source": "leaderboard",
    "lineage_distribution": "normal",
    "protocol_effect": False,
    "developer_mean_compute": False,
    "compute_population": "normal",
    "floor_mixture": False,
    "integrate_model_effect": False,
    "collapse_by_period": False,
    "collapse_by_compute": False,
    "collapse_by_lineage": False,
    "period_trend": False,
    "period_parameterisation": "centred",
    "lineage_grid": "none",
}

#: Distribution name -> required parameters (all must be positive except ``mu``).
PRIOR_FAMILIES: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"),
    "HalfNormal": ("sigma",),
    "StudentT": ("nu", "mu", "sigma"),
    "HalfStudentT": ("nu", "sigma"),
    "Exponential": ("lam",),
    "Gamma": ("alpha", "beta"),
    "Cauchy": ("alpha", "beta"),
    "HalfCauchy": ("beta",),
    "Beta": ("alpha", "beta"),
}
#: Parameters that may be negative.
SIGNED_PARAMETERS = ("mu", "alpha")
#: Priors that must live on the positive half-line (scales).
SCALE_PRIORS = ("sigma_period", "sigma_developer", "sigma_group", "sigma_model", "sigma",
                "sigma_slope", "sigma_interaction", "nu", "sigma_x", "nu_model",
                "nu_developer", "sigma_curve", "sigma_lineage", "nu_lineage", "nu_x",
                "sigma_period_benchmark", "sigma_collapse_lineage",
                "ability_loading", "ifeval_precision")
POSITIVE_FAMILIES = ("HalfNormal", "HalfStudentT", "Exponential", "Gamma", "HalfCauchy")
#: floor_mixture: the collapsed models' mean accuracy lies in the band g + (1 - g) * (0,
#: COLLAPSE_BAND) above the guessing floor g (MMLU-Pro: 0.100-0.127), and the Beta
#: concentration of their accuracy is at least COLLAPSE_MIN_CONCENTRATION (an SD of at
#: most ~0.007). With wider bounds the component turns into a broad catch-all for weak
#: models and the chains disagree (models/README.md, floor mixture).
COLLAPSE_BAND = 0.03
COLLAPSE_MIN_CONCENTRATION = 2000.0
#: Priors of probabilities: they need (and only they may have) a Beta distribution.
PROBABILITY_PRIORS = ("collapse_probability", "model_wide_probability")


@dataclass(frozen=True)
class Prior:
    """A prior: a PyMC distribution family and its parameters."""

    dist: str
    params: dict[str, float]

    def describe(self) -> str:
        """Render e.g. ``Normal(mu=0, sigma=1)``."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({inner})"


#: Default priors, each with the one-line reason recorded in the docs.
DEFAULT_PRIORS: dict[str, tuple[Prior, str]] = {
    "alpha": (Prior("Normal", {"mu": -1.0, "sigma": 1.5}),
              "logit of normalised accuracy at the centring compute; -1 is ~27% above chance, "
              "+-3 spans near-chance to near-perfect"),
    "beta": (Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
             "logit change per 10x compute; scaling studies find 0.3-1, and 2 would already "
             "be extreme"),
    "sigma_period": (Prior("HalfNormal", {"sigma": 0.5}),
                     "period effects beyond +-1.5 logits (a 20x compute equivalent) are unlikely"),
    "period_drift": (Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
                     "average change per period of a random walk; sign left open"),
    "period_fixed": (Prior("Normal", {"mu": 0.0, "sigma": 2.5}),
                     "unpooled period contrasts: wide, lets the data speak as in OLS"),
    "sigma_developer": (Prior("HalfNormal", {"sigma": 1.0}),
                        "developer effects of +-2 logits are possible but rare"),
    "sigma_group": (Prior("HalfNormal", {"sigma": 1.0}),
                    "spread of the paper's 13 group means in the nested model"),
    "developer_fixed": (Prior("Normal", {"mu": 0.0, "sigma": 2.5}),
                        "unpooled developer contrasts: wide, mirrors fixed effects"),
    "sigma_slope": (Prior("HalfNormal", {"sigma": 0.3}),
                    "developer-specific slopes differ from the common slope by ~0.3 at most"),
    "sigma_interaction": (Prior("HalfNormal", {"sigma": 0.3}),
                          "period-specific slope deviations are small relative to beta"),
    "sigma_model": (Prior("HalfNormal", {"sigma": 1.0}),
                    "model-level efficiency deviations; the OLS residual SD is ~0.95"),
    "sigma": (Prior("HalfNormal", {"sigma": 1.0}),
              "residual SD on the logit scale; the OLS residual SD is ~0.95"),
    "nu": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
           "Student-t degrees of freedom (Juarez & Steel 2010): mass on 2-50"),
    "mu_x": (Prior("Normal", {"mu": 0.0, "sigma": 2.0}),
             "mean of true centred log10 compute (errors-in-variables)"),
    "sigma_x": (Prior("HalfNormal", {"sigma": 2.0}),
                "spread of true log10 compute across models, in decades"),
    "nu_model": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
                 "degrees of freedom of a Student-t model-level effect (Juarez & Steel 2010): "
                 "mass on 2-50, heavy tails and near-Normal both allowed"),
    "nu_developer": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
                     "degrees of freedom of Student-t developer effects (Juarez & Steel "
                     "2010): mass on 2-50, a few far-out developers and near-Normal both "
                     "allowed"),
    "log_slope_mean": (Prior("Normal", {"mu": -0.7, "sigma": 1.0}),
                       "mean log segment slope of the monotone curve: median slope 0.5 logit "
                       "per decade, 94% between 0.08 and 3"),
    "sigma_curve": (Prior("HalfNormal", {"sigma": 0.5}),
                    "spread of log segment slopes: neighbouring decades' slopes differ by a "
                    "factor ~1.5 typically, 3 at most"),
    "nu_lineage": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
                   "degrees of freedom of Student-t lineage effects (Juarez & Steel 2010): "
                   "mass on 2-50, a few far-out lineages and near-Normal both allowed"),
    "sigma_lineage": (Prior("HalfNormal", {"sigma": 0.5}),
                      "fine-tunes of one base model share an offset of up to ~1 logit"),
    "protocol_effect": (Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
                 "logit offset of models scored off the leaderboard harness; +-2 logits "
                 "would be a gross protocol difference"),
    "period_trend": (Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
                     "logit change per year of release within a period; +-2 logits a year "
                     "(the odds doubling every 4 months) would be extreme"),
    "mundlak_lambda": (Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
                       "logit change per decade of a developer's mean compute, beyond each "
                       "model's own compute; on the scale of beta"),
    "sigma_period_benchmark": (Prior("HalfNormal", {"sigma": 0.3}),
                               "leaderboard6: a benchmark's period effects differ from the "
                               "shared ones by ~0.3 logits, 1 at most"),
    "ability_loading": (Prior("HalfNormal", {"sigma": 1.0}),
                        "leaderboard6: logit change on a benchmark per SD of the common "
                        "model-level ability; positive (fixes its sign), on the scale of "
                        "sigma_model"),
    "ifeval_precision": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
                         "leaderboard6: Beta precision phi of IFEval scores around their "
                         "mean; mean 20 (SD ~0.1 at a score of 0.5), 2-60 plausible"),
    "collapse_probability": (Prior("Beta", {"alpha": 1.0, "beta": 9.0}),
                             "floor_mixture: share of collapsed (broken) models scoring near "
                             "chance; mean 0.1, 94% below 0.27, mode 0: most releases work"),
    "collapse_logit_mean": (Prior("Normal", {"mu": 0.0, "sigma": 1.5}),
                            "floor_mixture: logit of the collapsed models' mean accuracy "
                            "within its band above the floor (MMLU-Pro 0.100-0.127); "
                            "median 0.1135, 94% in 0.1015-0.1255"),
    "collapse_log_concentration": (Prior("Normal", {"mu": 7.0, "sigma": 1.5}),
                                   "floor_mixture: log of the Beta concentration above its "
                                   "minimum of 2,000; concentration 94% in 2,065-20,400, an "
                                   "accuracy SD of 0.007 down to 0.002 around 0.11"),
    "collapse_intercept": (Prior("Normal", {"mu": -2.5, "sigma": 1.5}),
                           "collapse_by_compute: logit of the collapse probability at the "
                           "centring compute; median 0.076, 94% in 0.005-0.58"),
    "collapse_compute_slope": (Prior("Normal", {"mu": 0.0, "sigma": 1.5}),
                               "collapse_by_compute: change in the log odds of collapse per "
                               "decade of compute; sign left open, a 20x change in the odds "
                               "per decade (3) at two SD"),
    "sigma_collapse_lineage": (Prior("HalfNormal", {"sigma": 1.5}),
                            "collapse_by_lineage: SD of the lineages' propensities to collapse "
                            "on the log-odds scale; at 1.5 one lineage in six has 4.5x the "
                            "odds of the median one"),
    "nu_x": (Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
             "degrees of freedom of a Student-t population of true compute (Juarez & Steel "
             "2010)"),
    "model_wide_probability": (Prior("Beta", {"alpha": 2.0, "beta": 8.0}),
                               "two_scale: share of models whose deviation comes from the "
                               "wide component; mean 0.2, 94% in 0.03-0.47"),
    "model_wide_log_ratio": (Prior("Normal", {"mu": 1.0, "sigma": 0.75}),
                             "two_scale: log(r - 1), r the wide component's SD over the "
                             "core's; r median 3.7, 94% in 1.6-12"),
}


#: ``[sampler]`` keys that add a PyMC step method to NUTS (bools; false: not serialised).
CUSTOM_STEPS = ("lineage_gibbs", "multi_lineage_gibbs", "single_lineage_gibbs",
                "lineage_scale_move", "developer_scale_move", "developer_ridge_move")


@dataclass(frozen=True)
class SamplerSettings:
    """MCMC settings: draws and tuning steps per chain, chains, target acceptance, seed."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    seed: int = 20260207
    #: "diag" or "low_rank" (nutpie only): low-rank mass-matrix adaptation copes with
    #: correlated posteriors; ~5x more ESS/s on the small logit-normal models here, but
    #: slower per draw on the binomial model with one latent effect per model.
    mass_matrix: str = "diag"
    #: Gibbs updates of the near-floor lineages' effects between PyMC's NUTS transitions
    #: (:mod:`bayes_llm.model.lineage_gibbs`): the same model, a sampler that crosses the
    #: valley between their two peaks; needs the ``pymc`` backend.
    lineage_gibbs: bool = False
    #: The same Gibbs updates for every multi-model lineage's effect (those near the floor
    #: and the others: any lineage whose conditional NUTS crosses slowly).
    multi_lineage_gibbs: bool = False
    #: The same Gibbs updates for every single-model lineage's effect (Student-t lineage
    #: effects, whose single-model lineages are sampled as ``lineage_single_z``).
    single_lineage_gibbs: bool = False
    #: Random-walk moves of sigma_lineage (and nu_lineage) with every lineage effect held
    #: (:mod:`bayes_llm.model.scale_move`): the same model, the lineage law's scale and
    #: tail mixing along the centred direction too; needs the ``pymc`` backend.
    lineage_scale_move: bool = False
    #: The same move of sigma_developer with every developer effect held (non-centred
    #: developers: each developer_z rescaled); needs the ``pymc`` backend.
    developer_scale_move: bool = False
    #: sigma_developer moved with the developer z's held (every developer effect scaled)
    #: and each lineage mostly of one developer's models shifted by minus that developer's
    #: change (:class:`~bayes_llm.model.scale_move.CompensatedScaleMove`); needs the
    #: ``pymc`` backend.
    developer_ridge_move: bool = False

    @property
    def custom_steps(self) -> tuple[str, ...]:
        """The PyMC step methods asked for besides NUTS (``lineage_gibbs``, ...)."""
        return tuple(name for name in CUSTOM_STEPS if getattr(self, name))


@dataclass(frozen=True)
class ModelSpec:
    """A complete, validated model specification."""

    name: str
    description: str = ""
    outcome: str = "mmlu_pro"
    sample: str = "full"
    likelihood: str = "binomial"
    period: str = "cohort"
    period_effect: str = "exchangeable"
    developer: str = "developer"
    developer_effect: str = "pooled"
    #: "centred" (default: the data dominate each developer; sum-to-zero effects),
    #: "non_centred" (few models per unit, e.g. the paper's 13 groups with groups of 1-2
    #: models; iid effects, alpha the population location) or "partial" (the same iid
    #: effects, centred for developers with several models, non-centred for the others).
    developer_parameterisation: str = "centred"
    developer_slopes: bool = False
    compute_period_interaction: bool = False
    compute_error: bool = False
    #: SD (decades of compute) of the measurement error, for reported and estimated N, D.
    compute_error_sd_reported: float = 0.05
    compute_error_sd_estimate: float = 0.3
    #: log10 FLOP subtracted from compute so alpha is the score at this compute.
    compute_centre: float = 23.5
    #: Issue-10 options (see ``OPTION_DEFAULTS`` and ``models/README.md``).
    #: Binomial model-level effect: "normal", "student_t" (sampled eta), "two_scale" (a
    #: mixture of a core and a wide Normal of total SD sigma_model) or "laplace" (a
    #: Laplace law of SD sigma_model, log-concave with exponential tails); the last two
    #: need ``integrate_model_effect``.
    model_effect: str = "normal"
    #: Pooled developer effects: "normal" (ZeroSumNormal), "student_t" (iid
    #: StudentT(nu_developer, 0, sigma_developer); alpha is then the population location)
    #: or "normal_by_kind" (iid Normal(0, sigma_developer_kind[kind]), one scale for
    #: developers that train bases and one for those that only fine-tune others' bases;
    #: needs ``lineage_effect``).
    developer_distribution: str = "normal"
    compute_curve: str = "linear"
    compute_knots: tuple[float, ...] = DEFAULT_COMPUTE_KNOTS
    lineage_effect: bool = False
    #: ``lineage_effect`` only: "leaderboard" (the base-model chain) or "fingerprint"
    #: (parameters and the base model's pre-training tokens).
    lineage_source: str = "leaderboard"
    #: ``lineage_effect`` only: "normal" (iid Normal(0, sigma_lineage)) or "student_t" (iid
    #: StudentT(nu_lineage, 0, sigma_lineage): most lineages close to the curve, a few far).
    lineage_distribution: str = "normal"
    protocol_effect: bool = False
    developer_mean_compute: bool = False
    compute_population: str = "normal"
    #: Binomial only: a share of models is "collapsed" and scores near chance (a
    #: beta-binomial component), marginalised in the likelihood (``models/README.md``).
    floor_mixture: bool = False
    #: Binomial with a Normal model effect only: eta summed out of the likelihood by
    #: adaptive quadrature (``bayes_llm.model.eta_integral``) instead of sampled; the same
    #: model, each eta drawn from its conditional posterior after sampling.
    integrate_model_effect: bool = False
    #: floor_mixture only: one collapse probability per period (each with the
    #: ``collapse_probability`` prior) instead of one for every model.
    collapse_by_period: bool = False
    #: floor_mixture only: the log odds of collapse linear in each model's reported
    #: centred log10 compute (``collapse_intercept`` + ``collapse_compute_slope`` x).
    collapse_by_compute: bool = False
    #: floor_mixture with a lineage effect only: each lineage's propensity to collapse,
    #: ``sigma_collapse_lineage * collapse_lineage_z[l]`` with z ~ Normal(0, 1), added to the
    #: log odds of collapse of its models (collapse as a property of a base model and the
    #: recipes applied to it, shared by its fine-tunes).
    collapse_by_lineage: bool = False
    #: A linear trend in release time within each period: one slope (logits per year)
    #: shared by all periods, times each model's years from its period's calendar
    #: midpoint, so a period effect is the level at the period's midpoint. Fixed or
    #: exchangeable cohorts or quarters only (a month has no within-period time; a random
    #: walk carries the trend itself).
    period_trend: bool = False
    #: The joint model only: how its shared period effects gamma ~ ZeroSumNormal(
    #: sigma_period) are sampled, "centred" (gamma itself), "non_centred"
    #: (``period_effect_z`` ~ ZeroSumNormal(1), gamma = sigma_period z) or
    #: "partially_non_centred" (``period_effect_z`` ~ ZeroSumNormal(sigma_period^0.5), gamma =
    #: sigma_period^0.5 z); the benchmark deviations stay centred. The same prior every time.
    period_parameterisation: str = "centred"
    #: An integrated binomial model with lineage effects only: "near_floor" sums the effect
    #: of each multi-model lineage near the guessing floor out of the likelihood on a fixed
    #: grid (:mod:`bayes_llm.model.lineage_grid`) instead of sampling it, and draws it from
    #: its conditional posterior after sampling; the same model. "none": every lineage
    #: effect sampled.
    lineage_grid: str = "none"
    priors: dict[str, Prior] = field(default_factory=dict)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    source: str = ""

    def prior(self, name: str) -> Prior:
        """Return the prior for ``name``: the spec's override, else the documented default."""
        return self.priors.get(name, DEFAULT_PRIORS[name][0])

    @property
    def lineage_singles_summed_out(self) -> bool:
        """Whether single-model lineages' effects are summed out with the model effect.

        So when both are Normal, or a Normal lineage effect widens each two-scale
        component. Not with a Laplace model effect (a Laplace plus a Normal is not a
        Laplace) nor with Student-t lineage effects: those lineage effects are sampled.
        """
        return (self.lineage_effect and self.integrate_model_effect
                and self.model_effect != "laplace" and self.lineage_distribution == "normal")

    @property
    def has_model_effect(self) -> bool:
        """Whether the model-level random effect is separate from measurement noise."""
        return self.likelihood == "binomial"

    def to_dict(self) -> dict[str, Any]:
        """Return a plain dict, as written to TOML and hashed (``source`` excluded)."""
        d = asdict(self)
        d.pop("source")
        for key, default in OPTION_DEFAULTS.items():
            if d[key] == default:
                d.pop(key)  # unchanged serialisation and hash for specs without the option
            elif key == "compute_knots":
                d[key] = list(d[key])
        d["priors"] = {k: {"dist": p.dist, **p.params} for k, p in sorted(self.priors.items())}
        for name in CUSTOM_STEPS:
            if not d["sampler"][name]:
                d["sampler"].pop(name)  # unchanged hash for specs without it
        return d

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the spec (identifies a fit)."""
        payload = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def with_changes(self, **changes: Any) -> ModelSpec:
        """Return a validated copy with top-level fields changed (``sampler`` as a dict ok)."""
        data = self.to_dict()
        for key, value in changes.items():
            if key == "sampler" and isinstance(value, dict):
                data["sampler"] = {**data["sampler"], **value}
            elif key == "priors" and isinstance(value, dict):
                data["priors"] = {**data["priors"], **{
                    k: (v if isinstance(v, dict) else {"dist": v.dist, **v.params})
                    for k, v in value.items()}}
            else:
                data[key] = value
        return spec_from_dict(data, source=self.source)

    def to_toml(self) -> str:
        """Serialise to TOML text that :func:`load_spec` reads back to an equal spec."""
        return dict_to_toml(self.to_dict())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def dict_to_toml(d: dict[str, Any]) -> str:
    """Write a two-level dict (scalars, tables, tables of tables) as TOML."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for key, value in d.items():
        if not isinstance(value, dict):
            continue
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict)}
        if scalars or not value:
            lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in scalars.items())]
        for sub, table in value.items():
            if isinstance(table, dict):
                lines += ["", f"[{key}.{sub}]",
                          *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def _choice(data: dict, key: str, allowed: tuple[str, ...], default: str, where: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise SpecError(f"{where}: unknown {key} '{value}'; choose one of: {', '.join(allowed)}")
    return value


#: Largest seed + 1: NumPy and nutpie seed with an unsigned 32-bit integer.
SEED_LIMIT = 2**32
#: Upper bounds of the sampler's sizes; beyond them the draws alone would not fit in memory.
SAMPLER_LIMITS = {"draws": 100_000, "tune": 100_000, "chains": 64}
#: Values stored per draw and chain for the paper's table (809 models: model effects,
#: linear predictor, pointwise log-likelihood), used to state the memory a setting needs.
TYPICAL_VALUES_PER_DRAW = 3 * 809


def _number(value: Any, where: str, what: str) -> float | int:
    """Return ``value`` if it is a finite number, else raise :class:`SpecError`.

    Booleans are not numbers here (TOML ``true`` is not 1), and ``nan``/``inf`` (valid
    TOML floats) are refused, so no non-finite value reaches PyMC or the sampler.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}: {what} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise SpecError(f"{where}: {what} = {value} must be finite")
    return value


def _memory_gb(raw: dict[str, Any], key: str, value: int) -> float:
    """Memory (GB) the stored draws would need with ``key = value`` (others as given)."""
    sizes = {k: raw.get(k, getattr(SamplerSettings, k)) for k in ("draws", "chains")}
    sizes = {k: v if isinstance(v, int) and 0 < v <= SAMPLER_LIMITS[k] else
             getattr(SamplerSettings, k) for k, v in sizes.items()}
    sizes[key if key != "tune" else "draws"] = value
    return 8 * TYPICAL_VALUES_PER_DRAW * sizes["draws"] * sizes["chains"] / 1e9


def _check_sampler_numbers(raw: dict[str, Any], where: str) -> None:
    """Validate the numbers of a ``[sampler]`` table: types, ranges, memory bounds, seed."""
    for key in ("draws", "tune", "chains"):
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{where}: [sampler] {key} must be a positive integer, "
                            f"not {value!r}")
        if value > SAMPLER_LIMITS[key]:
            what = "the same number of draws" if key == "tune" else "the draws"
            raise SpecError(
                f"{where}: [sampler] {key} = {value} is above the limit of "
                f"{SAMPLER_LIMITS[key]}: {what} "
                f"would need about {_memory_gb(raw, key, value):,.1f} GB of memory "
                f"({8 * TYPICAL_VALUES_PER_DRAW:,} bytes per draw and chain for the paper's "
                "809 models)")
    if "seed" in raw:
        seed = raw["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
            raise SpecError(f"{where}: [sampler] seed must be an integer in [0, 2**32), "
                            f"not {seed!r}")
    ta = raw.get("target_accept", 0.9)
    if isinstance(ta, bool) or not isinstance(ta, int | float) or not 0 < ta < 1:
        raise SpecError(f"{where}: [sampler] target_accept must be in (0, 1)")
    mm = raw.get("mass_matrix", "diag")
    if not isinstance(mm, str) or mm not in MASS_MATRICES:
        raise SpecError(f"{where}: [sampler] mass_matrix must be one of "
                        f"{', '.join(MASS_MATRICES)}")


def _flag(data: dict, key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"{where}: '{key}' must be true or false, not {value!r}")
    return value


def _parse_knots(data: dict, where: str) -> tuple[float, ...]:
    raw = data.get("compute_knots", DEFAULT_COMPUTE_KNOTS)
    if not isinstance(raw, list | tuple) or not raw:
        raise SpecError(f"{where}: 'compute_knots' must be a non-empty list of log10 FLOP "
                        f"values, not {raw!r}")
    knots = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise SpecError(f"{where}: 'compute_knots' must hold finite numbers (log10 FLOP), "
                            f"not {value!r}")
        knots.append(float(value))
    if any(b <= a for a, b in zip(knots, knots[1:], strict=False)):
        raise SpecError(f"{where}: 'compute_knots' must be strictly increasing, not {knots}")
    return tuple(knots)


def _parse_options(data: dict, kwargs: dict, where: str) -> dict[str, Any]:
    """Validate the issue-10 options (model effect, curve, lineage, protocol, Mundlak, EIV)."""
    out: dict[str, Any] = {
        "model_effect": _choice(data, "model_effect", MODEL_EFFECTS, "normal", where),
        "developer_distribution": _choice(data, "developer_distribution",
                                          DEVELOPER_DISTRIBUTIONS, "normal", where),
        "compute_curve": _choice(data, "compute_curve", COMPUTE_CURVES, "linear", where),
        "compute_knots": _parse_knots(data, where),
        "compute_population": _choice(data, "compute_population", COMPUTE_POPULATIONS,
                                      "normal", where),
        "lineage_source": _choice(data, "lineage_source", LINEAGE_SOURCES, "leaderboard",
                                  where),
        "lineage_distribution": _choice(data, "lineage_distribution", LINEAGE_DISTRIBUTIONS,
                                        "normal", where),
        "period_parameterisation": _choice(data, "period_parameterisation",
                                           PERIOD_PARAMETERISATIONS, "centred", where),
        "lineage_grid": _choice(data, "lineage_grid", LINEAGE_GRIDS, "none", where),
    }
    for flag in ("lineage_effect", "protocol_effect", "developer_mean_compute",
                 "floor_mixture", "integrate_model_effect", "collapse_by_period",
                 "collapse_by_compute", "collapse_by_lineage", "period_trend"):
        out[flag] = _flag(data, flag, where)
    if out["period_trend"] and (kwargs["period"] == "month"
                                or kwargs["period_effect"] == "random_walk"):
        raise SpecError(f"{where}: period_trend = true needs period = 'cohort' or 'quarter' "
                        "and period_effect = 'fixed' or 'exchangeable', not period = "
                        f"'{kwargs['period']}' with period_effect = '{kwargs['period_effect']}' "
                        "(a month has no time within it; a random walk carries the trend)")
    if out["lineage_source"] != "leaderboard" and not out["lineage_effect"]:
        raise SpecError(f"{where}: lineage_source = '{out['lineage_source']}' is used only "
                        "with lineage_effect = true")
    if out["lineage_distribution"] != "normal" and not out["lineage_effect"]:
        raise SpecError(f"{where}: lineage_distribution = '{out['lineage_distribution']}' "
                        "is used only with lineage_effect = true")
    if out["lineage_grid"] != "none" and not _integrated_lineages(out):
        raise SpecError(f"{where}: lineage_grid = '{out['lineage_grid']}' needs "
                        "lineage_effect = true, integrate_model_effect = true and model_effect "
                        "= 'normal' or 'two_scale' (a lineage's effect is summed out of the "
                        "integrated binomial likelihood of its models)")
    if out["developer_distribution"] == "normal_by_kind" and not out["lineage_effect"]:
        raise SpecError(f"{where}: developer_distribution = 'normal_by_kind' needs "
                        "lineage_effect = true (a developer's kind comes from its models' "
                        "lineages)")
    if out["collapse_by_period"] and not out["floor_mixture"]:
        raise SpecError(f"{where}: collapse_by_period = true needs floor_mixture = true")
    if out["collapse_by_compute"] and not out["floor_mixture"]:
        raise SpecError(f"{where}: collapse_by_compute = true needs floor_mixture = true")
    if out["collapse_by_lineage"] and not (out["floor_mixture"] and out["lineage_effect"]):
        raise SpecError(f"{where}: collapse_by_lineage = true needs floor_mixture = true and "
                        "lineage_effect = true (a lineage's propensity to collapse)")
    if out["collapse_by_compute"] and out["collapse_by_period"]:
        raise SpecError(f"{where}: choose one of collapse_by_period and collapse_by_compute "
                        "(the collapse probability varies by period or with compute)")
    if out["integrate_model_effect"] and (kwargs["likelihood"] != "binomial"
                                          or out["model_effect"] == "student_t"):
        raise SpecError(f"{where}: integrate_model_effect = true needs likelihood = "
                        "'binomial' and model_effect = 'normal', 'two_scale' or 'laplace' "
                        "(the quadrature integrates a Normal model effect, a mixture of two, "
                        "or a Laplace one out of a binomial count)")
    if out["model_effect"] in ("two_scale", "laplace") and not out["integrate_model_effect"]:
        raise SpecError(f"{where}: model_effect = '{out['model_effect']}' needs "
                        "integrate_model_effect = true (the model effect is summed out of "
                        "each count by quadrature)")
    if out["floor_mixture"] and kwargs["likelihood"] != "binomial":
        raise SpecError(f"{where}: floor_mixture = true needs likelihood = 'binomial', not "
                        f"'{kwargs['likelihood']}' (the collapsed component is a "
                        "beta-binomial count)")
    if out["model_effect"] != "normal" and kwargs["likelihood"] != "binomial":
        raise SpecError(f"{where}: model_effect = '{out['model_effect']}' needs likelihood = "
                        "'binomial' (only the binomial has a model-level effect)")
    if out["developer_distribution"] != "normal" and (
            kwargs["developer"] != "developer" or kwargs["developer_effect"] != "pooled"
            or kwargs["developer_parameterisation"] != "centred"):
        raise SpecError(f"{where}: developer_distribution = "
                        f"'{out['developer_distribution']}' needs developer = 'developer', "
                        "developer_effect = 'pooled' and developer_parameterisation = "
                        "'centred'")
    if "compute_knots" in data and out["compute_curve"] != "monotone":
        raise SpecError(f"{where}: 'compute_knots' is used only with compute_curve = "
                        "'monotone'")
    if out["compute_curve"] == "monotone" and (kwargs["developer_slopes"]
                                               or kwargs["compute_period_interaction"]):
        raise SpecError(f"{where}: compute_curve = 'monotone' cannot be combined with "
                        "developer_slopes or compute_period_interaction (linear slopes only)")
    if out["compute_population"] != "normal" and not kwargs["compute_error"]:
        raise SpecError(f"{where}: compute_population = '{out['compute_population']}' needs "
                        "compute_error = true")
    if out["developer_mean_compute"] and kwargs["developer"] == "none":
        raise SpecError(f"{where}: developer_mean_compute needs a developer level (not "
                        "'none')")
    return out


def _parse_prior(name: str, raw: Any, where: str) -> Prior:
    if name not in DEFAULT_PRIORS:
        raise SpecError(f"{where}: unknown prior '{name}'; known priors: "
                        f"{', '.join(DEFAULT_PRIORS)}")
    if not isinstance(raw, dict) or "dist" not in raw:
        raise SpecError(f"{where}: prior '{name}' must be a table with 'dist' and parameters")
    raw = dict(raw)
    dist = raw.pop("dist")
    if dist not in PRIOR_FAMILIES:
        raise SpecError(f"{where}: prior '{name}' has unknown distribution '{dist}'; choose one "
                        f"of: {', '.join(PRIOR_FAMILIES)}")
    required = PRIOR_FAMILIES[dist]
    if set(raw) != set(required):
        raise SpecError(f"{where}: prior '{name}' ({dist}) needs parameters "
                        f"{', '.join(required)}; got {', '.join(raw) or 'none'}")
    params = {}
    for key in required:
        value = _number(raw[key], where, f"prior '{name}' parameter {key}")
        if key not in SIGNED_PARAMETERS and value <= 0:
            raise SpecError(f"{where}: prior '{name}' parameter {key} = {value} must be positive")
        params[key] = float(value)
    if (name in PROBABILITY_PRIORS) != (dist == "Beta"):
        what = (f"'{name}' is a probability and needs dist = 'Beta'" if name in
                PROBABILITY_PRIORS else f"'{name}' cannot have a Beta prior (only "
                f"{', '.join(PROBABILITY_PRIORS)})")
        raise SpecError(f"{where}: prior {what}")
    if name in SCALE_PRIORS and dist not in POSITIVE_FAMILIES:
        raise SpecError(f"{where}: prior '{name}' is a scale and needs a positive distribution "
                        f"({', '.join(POSITIVE_FAMILIES)}), not {dist}")
    return Prior(dist, params)


def _check_leaderboard6(kwargs: dict[str, Any], where: str) -> None:
    """Refuse structures the joint model lacks (see :mod:`bayes_llm.model.leaderboard6`)."""
    needed = {"likelihood": "binomial", "developer": "developer",
              "developer_effect": "pooled", "period_effect": "exchangeable"}
    for key, value in needed.items():
        if kwargs[key] != value:
            raise SpecError(f"{where}: outcome = 'leaderboard6' needs {key} = '{value}', "
                            f"not '{kwargs[key]}'")
    off = [k for k in ("developer_slopes", "compute_period_interaction", "compute_error",
                       "lineage_effect", "protocol_effect", "developer_mean_compute",
                       "floor_mixture", "integrate_model_effect", "collapse_by_period",
                       "collapse_by_compute", "collapse_by_lineage", "period_trend")
           if kwargs[k]]
    if kwargs["model_effect"] != "normal" or kwargs["compute_curve"] != "linear":
        off.append("model_effect/compute_curve")
    if kwargs["developer_distribution"] != "normal":
        off.append("developer_distribution")
    if off:
        raise SpecError(f"{where}: outcome = 'leaderboard6' does not support "
                        f"{', '.join(off)} (turn them off)")


KNOWN_KEYS = {f.name for f in ModelSpec.__dataclass_fields__.values()} - {"source"}


def spec_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> ModelSpec:
    """Validate a raw spec dict and build a :class:`ModelSpec`.

    Raises
    ------
    SpecError
        Naming the file and the offending key for every invalid choice.
    """
    data = copy.deepcopy(data)
    where = source
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known keys: "
                        f"{', '.join(sorted(KNOWN_KEYS))}")
    if not data.get("name"):
        raise SpecError(f"{where}: the spec needs a 'name'")
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise SpecError(f"{where}: '{key}' must be a string, not {data[key]!r}")
    kwargs: dict[str, Any] = {"name": str(data["name"]),
                              "description": str(data.get("description", ""))}
    kwargs["outcome"] = _choice(data, "outcome", OUTCOMES, "mmlu_pro", where)
    kwargs["sample"] = _choice(data, "sample", tuple(SAMPLES), "full", where)
    kwargs["likelihood"] = _choice(data, "likelihood", LIKELIHOODS, "binomial", where)
    kwargs["period"] = _choice(data, "period", PERIODS, "cohort", where)
    kwargs["period_effect"] = _choice(data, "period_effect", PERIOD_EFFECTS, "exchangeable", where)
    kwargs["developer"] = _choice(data, "developer", DEVELOPER_LEVELS, "developer", where)
    kwargs["developer_effect"] = _choice(data, "developer_effect", DEVELOPER_EFFECTS, "pooled",
                                         where)
    kwargs["developer_parameterisation"] = _choice(data, "developer_parameterisation",
                                                   PARAMETERISATIONS, "centred", where)
    for flag in ("developer_slopes", "compute_period_interaction", "compute_error"):
        value = data.get(flag, False)
        if not isinstance(value, bool):
            raise SpecError(f"{where}: '{flag}' must be true or false, not {value!r}")
        kwargs[flag] = value
    for key in ("compute_error_sd_reported", "compute_error_sd_estimate", "compute_centre"):
        if key in data:
            value = _number(data[key], where, f"'{key}'")
            if key != "compute_centre" and value <= 0:
                raise SpecError(f"{where}: '{key}' = {value} must be positive")
            kwargs[key] = float(value)
    kwargs.update(_parse_options(data, kwargs, where))
    if kwargs["developer_parameterisation"] == "partial" and kwargs["outcome"] != "leaderboard6" \
            and (kwargs["developer"], kwargs["developer_effect"]) != ("developer", "pooled"):
        raise SpecError(f"{where}: developer_parameterisation = 'partial' needs developer = "
                        "'developer' and developer_effect = 'pooled' (it samples pooled "
                        "developer effects, centred or not by their number of models)")
    if kwargs["period_parameterisation"] != "centred" and kwargs["outcome"] != "leaderboard6":
        raise SpecError(f"{where}: period_parameterisation = "
                        f"'{kwargs['period_parameterisation']}' is implemented for outcome = "
                        "'leaderboard6' only; leave it out (centred)")
    if kwargs["outcome"] == "leaderboard6":
        _check_leaderboard6(kwargs, where)
    if kwargs["outcome"] not in ("mmlu_pro", "math_lvl5", "leaderboard6") and \
            kwargs["protocol_effect"]:
        raise SpecError(f"{where}: protocol_effect needs models scored off the leaderboard "
                        f"harness; outcome = '{kwargs['outcome']}' has only leaderboard scores")
    if kwargs["outcome"] in NOT_COUNT_OUTCOMES and kwargs["likelihood"] == "binomial":
        raise SpecError(f"{where}: outcome = '{kwargs['outcome']}' is not a count of "
                        "independent successes; likelihood = 'binomial' does not apply, use "
                        "likelihood = 'logit_normal' or 'student_t'")
    if kwargs["developer_slopes"] and kwargs["developer"] == "none":
        raise SpecError(f"{where}: developer_slopes needs a developer level (not 'none')")
    if kwargs["developer"] == "nested" and kwargs["developer_effect"] == "fixed":
        raise SpecError(f"{where}: a nested developer structure is pooled by construction; "
                        "use developer_effect = 'pooled'")
    raw_priors = data.get("priors", {})
    if not isinstance(raw_priors, dict):
        raise SpecError(f"{where}: [priors] must be a table")
    kwargs["priors"] = {name: _parse_prior(name, raw, where) for name, raw in raw_priors.items()}
    raw_sampler = data.get("sampler", {})
    if not isinstance(raw_sampler, dict):
        raise SpecError(f"{where}: [sampler] must be a table")
    allowed = set(SamplerSettings.__dataclass_fields__)
    bad = set(raw_sampler) - allowed
    if bad:
        raise SpecError(f"{where}: unknown [sampler] key(s) {', '.join(sorted(bad))}; known: "
                        f"{', '.join(sorted(allowed))}")
    _check_sampler_numbers(raw_sampler, where)
    _check_custom_steps(raw_sampler, kwargs, where)
    kwargs["sampler"] = SamplerSettings(**raw_sampler)
    return ModelSpec(**kwargs, source=source)


def _integrated_lineages(options: dict[str, Any]) -> bool:
    """Whether a lineage's conditional can be integrated over its models' marginals.

    A lineage effect with the binomial likelihood's Normal or two-scale model effect summed
    out: what ``lineage_grid`` sums out and ``[sampler] lineage_gibbs`` draws.
    """
    return bool(options["lineage_effect"] and options["integrate_model_effect"]
                and options["model_effect"] in ("normal", "two_scale"))


def _sampled_integrated_lineages(spec: dict[str, Any]) -> bool:
    """Lineage effects sampled beside an integrated model effect (the Gibbs steps' case)."""
    return (_integrated_lineages(spec) and spec["lineage_grid"] == "none"
            and not spec["collapse_by_lineage"])


def _pooled_developers_of_one_outcome(spec: dict[str, Any]) -> bool:
    """Pooled developer effects of a single-outcome model (the developer moves' case)."""
    return (spec["outcome"] != "leaderboard6" and spec["developer"] == "developer"
            and spec["developer_effect"] == "pooled")


def _check_custom_steps(raw: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    """``[sampler]`` custom steps (:data:`CUSTOM_STEPS`): bools, on specs they can move."""
    for name in CUSTOM_STEPS:
        if not isinstance(raw.get(name, False), bool):
            raise SpecError(f"{where}: [sampler] {name} must be true or false, not "
                            f"{raw[name]!r}")
    for name in ("lineage_gibbs", "multi_lineage_gibbs"):
        if raw.get(name) and not _sampled_integrated_lineages(spec):
            raise SpecError(f"{where}: [sampler] {name} = true needs lineage_effect = true, "
                            "integrate_model_effect = true, model_effect = 'normal' or "
                            "'two_scale', lineage_grid = 'none' and collapse_by_lineage = "
                            "false (it draws sampled lineage effects from their conditionals "
                            "given the integrated likelihood)")
    if raw.get("single_lineage_gibbs") and not (_sampled_integrated_lineages(spec)
                                                and spec["lineage_distribution"] == "student_t"):
        raise SpecError(f"{where}: [sampler] single_lineage_gibbs = true needs lineage_effect "
                        "= true, lineage_distribution = 'student_t' (single-model lineages "
                        "are sampled only then; Normal ones are summed out with the model "
                        "effect), integrate_model_effect = true, model_effect = 'normal' or "
                        "'two_scale', lineage_grid = 'none' and collapse_by_lineage = false")
    if raw.get("lineage_scale_move") and not spec["lineage_effect"]:
        raise SpecError(f"{where}: [sampler] lineage_scale_move = true needs lineage_effect = "
                        "true (it moves sigma_lineage)")
    if raw.get("developer_scale_move") and not (
            _pooled_developers_of_one_outcome(spec)
            and spec["developer_parameterisation"] in ("non_centred", "partial")):
        raise SpecError(f"{where}: [sampler] developer_scale_move = true needs developer = "
                        "'developer', developer_effect = 'pooled' and "
                        "developer_parameterisation = 'non_centred' or 'partial' (it moves "
                        "sigma_developer with each developer_z rescaled), outcome other than "
                        "'leaderboard6'")
    if raw.get("developer_ridge_move") and not (
            _pooled_developers_of_one_outcome(spec)
            and spec["developer_distribution"] == "normal"
            and spec["developer_parameterisation"] == "non_centred"
            and spec["lineage_effect"]):
        raise SpecError(f"{where}: [sampler] developer_ridge_move = true needs developer = "
                        "'developer', developer_effect = 'pooled', developer_distribution = "
                        "'normal', developer_parameterisation = 'non_centred' and "
                        "lineage_effect = true (it moves sigma_developer with each "
                        "developer_z held and the lineages compensating), outcome other "
                        "than 'leaderboard6'")


def load_spec(path: str | os.PathLike) -> ModelSpec:
    """Read and validate a TOML model spec.

    Parameters
    ----------
    path : path
        A ``.toml`` file, or the name of a bundled spec (e.g. ``"binomial_developers"``).
    """
    path = resolve_spec_path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return spec_from_dict(data, source=str(path))


def bundled_specs_dir() -> Path:
    """Return the folder of bundled specs (``models/`` in a checkout, ``_models`` when installed)."""
    return bundled_folder("models", error=SpecError)


def resolve_spec_path(path: str | os.PathLike) -> Path:
    """Accept a file path or a bundled spec name; fail clearly when neither exists."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    bundled = bundled_specs_dir() / f"{Path(path).stem}.toml"
    if bundled.is_file():
        return bundled
    names = sorted(p.stem for p in bundled_specs_dir().glob("*.toml"))
    raise SpecError(f"{path}: no such spec file; bundled specs: {', '.join(names)}")


def available_specs() -> list[str]:
    """Names of the bundled model specs."""
    return sorted(p.stem for p in bundled_specs_dir().glob("*.toml"))


__all__ = ["DEFAULT_PRIORS", "ModelSpec", "Prior", "SamplerSettings", "available_specs",
           "load_spec", "replace", "spec_from_dict"]
