"""The headline table: every figure, what kind of number it is, and how well it is known.

:func:`headline_draws` computes every *posterior* figure per draw (one ``(chain, draw)``
variable per figure id); :func:`headline_table` summarises them and adds the rows that
are not posteriors: the paper's Shapley statistic with its developer-clustered
bootstrap band (a *sampling band* of an OLS statistic), its *null reference* (the same
statistic on data with no developer effect) and the excess over it
(:mod:`bayes_llm.derived.shapley_null`), and the paper's *quoted claims*.
:func:`write_headline` exports CSV and Markdown atomically.

Every row carries

* ``kind``: ``posterior`` / ``posterior (model-averaged)`` / ``sampling band`` /
  ``null reference`` / ``quoted claim`` (:data:`KINDS`); the model-averaged rows
  (``<figure>_averaged``, only with ``curve_fits``) mix the frontier figures of several
  fits of the same data (:mod:`bayes_llm.derived.averaging`);
* ``estimate``, ``lower``, ``upper``: posterior median and interval (project setting, or
  ``hdi_prob`` / ``ci_kind``); for a sampling band the statistic on the data and the
  bootstrap percentile interval; for a null reference the null's median and central
  interval; for a quoted claim the claimed range;
* ``rhat``, ``ess_bulk``, ``ess_tail``: convergence of *the derived quantity itself*
  (ArviZ on its per-draw values, chains kept; Vehtari et al. 2021), and
  ``fit_diagnostics``, the fit's overall status;
* ``paper_value``: only where the paper reported that exact quantity (its OLS with its
  13 groups, cohorts, MMLU-Pro and the full sample, recomputed on the fit's models, never
  typed in: :data:`REPORTED`); ``paper_method_fit_coding``: the paper's method on this
  fit's developer coding when that is not the paper's (e.g. every developer string);
* ``primary_for``: the claim whose pre-specified primary definition this row is
  (:data:`PRIMARY`); the verdicts in :mod:`bayes_llm.report.claims` use only that row.

Ratios are guarded (:func:`bayes_llm.derived.frontier.ratio_guard`): a share whose
denominator has material posterior mass near zero is "undefined", with the reason in
``note``, never an interval. Company figures of a 13-group fit carry
:data:`bayes_llm.derived.company.GROUP_CODING_FLAG`.

Speed: components are built once with NumPy (:mod:`bayes_llm.derived.fast`) and shared;
the Shapley null is one multi-column solve; the bootstrap has :data:`N_BOOT` replicates.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm import constants as C
from bayes_llm.atomic import write_text_atomic
from bayes_llm.baseline.pairwise import DEFAULT_PAIRS
from bayes_llm.constants import CI_KIND, DEFAULT_SEED, HDI_PROB  # noqa: F401

# (HDI_PROB/CI_KIND: the import-time default that bayes_llm.cli.headline_cmd relabels)
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.derived.averaging import (
    AVERAGED_KIND,
    FRONTIER_FIGURES,
    averaged_frontier,
    averaged_id,
    mixture_status,
    weights_text,
)
from bayes_llm.derived.company import GROUP_CODING_FLAG, coding_flag, company_shares
from bayes_llm.derived.fast import component_covariance, fast_components
from bayes_llm.derived.frontier import (
    TOP_K,
    default_frontier_pair,
    default_reference_compute,
    frontier_gain,
    frontier_models,
    pair_decomposition,
    pair_guards,
    pair_label,
    ratio_guard,
    reference_decomposition,
    shares_of,
)
from bayes_llm.derived.multipliers import (
    group_multipliers,
    shared_progress,
    within_spread,
    within_spread_centred,
    within_spread_model_based,
)
from bayes_llm.derived.paper import PAPER_CLAIMS, ols_point_fit, paper_ols
from bayes_llm.derived.shapley_band import shapley_point
from bayes_llm.derived.shapley_null import N_BOOT, N_NULL, ShapleyReference, shapley_reference
from bayes_llm.derived.summary import (
    SAMPLE_DIMS,
    FitLike,
    broadcast_like_draws,
    interval_label,
    summarise_draws,
)
from bayes_llm.derived.variance import variance_partition
from bayes_llm.errors import BayesLLMError
from bayes_llm.formatting import markdown_table
from bayes_llm.model.option_terms import (
    collapse_distribution,
    collapse_probability_per_model,
    fitted_lineage_idx,
)

#: What kind of number a row is.
KINDS: tuple[str, ...] = ("posterior", "posterior (model-averaged)", "sampling band",
                          "null reference", "quoted claim")


@dataclass(frozen=True)
class Event:
    """A posterior probability statement about one figure.

    ``P(lower <= X <= upper)`` (``strict``: ``lower < X``), or with ``versus`` set,
    ``P(X > other figure)`` draw by draw.
    """

    text: str
    lower: float = -math.inf
    upper: float = math.inf
    strict: bool = False
    versus: str | None = None


@dataclass(frozen=True)
class Figure:
    """A headline figure: id, label, definition, unit, event, claim, kind, paper-reported."""

    id: str
    label: str
    definition: str
    unit: str
    event: Event | None
    claim: str | None = None
    kind: str = "posterior"
    reported: bool = False


_AT_LEAST_80 = Event("P(share >= 0.8)", lower=0.8)
_POSITIVE = Event("P(> 0)", lower=0.0, strict=True)
_ABOVE_ONE = Event("P(multiplier > 1)", lower=1.0, strict=True)
_COMPANY = Event("P(share >= 0.14)", lower=0.14)
_PAIR_DEF = ("change in latent logit score from the first cohort's best model (A) to the last "
             "cohort's best model (B): ")
_REF_DEF = ("gain of the last period's best model over a reference model (median compute of "
            "the first date window's models, that window's model-weighted period effect, "
            "average developer, zero model effect): ")
_FRONTIER_DEF = ("the frontier = the {k} best-scoring models of the first and of the last "
                 "cohort (by release date); accuracy = g + (1 - g) logistic(latent score)")


def _frontier_figures() -> list[Figure]:
    k = TOP_K
    base = _FRONTIER_DEF.format(k=k)
    out = [
        Figure("frontier_gain_compute_share",
               "Frontier's gain in accuracy due to scaling (primary)",
               f"{base}; (gain - counterfactual gain had the last frontier's compute stayed "
               "at the first frontier's) / gain, per draw; undefined if the gain is near "
               "zero", "share", _AT_LEAST_80, "frontier_compute_share"),
        Figure("frontier_gain", "Frontier's gain in accuracy, first to last cohort",
               f"{base}; mean accuracy of the last frontier - of the first", "accuracy",
               _POSITIVE),
        Figure("frontier_gain_from_scaling", "Part of the frontier's gain due to scaling",
               "gain - counterfactual gain without scaling (accuracy points, additive)",
               "accuracy", _POSITIVE),
        Figure("frontier_gain_without_scaling",
               "Frontier's counterfactual gain had its compute stayed where it started",
               "last frontier's accuracy with its compute term at the first frontier's mean "
               "log compute - first frontier's accuracy", "accuracy", _POSITIVE),
    ]
    for comp, word in (("compute", "scaling (compute)"), ("period", "shared progress"),
                       ("developer", "developer effects"), ("model", "model-level effects"),
                       ("total", "all components")):
        out.append(Figure(
            f"frontier_decades_{comp}", f"Frontier's latent gain from {word}, in decades",
            f"{base}; change in the frontier's mean {comp} component / beta: "
            "compute-equivalent decades (additive decomposition, no ratio)", "decades",
            _POSITIVE))
    for comp, word in (("compute", "scaling (compute)"), ("period", "shared progress"),
                       ("developer", "developer effect"), ("model", "model-level effect")):
        out.append(Figure(
            f"frontier_pair_{comp}_share",
            f"Progress A->B due to {word} (the paper's Table 1 method)",
            _PAIR_DEF + f"Delta {comp} component / Delta latent score (shares sum to one); "
            "undefined when Delta latent score is near zero",
            "share", _AT_LEAST_80 if comp == "compute" else _POSITIVE,
            "frontier_compute_share" if comp == "compute" else None, reported=True))
    for comp, word in (("compute", "scaling (compute)"), ("period", "shared progress"),
                       ("developer", "developer effect")):
        out.append(Figure(
            f"frontier_pair_{comp}_share_explained",
            f"Progress A->B due to {word}, explained part only",
            _PAIR_DEF + f"Delta {comp} / (Delta compute + Delta period + Delta developer); "
            "model-level effect left out",
            "share", _AT_LEAST_80 if comp == "compute" else _POSITIVE,
            "frontier_compute_share" if comp == "compute" else None))
    out.append(Figure(
        "frontier_reference_compute_share",
        "Frontier model's gain over a reference model due to compute",
        _REF_DEF + "compute part / total gain", "share", _AT_LEAST_80,
        "frontier_compute_share"))
    out.append(Figure(
        "frontier_reference_compute_share_explained",
        "Frontier model's gain over a reference model due to compute, explained part only",
        _REF_DEF + "compute part / (compute + period + developer parts)",
        "share", _AT_LEAST_80, "frontier_compute_share"))
    return out


_NAKAGAWA = ("Nakagawa & Schielzeth (2013), Nakagawa, Johnson & Schielzeth (2017): "
             "sigma2_dev / (Var(fixed part) + sigma2_dev [+ sigma2_period, sigma2_lineage] + "
             "sigma2_model), variance of latent performance, per draw")
_PRATT = ("Cov(component, latent score) / Var(latent score) across the fit's models, per "
          "draw (finite population; covariances split evenly between components)")


#: Note on the company share of a fit with base-model lineage effects.
LINEAGE_SHARE_NOTE = (
    "the fit has base-model lineage effects: variance between lineages is its own block "
    "(lineage_share_superpop), not company-specific; a developer that trains its own bases "
    "has part of its advantage in its lineages' effects, so the company share of such a fit "
    "is not the same estimand as a developer-only model's")


def _company_figures() -> list[Figure]:
    return [
        Figure("company_share_superpop", "Company share, superpopulation (primary)",
               _NAKAGAWA, "share", _COMPANY, "company_share"),
        Figure("lineage_share_superpop",
               "Base-model lineage share, superpopulation (lineage specs only)",
               "sigma2_lineage / the denominator of company_share_superpop: the share of "
               "latent-performance variance between base-model lineages (fine-tunes of "
               "one pretrained base), which the company share does not count",
               "share", None),
        Figure("company_sd_superpop", "Between-developer SD, superpopulation",
               "sqrt(sigma2_dev) (Gelman 2005: developers like these)", "logit", _POSITIVE),
        Figure("company_sd_finite", "Between-developer SD, finite population",
               "SD of the realised developer effects (ddof 1) (Gelman 2005: these "
               "developers)", "logit", _POSITIVE),
        Figure("anova_sd_period", "Finite-population SD of the period effects",
               "SD of the realised period effects (ddof 1) (Gelman 2005)", "logit", None),
        Figure("anova_sd_model", "Finite-population SD of the model-level effects",
               "SD of the realised model-level effects across models (ddof 1) "
               "(Gelman 2005)", "logit", None),
        *[Figure(f"variance_{part}_share", f"Variance share of the {part} component "
                 "(finite population)", f"{_PRATT} ({part})", "share", _POSITIVE,
                 "company_share" if part == "developer" else None)
          for part in ("compute", "period", "developer", "model")],
        Figure("variance_developer_own_share", "Developer block's own variance share",
               "Var(developer component) / Var(latent score) across models",
               "share", _POSITIVE, "company_share"),
        Figure("variance_developer_cov_compute_share",
               "Developer block's covariance with compute, as a share",
               "Cov(developer component, compute component) / Var(latent score) across "
               "models (the part of the developer share that runs with compute)",
               "share", _POSITIVE),
        Figure("bayes_r2", "Bayesian R^2 with the developer block",
               "Gelman, Goodrich, Gabry & Vehtari (2019): Var(mu) / (Var(mu) + "
               "model-based residual variance), per draw", "share", None),
        Figure("bayes_r2_no_developer", "Bayesian R^2 without the developer block",
               "Var(mu - developer) / (Var(mu - developer) + sigma2_dev + residual "
               "variance): developer effects counted as unexplained", "share", None),
        Figure("bayes_r2_developer_increment", "Bayesian R^2 gained by the developer block",
               "bayes_r2 - bayes_r2_no_developer", "share", _COMPANY, "company_share"),
    ]


_SHAPLEY = ("Shapley (LMG) split of the R^2 of the paper's OLS (compute, period dummies, "
            "developer dummies of the fit's coding); statistic on the data, band: "
            "developer-clustered bootstrap percentile interval")


def _shapley_figures() -> list[Figure]:
    out = [Figure(f"shapley_{part}_share", f"Shapley share of the OLS R^2: {part}",
                  f"{_SHAPLEY} ({part})", "share", None,
                  "company_share" if part == "developer" else None, kind="sampling band",
                  reported=part != "residual")
           for part in ("compute", "period", "developer", "residual")]
    out.append(Figure(
        "shapley_developer_share_null", "Shapley developer share with no developer effect",
        "the same statistic on data simulated with no developer effect (parametric null: "
        "OLS fit on compute and period dummies plus Normal noise of its residual SD, the "
        "design kept); median and central interval over the null replicates", "share",
        None, kind="null reference"))
    out.append(Figure(
        "shapley_developer_share_excess", "Shapley developer share in excess of its null",
        "statistic - null median; band: bootstrap replicates - null median", "share",
        None, "company_share", kind="sampling band"))
    return out


def _multiplier_figures() -> list[Figure]:
    spread = ("10^((p90 - p10) / beta) of the model-level effects of the 10 major "
              "developers' models")
    out = [
        Figure("shared_progress_multiplier", "Shared algorithmic progress, compute-equivalent",
               "10^((gamma_last - gamma_first) / beta): last vs first period", "multiplier",
               _ABOVE_ONE, reported=True),
        Figure("within_spread_centred_multiplier",
               "Within-developer efficiency spread, centred within developer (primary)",
               spread + ", each centred on its developer's mean per draw; developers with "
               "one such model left out", "multiplier",
               Event("P(multiplier > 40)", lower=40.0, strict=True), "within_spread"),
        Figure("within_spread_model_based_multiplier",
               "Within-developer efficiency spread implied by sigma_model",
               "10^((z90 - z10) sigma_model / beta) (Student-t: t quantiles)", "multiplier",
               Event("P(multiplier > 40)", lower=40.0, strict=True), "within_spread"),
        Figure("within_spread_multiplier",
               "Within-developer efficiency spread, uncentred (the paper's definition)",
               spread + " (not centred: under partial pooling part of the developer effect "
               "leaks in)", "multiplier", Event("P(multiplier > 40)", lower=40.0, strict=True),
               "within_spread", reported=True),
    ]
    for group in paper_group_order():
        if group == C.PAPER_BASE_GROUP:
            continue
        out.append(Figure(
            f"developer_multiplier[{group}]",
            f"{group}'s efficiency vs {C.PAPER_BASE_GROUP}, compute-equivalent",
            f"10^((u_{group} - u_{C.PAPER_BASE_GROUP}) / beta); a group's u is the mean "
            "developer effect of its models", "multiplier", _ABOVE_ONE, reported=True))
    return out


def _claim_figures() -> list[Figure]:
    return [Figure(f"claim[{key}]", f"The paper's claim: {claim.text}", claim.statement,
                   "multiplier" if key == "within_spread" else "share", None, key,
                   kind="quoted claim") for key, claim in PAPER_CLAIMS.items()]


#: Every fixed headline figure by id, in table order (ids are stable across fits).
HEADLINE_FIGURES: dict[str, Figure] = {f.id: f for f in [
    *_frontier_figures(), *_company_figures(), *_shapley_figures(), *_multiplier_figures(),
    Figure("collapse_probability", "Share of collapsed models (floor mixture only)",
           "pi of the floor_mixture: probability that a model scores near chance "
           "(broken fine-tune, merge, pruned model); the other figures describe the "
           "regular, non-collapsed models", "share", None),
    *_claim_figures()]}
#: Each claim's pre-specified primary definition (figure id). The verdict of a claim uses
#: this row only; every other definition is shown beside it, never maximised over.
PRIMARY: dict[str, str] = {
    "frontier_compute_share": "frontier_gain_compute_share",
    "company_share": "company_share_superpop",
    "within_spread": "within_spread_centred_multiplier",
    "shared_progress": "shared_progress_multiplier",
}
#: Figures the paper reported itself (under its coding); only these get ``paper_value``.
REPORTED: frozenset[str] = frozenset(f.id for f in HEADLINE_FIGURES.values() if f.reported)
#: Id of the figures of extra pairs (``pairs=``): ``component`` one of compute, period,
#: developer, model; ``suffix`` ``""`` or ``"_explained"`` (not for ``model``).
PAIR_FIGURE_TEMPLATE: str = "pair_{component}_share{suffix}[{pair}]"
#: Columns of :func:`headline_table`, in order.
HEADLINE_COLUMNS: tuple[str, ...] = (
    "figure", "kind", "label", "definition", "unit", "estimate", "lower", "upper",
    "interval", "hdi_prob", "ci_kind", "paper_value", "paper_method_fit_coding",
    "paper_claim", "p_claim", "primary_for", "statement", "probability", "rhat", "ess_bulk", "ess_tail",
    "fit_diagnostics", "note")
#: File names written by :func:`write_headline`.
HEADLINE_CSV: str = "headline.csv"
HEADLINE_MARKDOWN: str = "headline.md"


def _nan_like(template: xr.DataArray) -> xr.DataArray:
    return broadcast_like_draws(np.nan, template)


def pair_figure_id(component: str, pair: str, *, explained: bool = False) -> str:
    """Return the figure id of an extra pair's share (see :data:`PAIR_FIGURE_TEMPLATE`)."""
    return PAIR_FIGURE_TEMPLATE.format(component=component, pair=pair,
                                       suffix="_explained" if explained else "")


