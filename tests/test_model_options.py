"""Issue-10 model options: spec keys, the 809-model build, the compute curve, lineage matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.data.lineage import (
    follow_to_root,
    lineage_summary,
    lineage_table,
)
from bayes_llm.errors import SpecError
from bayes_llm.model import build_model, prepare_data, spec_from_dict
from bayes_llm.model.curve import compute_effect, compute_slope_at, inverse_compute_effect
from bayes_llm.model.design import developer_mean_compute, segment_labels
from bayes_llm.model.spec import OPTION_DEFAULTS, load_spec

BASE = {"name": "t", "likelihood": "binomial", "period_effect": "fixed",
        "developer": "developer"}
NEW_SPECS = {"binomial_t_developers": {"model_effect": "student_t"},
             "binomial_monotone": {"compute_curve": "monotone"},
             "binomial_lineage": {"lineage_effect": True},
             "binomial_protocol": {"protocol_effect": True},
             "binomial_mundlak": {"developer_mean_compute": True},
             "binomial_eiv_t": {"compute_error": True, "compute_population": "student_t"}}


# --- spec keys -------------------------------------------------------------------------

def test_options_default_to_the_old_model_and_leave_hash_and_toml_unchanged():
    plain = spec_from_dict(BASE)
    explicit = spec_from_dict({**BASE, **{k: (list(v) if isinstance(v, tuple) else v)
                                          for k, v in OPTION_DEFAULTS.items()
                                          if k != "compute_knots"}})
    assert plain.hash() == explicit.hash()
    for key in OPTION_DEFAULTS:
        assert key not in plain.to_dict()
        assert key not in plain.to_toml()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"model_effect": "cauchy"}, "unknown model_effect 'cauchy'"),
        ({"model_effect": "student_t", "likelihood": "logit_normal"},
         "needs likelihood = 'binomial'"),
        ({"compute_curve": "spline"}, "unknown compute_curve 'spline'"),
        ({"compute_curve": "monotone", "compute_knots": [23.0, 22.0]}, "strictly increasing"),
        ({"compute_curve": "monotone", "compute_knots": []}, "non-empty list"),
        ({"compute_curve": "monotone", "compute_knots": "22,23"}, "non-empty list"),
        ({"compute_curve": "monotone", "compute_knots": [22.0, float("nan")]},
         "finite numbers"),
        ({"compute_curve": "monotone", "compute_knots": [22, True]}, "finite numbers"),
        ({"compute_knots": [22.0, 23.0]}, "only with compute_curve = 'monotone'"),
        ({"compute_curve": "monotone", "developer_slopes": True}, "cannot be combined"),
        ({"compute_curve": "monotone", "compute_period_interaction": True},
         "cannot be combined"),
        ({"lineage_effect": "yes"}, "'lineage_effect' must be true or false"),
        ({"protocol_effect": 1}, "'protocol_effect' must be true or false"),
        ({"developer_mean_compute": "no"}, "'developer_mean_compute' must be true or false"),
        ({"developer_mean_compute": True, "developer": "none"}, "needs a developer level"),
        ({"compute_population": "student_t"}, "needs compute_error = true"),
        ({"lineage_distribution": "student_t"}, "used only with lineage_effect = true"),
        ({"lineage_effect": True, "lineage_distribution": "cauchy"},
         "unknown lineage_distribution 'cauchy'"),
        ({"compute_population": "laplace", "compute_error": True},
         "unknown compute_population 'laplace'"),
        ({"priors": {"sigma_lineage": {"dist": "Normal", "mu": 0, "sigma": 1}}}, "is a scale"),
        ({"priors": {"nu_model": {"dist": "Gamma", "alpha": 2, "beta": -1}}},
         "must be positive"),
    ],
)
def test_invalid_option_values_are_one_line_errors(change, fragment):
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, **change}, source="bad.toml")
    message = str(err.value)
    assert fragment in message
    assert message.startswith("bad.toml") and "\n" not in message


def test_knots_round_trip_through_toml(tmp_path):
    spec = spec_from_dict({**BASE, "compute_curve": "monotone",
                           "compute_knots": [21, 23.5, 25]})
    assert spec.compute_knots == (21.0, 23.5, 25.0)
    path = tmp_path / "s.toml"
    path.write_text(spec.to_toml())
    again = load_spec(path)
    assert again.compute_knots == spec.compute_knots and again.hash() == spec.hash()


@pytest.mark.parametrize("name", [*NEW_SPECS, "binomial_robust"])
def test_bundled_option_specs_differ_from_the_default_only_by_their_options(name):
    spec = load_spec(name).to_dict()
    default = load_spec("binomial_developers").to_dict()
    assert spec["description"]
    changed = {k for k in set(spec) | set(default)
               if k not in ("name", "description", "sampler") and spec.get(k) != default.get(k)}
    assert {**spec["sampler"], "draws": 1000} == default["sampler"]  # lineage specs: more draws
    expected = set(NEW_SPECS.get(name, {}))
    if name == "binomial_robust":
        expected = {"compute_curve", "lineage_effect", "protocol_effect"}
    assert changed == expected


# --- the model on the 809 models -------------------------------------------------------

def test_every_option_builds_on_the_809_models_with_a_finite_log_density(paper_df):
    spec = spec_from_dict({**BASE, "model_effect": "student_t", "compute_curve": "monotone",
                           "lineage_effect": True, "protocol_effect": True,
                           "developer_mean_compute": True, "compute_error": True,
                           "compute_population": "student_t"})
    data = prepare_data(paper_df, spec)
    model = build_model(data, spec)
    free = {v.name for v in model.free_RVs}
    assert {"nu_model", "log_slope_mean", "sigma_curve", "log_compute_slope", "sigma_lineage",
            "lineage_multi_effect", "lineage_single_z", "protocol_effect", "mundlak_lambda",
            "nu_x",
            "log10_flop_true"} <= free
    assert "beta" not in free  # derived: the curve's slope at the centre
    assert {"compute_slope", "beta", "lineage_effect"} <= {v.name for v in model.deterministics}
    assert model["eta"].owner.op.__class__.__name__.startswith("StudentT")
    assert model["log10_flop_true"].owner.op.__class__.__name__.startswith("StudentT")
    dims = model.named_vars_to_dims
    assert dims["compute_slope"] == ("compute_segment",)
    assert dims["lineage_effect"] == ("lineage",)
    assert model.coords["compute_segment"] == ("<22", "22-23", "23-24", "24-25", ">25")
    assert len(model.coords["lineage"]) == 587
    assert (len(model.coords["lineage_multi"]), len(model.coords["lineage_single"])) == (54, 533)
    assert int(data.off_harness.sum()) == 11
    assert np.isfinite(model.compile_logp()(model.initial_point()))


def test_design_arrays_of_the_options(paper_df):
    spec = spec_from_dict({**BASE, "protocol_effect": True, "developer_mean_compute": True})
    data = prepare_data(paper_df, spec)
    off = data.frame.loc[data.off_harness == 1.0]
    assert len(off) == 11 and off["hf_id"].isna().all()
    assert set(off["developer"]) == {"anthropic", "deepseek-ai", "google", "grok", "open_ai"}
    means = data.frame.assign(x=data.x).groupby("developer")["x"].mean()
    np.testing.assert_allclose(data.developer_mean_x, means.reindex(data.coords["developer"]))
    assert data.lineage_idx is None and data.knots is None  # options off: nothing built


def test_monotone_curve_in_the_graph_matches_compute_effect(paper_df):
    """The PyMC graph's f(x) and the downstream compute_effect agree at a random point."""
    spec = spec_from_dict({**BASE, "likelihood": "logit_normal", "developer": "none",
                           "compute_curve": "monotone"})
    df = paper_df.iloc[::20]
    data = prepare_data(df, spec)
    model = build_model(data, spec)
    rng = np.random.default_rng(3)
    point = model.initial_point()
    point["log_compute_slope"] = rng.normal(-0.5, 0.7, size=5)
    point["alpha"] = 0.3
    point["period_effect_zerosum__"] = rng.normal(size=2)
    outs = model.replace_rvs_by_values([model["compute_slope"], model["period_effect"]])
    evaluate = model.compile_fn([*outs, model.logp(vars=[model["y"]], sum=True)],
                                inputs=model.value_vars, on_unused_input="ignore")
    slopes, period, got = evaluate(point)
    post = xr.Dataset({"compute_slope": (("chain", "draw", "compute_segment"),
                                         slopes[None, None, :])})
    f = compute_effect(post, data.x, knots=data.knots).values.ravel()
    sigma = np.exp(point["sigma_log__"])
    mu = 0.3 + f + period[data.period_idx]
    expected = np.sum(-0.5 * ((data.y - mu) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi)))
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # the check can fail: knots off by half a decade give another log density
    f_bad = compute_effect(post, data.x, knots=data.knots + 0.5).values.ravel()
    mu_bad = 0.3 + f_bad + period[data.period_idx]
    bad = np.sum(-0.5 * ((data.y - mu_bad) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi)))
    assert not np.isclose(got, bad, rtol=1e-6)


