"""Derived quantities on tiny hand-built posteriors whose answers are computed by hand.

Four models, one chain, two draws. Model i has centred compute x, period, developer and a
known model-level effect; ``eta = alpha + beta x + gamma_t + u_j + model effect``.

    model  x   period  unit (group coding)  developer string  is_major
    m1    -1   p1      Other, Small         dev_a             False
    m2     0   p2      Qwen                 dev_c             True
    m3     1   p2      Other, Small         dev_b             False
    m4     2   p1      Qwen                 dev_c             True

draw 0: alpha 0.5, beta 1, gamma (0, 0.5),     model effects (0.1, -0.2, 0.3, 0.0)
draw 1: alpha 0.2, beta 2, gamma (-0.25, 0.25), model effects (0.0, 0.1, -0.1, 0.2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.derived import (
    default_frontier_pair,
    developer_multipliers,
    frontier_models,
    group_multipliers,
    pair_decomposition,
    period_multipliers,
    reference_decomposition,
    reference_sensitivity,
    shared_progress,
    summarise_draws,
    variance_partition,
    within_spread,
)
from bayes_llm.derived.summary import interval, stacked_components
from bayes_llm.errors import BayesLLMError
from bayes_llm.model import spec_from_dict

CENTRE = 23.5
X = np.array([-1.0, 0.0, 1.0, 2.0])
PERIOD_IDX = np.array([0, 1, 1, 0])
ALPHA = np.array([0.5, 0.2])
BETA = np.array([1.0, 2.0])
GAMMA = np.array([[0.0, 0.5], [-0.25, 0.25]])
MODEL_EFFECT = np.array([[0.1, -0.2, 0.3, 0.0], [0.0, 0.1, -0.1, 0.2]])
IDS = ["m1", "m2", "m3", "m4"]
GROUPS = ["Other, Small", "Qwen", "Other, Small", "Qwen"]
STRINGS = ["dev_a", "dev_c", "dev_b", "dev_c"]


class TinyFit:
    """Just what the derived quantities read: spec, dt, models."""

    def __init__(self, coding: str = "group") -> None:
        if coding == "group":
            units, dev_idx = ["Other, Small", "Qwen"], np.array([0, 1, 0, 1])
            u = np.array([[0.0, 1.0], [-0.5, 0.5]])
        else:
            units, dev_idx = ["dev_a", "dev_b", "dev_c"], np.array([0, 2, 1, 2])
            u = np.array([[0.0, 0.4, 1.0], [0.2, -0.2, 0.6]])
        self.u, self.dev_idx = u, dev_idx
        mu = (ALPHA[:, None] + BETA[:, None] * X[None, :] + GAMMA[:, PERIOD_IDX]
              + u[:, dev_idx])
        eta = mu + MODEL_EFFECT
        self.eta = eta
        sample = {"chain": [0], "draw": [0, 1]}
        posterior = xr.Dataset({
            "alpha": (("chain", "draw"), ALPHA[None]),
            "beta": (("chain", "draw"), BETA[None]),
            "period_effect": (("chain", "draw", "period"), GAMMA[None]),
            "developer_effect": (("chain", "draw", "developer"), u[None]),
            "eta": (("chain", "draw", "model"), eta[None]),
        }, coords={**sample, "period": ["p1", "p2"], "developer": units, "model": IDS})
        constant = xr.Dataset({"log10_flop_centred": ("model", X),
                               "period_idx": ("model", PERIOD_IDX),
                               "developer_idx": ("model", dev_idx)}, coords={"model": IDS})
        self.dt = xr.DataTree.from_dict({"posterior": posterior, "constant_data": constant})
        self.spec = spec_from_dict({"name": "tiny", "developer": coding,
                                    "compute_centre": CENTRE})
        self.models = pd.DataFrame({
            "model_id": IDS, "developer": STRINGS, "developer_group": GROUPS,
            "is_major": [False, True, False, True], "cohort": ["c1", "c2", "c2", "c1"],
            "period": ["p1", "p2", "p2", "p1"],
            "developer_unit": [units[i] for i in dev_idx],
            "log10_flop": X + CENTRE, "mmlu_pro_acc": [0.30, 0.50, 0.60, 0.40],
            "mmlu_pro_logit": [-1.0, 0.0, 0.5, -0.5]})


def _draws(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da.transpose("chain", "draw", ...)).reshape(2, *da.shape[2:])


@pytest.fixture
def tiny() -> TinyFit:
    return TinyFit("group")


def test_components_add_up_to_latent_score(tiny):
    stacked = stacked_components(tiny)
    total = _draws(stacked.sum("component"))
    assert total == pytest.approx(tiny.eta - ALPHA[:, None])
    assert _draws(stacked.sel(component="model")) == pytest.approx(MODEL_EFFECT)


# ------------------------------------------------------------------------ frontier
def test_default_pair_and_frontier_models(tiny):
    # best of cohort c1 (m1 0.30, m4 0.40) -> best of c2 (m2 0.50, m3 0.60)
    assert default_frontier_pair(tiny) == ("m4", "m3")
    assert frontier_models(tiny)["model_id"].tolist() == ["m4", "m3"]


def test_pair_decomposition_by_hand(tiny):
    dec = pair_decomposition(tiny, [("m1", "m3")]).sel(pair="m1 -> m3")
    # draw 0: d compute = 1*2, d period = 0.5, d developer = 0, d model = 0.3 - 0.1
    # draw 1: d compute = 2*2, d period = 0.5, d developer = 0, d model = -0.1 - 0.0
    values = {"compute": [2.0, 4.0], "period": [0.5, 0.5], "developer": [0.0, 0.0],
              "model": [0.2, -0.1]}
    total = np.array([2.7, 4.4])
    for comp, expected in values.items():
        assert _draws(dec["value"].sel(component=comp)) == pytest.approx(expected)
        assert _draws(dec["share"].sel(component=comp)) == pytest.approx(
            np.array(expected) / total)
    assert _draws(dec["total"]) == pytest.approx(total)
    assert _draws(dec["explained_share"].sel(component="compute")) == pytest.approx(
        [2.0 / 2.5, 4.0 / 4.5])
    assert np.isnan(_draws(dec["explained_share"].sel(component="model"))).all()
    assert _draws(dec["share"].sum("component")) == pytest.approx([1.0, 1.0])
    assert _draws(dec["explained_share"].sum("component", skipna=True)) == pytest.approx(
        [1.0, 1.0])


def test_pair_decomposition_rejects_unknown_models(tiny):
    with pytest.raises(BayesLLMError, match="nope"):
        pair_decomposition(tiny, [("m1", "nope")])


def test_reference_decomposition_by_hand(tiny):
    dec = reference_decomposition(tiny, ["m3"], reference_log10_flop=CENTRE)
    dec = dec.sel(model="m3")
    # reference: x = 0, period p1, developer = mean(u), model effect 0.
    # draw 0: compute 1*1, period 0.5 - 0, developer 0 - 0.5, model 0.3 -> total 1.3
    # draw 1: compute 2*1, period 0.25 + 0.25, developer -0.5 - 0, model -0.1 -> total 1.9
    expected = {"compute": [1.0, 2.0], "period": [0.5, 0.5], "developer": [-0.5, -0.5],
                "model": [0.3, -0.1]}
    for comp, values in expected.items():
        assert _draws(dec["value"].sel(component=comp)) == pytest.approx(values)
    assert _draws(dec["total"]) == pytest.approx([1.3, 1.9])
    eta_ref = ALPHA + 0.0 + GAMMA[:, 0] + tiny.u.mean(axis=1)
    assert _draws(dec["total"]) == pytest.approx(tiny.eta[:, 2] - eta_ref)
    assert _draws(dec["share"].sel(component="compute")) == pytest.approx([1 / 1.3, 2 / 1.9])
    assert _draws(dec["share"].sum("component")) == pytest.approx([1.0, 1.0])
    assert _draws(dec["explained_share"].sel(component="compute")) == pytest.approx(
        [1.0 / 1.0, 2.0 / 2.0])


def test_reference_share_depends_on_reference_compute(tiny):
    table = reference_sensitivity(tiny, [CENTRE - 2, CENTRE, CENTRE + 1], model="m3")
    # at the model's own compute the compute part vanishes
    assert table["share_median"].iloc[-1] == pytest.approx(0.0)
    # a smaller reference compute gives compute a larger share
    assert table["share_median"].is_monotonic_decreasing


# ------------------------------------------------------------------------ variance
def test_variance_partition_by_hand(tiny):
    part = variance_partition(tiny)
    share = _draws(part["share"])
    comps = {"compute": BETA[:, None] * X, "period": GAMMA[:, PERIOD_IDX],
             "developer": tiny.u[:, tiny.dev_idx], "model": MODEL_EFFECT}
    total = sum(comps.values())
    for d in range(2):
        t = total[d] - total[d].mean()
        for k, name in enumerate(part["component"].values):
            c = comps[str(name)][d] - comps[str(name)][d].mean()
            assert share[d, k] == pytest.approx((c @ t) / (t @ t))
    assert share.sum(axis=-1) == pytest.approx([1.0, 1.0], abs=1e-12)


def test_variance_partition_two_models_is_ratio_of_differences():
    """With two models every covariance share is (difference of c) / (difference of T)."""
    fit = TinyFit("group")
    two = ["m1", "m3"]
    fit.dt = xr.DataTree.from_dict({
        "posterior": fit.dt["posterior"].to_dataset().sel(model=two),
        "constant_data": fit.dt["constant_data"].to_dataset().sel(model=two)})
    fit.models = fit.models.iloc[[0, 2]].reset_index(drop=True)
    share = _draws(variance_partition(fit)["share"])
    # draw 0: d compute 2, d period 0.5, d developer 0, d model 0.2 (total 2.7)
    assert share[0] == pytest.approx(np.array([2.0, 0.5, 0.0, 0.2]) / 2.7)


# ---------------------------------------------------------------------- multipliers
def test_shared_progress_and_period_multipliers(tiny):
    assert _draws(shared_progress(tiny)) == pytest.approx([10**0.5, 10**0.25])
    per = period_multipliers(tiny)
    assert _draws(per.sel(period="p1")) == pytest.approx([1.0, 1.0])
    assert _draws(per.sel(period="p2")) == pytest.approx([10**0.5, 10**0.25])


def test_developer_multipliers_group_coding(tiny):
    mult = developer_multipliers(tiny)
    assert mult.attrs["reference"] == "Other, Small"
    assert _draws(mult.sel(developer="Qwen")) == pytest.approx([10.0, 10**0.5])
    groups = group_multipliers(tiny)
    assert _draws(groups.sel(developer_group="Qwen")) == pytest.approx([10.0, 10**0.5])
    mean_ref = developer_multipliers(tiny, reference="mean")
    assert _draws(mean_ref.sel(developer="Qwen")) == pytest.approx([10**0.5, 10**0.25])


def test_developer_multipliers_string_coding():
    fit = TinyFit("developer")
    # Other, Small's models are m1 (dev_a) and m3 (dev_b): reference = mean(u_a, u_b).
    mult = developer_multipliers(fit)
    assert "Other, Small" in mult.attrs["reference"]
    ref = np.array([0.2, 0.0])
    for unit, col in (("dev_a", 0), ("dev_b", 1), ("dev_c", 2)):
        assert _draws(mult.sel(developer=unit)) == pytest.approx(
            10 ** ((fit.u[:, col] - ref) / BETA))
    groups = group_multipliers(fit)
    assert _draws(groups.sel(developer_group="Qwen")) == pytest.approx(
        10 ** ((fit.u[:, 2] - ref) / BETA))
    mean = developer_multipliers(fit, reference="mean")
    assert _draws(mean.sel(developer="dev_c")) == pytest.approx(
        10 ** ((fit.u[:, 2] - fit.u.mean(axis=1)) / BETA))
    with pytest.raises(BayesLLMError, match="unknown reference"):
        developer_multipliers(fit, reference="nobody")


def test_within_spread_by_hand(tiny):
    # majors m2, m4: with two values p90 - p10 (linear) = 0.8 * |difference|
    spread = within_spread(tiny)
    assert spread.attrs["n_models"] == 2
    assert _draws(spread) == pytest.approx([10 ** (0.8 * 0.2 / 1.0), 10 ** (0.8 * 0.1 / 2.0)])
    with pytest.raises(BayesLLMError, match="at least two"):
        within_spread(tiny, mask=np.array([True, False, False, False]))


# ------------------------------------------------------------------------- summaries
def test_summary_uses_project_interval():
    rng = np.random.default_rng(0)
    da = xr.DataArray(rng.lognormal(size=(2, 1000)), dims=("chain", "draw"))
    out = summarise_draws(da)
    values = np.sort(da.values.ravel())
    k = int(np.floor(0.94 * values.size))
    widths = values[k:] - values[:-k]
    i = int(np.argmin(widths))
    # the shortest window holding 94% of the draws (up to one draw of rounding)
    assert out["lower"] == pytest.approx(values[i], abs=0.02)
    assert out["upper"] == pytest.approx(values[i + k], rel=0.02)
    assert out["median"] == pytest.approx(np.median(values))
    eti = interval(da, kind="eti")
    assert float(eti.sel(ci_bound="lower")) == pytest.approx(np.quantile(values, 0.03), rel=0.01)
    logged = summarise_draws(da, log10=True)
    assert logged["lower"] > out["lower"]  # HDI of log10 values lies further right
    nan = summarise_draws(xr.full_like(da, np.nan))
    assert np.isnan(nan["lower"]) and np.isnan(nan["upper"])
