"""``bayes-llm baseline``: the paper's frequentist baseline (clustered OLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.baseline.ols import DEVELOPER_CODINGS, OUTCOMES, PERIODS
from bayes_llm.baseline.thresholds import DEFAULT_THRESHOLDS
from bayes_llm.cli.options import DataOption, MirrorOption, load_data
from bayes_llm.data.samples import SAMPLES

HELP = (
    "Fit the paper's OLS baseline and report its decompositions: coefficients with SEs "
    "clustered by developer group, the Shapley split of R2, compute-equivalent multipliers, "
    "the pairwise progress decomposition and the decline of the compute needed to reach a "
    "score threshold."
)


def _choices(options: dict) -> str:
    return "|".join(options)


def baseline(
    sample: Annotated[str, typer.Option(
        "--sample", metavar=_choices(SAMPLES), help="Which models to use.")] = "full",
    period: Annotated[str, typer.Option(
        "--period", metavar=_choices(PERIODS),
        help="Time fixed effects: the paper's three cohorts, quarters or months.")] = "cohort",
    outcome: Annotated[str, typer.Option(
        "--outcome", metavar=_choices(OUTCOMES),
        help="mmlu_pro: logit((acc - 0.1) / 0.9); math_lvl5: logit(acc), zero scores "
        "excluded and counted.")] = "mmlu_pro",
    developers: Annotated[str, typer.Option(
        "--developers", metavar=_choices(DEVELOPER_CODINGS),
        help="groups: the paper's 13 developer groups; developer: every developer string "
        "its own fixed effect.")] = "groups",
    threshold: Annotated[list[float] | None, typer.Option(
        "--threshold", metavar="SCORE",
        help="Score threshold for the compute-decline analysis, on the normalised accuracy "
        "scale; repeat for several (default 0.15).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder for the CSV and Markdown exports.",
        show_default=False)] = None,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> None:
    """Run the baseline, print its report and optionally export it (see :data:`HELP`)."""
    from bayes_llm.baseline import BaselineSpec, run_baseline

    # Choices are validated by BaselineSpec, so a bad value is a one-line user error.
    spec = BaselineSpec(sample=sample, period=period, outcome=outcome, developers=developers)
    from bayes_llm.baseline.thresholds import check_thresholds

    thresholds = tuple(threshold) if threshold else DEFAULT_THRESHOLDS
    check_thresholds(thresholds)  # before loading any data
    df = load_data(mirror, data)
    results = run_baseline(df, spec, thresholds=thresholds)
    typer.echo(results.to_text(), nl=False)
    if out is not None:
        written = results.export(out)
        typer.echo(f"\nwrote {len(written)} files to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``baseline`` command to the CLI."""
    app.command(name="baseline", help=HELP)(baseline)