# --- the compute curve -----------------------------------------------------------------

def _monotone_posterior(slopes):
    return xr.Dataset({"compute_slope": (("chain", "draw", "compute_segment"),
                                         np.asarray(slopes, float)[None])})


def test_compute_effect_hand_computed_piecewise_line():
    knots = np.array([-1.0, 1.0])  # segments (-inf,-1], [-1,1], [1,inf)
    post = _monotone_posterior([[2.0, 0.5, 1.0]])
    x = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 4.0])
    # f(0) = 0; inside the middle segment slope 0.5; beyond 1 slope 1; below -1 slope 2
    expected = [-0.5 - 2 * 2.0, -0.5, 0.0, 0.25, 0.5, 0.5 + 3.0]
    f = compute_effect(post, x, knots=knots)
    np.testing.assert_allclose(f.values.ravel(), expected)
    slope = compute_slope_at(post, x, knots=knots).values.ravel()
    np.testing.assert_allclose(slope, [2.0, 0.5, 0.5, 0.5, 1.0, 1.0])
    back = inverse_compute_effect(post, xr.DataArray(np.array(expected), dims="model"),
                                  knots=knots)
    np.testing.assert_allclose(back.values.ravel(), x)


def test_equal_slopes_reproduce_the_linear_curve_and_linear_is_beta_x():
    knots = np.array([-1.5, 0.5, 2.0])
    x = np.linspace(-4, 4, 17)
    mono = compute_effect(_monotone_posterior([[0.7] * 4]), x, knots=knots)
    lin = compute_effect(xr.Dataset({"beta": (("chain", "draw"), [[0.7]])}), x)
    np.testing.assert_allclose(mono.values, lin.values)
    np.testing.assert_allclose(lin.values.ravel(), 0.7 * x)
    bad = xr.Dataset({"beta": (("chain", "draw"), [[-0.2]])})
    assert np.isnan(inverse_compute_effect(bad, 1.0).values).all()
    with pytest.raises(ValueError, match="needs its knots"):
        compute_effect(_monotone_posterior([[1.0, 1.0]]), x)


