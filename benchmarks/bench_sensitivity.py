"""Benchmark: the default sensitivity study end to end on the paper's 809 models.

Runs ``bayes-llm sensitivity default`` twice with the same arguments: the first run fits
every variant (in parallel on the local machine), the second must refit nothing. Prints
the wall time of both runs, per-variant fit times, the study table, psense verdicts and
the cross-validation comparison (the CLI's report), and writes the plots.

Usage::

    PYTENSOR_FLAGS=base_compiledir=$PWD/.cache/pytensor MPLBACKEND=Agg \\
    BAYES_LLM_DATA_MIRROR=/path/to/mirror \\
        .venv/bin/python benchmarks/bench_sensitivity.py [--draws 500 --tune 500 --chains 2]
        [--workers 2] [--out results/bench_sensitivity] [--fresh] [--study default]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="default")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("results/bench_sensitivity"))
    parser.add_argument("--cv", default=None, help="auto|loo|kfold|none (default: study's)")
    parser.add_argument("--fresh", action="store_true", help="delete --out first (cold run)")
    args = parser.parse_args()

    from bayes_llm.cli import main as cli

    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    argv = ["sensitivity", args.study, "--out", str(args.out), "--workers", str(args.workers),
            "--draws", str(args.draws), "--tune", str(args.tune), "--chains", str(args.chains)]
    if args.cv:
        argv += ["--cv", args.cv]
    mirror = os.environ.get("BAYES_LLM_DATA_MIRROR")
    if mirror:
        argv += ["--mirror", mirror]
    print(f"machine: {platform.node()} ({os.cpu_count()} CPUs), python "
          f"{platform.python_version()}; command: bayes-llm {' '.join(argv)}\n", flush=True)

    t0 = time.perf_counter()
    rc1 = cli(argv)
    first = time.perf_counter() - t0
    variants = pd.read_csv(args.out / "variants.csv")

    t0 = time.perf_counter()
    rc2 = cli([*argv, "--quiet"])
    second = time.perf_counter() - t0
    again = pd.read_csv(args.out / "variants.csv")

    print("\n=== benchmark figures ===")
    print(f"variants: {len(variants)}; status: "
          + ", ".join(f"{k} {v}" for k, v in variants["status"].value_counts().items()))
    fitted = variants[~variants["cached"]]
    fits = fitted.drop_duplicates("cache_key")  # headline-only variants share a fit
    print(f"first run:  {first:7.1f} s wall (exit {rc1}); {len(fitted)} variants fitted "
          f"({len(fits)} distinct fits), sum of per-fit times {fits['seconds'].sum():.1f} s "
          f"on {args.workers} worker(s), {args.draws}/{args.tune} x {args.chains} chains")
    print(f"second run: {second:7.1f} s wall (exit {rc2}); "
          f"{int((~again['cached']).sum())} variants refitted (must be 0)")
    print("\nper-variant fit time (s), worst R-hat, smallest bulk ESS, divergences, status:")
    for row in variants.itertuples(index=False):
        print(f"  {row.variant:<30} {row.seconds:7.1f}  {row.r_hat_max:6.3f}  "
              f"{row.ess_bulk_min:6.0f}  {row.divergences:4.0f}  {row.status}"
              + (f": {row.error}" if row.status == "failed" else ""))
    if (~again["cached"]).any():
        raise SystemExit("the second run refitted variants: the cache does not work")


if __name__ == "__main__":
    main()
