"""Sensitivity study files: parsing, validation errors, expansion, prior transformations, keys."""

from __future__ import annotations

import textwrap

import pytest

from bayes_llm.errors import SpecError
from bayes_llm.model.spec import Prior, load_spec
from bayes_llm.sensitivity.cache import cache_key
from bayes_llm.sensitivity.study import (
    load_study,
    model_hash,
    scale_prior,
    study_from_dict,
    swap_family,
    used_priors,
)


def _write(tmp_path, text: str, name: str = "study.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_default_study_covers_every_axis_with_at_least_12_variants():
    study = load_study("default")
    variants = study.variants()
    assert len(variants) >= 12
    assert variants[0].name == "base"
    assert {"priors", "likelihood", "developer", "period", "sample", "outcome",
            "compute_error", "interaction"} <= set(study.axes)
    by_name = {v.name: v for v in variants}
    assert by_name["likelihood-student_t"].spec.likelihood == "student_t"
    assert by_name["developer-nested"].spec.developer == "nested"
    assert by_name["period-month_rw"].spec.period == "month"
    assert by_name["period-month_rw"].spec.period_effect == "random_walk"
    assert by_name["sample-majors"].spec.sample == "majors"
    assert by_name["outcome-math_lvl5"].spec.outcome == "math_lvl5"
    assert by_name["compute_error-on"].spec.compute_error is True
    assert by_name["interaction-on"].spec.compute_period_interaction is True
    # every variant changes only its own axis: the rest equals the base spec
    base = by_name["base"].spec
    assert by_name["sample-majors"].spec.likelihood == base.likelihood
    assert all(v.spec.sampler.draws == 500 and v.spec.sampler.chains == 2 for v in variants)
    # headline-only variants share the base's model (one fit in the cache)
    assert model_hash(by_name["reference-high"].spec) == model_hash(base)
    assert by_name["reference-high"].headline == {"reference_log10_flop": 24.5}


def test_prior_axis_scales_and_swaps_the_scale_priors_the_model_uses():
    by_name = {v.name: v for v in load_study("default").variants()}
    wide, narrow = by_name["priors-wide"].spec, by_name["priors-narrow"].spec
    base = by_name["base"].spec
    assert used_priors(base) == ["alpha", "beta", "period_fixed", "sigma_developer",
                                 "sigma_model"]
    for name in ("sigma_developer", "sigma_model"):
        assert wide.prior(name).params["sigma"] == pytest.approx(2 * base.prior(name)
                                                                 .params["sigma"])
        assert narrow.prior(name).params["sigma"] == pytest.approx(0.5 * base.prior(name)
                                                                   .params["sigma"])
    # location priors and unused scale priors are left alone
    assert wide.prior("beta") == base.prior("beta")
    assert "sigma_period" not in wide.priors
    hst = by_name["priors-half_student_t"].spec.prior("sigma_developer")
    assert hst == Prior("HalfStudentT", {"nu": 3.0, "sigma": 1.0})


def test_scale_and_swap_follow_each_family():
    assert scale_prior(Prior("Exponential", {"lam": 2.0}), 2.0).params == {"lam": 1.0}
    assert scale_prior(Prior("Gamma", {"alpha": 2.0, "beta": 0.1}), 2.0).params == \
        {"alpha": 2.0, "beta": 0.05}
    assert scale_prior(Prior("Normal", {"mu": -1.0, "sigma": 1.5}), 0.5).params == \
        {"mu": -1.0, "sigma": 0.75}
    assert swap_family(Prior("HalfNormal", {"sigma": 0.5}), "Exponential").params == \
        {"lam": 2.0}
    with pytest.raises(SpecError, match="cannot swap"):
        swap_family(Prior("HalfNormal", {"sigma": 0.5}), "Normal")


def test_seeds_are_fixed_per_model_and_independent_of_names(tmp_path):
    text = """
        name = "{name}"
        base = "logit_normal_groups"
        [axes.priors.{level}]
        scale_priors = 2.0
        [axes.sample.majors]
        sample = "majors"
    """
    a = load_study(_write(tmp_path, text.format(name="a", level="wide"), "a.toml")).variants()
    b = load_study(_write(tmp_path, text.format(name="b", level="broad"), "b.toml")).variants()
    again = load_study(tmp_path / "a.toml").variants()
    assert [v.spec.sampler.seed for v in a] == [v.spec.sampler.seed for v in again]
    assert [v.spec.sampler.seed for v in a] == [v.spec.sampler.seed for v in b]
    assert [model_hash(v.spec) for v in a] == [model_hash(v.spec) for v in b]
    assert len({v.spec.sampler.seed for v in a}) == 3
    assert a[1].spec.name == "a.priors-wide" and b[1].spec.name == "b.priors-broad"


def test_grid_expands_every_combination(tmp_path):
    path = _write(tmp_path, """
        name = "g"
        base = "logit_normal_groups"
        design = "grid"
        [axes.likelihood.student_t]
        likelihood = "student_t"
        [axes.sample.majors]
        sample = "majors"
        [axes.sample.full_tokens]
        sample = "full_tokens"
    """)
    variants = load_study(path).variants()
    names = [v.name for v in variants]
    assert len(names) == 6
    assert names[0] == "base"
    assert "likelihood-student_t__sample-majors" in names
    combo = {v.name: v for v in variants}["likelihood-student_t__sample-full_tokens"]
    assert (combo.spec.likelihood, combo.spec.sample) == ("student_t", "full_tokens")
    assert combo.levels == {"likelihood": "student_t", "sample": "full_tokens"}


def test_sampler_overrides_apply_to_every_variant_and_change_seeds(tmp_path):
    path = _write(tmp_path, """
        name = "s"
        base = "logit_normal_groups"
        [sampler]
        draws = 50
        [axes.sample.majors]
        sample = "majors"
    """)
    study = load_study(path)
    plain = study.variants()
    more = study.variants(sampler={"draws": 80, "chains": 1, "seed": 1})
    assert [v.spec.sampler.draws for v in plain] == [50, 50]
    assert [(v.spec.sampler.draws, v.spec.sampler.chains) for v in more] == [(80, 1), (80, 1)]
    assert plain[0].spec.sampler.seed != more[0].spec.sampler.seed
    assert more[0].spec.sampler.seed != 1  # the seed is always the variant's own


@pytest.mark.parametrize(("text", "match"), [
    ('name = "x"\nbase = "logit_normal_groups"\nfoo = 1\n', r"study\.toml: unknown key\(s\) foo"),
    ('base = "logit_normal_groups"\n', r"study\.toml: the study needs a 'name'"),
    ('name = "x"\nbase = "no_such_spec"\n', r"study\.toml: base: .*no such spec file"),
    ('name = "x"\nbase = "logit_normal_groups"\ndesign = "latin"\n',
     r"study\.toml: design: unknown design 'latin'"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.priors.wide]\nscal_priors = 2.0\n',
     r"study\.toml: axes\.priors\.wide: unknown or forbidden key\(s\) scal_priors"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.priors.wide]\nscale_priors = -1\n',
     r"study\.toml: axes\.priors\.wide\.scale_priors: must be a positive number"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.lik.pois]\nlikelihood = "poisson"\n',
     r"study\.toml: variant 'lik-pois': .*unknown likelihood 'poisson'"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.priors.t]\nprior_family = "Normal"\n',
     r"axes\.priors\.t\.prior_family: unknown family 'Normal'"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.s.a]\nname = "y"\n',
     r"axes\.s\.a: unknown or forbidden key\(s\) name"),
    ('name = "x"\nbase = "logit_normal_groups"\n[sampler]\ndraws = 0\n',
     r"study\.toml: sampler\.draws: must be a positive integer"),
    ('name = "x"\nbase = "logit_normal_groups"\n[crossval]\nvariants = ["nope"]\n',
     r"crossval\.variants: unknown variant\(s\) nope"),
    ('name = "x"\nbase = "logit_normal_groups"\n[crossval]\nmethod = "waic"\n',
     r"crossval\.method: unknown method 'waic'"),
    ('name = "bad name"\nbase = "logit_normal_groups"\n', r"study name 'bad name'"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.priors.too-wide]\nscale_priors = 3.0\n',
     r"axes\.priors: level name 'too-wide' must be"),
    ('name = "x"\nbase = "logit_normal_groups"\n[axes.s.a\n', r"study\.toml: not valid TOML"),
])
def test_invalid_studies_fail_naming_file_and_key(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError, match=match):
        load_study(path)