def test_segment_labels():
    assert segment_labels((22.0, 23.0, 24.5)) == ["<22", "22-23", "23-24.5", ">24.5"]
    np.testing.assert_allclose(developer_mean_compute(np.array([1.0, 3.0, 5.0]),
                                                      np.array([0, 0, 1]), 2), [2.0, 5.0])


# --- lineages --------------------------------------------------------------------------

def test_lineage_chain_follows_to_the_root_and_survives_cycles():
    bases = {"a/ft2": "a/ft1", "a/ft1": "a/base", "a/base": "a/base",
             "b/x": "b/y", "b/y": "b/z", "b/z": "b/x",  # a cycle
             "c/ft": "c/unlisted-base"}
    assert follow_to_root("a/ft2", bases) == "a/base"
    assert follow_to_root("a/base", bases) == "a/base"
    assert {follow_to_root(n, bases) for n in ("b/x", "b/y", "b/z")} == {"b/x"}
    assert follow_to_root("c/ft", bases) == "c/unlisted-base"
    assert follow_to_root("d/unknown", bases) == "d/unknown"


def test_lineage_table_matches_on_name_and_precision():
    leaderboard = pd.DataFrame({
        "model_name": ["Org/Base", "u/FT", "u/FT", "v/Merge", "w/ft-of-lower"],
        "model_precision": ["bfloat16", "bfloat16", "float16", "bfloat16", "bfloat16"],
        "metadata_base_model": ["Org/Base", "Org/Base", "Org/Base", "v/Merge (Merge)",
                                "org/base"],
    })
    frame = pd.DataFrame({
        "model_id": ["base", "ft", "ft16", "merge", "wrong_precision", "closed", "lower"],
        "hf_id": ["Org_Base_bfloat16", "u_FT_bfloat16", "u_FT_float16", "v_Merge_bfloat16",
                  "Org_Base_float16", None, "w_ft-of-lower_bfloat16"],
    })
    table = lineage_table(frame, leaderboard)
    assert table["matched"].tolist() == [True, True, True, True, False, False, True]
    assert table["lineage"].tolist() == ["org/base", "org/base", "org/base", "v/merge",
                                         "own:wrong_precision", "own:closed", "org/base"]
    assert lineage_summary(table) == {"models": 7, "matched": 5, "lineages": 4,
                                      "lineages_multi": 1, "models_in_multi": 4}


