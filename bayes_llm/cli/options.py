"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MirrorOption = Annotated[
    Path | None,
    typer.Option("--mirror", help="Local mirror folder of the data files "
                 "(default: $BAYES_LLM_DATA_MIRROR).", show_default=False),
]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Your own model table (.csv/.parquet, canonical columns) "
                 "instead of the paper's dataset.", show_default=False),
]


def load_data(mirror: Path | None, data: Path | None):
    """Load the paper's dataset, or a user's table when ``data`` is given."""
    from bayes_llm.data import load_model_table, load_paper_dataset

    if data is not None:
        return load_model_table(data)
    return load_paper_dataset(mirror=mirror)
