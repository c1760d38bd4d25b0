"""End-to-end fit benchmark on the paper's 809 models, per backend and likelihood.

Prints, for each (backend, spec): build time, compile + sampling time, save time, the
end-to-end wall time (load data -> posterior saved), the smallest bulk ESS over the
checked parameters and ESS per second of sampling. Targets on a 2-core machine:
``logit_normal`` end to end under 60 s, ``binomial`` under 120 s.

Usage::

    PYTENSOR_FLAGS=base_compiledir=.cache/pytensor BAYES_LLM_DATA_MIRROR=../shared/data \
        .venv/bin/python benchmarks/bench_fit.py [--backends nutpie pymc] [--specs ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from bayes_llm.data import load_paper_dataset
from bayes_llm.model import fit_model, load_spec
from bayes_llm.model.sampling import BACKENDS, BackendUnavailableError, check_backend

TARGETS = {"logit_normal": 60.0, "student_t": 60.0, "binomial": 120.0}


def run_one(backend: str, spec_name: str, out_root: Path) -> dict:
    t0 = time.perf_counter()
    df = load_paper_dataset()
    t_load = time.perf_counter() - t0
    spec = load_spec(spec_name)
    fit = fit_model(spec, df, backend=backend, progressbar=False)
    t_fit = time.perf_counter()
    fit.save(out_root / f"{backend}-{spec_name}")
    t_end = time.perf_counter()
    table = fit.diagnostics.table
    min_ess = float(table.loc[table["checked"], "ess_bulk_min"].min())
    sample_s = fit.metadata["timing_seconds"]["sample"]
    total = t_end - t0
    return {
        "backend": backend, "spec": spec_name, "likelihood": spec.likelihood,
        "load_s": round(t_load, 1), "build_s": fit.metadata["timing_seconds"]["build"],
        "compile+sample_s": round(sample_s, 1), "save_s": round(t_end - t_fit, 1),
        "end_to_end_s": round(total, 1), "target_s": TARGETS[spec.likelihood],
        "met": total <= TARGETS[spec.likelihood],
        "min_bulk_ess": round(min_ess), "ess_per_s": round(min_ess / sample_s, 1),
        "divergences": fit.diagnostics.sampler["divergences"], "ok": fit.diagnostics.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["nutpie", "pymc"], choices=BACKENDS)
    parser.add_argument("--specs", nargs="+",
                        default=["logit_normal_groups", "paper_mirror", "binomial_developers"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            try:
                check_backend(backend)
            except BackendUnavailableError as exc:
                print(f"skip {backend}: {exc}")
                continue
            for spec_name in args.specs:
                row = run_one(backend, spec_name, Path(tmp))
                rows.append(row)
                print(row, flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
