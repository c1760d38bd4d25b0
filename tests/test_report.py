"""The report: CLI, self-contained HTML with every section and figure, Markdown, verdicts."""

from __future__ import annotations

import base64
import math
import os
from html.parser import HTMLParser

import pandas as pd
import pytest

from bayes_llm.cli import main
from bayes_llm.errors import BayesLLMError
from bayes_llm.model import load_spec
from bayes_llm.report import (
    FIGURES,
    SECTIONS,
    Report,
    Section,
    claim_verdicts,
    find_fit_dir,
    priors_used,
)
from bayes_llm.report.claims import verdict_word

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Collector(HTMLParser):
    """Collect section ids, figure ids, image sources and external references."""

    def __init__(self):
        super().__init__()
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "figure":
            self.figures.append(a.get("id", ""))
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("src", "href"):
            value = a.get(key) or ""
            if value and not value.startswith(("#", "data:")):
                self.external.append(value)
        if tag == "link":
            self.external.append(str(a))


@pytest.fixture(scope="module")
def report_dir(paper_mirror_fit, tmp_path_factory):
    """A saved paper-mirror fit and its report written through the CLI."""
    root = tmp_path_factory.mktemp("report")
    fit_dir = paper_mirror_fit.save(root / "fit")
    out = root / "report"
    rc = main(["report", str(root), "--out", str(out), "--prior-draws", "40",
               "--ppc-draws", "100", "--allow-warnings"])
    assert rc == 0  # small draws may fail the diagnostics: --allow-warnings
    return fit_dir, out


def test_html_is_self_contained_with_every_section_and_figure(report_dir):
    _, out = report_dir
    html = (out / "report.html").read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(html)
    assert parsed.sections == list(SECTIONS)
    assert sorted(parsed.figures) == sorted(f"fig-{k}" for k in FIGURES)
    assert parsed.external == []
    assert len(parsed.images) == len(FIGURES)
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    for title in SECTIONS.values():
        assert title.replace("'", "&#x27;") in html


def test_markdown_summary_and_exports(report_dir, paper_mirror_fit):
    _, out = report_dir
    md = (out / "report.md").read_text(encoding="utf-8")
    for title in SECTIONS.values():
        assert f"## {title}" in md
    for key in FIGURES:
        assert f"(figures/{key}.png)" in md
        assert (out / "figures" / f"{key}.png").read_bytes().startswith(PNG_SIGNATURE)
    headline = pd.read_csv(out / "headline.csv")
    assert "shared_progress_multiplier" in set(headline["figure"])
    prior = pd.read_csv(out / "prior_predictive_summary.csv")
    assert set(prior["check"]) == {"prior_predictive"}
    # the plain-language verdicts quote the numbers of the headline table
    row = headline.set_index("figure").loc["shared_progress_multiplier"]
    median = row["estimate"]
    text = f"{median:.1f}x" if median >= 10 else f"{median:.2f}x"
    assert f"worth {text} (94% HDI" in md
    spread = headline.set_index("figure").loc["within_spread_centred_multiplier"]
    assert f"P(more than 40x) = {spread['probability']:.2f}" in md
    # the spec and its priors are in the model section
    assert "paper_mirror" in md and "developer_fixed" in md


def test_report_write_replaces_a_report_but_not_other_folders(report_dir, tmp_path):
    _, out = report_dir
    small = Report(title="t", sections=[Section("summary", "S", [("p", "hello")])],
                   tables={"numbers": pd.DataFrame({"a": [1.5]})})
    target = tmp_path / "rep"
    small.write(target)
    files = small.write(target)  # a report of ours is replaced
    (target / "stale.txt").write_text("old", encoding="utf-8")
    with pytest.raises(BayesLLMError, match="stale.txt"):  # but not a file we did not write
        small.write(target)
    assert (target / "stale.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in files) == ["numbers.csv", "report.html", "report.md"]
    assert "<p>hello</p>" in (target / "report.html").read_text(encoding="utf-8")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BayesLLMError, match="refusing"):
        small.write(other)
    assert (other / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]
    assert (out / "report.html").is_file()


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    with pytest.raises(BayesLLMError, match="no saved fit"):
        find_fit_dir(tmp_path)


