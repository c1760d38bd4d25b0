"""Train/test splits of the model table for out-of-sample validation.

Three rules, written ``KIND:VALUE`` on the command line:

* ``time:YYYY-MM``: leave-future-out (Bürkner, Gabry & Vehtari 2020): fit on the models
  released *before* the month, predict those released in it or later. One fold.
* ``developers:K``: leave-developers-out K-fold: the developer strings are split into K
  folds balanced by model count (:func:`bayes_llm.sensitivity.crossval.developer_folds`);
  each fold's models are predicted by a fit to the others, so every held-out model's
  developer is new to its fit.
* ``kfold:K``: K-fold over models (shuffled with the seed, sizes differing by at most one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_llm.errors import SpecError

#: Split kinds and what their value is.
SPLIT_KINDS: dict[str, str] = {"time": "YYYY-MM (first month predicted)",
                               "developers": "K, the number of folds (>= 2)",
                               "kfold": "K, the number of folds (>= 2)"}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class SplitRule:
    """A parsed ``--split``: ``kind`` with either ``cutoff`` (time) or ``k`` (folds)."""

    kind: str
    cutoff: str | None = None
    k: int | None = None

    @property
    def label(self) -> str:
        """The rule as written on the command line, e.g. ``time:2024-10``."""
        return f"{self.kind}:{self.cutoff if self.kind == 'time' else self.k}"


@dataclass(frozen=True)
class Fold:
    """One train/test partition: the model ids of each side."""

    index: int
    label: str
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]


def parse_split(text: str) -> SplitRule:
    """Parse ``time:YYYY-MM``, ``developers:K`` or ``kfold:K``.

    Raises
    ------
    SpecError
        One line naming the bad ``--split`` value and the accepted forms.
    """
    forms = "; ".join(f"{k}:{v}" for k, v in SPLIT_KINDS.items())
    kind, sep, value = str(text).strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in SPLIT_KINDS:
        raise SpecError(f"--split '{text}': write time:YYYY-MM, developers:K or kfold:K "
                        f"({forms})")
    if kind == "time":
        match = _MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise SpecError(f"--split '{text}': the month must be YYYY-MM, e.g. time:2024-10")
        return SplitRule(kind="time", cutoff=value)
    try:
        k = int(value)
    except ValueError:
        k = -1
    if k < 2 or str(k) != value.lstrip("+"):
        raise SpecError(f"--split '{text}': K must be a whole number >= 2, e.g. {kind}:5")
    return SplitRule(kind=kind, k=k)


def make_folds(frame: pd.DataFrame, rule: SplitRule, *, seed: int) -> list[Fold]:
    """Partition the models of ``frame`` by ``rule``.

    Parameters
    ----------
    frame : DataFrame
        Canonical model table (``model_id``, ``developer``, ``release_month``).
    rule : SplitRule
        The split.
    seed : int
        Seed of the fold assignment (K-fold rules).

    Returns
    -------
    list of Fold
        Every fold has at least one training and one held-out model.

    Raises
    ------
    SpecError
        A split that leaves a side empty, or more folds than units to split.
    """
    ids = frame["model_id"].astype(str).to_numpy()
    if rule.kind == "time":
        month = pd.to_datetime(frame["release_month"]).to_numpy()
        test = month >= np.datetime64(pd.Timestamp(rule.cutoff + "-01"))
        if test.all() or not test.any():
            first = pd.Timestamp(month.min()).strftime("%Y-%m")
            last = pd.Timestamp(month.max()).strftime("%Y-%m")
            raise SpecError(f"--split {rule.label}: every model is on one side of {rule.cutoff}"
                            f" (releases run {first} to {last}); choose a month inside")
        return [Fold(0, f"released before {rule.cutoff} -> from {rule.cutoff}",
                     tuple(ids[~test]), tuple(ids[test]))]
    if rule.kind == "developers":
        from bayes_llm.sensitivity.crossval import developer_folds

        try:
            assignment = developer_folds(frame, rule.k, seed=seed)
        except Exception as exc:  # BayesLLMError: too few developers
            raise SpecError(f"--split {rule.label}: {exc}") from exc
        fold_of = frame["developer"].astype(str).map(assignment).to_numpy()
    else:
        if len(ids) < rule.k:
            raise SpecError(f"--split {rule.label}: {len(ids)} models cannot fill {rule.k} "
                            "folds")
        order = np.random.default_rng(seed).permutation(len(ids))
        fold_of = np.empty(len(ids), dtype=int)
        fold_of[order] = np.arange(len(ids)) % rule.k
    folds = []
    for f in range(rule.k):
        test = fold_of == f
        if test.all():
            raise SpecError(f"--split {rule.label}: fold {f + 1} holds every model")
        folds.append(Fold(f, f"{rule.kind} fold {f + 1}/{rule.k}", tuple(ids[~test]),
                          tuple(ids[test])))
    return folds


__all__ = ["SPLIT_KINDS", "Fold", "SplitRule", "make_folds", "parse_split"]
