"""Predictions for new models (issue 10, item 1): calibration on simulated worlds, errors, CLI.

Most tests need no MCMC: a *fake posterior* is built in which chain ``s`` is a simulated
world whose draws all equal its true parameters, written in the fit's coding (``alpha``
absorbs the mean of the sum-to-zero developer and period effects). Each world's new model
is drawn from the documented model; the 90% interval of its predictive distribution (the
chain's draws) covers it in 90% of worlds if and only if the prediction rules are right.
"""

from __future__ import annotations

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
