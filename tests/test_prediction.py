"""Predictions for new models (issue 10, item 1): calibration on simulated worlds, errors, CLI.

Most tests need no MCMC: a *fake posterior* is built in which chain ``s`` is a simulated
world whose draws all equal its true parameters, written in the fit's coding (``alpha``
absorbs the mean of the sum-to-zero developer and period effects). Each world's new model
is drawn from the documented model; the 90% interval of its predictive distribution (the
chain's draws) covers it in 90% of worlds if and only if the prediction rules are right.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special, stats

from bayes_llm.model.spec import spec_from_dict
from bayes_llm.prediction import PeriodBeforeFitError, UnknownGroupError, predict
from bayes_llm.prediction import units as units_module

N_ITEMS = 12_032
GUESS = 0.1
QUARTERS = ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
DEVELOPERS = ["d0", "d1"]  # J = 2: the 1 + 1/J factor is 1.5


def _world_truth(rng: np.random.Generator, n_worlds: int) -> dict[str, np.ndarray]:
    """True parameters of each world (shape ``(world, ...)``)."""
    c = 0.2
    v = rng.normal(0.0, 1.0, (n_worlds, len(DEVELOPERS)))  # sigma_developer = 1
    drift, sigma_p = 0.3, 0.4
    steps = rng.normal(drift, sigma_p, (n_worlds, len(QUARTERS) - 1))
    levels = np.concatenate([np.zeros((n_worlds, 1)), np.cumsum(steps, axis=1)], axis=1)
    return {"c": np.full(n_worlds, c), "v": v, "levels": levels, "beta": np.full(n_worlds, 0.5),
            "sigma_developer": np.ones(n_worlds), "sigma_period": np.full(n_worlds, sigma_p),
            "period_drift": np.full(n_worlds, drift), "sigma_model": np.full(n_worlds, 0.15)}


def fake_fit(truth: dict[str, np.ndarray], n_draws: int, *, spec_changes=None):
    """A fit-like object whose chain s holds world s's parameters in every draw."""
    spec = spec_from_dict({"name": "fake", "period": "quarter", "period_effect": "random_walk",
                           **(spec_changes or {})})
    w = len(truth["c"])

    def rep(a, *dims):
        a = np.asarray(a, float)
        arr = np.repeat(a[:, None, ...], n_draws, axis=1)
        return (("chain", "draw", *dims), arr)

    vbar = truth["v"].mean(axis=1)
    lbar = truth["levels"].mean(axis=1)
    post = xr.Dataset(
        {"alpha": rep(truth["c"] + vbar + lbar), "beta": rep(truth["beta"]),
         "period_effect": rep(truth["levels"] - lbar[:, None], "period"),
         "developer_effect": rep(truth["v"] - vbar[:, None], "developer"),
         "sigma_developer": rep(truth["sigma_developer"]),
         "sigma_period": rep(truth["sigma_period"]),
         "period_drift": rep(truth["period_drift"]),
         "sigma_model": rep(truth["sigma_model"])},
        coords={"chain": np.arange(w), "draw": np.arange(n_draws), "period": QUARTERS,
                "developer": DEVELOPERS})
    dt = xr.DataTree.from_dict({"posterior": post})
    models = pd.DataFrame({"model_id": ["fitted-a"], "developer": ["d0"]})
    return SimpleNamespace(spec=spec, dt=dt, models=models, diagnostics=None)


#: Scenarios: (model_id, developer, release month, steps after the last fitted quarter).
SCENARIOS = [("known", "d0", "2023-11", 0), ("new-developer", "new", "2023-11", 0),
             ("future", "d1", "2024-06", 2)]


def scenario_table() -> pd.DataFrame:
    return pd.DataFrame({"model_id": [s[0] for s in SCENARIOS],
                         "developer": [s[1] for s in SCENARIOS],
                         "release_month": pd.to_datetime([s[2] for s in SCENARIOS]),
                         "log10_flop": [24.0, 22.5, 23.5]})


def simulate_truth_accuracy(truth, rng) -> np.ndarray:
    """Each world's true new models of the scenarios, from the documented model."""
    w = len(truth["c"])
    x = scenario_table()["log10_flop"].to_numpy() - 23.5
    last = truth["levels"][:, -1]
    future = last + 2 * truth["period_drift"] + rng.normal(0, 1, w) * truth["sigma_period"] \
        * np.sqrt(2)
    mu = np.stack([
        truth["c"] + last + truth["v"][:, 0] + truth["beta"] * x[0],
        truth["c"] + last + rng.normal(0, 1, w) * truth["sigma_developer"] + truth["beta"] * x[1],
        truth["c"] + future + truth["v"][:, 1] + truth["beta"] * x[2]], axis=1)
    eta = mu + rng.normal(0, 1, mu.shape) * truth["sigma_model"][:, None]
    p = GUESS + (1 - GUESS) * special.expit(eta)
    return rng.binomial(N_ITEMS, p) / N_ITEMS


def coverage(prediction, truth_acc, n_worlds, n_draws, prob=0.9) -> np.ndarray:
    """Share of worlds whose true accuracy lies in its central ``prob`` interval."""
    acc = prediction.accuracy.values.reshape(n_worlds, n_draws, -1)
    lo = np.quantile(acc, (1 - prob) / 2, axis=1)
    hi = np.quantile(acc, (1 + prob) / 2, axis=1)
    return np.mean((truth_acc >= lo) & (truth_acc <= hi), axis=0)


