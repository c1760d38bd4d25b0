"""A writable compile directory for PyTensor, chosen before PyTensor is imported.

PyTensor (and the numba code nutpie runs) cache compiled code under ``base_compiledir``,
by default ``~/.pytensor``. With an unwritable home or cache folder, importing PyTensor
fails with a long traceback. :func:`ensure_compile_dir` runs when :mod:`bayes_llm` is
imported: if the configured folder cannot be written, it points ``PYTENSOR_FLAGS`` at a
private temporary folder and says so on stderr; if no folder can be written at all,
:func:`compile_dir_problem` returns the one-line reason, which the CLI prints (exit 2).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

FLAGS_ENV = "PYTENSOR_FLAGS"
_problem: str | None = None
_note: str | None = None


def _flag(flags: str, key: str) -> str | None:
    for item in flags.split(","):
        name, _, value = item.partition("=")
        if name.strip() == key:
            return value.strip()
    return None


def _set_flag(flags: str, key: str, value: str) -> str:
    items = [i for i in flags.split(",") if i.strip() and i.partition("=")[0].strip() != key]
    return ",".join([*items, f"{key}={value}"])


def _writable(folder: Path) -> bool:
    """Whether ``folder`` (or, if absent, its nearest existing ancestor) accepts new files."""
    folder = folder.expanduser()
    probe_in = folder
    while not probe_in.exists():
        if probe_in == probe_in.parent:
            return False
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        return False
    try:  # a real probe: os.access says yes to root even on a read-only file system
        os.rmdir(tempfile.mkdtemp(prefix=".bayes_llm-probe-", dir=probe_in))
    except OSError:
        return False
    return True


def configured_compile_dir(environ: dict[str, str] | None = None) -> Path:
    """Return the ``base_compiledir`` PyTensor will use (from the flags, else ``~/.pytensor``)."""
    environ = os.environ if environ is None else environ
    value = _flag(environ.get(FLAGS_ENV, ""), "base_compiledir")
    if value:
        return Path(value).expanduser()
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".pytensor"


def ensure_compile_dir(environ: dict[str, str] | None = None, *, announce: bool = True
                       ) -> str | None:
    """Fall back to a private temporary compile folder when the configured one is unwritable.

    Does nothing once PyTensor is imported (its configuration is fixed by then).

    Returns
    -------
    str or None
        The note printed (``None`` when the configured folder is fine).
    """
    global _problem, _note
    environ = os.environ if environ is None else environ
    if "pytensor" in sys.modules:
        return None
    wanted = configured_compile_dir(environ)
    if _writable(wanted):
        return None
    try:
        fallback = tempfile.mkdtemp(prefix="bayes_llm-pytensor-")  # mode 0700: private
    except OSError as exc:
        _problem = (f"no writable folder for compiled model code: {wanted} cannot be "
                    f"written and neither can the temporary folder {tempfile.gettempdir()} "
                    f"({exc.strerror or exc}); set {FLAGS_ENV}=base_compiledir=DIR to a "
                    "writable folder")
        return None
    atexit.register(shutil.rmtree, fallback, ignore_errors=True)  # ours: leave nothing
    environ[FLAGS_ENV] = _set_flag(environ.get(FLAGS_ENV, ""), "base_compiledir", fallback)
    _note = (f"note: the compile folder {wanted} is not writable; using the private "
             f"temporary folder {fallback} instead (compiled code is not kept between runs; "
             f"set {FLAGS_ENV}=base_compiledir=DIR to choose one)")
    if announce:
        print(_note, file=sys.stderr)
    return _note


def compile_dir_problem() -> str | None:
    """Return why no compile folder could be found (one line), or ``None``."""
    return _problem


__all__ = ["compile_dir_problem", "configured_compile_dir", "ensure_compile_dir"]
