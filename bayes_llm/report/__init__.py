"""The report of a fit: one self-contained HTML file and a Markdown summary.

Typical use::

    from bayes_llm.report import write_report

    report, files = write_report("results/main/fit", out="results/main/report")

or from the command line: ``bayes-llm report RUN_DIR [--out DIR]``.
"""

from bayes_llm.report.build import (
    FIGURES,
    REPORT_HTML,
    REPORT_MARKDOWN,
    SECTIONS,
    Report,
    ReportFigure,
    Section,
    build_report,
    find_fit_dir,
    models_frame,
    priors_used,
    write_report,
)
from bayes_llm.report.claims import CLAIM_TITLES, QUOTED, ClaimVerdict, claim_verdicts

__all__ = [
    "CLAIM_TITLES",
    "FIGURES",
    "QUOTED",
    "REPORT_HTML",
    "REPORT_MARKDOWN",
    "SECTIONS",
    "ClaimVerdict",
    "Report",
    "ReportFigure",
    "Section",
    "build_report",
    "claim_verdicts",
    "find_fit_dir",
    "models_frame",
    "priors_used",
    "write_report",
]
