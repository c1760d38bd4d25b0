"""Base-model lineages: which models are fine-tunes (or merges) of the same base model.

The Open LLM Leaderboard v2 table (source ``open_llm_leaderboard_v2`` in
``data/sources.toml``, never committed) has one row per evaluated model and precision,
with ``model_name`` (a Hugging Face repository id, ``owner/name``), ``model_precision``
(``bfloat16``, ``float16``, ...) and ``metadata_base_model`` (the repository the model was
fine-tuned or merged from; the model itself for a base model; ``"<own id> (Merge)"`` for
merges whose parents the leaderboard does not record).

Rules (documented in ``models/README.md``):

1. **Match.** A model of our table matches the leaderboard row whose
   ``model_name.replace("/", "_") + "_" + model_precision`` equals its ``hf_id`` (the
   paper's "Hugging Face ID", e.g. ``01-ai_Yi-1.5-34B-Chat-16K_bfloat16``). On the paper's
   809 models, 798 match; the 11 with no ``hf_id`` do not.
2. **Follow the chain.** From the matched ``model_name``, repeatedly replace a name by its
   ``metadata_base_model`` (a trailing ``" (Merge)"`` removed) while that base is itself a
   leaderboard ``model_name`` and differs from the current name. The last name reached is
   the root. A cycle (A -> B -> A) stops the walk; the root is then the alphabetically
   first name on the cycle, so every member of the cycle gets the same root.
3. **Lineage label.** The root, lower-cased (Hugging Face ids are case-insensitive). A
   model with no match is its own lineage, labelled ``"own:<model_id>"``.

:func:`lineage_table` returns the derived table (computed, never stored in the repository).

**Fingerprint lineages** (``lineage_source = "fingerprint"``; :func:`fingerprint_lineages`)
need no second table: a model's lineage is its pretrained base, identified by the paper's
own columns, the parameter count (``params_b``, rounded to 0.01 B) and the base model's
pre-training tokens (``tokens_base_b``, rounded to 0.01 B, fixed notation), labelled
``"fp:<params>B/<tokens>BT"``. Fine-tunes
and merges keep their base's parameters and base tokens, so they share its label whether
or not the leaderboard records the base (many fine-tunes name themselves as their own
base there). A model missing either value is its own lineage (``"own:<model_id>"``).
Two different bases of the same nominal size and token count share a label; the rounding
to 0.01 B keeps that to bases reported at round sizes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.data.sources import resolve

SOURCE = "open_llm_leaderboard_v2"
#: Leaderboard columns used.
LEADERBOARD_COLUMNS = ("model_name", "model_precision", "metadata_base_model")
MERGE_SUFFIX = " (Merge)"
OWN_PREFIX = "own:"
FINGERPRINT_PREFIX = "fp:"


def leaderboard_key(name: str, precision: str) -> str:
    """Return the paper's ``hf_id`` of a leaderboard row: ``owner_name_precision``."""
    return f"{name.replace('/', '_')}_{precision}"


@functools.lru_cache(maxsize=4)
def _read_leaderboard(path: str) -> pd.DataFrame:
    return pd.read_csv(path, usecols=list(LEADERBOARD_COLUMNS), dtype=str)


