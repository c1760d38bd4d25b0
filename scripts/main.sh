#!/usr/bin/env bash
# The main job, end to end: set up, then data -> default fit -> headline table -> report.
# Data come from $BAYES_LLM_DATA_MIRROR if set, else ../shared/data if present, else the
# pinned download (see data/sources.toml). The mirror found is recorded in .bayes_llm.toml
# (see bayes_llm/location.py), so later commands and Python sessions in a new shell find it
# without any environment variable. Extra arguments go to `bayes-llm run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${BAYES_LLM_DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
  export BAYES_LLM_DATA_MIRROR=$(cd ../shared/data && pwd)
fi
config=.bayes_llm.toml
marker="# Written by scripts/main.sh"
if [ -n "${BAYES_LLM_DATA_MIRROR:-}" ]; then
  if [ ! -e "$config" ] || head -n 1 "$config" | grep -q "^$marker"; then
    mirror=$(cd "$BAYES_LLM_DATA_MIRROR" 2>/dev/null && pwd || echo "$BAYES_LLM_DATA_MIRROR")
    escaped=$(printf '%s' "$mirror" | sed 's/\\/\\\\/g; s/"/\\"/g')
    tmp=$(mktemp "$config.XXXXXX")
    printf '%s: where bayes_llm finds the data mirror (bayes_llm/location.py).\n[data]\nmirror = "%s"\n' \
      "$marker" "$escaped" > "$tmp"
    mv -f "$tmp" "$config"
    echo "data mirror $mirror recorded in $config" >&2
  else
    echo "note: $config exists and was not written by scripts/main.sh; left unchanged" >&2
  fi
fi
export PYTENSOR_FLAGS=${PYTENSOR_FLAGS:-base_compiledir=$PWD/.cache/pytensor}
export MPLBACKEND=${MPLBACKEND:-Agg}
exec .venv/bin/bayes-llm run --out results/main "$@"
