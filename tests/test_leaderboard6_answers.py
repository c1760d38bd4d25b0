"""Answers of the joint benchmark model on fake posteriors with known values (no fits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure
from scipy.special import expit, logit

from bayes_llm.derived.leaderboard6_concentration import concentration_table, specific_deviation
from bayes_llm.derived.leaderboard6_shares import (
    benchmark_share_table,
    benchmark_variance_components,
)
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.leaderboard6 import prepare_leaderboard6_data
from bayes_llm.model.spec import load_spec
from bayes_llm.plots.leaderboard6 import (
    correlation_matrix_data,
    developer_benchmark_effects_data,
    plot_developer_benchmark_effects,
    plot_developer_correlation,
)
from bayes_llm.verify.leaderboard6_sim import simulate_leaderboard6

CH, DR = 2, 25


def _const(value, dims, coords_shape):
    shape = (CH, DR, *coords_shape)
    return (("chain", "draw", *dims), np.broadcast_to(np.asarray(value, float), shape).copy())


def _fake_fit():
    frame, long, truth = simulate_leaderboard6(n_models=40, n_developers=5, seed=3)
    data = prepare_leaderboard6_data(frame, load_spec("leaderboard6"), long,
                                     benchmarks=truth.benchmarks)
    nb, nm = len(data.benchmarks), data.n_models
    nd, npd = len(data.coords["developer"]), len(data.coords["period"])
    nc, no = len(data.coords["count_benchmark"]), data.k.size
    known = {"beta": np.array([0.3, 0.5, 0.7]), "ability_loading": np.array([0.4, 0.5, 0.6]),
             "sigma_developer": np.array([0.5, 0.6, 0.8]),
             "sigma_model": np.array([0.3, 0.4]), "sigma_period": 0.2,
             "sigma_period_benchmark": 0.1, "ifeval_precision": 30.0}
    post = xr.Dataset({
        "alpha": _const(0.0, ("benchmark",), (nb,)),
        "beta": _const(known["beta"], ("benchmark",), (nb,)),
        "ability_loading": _const(known["ability_loading"], ("benchmark",), (nb,)),
        "ability": _const(0.0, ("model",), (nm,)),
        "sigma_developer": _const(known["sigma_developer"], ("benchmark",), (nb,)),
        "developer_effect": _const(0.0, ("developer", "benchmark"), (nd, nb)),
        "period_effect": _const(0.0, ("period",), (npd,)),
        "period_benchmark_effect": _const(0.0, ("benchmark", "period"), (nb, npd)),
        "sigma_period": _const(known["sigma_period"], (), ()),
        "sigma_period_benchmark": _const(known["sigma_period_benchmark"], (), ()),
        "sigma_model": _const(known["sigma_model"], ("count_benchmark",), (nc,)),
        "eta": _const(0.0, ("count_obs",), (no,)),
        "ifeval_precision": _const(known["ifeval_precision"], (), ()),
    }, coords={"benchmark": list(data.benchmarks),
               "count_benchmark": data.coords["count_benchmark"],
               "developer": data.coords["developer"]})
    return post, data, known


def test_benchmark_shares_match_hand_computed_partition():
    post, data, known = _fake_fit()
    comps = benchmark_variance_components(post, data)
    assert list(data.benchmarks) == ["ifeval", "gpqa", "mmlu_pro"]
    var_x = float(np.var(data.x))
    # latent scores all 0: s = 1/2; binomial delta-method term p(1-p) / (n ((1-g)/4)^2)
    dist_counts = [(g + (1 - g) / 2) * (1 - g) / 2 / (n * ((1 - g) / 4) ** 2)
                   for g, n in zip(data.chance[1:], data.n_items[1:], strict=True)]
    # IFEval: Var(logit y), y ~ Beta(m phi, (1 - m) phi), m = logistic(beta x_i), by
    # simulation (independent of the trigamma formula), averaged over the IFEval models
    rng = np.random.default_rng(0)
    m = expit(known["beta"][0] * data.x[data.bounded_model])
    phi = known["ifeval_precision"]
    dist_if = float(np.mean([np.var(logit(rng.beta(mi * phi, (1 - mi) * phi, 50_000)))
                             for mi in m]))
    for i, b in enumerate(data.benchmarks):
        c = comps.sel(benchmark=b).isel(chain=0, draw=0)
        expected = {"fixed": known["beta"][i] ** 2 * var_x,
                    "developer": known["sigma_developer"][i] ** 2,
                    "period": 0.2**2 + 0.1**2,
                    "ability": known["ability_loading"][i] ** 2,
                    "model": 0.0 if b == "ifeval" else known["sigma_model"][i - 1] ** 2}
        for block, value in expected.items():
            assert float(c[f"variance_{block}"]) == pytest.approx(value), (b, block)
        dist = dist_if if b == "ifeval" else dist_counts[i - 1]
        assert float(c["variance_dist"]) == pytest.approx(dist, rel=0.01), b
        total = sum(expected.values()) + float(c["variance_dist"])
        assert float(c["company_share"]) == pytest.approx(expected["developer"] / total)
        assert float(c["compute_share"]) == pytest.approx(expected["fixed"] / total)
    table = benchmark_share_table(post, data)
    assert list(table["benchmark"]) == list(data.benchmarks)
    assert (table["company_share_lower"] <= table["company_share_median"]).all()


def _concentration_posterior():
    """Developer 'tuned' +3 SDs on benchmark c only; 'general' +1 SD on all; 'plain' 0."""
    rng = np.random.default_rng(1)
    bench = ["a", "b", "c", "d"]
    mean = np.array([[0, 0, 3, 0], [1, 1, 1, 1], [0, 0, 0, 0]], float)
    sd = np.array([0.5, 1.0, 2.0, 0.7])
    effect = mean * sd + rng.normal(0, 0.1, (CH, DR, 3, 4)) * sd
    return xr.Dataset({
        "developer_effect": (("chain", "draw", "developer", "benchmark"), effect),
        "sigma_developer": (("chain", "draw", "benchmark"), np.broadcast_to(sd, (CH, DR, 4))),
    }, coords={"developer": ["tuned", "general", "plain"], "benchmark": bench})


def test_one_benchmark_advantage_is_flagged_and_others_are_not():
    post = _concentration_posterior()
    d = specific_deviation(post)
    assert d.sum("benchmark").values == pytest.approx(0.0, abs=1e-12)
    table = concentration_table(post, n_models=pd.Series({"tuned": 12, "general": 30}))
    row = table.set_index("developer")
    assert table["developer"].iloc[0] == "tuned"
    assert row.loc["tuned", "p_concentrated"] == 1.0
    assert row.loc["tuned", "top_benchmark"] == "c"
    assert row.loc["tuned", "median"] == pytest.approx(3 * 3 / 4, abs=0.1)
    assert row.loc["general", "p_concentrated"] == 0.0
    assert row.loc["plain", "p_concentrated"] == 0.0
    assert row.loc["plain", "n_models"] == 0 and row.loc["general", "n_models"] == 30
    # a higher threshold than the advantage clears the flag
    assert concentration_table(post, threshold=3.0).set_index("developer").loc[
        "tuned", "p_concentrated"] == 0.0


def _corr_posterior():
    rng = np.random.default_rng(2)
    bench = ["a", "b", "c"]
    corr = np.broadcast_to(np.eye(3), (CH, DR, 3, 3)).copy()
    ab = rng.uniform(0.4, 0.6, (CH, DR))  # median 0.5, inside [0.4, 0.6]
    corr[..., 0, 1] = corr[..., 1, 0] = ab
    corr[..., 0, 2] = corr[..., 2, 0] = -0.3
    corr[..., 1, 2] = corr[..., 2, 1] = 0.0
    effect = rng.normal(0, 0.5, (CH, DR, 4, 3))
    effect[:, :, 0, :] += 2.0  # 'big' is clearly above zero everywhere
    return xr.Dataset({
        "developer_corr": (("chain", "draw", "benchmark", "benchmark_b"), corr),
        "developer_effect": (("chain", "draw", "developer", "benchmark"), effect),
    }, coords={"benchmark": bench, "benchmark_b": bench,
               "developer": ["big", "d1", "d2", "small"]}), ab


def test_correlation_matrix_has_known_entries_and_plots():
    post, ab = _corr_posterior()
    cm = correlation_matrix_data(post)
    assert float(cm["median"].sel(benchmark="a", benchmark_b="b")) == \
        pytest.approx(float(np.median(ab)))
    lo = float(cm["lower"].sel(benchmark="a", benchmark_b="b"))
    hi = float(cm["upper"].sel(benchmark="a", benchmark_b="b"))
    assert 0.4 <= lo < 0.5 < hi <= 0.6
    assert float(cm["median"].sel(benchmark="c", benchmark_b="a")) == pytest.approx(-0.3)
    fig = plot_developer_correlation(post)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 6 and "-0.30\n[-0.30, -0.30]" in texts


def test_heat_map_keeps_developers_with_enough_models():
    post, _ = _corr_posterior()
    counts = pd.Series({"big": 20, "d1": 10, "d2": 3, "small": 1})
    frame = developer_benchmark_effects_data(post, counts, min_models=10)
    assert sorted(frame["developer"].unique()) == ["big", "d1"]
    assert len(frame) == 2 * 3
    assert (frame.loc[frame["developer"] == "big", "lower"] > 0).all()
    fig = plot_developer_benchmark_effects(post, counts, min_models=10)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "big (20)" and len(labels) == 2
    with pytest.raises(BayesLLMError, match="no developer has 50"):
        developer_benchmark_effects_data(post, counts, min_models=50)


PARAMETERS = ["alpha", "beta", "ability_loading", "ability", "developer_effect",
              "sigma_developer", "developer_corr", "period_effect", "period_benchmark_effect",
              "sigma_period", "sigma_period_benchmark", "sigma_model", "eta",
              "ifeval_precision"]


def test_answers_run_on_the_models_own_variables():
    """Prior draws of the PyMC model stand in for a posterior: names, dims, bounds."""
    import pymc as pm

    from bayes_llm.derived.leaderboard6_concentration import models_per_developer
    from bayes_llm.model.leaderboard6 import build_leaderboard6_model

    frame, long, truth = simulate_leaderboard6(n_models=30, n_developers=4, seed=5)
    data = prepare_leaderboard6_data(frame, load_spec("leaderboard6"), long,
                                     benchmarks=truth.benchmarks)
    with build_leaderboard6_model(data, load_spec("leaderboard6")):
        # parameters only, Python linker: no C compilation (seconds, not minutes)
        prior = pm.sample_prior_predictive(
            draws=40, random_seed=1, var_names=PARAMETERS,
            compile_kwargs={"mode": "FAST_COMPILE"})
    post = prior["prior"].to_dataset()
    comps = benchmark_variance_components(post, data)
    assert comps["company_share"].dims == ("chain", "draw", "benchmark")
    shares = comps["company_share"] + comps["compute_share"]
    assert ((comps["company_share"] > 0) & (shares < 1)).all()
    assert (comps["variance_dist"] > 0).all()
    counts = models_per_developer(data)
    assert counts.sum() == 30 and counts.index.tolist() == data.coords["developer"]
    table = concentration_table(post, n_models=counts)
    assert len(table) == 4 and table["p_concentrated"].between(0, 1).all()
    assert isinstance(plot_developer_benchmark_effects(post, counts, min_models=1), Figure)
    assert isinstance(plot_developer_correlation(post), Figure)


def test_latent_mean_follows_the_model_equation():
    from bayes_llm.derived.leaderboard6_shares import latent_mean

    post, data, _ = _fake_fit()
    rng = np.random.default_rng(4)
    for name in ("alpha", "ability", "developer_effect", "period_effect",
                 "period_benchmark_effect", "ability_loading"):
        post[name] = post[name] + rng.normal(size=post[name].shape)
    mean = {k: post[k].mean(("chain", "draw")).values for k in post.data_vars}
    lam_theta = (post["ability_loading"] * post["ability"]).mean(("chain", "draw"))
    i, b = 7, 2  # one model, one benchmark, by the equation of the model docstring
    j, t = data.developer_idx[i], data.period_idx[i]
    expected = (mean["alpha"][b] + mean["beta"][b] * data.x[i]
                + float(lam_theta.isel(model=i, benchmark=b)) + mean["period_effect"][t]
                + mean["period_benchmark_effect"][b, t] + mean["developer_effect"][j, b])
    assert latent_mean(post, data)[i, b] == pytest.approx(expected)
