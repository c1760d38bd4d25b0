#!/usr/bin/env bash
# Set up, then run the test suite (fast tests + a few small real MCMC fits + notebooks).
# Slow checks (full SBC, full-size backend agreement): scripts/test.sh -m slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${BAYES_LLM_DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
  export BAYES_LLM_DATA_MIRROR=$(cd ../shared/data && pwd)
fi
export PYTENSOR_FLAGS=${PYTENSOR_FLAGS:-base_compiledir=$PWD/.cache/pytensor}
export MPLBACKEND=Agg
# One BLAS thread per process: the tests run MCMC chains in parallel threads already, and
# oversubscribed BLAS made the per-developer OLS 100x slower on 2 cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/ruff check bayes_llm tests benchmarks notebooks
# Test files run in parallel worker processes (pytest-xdist; a file's tests stay together,
# in order, so module fixtures are made once): on 2 cores the suite took 1,196 s instead of
# 2,003 s. BAYES_LLM_TEST_WORKERS sets how many (default: the cores, at most 4; 0 runs in
# this process). --durations: the slowest tests are printed, to keep it under 15 minutes.
workers=${BAYES_LLM_TEST_WORKERS:-$(.venv/bin/python -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')}
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile --durations=25 "$@"
