"""Model specs: bundled specs load, validation names the problem, round trips are exact."""

from __future__ import annotations

import pytest

from bayes_llm.errors import SpecError
from bayes_llm.model.spec import (
    DEFAULT_PRIORS,
    available_specs,
    load_spec,
    spec_from_dict,
)

BASE = {"name": "t", "likelihood": "logit_normal"}


def test_bundled_specs_load_and_round_trip(tmp_path):
    names = available_specs()
    assert {"binomial_developers", "logit_normal_groups", "paper_mirror"} <= set(names)
    for name in names:
        spec = load_spec(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(spec.to_toml())
        again = load_spec(path)
        assert again.to_dict() == spec.to_dict()
        assert again.hash() == spec.hash()


def test_committed_experiment_specs_still_load():
    """The specs behind the committed verification runs (verification/specs) parse with
    the current code: a renamed key or option would orphan their recorded results."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "verification" / "specs"
    paths = sorted(folder.glob("*.toml"))
    assert len(paths) >= 3
    for path in paths:
        assert load_spec(path).name == path.stem, path


def test_paper_mirror_is_unpooled_logit_normal_on_groups():
    spec = load_spec("paper_mirror")
    assert (spec.likelihood, spec.developer, spec.developer_effect, spec.period_effect) == (
        "logit_normal", "group", "fixed", "fixed")


def test_default_spec_is_binomial_with_all_developers_pooled():
    spec = load_spec("binomial_developers")
    assert spec.likelihood == "binomial"
    assert spec.developer == "developer" and spec.developer_effect == "pooled"
    assert spec.has_model_effect


def test_every_default_prior_has_a_reason():
    for name, (prior, reason) in DEFAULT_PRIORS.items():
        assert len(reason) > 20, name
        assert prior.describe().startswith(prior.dist)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"likelihood": "poisson"}, "unknown likelihood 'poisson'"),
        ({"period": "weekly"}, "unknown period 'weekly'"),
        ({"sample": "bogus"}, "unknown sample 'bogus'"),
        ({"developer": "team"}, "unknown developer 'team'"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"priors": {"beta": {"dist": "Normal", "mu": 0, "sigma": -1}}}, "must be positive"),
        ({"priors": {"sigma": {"dist": "Normal", "mu": 0, "sigma": 1}}}, "is a scale"),
        ({"priors": {"beta": {"dist": "Normal", "sigma": 1}}}, "needs parameters mu, sigma"),
        ({"priors": {"gamma": {"dist": "Normal", "mu": 0, "sigma": 1}}}, "unknown prior 'gamma'"),
        ({"priors": {"beta": {"dist": "Weibull", "a": 1}}}, "unknown distribution 'Weibull'"),
        ({"sampler": {"draws": 0}}, "draws must be a positive integer"),
        ({"sampler": {"target_accept": 1.5}}, "target_accept must be in (0, 1)"),
        ({"sampler": {"mass_matrix": "dense"}}, "mass_matrix must be one of"),
        ({"developer_slopes": "yes"}, "'developer_slopes' must be true or false"),
        ({"developer": "none", "developer_slopes": True}, "developer_slopes needs a developer"),
        ({"developer": "nested", "developer_effect": "fixed"}, "nested developer structure"),
        ({"compute_error_sd_estimate": -0.1}, "must be positive"),
    ],
)
def test_invalid_specs_name_the_problem(change, fragment):
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, **change}, source="bad.toml")
    assert fragment in str(err.value)
    assert str(err.value).startswith("bad.toml")


def test_missing_name_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match="needs a 'name'"):
        spec_from_dict({"likelihood": "binomial"})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.toml")


def test_with_changes_validates_and_changes_hash():
    spec = load_spec("binomial_developers")
    other = spec.with_changes(likelihood="student_t", sampler={"draws": 10})
    assert other.likelihood == "student_t" and other.sampler.draws == 10
    assert other.sampler.tune == spec.sampler.tune
    assert other.hash() != spec.hash()
    assert spec.with_changes().hash() == spec.hash()
    with pytest.raises(SpecError):
        spec.with_changes(likelihood="nope")


def test_prior_override_is_used_and_default_otherwise():
    spec = spec_from_dict({**BASE, "priors": {"beta": {"dist": "Normal", "mu": 0.5,
                                                        "sigma": 0.25}}})
    assert spec.prior("beta").params == {"mu": 0.5, "sigma": 0.25}
    assert spec.prior("alpha") == DEFAULT_PRIORS["alpha"][0]
