"""``bayes-llm headline``: the headline figures of a saved fit with posterior bands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    AllowWarningsOption,
    AverageWithOption,
    CiKindOption,
    HdiProbOption,
    MirrorOption,
    RunDirArgument,
    WeightsOption,
    average_options,
    say,
)
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
    "only where the paper reported it. The interval is set by --hdi-prob and --ci-kind; "
    "the fit's MCMC diagnostic status is printed with the table and written into every "
    "export; a fit that failed its diagnostics exits 1 unless --allow-warnings. With "
    "--average-with RUN2 [--average-with RUN3 ...] --weights VALIDATE_DIR|equal the frontier "
    "figures are also given as a mixture of the fits' posteriors (kind 'posterior "
    "(model-averaged)'): integrated over the compute curve and the treatment of compute, "
    "with stacking weights by spec name from a 'bayes-llm validate' folder or equal "
    "weights; the fits must share their data."
)


def _parse_pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split("->")]
    if len(parts) != 2 or not all(parts):
        raise BayesLLMError(f"--pair '{text}': write it as 'MODEL_A -> MODEL_B'")
    return parts[0], parts[1]


def check_pairs(model_ids, pairs: list[tuple[str, str]]) -> None:
    """Raise one line naming every ``--pair`` model id that is not among ``model_ids``."""
    known = {str(m) for m in model_ids}
    missing = sorted({m for pair in pairs for m in pair if m not in known})
    if missing:
        raise BayesLLMError(f"--pair: model id(s) {', '.join(repr(m) for m in missing)} not in "
                            f"the fit ({len(known)} models; see models.csv in the fit folder)")


def _relabel(text: str, prob: float, kind: str) -> str:
    """Make the table's interval column header name the interval actually used.

    (A renderer that bound the project constant at import time labels it with that.)
    """
    from bayes_llm.derived import headline as module
    from bayes_llm.derived.summary import interval_label

    bound = getattr(module, "HDI_PROB", None), getattr(module, "CI_KIND", None)
    if None in bound:
        return text
    old = f"{bound[0]:.0%} {str(bound[1]).upper()}"
    new = interval_label(prob, kind)
    if old == new or old not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("figure ") and old in line:  # the header row only
            padded = old + " " * max(0, len(new) - len(old))  # keep the columns aligned
            target = padded if padded in line else old
            lines[i] = line.replace(target, new.ljust(len(target)), 1)
            break
    return "\n".join(lines)


def headline(
    run_dir: RunDirArgument,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder for headline.csv, headline.md, "
        "headline_draws.nc (per-draw values) and parameter_summary.csv.",
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
    average_with: AverageWithOption = None,
    weights: WeightsOption = None,
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    allow_warnings: AllowWarningsOption = False,
    mirror: MirrorOption = None,
) -> int:
    """Load a saved fit, compute its headline table, print it and optionally export it.

    With ``--mirror`` the current data are loaded from the mirror, the fit is checked
    against them (a changed data set is an error) and the paper's OLS is run on them;
    otherwise the OLS runs on the models saved with the fit.
    """
    from bayes_llm.cli.options import fit_data_note, interval_context, load_data
    from bayes_llm.derived.summary import resolve_interval

    resolve_interval(hdi_prob, ci_kind)  # a bad value fails before any work
    pairs = [_parse_pair(p) for p in pair or []]
    from bayes_llm.derived import headline_draws, headline_table, headline_text, write_headline
    from bayes_llm.model import load_fit
    from bayes_llm.model.fit import POINTWISE_GROUPS
    from bayes_llm.report.build import find_fit_dir
    from bayes_llm.report.exports import (
        HEADLINE_DRAWS_NC,
        PARAMETER_SUMMARY_CSV,
        diagnostics_banner,
        diagnostics_status,
        stamp_markdown,
        with_diagnostics,
        write_headline_draws,
        write_parameter_summary,
    )

    average_dirs, weight_spec = average_options(average_with, weights)
    fit_dir = find_fit_dir(run_dir)
    average_dirs = [find_fit_dir(d) for d in average_dirs]
    if pairs:  # fail fast, before loading the posterior
        import pandas as pd

        try:
            check_pairs(pd.read_csv(fit_dir / "models.csv", usecols=["model_id"])["model_id"],
                        pairs)
        except (OSError, ValueError):
            pass  # a damaged models.csv is reported by load_fit below
    df = load_data(mirror, None) if mirror is not None else None
    fit = load_fit(fit_dir, df=df, omit=POINTWISE_GROUPS)  # the headline never reads them
    if df is None:
        say(fit_data_note(fit))
    check_pairs(fit.models["model_id"], pairs)
    others = [load_fit(d, df=df, omit=POINTWISE_GROUPS) for d in average_dirs]
    if others:
        from bayes_llm.derived.averaging import check_same_data, resolve_weights

        check_same_data([fit, *others])  # refuse before the expensive work
        resolve_weights(weight_spec, [fit, *others])
    with interval_context(hdi_prob, ci_kind) as (prob, kind):
        if out is None and df is None and not others:  # the table alone: kept in the folder
            from bayes_llm.derived.fit_cache import cached_headline_table

            options = {"pairs": [list(p) for p in pairs], "reference_log10_flop":
                       reference_compute, "seed": seed, "hdi_prob": prob, "ci_kind": kind}
            table = cached_headline_table(fit, options, lambda: headline_table(
                fit, pairs=pairs or None, reference_log10_flop=reference_compute, seed=seed,
                hdi_prob=prob, ci_kind=kind))
        else:
            draws = headline_draws(fit, pairs=pairs or None,
                                   reference_log10_flop=reference_compute)
            table = headline_table(fit, pairs=pairs or None,
                                   reference_log10_flop=reference_compute, seed=seed, df=df,
                                   draws=draws, hdi_prob=prob, ci_kind=kind,
                                   curve_fits=others, curve_weights=weight_spec)
        if "hdi_prob" in table:
            table["hdi_prob"], table["ci_kind"] = prob, kind
        table = with_diagnostics(table, fit)
        banner = diagnostics_banner(fit)
        if banner:
            typer.echo(banner)
        typer.echo(_relabel(headline_text(table), prob, kind), nl=False)
        typer.echo(f"fit diagnostics: {diagnostics_status(fit)[1]}")
        if table.attrs.get("model_average"):
            typer.echo(table.attrs["model_average"])
        if out is not None:
            written = write_headline(table, out)
            for path in written:
                if path.suffix == ".md":
                    stamp_markdown(path, fit)
            written.append(write_headline_draws(draws, Path(out) / HEADLINE_DRAWS_NC, fit))
            written.append(write_parameter_summary(fit, Path(out) / PARAMETER_SUMMARY_CSV))
            typer.echo(f"\nwrote {', '.join(p.name for p in written)} to {out}")
    from bayes_llm.cli.options import diagnostics_gate

    codes = [diagnostics_gate(f, allow_warnings) for f in [fit, *others]]
    return max(codes)


def register(app: typer.Typer) -> None:
    """Add the ``headline`` command to the CLI."""
    app.command(name="headline", help=HELP)(headline)
