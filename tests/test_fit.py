"""Real MCMC fits: convergence of the default specs, the paper-mirroring slope, the fit CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayes_llm.baseline import BaselineSpec, fit_baseline_ols
from bayes_llm.cli import main
from bayes_llm.derived.fit_cache import CACHE_FILE
from bayes_llm.errors import ResultsError
from bayes_llm.model import fit_model, load_fit, load_spec
from bayes_llm.model.diagnostics import diagnose, diagnose_draws
from bayes_llm.model.fit import RESULT_FILES


def _tree(chains: int, draws: int, *, seed: int = 0, stuck_eta: bool = False) -> xr.DataTree:
    """A fake fit: iid draws of alpha and a per-model eta (one element stuck if asked)."""
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=(chains, draws))
    eta = rng.normal(size=(chains, draws, 5))
    if stuck_eta:
        eta[:, :, 2] = np.arange(chains)[:, None] + 0.01 * rng.normal(size=(chains, draws))
    post = xr.Dataset({"alpha": (("chain", "draw"), alpha),
                       "eta": (("chain", "draw", "model"), eta)})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), bool))})
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


def test_gate_checks_per_model_latents():
    diag = diagnose(_tree(4, 1000, stuck_eta=True))
    assert not diag.ok
    assert any(f.startswith("eta: R-hat") for f in diag.failures), diag.failures
    assert not any(f.startswith("alpha") for f in diag.failures), diag.failures
    assert diag.table.loc["eta", "checked"]


def test_gate_passes_good_draws_and_requires_tail_ess():
    good = diagnose(_tree(4, 1000))
    assert good.ok, good.failures
    assert "diagnostics: OK" in good.to_text() and "tail ESS >= 400" in good.to_text()
    short = diagnose(_tree(2, 100))
    assert any("tail ESS" in f for f in short.failures), short.failures
    assert any("bulk ESS" in f for f in short.failures)


def test_gate_with_one_chain_says_rhat_is_undefined_and_never_ok():
    diag = diagnose(_tree(1, 4000))
    assert not diag.ok
    assert diag.failures[0].startswith("R-hat is undefined with 1 chain")
    text = diag.to_text()
    assert "OK" not in text and "FAILED" in text


def test_diagnose_draws_of_derived_quantities():
    rng = np.random.default_rng(3)
    good = rng.normal(size=(4, 1000))
    bad = good + np.arange(4)[:, None]
    ds = xr.Dataset({"share": (("chain", "draw"), good), "multiplier": (("chain", "draw"), bad),
                     "undefined": (("chain", "draw"), np.full((4, 1000), np.nan))})
    table, failures = diagnose_draws(ds)
    assert {f.split(":")[0] for f in failures} == {"multiplier"}
    assert not table.loc["undefined", "checked"]
    _, one_chain = diagnose_draws(ds.isel(chain=[0]))
    assert one_chain[0].startswith("R-hat is undefined")




@pytest.mark.mcmc
@pytest.mark.parametrize("name", ["binomial_developers", "logit_normal_groups"])
def test_default_specs_converge_on_the_809_models(paper_df, name):
    """R-hat <= 1.01, zero divergences, bulk and tail ESS >= 400 for every variable.

    Since issue 12 the gate covers the per-model latents (``eta``) too.
    """
    fit = fit_model(load_spec(name), paper_df, progressbar=False)
    assert fit.diagnostics.ok, fit.diagnostics.to_text()
    table = fit.diagnostics.table
    scalars = table[table["size"] == 1]
    assert (scalars["r_hat_max"] <= 1.01).all()
    assert (scalars["ess_bulk_min"] >= 400).all()
    assert fit.diagnostics.sampler["divergences"] == 0


@pytest.mark.mcmc
def test_paper_mirror_slope_matches_ols(paper_df, paper_mirror_fit):
    ols = fit_baseline_ols(paper_df, BaselineSpec())
    slope = float(paper_mirror_fit.posterior["beta"].mean())
    assert abs(slope - ols.beta) < 0.02, (slope, ols.beta)


@pytest.mark.mcmc
def test_fit_has_loglik_and_logprior_groups(paper_mirror_fit, binomial_fit):
    for fit in (paper_mirror_fit, binomial_fit):
        assert "log_likelihood" in fit.dt and "log_prior" in fit.dt
        loglik = fit.dt["log_likelihood"].to_dataset()
        (name,) = list(loglik.data_vars)
        assert loglik[name].sizes["model"] == 809
        assert np.isfinite(loglik[name].values).all()
    assert "eta" in binomial_fit.posterior and "eta" not in paper_mirror_fit.posterior


@pytest.mark.mcmc
def test_fit_cli_saves_loads_and_detects_changes(paper_df, tmp_path, mirror_dir):
    out = tmp_path / "run"
    code = main(["fit", "--model", "paper_mirror", "--out", str(out), "--draws", "200",
                 "--tune", "200", "--chains", "2", "--seed", "7", "--no-progress",
                 "--mirror", str(mirror_dir)])
    # 2 x 200 draws cannot reach bulk and tail ESS >= 400 for every variable: exit 1
    assert code == 1
    # the fit's files and the paper's OLS columns of its default headline (a cache)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, CACHE_FILE])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["diagnostics"]["ok"] is False
    assert any("ESS" in f for f in meta["diagnostics"]["failures"])
    assert meta["seed"] == 7 and meta["backend"] == "nutpie"
    assert {"pymc", "arviz", "nutpie", "bayes_llm"} <= set(meta["versions"])
    assert len(meta["spec_hash"]) == 64 and len(meta["data_hash"]) == 64
    fit = load_fit(out, df=paper_df, spec=load_spec("paper_mirror").with_changes(
        sampler={"draws": 200, "tune": 200, "chains": 2, "seed": 7}))
    assert fit.posterior.sizes["draw"] == 200
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    changed = paper_df.copy()
    changed.loc[0, "mmlu_pro_acc"] = 0.5
    with pytest.raises(ResultsError, match="data changed"):
        load_fit(out, df=changed)
    with pytest.raises(ResultsError, match="different spec"):
        load_fit(out, spec=load_spec("paper_mirror"))


@pytest.mark.mcmc
def test_fit_cli_rejects_unknown_backend_before_writing(tmp_path, mirror_dir, capsys):
    out = tmp_path / "run"
    code = main(["fit", "--model", "paper_mirror", "--out", str(out), "--backend", "stan",
                 "--mirror", str(mirror_dir)])
    assert code == 2
    assert "unknown backend 'stan'" in capsys.readouterr().err
    assert not out.exists()


def test_open_posterior_file_equals_full_cf_decoding(tmp_path):
    """The fast open (no NaN-mask decoding) reads exactly what full CF decoding reads,
    and falls back to it when a variable has a numeric fill value (which must be masked)."""
    import xarray as xr

    from bayes_llm.model.fit import open_posterior_file

    rng = np.random.default_rng(0)
    post = xr.Dataset({"alpha": (("chain", "draw"), rng.normal(size=(2, 5))),
                       "eta": (("chain", "draw", "model"), rng.normal(size=(2, 5, 3)))})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 5), bool)),
                        "depth": (("chain", "draw"), np.full((2, 5), 3, np.int64))})
    tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    nan_fill = tmp_path / "nan_fill.nc"
    tree.to_netcdf(nan_fill, engine="h5netcdf")
    fast = open_posterior_file(nan_fill).load()
    assert "_FillValue" not in fast["posterior"]["alpha"].attrs
    assert fast.identical(xr.open_datatree(nan_fill, engine="h5netcdf").load())

    masked = post.copy()
    masked["alpha"].values[0, 0] = -999.0
    masked["alpha"].encoding["_FillValue"] = -999.0
    numeric_fill = tmp_path / "numeric_fill.nc"
    xr.DataTree.from_dict({"posterior": masked, "sample_stats": stats}).to_netcdf(
        numeric_fill, engine="h5netcdf")
    read = open_posterior_file(numeric_fill).load()
    assert np.isnan(read["posterior"]["alpha"].values[0, 0])  # masked as CF says
    assert read.identical(xr.open_datatree(numeric_fill, engine="h5netcdf").load())
