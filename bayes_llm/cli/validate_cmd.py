"""``bayes-llm validate``: out-of-sample scores of specs on a split, next to the paper's OLS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    BackendOption,
    DataOption,
    MirrorOption,
    ProgressOption,
    SamplerChainsOption,
    SamplerDrawsOption,
    SamplerTuneOption,
    load_data,
    say,
)
from bayes_llm.constants import DEFAULT_SEED

HELP = (
    "Fit each SPEC on the training models of a split (time:YYYY-MM: fit on models released "
    "before the month, predict the rest; developers:K: leave-developers-out K-fold; "
    "kfold:K), predict the held-out models and score them on the accuracy scale: coverage "
    "of central 50/80/90/94% intervals, (randomised) PIT, log score of the observed accuracy "
    "bin, CRPS and MAE, next to the paper's OLS (always included, the reference of every "
    "paired difference). Writes scores.csv, summary.csv, coverage.csv, folds.csv, "
    "fit_diagnostics.csv (R-hat and ESS per variable of every fold fit), pit.png, "
    "summary.md and validate.json; a fold whose fit failed its MCMC diagnostics is flagged "
    "in every output, and the command then exits 1 unless --allow-warnings."
)


def validate(
    specs: Annotated[list[str], typer.Argument(
        metavar="SPEC...", help="Spec files or bundled spec names (the paper's OLS is always "
        "scored too; 'paper_ols' may be listed and is ignored).", show_default=False)],
    split: Annotated[str, typer.Option(
        "--split", metavar="time:YYYY-MM|developers:K|kfold:K",
        help="How to split the models.")] = "time:2024-10",
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                      help="Output folder.")] = Path("results/validate"),
    draws: SamplerDrawsOption = None,
    tune: SamplerTuneOption = None,
    chains: SamplerChainsOption = None,
    seed: Annotated[int, typer.Option(help="Seed of folds, sampler, predictions, PIT.")]
    = DEFAULT_SEED,
    backend: BackendOption = None,
    progress: ProgressOption = None,
    allow_warnings: Annotated[bool, typer.Option(
        "--allow-warnings", help="Exit 0 even when some fold's fit failed its diagnostics "
        "(every output still says so).")] = False,
    fold_cache: Annotated[Path | None, typer.Option(
        "--fold-cache", metavar="DIR",
        help="Keep each finished fold in DIR and reuse it on a rerun with the same model, "
        "code, data, seed and sampler settings (an interrupted run loses no fold).",
        show_default=False)] = None,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Validate specs out of sample and write the score tables, PIT plot and summary."""
    from bayes_llm.model import load_spec
    from bayes_llm.model.sampling import check_backend
    from bayes_llm.validate.reference import OLS_METHOD
    from bayes_llm.validate.run import check_validate_output
    from bayes_llm.validate.run import validate as run_validate
    from bayes_llm.validate.splits import parse_split

    rule = parse_split(split)  # a bad split fails before any work
    loaded = [load_spec(s) for s in specs if s != OLS_METHOD]
    check_backend(backend, *loaded)
    if fold_cache is not None:
        from bayes_llm.errors import OutputError

        cache_at, out_at = fold_cache.resolve(), out.resolve()
        if cache_at == out_at or out_at in cache_at.parents or cache_at in out_at.parents:
            raise OutputError(f"{fold_cache}: the fold cache must lie outside --out ({out}), "
                              "which is replaced when the run ends")
    if check_validate_output(out) == "replace":
        say(f"will replace the earlier bayes_llm result in {out}")
    if fold_cache is not None:
        from bayes_llm.validate.fold_cache import FoldCache

        FoldCache(fold_cache)  # a foreign folder is refused before any work
    df = load_data(mirror, data)
    result = run_validate(loaded, df, rule, draws=draws, tune=tune, chains=chains, seed=seed,
                          backend=backend, progress=say, fold_cache=fold_cache,
                          progressbar=sys.stderr.isatty() if progress is None else progress)
    path = result.write(out)
    typer.echo(result.to_markdown())
    say(f"wrote {path}")
    banner = result.banner()
    if banner:
        typer.secho(banner, fg=typer.colors.RED, bold=True, err=True)
        if not allow_warnings:
            return 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command."""
    app.command("validate", help=HELP)(validate)
