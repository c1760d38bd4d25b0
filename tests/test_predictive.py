"""Prior and posterior predictive checks on the accuracy scale (bayes_llm.model.predictive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm import constants as C
from bayes_llm.errors import BayesLLMError
from bayes_llm.model import load_spec
from bayes_llm.model.predictive import (
    STATISTICS,
    posterior_predictive,
    predictive_bands,
    predictive_summary,
    prior_predictive,
    prior_predictive_summary,
)


@pytest.fixture(scope="module")
def binomial_prior(paper_df):
    return prior_predictive(load_spec("binomial_developers"), paper_df, 100, 1)


def test_prior_predictive_binomial_is_on_the_accuracy_scale(binomial_prior, paper_df):
    pred = binomial_prior
    assert {"prior", "prior_predictive", "observed_data", "constant_data"} <= set(pred.children)
    acc = pred["prior_predictive"]["accuracy"]
    assert acc.sizes == {"chain": 1, "draw": 100, "model": len(paper_df)}
    # binomial draws: accuracy is correct / 12,032 and never below zero or above one
    correct = pred["prior_predictive"]["correct"]
    np.testing.assert_allclose(acc, correct / C.MMLU_PRO_N_QUESTIONS)
    assert float(acc.min()) >= 0.0 and float(acc.max()) <= 1.0
    # the observed accuracy is the data's, to the rounding of k = round(acc * n)
    obs = pred["observed_data"]["accuracy"].to_numpy()
    np.testing.assert_allclose(obs, paper_df["mmlu_pro_acc"].to_numpy(), atol=1 / 12_032)
    np.testing.assert_allclose(pred["constant_data"]["log10_flop"], paper_df["log10_flop"])


def test_predictive_summary_statistics_match_the_data(binomial_prior, paper_df):
    table = predictive_summary(binomial_prior)
    assert list(table["statistic"]) == list(STATISTICS)
    row = table.set_index("statistic")
    acc = paper_df["mmlu_pro_acc"].to_numpy()
    assert row.loc["mean", "observed"] == pytest.approx(acc.mean(), abs=1e-4)
    assert row.loc["p95", "observed"] == pytest.approx(np.percentile(acc, 95), abs=1e-4)
    x = paper_df["log10_flop"].to_numpy()
    slope = np.polyfit(x, acc, 1)[0]
    assert row.loc["slope", "observed"] == pytest.approx(slope, abs=1e-4)
    assert (table["hdi_lower"] <= table["median"]).all()
    assert (table["median"] <= table["hdi_upper"]).all()
    assert table[["p_greater", "p_less"]].stack().between(0, 1).all()
    # the priors are weakly informative: the observed mean lies inside the prior's range
    assert row.loc["mean", "hdi_lower"] < row.loc["mean", "observed"] < row.loc["mean", "hdi_upper"]


def test_prior_predictive_is_reproducible_and_logit_normal_works(paper_df):
    spec = load_spec("paper_mirror")
    a = prior_predictive_summary(spec, paper_df, 60, 7)
    b = prior_predictive_summary(spec, paper_df, 60, 7)
    pd.testing.assert_frame_equal(a, b)
    pred = prior_predictive(spec, paper_df, 30, 3)
    acc = pred["prior_predictive"]["accuracy"]
    y = pred["prior_predictive"]["y"]
    # logit-normal: accuracy = floor + (1 - floor) * logistic(y), always above the floor
    np.testing.assert_allclose(acc, 0.1 + 0.9 / (1 + np.exp(-y)))
    assert float(acc.min()) >= 0.1


def test_prior_predictive_rejects_zero_draws(paper_df):
    with pytest.raises(BayesLLMError, match="positive"):
        prior_predictive(load_spec("paper_mirror"), paper_df, 0)


def test_posterior_predictive_new_models_vs_noise_only(binomial_fit, paper_df):
    new = posterior_predictive(binomial_fit, paper_df, 5, draws=100)
    noise = posterior_predictive(binomial_fit, paper_df, 5, new_models=False, draws=100)
    assert new.attrs["new_models"] is True and noise.attrs["new_models"] is False
    assert new["posterior_predictive"]["accuracy"].sizes["model"] == len(paper_df)
    n_draws = new["posterior_predictive"].sizes["chain"] * new["posterior_predictive"].sizes["draw"]
    assert 90 <= n_draws <= 110
    obs = paper_df["mmlu_pro_acc"].to_numpy()
    err_new = np.abs(new["posterior_predictive"]["accuracy"].mean(("chain", "draw")) - obs)
    err_noise = np.abs(noise["posterior_predictive"]["accuracy"].mean(("chain", "draw")) - obs)
    # noise only: replicated scores sit on the fitted models; new models scatter widely
    assert float(err_noise.median()) < 0.01
    assert float(err_new.median()) > 3 * float(err_noise.median())
    spread_new = float(new["posterior_predictive"]["accuracy"].std(("chain", "draw")).mean())
    spread_noise = float(noise["posterior_predictive"]["accuracy"].std(("chain", "draw")).mean())
    assert spread_new > 5 * spread_noise
    bands = predictive_bands(new, n_bins=8)
    assert bands["n_models"].sum() == len(paper_df)
    assert (bands["hdi_lower"] <= bands["median"]).all()
    assert (bands["median"] <= bands["hdi_upper"]).all()
    # the predictive median follows the data up the compute axis
    assert bands["median"].iloc[-1] > bands["median"].iloc[0] + 0.1


def test_posterior_predictive_refuses_other_data(paper_mirror_fit, paper_df):
    changed = paper_df.copy()
    changed.loc[0, "mmlu_pro_acc"] = 0.5
    with pytest.raises(BayesLLMError, match="data hash"):
        posterior_predictive(paper_mirror_fit, changed, 1, draws=20)
    with pytest.raises(BayesLLMError, match="other models"):
        posterior_predictive(paper_mirror_fit, paper_df.iloc[:-1], 1, draws=20,
                             check_data=False)