def load_leaderboard(path: str | os.PathLike | None = None, *,
                     mirror: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the leaderboard's name, precision and base-model columns (checksum verified).

    Parameters
    ----------
    path : path, optional
        An explicit copy of the file (verified against the manifest).
    mirror : path, optional
        A mirror folder (default ``$BAYES_LLM_DATA_MIRROR``).
    """
    file = resolve(SOURCE, path=path, mirror=mirror)
    return _read_leaderboard(str(Path(file).resolve())).copy()


def base_of(leaderboard: pd.DataFrame) -> dict[str, str]:
    """Map each leaderboard ``model_name`` to its base model (merge suffix removed)."""
    base = leaderboard["metadata_base_model"].fillna(leaderboard["model_name"]).astype(str)
    base = base.str.strip()
    merge = base.str.endswith(MERGE_SUFFIX)
    base = base.where(~merge, base.str[: -len(MERGE_SUFFIX)])
    return dict(zip(leaderboard["model_name"].astype(str), base, strict=True))


def follow_to_root(name: str, bases: Mapping[str, str]) -> str:
    """Follow ``name -> bases[name] -> ...`` to its root (rule 2 of the module docstring).

    The walk stops at a name that is its own base, or at a base that is not a key of
    ``bases`` (that base is the root: two fine-tunes of an unlisted base share it). On a
    cycle, the root is the alphabetically first name of the cycle.
    """
    path = [name]
    seen = {name: 0}
    current = name
    while current in bases:
        nxt = bases[current]
        if nxt == current:
            break
        if nxt in seen:
            return min(path[seen[nxt]:])
        seen[nxt] = len(path)
        path.append(nxt)
        current = nxt
    return current


def lineage_table(frame: pd.DataFrame, leaderboard: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each model's leaderboard match, root base model and lineage label.

    Parameters
    ----------
    frame : DataFrame
        A canonical model table (columns ``model_id`` and ``hf_id``).
    leaderboard : DataFrame, optional
        The leaderboard's columns :data:`LEADERBOARD_COLUMNS`; default
        :func:`load_leaderboard`.

    Returns
    -------
    DataFrame
        In ``frame``'s order: ``model_id``, ``matched`` (bool), ``leaderboard_name``,
        ``root`` (the root repository id, NaN when unmatched), ``chain_length`` (names
        visited), ``lineage`` (the label; ``"own:<model_id>"`` when unmatched).
    """
    if leaderboard is None:
        leaderboard = load_leaderboard()
    lb = leaderboard.dropna(subset=["model_name", "model_precision"])
    keys = {leaderboard_key(n, p): n for n, p in zip(lb["model_name"], lb["model_precision"],
                                                     strict=True)}
    bases = base_of(lb)
    hf = frame["hf_id"] if "hf_id" in frame else pd.Series(pd.NA, index=frame.index)
    names = [keys.get(h) if isinstance(h, str) else None for h in hf]
    roots = [follow_to_root(n, bases) if n is not None else None for n in names]
    out = pd.DataFrame({
        "model_id": frame["model_id"].astype(str).to_numpy(),
        "matched": [n is not None for n in names],
        "leaderboard_name": names,
        "root": roots,
    })
    out["lineage"] = [r.lower() if r is not None else f"{OWN_PREFIX}{m}"
                      for r, m in zip(roots, out["model_id"], strict=True)]
    return out


def _billions(value: float) -> str:
    """``value`` rounded to 0.01 B, in fixed notation without trailing zeros (18000, 2.5)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fingerprint_lineages(frame: pd.DataFrame) -> pd.Series:
    """Each model's fingerprint lineage (see the module docstring), in ``frame``'s order.

    Parameters
    ----------
    frame : DataFrame
        Canonical rows: ``model_id``, and ``params_b`` and ``tokens_base_b`` where known.

    Returns
    -------
    Series
        ``"fp:<params>B/<tokens>BT"``, or ``"own:<model_id>"`` when either value is missing.
    """
    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(float)

    params, tokens = column("params_b"), column("tokens_base_b")
    labels = [f"{FINGERPRINT_PREFIX}{p:.2f}B/{_billions(t)}BT"
              if np.isfinite(p) and np.isfinite(t) and p > 0 and t > 0
              else f"{OWN_PREFIX}{m}"
              for p, t, m in zip(params, tokens, frame["model_id"].astype(str), strict=True)]
    return pd.Series(labels, index=frame.index, name="lineage")


def model_lineages(frame: pd.DataFrame, source: str = "leaderboard") -> np.ndarray:
    """Each model's lineage label under ``source`` ("leaderboard" or "fingerprint")."""
    if source == "fingerprint":
        return fingerprint_lineages(frame).to_numpy()
    if source != "leaderboard":
        raise ValueError(f"unknown lineage source '{source}'")
    return lineage_table(frame)["lineage"].to_numpy()


#: Developer kinds of ``developer_distribution = "normal_by_kind"``, in coordinate order.
DEVELOPER_KINDS = ("trainer", "finetuner")


def lineage_founders(frame: pd.DataFrame, labels: np.ndarray) -> dict[str, str]:
    """Return the developer that founded each lineage: the one with its earliest release.

    Parameters
    ----------
    frame : DataFrame
        Rows with ``developer`` and ``month`` (``YYYY-MM``).
    labels : array of str
        Each row's lineage (:func:`model_lineages`).

    Returns
    -------
    dict
        Lineage -> developer. Ties in the earliest month go to the developer with more
        models in the lineage that month, then to the first name in sorted order.
    """
    rows = pd.DataFrame({"lineage": np.asarray(labels, str),
                         "developer": frame["developer"].astype(str).to_numpy(),
                         "month": frame["month"].astype(str).to_numpy()})
    first = rows[rows["month"] == rows.groupby("lineage")["month"].transform("min")]
    counts = first.groupby(["lineage", "developer"]).size().rename("n").reset_index()
    best = (counts.sort_values(["lineage", "n", "developer"], ascending=[True, False, True])
            .drop_duplicates("lineage"))
    return dict(zip(best["lineage"], best["developer"], strict=True))


def developer_kinds(frame: pd.DataFrame, labels: np.ndarray,
                    seen_lineages: frozenset[str] | set[str] = frozenset()) -> pd.Series:
    """Each developer's kind: ``"finetuner"`` or ``"trainer"``.

    A model is *derivative* when its lineage was founded by another developer
    (:func:`lineage_founders`) or is one of ``seen_lineages`` (lineages of a fit, which
    a developer new to that fit cannot have founded); a model that is its own lineage
    (``own:``) never is. A developer all of whose models are derivative fine-tunes others'
    bases (``"finetuner"``); any other developer trains a base of its own (``"trainer"``).

    Parameters
    ----------
    frame : DataFrame
        Rows with ``developer`` and ``month``.
    labels : array of str
        Each row's lineage.
    seen_lineages : set of str, optional
        Lineages founded outside ``frame`` (prediction: the fit's lineages).

    Returns
    -------
    Series
        Kind per developer (index: developer name, sorted).

    Notes
    -----
    The founder is who released first *in the data*: when a base itself is not in the
    table, the first developer to release a fine-tune of it counts as its founder (and a
    trainer). On the time split this classes most new developers fine-tuning a base
    released after the training period as trainers (``models/README.md``).
    """
    labels = np.asarray(labels, str)
    founders = lineage_founders(frame, labels)
    developer = frame["developer"].astype(str).to_numpy()
    derivative = np.array([not label.startswith(OWN_PREFIX)
                           and (label in seen_lineages or founders[label] != dev)
                           for label, dev in zip(labels, developer, strict=True)], bool)
    finetuner = pd.Series(derivative).groupby(developer).all()
    return finetuner.map({True: "finetuner", False: "trainer"}).rename("kind")


def lineage_summary(table: pd.DataFrame) -> dict[str, int]:
    """Count models, matched models, lineages, lineages with >1 model and their models."""
    sizes = table["lineage"].value_counts()
    return {"models": len(table), "matched": int(table["matched"].sum()),
            "lineages": int(sizes.size), "lineages_multi": int((sizes > 1).sum()),
            "models_in_multi": int(sizes[sizes > 1].sum())}


def write_lineage_table(frame: pd.DataFrame, out: str | os.PathLike,
                        leaderboard: pd.DataFrame | None = None) -> Path:
    """Write :func:`lineage_table` as CSV, atomically (a derived table, never committed)."""
    from bayes_llm.atomic import write_text_atomic

    return write_text_atomic(out, lineage_table(frame, leaderboard).to_csv(index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m bayes_llm.data.lineage OUT.csv``: the 809 models' lineages, with counts."""
    import sys

    from bayes_llm.data.paper import load_paper_dataset
    from bayes_llm.errors import BayesLLMError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bayes_llm.data.lineage OUT.csv", file=sys.stderr)
        return 2
    try:
        from bayes_llm.atomic import write_text_atomic

        table = lineage_table(load_paper_dataset())
        write_text_atomic(args[0], table.to_csv(index=False))
    except (BayesLLMError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(", ".join(f"{k}: {v}" for k, v in lineage_summary(table).items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
