"""The interval is a choice: keywords in the Python API, constants read at call time."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_llm import constants
from bayes_llm.derived.summary import (
    interval_label,
    resolve_interval,
    summarise_draws,
    summary_frame,
)
from bayes_llm.errors import BayesLLMError


def _draws(seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    # A skewed posterior, so HDI and ETI differ visibly.
    return xr.DataArray(rng.lognormal(0.0, 0.8, size=(4, 500)), dims=("chain", "draw"))


def test_keywords_change_the_interval():
    da = _draws()
    wide = summarise_draws(da)
    narrow = summarise_draws(da, hdi_prob=0.5)
    assert narrow["upper"] - narrow["lower"] < wide["upper"] - wide["lower"]
    eti = summarise_draws(da, ci_kind="eti")
    flat = np.sort(da.values.ravel())
    assert eti["lower"] == pytest.approx(np.quantile(flat, 0.03), rel=0.02)
    assert eti["lower"] != pytest.approx(wide["lower"], rel=0.02)


def test_constants_are_read_at_call_time(monkeypatch):
    da = _draws(1)
    default = summarise_draws(da)
    monkeypatch.setattr(constants, "HDI_PROB", 0.5)
    monkeypatch.setattr(constants, "CI_KIND", "eti")
    changed = summarise_draws(da)
    assert changed == summarise_draws(da, hdi_prob=0.5, ci_kind="eti")
    assert changed != default
    assert resolve_interval() == (0.5, "eti")
    assert interval_label() == "50% ETI"


def test_older_spellings_still_work():
    da = _draws(2)
    assert summarise_draws(da, prob=0.8, kind="eti") == summarise_draws(
        da, hdi_prob=0.8, ci_kind="eti")
    frame = summary_frame(da.expand_dims(x=["a", "b"]).transpose("chain", "draw", "x"), "x",
                          hdi_prob=0.8)
    assert list(frame.columns) == ["x", "median", "lower", "upper"]


@pytest.mark.parametrize(("prob", "kind"), [(0.0, None), (1.0, None), (1.5, None),
                                            (float("nan"), None), ("x", None),
                                            (None, "quantile")])
def test_bad_settings_are_one_line_errors(prob, kind):
    with pytest.raises(BayesLLMError) as err:
        resolve_interval(prob, kind)
    assert "\n" not in str(err.value)


def test_label_formats():
    assert interval_label(0.94, "hdi") == "94% HDI"
    assert interval_label(0.895, "eti") == "89.5% ETI"
