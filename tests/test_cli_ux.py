"""A researcher's day: fast start, diagnostics with every number, interval choice, exports,
one data location, readable output (issue 14, items 1, 2, 4-7)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_llm.cli import COMMANDS, main
from bayes_llm.errors import DataSourceError

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- 1: start-up, -h, --version
def test_help_and_version_import_nothing_heavy():
    code = ("import sys\nfrom bayes_llm.cli import main\n"
            "for args in (['--help'], ['-h'], ['--version']):\n"
            "    assert main(args) == 0, args\n"
            "heavy = [m for m in ('pymc', 'arviz', 'pandas', 'pytensor', 'xarray', 'matplotlib')"
            " if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert "HEAVY []" in proc.stdout
    assert "bayes-llm" in proc.stdout and "Commands" in proc.stdout


def test_reading_a_fit_and_its_headline_imports_no_sampler_and_no_plotting():
    """Issue 14: post-processing of a saved fit loads neither PyMC nor the plotting stack."""
    code = ("import sys\nfrom bayes_llm.model import load_fit\n"
            "from bayes_llm.derived import headline_draws, headline_table\n"
            "from bayes_llm.report.exports import parameter_summary\n"
            "from bayes_llm.report.build import find_fit_dir\n"
            "heavy = [m for m in ('pymc', 'pytensor', 'arviz_plots', 'matplotlib')"
            " if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert "HEAVY []" in proc.stdout


def test_cli_backend_names_are_the_samplers_backends():
    """The --backend help of fit/run/validate lists what the sampler accepts."""
    from bayes_llm.cli.options import BACKEND_NAMES
    from bayes_llm.model.sampling import BACKENDS

    assert BACKEND_NAMES == tuple(BACKENDS)


def test_help_lists_every_command_and_version(capsys):
    assert main(["-h"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert main(["--version"]) == 0
    assert re.match(r"bayes-llm \S+ \(Python 3\.", capsys.readouterr().out)
    assert main(["fit", "-h"]) == 0
    assert "--all-parameters" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["nosuch"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_specs_lists_the_bundled_specs(capsys):
    assert main(["specs"]) == 0
    out = capsys.readouterr().out
    names = sorted(p.stem for p in (REPO / "models").glob("*.toml"))
    assert [line.split()[0] for line in out.strip().splitlines()] == names


# ---------------------------------------------------------------------- 6: data location
@pytest.fixture
def discovery(monkeypatch, tmp_path):
    """Discovery on, no environment variable, the config file under tmp_path."""
    monkeypatch.delenv("BAYES_LLM_DATA_MIRROR", raising=False)
    monkeypatch.delenv("BAYES_LLM_NO_DISCOVERY", raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("BAYES_LLM_CONFIG", str(config))
    return config


def test_location_order_flag_env_config_convention(discovery, monkeypatch, tmp_path):
    from bayes_llm import location

    # nothing set: the ../shared/data convention (or nothing) decides
    found = location.data_location()
    shared = location.CHECKOUT_ROOT.parent / "shared" / "data"
    assert found.mirror == (shared.resolve() if shared.is_dir() else None)
    # the config file written by scripts/main.sh
    discovery.write_text('# Written by scripts/main.sh\n[data]\nmirror = "/from/config"\n')
    assert location.data_location() == location.DataLocation(
        Path("/from/config"), f"config {discovery}")
    # a relative path in the config is relative to the config's folder
    discovery.write_text('[data]\nmirror = "mirror"\n')
    assert location.data_location().mirror == (tmp_path / "mirror").resolve()
    # the environment variable beats the config; the flag beats both
    monkeypatch.setenv("BAYES_LLM_DATA_MIRROR", "/from/env")
    assert location.data_location().mirror == Path("/from/env")
    assert location.data_location("/from/flag").how == "--mirror"
    # the data sources use the same lookup
    from bayes_llm.data.sources import mirror_dir

    assert mirror_dir() == Path("/from/env")
    # tests (and anyone) can switch discovery off
    monkeypatch.delenv("BAYES_LLM_DATA_MIRROR")
    monkeypatch.setenv("BAYES_LLM_NO_DISCOVERY", "1")
    assert location.data_location().mirror is None


def test_bad_config_is_one_line(discovery):
    from bayes_llm.location import data_location

    discovery.write_text("[data\nmirror = 3")
    with pytest.raises(DataSourceError) as info:
        data_location()
    assert "\n" not in str(info.value) and str(discovery) in str(info.value)
    discovery.write_text("[data]\nmirror = 3\n")
    with pytest.raises(DataSourceError, match="must be a folder path"):
        data_location()


def test_main_sh_config_is_found_in_a_new_process(tmp_path, mirror_dir):
    """What scripts/main.sh writes is what a fresh Python session reads, with no env var."""
    script = (REPO / "scripts" / "main.sh").read_text()
    block = script[script.index("config=.bayes_llm.toml"):script.index(
        "export PYTENSOR_FLAGS")]
    subprocess.run(["bash", "-c", f"set -euo pipefail\n{block}"], cwd=tmp_path, check=True,
                   env={"BAYES_LLM_DATA_MIRROR": str(mirror_dir), "PATH": "/usr/bin:/bin"},
                   capture_output=True)
    config = tmp_path / ".bayes_llm.toml"
    code = ("from bayes_llm.location import data_location\n"
            "print(data_location().describe())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={"PYTHONPATH": str(REPO), "PATH": "",
                                           "BAYES_LLM_CONFIG": str(config)})
    printed = proc.stdout.strip()
    assert printed.startswith("mirror ") and printed.endswith(f" (from config {config})")
    found = printed.removeprefix("mirror ").removesuffix(f" (from config {config})")
    assert Path(found).resolve() == Path(mirror_dir).resolve()  # symlinks may stay unresolved
    # a file main.sh did not write is left alone
    config.write_text("[data]\nmirror = '/mine'\n")
    subprocess.run(["bash", "-c", f"set -euo pipefail\n{block}"], cwd=tmp_path, check=True,
                   env={"BAYES_LLM_DATA_MIRROR": str(mirror_dir), "PATH": "/usr/bin:/bin"},
                   capture_output=True)
    assert config.read_text() == "[data]\nmirror = '/mine'\n"


def test_commands_say_where_their_data_came_from(capsys, mirror_dir):
    assert main(["data", "summary", "--mirror", str(mirror_dir)]) == 0
    err = capsys.readouterr().err
    assert f"mirror {mirror_dir} (from --mirror)" in err
    assert "dataset_for_github.xlsx" in err


# ---------------------------------------------- 2, 4, 5, 7: a saved (small, failing) fit
@pytest.fixture(scope="module")
def saved_fit(binomial_fit, tmp_path_factory):
    """The shared small binomial fit saved as a run folder (results/main layout)."""
    run = tmp_path_factory.mktemp("run")
    binomial_fit.save(run / "fit")
    return run


@pytest.fixture(scope="module")
def headline_out(saved_fit, tmp_path_factory):
    """``headline --out`` at the default interval (without ``--allow-warnings``, output
    captured) and at 50% ETI (with it); each run once per module."""
    import contextlib
    import io

    outs = {}
    for key, extra in (("default", []), ("eti50", ["--hdi-prob", "0.5", "--ci-kind", "eti",
                                                  "--allow-warnings"])):
        out = tmp_path_factory.mktemp(f"headline_{key}")
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["headline", str(saved_fit), "--out", str(out), *extra])
        outs[key] = (code, out, stdout.getvalue(), stderr.getvalue())
    return outs


def test_failing_fit_is_loud_and_exits_1(headline_out, binomial_fit):
    code, _, stdout, stderr = headline_out["default"]
    if binomial_fit.diagnostics.ok:
        assert code == 0 and "fit diagnostics: ok" in stdout
        pytest.skip("the shared small fit happens to pass its diagnostics")
    assert code == 1
    assert stdout.startswith("!! MCMC DIAGNOSTICS FAILED")
    assert "fit diagnostics: FAILED" in stdout
    assert "--allow-warnings" in stderr
    assert "data: the 809 models saved with the fit" in stderr
    assert headline_out["eti50"][0] == 0  # --allow-warnings: exit 0, same banner
    assert headline_out["eti50"][2].startswith("!! MCMC DIAGNOSTICS FAILED")


def test_exports_carry_the_status(headline_out, binomial_fit):
    out = headline_out["default"][1]
    ok = binomial_fit.diagnostics.ok
    status = "ok" if ok else "FAILED: " + "; ".join(binomial_fit.diagnostics.failures)
    table = pd.read_csv(out / "headline.csv")
    assert set(table["fit_diagnostics"]) == {status}
    assert set(table["fit_diagnostics_ok"]) == {ok}
    md = (out / "headline.md").read_text()
    assert (md.startswith("**!! MCMC DIAGNOSTICS FAILED") if not ok
            else "fit diagnostics: ok" in md.splitlines()[2])
    params = pd.read_csv(out / "parameter_summary.csv")
    for col in ("parameter", "mean", "sd", "ess_bulk", "ess_tail", "r_hat", "mcse_mean"):
        assert col in params
    assert {"alpha", "beta", "sigma_developer"} <= set(params["parameter"])
    assert set(params["fit_diagnostics"]) == {status}
    with xr.open_dataset(out / "headline_draws.nc", engine="h5netcdf") as ds:
        assert ds.attrs["fit_diagnostics"] == status
        names = list(ds.data_vars)
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in names)
        figures = {ds[n].attrs["figure"] for n in names}
        # every posterior figure (sampling bands, null references and quoted claims are
        # not per-draw posterior quantities)
        assert figures == set(table.loc[table["kind"] == "posterior", "figure"])
        assert set(ds[names[0]].dims) >= {"chain", "draw"}
        # the per-draw values are the ones the table summarises
        fid = "shared_progress_multiplier"
        var = next(n for n in names if ds[n].attrs["figure"] == fid)
        median = float(ds[var].median())
        assert median == pytest.approx(
            float(table.set_index("figure").loc[fid, "estimate"]), rel=1e-6)


def test_interval_choice_reaches_the_table(headline_out):
    default = pd.read_csv(headline_out["default"][1] / "headline.csv").set_index("figure")
    eti = pd.read_csv(headline_out["eti50"][1] / "headline.csv").set_index("figure")
    post = eti["kind"] == "posterior"
    assert set(eti.loc[post, "hdi_prob"]) == {0.5} and set(eti.loc[post, "ci_kind"]) == {"eti"}
    width = lambda t: (t["upper"] - t["lower"])  # noqa: E731
    shares = default.index[(default["unit"] == "share") & (default["kind"] == "posterior")
                           & (width(default) > 0)]
    assert (width(eti.loc[shares]) < width(default.loc[shares])).all()
    assert np.allclose(eti["estimate"], default["estimate"], equal_nan=True)
    params = pd.read_csv(headline_out["eti50"][1] / "parameter_summary.csv")
    assert "eti50_lb" in params and set(params["ci_prob"]) == {0.5}


@pytest.mark.parametrize("args", [["--hdi-prob", "1.5"], ["--hdi-prob", "0"],
                                  ["--ci-kind", "quantile"]])
def test_bad_interval_is_one_line_exit_2(saved_fit, capsys, args):
    assert main(["headline", str(saved_fit), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_bad_pair_is_one_line_exit_2(saved_fit, capsys):
    assert main(["headline", str(saved_fit), "--pair", "GPT-4.5 -> no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and "'no-such-model' not in the fit" in err[0]


def test_fit_summary_is_compact_with_one_number_format(binomial_fit):
    import arviz as az

    from bayes_llm.cli.fit_cmd import folded_lines, format_summary, summary_variables

    listed, folded = summary_variables(binomial_fit)
    assert "developer_effect" in folded and "alpha" in listed
    assert "developer_effect" in summary_variables(binomial_fit, full=True)[0]
    text = format_summary(az.summary(binomial_fit.dt, var_names=listed, ci_prob=0.94,
                                     ci_kind="hdi", round_to="none"))
    assert len(text.splitlines()) < 20
    rhat_col = text.splitlines()[0].split().index("r_hat") + 1  # +1: the row label
    for line in text.splitlines()[1:]:
        assert re.fullmatch(r"\d\.\d{3}", line.split()[rhat_col])
    (line,) = folded_lines(binomial_fit, ["developer_effect"])
    assert line.startswith("developer_effect: 256 elements (worst R-hat ")


# ------------------------------------------------------- 2: the report's verdict and plots
def _fit_with_chains(shift: float, seed: int = 0):
    """A fake fit whose chain 0 is shifted by ``shift`` (0: well mixed)."""
    from bayes_llm.model.diagnostics import diagnose

    rng = np.random.default_rng(seed)
    values = rng.normal(size=(4, 400))
    values[0] += shift
    dt = xr.DataTree.from_dict({"posterior": xr.Dataset(
        {"alpha": (("chain", "draw"), values),
         "beta": (("chain", "draw"), rng.normal(size=(4, 400)))},
        coords={"chain": range(4), "draw": range(400)})})

    class _Fit:
        pass

    fit = _Fit()
    fit.dt = dt
    fit.diagnostics = diagnose(dt, var_names=["alpha", "beta"])
    return fit


def test_rank_test_can_fail_and_the_verdict_follows_it():
    from bayes_llm.plots.diagnostics import rank_tests
    from bayes_llm.report.build import diagnostics_verdict

    good = _fit_with_chains(0.0)
    ranks = rank_tests(fit=good, var_names=["alpha", "beta"])
    assert not ranks["flagged"].any()
    bad = _fit_with_chains(0.6)
    ranks = rank_tests(fit=bad, var_names=["alpha", "beta"])
    assert ranks.set_index("parameter").loc["alpha", "flagged"]
    # the gate alone (R-hat) might pass a mild shift; the verdict never says "All checks passed"
    # when the rank plot flags a parameter
    gate_ok = replace(bad.diagnostics, failures=[])
    bad.diagnostics = gate_ok
    ok, text = diagnostics_verdict(bad, ranks)
    assert not ok and "rank plot test flags alpha" in text and "All checks passed" not in text
    ok, text = diagnostics_verdict(good, rank_tests(fit=good, var_names=["alpha", "beta"]))
    assert ok and text.startswith("All checks passed")


def test_rank_test_thins_autocorrelated_but_mixed_chains():
    from bayes_llm.model.diagnostics import diagnose
    from bayes_llm.plots.diagnostics import rank_tests, rank_thin_factor

    rng = np.random.default_rng(3)
    x = np.zeros((4, 2000))
    e = rng.normal(size=(4, 2000))
    for t in range(1, 2000):
        x[:, t] = 0.9 * x[:, t - 1] + e[:, t]
    dt = xr.DataTree.from_dict({"posterior": xr.Dataset(
        {"alpha": (("chain", "draw"), x)}, coords={"chain": range(4), "draw": range(2000)})})

    class _Fit:
        pass

    fit = _Fit()
    fit.dt, fit.diagnostics = dt, diagnose(dt)
    assert rank_thin_factor(fit, ["alpha"]) > 5
    raw = rank_tests(fit=fit, var_names=["alpha"], thin=1)["p_value"].iloc[0]
    thinned = rank_tests(fit=fit, var_names=["alpha"])["p_value"].iloc[0]
    assert raw < 0.01 < thinned


def test_report_tables_all_exported_with_status(tmp_path):
    from bayes_llm.report import Report, Section

    shown = pd.DataFrame({"a": [1.0]})
    report = Report(title="t", sections=[Section("data", "D")],
                    tables={"headline": pd.DataFrame({"figure": ["x"]})},
                    fit_status=(False, "FAILED: alpha: R-hat 1.02 > 1.01"),
                    exports={"extra.bin": b"\x00"})
    report.section("data").table("Models by period", shown, "models_by_period")
    report.section("data").table("A second, unnamed table!", pd.DataFrame({"b": [2]}))
    report.section("data").table("Headline (rounded)", shown.round(1), "headline")
    files = {p.name for p in report.write(tmp_path / "rep")}
    assert {"headline.csv", "models_by_period.csv", "data_a_second_unnamed_table.csv",
            "extra.bin"} <= files
    for name in ("headline.csv", "models_by_period.csv"):
        table = pd.read_csv(tmp_path / "rep" / name)
        assert table["fit_diagnostics"].tolist() == ["FAILED: alpha: R-hat 1.02 > 1.01"]
        assert not table["fit_diagnostics_ok"].any()


def test_netcdf_names_are_safe_and_unique():
    from bayes_llm.report.exports import netcdf_name

    taken: set[str] = set()
    assert netcdf_name("developer_multiplier[Other, Large]", taken) == \
        "developer_multiplier_Other_Large"
    assert netcdf_name("developer_multiplier[Other; Large]", taken) == \
        "developer_multiplier_Other_Large_2"
    assert netcdf_name("1st/pair -> B", taken) == "v_1st_pair_B"


def test_metadata_of_saved_fit_has_source(saved_fit):
    meta = json.loads((saved_fit / "fit" / "metadata.json").read_text())
    assert meta["source_file"].endswith("dataset_for_github.xlsx")


def test_printed_interval_header_names_the_interval_used():
    from bayes_llm.cli.headline_cmd import _relabel
    from bayes_llm.derived import headline as module

    old = f"{module.HDI_PROB:.0%} {module.CI_KIND.upper()}"
    text = f"figure  median  {old}           statement\nrow  1.0  [0, 1]  P\n"
    assert "89.5% ETI" in _relabel(text, 0.895, "eti").splitlines()[0]
    assert _relabel(text, 0.895, "eti").splitlines()[0].index("statement") == \
        text.splitlines()[0].index("statement")
