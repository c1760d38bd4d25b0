"""Finished folds of ``bayes-llm validate``, kept so an interrupted run loses none of them.

A developer split of a slow spec takes hours; without a cache a stopped run (a closed
laptop, a session limit) throws away every fold it finished. With ``--fold-cache DIR``
each scored (method, fold) is written to ``DIR`` as soon as it is done, and a later run
reuses it when everything it depends on is unchanged: the model (the spec without its
name and description), the package's code (every module, so that no constant or helper
a fit depends on is missed), the fold's training and held-out rows (their data), the
seed, the sampler overrides and the backend. Anything else is a new key and is fitted
again. Folds that failed to fit or predict are not kept.

Each entry is two text files, written atomically: ``<key>.json`` (the key, the fold's row
of ``folds.csv``, the fit's diagnostics per variable (its rows of ``fit_diagnostics.csv``),
the code hash and, where the package runs from a git checkout whose ``bayes_llm/`` has no
uncommitted change, the commit) and ``<key>.csv`` (its rows of ``scores.csv``, floats
written exactly). Text, so a cache can be kept under version
control and read back on another machine: a slow split is then finished over several
sessions by running the remaining folds at the recorded commit
(``verification/README.md``). The folder carries bayes_llm's marker and is refused if it
holds someone else's files.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.atomic import prepare_folder, write_bytes_atomic
from bayes_llm.model.spec import ModelSpec

#: Bump when an entry's layout or meaning changes (invalidates every entry).
FOLD_CACHE_VERSION = 2
#: How a missing value is written in an entry's CSV (an empty string stays a string).
MISSING = "NaN"
FOLDER_KIND = "validate fold cache"


def code_hash(root: Path) -> str:
    """Return the SHA-256 of every ``.py`` file under ``root``, each with its path."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def prediction_code_hash() -> str:
    """Return the SHA-256 of the package's code (:func:`code_hash` of ``bayes_llm``).

    The whole package, not a list of modules: a fit or a prediction depends on constants
    and helpers imported from many places (the spec's defaults, the compute curve, the
    lineage labels), and a list would miss the next one. Any change to the code refits.
    """
    return code_hash(Path(__file__).resolve().parents[1])


@functools.cache
def package_commit() -> str | None:
    """Return the git commit the package runs from, or None.

    None when ``bayes_llm/`` is not in a git checkout, git is missing, or the package's
    files differ from the commit (uncommitted changes): only a commit that reproduces
    :func:`prediction_code_hash` is recorded.
    """
    package = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(package), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--", ".")
    return commit if commit and changed == "" else None


def _plain(value):
    """``value`` as a JSON-native scalar (NumPy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value


def _rows_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of every column of the rows (in model_id order): any change is a new key."""
    cols = sorted(str(c) for c in frame.columns)
    text = frame[cols].astype(str).sort_values("model_id").to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()


def fold_key(spec: ModelSpec, train: pd.DataFrame, test: pd.DataFrame, *, seed: int,
             fold_index: int, draws: int | None, tune: int | None, chains: int | None,
             backend: str) -> str:
    """Return the cache key of one spec's fold (see the module docstring)."""
    from bayes_llm.sensitivity.study import model_hash

    payload = {"model": model_hash(spec), "code": prediction_code_hash(),
               "train": _rows_hash(train), "test": _rows_hash(test), "seed": seed,
               "fold": fold_index,
               "draws": draws, "tune": tune, "chains": chains, "backend": backend,
               "version": FOLD_CACHE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class FoldCache:
    """A folder of finished folds, keyed by :func:`fold_key`."""

    def __init__(self, root: str | Path) -> None:
        self.root = prepare_folder(root, FOLDER_KIND)

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = self.root / key[:20]
        return stem.with_suffix(".json"), stem.with_suffix(".csv")

    def load(self, key: str) -> tuple[dict, pd.DataFrame, pd.DataFrame | None] | None:
        """Return ``(fold row, score rows, fit diagnostics)`` for ``key``, or None.

        The fit diagnostics (one row per variable) are None for an entry kept without them
        (an OLS fold, or an entry written before they were kept).
        """
        meta_path, rows_path = self._paths(key)
        if not (meta_path.is_file() and rows_path.is_file()):
            return None
        try:
            entry = json.loads(meta_path.read_text())
            rows = pd.read_csv(rows_path,
                               dtype=entry.get("dtypes"), keep_default_na=False,
                               na_values=[MISSING])
        except (OSError, ValueError, TypeError):
            return None  # unreadable: fitted again and overwritten
        if entry.get("key") != key or len(rows) != entry.get("n_rows"):
            return None
        kept = entry.get("diagnostics")
        diagnostics = (None if kept is None else
                       pd.DataFrame(kept["data"], columns=kept["columns"]))
        return dict(entry["row"]), rows, diagnostics

    def save(self, key: str, row: dict, rows: pd.DataFrame,
             diagnostics: pd.DataFrame | None = None) -> Path:
        """Keep a finished fold (written atomically: the rows first, then the entry).

        ``diagnostics``: the fit's diagnostics table (one row per variable), kept in the
        entry so that a rerun from the cache writes them too.
        """
        meta_path, rows_path = self._paths(key)
        text = io.StringIO()
        rows.to_csv(text, index=False, na_rep=MISSING)
        write_bytes_atomic(rows_path, text.getvalue().encode())
        entry = {"key": key, "version": FOLD_CACHE_VERSION,
                 "code_hash": prediction_code_hash(), "commit": package_commit(),
                 "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "n_rows": len(rows),
                 "dtypes": {str(c): str(t) for c, t in rows.dtypes.items()},
                 "row": {str(k): _plain(v) for k, v in row.items()}}
        if diagnostics is not None:
            entry["diagnostics"] = {
                "columns": [str(c) for c in diagnostics.columns],
                "data": [[None if isinstance(v, float) and np.isnan(v) else _plain(v)
                          for v in r] for r in diagnostics.itertuples(index=False)]}
        return write_bytes_atomic(meta_path, (json.dumps(entry, indent=1) + "\n").encode())


__all__ = ["FoldCache", "fold_key", "package_commit", "prediction_code_hash"]
