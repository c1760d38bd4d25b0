"""Out-of-sample validation: scoring rules against closed forms, calibration checks, splits,
the paper-OLS reference, the refusal of incomparable elpd, and the command end to end with a
stand-in fitter (no MCMC; one small real run is marked ``mcmc``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from bayes_llm.errors import IncomparableScalesError, ResultsError, SpecError
from bayes_llm.validate.compare import check_one_scale, compare
from bayes_llm.validate.reference import OLS_METHOD, predict_ols
from bayes_llm.validate.scores import (
    accuracy_bins,
    coverage_table,
    crps_from_draws,
    paired_difference,
    pit_ks_distance,
    score_rows,
    summarise_scores,
)
from bayes_llm.validate.splits import make_folds, parse_split
from bayes_llm.validate.stacking import cross_validated_stacking, stacking_weights

GUESS, N_ITEMS = 0.1, 12_032


# --------------------------------------------------------------------------- stand-ins
@dataclass
class NormalLogitPrediction:
    """Logit-normal predictive per draw: z ~ Normal(mu_s, sd_s) above the floor."""

    mu: np.ndarray  # (S, M)
    sd: np.ndarray  # (S,)
    rng_seed: int = 0
    accuracy: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.rng_seed)
        z = self.mu + self.sd[:, None] * rng.standard_normal(self.mu.shape)
        self.accuracy = GUESS + (1 - GUESS) * special.expit(z)

    def cdf(self, values):
        v = np.asarray(values, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = special.logit(np.clip((v - GUESS) / (1 - GUESS), 0, 1))
        return stats.norm.cdf((y[None, :] - self.mu) / self.sd[:, None])

    def pmf_bin(self, lower, upper):
        return self.cdf(upper) - self.cdf(lower)


@dataclass
class BinomialPrediction:
    """Binomial predictive per draw: k ~ Binomial(n, p_s), accuracy k / n."""

    p: np.ndarray  # (S, M)
    n: int
    rng_seed: int = 0
    accuracy: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.rng_seed)
        self.accuracy = rng.binomial(self.n, self.p) / self.n

    def cdf(self, values):
        k = np.floor(np.asarray(values, float) * self.n + 1e-9)
        return stats.binom.cdf(k[None, :], self.n, self.p)

    def pmf_bin(self, lower, upper):
        return self.cdf(upper) - self.cdf(lower)


# --------------------------------------------------------------------------- scoring rules
def test_crps_matches_normal_closed_form():
    """CRPS from draws vs Gneiting & Raftery's closed form for a Normal (their eq. 5)."""
    rng = np.random.default_rng(1)
    sigma, y = 2.0, np.array([0.0, 1.0, -3.0, 5.0])
    draws = sigma * rng.standard_normal((40_000, 1)) * np.ones((1, len(y)))
    z = y / sigma
    exact = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))
    got = crps_from_draws(draws, y)
    np.testing.assert_allclose(got, exact, rtol=0.02, atol=0.01)


def test_crps_sorting_form_equals_pairwise_definition():
    rng = np.random.default_rng(2)
    x = rng.gamma(2.0, size=(50, 3))
    y = np.array([0.5, 2.0, 7.0])
    brute = (np.mean(np.abs(x - y), axis=0)
             - 0.5 * np.mean(np.abs(x[:, None, :] - x[None, :, :]), axis=(0, 1)))
    np.testing.assert_allclose(crps_from_draws(x, y), brute, rtol=1e-12)


def test_log_score_is_binomial_pmf_and_continuous_bin_mass():
    p = np.array([0.3, 0.55, 0.8])
    y = np.array([0.31, 0.5, 0.79])
    n = 200
    pred = BinomialPrediction(p=np.tile(p, (500, 1)), n=n)
    rows = score_rows(pred, y, np.full(3, n), discrete=True)
    k = np.rint(y * n)
    np.testing.assert_allclose(rows["log_score"], stats.binom.logpmf(k, n, p), rtol=1e-10)
    # continuous: bin mass ~ density on the accuracy scale x bin width 1/n
    mu = np.zeros((300, 3)) + np.array([-0.5, 0.0, 0.7])
    cont = NormalLogitPrediction(mu=mu, sd=np.full(300, 0.8))
    rows = score_rows(cont, y, np.full(3, N_ITEMS), discrete=False)
    q = (y - GUESS) / (1 - GUESS)
    dens = stats.norm.pdf(special.logit(q), mu[0], 0.8) / ((1 - GUESS) * q * (1 - q))
    np.testing.assert_allclose(rows["log_score"], np.log(dens / N_ITEMS), atol=1e-4)
    k, lo, hi = accuracy_bins(np.array([0.5]), np.array([10]))
    assert (k[0], lo[0], hi[0]) == (5, 0.45, 0.55)


