"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Backend names (kept here so that ``--help`` does not import the sampler; the same as
#: :data:`bayes_llm.model.sampling.BACKENDS`).
BACKEND_NAMES = ("nutpie", "pymc", "numpyro")

RunDirArgument = Annotated[
    Path,
    typer.Argument(metavar="RUN_DIR", help="A result folder written by 'bayes-llm fit' (or a "
                   "run folder holding one, e.g. results/main).", show_default=False),
]
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
AverageWithOption = Annotated[
    list[Path] | None,
    typer.Option("--average-with", metavar="RUN_DIR", help="Another fit of the same data "
                 "(e.g. binomial_monotone, binomial_eiv_t) to average the frontier figures "
                 "over; repeatable.", show_default=False),
]
WeightsOption = Annotated[
    str | None,
    typer.Option("--weights", metavar="VALIDATE_DIR|equal", help="Weights of the model "
                 "average: a 'bayes-llm validate' folder (stacking weight of each fit's spec, "
                 "renormalised) or 'equal'. Required with --average-with.",
                 show_default=False),
]
BackendOption = Annotated[
    str | None,
    typer.Option("--backend", help=f"NUTS backend: {', '.join(BACKEND_NAMES)} (default: the "
                 "spec's: pymc for a [sampler] custom step (lineage_gibbs, multi_lineage_gibbs, "
                 "single_lineage_gibbs, lineage_scale_move, developer_scale_move, "
                 "developer_ridge_move), else nutpie).",
                 show_default=False),
]
JointBackendOption = Annotated[
    str,
    typer.Option("--backend", help=f"NUTS backend: {', '.join(BACKEND_NAMES)}."),
]
SamplerDrawsOption = Annotated[
    int | None,
    typer.Option("--draws", min=1, help="Draws per chain (default: spec)."),
]
SamplerTuneOption = Annotated[
    int | None,
    typer.Option("--tune", min=1, help="Tuning steps per chain (default: spec)."),
]
SamplerChainsOption = Annotated[
    int | None,
    typer.Option("--chains", min=1, help="Chains (default: spec)."),
]
SamplerSeedOption = Annotated[
    int | None,
    typer.Option("--seed", help="Random seed (default: spec)."),
]
ProgressOption = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Show the sampler's progress bar (default: "
                 "only when stderr is a terminal; in a log file, one line before and after "
                 "sampling).", show_default=False),
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


def average_options(average_with: list[Path] | None, weights: str | None
                    ) -> tuple[list[Path], str | None]:
    """Check ``--average-with`` / ``--weights`` together.

    Parameters
    ----------
    average_with : list of Path or None
        The ``--average-with`` folders.
    weights : str or None
        The ``--weights`` value: a ``bayes-llm validate`` folder or ``"equal"``.

    Returns
    -------
    (list of Path, str or None)
        The folders (empty without ``--average-with``) and the weights.

    Raises
    ------
    BayesLLMError
        One line when one option comes without the other, or ``--weights`` is neither
        ``equal`` nor a folder written by ``bayes-llm validate``.
    """
    from bayes_llm.derived.averaging import EQUAL, VALIDATE_SUMMARY
    from bayes_llm.errors import BayesLLMError

    dirs = list(average_with or [])
    if weights is not None and not dirs:
        raise BayesLLMError("--weights needs --average-with RUN_DIR (the fits to average)")
    if dirs and weights is None:
        raise BayesLLMError("--average-with needs --weights VALIDATE_DIR (stacking weights "
                            "from 'bayes-llm validate') or --weights equal")
    if weights is not None and weights != EQUAL and not (Path(weights) / VALIDATE_SUMMARY
                                                          ).is_file():
        raise BayesLLMError(f"--weights {weights}: not 'equal' and no {VALIDATE_SUMMARY} there "
                            "(give a folder written by 'bayes-llm validate')")
    return dirs, weights


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
