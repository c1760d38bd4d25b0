"""``bayes-llm headline``: the headline figures of a saved fit with posterior bands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import MirrorOption
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError

HELP = (
    "Print (and optionally export) the headline table of a saved fit: the frontier compute "
    "share (accuracy scale, top models per cohort; decades decomposition; pairwise and "
    "reference definitions, undefined where a denominator is near zero), company shares "
    "(model-based: Nakagawa share, finite-population ANOVA, Bayesian R²; the paper's "
    "Shapley statistic with a developer-clustered bootstrap band and its null level) and "
    "compute-equivalent multipliers. Each row says its kind (posterior, sampling band, null "
    "reference, quoted claim), with R-hat/ESS of the figure itself and the paper's value "
    "only where the paper reported it."
)


def _parse_pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split("->")]
    if len(parts) != 2 or not all(parts):
        raise BayesLLMError(f"--pair '{text}': write it as 'MODEL_A -> MODEL_B'")
    return parts[0], parts[1]


def headline(
    run_dir: Annotated[Path, typer.Argument(
        metavar="RUN_DIR", help="A result folder written by 'bayes-llm fit'.",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder for headline.csv and headline.md.",
        show_default=False)] = None,
    pair: Annotated[list[str] | None, typer.Option(
        "--pair", metavar="'A -> B'",
        help="Extra model pair for the pairwise progress decomposition; repeatable.",
        show_default=False)] = None,
    reference_compute: Annotated[float | None, typer.Option(
        "--reference-compute", metavar="LOG10_FLOP",
        help="Compute of the reference model of the frontier share (default: median of "
        "the first period's models).", show_default=False)] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the Shapley bootstrap and null.")] = DEFAULT_SEED,
    mirror: MirrorOption = None,
) -> None:
    """Load a saved fit, compute its headline table, print it and optionally export it.

    With ``--mirror`` the current data are loaded from the mirror, the fit is checked
    against them (a changed data set is an error) and the paper's OLS is run on them;
    otherwise the OLS runs on the models saved with the fit.
    """
    from bayes_llm.derived import headline_table, headline_text, write_headline
    from bayes_llm.model import load_fit

    pairs = [_parse_pair(p) for p in pair or []]
    df = None
    if mirror is not None:
        from bayes_llm.data import load_paper_dataset

        df = load_paper_dataset(mirror=mirror)
    fit = load_fit(run_dir, df=df)
    table = headline_table(fit, pairs=pairs or None, reference_log10_flop=reference_compute,
                           seed=seed, df=df)
    typer.echo(headline_text(table), nl=False)
    if out is not None:
        written = write_headline(table, out)
        typer.echo(f"\nwrote {', '.join(p.name for p in written)} to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``headline`` command to the CLI."""
    app.command(name="headline", help=HELP)(headline)
