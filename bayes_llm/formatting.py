"""Number and table formatting shared by the text, Markdown and HTML outputs."""

from __future__ import annotations

import math

import pandas as pd


def fmt_multiplier(value: float | None) -> str:
    """Format a compute-equivalent multiplier: ``2.27x``, ``60.5x``, ``2,949x``; ``n/a``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def markdown_table(frame: pd.DataFrame) -> str:
    """Render a frame as a GitHub pipe table (floats to 4 significant digits, NaN blank)."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)