def binomial_bounds(n: int, prob: float = 0.9, level: float = 0.999) -> tuple[float, float]:
    """Range of the coverage share that a correct interval stays in with prob. ``level``."""
    lo = stats.binom.ppf((1 - level) / 2, n, prob) / n
    hi = stats.binom.ppf((1 + level) / 2, n, prob) / n
    return lo, hi


N_WORLDS, N_DRAWS = 1000, 400


@pytest.fixture(scope="module")
def worlds():
    rng = np.random.default_rng(11)
    truth = _world_truth(rng, N_WORLDS)
    fit = fake_fit(truth, N_DRAWS)
    return fit, simulate_truth_accuracy(truth, rng)


def test_coverage_known_new_developer_and_future_period(worlds):
    fit, truth_acc = worlds
    pred = predict(fit, scenario_table(), seed=3)
    assert list(pred.frame["period_steps_ahead"]) == [0, 0, 2]
    assert list(pred.frame["developer_known"]) == [True, False, True]
    cov = coverage(pred, truth_acc, N_WORLDS, N_DRAWS)
    lo, hi = binomial_bounds(N_WORLDS)
    for (name, *_), c in zip(SCENARIOS, cov, strict=True):
        assert lo <= c <= hi, f"{name}: 90% interval covers {c:.3f}, outside [{lo:.3f}, {hi:.3f}]"


@pytest.mark.parametrize("wrong", ["omit_one_over_j", "omit_fresh_draw"])
def test_wrong_new_developer_variance_is_caught(worlds, monkeypatch, wrong):
    fit, truth_acc = worlds
    if wrong == "omit_one_over_j":
        monkeypatch.setattr(units_module, "new_unit_variance",
                            lambda sigma2, n_units, *, zero_sum: sigma2)
    else:
        monkeypatch.setattr(units_module, "new_unit_variance",
                            lambda sigma2, n_units, *, zero_sum: 0.0 * sigma2)
    pred = predict(fit, scenario_table(), seed=3)
    cov = coverage(pred, truth_acc, N_WORLDS, N_DRAWS)
    lo, _ = binomial_bounds(N_WORLDS)
    assert cov[1] < lo, f"a wrong variance ({wrong}) went unnoticed: coverage {cov[1]:.3f}"


# --- small fake fits with sampling noise (iid draws), for rules, errors and the CLI -----------

COHORTS = ["2022q4-2023q3", "2023q4-2024q2", "2024q3-2025q1"]


def noisy_fit(spec_changes=None, *, chains=2, draws=500, seed=0, developers=("Meta", "Qwen",
                                                                              "Google")):
    """A fit-like object with iid posterior draws around plausible values (cohorts)."""
    rng = np.random.default_rng(seed)
    spec = spec_from_dict({"name": "fake_noisy", "period_effect": "fixed",
                           "sampler": {"chains": chains, "draws": draws},
                           **(spec_changes or {})})
    shape = (chains, draws)

    def around(value, sd, *extra):
        return value + sd * rng.standard_normal((*shape, *extra))

    periods = np.array([-0.6, 0.0, 0.6]) + 0.05 * rng.standard_normal((*shape, 3))
    devs = around(0.0, 0.05, len(developers)) + np.linspace(-0.4, 0.4, len(developers))
    data = {"alpha": (("chain", "draw"), around(0.3, 0.03)),
            "beta": (("chain", "draw"), around(0.6, 0.02)),
            "period_effect": (("chain", "draw", "period"), periods - periods.mean(-1,
                                                                                keepdims=True)),
            "developer_effect": (("chain", "draw", "developer"),
                                 devs - devs.mean(-1, keepdims=True)),
            "sigma_developer": (("chain", "draw"), np.abs(around(0.5, 0.05)))}
    if spec.likelihood == "binomial":
        data["sigma_model"] = (("chain", "draw"), np.abs(around(0.4, 0.02)))
    else:
        data["sigma"] = (("chain", "draw"), np.abs(around(0.4, 0.02)))
        if spec.likelihood == "student_t":
            data["nu"] = (("chain", "draw"), np.abs(around(5.0, 0.3)))
    post = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws),
                                    "period": COHORTS, "developer": list(developers)})
    stats_ds = xr.Dataset({"diverging": (("chain", "draw"), np.zeros(shape, bool))},
                          coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    dt = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats_ds})
    models = pd.DataFrame({"model_id": ["m1", "m2", "m3"], "developer": list(developers),
                           "developer_group": ["Meta", "Other, Large", "Google"],
                           "period": COHORTS, "developer_unit": list(developers)})
    return SimpleNamespace(spec=spec, dt=dt, models=models, diagnostics=None)


def table(*rows) -> pd.DataFrame:
    """Rows ``(model_id, developer, YYYY-MM, log10_flop)``."""
    return pd.DataFrame(rows, columns=["model_id", "developer", "release_month", "log10_flop"])


def test_before_first_period_is_one_line_error_naming_the_row():
    fit = noisy_fit()
    rows = table(("ok", "Meta", "2023-05", 23.0), ("too-early", "Meta", "2022-08", 23.0))
    with pytest.raises(PeriodBeforeFitError, match=r"row 2 \(model_id 'too-early'\).*2022-08"):
        predict(fit, rows)


