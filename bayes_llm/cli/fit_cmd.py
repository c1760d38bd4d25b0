"""``bayes-llm fit``: fit a model spec, print a compact summary and diagnostics, save it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

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
    say,
)

#: Variables with at most this many elements per draw are listed in the compact summary.
COMPACT_MAX_ELEMENTS = 16


def summary_variables(fit, *, full: bool = False) -> tuple[list[str], list[str]]:
    """Split the posterior's non-per-model variables into (listed, folded) for printing.

    Top-level parameters (at most :data:`COMPACT_MAX_ELEMENTS` elements per draw) are
    listed; longer vectors such as one effect per developer are folded into one line each
    unless ``full``. Per-model variables are never listed (see the diagnostics table).
    """
    post = fit.dt["posterior"]
    listed, folded = [], []
    for name in post.data_vars:
        da = post[name]
        if "model" in da.dims or name == "eta":
            continue
        size = int(da.isel(chain=0, draw=0).size)
        (listed if full or size <= COMPACT_MAX_ELEMENTS else folded).append(str(name))
    return listed, folded


def format_summary(table) -> str:
    """Render an ArviZ summary in the CLI's one number format.

    Estimates and interval bounds to 4 significant digits, R-hat to 3 decimals, ESS as
    whole numbers, MCSE to 2 significant digits.
    """
    out = table.copy()
    for col in out.columns:
        if col == "r_hat":
            out[col] = out[col].map(lambda v: f"{v:.3f}")
        elif col.startswith("ess"):
            out[col] = out[col].map(lambda v: f"{v:,.0f}")
        elif col.startswith("mcse"):
            out[col] = out[col].map(lambda v: f"{v:.2g}")
        else:
            out[col] = out[col].map(lambda v: f"{v:.4g}")
    return out.to_string()


def folded_lines(fit, names: list[str]) -> list[str]:
    """One line per folded variable: size, worst R-hat and smallest bulk ESS."""
    table = fit.diagnostics.table
    lines = []
    for name in names:
        if name in table.index:
            row = table.loc[name]
            extra = ", ".join(f"{label} {fmt(row[col])}" for col, label, fmt in (
                ("r_hat_max", "worst R-hat", lambda v: f"{v:.3f}"),
                ("ess_bulk_min", "smallest bulk ESS", lambda v: f"{v:,.0f}"))
                if col in row.index)
        else:
            extra = ""
        size = int(fit.dt["posterior"][name].isel(chain=0, draw=0).size)
        lines.append(f"{name}: {size} elements" + (f" ({extra})" if extra else ""))
    return lines


def _cache_paper_columns(result, path: Path) -> None:
    """Keep the paper's OLS columns of the default headline in the new fit folder.

    They depend on the models and the spec only; the first ``bayes-llm headline`` then
    reads them (:func:`bayes_llm.derived.headline.cache_paper_columns`). A failure here
    (a model table the paper's estimator cannot fit) costs nothing: headline computes them.
    """
    import dataclasses
    import json

    import numpy as np

    from bayes_llm.derived.headline import cache_paper_columns
    from bayes_llm.errors import BayesLLMError

    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        cache_paper_columns(dataclasses.replace(result, folder=path, metadata=metadata))
    except (BayesLLMError, OSError, ValueError, np.linalg.LinAlgError):
        pass


def fit(
    model: Annotated[str, typer.Option("--model", "-m", help="Spec file (models/NAME.toml) or "
                                       "the name of a bundled spec.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result folder to write.")],
    backend: BackendOption = None,
    draws: SamplerDrawsOption = None,
    tune: SamplerTuneOption = None,
    chains: SamplerChainsOption = None,
    seed: SamplerSeedOption = None,
    allow_warnings: AllowWarningsOption = False,
    progress: ProgressOption = None,
    all_parameters: Annotated[bool, typer.Option(
        "--all-parameters", help="List every parameter in the summary, e.g. one row per "
        "developer (default: top-level parameters, long vectors folded into one line).")]
    = False,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    mirror: MirrorOption = None,
    data: DataOption = None,
) -> int:
    """Fit a model spec by MCMC, print a compact summary and the diagnostics, and save it.

    Exits 1 when R-hat > 1.01, any divergence, or bulk ESS < 400 for a reported quantity
    (unless --allow-warnings); the result is saved either way so it can be inspected.
    """
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.model.sampling import check_backend, spec_backend

    prob, kind = resolve_interval(hdi_prob, ci_kind)
    spec = load_spec(model)
    check_backend(backend, spec)
    backend = spec_backend(spec, backend)
    df = load_data(mirror, data)
    from bayes_llm.model.fit import check_output  # the destination, before sampling

    if check_output(out, spec, len(df), draws=draws, tune=tune, chains=chains,
                    seed=seed) == "replace":
        typer.echo(f"will replace the earlier bayes_llm result in {out}", err=True)
    tty = sys.stderr.isatty()
    show_bar = tty if progress is None else progress
    say(f"fitting '{spec.name}' ({spec.likelihood}, developer={spec.developer}, "
        f"period={spec.period}) with {backend}"
        + ("" if show_bar else "; no progress bar (stderr is not a terminal): this takes a "
           "while"))
    result = fit_model(spec, df, backend=backend, draws=draws, tune=tune, chains=chains,
                       seed=seed, progressbar=show_bar)
    timing = result.metadata["timing_seconds"]
    if not show_bar:
        say(f"sampling done ({timing['sample']:.1f} s)")
    path = result.save(out)
    _cache_paper_columns(result, path)
    typer.echo(result.metadata["sample_report"])
    listed, folded = summary_variables(result, full=all_parameters)
    import arviz as az

    table = az.summary(result.dt, var_names=listed, ci_prob=prob, ci_kind=kind, round_to="none")
    typer.echo(f"\nposterior summary ({prob:.0%} {kind.upper()}):")
    typer.echo(format_summary(table))
    for line in folded_lines(result, folded):
        typer.echo(line)
    if folded:
        typer.echo("(--all-parameters lists every element; 'bayes-llm headline RUN --out DIR' "
                   "exports them all to parameter_summary.csv)")
    typer.echo("")
    typer.echo(result.diagnostics.to_text())
    typer.echo(f"\nsaved {path} (build {timing['build']:.1f} s, sampling {timing['sample']:.1f} s)")
    if not result.diagnostics.ok:
        msg = "!! SAMPLING PROBLEMS !! " + "; ".join(result.diagnostics.failures)
        typer.secho(msg, fg=typer.colors.RED, bold=True, err=True)
        if not allow_warnings:
            return 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``fit`` command."""
    app.command("fit")(fit)