def _pair_figure_ids(pair: str, *, fixed: bool) -> list[tuple[str, str, bool]]:
    """(figure id, component, explained) of every share figure of a pair."""
    out = []
    for comp in ("compute", "period", "developer", "model"):
        for explained in (False, True):
            if explained and comp == "model":
                continue
            fid = (f"frontier_pair_{comp}_share" + ("_explained" if explained else "")
                   if fixed else pair_figure_id(comp, pair, explained=explained))
            out.append((fid, comp, explained))
    return out


def _pairs_figures(fit: FitLike, all_pairs: list[tuple[str, str]], comps: xr.DataArray,
                   template: xr.DataArray, *, guard: bool = True
                   ) -> tuple[dict[str, xr.DataArray], dict[str, str]]:
    figures, notes = {}, {}
    known = set(fit.models["model_id"].astype(str))
    ok = [p for p in all_pairs if set(p) <= known]
    dec = pair_decomposition(fit, ok, components=comps) if ok else None
    guards = pair_guards(dec) if dec is not None and guard else {}
    for i, pair in enumerate(all_pairs):
        label = pair_label(*pair)
        for fid, comp, explained in _pair_figure_ids(label, fixed=i == 0):
            if pair not in ok:
                figures[fid] = _nan_like(template)
                notes[fid] = f"pair {label}: model(s) not in the fit"
                continue
            why = guards.get(label, {}).get("explained" if explained else "share", "")
            if why:
                figures[fid] = _nan_like(template)
                notes[fid] = why
                continue
            var = "explained_share" if explained else "share"
            figures[fid] = dec[var].sel(pair=label, component=comp, drop=True)
    return figures, notes


