"""Real MCMC fits: convergence of the default specs, the paper-mirroring slope, the fit CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayes_llm.baseline import BaselineSpec, fit_baseline_ols
from bayes_llm.cli import main
from bayes_llm.errors import ResultsError
from bayes_llm.model import fit_model, load_fit, load_spec
from bayes_llm.model.fit import RESULT_FILES

pytestmark = pytest.mark.mcmc


@pytest.mark.parametrize("name", ["binomial_developers", "logit_normal_groups"])
def test_default_specs_converge_on_the_809_models(paper_df, name):
    """Issue 4: R-hat <= 1.01, zero divergences, bulk ESS >= 400 for every scalar parameter."""
    fit = fit_model(load_spec(name), paper_df, progressbar=False)
    assert fit.diagnostics.ok, fit.diagnostics.to_text()
    table = fit.diagnostics.table
    scalars = table[table["size"] == 1]
    assert (scalars["r_hat_max"] <= 1.01).all()
    assert (scalars["ess_bulk_min"] >= 400).all()
    assert fit.diagnostics.sampler["divergences"] == 0


def test_paper_mirror_slope_matches_ols(paper_df, paper_mirror_fit):
    ols = fit_baseline_ols(paper_df, BaselineSpec())
    slope = float(paper_mirror_fit.posterior["beta"].mean())
    assert abs(slope - ols.beta) < 0.02, (slope, ols.beta)


def test_fit_has_loglik_and_logprior_groups(paper_mirror_fit, binomial_fit):
    for fit in (paper_mirror_fit, binomial_fit):
        assert "log_likelihood" in fit.dt and "log_prior" in fit.dt
        loglik = fit.dt["log_likelihood"].to_dataset()
        (name,) = list(loglik.data_vars)
        assert loglik[name].sizes["model"] == 809
        assert np.isfinite(loglik[name].values).all()
    assert "eta" in binomial_fit.posterior and "eta" not in paper_mirror_fit.posterior


def test_fit_cli_saves_loads_and_detects_changes(paper_df, tmp_path, mirror_dir):
    out = tmp_path / "run"
    code = main(["fit", "--model", "paper_mirror", "--out", str(out), "--draws", "200",
                 "--tune", "200", "--chains", "2", "--seed", "7", "--no-progress",
                 "--mirror", str(mirror_dir)])
    assert code in (0, 1)
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 7 and meta["backend"] == "nutpie"
    assert {"pymc", "arviz", "nutpie", "bayes_llm"} <= set(meta["versions"])
    assert len(meta["spec_hash"]) == 64 and len(meta["data_hash"]) == 64
    assert meta["diagnostics"]["ok"] == (code == 0)
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


def test_fit_cli_rejects_unknown_backend_before_writing(tmp_path, mirror_dir, capsys):
    out = tmp_path / "run"
    code = main(["fit", "--model", "paper_mirror", "--out", str(out), "--backend", "stan",
                 "--mirror", str(mirror_dir)])
    assert code == 2
    assert "unknown backend 'stan'" in capsys.readouterr().err
    assert not out.exists()
