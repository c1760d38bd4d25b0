"""Forest and tornado plots of a study table, and the data behind them."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayes_llm.sensitivity.plots import (  # noqa: E402
    forest_data,
    forest_plot,
    key_figures,
    tornado_data,
    tornado_plot,
)

SHARE = "frontier_pair_compute_share_explained"
MULT = "within_spread_multiplier"


def _table() -> pd.DataFrame:
    rows = []
    specs = [  # variant, axis, level, status, share median, multiplier median
        ("base", "base", "base", "ok", 0.80, 40.0),
        ("priors-wide", "priors", "wide", "ok", 0.78, 50.0),
        ("priors-narrow", "priors", "narrow", "warnings", 0.81, 38.0),
        ("likelihood-student_t", "likelihood", "student_t", "ok", 0.60, 400.0),
        ("sample-majors", "sample", "majors", "failed", np.nan, np.nan),
        ("sample-full_tokens", "sample", "full_tokens", "ok", 0.70, 45.0),
    ]
    for variant, axis, level, status, share, mult in specs:
        for figure, unit, median, paper, claim in ((SHARE, "share", share, 0.75, "80-90%"),
                                                   (MULT, "multiplier", mult, 40.6,
                                                    "more than 40x"),
                                                   ("variance_period_share", "share",
                                                    0.02, 0.025, "")):
            width = 0.1 if unit == "share" else 0.3
            lo = median * (1 - width) if np.isfinite(median) else np.nan
            hi = median * (1 + width) if np.isfinite(median) else np.nan
            rows.append({"study": "t", "variant": variant, "axis": axis, "level": level,
                         "variant_label": "", "figure": figure, "figure_label": figure,
                         "paper_value": paper if variant == "base" else paper + 0.01,
                         "median": median, "lower": lo, "upper": hi, "unit": unit,
                         "paper_claim": claim, "status": status, "diagnostics": "",
                         "error": "fit: boom" if status == "failed" else "", "cached": False,
                         "seconds": 1.0, "n_models": 809, "cache_key": "abc"})
    return pd.DataFrame(rows)


def test_key_figures_are_those_behind_the_paper_claims():
    assert key_figures(_table()) == [SHARE, MULT]


def test_forest_data_has_every_variant_and_marks_the_paper():
    data = forest_data(table=_table())
    assert len(data) == 2 * 6
    share = data[data["figure"] == SHARE].set_index("variant")
    assert (share["paper_reference"] == 0.75).all()  # the base variant's paper value
    assert share.loc["priors-wide", "paper_value"] == pytest.approx(0.76)
    assert share["claim_lower"].iloc[0] == 0.8 and share["claim_upper"].iloc[0] == 0.9
    assert share.loc["sample-majors", "status"] == "failed"
    assert math.isnan(share.loc["sample-majors", "median"])
    mult = data[data["figure"] == MULT]
    assert (mult["unit"] == "multiplier").all() and math.isinf(mult["claim_upper"].iloc[0])


def test_tornado_data_ranks_axes_by_swing_and_counts_failures():
    data = tornado_data(table=_table())
    share = data[data["figure"] == SHARE].set_index("axis")
    assert list(share.index) == ["likelihood", "sample", "priors"]  # largest swing first
    assert share.loc["likelihood", "swing"] == pytest.approx(0.20)
    assert share.loc["likelihood", "low_level"] == "student_t"
    assert share.loc["sample", "n_failed"] == 1 and share.loc["sample", "n_levels"] == 2
    assert share.loc["sample", "swing"] == pytest.approx(0.10)  # failed level left out
    assert share.loc["priors", "largest_shift"] == "wide"
    mult = data[data["figure"] == MULT].set_index("axis")
    assert mult.loc["likelihood", "swing"] == pytest.approx(1.0)  # log10(400 / 40)
    assert mult.loc["likelihood", "shift"] == pytest.approx(1.0)


def test_plots_return_figures_with_one_panel_per_figure():
    table = _table()
    fig = forest_plot(table=table)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    labels = [t.get_text() for t in visible[0].get_yticklabels()]
    assert labels == list(dict.fromkeys(table["variant"]))  # base at the top
    assert visible[1].get_xscale() == "log"
    fig2 = tornado_plot(table=table, figures=[SHARE])
    panels = [ax for ax in fig2.axes if ax.get_visible()]
    assert len(panels) == 1
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["priors", "sample",
                                                                   "likelihood"]
    plt.close("all")