def headline_draws(fit: FitLike, *, pairs: Sequence[tuple[str, str]] | None = None,
                   frontier_pair: tuple[str, str] | None = None,
                   frontier_model: str | None = None,
                   reference_log10_flop: float | None = None,
                   reference_developer: str = "mean", top_k: int = TOP_K,
                   components: xr.DataArray | None = None) -> xr.Dataset:
    """Every posterior headline figure per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    pairs : sequence of (model_id, model_id), optional
        Extra pairs A -> B for the pairwise decomposition (rows
        :data:`PAIR_FIGURE_TEMPLATE`).
    frontier_pair : (str, str), optional
        The pair of the ``frontier_pair_*`` figures; default
        :func:`bayes_llm.derived.frontier.default_frontier_pair`.
    frontier_model : str, optional
        The model of the ``frontier_reference_*`` figures; default the last period's
        best-scoring model.
    reference_log10_flop : float, optional
        The reference model's compute; default the median of the first date window's
        models (:func:`bayes_llm.derived.frontier.default_reference_compute`).
    reference_developer : str
        The reference model's developer effect: ``"mean"`` (default) or a unit.
    top_k : int
        Models per date window that make the frontier of ``frontier_gain_*``.
    components : DataArray, optional
        Precomputed components (default :func:`bayes_llm.derived.fast.fast_components`).

    Returns
    -------
    Dataset
        One ``(chain, draw)`` variable per posterior figure id, each with ``label``,
        ``definition``, ``unit``, ``kind`` and (when undefined or flagged) ``note``
        attributes; attributes record the pair, frontier model, reference and frontier.
    """
    comps = fast_components(fit) if components is None else components
    template = fit.dt["posterior"]["beta"].transpose(*SAMPLE_DIMS)
    figures: dict[str, xr.DataArray] = {}
    notes: dict[str, str] = {}
    frontier_pair = tuple(frontier_pair) if frontier_pair else default_frontier_pair(fit)
    all_pairs = [frontier_pair, *[tuple(p) for p in (pairs or [])]]
    f, n = _pairs_figures(fit, all_pairs, comps, template)
    figures.update(f)
    notes.update(n)
    gain = frontier_gain(fit, top_k=top_k, components=comps)
    for var in gain.data_vars:
        fid = "frontier_gain_compute_share" if var == "compute_share" else (
            f"frontier_{var}" if str(var).startswith("decades") else f"frontier_{var}")
        figures[fid] = gain[var]
        if var in gain.attrs["notes"]:
            notes[fid] = gain.attrs["notes"][var]
    known = set(fit.models["model_id"].astype(str))
    if frontier_model is None:
        frontier_model = str(frontier_models(fit)["model_id"].iloc[-1])
    if reference_log10_flop is None:
        reference_log10_flop = default_reference_compute(fit)
    ref_ids = ("frontier_reference_compute_share", "frontier_reference_compute_share_explained")
    if frontier_model in known:
        ref = reference_decomposition(fit, [frontier_model],
                                      reference_log10_flop=reference_log10_flop,
                                      reference_developer=reference_developer,
                                      components=comps)
        one = shares_of(ref["value"].sel(model=frontier_model, drop=True))
        values = one["value"].transpose(*SAMPLE_DIMS, "component").values
        whys = (ratio_guard(values.sum(-1), np.abs(values).sum(-1),
                            what="the gain over the reference model"),
                ratio_guard(values[..., :3].sum(-1), np.abs(values[..., :3]).sum(-1),
                            what="the explained gain over the reference model"))
        for fid, var, why in zip(ref_ids, ("share", "explained_share"), whys, strict=True):
            if why:
                figures[fid], notes[fid] = _nan_like(template), why
            else:
                figures[fid] = one[var].sel(component="compute", drop=True)
    else:
        for fid in ref_ids:
            figures[fid] = _nan_like(template)
            notes[fid] = f"model {frontier_model} not in the fit"
    sigma = component_covariance(comps)
    company = company_shares(fit, components=comps, covariance=sigma)
    flag = coding_flag(fit)
    if "lineage_effect" in fit.dt["posterior"]:
        figures["lineage_share_superpop"] = company["lineage_superpop_share"]
        notes["lineage_share_superpop"] = "; ".join(
            x for x in (company.attrs["lineage_note"], LINEAGE_SHARE_NOTE) if x)
    for fid, var in (("company_share_superpop", "superpop_share"),
                     ("company_sd_superpop", "sd_developer_superpop"),
                     ("company_sd_finite", "sd_developer_finite"),
                     ("anova_sd_period", "sd_period_finite"),
                     ("anova_sd_model", "sd_model_finite"),
                     ("variance_developer_own_share", "developer_own_share"),
                     ("variance_developer_cov_compute_share", "developer_cov_compute_share"),
                     ("bayes_r2", "bayes_r2"),
                     ("bayes_r2_no_developer", "bayes_r2_no_developer"),
                     ("bayes_r2_developer_increment", "bayes_r2_developer_increment")):
        figures[fid] = company[var]
        extra = [company.attrs["developer_note"]] if fid.startswith("company_") else []
        if fid == "company_share_superpop" and "lineage_share_superpop" in figures:
            extra.append(LINEAGE_SHARE_NOTE)
        flagged = [flag] if not fid.startswith("anova_") else []
        text = "; ".join(x for x in [*extra, *flagged] if x)
        if text:
            notes[fid] = text
    var = variance_partition(fit, components=comps, covariance=sigma)
    for part in var["component"].values:
        figures[f"variance_{part}_share"] = var["share"].sel(component=part, drop=True)
        if flag and part == "developer":
            notes[f"variance_{part}_share"] = flag
    units = fit.models.get("developer_unit")
    if units is not None and units.nunique() < 2:  # issue 13: one developer
        for fid in ("shapley_developer_share", "variance_developer_share",
                    "company_share_superpop", "variance_developer_own_share",
                    "variance_developer_cov_compute_share"):
            if fid in figures:
                figures[fid] = _nan_like(template)
                notes[fid] = ("undefined: the data have one developer, so there is no "
                              "between-developer variation to attribute")
    figures["shared_progress_multiplier"] = shared_progress(fit)
    for fid, func in (("within_spread_centred_multiplier", within_spread_centred),
                      ("within_spread_multiplier", within_spread)):
        try:
            figures[fid] = func(fit, components=comps)
        except BayesLLMError as exc:
            figures[fid], notes[fid] = _nan_like(template), str(exc)
    if "within_spread_centred_multiplier" not in notes:
        a = figures["within_spread_centred_multiplier"].attrs
        notes["within_spread_centred_multiplier"] = (
            f"{a['n_models']} models of {a['n_developers']} developers with at least two")
    figures["within_spread_model_based_multiplier"] = within_spread_model_based(fit)
    collapse = collapse_distribution(fit)
    if collapse is not None:
        figures["collapse_probability"] = _average_collapse_probability(fit, collapse)
        notes["collapse_probability"] = (
            "floor mixture: sigma_model, the variance shares and the spreads describe the "
            "regular (non-collapsed) models; a collapsed model's eta is its would-be "
            "regular score")
        if "probability" in collapse and "period" in collapse["probability"].dims:
            notes["collapse_probability"] += ("; one probability per period, averaged over "
                                              "the fit's models")
        if "slope" in collapse:
            notes["collapse_probability"] += ("; the probability depends on compute, "
                                              "averaged over the fit's models")
        if "lineage_z" in collapse:
            notes["collapse_probability"] += ("; each lineage has its own propensity to "
                                              "collapse, averaged over the fit's models")
    _group_figures(fit, comps, template, figures, notes)
    ordered = [f for f in HEADLINE_FIGURES if f in figures]
    ordered += [f for f in figures if f not in HEADLINE_FIGURES]
    ds = xr.Dataset({fid: _clean(figures[fid], template) for fid in ordered})
    for fid in ordered:
        meta = HEADLINE_FIGURES.get(fid) or _extra_figure(fid)
        ds[fid].attrs = {"label": meta.label, "definition": meta.definition,
                         "unit": meta.unit, "kind": meta.kind,
                         **({"note": notes[fid]} if fid in notes else {})}
    ds.attrs.update({"spec": fit.spec.name, "frontier_pair": pair_label(*frontier_pair),
                     "frontier_model": frontier_model,
                     "reference_log10_flop": float(reference_log10_flop),
                     "reference_developer": reference_developer,
                     "frontier_first": gain.attrs["first"],
                     "frontier_last": gain.attrs["last"], "top_k": int(top_k),
                     "developer_coding": fit.spec.developer})
    return ds


