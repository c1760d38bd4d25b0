"""Post-processing results kept in a fit folder, checksum-verified: computed once, reused.

:func:`cached_in_fit_folder` is the mechanism (a JSON file with its key and its own
SHA-256); :func:`cached_paper_columns` (below), :func:`cached_headline_table` (below) and
:func:`bayes_llm.report.exports.parameter_summary` use it.

The headline table of ``bayes-llm headline`` (without ``--out``, ``--mirror`` or
``--average-with``): kept as ``headline_table.json``, keyed by the SHA-256 of every file of
the fit (all verified by :func:`bayes_llm.model.load_fit`), the command's options (pairs,
reference compute, seed, interval), the source of every package folder the numbers come
from and the versions of the numerical libraries; read back column by column (floats
exactly, the same dtypes) with the table's attributes.

The headline table's OLS columns:
The ``paper`` and ``paper method`` columns of :func:`bayes_llm.derived.headline_table`
re-fit the paper's clustered OLS on the fit's saved models: the same numbers every time the
headline of a saved fit is printed, at the cost of importing statsmodels and fitting. They
are kept in the fit folder as ``headline_paper_ols.json`` (a name the folder's ownership
rules already count as ours, :data:`bayes_llm.atomic.CACHE_EXTRAS`) and used only when

* the file's own SHA-256 (of its key and values) is right: an edited or damaged file is
  recomputed and rewritten, never trusted;
* its key matches: the fit's spec hash and the SHA-256 of its ``models.csv`` (both verified
  by :func:`bayes_llm.model.load_fit`), the model pairs asked for, and the SHA-256 of the
  source of :mod:`bayes_llm.baseline` and :mod:`bayes_llm.derived` (a code change
  recomputes).

Only the OLS on the fit's own models is cached (``headline_table(df=None, baseline=None)``);
with other data or a baseline given, the columns are computed as before. A fit folder that
cannot be written is used without a cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: File name of the cache inside a fit folder.
CACHE_FILE: str = "headline_paper_ols.json"
#: Format version of the file.
CACHE_VERSION: int = 1
_PACKAGE = Path(__file__).resolve().parent.parent

PaperColumns = tuple[dict[str, float], dict[str, float], str, str]


def code_hash(parts: Sequence[str] = ("baseline", "derived")) -> str:
    """SHA-256 of the source of the package folders or files ``parts`` (under bayes_llm/)."""
    h = hashlib.sha256()
    for part in parts:
        target = _PACKAGE / part
        for path in sorted(target.glob("*.py")) if target.is_dir() else [target]:
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_key(fit: Any, pairs: Sequence[tuple[str, str]], fixed_pair: tuple[str, str]) -> dict:
    """Return what the cached columns depend on (see the module docstring)."""
    return {"version": CACHE_VERSION, "spec_hash": fit.metadata.get("spec_hash"),
            "models_sha256": fit.metadata.get("file_sha256", {}).get("models.csv"),
            "pairs": [list(p) for p in pairs], "fixed_pair": list(fixed_pair),
            "code_sha256": code_hash()}


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=True)
                          .encode()).hexdigest()


def _encode(columns: PaperColumns) -> dict:
    paper, other, note, coding = columns
    return {"paper": {k: float(v) for k, v in paper.items()},
            "other": {k: float(v) for k, v in other.items()}, "note": note, "coding": coding}


def read_json_cache(path: Path, key: dict) -> Any | None:
    """Return the value stored at ``path`` when the file is intact (checksum) and made for ``key``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        body = {"key": data["key"], "value": data["value"]}
        if data["sha256"] != _digest(body) or data["key"] != key:
            return None
        return data["value"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_json_cache(path: Path, key: dict, value: Any) -> None:
    """Write ``value`` (JSON) with its key and checksum, atomically."""
    from bayes_llm.atomic import write_text_atomic

    body = {"key": key, "value": value}
    write_text_atomic(path, json.dumps({**body, "sha256": _digest(body)}, indent=1,
                                       sort_keys=True, allow_nan=True) + "\n")


def cached_in_fit_folder(fit: Any, file_name: str, key: dict, compute: Callable[[], Any],
                         encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> Any:
    """``decode`` of the value cached in the fit folder for ``key``, or ``compute()``.

    ``key`` must name every input of ``compute`` (the fit's file checksums, options, code
    hash). A fit without a folder, a key with an empty entry or an unwritable folder means
    no cache; a damaged, edited or stale file is recomputed and rewritten.
    """
    folder = getattr(fit, "folder", None)
    if folder is None or any(v in (None, "") for v in key.values()):
        return compute()
    path = Path(folder) / file_name
    stored = read_json_cache(path, key)
    if stored is not None:
        try:
            return decode(stored)
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    value = compute()
    from bayes_llm.errors import BayesLLMError

    try:
        write_json_cache(path, key, encode(value))
    except (OSError, BayesLLMError):  # a read-only fit folder: no cache, same numbers
        pass
    return value


#: File name of the headline table cache inside a fit folder.
TABLE_CACHE_FILE: str = "headline_table.json"
#: Package folders and files whose source the headline table depends on (with the command
#: that asks for it).
TABLE_CODE: tuple[str, ...] = ("baseline", "data", "derived", "model", "constants.py",
                               "cli/headline_cmd.py")
#: Libraries whose version can change the table's numbers.
TABLE_LIBRARIES: tuple[str, ...] = ("numpy", "pandas", "xarray", "arviz_stats", "arviz_base",
                                    "scipy", "statsmodels")


def _versions(packages: Sequence[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def table_cache_key(fit: Any, options: dict) -> dict:
    """Return what the headline table depends on (see the module docstring)."""
    sums = fit.metadata.get("file_sha256", {})
    return {"version": CACHE_VERSION, "spec_hash": fit.metadata.get("spec_hash"),
            "files_sha256": ",".join(f"{k}={sums[k]}" for k in sorted(sums)) or None,
            "options": json.dumps(options, sort_keys=True),
            "code_sha256": code_hash(TABLE_CODE),
            "libraries": json.dumps(_versions(TABLE_LIBRARIES), sort_keys=True)}


def _encode_frame(frame: Any) -> dict:
    return {"columns": [str(c) for c in frame.columns],
            "values": [frame[c].tolist() for c in frame.columns],
            "attrs": dict(frame.attrs)}


def _decode_frame(stored: dict) -> Any:
    import pandas as pd

    frame = pd.DataFrame(dict(zip(stored["columns"], stored["values"], strict=True)),
                         columns=stored["columns"])
    frame.attrs.update(stored["attrs"])
    return frame


def cached_headline_table(fit: Any, options: dict, compute: Callable[[], Any]) -> Any:
    """Return the headline table cached in the fit folder for ``options``, or ``compute()``.

    ``options`` must name every argument ``compute`` passes to
    :func:`bayes_llm.derived.headline_table` besides the fit (JSON values). A fit
    without a folder (made in memory) is always computed.
    """
    if getattr(fit, "folder", None) is None:
        return compute()
    return cached_in_fit_folder(fit, TABLE_CACHE_FILE, table_cache_key(fit, options), compute,
                                _encode_frame, _decode_frame)


def _decode(value: dict) -> PaperColumns:
    paper = {str(k): float(v) for k, v in value["paper"].items()}
    other = {str(k): float(v) for k, v in value["other"].items()}
    return paper, other, str(value["note"]), str(value["coding"])


def cached_paper_columns(fit: Any, pairs: Sequence[tuple[str, str]],
                         fixed_pair: tuple[str, str],
                         compute: Callable[[], PaperColumns]) -> PaperColumns:
    """Return the OLS columns from the fit folder's cache, or ``compute()`` (then cached).

    A fit without a folder (made in memory) or without a recorded ``models.csv`` checksum
    is always computed.
    """
    if getattr(fit, "folder", None) is None:
        return compute()
    return cached_in_fit_folder(fit, CACHE_FILE, cache_key(fit, pairs, fixed_pair), compute,
                                _encode, _decode)


__all__ = ["CACHE_FILE", "CACHE_VERSION", "TABLE_CACHE_FILE", "cache_key",
           "cached_headline_table", "cached_in_fit_folder", "cached_paper_columns",
           "code_hash", "read_json_cache", "table_cache_key", "write_json_cache"]
