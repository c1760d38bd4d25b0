"""Shared look of the plots: developer-group colours, period styles, figure export."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
from matplotlib import cbook
from matplotlib.figure import Figure

from bayes_llm import constants as C
from bayes_llm.atomic import write_bytes_atomic

#: Colours of the ten major developer groups (in :func:`paper_group_order` order) and
#: greys for the three pooled "Other" groups, so that the majors stand out.
MAJOR_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f3c8d",
)
OTHER_COLOURS: dict[str, str] = {C.OTHER_SMALL: "#c7c7c7", C.OTHER_MED: "#9a9a9a",
                                 C.OTHER_LARGE: "#555555"}
#: Line styles and colours of periods (first, second, third, ... cycling).
PERIOD_COLOURS: tuple[str, ...] = ("#1b1b6e", "#8b0000", "#00695c", "#6a1b9a", "#e65100",
                                   "#3e2723", "#880e4f", "#263238")
#: Colours of the decomposition components.
COMPONENT_COLOURS: dict[str, str] = {"compute": "#4c72b0", "period": "#55a868",
                                     "developer": "#dd8452", "model": "#8c8c8c",
                                     "residual": "#a8a8a8", "lineage": "#8172b3"}
#: Colour of the paper's (frequentist) point values.
PAPER_COLOUR: str = "#c0392b"
#: Resolution of PNG exports.
DPI: int = 110


def _no_jax_import(check):
    """Wrap matplotlib's JAX-array test so that it never imports JAX.

    ``arviz_base`` registers ``jax`` in ``sys.modules`` as a lazy module; matplotlib's
    ``cbook._is_jax_array`` reads ``sys.modules["jax"].Array`` for every plotted array, which
    imports JAX (over a second) although no JAX array can exist while JAX is not loaded.
    A loaded JAX has ``jax._src`` in ``sys.modules``; only then is the test asked.
    """
    def is_jax_array(x) -> bool:
        return "jax._src" in sys.modules and check(x)

    is_jax_array.wrapped = check
    return is_jax_array


if hasattr(cbook, "_is_jax_array") and not hasattr(cbook._is_jax_array, "wrapped"):
    cbook._is_jax_array = _no_jax_import(cbook._is_jax_array)


def group_colours(groups) -> dict[str, str]:
    """Colour of each developer group: majors in colour, "Other" groups in greys.

    Parameters
    ----------
    groups : iterable of str
        Group labels (the paper's 13 groups, or any others).

    Returns
    -------
    dict of str to str
        Hex colour per label; unknown non-"Other" labels cycle through the palette.
    """
    from bayes_llm.data.grouping import paper_group_order

    order = [g for g in paper_group_order() if g not in OTHER_COLOURS]
    out: dict[str, str] = {}
    extra = 0
    for g in dict.fromkeys(str(x) for x in groups):
        if g in OTHER_COLOURS:
            out[g] = OTHER_COLOURS[g]
        elif g in order:
            out[g] = MAJOR_PALETTE[order.index(g) % len(MAJOR_PALETTE)]
        else:
            out[g] = MAJOR_PALETTE[extra % len(MAJOR_PALETTE)]
            extra += 1
    return out


def sort_groups(groups) -> list[str]:
    """Group labels in the paper's order (majors first, then the Other groups), then others."""
    from bayes_llm.data.grouping import paper_group_order

    present = list(dict.fromkeys(str(g) for g in groups))
    order = [g for g in paper_group_order() if g in present]
    return order + sorted(set(present) - set(order))


def period_colour(index: int) -> str:
    """Colour of the ``index``-th period."""
    return PERIOD_COLOURS[index % len(PERIOD_COLOURS)]


def figure_png(fig: Figure, *, dpi: int = DPI) -> bytes:
    """Render a figure to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Write a figure as PNG atomically and return the path."""
    return write_bytes_atomic(path, figure_png(fig, dpi=dpi))


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """Create a figure not registered with pyplot (no display needed, nothing to close).

    In a notebook it is shown once, when it is the value of a cell.
    """
    return Figure(figsize=figsize, layout="constrained", **kwargs)


def close(fig: Figure) -> None:
    """Release a figure made through pyplot (e.g. by ArviZ); a no-op for others."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def multiplier_ticks(ax, axis: str = "x") -> None:
    """Label a log10-scaled axis with "1x", "10x", "0.1x" style ticks."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        if v <= 0 or not np.isfinite(v):
            return ""
        if v >= 1:
            return f"{v:,.0f}×" if v >= 10 or float(v).is_integer() else f"{v:.1f}×"
        return f"{v:.2g}×"

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(fmt))