def _average_collapse_probability(fit: FitLike, collapse: dict[str, xr.DataArray]
                                  ) -> xr.DataArray:
    """Return the floor mixture's collapse probability averaged over the fit's models, per draw.

    One pi for every model: pi itself; per period or by compute: the mean of each model's
    pi (:func:`~bayes_llm.model.option_terms.collapse_probability_per_model`).
    """
    const = fit.dt["constant_data"]
    period_idx = const["period_idx"].values.astype(int)
    terms = {key: value.stack(sample=("chain", "draw")).transpose("sample", ...)
             for key, value in collapse.items() if key not in ("a", "b")}
    drawn = {key: value.values for key, value in terms.items()}
    per_model = collapse_probability_per_model(
        drawn, len(period_idx), period_idx=period_idx,
        x=const["log10_flop_centred"].values, lineage_idx=fitted_lineage_idx(fit))
    sample = next(iter(terms.values()))["sample"]
    average = xr.DataArray(per_model.mean(axis=1), coords={"sample": sample}, dims="sample")
    return average.unstack("sample").transpose("chain", "draw")


def _group_figures(fit: FitLike, comps: xr.DataArray, template: xr.DataArray,
                   figures: dict, notes: dict) -> None:
    has = "developer_effect" in fit.dt["posterior"]
    groups = group_multipliers(fit, components=comps) if has else None
    for fid in HEADLINE_FIGURES:
        if not fid.startswith("developer_multiplier["):
            continue
        group = fid[len("developer_multiplier["):-1]
        if groups is None:
            figures[fid], notes[fid] = _nan_like(template), "the fit has no developer effects"
        elif group not in groups["developer_group"].values or \
                groups.attrs["reference"] != C.PAPER_BASE_GROUP:
            figures[fid] = _nan_like(template)
            notes[fid] = (f"group {group} or the reference {C.PAPER_BASE_GROUP} is not in "
                          "the fit")
        else:
            figures[fid] = groups.sel(developer_group=group, drop=True)
            if group.startswith("Other,"):
                notes[fid] = (f"'{group}' is one of the paper's compute bins of non-major "
                              f"developers (as is the reference {C.PAPER_BASE_GROUP}), not a "
                              "company")