def test_periods_are_compared_as_dates_not_text():
    from bayes_llm.prediction.periods import place_rows

    fitted = ["2023Q3", "2023Q1", "2024Q1", "2023Q2"]  # not in calendar order
    rows = table(("a", "x", "2023-11", 23.0), ("b", "x", "2024-08", 23.0),
                 ("c", "x", "2023-02", 23.0))
    rows["release_month"] = pd.to_datetime(rows["release_month"])
    placed = place_rows(rows, fitted, "quarter")
    assert [fitted[i] for i in placed.anchor] == ["2023Q3", "2024Q1", "2023Q1"]
    assert list(placed.steps) == [1, 2, 0]
    months = place_rows(rows, ["2023-02", "2023-11", "2023-09"], "month")
    assert list(months.steps) == [0, 9, 0]


def test_cohort_steps_beyond_the_window():
    from bayes_llm.prediction.periods import cohort_position

    assert cohort_position(pd.Timestamp("2025-03"))[0] == 2
    assert cohort_position(pd.Timestamp("2025-04"))[0] == 3
    assert cohort_position(pd.Timestamp("2025-12"))[0] == 3  # 9 months: one cohort length
    assert cohort_position(pd.Timestamp("2026-01"))[0] == 4
    assert cohort_position(pd.Timestamp("2022-09"))[0] == -1


