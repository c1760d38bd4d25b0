"""Build the report of a saved fit: data, model, diagnostics, checks, headline, plots.

:func:`build_report` gathers everything into a :class:`Report` (sections of paragraphs,
tables, preformatted text and figures); :meth:`Report.to_html` renders one
self-contained HTML file (figures embedded as base64 PNG, styles inline, no external
assets), :meth:`Report.to_markdown` a Markdown summary that links the PNG files, and
:meth:`Report.write` writes both with the figures and the tables behind them into a folder,
atomically (:func:`bayes_llm.atomic.atomic_directory`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayes_llm.atomic import atomic_directory
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.derived.summary import interval_label, interval_setting, resolve_interval
from bayes_llm.errors import BayesLLMError
from bayes_llm.formatting import markdown_table
from bayes_llm.model.fit import RESULT_FILES
from bayes_llm.report import figure_worker
from bayes_llm.report.figure_worker import make_fit_figure

#: File names inside the report folder.
REPORT_HTML: str = "report.html"
REPORT_MARKDOWN: str = "report.md"
FIGURES_DIR: str = "figures"
#: Section ids and titles, in report order.
SECTIONS: dict[str, str] = {
    "summary": "What the posterior says about the paper's claims",
    "data": "Data",
    "model": "Model, priors and prior predictive check",
    "diagnostics": "MCMC diagnostics",
    "predictive": "Posterior predictive checks",
    "headline": "Headline figures",
    "results": "Results figures",
    "provenance": "Provenance",
}
#: Figure keys, the section each belongs to, and its title.
FIGURES: dict[str, tuple[str, str]] = {
    "data_overview": ("data", "MMLU-Pro score vs training compute, by period"),
    "prior_predictive": ("model", "Prior predictive check on the accuracy scale"),
    "trace": ("diagnostics", "Traces and marginal posteriors by chain"),
    "rank": ("diagnostics", "Rank plots by chain"),
    "posterior_predictive": ("predictive", "Posterior predictive check (new models)"),
    "ppc_dist": ("predictive", "Posterior predictive density of accuracy (ArviZ)"),
    "score_vs_compute": ("results", "Score vs compute: posterior curves by period"),
    "developer_effects": ("results", "Developer efficiency factors (secret sauce)"),
    "frontier_decomposition": ("results", "Decomposition of progress between model pairs"),
    "variance_shares": ("results", "Shares of performance variance"),
}
#: Boolean sample-filter columns absent from a fit's saved ``models.csv`` (all models in
#: the fit passed the filter, so they are ``True`` there).
_FILTER_COLUMNS = ("on_hf_leaderboard", "has_full_token_count")


@dataclass
class ReportFigure:
    """A rendered figure: key, title, caption and PNG bytes."""

    key: str
    title: str
    caption: str
    png: bytes

    @property
    def file_name(self) -> str:
        """File name of the PNG in the report folder."""
        return f"{self.key}.png"


@dataclass
class Section:
    """A report section: an id, a title and blocks in order.

    Blocks are ``("p", text)``, ``("pre", text)``, ``("table", caption, DataFrame, name)``
    and ``("figure", ReportFigure)``; a table's ``name`` is the stem of its CSV file (or
    ``None``: made from the caption; or the name of a table in :attr:`Report.tables` that
    it shows, rounded, so the CSV is written once).
    """

    id: str
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def p(self, text: str) -> None:
        """Add a paragraph."""
        self.blocks.append(("p", text))

    def pre(self, text: str) -> None:
        """Add preformatted text."""
        self.blocks.append(("pre", text))

    def table(self, caption: str, frame: pd.DataFrame, name: str | None = None) -> None:
        """Add a table (``name``: the stem of its CSV file, see the class docstring)."""
        self.blocks.append(("table", caption, frame, name))

    def figure(self, fig: ReportFigure) -> None:
        """Add a figure."""
        self.blocks.append(("figure", fig))


@dataclass
class Report:
    """A built report: sections, the tables to export, and any problems met.

    Attributes
    ----------
    title : str
        Report title.
    sections : list of Section
        In :data:`SECTIONS` order.
    tables : dict of str to DataFrame
        Tables written as CSV next to the report (``headline``, predictive summaries...).
    problems : list of str
        Parts that could not be produced (each also stated in the report).
    timings : dict of str to float
        Seconds spent on each step of :func:`build_report` (for the benchmark).
    fit_status : tuple of (bool, str)
        The fit's diagnostic status, written into every exported table.
    diagnostics_ok : bool, optional
        The diagnostics section's verdict (gate and rank tests); ``None`` before it ran.
    exports : dict of str to bytes
        Further files of the report folder (``parameter_summary.csv``,
        ``headline_draws.nc``), by name.
    """

    title: str
    sections: list[Section]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fit_status: tuple[bool, str] = (True, "not applicable")
    exports: dict[str, bytes] = field(default_factory=dict)
    diagnostics_ok: bool | None = None
    data_source: str = ""
    #: Figures being drawn by :mod:`bayes_llm.report.figure_worker`, with the recipe to
    #: draw each here if the worker fails: key -> (placeholder figure, recipe).
    pending: dict[str, tuple[ReportFigure, Callable]] = field(default_factory=dict,
                                                             repr=False)
    #: The keys the worker draws (empty: every figure is drawn here, in order).
    offloaded: frozenset[str] = frozenset()
    #: How the figures were drawn (``""``: all in this process).
    figure_worker: str = ""
    #: The joint six-benchmark fit's own diagnostic status when its section was added
    #: (``build_report(..., joint=DIR)``); ``None`` without it.
    joint_status: tuple[bool, str] | None = None

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Record the seconds spent inside the block under ``step``."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - t

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the report by file stem: :attr:`tables`, then each section's.

        A section's table is named ``<section id>_<caption as a slug>``; tables already in
        :attr:`tables` under another name are not repeated.
        """
        out = dict(self.tables)
        seen = {id(t) for t in out.values()}
        for s in self.sections:
            for block in s.blocks:
                if block[0] != "table" or id(block[2]) in seen:
                    continue
                given = block[3] if len(block) > 3 else None
                if given in self.tables:
                    continue
                slug = given or f"{s.id}_" + re.sub(r"[^a-z0-9]+", "_",
                                                     block[1].lower()).strip("_")[:40]
                name, i = slug, 2
                while name in out:
                    name, i = f"{slug}_{i}", i + 1
                out[name] = block[2]
                seen.add(id(block[2]))
        return out

    @property
    def figures(self) -> list[ReportFigure]:
        """Every figure, in order."""
        return [b[1] for s in self.sections for b in s.blocks if b[0] == "figure"]

    def section(self, section_id: str) -> Section:
        """Return the section with id ``section_id``."""
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    # ------------------------------------------------------------------ HTML
    def to_html(self) -> str:
        """Render a self-contained HTML document (inline CSS, base64 PNG figures)."""
        out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
               f"<title>{html.escape(self.title)}</title>", f"<style>{_CSS}</style>",
               "</head>", "<body>", f"<h1>{html.escape(self.title)}</h1>", '<nav><ul>']
        out += [f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in self.sections]
        out.append("</ul></nav>")
        for s in self.sections:
            out.append(f'<section id="{s.id}">')
            out.append(f"<h2>{html.escape(s.title)}</h2>")
            for block in s.blocks:
                out.append(_html_block(block))
            out.append("</section>")
        out += ["</body>", "</html>"]
        return "\n".join(out) + "\n"

    # -------------------------------------------------------------- Markdown
    def to_markdown(self) -> str:
        """Render a Markdown summary; figures link ``figures/<key>.png``."""
        out = [f"# {self.title}", ""]
        for s in self.sections:
            out += [f"## {s.title}", ""]
            for block in s.blocks:
                kind = block[0]
                if kind == "p":
                    out += [block[1], ""]
                elif kind == "pre":
                    out += ["```", block[1].rstrip("\n"), "```", ""]
                elif kind == "table":
                    out += [f"**{block[1]}**", "", markdown_table(block[2]), ""]
                else:
                    fig = block[1]
                    out += [f"![{fig.title}]({FIGURES_DIR}/{fig.file_name})", "",
                            f"*{fig.title}.* {fig.caption}", ""]
        return "\n".join(out)

    # ----------------------------------------------------------------- write
    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write the report folder atomically and return the files written.

        The folder holds ``report.html``, ``report.md``, ``figures/*.png``, one CSV per
        table of the report (:meth:`all_tables`, each with the fit's diagnostic status in
        columns ``fit_diagnostics_ok`` and ``fit_diagnostics``) and :attr:`exports`. An
        existing report folder is replaced; an existing non-empty folder that is not a
        report is refused.

        Raises
        ------
        BayesLLMError
            ``out_dir`` is a non-empty folder without a ``report.html``.
        """
        out_dir = Path(out_dir)
        if out_dir.exists() and (not out_dir.is_dir() or (
                any(out_dir.iterdir()) and not (out_dir / REPORT_HTML).is_file())):
            raise BayesLLMError(f"{out_dir}: exists and is not a report folder; refusing to "
                                "replace it (choose another --out)")
        names = []
        with atomic_directory(out_dir) as tmp:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # a temporary folder is private; a report is not
            (tmp / REPORT_HTML).write_text(self.to_html(), encoding="utf-8")
            (tmp / REPORT_MARKDOWN).write_text(self.to_markdown(), encoding="utf-8")
            names += [REPORT_HTML, REPORT_MARKDOWN]
            (tmp / FIGURES_DIR).mkdir()
            for fig in self.figures:
                (tmp / FIGURES_DIR / fig.file_name).write_bytes(fig.png)
                names.append(f"{FIGURES_DIR}/{fig.file_name}")
            ok, status = self.fit_status
            for name, frame in self.all_tables().items():
                frame = frame.copy()
                frame["fit_diagnostics_ok"], frame["fit_diagnostics"] = ok, status
                frame.to_csv(tmp / f"{name}.csv", index=False, float_format="%.10g",
                             lineterminator="\n")
                names.append(f"{name}.csv")
            for name, data in self.exports.items():
                (tmp / name).write_bytes(data)
                names.append(name)
        return [out_dir / n for n in names]


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1150px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
nav ul{columns:2;font-size:.95em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0 1.2em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0}caption{caption-side:top;text-align:left;font-weight:bold;
padding:4px 0}pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto;
font-size:.8em}figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}.problem{color:#a00}
"""


def _html_block(block: tuple) -> str:
    kind = block[0]
    if kind == "p":
        return f"<p>{html.escape(block[1])}</p>"
    if kind == "pre":
        return f"<pre>{html.escape(block[1])}</pre>"
    if kind == "table":
        frame = block[2].copy()
        body = frame.to_html(index=False, border=0, escape=True, na_rep="",
                             float_format=lambda v: f"{v:.4g}")
        body = body.replace('<table class="dataframe">',
                            f"<table><caption>{html.escape(block[1])}</caption>", 1)
        return body
    fig: ReportFigure = block[1]
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<figure id="fig-{fig.key}"><img alt="{html.escape(fig.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption><b>{html.escape(fig.title)}.'
            f"</b> {html.escape(fig.caption)}</figcaption></figure>")





# --------------------------------------------------------------------- inputs
def find_fit_dir(run_dir: str | os.PathLike) -> Path:
    """Locate the saved fit in ``run_dir``.

    ``run_dir`` may be a fit folder itself (written by ``bayes-llm fit``), or a run
    folder holding one in a ``fit/`` sub-folder or in exactly one sub-folder.

    Raises
    ------
    BayesLLMError
        No fit folder, or several candidates.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BayesLLMError(f"{run_dir}: no such run folder")

    def is_fit(p: Path) -> bool:
        return (p / RESULT_FILES[0]).is_file() and (p / "spec.toml").is_file()

    if is_fit(run_dir):
        return run_dir
    if is_fit(run_dir / "fit"):
        return run_dir / "fit"
    found = sorted(p for p in run_dir.iterdir() if p.is_dir() and is_fit(p))
    if len(found) == 1:
        return found[0]
    if not found:
        raise BayesLLMError(f"{run_dir}: no saved fit found (a folder with {RESULT_FILES[0]} "
                            "and spec.toml, as written by 'bayes-llm fit')")
    raise BayesLLMError(f"{run_dir}: several saved fits ({', '.join(p.name for p in found)}); "
                        "pass one of them")


def models_frame(fit) -> pd.DataFrame:
    """Rebuild a canonical-enough table from a fit's saved models (for the checks).

    Sample-filter columns missing from ``models.csv`` are set ``True`` (every saved model
    passed the fit's filter).
    """
    frame = fit.models.copy()
    for col in _FILTER_COLUMNS:
        if col not in frame:
            frame[col] = True
    for col in ("is_major", "compute_is_estimate"):
        if col in frame:
            frame[col] = frame[col].astype(bool)
    return frame


def _load(fit_dir: Path, df: pd.DataFrame | None):
    """Load the fit against ``df`` when given; otherwise try the paper's data."""
    from bayes_llm.model import load_fit
    from bayes_llm.model.fit import POINTWISE_GROUPS  # the report never reads them

    if df is not None:
        return (load_fit(fit_dir, df=df, omit=POINTWISE_GROUPS), df,
                "the data given (checked against the fit's hash)")
    fit = load_fit(fit_dir, omit=POINTWISE_GROUPS)
    try:
        from bayes_llm.data import load_paper_dataset
        from bayes_llm.model.design import prepare_data

        paper = load_paper_dataset()
        if prepare_data(paper, fit.spec).data_hash == fit.metadata.get("data_hash"):
            from bayes_llm.location import data_location

            return fit, paper, (f"the paper's dataset {paper.attrs.get('source_file', '')} "
                                f"({data_location().describe()}; matches the fit's data hash)")
    except Exception:  # noqa: BLE001 - any failure: fall back to the saved models
        pass
    return fit, None, ("the models saved with the fit (the full dataset was not available "
                       "or differs from the fit's data)")


# ---------------------------------------------------------------------- build
def _figure(report: Report, key: str, caption: str, make: Callable) -> ReportFigure | None:
    section_id, title = FIGURES[key]
    if key in report.offloaded:  # drawn by the worker; its place in the section is kept
        fig = ReportFigure(key, title, caption, b"")
        report.pending[key] = (fig, make)
        report.section(section_id).figure(fig)
        return fig
    png = _render(report, key, make)
    if png is None:
        return None
    fig = ReportFigure(key, title, caption, png)
    report.section(section_id).figure(fig)
    return fig


def _render(report: Report, key: str, make: Callable) -> bytes | None:
    """Draw and render one figure here; a failure is reported (in its section), not fatal."""
    from bayes_llm.plots._style import close, figure_png

    try:
        with report.timed(f"figure {key}"):
            fig = make()
            png = figure_png(fig)
            close(fig)
    except Exception as exc:  # noqa: BLE001 - a figure that fails is reported, not fatal
        msg = f"figure '{key}' could not be drawn: {type(exc).__name__}: {exc}"
        report.problems.append(msg)
        report.section(FIGURES[key][0]).p("Problem: " + msg)
        return None
    return png


def _collect_worker_figures(report: Report, worker) -> str:
    """Put the worker's figures in their places; draw here any it could not.

    Returns why the worker failed as a whole (``""`` when it did not).
    """
    with report.timed("waiting for the figure worker"):
        results, failure = worker.results()
    for key, (fig, make) in report.pending.items():
        png = results.get(key)
        if not isinstance(png, bytes):  # the worker failed (on this figure or at all)
            png = _render(report, key, make)
        if png is None:
            section = report.section(FIGURES[key][0])
            section.blocks = [b for b in section.blocks if not (b[0] == "figure"
                                                                and b[1] is fig)]
        else:
            fig.png = png
    report.pending.clear()
    return failure


def priors_used(spec) -> list[str]:
    """Names of the priors (:data:`bayes_llm.model.spec.DEFAULT_PRIORS`) a spec's model uses.

    The same list as the prior-sensitivity study's (options' priors included).
    """
    from bayes_llm.sensitivity.study import used_priors

    return used_priors(spec)


def _prior_table(spec) -> pd.DataFrame:
    from bayes_llm.model.spec import DEFAULT_PRIORS

    rows = []
    for name in priors_used(spec):
        prior = spec.prior(name)
        rows.append({"parameter": name, "prior": prior.describe(),
                     "set by": "spec" if name in spec.priors else "default",
                     "reason (default)": DEFAULT_PRIORS[name][1]})
    return pd.DataFrame(rows)


def _spec_lines(spec) -> list[str]:
    dev = {"group": "the paper's 13 developer groups", "developer": "every developer string",
           "nested": "developers nested in the paper's 13 groups", "none": "none"}
    lik = {"binomial": ("binomial on the number of correct answers, with the guessing floor "
                        "and a model-level latent effect"),
           "logit_normal": "normal on the logit of the guess-corrected score (as the paper)",
           "student_t": "Student-t on the logit of the guess-corrected score"}
    return [
        f"Spec '{spec.name}': {spec.description}",
        f"Likelihood: {lik[spec.likelihood]}. Outcome: {spec.outcome}; sample: {spec.sample}.",
        f"Periods: {spec.period} ({spec.period_effect} effects). Developer units: "
        f"{dev[spec.developer]} ({spec.developer_effect}, "
        f"{spec.developer_parameterisation}).",
        f"Compute enters as log10 FLOP minus {spec.compute_centre:g}"
        + ("; developer-specific slopes" if spec.developer_slopes else "")
        + ("; period-specific slopes" if spec.compute_period_interaction else "")
        + ("; with measurement error in compute" if spec.compute_error else "") + ".",
        f"Sampler: {spec.sampler.chains} chains x {spec.sampler.draws} draws after "
        f"{spec.sampler.tune} tuning steps, target acceptance {spec.sampler.target_accept}, "
        f"seed {spec.sampler.seed}.",
    ]


def _data_section(report: Report, fit, df: pd.DataFrame | None, source: str) -> None:
    s = report.section("data")
    m = fit.models
    s.p(f"The fit uses {len(m)} models from {m['developer'].nunique()} developers in "
        f"{m['developer_group'].nunique()} of the paper's developer groups; training compute "
        f"spans 10^{m['log10_flop'].min():.1f} to 10^{m['log10_flop'].max():.1f} FLOP. "
        f"Data for the checks below: {source}.")
    sample_report = fit.metadata.get("sample_report")
    if sample_report:
        s.p(f"Sample: {sample_report}.")
    counts = (m.groupby("period").agg(models=("model_id", "size"),
                                      developers=("developer", "nunique"),
                                      median_log10_flop=("log10_flop", "median"))
              .reset_index())
    s.table("Models by period", counts, "models_by_period")
    groups = (m.groupby("developer_group").agg(models=("model_id", "size"),
                                               developers=("developer", "nunique"))
              .sort_values("models", ascending=False).reset_index())
    s.table("Models by developer group", groups, "models_by_group")
    if df is not None:
        try:
            from bayes_llm.data import summarise

            s.pre(summarise(df).to_text())
        except Exception:  # noqa: BLE001 - the summary is optional
            pass
    _figure(report, "data_overview",
            "Each point is a model; normalised accuracy removes the 10% guessing floor "
            "(0 = chance); majors are outlined, the three 'Other' groups are grey.",
            lambda: make_fit_figure("data_overview", fit, df))


def _model_section(report: Report, fit, frame: pd.DataFrame, *, prior_draws: int,
                   seed: int) -> None:
    from bayes_llm.model.predictive import predictive_summary
    from bayes_llm.model.predictive_numpy import prior_predictive_numpy
    from bayes_llm.plots.predictive import plot_predictive_check

    s = report.section("model")
    for line in _spec_lines(fit.spec):
        s.p(line)
    s.table("Priors (the model's parameters and their priors)", _prior_table(fit.spec),
            "priors")
    s.pre(fit.spec.to_toml())
    try:
        prior = prior_predictive_numpy(fit.spec, frame, prior_draws, seed)
    except Exception as exc:  # noqa: BLE001
        msg = f"prior predictive check failed: {type(exc).__name__}: {exc}"
        report.problems.append(msg)
        s.p("Problem: " + msg)
        return
    summary = predictive_summary(prior)
    report.tables["prior_predictive_summary"] = summary
    floor = summary.set_index("statistic").loc["share_near_floor"]
    ceil = summary.set_index("statistic").loc["share_near_ceiling"]
    slope = summary.set_index("statistic").loc["slope"]
    s.p(f"Prior predictive check ({prior_draws} draws from the priors alone, on the accuracy "
        f"scale): the median replicated data set has {floor['median']:.0%} of models within "
        f"2 points of the guessing floor and {ceil['median']:.0%} above 95% accuracy "
        f"({interval_label()} {ceil['hdi_lower']:.0%} to {ceil['hdi_upper']:.0%}); the "
        f"replicated slope of accuracy on log10 compute ranges {slope['hdi_lower']:+.2f} to "
        f"{slope['hdi_upper']:+.2f} per decade around the observed {slope['observed']:+.2f}. "
        + _prior_verdict(summary))
    s.table("Prior predictive statistics (accuracy scale)", _rounded(summary),
            "prior_predictive_summary")
    _figure(report, "prior_predictive",
            f"Left: prior predictive median, 50% and {interval_label()} of a model's accuracy by "
            "compute bin, with the observed models. Right: observed histogram of accuracy "
            "against the prior predictive histograms.",
            lambda: plot_predictive_check(pred=prior))


def _prior_verdict(summary: pd.DataFrame) -> str:
    """Say which observed statistics fall outside the prior predictive interval."""
    outside = summary[(summary["observed"] < summary["hdi_lower"])
                      | (summary["observed"] > summary["hdi_upper"])]
    if outside.empty:
        return (f"Every observed statistic lies inside its prior predictive {interval_label()}"
                ": the priors allow data like these without forcing them.")
    names = ", ".join(outside["description"])
    return (f"Outside the prior predictive {interval_label()}: {names}; the priors "
            "make data like these unlikely, so check them.")


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(4)
    return out


#: What a rank plot's p-value means, for the reader of the report.
RANK_P_VALUE_TEXT = (
    "How to read the rank plots: all chains' draws of a parameter are ranked together; if "
    "the chains sample the same distribution, each chain's ranks are uniform and its line "
    "(the difference between its rank ECDF and the uniform one) stays near zero. The p-value "
    "printed on each panel is ArviZ's multi-chain rank uniformity test: the probability, "
    "were all chains sampling the same distribution with independent draws, of chains "
    "disagreeing at least this much. A small p (below the alpha printed beside it) flags a "
    "parameter whose chains disagree; a large p is no proof of convergence. The test assumes "
    "independent draws, and MCMC draws are autocorrelated (on raw draws it flags well-mixed "
    "chains), so the draws are first thinned to roughly independent ones ({thin}). With "
    "{k} panels tested at alpha = {alpha:g}, about {expected:.2f} false flags are expected "
    "by chance alone.")


def diagnostics_verdict(fit, ranks: pd.DataFrame | None) -> tuple[bool, str]:
    """One verdict from the diagnostics gate and the rank plots' tests, so they agree.

    Returns
    -------
    (bool, str)
        Whether every check passed, and the sentence saying so (or what failed).
    """
    d = fit.diagnostics
    problems = list(d.failures)
    if ranks is not None and ranks["flagged"].any():
        flagged = ranks[ranks["flagged"]]
        problems.append("rank plot test flags " + ", ".join(
            f"{r.parameter} (p = {r.p_value:.3f} < {r.alpha:g})" for r in flagged.itertuples()))
    if not problems:
        what = "R-hat, ESS, divergences, E-BFMI" + (" and the rank plots' tests"
                                                    if ranks is not None else "")
        return True, f"All checks passed ({what})"
    return False, f"{len(problems)} check(s) failed: " + "; ".join(problems)


def _diagnostics_section(report: Report, fit) -> None:
    from bayes_llm.plots.diagnostics import rank_tests, rank_thin_factor

    s = report.section("diagnostics")
    d = fit.diagnostics
    sampler = d.sampler
    ranks, thin = None, 1
    try:
        thin = rank_thin_factor(fit)
        ranks = rank_tests(fit=fit, thin=thin)
    except Exception as exc:  # noqa: BLE001 - reported, and the verdict says so
        report.problems.append(f"rank tests could not be computed: {type(exc).__name__}: {exc}")
    ok, verdict = diagnostics_verdict(fit, ranks)
    report.diagnostics_ok = ok
    s.p(f"{sampler['chains']} chains x {sampler['draws']} draws; {sampler['divergences']} "
        f"divergent transitions; {sampler['treedepth_saturated']} draws at the maximum tree "
        f"depth; E-BFMI per chain: "
        + (", ".join(f"{v:.2f}" for v in sampler["ebfmi"]) or "n/a") + f". {verdict}.")
    table = d.table.reset_index()
    s.table("Convergence by variable (worst element)", _rounded(table), "convergence")
    _figure(report, "trace", "Each chain's trace (right) and marginal density (left); chains "
            "should overlap and look like stationary noise.", lambda: make_fit_figure("trace", fit, None))
    _figure(report, "rank", "ECDF difference of each chain's fractional ranks; well-mixed "
            "chains stay near zero. Each panel's p-value is explained below.",
            lambda: make_fit_figure("rank", fit, None, thin=thin))
    if ranks is not None:
        alpha = float(ranks["alpha"].iloc[0]) if len(ranks) else 0.01
        text = RANK_P_VALUE_TEXT.format(
            thin=f"every {thin}th draw kept" if thin > 1 else "no thinning was needed",
            k=len(ranks), alpha=alpha, expected=len(ranks) * alpha)
        kept = fit.dt["posterior"].sizes["draw"] // thin
        n_chains = fit.dt["posterior"].sizes["chain"]
        if kept < 200 or n_chains < 4:
            text += (f" Here only {kept} thinned draws per chain and {n_chains} chains are "
                     "tested: the test has little power, so p-values near 1 say nothing about "
                     "convergence; R-hat and ESS above decide.")
        s.p(text)
        report.tables["rank_tests"] = ranks
        s.table("Rank plot tests (the p-values printed on the panels)", _rounded(ranks),
                "rank_tests")


def _predictive_section(report: Report, fit, frame: pd.DataFrame, *, seed: int,
                        check_data: bool, ppc_draws: int | None) -> None:
    from bayes_llm.model.predictive import predictive_summary
    from bayes_llm.model.predictive_numpy import posterior_predictive_checked
    from bayes_llm.plots.predictive import plot_ppc_dist, plot_predictive_check

    s = report.section("predictive")
    try:
        pred = posterior_predictive_checked(fit, frame, seed, draws=ppc_draws,
                                            check_data=check_data)
    except Exception as exc:  # noqa: BLE001
        msg = f"posterior predictive check failed: {type(exc).__name__}: {exc}"
        report.problems.append(msg)
        s.p("Problem: " + msg)
        return
    summary = predictive_summary(pred)
    report.tables["posterior_predictive_summary"] = summary
    extreme = summary[summary[["p_greater", "p_less"]].min(axis=1) < 0.025]
    what = ("new models with the same compute, period and developer (latent ability "
            "redrawn)" if pred.attrs.get("new_models") else "the fitted models")
    if extreme.empty:
        s.p(f"Replicating {what}: every test statistic's observed value is within the "
            "central 95% of its posterior predictive distribution.")
    else:
        parts = [f"{r.description} (observed {r.observed:.3g}, predicted {r.median:.3g}, "
                 f"P(replicated >= observed) = {r.p_greater:.2f})" for r in extreme.itertuples()]
        s.p(f"Replicating {what}, these statistics are in the tails of their posterior "
            f"predictive distribution: " + "; ".join(parts) + ".")
    s.table("Posterior predictive statistics (accuracy scale)", _rounded(summary),
            "posterior_predictive_summary")
    _figure(report, "posterior_predictive",
            "As the prior check, with posterior predictive draws.",
            lambda: plot_predictive_check(pred=pred))
    _figure(report, "ppc_dist", "Density of accuracy across models: replicated data sets "
            "(blue) and the data (black).", lambda: plot_ppc_dist(pred=pred))


def _headline_section(report: Report, fit, table: pd.DataFrame) -> None:
    from bayes_llm.derived.headline import display_frame

    s = report.section("headline")
    a = table.attrs
    s.p(f"Each row says what kind of number it is. Posterior rows: median and "
        f"{interval_label()} (multipliers' intervals on the log scale), with the R-hat and "
        f"bulk/tail ESS of the derived quantity itself. Sampling band: the paper's OLS "
        f"statistic with a developer-clustered bootstrap band (not a posterior); null "
        f"reference: that statistic on data with no developer effect. 'paper' only where "
        f"the paper reported that exact quantity; 'claim' is the range the paper quotes and "
        f"P(claim) its posterior probability; 'primary' marks each claim's pre-specified "
        f"definition. Undefined ratios (denominator near zero) are shown as undefined."
        + (" Posterior (model-averaged): the frontier figures as a mixture of several "
           "fits' posteriors (weights and component diagnostics below)."
           if a.get("model_average") else ""))
    context = [f"frontier (top {a.get('top_k', '')} per cohort): "
               f"{a.get('frontier_first', '')} -> {a.get('frontier_last', '')}",
               f"frontier pair (A -> B): {a.get('frontier_pair', '')}",
               f"frontier model vs reference: {a.get('frontier_model', '')} vs a model of "
               f"10^{a.get('reference_log10_flop', float('nan')):.2f} FLOP",
               f"Shapley: {a.get('shapley_method', '')}", a.get("coding_flag", ""),
               a.get("model_average", ""),
               a.get("paper_note", "")]
    s.pre("\n".join(c for c in context if c))
    s.table("Headline table", display_frame(table), "headline_display")
    s.table("Definitions", table[["figure", "label", "definition", "note"]],
            "headline_definitions")


def _results_section(report: Report, fit, baseline, df, *, draws=None, shapley=None,
                     components=None) -> None:
    """Add the results figures; ``draws``, ``shapley`` and ``components``: the headline's."""
    from bayes_llm.plots.variance import plot_variance_shares

    _figure(report, "score_vs_compute",
            f"Posterior mean curve of a typical model per period with its {interval_label()}"
            ", other periods' curves dashed; the vertical gap between curves is shared "
            "progress.", lambda: make_fit_figure("score_vs_compute", fit, df))
    if "developer_effect" in fit.dt["posterior"]:
        _figure(report, "developer_effects",
                "Compute multiplier each developer group's effect is worth relative to "
                f"'Other, Small' (log scale): median and {interval_label()}; red crosses: the paper's "
                "OLS values.",
                lambda: make_fit_figure("developer_effects", fit, df, baseline,
                                        components=components))
    _figure(report, "frontier_decomposition",
            "Top: the primary frontier estimand (the best models' gain in accuracy, the part "
            "due to scaling, the counterfactual without it) and its decomposition in "
            "compute-equivalent decades. Below, per model pair: posterior mean shares of "
            "the gain in latent score (sum to 100%; shares can be negative or exceed 100%) "
            f"and each share's median and {interval_label()}, the paper's OLS value as a red "
            "cross; a pair whose net change is near zero has no shares (undefined).",
            lambda: make_fit_figure("frontier_decomposition", fit, df, baseline,
                                    components=components))
    _figure(report, "variance_shares",
            "Company share: the model-based definitions (posterior median and "
            f"{interval_label()}; the primary one first) and the paper's Shapley statistic with its "
            "developer-clustered bootstrap band and its null level (no developer effect); "
            "the paper's quoted 14-18% is shaded.",
            lambda: plot_variance_shares(fit=fit, baseline=baseline, df=df, draws=draws,
                                         shapley=shapley))


def _provenance_section(report: Report, fit, fit_dir: Path) -> None:
    from bayes_llm import __version__

    s = report.section("provenance")
    meta = dict(fit.metadata)
    s.p(f"Fit folder: {fit_dir}. Report made {_dt.datetime.now().isoformat(timespec='seconds')}"
        f" with bayes_llm {__version__}.")
    s.pre(json.dumps(meta, indent=2, sort_keys=True, default=str))


def build_report(run_dir: str | os.PathLike, *, df: pd.DataFrame | None = None,
                 prior_draws: int = 200, ppc_draws: int | None = 500,
                 seed: int = DEFAULT_SEED, hdi_prob: float | None = None,
                 ci_kind: str | None = None, fit=None, draws=None,
                 average_with: Sequence[str | os.PathLike] = (),
                 weights: str | os.PathLike | Sequence[float] | None = None,
                 figure_process: bool | None = None,
                 joint: str | os.PathLike | None = None) -> Report:
    """Build the report of a saved fit.

    Parameters
    ----------
    run_dir : path
        A fit folder written by ``bayes-llm fit`` (or a run folder holding one, see
        :func:`find_fit_dir`).
    df : DataFrame, optional
        The canonical data the fit was made on (checked against its data hash). Default:
        the paper's dataset if it matches the fit, else the models saved with the fit.
    prior_draws : int
        Draws of the prior predictive check.
    ppc_draws : int, optional
        Posterior draws used by the posterior predictive check (thinned; all when None).
    seed : int
        Seed of the predictive checks and the Shapley bootstrap.
    hdi_prob, ci_kind : optional
        The credible interval of every table, figure and sentence of the report
        (``None``: the project's setting, :data:`bayes_llm.constants.HDI_PROB` and
        :data:`~bayes_llm.constants.CI_KIND`).
    fit : Fit, optional
        The fit saved in ``run_dir``, already in memory (``bayes-llm run`` passes it):
        skips loading it again and recomputing its diagnostics.
    draws : Dataset, optional
        ``headline_draws(fit)``, already computed (with ``fit``).
    average_with, weights : optional
        Other fit folders of the same data and the weights of the model average
        (``"equal"``, a ``bayes-llm validate`` folder, or numbers): the headline table
        then has the frontier figures averaged over the fits (kind "posterior
        (model-averaged)", :mod:`bayes_llm.derived.averaging`).
    figure_process : bool, optional
        Draw the fit-only figures in a second process while the rest is built
        (:mod:`bayes_llm.report.figure_worker`; the same figures either way). Default: when
        at least two CPUs are available, unless ``BAYES_LLM_FIGURE_WORKER=0``.
    joint : path, optional
        A folder written by ``bayes-llm joint``: adds the section "Is the secret sauce
        general? (six benchmarks)" with the joint fit's answers and its own diagnostics
        verdict (:mod:`bayes_llm.report.joint_section`; read, never refitted; checked
        before the rest of the report is built). Without it the report is unchanged.

    Returns
    -------
    Report
    """
    joint_result = None
    if joint is not None:
        from bayes_llm.joint import load_joint

        joint_result = load_joint(joint)
    with interval_setting(hdi_prob, ci_kind):
        report = _build_report(run_dir, df=df, prior_draws=prior_draws, ppc_draws=ppc_draws,
                               seed=seed, fit=fit, draws=draws, average_with=average_with,
                               weights=weights, figure_process=figure_process)
        if joint_result is not None:
            from bayes_llm.report.joint_section import add_joint_section

            with report.timed("joint section"):
                add_joint_section(report, joint_result)
    return report


def _build_report(run_dir, *, df, prior_draws, ppc_draws, seed, fit=None,
                  draws=None, average_with=(), weights=None, figure_process=None) -> Report:
    from bayes_llm.derived import headline_draws, headline_table
    from bayes_llm.derived.fast import fast_components
    from bayes_llm.derived.paper import paper_ols
    from bayes_llm.derived.shapley_null import shapley_reference
    from bayes_llm.report.claims import claim_verdicts
    from bayes_llm.report.exports import diagnostics_status

    t_start = time.perf_counter()
    fit_dir = find_fit_dir(run_dir)
    if fit is None:
        fit, df, source = _load(fit_dir, df)
    else:
        source = ("the data given with the fit" if df is not None
                  else "the models saved with the fit")
    others = []
    if average_with:
        from bayes_llm.derived.averaging import check_same_data, resolve_weights
        from bayes_llm.model import load_fit
        from bayes_llm.model.fit import POINTWISE_GROUPS

        others = [load_fit(find_fit_dir(d), df=df, omit=POINTWISE_GROUPS)
                  for d in average_with]
        check_same_data([fit, *others])  # refuse before the expensive work
        resolve_weights("equal" if weights is None else weights, [fit, *others])
    load_seconds = time.perf_counter() - t_start
    frame = df if df is not None else models_frame(fit)
    report = Report(title=f"Bayesian re-analysis of 'Is there secret sauce in LLM "
                          f"development?': fit '{fit.spec.name}'",
                    sections=[Section(k, v) for k, v in SECTIONS.items()])
    worker = figure_worker.start(fit_dir, df, resolve_interval(), figure_process)
    if worker is not None:
        report.offloaded = frozenset(worker.keys)
        report.figure_worker = "fit-only figures drawn in a second process"
    try:
        report.timings["load fit (with diagnostics)"] = load_seconds
        report.data_source = source
        report.fit_status = diagnostics_status(fit)
        baseline = None
        with report.timed("paper OLS"):
            try:
                baseline = paper_ols(fit, None, df=df)
            except Exception as exc:  # noqa: BLE001
                report.problems.append(f"the paper's OLS could not be run: {exc}")
        with report.timed("headline draws and table"):
            # computed once: the headline draws and the results figures use the same
            components = fast_components(fit)
            if draws is None:
                draws = headline_draws(fit, components=components)
            # computed once: the headline table and the variance-share figure show the same
            shapley = shapley_reference(fit, seed=seed)
            table = headline_table(fit, baseline=baseline, df=df, draws=draws, seed=seed,
                                   paper=baseline is not None, shapley=shapley,
                                   curve_fits=others, curve_weights=weights)
        report.tables["headline"] = table
        with report.timed("exports (parameter summary, headline draws)"):
            _exports(report, fit, draws)
        summary = report.section("summary")
        verdicts = claim_verdicts(table, draws, developer_coding=fit.spec.developer)
        # The diagnostics section decides the verdict (gate + rank tests); the summary repeats it.
        summary_index = len(summary.blocks)
        for v in verdicts:
            summary.p(f"{v.title} — {v.verdict}. {v.text}")
        summary.table("Verdicts", name="verdicts", frame=pd.DataFrame(
            [{"claim": v.title, "verdict": v.verdict, "probability": v.probability}
             for v in verdicts]))
        with report.timed("data section"):
            _data_section(report, fit, df, source)
        with report.timed("model section (prior predictive check)"):
            _model_section(report, fit, frame, prior_draws=prior_draws, seed=seed)
        with report.timed("diagnostics section (trace, rank plots and tests)"):
            _diagnostics_section(report, fit)
        ok, status = report.fit_status
        verdict_ok = ok and report.diagnostics_ok is not False
        d_verdict = diagnostics_verdict(fit, report.tables.get("rank_tests"))[1]
        summary.blocks.insert(summary_index, ("p", (
            f"Fit '{fit.spec.name}' ({fit.spec.likelihood} likelihood, {fit.models.shape[0]} "
            "models). MCMC diagnostics: " + (f"{d_verdict}." if verdict_ok else
                                             f"{d_verdict}. Treat the numbers below as "
                                             "provisional."))))
        if not ok:
            summary.blocks.insert(0, ("p", "WARNING: this fit FAILED its MCMC diagnostics ("
                                      + status.removeprefix("FAILED: ") + "). Every figure in "
                                      "this report is provisional."))
        with report.timed("posterior predictive section"):
            _predictive_section(report, fit, frame, seed=seed, check_data=df is not None,
                                ppc_draws=ppc_draws)
        with report.timed("headline section"):
            _headline_section(report, fit, table)
        with report.timed("results figures"):
            _results_section(report, fit, baseline, df, draws=draws, shapley=shapley,
                             components=components)
    except BaseException:  # stop the worker at once, not when it has finished
        if worker is not None:
            worker.close()
        raise
    if worker is not None:
        failure = _collect_worker_figures(report, worker)
        if failure:
            report.figure_worker = f"the figure worker failed ({failure}); drawn here"
    _provenance_section(report, fit, fit_dir)
    if report.problems:
        summary.p("Problems while building this report: " + "; ".join(report.problems))
    return report


def _exports(report: Report, fit, draws) -> None:
    """Add ``parameter_summary.csv`` and ``headline_draws.nc`` to the report's files."""
    import tempfile

    from bayes_llm.report.exports import (
        HEADLINE_DRAWS_NC,
        PARAMETER_SUMMARY_CSV,
        headline_draws_dataset,
        parameter_summary,
    )

    table = parameter_summary(fit)
    report.exports[PARAMETER_SUMMARY_CSV] = table.to_csv(
        index=False, float_format="%.6g", lineterminator="\n").encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / HEADLINE_DRAWS_NC
        headline_draws_dataset(draws, fit).to_netcdf(path, engine="h5netcdf")
        report.exports[HEADLINE_DRAWS_NC] = path.read_bytes()


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None,
                 **kwargs) -> tuple[Report, list[Path]]:
    """Build the report of ``run_dir`` and write it to ``out`` (default ``RUN_DIR/report``).

    Keyword arguments go to :func:`build_report`.

    Returns
    -------
    (Report, list of Path)
        The report and the files written.
    """
    out = Path(out) if out is not None else Path(run_dir) / "report"
    report = build_report(run_dir, **kwargs)
    return report, report.write(out)


__all__ = ["FIGURES", "REPORT_HTML", "REPORT_MARKDOWN", "SECTIONS", "Report", "ReportFigure",
           "Section", "build_report", "find_fit_dir", "models_frame", "priors_used",
           "write_report"]