def _extra_figure(fid: str) -> Figure:
    """Metadata of an extra pair's figure id."""
    head, pair = fid.split("[", 1)
    pair = pair[:-1]
    comp = head[len("pair_"):].split("_share")[0]
    explained = head.endswith("_explained")
    label = f"Progress {pair} due to {comp}" + (", explained part only" if explained else "")
    definition = (f"Delta {comp} / (Delta compute + Delta period + Delta developer)"
                  if explained else f"Delta {comp} component / Delta latent score")
    event = _AT_LEAST_80 if comp == "compute" else _POSITIVE
    reported = not explained and tuple(pair.split(" -> ", 1)) in DEFAULT_PAIRS
    return Figure(fid, label, definition, "share", event, reported=reported)


def _clean(da: xr.DataArray, template: xr.DataArray) -> xr.DataArray:
    """Drop stray scalar coordinates and order dims as ``(chain, draw)``."""
    values = np.asarray(da.transpose(*SAMPLE_DIMS).values, dtype=float)
    return xr.DataArray(values, dims=SAMPLE_DIMS,
                        coords={d: template.coords[d].values for d in SAMPLE_DIMS})


def _event_probability(ds: xr.Dataset, fid: str, event: Event | None) -> float:
    if event is None:
        return float("nan")
    values = np.asarray(ds[fid].values, dtype=float)
    if not np.all(np.isfinite(values)):
        return float("nan")
    if event.versus is not None:
        other = np.asarray(ds[event.versus].transpose(*ds[fid].dims).values, dtype=float)
        return float(np.mean(values > other)) if np.all(np.isfinite(other)) else float("nan")
    low = values > event.lower if event.strict else values >= event.lower
    return float(np.mean(low & (values <= event.upper)))


def draw_diagnostics(draws: xr.Dataset) -> pd.DataFrame:
    """Return R-hat and bulk/tail ESS of every per-draw figure (chains kept).

    Rank-normalised split R-hat and bulk/tail ESS of Vehtari et al. (2021), computed by
    :mod:`bayes_llm.model.draw_stats` (the same numbers as ArviZ, without importing it).
    Figures with non-finite or constant draws (e.g. a compute change fixed by the data)
    get NaN: nothing to diagnose. R-hat needs at least two chains.
    """
    from bayes_llm.model.draw_stats import ess_bulk, ess_tail, rank_rhat

    def informative(values: np.ndarray) -> bool:
        if not np.all(np.isfinite(values)):
            return False
        scale = max(float(np.max(np.abs(values))), 1e-300)
        return float(np.ptp(values)) > 1e-9 * scale

    out = pd.DataFrame(np.nan, index=[str(v) for v in draws.data_vars],
                       columns=["rhat", "ess_bulk", "ess_tail"])
    if draws.sizes.get("draw", 0) < 4:
        return out
    for name in draws.data_vars:
        values = np.asarray(draws[name].transpose(*SAMPLE_DIMS).values, dtype=float)
        if values.ndim != 2 or not informative(values):
            continue
        out.loc[str(name)] = [rank_rhat(values), ess_bulk(values), ess_tail(values)]
    return out


def fit_status(fit: FitLike) -> str:
    """Return the fit's overall diagnostics status in a few words."""
    diag = getattr(fit, "diagnostics", None)
    if diag is None:
        return "n/a"
    if diag.ok:
        return "ok"
    return f"FAILED ({len(diag.failures)} rule(s): {diag.failures[0]})"


def _paper_comparable(fit: FitLike) -> str:
    """``""`` when the fit's outcome, sample and periods are the paper's, else why not."""
    spec = fit.spec
    diffs = [f"{k} {getattr(spec, k)}" for k, want in
             (("outcome", "mmlu_pro"), ("sample", "full"), ("period", "cohort"))
             if getattr(spec, k) != want]
    return ("the paper reported its figures for MMLU-Pro, the full sample and cohorts; "
            f"this fit has {', '.join(diffs)}") if diffs else ""


def _reported_values(point: FitLike, all_pairs: list[tuple[str, str]],
                     fixed_pair: tuple[str, str]) -> dict[str, float]:
    """Return the paper's method's values of the reported figures (one-draw OLS pseudo-fit)."""
    comps = fast_components(point)
    template = point.dt["posterior"]["beta"]
    values: dict[str, float] = {}
    figures, _ = _pairs_figures(point, all_pairs, comps, template, guard=False)
    for fid, da in figures.items():
        values[fid] = float(np.asarray(da).ravel()[0])
    values["shared_progress_multiplier"] = float(shared_progress(point).values.ravel()[0])
    try:
        values["within_spread_multiplier"] = float(
            within_spread(point, components=comps).values.ravel()[0])
    except BayesLLMError:
        pass
    groups = group_multipliers(point, components=comps)
    if groups.attrs["reference"] == C.PAPER_BASE_GROUP:
        for g in groups["developer_group"].values:
            values[f"developer_multiplier[{g}]"] = float(groups.sel(developer_group=g)
                                                         .values.ravel()[0])
    for part, v in shapley_point(point).items():
        values[f"shapley_{part}_share"] = float(v)
    if tuple(fixed_pair) not in DEFAULT_PAIRS:
        for fid, _, _ in _pair_figure_ids(pair_label(*fixed_pair), fixed=True):
            values.pop(fid, None)
    return values