def test_report_refuses_half_a_model_average(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--weights", "equal"]) == 2
    assert "--weights needs --average-with" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--average-with", str(tmp_path)]) == 2
    assert "--average-with needs --weights" in capsys.readouterr().err


def test_find_fit_dir_accepts_fit_and_run_folders(report_dir):
    fit_dir, _ = report_dir
    assert find_fit_dir(fit_dir) == fit_dir
    assert find_fit_dir(fit_dir.parent) == fit_dir


def test_priors_used_follow_the_spec():
    assert priors_used(load_spec("paper_mirror")) == ["alpha", "beta", "period_fixed",
                                                      "developer_fixed", "sigma"]
    binomial = load_spec("binomial_developers")
    assert priors_used(binomial) == ["alpha", "beta", "period_fixed", "sigma_developer",
                                     "sigma_model"]
    nested = binomial.with_changes(developer="nested", period_effect="random_walk")
    assert set(priors_used(nested)) == {"alpha", "beta", "sigma_period", "period_drift",
                                        "sigma_group", "sigma_developer", "sigma_model"}
    robust = load_spec("student_t_developers")
    assert set(priors_used(robust)) - set(priors_used(binomial)) == {"sigma", "nu"}
    # the options' priors are listed too (the report's prior table once left them out)
    floor = load_spec("binomial_floor_mixture")
    assert {"collapse_probability", "log_slope_mean", "sigma_curve"} <= set(priors_used(floor))
    assert "beta" not in priors_used(floor)  # the monotone curve replaces it
    t_dev = binomial.with_changes(developer_distribution="student_t")
    assert set(priors_used(t_dev)) - set(priors_used(binomial)) == {"nu_developer"}


def test_claim_verdicts_follow_the_numbers():
    assert verdict_word(0.95) == "supported"
    assert verdict_word(0.6) == "more likely than not"
    assert verdict_word(0.2) == "doubtful"
    assert verdict_word(0.01) == "not supported"
    assert verdict_word(math.nan) == "not assessable"

    def row(fid, unit, median, lo, hi, p_claim=math.nan, prob=math.nan, paper=math.nan):
        return {"figure": fid, "kind": "posterior", "unit": unit, "estimate": median,
                "lower": lo, "upper": hi, "p_claim": p_claim, "probability": prob,
                "paper_value": paper, "note": ""}

    table = pd.DataFrame([
        row("frontier_gain_compute_share", "share", 0.85, 0.81, 0.89, p_claim=0.97),
        row("frontier_pair_period_share", "share", 0.1, 0.05, 0.2),
        row("company_share_superpop", "share", 0.40, 0.35, 0.45, p_claim=0.0),
        row("within_spread_centred_multiplier", "multiplier", 12.0, 8.0, 20.0, prob=0.01),
    ])
    table.attrs["frontier_pair"] = "A -> B"
    verdicts = {v.key: v for v in claim_verdicts(table, developer_coding="group")}
    assert set(verdicts) == {"frontier_compute_share", "company_share", "within_spread"}
    frontier = verdicts["frontier_compute_share"]
    assert frontier.verdict.startswith("supported")
    assert "inside the claimed range" in frontier.text and "85%" in frontier.text
    company = verdicts["company_share"]
    assert company.verdict == "not supported"
    assert "lies above 18%" in company.text and "13 developer groups" in company.text
    assert verdicts["within_spread"].verdict == "not supported"
    assert "12.0x" in verdicts["within_spread"].text



def test_diagnostics_verdict_agrees_with_the_rank_plots(report_dir):
    """The verdict says what the rank plots' tests say, and the report explains the p-value."""
    _, out = report_dir
    md = (out / "report.md").read_text(encoding="utf-8")
    ranks = pd.read_csv(out / "rank_tests.csv")
    assert {"parameter", "p_value", "alpha", "flagged", "thin"} <= set(ranks.columns)
    assert "How to read the rank plots" in md and "p-value" in md
    flagged = ranks[ranks["flagged"]]
    diagnostics_ok = bool(ranks["fit_diagnostics_ok"].iloc[0])
    if flagged.empty and diagnostics_ok:
        assert "All checks passed" in md
    else:
        assert "All checks passed" not in md
    for name in flagged["parameter"]:
        assert "rank plot test flags" in md and name in md
    # every table of the report is a CSV carrying the fit's status
    for name in ("convergence.csv", "verdicts.csv", "models_by_period.csv",
                 "parameter_summary.csv", "headline_draws.nc"):
        assert (out / name).is_file(), name
    assert "fit_diagnostics" in pd.read_csv(out / "convergence.csv")


# ------------------------------------------------------------- the figure worker process
def _figures(report) -> dict[str, bytes]:
    return {f.key: f.png for f in report.figures}


def test_figure_worker_draws_the_same_figures_in_the_same_places(report_dir):
    from bayes_llm.report.build import build_report
    from bayes_llm.report.figure_worker import WORKER_FIGURES

    fit_dir, _ = report_dir
    kwargs = {"prior_draws": 40, "ppc_draws": 100}
    parallel = build_report(fit_dir, figure_process=True, **kwargs)
    serial = build_report(fit_dir, figure_process=False, **kwargs)
    assert parallel.figure_worker.startswith("fit-only figures drawn in a second process")
    assert serial.figure_worker == ""
    assert not parallel.problems and not parallel.pending
    assert [f.key for f in parallel.figures] == [f.key for f in serial.figures]
    drawn = _figures(parallel)
    assert set(WORKER_FIGURES) <= set(drawn)
    for key in WORKER_FIGURES:  # byte-identical PNGs: the same recipe, the same fit
        assert drawn[key].startswith(PNG_SIGNATURE)
        assert drawn[key] == _figures(serial)[key], key


def test_a_failing_figure_worker_leaves_no_hole(report_dir, monkeypatch):
    from bayes_llm.report import figure_worker
    from bayes_llm.report.build import build_report

    def broken(self, timeout=0):  # the worker died: nothing came back
        self.close()
        return {}, "BrokenProcessPool: the worker died"

    monkeypatch.setattr(figure_worker.FigureWorker, "results", broken)
    report = build_report(report_dir[0], figure_process=True, prior_draws=40, ppc_draws=100)
    assert "the figure worker failed (BrokenProcessPool" in report.figure_worker
    assert not report.problems
    assert all(f.png.startswith(PNG_SIGNATURE) for f in report.figures)
    assert set(figure_worker.WORKER_FIGURES) <= set(_figures(report))


def test_a_figure_the_worker_could_not_draw_is_drawn_here_or_reported(report_dir,
                                                                     monkeypatch):
    from bayes_llm.report import figure_worker
    from bayes_llm.report.build import build_report

    def one_failed(self, timeout=0):
        self.close()
        return {"trace": "ValueError: no"}, ""

    monkeypatch.setattr(figure_worker.FigureWorker, "results", one_failed)
    real = figure_worker.make_fit_figure

    def no_rank(key, *args, **kwargs):
        if key == "rank":
            raise RuntimeError("rank plot broke")
        return real(key, *args, **kwargs)

    monkeypatch.setattr("bayes_llm.report.build.make_fit_figure", no_rank)
    report = build_report(report_dir[0], figure_process=True, prior_draws=40, ppc_draws=100)
    drawn = _figures(report)
    assert drawn["trace"].startswith(PNG_SIGNATURE)  # drawn here instead
    assert "rank" not in drawn  # failed here too: reported, and no empty figure is left
    assert any("figure 'rank' could not be drawn: RuntimeError" in p for p in report.problems)
    diagnostics = next(s for s in report.sections if s.id == "diagnostics")
    assert any(b[0] == "p" and "rank plot broke" in b[1] for b in diagnostics.blocks)


def test_figure_worker_setting(monkeypatch):
    from bayes_llm.report.figure_worker import ENV_VAR, available_cpus, wanted

    monkeypatch.setenv(ENV_VAR, "0")
    assert wanted(None) is False and wanted(True) is True
    monkeypatch.setenv(ENV_VAR, "1")
    assert wanted(None) is True and wanted(False) is False
    monkeypatch.delenv(ENV_VAR)
    assert wanted(None) is (available_cpus() >= 2)


def test_a_killed_figure_worker_is_reported_not_waited_for(report_dir):
    """The worker killed before it sends anything: the parent reads EOF and says so.

    Only the worker holds the pipe's write end, so its death ends the parent's read (a
    ProcessPoolExecutor once hung in CI when its worker was stopped while sending).
    """
    import signal
    import threading

    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.report import figure_worker

    worker = figure_worker.FigureWorker(report_dir[0], None, resolve_interval(),
                                        list(figure_worker.WORKER_FIGURES))
    os.kill(worker._process.pid, signal.SIGKILL)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.update(result=worker.results(60)),
                              daemon=True)
    reader.start()
    reader.join(90)
    assert not reader.is_alive(), "results() did not return after the worker died"
    figures, failure = outcome["result"]
    assert figures == {} and failure.startswith("WorkerDied: the figure worker ended without")
    assert not worker._process.is_alive()
