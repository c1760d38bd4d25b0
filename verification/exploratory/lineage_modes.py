"""Exploratory: which lineage effects do not mix on a developer fold (issue 10).

Refits the training set of fold ``FOLD`` of ``developers:5`` (the same fold assignment and
sampler seed as ``bayes-llm validate``) with fewer draws, keeps the posterior, and prints
the lineage effects with the largest R-hat: each chain's mean and SD, and the lineage's
models. ``models/README.md`` quotes its output (spec ``fc_two_nc_ratio2_tlin``, fold 1,
600 + 400 x 4).

Run: ``python verification/exploratory/lineage_modes.py SPEC OUT.nc [DRAWS TUNE FOLD]``
(about half an hour on 2 cores for the integrated two-scale specs); ``--show-only`` reads a
kept ``OUT.nc`` again. ``chain_predictions.py`` scores each chain's predictions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.data.lineage import model_lineages
from bayes_llm.data.paper import load_paper_dataset
from bayes_llm.model.fit import fit_model
from bayes_llm.model.spec import load_spec
from bayes_llm.validate.run import split_fold


def fit_fold(spec_path: str, out: str, draws: int, tune: int, fold_index: int) -> None:
    """Fit the training set of one developer fold and write its posterior to ``out``."""
    spec = load_spec(spec_path)
    fold, train, _ = split_fold(load_paper_dataset(), spec, "developers:5", fold_index)
    fit = fit_model(spec, train, draws=draws, tune=tune, seed=DEFAULT_SEED + fold.index)
    fit.dt.to_netcdf(out)


def show_diagnostics(path: str) -> None:
    """Print each posterior variable's largest R-hat and smallest bulk and tail ESS."""
    post = xr.open_datatree(path)["posterior"].to_dataset()
    rows = []
    for name in post.data_vars:
        if name == "eta":
            continue
        one = post[[name]]
        rows.append((name, float(np.nanmax(az.rhat(one)[name])),
                     float(np.nanmin(az.ess(one, method="bulk")[name])),
                     float(np.nanmin(az.ess(one, method="tail")[name]))))
    for name, rhat, bulk, tail in sorted(rows, key=lambda row: -row[1]):
        print(f"{name:30s} R-hat {rhat:6.3f}  bulk ESS {bulk:6.0f}  tail ESS {tail:6.0f}")


def show_worst(path: str, top: int = 5) -> None:
    """Print the lineage effects with the largest R-hat, per chain, with their models."""
    post = xr.open_datatree(path)["posterior"].to_dataset()
    effect = post["lineage_multi_effect"]
    dim = next(d for d in effect.dims if d not in ("chain", "draw"))
    rhat = np.asarray(az.rhat(post[["lineage_multi_effect"]])["lineage_multi_effect"]).ravel()
    df = load_paper_dataset()
    df["lineage"] = model_lineages(df, "fingerprint")
    for i in np.argsort(-rhat)[:top]:
        label = effect.coords[dim].values[i]
        values = effect.values[:, :, i]
        print(f"{label}: R-hat {rhat[i]:.3f}, chain means {np.round(values.mean(1), 2)}, "
              f"chain SDs {np.round(values.std(1), 2)}")
        rows = df[df["lineage"] == label]
        print(rows[["model_id", "developer", "month", "mmlu_pro_acc"]].to_string())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("out", help="netCDF file of the kept posterior (must not exist, "
                                    "unless --show-only)")
    parser.add_argument("draws", type=int, nargs="?", default=400)
    parser.add_argument("tune", type=int, nargs="?", default=600)
    parser.add_argument("fold", type=int, nargs="?", default=0)
    parser.add_argument("--show-only", action="store_true",
                        help="read OUT, a posterior kept by an earlier run, and print")
    args = parser.parse_args()
    if not args.show_only:
        if Path(args.out).exists():
            parser.error(f"{args.out} exists; pass --show-only to read it")
        fit_fold(args.spec, args.out, args.draws, args.tune, args.fold)
    show_diagnostics(args.out)
    show_worst(args.out)