def _paper_columns(fit: FitLike, baseline, df, all_pairs, fixed_pair
                   ) -> tuple[dict[str, float], dict[str, float], str, str]:
    """(paper values, paper method on the fit's coding, note, coding label)."""
    from bayes_llm.baseline.ols import BaselineSpec, fit_baseline_ols

    why = _paper_comparable(fit)
    group_coded = fit.spec.developer == "group"
    fit_ols = paper_ols(fit, baseline, df=df)
    paper, other = {}, {}
    if not why:
        if group_coded:
            group_ols = fit_ols
        else:
            frame = fit.models if df is None else df
            group_ols = fit_baseline_ols(frame, BaselineSpec(
                sample="full" if df is None else fit.spec.sample, period=fit.spec.period,
                outcome=fit.spec.outcome, developers="groups"))
        paper = _reported_values(ols_point_fit(group_ols, fit.spec), all_pairs, fixed_pair)
        paper = {k: v for k, v in paper.items() if k in REPORTED or
                 (k.startswith("pair_") and _extra_figure(k).reported)}
    if not group_coded:
        other = _reported_values(ols_point_fit(fit_ols, fit.spec), all_pairs, fixed_pair)
    coding = "every developer string" if fit.spec.developer == "developer" else \
        f"developer = {fit.spec.developer}"
    note = ("paper: the paper's own estimator (OLS, 13 groups, cohorts) recomputed on the "
            f"fit's {fit_ols.nobs} models, only for the quantities the paper reported"
            + (f"; paper method, {coding}: the same estimator with this fit's developer "
               "coding (numbers the paper never reported)" if not group_coded else ""))
    return paper, other, (why or note), coding


def cache_paper_columns(fit: FitLike) -> None:
    """Compute the paper's OLS columns of the default headline and keep them in the fit folder.

    What ``bayes-llm fit`` runs after saving, so that the first ``bayes-llm headline`` of a
    new fit reads them (``headline_paper_ols.json``, the cache of
    :func:`bayes_llm.derived.fit_cache.cached_paper_columns`) instead of importing
    statsmodels and fitting (about 1.2 s). They depend on the fit's models and spec only,
    not on its draws; the cache's key and checksum decide, as always, whether they are
    used. Does nothing for a fit without a folder or with a coding the paper's estimator
    cannot be compared with (those columns are computed, or left empty, at headline time).
    """
    from bayes_llm.derived.fit_cache import cached_paper_columns

    if getattr(fit, "folder", None) is None:
        return
    fixed = default_frontier_pair(fit)
    cached_paper_columns(fit, [fixed], fixed,
                         lambda: _paper_columns(fit, None, None, [fixed], fixed))


def headline_table(fit: FitLike, *, baseline: object | None = None,
                   pairs: Sequence[tuple[str, str]] | None = None,
                   frontier_pair: tuple[str, str] | None = None,
                   frontier_model: str | None = None,
                   reference_log10_flop: float | None = None,
                   reference_developer: str = "mean", top_k: int = TOP_K,
                   seed: int = DEFAULT_SEED, cluster: str = "developer",
                   n_boot: int = N_BOOT, n_null: int = N_NULL,
                   paper: bool = True, df: pd.DataFrame | None = None,
                   draws: xr.Dataset | None = None,
                   shapley: ShapleyReference | None = None,
                   hdi_prob: float | None = None, ci_kind: str | None = None,
                   curve_fits: Sequence[FitLike] = (),
                   curve_weights: str | os.PathLike | Sequence[float] | None = None
                   ) -> pd.DataFrame:
    """One row per headline figure: kind, estimate, interval, diagnostics, paper values.

    Parameters
    ----------
    fit : FitLike
        A Bayesian fit.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS with the fit's coding; default: run it on ``fit.models`` (or
        ``df``).
    pairs, frontier_pair, frontier_model, reference_log10_flop, reference_developer, top_k
        As in :func:`headline_draws`.
    seed : int
        Seed of the Shapley bootstrap and null.
    cluster : str
        Column of ``fit.models`` resampled by the bootstrap (default ``"developer"``).
    n_boot, n_null : int
        Bootstrap and null replicates (defaults :data:`N_BOOT`, :data:`N_NULL`).
    paper : bool
        Compute the paper's values (``False``: those columns stay NaN).
    df : DataFrame, optional
        Full canonical table for the paper's OLS (the fit's sample is applied).
    draws : Dataset, optional
        Precomputed :func:`headline_draws` of ``fit``.
    shapley : ShapleyReference, optional
        Precomputed :func:`bayes_llm.derived.shapley_null.shapley_reference`.
    hdi_prob, ci_kind : optional
        Interval probability and kind (``"hdi"``/``"eti"``); default the project's
        (:data:`bayes_llm.constants.HDI_PROB`, :data:`~bayes_llm.constants.CI_KIND`,
        read at call time). Sampling bands and null references are
        always central percentile intervals at ``hdi_prob``.
    curve_fits, curve_weights : optional
        Fits of the same data (same data hash) with other compute curves or compute
        treatments (e.g. ``binomial_monotone``, ``binomial_eiv_t``) and the weights of
        ``[fit, *curve_fits]``: ``"equal"`` (default), a ``bayes-llm validate`` folder
        (its stacking weights, by spec name) or numbers
        (:func:`bayes_llm.derived.averaging.resolve_weights`). Adds every frontier
        figure of :func:`bayes_llm.derived.frontier.frontier_gain` averaged over the fits
        (:func:`bayes_llm.derived.averaging.averaged_frontier`), as rows ``<figure>_averaged``
        of kind ``"posterior (model-averaged)"`` right after their single-fit rows; the
        weights are in ``definition`` (and the table's context line), ``note`` says why
        a figure is undefined or flags a failed component, ``fit_diagnostics`` is every
        component fit's status and ``rhat`` / ``ess_*`` the worst across the weighted
        components.

    Returns
    -------
    DataFrame
        Columns :data:`HEADLINE_COLUMNS` (see the module docstring).
    """
    prob = C.HDI_PROB if hdi_prob is None else float(hdi_prob)
    kind = C.CI_KIND if ci_kind is None else str(ci_kind).lower()
    if draws is None:
        draws = headline_draws(fit, pairs=pairs, frontier_pair=frontier_pair,
                               frontier_model=frontier_model,
                               reference_log10_flop=reference_log10_flop,
                               reference_developer=reference_developer, top_k=top_k)
    diag = draw_diagnostics(draws)
    status = fit_status(fit)
    paper_values, other_values, paper_note, coding = {}, {}, "", ""
    if paper:
        fixed = tuple(draws.attrs["frontier_pair"].split(" -> ", 1))
        all_pairs = [fixed, *[tuple(p) for p in (pairs or [])]]
        if baseline is None and df is None:  # the OLS on the fit's own models: cached
            from bayes_llm.derived.fit_cache import cached_paper_columns

            paper_values, other_values, paper_note, coding = cached_paper_columns(
                fit, all_pairs, fixed, lambda: _paper_columns(fit, None, None, all_pairs, fixed))
        else:
            paper_values, other_values, paper_note, coding = _paper_columns(
                fit, baseline, df, all_pairs, fixed)
    primary_of = {v: k for k, v in PRIMARY.items()}
    level = interval_label(prob, kind)
    rows = []
    for fid in draws.data_vars:
        fid = str(fid)
        meta = HEADLINE_FIGURES.get(fid) or _extra_figure(fid)
        claim = PAPER_CLAIMS.get(meta.claim) if meta.claim else None
        summary = summarise_draws(draws[fid], log10=meta.unit == "multiplier",
                                  hdi_prob=prob, ci_kind=kind)
        p_claim = (_event_probability(draws, fid, Event("", claim.lower, claim.upper))
                   if claim is not None else float("nan"))
        rows.append({
            "figure": fid, "kind": "posterior", "label": meta.label,
            "definition": meta.definition, "unit": meta.unit,
            "estimate": summary["median"], "lower": summary["lower"],
            "upper": summary["upper"], "interval": level, "hdi_prob": prob,
            "ci_kind": kind,
            "paper_value": np.nan if draws[fid].attrs.get("note", "").startswith(
                "undefined") else paper_values.get(fid, np.nan),
            "paper_method_fit_coding": other_values.get(fid, np.nan),
            "paper_claim": claim.text if claim else "", "p_claim": p_claim,
            "primary_for": primary_of.get(fid, ""),
            "statement": meta.event.text if meta.event else "",
            "probability": _event_probability(draws, fid, meta.event),
            "rhat": diag.loc[fid, "rhat"], "ess_bulk": diag.loc[fid, "ess_bulk"],
            "ess_tail": diag.loc[fid, "ess_tail"], "fit_diagnostics": status,
            "note": draws[fid].attrs.get("note", "")})
    if shapley is None:
        shapley = shapley_reference(fit, n_boot=n_boot, n_null=n_null, seed=seed,
                                    cluster=cluster)
    averaged = None
    if curve_fits:
        averaged = averaged_frontier([fit, *curve_fits], curve_weights, top_k=top_k)
        rows += _averaged_rows(averaged, prob, kind)
    rows += _shapley_rows(fit, shapley, prob, paper_values, other_values)
    rows += _claim_rows()
    order: dict[str, float] = {fid: i for i, fid in enumerate(HEADLINE_FIGURES)}
    for base in FRONTIER_FIGURES.values():
        order[averaged_id(base)] = order[base] + 0.5
    after_frontier = order["frontier_reference_compute_share_explained"] + 0.5
    rows.sort(key=lambda r: order.get(r["figure"], after_frontier))
    table = pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))
    table.attrs.update(dict(draws.attrs))
    table.attrs.update({"paper_note": paper_note, "shapley_method": shapley.describe(),
                        "fit_diagnostics": status, "interval": level,
                        "paper_method_coding": coding,
                        "coding_flag": GROUP_CODING_FLAG if fit.spec.developer == "group"
                        else ""})
    if averaged is not None:
        table.attrs["model_average"] = (
            f"model-averaged rows: {weights_text(averaged)} "
            f"({averaged.attrs['weights_source']}); draws in the mixture: "
            + ", ".join(f"{n} {k}" for n, k in zip(averaged.attrs["specs"],
                                                   averaged.attrs["draws_per_fit"],
                                                   strict=True))
            + f"; component diagnostics: {mixture_status(averaged)}")
    return table


