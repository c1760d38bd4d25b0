"""Headline-table benchmark on a saved fit: wall and CPU time per step.

Prints, for a fit folder written by ``bayes-llm fit`` (default: the default spec, 1000
draws x 4 chains), the wall and process (CPU) time of loading the fit and of each step of
:func:`bayes_llm.derived.headline_table`: the per-draw figures, the Shapley statistic
with its developer-clustered bootstrap (``N_BOOT`` replicates) and parametric null
(``N_NULL``), and the full table (per-figure R-hat/ESS, paper values). Target: the full
table under 3 s on the default fit. On a shared machine compare CPU times: wall time
includes waiting for the CPU.

Usage::

    bayes-llm fit -m binomial_developers -o results/default
    .venv/bin/python benchmarks/bench_headline.py results/default [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from bayes_llm.derived import headline_draws, headline_table
from bayes_llm.derived.shapley_null import N_BOOT, N_NULL, shapley_reference
from bayes_llm.model import load_fit

TARGET_S = 3.0


def _timed(label: str, func):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<34} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    return out, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit_dir")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    fit, _, _ = _timed("load_fit", lambda: load_fit(args.fit_dir))
    fit.dt.load()
    post = fit.dt["posterior"]
    print(f"fit {fit.spec.name}: {post.sizes['chain']} chains x {post.sizes['draw']} draws, "
          f"{fit.models.shape[0]} models; bootstrap {N_BOOT}, null {N_NULL} replicates")
    for i in range(args.repeat):
        print(f"run {i + 1}")
        _timed("headline_draws", lambda: headline_draws(fit))
        _timed("shapley_reference", lambda: shapley_reference(fit))
        _, wall, cpu = _timed("headline_table (all of it)", lambda: headline_table(fit))
        print(f"  target < {TARGET_S:.0f} s: wall {'met' if wall < TARGET_S else 'MISSED'}, "
              f"cpu {'met' if cpu < TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