def test_lineages_of_the_809_models(paper_df):
    table = lineage_table(paper_df)
    summary = lineage_summary(table)
    assert summary == {"models": 809, "matched": 798, "lineages": 587, "lineages_multi": 54,
                       "models_in_multi": 276}
    assert (~table["matched"]).tolist() == paper_df["hf_id"].isna().tolist()
    sizes = table["lineage"].value_counts()
    assert sizes.index[0] == "qwen/qwen2.5-0.5b" and sizes.iloc[0] == 29


def test_fingerprint_lineages_group_fine_tunes_with_their_base():
    from bayes_llm.data.lineage import fingerprint_lineages, model_lineages

    frame = pd.DataFrame({
        "model_id": ["base", "ft", "merge", "other_size", "no_tokens", "other_base",
                     "small", "huge"],
        "params_b": [7.616, 7.6155, 7.616, 8.03, 7.616, 7.616, 0.1, 7.616],
        "tokens_base_b": [18000.0, 18000.0, 18000.0, 18000.0, None, 15000.0, 2.5,
                          1234567.891],
    })
    labels = fingerprint_lineages(frame).tolist()
    assert labels[:3] == ["fp:7.62B/18000BT"] * 3  # rounded to 0.01 B
    assert labels[3] == "fp:8.03B/18000BT" and labels[5] == "fp:7.62B/15000BT"
    # tokens in fixed notation at 0.01 B: never an exponent, never 6-digit rounding
    assert labels[6] == "fp:0.10B/2.5BT" and labels[7] == "fp:7.62B/1234567.89BT"
    assert labels[4] == "own:no_tokens"
    no_params = frame.drop(columns="params_b")
    assert model_lineages(no_params, "fingerprint")[0] == "own:base"
    with pytest.raises(ValueError, match="unknown lineage source"):
        model_lineages(frame, "names")


def test_developer_kinds_from_who_founded_each_lineage():
    from bayes_llm.data.lineage import developer_kinds, lineage_founders

    frame = pd.DataFrame({
        "developer": ["lab", "tuner", "lab", "both", "both", "solo", "tie_b", "tie_a"],
        "month": ["2024-01", "2024-03", "2024-05", "2024-02", "2024-06", "2024-04",
                  "2024-07", "2024-07"],
    })
    labels = np.array(["fp:A", "fp:A", "fp:B", "fp:A", "fp:C", "own:solo", "fp:D", "fp:D"])
    founders = lineage_founders(frame, labels)
    assert founders == {"fp:A": "lab", "fp:B": "lab", "fp:C": "both", "own:solo": "solo",
                        "fp:D": "tie_a"}  # a tie in the first month: first name
    kinds = developer_kinds(frame, labels)
    # tuner only fine-tunes lab's base; both founded fp:C; a model alone is never derivative
    assert kinds.to_dict() == {"both": "trainer", "lab": "trainer", "solo": "trainer",
                               "tie_a": "trainer", "tie_b": "finetuner",
                               "tuner": "finetuner"}
    # a lineage founded outside the frame (a fit's) makes every model of it derivative
    assert developer_kinds(frame, labels, {"fp:A", "fp:B"})["lab"] == "finetuner"


def test_developer_kinds_of_the_809_models(paper_df):
    spec = spec_from_dict({**BASE, "lineage_effect": True, "lineage_source": "fingerprint",
                           "developer_distribution": "normal_by_kind"})
    data = prepare_data(paper_df, spec)
    assert data.coords["developer_kind"] == ["trainer", "finetuner"]
    kind = pd.Series(np.asarray(data.developer_kind), index=data.coords["developer"])
    assert (kind == 1).sum() == 150 and (kind == 0).sum() == 106
    # the labs that train their own bases are trainers
    assert (kind[["open_ai", "meta-llama", "Qwen", "google", "anthropic"]] == 0).all()


