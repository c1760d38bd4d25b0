"""Exploratory: how models deviate within their fingerprint lineage (issue 10).

Prints (1) the spread of founder and derivative models around their lineage's founder
models and the founders' own largest gaps, and (2) the maximum log likelihood of four laws
for each regular model's logit score minus the mean of the other models of its lineage:
Normal, Laplace, a per-model two-scale mixture and a lineage-level one. Data alone (no
compute, period or developer terms; a lineage's leave-one-out deviations are correlated),
so a sign for model building, not a result. ``models/README.md`` quotes its output.

Run: ``python verification/exploratory/lineage_tails.py`` (a few seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from bayes_llm.data.lineage import lineage_founders, model_lineages
from bayes_llm.data.paper import load_paper_dataset

GUESS = 0.1  # MMLU-Pro's guessing floor
REGULAR = 0.15  # accuracy above which a model is not near the floor


def regular_lineage_models() -> pd.DataFrame:
    """Regular models in fingerprint lineages of two or more regular models."""
    df = load_paper_dataset()
    labels = model_lineages(df, "fingerprint")
    founders = lineage_founders(df, labels)
    acc = df["mmlu_pro_acc"].astype(float).to_numpy()
    frame = pd.DataFrame({"model_id": df["model_id"], "developer": df["developer"],
                          "lineage": labels, "acc": acc,
                          "y": np.log((acc - GUESS) / (1.0 - acc)),
                          "founder": [founders[lab] == dev for lab, dev
                                      in zip(labels, df["developer"], strict=True)]})
    frame = frame[(frame["acc"] > REGULAR) & ~frame["lineage"].str.startswith("own:")]
    return frame[frame.groupby("lineage")["y"].transform("size") >= 2].copy()


def founder_spread(frame: pd.DataFrame) -> None:
    """Deviations from the founder models' mean, in lineages with two or more of them."""
    counts = frame.groupby("lineage")["founder"].sum()
    part = frame[frame["lineage"].isin(counts[counts >= 2].index)].copy()
    means = part[part["founder"]].groupby("lineage")["y"].mean()
    part["gap"] = part["y"] - part["lineage"].map(means)
    for founder, rows in part.groupby("founder"):
        gap = rows["gap"]
        robust = 1.4826 * np.median(np.abs(gap - gap.median()))
        print(f"{'founder' if founder else 'derivative'}: {len(gap)} models, SD "
              f"{gap.std():.3f}, robust SD {robust:.3f}, excess kurtosis "
              f"{stats.kurtosis(gap):.1f}")
    big = part[part["founder"] & (part["gap"].abs() > 0.3)]
    print(big[["model_id", "lineage", "acc", "gap"]].round(3).to_string(index=False))


def tail_laws(frame: pd.DataFrame) -> None:
    """Maximum log likelihood of four laws for the leave-one-out deviations."""
    size = frame.groupby("lineage")["y"].transform("size")
    total = frame.groupby("lineage")["y"].transform("sum")
    e = (frame["y"] - (total - frame["y"]) / (size - 1)).to_numpy()
    lineage = pd.factorize(frame["lineage"])[0]

    def mixture(p, by_lineage):
        core = np.exp(p[0])
        wide, w = core + np.exp(p[1]), special.expit(p[2])
        a, b = stats.norm.logpdf(e, 0, core), stats.norm.logpdf(e, 0, wide)
        if by_lineage:
            a, b = np.bincount(lineage, a), np.bincount(lineage, b)
        return np.logaddexp(np.log1p(-w) + a, np.log(w) + b).sum()

    laws = {"Normal": (lambda p: stats.norm.logpdf(e, 0, np.exp(p[0])).sum(), [-2.0]),
            "Laplace": (lambda p: stats.laplace.logpdf(e, 0, np.exp(p[0])).sum(), [-2.0]),
            "two-scale per model": (lambda p: mixture(p, False), [-3.0, -1.0, -1.0]),
            "two-scale per lineage": (lambda p: mixture(p, True), [-3.0, -1.0, -1.0])}
    print(f"{len(e)} models in {lineage.max() + 1} lineages")
    for name, (loglik, start) in laws.items():
        best = optimize.minimize(lambda p, f=loglik: -f(p), start, method="Nelder-Mead",
                                 options={"maxiter": 4000})
        print(f"{name}: log likelihood {-best.fun:.1f}")


if __name__ == "__main__":
    table = regular_lineage_models()
    founder_spread(table)
    tail_laws(table)
