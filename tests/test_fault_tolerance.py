"""Fault tolerance of saved fits: atomic saves, and load_fit refusing damaged results.

* An interrupted ``Fit.save`` leaves neither the result folder nor a temporary folder, and
  an older result at the same place survives intact.
* ``load_fit`` raises ``ResultsError`` with a message naming the file for a truncated,
  corrupted or replaced ``posterior.nc`` (checked against the SHA-256s recorded in
  ``metadata.json``), an edited or garbled ``spec.toml``, an edited or empty table, a
  corrupt ``metadata.json``, any missing file, and a changed dataset.
* Saves from several threads into different folders do not interfere.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.errors import ResultsError
from bayes_llm.model import Fit, fit_model, load_fit, load_spec
from bayes_llm.model.fit import RESULT_FILES
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
