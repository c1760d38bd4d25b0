"""``bayes-llm specs``: list the bundled model specs (fast: reads the TOML files only)."""

from __future__ import annotations

import tomllib
from typing import Annotated

import typer

HELP = "List the bundled model specs with their descriptions."


def specs(
    check: Annotated[bool, typer.Option(
        "--check", help="Also load and validate each spec (imports the model code: slower).")]
    = False,
) -> None:
    """Print one line per bundled spec: its name and description."""
    from bayes_llm.bundled import bundled_folder
    from bayes_llm.errors import SpecError

    folder = bundled_folder("models", error=SpecError)
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as fh:
                description = str(tomllib.load(fh).get("description", ""))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(f"{path}: cannot read the spec ({exc})") from None
        if check:
            from bayes_llm.model.spec import load_spec

            load_spec(path.stem)
        typer.echo(f"{path.stem:<26} {description}")


def register(app: typer.Typer) -> None:
    """Add the ``specs`` command."""
    app.command("specs", help=HELP)(specs)
