"""Time one gradient of an integrated spec with and without lineages summed out on a grid.

Prints, for the training set of a validate split (the time split's models released before
2024-10, or a developer fold's) and a spec with ``lineage_effect`` (default the issue-10
candidate ``verification/specs/fc_two_nc_ratio2_tlin.toml``): how many lineages and models
``lineage_grid = "near_floor"`` sums out, the compile time and the cost of one log density
+ gradient (numba, strict floating point as sampled) with ``lineage_grid`` off and on, and
their ratio; with ``--jax`` also the numpyro backend's path (PyMC's JAX graph, JAX's
gradient, jit-compiled, float64) on this machine's JAX device. Figures are printed, never
asserted (issue 10: what summing out the near-floor
lineages costs; ``models/README.md``, "Lineages summed out on a grid").

Usage::

    PYTENSOR_FLAGS=base_compiledir=.cache/pytensor BAYES_LLM_DATA_MIRROR=../shared/data \\
        .venv/bin/python benchmarks/bench_lineage_grid.py [--split time:2024-10] [--fold 0] [--jax]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_leaderboard6_gradient import _timed_calls, _value_and_gradient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="verification/specs/fc_two_nc_ratio2_tlin.toml")
    parser.add_argument("--split", default="time:2024-10")
    parser.add_argument("--fold", type=int, default=0, help="which fold's training set")
    parser.add_argument("--jax", action="store_true",
                        help="also time the numpyro backend's JAX log density + gradient")
    args = parser.parse_args()
    import pytensor

    from bayes_llm.constants import DEFAULT_SEED
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model import load_spec, prepare_data
    from bayes_llm.model.build import build_model
    from bayes_llm.validate.run import split_fold

    base = load_spec(args.spec)
    _, train, _ = split_fold(load_paper_dataset(), base, args.split, args.fold,
                             seed=DEFAULT_SEED)
    rng = np.random.default_rng(0)
    cost = {}
    for grid in ("none", "near_floor"):
        spec = base.with_changes(lineage_grid=grid)
        data = prepare_data(train, spec)
        summed = int(np.isin(data.lineage_idx, data.lineage_grid).sum())
        model = build_model(data, spec)
        with pytensor.config.change_flags(numba__fastmath=False):
            start = time.perf_counter()
            fn, x0 = _value_and_gradient(model, model.logp())
            points = [x0 + 0.01 * rng.standard_normal(x0.size) for _ in range(10)]
            fn(points[0])
            compiled = time.perf_counter() - start
            cost[grid] = _timed_calls(fn, points)
        print(f"{args.split} fold {args.fold}, {data.n_models} training models, lineage_grid = "
              f"{grid!r}: {len(data.lineage_grid)} lineages holding {summed} models summed "
              f"out; compile {compiled:.0f} s; log density + gradient {cost[grid]:.2f} ms")
        if args.jax:
            jax_cost, jax_compiled, device = _jax_cost(model, points)
            print(f"  JAX ({device}): compile {jax_compiled:.0f} s; log density + gradient "
                  f"{jax_cost:.2f} ms ({jax_cost / cost[grid]:.2f}x numba)")
    print(f"ratio: {cost['near_floor'] / cost['none']:.1f}x")


def _jax_cost(model, points) -> tuple[float, float, str]:
    """Milliseconds per JAX log density + gradient (jit), its compile time and the device.

    The numpyro backend's path: PyMC's JAX graph of the log density in the free
    variables, differentiated by JAX, at the same flat points as the numba function.
    """
    import jax
    import jax.numpy as jnp
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    logp = get_jaxified_logp(model)  # the log density itself (its flag reads the other way)
    start = model.initial_point()
    shapes = [np.shape(start[v.name]) for v in model.value_vars]
    cuts = np.cumsum([int(np.prod(shape)) for shape in shapes])[:-1]

    def flat_logp(x):
        parts = jnp.split(x, cuts)
        return logp([part.reshape(shape) for part, shape in zip(parts, shapes, strict=True)])

    value_and_grad = jax.jit(jax.value_and_grad(flat_logp))

    def call(x):
        value, grad = value_and_grad(jnp.asarray(x))
        grad.block_until_ready()
        return value, grad

    began = time.perf_counter()
    call(points[0])
    compiled = time.perf_counter() - began
    return _timed_calls(call, points), compiled, str(jax.devices()[0])


if __name__ == "__main__":
    main()