def test_invalid_grid_combination_names_the_variant():
    data = {"name": "g", "base": "logit_normal_groups", "design": "grid",
            "axes": {"developer": {"nested": {"developer": "nested"}},
                     "effect": {"fixed": {"developer_effect": "fixed"}}}}
    with pytest.raises(SpecError, match=r"variant 'developer-nested__effect-fixed': .*nested"):
        study_from_dict(data, source="grid.toml")


def test_grid_larger_than_the_cap_is_refused():
    axes = {f"a{i}": {"l1": {"label": "x"}, "l2": {"label": "y"}} for i in range(5)}
    with pytest.raises(SpecError, match=r"243 variants, more than max_variants = 100"):
        study_from_dict({"name": "big", "base": "logit_normal_groups", "design": "grid",
                         "max_variants": 100, "axes": axes}, source="big.toml")


def test_unsupported_headline_option_is_a_spec_error(tmp_path):
    from bayes_llm.sensitivity.headline import check_headline_options

    check_headline_options({"reference_log10_flop": 24.0, "frontier_model": "GPT-4.5"})
    with pytest.raises(SpecError, match=r"option\(s\) frontier_colour not supported"):
        check_headline_options({"frontier_colour": "red"}, where="s.toml")


def test_cache_key_ignores_names_but_not_model_data_or_backend():
    spec = load_spec("logit_normal_groups")
    key = cache_key(spec, "d" * 64, backend="nutpie")
    assert cache_key(spec.with_changes(name="renamed", description="other"), "d" * 64,
                     backend="nutpie") == key
    assert cache_key(spec.with_changes(sampler={"draws": 10}), "d" * 64, backend="nutpie") != key
    assert cache_key(spec.with_changes(sample="majors"), "d" * 64, backend="nutpie") != key
    assert cache_key(spec, "e" * 64, backend="nutpie") != key
    assert cache_key(spec, "d" * 64, backend="pymc") != key


def test_running_an_unknown_variant_is_refused_before_any_fit(tmp_path, paper_df):
    from bayes_llm.sensitivity import run_study

    study = load_study("default")
    with pytest.raises(SpecError, match=r"unknown variant\(s\) nope"):
        run_study(study, paper_df, tmp_path / "out", only=["nope"])
    assert not (tmp_path / "out" / "fits").exists()
