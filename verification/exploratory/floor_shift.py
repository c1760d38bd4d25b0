"""Exploratory: who scores at MMLU-Pro's guessing floor, before and after the time split.

Issue 10's time split (fit on models released before 2024-10, predict the rest) leaves the
held-out models at the floor from lineages the fit knows almost never covered (PIT about
0.04). This prints, for the 809 models, the share at the floor (accuracy below
``FLOOR``) by split side and by whether the model is a third-party derivative of its
fingerprint lineage (its developer is not the lineage's founder), by compute band, by
half-year, and the developers with the most floor models. Data alone: a sign for model
building, not a result. ``models/README.md`` quotes its output.

Run: ``python verification/exploratory/floor_shift.py`` (a few seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_llm.data.lineage import OWN_PREFIX, lineage_founders, model_lineages
from bayes_llm.data.paper import load_paper_dataset

FLOOR = 0.13  # MMLU-Pro accuracy below which a model counts as at the floor (chance 0.10)
SPLIT = "2024-10"  # first held-out month of the time split


def floor_table() -> pd.DataFrame:
    """One row per model: split side, third-party derivative, lineage known, at the floor."""
    df = load_paper_dataset()
    labels = model_lineages(df, "fingerprint")
    founders = lineage_founders(df, labels)
    out = pd.DataFrame({
        "model_id": df["model_id"].astype(str),
        "developer": df["developer"].astype(str),
        "month": df["month"].astype(str),
        "log10_flop": df["log10_flop"].astype(float),
        "lineage": labels,
        "floor": df["mmlu_pro_acc"].astype(float) < FLOOR,
    })
    own = out["lineage"].str.startswith(OWN_PREFIX)
    out["third_party"] = (out["developer"] != out["lineage"].map(founders)) & ~own
    out["held_out"] = out["month"] >= SPLIT
    training = out[~out["held_out"]]
    out["lineage_known"] = out["lineage"].isin(set(training["lineage"])) & ~own
    out["developer_known"] = out["developer"].isin(set(training["developer"]))
    return out


def main() -> None:
    """Print the tables that ``models/README.md`` quotes."""
    t = floor_table()
    print(f"share at the floor (accuracy < {FLOOR}) by split side and third-party derivative")
    print(t.groupby(["held_out", "third_party"])["floor"].agg(["mean", "sum", "size"]).round(3))
    held = t[t["held_out"]]
    print("\nheld-out models by lineage and developer known to the training fit")
    print(held.groupby(["lineage_known", "developer_known"])["floor"]
          .agg(["mean", "sum", "size"]).round(3))
    t["band"] = pd.cut(t["log10_flop"], [0, 22, 23, 24, 25, 30])
    print("\nby compute band (log10 FLOP)")
    print(t.groupby(["held_out", "band", "third_party"], observed=True)["floor"]
          .agg(["mean", "size"]).round(2).to_string())
    year = t["month"].str[:4]
    half = np.where(t["month"].str[5:7].astype(int) <= 6, "H1", "H2")
    t["half_year"] = year + half
    t["band3"] = pd.cut(t["log10_flop"], [0, 22.5, 23.5, 30])
    print("\nby half-year and compute band")
    print(t.pivot_table(index="half_year", columns="band3", values="floor",
                        aggfunc=["mean", "size"], observed=True).round(2).to_string())
    print("\ndevelopers with the most held-out floor models of known lineages")
    known = held[held["floor"] & held["lineage_known"]]
    print(known.groupby("developer").size().sort_values(ascending=False).head(8).to_string())
    print("\ndevelopers (3+ models) with the highest share at the floor")
    g = t.groupby("developer")["floor"].agg(["mean", "size"])
    print(g[g["size"] >= 3].sort_values("mean", ascending=False).head(10).round(2).to_string())


if __name__ == "__main__":
    main()
