"""The baseline's tidy results: tables, a plain-language summary, Markdown and exports."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayes_llm.atomic import write_text_atomic
from bayes_llm.baseline.ols import CONFIDENCE_LEVEL, OUTCOMES, BaselineSpec, OLSFit
from bayes_llm.data.samples import SampleReport
from bayes_llm.formatting import fmt_multiplier, markdown_table

#: Files written by :meth:`BaselineResults.export` (table attribute -> file name).
EXPORT_TABLES: dict[str, str] = {
    "coefficients": "coefficients.csv",
    "shapley": "shapley.csv",
    "multipliers": "multipliers.csv",
    "pairwise": "pairwise.csv",
    "thresholds": "thresholds.csv",
    "threshold_paths": "threshold_paths.csv",
}
MARKDOWN_FILE: str = "baseline.md"
#: Float format of the CSV exports (enough digits to round-trip the reported figures).
CSV_FLOAT_FORMAT: str = "%.10g"


def _num(value: float, digits: int = 3) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"





def _pct(value: float, digits: int = 1) -> str:
    return "" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def _scope_words(scope: str) -> str:
    return {"all": "among all developers", "majors": "among the major developers"}.get(
        scope, f"among {scope}")





def _text_table(frame: pd.DataFrame) -> str:
    """Render a frame of strings as an aligned plain-text table."""
    cols = [str(c) for c in frame.columns]
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    numeric = [bool(rows) and all(_looks_numeric(r[i]) for r in rows) for i in range(len(cols))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    return "\n".join([fmt(cols), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _looks_numeric(text: str) -> bool:
    """Whether a formatted cell is a number, multiplier, percentage or interval."""
    return text in {"", "n/a"} or text.lstrip("-[")[:1].isdigit()


@dataclass
class BaselineResults:
    """Everything the frequentist baseline reports, as tidy tables.

    Attributes
    ----------
    spec : BaselineSpec
        The regression that was run.
    sample_report : SampleReport
        Which models were kept and why others were excluded.
    nobs, n_clusters : int
        Number of models and of clusters of the standard errors.
    beta, beta_se, r2 : float
        Compute slope, its clustered SE, and R².
    level : float
        Confidence level of every interval.
    coefficients : DataFrame
        One row per coefficient: estimate, clustered SE, t, p, interval.
    shapley : DataFrame
        Shapley split of the variance over compute, period and developer blocks plus the
        residual (``share_of_variance`` sums to 1; ``share_of_r2`` to 1 over the blocks).
    multipliers : DataFrame
        Compute-equivalent multipliers with intervals (see
        :func:`bayes_llm.baseline.multipliers.multiplier_table`).
    pairwise : DataFrame
        Pairwise progress decomposition, one row per pair and component.
    thresholds : DataFrame
        Threshold-compute declines, one row per scope and threshold.
    threshold_paths : DataFrame
        The monthly running-minimum paths behind ``thresholds``.
    notes : list of str
        Anything skipped or worth flagging.
    fit : OLSFit
        The underlying statsmodels fit (not exported).

    """

    spec: BaselineSpec
    sample_report: SampleReport
    nobs: int
    n_clusters: int
    beta: float
    beta_se: float
    r2: float
    level: float
    coefficients: pd.DataFrame
    shapley: pd.DataFrame
    multipliers: pd.DataFrame
    pairwise: pd.DataFrame
    thresholds: pd.DataFrame
    threshold_paths: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    fit: OLSFit | None = field(default=None, repr=False, compare=False)

    # ----------------------------------------------------------------- look-ups
    def multiplier(self, kind: str, label: str | None = None) -> float:
        """Return the point multiplier of one row of :attr:`multipliers` (first match)."""
        rows = self.multipliers[self.multipliers["kind"] == kind]
        if label is not None:
            rows = rows[rows["label"] == label]
        if rows.empty:
            raise KeyError(f"no multiplier of kind '{kind}'" + (f" labelled '{label}'"
                                                                 if label else ""))
        return float(rows["multiplier"].iloc[0])

    def shapley_share(self, block: str) -> float:
        """Share of the total variance attributed to ``block`` (or ``residual``)."""
        rows = self.shapley[self.shapley["block"] == block]
        return float(rows["share_of_variance"].iloc[0])

    # ------------------------------------------------------------------ summary
    def summary(self) -> str:
        """One paragraph in plain language."""
        spec = self.spec
        outcome_label = OUTCOMES[spec.outcome][2]
        dev_word = "developer groups" if spec.developers == "groups" else "developers"
        parts = [
            f"On the '{spec.sample}' sample ({self.nobs} models; outcome: logit of "
            f"{outcome_label}), each tenfold increase in training compute raises the logit "
            f"score by {self.beta:.3f} (SE {self.beta_se:.3f}, clustered by "
            f"{self.n_clusters} developer groups), and compute, {spec.period} and "
            f"{dev_word} together explain {_pct(self.r2)} of the variance."
        ]
        shares = {r.block: r.share_of_variance for r in self.shapley.itertuples()}
        if shares:
            parts.append(
                f"Of the total variance, compute accounts for {_pct(shares['compute'])}, "
                f"shared {spec.period} effects for {_pct(shares['period'])} and "
                f"{dev_word} for {_pct(shares['developer'])}, leaving "
                f"{_pct(shares['residual'])} unexplained.")
        shared = self.multipliers[self.multipliers["kind"] == "shared_progress"]
        if not shared.empty:
            row = shared.iloc[0]
            parts.append(
                f"Shared algorithmic progress ({row['label']}) is worth "
                f"{fmt_multiplier(row['multiplier'])} training compute ({self.level:.0%} CI "
                f"{fmt_multiplier(row['ci_low'])} to {fmt_multiplier(row['ci_high'])}).")
        devs = self.multipliers[self.multipliers["kind"] == "developer"]
        if not devs.empty:
            best = devs.sort_values(["multiplier", "label"], ascending=[False, True]).iloc[0]
            parts.append(
                f"Relative to {best['reference']}, the largest developer advantage is "
                f"{best['label']}'s, worth {fmt_multiplier(best['multiplier'])} compute "
                f"(CI {fmt_multiplier(best['ci_low'])} to {fmt_multiplier(best['ci_high'])}).")
        spread = self.multipliers[self.multipliers["kind"] == "within_spread"]
        if not spread.empty and math.isfinite(spread["multiplier"].iloc[0]):
            parts.append(
                f"Among the major developers' models, a model at the 90th percentile of "
                f"efficiency needs {fmt_multiplier(spread['multiplier'].iloc[0])} less compute than "
                f"one at the 10th for the same score.")
        for threshold, rows in self.thresholds.groupby("threshold", sort=True):
            bits = [f"{fmt_multiplier(r.decline)} {_scope_words(r.scope)} (since {r.first_month})"
                    for r in rows.itertuples() if math.isfinite(r.decline)]
            if bits:
                parts.append(
                    f"The minimum compute needed to reach a score of {100 * threshold:g}% fell "
                    f"{' and '.join(bits)} to {rows['end_month'].iloc[0]}.")
        return " ".join(parts)

    # ------------------------------------------------------------ display tables
    def _display_tables(self) -> list[tuple[str, pd.DataFrame]]:
        level = f"{self.level:.0%}"
        coef = pd.DataFrame({
            "term": self.coefficients["term"],
            "estimate": self.coefficients["estimate"].map(_num),
            "SE (cluster)": self.coefficients["std_error"].map(_num),
            "t": self.coefficients["t_value"].map(lambda v: _num(v, 2)),
            "p": self.coefficients["p_value"].map(_num),
            f"{level} CI": [f"[{_num(lo)}, {_num(hi)}]" for lo, hi in
                            zip(self.coefficients["ci_low"], self.coefficients["ci_high"],
                                strict=True)],
        })
        shap = pd.DataFrame({
            "block": self.shapley["label"],
            "share of variance": self.shapley["share_of_variance"].map(_pct),
            "share of R2": self.shapley["share_of_r2"].map(_pct),
        })
        mult = pd.DataFrame({
            "kind": self.multipliers["kind"],
            "label": self.multipliers["label"],
            "vs": self.multipliers["reference"],
            "n": self.multipliers["n_models"].astype(int).astype(str),
            "multiplier": self.multipliers["multiplier"].map(fmt_multiplier),
            f"{level} CI": [f"[{fmt_multiplier(lo)}, {fmt_multiplier(hi)}]" for lo, hi in
                            zip(self.multipliers["ci_low"], self.multipliers["ci_high"],
                                strict=True)],
        })
        pair = pd.DataFrame({
            "pair": self.pairwise["pair"],
            "component": self.pairwise["component"],
            "d logit": self.pairwise["value"].map(_num),
            "share": self.pairwise["share"].map(_pct),
            "pp of score": self.pairwise["contribution_pp"].map(lambda v: _num(v, 1)),
            "total d logit": self.pairwise["delta_y"].map(_num),
            "total pp": (self.pairwise["delta_score"] * 100).map(lambda v: _num(v, 1)),
        })
        thr = pd.DataFrame({
            "scope": self.thresholds["scope"],
            "threshold": self.thresholds["threshold"].map(lambda v: f"{100 * v:g}%"),
            "models reaching": self.thresholds["n_models_reaching"].astype(int).astype(str),
            "first month": self.thresholds["first_month"],
            "first min log10 C": self.thresholds["first_log10_flop"].map(_num),
            "end month": self.thresholds["end_month"],
            "end min log10 C": self.thresholds["end_log10_flop"].map(_num),
            "decline": self.thresholds["decline"].map(fmt_multiplier),
            "cheapest model at end": self.thresholds["end_model"],
        })
        return [
            ("Coefficients (OLS, SEs clustered by developer group)", coef),
            ("Shapley decomposition of the variance", shap),
            ("Compute-equivalent multipliers", mult),
            ("Pairwise progress decomposition", pair),
            ("Minimum compute to reach a score threshold", thr),
        ]

    def _header_lines(self) -> list[str]:
        spec = self.spec
        return [
            f"sample: {spec.sample} | period: {spec.period} | outcome: {spec.outcome} "
            f"({OUTCOMES[spec.outcome][2]}) | developers: {spec.developers}",
            str(self.sample_report),
            f"beta (log10 FLOP) = {self.beta:.3f}, clustered SE = {self.beta_se:.3f}, "
            f"R2 = {self.r2:.3f}, N = {self.nobs}, clusters = {self.n_clusters}",
        ]

    def to_text(self, max_rows: int | None = 60) -> str:
        """Readable plain-text report (what ``bayes-llm baseline`` prints).

        Parameters
        ----------
        max_rows : int, optional
            Longest table shown in full; longer tables are cut with a note.

        """
        out = ["Frequentist baseline (OLS)", *self._header_lines(), ""]
        for title, table in self._display_tables():
            out.append(title)
            shown = table
            if max_rows is not None and len(table) > max_rows:
                shown = table.head(max_rows)
            out.append(_text_table(shown) if not table.empty else "(none)")
            if len(shown) < len(table):
                out.append(f"... {len(table) - len(shown)} more rows in the CSV export")
            out.append("")
        out += ["Summary", self.summary()]
        if self.notes:
            out += ["", "Notes", *(f"- {n}" for n in self.notes)]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        """Render the full report as Markdown."""
        out = ["# Frequentist baseline (OLS)", "", *(f"- {line}" for line in
                                                      self._header_lines()), "",
               "## Summary", "", self.summary(), ""]
        for title, table in self._display_tables():
            out += [f"## {title}", "",
                    markdown_table(table) if not table.empty else "(none)", ""]
        if self.notes:
            out += ["## Notes", "", *(f"- {n}" for n in self.notes), ""]
        return "\n".join(out)

    def export(self, directory: str | os.PathLike) -> list[Path]:
        """Write every table as CSV and the report as Markdown, each file atomically.

        Parameters
        ----------
        directory : path
            Output folder (created if needed). Existing files of the same names are
            replaced; other files are left alone.

        Returns
        -------
        list of Path
            The files written.

        """
        directory = Path(directory)
        written = []
        for attr, name in EXPORT_TABLES.items():
            text = getattr(self, attr).to_csv(index=False, float_format=CSV_FLOAT_FORMAT,
                                              lineterminator="\n")
            written.append(write_text_atomic(directory / name, text))
        written.append(write_text_atomic(directory / MARKDOWN_FILE, self.to_markdown()))
        return written


def shapley_table(values: dict[str, float], r2: float, spec: BaselineSpec) -> pd.DataFrame:
    """Tidy Shapley table: the three blocks and the residual."""
    dev_label = ("developer-group dummies" if spec.developers == "groups"
                 else "developer dummies")
    labels = {"compute": "compute (log10 FLOP)", "period": f"{spec.period} dummies",
              "developer": dev_label}
    rows = [{"block": name, "label": labels.get(name, name), "share_of_variance": value,
             "share_of_r2": value / r2 if r2 else float("nan")}
            for name, value in values.items()]
    rows.append({"block": "residual", "label": "residual (1 - R2)",
                 "share_of_variance": 1.0 - r2, "share_of_r2": float("nan")})
    return pd.DataFrame(rows, columns=["block", "label", "share_of_variance", "share_of_r2"])


__all__ = ["CONFIDENCE_LEVEL", "BaselineResults", "shapley_table"]
