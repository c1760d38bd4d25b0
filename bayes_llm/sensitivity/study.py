"""Sensitivity studies: a base model spec plus named variations along axes (``studies/*.toml``).

A study file names a base spec and, for each *axis* (priors, likelihood, developer
structure, period granularity, sample, outcome, compute error, interaction, headline
options, ...), a set of named *levels*. Each level is a table of changes to the base spec.
The study expands to a list of :class:`Variant` objects, each a validated
:class:`~bayes_llm.model.spec.ModelSpec` made with ``base.with_changes(...)``:

* ``design = "one_at_a_time"`` (default): the base plus one variant per level, each
  changing a single axis;
* ``design = "grid"``: every combination of levels (each axis also has its base level).

Example::

    name = "default"
    base = "binomial_developers"        # a bundled spec name or a path (relative to this file)
    design = "one_at_a_time"

    [sampler]                           # overrides for every variant
    draws = 500

    [axes.priors.wide]
    scale_priors = 2.0                  # every scale prior the variant uses, x2
    [axes.likelihood.student_t]
    likelihood = "student_t"
    [axes.period.quarter_rw]
    period = "quarter"
    period_effect = "random_walk"
    [axes.headline.frontier_top10]
    headline = { frontier = "top10" }   # passed to the headline computation

A level may hold any spec key (``likelihood``, ``sample``, ``developer``, ``priors``,
``sampler``, ...) plus these study keys. A level's ``sampler`` takes ``draws``, ``tune``,
``chains``, ``target_accept``, ``seed`` and the custom steps (``lineage_gibbs``,
``multi_lineage_gibbs``, ``single_lineage_gibbs``, ``lineage_scale_move``, ``developer_scale_move``,
``developer_ridge_move``: the same model, another sampler); each
variant is sampled with its own backend (``pymc`` where it has a custom step) unless the
command names one.

``label``
    A human description of the level.
``scale_priors``
    Multiply the scale of priors by this factor (``2.0`` wider, ``0.5`` narrower): the
    ``sigma`` of Normal/HalfNormal/StudentT/HalfStudentT, ``beta`` of Cauchy/HalfCauchy,
    ``1/lam`` of Exponential and ``1/beta`` of Gamma. By default every scale prior
    (``sigma_*``) the variant's model uses; ``scale_which = [...]`` picks others (e.g.
    ``["alpha", "beta"]``).
``prior_family``
    Swap the family of every scale prior the model uses (or ``scale_which``), keeping
    its scale: ``"HalfStudentT"`` (``nu`` from ``prior_family_nu``, default 3),
    ``"HalfCauchy"``, ``"Exponential"`` (``lam = 1 / scale``) or ``"HalfNormal"``.
``headline``
    A table of options passed through to the headline computation (e.g. a frontier
    definition or a reference model), when :mod:`bayes_llm.derived` accepts them.

Every error names the study file and the offending key.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_llm.bundled import bundled_folder
from bayes_llm.errors import SpecError
from bayes_llm.model.spec import (
    CUSTOM_STEPS,
    DEFAULT_PRIORS,
    KNOWN_KEYS,
    PRIOR_FAMILIES,
    SCALE_PRIORS,
    ModelSpec,
    Prior,
    load_spec,
    resolve_spec_path,
)

DESIGNS = ("one_at_a_time", "grid")
#: Keys of a level table that are not spec keys.
STUDY_LEVEL_KEYS = ("label", "scale_priors", "scale_which", "prior_family", "prior_family_nu",
                    "headline")
#: Spec keys a level must not change (the study names its variants itself).
FORBIDDEN_LEVEL_KEYS = ("name", "description")
#: Top-level keys of a study file.
STUDY_KEYS = ("name", "description", "base", "design", "include_base", "seed", "sampler",
              "headline", "crossval", "axes", "max_variants")
CROSSVAL_KEYS = ("method", "folds", "variants", "seed")
CROSSVAL_METHODS = ("auto", "loo", "kfold", "none")
#: Name of the variant with no changes.
BASE_VARIANT = "base"
#: Families a scale prior can be switched to by ``prior_family``.
SWAP_FAMILIES = ("HalfNormal", "HalfStudentT", "HalfCauchy", "Exponential")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]*$")
#: Default cap on the number of variants a grid may expand to.
DEFAULT_MAX_VARIANTS = 200

#: Which prior of the spec each model component uses (see bayes_llm.model.build).
_PERIOD_PRIORS = {"exchangeable": ("sigma_period",), "fixed": ("period_fixed",),
                  "random_walk": ("sigma_period", "period_drift")}
_LIKELIHOOD_PRIORS = {"binomial": ("sigma_model",), "logit_normal": ("sigma",),
                      "student_t": ("sigma", "nu")}


def used_priors(spec: ModelSpec) -> list[str]:
    """Names of the priors (keys of :data:`DEFAULT_PRIORS`) that ``spec``'s model uses.

    Parameters
    ----------
    spec : ModelSpec
        A model specification.

    Returns
    -------
    list of str
        In the order of :data:`DEFAULT_PRIORS`.
    """
    used = {"alpha", *(("beta",) if spec.compute_curve == "linear" else ()),
            *_PERIOD_PRIORS[spec.period_effect],
            *_LIKELIHOOD_PRIORS[spec.likelihood]}
    if spec.developer == "nested":
        used |= {"sigma_group", "sigma_developer"}
    elif spec.developer != "none":
        used.add("sigma_developer" if spec.developer_effect == "pooled" else "developer_fixed")
    if spec.developer_slopes:
        used.add("sigma_slope")
    if spec.compute_period_interaction:
        used.add("sigma_interaction")
    if spec.compute_error:
        used |= {"mu_x", "sigma_x"}
    used |= _option_priors(spec)
    return [name for name in DEFAULT_PRIORS if name in used]


def _option_priors(spec: ModelSpec) -> set[str]:
    """Priors of the issue-10 options (the monotone curve replaces beta's prior)."""
    used = set()
    if spec.model_effect == "student_t":
        used.add("nu_model")
    if spec.model_effect == "two_scale":
        used |= {"model_wide_probability", "model_wide_log_ratio"}
    if spec.developer_distribution == "student_t":
        used.add("nu_developer")
    if spec.compute_curve == "monotone":
        used |= {"log_slope_mean", "sigma_curve"}
    if spec.lineage_effect:
        used.add("sigma_lineage")
        if spec.lineage_distribution == "student_t":
            used.add("nu_lineage")
    if spec.protocol_effect:
        used.add("protocol_effect")
    if spec.period_trend:
        used.add("period_trend")
    if spec.developer_mean_compute:
        used.add("mundlak_lambda")
    if spec.compute_error and spec.compute_population == "student_t":
        used.add("nu_x")
    if spec.floor_mixture:
        used |= {"collapse_logit_mean", "collapse_log_concentration"}
        used |= ({"collapse_intercept", "collapse_compute_slope"} if spec.collapse_by_compute
                 else {"collapse_probability"})
        if spec.collapse_by_lineage:
            used.add("sigma_collapse_lineage")
    return used


def default_scale_priors(spec: ModelSpec) -> list[str]:
    """Return the scale priors (``sigma_*``, ``sigma``) that ``spec`` uses; ``nu`` excluded."""
    return [p for p in used_priors(spec) if p in SCALE_PRIORS and p.startswith("sigma")]


def scale_prior(prior: Prior, factor: float) -> Prior:
    """Return ``prior`` with its scale multiplied by ``factor`` (location unchanged).

    Parameters
    ----------
    prior : Prior
        Any supported family.
    factor : float
        Positive scale factor.
    """
    params = dict(prior.params)
    if prior.dist in ("Normal", "HalfNormal", "StudentT", "HalfStudentT"):
        params["sigma"] *= factor
    elif prior.dist in ("Cauchy", "HalfCauchy"):
        params["beta"] *= factor
    elif prior.dist == "Exponential":
        params["lam"] /= factor
    elif prior.dist == "Gamma":
        params["beta"] /= factor
    else:  # pragma: no cover - PRIOR_FAMILIES is closed
        raise SpecError(f"cannot scale a {prior.dist} prior")
    return Prior(prior.dist, params)


def prior_scale(prior: Prior) -> float:
    """Return the scale of a prior as :func:`scale_prior` sees it (``sigma``, ``1/lam``, ...)."""
    p = prior.params
    if prior.dist in ("Normal", "HalfNormal", "StudentT", "HalfStudentT"):
        return p["sigma"]
    if prior.dist in ("Cauchy", "HalfCauchy"):
        return p["beta"]
    if prior.dist == "Exponential":
        return 1.0 / p["lam"]
    return p["alpha"] / p["beta"]  # Gamma: its mean


def swap_family(prior: Prior, family: str, *, nu: float = 3.0) -> Prior:
    """Return a positive prior of ``family`` with the scale of ``prior``."""
    s = prior_scale(prior)
    if family == "HalfNormal":
        return Prior("HalfNormal", {"sigma": s})
    if family == "HalfStudentT":
        return Prior("HalfStudentT", {"nu": float(nu), "sigma": s})
    if family == "HalfCauchy":
        return Prior("HalfCauchy", {"beta": s})
    if family == "Exponential":
        return Prior("Exponential", {"lam": 1.0 / s})
    raise SpecError(f"cannot swap to prior family '{family}'; choose one of: "
                    f"{', '.join(SWAP_FAMILIES)}")


@dataclass(frozen=True)
class Level:
    """One named level of an axis: changes to the base spec and headline options."""

    axis: str
    name: str
    changes: dict[str, Any]
    label: str = ""
    scale_priors: float | None = None
    scale_which: tuple[str, ...] | None = None
    prior_family: str | None = None
    prior_family_nu: float = 3.0
    headline: dict[str, Any] = field(default_factory=dict)

    def apply(self, spec: ModelSpec) -> ModelSpec:
        """Apply this level's spec changes, then its prior transformations, to ``spec``."""
        if self.changes:
            spec = spec.with_changes(**copy.deepcopy(self.changes))
        if self.scale_priors is None and self.prior_family is None:
            return spec
        names = list(self.scale_which) if self.scale_which else default_scale_priors(spec)
        new = {}
        for name in names:
            prior = spec.prior(name)
            if self.prior_family is not None:
                prior = swap_family(prior, self.prior_family, nu=self.prior_family_nu)
            if self.scale_priors is not None:
                prior = scale_prior(prior, self.scale_priors)
            new[name] = prior
        return spec.with_changes(priors=new)


@dataclass(frozen=True)
class Variant:
    """One model of a study: its name, the axis levels it sets, its spec and options.

    Attributes
    ----------
    name : str
        ``base``, ``<axis>-<level>`` (one at a time) or levels joined by ``__`` (grid).
    levels : dict
        Axis -> level name for every axis this variant changes.
    spec : ModelSpec
        The complete spec, with the variant's fixed seed.
    headline : dict
        Options for the headline computation.
    label : str
        Human description.
    """

    name: str
    levels: dict[str, str]
    spec: ModelSpec
    headline: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def axis(self) -> str:
        """Return the axis changed (``base`` for the base, axes joined by ``+`` in a grid)."""
        return "+".join(self.levels) if self.levels else BASE_VARIANT

    @property
    def level(self) -> str:
        """Return the levels this variant sets (``base`` for the base variant)."""
        return "+".join(self.levels.values()) if self.levels else BASE_VARIANT

    def headline_key(self) -> str:
        """Return a short hash of the headline options (part of the headline cache key)."""
        payload = json.dumps(self.headline, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CrossValSettings:
    """How the study cross-validates: method, folds, which variants, seed."""

    method: str = "auto"
    folds: int = 5
    variants: tuple[str, ...] | None = None
    seed: int = 20260207


@dataclass(frozen=True)
class Study:
    """A parsed, validated sensitivity study.

    Attributes
    ----------
    name, description : str
        From the file.
    base : ModelSpec
        The base spec (with the study's sampler overrides applied).
    design : {"one_at_a_time", "grid"}
        How levels are combined.
    axes : dict
        Axis name -> list of :class:`Level`.
    sampler : dict
        Sampler overrides applied to every variant.
    headline : dict
        Headline options shared by every variant (a level's ``headline`` adds to them).
    seed : int
        The study seed from which each variant's fixed seed is derived.
    crossval : CrossValSettings
        Cross-validation settings.
    source : str
        The study file.
    """

    name: str
    base: ModelSpec
    axes: dict[str, list[Level]]
    description: str = ""
    design: str = "one_at_a_time"
    include_base: bool = True
    sampler: dict[str, Any] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    seed: int = 20260207
    crossval: CrossValSettings = field(default_factory=CrossValSettings)
    max_variants: int = DEFAULT_MAX_VARIANTS
    source: str = "<dict>"

    def variants(self, *, sampler: dict[str, Any] | None = None) -> list[Variant]:
        """Expand the study to its variants.

        Parameters
        ----------
        sampler : dict, optional
            Extra sampler overrides (e.g. ``draws`` from the command line); ``seed`` is
            always replaced by each variant's fixed seed.

        Returns
        -------
        list of Variant
            The base first (when included), then the levels in file order.
        """
        return expand(self, sampler=sampler)


def model_hash(spec: ModelSpec) -> str:
    """SHA-256 of everything in ``spec`` that affects a fit (its name and description excluded).

    Two specs that differ only by name describe the same model and share one cached fit,
    so renaming a study or a variant refits nothing.
    """
    d = spec.to_dict()
    d.pop("name")
    d.pop("description")
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def variant_seed(spec: ModelSpec, study_seed: int) -> int:
    """Return a fixed seed for a variant from the study seed and the unseeded model.

    Two variants with identical models get the same seed (and share one cached fit);
    the seed never depends on the names, the order or the machine the variants run on.
    """
    unseeded = model_hash(spec.with_changes(sampler={"seed": 0}))
    digest = hashlib.sha256(f"{study_seed}:{unseeded}".encode()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1)


def _finish(study: Study, name: str, levels: list[Level], extra_sampler: dict) -> Variant:
    where = f"{study.source}: variant '{name}'"
    spec = study.base
    headline = dict(study.headline)
    try:
        for level in levels:
            spec = level.apply(spec)
            headline.update(level.headline)
        sampler = {**study.sampler, **extra_sampler}
        if sampler:
            spec = spec.with_changes(sampler=sampler)
        spec = spec.with_changes(name=f"{study.name}.{name}",
                                 description=f"study '{study.name}', variant '{name}' of base "
                                             f"'{study.base.name}'")
        spec = spec.with_changes(sampler={"seed": variant_seed(spec, study.seed)})
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from exc
    label = "; ".join(lv.label or f"{lv.axis} = {lv.name}" for lv in levels) or "base spec"
    return Variant(name=name, levels={lv.axis: lv.name for lv in levels}, spec=spec,
                   headline=headline, label=label)


def expand(study: Study, *, sampler: dict[str, Any] | None = None) -> list[Variant]:
    """Expand ``study`` into its variants (see :meth:`Study.variants`).

    Raises
    ------
    SpecError
        A level, or in a grid a combination of levels, gives an invalid spec; or the
        grid is larger than ``max_variants``.
    """
    extra = dict(sampler or {})
    extra.pop("seed", None)
    variants: list[Variant] = []
    if study.design == "grid":
        axes = list(study.axes)
        size = 1
        for levels in study.axes.values():
            size *= len(levels) + 1
        if size > study.max_variants:
            raise SpecError(f"{study.source}: the grid has {size} variants, more than "
                            f"max_variants = {study.max_variants}; use design = "
                            "'one_at_a_time' or raise max_variants")
        for combo in itertools.product(*([None, *study.axes[a]] for a in axes)):
            chosen = [lv for lv in combo if lv is not None]
            if not chosen and not study.include_base:
                continue
            name = "__".join(f"{lv.axis}-{lv.name}" for lv in chosen) or BASE_VARIANT
            variants.append(_finish(study, name, chosen, extra))
    else:
        if study.include_base:
            variants.append(_finish(study, BASE_VARIANT, [], extra))
        for axis, levels in study.axes.items():
            for level in levels:
                variants.append(_finish(study, f"{axis}-{level.name}", [level], extra))
    return variants


# --------------------------------------------------------------------------- parsing
def _check_name(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise SpecError(f"{where}: {what} {value!r} must be letters, digits, '_' or '.' "
                        "('-' joins axis and level in variant names; names become file names)")
    return value


def _parse_sampler(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be a table")
    allowed = ("draws", "tune", "chains", "target_accept", "seed", *CUSTOM_STEPS)
    bad = sorted(set(raw) - set(allowed))
    if bad:
        raise SpecError(f"{where}: unknown key(s) {', '.join(bad)}; known: {', '.join(allowed)}")
    for key in CUSTOM_STEPS:  # the same model, another sampler: checked by the spec too
        if key in raw and not isinstance(raw[key], bool):
            raise SpecError(f"{where}.{key}: must be true or false, not {raw[key]!r}")
    for key in ("draws", "tune", "chains"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int)
                           or raw[key] < 1):
            raise SpecError(f"{where}.{key}: must be a positive integer, not {raw[key]!r}")
    if "target_accept" in raw:
        ta = raw["target_accept"]
        if isinstance(ta, bool) or not isinstance(ta, int | float) or not 0 < ta < 1:
            raise SpecError(f"{where}.target_accept: must be in (0, 1), not {ta!r}")
    return dict(raw)


def _parse_level(axis: str, name: str, raw: Any, source: str) -> Level:
    where = f"{source}: axes.{axis}.{name}"
    _check_name(name, f"{source}: axes.{axis}", "level name")
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be a table of changes (e.g. likelihood = \"student_t\")")
    raw = copy.deepcopy(raw)
    bad = sorted(set(raw) - (KNOWN_KEYS | set(STUDY_LEVEL_KEYS)) | (set(raw) & set(
        FORBIDDEN_LEVEL_KEYS)))
    if bad:
        allowed = sorted((KNOWN_KEYS - set(FORBIDDEN_LEVEL_KEYS)) | set(STUDY_LEVEL_KEYS))
        raise SpecError(f"{where}: unknown or forbidden key(s) {', '.join(bad)}; allowed: "
                        f"{', '.join(allowed)}")
    label = raw.pop("label", "")
    if not isinstance(label, str):
        raise SpecError(f"{where}.label: must be a string")
    scale = raw.pop("scale_priors", None)
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)
                              or scale <= 0):
        raise SpecError(f"{where}.scale_priors: must be a positive number, not {scale!r}")
    which = raw.pop("scale_which", None)
    if which is not None:
        if not isinstance(which, list) or not all(isinstance(w, str) for w in which):
            raise SpecError(f"{where}.scale_which: must be a list of prior names")
        unknown = [w for w in which if w not in DEFAULT_PRIORS]
        if unknown:
            raise SpecError(f"{where}.scale_which: unknown prior(s) {', '.join(unknown)}; "
                            f"known: {', '.join(DEFAULT_PRIORS)}")
    family = raw.pop("prior_family", None)
    if family is not None and family not in SWAP_FAMILIES:
        raise SpecError(f"{where}.prior_family: unknown family {family!r}; choose one of: "
                        f"{', '.join(SWAP_FAMILIES)}")
    nu = raw.pop("prior_family_nu", 3.0)
    if isinstance(nu, bool) or not isinstance(nu, int | float) or nu <= 0:
        raise SpecError(f"{where}.prior_family_nu: must be a positive number, not {nu!r}")
    if family is not None and which:
        not_scale = [w for w in which if w not in SCALE_PRIORS]
        if not_scale:
            raise SpecError(f"{where}.scale_which: prior_family swaps scale priors only; "
                            f"{', '.join(not_scale)} is not a scale prior")
    headline = raw.pop("headline", {})
    if not isinstance(headline, dict):
        raise SpecError(f"{where}.headline: must be a table of headline options")
    if "sampler" in raw:
        raw["sampler"] = _parse_sampler(raw["sampler"], f"{where}.sampler")
    if "priors" in raw:
        if not isinstance(raw["priors"], dict):
            raise SpecError(f"{where}.priors: must be a table of priors")
        for pname, prior in raw["priors"].items():
            if not isinstance(prior, dict) or prior.get("dist") not in PRIOR_FAMILIES:
                raise SpecError(f"{where}.priors.{pname}: must be a table with a known 'dist' "
                                f"({', '.join(PRIOR_FAMILIES)})")
    return Level(axis=axis, name=name, changes=raw, label=label,
                 scale_priors=None if scale is None else float(scale),
                 scale_which=tuple(which) if which else None, prior_family=family,
                 prior_family_nu=float(nu), headline=dict(headline))


def _parse_crossval(raw: Any, source: str, seed: int) -> CrossValSettings:
    where = f"{source}: crossval"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be a table")
    bad = sorted(set(raw) - set(CROSSVAL_KEYS))
    if bad:
        raise SpecError(f"{where}: unknown key(s) {', '.join(bad)}; known: "
                        f"{', '.join(CROSSVAL_KEYS)}")
    method = raw.get("method", "auto")
    if method not in CROSSVAL_METHODS:
        raise SpecError(f"{where}.method: unknown method {method!r}; choose one of: "
                        f"{', '.join(CROSSVAL_METHODS)}")
    folds = raw.get("folds", 5)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise SpecError(f"{where}.folds: must be an integer >= 2, not {folds!r}")
    variants = raw.get("variants")
    if variants is not None and (not isinstance(variants, list)
                                 or not all(isinstance(v, str) for v in variants)):
        raise SpecError(f"{where}.variants: must be a list of variant names")
    cv_seed = raw.get("seed", seed)
    if isinstance(cv_seed, bool) or not isinstance(cv_seed, int):
        raise SpecError(f"{where}.seed: must be an integer")
    return CrossValSettings(method=method, folds=folds,
                            variants=tuple(variants) if variants is not None else None,
                            seed=cv_seed)


def study_from_dict(data: dict[str, Any], *, source: str = "<dict>",
                    base_dir: str | os.PathLike | None = None) -> Study:
    """Validate a raw study dict and build a :class:`Study`.

    Parameters
    ----------
    data : dict
        As read from a study TOML file.
    source : str
        The file name, used in every error message.
    base_dir : path, optional
        Folder against which a relative ``base`` path is resolved first.

    Raises
    ------
    SpecError
        Naming ``source`` and the offending key.
    """
    bad = sorted(set(data) - set(STUDY_KEYS))
    if bad:
        raise SpecError(f"{source}: unknown key(s) {', '.join(bad)}; known keys: "
                        f"{', '.join(STUDY_KEYS)}")
    if "name" not in data:
        raise SpecError(f"{source}: the study needs a 'name'")
    name = _check_name(data["name"], source, "study name")
    if "base" not in data or not isinstance(data["base"], str):
        raise SpecError(f"{source}: 'base' must name a model spec (a bundled spec such as "
                        "'binomial_developers', or a .toml path)")
    base_ref = data["base"]
    candidate = Path(base_dir) / base_ref if base_dir is not None else None
    try:
        base_path = candidate if candidate is not None and candidate.is_file() else \
            resolve_spec_path(base_ref)
        base = load_spec(base_path)
    except SpecError as exc:
        raise SpecError(f"{source}: base: {exc}") from exc
    design = data.get("design", "one_at_a_time")
    if design not in DESIGNS:
        raise SpecError(f"{source}: design: unknown design {design!r}; choose one of: "
                        f"{', '.join(DESIGNS)}")
    include_base = data.get("include_base", True)
    if not isinstance(include_base, bool):
        raise SpecError(f"{source}: include_base: must be true or false")
    seed = data.get("seed", base.sampler.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SpecError(f"{source}: seed: must be an integer, not {seed!r}")
    max_variants = data.get("max_variants", DEFAULT_MAX_VARIANTS)
    if isinstance(max_variants, bool) or not isinstance(max_variants, int) or max_variants < 1:
        raise SpecError(f"{source}: max_variants: must be a positive integer")
    sampler = _parse_sampler(data.get("sampler", {}), f"{source}: sampler")
    sampler.pop("seed", None)
    headline = data.get("headline", {})
    if not isinstance(headline, dict):
        raise SpecError(f"{source}: headline: must be a table of headline options")
    raw_axes = data.get("axes", {})
    if not isinstance(raw_axes, dict):
        raise SpecError(f"{source}: axes: must be a table of axes, each a table of levels")
    axes: dict[str, list[Level]] = {}
    for axis, levels in raw_axes.items():
        _check_name(axis, f"{source}: axes", "axis name")
        if not isinstance(levels, dict) or not levels:
            raise SpecError(f"{source}: axes.{axis}: must be a non-empty table of levels, e.g. "
                            f"[axes.{axis}.my_level]")
        axes[axis] = [_parse_level(axis, lname, raw, source) for lname, raw in levels.items()]
    if not axes and not include_base:
        raise SpecError(f"{source}: the study has no axes and excludes the base: no variants")
    crossval = _parse_crossval(data.get("crossval", {}), source, seed)
    study = Study(name=name, base=base, axes=axes, description=str(data.get("description", "")),
                  design=design, include_base=include_base, sampler=sampler,
                  headline=dict(headline), seed=seed, crossval=crossval,
                  max_variants=max_variants, source=source)
    variants = study.variants()  # validate every variant now, not halfway through a run
    names = [v.name for v in variants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"{source}: duplicate variant name(s) {', '.join(dupes)}")
    if crossval.variants is not None:
        unknown = [v for v in crossval.variants if v not in names]
        if unknown:
            raise SpecError(f"{source}: crossval.variants: unknown variant(s) "
                            f"{', '.join(unknown)}; variants: {', '.join(names)}")
    return study


def bundled_studies_dir() -> Path:
    """Return the folder of bundled studies (``studies/`` in a checkout)."""
    return bundled_folder("studies", error=SpecError)


def resolve_study_path(path: str | os.PathLike) -> Path:
    """Accept a study file path or the name of a bundled study (e.g. ``"default"``)."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    try:
        folder = bundled_studies_dir()
    except SpecError:
        raise SpecError(f"{path}: no such study file") from None
    bundled = folder / f"{candidate.stem}.toml"
    if bundled.is_file():
        return bundled
    names = sorted(p.stem for p in folder.glob("*.toml"))
    raise SpecError(f"{path}: no such study file; bundled studies: {', '.join(names)}")


def load_study(path: str | os.PathLike) -> Study:
    """Read and validate a study TOML file.

    Parameters
    ----------
    path : path
        A ``.toml`` file, or the name of a bundled study in ``studies/``.

    Raises
    ------
    SpecError
        Invalid TOML, unknown keys or values, or a variant whose spec is invalid; the
        message names the file and the key.
    """
    path = resolve_study_path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return study_from_dict(data, source=str(path), base_dir=path.parent)


__all__ = ["BASE_VARIANT", "CrossValSettings", "Level", "Study", "Variant", "default_scale_priors",
           "expand", "load_study", "model_hash", "resolve_study_path", "scale_prior", "study_from_dict",
           "swap_family", "used_priors", "variant_seed"]
