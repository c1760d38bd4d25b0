"""The headline table: every figure of the paper with a posterior band and the paper's value.

:func:`headline_draws` computes every headline figure per posterior draw;
:func:`headline_table` summarises them (posterior median, interval at
:data:`bayes_llm.constants.HDI_PROB`, probability statements) next to the paper's value of
the same figure (its OLS estimator, via :mod:`bayes_llm.derived.paper`) and the paper's
quoted claims; :func:`write_headline` exports CSV and Markdown atomically.

Figure ids (:data:`HEADLINE_FIGURES`) are stable across fits and variants, so sensitivity
studies can line tables up by the ``figure`` column. A figure that cannot be computed for a
fit (e.g. a model of the default pair is outside the sample, a group is absent) keeps its
row with NaN values and a ``note``. Extra pairs (``pairs=``) add rows named by
:data:`PAIR_FIGURE_TEMPLATE`.

Which fit gives which coding: a fit with ``developer = "group"`` (e.g. ``paper_mirror``,
``logit_normal_groups``) gives the company share under the paper's 13 groups; a fit with
``developer = "developer"`` (e.g. ``binomial_developers``) under every developer string
pooled. The group multipliers are comparable under both (see
:func:`bayes_llm.derived.multipliers.group_multipliers`).
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
from bayes_llm.constants import CI_KIND, DEFAULT_SEED, HDI_PROB
from bayes_llm.data.grouping import paper_group_order
from bayes_llm.derived.frontier import (
    default_frontier_pair,
    default_reference_compute,
    frontier_models,
    pair_decomposition,
    pair_label,
    reference_decomposition,
)
from bayes_llm.derived.multipliers import group_multipliers, shared_progress, within_spread
from bayes_llm.derived.paper import PAPER_CLAIMS, ols_point_fit, paper_ols
from bayes_llm.derived.shapley_band import shapley_draws
from bayes_llm.derived.summary import (
    FitLike,
    broadcast_like_draws,
    probability,
    stacked_components,
    summarise_draws,
)
from bayes_llm.derived.variance import variance_partition
from bayes_llm.errors import BayesLLMError
from bayes_llm.formatting import markdown_table


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
    """A headline figure: stable id, plain-language label, definition, scale, claim, event."""

    id: str
    label: str
    definition: str
    unit: str
    event: Event
    claim: str | None = None


_AT_LEAST_80 = Event("P(share >= 0.8)", lower=0.8)
_POSITIVE = Event("P(share > 0)", lower=0.0, strict=True)
_ABOVE_ONE = Event("P(multiplier > 1)", lower=1.0, strict=True)
_PAIR_DEF = ("change in latent logit score from the first cohort's best model (A) to the last "
             "cohort's best model (B): ")
_REF_DEF = ("gain of the last period's best model over a reference model (median compute of "
            "the first period's models, first period, average developer, zero model "
            "effect): ")


def _frontier_figures() -> list[Figure]:
    out = []
    for comp, word in (("compute", "scaling (compute)"), ("period", "shared progress"),
                       ("developer", "developer effect"), ("model", "model-level effect")):
        out.append(Figure(
            f"frontier_pair_{comp}_share",
            f"Frontier progress A->B due to {word}",
            _PAIR_DEF + f"Delta {comp} component / Delta latent score (shares of the four "
            "components sum to one; the paper's Table 1)",
            "share", _AT_LEAST_80 if comp == "compute" else _POSITIVE,
            "frontier_compute_share" if comp == "compute" else None))
    for comp, word in (("compute", "scaling (compute)"), ("period", "shared progress"),
                       ("developer", "developer effect")):
        out.append(Figure(
            f"frontier_pair_{comp}_share_explained",
            f"Frontier progress A->B due to {word}, explained part only",
            _PAIR_DEF + f"Delta {comp} / (Delta compute + Delta period + Delta developer); "
            "model-level effect left out",
            "share", _AT_LEAST_80 if comp == "compute" else _POSITIVE,
            "frontier_compute_share" if comp == "compute" else None))
    out.append(Figure(
        "frontier_reference_compute_share",
        "Frontier model's gain over a reference model due to compute",
        _REF_DEF + "compute part / total gain",
        "share", _AT_LEAST_80, "frontier_compute_share"))
    out.append(Figure(
        "frontier_reference_compute_share_explained",
        "Frontier model's gain over a reference model due to compute, explained part only",
        _REF_DEF + "compute part / (compute + period + developer parts)",
        "share", _AT_LEAST_80, "frontier_compute_share"))
    return out


def _share_figures(prefix: str, method: str, last: str) -> list[Figure]:
    company = f"{prefix}_developer_share"
    words = {"compute": "compute", "period": "shared (period) progress",
             "developer": "developer effects (company share)",
             last: "model-level effects" if last == "model" else "unexplained (residual)"}
    events = {"compute": Event("P(compute share > company share)", versus=company),
              "period": Event("P(period share > company share)", versus=company),
              "developer": Event("P(share >= 0.14)", lower=0.14),
              last: Event("P(share >= 0.5)", lower=0.5)}
    return [Figure(f"{prefix}_{part}_share", f"Share of performance variance: {words[part]}",
                   f"{method} ({part})", "share", events[part],
                   "company_share" if part == "developer" else None)
            for part in ("compute", "period", "developer", last)]


def _multiplier_figures() -> list[Figure]:
    out = [
        Figure("shared_progress_multiplier", "Shared algorithmic progress, compute-equivalent",
               "10^((gamma_last - gamma_first) / beta): last vs first period", "multiplier",
               _ABOVE_ONE),
        Figure("within_spread_multiplier",
               "Within-developer efficiency spread (majors' models), compute-equivalent",
               "10^((p90 - p10 of the model-level effects of the 10 major developers' "
               "models) / beta)", "multiplier",
               Event("P(multiplier > 40)", lower=40.0, strict=True), "within_spread"),
    ]
    for group in paper_group_order():
        if group == C.PAPER_BASE_GROUP:
            continue
        out.append(Figure(
            f"developer_multiplier[{group}]",
            f"{group}'s efficiency vs {C.PAPER_BASE_GROUP}, compute-equivalent",
            f"10^((u_{group} - u_{C.PAPER_BASE_GROUP}) / beta); a group's u is the mean "
            "developer effect of its models", "multiplier", _ABOVE_ONE))
    return out


_SHAPLEY_METHOD = ("Shapley split of the R^2 of the paper's OLS (compute, period dummies, "
                   "developer dummies), Bayesian bootstrap over models")
_VARIANCE_METHOD = ("hierarchical model: Cov(component, latent score) / Var(latent score) "
                    "across models, per draw")

#: Every fixed headline figure by id, in table order. Ids are stable; the developer
#: multipliers cover the paper's 12 non-reference groups (majors, Other Med/Large).
HEADLINE_FIGURES: dict[str, Figure] = {f.id: f for f in [
    *_frontier_figures(),
    *_share_figures("shapley", _SHAPLEY_METHOD, "residual"),
    *_share_figures("variance", _VARIANCE_METHOD, "model"),
    *_multiplier_figures(),
]}
#: Id of the figures of extra pairs (``pairs=`` of :func:`headline_draws`): ``component``
#: one of compute, period, developer, model; ``suffix`` is ``""`` (definition a) or
#: ``"_explained"`` (definition b, not for ``model``); ``pair`` is ``"A -> B"``.
PAIR_FIGURE_TEMPLATE: str = "pair_{component}_share{suffix}[{pair}]"
#: Columns of :func:`headline_table`, in order.
HEADLINE_COLUMNS: tuple[str, ...] = (
    "figure", "label", "definition", "unit", "paper_value", "paper_claim", "p_claim",
    "posterior_median", "hdi_lower", "hdi_upper", "hdi_prob", "ci_kind", "statement",
    "probability", "note")
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


def _pair_figures(dec: xr.Dataset, pair: str, *, fixed: bool) -> dict[str, xr.DataArray]:
    out = {}
    for fid, comp, explained in _pair_figure_ids(pair, fixed=fixed):
        var = "explained_share" if explained else "share"
        out[fid] = dec[var].sel(pair=pair, component=comp, drop=True)
    return out


def headline_draws(fit: FitLike, *, pairs: Sequence[tuple[str, str]] | None = None,
                   frontier_pair: tuple[str, str] | None = None,
                   frontier_model: str | None = None,
                   reference_log10_flop: float | None = None,
                   reference_developer: str = "mean",
                   seed: int = DEFAULT_SEED, cluster: str | None = None,
                   bootstrap: bool = True) -> xr.Dataset:
    """Every headline figure per draw.

    Parameters
    ----------
    fit : FitLike
        A fit (or the paper's OLS as a one-draw pseudo-fit).
    pairs : sequence of (model_id, model_id), optional
        Extra pairs A -> B for the pairwise decomposition (rows
        :data:`PAIR_FIGURE_TEMPLATE`).
    frontier_pair : (str, str), optional
        The pair of the ``frontier_pair_*`` figures; default
        :func:`bayes_llm.derived.frontier.default_frontier_pair` (first cohort's best ->
        last cohort's best: Llama-2-70B -> GPT-4.5 on the paper's data).
    frontier_model : str, optional
        The model of the ``frontier_reference_*`` figures; default the last period's
        best-scoring model.
    reference_log10_flop : float, optional
        The reference model's compute; default the median of the first period's models.
    reference_developer : str
        The reference model's developer effect: ``"mean"`` (default) or a unit.
    seed : int
        Seed of the Bayesian bootstrap of the Shapley split.
    cluster : str, optional
        Cluster the bootstrap by this column of ``fit.models`` (e.g. ``developer_group``).
    bootstrap : bool
        ``False``: the Shapley split at equal weights (the paper's point value) on every
        draw.

    Returns
    -------
    Dataset
        One ``(chain, draw)`` variable per figure id (each with ``label``, ``definition``,
        ``unit`` and, when it could not be computed, ``note`` attributes); attributes
        record the pair, frontier model and reference used.
    """
    comps = stacked_components(fit)
    beta = fit.dt["posterior"]["beta"]
    template = broadcast_like_draws(0.0, beta)
    figures: dict[str, xr.DataArray] = {}
    notes: dict[str, str] = {}
    frontier_pair = tuple(frontier_pair) if frontier_pair else default_frontier_pair(fit)
    fixed_label = pair_label(*frontier_pair)
    all_pairs = [frontier_pair, *[tuple(p) for p in (pairs or [])]]
    known = set(fit.models["model_id"].astype(str))
    for i, pair in enumerate(all_pairs):
        label = pair_label(*pair)
        if not set(pair) <= known:
            for fid, _, _ in _pair_figure_ids(label, fixed=i == 0):
                figures[fid] = _nan_like(template)
                notes[fid] = f"pair {label}: model(s) not in the fit"
            continue
        dec = pair_decomposition(fit, [pair], components=comps)
        figures.update(_pair_figures(dec, label, fixed=i == 0))
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
        figures[ref_ids[0]] = ref["share"].sel(model=frontier_model, component="compute",
                                               drop=True)
        figures[ref_ids[1]] = ref["explained_share"].sel(model=frontier_model,
                                                         component="compute", drop=True)
    else:
        for fid in ref_ids:
            figures[fid] = _nan_like(template)
            notes[fid] = f"model {frontier_model} not in the fit"
    shap = shapley_draws(fit, bootstrap=bootstrap, seed=seed, cluster=cluster)
    for part in shap["block"].values:
        figures[f"shapley_{part}_share"] = shap["share"].sel(block=part, drop=True)
    var = variance_partition(fit, components=comps)
    for part in var["component"].values:
        figures[f"variance_{part}_share"] = var["share"].sel(component=part, drop=True)
    units = fit.models.get("developer_unit")
    if units is not None and units.nunique() < 2:
        for fid in ("shapley_developer_share", "variance_developer_share"):  # issue 13
            figures[fid] = _nan_like(template)
            notes[fid] = ("undefined: the data have one developer, so there is no "
                          "between-developer variation to attribute")
    figures["shared_progress_multiplier"] = shared_progress(fit)
    try:
        figures["within_spread_multiplier"] = within_spread(fit, components=comps)
    except BayesLLMError as exc:
        figures["within_spread_multiplier"] = _nan_like(template)
        notes["within_spread_multiplier"] = str(exc)
    groups = group_multipliers(fit, components=comps) if "developer_effect" in \
        fit.dt["posterior"] else None
    for fid in HEADLINE_FIGURES:
        if not fid.startswith("developer_multiplier["):
            continue
        group = fid[len("developer_multiplier["):-1]
        if groups is None:
            figures[fid] = _nan_like(template)
            notes[fid] = "the fit has no developer effects"
        elif group not in groups["developer_group"].values or \
                groups.attrs["reference"] != C.PAPER_BASE_GROUP:
            figures[fid] = _nan_like(template)
            notes[fid] = (f"group {group} or the reference {C.PAPER_BASE_GROUP} is not in "
                          "the fit")
        else:
            figures[fid] = groups.sel(developer_group=group, drop=True)
    ordered = [f for f in HEADLINE_FIGURES if f in figures]
    ordered += [f for f in figures if f not in HEADLINE_FIGURES]
    ds = xr.Dataset({fid: _clean(figures[fid], template) for fid in ordered})
    for fid in ordered:
        meta = HEADLINE_FIGURES.get(fid) or _extra_figure(fid)
        ds[fid].attrs = {"label": meta.label, "definition": meta.definition,
                         "unit": meta.unit, **({"note": notes[fid]} if fid in notes else {})}
    ds.attrs.update({"spec": fit.spec.name, "frontier_pair": fixed_label,
                     "frontier_model": frontier_model,
                     "reference_log10_flop": float(reference_log10_flop),
                     "reference_developer": reference_developer,
                     "shapley_method": shap.attrs["method"], "shapley_seed": int(seed),
                     "shapley_cluster": cluster or ""})
    return ds


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
    return Figure(fid, label, definition, "share", event)


def _clean(da: xr.DataArray, template: xr.DataArray) -> xr.DataArray:
    """Drop stray scalar coordinates and order dims as ``(chain, draw)``."""
    da = da.reset_coords(drop=True).transpose("chain", "draw")
    return da.astype(float).assign_coords({d: template.coords[d] for d in ("chain", "draw")})


def _event_probability(ds: xr.Dataset, fid: str, event: Event) -> float:
    values = ds[fid]
    if not np.all(np.isfinite(values)):
        return float("nan")
    if event.versus is not None:
        other = ds[event.versus]
        return probability(values > other) if np.all(np.isfinite(other)) else float("nan")
    low = values > event.lower if event.strict else values >= event.lower
    return probability(low & (values <= event.upper))


def headline_table(fit: FitLike, *, baseline: object | None = None,
                   pairs: Sequence[tuple[str, str]] | None = None,
                   frontier_pair: tuple[str, str] | None = None,
                   frontier_model: str | None = None,
                   reference_log10_flop: float | None = None,
                   reference_developer: str = "mean",
                   seed: int = DEFAULT_SEED, cluster: str | None = None,
                   paper: bool = True, df: pd.DataFrame | None = None,
                   draws: xr.Dataset | None = None) -> pd.DataFrame:
    """One row per headline figure: paper value, posterior median, interval, probabilities.

    Parameters
    ----------
    fit : FitLike
        A Bayesian fit.
    baseline : BaselineResults or OLSFit, optional
        The paper's OLS baseline to take the paper values from; default: run it on
        ``fit.models`` (or ``df``) with the fit's period, outcome and developer coding.
    pairs, frontier_pair, frontier_model, reference_log10_flop, reference_developer, seed, cluster
        As in :func:`headline_draws`.
    paper : bool
        Compute the paper's values (``False``: leave ``paper_value`` NaN).
    df : DataFrame, optional
        Full canonical table for the on-the-fly baseline (the fit's sample is applied).
    draws : Dataset, optional
        Precomputed :func:`headline_draws` of ``fit`` (then the options above only affect
        the paper values).

    Returns
    -------
    DataFrame
        Columns :data:`HEADLINE_COLUMNS`: ``figure`` (stable id), ``label``,
        ``definition``, ``unit`` (share or multiplier), ``paper_value`` (the paper's OLS
        estimator of the figure), ``paper_claim`` and ``p_claim`` (the paper's quoted range
        from :data:`bayes_llm.derived.paper.PAPER_CLAIMS` and its posterior probability),
        ``posterior_median``, ``hdi_lower``, ``hdi_upper`` (at ``hdi_prob`` =
        :data:`HDI_PROB`; multipliers' intervals are computed on the log10 scale),
        ``ci_kind``, ``statement`` and its ``probability``, and ``note``.
    """
    options = {"pairs": pairs, "frontier_pair": frontier_pair,
               "frontier_model": frontier_model,
               "reference_log10_flop": reference_log10_flop,
               "reference_developer": reference_developer}
    if draws is None:
        draws = headline_draws(fit, seed=seed, cluster=cluster, **options)
    paper_values: dict[str, float] = {}
    paper_note = ""
    if paper:
        ols = paper_ols(fit, baseline, df=df)
        point = ols_point_fit(ols, fit.spec)
        pair = tuple(draws.attrs["frontier_pair"].split(" -> ", 1))
        pdraws = headline_draws(
            point, bootstrap=False, pairs=pairs, frontier_pair=pair,
            frontier_model=draws.attrs["frontier_model"],
            reference_log10_flop=draws.attrs["reference_log10_flop"],
            reference_developer=reference_developer)
        paper_values = {fid: float(pdraws[fid].values.reshape(-1)[0]) for fid in pdraws}
        paper_note = (f"paper value: the paper's OLS estimator of each figure ({ols.nobs} "
                      f"models; {ols.spec.period} and '{ols.spec.developers}' fixed effects)")
    rows = []
    for fid in draws.data_vars:
        fid = str(fid)
        meta = HEADLINE_FIGURES.get(fid) or _extra_figure(fid)
        claim = PAPER_CLAIMS.get(meta.claim) if meta.claim else None
        summary = summarise_draws(draws[fid], log10=meta.unit == "multiplier")
        p_claim = float("nan")
        if claim is not None:
            p_claim = _event_probability(draws, fid, Event("", claim.lower, claim.upper))
        note = draws[fid].attrs.get("note", "")
        rows.append({
            "figure": fid, "label": meta.label, "definition": meta.definition,
            "unit": meta.unit, "paper_value": float("nan") if note.startswith("undefined")
            else paper_values.get(fid, float("nan")),
            "paper_claim": claim.text if claim else "", "p_claim": p_claim,
            "posterior_median": summary["median"], "hdi_lower": summary["lower"],
            "hdi_upper": summary["upper"], "hdi_prob": HDI_PROB, "ci_kind": CI_KIND,
            "statement": meta.event.text,
            "probability": _event_probability(draws, fid, meta.event),
            "note": note})
    table = pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))
    table.attrs.update({k: v for k, v in draws.attrs.items()})
    table.attrs["paper_note"] = paper_note
    return table


# ------------------------------------------------------------------------- rendering
def _fmt(value: float, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "multiplier":
        if value >= 100:
            return f"{value:,.0f}x"
        return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"
    return f"{100 * value:.1f}%"


def _prob(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.2f}"


def display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Format the headline table for people: percentages, multipliers, intervals."""
    level = f"{HDI_PROB:.0%} {CI_KIND.upper()}"
    return pd.DataFrame({
        "figure": table["figure"],
        "paper": [_fmt(v, u) for v, u in zip(table["paper_value"], table["unit"],
                                            strict=True)],
        "claim": table["paper_claim"].fillna(""),
        "P(claim)": table["p_claim"].map(_prob),
        "median": [_fmt(v, u) for v, u in zip(table["posterior_median"], table["unit"],
                                             strict=True)],
        level: [f"[{_fmt(lo, u)}, {_fmt(hi, u)}]" for lo, hi, u in
                zip(table["hdi_lower"], table["hdi_upper"], table["unit"], strict=True)],
        "statement": table["statement"],
        "P": table["probability"].map(_prob),
    })


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
        lines.append(f"fit: {a['spec']}")
    if a.get("frontier_pair"):
        lines.append(f"frontier pair (A -> B): {a['frontier_pair']}")
    if a.get("frontier_model"):
        lines.append(f"frontier model vs reference: {a['frontier_model']} vs a model of "
                     f"10^{a['reference_log10_flop']:.2f} FLOP, first period, "
                     f"{a['reference_developer']} developer")
    if a.get("shapley_method"):
        lines.append(f"Shapley band: {a['shapley_method']} (seed {a['shapley_seed']}"
                     + (f", clustered by {a['shapley_cluster']}" if a.get("shapley_cluster")
                        else "") + ")")
    if a.get("paper_note"):
        lines.append(a["paper_note"])
    return lines


def headline_text(table: pd.DataFrame) -> str:
    """Plain-text rendering (what ``bayes-llm headline`` prints)."""
    out = ["Headline figures", *_context_lines(table), "",
           _text_table(display_frame(table))]
    notes = [f"- {f}: {n}" for f, n in zip(table["figure"], table["note"], strict=True) if n]
    if notes:
        out += ["", "Notes", *notes]
    return "\n".join(out) + "\n"


def headline_markdown(table: pd.DataFrame) -> str:
    """Markdown rendering: context, the formatted table, and every figure's definition."""
    out = ["# Headline figures", "", *(f"- {line}" for line in _context_lines(table)), "",
           markdown_table(display_frame(table)), "", "## Definitions", ""]
    for row in table.itertuples(index=False):
        out.append(f"- `{row.figure}`: {row.label}. {row.definition}."
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
           "PAIR_FIGURE_TEMPLATE", "Event", "Figure", "display_frame", "headline_draws",
           "pair_figure_id",
           "headline_markdown", "headline_table", "headline_text", "write_headline"]
