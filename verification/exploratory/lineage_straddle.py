"""Exploratory: which lineages could be "weak" or "collapsed" alike, and what a grid costs (issue 10).

The two-explanation lineages of the integrated two-scale floor mixture
(``models/README.md``, "Are the two modes in the lineage effect's own dimension?") are
multi-model fingerprint lineages with models at the guessing floor: Llama-3.2-1B
(``fp:1.24B/9000BT``: base at 0.120, fine-tunes on both sides of 0.13) and
``fp:17.16B/18000BT`` (two models at 0.111). Summing a lineage effect out on a fixed grid
removes such modes, at the cost of one likelihood per model and grid node. This script
counts, for the 809 models and for the training set of each fold of the validate
command's two splits (``time:2024-10`` and ``developers:5``, seed 20260207), the
multi-model lineages with at least one model below ``FLOOR`` ("straddling": some below and
some above; "all floor": every model below), those of them whose median score is below
``NEAR_FLOOR_MEDIAN``, their models, and the cost of a G-node grid over those lineages
only, relative to one likelihood per model: (models outside them + G x models inside) /
models. ``models/README.md`` quotes it.

Run: ``python verification/exploratory/lineage_straddle.py`` (seconds).
"""

from __future__ import annotations

import pandas as pd

from bayes_llm.data.lineage import model_lineages
from bayes_llm.data.paper import load_paper_dataset
from bayes_llm.validate.splits import make_folds, parse_split

FLOOR = 0.13
#: A lineage whose median score is below this has its regular level near the floor, where
#: "weak" and "collapsed" explain a score alike; above it, its floor models are plainly
#: collapsed (Llama-3-8B's 58 models: median ~0.3, three at the floor).
NEAR_FLOOR_MEDIAN = 0.2
#: Grid sizes: 161 nodes at 0.05 over [-6, 2] (the lineage law's range); 41 at 0.05 over a
#: range of 2 logits set per lineage from its models' scores.
GRIDS = (161, 41)
#: The seed of the validate runs in models/README.md (the fold assignment).
VALIDATE_SEED = 20260207


def lineage_floor_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per multi-model fingerprint lineage: models, models below FLOOR, lowest and highest score."""
    table = pd.DataFrame({"lineage": model_lineages(frame, "fingerprint"),
                          "accuracy": frame["mmlu_pro_acc"].to_numpy(float)})
    out = table.groupby("lineage")["accuracy"].agg(
        models="size", floor=lambda a: int((a < FLOOR).sum()), lowest="min", median="median",
        highest="max")
    return out[out["models"] > 1].sort_values(["floor", "models"], ascending=False)


def describe(frame: pd.DataFrame, label: str) -> None:
    """Print the counts and grid costs of the module docstring for one set of models."""
    lineages = lineage_floor_table(frame)
    floor = lineages[lineages["floor"] > 0]
    straddle = floor[floor["floor"] < floor["models"]]
    inside = int(floor["models"].sum())
    n = len(frame)
    print(f"{label}: {n} models, {len(lineages)} multi-model lineages holding "
          f"{int(lineages['models'].sum())} models; with a model below {FLOOR}: {len(floor)} "
          f"lineages ({len(straddle)} straddling, {len(floor) - len(straddle)} all at the "
          f"floor) holding {inside} models")
    for nodes in GRIDS:
        print(f"  a {nodes}-node grid over those lineages only: "
              f"{(n - inside + nodes * inside) / n:.1f} x one likelihood per model "
              f"(over every multi-model lineage: "
              f"{(n - lineages['models'].sum() + nodes * lineages['models'].sum()) / n:.1f} x)")
    near = floor[floor["median"] < NEAR_FLOOR_MEDIAN]
    near_models = int(near["models"].sum())
    print(f"  of these, {len(near)} lineages with median below {NEAR_FLOOR_MEDIAN} holding "
          f"{near_models} models: grid cost "
          + ", ".join(f"{(n - near_models + g * near_models) / n:.1f} x ({g} nodes)"
                      for g in GRIDS))
    print(floor.to_string(float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    """Print the counts for the 809 models and for each split's training sets."""
    frame = load_paper_dataset()
    describe(frame, "all models")
    for rule in ("time:2024-10", "developers:5"):  # the validate command's splits and seed
        for fold in make_folds(frame, parse_split(rule), seed=VALIDATE_SEED):
            train = frame[frame["model_id"].astype(str).isin(fold.train_ids)]
            describe(train.reset_index(drop=True), f"{rule}, {fold.label}: training set")


if __name__ == "__main__":
    main()
