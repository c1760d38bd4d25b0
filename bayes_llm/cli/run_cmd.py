"""``bayes-llm run``: the main job end to end.

data -> paper baseline -> default fit -> headline table -> report, all under one folder::

    OUT/data_summary.txt   the validated dataset's summary
    OUT/baseline/          the paper's OLS numbers, reproduced (CSV + Markdown)
    OUT/fit/               the posterior with provenance (see bayes_llm.model.fit)
    OUT/headline.csv|.md   every headline figure: paper value, posterior median, 94% HDI
    OUT/report/            report.html (self-contained) and report.md
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.atomic import write_text_atomic
from bayes_llm.cli.options import DataOption, MirrorOption, load_data
from bayes_llm.model.sampling import BACKENDS, DEFAULT_BACKEND

DEFAULT_MODEL = "binomial_developers"


def _step(i: int, n: int, text: str) -> float:
    typer.secho(f"[{i}/{n}] {text}", bold=True, err=True)
    return time.perf_counter()


def run(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for every output.")]
    = Path("results/main"),
    model: Annotated[str, typer.Option("--model", "-m", help="Spec of the main fit.")]
    = DEFAULT_MODEL,
    backend: Annotated[str, typer.Option(help=f"NUTS backend: {', '.join(BACKENDS)}.")]
    = DEFAULT_BACKEND,
    draws: Annotated[int | None, typer.Option(min=1, help="Draws per chain (default: spec).")] = None,
    tune: Annotated[int | None, typer.Option(min=1, help="Tuning steps (default: spec).")] = None,
    chains: Annotated[int | None, typer.Option(min=1, help="Chains (default: spec).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: spec).")] = None,
    allow_warnings: Annotated[bool, typer.Option(
        "--allow-warnings", help="Exit 0 even when MCMC diagnostics fail.")] = False,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Run the whole analysis: data, paper baseline, default fit, headline table, report."""
    from bayes_llm.baseline import run_baseline
    from bayes_llm.data import summarise
    from bayes_llm.derived import headline_table, headline_text, write_headline
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.model.sampling import check_backend
    from bayes_llm.report import write_report

    spec = load_spec(model)
    check_backend(backend)
    n = 5
    t = _step(1, n, "data: resolve, verify, load and validate")
    df = load_data(mirror, data)
    from bayes_llm.atomic import check_destination  # the destinations, before any work
    from bayes_llm.model.fit import check_output

    if check_output(out / "fit", spec, len(df), draws=draws, tune=tune, chains=chains,
                    seed=seed) == "replace":
        typer.echo(f"will replace the earlier bayes_llm result in {out / 'fit'}", err=True)
    check_destination(out / "report")
    summary = summarise(df).to_text()
    write_text_atomic(out / "data_summary.txt", summary + "\n")
    typer.echo(summary)
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(2, n, "paper baseline: OLS with clustered SEs, Shapley R2, multipliers")
    baseline = run_baseline(df)
    baseline.export(out / "baseline")
    typer.echo(baseline.summary())
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(3, n, f"fit '{spec.name}' with {backend}")
    fit = fit_model(spec, df, backend=backend, draws=draws, tune=tune, chains=chains,
                    seed=seed, progressbar=True)
    fit.save(out / "fit")
    typer.echo(fit.diagnostics.to_text())
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(4, n, "headline figures with posterior bands")
    table = headline_table(fit, df=df)
    write_headline(table, out)
    typer.echo(headline_text(table), nl=False)
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(5, n, "report")
    _, files = write_report(out / "fit", out / "report", df=df)
    typer.echo("report: " + ", ".join(str(f) for f in files))
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    if not fit.diagnostics.ok:
        typer.secho("SAMPLING PROBLEMS: " + "; ".join(fit.diagnostics.failures),
                    fg=typer.colors.RED, err=True)
        return 0 if allow_warnings else 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``run`` command."""
    app.command("run")(run)
