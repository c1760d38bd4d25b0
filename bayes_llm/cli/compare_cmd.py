"""``bayes-llm compare``: specs side by side, on one observation scale or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP = (
    "Compare specs side by side: out-of-sample scores from 'bayes-llm validate' folders "
    "(accuracy scale; elpd difference to the best with its paired SE), and for fit or run "
    "folders the diagnostics, the primary headline figures (from their headline.csv) and, "
    "with --loo, in-sample PSIS-LOO. Comparing elpd across observation scales (a binomial's "
    "counts against a logit-normal's logit scores) or across different held-out models is "
    "refused (exit 2)."
)


def compare(
    runs: Annotated[list[Path], typer.Argument(
        metavar="RUN...", help="Validate output folders and/or fit/run folders.",
        show_default=False)],
    loo: Annotated[bool, typer.Option("--loo", help="Compute in-sample PSIS-LOO for fit "
                                      "folders (refused across scales).")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE", help="Write the table as CSV.", show_default=False)] = None,
    readme: Annotated[Path | None, typer.Option(
        "--update-readme", metavar="FILE", help="Regenerate the <!-- validate:begin/end --> "
        "block of FILE (e.g. models/README.md) from the validate folders given.",
        show_default=False)] = None,
) -> int:
    """Print the comparison table (and optionally write it / update the README block)."""
    from bayes_llm.atomic import check_destination, write_text_atomic
    from bayes_llm.validate.compare import compare as run_compare
    from bayes_llm.validate.compare import comparison_text

    if out is not None:
        check_destination(out, folder=False)
    table = run_compare(runs, loo=loo)
    typer.echo(comparison_text(table), nl=False)
    if out is not None:
        write_text_atomic(out, table.to_csv(index=False, float_format="%.6g",
                                            lineterminator="\n"))
        typer.echo(f"wrote {out}", err=True)
    if readme is not None:
        from bayes_llm.validate.readme_table import update_readme
        from bayes_llm.validate.run import META_JSON

        folders = [r for r in runs if (Path(r) / META_JSON).is_file()]
        update_readme(readme, folders)
        typer.echo(f"updated the validate block of {readme}", err=True)
    bad = table[~table["fit_diagnostics_ok"].astype(bool)]
    if len(bad):
        typer.secho("!! MCMC DIAGNOSTICS FAILED for: " + ", ".join(bad["method"].astype(str))
                    + " !!", fg=typer.colors.RED, bold=True, err=True)
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command."""
    app.command("compare", help=HELP)(compare)
