"""Locate folders shipped with the package: in a checkout, or copied into an installed wheel."""

from __future__ import annotations

from pathlib import Path

from bayes_llm.errors import BayesLLMError

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_folder(checkout_name: str, *, error: type[BayesLLMError] = BayesLLMError) -> Path:
    """Return ``<repo>/<checkout_name>`` in a checkout, or ``bayes_llm/_<checkout_name>``.

    The wheel copies the repository's ``models/``, ``studies/`` and ``data/`` files into
    ``bayes_llm/_models`` etc. (see ``[tool.hatch.build.targets.wheel.force-include]``).

    Raises
    ------
    error
        When neither folder exists.
    """
    for candidate in (PACKAGE_DIR / f"_{checkout_name}", PACKAGE_DIR.parent / checkout_name):
        if candidate.is_dir():
            return candidate
    raise error(f"cannot find the bundled folder '{checkout_name}/'")