def test_fingerprint_lineages_of_the_809_models(paper_df):
    spec = spec_from_dict({**BASE, "lineage_effect": True, "lineage_source": "fingerprint"})
    data = prepare_data(paper_df, spec)
    labels = np.asarray(data.coords["lineage"])[data.lineage_idx]
    sizes = pd.Series(labels).value_counts()
    # Qwen2.5-7B (7.616 B parameters, 18 T tokens) is the largest base family
    assert sizes.index[0] == "fp:7.62B/18000BT" and sizes.iloc[0] == 72
    assert len(sizes) == 256 and int((sizes > 1).sum()) == 98
    assert data.lineage_alone.sum() == (sizes == 1).sum()


def test_lineage_source_needs_a_lineage_effect_and_a_known_source():
    from bayes_llm.errors import SpecError

    with pytest.raises(SpecError, match="only with lineage_effect"):
        spec_from_dict({**BASE, "lineage_source": "fingerprint"})
    with pytest.raises(SpecError, match="lineage_source"):
        spec_from_dict({**BASE, "lineage_effect": True, "lineage_source": "names"})
    assert spec_from_dict({**BASE, "lineage_effect": True}).lineage_source == "leaderboard"


def test_sensitivity_studies_see_the_option_priors():
    from bayes_llm.sensitivity.study import default_scale_priors, used_priors

    spec = load_spec("binomial_robust")
    used = used_priors(spec)
    assert {"log_slope_mean", "sigma_curve", "sigma_lineage", "protocol_effect"} <= set(used)
    assert {"nu_model", "mundlak_lambda"} <= set(used_priors(
        spec.with_changes(model_effect="student_t", developer_mean_compute=True)))
    assert "beta" not in used  # the monotone curve has no prior on beta
    assert {"sigma_curve", "sigma_lineage"} <= set(default_scale_priors(spec))
    assert "nu_x" in used_priors(load_spec("binomial_eiv_t"))
    floor = load_spec("binomial_floor_mixture")
    assert "collapse_probability" in used_priors(floor)
    by_compute = set(used_priors(floor.with_changes(collapse_by_compute=True)))
    assert {"collapse_intercept", "collapse_compute_slope"} <= by_compute
    assert "collapse_probability" not in by_compute
    by_lineage = set(used_priors(floor.with_changes(collapse_by_lineage=True,
                                                    lineage_effect=True)))
    assert {"sigma_collapse_lineage", "collapse_probability"} <= by_lineage
    assert "sigma_collapse_lineage" in default_scale_priors(
        floor.with_changes(collapse_by_lineage=True, lineage_effect=True))


@pytest.mark.mcmc
def test_tiny_fit_with_every_mixing_option_feeds_components_and_headline(paper_df):
    """Smoke: monotone curve + lineage + protocol + Mundlak fit, then the derived figures."""
    from bayes_llm.derived import headline_draws
    from bayes_llm.model import fit_model, linear_components

    spec = load_spec("binomial_robust").with_changes(developer_mean_compute=True)
    frame = pd.concat([paper_df.iloc[::4], paper_df[paper_df["hf_id"].isna()]])
    frame = frame.drop_duplicates("model_id")  # ~210 models, the 11 off-harness ones included
    fit = fit_model(spec, frame, draws=20, tune=40, chains=1, progressbar=False)
    post = fit.posterior
    comp = linear_components(fit.dt)
    total = (comp["intercept"] + comp["compute"] + comp["period"] + comp["developer"]
             + comp["model_effect"])
    np.testing.assert_allclose(total.values, post["eta"].values, atol=1e-9)
    x = fit.dt["constant_data"]["log10_flop_centred"]
    np.testing.assert_allclose(comp["compute"].values, compute_effect(fit.dt, x).values)
    # beta is the curve's slope at the centring compute (23.5 lies in the 23-24 segment)
    np.testing.assert_allclose(post["beta"].values,
                               post["compute_slope"].sel(compute_segment="23-24").values)
    draws = headline_draws(fit)
    assert np.isfinite(draws["frontier_reference_compute_share"].values).all()
    assert np.isfinite(draws["variance_developer_share"].values).all()
    # a lineage fit reports the lineage block's share beside the company share, and says so
    lineage, company = draws["lineage_share_superpop"].values, draws[
        "company_share_superpop"].values
    assert np.all((lineage > 0) & (lineage < 1) & (lineage + company < 1))
    ratio = (post["sigma_lineage"] ** 2 / post["sigma_developer"] ** 2).values
    np.testing.assert_allclose(lineage / company, ratio, rtol=1e-9)
    assert "lineage_share_superpop" in draws["company_share_superpop"].attrs["note"]
    # the company-share plot shows it too, the same from the draws as recomputed
    from bayes_llm.plots import variance_shares_data

    rows = [variance_shares_data(fit=fit, draws=given, paper=False, n_boot=5, n_null=5)
            .set_index(["method", "component"]).loc[("company", "lineage")]
            for given in (draws, None)]
    assert rows[0]["median"] == pytest.approx(float(np.median(lineage)))
    assert rows[1]["median"] == pytest.approx(rows[0]["median"])


