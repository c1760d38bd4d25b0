#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install bayes_llm with its test tools.
# Idempotent: re-running only installs what changed. Pinned versions: constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/find_python.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  echo "creating .venv with $PY" >&2
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.bayes_llm-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi
