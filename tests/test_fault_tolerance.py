"""Fault tolerance of saved fits: atomic saves, and load_fit refusing damaged results.

* An interrupted ``Fit.save`` leaves neither the result folder nor a temporary folder, and
  an older result at the same place survives intact.
* ``load_fit`` raises ``ResultsError`` with a message naming the file for a truncated,
  corrupted or replaced ``posterior.nc`` (checked against the SHA-256s recorded in
  ``metadata.json``), an edited or garbled ``spec.toml``, an edited or empty table, a
  corrupt ``metadata.json``, any missing file, and a changed dataset.
* Saves from several threads into different folders do not interfere.
* Issue 13: a tampered result (renamed variable, wrong metadata types, no checksum table,
  non-UTF-8 files) is one ``ResultsError`` line, in the API and the CLI; a save replaces
  only our own results; a corrupt cached fit of a study is refitted, never reused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.cli import main
from bayes_llm.data.sources import sha256_of
from bayes_llm.errors import OutputError, ResultsError
from bayes_llm.model import Fit, fit_model, load_fit, load_spec
from bayes_llm.model.fit import POINTWISE_GROUPS, RESULT_FILES, check_output
from bayes_llm.verify.simulate import reduced_design


@pytest.fixture(scope="module")
def design(paper_df):
    return reduced_design(paper_df, 40, seed=3)


@pytest.fixture(scope="module")
def tiny_fit(design) -> Fit:
    return fit_model(load_spec("logit_normal_groups"), design, draws=50, tune=50, chains=2,
                     progressbar=False)


@pytest.fixture(scope="module")
def saved(tiny_fit, tmp_path_factory) -> Path:
    return tiny_fit.save(tmp_path_factory.mktemp("saved") / "fit")


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    target = tmp_path / "result"
    shutil.copytree(saved, target)
    return target


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _same_posterior(a: Fit, b: Fit) -> bool:
    return all(np.array_equal(a.posterior[v].values, b.posterior[v].values)
               for v in a.posterior.data_vars)


# -- interrupted saves --------------------------------------------------------------------


def _fail_on(name: str, exc: BaseException):
    original = pd.DataFrame.to_csv

    def to_csv(self, path_or_buf=None, *args, **kwargs):
        if path_or_buf is not None and Path(str(path_or_buf)).name == name:
            Path(str(path_or_buf)).write_text("model_id,devel")  # half a file, then fail
            raise exc
        return original(self, path_or_buf, *args, **kwargs)

    return to_csv


@pytest.mark.mcmc
@pytest.mark.parametrize("exc", [OSError("No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_interrupted_save_leaves_nothing(tiny_fit, tmp_path, monkeypatch, exc):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _fail_on("models.csv", exc))
    with pytest.raises(type(exc)):
        tiny_fit.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder either


@pytest.mark.mcmc
def test_interrupted_netcdf_write_leaves_nothing(tiny_fit, tmp_path, monkeypatch):
    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)  # partial file
        raise OSError("interrupted while writing posterior.nc")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", broken)
    with pytest.raises(OSError, match="interrupted"):
        tiny_fit.save(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.mcmc
def test_interrupted_overwrite_keeps_the_previous_result(tiny_fit, copy, design, monkeypatch):
    before = {f: (copy / f).read_bytes() for f in RESULT_FILES}
    monkeypatch.setattr(pd.DataFrame, "to_csv", _fail_on("diagnostics.csv", OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        tiny_fit.save(copy)
    monkeypatch.undo()
    assert {f: (copy / f).read_bytes() for f in RESULT_FILES} == before
    assert _leftovers(copy.parent) == []
    assert _same_posterior(load_fit(copy, df=design), tiny_fit)


# -- damaged results ----------------------------------------------------------------------


@pytest.mark.mcmc
def test_intact_result_loads(copy, design, tiny_fit):
    loaded = load_fit(copy, df=design, spec=tiny_fit.spec)
    assert _same_posterior(loaded, tiny_fit)
    pd.testing.assert_frame_equal(loaded.summary(), tiny_fit.summary())


@pytest.mark.mcmc
def test_truncated_posterior(copy):
    nc = copy / "posterior.nc"
    os.truncate(nc, nc.stat().st_size // 2)
    with pytest.raises(ResultsError, match=r"posterior\.nc: cannot be read, the file is "
                       r"corrupt or truncated"):
        load_fit(copy)


@pytest.mark.mcmc
def test_empty_posterior(copy):
    (copy / "posterior.nc").write_bytes(b"")
    with pytest.raises(ResultsError, match=r"posterior\.nc: cannot be read"):
        load_fit(copy)


@pytest.mark.mcmc
@pytest.mark.parametrize("where", ["header", "metadata"])
def test_corrupted_posterior(copy, where):
    nc = copy / "posterior.nc"
    data = bytearray(nc.read_bytes())
    start = 0 if where == "header" else len(data) - 2000
    data[start:start + 64] = bytes(b ^ 0xFF for b in data[start:start + 64])
    nc.write_bytes(bytes(data))
    with pytest.raises(ResultsError, match=r"posterior\.nc: cannot be read, the file is "
                       r"corrupt or truncated"):
        load_fit(copy)


@pytest.mark.mcmc
def test_corrupted_data_chunk_is_detected(copy, tiny_fit):
    nc = copy / "posterior.nc"
    data = bytearray(nc.read_bytes())
    alpha = tiny_fit.posterior["alpha"].values.astype("<f8").tobytes()
    at = bytes(data).find(alpha[:32])
    assert at > 0, "alpha draws not found uncompressed in the file"
    data[at:at + 8] = b"\x00\x00\x00\x00\x00\x00\xf0\x7f"  # one draw becomes +inf
    nc.write_bytes(bytes(data))
    with pytest.raises(ResultsError, match=r"posterior\.nc: .*SHA-256 differs"):
        load_fit(copy)


@pytest.mark.mcmc
def test_replaced_but_valid_posterior_is_detected(copy):
    nc = copy / "posterior.nc"
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    dt["posterior"]["alpha"] = dt["posterior"]["alpha"] + 1.0
    nc.unlink()
    dt.to_netcdf(nc, engine="h5netcdf")  # a readable file with other draws
    with pytest.raises(ResultsError, match=r"posterior\.nc: .*SHA-256 differs"):
        load_fit(copy)


@pytest.mark.mcmc
@pytest.mark.parametrize("name", ["models.csv", "diagnostics.csv"])
def test_edited_table_is_detected(copy, name):
    table = copy / name
    table.write_text(table.read_text().replace("\n", "\n ", 1))
    with pytest.raises(ResultsError, match=rf"{name}: .*SHA-256 differs"):
        load_fit(copy)


@pytest.mark.mcmc
@pytest.mark.parametrize("name", RESULT_FILES)
def test_missing_file(copy, name):
    (copy / name).unlink()
    with pytest.raises(ResultsError, match=f"incomplete result, missing {name}"):
        load_fit(copy)


@pytest.mark.mcmc
def test_missing_folder(tmp_path):
    with pytest.raises(ResultsError, match="no such result folder"):
        load_fit(tmp_path / "never-written")


@pytest.mark.mcmc
@pytest.mark.parametrize("edit", [("draws = 50", "draws = 60"),
                                  ('likelihood = "logit_normal"', 'likelihood = "student_t"')],
                         ids=["sampler", "likelihood"])
def test_edited_spec(copy, edit):
    spec = copy / "spec.toml"
    text = spec.read_text()
    assert edit[0] in text
    spec.write_text(text.replace(*edit))
    with pytest.raises(ResultsError, match="spec.toml does not match the spec hash recorded "
                       r"in metadata.json \(edited or corrupt\)"):
        load_fit(copy)


@pytest.mark.mcmc
def test_corrupt_metadata(copy):
    (copy / "metadata.json").write_text('{"spec_hash": ')
    with pytest.raises(ResultsError, match=r"metadata\.json: corrupt"):
        load_fit(copy)


@pytest.mark.mcmc
def test_garbled_spec_is_a_results_error(copy):
    (copy / "spec.toml").write_text("name = [unclosed")
    with pytest.raises(ResultsError, match="spec.toml"):
        load_fit(copy)


@pytest.mark.mcmc
def test_empty_models_table_is_a_results_error(copy):
    (copy / "models.csv").write_text("")
    with pytest.raises(ResultsError, match="models.csv"):
        load_fit(copy)


@pytest.mark.mcmc
def test_spec_mismatch(copy, tiny_fit):
    other = tiny_fit.spec.with_changes(sampler={"draws": 51})
    with pytest.raises(ResultsError, match="made with a different spec"):
        load_fit(copy, spec=other)


@pytest.mark.mcmc
@pytest.mark.parametrize("change", ["score", "compute", "dropped_model", "developer"])
def test_changed_dataset(copy, design, change):
    df = design.copy()
    if change == "score":
        df.loc[df.index[3], "mmlu_pro_acc"] += 0.01
    elif change == "compute":
        df.loc[df.index[0], "log10_flop"] += 0.5
    elif change == "dropped_model":
        df = df.iloc[1:]
    else:
        df.loc[df.index[5], "developer"] = "someone-else"
    with pytest.raises(ResultsError, match=r"the data changed since this fit was made \(data "
                       r"hash [0-9a-f]{12} != [0-9a-f]{12}\); refit it"):
        load_fit(copy, df=df)


# -- concurrency --------------------------------------------------------------------------


@pytest.mark.mcmc
def test_concurrent_saves_into_different_folders(tiny_fit, design, tmp_path):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def save(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            tiny_fit.save(tmp_path / f"run{i}")
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"run{i}" for i in range(4)]
    reference = (tmp_path / "run0" / "posterior.nc").read_bytes()
    for i in range(4):
        loaded = load_fit(tmp_path / f"run{i}", df=design, spec=tiny_fit.spec)
        assert _same_posterior(loaded, tiny_fit)
        assert sorted(p.name for p in (tmp_path / f"run{i}").iterdir()) == sorted(RESULT_FILES)
        assert len((tmp_path / f"run{i}" / "posterior.nc").read_bytes()) == len(reference)


# -- tampered results: every problem is one ResultsError line (issue 13) --------------------


def _rewrite_metadata(folder: Path, edit) -> None:
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    edit(meta)
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def _rename_variable(folder: Path) -> None:
    """Rename a posterior variable and re-record the checksum, as a careful tamperer would."""
    nc = folder / "posterior.nc"
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    dt["posterior"] = xr.DataTree(dt["posterior"].to_dataset().rename(
        {"sigma_developer": "sigma_dev"}))
    nc.unlink()
    dt.to_netcdf(nc, engine="h5netcdf")
    _rewrite_metadata(folder, lambda m: m["file_sha256"].update(
        {"posterior.nc": sha256_of(nc)}))


def _rename_pointwise_variable(folder: Path) -> None:
    """As :func:`_rename_variable`, in a group that post-processing does not read."""
    nc = folder / "posterior.nc"
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    ll = dt["log_likelihood"].to_dataset()
    dt["log_likelihood"] = xr.DataTree(ll.rename({next(iter(ll.data_vars)): "renamed"}))
    nc.unlink()
    dt.to_netcdf(nc, engine="h5netcdf")
    _rewrite_metadata(folder, lambda m: m["file_sha256"].update(
        {"posterior.nc": sha256_of(nc)}))


def _drop_draws(folder: Path) -> None:
    nc = folder / "posterior.nc"
    dt = xr.open_datatree(nc, engine="h5netcdf").load()
    short = dt.isel(draw=slice(0, 10))
    nc.unlink()
    short.to_netcdf(nc, engine="h5netcdf")
    _rewrite_metadata(folder, lambda m: (m.pop("structure"), m["file_sha256"].update(
        {"posterior.nc": sha256_of(nc)})))


def _edit_diagnostics_table(folder: Path) -> None:
    """Write text into diagnostics.csv's R-hat column and re-record its checksum."""
    table = folder / "diagnostics.csv"
    frame = pd.read_csv(table, index_col=0)
    frame["r_hat_max"] = "fine"
    frame.to_csv(table)
    _rewrite_metadata(folder, lambda m: m["file_sha256"].update(
        {"diagnostics.csv": sha256_of(table)}))


TAMPERING = {
    "renamed_variable": (_rename_variable, r"does not hold the variables recorded at save time "
                         r"\(missing: sigma_developer; unexpected: sigma_dev\)"),
    "renamed_pointwise_variable": (_rename_pointwise_variable,
                                   r"group 'log_likelihood' does not hold the variables"),
    "fewer_draws_no_structure": (_drop_draws, "10 draws, but spec.toml asks for 50"),
    "metadata_is_a_list": (lambda f: (f / "metadata.json").write_text("[1, 2]"),
                           r"metadata\.json: corrupt \(a JSON list, not an object\)"),
    "metadata_not_utf8": (lambda f: (f / "metadata.json").write_bytes(b'{"spec_hash": "\xff"}'),
                          r"metadata\.json: corrupt \(not UTF-8 text"),
    "no_checksum_table": (lambda f: _rewrite_metadata(f, lambda m: m.pop("file_sha256")),
                          r"has no checksum table \('file_sha256'\)"),
    "checksum_table_wrong_type": (
        lambda f: _rewrite_metadata(f, lambda m: m.update(file_sha256="abc")),
        r"field 'file_sha256' is str 'abc', not dict"),
    "checksum_wrong_type": (
        lambda f: _rewrite_metadata(f, lambda m: m["file_sha256"].update({"models.csv": 5})),
        r"checksum of models\.csv is 5, not a SHA-256 hex digest"),
    "n_models_as_text": (lambda f: _rewrite_metadata(f, lambda m: m.update(n_models="40")),
                         r"field 'n_models' is str '40', not int"),
    "version_as_number": (lambda f: _rewrite_metadata(f, lambda m: m["versions"].update(
        pymc=6)), r"corrupt \(versions\['pymc'\] is int 6\)"),
    "diagnostics_ok_as_text": (lambda f: _rewrite_metadata(f, lambda m: m["diagnostics"].update(
        ok="yes")), r"the diagnostics record is malformed"),
    "diagnostics_divergences_as_text": (
        lambda f: _rewrite_metadata(f, lambda m: m["diagnostics"]["sampler"].update(
            divergences="0")),
        r"corrupt diagnostics record \(sampler record 'divergences' is str, not int\)"),
    "diagnostics_sampler_other_chains": (
        lambda f: _rewrite_metadata(f, lambda m: m["diagnostics"]["sampler"].update(chains=3)),
        r"the diagnostics record counts 3 chains, the posterior has 2"),
    "diagnostics_table_not_numeric": (lambda f: _edit_diagnostics_table(f), (
        r"corrupt diagnostics record \('r_hat_max' is not numeric\)")),
    "seed_as_boolean": (lambda f: _rewrite_metadata(f, lambda m: m.update(seed=True)),
                        r"field 'seed' is bool True, not int"),
    "models_not_utf8": (lambda f: (
        (f / "models.csv").write_bytes(b"model_id\n\xff\xfe\n"),
        _rewrite_metadata(f, lambda m: m["file_sha256"].update(
            {"models.csv": sha256_of(f / "models.csv")}))),
        r"models\.csv: corrupt or empty"),
}


@pytest.mark.mcmc
@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampered_result_is_one_results_error(copy, case, capsys):
    tamper, pattern = TAMPERING[case]
    tamper(copy)
    with pytest.raises(ResultsError, match=pattern) as info:
        load_fit(copy)
    assert "\n" not in str(info.value)
    with pytest.raises(ResultsError, match=pattern):  # the same checks without reading them
        load_fit(copy, omit=POINTWISE_GROUPS)
    for command in (["headline", str(copy)], ["report", str(copy)]):  # and in the CLI
        assert main(command) == 2
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert [ln for ln in err.splitlines() if ln.startswith("error: ")], err


def _same_diagnostics(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert a.sampler == b.sampler
    assert a.failures == b.failures


@pytest.mark.mcmc
def test_diagnostics_rebuilt_from_the_saved_files_equal_a_fresh_computation(
        copy, tiny_fit, monkeypatch):
    import bayes_llm.model.fit as fit_module
    from bayes_llm.model.diagnostics import diagnose

    def refuse(*args, **kwargs):
        raise AssertionError("load_fit recomputed the diagnostics")

    monkeypatch.setattr(fit_module, "diagnose", refuse)
    loaded = load_fit(copy)
    monkeypatch.undo()
    fresh = diagnose(loaded.dt)
    _same_diagnostics(loaded.diagnostics, fresh)
    _same_diagnostics(loaded.diagnostics, tiny_fit.diagnostics)
    assert fresh.failures, "50 draws should fail the ESS rule: the verdict is exercised"
    assert loaded.diagnostics.to_text() == fresh.to_text()


@pytest.mark.mcmc
@pytest.mark.parametrize("drop", ["sampler", "diagnostics"])
def test_diagnostics_recomputed_when_not_saved(copy, tiny_fit, drop, monkeypatch):
    """A fit saved without the sampler record (older versions) gets them recomputed."""
    import bayes_llm.model.fit as fit_module

    if drop == "sampler":
        _rewrite_metadata(copy, lambda m: m["diagnostics"].pop("sampler"))
    else:
        _rewrite_metadata(copy, lambda m: m.pop("diagnostics"))
    calls = []
    original = fit_module.diagnose
    monkeypatch.setattr(fit_module, "diagnose", lambda dt: calls.append(1) or original(dt))
    loaded = load_fit(copy)
    assert calls == [1]
    _same_diagnostics(loaded.diagnostics, tiny_fit.diagnostics)


@pytest.mark.mcmc
def test_load_without_the_pointwise_groups(copy, tiny_fit, tmp_path):
    """Post-processing's load: the same fit less the groups it never reads; not savable."""
    full = load_fit(copy)
    part = load_fit(copy, omit=POINTWISE_GROUPS)
    assert set(full.dt.children) - set(part.dt.children) == set(POINTWISE_GROUPS)
    assert part.omitted_groups == POINTWISE_GROUPS and full.omitted_groups == ()
    for group in part.dt.children:
        assert part.dt[group].identical(full.dt[group]), group
    pd.testing.assert_frame_equal(part.models, full.models)
    _same_diagnostics(part.diagnostics, full.diagnostics)
    with pytest.raises(ResultsError, match="loaded without its log_likelihood, log_prior"):
        part.save(tmp_path / "again")
    assert not (tmp_path / "again").exists()
    with pytest.raises(ValueError, match="cannot be omitted"):
        load_fit(copy, omit=("posterior",))


@pytest.mark.mcmc
def test_saved_result_records_its_structure(copy, tiny_fit):
    meta = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    alpha = meta["structure"]["posterior"]["alpha"]
    assert alpha["dims"] == ["chain", "draw"] and alpha["shape"] == [2, 50]
    assert set(meta["structure"]) >= {"posterior", "sample_stats", "log_likelihood"}


# -- destinations of a saved fit -------------------------------------------------------------


@pytest.mark.mcmc
def test_save_replaces_only_our_results(tiny_fit, copy, tmp_path):
    assert check_output(copy, tiny_fit.spec, 40) == "replace"
    tiny_fit.save(copy)  # ours: replaced
    (copy / "my_notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match=r"holds files bayes_llm did not write "
                       r"\(my_notes\.txt\)"):
        tiny_fit.save(copy)
    assert (copy / "my_notes.txt").read_text(encoding="utf-8") == "mine"
    precious = tmp_path / "precious.txt"
    precious.write_text("keep", encoding="utf-8")
    with pytest.raises(OutputError, match="exists and is a file"):
        tiny_fit.save(precious)
    assert precious.read_text(encoding="utf-8") == "keep"
    assert _leftovers(tmp_path) == []


# -- the sensitivity cache: a corrupt cached fit is refitted, never reused -------------------


STUDY = """
name = "tiny"
base = "logit_normal_groups"
design = "one_at_a_time"
include_base = true
[crossval]
method = "none"
"""


@pytest.mark.mcmc
def test_corrupt_cached_fit_is_refitted(tiny_fit, design, tmp_path, monkeypatch):
    from bayes_llm.sensitivity import load_study, run_study, runner
    from bayes_llm.sensitivity.cache import fit_files

    calls: list[str] = []

    def fake_fit(task):  # the saved tiny fit stands in for sampling
        calls.append(task.variant)
        with tempfile.TemporaryDirectory() as tmp:
            files = fit_files(tiny_fit, tmp)
        return runner.VariantOutcome(variant=task.variant, key=task.key, status="ok",
                                     files=files)

    monkeypatch.setattr(runner, "run_variant", fake_fit)
    monkeypatch.setattr(runner, "postprocess_fit", lambda fit, **kw: (None, None, ""))
    study_file = tmp_path / "tiny.toml"
    study_file.write_text(STUDY, encoding="utf-8")
    study = load_study(study_file)
    out = tmp_path / "study"
    messages: list[str] = []
    run_study(study, design, out, workers=1, loo=False, progress=messages.append)
    assert calls == ["base"]
    run_study(study, design, out, workers=1, loo=False, progress=messages.append)
    assert calls == ["base"]  # an intact cached fit is reused
    (nc,) = (out / "fits").glob("*/posterior.nc")
    os.truncate(nc, nc.stat().st_size // 2)
    messages.clear()
    result = run_study(study, design, out, workers=1, loo=False, progress=messages.append)
    assert calls == ["base", "base"]  # refitted, not reported "ok (cached)"
    assert any("is corrupt" in m and "SHA-256 differs" in m and "refitting" in m
               for m in messages), messages
    assert any("refitted: the cached fit was corrupt" in m for m in messages), messages
    assert result.cached == []
    assert load_fit(nc.parent)  # the refitted entry verifies
    assert _leftovers(out / "fits") == []


def test_study_refuses_a_foreign_output_folder(design, tmp_path):
    from bayes_llm.sensitivity import load_study, run_study

    study_file = tmp_path / "tiny.toml"
    study_file.write_text(STUDY, encoding="utf-8")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputError, match=r"holds files bayes_llm did not write "
                       r"\(thesis\.tex\), not a study folder"):
        run_study(load_study(study_file), design, folder, workers=1)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


# -- figures a data set cannot define ---------------------------------------------------------


def test_one_developer_ols_has_undefined_standard_errors(paper_df):
    from bayes_llm.baseline import fit_notes
    from bayes_llm.baseline.ols import fit_baseline_ols

    one = paper_df[paper_df["developer"] == "Qwen"]
    ols = fit_baseline_ols(one)  # was: ZeroDivisionError in the CR1 correction
    assert np.isfinite(ols.beta) and np.isnan(ols.beta_se)
    assert any("one developer cluster" in n for n in fit_notes(ols))


@pytest.mark.mcmc
def test_one_developer_shares_are_undefined_with_a_reason(tiny_fit):
    from bayes_llm.derived import headline_table

    models = tiny_fit.models.copy()
    models["developer_unit"] = models["developer_unit"].iloc[0]
    one = Fit(spec=tiny_fit.spec, dt=tiny_fit.dt, models=models,
              metadata=dict(tiny_fit.metadata), diagnostics=tiny_fit.diagnostics)
    table = headline_table(one).drop_duplicates("figure").set_index("figure")
    for fid in ("variance_developer_share", "company_share_superpop"):
        assert np.isnan(table.loc[fid, "estimate"])
        assert np.isnan(table.loc[fid, "paper_value"])
        assert table.loc[fid, "note"].startswith("undefined: the data have one developer")
    assert np.isfinite(headline_table(tiny_fit).drop_duplicates("figure").set_index(
        "figure").loc["variance_developer_share", "estimate"])
