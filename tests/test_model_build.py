"""Model construction: the design, the PyMC graph for every structural option, components."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_llm.model import build_model, linear_components, prepare_data, spec_from_dict
from bayes_llm.model.diagnostics import diagnose

BASE = {"name": "t", "likelihood": "logit_normal", "period_effect": "fixed",
        "developer": "group"}


def _spec(**changes):
    return spec_from_dict({**BASE, **changes})


def test_design_indexes_periods_developers_and_compute(paper_df):
    spec = _spec(developer="developer")
    data = prepare_data(paper_df, spec)
    assert data.n_models == 809
    assert data.coords["period"] == ["2022q4-2023q3", "2023q4-2024q2", "2024q3-2025q1"]
    assert len(data.coords["developer"]) == 256
    assert np.bincount(data.period_idx).tolist() == [29, 134, 646]
    np.testing.assert_allclose(data.x, paper_df["log10_flop"] - spec.compute_centre)
    np.testing.assert_allclose(data.y, paper_df["mmlu_pro_logit"])
    # k = round(acc * 12,032) correct answers, within half a question of the accuracy
    assert np.all(np.abs(data.k / data.n - paper_df["mmlu_pro_acc"]) <= 0.5 / 12032)
    for i in (0, 100, 808):
        assert data.coords["developer"][data.developer_idx[i]] == paper_df["developer"].iloc[i]


def test_group_coding_uses_the_13_groups_and_nested_maps_developers(paper_df):
    data = prepare_data(paper_df, _spec(developer="group"))
    assert len(data.coords["developer"]) == 13
    nested = prepare_data(paper_df, _spec(developer="nested", developer_effect="pooled"))
    groups = np.asarray(nested.coords["developer_group"])[nested.group_of_developer]
    lookup = paper_df.groupby("developer")["developer_group"].first()
    assert list(groups) == list(lookup.reindex(nested.coords["developer"]))


def test_random_walk_fills_empty_periods(paper_df):
    data = prepare_data(paper_df, _spec(period="month", period_effect="random_walk"))
    months = data.coords["period"]
    assert months[0] == "2022-11" and months[-1] == "2025-03"
    assert len(months) == 29  # every calendar month, including any with no release


def test_math_outcome_drops_and_counts_zero_scores(paper_df):
    data = prepare_data(paper_df, _spec(outcome="math_lvl5"))
    assert data.n_models == 809 - 24
    assert data.report.excluded["missing math_lvl5_logit"] == 24
    binomial = prepare_data(paper_df, _spec(outcome="math_lvl5", likelihood="binomial"))
    assert binomial.n_models == 809  # zero correct answers are fine for a binomial
    assert binomial.guess == 0.0


@pytest.mark.parametrize(
    ("changes", "free", "absent"),
    [
        ({}, {"alpha", "beta", "period_effect", "developer_effect", "sigma"}, {"eta"}),
        ({"likelihood": "binomial", "developer": "developer", "developer_effect": "pooled"},
         {"eta", "sigma_model", "sigma_developer"}, {"sigma"}),
        ({"likelihood": "student_t"}, {"nu", "sigma"}, {"eta"}),
        ({"developer": "nested", "developer_effect": "pooled"},
         {"group_effect", "sigma_group", "developer_effect"}, set()),
        ({"developer_effect": "pooled", "developer_parameterisation": "non_centred"},
         {"developer_z"}, {"developer_effect"}),
        ({"developer_slopes": True}, {"developer_slope", "sigma_slope"}, set()),
        ({"compute_period_interaction": True}, {"compute_period_slope"}, set()),
        ({"compute_error": True}, {"log10_flop_true", "mu_x", "sigma_x"}, set()),
        ({"period": "quarter", "period_effect": "random_walk"},
         {"period_walk", "period_drift", "sigma_period"}, set()),
        ({"period_effect": "exchangeable"}, {"sigma_period", "period_effect"}, set()),
        ({"developer": "none"}, set(), {"developer_effect"}),
    ],
)
def test_model_structure(paper_df, changes, free, absent):
    spec = _spec(**changes)
    model = build_model(prepare_data(paper_df, spec), spec)
    names = {v.name for v in model.free_RVs}
    assert free <= names, names
    assert not (absent & names)
    logp = model.compile_logp()(model.initial_point())
    assert np.isfinite(logp)


def test_binomial_success_probability_respects_guessing_floor(paper_df):
    spec = _spec(likelihood="binomial")
    model = build_model(prepare_data(paper_df, spec), spec)
    p = model["correct"].owner.inputs[-1]
    import pymc as pm

    with model:
        value = pm.draw(p, draws=1, random_seed=1)
    assert np.all(value > 0.1) and np.all(value < 1)


def _fake_tree(eta=None, y=None):
    """Three models, two periods, two developers, hand-set parameters."""
    posterior = {
        "alpha": np.array([[1.0]]), "beta": np.array([[0.5]]),
        "period_effect": np.array([[[0.0, 0.4]]]),
        "developer_effect": np.array([[[-0.2, 0.3]]]),
    }
    if eta is not None:
        posterior["eta"] = np.asarray(eta, float)[None, None, :]
    dims = {"period_effect": ["period"], "developer_effect": ["developer"], "eta": ["model"],
            "log10_flop_centred": ["model"], "period_idx": ["model"], "developer_idx": ["model"],
            "y": ["model"]}
    tree = {
        "posterior": xr.Dataset({k: (["chain", "draw", *dims.get(k, [])], v)
                                 for k, v in posterior.items()}),
        "constant_data": xr.Dataset({"log10_flop_centred": ("model", [-2.0, 0.0, 2.0]),
                                     "period_idx": ("model", [0, 1, 1]),
                                     "developer_idx": ("model", [0, 0, 1])},
                                    coords={"model": ["m1", "m2", "m3"]}),
    }
    if y is not None:
        tree["observed_data"] = xr.Dataset({"y": ("model", y)})
    return xr.DataTree.from_dict(tree)


def test_components_hand_computed_case():
    # mu = 1 + 0.5 x + gamma_t + u_j = [1 - 1 + 0 - 0.2, 1 + 0 + 0.4 - 0.2, 1 + 1 + 0.4 + 0.3]
    mu = np.array([-0.2, 1.2, 2.7])
    eta = mu + np.array([0.1, -0.3, 0.05])
    comp = linear_components(_fake_tree(eta=eta))
    np.testing.assert_allclose(comp["compute"].values.ravel(), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(comp["period"].values.ravel(), [0.0, 0.4, 0.4])
    np.testing.assert_allclose(comp["developer"].values.ravel(), [-0.2, -0.2, 0.3])
    np.testing.assert_allclose(comp["model_effect"].values.ravel(), [0.1, -0.3, 0.05])
    total = (comp["intercept"] + comp["compute"] + comp["period"] + comp["developer"]
             + comp["model_effect"])
    np.testing.assert_allclose(total.values.ravel(), eta)
    # logit-normal: the model part is the residual y - mu
    comp_y = linear_components(_fake_tree(y=[0.0, 1.0, 3.0]))
    np.testing.assert_allclose(comp_y["model_effect"].values.ravel(), [0.2, -0.2, 0.3])


def test_diagnostics_flag_divergences_and_poor_mixing():
    rng = np.random.default_rng(0)
    good = rng.normal(size=(4, 500))
    stuck = np.concatenate([rng.normal(0, 1, (2, 500)), rng.normal(5, 1, (2, 500))])
    div = np.zeros((4, 500), bool)
    div[0, :3] = True
    tree = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"a": (["chain", "draw"], good), "b": (["chain", "draw"], stuck)}),
        "sample_stats": xr.Dataset({"diverging": (["chain", "draw"], div),
                                    "energy": (["chain", "draw"], rng.normal(size=(4, 500)))}),
    })
    d = diagnose(tree)
    assert not d.ok
    text = " | ".join(d.failures)
    assert "3 divergent transitions" in text
    assert "b: R-hat" in text and "a: R-hat" not in text
    assert d.sampler["divergences"] == 3 and len(d.sampler["ebfmi"]) == 4
    assert "FAILED" in d.to_text()
