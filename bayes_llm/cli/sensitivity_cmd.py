"""``bayes-llm sensitivity``: run a sensitivity study (studies/*.toml) end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    BackendOption,
    CiKindOption,
    DataOption,
    HdiProbOption,
    MirrorOption,
    load_data,
)

HELP = (
    "Fit every variant of a sensitivity study (cached by spec + data hash; a re-run refits "
    "nothing that is unchanged), tabulate each headline figure across variants, run "
    "power-scaling sensitivity of the base variant and cross-validate the variants; writes "
    "sensitivity.csv, variants.csv, psense.csv, compare.csv, forest.png, tornado.png and "
    "logs/<variant>.log under --out. --hdi-prob and --ci-kind choose the interval of "
    "every table and plot (fits are reused; each interval's tables are cached apart)."
)
CV_METHODS = ("auto", "loo", "kfold", "none")


def sensitivity(
    study: Annotated[str, typer.Argument(
        metavar="STUDY", help="Study file (studies/NAME.toml) or the name of a bundled study.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="DIR", help="Output folder (default: results/<study name>/); "
        "its fits/ cache is reused.", show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", help="Run the fits on an existing Dask cluster, "
        "e.g. tcp://10.0.0.5:8786.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=1, help="Local parallel fits (default: CPU cores); 1 runs "
        "them in this process.", show_default=False)] = None,
    draws: Annotated[int | None, typer.Option(min=1, help="Draws per chain (default: "
                                              "study / spec).", show_default=False)] = None,
    tune: Annotated[int | None, typer.Option(min=1, help="Tuning steps per chain (default: "
                                             "study / spec).", show_default=False)] = None,
    chains: Annotated[int | None, typer.Option(min=1, help="Chains (default: study / spec).",
                                               show_default=False)] = None,
    backend: BackendOption = None,
    cv: Annotated[str | None, typer.Option(
        "--cv", metavar="|".join(CV_METHODS), help="Cross-validation: auto (PSIS-LOO where "
        "Pareto k allow, else leave-developers-out K-fold), loo, kfold or none (default: the "
        "study's).", show_default=False)] = None,
    folds: Annotated[int | None, typer.Option(min=2, help="K of the K-fold (default: the "
                                              "study's).", show_default=False)] = None,
    psense: Annotated[bool, typer.Option(
        "--psense/--no-psense", help="Power-scaling sensitivity of the base variant.")] = True,
    plots: Annotated[bool, typer.Option("--plots/--no-plots",
                                        help="Write forest.png and tornado.png.")] = True,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="VARIANT", help="Run only this variant (repeat for several).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List the variants and whether each is cached; fit nothing.")]
    = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when any variant failed.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Run a sensitivity study and print its table (see :data:`HELP`)."""
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.errors import BayesLLMError
    from bayes_llm.model.sampling import check_backend
    from bayes_llm.sensitivity import load_study, run_study
    from bayes_llm.sensitivity.runner import format_table, stderr_progress, table_interval

    if hdi_prob is not None or ci_kind is not None:
        resolve_interval(hdi_prob, ci_kind)  # a bad value fails before any work
    if cv is not None and cv not in CV_METHODS:
        raise BayesLLMError(f"--cv: unknown method '{cv}'; choose one of: {', '.join(CV_METHODS)}")
    spec_study = load_study(study)
    check_backend(backend, *(v.spec for v in spec_study.variants()))
    sampler = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains}.items()
               if v is not None}
    out = out or Path("results") / spec_study.name
    df = load_data(mirror, data)
    if dry_run:
        _dry_run(spec_study, df, out, sampler=sampler, backend=backend, only=only)
        return 0
    result = run_study(spec_study, df, out, workers=workers or os.cpu_count() or 1,
                       scheduler=scheduler, sampler=sampler, backend=backend, crossval=cv,
                       folds=folds, psense=psense, only=only,
                       progress=None if quiet else stderr_progress, hdi_prob=hdi_prob,
                       ci_kind=ci_kind)
    from bayes_llm.sensitivity.plots import key_figures

    typer.echo(f"study '{spec_study.name}' ({len(result.variants)} variants; "
               f"{len(result.fitted)} fitted, {len(result.cached)} from cache, "
               f"{len(result.failed)} failed) in {result.seconds:.1f} s\n")
    typer.echo("headline figures behind the paper's claims (median "
               f"[{table_interval(result.table)}]):")
    typer.echo(format_table(result.table, figures=key_figures(result.table)))
    if result.psense is not None:
        typer.echo(f"power-scaling sensitivity of variant '{result.psense.variant}':")
        rows = result.psense.summary
        for row in rows[rows["kind"] == "figure"].itertuples(index=False):
            if row.quantity in key_figures(result.table):
                typer.echo(f"  {row.quantity:<44} prior {row.prior_sensitivity:.3f}  "
                           f"likelihood {row.likelihood_sensitivity:.3f}  {row.verdict}")
        typer.echo("")
    if result.crossval is not None:
        typer.echo("cross-validation (logit-score scale):")
        typer.echo(result.crossval.to_text())
    written = ["sensitivity.csv", "variants.csv"]
    if plots:
        import matplotlib

        matplotlib.use("Agg")
        from bayes_llm.sensitivity.plots import forest_plot, tornado_plot

        forest_plot(table=result.table).savefig(out / "forest.png", dpi=120)
        tornado_plot(table=result.table).savefig(out / "tornado.png", dpi=120)
        written += ["forest.png", "tornado.png"]
    if result.psense is not None:
        written += ["psense.csv", "psense_by_prior.csv"]
    if result.crossval is not None:
        written += ["loo.csv", "compare.csv"]
    typer.echo(f"wrote {', '.join(written)} and logs/ to {out}")
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if result.failed:
        typer.secho(f"failed variants: {', '.join(result.failed)} (see {out / 'logs'})",
                    fg=typer.colors.RED, err=True)
        if strict:
            return 1
    return 0


def _dry_run(study, df, out: Path, *, sampler: dict, backend: str | None, only) -> None:
    from bayes_llm.errors import BayesLLMError
    from bayes_llm.model.sampling import spec_backend
    from bayes_llm.sensitivity.cache import FitCache, cache_key
    from bayes_llm.sensitivity.runner import variant_data

    cache = FitCache(out / "fits")
    typer.echo(f"study '{study.name}' ({study.design}), base spec '{study.base.name}':")
    first_with: dict[str, str] = {}
    for v in study.variants(sampler=sampler):
        if only and v.name not in only:
            continue
        try:
            data_hash, n_models = variant_data(df, v.spec)
        except BayesLLMError as exc:
            state = f"will fail: {exc}"
        else:
            key = cache_key(v.spec, data_hash, backend=spec_backend(v.spec, backend))
            if cache.lookup(key):
                state = f"cached fits/{key[:12]}"
            elif key in first_with:
                state = f"same fit as {first_with[key]}"
            else:
                state = "to fit"
            first_with.setdefault(key, v.name)
            state += f", {n_models} models"
        typer.echo(f"  {v.name:<32} {state}  ({v.label})")


def register(app: typer.Typer) -> None:
    """Add the ``sensitivity`` command to the CLI."""
    app.command(name="sensitivity", help=HELP)(sensitivity)
