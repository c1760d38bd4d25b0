"""The main job's default spec is the one the out-of-sample validation chose (issue 10)."""
from pathlib import Path

from bayes_llm.cli.run_cmd import DEFAULT_MODEL
from bayes_llm.model import load_spec
from bayes_llm.model.spec import available_specs
from bayes_llm.sensitivity.study import model_hash

REPO = Path(__file__).resolve().parents[1]
#: The spec file the validate runs were made with (verification/validate/README.md).
VALIDATED = REPO / "verification" / "specs" / "fc_two_nc_tlin_gibbs_all_draws1500.toml"


def _same_model(spec, validated) -> bool:
    """The fit caches' notion of one model (name and description aside), draws aside."""
    return model_hash(spec.with_changes(sampler={"draws": validated.sampler.draws})) \
        == model_hash(validated)


def test_the_default_is_a_bundled_spec():
    assert DEFAULT_MODEL in available_specs()


def test_the_default_is_the_validated_model_under_its_own_name():
    """Same model, priors and sampler (custom steps included); only the draws may differ.

    The validate runs used ``--draws 1000``; the bundled spec takes 2,000 (the same
    posterior, less Monte Carlo error). A change to the bundled default that the
    validation did not see fails here.
    """
    default, validated = load_spec(DEFAULT_MODEL), load_spec(VALIDATED)
    assert _same_model(default, validated)
    assert default.sampler.draws >= 1000
    for change in ({"model_effect": "normal"}, {"collapse_by_compute": False},
                   {"compute_centre": 23.0},  # what a changed default would look like
                   {"sampler": {"developer_ridge_move": False}}):
        assert not _same_model(default.with_changes(**change), validated)
