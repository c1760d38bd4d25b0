"""Exploratory: how alike a kept developer-fold fit's chains predict the held-out models.

Reads a posterior kept by ``lineage_modes.py`` (the training set of fold ``FOLD`` of
``developers:5``), predicts the fold's held-out models from all chains together and from
each chain alone, with the validate command's prediction, seed and log score, and prints
each chain's mean log score, the models whose scores differ most between chains, and (with
``--against``) the paired difference to another kept fit's scores of the same models.
``models/README.md`` quotes its output (issue 10, *Do the modes move the held-out
predictions?* and *A lineage's propensity to collapse, measured*).

Run: ``python verification/exploratory/chain_predictions.py SPEC KEPT.nc OUT.csv [--fold F]
[--against OTHER.csv]`` (a few minutes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm import predict
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.data.lineage import model_lineages
from bayes_llm.data.paper import load_paper_dataset
from bayes_llm.model.design import OUTCOMES, prepare_data
from bayes_llm.model.fit import Fit, _models_table
from bayes_llm.model.spec import load_spec
from bayes_llm.validate.run import split_fold
from bayes_llm.validate.scores import score_rows


def kept_fold_fit(spec_path: str, kept: str, fold_index: int):
    """Return ``(fit, fold, train, test)``: a kept posterior of a developer fold as a Fit."""
    spec = load_spec(spec_path)
    fold, train, test = split_fold(load_paper_dataset(), spec, "developers:5", fold_index)
    data = prepare_data(train, spec)
    dt = xr.open_datatree(kept).load()
    metadata = {"spec_name": spec.name, "spec_hash": spec.hash(), "data_hash": data.data_hash,
                "seed": spec.sampler.seed, "backend": "nutpie", "n_models": data.n_models}
    fit = Fit(spec=spec, dt=dt, models=_models_table(data, spec), metadata=metadata)
    return fit, fold, train, test


def chain_scores(spec_path: str, kept: str, fold_index: int) -> pd.DataFrame:
    """Log score of each held-out model from all chains (``all``) and each (``chainC``)."""
    fit, fold, _, test = kept_fold_fit(spec_path, kept, fold_index)
    spec, dt = fit.spec, fit.dt
    acc_col, _, _, n_items = OUTCOMES[spec.outcome]
    y = test[acc_col].to_numpy(float)
    seed = DEFAULT_SEED + fold.index
    chains = [int(c) for c in dt["posterior"]["chain"].values]
    out = pd.DataFrame({"model_id": test["model_id"].to_numpy(),
                        "lineage": model_lineages(test, spec.lineage_source), "accuracy": y})
    for label, keep in [("all", chains)] + [(f"chain{c}", [c]) for c in chains]:
        part = dt.map_over_datasets(
            lambda ds, keep=keep: ds.sel(chain=keep) if "chain" in ds.dims else ds)
        metadata = {k: v for k, v in fit.metadata.items() if k != "diagnostics"}
        part_fit = Fit(spec=spec, dt=part, models=fit.models, metadata=metadata)
        pred = predict(part_fit, test, seed=seed)
        rows = score_rows(pred, y, np.full(len(test), n_items), discrete=True, seed=seed)
        out[label] = rows["log_score"].to_numpy()
    return out


def kept_fit_parser(doc: str) -> argparse.ArgumentParser:
    """Make a parser with the arguments of :func:`kept_fold_fit` (spec, kept, --fold)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("kept", help="netCDF posterior kept by lineage_modes.py")
    parser.add_argument("--fold", type=int, default=0)
    return parser


def paired(diff: np.ndarray) -> str:
    """Format a paired difference: its sum and the SE of the sum."""
    return f"{diff.sum():+.2f} (SE {diff.std(ddof=1) * np.sqrt(diff.size):.2f})"


def main() -> None:
    """Score, print and write (see the module docstring)."""
    parser = kept_fit_parser(__doc__)
    parser.add_argument("out", help="CSV of the scores to write (must not exist)")
    parser.add_argument("--against", help="another run's CSV: paired difference of 'all'")
    args = parser.parse_args()
    if Path(args.out).exists():
        parser.error(f"{args.out} exists")
    scores = chain_scores(args.spec, args.kept, args.fold)
    columns = [c for c in scores if c.startswith("chain")]
    for column in ["all", *columns]:
        print(f"{column}: mean log score {scores[column].mean():.4f}")
    spread = scores[columns].max(axis=1) - scores[columns].min(axis=1)
    print(f"sum over models of the chains' spread: {spread.sum():.2f}")
    print(scores.assign(spread=spread).sort_values("spread", ascending=False).head(10)
          .to_string(index=False))
    if args.against:
        other = pd.read_csv(args.against).set_index("model_id").loc[scores["model_id"]]
        diff = scores["all"].to_numpy() - other["all"].to_numpy()
        floor = scores["accuracy"].to_numpy() < 0.13
        print(f"paired difference: {paired(diff)}; {floor.sum()} models "
              f"below 0.13: {diff[floor].sum():+.2f}, the others {diff[~floor].sum():+.2f}")
    tmp = Path(args.out).with_suffix(".tmp.csv")
    scores.to_csv(tmp, index=False)
    tmp.rename(args.out)


if __name__ == "__main__":
    main()
