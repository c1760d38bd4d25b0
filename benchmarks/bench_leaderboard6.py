"""Time and diagnose the joint six-benchmark fit on the paper's 809 models (issue 15).

Prints: the design (models, developers, observed scores), wall times (data, build +
compile + sampling), divergences, the worst R-hat and smallest bulk/tail ESS over the
scalars and the correlations (``bayes_llm.model.diagnostics`` rules: R-hat <= 1.01, bulk
ESS >= 400, no divergences), then the posterior figures: the correlation of developer
effects for every pair of benchmarks, each benchmark's developer SD, the common share of
developer variance, each benchmark's compute slope, company and compute shares, and the
developers whose advantage is most concentrated in one benchmark (medians, 94% HDIs). Figures are
printed, never asserted. Target (issue 15): converged in under 5 minutes on 2 cores.

Usage::

    PYTENSOR_FLAGS=base_compiledir=.cache/pytensor BAYES_LLM_DATA_MIRROR=../shared/data \
        .venv/bin/python benchmarks/bench_leaderboard6.py [--spec leaderboard6] [--seed 1]
        [--draws 1400 --tune 400 --chains 2] [--periods centred] [--save posterior.nc]

Defaults: the spec's sampler settings and parameterisations and ``bayes-llm joint``'s
residuals, ability and intercept, i.e. the command's default fit.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bayes_llm.constants import (
    JOINT_DEFAULT_ABILITY,
    JOINT_DEFAULT_INTERCEPT,
    JOINT_DEFAULT_RESIDUALS,
)
from bayes_llm.data import load_paper_dataset
from bayes_llm.derived.leaderboard6 import correlation_table, developer_summary
from bayes_llm.derived.leaderboard6_concentration import (
    concentration_table,
    models_per_developer,
)
from bayes_llm.derived.leaderboard6_shares import benchmark_share_table
from bayes_llm.derived.summary import summary_frame
from bayes_llm.joint import joint_spec
from bayes_llm.model.diagnostics import diagnose
from bayes_llm.model.leaderboard6 import (
    ABILITY_PARAMETERISATIONS,
    INTERCEPT_PARAMETERISATIONS,
    PROBE_APPROXIMATIONS,
    RESIDUAL_PARAMETERISATIONS,
    fit_leaderboard6,
    prepare_leaderboard6_data,
)
from bayes_llm.model.spec import PARAMETERISATIONS, PERIOD_PARAMETERISATIONS

SCALARS = ["alpha", "beta", "ability_loading", "sigma_model", "sigma_developer",
           "developer_corr", "sigma_period", "sigma_period_benchmark", "ifeval_precision",
           "period_effect"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="leaderboard6",
                        help="bundled spec name or TOML file (default: leaderboard6)")
    parser.add_argument("--draws", type=int, default=None, help="default: the spec's")
    parser.add_argument("--tune", type=int, default=None, help="default: the spec's")
    parser.add_argument("--chains", type=int, default=None, help="default: the spec's")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parameterisation", choices=list(PARAMETERISATIONS),
                        default=None, help="of the developer effects (default: the spec's)")
    parser.add_argument("--periods", choices=list(PERIOD_PARAMETERISATIONS), default=None,
                        help="parameterisation of the period effects (default: the spec's)")
    parser.add_argument("--target-accept", type=float, default=None)
    parser.add_argument("--residuals", choices=[*RESIDUAL_PARAMETERISATIONS,
                                                *PROBE_APPROXIMATIONS],
                        default=JOINT_DEFAULT_RESIDUALS,
                        help="parameterisation of the count residuals eta "
                        "(gaussian: the approximate likelihood with theta integrated out, "
                        "a probe of the geometry, not a model to report)")
    parser.add_argument("--ability", choices=list(ABILITY_PARAMETERISATIONS),
                        default=JOINT_DEFAULT_ABILITY,
                        help="parameterisation of the common ability theta")
    parser.add_argument("--intercept", choices=list(INTERCEPT_PARAMETERISATIONS),
                        default=JOINT_DEFAULT_INTERCEPT,
                        help="how the intercepts alpha are sampled")
    parser.add_argument("--save", default=None, help="write the posterior DataTree here")
    args = parser.parse_args()
    spec = joint_spec(args.spec, draws=args.draws, tune=args.tune, chains=args.chains,
                      seed=args.seed)  # the command's: a joint spec, its sampler overridden
    changes: dict = {}
    if args.target_accept is not None:
        changes["sampler"] = {"target_accept": args.target_accept}
    if args.parameterisation:
        changes["developer_parameterisation"] = args.parameterisation
    if args.periods:
        changes["period_parameterisation"] = args.periods
    spec = spec.with_changes(**changes) if changes else spec

    t0 = time.perf_counter()
    df = load_paper_dataset()
    data = prepare_leaderboard6_data(df, spec)
    t_data = time.perf_counter() - t0
    print(f"design: {data.n_models} models, {len(data.coords['developer'])} developers, "
          f"{len(data.coords['period'])} periods, {data.k.size} counts + {data.y.size} IFEval "
          f"scores; developer {spec.developer_parameterisation}, periods "
          f"{spec.period_parameterisation}, residuals {args.residuals}, "
          f"ability {args.ability}, intercept {args.intercept}; "
          f"{spec.sampler.chains} chains x "
          f"({spec.sampler.tune} tune + {spec.sampler.draws} draws), seed {spec.sampler.seed}, "
          "target_accept "
          f"{spec.sampler.target_accept}")
    t1 = time.perf_counter()
    dt = fit_leaderboard6(data, spec, cores=min(spec.sampler.chains, 2),
                          residuals=args.residuals,
                          ability_scaling=args.ability, intercept=args.intercept)
    t_fit = time.perf_counter() - t1
    print(f"wall time: data {t_data:.1f} s, build + compile + sampling {t_fit:.1f} s")
    if args.save:
        dt.to_netcdf(args.save)

    diag = diagnose(dt, var_names=SCALARS)
    table = diag.table
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"divergences: {diag.sampler['divergences']}, tree depth saturated: "
          f"{diag.sampler['treedepth_saturated']}, E-BFMI: "
          + ", ".join(f"{v:.2f}" for v in diag.sampler["ebfmi"]))
    stats = dt["sample_stats"].to_dataset()
    if "n_steps" in stats:
        print("leapfrog steps per draw (chain means): "
              + ", ".join(f"{v:.0f}" for v in stats["n_steps"].mean("draw").values)
              + "; step size: "
              + ", ".join(f"{v:.3f}" for v in stats["step_size"].mean("draw").values))
    post = dt["posterior"].to_dataset()
    latent_names = [v for v in ("eta", "eta_centred", "ability_z", "ability",
                                "developer_effect")
                    if v in post]
    latents = diagnose(dt, var_names=latent_names).table
    print("latents (worst element):")
    print(latents.to_string(float_format=lambda v: f"{v:.4g}"))
    print("verdict (scalars and correlations):", "OK" if diag.ok else "; ".join(diag.failures))

    pd.set_option("display.width", 160)
    print("\ncorrelation of developer effects (posterior median, 94% HDI):")
    print(correlation_table(post).round(3).to_string(index=False))
    print("\ndeveloper SD per benchmark and common share of developer variance:")
    print(developer_summary(post).round(3).to_string(index=False))
    print("\ncompute slope beta per benchmark (logit per 10x compute):")
    print(summary_frame(post["beta"], "benchmark").round(3).to_string(index=False))
    print("\nability loading per benchmark:")
    print(summary_frame(post["ability_loading"], "benchmark").round(3).to_string(index=False))

    print("\ncompany share and compute share per benchmark (latent scale; median, 94% HDI):")
    print(benchmark_share_table(post, data).round(3).to_string(index=False))
    print("\ndevelopers whose advantage is most concentrated in one benchmark "
          "(P(D_j > 1 SD), top 12):")
    conc = concentration_table(post, n_models=models_per_developer(data))
    print(conc.head(12).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
