"""``bayes-llm fit``: fit a model spec, print diagnostics, save the result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import DataOption, MirrorOption, load_data
from bayes_llm.model.sampling import BACKENDS, DEFAULT_BACKEND


def fit(
    model: Annotated[str, typer.Option("--model", "-m", help="Spec file (models/NAME.toml) or "
                                       "the name of a bundled spec.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result folder to write.")],
    backend: Annotated[str, typer.Option(help=f"NUTS backend: {', '.join(BACKENDS)}.")]
    = DEFAULT_BACKEND,
    draws: Annotated[int | None, typer.Option(min=1, help="Draws per chain (default: spec).")] = None,
    tune: Annotated[int | None, typer.Option(min=1, help="Tuning steps per chain (default: spec).")]
    = None,
    chains: Annotated[int | None, typer.Option(min=1, help="Chains (default: spec).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: spec).")] = None,
    allow_warnings: Annotated[bool, typer.Option(
        "--allow-warnings", help="Exit 0 even when diagnostics fail.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                           help="Show sampling progress.")] = True,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Fit a model spec by MCMC, print the diagnostics table, and save the result folder.

    Exits 1 when R-hat > 1.01, any divergence, or bulk ESS < 400 for a reported quantity
    (unless --allow-warnings); the result is saved either way so it can be inspected.
    """
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.model.sampling import check_backend

    spec = load_spec(model)
    check_backend(backend)
    df = load_data(mirror, data)
    typer.echo(f"fitting '{spec.name}' ({spec.likelihood}, developer={spec.developer}, "
               f"period={spec.period}) with {backend}", err=True)
    result = fit_model(spec, df, backend=backend, draws=draws, tune=tune, chains=chains,
                       seed=seed, progressbar=progress)
    path = result.save(out)
    typer.echo(result.metadata["sample_report"])
    typer.echo(result.summary().to_string())
    typer.echo("")
    typer.echo(result.diagnostics.to_text())
    timing = result.metadata["timing_seconds"]
    typer.echo(f"\nsaved {path} (build {timing['build']:.1f} s, sampling {timing['sample']:.1f} s)")
    if not result.diagnostics.ok:
        msg = "SAMPLING PROBLEMS: " + "; ".join(result.diagnostics.failures)
        typer.secho(msg, fg=typer.colors.RED, err=True)
        if not allow_warnings:
            return 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``fit`` command."""
    app.command("fit")(fit)
