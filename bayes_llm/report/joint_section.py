"""The report's section on the joint six-benchmark fit (``bayes-llm report RUN --joint DIR``).

Built from a folder written by ``bayes-llm joint`` (:func:`bayes_llm.joint.load_joint`;
nothing is refitted): the correlation figure, the developer x benchmark heat map, the
common share, the company and compute share per benchmark, the developers whose advantage
is most concentrated in one benchmark, and the joint fit's *own* diagnostics verdict
(a banner when it failed; the main fit's verdict says nothing about this one). Its CSV
files carry the joint fit's status in the columns ``joint_diagnostics_ok`` and
``joint_diagnostics`` (the report adds the main fit's, as to every table); the page states
it once, at the top of the section and in each figure's caption.
"""

from __future__ import annotations

from bayes_llm.joint.markdown import TOP_CONCENTRATED, verdict_line

#: Section id and title.
SECTION_ID = "joint"
SECTION_TITLE = "Is the secret sauce general? (six benchmarks)"
#: Figure keys (file stems in the report's figures folder) and titles.
FIGURE_TITLES = {
    "developer_correlation": ("joint_developer_correlation",
                              "Correlation of developer effects across the six benchmarks"),
    "developer_benchmark_effects": ("joint_developer_benchmark_effects",
                                    "Developer effects by benchmark"),
}


def add_joint_section(report, result) -> None:
    """Add the joint section to ``report`` before its provenance section.

    Parameters
    ----------
    report : Report
        A built report (:func:`bayes_llm.report.build_report`).
    result : JointResult
        The saved joint fit (:func:`bayes_llm.joint.load_joint`).
    """
    from bayes_llm.derived.summary import interval_label
    from bayes_llm.plots._style import close, figure_png
    from bayes_llm.report.build import ReportFigure, Section

    section = Section(SECTION_ID, SECTION_TITLE)
    ids = [s.id for s in report.sections]
    at = ids.index("provenance") if "provenance" in ids else len(ids)
    report.sections.insert(at, section)
    ok, status = result.status
    report.joint_status = (ok, status)
    diag = result.diagnostics
    if not ok:
        section.p(f"WARNING: the joint fit FAILED its MCMC diagnostics ({len(diag.failures)} "
                  "problem(s)): every number in this section is provisional. "
                  + "; ".join(diag.failures) + ".")
    section.p(verdict_line(result).replace("**", "") + " (This is the joint fit's own "
              "verdict; the main fit's is in 'MCMC diagnostics'.)")
    meta = result.metadata
    design, settings = meta.get("design", {}), meta.get("settings", {})
    where = result.folder if result.folder is not None else "memory"
    section.p(f"Joint fit from {where}: spec '{result.spec.name}', {design.get('models')} "
              f"models, {design.get('developers')} developers, benchmarks "
              f"{', '.join(result.data.benchmarks)}; residuals {settings.get('residuals')}, "
              f"ability {settings.get('ability')}; {settings.get('chains')} chains x "
              f"{settings.get('draws')} draws (seed {meta.get('seed')}); data hash "
              f"{str(meta.get('data_hash', ''))[:12]}. Developer effects u_j are correlated "
              "across benchmarks (LKJ); the question is whether a developer's advantage is "
              "one number moving every benchmark or benchmark-specific.")
    tables = result.make_tables()
    sds = tables["developer_sds"]
    common = sds[sds["quantity"] == "developer_common_share"].iloc[0]
    nb = len(result.data.benchmarks)
    section.p(f"Common share of developer variance (largest eigenvalue of the developer "
              f"covariance over its trace): {common['median']:.2f} "
              f"[{common['lower']:.2f}, {common['upper']:.2f}] ({interval_label()}); 1 would "
              f"mean one shared advantage, 1/{nb} = {1 / nb:.2f} unrelated "
              "benchmark-specific effects.")
    for name, fig in result.figures().items():
        key, title = FIGURE_TITLES[name]
        png = figure_png(fig)
        close(fig)
        caption = ("Posterior median and interval of each correlation." if
                   name == "developer_correlation" else
                   f"Median developer effect (logits), developers with at least "
                   f"{result.heat_map_min_models()} models; hatched where the interval "
                   "contains 0.")
        section.figure(ReportFigure(key, title, caption + ("" if ok else
                                                          " PROVISIONAL: the joint fit "
                                                          "failed its diagnostics."), png))

    def add(caption: str, frame, name: str, rows: int | None = None) -> None:
        # the CSV (report.tables) carries the joint fit's status and every row; the page
        # shows the numbers (the first ``rows``)
        exported = frame.copy()
        exported["joint_diagnostics_ok"], exported["joint_diagnostics"] = ok, status
        report.tables[name] = exported
        section.table(caption, frame if rows is None else frame.head(rows), name=name)

    add("Developer SD per benchmark (logits) and common share", sds, "joint_developer_sds")
    add("Correlation of developer effects between benchmarks", tables["correlations"],
        "joint_correlations")
    add("Company share and compute share per benchmark (latent scale)",
        tables["benchmark_shares"], "joint_benchmark_shares")
    conc = tables["concentration"]
    add(f"Developers whose advantage is most concentrated in one benchmark (top "
        f"{TOP_CONCENTRATED} by P(D > {conc.attrs.get('threshold', 1.0):g} SD); every "
        "developer in joint_concentration.csv)", conc, "joint_concentration",
        rows=TOP_CONCENTRATED)


__all__ = ["FIGURE_TITLES", "SECTION_ID", "SECTION_TITLE", "add_joint_section"]