def _simulated(scale_truth: float, scale_model: float, *, discrete: bool, m: int = 3000,
               seed: int = 3):
    """Observations from truth; predictions from a model whose spread may be wrong."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(-0.5, 1.0, size=m)
    s = 200
    if discrete:
        n = 40  # few items: the discreteness matters, the randomised PIT must handle it
        z_true = centre + scale_truth * rng.standard_normal(m)
        y = rng.binomial(n, GUESS + (1 - GUESS) * special.expit(z_true)) / n
        z_draws = centre[None, :] + scale_model * rng.standard_normal((s, m))
        pred = BinomialPrediction(p=GUESS + (1 - GUESS) * special.expit(z_draws), n=n)
        return pred, y, np.full(m, n)
    y_logit = centre + scale_truth * rng.standard_normal(m)
    y = GUESS + (1 - GUESS) * special.expit(y_logit)
    pred = NormalLogitPrediction(mu=np.tile(centre, (s, 1)), sd=np.full(s, scale_model))
    return pred, y, np.full(m, N_ITEMS)


@pytest.mark.parametrize("discrete", [False, True])
def test_pit_uniform_when_correct_not_when_misscaled(discrete):
    pred, y, n = _simulated(1.0, 1.0, discrete=discrete)
    good = score_rows(pred, y, n, discrete=discrete)
    ks_good = pit_ks_distance(good["pit"].to_numpy())
    # KS critical value at 1% for m = 3000 is ~1.63/sqrt(m) = 0.030
    assert ks_good < 0.03
    bad_pred, y_bad, n_bad = _simulated(1.0, 0.4, discrete=discrete)
    bad = score_rows(bad_pred, y_bad, n_bad, discrete=discrete)
    assert pit_ks_distance(bad["pit"].to_numpy()) > 0.1
    # too narrow: the misses pile up at both ends (a U-shaped histogram)
    pit = bad["pit"].to_numpy()
    assert np.mean(pit < 0.1) > 0.15 and np.mean(pit > 0.9) > 0.15
    # correct model scores better than the mis-scaled one (proper scores)
    assert good["log_score"].mean() > bad["log_score"].mean()
    assert good["crps_pp"].mean() < bad["crps_pp"].mean()


def test_plain_pit_of_a_discrete_predictive_is_not_uniform():
    """Why the randomised PIT: F(y) of a coarse binomial piles up (Czado et al. 2009)."""
    pred, y, n = _simulated(1.0, 1.0, discrete=True)
    plain = np.mean(pred.cdf(y), axis=0)
    assert pit_ks_distance(plain) > 0.03


def test_coverage_nominal_under_correct_model():
    pred, y, n = _simulated(1.0, 1.0, discrete=False, m=4000)
    rows = score_rows(pred, y, n, discrete=False)
    rows["method"], rows["model_id"] = "m", [f"r{i}" for i in range(len(rows))]
    cov = coverage_table(rows).set_index("level")
    for level in (0.5, 0.8, 0.9, 0.94):
        # binomial SE at m = 4000 is <= 0.008; 4 SE
        assert abs(cov.loc[level, "coverage"] - level) < 0.032, level
    bad_pred, yb, nb = _simulated(1.0, 0.4, discrete=False, m=4000)
    bad = score_rows(bad_pred, yb, nb, discrete=False)
    assert bad["covered_90"].mean() < 0.6


def test_paired_difference_and_summary():
    d = paired_difference(np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0]))
    assert d.total == pytest.approx(5.0)
    assert d.mean_se == pytest.approx(np.std([1, 1, 3], ddof=1) / math.sqrt(3))
    assert d.total_se == pytest.approx(math.sqrt(3 * np.var([1, 1, 3], ddof=1)))
    rows = []
    for method, shift in (("a", 0.0), ("b", -0.5)):
        pred, y, n = _simulated(1.0, 1.0, discrete=False, m=200)
        r = score_rows(pred, y, n, discrete=False)
        r["log_score"] += shift
        r["method"], r["model_id"] = method, [f"r{i}" for i in range(200)]
        rows.append(r)
    summary = summarise_scores(pd.concat(rows), reference="a").set_index("method")
    assert summary.loc["b", "elpd_diff"] == pytest.approx(-100.0)
    assert summary.loc["a", "elpd_diff"] == 0.0


def test_stacking_prefers_the_better_method_and_mixes_complementary_ones():
    rng = np.random.default_rng(4)
    good, bad = rng.normal(-1, 0.1, 500), rng.normal(-3, 0.1, 500)
    w, _ = stacking_weights(np.column_stack([good, bad]))
    assert w[0] > 0.95
    # each method right on half the models: both get weight
    a = np.where(np.arange(500) < 250, -1.0, -8.0)
    b = np.where(np.arange(500) < 250, -8.0, -1.0)
    w, value = stacking_weights(np.column_stack([a, b]))
    assert w == pytest.approx([0.5, 0.5], abs=0.02)
    assert value > -2.0 > max(a.mean(), b.mean())


def test_cross_validated_stacking_uses_weights_fit_without_the_scored_group():
    # two developers; method 0 is right on dev a, method 1 on dev b: in sample the mixture
    # gets both, but weights fit on one developer alone put everything on the other method
    a = np.where(np.arange(40) < 20, -1.0, -9.0)
    b = np.where(np.arange(40) < 20, -9.0, -1.0)
    scores = np.column_stack([a, b])
    groups = np.where(np.arange(40) < 20, "a", "b")
    cv = cross_validated_stacking(scores, groups, n_groups=2)
    w_b, _ = stacking_weights(scores[20:])
    expected_a = np.log(w_b @ np.exp(scores[0]))
    assert cv[:20] == pytest.approx(expected_a)
    _, in_sample = stacking_weights(scores)
    assert cv.mean() < min(a.mean(), b.mean()) < in_sample  # leaked weights would score high
    # complementary methods within every developer: the out-of-group mixture still wins
    rng = np.random.default_rng(2)
    g = rng.choice([f"d{i}" for i in range(30)], 600)
    half = rng.random(600) < 0.5
    mixed = np.column_stack([np.where(half, -1.0, -8.0), np.where(half, -8.0, -1.0)])
    assert cross_validated_stacking(mixed, g).mean() > mixed.mean(axis=0).max() + 2
    with pytest.raises(ValueError, match="two distinct groups"):
        cross_validated_stacking(mixed, np.zeros(600))


# --------------------------------------------------------------------------- splits
def _toy_table(m: int = 120, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2023-01-01", "2025-03-01", freq="MS")
    dev = rng.choice([f"dev{i}" for i in range(12)], size=m)
    groups = {f"dev{i}": g for i, g in enumerate(["Meta"] * 3 + ["Google"] * 3
                                                  + ["Other, Small"] * 3 + ["Other, Med"] * 3)}
    month = pd.Series(rng.choice(months, size=m))
    x = rng.uniform(21, 25.5, size=m)
    dev_eff = {d: rng.normal(0, 0.5) for d in set(dev)}
    logit = -1 + 0.8 * (x - 23.5) + np.array([dev_eff[d] for d in dev]) + rng.normal(0, 0.6, m)
    acc = np.round((GUESS + (1 - GUESS) * special.expit(logit)) * N_ITEMS) / N_ITEMS
    cohort = np.where(month < "2023-10-01", "2022q4-2023q3",
                      np.where(month < "2024-07-01", "2023q4-2024q2", "2024q3-2025q1"))
    return pd.DataFrame({
        "model_id": [f"m{i:03d}" for i in range(m)], "developer": dev,
        "developer_group": [groups[d] for d in dev], "release_month": month,
        "month": month.dt.strftime("%Y-%m"), "cohort": cohort, "log10_flop": x,
        "mmlu_pro_acc": acc, "mmlu_pro_norm": (acc - GUESS) / (1 - GUESS),
        "mmlu_pro_logit": special.logit((acc - GUESS) / (1 - GUESS)),
        "is_major": [groups[d] in ("Meta", "Google") for d in dev]})


def test_parse_split_accepts_and_refuses():
    assert parse_split("time:2024-10").cutoff == "2024-10"
    assert parse_split("developers:5").k == 5
    assert parse_split(" kfold:10 ").label == "kfold:10"
    for bad in ("time:2024-13", "time:24-10", "developers:1", "kfold:x", "loo", "weeks:3",
                "developers:2.5", ""):
        with pytest.raises(SpecError, match="--split"):
            parse_split(bad)


def test_folds_time_developers_kfold():
    df = _toy_table()
    (fold,) = make_folds(df, parse_split("time:2024-10"), seed=1)
    month = df.set_index("model_id")["release_month"]
    assert (month[list(fold.train_ids)] < "2024-10-01").all()
    assert (month[list(fold.test_ids)] >= "2024-10-01").all()
    assert len(fold.train_ids) + len(fold.test_ids) == len(df)
    folds = make_folds(df, parse_split("developers:4"), seed=1)
    dev = df.set_index("model_id")["developer"]
    held = [set(dev[list(f.test_ids)]) for f in folds]
    for f, h in zip(folds, held, strict=True):
        assert not h & set(dev[list(f.train_ids)])
    assert sorted(i for f in folds for i in f.test_ids) == sorted(df["model_id"])
    kf = make_folds(df, parse_split("kfold:5"), seed=1)
    sizes = [len(f.test_ids) for f in kf]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(df)
    with pytest.raises(SpecError, match="one side"):
        make_folds(df, parse_split("time:2030-01"), seed=1)
    with pytest.raises(SpecError, match="developers"):
        make_folds(df, parse_split("developers:50"), seed=1)


# --------------------------------------------------------------------------- OLS reference
def test_ols_reference_predictive_on_toy_table():
    import statsmodels.api as sm

    df = _toy_table(m=200)
    train, test = df.iloc[:150].copy(), df.iloc[150:].copy()
    pred = predict_ols(train, test, draws=4000, seed=1)
    # mean = the OLS prediction with dummies for the known levels
    X = pd.get_dummies(train[["cohort", "developer_group"]], drop_first=False).astype(float)
    base_cols = [c for c in X.columns if c not in ("cohort_2022q4-2023q3",
                                                   "developer_group_Other, Small")]
    Xt = sm.add_constant(pd.concat([train[["log10_flop"]], X[base_cols]], axis=1))
    res = sm.OLS(train["mmlu_pro_logit"].to_numpy(), Xt).fit()
    X0 = pd.get_dummies(test[["cohort", "developer_group"]]).astype(float)
    X0 = X0.reindex(columns=base_cols, fill_value=0.0)
    X0 = sm.add_constant(pd.concat([test[["log10_flop"]], X0], axis=1), has_constant="add")
    sf = res.get_prediction(X0).summary_frame(alpha=0.1)
    np.testing.assert_allclose(pred.mean, sf["mean"], rtol=1e-8)
    # classical prediction SD: sqrt(s^2 + se(mean)^2)
    np.testing.assert_allclose(pred.sd, np.sqrt(res.scale + sf["mean_se"] ** 2), rtol=1e-8)
    # the analytic CDF agrees with the draws
    v = np.median(pred.accuracy, axis=0)
    np.testing.assert_allclose(pred.cdf(v)[0], 0.5, atol=0.04)
    assert not pred.unseen.any()


def test_ols_reference_unseen_group_takes_reference_level():
    df = _toy_table(m=200)
    train = df[df["developer_group"] != "Google"]
    test = df[df["developer_group"] == "Google"].head(5)
    pred = predict_ols(train, test, draws=100)
    assert pred.unseen.all()
    # same row moved to the reference group "Other, Small" gets the same mean
    moved = test.assign(developer_group="Other, Small")
    np.testing.assert_allclose(predict_ols(train, moved, draws=100).mean, pred.mean)


# --------------------------------------------------------------------------- refusal
def test_incomparable_scales_refused():
    assert check_one_scale({"a": "logit_score", "b": "logit_score"}) == "logit_score"
    with pytest.raises(IncomparableScalesError, match="observation scales") as info:
        check_one_scale({"binomial_developers": "count", "paper_mirror": "logit_score"})
    assert "\n" not in str(info.value)


def test_compare_refuses_binomial_vs_logit_normal_loo(monkeypatch, tmp_path):
    """ArviZ LOO of a binomial fit (counts) vs a logit-normal fit (logit scores): refused."""
    import importlib

    cmp = importlib.import_module("bayes_llm.validate.compare")
    from bayes_llm.validate.compare import LIKELIHOOD_SCALES

    @dataclass
    class FakeLoo:
        scale: str
        pointwise: pd.DataFrame

    def fake_fit_row(folder, *, loo):
        lik = folder.name
        ids = pd.DataFrame({"model_id": ["a", "b"]})
        return ({"method": lik, "kind": "fit", "likelihood": lik, "n_models": 2,
                 "fit_diagnostics_ok": True, "fit_diagnostics": "ok"},
                FakeLoo(LIKELIHOOD_SCALES[lik], ids))

    monkeypatch.setattr(cmp, "_fit_row", fake_fit_row)
    for name in ("binomial", "logit_normal", "student_t"):
        (tmp_path / name).mkdir()
    with pytest.raises(IncomparableScalesError, match="count: binomial"):
        compare([tmp_path / "binomial", tmp_path / "logit_normal"], loo=True)
    table = compare([tmp_path / "logit_normal", tmp_path / "student_t"], loo=True)
    assert list(table["method"]) == ["logit_normal", "student_t"]


# --------------------------------------------------------------------------- end to end
@dataclass
class FakeDiagnostics:
    ok: bool
    failures: list
    table: pd.DataFrame | None = None


@dataclass
class FakeFit:
    spec: object
    train: pd.DataFrame
    diagnostics: FakeDiagnostics


def _fake_fitter(fail_diagnostics: bool = False):
    def fitter(spec, train, **_kw):
        diag = FakeDiagnostics(not fail_diagnostics,
                               ["alpha: R-hat 1.050 > 1.01"] if fail_diagnostics else [])
        return FakeFit(spec, train, diag)
    return fitter


def _fake_predictor(fit, test, *, seed):
    """Binomial-like predictive centred on the training mean logit (a weak model)."""
    y = fit.train["mmlu_pro_logit"].to_numpy()
    rng = np.random.default_rng(seed)
    s = 300
    z = rng.normal(y.mean(), y.std(), size=(s, len(test)))
    pred = BinomialPrediction(p=GUESS + (1 - GUESS) * special.expit(z), n=N_ITEMS)
    pred.n_items = np.full(len(test), N_ITEMS)
    return pred


def _spec(name: str):
    from bayes_llm.model import load_spec

    return load_spec("binomial_developers").with_changes(name=name)


def _run(tmp_path, split, *, fail=False, name="weak", table=None):
    from bayes_llm.validate.run import validate

    table = _toy_table() if table is None else table
    res = validate([_spec(name)], table, split, fitter=_fake_fitter(fail),
                   predictor=_fake_predictor, seed=3)
    return res, res.write(tmp_path / f"{name}-{split.replace(':', '_')}")


def test_validate_end_to_end_outputs_and_flags(tmp_path):
    from bayes_llm.validate.run import load_validation

    res, folder = _run(tmp_path, "time:2024-10")
    assert set(res.summary["method"]) == {"weak", OLS_METHOD}
    for name in ("scores.csv", "summary.csv", "coverage.csv", "folds.csv", "pit.png",
                 "summary.md", "validate.json"):
        assert (folder / name).is_file(), name
    assert res.diagnostics_ok and res.banner() is None
    from bayes_llm.validate.fold_cache import prediction_code_hash

    meta = json.loads((folder / "validate.json").read_text())
    assert meta["code_hash"] == prediction_code_hash() and "commit" in meta  # provenance
    back = load_validation(folder)
    pd.testing.assert_frame_equal(back.summary[["method", "n_models"]],
                                  res.summary[["method", "n_models"]])
    # the OLS knows compute, the weak model does not: OLS must win on the toy data
    s = res.summary.set_index("method")
    assert s.loc[OLS_METHOD, "log_score"] > s.loc["weak", "log_score"]
    assert s.loc["weak", "elpd_diff"] < 0 and s.loc["weak", "stacking_weight"] < 0.5
    # a failing fold is flagged in every output
    bad, bad_folder = _run(tmp_path, "developers:3", fail=True, name="shaky")
    assert not bad.diagnostics_ok and "DIAGNOSTICS FAILED" in bad.banner()
    scores = pd.read_csv(bad_folder / "scores.csv")
    assert not scores.loc[scores["method"] == "shaky", "fit_diagnostics_ok"].any()
    assert "FAILED" in (bad_folder / "summary.md").read_text().split("\n")[2]
    summary = pd.read_csv(bad_folder / "summary.csv").set_index("method")
    assert summary.loc["shaky", "folds_failed_diagnostics"] == 3
    assert not pd.read_csv(bad_folder / "coverage.csv").query(
        "method == 'shaky'")["fit_diagnostics_ok"].any()
    meta = json.loads((bad_folder / "validate.json").read_text())
    assert meta["diagnostics_ok"] is False and meta["score_scale"] == "accuracy_bin"


def test_a_method_whose_every_fold_raised_is_flagged_not_passed(tmp_path):
    from bayes_llm.validate.run import validate

    def broken(fit, test, *, seed):
        raise ImportError("cannot import name 'x'")

    res = validate([_spec("broken")], _toy_table(), "time:2024-10", fitter=_fake_fitter(),
                   predictor=broken, seed=3)
    assert "broken" not in set(res.summary["method"])  # nothing to score
    assert not res.diagnostics_ok
    assert "broken: every fold failed" in res.banner() and "ImportError" in res.banner()
    assert "every fold passed" not in res.to_markdown()


def test_compare_validate_folders_and_refusal_of_other_data(tmp_path):
    _, a = _run(tmp_path, "time:2024-10", name="weak")
    _, b = _run(tmp_path, "time:2024-10", name="weak2")
    table = compare([a, b])
    assert set(table["method"]) == {"weak", "weak2", OLS_METHOD}  # OLS shown once
    assert table["best"].sum() == 1
    assert table.loc[table["best"], "elpd_diff_to_best"].iloc[0] == 0.0
    # another split: a separate comparison, no difference across splits
    _, c = _run(tmp_path, "kfold:3", name="weak3")
    both = compare([a, c])
    assert both.groupby("split")["best"].sum().to_dict() == {"time:2024-10": 1, "kfold:3": 1}
    # the same split on other data (one model fewer): refused
    _, d = _run(tmp_path, "time:2024-10", name="weak4", table=_toy_table().iloc[1:])
    with pytest.raises(IncomparableScalesError, match="different observations"):
        compare([a, d])


def test_compare_cli_refusal_is_one_line_exit_2(tmp_path, capsys):
    from bayes_llm.cli import main

    _, a = _run(tmp_path, "time:2024-10", name="weak")
    _, c = _run(tmp_path, "time:2024-10", name="weak3", table=_toy_table().iloc[1:])
    code = main(["compare", str(a), str(c)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "refusing to compare" in err[0]
    assert main(["validate", "binomial_developers", "--split", "weeks:3",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--split 'weeks:3'" in capsys.readouterr().err


def test_readme_block_regenerated_from_outputs(tmp_path):
    from bayes_llm.validate.readme_table import BEGIN, END, update_readme

    res, folder = _run(tmp_path, "time:2024-10")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Specs\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n")
    other, other_folder = _run(tmp_path, "time:2024-10", name="other")
    shaky, shaky_folder = _run(tmp_path, "developers:3", fail=True, name="shaky")
    update_readme(readme, [folder, other_folder, shaky_folder])
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# Specs") and text.endswith("after\n")
    # one table per split, every method of every folder of that split in it
    assert text.count("**Split `time:2024-10`**") == 1
    assert text.count("**Split `developers:3`**") == 1
    weak = res.summary.set_index("method").loc["weak"]
    ols = res.summary.set_index("method").loc[OLS_METHOD]
    assert f"| `weak` | `{folder.name}` | {weak['log_score']:.3f} |" in text
    assert f"| `other` | `{other_folder.name}` |" in text
    # differences are to the best on the split (the OLS on the toy data), with their SE
    diff = (weak["log_score"] - ols["log_score"]) * weak["n_models"]
    assert f"| {diff:.1f} (" in text
    ols_row = next(ln for ln in text.splitlines() if ln.startswith(f"| `{OLS_METHOD}`"))
    assert "| 0.0 (0.0) | best |" in ols_row
    weak_row = next(ln for ln in text.splitlines() if ln.startswith("| `weak`"))
    assert "| no |" in weak_row  # far below the OLS: not within one SE
    # the reference once per split, not per folder
    assert text.count(f"| `{OLS_METHOD}` |") == 2
    assert "**FAILED in 3/3 folds**" in text and "DIAGNOSTICS FAILED" in text
    # whether stacking beats the best method is read from cross-validated stacking
    cv_line = next(ln for ln in text.splitlines() if ln.startswith("Cross-validated stacking"))
    assert f"vs `{OLS_METHOD}`" in cv_line and "than the best method by more than one SE" in cv_line
    plain = tmp_path / "plain.md"
    plain.write_text("no markers here\n")
    with pytest.raises(ResultsError, match="block"):
        update_readme(plain, [folder])


@pytest.mark.mcmc
def test_validate_cli_small_real_run(tmp_path, paper_df):
    """One tiny real validate run (Student-t, developers pooled, 100 draws) via the command.

    (A group-coded spec cannot predict a held-out model of a group it never saw, e.g.
    X-AI's Grok models after the cut-off; validate lists that fold as failed.)
    """
    from bayes_llm.cli import main

    out = tmp_path / "val"
    code = main(["validate", "student_t_developers", "--split", "time:2024-12", "--out",
                 str(out), "--draws", "100", "--tune", "100", "--chains", "2",
                 "--allow-warnings"])
    assert code == 0
    summary = pd.read_csv(out / "summary.csv").set_index("method")
    assert set(summary.index) == {"student_t_developers", OLS_METHOD}
    assert summary["n_models"].nunique() == 1 and summary["n_models"].iloc[0] > 50
    assert np.isfinite(summary["log_score"]).all()


def test_binomial_log_score_integrates_the_model_effect(monkeypatch):
    """With mu and sigma given, the bin probability is the latent density times the Jacobian
    (the binomial is sharp), not the noisy average of a few hundred binomial spikes."""
    s, y = 200, np.array([0.30, 0.45, 0.62])
    mu = np.tile(np.array([-1.0, 0.0, 0.5]), (s, 1))
    sigma = np.full(s, 0.7)
    rng = np.random.default_rng(0)
    eta = mu + sigma[:, None] * rng.standard_normal(mu.shape)
    pred = BinomialPrediction(p=GUESS + (1 - GUESS) * special.expit(eta), n=N_ITEMS)
    pred.likelihood, pred.guess = "binomial", GUESS
    pred.noise = {"p": pred.p, "mu": mu, "sigma": sigma}
    rows = score_rows(pred, y, np.full(3, N_ITEMS), discrete=True)
    assert (rows["log_score_method"] == "integrated_eta").all()
    q = (y - GUESS) / (1 - GUESS)
    expected = (stats.norm.logpdf(special.logit(q), mu[0], 0.7)
                - np.log((1 - GUESS) * q * (1 - q)) - np.log(N_ITEMS))
    np.testing.assert_allclose(rows["log_score"], expected, atol=0.01)
    import importlib

    scores_module = importlib.import_module("bayes_llm.validate.scores")
    monkeypatch.setattr(scores_module, "INTEGRAL_BLOCK_VALUES", 1)  # one row per block
    blocked = score_rows(pred, y, np.full(3, N_ITEMS), discrete=True)
    np.testing.assert_allclose(blocked["log_score"], rows["log_score"], rtol=1e-12)


def test_a_fold_that_cannot_be_fitted_is_listed_not_hidden():
    from bayes_llm.validate.run import validate

    calls = {"n": 0}

    def flaky(spec, train, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("sampler crashed")
        return _fake_fitter()(spec, train, **kw)

    res = validate([_spec("flaky")], _toy_table(), "kfold:3", fitter=flaky,
                   predictor=_fake_predictor, seed=3)
    folds = res.folds.set_index(["method", "fold"])
    assert "sampler crashed" in folds.loc[("flaky", 1), "error"]
    summary = res.summary.set_index("method")
    assert summary.loc["flaky", "folds_failed"] == 1 and not res.diagnostics_ok
    # both methods are summarised on the models both predicted (two folds' worth)
    assert summary["n_models"].nunique() == 1
    assert summary.loc[OLS_METHOD, "n_models"] == len(_toy_table()) - folds.loc[
        ("flaky", 1), "n_test"]


def test_fold_cache_reuses_finished_folds_and_refits_what_changed(tmp_path):
    """A rerun takes every finished fold from the cache (the fitter is never called) and
    gives the same scores; a changed model, seed or row misses the cache and is fitted."""
    from bayes_llm.validate.run import validate

    calls = []

    def counting(spec, train, **kw):
        calls.append(kw["seed"])
        return _fake_fitter()(spec, train, **kw)

    cache = tmp_path / "folds"
    table = _toy_table()

    def run(spec, *, seed=3, table=table):
        return validate([spec], table, "kfold:3", fitter=counting,
                        predictor=_fake_predictor, seed=seed, fold_cache=cache)

    first = run(_spec("weak"))
    assert len(calls) == 3 and len(list(cache.glob("*.json"))) == 3 == len(list(cache.glob("*.csv")))
    again = run(_spec("renamed"))  # a name is not part of the model
    assert len(calls) == 3
    a = first.scores.query("method == 'weak'").drop(columns="method").reset_index(drop=True)
    b = again.scores.query("method == 'renamed'").drop(columns="method").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(first.summary.drop(columns="method"),
                                  again.summary.drop(columns="method"))
    run(_spec("weak").with_changes(compute_centre=23.0))  # another model: refitted
    assert len(calls) == 6
    run(_spec("weak"), seed=4)  # another seed: refitted
    assert len(calls) == 9
    changed = table.copy()
    changed.loc[0, "log10_flop"] += 0.5  # a row of every fold (training or held out)
    run(_spec("weak"), table=changed)
    assert len(calls) == 12
    run(_spec("weak"), table=changed)
    assert len(calls) == 12


def test_fold_cache_entries_are_text_that_reads_back_exactly(tmp_path):
    """An entry is JSON and CSV (so a cache can be kept in git): the rows come back with
    the same values and dtypes (floats to the last bit, an empty string not turned into a
    missing value, a missing float kept missing), a truncated CSV or a key mismatch is a
    miss, and the entry records the code hash it was made with."""
    from bayes_llm.validate.fold_cache import FoldCache, prediction_code_hash

    rows = pd.DataFrame({"method": ["a", "a", "a"], "fold": [1, 1, 1],
                         "model_id": ["007", "m/2", "x,y"],
                         "log_score": [-7.123456789012345, np.nan, 1e-300],
                         "covered_50": [True, False, True],
                         "fit_diagnostics": ["", "ok", "R-hat 1.2"]})
    row = {"method": "a", "fold": np.int64(1), "seconds": np.float64(12.5),
           "diagnostics_ok": np.bool_(False), "error": "", "worst": math.nan}
    diagnostics = pd.DataFrame({"variable": ["alpha", "sigma_lineage"], "size": [1, 1],
                                "r_hat_max": [1.0123456789, np.nan],
                                "ess_bulk_min": [197.25, 1e5], "ess_tail_min": [300.5, 2.0],
                                "checked": [True, False]})
    cache = FoldCache(tmp_path / "c")
    cache.save("k" * 64, row, rows, diagnostics)
    back_row, back, back_diagnostics = cache.load("k" * 64)
    pd.testing.assert_frame_equal(back, rows, check_exact=True)
    pd.testing.assert_frame_equal(back_diagnostics, diagnostics, check_exact=True)
    cache.save("m" * 64, row, rows)  # an OLS fold, or an entry kept before diagnostics were
    assert cache.load("m" * 64)[2] is None
    assert back_row["seconds"] == 12.5 and back_row["diagnostics_ok"] is False
    assert back_row["error"] == "" and math.isnan(back_row["worst"])
    entry = json.loads(next((tmp_path / "c").glob("*.json")).read_text())
    assert entry["code_hash"] == prediction_code_hash() and entry["n_rows"] == 3
    assert cache.load("j" * 64) is None
    csv = next((tmp_path / "c").glob("*.csv"))
    csv.write_text("\n".join(csv.read_text().splitlines()[:-1]) + "\n")
    assert cache.load("k" * 64) is None


def test_fold_cache_refuses_a_folder_of_someone_elses_files(tmp_path, capsys):
    from bayes_llm.cli import main

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code = main(["validate", "binomial_developers", "--out", str(tmp_path / "v"),
                 "--fold-cache", str(foreign)])
    assert code == 2
    err = capsys.readouterr().err
    assert str(foreign) in err and len(err.strip().splitlines()) == 1
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("inside", ["v/folds", "v", "."])
def test_fold_cache_inside_or_around_out_is_refused(tmp_path, capsys, monkeypatch, inside):
    """--out is replaced when the run ends: a fold cache in it (or holding it) is refused
    before anything is created."""
    from bayes_llm.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["validate", "binomial_developers", "--out", "v", "--fold-cache", inside])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "must lie outside --out" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_fold_cache_code_hash_covers_every_module_of_the_package(tmp_path):
    """A constant in a module the fit only imports (the spec's, the lineage labels') is
    part of the key; a file that is not code is not."""
    import shutil

    from bayes_llm.validate import fold_cache

    package = Path(fold_cache.__file__).resolve().parents[1]
    copy = tmp_path / "bayes_llm"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    original = fold_cache.code_hash(copy)
    assert original == fold_cache.prediction_code_hash()
    (copy / "notes.txt").write_text("not code")
    assert fold_cache.code_hash(copy) == original
    for module in ("model/spec.py", "data/lineage.py", "model/curve.py"):
        path = copy / module
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert fold_cache.code_hash(copy) != original, module
        path.write_text(text)
    assert fold_cache.code_hash(copy) == original


def test_split_fold_gives_validates_fold_tables(paper_df):
    """The scripts' one-fold helper makes the rows validate fits and scores: the time split
    trains on the 319 models released before 2024-10 and holds out the 490 after; a
    developer fold holds out whole developers; a fold that does not exist is an error."""
    from bayes_llm.model import load_spec
    from bayes_llm.validate.run import split_fold

    spec = load_spec("binomial_developers")
    fold, train, test = split_fold(paper_df, spec, "time:2024-10", 0)
    assert (len(train), len(test)) == (319, 490)
    assert pd.to_datetime(train["release_month"]).max() < pd.Timestamp("2024-10-01")
    assert pd.to_datetime(test["release_month"]).min() >= pd.Timestamp("2024-10-01")
    assert set(train["model_id"]) == set(fold.train_ids)
    fold, train, test = split_fold(paper_df, spec, "developers:5", 2)
    assert fold.index == 2 and len(train) + len(test) == 809
    assert not set(train["developer"]) & set(test["developer"])
    with pytest.raises(SpecError, match="no fold index 5"):
        split_fold(paper_df, spec, "developers:5", 5)


def test_each_spec_is_fitted_with_its_own_backend_unless_one_is_given(tmp_path):
    """Without ``backend``, a spec with ``[sampler] lineage_gibbs`` is fitted by pymc and
    the others by nutpie, each recorded in validate.json and the summary; a given backend
    is every fit's."""
    from pathlib import Path

    from bayes_llm.model import load_spec
    from bayes_llm.validate.run import sampler_text, validate

    gibbs = load_spec(str(Path(__file__).resolve().parent.parent
                          / "verification/specs/fc_two_nc_ratio2_tlin_gibbs.toml"))
    handed = {}

    def recording(spec, train, **kw):
        handed[spec.name] = kw["backend"]
        return _fake_fitter()(spec, train, **kw)

    def run(**kw):
        handed.clear()
        return validate([_spec("weak"), gibbs], _toy_table(), "time:2024-10",
                        fitter=recording, predictor=_fake_predictor, seed=3, **kw)

    res = run()
    assert handed == {"weak": "nutpie", gibbs.name: "pymc"}
    meta = res.metadata
    assert {name: s["backend"] for name, s in meta["specs"].items()} == handed
    assert meta["backend"] == "each spec's own"
    assert f"{gibbs.name} 1000 x 4, tune 1000, pymc" in sampler_text(meta)
    res = run(backend="pymc")
    assert handed == {"weak": "pymc", gibbs.name: "pymc"}
    assert meta is not res.metadata and res.metadata["backend"] == "pymc"


def test_the_cli_shows_the_sampler_progress_when_asked(tmp_path, monkeypatch):
    """``--progress`` hands every fit a progress bar (a 100-minute fold shows its state);
    without it, a log file (stderr not a terminal) gets none."""
    from bayes_llm.cli import main

    asked = []

    class Stop(Exception):
        pass

    def fake_validate(specs, df, rule, **kw):
        asked.append(kw["progressbar"])
        raise Stop

    monkeypatch.setattr("bayes_llm.validate.run.validate", fake_validate)
    for flags in (["--progress"], [], ["--no-progress"]):
        with pytest.raises(Stop):
            main(["validate", "binomial_developers", "--out", str(tmp_path / "v"), *flags])
    assert asked == [True, False, False]


def test_every_fold_fit_diagnostics_are_written_and_kept_in_the_fold_cache(tmp_path):
    """fit_diagnostics.csv holds each fold fit's per-variable R-hat and ESS, passed
    checks included; a rerun from the fold cache writes the same rows."""
    from bayes_llm.validate.run import FIT_DIAGNOSTICS_CSV, load_validation, validate

    def with_table(spec, train, **kw):
        seed = kw["seed"]
        table = pd.DataFrame({"size": [1, 3], "r_hat_max": [1.001, 1.02 + seed / 1000],
                              "ess_bulk_min": [2500.0, 197.0 + seed],
                              "ess_tail_min": [1800.0, 250.0], "checked": [True, True]},
                             index=pd.Index(["sigma_lineage", "eta"], name="variable"))
        return FakeFit(spec, train, FakeDiagnostics(False, ["eta: R-hat > 1.01"], table))

    def run(fitter):
        return validate([_spec("weak")], _toy_table(), "kfold:3", fitter=fitter,
                        predictor=_fake_predictor, seed=3, fold_cache=tmp_path / "cache")

    first = run(with_table)
    rows = first.fit_diagnostics
    assert len(rows) == 6 and set(rows["method"]) == {"weak"}
    assert sorted(rows["fold"].unique()) == [0, 1, 2]
    passed = rows[rows["variable"] == "sigma_lineage"]
    assert (passed["ess_bulk_min"] == 2500.0).all()  # a passed check is kept too
    eta = rows[rows["variable"] == "eta"].sort_values("fold")
    assert list(eta["ess_bulk_min"]) == [200.0, 201.0, 202.0]  # seed 3 + fold
    folder = first.write(tmp_path / "out")
    assert (folder / FIT_DIAGNOSTICS_CSV).is_file()
    pd.testing.assert_frame_equal(load_validation(folder).fit_diagnostics, rows,
                                  check_dtype=False)

    def never(*args, **kwargs):
        raise AssertionError("a cached fold was fitted again")

    again = run(never)
    pd.testing.assert_frame_equal(again.fit_diagnostics, rows)
