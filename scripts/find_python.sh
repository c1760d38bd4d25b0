#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Order: $PYTHON, python3.12, python3.13, python3, then pyenv-installed 3.12+ (oldest first:
# 3.12 is the version the pinned constraints.txt was resolved with).
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.12 python3.13 python3; do
  path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for dir in $(ls -d "$pyenv_root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
  candidates+=("$dir/bin/python3")
done
for candidate in "${candidates[@]}"; do
  if ok "$candidate"; then
    # Resolve pyenv shims to the real interpreter so the venv does not depend on them.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "error: bayes_llm needs Python >= 3.12 (PyMC 6 and ArviZ 1.x refuse older versions)." >&2
echo "       Tried: ${candidates[*]:-nothing on PATH}." >&2
echo "       Install Python 3.12+ (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
exit 1
