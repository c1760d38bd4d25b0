"""``bayes-llm run``: the main job end to end.

data -> paper baseline -> default fit -> headline table -> report, all under one folder::

    OUT/data_summary.txt   the validated dataset's summary
    OUT/baseline/          the paper's OLS numbers, reproduced (CSV + Markdown)
    OUT/fit/               the posterior with provenance (see bayes_llm.model.fit)
    OUT/headline.csv|.md   every headline figure: paper value, posterior median, interval,
                           and the fit's diagnostic status
    OUT/headline_draws.nc  the headline figures per posterior draw
    OUT/parameter_summary.csv  ArviZ's summary of every parameter
    OUT/report/            report.html (self-contained), report.md and every table as CSV
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.atomic import write_text_atomic
from bayes_llm.cli.options import (
    AllowWarningsOption,
    BackendOption,
    CiKindOption,
    DataOption,
    HdiProbOption,
    MirrorOption,
    ProgressOption,
    SamplerChainsOption,
    SamplerDrawsOption,
    SamplerSeedOption,
    SamplerTuneOption,
    load_data,
)

# Chosen by out-of-sample prediction (issue 10; models/README.md, "Out-of-sample scores").
DEFAULT_MODEL = "binomial_two_scale"


def _step(i: int, n: int, text: str) -> float:
    typer.secho(f"[{i}/{n}] {text}", bold=True, err=True)
    return time.perf_counter()


def run(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for every output.")]
    = Path("results/main"),
    model: Annotated[str, typer.Option("--model", "-m", help="Spec of the main fit.")]
    = DEFAULT_MODEL,
    backend: BackendOption = None,
    draws: SamplerDrawsOption = None,
    tune: SamplerTuneOption = None,
    chains: SamplerChainsOption = None,
    seed: SamplerSeedOption = None,
    allow_warnings: AllowWarningsOption = False,
    progress: ProgressOption = None,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Run the whole analysis: data, paper baseline, default fit, headline table, report."""
    from bayes_llm.baseline import run_baseline
    from bayes_llm.data import summarise
    from bayes_llm.derived import headline_draws, headline_table, headline_text, write_headline
    from bayes_llm.derived.summary import interval_setting, resolve_interval
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.model.sampling import check_backend, spec_backend
    from bayes_llm.report import write_report
    from bayes_llm.report.exports import (
        HEADLINE_DRAWS_NC,
        PARAMETER_SUMMARY_CSV,
        diagnostics_banner,
        stamp_markdown,
        with_diagnostics,
        write_headline_draws,
        write_parameter_summary,
    )

    resolve_interval(hdi_prob, ci_kind)
    spec = load_spec(model)
    check_backend(backend, spec)
    backend = spec_backend(spec, backend)
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
    show_bar = sys.stderr.isatty() if progress is None else progress
    if not show_bar:
        typer.echo("  sampling (no progress bar: stderr is not a terminal)", err=True)
    fit = fit_model(spec, df, backend=backend, draws=draws, tune=tune, chains=chains,
                    seed=seed, progressbar=show_bar)
    fit.save(out / "fit")
    typer.echo(fit.diagnostics.to_text())
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(4, n, "headline figures with posterior bands")
    with interval_setting(hdi_prob, ci_kind) as (prob, kind):
        hdraws = headline_draws(fit)
        table = with_diagnostics(headline_table(fit, df=df, draws=hdraws), fit)
        if "hdi_prob" in table:
            table["hdi_prob"], table["ci_kind"] = prob, kind
        for path in write_headline(table, out):
            if path.suffix == ".md":
                stamp_markdown(path, fit)
        write_headline_draws(hdraws, out / HEADLINE_DRAWS_NC, fit)
        write_parameter_summary(fit, out / PARAMETER_SUMMARY_CSV)
    banner = diagnostics_banner(fit)
    if banner:
        typer.echo(banner)
    typer.echo(headline_text(table), nl=False)
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    t = _step(5, n, "report")
    # the fit and its headline draws are in memory: the report reuses them
    _, files = write_report(out / "fit", out / "report", df=df, hdi_prob=hdi_prob,
                            ci_kind=ci_kind, fit=fit, draws=hdraws)
    typer.echo(f"report: {out / 'report' / 'report.html'} ({len(files)} files)")
    typer.echo(f"  ({time.perf_counter() - t:.1f} s)", err=True)

    if not fit.diagnostics.ok:
        typer.secho("SAMPLING PROBLEMS: " + "; ".join(fit.diagnostics.failures),
                    fg=typer.colors.RED, err=True)
        return 0 if allow_warnings else 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``run`` command."""
    app.command("run")(run)
