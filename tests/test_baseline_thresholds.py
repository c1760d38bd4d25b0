"""The threshold-compute convention, on a small synthetic table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm.baseline import threshold_declines, threshold_path
from bayes_llm.errors import SpecError


@pytest.fixture
def models() -> pd.DataFrame:
    return pd.DataFrame({
        "model_id": ["A", "B", "C", "D", "E"],
        "month": ["2023-01", "2023-03", "2023-04", "2023-06", "2023-06"],
        "log10_flop": [24.0, 22.0, 23.5, 25.0, 23.8],
        "score": [0.20, 0.10, 0.15, 0.50, 0.30],
        "is_major": [True, False, False, True, True],
    })


def test_running_minimum_path(models):
    path = threshold_path(models, 0.15, score_column="score")
    assert path["month"].tolist() == ["2023-01", "2023-02", "2023-03", "2023-04",
                                      "2023-05", "2023-06"]
    # B is below the threshold; C reaches it exactly (>=) and sets the running minimum.
    assert path["running_min_log10_flop"].tolist() == [24.0, 24.0, 24.0, 23.5, 23.5, 23.5]
    assert path["running_min_model"].tolist() == ["A", "A", "A", "C", "C", "C"]
    assert path["n_reaching_in_month"].tolist() == [1, 0, 0, 1, 0, 2]
    assert np.isnan(path["month_min_log10_flop"].iloc[1])
    assert path["month_min_log10_flop"].iloc[-1] == 23.8


def test_declines_by_scope(models):
    summary, paths = threshold_declines(models, [0.15, 0.4], score_column="score")
    s = summary.set_index(["scope", "threshold"])
    assert s.loc[("all", 0.15), "decline"] == pytest.approx(10**0.5)
    assert s.loc[("all", 0.15), "first_month"] == "2023-01"
    assert s.loc[("majors", 0.15), "decline"] == pytest.approx(10**0.2)
    assert s.loc[("majors", 0.15), "end_model"] == "E"
    assert s.loc[("all", 0.4), "decline"] == pytest.approx(1.0)
    assert (summary["end_month"] == "2023-06").all()
    assert set(paths["scope"]) == {"all", "majors"}


def test_end_month_and_unreached(models):
    summary, _ = threshold_declines(models, [0.15, 0.9], score_column="score",
                                    end_month="2023-03")
    s = summary.set_index(["scope", "threshold"])
    assert s.loc[("all", 0.15), "decline"] == pytest.approx(1.0)
    assert s.loc[("all", 0.15), "n_models_reaching"] == 1
    assert np.isnan(s.loc[("all", 0.9), "decline"])
    assert s.loc[("all", 0.9), "n_models_reaching"] == 0


def test_threshold_must_be_a_fraction(models):
    with pytest.raises(SpecError, match="between 0 and 1"):
        threshold_declines(models, [15], score_column="score")
