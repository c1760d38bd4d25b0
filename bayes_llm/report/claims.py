"""Plain-language verdicts on the paper's headline claims, written from the posterior.

Every sentence is assembled from the numbers of one fit: the headline table
(:func:`bayes_llm.derived.headline_table`) and, for probabilities the table does not
carry (e.g. that shared progress is at least the paper's 7.5x), the per-draw figures
(:func:`bayes_llm.derived.headline_draws`). Nothing is canned except the paper's quoted
numbers themselves (:data:`QUOTED`), which are what the posterior is compared with.

Each claim has one pre-specified primary definition
(:data:`bayes_llm.derived.headline.PRIMARY`), stated before its number; the verdict is
that definition's posterior probability of the claim, never the maximum over
definitions. Every other definition is reported beside it, each with its own kind
(posterior, or the sampling band and null reference of the paper's OLS statistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm import constants
from bayes_llm.derived.headline import PRIMARY
from bayes_llm.derived.paper import PAPER_CLAIMS
from bayes_llm.formatting import fmt_multiplier


@dataclass(frozen=True)
class Quoted:
    """A number the paper quotes in words, and how the report names it."""

    value: float
    text: str


#: The paper's quoted numbers that the report checks (arXiv 2602.07238, abstract and
#: Section 4): ranges come from :data:`bayes_llm.derived.paper.PAPER_CLAIMS`.
QUOTED: dict[str, Quoted] = {
    "shared_progress": Quoted(7.5, "7.5x"),
    "max_developer": Quoted(61.0, "up to 61x"),
    "within_spread": Quoted(40.0, "40x"),
}
#: The claims, in report order: key -> short title.
CLAIM_TITLES: dict[str, str] = {
    "frontier_compute_share": "80-90% of frontier performance is due to compute",
    "company_share": "14-18% of performance differences are company-specific",
    "shared_progress": "Shared algorithmic progress is worth 7.5x compute",
    "max_developer": "Developer efficiency ('secret sauce') is worth up to 61x compute",
    "within_spread": "A 40x efficiency spread within companies",
}


@dataclass(frozen=True)
class ClaimVerdict:
    """What the posterior says about one claim."""

    key: str
    title: str
    verdict: str
    text: str
    probability: float


def _pct(v: float) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.0f}%"





def _p(v: float) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.2f}"


def verdict_word(probability: float) -> str:
    """Turn a posterior probability that a claim holds into a verdict.

    ``>= 0.9`` supported, ``>= 0.5`` more likely than not, ``>= 0.1`` doubtful, else
    not supported; NaN is "not assessable".
    """
    if probability is None or not math.isfinite(probability):
        return "not assessable"
    if probability >= 0.9:
        return "supported"
    if probability >= 0.5:
        return "more likely than not"
    if probability >= 0.1:
        return "doubtful"
    return "not supported"


def _position(row, lower: float, upper: float, fmt) -> str:
    """Where the interval of ``row`` lies relative to ``[lower, upper]``."""
    lo, hi = row["lower"], row["upper"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "the interval is not available"
    if lo > upper:
        return f"the whole interval lies above {fmt(upper)}"
    if hi < lower:
        return f"the whole interval lies below {fmt(lower)}"
    if lo >= lower and hi <= upper:
        return "the whole interval lies inside the claimed range"
    return "the interval overlaps the claimed range"


def _row(table: pd.DataFrame, figure: str):
    rows = table[table["figure"] == figure]
    return None if rows.empty else rows.iloc[0]


def _interval(row, fmt) -> str:
    if not math.isfinite(row["estimate"]):
        return "undefined" + (f" ({row['note']})" if str(row.get("note", "")) else "")
    kind = row.get("kind", "posterior")
    level = row.get("interval", "")
    if kind == "posterior":
        what = level if isinstance(level, str) and level else \
            f"{constants.HDI_PROB:.0%} {constants.CI_KIND.upper()}"
    else:
        prob = level.split("%")[0] + "%" if isinstance(level, str) and "%" in level else \
            f"{constants.HDI_PROB:.0%}"
        what = f"{prob} {kind}"
    return (f"{fmt(row['estimate'])} ({what} "
            f"{fmt(row['lower'])} to {fmt(row['upper'])})")


def _paper(row, fmt) -> str:
    v = row.get("paper_value", float("nan"))
    return (f"; the paper reported {fmt(v)} (its OLS, recomputed)"
            if v is not None and math.isfinite(v) else "")


def _prob(draws: xr.Dataset | None, figure: str, threshold: float) -> float:
    if draws is None or figure not in draws:
        return float("nan")
    values = np.asarray(draws[figure], float)
    if not np.all(np.isfinite(values)):
        return float("nan")
    return float(np.mean(values >= threshold))


def _primary_row(table: pd.DataFrame, claim: str):
    return _row(table, PRIMARY[claim])


def _beside(table: pd.DataFrame, figures: list[tuple[str, str]], fmt, claim=None) -> str:
    """One clause per secondary definition present: its words, number and P(claim)."""
    parts = []
    for fid, words in figures:
        row = _row(table, fid)
        if row is None:
            continue
        text = f"{words}: {_interval(row, fmt)}"
        if claim is not None and math.isfinite(row.get("p_claim", float("nan"))):
            text += f", P({claim.text}) = {_p(row['p_claim'])}"
        parts.append(text)
    return "; ".join(parts)


def _frontier(table: pd.DataFrame) -> ClaimVerdict | None:
    claim = PAPER_CLAIMS["frontier_compute_share"]
    a = _primary_row(table, "frontier_compute_share")
    if a is None:
        return None
    first = table.attrs.get("frontier_first", "the first cohort's best models")
    last = table.attrs.get("frontier_last", "the last cohort's best models")
    p = a["p_claim"]
    parts = [f"Primary definition (pre-specified): the frontier's gain in accuracy from the "
             f"first to the last cohort (best models: {first} -> {last}) against the "
             f"counterfactual gain had frontier compute stayed where it started; the share "
             f"due to scaling is {_interval(a, _pct)}; "
             + (f"{_position(a, claim.lower, claim.upper, _pct)}, P({claim.text}) = {_p(p)}."
                if math.isfinite(a["estimate"]) else "so the claim cannot be assessed.")]
    decades = _beside(table, [("frontier_decades_compute", "scaling"),
                              ("frontier_decades_period", "shared progress"),
                              ("frontier_decades_developer", "developer effects"),
                              ("frontier_decades_model", "model-level effects")],
                      lambda v: "n/a" if not math.isfinite(v) else f"{v:+.2f}")
    if decades:
        parts.append("Additive decomposition of the frontier's latent gain in "
                     f"compute-equivalent decades (no ratio): {decades}.")
    others = _beside(table, [
        ("frontier_pair_compute_share", f"the paper's Table 1 pair "
         f"{table.attrs.get('frontier_pair', '')}"),
        ("frontier_pair_compute_share_explained", "the same pair, explained part only"),
        ("frontier_reference_compute_share", "the last frontier model against a reference "
         "model of the first cohort")], _pct, claim)
    if others:
        parts.append(f"Other definitions, beside it (not used for the verdict): {others}.")
    word = verdict_word(p)
    if math.isfinite(a["estimate"]) and a["lower"] > claim.upper:
        word += "; compute's share is larger than claimed"
    elif math.isfinite(a["estimate"]) and a["upper"] < claim.lower:
        word += "; compute's share is smaller than claimed"
    return ClaimVerdict("frontier_compute_share", CLAIM_TITLES["frontier_compute_share"],
                        word, " ".join(parts), p)


def _company(table: pd.DataFrame, coding: str | None) -> ClaimVerdict | None:
    claim = PAPER_CLAIMS["company_share"]
    a = _primary_row(table, "company_share")
    if a is None:
        return None
    p = a["p_claim"]
    words = {"group": "the paper's 13 developer groups (compute bins among them: not "
                      "companies; reproduction only)",
             "developer": "every developer string as its own company",
             "nested": "developers nested in the paper's groups"}
    parts = [f"Primary definition (pre-specified): the superpopulation share of "
             f"between-developer variance on the latent scale (Nakagawa & Schielzeth 2013), "
             f"with {words.get(coding or '', 'this fit’s developer coding')}: "
             f"{_interval(a, _pct)}; {_position(a, claim.lower, claim.upper, _pct)}, "
             f"P({claim.text}) = {_p(p)}."]
    others = _beside(table, [
        ("variance_developer_share", "the finite-population variance partition across "
         "models (Gelman 2005)"),
        ("variance_developer_own_share", "of which the developer block's own variance"),
        ("variance_developer_cov_compute_share", "and its covariance with compute"),
        ("bayes_r2_developer_increment", "Bayesian R² gained by the developer block "
         "(Gelman et al. 2019)")], _pct, claim)
    if others:
        parts.append(f"Other definitions, beside it: {others}.")
    shap = _row(table, "shapley_developer_share")
    null = _row(table, "shapley_developer_share_null")
    excess = _row(table, "shapley_developer_share_excess")
    if shap is not None:
        paper = _paper(shap, _pct)
        if paper and coding != "group":
            paper += " with its 13 groups"
        text = (f"The paper's own statistic (Shapley split of the OLS R², a statistic of the "
                f"data, not a posterior) is {_interval(shap, _pct)} with this coding{paper}")
        if null is not None:
            text += (f"; with no developer effect at all it would be {_interval(null, _pct)}")
        if excess is not None:
            text += f", so the excess over its null level is {_interval(excess, _pct)}"
        parts.append(text + ".")
    return ClaimVerdict("company_share", CLAIM_TITLES["company_share"], verdict_word(p),
                        " ".join(parts), p)


def _shared(table: pd.DataFrame, draws: xr.Dataset | None) -> ClaimVerdict | None:
    row = _row(table, "shared_progress_multiplier")
    if row is None:
        return None
    q = QUOTED["shared_progress"]
    p_at_least = _prob(draws, "shared_progress_multiplier", q.value)
    p_pos = row["probability"]
    inside = row["lower"] <= q.value <= row["upper"]
    text = (f"Shared algorithmic progress from the first to the last period is worth "
            f"{_interval(row, fmt_multiplier)} training compute"
            f"{_paper(row, fmt_multiplier)}. The paper's {q.text} "
            f"is {'inside' if inside else 'outside'} the interval; P(at least {q.text}) = "
            f"{_p(p_at_least)} and P(any progress, > 1x) = {_p(p_pos)}.")
    verdict = (verdict_word(p_pos) + " that progress is shared" if math.isfinite(p_pos)
               else "not assessable")
    verdict += "; " + ("its size is consistent with 7.5x" if inside else "its size differs")
    return ClaimVerdict("shared_progress", CLAIM_TITLES["shared_progress"], verdict, text,
                        p_pos)


def _developer(table: pd.DataFrame, draws: xr.Dataset | None) -> ClaimVerdict | None:
    rows = table[table["figure"].str.startswith("developer_multiplier[")]
    rows = rows[np.isfinite(rows["estimate"].astype(float))]
    if rows.empty:
        return None
    q = QUOTED["max_developer"]
    best = rows.sort_values("estimate", ascending=False).iloc[0]
    name = best["figure"][len("developer_multiplier["):-1]
    paper_best = rows.sort_values("paper_value", ascending=False).iloc[0]
    paper_name = paper_best["figure"][len("developer_multiplier["):-1]
    p_max = float("nan")
    if draws is not None:
        ids = [f for f in rows["figure"] if f in draws]
        stacked = np.stack([np.asarray(draws[f], float).ravel() for f in ids])
        if np.all(np.isfinite(stacked)):
            p_max = float(np.mean(stacked.max(axis=0) >= q.value))
    n_above = int((rows["probability"] >= 0.9).sum())
    text = (f"The most efficient developer group is {name}, worth {_interval(best, fmt_multiplier)} "
            f"the compute of the reference group{_paper(best, fmt_multiplier)}")
    if paper_name != name and math.isfinite(paper_best["paper_value"]):
        text += f" (the paper's OLS ranks {paper_name} first, at {fmt_multiplier(paper_best['paper_value'])})"
    text += (f". The posterior probability that any group's factor reaches {q.text.replace('up to ', '')} "
             f"is {_p(p_max)}; {n_above} of {len(rows)} groups are better than the reference "
             f"with probability at least 0.9.")
    verdict = (f"{verdict_word(p_max)} at {q.text.replace('up to ', '')}; developer effects "
               f"themselves are {'clear' if n_above else 'not clearly established'}")
    return ClaimVerdict("max_developer", CLAIM_TITLES["max_developer"], verdict, text, p_max)


def _within(table: pd.DataFrame) -> ClaimVerdict | None:
    row = _primary_row(table, "within_spread")
    if row is None or not math.isfinite(row["estimate"]):
        return None
    p = row["probability"]
    text = (f"Primary definition (pre-specified): model-level effects centred within their "
            f"developer (developers with one model left out). Within the major developers, "
            f"a model at the 90th percentile of efficiency needs {_interval(row, fmt_multiplier)}"
            f" less compute than one at the 10th for the same score; P(more than 40x) = "
            f"{_p(p)}.")
    paper = _row(table, "within_spread_multiplier")
    others = _beside(table, [
        ("within_spread_multiplier", "Not centred (the paper's definition, which under "
         "partial pooling mixes in part of the developer effect)")], fmt_multiplier)
    if others and paper is not None:
        others += _paper(paper, fmt_multiplier)
    model_based = _beside(table, [("within_spread_model_based_multiplier",
                                   "implied by sigma_model")], fmt_multiplier)
    others = "; ".join(x for x in (others, model_based) if x)
    if others:
        text += f" {others}."
    return ClaimVerdict("within_spread", CLAIM_TITLES["within_spread"], verdict_word(p), text, p)


def claim_verdicts(table: pd.DataFrame, draws: xr.Dataset | None = None, *,
                   developer_coding: str | None = None) -> list[ClaimVerdict]:
    """Assess each of the paper's headline claims from a headline table.

    Parameters
    ----------
    table : DataFrame
        From :func:`bayes_llm.derived.headline_table`.
    draws : Dataset, optional
        The per-draw figures of the same fit (:func:`bayes_llm.derived.headline_draws`),
        for probabilities the table does not hold.
    developer_coding : str, optional
        The fit's ``spec.developer`` ("group", "developer", "nested"), named in the
        company-share verdict.

    Returns
    -------
    list of ClaimVerdict
        In :data:`CLAIM_TITLES` order; claims whose figures are missing are left out.
    """
    out = [_frontier(table), _company(table, developer_coding), _shared(table, draws),
           _developer(table, draws), _within(table)]
    return [v for v in out if v is not None]


__all__ = ["CLAIM_TITLES", "QUOTED", "ClaimVerdict", "claim_verdicts", "verdict_word"]
