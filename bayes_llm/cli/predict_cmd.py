"""``bayes-llm predict`` and ``bayes-llm compute-needed``: predictions from a saved fit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    AllowWarningsOption,
    CiKindOption,
    HdiProbOption,
    RunDirArgument,
    say,
)
from bayes_llm.constants import DEFAULT_SEED

PREDICT_HELP = (
    "Predict the accuracy of new models (rows of --data: any schema-valid table, any release "
    "month, scores optional) from a saved fit: posterior predictive median, interval and "
    "P(accuracy > threshold) per row, with a fresh model-level effect and observation noise; "
    "a developer the fit has not seen is a fresh draw from the developer population, a "
    "period after the fit's last one is extrapolated by the period model with uncertainty "
    "growing with the gap (models/README.md). Writes predictions.csv, predictive_draws.nc "
    "(per-draw values) and predictions.png to --out; the fit's diagnostic status goes with "
    "every output, and a failed fit exits 1 unless --allow-warnings."
)
NEEDED_HELP = (
    "Posterior of the log10 training compute a developer needs for a typical model "
    "(model-level effect 0) to reach an accuracy in a period, with the interval over the "
    "draws that reach it and the share of draws that do (a flat curve cannot)."
)

SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the predictive draws.")]
DrawsOption = Annotated[int | None, typer.Option(
    "--draws", metavar="N", help="Use about N evenly spaced posterior draws (default all).",
    show_default=False)]


def _load(run_dir: Path):
    from bayes_llm.model import load_fit
    from bayes_llm.report.build import find_fit_dir

    return load_fit(find_fit_dir(run_dir))


def predict(
    run_dir: RunDirArgument,
    data: Annotated[Path, typer.Option(
        "--data", metavar="FILE", help="Table of models to predict (.csv/.parquet, "
        "canonical columns; mmlu_pro_acc optional).", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder for predictions.csv, predictive_draws.nc and "
        "predictions.png.", show_default=False)] = None,
    threshold: Annotated[list[float] | None, typer.Option(
        "--threshold", metavar="ACC", help="Accuracy threshold for P(accuracy > ACC); "
        "repeatable (default 0.5).", show_default=False)] = None,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    seed: SeedOption = DEFAULT_SEED,
    draws: DrawsOption = None,
    allow_warnings: AllowWarningsOption = False,
) -> int:
    """Predict the rows of ``--data`` from the fit in ``RUN_DIR`` (see :data:`PREDICT_HELP`)."""
    from bayes_llm.atomic import check_destination
    from bayes_llm.cli.options import diagnostics_gate
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.errors import BayesLLMError

    prob, kind = resolve_interval(hdi_prob, ci_kind)  # a bad value fails before any work
    thresholds = tuple(threshold) if threshold else None
    for t in thresholds or ():
        if not 0.0 < t < 1.0:
            raise BayesLLMError(f"--threshold {t!r}: an accuracy strictly between 0 and 1")
    if out is not None:
        check_destination(out)
    from bayes_llm.prediction import predict as run_predict
    from bayes_llm.prediction.result import DEFAULT_THRESHOLDS

    fit = _load(run_dir)
    prediction = run_predict(fit, data, seed=seed, draws=draws)
    table = prediction.summary(prob, kind, thresholds or DEFAULT_THRESHOLDS)
    shown = ["model_id", "period", "period_steps_ahead", "developer_known",
             "observed_accuracy", "accuracy_median", "accuracy_lower", "accuracy_upper",
             *[c for c in table if c.startswith("p_accuracy_above_")]]
    typer.echo(f"predictive accuracy ({table['interval'].iloc[0]}), fit '{fit.spec.name}':")
    typer.echo(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"fit diagnostics: {prediction.diagnostics}")
    if out is not None:
        from bayes_llm.prediction.output import write_prediction

        written = write_prediction(prediction, out, prob=prob, kind=kind, thresholds=thresholds)
        say(f"wrote {', '.join(p.name for p in written)} to {out}")
    return diagnostics_gate(fit, allow_warnings)


def compute_needed(
    run_dir: RunDirArgument,
    developer: Annotated[str, typer.Option(
        "--developer", metavar="NAME", help="Developer (a group, for a group-coded fit); "
        "one the fit has not seen is a fresh population draw.", show_default=False)],
    accuracy: Annotated[float, typer.Option(
        "--accuracy", metavar="ACC", help="Target accuracy, between the guessing floor and 1.",
        show_default=False)],
    period: Annotated[str, typer.Option(
        "--period", metavar="PERIOD", help="Quarter (2025q2), month (2025-06) or cohort "
        "label.", show_default=False)],
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    seed: SeedOption = DEFAULT_SEED,
    draws: DrawsOption = None,
    allow_warnings: AllowWarningsOption = False,
) -> int:
    """Print the compute needed (see :data:`NEEDED_HELP`)."""
    from bayes_llm.cli.options import diagnostics_gate
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.prediction import compute_needed as run_needed

    prob, kind = resolve_interval(hdi_prob, ci_kind)
    fit = _load(run_dir)
    result = run_needed(fit, developer, accuracy, period, seed=seed, draws=draws)
    row = result.summary(prob, kind).iloc[0]
    known = "" if row["developer_known"] else " (not in the fit: a fresh population draw)"
    ahead = (f", {row['period_steps_ahead']} period(s) after the fit's last"
             if row["period_steps_ahead"] else "")
    typer.echo(f"compute for a typical {developer}{known} model to reach accuracy "
               f"{accuracy:g} in {period}{ahead} (posterior, fit '{fit.spec.name}'):")
    share = row["share_of_draws_reaching"]
    if share == 0:
        typer.echo("  not reachable: in no posterior draw does more compute raise accuracy "
                   "to that level")
    else:
        typer.echo(f"  log10 FLOP median {row['log10_flop_median']:.2f}, {row['interval']} "
                   f"[{row['log10_flop_lower']:.2f}, {row['log10_flop_upper']:.2f}]"
                   + (f" over the {share:.1%} of draws that reach it" if share < 1 else ""))
    typer.echo(f"fit diagnostics: {result.diagnostics}")
    return diagnostics_gate(fit, allow_warnings)


def register(app: typer.Typer) -> None:
    """Add the ``predict`` and ``compute-needed`` commands to the CLI."""
    app.command(name="predict", help=PREDICT_HELP)(predict)
    app.command(name="compute-needed", help=NEEDED_HELP)(compute_needed)
