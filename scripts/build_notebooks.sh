#!/usr/bin/env bash
# Regenerate the five notebooks and execute them top to bottom at small draws, storing their
# outputs in the .ipynb files (so they render where the repository is browsed).
# Notebook 03 reuses results/main/fit when it exists (run scripts/main.sh first for full-size
# headline figures); otherwise it reuses the fit notebook 02 just made. CPU-heavy: runs at
# nice 10. Sizes: BAYES_LLM_NB_DRAWS / _TUNE / _CHAINS / _PRIOR_DRAWS (defaults below).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
export BAYES_LLM_NB_DRAWS=${BAYES_LLM_NB_DRAWS:-200}
export BAYES_LLM_NB_TUNE=${BAYES_LLM_NB_TUNE:-200}
export BAYES_LLM_NB_CHAINS=${BAYES_LLM_NB_CHAINS:-2}
export BAYES_LLM_NB_PRIOR_DRAWS=${BAYES_LLM_NB_PRIOR_DRAWS:-100}
export MPLBACKEND=Agg
export PYTENSOR_FLAGS=${PYTENSOR_FLAGS:-base_compiledir=$PWD/.cache/pytensor}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${BAYES_LLM_NB_FIT_DIR:-}" ] && [ ! -d results/main/fit ]; then
  export BAYES_LLM_NB_FIT_DIR="$tmp/fit"   # 02 saves its fit here, 03 reuses it
fi
nice -n 10 "$PY" notebooks/build_notebooks.py --execute
nice -n 10 "$PY" notebooks/build_notebook_04.py --execute
nice -n 10 "$PY" notebooks/build_notebook_05.py --execute   # reads results/joint when present
