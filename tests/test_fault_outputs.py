"""Faults around outputs, processes and the environment (issue 13), without sampling.

* ``fit --out`` refuses, before any sampling, every destination that is not a bayes_llm
  result (a user's folder, a file, a device node, the current folder, a symlink loop, a
  file as parent, a read-only place, a full disk): one line, exit 2, nothing touched.
* Four processes replacing one result folder at once: none raises, no debris.
* ``kill -9`` of a study's parent leaves no worker running.
* An unwritable HOME falls back to a private compile folder and says so.
* Every CLI command over the bad-input corpus: exit 2, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from bayes_llm import atomic
from bayes_llm.atomic import MARKER, atomic_directory, is_ours, write_text_atomic
from bayes_llm.cli import main
from bayes_llm.data import load_model_table
from bayes_llm.errors import DataValidationError, OutputError

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "bad_inputs"
GOOD_ROWS = """model_id,developer,release_month,mmlu_pro_acc,log10_flop
Fjord-7B,fjordlabs,2024-03,0.412,22.9
Fjord-13B,fjordlabs,2024-05,0.455,23.2
Heron-1B,heronai,2024-08,0.218,22.0
Heron-3B,heronai,2024-11,0.301,22.6
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "models.csv"
    path.write_text(GOOD_ROWS, encoding="utf-8")
    return path


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("sampling started before the destination was checked")

    monkeypatch.setattr("bayes_llm.model.fit_model", refuse)
    monkeypatch.setattr("bayes_llm.model.fit.fit_model", refuse)


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p)] = f"-> {os.readlink(p)}"
        elif p.is_file():
            out[str(p)] = p.read_bytes()
        else:
            out[str(p)] = "dir"
    return out


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, err  # progress lines (e.g. where the data came from) may precede
    assert err.rstrip("\n").splitlines()[-1] == errors[0], err
    return errors[0]


# -- output destinations, checked before sampling ------------------------------------------


def _user_folder(base: Path) -> Path:
    folder = base / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes", encoding="utf-8")
    return folder


def _existing_file(base: Path) -> Path:
    path = base / "paper.pdf"
    path.write_bytes(b"%PDF precious")
    return path


def _symlink_loop(base: Path) -> Path:
    (base / "a").symlink_to(base / "b")
    (base / "b").symlink_to(base / "a")
    return base / "a"


def _parent_is_file(base: Path) -> Path:
    (base / "file").write_text("x", encoding="utf-8")
    return base / "file" / "run"


def _current_folder(base: Path) -> Path:
    os.chdir(base)
    return Path(".")


DESTINATIONS = {
    "user_folder": (_user_folder, "holds files bayes_llm did not write (notes.txt)"),
    "existing_file": (_existing_file, "exists and is a file, not a bayes_llm result folder"),
    "dev_null": (lambda base: Path(os.devnull), "exists and is a device node"),
    "current_folder": (_current_folder, "is the current folder"),
    "symlink_loop": (_symlink_loop, "symbolic link"),
    "parent_is_file": (_parent_is_file, "is a file, not a folder"),
}


