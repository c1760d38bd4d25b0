"""``bayes-llm report``: a self-contained HTML report and a Markdown summary of a fit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    AllowWarningsOption,
    AverageWithOption,
    CiKindOption,
    DataOption,
    HdiProbOption,
    MirrorOption,
    RunDirArgument,
    WeightsOption,
    average_options,
)
from bayes_llm.constants import DEFAULT_SEED

HELP = (
    "Write the report of a saved fit: data, model and priors (with a prior predictive "
    "check), MCMC diagnostics, posterior predictive checks, the headline table, the "
    "figures, and a plain-language verdict on each of the paper's headline claims. "
    "Writes report.html (self-contained), report.md, figures/*.png, every table as CSV (with "
    "the fit's diagnostic status), parameter_summary.csv and headline_draws.nc. Exits 1 when "
    "the fit failed its diagnostics (unless --allow-warnings) or part of the report failed."
)


def report(
    run_dir: RunDirArgument,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Report folder to write (replaced if it is a previous "
        "report; default RUN_DIR/report).", show_default=False)] = None,
    prior_draws: Annotated[int, typer.Option(
        "--prior-draws", help="Draws of the prior predictive check.")] = 200,
    ppc_draws: Annotated[int, typer.Option(
        "--ppc-draws", help="Posterior draws used by the posterior predictive check.")] = 500,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the predictive checks and the Shapley bootstrap.")]
    = DEFAULT_SEED,
    average_with: AverageWithOption = None,
    weights: WeightsOption = None,
    joint: Annotated[Path | None, typer.Option(
        "--joint", metavar="JOINT_DIR", help="Add the section 'Is the secret sauce general? "
        "(six benchmarks)' from a folder written by 'bayes-llm joint' (with that fit's own "
        "diagnostics verdict).", show_default=False)] = None,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    allow_warnings: AllowWarningsOption = False,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Build the report of RUN_DIR and write it (see :data:`HELP`).

    Without ``--mirror``/``--data`` the paper's dataset is used when it matches the fit,
    else the models saved with the fit. Exits 1 when part of the report could not be made,
    or when the fit failed its diagnostics (unless ``--allow-warnings``).
    """
    from bayes_llm.cli.options import say
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.errors import BayesLLMError
    from bayes_llm.report import write_report

    if prior_draws < 1 or ppc_draws < 1:
        raise BayesLLMError("--prior-draws and --ppc-draws must be positive")
    resolve_interval(hdi_prob, ci_kind)  # a bad value fails before any work
    average_dirs, weight_spec = average_options(average_with, weights)
    df = None
    if mirror is not None or data is not None:
        from bayes_llm.cli.options import load_data

        df = load_data(mirror, data)
    result, files = write_report(run_dir, out, df=df, prior_draws=prior_draws,
                                 ppc_draws=ppc_draws, seed=seed, hdi_prob=hdi_prob,
                                 ci_kind=ci_kind, average_with=average_dirs,
                                 weights=weight_spec, joint=joint)
    say(f"data: {result.data_source}")
    folder = files[0].parent
    typer.echo(f"wrote {folder / 'report.html'} and {folder / 'report.md'} "
               f"({len(result.figures)} figures, {len(files)} files)")
    for problem in result.problems:
        typer.secho(f"warning: {problem}", fg=typer.colors.YELLOW, err=True)
    ok, status = result.fit_status
    code = 1 if result.problems else 0
    average = result.tables["headline"].attrs.get("model_average", "") \
        if "headline" in result.tables else ""
    if "FAILED" in average:
        typer.secho(f"!! a model-averaged figure mixes a fit that FAILED its MCMC "
                    f"diagnostics !! ({average})", fg=typer.colors.RED, bold=True, err=True)
        if not allow_warnings:
            code = 1
    if result.joint_status is not None and not result.joint_status[0]:
        typer.secho("!! MCMC DIAGNOSTICS FAILED for the joint six-benchmark fit (--joint): its "
                    "section is provisional !! (" + result.joint_status[1] + ")",
                    fg=typer.colors.RED, bold=True, err=True)
        if not allow_warnings:
            say("exit code 1 because the joint fit's diagnostics failed; pass "
                "--allow-warnings to exit 0")
            code = 1
    if not ok:
        reasons = status.removeprefix("FAILED: ").split("; ")
        shown = "; ".join(reasons[:3]) + (f"; +{len(reasons) - 3} more" if len(reasons) > 3
                                          else "")
        typer.secho("!! MCMC DIAGNOSTICS FAILED for this fit: every figure in the report is "
                    f"provisional !! ({shown})", fg=typer.colors.RED, bold=True, err=True)
        if not allow_warnings:
            say("exit code 1 because the diagnostics failed; pass --allow-warnings to exit 0")
            code = 1
    return code


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the CLI."""
    app.command(name="report", help=HELP)(report)
