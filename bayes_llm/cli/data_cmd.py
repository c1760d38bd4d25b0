"""``bayes-llm data fetch|verify|summary``."""

from __future__ import annotations

from typing import Annotated

import typer

from bayes_llm.cli.options import DataOption, MirrorOption, load_data

app = typer.Typer(help="Fetch, verify and summarise the data sources.", no_args_is_help=True)


@app.command()
def fetch(
    mirror: MirrorOption = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources "
                                                     "(default: all).")] = None,
) -> None:
    """Resolve each source (mirror, cache or download) and verify its SHA-256."""
    from bayes_llm.data.sources import load_manifest, resolve

    names = source or list(load_manifest())
    for name in names:
        path = resolve(name, mirror=mirror)
        typer.echo(f"ok  {name:<34} {path}")


@app.command()
def verify(mirror: MirrorOption = None) -> None:
    """Report where each source would be read from and whether its checksum matches."""
    from bayes_llm.data.sources import source_status

    rows = source_status(mirror)
    for row in rows:
        typer.echo(f"{row['status']:<18} {row['source']:<34} {row['path']}")
    if any(r["status"] != "ok" for r in rows):
        typer.echo("some sources are missing or do not verify; see `bayes-llm data fetch`",
                   err=True)
        raise typer.Exit(1)


@app.command()
def summary(
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> None:
    """Load and validate the dataset, then print counts, ranges and the compute spread."""
    from bayes_llm.data import summarise
    from bayes_llm.data.paper import derived_check_table

    df = load_data(mirror, data)
    typer.echo(f"source: {df.attrs.get('source_file')}")
    check = derived_check_table(df)
    if not check.empty:
        status = "all match" if check["ok"].all() else "MISMATCH: " + ", ".join(
            check.loc[~check["ok"], "column"])
        typer.echo(f"recomputed derived columns vs the file's own: {status} "
                   f"(max abs diff {check['max_abs_diff'].max():.2g})")
    typer.echo(summarise(df).to_text())


def register(root: typer.Typer) -> None:
    """Add the ``data`` command group."""
    root.add_typer(app, name="data")
