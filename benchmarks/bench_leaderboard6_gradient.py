"""Time one gradient of the joint six-benchmark model, and a leapfrog step inside nutpie.

Prints: the cost of one log density + gradient evaluation of the bundled ``leaderboard6``
spec on the 809 models (numba, strict floating point as sampled: ``numba__fastmath=False``),
of its beta-binomial counts alone, and nutpie's wall time per leapfrog step with one and
with two chains side by side (short runs; steps counted from the sampler's statistics,
warm-up included). Figures are printed, never asserted (issue 15: where the joint fit's
time goes; ``models/README.md``, "Under five minutes").

Usage::

    PYTENSOR_FLAGS=base_compiledir=.cache/pytensor BAYES_LLM_DATA_MIRROR=../shared/data \\
        .venv/bin/python benchmarks/bench_leaderboard6_gradient.py [--iterations 150]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _timed_calls(fn, points, seconds: float = 2.0) -> float:
    """Best of three: mean milliseconds per call of ``fn`` cycling over ``points``."""
    fn(points[0])
    best = np.inf
    for _ in range(3):
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            for point in points:
                fn(point)
                calls += 1
        best = min(best, (time.perf_counter() - start) / calls * 1e3)
    return best


def _value_and_gradient(model, logp):
    """Compile ``logp`` and its gradient in the model's free variables as a flat function."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import join_nonshared_inputs

    start = model.initial_point()
    values = model.value_vars
    grad = pt.concatenate([g.ravel() for g in pt.grad(logp, values,
                                                        disconnected_inputs="ignore")])
    [logp2, grad2], flat = join_nonshared_inputs(start, [logp, grad], values, ())
    fn = pytensor.function([flat], [logp2, grad2], mode="NUMBA")
    x0 = np.concatenate([np.asarray(start[v.name]).ravel() for v in values])
    return fn, x0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150,
                        help="tuning steps and draws of each nutpie run")
    args = parser.parse_args()
    import nutpie
    import pytensor

    from bayes_llm.constants import (
        JOINT_DEFAULT_ABILITY,
        JOINT_DEFAULT_INTERCEPT,
        JOINT_DEFAULT_RESIDUALS,
    )
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model.leaderboard6 import build_leaderboard6_model, prepare_leaderboard6_data
    from bayes_llm.model.spec import load_spec

    spec = load_spec("leaderboard6")
    data = prepare_leaderboard6_data(load_paper_dataset(), spec)
    model = build_leaderboard6_model(data, spec, residuals=JOINT_DEFAULT_RESIDUALS,
                                     ability_scaling=JOINT_DEFAULT_ABILITY,
                                     intercept=JOINT_DEFAULT_INTERCEPT)
    rng = np.random.default_rng(0)
    with pytensor.config.change_flags(numba__fastmath=False):
        fn, x0 = _value_and_gradient(model, model.logp())
        points = [x0 + 0.01 * rng.standard_normal(x0.size) for _ in range(20)]
        print(f"log density + gradient ({x0.size} free dimensions): "
              f"{_timed_calls(fn, points):.3f} ms")
        counts = model.logp(vars=[model["correct"]])
        fn, x0 = _value_and_gradient(model, counts)
        points = [x0 + 0.01 * rng.standard_normal(x0.size) for _ in range(20)]
        print(f"  of which the {data.k.size} beta-binomial counts: "
              f"{_timed_calls(fn, points):.3f} ms")
        start = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model)
        print(f"nutpie compile: {time.perf_counter() - start:.1f} s")
    for chains in (1, 2):
        start = time.perf_counter()
        trace = nutpie.sample(compiled, chains=chains, cores=chains, tune=args.iterations,
                              draws=args.iterations, seed=1, progress_bar=False,
                              target_accept=spec.sampler.target_accept, save_warmup=True)
        wall = time.perf_counter() - start
        steps = int(trace["warmup_sample_stats"]["n_steps"].sum()
                    + trace["sample_stats"]["n_steps"].sum())
        print(f"nutpie, {chains} chain(s) x ({args.iterations} + {args.iterations}): "
              f"{wall:.1f} s, {steps / chains:.0f} leapfrog steps per chain, "
              f"{wall / (steps / chains) * 1e3:.2f} ms per step and chain")


if __name__ == "__main__":
    main()
