"""Issue-11 estimands on tiny hand-built posteriors, each checked against a hand computation.

Fast unit tests (no MCMC): the Nakagawa share, the finite-population ANOVA and the
Bayesian R², the centred within-developer spread, the guarded ratios, the frontier gain,
the Shapley null and the clustered bootstrap, the NumPy component path, and the
primary-definition verdicts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from bayes_llm.derived.company import GROUP_CODING_NOTE, company_shares
from bayes_llm.derived.fast import component_covariance, fast_components
from bayes_llm.derived.frontier import (
    frontier_gain,
    mix_draws,
    pair_decomposition,
    pair_guards,
    ratio_guard,
)
from bayes_llm.derived.headline import PRIMARY, draw_diagnostics
from bayes_llm.derived.multipliers import within_spread_centred, within_spread_model_based
from bayes_llm.derived.shapley_band import Categorical, _SubsetR2, weighted_shapley
from bayes_llm.derived.shapley_null import cluster_bootstrap, parametric_null, subset_r2_many
from bayes_llm.derived.summary import stacked_components
from bayes_llm.derived.variance import variance_partition
from bayes_llm.errors import BayesLLMError
from bayes_llm.model import spec_from_dict
from bayes_llm.report.claims import claim_verdicts

# Six models, two draws. x centred compute, periods 0/1, developers a (3 models), b (2), c (1).
X = np.array([-1.0, 0.0, 1.0, 2.0, 0.5, -0.5])
PIDX = np.array([0, 0, 1, 1, 1, 0])
DIDX = np.array([0, 0, 0, 1, 1, 2])
ALPHA = np.array([0.5, 0.2])
BETA = np.array([1.0, 0.8])
GAMMA = np.array([[-0.2, 0.2], [-0.3, 0.3]])
U = np.array([[0.4, -0.1, -0.3], [0.2, 0.1, -0.3]])
E = np.array([[0.1, -0.2, 0.3, 0.0, -0.1, 0.05], [0.0, 0.1, -0.1, 0.2, -0.3, 0.1]])
SIG_DEV = np.array([0.5, 0.4])
SIG_MODEL = np.array([0.3, 0.25])
IDS = [f"m{i}" for i in range(6)]
DEVS = ["a", "b", "c"]


class Tiny:
    """What the derived quantities read: spec, dt, models."""

    def __init__(self, likelihood: str = "logit_normal", developer: str = "developer",
                 pooled: bool = True, name: str = "tiny") -> None:
        mu = ALPHA[:, None] + BETA[:, None] * X + GAMMA[:, PIDX] + U[:, DIDX]
        latent = mu + E
        sample = {"chain": [0], "draw": [0, 1]}
        post = {"alpha": (("chain", "draw"), ALPHA[None]),
                "beta": (("chain", "draw"), BETA[None]),
                "period_effect": (("chain", "draw", "period"), GAMMA[None]),
                "developer_effect": (("chain", "draw", "developer"), U[None])}
        if pooled:
            post["sigma_developer"] = (("chain", "draw"), SIG_DEV[None])
        observed = None
        if likelihood == "binomial":
            post["eta"] = (("chain", "draw", "model"), latent[None])
            post["sigma_model"] = (("chain", "draw"), SIG_MODEL[None])
        else:
            post["sigma"] = (("chain", "draw"), SIG_MODEL[None])
            # logit-normal: the latent score is the observed y (one value per model); use
            # draw 0's latent score as the data
            observed = xr.Dataset({"y": ("model", latent[0])}, coords={"model": IDS})
        posterior = xr.Dataset(post, coords={**sample, "period": ["p0", "p1"],
                                             "developer": DEVS, "model": IDS})
        constant = xr.Dataset({"log10_flop_centred": ("model", X),
                               "period_idx": ("model", PIDX),
                               "developer_idx": ("model", DIDX)}, coords={"model": IDS})
        groups = {"posterior": posterior, "constant_data": constant}
        if observed is not None:
            groups["observed_data"] = observed
        self.dt = xr.DataTree.from_dict(groups)
        self.latent = latent if likelihood == "binomial" else np.stack([latent[0]] * 2)
        self.spec = spec_from_dict({
            "name": name, "likelihood": likelihood, "developer": developer,
            "developer_effect": "pooled" if pooled else "fixed", "compute_centre": 23.5})
        self.metadata = {"data_hash": "tiny-data"}
        acc = 0.1 + 0.9 / (1 + np.exp(-latent[0]))
        self.models = pd.DataFrame({
            "model_id": IDS, "developer": [DEVS[i] for i in DIDX],
            "developer_group": ["G1", "G1", "G1", "G2", "G2", "G3"],
            "is_major": [True] * 5 + [False], "cohort": ["c0" if p == 0 else "c1" for p in PIDX],
            "period": [f"p{p}" for p in PIDX], "developer_unit": [DEVS[i] for i in DIDX],
            "log10_flop": X + 23.5, "mmlu_pro_acc": acc,
            "mmlu_pro_logit": latent[0]})


def _pop_var(a):
    return np.var(a, axis=-1)


def _pop_cov(a, b):
    return np.mean((a - a.mean(-1, keepdims=True)) * (b - b.mean(-1, keepdims=True)), -1)


def test_fast_components_equal_the_reference():
    for fit in (Tiny("binomial"), Tiny("logit_normal")):
        fast = fast_components(fit)
        ref = stacked_components(fit).transpose(*fast.dims)
        np.testing.assert_allclose(fast.values, ref.values, atol=1e-12)
        assert list(fast["model"].values) == IDS
    # the check can fail: a wrong developer index gives different components
    bad = Tiny("binomial")
    const = bad.dt["constant_data"].to_dataset()
    bad.dt["constant_data"] = xr.DataTree(const.assign(
        developer_idx=("model", DIDX[::-1].copy())))
    ref = stacked_components(Tiny("binomial")).transpose("chain", "draw", "model",
                                                          "component")
    assert not np.allclose(fast_components(bad).values, ref.values)


def test_fast_components_with_slopes_and_latent_compute():
    """The NumPy path equals the reference with every extension at once."""
    rng = np.random.default_rng(3)
    fit = Tiny("binomial")
    post = fit.dt["posterior"].to_dataset()
    post = post.assign(
        developer_slope=(("chain", "draw", "developer"), rng.normal(0, 0.3, (1, 2, len(DEVS)))),
        compute_period_slope=(("chain", "draw", "period"), rng.normal(0, 0.2, (1, 2, 2))),
        log10_flop_true=(("chain", "draw", "model"), X[None, None, :]
                         + rng.normal(0, 0.1, (1, 2, len(IDS)))))
    fit.dt["posterior"] = xr.DataTree(post)
    fast = fast_components(fit)
    ref = stacked_components(fit).transpose(*fast.dims)
    np.testing.assert_allclose(fast.values, ref.values, atol=1e-12)
    # the gathered components are copies of posterior values: exactly equal
    np.testing.assert_array_equal(fast.sel(component=["period", "developer"]).values,
                                  ref.sel(component=["period", "developer"]).values)


def test_fast_components_index_checks():
    """An index out of range fails as indexing does; a negative one counts from the end."""
    fit = Tiny("binomial")
    const = fit.dt["constant_data"].to_dataset()
    bad = DIDX.copy()
    bad[0] = len(DEVS)
    fit.dt["constant_data"] = xr.DataTree(const.assign(developer_idx=("model", bad)))
    with pytest.raises(IndexError):
        fast_components(fit)
    wrapped = DIDX.copy()
    wrapped[0] = DIDX[0] - len(DEVS)  # the same developer, counted from the end
    fit.dt["constant_data"] = xr.DataTree(const.assign(developer_idx=("model", wrapped)))
    np.testing.assert_array_equal(fast_components(fit).values,
                                  fast_components(Tiny("binomial")).values)


def test_nakagawa_share_by_hand_logit_normal():
    fit = Tiny("logit_normal")
    ds = company_shares(fit)
    fixed = BETA[:, None] * X + GAMMA[:, PIDX]
    var_fixed = _pop_var(fixed)
    total = var_fixed + SIG_DEV**2 + SIG_MODEL**2
    np.testing.assert_allclose(ds["superpop_share"].values[0], SIG_DEV**2 / total)
    np.testing.assert_allclose(ds["variance_fixed"].values[0], var_fixed)
    assert "variance_dist" not in ds
    assert ds.attrs["notes"] == ""


def test_nakagawa_share_binomial_is_of_latent_performance():
    """No distribution-specific (measurement-noise) term: a plug-in of it failed SBC."""
    fit = Tiny("binomial")
    ds = company_shares(fit)
    fixed = _pop_var(BETA[:, None] * X + GAMMA[:, PIDX])
    expected = SIG_DEV**2 / (fixed + SIG_DEV**2 + SIG_MODEL**2)
    np.testing.assert_allclose(ds["superpop_share"].values[0], expected)
    assert "variance_dist" not in ds
    # the same share whatever the latent scores are, given the parameters it is made of
    shifted = Tiny("binomial")
    eta = shifted.dt["posterior"]["eta"]
    shifted.dt["posterior"]["eta"] = eta - 6.0  # every model near the guessing floor
    np.testing.assert_allclose(company_shares(shifted)["superpop_share"].values[0],
                               expected)


def test_finite_population_anova_and_bayes_r2_by_hand():
    fit = Tiny("binomial")
    ds = company_shares(fit)
    compute = BETA[:, None] * X
    period = GAMMA[:, PIDX]
    dev = U[:, DIDX]
    latent = compute + period + dev + E
    np.testing.assert_allclose(ds["sd_developer_finite"].values[0], U.std(axis=1, ddof=1))
    np.testing.assert_allclose(ds["developer_own_share"].values[0],
                               _pop_var(dev) / _pop_var(latent))
    np.testing.assert_allclose(ds["developer_cov_compute_share"].values[0],
                               _pop_cov(dev, compute) / _pop_var(latent))
    # own + covariances with every component = the finite-population (Pratt) share
    part = variance_partition(fit)["share"].sel(component="developer").values[0]
    total = (ds["developer_own_share"] + ds["developer_cov_compute_share"]
             + ds["developer_cov_other_share"]).values[0]
    np.testing.assert_allclose(total, part)
    res = SIG_MODEL**2
    mu = compute + period + dev
    np.testing.assert_allclose(ds["bayes_r2"].values[0],
                               _pop_var(mu) / (_pop_var(mu) + res))
    r2_0 = _pop_var(mu - dev) / (_pop_var(mu - dev) + SIG_DEV**2 + res)
    np.testing.assert_allclose(ds["bayes_r2_no_developer"].values[0], r2_0)
    sigma = component_covariance(fast_components(fit)).values[0]
    np.testing.assert_allclose(sigma.sum(axis=(-1, -2)), _pop_var(latent))


def test_unpooled_developers_use_the_realised_variance_and_group_coding_is_flagged():
    fit = Tiny("logit_normal", developer="group", pooled=False)
    ds = company_shares(fit)
    np.testing.assert_allclose(ds["variance_developer"].values[0], U.var(axis=1, ddof=1))
    assert "unpooled" in ds.attrs["notes"] and GROUP_CODING_NOTE in ds.attrs["notes"]


def _with_lineages(fit: Tiny, *, student_t: bool) -> Tiny:
    post = fit.dt["posterior"].to_dataset()
    extra = {"sigma_lineage": (("chain", "draw"), SIG_LIN[None]),
             "lineage_effect": (("chain", "draw", "lineage"), LIN[None])}
    if student_t:
        extra["nu_lineage"] = (("chain", "draw"), np.array([[3.0, 2.5]]))
    fit.dt["posterior"] = xr.DataTree(post.assign_coords(lineage=["l0", "l1", "l2", "l3"])
                                      .assign(extra))
    return fit


SIG_LIN = np.array([0.6, 0.5])
LIN = np.array([[0.9, -0.4, 0.1, -0.8], [1.5, -0.2, -1.1, 0.3]])


@pytest.mark.parametrize("student_t", [False, True])
def test_lineage_block_and_share_by_hand(student_t):
    """Normal lineages: sigma_lineage^2; Student-t: the realised variance (nu may be <= 2)."""
    ds = company_shares(_with_lineages(Tiny("binomial"), student_t=student_t))
    var_lin = LIN.var(axis=1, ddof=1) if student_t else SIG_LIN**2
    fixed = _pop_var(BETA[:, None] * X + GAMMA[:, PIDX])
    total = fixed + SIG_DEV**2 + var_lin + SIG_MODEL**2
    np.testing.assert_allclose(ds["variance_lineage"].values[0], var_lin)
    np.testing.assert_allclose(ds["lineage_superpop_share"].values[0], var_lin / total)
    np.testing.assert_allclose(ds["superpop_share"].values[0], SIG_DEV**2 / total)
    assert ("Student-t lineage" in ds.attrs["notes"]) is student_t
    assert np.all(company_shares(Tiny("binomial"))["lineage_superpop_share"].values == 0)


def test_no_developer_variance_gives_zero_share():
    fit = Tiny("binomial")
    post = fit.dt["posterior"].to_dataset()
    fit.dt["posterior"] = xr.DataTree(post.assign(sigma_developer=post["sigma_developer"] * 0))
    assert np.all(company_shares(fit)["superpop_share"].values == 0)


def test_within_spread_centred_by_hand():
    fit = Tiny("binomial")
    out = within_spread_centred(fit)
    keep = np.array([True] * 5 + [False])      # developer c has one model (and is not major)
    codes = DIDX[keep]
    expected = []
    for d in range(2):
        e = E[d, keep]
        centred = e - np.array([e[codes == c].mean() for c in codes])
        lo, hi = np.percentile(centred, [10, 90])
        expected.append(10 ** ((hi - lo) / BETA[d]))
    np.testing.assert_allclose(out.values[0], expected)
    assert out.attrs == {"n_models": 5, "n_developers": 2}
    width = stats.norm.ppf(0.9) - stats.norm.ppf(0.1)
    np.testing.assert_allclose(within_spread_model_based(fit).values[0],
                               10 ** (width * SIG_MODEL / BETA))


def test_ratio_guard_rule():
    rng = np.random.default_rng(0)
    clear = 2.0 + 0.1 * rng.standard_normal(1000)
    assert ratio_guard(clear, np.full(1000, 3.0)) == ""
    # a net change of 0.1 against a gross movement of 3 (the Flan-UL2 -> Minitron pair)
    why = ratio_guard(0.1 + 0.02 * rng.standard_normal(1000), np.full(1000, 3.0),
                      what="the change")
    assert why.startswith("undefined: the change is near zero in 100% of draws")
    # a denominator straddling zero (Cauchy-like ratio)
    assert ratio_guard(rng.standard_normal(1000)).startswith("undefined")
    assert ratio_guard(np.array([1.0, np.nan])).startswith("undefined")


def test_pair_guard_marks_a_small_net_change():
    fit = Tiny("binomial")
    # m1 -> m4 : small net change relative to its parts? build both kinds of pair
    dec = pair_decomposition(fit, [("m0", "m3"), ("m1", "m4")])
    guards = pair_guards(dec)
    net = (fit.latent[:, 4] - fit.latent[:, 1])
    gross = np.abs(fast_components(fit).values[:, :, [1, 4], :].transpose(0, 1, 3, 2)
                   [..., 1] - fast_components(fit).values[:, :, [1, 4], :]
                   .transpose(0, 1, 3, 2)[..., 0]).sum(-1)[0]
    expected_undefined = np.mean(np.abs(net) < 0.1 * gross) >= 0.05
    assert bool(guards["m1 -> m4"]["share"]) == expected_undefined
    assert guards["m0 -> m3"]["share"] == ""


def test_frontier_gain_by_hand():
    fit = Tiny("binomial")
    g = frontier_gain(fit, top_k=1)
    acc = fit.models["mmlu_pro_acc"].to_numpy()
    first = [i for i in range(6) if PIDX[i] == 0]
    last = [i for i in range(6) if PIDX[i] == 1]
    f = first[int(np.argmax(acc[first]))]
    la = last[int(np.argmax(acc[last]))]
    assert g.attrs["first"] == IDS[f] and g.attrs["last"] == IDS[la]

    def a(e):
        return 0.1 + 0.9 / (1 + np.exp(-e))

    eta = fit.latent
    gain = a(eta[:, la]) - a(eta[:, f])
    cf = a(eta[:, la] - BETA * X[la] + BETA * X[f]) - a(eta[:, f])
    np.testing.assert_allclose(g["gain"].values[0], gain)
    np.testing.assert_allclose(g["gain_without_scaling"].values[0], cf)
    np.testing.assert_allclose(g["compute_share"].values[0], (gain - cf) / gain)
    np.testing.assert_allclose(g["decades_compute"].values[0], X[la] - X[f])
    np.testing.assert_allclose(g["decades_period"].values[0],
                               (GAMMA[:, 1] - GAMMA[:, 0]) / BETA)
    total = sum(g[f"decades_{c}"] for c in ("compute", "period", "developer", "model"))
    np.testing.assert_allclose(g["decades_total"].values, total.values)


def test_mix_draws_weights():
    a = xr.Dataset({"v": (("chain", "draw"), np.zeros((2, 50)))})
    b = xr.Dataset({"v": (("chain", "draw"), np.ones((2, 50)))})
    mixed = mix_draws([a, b], [0.3, 0.7])
    # as many draws as the fits supply without replacement: 100 / 0.7 = 142
    assert mixed.sizes == {"chain": 1, "draw": 142}
    assert float(mixed["v"].sum()) == 99 and float(mixed["v"].mean()) == pytest.approx(
        0.7, abs=0.005)
    fewer = xr.Dataset({"v": (("chain", "draw"), np.ones((1, 30)))})
    first = mix_draws([a + np.arange(100).reshape(2, 50), fewer], [1.0, 0.0])
    np.testing.assert_array_equal(first["v"].values.ravel(), np.arange(100))
    with pytest.raises(Exception, match="non-negative weight"):
        mix_draws([a, b], [1.0])


def _design(seed=0, n_dev=12, per=6):
    rng = np.random.default_rng(seed)
    n = n_dev * per
    dev = np.repeat(np.arange(n_dev), per)
    x = rng.normal(0, 1.5, n)
    period = rng.integers(0, 3, n)
    blocks = {"compute": x, "period": Categorical(period), "developer": Categorical(dev)}
    return rng, x, period, dev, blocks


def test_subset_r2_many_equals_one_at_a_time():
    rng, x, period, dev, blocks = _design()
    Y = (0.6 * x)[:, None] + rng.standard_normal((len(x), 5))
    many = subset_r2_many(Y, blocks)
    for j in range(5):
        one = _SubsetR2(Y[:, j], blocks)()
        for key, value in one.items():
            assert many[key][j] == pytest.approx(value, abs=1e-10)


def test_subset_r2_many_with_a_block_without_columns():
    """One developer: its block has no dummy column; R² of subsets with it alone is 0."""
    rng, x, period, dev, blocks = _design()
    blocks["developer"] = Categorical(np.zeros(len(x), dtype=int))
    Y = (0.6 * x)[:, None] + rng.standard_normal((len(x), 3))
    many = subset_r2_many(Y, blocks)
    assert np.all(many[frozenset({"developer"})] == 0.0)
    for j in range(3):
        one = _SubsetR2(Y[:, j], blocks)()
        for key, value in one.items():
            assert many[key][j] == pytest.approx(value, abs=1e-10)


def test_shapley_null_level_and_excess_on_data_without_developer_effect():
    rng, x, period, dev, blocks = _design(seed=3)
    y = 0.6 * x + 0.3 * period + 0.5 * rng.standard_normal(len(x))
    observed = weighted_shapley(y, blocks)["developer"]
    null = parametric_null(y, blocks, n_null=300, seed=1)[:, 2]
    lo, hi = np.percentile(null, [3, 97])
    # the statistic is far from zero with no developer effect, and sits in its null band
    assert np.median(null) > 0.03
    assert lo <= observed <= hi
    # with a real developer effect it exceeds the null band
    y2 = y + np.repeat(rng.normal(0, 0.8, 12), 6)
    assert weighted_shapley(y2, blocks)["developer"] > np.percentile(
        parametric_null(y2, blocks, n_null=300, seed=1)[:, 2], 97)


def test_cluster_bootstrap_equals_resampling_developers():
    rng, x, period, dev, blocks = _design(seed=5, n_dev=6, per=4)
    y = 0.6 * x + 0.5 * rng.standard_normal(len(x))
    boot = cluster_bootstrap(y, blocks, dev.astype(str), n_boot=3, seed=7)
    counts = np.random.default_rng(7).multinomial(6, np.full(6, 1 / 6), size=3)
    for r in range(3):
        rows = np.concatenate([np.flatnonzero(dev == d) for d in range(6)
                               for _ in range(counts[r, d])])
        # duplicated developers as separate levels: the explicit resample
        copies = np.concatenate([np.full(4, k) for k, d in enumerate(
            [d for d in range(6) for _ in range(counts[r, d])])])
        sub = {"compute": x[rows], "period": Categorical(pd.factorize(period[rows])[0]),
               "developer": Categorical(copies)}
        explicit = weighted_shapley(y[rows], sub)
        assert boot[r, 2] == pytest.approx(explicit["developer"], abs=1e-9)


def test_draw_diagnostics_per_figure():
    rng = np.random.default_rng(0)
    good = rng.standard_normal((4, 200))
    stuck = good + np.arange(4)[:, None] * 3.0      # chains disagree: R-hat far above 1
    ds = xr.Dataset({"good": (("chain", "draw"), good), "stuck": (("chain", "draw"), stuck),
                     "const": (("chain", "draw"), np.full((4, 200), 2.5)),
                     "nan": (("chain", "draw"), np.full((4, 200), np.nan))})
    diag = draw_diagnostics(ds)
    assert diag.loc["good", "rhat"] < 1.02 and diag.loc["good", "ess_bulk"] > 400
    assert diag.loc["stuck", "rhat"] > 1.5
    assert diag.loc[["const", "nan"]].isna().all().all()


def _row(fid, kind="posterior", est=0.5, lo=0.4, hi=0.6, p_claim=math.nan,
         prob=math.nan, note=""):
    return {"figure": fid, "kind": kind, "unit": "share", "estimate": est, "lower": lo,
            "upper": hi, "p_claim": p_claim, "probability": prob, "paper_value": math.nan,
            "note": note}


def test_verdict_uses_the_primary_definition_not_the_best():
    table = pd.DataFrame([
        _row(PRIMARY["company_share"], est=0.33, lo=0.27, hi=0.39, p_claim=0.0),
        _row("variance_developer_share", est=0.16, lo=0.14, hi=0.18, p_claim=0.95),
        _row("shapley_developer_share", kind="sampling band", est=0.18, lo=0.12, hi=0.24),
        _row(PRIMARY["frontier_compute_share"], est=float("nan"), lo=float("nan"),
             hi=float("nan"), note="undefined: the frontier's gain is near zero"),
        _row("frontier_pair_compute_share", est=0.85, lo=0.81, hi=0.89, p_claim=0.97),
    ])
    verdicts = {v.key: v for v in claim_verdicts(table, developer_coding="developer")}
    company = verdicts["company_share"]
    assert company.probability == 0.0 and company.verdict == "not supported"
    assert company.text.index("Primary definition") < company.text.index("33%")
    assert "16%" in company.text          # the other definition is shown beside it
    frontier = verdicts["frontier_compute_share"]
    assert math.isnan(frontier.probability) and frontier.verdict == "not assessable"
    assert "undefined" in frontier.text and "85%" in frontier.text


def test_frontier_gain_averaged_mixes_fits():
    from bayes_llm.derived.frontier import frontier_gain_averaged

    a, b = Tiny("binomial"), _steeper("tiny_b")
    mixed = frontier_gain_averaged([a, b], [0.5, 0.5], top_k=1)
    ga, gb = frontier_gain(a, top_k=1), frontier_gain(b, top_k=1)
    assert mixed.sizes["draw"] == 4  # equal weights: every draw of both fits
    values = set(np.round(mixed["gain_from_scaling"].values.ravel(), 12))
    pool = set(np.round(np.concatenate([ga["gain_from_scaling"].values.ravel(),
                                        gb["gain_from_scaling"].values.ravel()]), 12))
    assert values <= pool


def test_reference_model_is_fixed_by_date_not_by_period_coding():
    from bayes_llm.derived.frontier import default_reference_compute, reference_parts

    fit = Tiny("binomial")
    cohort_ref = default_reference_compute(fit)
    first = [i for i in range(6) if PIDX[i] == 0]
    assert cohort_ref == pytest.approx(np.median(X[first] + 23.5))
    # a finer period coding (first period: one model) leaves the reference unchanged
    fit.models["period"] = ["q0", "q1", "q2", "q3", "q2", "q1"]
    assert default_reference_compute(fit) == pytest.approx(cohort_ref)
    # the reference's period effect: model-weighted mean over the first window's models
    parts = reference_parts(fit, cohort_ref)
    expected = GAMMA[:, PIDX[first]].mean(axis=1)
    np.testing.assert_allclose(parts.sel(component="period").values[0], expected)


def test_frontier_gain_uses_the_fits_compute_curve():
    fit = Tiny("binomial")
    knots = np.array([0.0, 1.0])
    slopes = np.array([[1.2, 0.6, 0.2], [1.0, 0.5, 0.1]])     # draws x segments

    def f(x, s):
        lower, upper = np.array([-np.inf, 0.0, 1.0]), np.array([0.0, 1.0, np.inf])
        return sum(s[k] * (np.clip(x, lower[k], upper[k]) - np.clip(0.0, lower[k], upper[k]))
                   for k in range(3))

    post = fit.dt["posterior"].to_dataset().assign(
        compute_slope=(("chain", "draw", "compute_segment"), slopes[None]))
    fit.dt["posterior"] = xr.DataTree(post)
    const = fit.dt["constant_data"].to_dataset().assign(
        compute_knots=("compute_knot", knots))
    fit.dt["constant_data"] = xr.DataTree(const)
    g = frontier_gain(fit, top_k=1)
    acc = fit.models["mmlu_pro_acc"].to_numpy()
    first = [i for i in range(6) if PIDX[i] == 0]
    last = [i for i in range(6) if PIDX[i] == 1]
    fi, la = first[int(np.argmax(acc[first]))], last[int(np.argmax(acc[last]))]

    def a(e):
        return 0.1 + 0.9 / (1 + np.exp(-e))

    eta = fit.latent
    cf = np.array([a(eta[d, la] - f(X[la], slopes[d]) + f(X[fi], slopes[d])) - a(eta[d, fi])
                   for d in range(2)])
    np.testing.assert_allclose(g["gain_without_scaling"].values[0], cf)


def test_anova_batches_by_hand():
    fit = Tiny("binomial")
    ds = company_shares(fit)
    np.testing.assert_allclose(ds["sd_period_finite"].values[0], GAMMA.std(axis=1, ddof=1))
    np.testing.assert_allclose(ds["sd_model_finite"].values[0], E.std(axis=1, ddof=1))


def test_headline_table_passes_the_interval_setting_through():
    from bayes_llm.derived.headline import headline_draws, headline_table
    from bayes_llm.derived.summary import summarise_draws

    fit = Tiny("binomial")
    draws = headline_draws(fit, top_k=1)
    table = headline_table(fit, paper=False, draws=draws, n_boot=20, n_null=20,
                           hdi_prob=0.5, ci_kind="eti").set_index("figure")
    row = table.loc["company_share_superpop"]
    assert row["interval"] == "50% ETI" and row["kind"] == "posterior"
    expected = summarise_draws(draws["company_share_superpop"], hdi_prob=0.5, ci_kind="eti")
    assert (row["lower"], row["upper"]) == pytest.approx((expected["lower"],
                                                          expected["upper"]))
    assert table.loc["shapley_developer_share", "interval"].startswith("50% percentile band")
    assert table.loc["shapley_developer_share_null", "kind"] == "null reference"


def _steeper(name: str, factor: float = 1.5) -> Tiny:
    """A Tiny fit of the same data whose compute slope is ``factor`` times steeper."""
    fit = Tiny("binomial", name=name)
    post = fit.dt["posterior"].to_dataset()
    fit.dt["posterior"] = xr.DataTree(post.assign(beta=post["beta"] * factor))
    return fit


def test_headline_adds_the_curve_averaged_frontier_rows():
    from bayes_llm.derived.averaging import AVERAGED_KIND
    from bayes_llm.derived.headline import headline_table, headline_text

    a, b = Tiny("binomial"), _steeper("tiny_b")
    full = headline_table(a, paper=False, top_k=1, n_boot=10, n_null=10,
                          curve_fits=[b], curve_weights=[0.5, 0.5])
    assert "model-averaged rows: tiny 0.50, tiny_b 0.50 (weights given)" in headline_text(full)
    table = full.set_index("figure")
    row = table.loc["frontier_gain_compute_share_averaged"]
    assert row["kind"] == AVERAGED_KIND and "tiny 0.50, tiny_b 0.50" in row["definition"]
    assert row["fit_diagnostics"] == "n/a"  # fakes carry no diagnostics
    pooled = np.concatenate([frontier_gain(f, top_k=1)["compute_share"].values.ravel()
                             for f in (a, b)])
    assert row["estimate"] == pytest.approx(np.median(pooled))
    ids = list(table.index)
    for base in ("frontier_gain_compute_share", "frontier_gain", "frontier_decades_total"):
        assert ids.index(f"{base}_averaged") == ids.index(base) + 1


def test_model_average_with_weights_one_zero_is_the_first_fit():
    from bayes_llm.derived.averaging import averaged_frontier
    from bayes_llm.derived.headline import headline_table

    a, b = Tiny("binomial"), _steeper("tiny_b", 3.0)
    mixed = averaged_frontier([a, b], [1.0, 0.0], top_k=1)
    own = frontier_gain(a, top_k=1)
    for var in ("compute_share", "gain", "gain_from_scaling", "decades_total"):
        np.testing.assert_array_equal(mixed[var].values.ravel(), own[var].values.ravel())
    table = headline_table(a, paper=False, top_k=1, n_boot=10, n_null=10,
                           curve_fits=[b], curve_weights=[1.0, 0.0]).set_index("figure")
    for base in ("frontier_gain_compute_share", "frontier_gain_from_scaling"):
        single, avg = table.loc[base], table.loc[f"{base}_averaged"]
        assert (avg["estimate"], avg["lower"], avg["upper"]) == \
            (single["estimate"], single["lower"], single["upper"])
    # and the other way round it is the second fit's
    second = averaged_frontier([a, b], [0.0, 1.0], top_k=1)
    np.testing.assert_array_equal(second["compute_share"].values.ravel(),
                                  frontier_gain(b, top_k=1)["compute_share"].values.ravel())


def test_model_average_with_equal_weights_pools_the_draws():
    from bayes_llm.derived.averaging import averaged_frontier

    a, b = Tiny("binomial"), _steeper("tiny_b", 3.0)
    mixed = averaged_frontier([a, b], "equal", top_k=1)
    assert mixed.attrs["weights"] == [0.5, 0.5]
    assert mixed.attrs["weights_source"] == "equal weights"
    pooled = np.concatenate([frontier_gain(f, top_k=1)["compute_share"].values.ravel()
                             for f in (a, b)])
    np.testing.assert_array_equal(np.sort(mixed["compute_share"].values.ravel()),
                                  np.sort(pooled))


def _validate_folder(path, scores: dict[str, list[float]]):
    """A validate folder with summary.csv and scores.csv of these methods (NaN: unscored)."""
    path.mkdir(exist_ok=True)
    pd.DataFrame({"method": list(scores), "stacking_weight": 1.0 / len(scores)}).to_csv(
        path / "summary.csv", index=False)
    rows = [{"method": m, "model_id": f"m{i}", "log_score": v}
            for m, values in scores.items() for i, v in enumerate(values) if np.isfinite(v)]
    pd.DataFrame(rows).to_csv(path / "scores.csv", index=False)
    return path


def test_model_average_reads_stacking_weights_by_spec_name(tmp_path):
    from bayes_llm.derived.averaging import averaged_frontier, stacking_weights_from
    from bayes_llm.validate.stacking import stacking_weights

    a, b = Tiny("binomial"), _steeper("tiny_b")
    rng = np.random.default_rng(1)
    ls = {"paper_ols": list(rng.normal(-9, 1, 6)), "tiny_b": list(rng.normal(-9, 1, 6)),
          "tiny": [*rng.normal(-9, 1, 5), np.nan]}  # m5 not scored by tiny
    folder = _validate_folder(tmp_path / "v", ls)
    weights, note = stacking_weights_from(folder, ["tiny", "tiny_b"])
    expected, _ = stacking_weights(np.column_stack([ls["tiny"][:5], ls["tiny_b"][:5]]))
    assert weights == pytest.approx(list(expected), abs=1e-12)
    assert "5 held-out models" in note and "re-optimised without paper_ols" in note
    mixed = averaged_frontier([a, b], folder, top_k=1)
    assert mixed.attrs["weights"] == pytest.approx(list(expected), abs=1e-12)
    # a spec that predicts better everywhere takes (almost) all the weight
    better = _validate_folder(tmp_path / "w", {"tiny": [-9.0] * 4, "tiny_b": [-7.0] * 4})
    assert stacking_weights_from(better, ["tiny", "tiny_b"])[0][1] > 0.99
    with pytest.raises(BayesLLMError, match=r"no stacking weight for spec\(s\) 'tiny_c'"):
        averaged_frontier([a, _steeper("tiny_c")], folder, top_k=1)
    with pytest.raises(BayesLLMError, match="no summary.csv"):
        averaged_frontier([a, b], tmp_path / "nowhere", top_k=1)


def test_model_average_refuses_fits_of_different_data():
    from bayes_llm.derived.averaging import averaged_frontier

    a, b = Tiny("binomial"), _steeper("tiny_b")
    b.metadata = {"data_hash": "other-data"}
    with pytest.raises(BayesLLMError, match="'tiny' and 'tiny_b' were made on different data"):
        averaged_frontier([a, b], "equal", top_k=1)
    b.metadata = {}
    with pytest.raises(BayesLLMError, match="records no data hash"):
        averaged_frontier([a, b], "equal", top_k=1)
    with pytest.raises(BayesLLMError, match="distinct specs"):
        averaged_frontier([a, Tiny("binomial")], "equal", top_k=1)
    with pytest.raises(BayesLLMError, match="2 non-negative weights"):
        averaged_frontier([a, _steeper("tiny_b")], [1.0, -1.0], top_k=1)


def test_model_average_flags_a_failed_component():
    from types import SimpleNamespace

    from bayes_llm.derived.headline import headline_table

    a, b = Tiny("binomial"), _steeper("tiny_b")
    a.diagnostics = SimpleNamespace(ok=True, failures=[])
    b.diagnostics = SimpleNamespace(ok=False, failures=["r_hat 1.2 > 1.01 (beta)"])
    table = headline_table(a, paper=False, top_k=1, n_boot=10, n_null=10,
                           curve_fits=[b], curve_weights="equal").set_index("figure")
    row = table.loc["frontier_gain_compute_share_averaged"]
    assert row["fit_diagnostics"].startswith("FAILED in component(s): tiny_b")
    assert "WARNING" in row["note"]
    assert table.loc["frontier_gain_compute_share", "fit_diagnostics"] == "ok"
    # a failed fit whose weight gives it no draws is not in the mixture: not flagged
    for tiny_weight in (0.0, 1e-9):
        zero = headline_table(a, paper=False, top_k=1, n_boot=10, n_null=10,
                              curve_fits=[b], curve_weights=[1.0, tiny_weight])
        assert "draws in the mixture: tiny 2, tiny_b 0" in zero.attrs["model_average"]
        assert zero.set_index("figure").loc["frontier_gain_compute_share_averaged",
                                            "fit_diagnostics"] == "ok (every component fit)"


def test_headline_cli_refuses_half_an_average(tmp_path, capsys):
    from bayes_llm.cli import main

    assert main(["headline", str(tmp_path), "--weights", "equal"]) == 2
    assert "--weights needs --average-with" in capsys.readouterr().err
    assert main(["headline", str(tmp_path), "--average-with", str(tmp_path)]) == 2
    assert "--average-with needs --weights" in capsys.readouterr().err
    assert main(["headline", str(tmp_path), "--average-with", str(tmp_path),
                 "--weights", str(tmp_path)]) == 2
    assert "no summary.csv there" in capsys.readouterr().err


def test_frontier_gain_plot_data():
    from bayes_llm.plots.frontier import frontier_gain_data

    data = frontier_gain_data(fit=Tiny("binomial"), top_k=1).set_index("quantity")
    assert set(data.index) == {"gain", "gain_from_scaling", "gain_without_scaling",
                               "decades_compute", "decades_period", "decades_developer",
                               "decades_model", "decades_total"}
    assert (data["lower"] <= data["upper"]).all()


def test_mundlak_term_is_in_the_fixed_part():
    fit = Tiny("binomial")
    lam = np.array([0.3, 0.2])
    xbar_units = np.array([X[DIDX == j].mean() for j in range(3)])
    post = fit.dt["posterior"].to_dataset().assign(
        mundlak_lambda=(("chain", "draw"), lam[None]))
    fit.dt["posterior"] = xr.DataTree(post)
    const = fit.dt["constant_data"].to_dataset().assign(
        developer_mean_compute=("developer", xbar_units))
    fit.dt["constant_data"] = xr.DataTree(const.assign_coords(developer=DEVS))
    ds = company_shares(fit)
    fixed = BETA[:, None] * X + GAMMA[:, PIDX] + lam[:, None] * xbar_units[DIDX]
    np.testing.assert_allclose(ds["variance_fixed"].values[0], _pop_var(fixed))
    assert "Mundlak" in ds.attrs["developer_note"]


def test_errors_in_variables_compute_is_used_per_draw():
    fit = Tiny("binomial")
    x_true = X[None, :] + np.array([[0.1, 0.0, -0.3, 0.2, 0.0, 0.1],
                                    [-0.2, 0.1, 0.0, 0.4, 0.1, 0.0]])
    post = fit.dt["posterior"].to_dataset().assign(
        log10_flop_true=(("chain", "draw", "model"), x_true[None]))
    fit.dt["posterior"] = xr.DataTree(post)
    fast = fast_components(fit)
    ref = stacked_components(fit).transpose(*fast.dims)
    np.testing.assert_allclose(fast.values, ref.values, atol=1e-12)
    np.testing.assert_allclose(fast.sel(component="compute").values[0],
                               BETA[:, None] * x_true)
    g = frontier_gain(fit, top_k=1)
    first, last = g.attrs["first"], g.attrs["last"]
    fi, la = IDS.index(first), IDS.index(last)
    # the change in compute is the true (latent) one, per draw
    np.testing.assert_allclose(g["decades_compute"].values[0], x_true[:, la] - x_true[:, fi])
