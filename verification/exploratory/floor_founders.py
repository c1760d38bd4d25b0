"""Exploratory: are the floor models their lineage founders' own releases? (issue 10).

Tests the premise of a rule "a lineage founder's own release never collapses" (a
first-party base is a release, not a broken fine-tune), which would pin the regular level
of a lineage whose base model scores at the guessing floor (Llama-3.2-1B). Counts, on the
paper's 809 models and the fingerprint lineages of the integrated specs, the models below
0.13 on MMLU-Pro (the floor models), how many of them were released by their lineage's
founder (:func:`bayes_llm.data.lineage.lineage_founders`: the developer with the lineage's
earliest release in the data; a model alone in its ``own:`` lineage never counts), and
lists those founders' floor releases with their compute. ``models/README.md`` quotes its
output.

Run: ``python verification/exploratory/floor_founders.py`` (seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_llm.data.lineage import OWN_PREFIX, lineage_founders, model_lineages
from bayes_llm.data.paper import load_paper_dataset

FLOOR = 0.13


def founder_floor_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each model's lineage, whether its developer founded it, and whether it is at the floor."""
    labels = model_lineages(frame, "fingerprint")
    founders = lineage_founders(frame, labels)
    own = np.char.startswith(labels.astype(str), OWN_PREFIX)
    sizes = pd.Series(labels).map(pd.Series(labels).value_counts()).to_numpy()
    return pd.DataFrame({
        "model_id": frame["model_id"].to_numpy(), "developer": frame["developer"].to_numpy(),
        "lineage": labels, "lineage_models": sizes,
        "founder_release": ~own & (frame["developer"].to_numpy()
                                   == np.array([founders[label] for label in labels])),
        "log10_flop": frame["log10_flop"].to_numpy(float),
        "accuracy": frame["mmlu_pro_acc"].to_numpy(float)})


def main() -> None:
    """Count and list (see the module docstring)."""
    table = founder_floor_table(load_paper_dataset())
    floor = table["accuracy"] < FLOOR
    founder = table["founder_release"]
    multi = table["lineage_models"] > 1
    print(f"{len(table)} models; {floor.sum()} below {FLOOR}; of these {(floor & founder).sum()} "
          f"are their lineage founder's releases ({(floor & founder & multi).sum()} in lineages "
          f"of more than one model); founders' releases in all: {founder.sum()}")
    print(table[floor & founder].sort_values("log10_flop", ascending=False)
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
