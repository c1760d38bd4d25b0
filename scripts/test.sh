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
# --durations: the slowest tests are printed, to keep the suite under 15 minutes
exec .venv/bin/python -m pytest --durations=25 "$@"
