"""Parameter recovery: simulate from the model on the real design, refit, find the truth.

The simulator (bayes_llm.verify.simulate) keeps the paper's design (developers, cohorts,
compute) and draws the outcome from the model with the scalar parameters fixed at
plausible values (PLAUSIBLE_TRUTH; cohort effects rising by 1.4 logits). The refit must
put every true scalar (alpha, beta, sigma_*, period contrasts) and the derived
quantities inside their 94% intervals (HDI_PROB).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm.constants import HDI_PROB
from bayes_llm.model import fit_model, load_spec, prepare_data
from bayes_llm.verify.simulate import (
    PLAUSIBLE_TRUTH,
    SimulationError,
    headline_quantities,
    recovery_table,
    reduced_design,
    simulate,
    simulate_prior,
    synthetic_design,
)

RECOVERY_SPECS = ("logit_normal_groups", "binomial_developers")


@pytest.fixture(scope="module")
def design(paper_df):
    return reduced_design(paper_df, 200, seed=0)


def test_reduced_design_keeps_structure(paper_df, design):
    assert 195 <= len(design) <= 205
    assert set(design["cohort"]) == set(paper_df["cohort"])
    assert design["cohort"].value_counts().min() >= 8
    assert design["log10_flop"].min() == paper_df["log10_flop"].min()
    assert design["log10_flop"].max() == paper_df["log10_flop"].max()
    sizes = design["developer"].value_counts()
    assert sizes.max() >= 5 and (sizes == 1).sum() > len(sizes) / 2  # still skewed
    assert design["model_id"].is_unique


@pytest.mark.parametrize("spec_name", RECOVERY_SPECS)
def test_simulation_is_consistent_with_the_model(design, spec_name):
    spec = load_spec(spec_name)
    sim = simulate(spec, design, seed=1)
    df = sim.df
    assert list(df["model_id"]) == list(prepare_data(design, spec).frame["model_id"])
    for name, value in PLAUSIBLE_TRUTH.items():
        if name in sim.truth:
            assert sim.truth[name] == pytest.approx(value)
    # sum-to-zero cohort effects: the linear rise is centred, contrasts are as asked
    assert sim.truth["period_effect"].sum() == pytest.approx(0.0, abs=1e-12)
    assert np.diff(sim.truth["period_effect"]) == pytest.approx([0.7, 0.7])
    data = prepare_data(df, spec)
    if spec.likelihood == "binomial":
        np.testing.assert_array_equal(data.k, sim.observed["correct"])
        assert df["mmlu_pro_acc"].between(0, 1).all()
    else:
        np.testing.assert_allclose(data.y, sim.observed["y"])
        assert df["mmlu_pro_acc"].between(0.1, 1).all()
    # same seed, same data; other seed, other data
    again = simulate(spec, design, seed=1)
    pd.testing.assert_frame_equal(again.df, df)
    assert not simulate(spec, design, seed=2).df["mmlu_pro_acc"].equals(df["mmlu_pro_acc"])
    # the truth agrees with the headline quantities computed by hand
    q = sim.quantities()
    assert q["shared_progress"] == pytest.approx(1.4 / 0.6)
    resid = 0.35 if spec.likelihood == "binomial" else 0.45
    assert q["developer_share"] == pytest.approx(0.25 / (0.25 + resid**2))


def test_simulate_rejects_unknown_or_misshapen_parameters(design):
    spec = load_spec("binomial_developers")
    with pytest.raises(SimulationError, match="has no variable 'gamma'"):
        simulate(spec, design, {"gamma": 1.0})
    with pytest.raises(SimulationError, match="has shape"):
        simulate(spec, design, {"period_effect": [0.0, 1.0]})


def test_prior_draws_differ_and_quantities_are_finite(design):
    sims = simulate_prior(load_spec("binomial_developers"), design, 3, seed=5)
    alphas = {float(s.truth["alpha"]) for s in sims}
    assert len(alphas) == 3
    for sim in sims:
        q = sim.quantities()
        assert np.isfinite(q.to_numpy()).all()
        assert sim.truth["period_effect"].sum() == pytest.approx(0.0, abs=1e-9)


def test_synthetic_design_shape(paper_df):
    syn = synthetic_design(paper_df, 5000, n_developers=500, seed=1)
    assert len(syn) == 5000 and syn["developer"].nunique() == 500
    assert syn["model_id"].is_unique
    sizes = syn["developer"].value_counts()
    assert sizes.max() > 20 * sizes.median()  # skewed
    assert set(syn["cohort"]) == set(paper_df["cohort"])
    sim = simulate(load_spec("logit_normal_groups"), syn, seed=0)
    assert len(sim.df) == 5000


def _recover(spec_name: str, design: pd.DataFrame, *, seed: int, draws: int) -> pd.DataFrame:
    spec = load_spec(spec_name)
    sim = simulate(spec, design, seed=seed)
    fit = fit_model(spec, sim.df, draws=draws, tune=draws, chains=2, seed=seed,
                    progressbar=False)
    assert fit.diagnostics.sampler["divergences"] == 0
    return recovery_table(fit.posterior, sim)


def _assert_recovered(table: pd.DataFrame) -> None:
    fixed = table[table["fixed"]]
    assert {"alpha", "beta", "sigma_developer"} <= set(fixed.index)
    assert fixed.index.str.startswith("period_contrast").sum() == 2
    outside = table[~table["inside"]]
    assert outside.empty, f"true values outside their {HDI_PROB:.0%} HDI:\n{outside}"


@pytest.mark.mcmc
@pytest.mark.parametrize("spec_name", RECOVERY_SPECS)
def test_recovery_on_reduced_design(design, spec_name):
    table = _recover(spec_name, design, seed=0, draws=500)
    _assert_recovered(table)
    assert table.loc["beta", "sd"] < 0.1  # informative, not just a wide posterior


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("spec_name", RECOVERY_SPECS)
def test_recovery_on_full_design(paper_df, spec_name):
    table = _recover(spec_name, paper_df, seed=3, draws=1000)
    _assert_recovered(table)


def test_headline_quantities_of_a_posterior_like_dataset():
    import xarray as xr

    post = xr.Dataset({
        "alpha": (("chain", "draw"), np.zeros((1, 2))),
        "beta": (("chain", "draw"), np.full((1, 2), 0.5)),
        "sigma_developer": (("chain", "draw"), np.ones((1, 2))),
        "sigma": (("chain", "draw"), np.ones((1, 2))),
        "period_effect": (("chain", "draw", "period"), np.array([[[-1, 0, 1], [0, 0, 0]]])),
    }, coords={"period": ["a", "b", "c"]})
    q = headline_quantities(post)
    assert list(q.data_vars) == ["alpha", "beta", "sigma_developer", "sigma",
                                 "period_contrast[b]", "period_contrast[c]", "shared_progress",
                                 "developer_share"]
    np.testing.assert_allclose(q["shared_progress"].values, [[4.0, 0.0]])
    np.testing.assert_allclose(q["developer_share"].values, [[0.5, 0.5]])


def test_linear_components_thinning_keeps_every_thin_th_draw():
    import xarray as xr

    from bayes_llm.model import linear_components

    rng = np.random.default_rng(0)
    sd = ("chain", "draw")
    post = xr.Dataset({
        "alpha": (sd, rng.normal(size=(2, 20))), "beta": (sd, rng.normal(size=(2, 20))),
        "period_effect": ((*sd, "period"), rng.normal(size=(2, 20, 3))),
        "developer_effect": ((*sd, "developer"), rng.normal(size=(2, 20, 4))),
        "eta": ((*sd, "model"), rng.normal(size=(2, 20, 6))),
    }, coords={"chain": [0, 1], "draw": np.arange(20)})
    const = xr.Dataset({"log10_flop_centred": ("model", rng.normal(size=6)),
                        "period_idx": ("model", [0, 1, 2, 0, 1, 2]),
                        "developer_idx": ("model", [0, 1, 2, 3, 0, 1])})
    dt = xr.DataTree.from_dict({"posterior": post, "constant_data": const})
    full = linear_components(dt)
    thinned = linear_components(dt, thin=5)
    assert thinned.sizes["draw"] == 4
    xr.testing.assert_allclose(thinned, full.isel(draw=slice(None, None, 5)))
    with pytest.raises(ValueError, match="positive integer"):
        linear_components(dt, thin=0)


# ---------------------------------------------------------------------------------------
# Recovery as coverage (issue 12): over many seeds, with parameters drawn from the prior,
# the 94% intervals must contain the truth in 94% of replications (binomial bounds).


def _records(us: dict[str, np.ndarray], inside: dict[str, np.ndarray] | None = None):
    rows = []
    for name, u in us.items():
        for i, value in enumerate(u):
            row = {"replication": i, "quantity": name, "u": value}
            if inside is not None:
                row["inside_hdi"] = bool(inside[name][i])
            rows.append(row)
    return pd.DataFrame(rows)


def test_coverage_table_counts_and_bounds():
    from bayes_llm.verify.rankcheck import coverage_table

    rng = np.random.default_rng(0)
    n = 200
    good = rng.uniform(size=n)
    narrow = rng.uniform(size=n)  # overconfident intervals: truth outside 20% of the time
    narrow[:40] = np.where(rng.uniform(size=40) < 0.5, 0.01, 0.99)
    inside = {"good": (good > 0.03) & (good < 0.97), "narrow": (narrow > 0.03) & (narrow < 0.97)}
    table = coverage_table(_records({"good": good, "narrow": narrow}, inside), prob=0.94)
    assert table.loc["good", "covered_central"] == int(inside["good"].sum())
    assert table.loc["good", "lower"] <= table.loc["good", "covered_central"] \
        <= table.loc["good", "upper"]
    assert table.loc["good", "holm_central"] > 0.01
    assert table.loc["narrow", "holm_central"] < 0.01 and table.loc["narrow", "holm_hdi"] < 0.01
    assert table.loc["narrow", "coverage_hdi"] == pytest.approx(inside["narrow"].mean())


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovery_coverage_over_50_seeds(design):
    """50 prior draws on the 200-model design: 94% HDI coverage inside binomial bounds.

    The same tally on the full 809-model design is in ``verification/sbc/*/coverage.csv``
    (``python -m bayes_llm.verify.run_sbc``).
    """
    from bayes_llm.verify import run_sbc
    from bayes_llm.verify.rankcheck import coverage_table

    spec = load_spec("logit_normal_groups")
    data = prepare_data(design, spec)
    state = run_sbc.run(spec, data, reps=50, draws=300, tune=300, chains=2, seed=5,
                        log=lambda line: None)
    table = coverage_table(state.records, prob=HDI_PROB)
    # a multiplier is undefined (non-finite) when the true beta is ~0: those are left out
    params = ~table.index.str.contains("multiplier")
    assert (table.loc[params, "n"] >= 50).all() and (table["n"] >= 40).all(), table["n"]
    assert (table["holm_central"] >= 0.01).all(), table
    assert (table["holm_hdi"] >= 0.01).all(), table
