"""Plain-language verdicts on the paper's headline claims, written from the posterior.

Every sentence is assembled from the numbers of one fit: the headline table
(:func:`bayes_llm.derived.headline_table`) and, for probabilities the table does not
carry (e.g. that shared progress is at least the paper's 7.5x), the per-draw figures
(:func:`bayes_llm.derived.headline_draws`). Nothing is canned except the paper's quoted
numbers themselves (:data:`QUOTED`), which are what the posterior is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
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
    lo, hi = row["hdi_lower"], row["hdi_upper"]
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
    return (f"{fmt(row['posterior_median'])} ({HDI_PROB:.0%} {CI_KIND.upper()} "
            f"{fmt(row['hdi_lower'])} to {fmt(row['hdi_upper'])})")


def _paper(row, fmt) -> str:
    v = row["paper_value"]
    return f"; the paper's OLS estimator gives {fmt(v)}" if math.isfinite(v) else ""


def _prob(draws: xr.Dataset | None, figure: str, threshold: float) -> float:
    if draws is None or figure not in draws:
        return float("nan")
    values = np.asarray(draws[figure], float)
    if not np.all(np.isfinite(values)):
        return float("nan")
    return float(np.mean(values >= threshold))


def _frontier(table: pd.DataFrame) -> ClaimVerdict | None:
    claim = PAPER_CLAIMS["frontier_compute_share"]
    a = _row(table, "frontier_pair_compute_share")
    b = _row(table, "frontier_pair_compute_share_explained")
    c = _row(table, "frontier_reference_compute_share")
    if a is None:
        return None
    pair = str(table.attrs.get("frontier_pair", "the first cohort's best model to the last's"))
    parts = [f"From {pair}, the share of the gain in latent score due to compute is "
             f"{_interval(a, _pct)}{_paper(a, _pct)}; {_position(a, claim.lower, claim.upper, _pct)}"
             f" and P({claim.text}) = {_p(a['p_claim'])}."]
    probs = [a["p_claim"]]
    if b is not None:
        parts.append(f"Counting only the part the model explains (leaving out the model-level "
                     f"effect), it is {_interval(b, _pct)}, P({claim.text}) = "
                     f"{_p(b['p_claim'])}.")
        probs.append(b["p_claim"])
    if c is not None and math.isfinite(c["posterior_median"]):
        parts.append(f"Measured against a reference model of the first period, the frontier "
                     f"model's gain is {_interval(c, _pct)} due to compute, P({claim.text}) = "
                     f"{_p(c['p_claim'])}.")
        probs.append(c["p_claim"])
    finite = [p for p in probs if math.isfinite(p)]
    best = max(finite) if finite else float("nan")
    medians = {comp: _row(table, f"frontier_pair_{comp}_share")
               for comp in ("compute", "period", "developer", "model")}
    medians = {k: float(r["posterior_median"]) for k, r in medians.items() if r is not None}
    top = max(medians, key=medians.get) if medians else ""
    if medians:
        parts.append(f"Of the four components of that gain, {top} has the largest median share "
                     f"({_pct(medians[top])}).")
    finite = [p for p in probs if math.isfinite(p)]
    best = max(finite) if finite else float("nan")
    above = [r for r in (a, b, c) if r is not None and math.isfinite(r["hdi_lower"])
             and r["hdi_lower"] > claim.upper]
    parts.append(f"The highest probability of the claimed range across these definitions is "
                 f"{_p(best)}, so the 80-90% range is {verdict_word(best)}"
                 + ("; where it misses, compute's share is larger than claimed, not smaller"
                    if above and not any(r is not None and r["hdi_upper"] < claim.lower
                                         for r in (a, b, c)) else "")
                 + ".")
    word = verdict_word(best) + " as a range"
    if top == "compute":
        word += "; compute is the largest contributor"
    return ClaimVerdict("frontier_compute_share", CLAIM_TITLES["frontier_compute_share"],
                        word, " ".join(parts), best)


def _company(table: pd.DataFrame, coding: str | None) -> ClaimVerdict | None:
    claim = PAPER_CLAIMS["company_share"]
    shap = _row(table, "shapley_developer_share")
    var = _row(table, "variance_developer_share")
    if shap is None and var is None:
        return None
    parts, probs = [], []
    if shap is not None:
        parts.append(f"By the paper's own statistic (Shapley split of R² with a Bayesian-"
                     f"bootstrap band), developers account for {_interval(shap, _pct)} of the "
                     f"variance{_paper(shap, _pct)}; {_position(shap, claim.lower, claim.upper, _pct)}, "
                     f"P({claim.text}) = {_p(shap['p_claim'])}.")
        probs.append(shap["p_claim"])
    if var is not None:
        parts.append(f"The hierarchical model's own variance partition puts the developer share "
                     f"at {_interval(var, _pct)}; {_position(var, claim.lower, claim.upper, _pct)}, "
                     f"P({claim.text}) = {_p(var['p_claim'])}.")
        probs.append(var["p_claim"])
    finite = [p for p in probs if math.isfinite(p)]
    best = max(finite) if finite else float("nan")
    words = {"group": "the paper's 13 developer groups",
             "developer": "every developer string as its own unit",
             "nested": "developers nested in the paper's groups"}
    parts.append(f"With {words.get(coding or '', 'this fit’s developer coding')} the claim is "
                 f"{verdict_word(best)}.")
    return ClaimVerdict("company_share", CLAIM_TITLES["company_share"], verdict_word(best),
                        " ".join(parts), best)


def _shared(table: pd.DataFrame, draws: xr.Dataset | None) -> ClaimVerdict | None:
    row = _row(table, "shared_progress_multiplier")
    if row is None:
        return None
    q = QUOTED["shared_progress"]
    p_at_least = _prob(draws, "shared_progress_multiplier", q.value)
    p_pos = row["probability"]
    inside = row["hdi_lower"] <= q.value <= row["hdi_upper"]
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
    rows = rows[np.isfinite(rows["posterior_median"].astype(float))]
    if rows.empty:
        return None
    q = QUOTED["max_developer"]
    best = rows.sort_values("posterior_median", ascending=False).iloc[0]
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
    row = _row(table, "within_spread_multiplier")
    if row is None or not math.isfinite(row["posterior_median"]):
        return None
    p = row["probability"]
    text = (f"Within the major developers, a model at the 90th percentile of efficiency "
            f"needs {_interval(row, fmt_multiplier)} less compute than one at the 10th for the same "
            f"score{_paper(row, fmt_multiplier)}; P(more than 40x) = {_p(p)}.")
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
