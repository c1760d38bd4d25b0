"""``bayes-llm joint``: fit the joint six-benchmark model and write its answers (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bayes_llm.cli.options import (
    AllowWarningsOption,
    CiKindOption,
    HdiProbOption,
    JointBackendOption,
    MirrorOption,
    ProgressOption,
    SamplerChainsOption,
    SamplerDrawsOption,
    SamplerSeedOption,
    SamplerTuneOption,
    load_data,
    say,
)
from bayes_llm.constants import JOINT_DEFAULT_ABILITY as DEFAULT_ABILITY
from bayes_llm.constants import JOINT_DEFAULT_INTERCEPT as DEFAULT_INTERCEPT
from bayes_llm.constants import JOINT_DEFAULT_RESIDUALS as DEFAULT_RESIDUALS

#: The command's default spec (its parameterisation defaults are the package's).
DEFAULT_SPEC = "leaderboard6"

HELP = (
    "Fit the joint model of the six Open LLM Leaderboard benchmarks (is the secret sauce "
    "general?) and write DIR: posterior.nc, metadata.json (settings, diagnostics verdict "
    "and failures, data hash, timings), correlations.csv, developer_sds.csv, "
    "benchmark_shares.csv, concentration.csv (each with the fit's diagnostic status), "
    "joint.md (with a banner when the diagnostics fail) and two PNG figures. With --from "
    "SAVED_DIR the tables and figures of a saved result are re-rendered without refitting. "
    "Exits 1 when the diagnostics fail (unless --allow-warnings)."
)


def joint(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file or bundled spec name with outcome = 'leaderboard6'.")]
    = DEFAULT_SPEC,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR",
                                      help="Result folder to write (replaced only if "
                                      "bayes_llm wrote it).", show_default=False)] = None,
    from_dir: Annotated[Path | None, typer.Option(
        "--from", metavar="SAVED_DIR", help="Re-render the tables, joint.md and figures of a "
        "saved joint result into --out, without refitting (SPEC and the sampler, model "
        "and data options are refused: the saved result fixes them).",
        show_default=False)] = None,
    draws: SamplerDrawsOption = None,
    tune: SamplerTuneOption = None,
    chains: SamplerChainsOption = None,
    seed: SamplerSeedOption = None,
    residuals: Annotated[str | None, typer.Option(
        "--residuals", help="Parameterisation of the count residuals: centred, non_centred, "
        f"mixed, marginal, weak_marginal [default: {DEFAULT_RESIDUALS}].",
        show_default=False)] = None,
    ability: Annotated[str | None, typer.Option(
        "--ability", help="Parameterisation of the common ability: unit, scaled or conditional "
        f"[default: {DEFAULT_ABILITY}].", show_default=False)] = None,
    intercept: Annotated[str | None, typer.Option(
        "--intercept", help="How the intercepts are sampled: equal (alpha itself) or models "
        "(at the models' average period, which decouples them from the period effects; the "
        f"same model) [default: {DEFAULT_INTERCEPT}].", show_default=False)] = None,
    benchmarks: Annotated[str | None, typer.Option(
        "--benchmarks", metavar="B1,B2,...", help="Model only these benchmarks (default all "
        "six: ifeval, bbh, math_lvl5, gpqa, musr, mmlu_pro).", show_default=False)] = None,
    backend: JointBackendOption = "nutpie",
    hdi_prob: HdiProbOption = None,
    ci_kind: CiKindOption = None,
    allow_warnings: AllowWarningsOption = False,
    progress: ProgressOption = None,
    mirror: MirrorOption = None,
) -> int:
    """Fit the joint model (or re-render a saved one) and write its answers (see :data:`HELP`)."""
    from bayes_llm.derived.summary import resolve_interval
    from bayes_llm.errors import BayesLLMError

    if out is None:
        raise BayesLLMError("missing --out DIR (the folder to write)")
    prob, kind = resolve_interval(hdi_prob, ci_kind)  # a bad value fails before any work
    if from_dir is not None:
        given = [name for name, value in (("--draws", draws), ("--tune", tune),
                                          ("--chains", chains), ("--seed", seed),
                                          ("--benchmarks", benchmarks),
                                          ("--residuals", residuals), ("--ability", ability),
                                          ("--intercept", intercept),
                                          ("--mirror", mirror))
                 if value is not None]
        if spec != DEFAULT_SPEC:
            given.insert(0, "SPEC")
        if given:
            raise BayesLLMError(f"{', '.join(given)} cannot be used with --from (nothing is "
                                "refitted)")
        result = _rerender(from_dir, out)
    else:
        result = _fit(spec, out, draws=draws, tune=tune, chains=chains, seed=seed,
                      residuals=residuals or DEFAULT_RESIDUALS,
                      ability=ability or DEFAULT_ABILITY,
                      intercept=intercept or DEFAULT_INTERCEPT, benchmarks=benchmarks,
                      backend=backend, progress=progress, mirror=mirror)
    path = result.save(out, hdi_prob=prob, ci_kind=kind)
    _print_answers(result, prob, kind)
    typer.echo(f"\nwrote {path} (joint.md, {len(result.make_tables(prob, kind))} tables, "
               "2 figures, posterior.nc)")
    if result.diagnostics.ok:
        return 0
    shown = "; ".join(result.diagnostics.failures)
    typer.secho(f"!! MCMC DIAGNOSTICS FAILED for the joint fit: every number is provisional "
                f"!! ({shown})", fg=typer.colors.RED, bold=True, err=True)
    if allow_warnings:
        return 0
    say("exit code 1 because the diagnostics failed; pass --allow-warnings to exit 0")
    return 1


def _rerender(from_dir: Path, out: Path):
    from bayes_llm.atomic import check_destination
    from bayes_llm.joint import load_joint

    result = load_joint(from_dir)
    check_destination(out)
    say(f"re-rendering the joint result in {from_dir} (no refit; spec "
        f"'{result.spec.name}', data hash {str(result.metadata.get('data_hash'))[:12]})")
    return result


def _fit(spec_name: str, out: Path, *, draws, tune, chains, seed, residuals, ability,
         intercept, benchmarks, backend, progress, mirror):
    from bayes_llm.joint import check_joint_output, joint_spec, run_joint
    from bayes_llm.joint.run import check_joint_options

    check_joint_options(residuals, ability, backend, intercept)  # before any data is loaded
    chosen = tuple(b.strip() for b in benchmarks.split(",") if b.strip()) if benchmarks \
        else None
    spec = joint_spec(spec_name, draws=draws, tune=tune, chains=chains, seed=seed)
    df = load_data(mirror, None)
    if check_joint_output(out, spec, df) == "replace":  # the destination, before sampling
        say(f"will replace the earlier bayes_llm result in {out}")
    show_bar = sys.stderr.isatty() if progress is None else progress
    s = spec.sampler
    say(f"fitting the joint model '{spec.name}' (residuals {residuals}, ability {ability}, "
        f"intercept {intercept}; "
        f"{s.chains} chains x ({s.tune} tune + {s.draws} draws), seed {s.seed}) with "
        f"{backend}" + ("" if show_bar else "; no progress bar (stderr is not a terminal): "
                        "on the 809 models this takes several minutes"))
    result = run_joint(df, spec, benchmarks=chosen, residuals=residuals, ability=ability,
                       intercept=intercept,
                       backend=backend, progressbar=show_bar,
                       source_file=str(df.attrs.get("source_file", "")))
    t = result.metadata["timing_seconds"]
    say(f"sampling done (data {t['data']:.1f} s, build + compile + sampling "
        f"{t['build_compile_sample']:.1f} s)")
    return result


def _print_answers(result, prob: float, kind: str) -> None:
    from bayes_llm.joint.markdown import verdict_line

    tables = result.make_tables(prob, kind)
    typer.echo(result.diagnostics.to_text())
    typer.echo("\n" + verdict_line(result).replace("**", ""))
    typer.echo(f"\ncorrelation of developer effects (median, {prob:.0%} {kind.upper()}):")
    typer.echo(tables["correlations"].round(3).to_string(index=False))
    typer.echo("\ndeveloper SD per benchmark and common share:")
    typer.echo(tables["developer_sds"].round(3).to_string(index=False))
    typer.echo("\ncompany and compute share per benchmark:")
    typer.echo(tables["benchmark_shares"].round(3).to_string(index=False))


def register(app: typer.Typer) -> None:
    """Add the ``joint`` command."""
    app.command("joint", help=HELP)(joint)