def test_fixed_period_extrapolation_adds_variance_growing_with_the_gap():
    from bayes_llm.prediction.periods import period_term, place_rows

    effects = np.array([[-1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])  # two draws
    rows = table(("in", "x", "2025-01", 23.0), ("h1", "x", "2025-06", 23.0),
                 ("h2", "x", "2026-01", 23.0))
    rows["release_month"] = pd.to_datetime(rows["release_month"])
    placed = place_rows(rows, COHORTS, "cohort")
    mean, var = period_term(effects, placed, COHORTS, "cohort")
    np.testing.assert_allclose(mean, [[2.0] * 3, [0.0] * 3])  # the last cohort's effect
    s2 = (1.0**2 + 2.0**2) / 2  # mean squared successive difference of draw 0
    np.testing.assert_allclose(var, [[0.0, s2, 2 * s2], [0.0, 0.0, 0.0]])


def test_random_walk_extrapolation_walks_forward():
    from bayes_llm.prediction.periods import period_term, place_rows

    effects = np.array([[0.0, 1.0, 2.0]])
    rows = table(("h3", "x", "2026-10", 23.0))  # 19 months: 3 cohort lengths
    rows["release_month"] = pd.to_datetime(rows["release_month"])
    placed = place_rows(rows, COHORTS, "cohort")
    mean, var = period_term(effects, placed, COHORTS, "cohort", drift=np.array([0.5]),
                            sigma_step=np.array([0.2]))
    assert placed.steps[0] == 3
    np.testing.assert_allclose(mean, [[2.0 + 3 * 0.5]])
    np.testing.assert_allclose(var, [[3 * 0.04]])


def test_period_trend_is_measured_from_the_period_midpoint():
    """``period_trend``: a row inside a fitted cohort gets tau times its years from that
    cohort's midpoint; a row after the last cohort the trend continued from the last
    cohort's midpoint, on top of the anchor's effect and the gap's variance."""
    from bayes_llm.prediction.periods import row_period_terms

    effects = np.array([[-1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    tau = np.array([0.6, -1.2])
    rows = table(("first", "x", "2023-02", 23.0), ("last", "x", "2025-01", 23.0),
                 ("after", "x", "2025-06", 23.0))
    rows["release_month"] = pd.to_datetime(rows["release_month"])
    post = {"period_effect": effects, "period_trend": tau}
    terms = row_period_terms(post, {"period": COHORTS}, "cohort", rows)
    # midpoints: 2022-10..2023-09 half-way between 2023-03 and 2023-04; 2024-07..2025-03
    # at 2024-11
    years = np.array([-1.5, 2.0, 7.0]) / 12
    base = row_period_terms({"period_effect": effects}, {"period": COHORTS}, "cohort", rows)
    np.testing.assert_allclose(terms.mean - base.mean, tau[:, None] * years[None, :])
    np.testing.assert_allclose(terms.var, base.var)
    assert base.var[0, 2] > 0 and base.var[0, 1] == 0


def test_period_trend_needs_cohorts_or_quarters_without_a_walk():
    from bayes_llm.errors import SpecError
    from bayes_llm.model.spec import spec_from_dict

    for bad in ({"period": "month"}, {"period": "quarter", "period_effect": "random_walk"}):
        with pytest.raises(SpecError, match="period_trend = true needs period"):
            spec_from_dict({"name": "t", "period_trend": True, **bad}, source="t.toml")
    spec = spec_from_dict({"name": "t", "period_trend": True, "period_effect": "fixed"})
    assert spec.period_trend and "period_trend" in spec.to_dict()


@pytest.mark.parametrize("likelihood", ["binomial", "logit_normal", "student_t"])
def test_cdf_agrees_with_the_accuracy_draws(likelihood):
    fit = noisy_fit({"likelihood": likelihood})
    rows = table(("a", "Meta", "2024-01", 23.5), ("b", "NewCo", "2025-07", 24.5))
    pred = predict(fit, rows, seed=1)
    assert pred.latent.dims == ("sample", "row") and pred.accuracy.sizes["sample"] == 1000
    assert list(pred.accuracy.coords["model_id"].values) == ["a", "b"]
    for q in (0.2, 0.5, 0.8):
        values = np.quantile(pred.accuracy.values, q, axis=0)
        mean_cdf = pred.cdf(values).mean(axis=0)
        empirical = (pred.accuracy.values <= values).mean(axis=0)
        np.testing.assert_allclose(mean_cdf, empirical, atol=0.04)
    lower = np.array([0.3, 0.3])
    upper = np.array([0.6, 0.7])
    np.testing.assert_allclose(pred.pmf_bin(lower, upper),
                               pred.cdf(upper) - pred.cdf(lower))
    assert np.all(pred.cdf(np.array([0.05, 1.0]))[:, 0] == 0.0) or likelihood == "binomial"


def test_summary_columns_interval_and_status():
    fit = noisy_fit()
    rows = table(("a", "Meta", "2024-01", 23.5))
    rows["mmlu_pro_acc"] = [0.55]
    summary = predict(fit, rows).summary(prob=0.8, kind="eti", thresholds=(0.4, 0.6))
    row = summary.iloc[0]
    assert row["observed_accuracy"] == 0.55 and row["interval"] == "80% ETI"
    assert row["accuracy_lower"] < row["accuracy_median"] < row["accuracy_upper"]
    assert row["p_accuracy_above_0.4"] > row["p_accuracy_above_0.6"]
    assert row["fit_diagnostics"] == "not available"


def test_group_coding_refuses_an_unknown_group():
    fit = noisy_fit({"developer": "group"}, developers=("Meta", "Other, Large", "Google"))
    rows = table(("a", "Meta", "2024-01", 23.5), ("b", "Anthropic", "2024-01", 24.0))
    rows["developer_group"] = ["Meta", "Anthropic"]
    with pytest.raises(UnknownGroupError, match=r"row 2 \(model_id 'b'\).*'Anthropic'"):
        predict(fit, rows)


def test_new_developer_variance_by_coding():
    from bayes_llm.prediction.units import developer_terms

    post = {"developer_effect": np.array([[0.5, -0.5], [1.0, -1.0]]),
            "sigma_developer": np.array([1.0, 2.0])}
    coords = {"developer": ["a", "b"], "developer_group": ["g"]}
    rows = pd.DataFrame({"model_id": ["k", "n"], "developer": ["a", "new"],
                         "developer_group": ["g", "g"]})
    centred = developer_terms(post, coords, spec_from_dict({"name": "s"}), rows)
    np.testing.assert_allclose(centred.mean[:, 0], [0.5, 1.0])
    np.testing.assert_allclose(centred.var[:, 1], [1.5, 6.0])  # sigma^2 (1 + 1/2)
    non = developer_terms(post, coords, spec_from_dict(
        {"name": "s", "developer_parameterisation": "non_centred"}), rows)
    np.testing.assert_allclose(non.var[:, 1], [1.0, 4.0])
    partial = developer_terms(post, coords, spec_from_dict(
        {"name": "s", "developer_parameterisation": "partial"}), rows)
    np.testing.assert_allclose(partial.var[:, 1], [1.0, 4.0])  # iid, as non-centred
    fixed = developer_terms(post, coords, spec_from_dict(
        {"name": "s", "developer_effect": "fixed"}), rows)
    np.testing.assert_allclose(fixed.var[:, 1], [0.5 * 1.5, 2.0 * 1.5])  # s^2 = sum u^2 / 1
    nested_post = {**post, "group_effect": np.array([[0.3], [0.1]]),
                   "sigma_group": np.array([1.0, 1.0])}
    nested = developer_terms(nested_post, coords, spec_from_dict(
        {"name": "s", "developer": "nested"}), rows)
    np.testing.assert_allclose(nested.mean[:, 1], [0.3, 0.1])  # its group's effect
    np.testing.assert_allclose(nested.var[:, 1], [1.0, 4.0])  # plus a developer draw


def test_errors_in_variables_uses_the_conjugate_posterior_of_true_compute():
    from bayes_llm.prediction.compute import true_compute

    spec = spec_from_dict({"name": "s", "compute_error": True})
    n = 20_000
    post = {"alpha": np.zeros(n), "mu_x": np.zeros(n), "sigma_x": np.full(n, 1.0)}
    rows = pd.DataFrame({"log10_flop": [23.5 + 1.0], "compute_is_estimate": [True]})
    x = true_compute(post, rows, spec, np.random.default_rng(0))[:, 0]
    sd = spec.compute_error_sd_estimate
    precision = 1 / sd**2 + 1
    assert abs(x.mean() - (1.0 / sd**2) / precision) < 0.01
    assert abs(x.std() - precision**-0.5) < 0.01
    post_t = {**post, "nu_x": np.full(n, 3.0)}
    xt = true_compute(post_t, rows, spec, np.random.default_rng(0))[:, 0]
    assert abs(xt.mean() - 1.0) < 0.1  # the heavy-tailed population barely pulls it


def test_compute_needed_inverts_the_curve():
    from bayes_llm.prediction import compute_needed

    fit = noisy_fit()
    result = compute_needed(fit, "Qwen", 0.6, "2024q1")
    post = fit.dt["posterior"]
    flat = {k: post[k].values.reshape(-1, *post[k].shape[2:]) for k in post.data_vars}
    target = special.logit((0.6 - GUESS) / (1 - GUESS))
    expected = (target - flat["alpha"] - flat["period_effect"][:, 1]
                - flat["developer_effect"][:, 1]) / flat["beta"] + 23.5
    np.testing.assert_allclose(result.draws, expected)
    assert result.share_reachable == 1.0 and result.developer_known
    post["beta"] = -post["beta"]
    flat_curve = compute_needed(fit, "Qwen", 0.6, "2024q1")
    assert flat_curve.share_reachable == 0.0
    assert np.isnan(flat_curve.summary().iloc[0]["log10_flop_median"])


def test_load_model_table_for_prediction_allows_late_months_and_no_scores(tmp_path):
    from bayes_llm.data.user import load_model_table
    from bayes_llm.errors import DataValidationError

    path = write_csv(tmp_path / "new.csv", "model_id,developer,release_month,log10_flop\n"
                     "a,Qwen,2025-09,24.1\n")
    frame = load_model_table(path, for_prediction=True)
    assert frame["release_month"].iloc[0] == pd.Timestamp("2025-09-01")
    assert frame["mmlu_pro_acc"].isna().all()
    with pytest.raises(DataValidationError, match="mmlu_pro_acc"):
        load_model_table(path)
    scored = write_csv(tmp_path / "scored.csv", "model_id,developer,release_month,log10_flop,"
                       "mmlu_pro_acc\na,Qwen,2025-09,24.1,0.05\n")
    with pytest.raises(DataValidationError, match="guessing floor"):  # scores still checked
        load_model_table(scored, for_prediction=True)


# --- the command line, on a saved fake fit (no MCMC) ----------------------------------------


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory):
    from bayes_llm.model.fit import Fit

    fake = noisy_fit()
    metadata = {"spec_name": fake.spec.name, "spec_hash": fake.spec.hash(), "data_hash": "0",
                "source_file": "simulated", "backend": "fake", "seed": 0, "versions": {},
                "n_models": 3, "sample_report": "fake posterior (iid draws)",
                "timing_seconds": {}, "created": "now"}
    fit = Fit(spec=fake.spec, dt=fake.dt, models=fake.models, metadata=metadata)
    assert fit.diagnostics.ok, fit.diagnostics.failures
    return fit.save(tmp_path_factory.mktemp("fits") / "fake_fit")


def write_csv(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_predict_writes_table_draws_and_plot(saved_fit, tmp_path, capsys):
    from bayes_llm.cli import main

    data = write_csv(tmp_path / "new.csv", "model_id,developer,release_month,log10_flop,"
                     "mmlu_pro_acc\nlate,Qwen,2025-08,24.0,0.61\nnewco,NewCo,2024-02,23.0,\n")
    out = tmp_path / "pred"
    code = main(["predict", str(saved_fit), "--data", str(data), "--out", str(out),
                 "--threshold", "0.5", "--threshold", "0.7", "--hdi-prob", "0.9",
                 "--ci-kind", "eti"])
    assert code == 0, capsys.readouterr().err
    table_out = pd.read_csv(out / "predictions.csv")
    assert list(table_out["model_id"]) == ["late", "newco"]
    assert list(table_out["period_steps_ahead"]) == [1, 0]
    assert list(table_out["developer_known"]) == [True, False]
    assert {"p_accuracy_above_0.5", "p_accuracy_above_0.7"} <= set(table_out)
    assert (table_out["interval"] == "90% ETI").all() and table_out["fit_diagnostics_ok"].all()
    draws = xr.open_dataset(out / "predictive_draws.nc", engine="h5netcdf")
    assert draws["accuracy"].dims == ("sample", "row")
    draws.close()
    assert (out / "predictions.png").stat().st_size > 1000
    # writing again replaces the folder (it is ours)
    assert main(["predict", str(saved_fit), "--data", str(data), "--out", str(out)]) == 0


@pytest.mark.parametrize(("csv", "args", "message"), [
    ("model_id,developer,release_month,log10_flop\nok,Qwen,2024-01,23\nearly,Qwen,2022-03,23\n",
     [], r"row 3 \(model_id 'early'\): released 2022-03, before the fit's first period"),
    ("model_id,developer,release_month\nx,Qwen,2024-01\n", [], "missing compute"),
    ("model_id,developer,release_month,log10_flop\nx,Qwen,2024-01,23\n", ["--hdi-prob", "1.5"],
     "interval probability"),
    ("model_id,developer,release_month,log10_flop\nx,Qwen,2024-01,23\n", ["--threshold", "50"],
     "--threshold"),
], ids=["before-first-period", "no-compute", "bad-interval", "bad-threshold"])
def test_cli_predict_user_errors_exit_2_with_one_line(saved_fit, tmp_path, capsys, csv, args,
                                                      message):
    from bayes_llm.cli import main

    data = write_csv(tmp_path / "new.csv", csv)
    code = main(["predict", str(saved_fit), "--data", str(data), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ")
    assert re.search(message, err[0]), err[0]


def test_cli_predict_refuses_a_foreign_out_folder(saved_fit, tmp_path, capsys):
    from bayes_llm.cli import main

    data = write_csv(tmp_path / "new.csv", "model_id,developer,release_month,log10_flop\n"
                     "x,Qwen,2024-01,23\n")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["predict", str(saved_fit), "--data", str(data), "--out", str(foreign)]) == 2
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cli_compute_needed(saved_fit, capsys):
    from bayes_llm.cli import main

    code = main(["compute-needed", str(saved_fit), "--developer", "Qwen", "--accuracy", "0.6",
                 "--period", "2025q3"])
    out = capsys.readouterr().out
    assert code == 0 and "log10 FLOP median" in out and "1 period(s) after" in out
    assert main(["compute-needed", str(saved_fit), "--developer", "Qwen", "--accuracy", "0.05",
                 "--period", "2024q1"]) == 2
    assert "guessing floor" in capsys.readouterr().err


# --- one small real fit: predict() agrees with PyMC's own posterior predictive ---------------


@pytest.mark.mcmc
def test_predict_matches_the_pymc_graph_on_fitted_rows(paper_df):
    """For rows of the fit (known developer and period), predict() replicates new models as
    ``posterior_predictive(new_models=True)`` does through the PyMC graph: the same
    distribution, so medians and 90% bounds agree within Monte Carlo error."""
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.model.predictive import posterior_predictive

    rng = np.random.default_rng(5)
    df = paper_df.iloc[np.sort(rng.choice(len(paper_df), 100, replace=False))]
    fit = fit_model(load_spec("binomial_developers"), df, progressbar=False, draws=200,
                    tune=200, chains=2)
    ours = predict(fit, df, seed=2).accuracy.values
    tree = posterior_predictive(fit, df, seed=2)
    theirs = tree["posterior_predictive"]["accuracy"].stack(s=("chain", "draw")) \
        .transpose("s", "model").values
    for q in (0.05, 0.5, 0.95):
        a, b = np.quantile(ours, q, axis=0), np.quantile(theirs, q, axis=0)
        # per-model quantiles of 400 draws differ by MC error (measured: mean gap <= 0.002,
        # median |gap| <= 0.012); dropping the developer effects gives 0.05 to 0.09
        assert abs(np.mean(a - b)) < 0.01, (q, np.mean(a - b))
        assert np.median(np.abs(a - b)) < 0.025, (q, np.median(np.abs(a - b)))


def test_monotone_curve_with_equal_slopes_matches_the_linear_curve():
    from bayes_llm.prediction import compute_needed

    linear = noisy_fit()
    mono = noisy_fit({"compute_curve": "monotone"})
    post = mono.dt["posterior"].to_dataset()
    beta = linear.dt["posterior"]["beta"]
    post["compute_slope"] = beta.expand_dims(compute_segment=5, axis=-1).copy()
    post = post.drop_vars("beta")
    post["alpha"], post["period_effect"] = (linear.dt["posterior"]["alpha"],
                                            linear.dt["posterior"]["period_effect"])
    post["developer_effect"] = linear.dt["posterior"]["developer_effect"]
    mono.dt["posterior"] = xr.DataTree(post)
    rows = table(("a", "Meta", "2024-01", 21.0), ("b", "Qwen", "2025-06", 25.7))
    a, b = predict(linear, rows, seed=4), predict(mono, rows, seed=4)
    np.testing.assert_allclose(a.latent.values, b.latent.values, rtol=1e-9, atol=1e-9)
    for period in ("2024q1", "2025q4"):
        np.testing.assert_allclose(compute_needed(linear, "Qwen", 0.6, period).draws,
                                   compute_needed(mono, "Qwen", 0.6, period).draws, atol=1e-9)


@pytest.mark.parametrize("changes", [{"developer": "none"},
                                     {"developer": "nested", "developer_effect": "pooled"},
                                     {"developer_slopes": True},
                                     {"compute_period_interaction": True}])
def test_other_codings_predict_end_to_end(changes):
    fit = noisy_fit(changes)
    post = fit.dt["posterior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    if changes.get("developer") == "none":
        post = post.drop_vars(["developer_effect", "sigma_developer"])
    if changes.get("developer") == "nested":
        post["group_effect"] = xr.DataArray(np.zeros((*shape, 2)),
                                            dims=("chain", "draw", "developer_group"),
                                            coords={"developer_group": ["Meta", "Google"]})
        post["sigma_group"] = xr.DataArray(np.full(shape, 0.3), dims=("chain", "draw"))
    if changes.get("developer_slopes"):
        post["developer_slope"] = xr.DataArray(np.full((*shape, 3), 0.1),
                                               dims=("chain", "draw", "developer"))
        post["sigma_slope"] = xr.DataArray(np.full(shape, 0.2), dims=("chain", "draw"))
    if changes.get("compute_period_interaction"):
        post["compute_period_slope"] = xr.DataArray(
            np.tile([-0.1, 0.0, 0.1], (*shape, 1)), dims=("chain", "draw", "period"))
    fit.dt["posterior"] = xr.DataTree(post)
    rows = table(("known", "Meta", "2024-01", 24.5), ("new", "NewCo", "2025-06", 24.5))
    rows["developer_group"] = ["Meta", "Other, Large"]
    pred = predict(fit, rows, seed=0)
    assert np.isfinite(pred.accuracy.values).all()
    spread = pred.latent.values.std(axis=0)
    assert spread[1] > spread[0]  # the new developer in a later period is less certain


def fit_with_one_lineage(spec_changes, lineage, **scalars):
    """A noisy fit whose one known lineage has effect 2 (sigma_lineage 1), plus ``scalars``."""
    fit = noisy_fit({"lineage_effect": True, **spec_changes})
    post = fit.dt["posterior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    post["lineage_effect"] = xr.DataArray(np.full((*shape, 1), 2.0),
                                          dims=("chain", "draw", "lineage"),
                                          coords={"lineage": [lineage]})
    for name, value in {"sigma_lineage": 1.0, **scalars}.items():
        post[name] = xr.DataArray(np.full(shape, value), dims=("chain", "draw"))
    fit.dt["posterior"] = xr.DataTree(post)
    return fit


def test_lineage_protocol_terms_enter_the_prediction():
    fit = fit_with_one_lineage({"protocol_effect": True}, "qwen/qwen2.5-7b",
                               protocol_effect=-1.0)
    rows = table(("fine-tune", "Qwen", "2024-01", 23.5), ("other", "Qwen", "2024-01", 23.5))
    rows["hf_id"] = ["Qwen_Qwen2.5-7B-Instruct_bfloat16", pd.NA]
    lat = predict(fit, rows, seed=0).latent.values
    # known lineage: +2; off-harness row of a new lineage: kappa = -1 and variance 1 more
    assert abs(np.median(lat[:, 0]) - np.median(lat[:, 1]) - 3.0) < 0.15
    assert lat[:, 1].var() - lat[:, 0].var() == pytest.approx(1.0, abs=0.2)


def test_fingerprint_lineage_of_a_new_row_is_looked_up_by_parameters_and_tokens():
    fit = fit_with_one_lineage({"lineage_source": "fingerprint"}, "fp:7.62B/18000BT")
    rows = table(("fine-tune", "Qwen", "2024-01", 23.5), ("other", "Qwen", "2024-01", 23.5))
    rows["params_b"] = [7.616, 8.03]
    rows["tokens_base_b"] = [18000.0, 15000.0]
    lat = predict(fit, rows, seed=0).latent.values
    # the fine-tune gets its base family's +2; the other size is a new lineage (variance +1)
    assert abs(np.median(lat[:, 0]) - np.median(lat[:, 1]) - 2.0) < 0.15
    assert lat[:, 1].var() - lat[:, 0].var() == pytest.approx(1.0, abs=0.2)


def test_dataframe_rows_with_missing_values_are_one_line_errors():
    from bayes_llm.errors import BayesLLMError

    rows = table(("a", "Meta", "2024-01", 23.5), ("b", "Meta", None, 23.5))
    with pytest.raises(BayesLLMError, match=r"row 2 \(model_id 'b'\) has no release_month"):
        predict(noisy_fit(), rows)
    with pytest.raises(BayesLLMError, match="lacks column"):
        predict(noisy_fit(), rows.drop(columns="log10_flop"))


def test_new_developer_under_student_t_effects_is_a_student_t_draw():
    """Scale mixture: sigma * sqrt(nu / chi2_nu) * z has the StudentT(nu, 0, sigma) quantiles."""
    from scipy import stats

    from bayes_llm.prediction.units import developer_terms

    n = 40_000
    post = {"developer_effect": np.tile([0.5, -0.5], (n, 1)),
            "sigma_developer": np.full(n, 0.8), "nu_developer": np.full(n, 3.0)}
    coords = {"developer": ["a", "b"], "developer_group": ["g"]}
    rows = pd.DataFrame({"model_id": ["k", "n"], "developer": ["a", "new"],
                         "developer_group": ["g", "g"]})
    spec = spec_from_dict({"name": "s", "developer_distribution": "student_t"})
    with pytest.raises(ValueError, match="rng"):
        developer_terms(post, coords, spec, rows)
    rng = np.random.default_rng(1)
    terms = developer_terms(post, coords, spec, rows, rng=rng)
    assert (terms.var[:, 0] == 0).all() and (terms.mean[:, 0] == 0.5).all()
    draws = terms.mean[:, 1] + np.sqrt(terms.var[:, 1]) * rng.standard_normal(n)
    probs = [0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    expected = stats.t.ppf(probs, 3.0, scale=0.8)
    np.testing.assert_allclose(np.quantile(draws, probs), expected, atol=0.05)
    # a Normal of the same scale (what the Normal coding would give) misses the tails
    assert np.quantile(0.8 * rng.standard_normal(n), 0.99) < expected[-1] - 0.5


def test_student_t_developers_need_the_pooled_centred_developer_coding():
    from bayes_llm.errors import SpecError

    for bad in ({"developer": "group"}, {"developer_effect": "fixed"},
                {"developer_parameterisation": "non_centred"}, {"developer": "nested"}):
        with pytest.raises(SpecError, match="developer_distribution"):
            spec_from_dict({"name": "s", "developer_distribution": "student_t", **bad})


def test_new_developer_by_kind_gets_its_kinds_scale():
    """normal_by_kind: a new developer fine-tuning a base the fit has seen gets the
    fine-tuners' scale; one with a base of its own, the trainers'. No 1 + 1/J factor (iid)."""
    from bayes_llm.prediction.units import developer_terms

    n = 4
    post = {"developer_effect": np.tile([0.5, -0.5], (n, 1)),
            "sigma_developer_kind": np.tile([0.9, 0.2], (n, 1))}
    coords = {"developer": ["a", "b"], "developer_group": ["g"],
              "lineage": ["fp:7.62B/18000BT", "own:x"]}
    rows = pd.DataFrame({"model_id": ["k", "ft", "own", "ft2", "ft2b"],
                         "developer": ["a", "tuner", "lab", "tuner2", "tuner2"],
                         "developer_group": ["g"] * 5,
                         "month": ["2025-01", "2025-01", "2025-01", "2025-02", "2025-03"],
                         "params_b": [7.616, 7.616, 3.0, 3.0, 7.616],
                         "tokens_base_b": [18000.0, 18000.0, 900.0, 900.0, 18000.0]})
    spec = spec_from_dict({"name": "s", "developer_distribution": "normal_by_kind",
                           "lineage_effect": True, "lineage_source": "fingerprint"})
    terms = developer_terms(post, coords, spec, rows)
    assert (terms.var[:, 0] == 0).all() and (terms.mean[:, 0] == 0.5).all()
    # "tuner": seen base -> fine-tuner; "lab": a new base it released first -> trainer;
    # "tuner2": the lab's new base (released later) and a seen base -> fine-tuner
    np.testing.assert_allclose(terms.var[0, 1:], [0.04, 0.81, 0.04, 0.04])


def test_developers_by_kind_need_a_lineage_effect():
    from bayes_llm.errors import SpecError

    with pytest.raises(SpecError, match="normal_by_kind.*lineage_effect"):
        spec_from_dict({"name": "s", "developer_distribution": "normal_by_kind"})
    with pytest.raises(SpecError, match="developer_distribution"):
        spec_from_dict({"name": "s", "developer_distribution": "normal_by_kind",
                        "lineage_effect": True, "developer": "group"})


def test_collapse_probability_by_compute_follows_each_rows_reported_compute():
    """``collapse_by_compute``: a new model at 10^21.5 FLOP is collapsed with probability
    logistic(a + b (21.5 - c0)), one at 10^24.5 with logistic(a + b (24.5 - c0))."""
    from scipy import special

    fit = noisy_fit({"likelihood": "binomial", "floor_mixture": True,
                     "collapse_by_compute": True})
    post = fit.dt["posterior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    for name, value in {"collapse_intercept": -2.0, "collapse_compute_slope": -1.0,
                        "collapse_mean": 0.112, "collapse_concentration": 3000.0}.items():
        post[name] = xr.DataArray(np.full(shape, value), dims=("chain", "draw"))
    fit.dt["posterior"] = xr.DataTree(post)
    rows = table(("small", "Meta", "2024-10", 21.5), ("large", "Meta", "2024-10", 24.5))
    result = predict(fit, rows, seed=0)
    c0 = fit.spec.compute_centre
    expected = special.expit(-2.0 - np.array([21.5 - c0, 24.5 - c0]))
    np.testing.assert_allclose(result.noise["collapse_probability"][0], expected, rtol=1e-12)
    near_floor = (result.accuracy.values < 0.13).mean(axis=0)
    np.testing.assert_allclose(near_floor, expected, atol=0.04)  # 1,000 draws: SE <= 0.016


def test_collapse_propensity_of_a_known_lineage_and_a_fresh_one_for_a_new_lineage():
    """``collapse_by_lineage``: a row of a known lineage is collapsed with probability
    logistic(a + s z_l) (its lineage's propensity), a row of a new lineage with
    logistic(a + s z) for a fresh z ~ Normal(0, 1) per draw: on average E logistic(a + s z)."""
    from scipy import special

    fit = fit_with_one_lineage({"lineage_source": "fingerprint", "floor_mixture": True,
                                "collapse_by_compute": True, "collapse_by_lineage": True},
                               "fp:7.62B/18000BT", collapse_intercept=-2.0,
                               collapse_compute_slope=0.0, sigma_collapse_lineage=1.5,
                               collapse_mean=0.112, collapse_concentration=3000.0)
    post = fit.dt["posterior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    post["collapse_lineage_z"] = xr.DataArray(np.full((*shape, 1), 2.0),
                                              dims=("chain", "draw", "lineage"),
                                              coords={"lineage": ["fp:7.62B/18000BT"]})
    fit.dt["posterior"] = xr.DataTree(post)
    rows = table(("fine-tune", "Qwen", "2024-01", 23.5), ("other", "Qwen", "2024-01", 23.5))
    rows["params_b"] = [7.616, 8.03]
    rows["tokens_base_b"] = [18000.0, 15000.0]
    result = predict(fit, rows, seed=0)
    pi = result.noise["collapse_probability"]
    np.testing.assert_allclose(pi[:, 0], special.expit(-2.0 + 1.5 * 2.0), rtol=1e-12)
    assert pi[:, 1].std() > 0.05  # drawn afresh per draw
    z = np.random.default_rng(1).standard_normal(200_000)
    assert pi[:, 1].mean() == pytest.approx(special.expit(-2.0 + 1.5 * z).mean(), abs=0.02)
    near_floor = (result.accuracy.values < 0.13).mean(axis=0)
    assert near_floor[0] == pytest.approx(special.expit(1.0), abs=0.05)
