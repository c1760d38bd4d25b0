"""Safe writes: nothing half-written is ever left behind, and nothing that is not ours is lost.

* :func:`atomic_path` / :func:`write_text_atomic` write a file through a temporary sibling
  and rename it into place; they refuse to replace anything that is not a regular file
  (a folder, a device node such as ``/dev/null``, a symbolic link, a pipe).
* :func:`atomic_directory` builds a result folder in a temporary sibling and swaps it in.
  An existing folder is replaced only when it is one of ours (:func:`is_ours`): it holds the
  marker file :data:`MARKER` listing what we wrote, or it is a saved fit (recognised by its
  ``metadata.json``) or an older report; a folder holding anything else is refused.
* The swap happens under an exclusive ``fcntl`` lock on the parent folder, so concurrent
  writers to one destination never raise and leave no ``.old`` or ``.partial`` folders.
* :func:`check_destination` checks a destination before any long computation: a folder we
  may create or replace, writable, on a file system with room for the result.

Every failure is an :class:`~bayes_llm.errors.OutputError` (a user error: one line, exit 2).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bayes_llm.errors import OutputError

try:  # POSIX; elsewhere the swap is unlocked (a rename still never half-writes)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The marker file in every folder bayes_llm writes: JSON with the kind and the entries.
MARKER = ".bayes_llm"
#: Files a cached fit gains after it is written (post-processing; see sensitivity.cache).
CACHE_EXTRAS = ("status.json", "headline*.csv", "headline*.json", "loo_pointwise.*")
#: A saved fit is recognised by its ``metadata.json`` (an object with these keys) instead
#: of a marker file, and holds nothing but these entries.
FIT_SIGNATURE = ("spec_hash", "file_sha256")
FIT_ENTRIES = ("posterior.nc", "spec.toml", "metadata.json", "diagnostics.csv", "models.csv",
               *CACHE_EXTRAS)
#: Entries of report folders written before the marker existed (with ``report.html``).
LEGACY_REPORT_ENTRIES = ("report.html", "report.md", "figures", "*.csv")
#: Slack on top of the estimated size of a result when checking free space.
SPACE_MARGIN = 1.5
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _fail(target: Path, problem: str, exc: BaseException | None = None) -> OutputError:
    detail = ""
    if isinstance(exc, OSError):
        detail = f" ({exc.strerror or ' '.join(str(exc).split())})"
    return OutputError(f"{target}: {problem}{detail}")


def _kind_of(path: Path) -> str:
    """Describe what is at ``path`` (for error messages); '' if nothing."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # absent (or a parent is a file)
        return ""
    except OSError as exc:
        raise _fail(path, "cannot inspect the destination", exc) from exc
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_marker(folder: Path) -> dict | None:
    """Return the marker of a folder we wrote, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(folder: Path, kind: str) -> None:
    """Write the marker listing the folder's current entries (call last, before the swap)."""
    entries = sorted(p.name for p in folder.iterdir() if p.name != MARKER)
    (folder / MARKER).write_text(json.dumps({"bayes_llm": kind, "entries": entries,
                                             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                                            indent=1), encoding="utf-8")


def _is_fit_metadata(path: Path) -> bool:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and all(k in meta for k in FIT_SIGNATURE)


def foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` that bayes_llm did not write (empty when all are ours).

    A folder is ours when it is empty; when it holds the marker file (its entries are
    listed there); when it is a saved fit (``metadata.json`` of ours, and nothing but the
    fit's files); or when it is a report written before the marker existed. Any other
    entry is foreign, and so is every entry of a folder that is none of these.
    """
    names = sorted(p.name for p in folder.iterdir())
    marker = read_marker(folder)
    if marker is not None:
        known, patterns = set(marker.get("entries", [])) | {MARKER}, CACHE_EXTRAS
    elif "metadata.json" in names and (_is_fit_metadata(folder / "metadata.json") or (
            {"posterior.nc", "spec.toml"} <= set(names))):  # a fit, maybe a damaged one
        known, patterns = set(), FIT_ENTRIES
    elif "report.html" in names:
        known, patterns = set(), LEGACY_REPORT_ENTRIES
    else:
        return names
    return [n for n in names if n not in known
            and not any(fnmatch.fnmatch(n, pat) for pat in patterns)]


def is_ours(folder: str | os.PathLike) -> bool:
    """Tell whether ``folder`` is a folder bayes_llm may replace (see :func:`foreign_entries`)."""
    folder = Path(folder)
    return _kind_of(folder) == "a folder" and not foreign_entries(folder)


def _check_replaceable(target: Path) -> bool:
    """Raise unless ``target`` is absent or one of our folders; return whether it exists."""
    kind = _kind_of(target)
    if not kind:
        return False
    if kind != "a folder":
        raise _fail(target, f"exists and is {kind}, not a bayes_llm result folder; refusing to "
                    "replace it (choose another --out)")
    try:
        foreign = foreign_entries(target)
    except OSError as exc:
        raise _fail(target, "cannot list the existing folder", exc) from exc
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise _fail(target, f"exists and holds files bayes_llm did not write ({shown}); "
                    "refusing to replace it (choose another --out, or move them)")
    return True


def _check_replaceable_locked(target: Path) -> bool:
    """:func:`_check_replaceable` under the parent folder's lock.

    Another writer swaps a result in with two renames under that lock; listing the
    folder outside it could catch the moment it is absent.
    """
    if not target.parent.is_dir():  # no parent, so no target: nothing to inspect
        return _check_replaceable(target)
    try:
        with _locked(target.parent):
            return _check_replaceable(target)
    except OutputError:
        raise
    except OSError as exc:  # the parent cannot be opened to lock it
        raise _fail(target, "cannot lock the folder it would be written in", exc) from exc


def _check_not_cwd(target: Path) -> None:
    try:
        resolved, cwd = target.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise _fail(target, "cannot resolve the path (a symbolic link loop?)",
                    exc if isinstance(exc, OSError) else None) from exc
    if resolved == cwd or resolved in cwd.parents or resolved == Path(resolved.anchor):
        raise _fail(target, "is the current folder, one of its parents or the root; a result "
                    "needs a folder of its own (e.g. --out results/run1)")


def _existing_ancestor(target: Path) -> Path:
    """Return the nearest existing ancestor of ``target``; it must be a folder."""
    parent = target.absolute().parent
    while True:
        kind = _kind_of(parent)
        if kind == "a folder":
            return parent
        if kind == "a symbolic link" and parent.is_dir():
            return parent
        if kind:
            raise _fail(target, f"cannot create it: {parent} is {kind}, not a folder")
        if parent == parent.parent:
            return parent
        parent = parent.parent


def check_destination(target: str | os.PathLike, *, size_bytes: int = 0,
                      folder: bool = True) -> str:
    """Check, before any long computation, that a result can be written to ``target``.

    Parameters
    ----------
    target : path
        The folder (``folder=True``) or file to write.
    size_bytes : int
        Estimated size of the result; the file system must have :data:`SPACE_MARGIN` times
        as much free space.
    folder : bool
        Whether the result is a folder (replaced only when ours) or a file.

    Returns
    -------
    str
        ``"new"`` or ``"replace"`` (an existing result of ours will be replaced).

    Raises
    ------
    OutputError
        One line naming the destination and the problem. Nothing is created.
    """
    target = Path(target)
    if folder:
        _check_not_cwd(target)
        exists = _check_replaceable_locked(target)
    else:
        kind = _kind_of(target)
        if kind and kind != "a file":
            raise _fail(target, f"exists and is {kind}; refusing to replace it")
        exists = bool(kind)
    check_room(target, size_bytes)
    return "replace" if exists else "new"


def check_room(target: str | os.PathLike, size_bytes: int = 0) -> None:
    """Check that ``target`` (existing or not) can be written, with room for ``size_bytes``.

    The nearest existing ancestor must be a folder in which a probe folder can be created
    (this catches permissions and read-only file systems, also as root) and whose file
    system has :data:`SPACE_MARGIN` times ``size_bytes`` free.

    Raises
    ------
    OutputError
        One line naming ``target`` and the problem. Nothing is left behind.
    """
    target = Path(target)
    base = target if _kind_of(target) == "a folder" else _existing_ancestor(target)
    try:  # a real probe: permissions, read-only file systems (also as root)
        probe = tempfile.mkdtemp(prefix=".bayes_llm-probe-", dir=base)
        os.rmdir(probe)
    except OSError as exc:
        raise _fail(target, f"cannot write in {base}", exc) from exc
    if size_bytes:
        free = shutil.disk_usage(base).free
        need = int(size_bytes * SPACE_MARGIN)
        if free < need:
            raise _fail(target, f"not enough room on the file system of {base}: the result "
                        f"needs about {_size(size_bytes)} (with margin {_size(need)}), "
                        f"{_size(free)} free")


def prepare_folder(target: str | os.PathLike, kind: str,
                   legacy: tuple[str, ...] = ()) -> Path:
    """Create (or reuse) a folder that bayes_llm writes *into*, such as a study's output.

    An existing folder is reused only if it is empty, carries our marker of the same
    ``kind``, or (written before the marker existed) holds one of the ``legacy`` entries.
    Anything else (a file, a device, a folder of someone else's files, the current folder)
    is refused before anything is written. The marker is added when missing.

    Raises
    ------
    OutputError
        One line naming ``target`` and the problem.
    """
    target = Path(target)
    _check_not_cwd(target)
    kind_at = _kind_of(target)
    if kind_at and kind_at != "a folder":
        raise _fail(target, f"exists and is {kind_at}, not a folder; refusing to replace it")
    if kind_at:
        try:
            names = sorted(p.name for p in target.iterdir())
        except OSError as exc:
            raise _fail(target, "cannot list the folder", exc) from exc
        marker = read_marker(target)
        ours = (not names or (marker is not None and marker.get("bayes_llm") == kind)
                or (marker is None and any(n in names for n in legacy)))
        if not ours:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more"
                                            if len(names) > 5 else "")
            what = (f"a bayes_llm {marker.get('bayes_llm')} folder" if marker
                    else f"files bayes_llm did not write ({shown})")
            raise _fail(target, f"exists and holds {what}, not a {kind} folder; refusing to "
                        "write into it (choose another --out)")
    check_room(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if read_marker(target) is None:
            write_text_atomic(target / MARKER, json.dumps(
                {"bayes_llm": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                indent=1))
    except OSError as exc:
        raise _fail(target, "cannot create the folder", exc) from exc
    return target


def _size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (threads and processes); leaves no file."""
    key = str(folder.resolve())
    with _THREAD_LOCKS_GUARD:
        tlock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    with tlock:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched. A
    ``target`` that exists and is not a regular file (a folder, a device node, a symbolic
    link) is refused before anything is written.
    """
    target = Path(target)
    kind = _kind_of(target)
    if kind and kind != "a file":
        raise _fail(target, f"exists and is {kind}; refusing to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _fail(target, "cannot write the file", exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise _fail(target, "cannot write the file", exc) from exc
    except OutputError:
        raise
    except OSError as exc:  # a full disk, a read-only file system...: one line
        raise _fail(target, "cannot write the file; nothing was written", exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, *, overwrite: bool = True,
                     kind: str | None = "result") -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it onto ``target`` on success.

    Parameters
    ----------
    target : path
        The folder to create.
    overwrite : bool
        Replace an existing ``target`` (only if it is one of ours, see :func:`is_ours`);
        otherwise an existing folder is an error.
    kind : str or None
        What the folder is (``"report"``, ``"study"``...), recorded in its marker file;
        ``None`` writes no marker (a saved fit is recognised by its ``metadata.json``).

    Yields
    ------
    Path
        The temporary folder to write into. On an exception it is deleted and
        ``target`` keeps whatever it held before.

    Raises
    ------
    OutputError
        ``target`` is not ours (checked before and again at the swap), or it cannot be
        written (permissions, a full disk): one line, nothing left behind.
    """
    target = Path(target)
    exists = _check_replaceable_locked(target)
    if exists and not overwrite:
        raise _fail(target, "already exists")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent))
    except OSError as exc:
        raise _fail(target, "cannot create the result folder", exc) from exc
    try:
        try:
            yield tmp
            if kind is not None:
                write_marker(tmp, kind)
        except OutputError:
            raise
        except OSError as exc:  # a full disk, a read-only file system...: one line
            raise _fail(target, "cannot write the result; nothing was written", exc) from exc
        with _locked(target.parent):
            # Checked again under the lock: another writer (or the user) may have put
            # something there meanwhile.
            if _check_replaceable(target):
                backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                               dir=target.parent))
                os.replace(target, backup / "old")
                try:
                    os.replace(tmp, target)
                except BaseException:
                    os.replace(backup / "old", target)
                    raise
                finally:
                    shutil.rmtree(backup, ignore_errors=True)
            else:
                os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
