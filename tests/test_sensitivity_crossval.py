"""Cross-validation: integrated binomial likelihood, held-out predictive, K-fold, comparison."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from bayes_llm.errors import BayesLLMError
from bayes_llm.sensitivity import load_study, run_study
from bayes_llm.sensitivity.crossval import (
    binomial_marginal_loglik,
    compare_elpd,
    developer_folds,
    heldout_loglik,
    kfold_result,
    logit_score_jacobian,
    pointwise_loglik,
    student_t_marginal_loglik,
)


def test_binomial_marginal_matches_adaptive_quadrature():
    k = np.array([5000.0, 2100.0, 11000.0])
    n = np.full(3, 12032.0)
    mean = np.array([[-0.5, -2.0, 2.0], [0.3, -2.4, 2.5]])
    sd = np.array([[0.4, 0.3, 0.5], [0.2, 0.6, 0.3]])
    got = binomial_marginal_loglik(k, n, 0.1, mean, sd)
    for s in range(2):
        for i in range(3):
            def f(e, s=s, i=i):
                p = 0.1 + 0.9 * special.expit(e)
                return stats.binom.pmf(k[i], n[i], p) * stats.norm.pdf(e, mean[s, i], sd[s, i])
            centre = special.logit((k[i] / n[i] - 0.1) / 0.9)
            value, _ = integrate.quad(f, centre - 1, centre + 1, points=[centre], limit=200)
            assert got[s, i] == pytest.approx(math.log(value), abs=1e-6)


def test_jacobian_puts_a_count_on_the_logit_score_scale():
    # P(k) * n is the density of the accuracy; times d acc / dy it is the density of y.
    k, n, g = np.array([3000.0]), np.array([12032.0]), 0.1
    q = (k / n - g) / (1 - g)
    y = special.logit(q)
    h = 1e-6
    dacc_dy = (g + (1 - g) * special.expit(y + h) - g - (1 - g) * special.expit(y - h)) / (2 * h)
    expected = np.log(n) + np.log(dacc_dy)
    assert logit_score_jacobian(k, n, g) == pytest.approx(expected, rel=1e-6)
    assert np.isnan(logit_score_jacobian(np.array([1000.0]), n, g))  # below the guessing floor


def test_student_t_marginal_reduces_to_the_density_without_extra_variance():
    y = np.array([0.2, -1.0])
    mean = np.array([[0.0, -0.5]])
    sigma, nu = np.full((1, 2), 0.7), np.full((1, 2), 5.0)
    exact = stats.t.logpdf(y, df=5.0, loc=mean[0], scale=0.7)
    assert student_t_marginal_loglik(y, mean, np.zeros((1, 2)), sigma, nu)[0] == \
        pytest.approx(exact, abs=1e-10)
    # With latent variance: compare with numerical integration.
    var = np.full((1, 2), 0.3**2)
    got = student_t_marginal_loglik(y, mean, var, sigma, nu)[0]
    for i in range(2):
        value, _ = integrate.quad(lambda e, i=i: stats.t.pdf(y[i], 5.0, e, 0.7) *
                                  stats.norm.pdf(e, mean[0, i], 0.3), -8, 8)
        assert got[i] == pytest.approx(math.log(value), abs=1e-6)


def test_developer_folds_are_balanced_deterministic_and_complete(paper_df):
    folds = developer_folds(paper_df, 5, seed=1)
    assert folds == developer_folds(paper_df, 5, seed=1)
    assert set(folds) == set(paper_df["developer"])
    sizes = paper_df["developer"].map(folds).value_counts()
    assert sorted(sizes.index) == [0, 1, 2, 3, 4]
    assert sizes.max() - sizes.min() <= paper_df["developer"].value_counts().iloc[0]
    assert developer_folds(paper_df, 5, seed=2) != folds
    with pytest.raises(BayesLLMError, match="at least 5 developers"):
        developer_folds(paper_df.head(3), 5, seed=1)


def test_compare_elpd_orders_variants_and_reports_paired_se():
    rng = np.random.default_rng(0)
    ids = [f"m{i}" for i in range(50)]
    a = pd.DataFrame({"model_id": ids, "elpd_i": rng.normal(-1.0, 0.3, 50)})
    b = a.assign(elpd_i=a["elpd_i"] - 0.2 + rng.normal(0, 0.05, 50))
    results = {"a": kfold_result(a, folds=5, n_samples=100),
               "b": kfold_result(b, folds=5, n_samples=100)}
    table = compare_elpd(results, method="kfold")
    assert table["variant"].tolist() == ["a", "b"]
    assert table["elpd_diff"].iloc[1] == pytest.approx(b["elpd_i"].sum() - a["elpd_i"].sum())
    # paired SE: much smaller than either elpd's SE
    assert 0 < table["dse"].iloc[1] < 0.2 * table["se"].iloc[1]
    assert table["weight"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- with fits
@pytest.fixture(scope="module")
def kfold_run(tmp_path_factory, paper_df):
    folder = tmp_path_factory.mktemp("cv")
    path = folder / "cv.toml"
    path.write_text(textwrap.dedent("""
        name = "cv"
        base = "logit_normal_groups"
        [sampler]
        draws = 100
        tune = 100
        chains = 1
        [crossval]
        method = "kfold"
        folds = 2
        [axes.base.developers]
        developer = "developer"
        sample = "majors"
        [axes.likelihood.binomial]
        developer = "developer"
        sample = "majors"
        likelihood = "binomial"
    """), encoding="utf-8")
    messages: list[str] = []
    result = run_study(load_study(path), paper_df, folder / "out", workers=1, backend="pymc",
                       only=["base-developers", "likelihood-binomial"],
                       progress=messages.append)
    return result, messages


@pytest.mark.mcmc
def test_kfold_by_developer_compares_likelihoods_on_one_scale(kfold_run, paper_df):
    result, messages = kfold_run
    cv = result.crossval
    assert sum("fold" in m and "done" in m for m in messages) == 4
    compare = cv.compare
    assert set(compare["variant"]) == {"base-developers", "likelihood-binomial"}
    assert compare["method"].unique().tolist() == ["2-fold by developer"]
    assert np.isfinite(compare["elpd"]).all() and compare["weight"].sum() == pytest.approx(1)
    # every major's model is held out exactly once per variant
    majors = set(paper_df.loc[paper_df["is_major"], "model_id"])
    for _, part in cv.kfold.groupby("variant"):
        assert sorted(part["model_id"]) == sorted(majors)
        assert part.groupby("developer")["fold"].nunique().max() == 1
    # logit-score scale: per-model elpd of the two likelihoods are of the same magnitude
    per_model = compare.set_index("variant")["elpd"] / len(majors)
    assert per_model.between(-4, 1).all()
    assert (result.out / "compare.csv").is_file() and (result.out / "loo.csv").is_file()
    loo = cv.loo.set_index("variant")
    assert {"elpd", "se", "n_high_k", "max_k", "reliable"} <= set(loo.columns)


@pytest.mark.mcmc
def test_kfold_results_are_cached(kfold_run, paper_df):
    from bayes_llm.sensitivity.crossval import run_crossval

    result, _ = kfold_run
    messages: list[str] = []
    again = run_crossval(result, df=paper_df, method="kfold", folds=2, backend="pymc",
                         progress=messages.append)
    assert not any("refits to run" in m for m in messages)
    assert again.compare["elpd"].to_numpy() == pytest.approx(
        result.crossval.compare["elpd"].to_numpy())


@pytest.mark.mcmc
def test_heldout_predictive_agrees_with_the_in_sample_likelihoods(kfold_run):
    result, _ = kfold_run
    fit = result.load_fit("base-developers")
    test = fit.models.copy()
    assert test["mmlu_pro_logit"].to_numpy() == pytest.approx(
        fit.dt["observed_data"]["y"].to_numpy())
    # Known developers: exactly the log-likelihood of the fit.
    ll = fit.dt["log_likelihood"].to_dataset()["y"].stack(s=("chain", "draw")).transpose("s", "model")
    assert heldout_loglik(fit, test) == pytest.approx(ll.to_numpy(), abs=1e-8)
    # An unseen developer: Normal(mu without u, sqrt(sigma^2 + sigma_developer^2)).
    post = fit.dt["posterior"].to_dataset().stack(s=("chain", "draw"))
    new = test.head(1).assign(developer="brand-new-lab")
    x = float(new["log10_flop"].iloc[0]) - fit.spec.compute_centre
    period = str(new["cohort"].iloc[0])
    mu = (post["alpha"] + post["beta"] * x + post["period_effect"].sel(period=period)).to_numpy()
    sd = np.sqrt(post["sigma"] ** 2 + post["sigma_developer"] ** 2).to_numpy()
    expected = stats.norm.logpdf(new["mmlu_pro_logit"].iloc[0], mu, sd)
    assert heldout_loglik(fit, new)[:, 0] == pytest.approx(expected, abs=1e-8)
    # Binomial: the held-out path (manual linear predictor) equals the LOO path
    # (linear_components) for models whose developer is known.
    bfit = result.load_fit("likelihood-binomial")
    via_loo = pointwise_loglik(bfit).stack(s=("chain", "draw")).transpose("s", "model")
    assert heldout_loglik(bfit, bfit.models) == pytest.approx(via_loo.to_numpy(), abs=1e-6)
