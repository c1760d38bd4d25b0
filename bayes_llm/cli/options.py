"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MirrorOption = Annotated[
    Path | None,
    typer.Option("--mirror", help="Local mirror folder of the data files (default: "
                 "$BAYES_LLM_DATA_MIRROR, else the config file written by scripts/main.sh, "
                 "else ../shared/data beside the checkout).", show_default=False),
]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Your own model table (.csv/.parquet, canonical columns) "
                 "instead of the paper's dataset.", show_default=False),
]
HdiProbOption = Annotated[
    float | None,
    typer.Option("--hdi-prob", metavar="PROB", help="Probability of every credible interval "
                 "in the output, in (0, 1) (default: bayes_llm.constants.HDI_PROB, 0.94).",
                 show_default=False),
]
CiKindOption = Annotated[
    str | None,
    typer.Option("--ci-kind", metavar="hdi|eti", help="Interval kind: highest-density (hdi) "
                 "or equal-tailed (eti) (default: bayes_llm.constants.CI_KIND, hdi).",
                 show_default=False),
]
AllowWarningsOption = Annotated[
    bool,
    typer.Option("--allow-warnings", help="Exit 0 even when the fit's MCMC diagnostics "
                 "failed (the output still says so)."),
]


def say(text: str) -> None:
    """Print a status line on stderr (stdout stays the command's result)."""
    typer.echo(text, err=True)


def load_data(mirror: Path | None, data: Path | None, *, announce: bool = True):
    """Load the paper's dataset, or a user's table when ``data`` is given.

    With ``announce`` the command says on stderr where the data came from (the file, and
    for the paper's dataset the mirror and how it was found).
    """
    from bayes_llm.data import load_model_table, load_paper_dataset

    if data is not None:
        df = load_model_table(data)
        if announce:
            say(f"data: {df.attrs.get('source_file', data)} (--data)")
        return df
    df = load_paper_dataset(mirror=mirror)
    if announce:
        from bayes_llm.location import data_location

        say(f"data: {df.attrs.get('source_file', '?')} ({data_location(mirror).describe()})")
    return df


def fit_data_note(fit) -> str:
    """Say where a saved fit's data came from (the file recorded at fit time)."""
    source = fit.metadata.get("source_file") or "unrecorded"
    return (f"data: the {len(fit.models)} models saved with the fit "
            f"(fitted from {source}; data hash {str(fit.metadata.get('data_hash', ''))[:12]})")


def interval_context(hdi_prob: float | None, ci_kind: str | None):
    """Context manager making ``--hdi-prob``/``--ci-kind`` the setting of this command."""
    from bayes_llm.derived.summary import interval_setting

    return interval_setting(hdi_prob, ci_kind)


def diagnostics_gate(fit, allow_warnings: bool) -> int:
    """Announce a failing fit loudly on stderr; return the exit code it calls for.

    Returns 1 when the fit's diagnostics failed and ``allow_warnings`` is false, else 0.
    """
    from bayes_llm.report.exports import diagnostics_banner

    banner = diagnostics_banner(fit)
    if banner is None:
        return 0
    typer.secho(banner, fg=typer.colors.RED, bold=True, err=True)
    if allow_warnings:
        return 0
    say("exit code 1 because the diagnostics failed; pass --allow-warnings to exit 0")
    return 1
