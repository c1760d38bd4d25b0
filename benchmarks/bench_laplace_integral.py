"""Cost of the binomial–Laplace marginal against the Normal one, on the 809 models' counts.

Prints (no assertion, no timed test) the mean wall time of one value + gradient (in the
means and the scale) of the sum over the 809 MMLU-Pro counts of
:func:`bayes_llm.model.eta_integral.log_marginal` (Normal model effect, SD ``--sd``) and
of :func:`bayes_llm.model.laplace_integral.laplace_log_marginal` (Laplace of the same SD),
each compiled by PyTensor (``--mode``, default the C backend; nutpie uses NUMBA), at
means jittered around the observed logit scores.

Measured (2026-12-04, the 2-core machine idle, C backend, SD 0.3): Normal 3.4 ms; Laplace
19.0 ms per value + gradient with 24 nodes on each of a half's three panels, 15.8 ms (4.6
times) with 8 on the far tail's (which holds at most e^-12 of the half; still 1e-9 against
quadpack). With 16 nodes instead of 24 on the other two it is 1e-6 off at the floor (1e-8
needed). The panel search was then a PyTensor graph of ~40 unrolled Newton steps per half,
which numba (nutpie's backend) had not compiled after 20 minutes; as one compiled kernel
(``bayes_llm/model/laplace_window.py``, 8 + 3 x 4 steps) it compiles in seconds:
measured 2026-12-04 (idle machine, SD 0.3) C backend 20.5 ms per value + gradient
(compiled in 10 s; the kernel is called from Python there), NUMBA 22.1 ms (compiled in 2.4
s), against the Normal's 4.3-4.4 ms; the kernel alone costs 2.7 ms per half on the 809
counts.

Usage::

    python benchmarks/bench_laplace_integral.py
    python benchmarks/bench_laplace_integral.py --mode NUMBA --seconds 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sd", type=float, default=0.3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", default=None, help="PyTensor mode (default: its default)")
    args = parser.parse_args()

    import pytensor
    import pytensor.tensor as pt

    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model.eta_integral import log_marginal, pytensor_ops
    from bayes_llm.model.laplace_integral import laplace_log_marginal

    acc = load_paper_dataset()["mmlu_pro_acc"].astype(float).to_numpy()
    n = np.full(acc.shape, 12032.0)
    k = np.round(acc * n)
    g = 0.1
    rate = np.clip((k / n - g) / (1 - g), 0.5 / n, 1 - 0.5 / n)
    observed = np.log(rate / (1 - rate))
    rng = np.random.default_rng(0)
    points = [observed + args.sd * rng.standard_normal(observed.shape) for _ in range(10)]

    mu, scale = pt.dvector("mu"), pt.dscalar("scale")
    ops = pytensor_ops()
    laws = {
        "Normal": log_marginal(k, n, g, mu, pt.broadcast_to(scale, mu.shape), ops),
        "Laplace": laplace_log_marginal(k, n, g, mu, scale / np.sqrt(2.0), ops),
    }
    for name, terms in laws.items():
        total = terms.sum()
        start = time.perf_counter()
        f = pytensor.function([mu, scale], [total, *pytensor.grad(total, [mu, scale])],
                              mode=args.mode)
        f(points[0], args.sd)
        compiled = time.perf_counter() - start
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            for p in points:
                f(p, args.sd)
                calls += 1
        per_call = (time.perf_counter() - start) / calls
        print(f"{name}: {1e3 * per_call:.2f} ms per value + gradient "
              f"({len(k)} counts; compiled in {compiled:.1f} s)")


if __name__ == "__main__":
    main()
