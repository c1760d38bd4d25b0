#!/usr/bin/env bash
# The main job, end to end: set up, then data -> default fit -> headline table -> report.
# Data come from $BAYES_LLM_DATA_MIRROR if set, else ../shared/data if present, else the
# pinned download (see data/sources.toml). Extra arguments go to `bayes-llm run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${BAYES_LLM_DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
  export BAYES_LLM_DATA_MIRROR=$(cd ../shared/data && pwd)
fi
export PYTENSOR_FLAGS=${PYTENSOR_FLAGS:-base_compiledir=$PWD/.cache/pytensor}
export MPLBACKEND=${MPLBACKEND:-Agg}
exec .venv/bin/bayes-llm run --out results/main "$@"