@pytest.mark.parametrize("case", list(DESTINATIONS))
def test_fit_refuses_foreign_destinations_before_sampling(case, tmp_path, good_csv, capsys,
                                                          monkeypatch, no_sampling):
    monkeypatch.chdir(tmp_path)
    make, fragment = DESTINATIONS[case]
    out = make(tmp_path)
    before = _snapshot(tmp_path)
    code = main(["fit", "--model", "logit_normal_groups", "--data", str(good_csv),
                 "--out", str(out)])
    line = _one_error_line(capsys)
    assert code == 2
    assert fragment in line, line
    assert _snapshot(tmp_path) == before  # nothing created, nothing touched
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("fault", ["read_only", "full_disk"])
def test_fit_refuses_unwritable_or_full_destination(fault, tmp_path, good_csv, capsys,
                                                    monkeypatch, no_sampling):
    if fault == "read_only":  # root ignores permissions: simulate a read-only file system
        def mkdtemp(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(atomic.tempfile, "mkdtemp", mkdtemp)
        fragment = "cannot write in"
    else:
        monkeypatch.setattr(atomic.shutil, "disk_usage",
                            lambda path: type("U", (), {"free": 10_000})())
        fragment = "not enough room on the file system"
    code = main(["fit", "--model", "logit_normal_groups", "--data", str(good_csv),
                 "--out", str(tmp_path / "run")])
    line = _one_error_line(capsys)
    assert code == 2 and fragment in line, line
    assert list(tmp_path.iterdir()) == []


def test_sampler_overrides_are_checked_before_sampling(tmp_path, good_csv, capsys,
                                                       no_sampling):
    code = main(["fit", "--model", "logit_normal_groups", "--data", str(good_csv),
                 "--out", str(tmp_path / "run"), "--draws", "1000000000"])
    line = _one_error_line(capsys)
    assert code == 2 and "GB of memory" in line, line
    code = main(["fit", "--model", "logit_normal_groups", "--data", str(good_csv),
                 "--out", str(tmp_path / "run"), "--seed", "-3"])
    assert code == 2 and "seed must be an integer in [0, 2**32)" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_only_its_own_folders(tmp_path):
    target = tmp_path / "result"
    with atomic_directory(target, kind="test") as tmp:
        (tmp / "a.txt").write_text("1", encoding="utf-8")
    assert is_ours(target)
    assert json.loads((target / MARKER).read_text())["entries"] == ["a.txt"]
    with atomic_directory(target, kind="test") as tmp:  # ours: replaced
        (tmp / "a.txt").write_text("2", encoding="utf-8")
    assert (target / "a.txt").read_text() == "2"
    (target / "mine.txt").write_text("keep", encoding="utf-8")  # the user adds a file
    with pytest.raises(OutputError, match=r"holds files bayes_llm did not write \(mine.txt\)"):
        with atomic_directory(target, kind="test") as tmp:
            (tmp / "a.txt").write_text("3", encoding="utf-8")
    assert (target / "mine.txt").read_text() == "keep" and (target / "a.txt").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]  # no temporary folder


def test_a_foreign_file_appearing_during_the_write_is_kept(tmp_path):
    target = tmp_path / "result"
    with pytest.raises(OutputError, match="did not write"):
        with atomic_directory(target, kind="test") as tmp:
            (tmp / "a.txt").write_text("1", encoding="utf-8")
            target.mkdir()  # meanwhile, someone else writes there
            (target / "theirs.txt").write_text("theirs", encoding="utf-8")
    assert (target / "theirs.txt").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]


def test_file_writes_refuse_non_regular_targets(tmp_path):
    (tmp_path / "folder").mkdir()
    for target, kind in ((tmp_path / "folder", "a folder"), (Path(os.devnull), "a device node")):
        with pytest.raises(OutputError, match=f"exists and is {kind}"):
            write_text_atomic(target, "x")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(OutputError, match="symbolic link"):
        write_text_atomic(tmp_path / "link", "x")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert not (tmp_path / "elsewhere.txt").exists()