@pytest.mark.slow  # ~3-7 min: the integrated graph's compile and a first adaptation
def test_tiny_integrated_fit_with_student_t_lineages_and_a_trend(paper_df):
    """Smoke: an integrated two-scale fit with Student-t lineages (every lineage effect
    sampled, none summed out with eta) and a within-period trend; the components still
    add up to eta (the trend in the period part), and new rows are predicted."""
    from bayes_llm.model import fit_model, linear_components
    from bayes_llm.prediction import predict

    spec = load_spec("binomial_developers").with_changes(
        integrate_model_effect=True, model_effect="two_scale", lineage_effect=True,
        lineage_source="fingerprint", lineage_distribution="student_t", period_trend=True,
        period_effect="fixed")
    train = paper_df.iloc[::4]
    fit = fit_model(spec, train, draws=20, tune=40, chains=1, progressbar=False)
    post = fit.posterior
    assert "nu_lineage" in post and "lineage_single_z" in post
    assert post["lineage_effect"].sizes["lineage"] == len(fit.dt["posterior"]["lineage"])
    comp = linear_components(fit.dt)
    total = (comp["intercept"] + comp["compute"] + comp["period"] + comp["developer"]
             + comp["model_effect"])
    np.testing.assert_allclose(total.values, post["eta"].values, atol=1e-9)
    trend = post["period_trend"] * fit.dt["constant_data"]["period_time"]
    gamma = post["period_effect"].isel(period=fit.dt["constant_data"]["period_idx"])
    np.testing.assert_allclose(comp["period"].values,
                               (gamma.drop_vars("period") + trend).values, atol=1e-12)
    new = paper_df.iloc[1::40]
    pred = predict(fit, new, seed=1)
    assert np.isfinite(pred.accuracy.values).all()


def test_readme_documents_every_option_and_prior():
    from pathlib import Path

    from bayes_llm.model.spec import DEFAULT_PRIORS

    text = (Path(__file__).resolve().parent.parent / "models" / "README.md").read_text()
    for key in OPTION_DEFAULTS:
        assert f"`{key}`" in text, key
    for name in DEFAULT_PRIORS:
        assert f"`{name}`" in text, name


