"""Finished folds of ``bayes-llm validate``, kept so an interrupted run loses none of them.

A developer split of a slow spec takes hours; without a cache a stopped run (a closed
laptop, a session limit) throws away every fold it finished. With ``--fold-cache DIR``
each scored (method, fold) is written to ``DIR`` as soon as it is done, and a later run
reuses it when everything it depends on is unchanged: the model (the spec without its
name and description), the package's code (every module, so that no constant or helper
a fit depends on is missed), the fold's training and held-out rows (their data), the
seed, the sampler overrides and the backend. Anything else is a new key and is fitted
again. Folds that failed to fit or predict are not kept.

Each entry is one pickle (the fold's row of ``folds.csv`` and its rows of ``scores.csv``),
written atomically; the folder carries bayes_llm's marker and is refused if it holds
someone else's files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
from pathlib import Path

import pandas as pd

from bayes_llm.atomic import prepare_folder, write_bytes_atomic
from bayes_llm.model.spec import ModelSpec

#: Bump when an entry's layout or meaning changes (invalidates every entry).
FOLD_CACHE_VERSION = 1
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

    def _path(self, key: str) -> Path:
        return self.root / f"{key[:20]}.pkl"

    def load(self, key: str) -> tuple[dict, pd.DataFrame] | None:
        """Return ``(fold row, score rows)`` for ``key``, or None when it is not cached."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            entry = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None  # unreadable: fitted again and overwritten
        if entry.get("key") != key:
            return None
        return dict(entry["row"]), entry["rows"]

    def save(self, key: str, row: dict, rows: pd.DataFrame) -> Path:
        """Keep a finished fold (written atomically)."""
        data = pickle.dumps({"key": key, "row": dict(row), "rows": rows},
                            protocol=pickle.HIGHEST_PROTOCOL)
        return write_bytes_atomic(self._path(key), data)


__all__ = ["FoldCache", "fold_key", "prediction_code_hash"]
