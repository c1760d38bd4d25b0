"""``bayes-llm baseline``: readable output, exports, determinism, user errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from bayes_llm.baseline import run_baseline
from bayes_llm.baseline.results import EXPORT_TABLES, MARKDOWN_FILE
from bayes_llm.cli import main


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Small least-squares problems run fastest (and steadiest) on one BLAS thread."""
    with threadpool_limits(limits=1):
        yield


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_cli_prints_table_and_exports_deterministically(tmp_path, mirror_dir, capsys):
    out = tmp_path / "baseline"
    args = ["baseline", "--mirror", str(mirror_dir), "--out", str(out)]
    assert main(args) == 0
    first_stdout = capsys.readouterr().out
    first_files = _snapshot(out)
    assert main(args) == 0
    second_stdout = capsys.readouterr().out
    assert second_stdout == first_stdout
    assert _snapshot(out) == first_files
    assert set(first_files) == {*EXPORT_TABLES.values(), MARKDOWN_FILE}
    for figure in ("beta (log10 FLOP) = 0.789", "clustered SE = 0.192", "R2 = 0.526",
                   "N = 809", "32.0%", "2.7%", "47.4%", "7.52x", "60.5x", "61.4x", "40.6x",
                   "113.5%", "-51.4%", "51.8x", "8,016x"):
        assert figure in first_stdout, figure
    assert "Summary" in first_stdout
    mult = pd.read_csv(out / "multipliers.csv")
    nvidia = mult[(mult["kind"] == "developer") & (mult["label"] == "Nvidia")]
    assert nvidia["multiplier"].iloc[0] == pytest.approx(61.38, abs=0.01)
    assert "## Shapley decomposition of the variance" in (out / MARKDOWN_FILE).read_text()


def test_api_export_is_deterministic(paper_df, tmp_path):
    a, b = run_baseline(paper_df), run_baseline(paper_df)
    assert a.to_markdown() == b.to_markdown()
    assert a.summary() == b.summary()
    a.export(tmp_path / "a")
    b.export(tmp_path / "b")
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")
    (tmp_path / "a" / "keep.txt").write_text("mine")
    a.export(tmp_path / "a")  # re-export replaces our files only
    assert (tmp_path / "a" / "keep.txt").read_text() == "mine"


def test_cli_options(tmp_path, mirror_dir, capsys):
    rc = main(["baseline", "--mirror", str(mirror_dir), "--sample", "majors",
               "--period", "quarter", "--outcome", "math_lvl5", "--threshold", "0.1",
               "--threshold", "0.3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "sample: majors | period: quarter | outcome: math_lvl5" in out
    assert "period[2025Q1]" in out
    assert "10%" in out and "30%" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--sample", "everything"], "unknown sample"),
    (["--period", "year"], "unknown period"),
    (["--outcome", "gsm8k"], "unknown outcome"),
    (["--developers", "teams"], "unknown developers"),
    (["--threshold", "15"], "between 0 and 1"),
])
def test_cli_user_errors(args, message, mirror_dir, capsys):
    assert main(["baseline", "--mirror", str(mirror_dir), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