def _averaged_rows(mixed: xr.Dataset, prob: float, kind: str) -> list[dict]:
    """Rows of kind ``"posterior (model-averaged)"`` for a mixture of frontier figures."""
    weights = f"{weights_text(mixed)} ({mixed.attrs['weights_source']})"
    status = mixture_status(mixed)
    flagged = f"WARNING: mixture of a failed fit: {status}" if mixed.attrs["failed"] else ""
    rows = []
    for var, base in FRONTIER_FIGURES.items():
        if var not in mixed:
            continue
        meta = HEADLINE_FIGURES[base]
        values = mixed[var]
        why = mixed.attrs["notes"].get(var, "")
        defined = bool(np.all(np.isfinite(values.values)))
        if not defined and not why:
            why = "undefined: a component fit's figure is not finite"
        summary = summarise_draws(values, hdi_prob=prob, ci_kind=kind) if defined else \
            {"median": np.nan, "lower": np.nan, "upper": np.nan}
        claim = PAPER_CLAIMS.get(meta.claim) if meta.claim else None
        p_claim = (_event_probability(mixed, var, Event("", claim.lower, claim.upper))
                   if claim and defined else np.nan)
        rhat, ess_bulk, ess_tail = mixed.attrs["component_diagnostics"].get(
            var, (np.nan, np.nan, np.nan))
        rows.append({
            "figure": averaged_id(base), "kind": AVERAGED_KIND,
            "label": meta.label.replace(" (primary)", "") + ", model-averaged",
            "definition": f"{meta.definition}; mixture of the component fits' draws with "
            f"weights {weights}; R-hat/ESS: worst of the figure across the weighted "
            "component fits", "unit": meta.unit, "estimate": summary["median"],
            "lower": summary["lower"], "upper": summary["upper"],
            "interval": interval_label(prob, kind), "hdi_prob": prob, "ci_kind": kind,
            "paper_value": np.nan,
            "paper_method_fit_coding": np.nan, "paper_claim": claim.text if claim else "",
            "p_claim": p_claim, "primary_for": "",
            "statement": meta.event.text if meta.event else "",
            "probability": _event_probability(mixed, var, meta.event) if defined
            else np.nan, "rhat": rhat, "ess_bulk": ess_bulk, "ess_tail": ess_tail,
            "fit_diagnostics": status,
            "note": "; ".join(p for p in (why, flagged) if p)})
    return rows


def _band(values: np.ndarray, prob: float) -> tuple[float, float]:
    tail = 100 * (1 - prob) / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def _shapley_rows(fit: FitLike, ref: ShapleyReference, prob: float,
                  paper_values: dict, other_values: dict) -> list[dict]:
    flag = coding_flag(fit)
    rows = []
    null = ref.part("developer", "null")
    null_median = float(np.median(null))
    boot_dev = ref.part("developer", "boot")
    specs = [(f"shapley_{p}_share", ref.point[p], ref.part(p, "boot")) for p in
             ("compute", "period", "developer", "residual")]
    specs.append(("shapley_developer_share_null", null_median, null))
    specs.append(("shapley_developer_share_excess", ref.point["developer"] - null_median,
                  boot_dev - null_median))
    claim = PAPER_CLAIMS["company_share"]
    for fid, value, reps in specs:
        meta = HEADLINE_FIGURES[fid]
        lo, hi = _band(reps, prob)
        is_null = meta.kind == "null reference"
        interval = (f"{prob:.0%} central interval of {len(reps)} null replicates" if is_null
                    else f"{prob:.0%} percentile band, {len(reps)} developer-clustered "
                    "bootstrap replicates")
        note = [f"coding: {ref.coding}"] + ([flag] if flag and "developer" in fid else [])
        rows.append({
            "figure": fid, "kind": meta.kind, "label": meta.label,
            "definition": meta.definition, "unit": "share", "estimate": float(value),
            "lower": lo, "upper": hi, "interval": interval, "hdi_prob": prob,
            "ci_kind": "central" if is_null else "percentile",
            "paper_value": paper_values.get(fid, np.nan),
            "paper_method_fit_coding": other_values.get(fid, np.nan),
            "paper_claim": claim.text if meta.claim else "", "p_claim": np.nan,
            "primary_for": "", "statement": "", "probability": np.nan, "rhat": np.nan,
            "ess_bulk": np.nan, "ess_tail": np.nan, "fit_diagnostics": "n/a (not MCMC)",
            "note": "; ".join(note)})
    return rows


