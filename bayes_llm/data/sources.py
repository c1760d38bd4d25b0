"""Data sources: the manifest, and resolving a source to a verified local file.

Resolution order for a source (see ``data/sources.toml``):

1. an explicit path given by the caller;
2. a local mirror directory (``mirror=`` argument, ``--mirror`` CLI flag, or the
   ``BAYES_LLM_DATA_MIRROR`` environment variable), holding files at their ``mirror_path``;
3. the user cache (``BAYES_LLM_CACHE_DIR``, default ``~/.cache/bayes_llm``);
4. a download from the canonical URL into the cache, written atomically.

The SHA-256 of the file is verified at every step; a mismatch is an error.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bayes_llm.atomic import atomic_path
from bayes_llm.bundled import bundled_folder
from bayes_llm.errors import ChecksumError, DataSourceError

MIRROR_ENV = "BAYES_LLM_DATA_MIRROR"
CACHE_ENV = "BAYES_LLM_CACHE_DIR"
OFFLINE_ENV = "BAYES_LLM_OFFLINE"


def project_data_dir() -> Path:
    """Return the folder holding the manifest and our own metadata tables.

    In a source checkout this is the repository's ``data/``; in an installed wheel it is
    the copy packaged as ``bayes_llm/_data``.
    """
    folder = bundled_folder("data", error=DataSourceError)
    if not (folder / "sources.toml").is_file():
        raise DataSourceError(f"cannot find the source manifest {folder / 'sources.toml'}")
    return folder


@dataclass(frozen=True)
class Source:
    """One third-party data file, as recorded in the manifest."""

    name: str
    title: str
    mirror_path: str
    url: str
    sha256: str
    licence: str
    citation: str
    repository: str = ""
    commit: str = ""

    @property
    def filename(self) -> str:
        """The file's base name."""
        return Path(self.mirror_path).name


@cache
def load_manifest() -> dict[str, Source]:
    """Read ``data/sources.toml`` into a mapping of source name to :class:`Source`."""
    path = project_data_dir() / "sources.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {name: Source(name=name, **fields) for name, fields in raw["sources"].items()}


def get_source(name: str) -> Source:
    """Look up one source by name, with a clear error for an unknown name."""
    manifest = load_manifest()
    if name not in manifest:
        raise DataSourceError(
            f"unknown data source '{name}'; known sources: {', '.join(sorted(manifest))}"
        )
    return manifest[name]


def sha256_of(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, source: Source) -> Path:
    """Check ``path`` against the manifest checksum; return it or raise :class:`ChecksumError`."""
    path = Path(path)
    actual = sha256_of(path)
    if actual != source.sha256:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch for source '{source.name}': expected {source.sha256}, "
            f"got {actual}. The file is not the one the manifest pins; replace it with the "
            f"original from {source.url}"
        )
    return path


def cache_dir() -> Path:
    """Return the user cache folder for downloaded sources."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bayes_llm"


def mirror_dir(mirror: str | os.PathLike | None = None) -> Path | None:
    """Return the mirror folder, if any (found by :func:`bayes_llm.location.data_location`)."""
    from bayes_llm.location import data_location

    return data_location(mirror).mirror


def _download(source: Source, target: Path, timeout: float) -> Path:
    try:
        with urllib.request.urlopen(source.url, timeout=timeout) as response:  # noqa: S310
            data = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DataSourceError(_missing_message(source, reason=f"download failed: {exc}")) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != source.sha256:
        raise ChecksumError(
            f"downloaded {source.url}: SHA-256 mismatch for source '{source.name}': expected "
            f"{source.sha256}, got {actual}; nothing was written to the cache"
        )
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _missing_message(source: Source, reason: str) -> str:
    return (
        f"data file '{source.mirror_path}' (source '{source.name}') is not available: {reason}. "
        f"Provide it in one of these ways: (1) pass --mirror DIR or set {MIRROR_ENV}=DIR where "
        f"DIR/{source.mirror_path} is the file; (2) put the file at "
        f"{cache_dir() / source.mirror_path}; (3) connect to the network so it can be "
        f"downloaded from {source.url}. Expected SHA-256: {source.sha256}."
    )


def resolve(
    name: str,
    *,
    path: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    download: bool | None = None,
    timeout: float = 60.0,
) -> Path:
    """Return a verified local path for source ``name``.

    Parameters
    ----------
    name : str
        Source name in the manifest (e.g. ``"secret_sauce"``).
    path : path, optional
        An explicit file to use. It must exist and match the checksum.
    mirror : path, optional
        Mirror folder; defaults to ``$BAYES_LLM_DATA_MIRROR``.
    download : bool, optional
        Allow a download when the file is found nowhere else. Defaults to true unless
        ``BAYES_LLM_OFFLINE`` is set.
    timeout : float
        Download timeout in seconds.

    Returns
    -------
    Path
        A file whose SHA-256 matches the manifest.

    Raises
    ------
    DataSourceError
        The file is found nowhere and cannot be downloaded; the message says how to provide it.
    ChecksumError
        A file was found but its checksum does not match.
    """
    source = get_source(name)
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise DataSourceError(_missing_message(source, reason=f"{explicit} does not exist"))
        return verify(explicit, source)
    mdir = mirror_dir(mirror)
    if mdir is not None:
        candidate = mdir / source.mirror_path
        if candidate.is_file():
            return verify(candidate, source)
    cached = cache_dir() / source.mirror_path
    if cached.is_file():
        return verify(cached, source)
    if download is None:
        download = not os.environ.get(OFFLINE_ENV)
    if not download:
        where = f"not in mirror {mdir}" if mdir else "no mirror set"
        raise DataSourceError(_missing_message(source, reason=f"{where}, not cached, offline"))
    return _download(source, cached, timeout)


def source_status(mirror: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Report, for every source, where it would be read from and whether it verifies."""
    rows = []
    for source in load_manifest().values():
        try:
            found = resolve(source.name, mirror=mirror, download=False)
            rows.append({"source": source.name, "status": "ok", "path": str(found)})
        except ChecksumError as exc:
            rows.append({"source": source.name, "status": "CHECKSUM MISMATCH", "path": str(exc)})
        except DataSourceError:
            rows.append({"source": source.name, "status": "missing", "path": source.mirror_path})
    return rows
