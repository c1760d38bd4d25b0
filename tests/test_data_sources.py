"""Source resolution: explicit path > mirror > cache > download, checksums, offline errors."""

from __future__ import annotations

import io
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bayes_llm.cli import main
from bayes_llm.data import load_paper_dataset
from bayes_llm.data.sources import (
    get_source,
    load_manifest,
    resolve,
    sha256_of,
    source_status,
)
from bayes_llm.errors import ChecksumError, DataSourceError

#: A small source (28 kB) so copies and fake downloads stay fast.
SMALL = "obsscaling_base_eval"


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("BAYES_LLM_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def no_mirror_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAYES_LLM_DATA_MIRROR", raising=False)


@pytest.fixture
def empty_mirror(tmp_path: Path) -> Path:
    folder = tmp_path / "empty_mirror"
    folder.mkdir()
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if anything tries to download."""
    calls: list[str] = []

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return calls


def _fake_urlopen(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> list[str]:
    calls: list[str] = []

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return calls


def _put(folder: Path, name: str, data: bytes) -> Path:
    target = folder / get_source(name).mirror_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _real_bytes(mirror_dir: Path, name: str) -> bytes:
    return (mirror_dir / get_source(name).mirror_path).read_bytes()


# --- the manifest -----------------------------------------------------------------------


def test_manifest_pins_every_source_to_a_commit_and_checksum():
    manifest = load_manifest()
    assert len(manifest) == 7
    for source in manifest.values():
        assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0
        assert source.commit and source.commit in source.url, source.name
        assert source.url.startswith("https://"), source.name
        assert source.licence and source.citation, source.name


def test_every_mirror_file_verifies(mirror_dir: Path, no_network):
    rows = source_status(mirror_dir)
    assert {r["source"] for r in rows} == set(load_manifest())
    assert all(r["status"] == "ok" for r in rows), rows
    assert all(r["path"].startswith(str(mirror_dir)) for r in rows)


def test_unknown_source_lists_known_ones():
    with pytest.raises(DataSourceError, match="unknown data source 'nope'.*secret_sauce"):
        get_source("nope")


# --- resolution order -------------------------------------------------------------------


def test_explicit_path_beats_mirror_and_cache(tmp_path, mirror_dir, cache, no_network):
    data = _real_bytes(mirror_dir, SMALL)
    _put(cache, SMALL, data)
    explicit = tmp_path / "elsewhere" / "my_copy.csv"
    explicit.parent.mkdir()
    explicit.write_bytes(data)
    assert resolve(SMALL, path=explicit, mirror=mirror_dir) == explicit


def test_mirror_beats_cache(mirror_dir, cache, no_network):
    _put(cache, SMALL, _real_bytes(mirror_dir, SMALL))
    assert resolve(SMALL, mirror=mirror_dir) == mirror_dir / get_source(SMALL).mirror_path


def test_mirror_from_environment(mirror_dir, cache, no_network, monkeypatch):
    monkeypatch.setenv("BAYES_LLM_DATA_MIRROR", str(mirror_dir))
    assert resolve(SMALL) == mirror_dir / get_source(SMALL).mirror_path


def test_cache_used_when_mirror_lacks_the_file(mirror_dir, empty_mirror, cache, no_network):
    cached = _put(cache, SMALL, _real_bytes(mirror_dir, SMALL))
    assert resolve(SMALL, mirror=empty_mirror) == cached


def test_download_writes_verified_file_into_cache(mirror_dir, empty_mirror, cache,
                                                  no_mirror_env, monkeypatch):
    data = _real_bytes(mirror_dir, SMALL)
    calls = _fake_urlopen(monkeypatch, data)
    got = resolve(SMALL, download=True)
    assert calls == [get_source(SMALL).url]
    assert got == cache / get_source(SMALL).mirror_path
    assert got.read_bytes() == data
    # Atomic write: only the final file, no temporary left beside it.
    assert _files_under(cache) == [got]
    # A second call is served from the cache, without the network.
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded"))
    assert resolve(SMALL, mirror=empty_mirror) == got


def test_download_is_the_default_when_not_offline(mirror_dir, cache, no_mirror_env,
                                                  monkeypatch):
    monkeypatch.delenv("BAYES_LLM_OFFLINE")
    calls = _fake_urlopen(monkeypatch, _real_bytes(mirror_dir, SMALL))
    assert resolve(SMALL).is_file()
    assert len(calls) == 1


def test_offline_env_prevents_download(cache, no_mirror_env, no_network):
    with pytest.raises(DataSourceError, match="offline"):
        resolve(SMALL)
    assert no_network == []
    assert not cache.exists() or _files_under(cache) == []


def test_download_checksum_mismatch_writes_nothing(cache, no_mirror_env, monkeypatch):
    _fake_urlopen(monkeypatch, b"model,score\nnot,the,real,file\n")
    with pytest.raises(ChecksumError) as info:
        resolve(SMALL, download=True)
    message = str(info.value)
    assert "SHA-256 mismatch" in message and get_source(SMALL).sha256 in message
    assert "nothing was written to the cache" in message
    assert not cache.exists() or _files_under(cache) == []


def test_interrupted_download_write_leaves_no_partial_file(mirror_dir, cache, no_mirror_env,
                                                           monkeypatch):
    data = _real_bytes(mirror_dir, SMALL)
    _fake_urlopen(monkeypatch, data)
    real_write = Path.write_bytes

    def half_write(self, payload):
        real_write(self, payload[: len(payload) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_write)
    with pytest.raises(OSError, match="disk full"):
        resolve(SMALL, download=True)
    assert _files_under(cache) == []


def test_network_failure_says_how_to_provide_the_file(cache, no_mirror_env, monkeypatch):
    def urlopen(url, *args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(DataSourceError, match="download failed.*no route to host") as info:
        resolve(SMALL, download=True)
    assert "--mirror" in str(info.value)
    assert not cache.exists() or _files_under(cache) == []


# --- nothing found offline --------------------------------------------------------------


def test_offline_missing_file_gives_one_actionable_error(empty_mirror, no_network):
    source = get_source("secret_sauce")
    with pytest.raises(DataSourceError) as info:
        resolve("secret_sauce", mirror=empty_mirror)
    message = str(info.value)
    assert "\n" not in message
    assert source.mirror_path in message
    assert "--mirror" in message and "BAYES_LLM_DATA_MIRROR" in message
    assert str(empty_mirror) in message and source.url in message


def test_cli_offline_missing_file(empty_mirror, capsys, no_network):
    code = main(["data", "summary", "--mirror", str(empty_mirror)])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "secret-sauce/dataset_for_github.xlsx" in lines[0]
    assert "--mirror" in lines[0] and "BAYES_LLM_DATA_MIRROR" in lines[0]


def test_cli_fetch_offline_missing_file(empty_mirror, capsys, no_network):
    code = main(["data", "fetch", "--mirror", str(empty_mirror), "--source", SMALL])
    _, err = capsys.readouterr()
    assert code == 2
    assert get_source(SMALL).mirror_path in err


def test_missing_explicit_path(tmp_path, no_network):
    missing = tmp_path / "no_such_file.xlsx"
    with pytest.raises(DataSourceError, match="no_such_file.xlsx does not exist"):
        load_paper_dataset(path=missing)


# --- wrong checksums --------------------------------------------------------------------


@pytest.fixture
def corrupt_mirror(tmp_path: Path, mirror_dir: Path) -> Path:
    """A mirror holding the paper's xlsx with one byte changed."""
    folder = tmp_path / "corrupt_mirror"
    source = get_source("secret_sauce")
    target = folder / source.mirror_path
    target.parent.mkdir(parents=True)
    data = bytearray((mirror_dir / source.mirror_path).read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return folder


def test_one_changed_byte_fails_the_checksum(corrupt_mirror, no_network):
    source = get_source("secret_sauce")
    with pytest.raises(ChecksumError) as info:
        resolve("secret_sauce", mirror=corrupt_mirror)
    message = str(info.value)
    bad = corrupt_mirror / source.mirror_path
    assert str(bad) in message
    assert f"expected {source.sha256}" in message and f"got {sha256_of(bad)}" in message
    assert "\n" not in message


def test_small_fake_file_in_mirror_fails_the_checksum(tmp_path, no_network):
    _put(tmp_path, "secret_sauce", b"PK\x03\x04 not a spreadsheet")
    with pytest.raises(ChecksumError, match="SHA-256 mismatch for source 'secret_sauce'"):
        load_paper_dataset(mirror=tmp_path)


def test_bad_mirror_file_is_an_error_not_a_fallback(corrupt_mirror, mirror_dir, cache,
                                                    no_network):
    # A good copy in the cache does not hide a corrupt mirror.
    _put(cache, "secret_sauce", _real_bytes(mirror_dir, "secret_sauce"))
    with pytest.raises(ChecksumError):
        resolve("secret_sauce", mirror=corrupt_mirror)


def test_bad_cache_file_is_reported_and_left_alone(empty_mirror, cache, no_network):
    cached = _put(cache, SMALL, b"stale")
    with pytest.raises(ChecksumError, match=str(cached)):
        resolve(SMALL, mirror=empty_mirror, download=True)
    assert cached.read_bytes() == b"stale"


def test_cli_summary_with_corrupt_mirror(corrupt_mirror, capsys, no_network):
    code = main(["data", "summary", "--mirror", str(corrupt_mirror)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "SHA-256 mismatch" in err


def test_cli_verify_reports_each_source(corrupt_mirror, capsys, no_network):
    code = main(["data", "verify", "--mirror", str(corrupt_mirror)])
    out, _ = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(load_manifest())
    sauce = next(line for line in lines if " secret_sauce " in line)
    small = next(line for line in lines if f" {SMALL} " in line)
    assert sauce.startswith("CHECKSUM MISMATCH")
    assert small.startswith("missing")


def test_cli_verify_all_ok(mirror_dir, capsys, no_network):
    code = main(["data", "verify", "--mirror", str(mirror_dir)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.count("ok ") == len(load_manifest())


def test_copy_in_mirror_layout_is_found(tmp_path, mirror_dir, no_network):
    source = get_source("secret_sauce")
    target = tmp_path / source.mirror_path
    target.parent.mkdir(parents=True)
    shutil.copyfile(mirror_dir / source.mirror_path, target)
    assert len(load_paper_dataset(mirror=tmp_path)) == 809