def test_lineage_table_is_written_as_code_output(tmp_path, capsys):
    from bayes_llm.data.lineage import main

    out = tmp_path / "lineages.csv"
    assert main([str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 809 and table["matched"].sum() == 798
    assert "lineages: 587" in capsys.readouterr().out
    assert main([]) == 2


def test_lineage_effect_builds_when_every_lineage_has_one_model(paper_df):
    frame = paper_df.iloc[::10].assign(hf_id=pd.NA)  # no leaderboard match: own lineages
    spec = spec_from_dict({**BASE, "lineage_effect": True})
    data = prepare_data(frame, spec)
    assert data.lineage_multi.size == 0 and data.lineage_single.size == len(data.frame)
    free = {v.name for v in build_model(data, spec).free_RVs}
    assert "lineage_single_z" in free and "lineage_multi_effect" not in free


def test_protocol_effect_is_refused_when_every_model_is_off_the_harness(paper_df):
    from bayes_llm.errors import BayesLLMError

    frame = paper_df.iloc[::10].assign(hf_id=pd.NA)
    spec = spec_from_dict({**BASE, "protocol_effect": True})
    with pytest.raises(BayesLLMError, match="confounded with alpha"):
        build_model(prepare_data(frame, spec), spec)


def test_option_terms_for_known_and_new_rows(monkeypatch):
    from bayes_llm.model.option_terms import model_effect_distribution, option_terms

    post = xr.Dataset({
        "alpha": (("chain", "draw"), [[0.0, 0.0]]),
        "lineage_effect": (("chain", "draw", "lineage"), [[[0.5, -0.2], [0.7, -0.1]]]),
        "sigma_lineage": (("chain", "draw"), [[0.3, 0.4]]),
        "protocol_effect": (("chain", "draw"), [[1.0, 2.0]]),
        "mundlak_lambda": (("chain", "draw"), [[0.5, 1.0]]),
        "sigma_model": (("chain", "draw"), [[0.6, 0.6]]),
    }, coords={"lineage": ["org/base", "own:x"]})
    const = xr.Dataset({"developer_mean_compute": ("developer", [1.0, -1.0])},
                       coords={"developer": ["a", "b"]})
    tree = xr.DataTree.from_dict({"posterior": post, "constant_data": const})
    leaderboard = pd.DataFrame({"model_name": ["org/base", "u/ft"],
                                "model_precision": ["bfloat16", "bfloat16"],
                                "metadata_base_model": ["org/base", "org/base"]})
    frame = pd.DataFrame({"model_id": ["known", "new", "closed"],
                          "hf_id": ["u_ft_bfloat16", "z_other_bfloat16", None],
                          "developer": ["a", "c", "c"], "log10_flop": [23.0, 24.0, 26.0]})
    monkeypatch.setattr("bayes_llm.data.lineage.load_leaderboard", lambda *a, **k: leaderboard)
    with pytest.raises(ValueError, match="pass lineage_source"):  # never a silent guess
        option_terms(tree, frame, compute_centre=23.5)
    mean, var = option_terms(tree, frame, compute_centre=23.5, lineage_source="leaderboard")
    # row 0: lineage org/base 0.5 + Mundlak 0.5 * 1.0; row 1: new lineage, new developer c
    # (mean x of its rows: (0.5 + 2.5) / 2 = 1.5); row 2: own lineage new + protocol
    np.testing.assert_allclose(mean.isel(chain=0, draw=0).values, [1.0, 0.75, 1.75])
    np.testing.assert_allclose(var.isel(chain=0, draw=0).values, [0.0, 0.09, 0.09])
    np.testing.assert_allclose(mean.isel(chain=0, draw=1).values, [1.7, 1.5, 3.5])
    assert model_effect_distribution(tree)[0] == "normal"


def test_a_new_lineage_under_student_t_lineages_is_a_student_t_draw(monkeypatch):
    """``lineage_distribution = "student_t"``: a known lineage keeps its effect; a new one
    gets StudentT(nu_lineage, 0, sigma_lineage) draws in the mean (heavy tails: excess
    kurtosis 6 / (nu - 4) at nu = 6), not a Normal variance."""
    from scipy import stats

    from bayes_llm.model.option_terms import option_terms

    n_draws = 40_000
    ones = np.ones((1, n_draws))
    post = xr.Dataset({
        "alpha": (("chain", "draw"), 0.0 * ones),
        "lineage_effect": (("chain", "draw", "lineage"), np.full((1, n_draws, 1), 0.5)),
        "sigma_lineage": (("chain", "draw"), 0.3 * ones),
        "nu_lineage": (("chain", "draw"), 6.0 * ones),
    }, coords={"lineage": ["org/base"]})
    tree = xr.DataTree.from_dict({"posterior": post})
    leaderboard = pd.DataFrame({"model_name": ["org/base"], "model_precision": ["bfloat16"],
                                "metadata_base_model": ["org/base"]})
    frame = pd.DataFrame({"model_id": ["known", "new"],
                          "hf_id": ["org_base_bfloat16", "z_other_bfloat16"],
                          "developer": ["a", "c"], "log10_flop": [23.0, 24.0]})
    monkeypatch.setattr("bayes_llm.data.lineage.load_leaderboard", lambda *a, **k: leaderboard)
    with pytest.raises(ValueError, match="pass rng"):
        option_terms(tree, frame, lineage_source="leaderboard")
    mean, var = option_terms(tree, frame, lineage_source="leaderboard",
                             rng=np.random.default_rng(3))
    assert np.all(var.values == 0.0)
    np.testing.assert_allclose(mean.isel(row=0).values, 0.5)
    fresh = mean.isel(row=1).values.ravel() / 0.3
    assert stats.kstest(fresh, stats.t(6.0).cdf).pvalue > 0.01
    assert stats.kstest(fresh, stats.norm(0, np.std(fresh)).cdf).pvalue < 1e-6
