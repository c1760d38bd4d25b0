"""``bayes-llm joint`` and ``bayes_llm.joint``: files, diagnostics banner, safe writes, re-render.

Every test but one replaces the sampler by a fake posterior with the model's variables and
dimensions (drawn at random on a small simulated design), so the command, the files and the
re-rendering are checked in seconds; ``test_real_joint_fit_end_to_end`` samples the model
once on a small simulated design (``mcmc``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from joint_fakes import fake_joint_posterior

from bayes_llm.cli import main
from bayes_llm.joint import JOINT_FILES, load_joint, run_joint
from bayes_llm.joint.result import TABLE_FILES
from bayes_llm.model.diagnostics import Diagnostics
from bayes_llm.verify.leaderboard6_sim import simulate_leaderboard6

BENCHES = ("ifeval", "gpqa", "mmlu_pro")
ARGS = ["--benchmarks", ",".join(BENCHES), "--draws", "50", "--tune", "50", "--chains", "2"]


def _simulated(seed: int = 3):
    frame, long, _ = simulate_leaderboard6(n_models=60, n_developers=6, seed=seed)
    frame.attrs["source_file"] = "simulated"
    return frame, long


def _fake_fit(data, spec, **_kwargs) -> xr.DataTree:
    """The joint sampler replaced: random draws, no sampling (``joint_fakes``)."""
    return fake_joint_posterior(data, chains=4, draws=250, log_likelihood=True)


def _failing(dt, var_names=None) -> Diagnostics:
    """Diagnostics of a fit that did not converge (sigma_model's R-hat, ESS)."""
    table = pd.DataFrame({"size": [2, 9], "r_hat_max": [1.078, 1.003],
                          "ess_bulk_min": [31.0, 900.0], "ess_tail_min": [55.0, 800.0],
                          "checked": [True, True]},
                         index=pd.Index(["sigma_model", "developer_corr"], name="variable"))
    sampler = {"divergences": 0, "treedepth_saturated": 0, "ebfmi": [0.9, 0.8],
               "chains": 4, "draws": 250}
    from bayes_llm.model.diagnostics import _failures

    return Diagnostics(table=table, sampler=sampler, failures=_failures(table, sampler))


@pytest.fixture
def fake_cli(monkeypatch):
    """The command on a simulated design, with the fake sampler."""
    frame, long = _simulated()
    monkeypatch.setattr("bayes_llm.cli.joint_cmd.load_data", lambda mirror, data: frame)
    monkeypatch.setattr("bayes_llm.data.benchmarks.benchmark_long_table", lambda f: long)
    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", _fake_fit)
    return frame, long


def test_command_writes_every_file_with_the_diagnostic_status(fake_cli, tmp_path, capsys):
    out = tmp_path / "joint"
    rc = main(["joint", "--out", str(out), *ARGS])
    assert rc == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert set(JOINT_FILES) <= names and ".bayes_llm" in names
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["diagnostics"]["ok"] is True and meta["diagnostics"]["failures"] == []
    assert meta["settings"]["residuals"] == "marginal" and meta["settings"]["ability"] == "conditional"
    assert meta["settings"]["intercept"] == "models"  # the default
    assert meta["settings"]["draws"] == 50 and meta["seed"] is not None
    assert meta["design"]["models"] == 60 and len(meta["data_hash"]) == 64
    assert {"data", "build_compile_sample", "diagnostics"} <= set(meta["timing_seconds"])
    for name in TABLE_FILES.values():
        table = pd.read_csv(out / name)
        assert len(table) and (table["fit_diagnostics"] == "ok").all(), name
    shares = pd.read_csv(out / "benchmark_shares.csv")
    assert list(shares["benchmark"]) == list(BENCHES)
    assert (out / "developer_correlation.png").read_bytes().startswith(b"\x89PNG")
    md = (out / "joint.md").read_text()
    assert "WARNING" not in md and "**OK**" in md and "Common share" in md


def test_failing_diagnostics_put_a_banner_on_every_output(fake_cli, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setattr("bayes_llm.model.diagnostics.diagnose", _failing)
    out = tmp_path / "joint"
    rc = main(["joint", "--out", str(out), *ARGS])
    err = capsys.readouterr().err
    assert rc == 1 and "MCMC DIAGNOSTICS FAILED" in err and "--allow-warnings" in err
    md = (out / "joint.md").read_text()
    head = md.split("## Correlation")[0]
    assert "WARNING: this joint fit FAILED" in head
    assert "sigma_model: R-hat 1.078 > 1.01" in head and "sigma_model: bulk ESS 31 < 400" in head
    assert "R-hat 1.078 > 1.01 (worst element: sigma_model[" in head  # which benchmark
    table = pd.read_csv(out / "correlations.csv")
    assert (~table["fit_diagnostics_ok"]).all()
    assert table["fit_diagnostics"].str.startswith("FAILED: sigma_model: R-hat 1.078").all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["diagnostics"]["ok"] is False and len(meta["diagnostics"]["failures"]) == 3
    assert load_joint(out).diagnostics.failures == meta["diagnostics"]["failures"]
    assert main(["joint", "--out", str(tmp_path / "j2"), *ARGS, "--allow-warnings"]) == 0


def test_refuses_a_foreign_destination_before_fitting(fake_cli, tmp_path, monkeypatch, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")

    def never(*args, **kwargs):
        raise AssertionError("sampled before checking the destination")

    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", never)
    rc = main(["joint", "--out", str(out), *ARGS])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(out) in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert main(["joint", "binomial_developers", "--out", str(tmp_path / "x")]) == 2
    assert "not 'leaderboard6'" in capsys.readouterr().err
    assert main(["joint", "--out", str(tmp_path / "x"), "--residuals", "sideways"]) == 2


def test_from_rerenders_identical_tables_without_refitting(fake_cli, tmp_path, monkeypatch,
                                                           capsys):
    first = tmp_path / "joint"
    assert main(["joint", "--out", str(first), *ARGS]) == 0

    def never(*args, **kwargs):
        raise AssertionError("refitted")

    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", never)
    second = tmp_path / "again"
    assert main(["joint", "--from", str(first), "--out", str(second)]) == 0
    for name in (*TABLE_FILES.values(), "joint.md", "posterior.nc"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # another interval: the tables are recomputed from the saved draws
    third = tmp_path / "eti"
    assert main(["joint", "--from", str(first), "--out", str(third), "--ci-kind", "eti",
                 "--hdi-prob", "0.5"]) == 0
    a, b = (pd.read_csv(d / "correlations.csv") for d in (first, third))
    assert np.allclose(a["median"], b["median"]) and (b["upper"] - b["lower"]
                                                      < a["upper"] - a["lower"]).all()
    assert "50% ETI" in (third / "joint.md").read_text()
    # a damaged file is refused with one line
    with open(first / "design.nc", "ab") as fh:
        fh.write(b"x")
    capsys.readouterr()
    assert main(["joint", "--from", str(first), "--out", str(tmp_path / "bad")]) == 2
    assert "checksum" in capsys.readouterr().err
    refused = [["--from", str(first), "--out", str(tmp_path / "b2"), *extra]
               for extra in (["--draws", "9"], ["--residuals", "centred"], ["--ability", "unit"],
                             ["--intercept", "models"])]
    refused.append(["my_spec", "--from", str(first), "--out", str(tmp_path / "b2")])
    for args in refused:  # options a re-render would otherwise silently ignore
        capsys.readouterr()
        assert main(["joint", *args]) == 2, args
        assert "cannot be used with --from" in capsys.readouterr().err, args


def test_python_api_tables_carry_the_status(monkeypatch):
    frame, long = _simulated()
    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", _fake_fit)
    result = run_joint(frame, long=long, benchmarks=BENCHES, draws=50, tune=50, chains=2)
    tables = result.tables
    assert set(tables) == set(TABLE_FILES)
    assert tables["correlations"].attrs["fit_diagnostics"] == "ok"
    assert "log_likelihood" not in result.dt.children
    monkeypatch.setattr("bayes_llm.model.diagnostics.diagnose", _failing)
    bad = run_joint(frame, long=long, benchmarks=BENCHES, draws=50, tune=50, chains=2)
    assert bad.tables["benchmark_shares"].attrs["fit_diagnostics_ok"] is False


@pytest.mark.slow  # 30 s warm, ~90 s with a cold compile cache: kept out of the default suite
@pytest.mark.mcmc
def test_real_joint_fit_end_to_end(tmp_path, monkeypatch, capsys):
    """The command with the real sampler on 60 simulated models (2 x (100 + 100)).

    The default suite covers the command with fake posteriors (above) and the model with
    the independent log density (``tests/test_leaderboard6_logdensity.py``).
    """
    frame, long = _simulated()
    monkeypatch.setattr("bayes_llm.cli.joint_cmd.load_data", lambda mirror, data: frame)
    monkeypatch.setattr("bayes_llm.data.benchmarks.benchmark_long_table", lambda f: long)
    out = tmp_path / "joint"
    rc = main(["joint", "--out", str(out), "--benchmarks", ",".join(BENCHES), "--draws",
               "100", "--tune", "100", "--chains", "2", "--allow-warnings"])
    assert rc == 0, capsys.readouterr().err
    result = load_joint(out)
    post = result.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 100
    assert "developer_corr" in result.diagnostics.table.index
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["diagnostics"]["ok"] == result.diagnostics.ok
    md = (out / "joint.md").read_text()
    assert ("WARNING: this joint fit FAILED" in md) == (not result.diagnostics.ok)
    corr = pd.read_csv(out / "correlations.csv")
    assert len(corr) == 3 and corr["median"].between(-1, 1).all()


def _stub_report(run_dir, **_kwargs):
    """A small built report standing in for the main fit's (no fit needed)."""
    from bayes_llm.report import SECTIONS, Report, Section

    report = Report(title="stub", sections=[Section(k, v) for k, v in SECTIONS.items()])
    report.section("summary").p("main fit summary")
    report.section("provenance").p("provenance")
    return report


def test_report_section_only_with_joint(fake_cli, tmp_path, monkeypatch, capsys):
    joint = tmp_path / "joint"
    assert main(["joint", "--out", str(joint), *ARGS]) == 0
    monkeypatch.setattr("bayes_llm.report.build._build_report", _stub_report)
    (tmp_path / "run").mkdir()
    plain, with_joint = tmp_path / "plain", tmp_path / "with"
    assert main(["report", str(tmp_path / "run"), "--out", str(plain)]) == 0
    base = _stub_report(None)
    assert (plain / "report.md").read_text() == base.to_markdown()  # unchanged, byte for byte
    assert "six benchmarks" not in (plain / "report.html").read_text()
    assert main(["report", str(tmp_path / "run"), "--out", str(with_joint), "--joint",
                 str(joint)]) == 0
    md = (with_joint / "report.md").read_text()
    assert "## Is the secret sauce general? (six benchmarks)" in md
    assert md.index("six benchmarks)") < md.index("## Provenance")
    assert "Common share of developer variance" in md and "MCMC diagnostics of the joint " \
        "fit: OK" in md
    assert {"joint_developer_correlation.png", "joint_developer_benchmark_effects.png"} <= {
        p.name for p in (with_joint / "figures").iterdir()}
    shares = pd.read_csv(with_joint / "joint_benchmark_shares.csv")
    assert (shares["joint_diagnostics"] == "ok").all() and len(shares) == len(BENCHES)
    assert len(pd.read_csv(with_joint / "joint_concentration.csv")) == 6  # every developer
    monkeypatch.setattr("bayes_llm.report.joint_section.TOP_CONCENTRATED", 2)
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "top2"), "--joint",
                 str(joint)]) == 0
    md = (tmp_path / "top2" / "report.md").read_text()
    shown = md.split("most concentrated in one benchmark")[1].split("\n\n")[1]
    assert shown.count("\n") == 3  # header, rule and 2 rows shown; the CSV keeps all 6
    assert len(pd.read_csv(tmp_path / "top2" / "joint_concentration.csv")) == 6
    # a failing joint fit: banner in its section, exit 1 unless --allow-warnings
    monkeypatch.setattr("bayes_llm.model.diagnostics.diagnose", _failing)
    bad = tmp_path / "bad_joint"
    assert main(["joint", "--out", str(bad), *ARGS, "--allow-warnings"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "r3"), "--joint",
                 str(bad)]) == 1
    assert "joint six-benchmark fit" in capsys.readouterr().err
    md = (tmp_path / "r3" / "report.md").read_text()
    section = md.split("## Is the secret sauce general? (six benchmarks)")[1]
    assert section.lstrip().startswith("WARNING: the joint fit FAILED")
    assert "sigma_model: R-hat 1.078 > 1.01" in section
    shares = pd.read_csv(tmp_path / "r3" / "joint_benchmark_shares.csv")
    assert (~shares["joint_diagnostics_ok"]).all()
    # a folder that is not a joint result: one line, exit 2
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "r4"), "--joint",
                 str(tmp_path / "run")]) == 2


def test_intercept_option_reaches_the_sampler_and_the_record(fake_cli, monkeypatch, tmp_path,
                                                              capsys):
    seen = {}

    def spy(data, spec, **kwargs):
        seen.update(kwargs)
        return _fake_fit(data, spec)

    monkeypatch.setattr("bayes_llm.model.leaderboard6.fit_leaderboard6", spy)
    out = tmp_path / "joint"
    assert main(["joint", "--out", str(out), "--intercept", "equal", *ARGS]) == 0
    assert seen["intercept"] == "equal"  # not the default
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["settings"]["intercept"] == "equal"
    assert "intercept equal" in (out / "joint.md").read_text()
    capsys.readouterr()
    assert main(["joint", "--out", str(tmp_path / "bad"), "--intercept", "sideways",
                 *ARGS]) == 2
    assert "--intercept 'sideways'" in capsys.readouterr().err
