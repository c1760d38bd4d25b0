"""Results cached in a fit folder equal a fresh computation; edits and stale keys are caught."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bayes_llm.derived.fit_cache import (
    CACHE_FILE,
    cache_key,
    cached_paper_columns,
    read_json_cache,
    write_json_cache,
)
from bayes_llm.derived.headline import _paper_columns
from bayes_llm.model import load_fit
from bayes_llm.report.exports import (
    PARAMETER_SUMMARY_CACHE,
    _parameter_summary,
    parameter_summary,
)


@pytest.fixture()
def loaded_fit(binomial_fit, tmp_path):
    return load_fit(binomial_fit.save(tmp_path / "fit"))


PAIRS = [("meta-llama__Llama-2-70b-hf", "GPT-4.5")]


def _fresh(fit):
    return _paper_columns(fit, None, None, PAIRS, PAIRS[0])


def test_paper_columns_cached_equal_fresh_and_are_reused(loaded_fit):
    fit = loaded_fit
    calls = []

    def compute():
        calls.append(1)
        return _fresh(fit)

    first = cached_paper_columns(fit, PAIRS, PAIRS[0], compute)
    assert (fit.folder / CACHE_FILE).is_file() and len(calls) == 1
    second = cached_paper_columns(fit, PAIRS, PAIRS[0], compute)
    assert len(calls) == 1  # read from the folder
    fresh = _fresh(fit)
    assert second == first == fresh  # floats exactly, notes and coding
    assert fresh[1]  # the fit's coding has OLS values to cache


def test_headline_table_same_with_and_without_cache(loaded_fit, binomial_fit):
    from bayes_llm.derived import headline_draws, headline_table
    from bayes_llm.derived.shapley_null import shapley_reference

    draws = headline_draws(loaded_fit)
    shapley = shapley_reference(loaded_fit, n_boot=20, n_null=20)
    cols = ["figure", "paper_value", "paper_method_fit_coding"]
    computed = headline_table(loaded_fit, draws=draws, shapley=shapley)  # writes the cache
    cached = headline_table(loaded_fit, draws=draws, shapley=shapley)  # reads it
    loaded_fit.folder = None  # a fit in memory: never cached
    fresh = headline_table(loaded_fit, draws=draws, shapley=shapley)
    pd.testing.assert_frame_equal(cached[cols], fresh[cols], check_exact=True)
    pd.testing.assert_frame_equal(computed[cols], fresh[cols], check_exact=True)
    assert cached.attrs["paper_note"] == fresh.attrs["paper_note"]


def test_edited_or_stale_cache_is_recomputed(loaded_fit):
    fit = loaded_fit
    path = fit.folder / CACHE_FILE
    fresh = cached_paper_columns(fit, PAIRS, PAIRS[0], lambda: _fresh(fit))
    data = json.loads(path.read_text())
    name = next(iter(data["value"]["other"]))
    data["value"]["other"][name] += 1.0  # an edit that still parses, checksum left as it was
    path.write_text(json.dumps(data))
    assert read_json_cache(path, data["key"]) is None
    again = cached_paper_columns(fit, PAIRS, PAIRS[0], lambda: _fresh(fit))
    assert again == fresh and again[1][name] != data["value"]["other"][name]
    # rewritten, intact again
    assert read_json_cache(path, cache_key(fit, PAIRS, PAIRS[0])) is not None
    # a right checksum over a key for other inputs is not used for these
    key = cache_key(fit, PAIRS, PAIRS[0])
    other_key = {**key, "models_sha256": "0" * 64}
    write_json_cache(path, other_key, {"paper": {}, "other": {name: -1.0}, "note": "",
                                       "coding": ""})
    assert read_json_cache(path, key) is None
    assert cached_paper_columns(fit, PAIRS, PAIRS[0], lambda: _fresh(fit)) == fresh
    # a damaged file is not an error either
    path.write_text("{not json")
    assert cached_paper_columns(fit, PAIRS, PAIRS[0], lambda: _fresh(fit)) == fresh


def test_parameter_summary_cached_equals_fresh_per_interval(loaded_fit):
    fit = loaded_fit
    path = fit.folder / PARAMETER_SUMMARY_CACHE
    first = parameter_summary(fit)
    assert path.is_file()
    cached = parameter_summary(fit)
    # (ArviZ returns a DataFrame subclass; the cache a plain DataFrame, the same CSV)
    fresh = pd.DataFrame(_parameter_summary(fit, float(first["ci_prob"].iloc[0]),
                                            first["ci_kind"].iloc[0]))
    cols = [c for c in first.columns if not c.startswith("fit_diagnostics")]
    pd.testing.assert_frame_equal(cached[cols], fresh, check_exact=True)
    pd.testing.assert_frame_equal(cached, pd.DataFrame(first), check_exact=True)
    assert cached.to_csv() == first.to_csv()
    # another interval is another key: computed, not the cached 94% table
    eti = parameter_summary(fit, hdi_prob=0.8, ci_kind="eti")
    pd.testing.assert_frame_equal(
        pd.DataFrame(eti.drop(columns=["fit_diagnostics_ok", "fit_diagnostics"])),
        pd.DataFrame(_parameter_summary(fit, 0.8, "eti")), check_exact=True)
    # an edited cache is caught and recomputed
    data = json.loads(path.read_text())
    col = data["value"]["columns"].index("mean")
    data["value"]["values"][col][0] += 1.0
    path.write_text(json.dumps(data))
    again = parameter_summary(fit, hdi_prob=0.8, ci_kind="eti")
    pd.testing.assert_frame_equal(again, pd.DataFrame(eti), check_exact=True)


def test_unwritable_fit_folder_computes_without_cache(loaded_fit, monkeypatch):
    import bayes_llm.derived.fit_cache as fc
    from bayes_llm.errors import ResultsError

    def refuse(*_args, **_kwargs):
        raise ResultsError("cannot write the file")

    monkeypatch.setattr(fc, "write_json_cache", refuse)
    got = cached_paper_columns(loaded_fit, PAIRS, PAIRS[0], lambda: _fresh(loaded_fit))
    assert got == _fresh(loaded_fit) and not (loaded_fit.folder / CACHE_FILE).exists()


def test_headline_table_cache_reads_back_the_same_table(loaded_fit):
    """Every column (floats exactly, dtypes) and every attribute; other options: recomputed."""
    from bayes_llm.derived import headline_draws, headline_table
    from bayes_llm.derived.fit_cache import TABLE_CACHE_FILE, cached_headline_table
    from bayes_llm.derived.shapley_null import shapley_reference

    fit = loaded_fit
    draws = headline_draws(fit)
    shapley = shapley_reference(fit, n_boot=20, n_null=20)
    calls = []

    def compute(prob=0.94):
        calls.append(prob)
        return headline_table(fit, draws=draws, shapley=shapley, hdi_prob=prob)

    options = {"pairs": [], "seed": 1, "hdi_prob": 0.94}
    fresh = cached_headline_table(fit, options, compute)
    assert (fit.folder / TABLE_CACHE_FILE).is_file() and calls == [0.94]
    cached = cached_headline_table(fit, options, compute)
    assert calls == [0.94]  # read from the folder
    pd.testing.assert_frame_equal(cached, fresh, check_exact=True)
    assert cached.attrs == fresh.attrs and cached.attrs
    other = cached_headline_table(fit, {**options, "hdi_prob": 0.8}, lambda: compute(0.8))
    assert calls == [0.94, 0.8]
    assert not other["lower"].equals(fresh["lower"])


def test_headline_command_prints_the_same_from_its_cache(loaded_fit, capsys):
    """``bayes-llm headline`` twice: computed, then read from the fit folder; same output."""
    from bayes_llm.cli import main
    from bayes_llm.derived.fit_cache import TABLE_CACHE_FILE

    folder = str(loaded_fit.folder)
    assert main(["headline", folder, "--allow-warnings"]) == 0
    first = capsys.readouterr().out
    assert (loaded_fit.folder / TABLE_CACHE_FILE).is_file()
    assert main(["headline", folder, "--allow-warnings"]) == 0
    assert capsys.readouterr().out == first
    assert main(["headline", folder, "--allow-warnings", "--hdi-prob", "0.9"]) == 0
    assert "90% HDI" in capsys.readouterr().out


def test_columns_cached_at_fit_time_are_the_ones_headline_reads(loaded_fit, monkeypatch):
    """``bayes-llm fit`` caches the default headline's OLS columns; headline then fits nothing."""
    import bayes_llm.derived.headline as headline
    from bayes_llm.derived.frontier import default_frontier_pair

    assert not (loaded_fit.folder / CACHE_FILE).exists()
    headline.cache_paper_columns(loaded_fit)
    assert (loaded_fit.folder / CACHE_FILE).is_file()
    fixed = default_frontier_pair(loaded_fit)
    expected = headline._paper_columns(loaded_fit, None, None, [fixed], fixed)

    def no_refit(*args, **kwargs):
        raise AssertionError("the OLS was refitted although cached at fit time")

    monkeypatch.setattr(headline, "_paper_columns", no_refit)
    reread = cached_paper_columns(loaded_fit, [fixed], fixed, no_refit)
    assert reread == expected
    from bayes_llm.derived.shapley_null import shapley_reference

    draws = headline.headline_draws(loaded_fit)
    shapley = shapley_reference(loaded_fit, n_boot=5, n_null=5)
    table = headline.headline_table(loaded_fit, draws=draws, shapley=shapley)
    assert table["paper_value"].notna().any()  # the cached paper values reach the table