def test_disk_full_during_a_write_is_one_line_and_leaves_nothing(tmp_path):
    target = tmp_path / "result"
    with pytest.raises(OutputError, match="nothing was written.*No space left") as info:
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("1", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from bayes_llm.atomic import atomic_directory
    target, start, tag = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    while time.time() < start:
        time.sleep(0.002)
    for i in range(25):
        with atomic_directory(target, kind="test") as tmp:
            (tmp / "big.txt").write_text(tag * 100_000)
            (tmp / "tag.txt").write_text(tag)
""")


def test_four_processes_replacing_one_result(tmp_path):
    target = tmp_path / "result"
    start = time.time() + 4.0  # all four start writing at once, after their imports
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(start), tag],
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for tag in "ABCD"]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]  # no .old / .partial
    tag = (target / "tag.txt").read_text()
    assert (target / "big.txt").read_text() == tag * 100_000  # one writer's complete result
    assert sorted(p.name for p in target.iterdir()) == sorted([MARKER, "big.txt", "tag.txt"])


# -- processes ----------------------------------------------------------------------------


PARENT = textwrap.dedent("""
    import sys
    from bayes_llm.processes import execute
    code = "import os, pathlib, time; pathlib.Path(%r, str(os.getpid())).touch(); time.sleep(120)"
    for _ in execute(exec, [code % sys.argv[1]] * 2, workers=2):
        pass
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_a_study_leaves_no_worker(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while len(list(tmp_path.iterdir())) < 2 and time.time() < deadline:
            assert parent.poll() is None, "the study process ended early"
            time.sleep(0.2)
        workers = [int(p.name) for p in tmp_path.iterdir()]
        assert len(workers) == 2 and all(_alive(w) for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 15
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not [w for w in workers if _alive(w)], "workers outlived the killed study"


# -- environment --------------------------------------------------------------------------


def test_unwritable_home_falls_back_to_a_private_compile_folder(tmp_path):
    env = _env()
    env.pop("PYTENSOR_FLAGS", None)
    env["HOME"] = os.devnull  # not a folder: nothing can be created under it
    code = ("import bayes_llm, pytensor; print(pytensor.config.base_compiledir)")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    used = Path(proc.stdout.strip())
    assert used.name.startswith("bayes_llm-pytensor-")
    assert f"the compile folder {os.devnull}/.pytensor is not writable" in proc.stderr
    assert not used.exists()  # the private folder is removed at exit


def test_compile_folder_logic(tmp_path, monkeypatch):
    from bayes_llm import compiledir

    env = {"HOME": str(tmp_path), "PYTENSOR_FLAGS": "floatX=float64"}
    monkeypatch.setattr(compiledir.sys, "modules", {})  # as if PyTensor were not imported
    assert compiledir.ensure_compile_dir(env, announce=False) is None  # writable: untouched
    env["PYTENSOR_FLAGS"] = f"floatX=float64,base_compiledir={tmp_path}/f/x"
    (tmp_path / "f").write_text("a file", encoding="utf-8")
    note = compiledir.ensure_compile_dir(env, announce=False)
    assert note and "is not writable" in note
    assert env["PYTENSOR_FLAGS"].startswith("floatX=float64,base_compiledir=")
    assert f"{tmp_path}/f/x" not in env["PYTENSOR_FLAGS"]


def test_unwritable_data_cache_is_one_line(monkeypatch):
    import hashlib

    from bayes_llm.data import sources

    payload = b"model_id\n"
    source = sources.Source(name="x", title="x", mirror_path="x/x.csv",
                            url="https://example.invalid/x.csv",
                            sha256=hashlib.sha256(payload).hexdigest(), licence="", citation="")

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return payload

    monkeypatch.setattr(sources.urllib.request, "urlopen", lambda *a, **k: Response())
    target = Path(os.devnull) / "cache" / "x.csv"  # a cache folder that cannot exist
    with pytest.raises(OutputError, match=r"x\.csv: cannot write the file") as info:
        sources._download(source, target, 1.0)
    assert "\n" not in str(info.value)


# -- data files -----------------------------------------------------------------------------


def test_spreadsheet_size_is_checked_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    assert path.stat().st_size < 100_000

    def no_inflate(*args, **kwargs):
        raise AssertionError("the spreadsheet was opened before its size was checked")

    monkeypatch.setattr("pandas.read_excel", no_inflate)
    monkeypatch.setattr("bayes_llm.data.user.MAX_SPREADSHEET_BYTES", 10_000_000)
    with pytest.raises(DataValidationError, match=r"inflates to 30 MB .* above the limit of "
                       r"10 MB; export the table as CSV"):
        load_model_table(path)


def test_excel_date_cells_are_accepted(tmp_path):
    import pandas as pd

    table = pd.read_csv(pd.io.common.StringIO(GOOD_ROWS))
    table["release_month"] = pd.to_datetime(table["release_month"])  # real date cells
    path = tmp_path / "models.xlsx"
    table.to_excel(path, index=False)
    loaded = load_model_table(path)
    assert list(loaded["month"]) == ["2024-03", "2024-05", "2024-08", "2024-11"]


def test_ols_refuses_a_table_too_large_for_memory(monkeypatch):
    from bayes_llm.data import schema

    monkeypatch.setattr(schema, "OLS_MAX_MATRIX_BYTES", 1000)
    with pytest.raises(DataValidationError, match="too large for the paper's dummy-variable "
                       "OLS: 20 models x 30 dummy columns"):
        schema.check_ols_size("t.csv", 20, 30)
    schema.check_ols_size("t.csv", 5, 5)  # small enough


# -- no traceback, ever, for the corpus -----------------------------------------------------


def _data_commands(path: Path, out: Path) -> list[list[str]]:
    return [["data", "summary", "--data", str(path)],
            ["baseline", "--data", str(path)],
            ["fit", "--model", "logit_normal_groups", "--data", str(path), "--out", str(out)],
            ["run", "--data", str(path), "--out", str(out)],
            ["sensitivity", "quick", "--data", str(path), "--out", str(out)]]


def test_no_command_prints_a_traceback_for_the_corpus(tmp_path, capsys, monkeypatch,
                                                      no_sampling):
    monkeypatch.setattr("bayes_llm.sensitivity.run_study", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("a study started on invalid data")))
    out = tmp_path / "out"
    cases = []
    for path in sorted(CORPUS.glob("*.csv")):
        cases += _data_commands(path, out)
    for path in sorted(CORPUS.glob("spec_*.toml")):
        cases.append(["fit", "--model", str(path), "--out", str(out)])
        cases.append(["run", "--model", str(path), "--out", str(out)])
    failures = []
    for argv in cases:
        try:
            code = main(argv)
        except BaseException as exc:  # noqa: BLE001 - any escape is a traceback for the user
            failures.append(f"{' '.join(argv)}: raised {type(exc).__name__}: {exc}")
            continue
        stdout, err = capsys.readouterr()
        errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        if code != 2 or "Traceback" in stdout + err or len(errors) != 1:
            failures.append(f"{' '.join(argv)}: exit {code}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert not out.exists()


def test_cached_tables_are_verified_before_reuse(tmp_path):
    import pandas as pd

    from bayes_llm.sensitivity.cache import CacheEntry

    entry = CacheEntry(key="k" * 64, path=tmp_path)
    table = pd.DataFrame({"figure": ["a", "b"], "median": [0.25, 0.5]})
    entry.write_extra("headline", table, {"options": {}})
    pd.testing.assert_frame_equal(entry.read_extra("headline", {"options": {}}), table)
    csv = tmp_path / "headline.csv"
    csv.write_text(csv.read_text().replace("0.25", "0.99"))  # edited: recomputed, not reused
    assert entry.read_extra("headline", {"options": {}}) is None
    csv.write_bytes(b"\xff\xfe")  # garbage: also None, never a traceback
    assert entry.read_extra("headline", {"options": {}}) is None
    (tmp_path / "status.json").write_text("[1]")  # not an object
    assert entry.read_json("status") == {}


def test_prune_deletes_only_cached_fits(tmp_path):
    from bayes_llm.sensitivity.cache import FitCache

    with atomic_directory(tmp_path / "aaaaaaaaaaaa", kind="cached fit") as tmp:
        (tmp / "posterior.nc").write_bytes(b"x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    removed = FitCache(tmp_path).prune(keep=set())
    assert [p.name for p in removed] == ["aaaaaaaaaaaa"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
