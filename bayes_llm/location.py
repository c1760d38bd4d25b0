"""Where the data mirror is: found the same way by every entry point.

Order (the first that applies wins):

1. an explicit folder (``--mirror DIR`` on the command line, ``mirror=`` in Python);
2. the environment variable ``BAYES_LLM_DATA_MIRROR``;
3. the config file written by ``scripts/main.sh``: ``$BAYES_LLM_CONFIG`` if set, else
   ``<checkout>/.bayes_llm.toml``, else ``$XDG_CONFIG_HOME/bayes_llm/config.toml``
   (``~/.config/...``), holding ``[data] mirror = "/path"``;
4. the scripts' convention, a ``shared/data`` folder beside the checkout
   (``<checkout>/../shared/data``).

Without any of them the sources are read from the user cache or downloaded (see
:mod:`bayes_llm.data.sources`). ``BAYES_LLM_NO_DISCOVERY=1`` turns off 3 and 4 (the test
suite sets it so that tests see only what they set up).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bayes_llm.errors import DataSourceError

MIRROR_ENV = "BAYES_LLM_DATA_MIRROR"
CONFIG_ENV = "BAYES_LLM_CONFIG"
NO_DISCOVERY_ENV = "BAYES_LLM_NO_DISCOVERY"
#: The config file's name at the root of a checkout (ignored by git).
CHECKOUT_CONFIG = ".bayes_llm.toml"
#: Root of the source checkout, when the package runs from one.
CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataLocation:
    """The mirror folder (or ``None``) and how it was found, in words."""

    mirror: Path | None
    how: str

    def describe(self) -> str:
        """One line, e.g. ``mirror /data (from $BAYES_LLM_DATA_MIRROR)``."""
        if self.mirror is None:
            return f"no mirror ({self.how}): the user cache, else the pinned downloads"
        return f"mirror {self.mirror} (from {self.how})"


def _is_checkout() -> bool:
    return (CHECKOUT_ROOT / "pyproject.toml").is_file() and (CHECKOUT_ROOT / "bayes_llm").is_dir()


def config_files() -> list[Path]:
    """Return the config files consulted, in order (existing or not)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return [Path(env).expanduser()]
    files = [CHECKOUT_ROOT / CHECKOUT_CONFIG] if _is_checkout() else []
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return [*files, Path(base) / "bayes_llm" / "config.toml"]


def read_config(path: Path) -> Path | None:
    """Return the mirror named by a config file, or ``None`` when it names none.

    Raises
    ------
    DataSourceError
        When the file cannot be parsed or its ``mirror`` is not a string (one line).
    """
    try:
        with path.open("rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataSourceError(f"{path}: cannot read the bayes_llm config ({exc})") from None
    value = config.get("data", {}).get("mirror") if isinstance(config.get("data"), dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise DataSourceError(f"{path}: [data] mirror must be a folder path (a string)")
    folder = Path(value).expanduser()
    return folder if folder.is_absolute() else (path.parent / folder).resolve()


def data_location(mirror: str | os.PathLike | None = None) -> DataLocation:
    """Find the data mirror (see the module docstring for the order).

    Parameters
    ----------
    mirror : path, optional
        An explicit folder (wins over everything else).

    Returns
    -------
    DataLocation
        The folder (``None`` when there is none) and how it was found.
    """
    if mirror is not None:
        return DataLocation(Path(mirror).expanduser(), "--mirror")
    env = os.environ.get(MIRROR_ENV)
    if env:
        return DataLocation(Path(env).expanduser(), f"${MIRROR_ENV}")
    if os.environ.get(NO_DISCOVERY_ENV, "") not in ("", "0"):
        return DataLocation(None, f"{MIRROR_ENV} not set; discovery off")
    for path in config_files():
        found = read_config(path)
        if found is not None:
            return DataLocation(found, f"config {path}")
    if _is_checkout():
        shared = CHECKOUT_ROOT.parent / "shared" / "data"
        if shared.is_dir():
            return DataLocation(shared.resolve(), "the ../shared/data convention")
    return DataLocation(None, f"{MIRROR_ENV} not set, no config file, no ../shared/data")


__all__ = ["CONFIG_ENV", "MIRROR_ENV", "NO_DISCOVERY_ENV", "DataLocation", "config_files",
           "data_location", "read_config"]