def _claim_rows() -> list[dict]:
    rows = []
    for key, claim in PAPER_CLAIMS.items():
        meta = HEADLINE_FIGURES[f"claim[{key}]"]
        rows.append({
            "figure": meta.id, "kind": "quoted claim", "label": meta.label,
            "definition": meta.definition, "unit": meta.unit, "estimate": np.nan,
            "lower": claim.lower, "upper": claim.upper, "interval": "claimed range",
            "hdi_prob": np.nan, "ci_kind": "",
            "paper_value": np.nan, "paper_method_fit_coding": np.nan,
            "paper_claim": claim.text, "p_claim": np.nan,
            "primary_for": "", "statement": f"primary definition: {PRIMARY.get(key, '')}",
            "probability": np.nan, "rhat": np.nan, "ess_bulk": np.nan, "ess_tail": np.nan,
            "fit_diagnostics": "", "note": "quoted from the paper"})
    return rows


# ------------------------------------------------------------------------- rendering
def _fmt(value: float, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a" if unit != "multiplier" or value is None or not math.isinf(value) \
            else "inf"
    if unit == "multiplier":
        if value >= 100:
            return f"{value:,.0f}x"
        return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"
    if unit == "accuracy":
        return f"{100 * value:+.1f} pts"
    if unit == "decades":
        return f"{value:+.2f} dec"
    if unit == "logit":
        return f"{value:.2f}"
    return f"{100 * value:.1f}%"


def _prob(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _num(value: float, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Format the headline table for people: kind, estimate, interval, paper, diagnostics."""
    frame = pd.DataFrame({
        "figure": table["figure"],
        "kind": table["kind"],
        "estimate": [_fmt(v, u) if k != "quoted claim" else "" for v, u, k in
                     zip(table["estimate"], table["unit"], table["kind"], strict=True)],
        "interval": [f"[{_fmt(lo, u)}, {_fmt(hi, u)}]" if np.isfinite(lo) else "undefined"
                     if k.startswith("posterior") else "" for lo, hi, u, k in
                     zip(table["lower"], table["upper"], table["unit"], table["kind"],
                         strict=True)],
        "paper": [_fmt(v, u) if np.isfinite(v) else "" for v, u in
                  zip(table["paper_value"], table["unit"], strict=True)],
    })
    coding = table.attrs.get("paper_method_coding", "")
    if table["paper_method_fit_coding"].notna().any():
        frame[f"paper method, {coding}"] = [
            _fmt(v, u) if np.isfinite(v) else "" for v, u in
            zip(table["paper_method_fit_coding"], table["unit"], strict=True)]
    frame["claim"] = table["paper_claim"].fillna("")
    frame["P(claim)"] = table["p_claim"].map(_prob)
    frame["primary"] = table["primary_for"].fillna("").map(lambda v: "primary" if v else "")
    frame["R-hat"] = table["rhat"].map(lambda v: _num(v, 3))
    frame["ESS bulk/tail"] = [f"{v:.0f}/{w:.0f}" if np.isfinite(v) and np.isfinite(w) else ""
                              for v, w in zip(table["ess_bulk"], table["ess_tail"],
                                              strict=True)]
    return frame


def _text_table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([fmt(cols).rstrip(), fmt(["-" * w for w in widths]).rstrip(),
                      *(fmt(r).rstrip() for r in rows)])


def _context_lines(table: pd.DataFrame) -> list[str]:
    a = table.attrs
    lines = []
    if a.get("spec"):
        lines.append(f"fit: {a['spec']} (MCMC diagnostics: {a.get('fit_diagnostics', 'n/a')})")
    if a.get("coding_flag"):
        lines.append(f"WARNING: {a['coding_flag']}")
    if a.get("interval"):
        lines.append(f"posterior rows: median and {a['interval']}; R-hat and ESS are those "
                     "of the derived quantity itself")
    if a.get("frontier_first"):
        lines.append(f"frontier (top {a.get('top_k')} per cohort): first [{a['frontier_first']}]"
                     f" -> last [{a['frontier_last']}]")
    if a.get("frontier_pair"):
        lines.append(f"frontier pair (A -> B): {a['frontier_pair']}")
    if a.get("frontier_model"):
        lines.append(f"frontier model vs reference: {a['frontier_model']} vs a model of "
                     f"10^{a['reference_log10_flop']:.2f} FLOP, first date window, "
                     f"{a['reference_developer']} developer")
    if a.get("shapley_method"):
        lines.append(f"sampling band / null reference: {a['shapley_method']}")
    if a.get("model_average"):
        lines.append(a["model_average"])
    if a.get("paper_note"):
        lines.append(a["paper_note"])
    lines.append("primary definitions: " + ", ".join(f"{k} -> {v}" for k, v in PRIMARY.items()))
    return lines


def headline_text(table: pd.DataFrame) -> str:
    """Plain-text rendering (what ``bayes-llm headline`` prints)."""
    out = ["Headline figures", *_context_lines(table), "",
           _text_table(display_frame(table))]
    notes = [f"- {f}: {n}" for f, n in zip(table["figure"], table["note"], strict=True)
             if n and n != "quoted from the paper"]
    if notes:
        out += ["", "Notes", *notes]
    return "\n".join(out) + "\n"


def headline_markdown(table: pd.DataFrame) -> str:
    """Markdown rendering: context, the formatted table, and every figure's definition."""
    out = ["# Headline figures", "", *(f"- {line}" for line in _context_lines(table)), "",
           markdown_table(display_frame(table)), "", "## Definitions", ""]
    for row in table.itertuples(index=False):
        out.append(f"- `{row.figure}` ({row.kind}): {row.label}. {row.definition}."
                   + (f" Note: {row.note}." if row.note else ""))
    return "\n".join(out) + "\n"


def write_headline(table: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``headline.csv`` and ``headline.md`` into ``out_dir``, each atomically.

    Returns
    -------
    list of Path
        The two files written.
    """
    out_dir = Path(out_dir)
    csv = table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return [write_text_atomic(out_dir / HEADLINE_CSV, csv),
            write_text_atomic(out_dir / HEADLINE_MARKDOWN, headline_markdown(table))]


__all__ = ["HEADLINE_COLUMNS", "HEADLINE_CSV", "HEADLINE_FIGURES", "HEADLINE_MARKDOWN",
           "KINDS", "PAIR_FIGURE_TEMPLATE", "PRIMARY", "REPORTED", "Event", "Figure",
           "cache_paper_columns", "display_frame", "draw_diagnostics", "fit_status",
           "headline_draws",
           "headline_markdown", "headline_table", "headline_text", "pair_figure_id",
           "write_headline"]
