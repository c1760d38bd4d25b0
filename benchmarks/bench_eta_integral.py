"""Cost of one log density + gradient of an integrated-model-effect spec on the 809 models.

Prints (no assertion, no timed test) the mean wall time of the compiled log density and
gradient (PyMC's ``logp_dlogp_function``) at 20 points near the initial point, for each
spec given (default: the two bundled specs that integrate the model effect out): with the
model's integral, the compiled loop of :mod:`bayes_llm.model.eta_kernel`, then with the
same formula written as a PyTensor graph (and with ``--unfixed`` that graph
differentiated through the mode search), with the largest difference of the gradients.

Measured (2026-12-03, 2-core machine with a validation run beside it): the floor mixture's
graph 8.6 ms unfixed, 4.3 ms fixed; gradients equal to 2e-11 relative.

Usage::

    python benchmarks/bench_eta_integral.py
    python benchmarks/bench_eta_integral.py binomial_floor_lineage --unfixed --seconds 30
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np


def _timed(spec_name: str, seconds: float) -> tuple[float, np.ndarray]:
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model import build, load_spec, prepare_data

    spec = load_spec(spec_name)
    model = build.build_model(prepare_data(load_paper_dataset(), spec), spec)
    f = model.logp_dlogp_function(ravel_inputs=True)
    f.set_extra_values({})
    ip = model.initial_point()
    x0 = np.concatenate([np.ravel(ip[v.name]) for v in model.value_vars])
    rng = np.random.default_rng(0)
    points = [x0 + 0.05 * rng.standard_normal(x0.size) for _ in range(20)]
    for p in points[:3]:
        f(p)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for p in points:
            f(p)
            n += 1
    per_eval = (time.perf_counter() - start) / n
    return per_eval, np.asarray(f(points[0])[1])


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="*",
                        default=["binomial_floor_mixture", "binomial_floor_lineage"])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--unfixed", action="store_true",
                        help="also time the formula's graph differentiated through the "
                             "mode search")
    args = parser.parse_args()
    from bayes_llm.model import eta_integral

    compiled = eta_integral.pytensor_log_marginal
    variants = [("compiled loop (the model's)", compiled),
                ("formula as a PyTensor graph", eta_integral.pytensor_graph_log_marginal)]
    if args.unfixed:
        variants.append(("graph through the mode search", functools.partial(
            eta_integral.pytensor_graph_log_marginal, hold_centres=False)))
    for name in args.specs:
        first = None
        for label, version in variants:
            eta_integral.pytensor_log_marginal = version
            try:
                seconds, grad = _timed(name, args.seconds)
            finally:
                eta_integral.pytensor_log_marginal = compiled
            line = f"{name}: logp + gradient {1000 * seconds:.2f} ms, {label}"
            if first is None:
                first = grad
            else:
                diff = np.max(np.abs(grad - first) / (np.abs(first) + 1.0))
                line += f"; largest relative gradient difference to the first {diff:.1e}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
