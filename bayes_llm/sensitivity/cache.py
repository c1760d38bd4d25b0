"""The fit cache of a sensitivity study: one folder per fit, named by a hash prefix.

A variant's cache key is the SHA-256 of its *model* (the spec without its name and
description, see :func:`bayes_llm.sensitivity.study.model_hash`), the hash of the data
the spec actually uses (after its sample filter and outcome), the sampling backend and a
cache format version. The folder ``fits/<key[:12]>/`` holds a saved
:class:`~bayes_llm.model.Fit` (written atomically, so an interrupted run never leaves a
half-written fit) plus the post-processed results, each tagged with what it depends on:

``headline.csv`` + ``headline.json`` (``headline-<options hash>.*`` with headline options)
    The headline table, valid while the headline options and the fingerprint of the
    derived code are unchanged and the CSV matches the SHA-256 in the JSON (recomputed
    from the saved fit otherwise: no refit).
``loo_pointwise.csv`` + ``loo_pointwise.json``
    PSIS-LOO on the logit-score scale: pointwise values and Pareto k, and the totals.
``status.json``
    The fit's diagnostics status, failures, worst R-hat / ESS and fit time.

A changed spec or changed data gives a new key, so exactly the affected variants refit;
the others stay cache hits. Folders of keys no longer used are left alone (delete them by
hand, or with :func:`FitCache.prune`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_llm.atomic import atomic_directory, is_ours, write_text_atomic
from bayes_llm.errors import ResultsError
from bayes_llm.model.fit import RESULT_FILES, Fit, load_fit, verify_checksums
from bayes_llm.model.spec import ModelSpec
from bayes_llm.sensitivity.joint import is_joint, joint_code_hash, joint_settings
from bayes_llm.sensitivity.study import model_hash

#: Bump when the cached layout or its meaning changes (invalidates every cached fit).
CACHE_VERSION = 1
#: Length of the hash prefix that names a cache folder.
PREFIX = 12


@functools.cache
def model_code_hash() -> str:
    """SHA-256 of the code that turns a spec and data into a posterior.

    Part of every cache key, so a change to the model's construction or sampling (a new
    parameterisation, say) refits instead of silently reusing fits of the old model.
    """
    from bayes_llm.model import build, design, sampling

    digest = hashlib.sha256()
    for module in (build, design, sampling):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def cache_key(spec: ModelSpec, data_hash: str, *, backend: str) -> str:
    """Return the cache key of a fit: model, data, backend, model code and cache version.

    Parameters
    ----------
    spec : ModelSpec
        The variant's spec (name and description do not matter).
    data_hash : str
        :func:`bayes_llm.model.design.data_hash` of the data the spec uses.
    backend : str
        The NUTS backend.
    """
    payload = {"model": model_hash(spec), "data": data_hash, "backend": backend,
               "code": model_code_hash(), "version": CACHE_VERSION}
    if is_joint(spec):  # the joint model's own code and parameterisations
        payload.update({"joint_code": joint_code_hash(), "joint_settings": joint_settings()})
    payload = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class CacheEntry:
    """What the cache holds for one key."""

    key: str
    path: Path

    @property
    def complete(self) -> bool:
        """Tell whether the saved fit is complete and made for this key."""
        try:
            meta = json.loads((self.path / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return False
        if not isinstance(meta, dict):
            return False
        if not all((self.path / f).is_file() for f in required_files(meta)):
            return False
        return meta.get("sensitivity_cache_key") == self.key

    @property
    def is_joint(self) -> bool:
        """Whether the cached result is a joint six-benchmark fit (``bayes_llm.joint``)."""
        try:
            return self.metadata().get("kind") == "joint"
        except (OSError, ValueError, AttributeError):
            return False

    def metadata(self) -> dict[str, Any]:
        """Return the saved fit's ``metadata.json``."""
        return json.loads((self.path / "metadata.json").read_text(encoding="utf-8"))

    def verify(self) -> str:
        """Check the saved fit against the checksums in its ``metadata.json``.

        Returns
        -------
        str
            ``""`` when every file matches; else the problem, in one line (a truncated or
            edited file, a missing checksum table, corrupt metadata).
        """
        try:
            if self.is_joint:
                from bayes_llm.joint.result import verify_joint_files

                verify_joint_files(self.path, self.metadata())
            else:
                verify_checksums(self.path)
        except ResultsError as exc:
            return str(exc)
        return ""

    def load(self) -> Fit:
        """Load the saved fit, verified (``load_fit``; ``load_joint`` for a joint fit)."""
        if self.is_joint:
            from bayes_llm.joint import load_joint

            return load_joint(self.path)
        return load_fit(self.path)

    # -------------------------------------------------------------- extras
    def read_extra(self, name: str, tag: dict[str, Any]) -> pd.DataFrame | None:
        """Return the cached table ``name`` if its tag equals ``tag``, else ``None``."""
        csv, meta = self.path / f"{name}.csv", self.path / f"{name}.json"
        if not csv.is_file() or not meta.is_file():
            return None
        try:
            saved = json.loads(meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        if saved.get("tag") != json.loads(json.dumps(tag, default=str)):
            return None
        try:  # a table whose checksum differs is recomputed, never reused
            data = csv.read_bytes()
            if saved.get("sha256") != hashlib.sha256(data).hexdigest():
                return None
            return pd.read_csv(io.BytesIO(data), keep_default_na=True)
        except (OSError, ValueError, pd.errors.ParserError):
            return None

    def read_extra_meta(self, name: str) -> dict[str, Any]:
        """Return the ``extra`` dict saved with table ``name`` (empty if none or corrupt)."""
        meta = self.path / f"{name}.json"
        try:
            extra = json.loads(meta.read_text(encoding="utf-8")).get("extra", {})
        except (OSError, ValueError, AttributeError):
            return {}
        return extra if isinstance(extra, dict) else {}

    def read_json(self, name: str) -> dict[str, Any]:
        """Return ``<name>.json`` written by :meth:`write_json` (empty if missing or corrupt)."""
        path = self.path / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write ``<name>.json`` atomically."""
        write_text_atomic(self.path / f"{name}.json",
                          json.dumps(data, indent=2, sort_keys=True, default=str))

    def write_extra(self, name: str, table: pd.DataFrame, tag: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> None:
        """Write table ``name`` with its tag (and an ``extra`` dict), each file atomically."""
        text = table.to_csv(index=False)
        write_text_atomic(self.path / f"{name}.csv", text)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        write_text_atomic(self.path / f"{name}.json",
                          json.dumps({"tag": tag, "extra": extra or {}, "sha256": digest},
                                     indent=2, sort_keys=True, default=str))


class FitCache:
    """The ``fits/`` folder of a study's output.

    Parameters
    ----------
    root : path
        The folder holding one sub-folder per cached fit.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def entry(self, key: str) -> CacheEntry:
        """Return the entry for ``key`` (which may not exist yet)."""
        return CacheEntry(key=key, path=self.root / key[:PREFIX])

    def lookup(self, key: str) -> CacheEntry | None:
        """Return the entry if a complete fit for ``key`` is cached, else ``None``.

        Completeness only (files present, key recorded); call :meth:`CacheEntry.verify`
        before reusing it.
        """
        entry = self.entry(key)
        return entry if entry.complete else None

    def store(self, key: str, files: dict[str, bytes]) -> CacheEntry:
        """Write a fit's result files for ``key`` atomically (replacing a stale folder).

        Parameters
        ----------
        key : str
            The cache key; recorded in ``metadata.json`` as ``sensitivity_cache_key``.
        files : dict
            File name -> content, as produced by :meth:`bayes_llm.model.Fit.save`.
        """
        if "metadata.json" not in files:
            raise ResultsError(f"cannot cache fit {key[:PREFIX]}: missing metadata.json")
        meta = json.loads(files["metadata.json"])
        missing = [f for f in required_files(meta) if f not in files]
        if missing:
            raise ResultsError(f"cannot cache fit {key[:PREFIX]}: missing {', '.join(missing)}")
        meta["sensitivity_cache_key"] = key
        entry = self.entry(key)
        with atomic_directory(entry.path, kind="cached fit") as tmp:
            for name, content in files.items():
                if name == "metadata.json":
                    content = json.dumps(meta, indent=2, sort_keys=True).encode()
                (tmp / name).write_bytes(content)
        return entry

    def keys(self) -> list[str]:
        """Return the full keys of every complete cached fit."""
        out = []
        for folder in sorted(self.root.glob("*")):
            meta = folder / "metadata.json"
            if folder.is_dir() and meta.is_file():
                try:
                    key = json.loads(meta.read_text(encoding="utf-8")).get(
                        "sensitivity_cache_key")
                except json.JSONDecodeError:
                    continue
                if key and self.entry(key).complete:
                    out.append(key)
        return out

    def prune(self, keep: set[str]) -> list[Path]:
        """Delete cached fits whose key is not in ``keep``; return what was deleted.

        Only folders that are ours (:func:`bayes_llm.atomic.is_ours`: cached fits and
        nothing else) are deleted; anything else in ``fits/`` is left alone.
        """
        prefixes = {k[:PREFIX] for k in keep}
        removed = []
        for folder in sorted(self.root.glob("*")):
            if folder.is_dir() and not folder.is_symlink() and not folder.name.startswith(".") \
                    and folder.name not in prefixes and is_ours(folder):
                shutil.rmtree(folder)
                removed.append(folder)
        return removed


def required_files(metadata: dict[str, Any]) -> tuple[str, ...]:
    """Files a cached result must hold: a fit's, or a joint fit's (``kind = "joint"``)."""
    if metadata.get("kind") == "joint":
        from bayes_llm.joint.result import CHECKSUMMED

        return (*CHECKSUMMED, "metadata.json")
    return tuple(RESULT_FILES)


def fit_files(fit: Fit, tmpdir: str | Path) -> dict[str, bytes]:
    """Save ``fit`` under ``tmpdir`` and return its result files as bytes."""
    folder = fit.save(Path(tmpdir) / "fit")
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


__all__ = ["CACHE_VERSION", "CacheEntry", "FitCache", "cache_key", "fit_files"]
