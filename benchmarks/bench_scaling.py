"""Scaling benchmark: fit time, peak memory and ESS versus the number of models.

Sizes: the paper's 809 models (real outcomes) and synthetic designs of 10,000 and 100,000
models with 1,000 developers (``bayes_llm.verify.simulate.synthetic_design``: real release
periods and compute resampled, Zipf-like developer sizes; outcomes simulated from the
model at plausible parameter values). Both likelihoods use the default structure
(cohort effects unpooled, every developer partially pooled): ``binomial`` is the default
spec ``binomial_developers``, ``logit_normal`` the same spec with a logit-normal outcome.

Every configuration runs in its own subprocess, so its peak resident memory
(``getrusage``: the process itself plus any worker processes, e.g. PyMC's per-chain
processes) is its own. Reported per configuration: wall time of ``fit_model`` (build,
sampling, log-likelihood and log-prior), sampling time, peak RSS, the smallest bulk ESS
over the reported parameters (and over the per-model ``eta``), and min ESS per second of
sampling.

``--components`` instead measures the memory of the derived-quantity post-processing
(:func:`bayes_llm.model.linear_components`) on a synthetic posterior of N models x D draws,
with and without thinning (``tracemalloc`` peak of the call, which numpy reports to).

Usage::

    python benchmarks/bench_scaling.py                              # 809 and 10,000
    python benchmarks/bench_scaling.py --sizes 809,10000,100000 --backends nutpie,pymc
    python benchmarks/bench_scaling.py --components --sizes 100000 --draws 500 --chains 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.cache' / 'pytensor'}")

LIKELIHOODS = ("logit_normal", "binomial")
COLUMNS = ("n_models", "backend", "likelihood", "draws", "chains", "fit_s", "sample_s",
           "peak_rss_mb", "min_ess_bulk", "min_ess_eta", "ess_per_s", "max_rhat",
           "divergences", "status")


def _spec(likelihood: str, draws: int, tune: int, chains: int, seed: int):
    from bayes_llm.model import load_spec

    spec = load_spec("binomial_developers")
    if likelihood == "logit_normal":
        spec = spec.with_changes(name="logit_normal_developers", likelihood="logit_normal")
    return spec.with_changes(sampler={"draws": draws, "tune": tune, "chains": chains,
                                      "seed": seed})


def _data(n_models: int, spec, seed: int, mirror: str | None):
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.verify.simulate import simulate, synthetic_design

    df = load_paper_dataset(mirror=mirror)
    if n_models == len(df):
        return df
    design = synthetic_design(df, n_models, n_developers=min(1000, n_models), seed=seed)
    return simulate(spec, design, seed=seed).df


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)  # ru_maxrss is in KiB on Linux


def run_one(args: argparse.Namespace) -> dict:
    """Fit one configuration in this process and return its measurements."""
    import numpy as np

    from bayes_llm.model import fit_model

    spec = _spec(args.likelihood, args.draws, args.tune, args.chains, args.seed)
    df = _data(args.n_models, spec, args.seed, args.mirror)
    t0 = time.perf_counter()
    fit = fit_model(spec, df, backend=args.backend, progressbar=False)
    fit_s = time.perf_counter() - t0
    table = fit.diagnostics.table
    checked = table[table["checked"]]
    sample_s = float(fit.metadata["timing_seconds"]["sample"])
    min_ess = float(np.nanmin(checked["ess_bulk_min"]))
    return {"n_models": int(fit.metadata["n_models"]), "backend": args.backend,
            "likelihood": args.likelihood, "draws": args.draws, "chains": args.chains,
            "fit_s": round(fit_s, 1), "sample_s": round(sample_s, 1),
            "peak_rss_mb": _peak_rss_mb(), "min_ess_bulk": round(min_ess),
            "min_ess_eta": (round(float(table.loc["eta", "ess_bulk_min"]))
                            if "eta" in table.index else None),
            "ess_per_s": round(min_ess / sample_s, 1) if sample_s > 0 else None,
            "max_rhat": round(float(np.nanmax(checked["r_hat_max"])), 3),
            "divergences": int(fit.diagnostics.sampler["divergences"]), "status": "ok"}


def _fake_tree(n_models: int, draws: int, chains: int, n_developers: int = 1000,
               n_periods: int = 3, seed: int = 0):
    """A posterior shaped like a binomial fit (values random), for memory measurements."""
    import numpy as np
    import xarray as xr

    rng = np.random.default_rng(seed)
    n_dev = min(n_developers, n_models)
    sd = ("chain", "draw")
    post = xr.Dataset({
        "alpha": (sd, rng.normal(size=(chains, draws))),
        "beta": (sd, rng.normal(size=(chains, draws))),
        "period_effect": ((*sd, "period"), rng.normal(size=(chains, draws, n_periods))),
        "developer_effect": ((*sd, "developer"), rng.normal(size=(chains, draws, n_dev))),
        "eta": ((*sd, "model"), rng.normal(size=(chains, draws, n_models))),
    })
    const = xr.Dataset({
        "log10_flop_centred": ("model", rng.normal(size=n_models)),
        "period_idx": ("model", rng.integers(0, n_periods, n_models)),
        "developer_idx": ("model", rng.integers(0, n_dev, n_models)),
    })
    return xr.DataTree.from_dict({"posterior": post, "constant_data": const})


def run_components(args: argparse.Namespace) -> list[dict]:
    """Peak memory and time of ``linear_components`` at each thinning."""
    import tracemalloc

    from bayes_llm.model import linear_components

    dt = _fake_tree(args.n_models, args.draws, args.chains)
    eta_mb = dt["posterior"]["eta"].nbytes / 2**20
    rows = []
    for thin in args.thin_values:
        tracemalloc.start()
        t0 = time.perf_counter()
        comps = linear_components(dt, thin=thin)
        seconds = time.perf_counter() - t0
        result_mb = sum(v.nbytes for v in comps.data_vars.values()) / 2**20
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del comps
        rows.append({"n_models": args.n_models, "draws_total": args.draws * args.chains,
                     "thin": thin, "posterior_eta_mb": round(eta_mb),
                     "result_mb": round(result_mb), "peak_mb": round(peak),
                     "seconds": round(seconds, 2), "peak_rss_mb": _peak_rss_mb()})
    return rows


def _child(argv: list[str], timeout: float) -> tuple[list[dict], str]:
    cmd = [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), *argv]
    # A session of its own, so a timeout kills the child *and* its workers (PyMC chains).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return [], f"timeout > {timeout:.0f} s"
    rows = [json.loads(line[len("RESULT "):]) for line in stdout.splitlines()
            if line.startswith("RESULT ")]
    if proc.returncode != 0 or not rows:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return rows, f"failed (exit {proc.returncode}): {tail[:120]}"
    return rows, "ok"


def _table(rows: list[dict], columns) -> str:
    columns = [c for c in columns if any(c in r for r in rows)]
    text = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(t, widths, strict=True)) for t in text]
    return "\n".join(lines)


def _available_backends(requested: list[str]) -> list[str]:
    from bayes_llm.errors import BackendUnavailableError
    from bayes_llm.model.sampling import check_backend

    out = []
    for backend in requested:
        try:
            check_backend(backend)
        except BackendUnavailableError as exc:
            print(f"skipping backend {backend}: {exc}", file=sys.stderr)
            continue
        out.append(backend)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="809,10000",
                   help="comma-separated numbers of models; 809 = the paper's data")
    p.add_argument("--backends", default="nutpie,pymc,numpyro")
    p.add_argument("--likelihoods", default=",".join(LIKELIHOODS))
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600, help="seconds per configuration")
    p.add_argument("--mirror", default=None, help="data mirror folder")
    p.add_argument("--components", action="store_true",
                   help="measure linear_components memory instead of fitting")
    p.add_argument("--thin", default="1,10", help="thinning values for --components")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    p.add_argument("--one", nargs=3, metavar=("N", "BACKEND", "LIKELIHOOD"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.thin_values = [int(t) for t in args.thin.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]

    if args.one:  # child process: one configuration
        args.n_models, args.backend, args.likelihood = int(args.one[0]), *args.one[1:]
        rows = run_components(args) if args.components else [run_one(args)]
        for row in rows:
            print("RESULT " + json.dumps(row), flush=True)
        return 0

    common = ["--draws", str(args.draws), "--tune", str(args.tune), "--chains",
              str(args.chains), "--seed", str(args.seed), "--thin", args.thin]
    if args.mirror:
        common += ["--mirror", args.mirror]
    rows: list[dict] = []
    if args.components:
        for n in sizes:
            found, status = _child(["--components", "--one", str(n), "-", "-", *common],
                                   args.timeout)
            rows += found or [{"n_models": n, "status": status}]
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        columns = ("n_models", "draws_total", "thin", "posterior_eta_mb", "result_mb",
                   "peak_mb", "seconds", "peak_rss_mb", "status")
    else:
        backends = _available_backends(args.backends.split(","))
        for n in sizes:
            for likelihood in args.likelihoods.split(","):
                for backend in backends:
                    t0 = time.perf_counter()
                    found, status = _child(["--one", str(n), backend, likelihood, *common],
                                           args.timeout)
                    row = found[0] if found else {"n_models": n, "backend": backend,
                                                  "likelihood": likelihood, "status": status}
                    rows.append(row)
                    print(f"[{time.perf_counter() - t0:6.0f} s] " + json.dumps(row),
                          file=sys.stderr, flush=True)
        columns = COLUMNS
    print()
    print(_table(rows, columns))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
