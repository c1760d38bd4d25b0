"""Simulate multi-benchmark data from the joint model, in NumPy (independent of PyMC).

Written from the equations of :mod:`bayes_llm.model.leaderboard6`, not from its graph, so a
recovery test on these data checks the PyMC model against its documentation. Returns a
model table and a long table in the formats of :mod:`bayes_llm.data` and the true values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_llm.data.benchmarks import benchmark


@dataclass
class Leaderboard6Truth:
    """True parameter values of a simulation (benchmark order of ``benchmarks``)."""

    benchmarks: tuple[str, ...]
    alpha: np.ndarray
    beta: np.ndarray
    ability_loading: np.ndarray
    sigma_developer: np.ndarray
    developer_corr: np.ndarray
    sigma_model: np.ndarray
    ifeval_precision: float
    developer_effect: np.ndarray


def simulate_leaderboard6(*, benchmarks: tuple[str, ...] = ("ifeval", "gpqa", "mmlu_pro"),
                          n_models: int = 150, n_developers: int = 15,
                          corr: np.ndarray | None = None, missing_share: float = 0.05,
                          compute_centre: float = 23.5, seed: int = 0
                          ) -> tuple[pd.DataFrame, pd.DataFrame, Leaderboard6Truth]:
    """Draw a model table, a long score table and the truth.

    Developer j has models i with i % n_developers == j; periods are three cohorts drawn at
    random; a share ``missing_share`` of (model, benchmark) scores is removed at random
    (each model keeps at least one).
    """
    rng = np.random.default_rng(seed)
    nb = len(benchmarks)
    if corr is None:
        corr = np.eye(nb)
    corr = np.asarray(corr, float)
    periods = np.array(["2022q4-2023q3", "2023q4-2024q2", "2024q3-2025q1"])
    truth = Leaderboard6Truth(
        benchmarks=tuple(benchmarks),
        alpha=rng.normal(-0.5, 0.5, nb),
        beta=rng.uniform(0.3, 0.8, nb),
        ability_loading=rng.uniform(0.3, 0.6, nb),
        sigma_developer=rng.uniform(0.4, 0.8, nb),
        developer_corr=corr,
        sigma_model=rng.uniform(0.2, 0.4, nb),
        ifeval_precision=30.0,
        developer_effect=np.zeros((n_developers, nb)),
    )
    chol = np.linalg.cholesky(np.diag(truth.sigma_developer) @ corr
                              @ np.diag(truth.sigma_developer))
    u = rng.normal(size=(n_developers, nb)) @ chol.T
    u -= u.mean(axis=0, keepdims=True)  # sum-to-zero over developers, as in the model
    truth.developer_effect = u
    dev = np.arange(n_models) % n_developers
    period = rng.integers(0, 3, n_models)
    gamma = rng.normal(0, 0.2, 3)
    gamma -= gamma.mean()
    delta = rng.normal(0, 0.1, (nb, 3))
    delta -= delta.mean(axis=1, keepdims=True)
    log10_flop = rng.normal(compute_centre, 1.0, n_models)
    x = log10_flop - compute_centre
    theta = rng.normal(size=n_models)
    theta -= theta.mean()  # sum-to-zero over models, as in the model
    mu = (truth.alpha[None, :] + truth.beta[None, :] * x[:, None]
          + truth.ability_loading[None, :] * theta[:, None] + gamma[period][:, None]
          + delta.T[period] + u[dev])
    frame = pd.DataFrame({
        "model_id": [f"m{i:04d}" for i in range(n_models)],
        "developer": [f"dev{j:02d}" for j in dev],
        "log10_flop": log10_flop,
        "cohort": periods[period],
    })
    rows = []
    for b_i, name in enumerate(benchmarks):
        spec = benchmark(name)
        if name == "ifeval":
            mean = 1 / (1 + np.exp(-mu[:, b_i]))
            ystar = rng.beta(mean * truth.ifeval_precision,
                             (1 - mean) * truth.ifeval_precision)
            score = np.clip((ystar * spec.n_items - 0.5) / (spec.n_items - 1), 0.0, 1.0)
        else:
            eta = rng.normal(mu[:, b_i], truth.sigma_model[b_i])
            p = spec.chance + (1 - spec.chance) / (1 + np.exp(-eta))
            score = rng.binomial(spec.n_items, p) / spec.n_items
        rows.append(pd.DataFrame({"model_id": frame["model_id"], "benchmark": name,
                                  "score": score, "n_items": spec.n_items,
                                  "chance": spec.chance}))
    long = pd.concat(rows, ignore_index=True)
    drop = rng.random(len(long)) < missing_share
    long.loc[drop, "score"] = np.nan
    # every model keeps at least one score
    kept = long.groupby("model_id")["score"].transform(lambda s: s.notna().any())
    long.loc[~kept & (long["benchmark"] == benchmarks[-1]), "score"] = 0.5
    return frame, long, truth
