"""Model-averaged frontier estimand: integrate over the functional form of compute.

The primary frontier figure (:func:`bayes_llm.derived.frontier.frontier_gain`) of one fit
conditions on that fit's compute curve (straight line, monotone piecewise line) and on
its treatment of compute (exact, or measured with error). This module mixes the
posteriors of several fits of the *same data* with weights, so the band integrates over
those choices: Bayesian stacking weights of the held-out predictive distributions (Yao,
Vehtari, Simpson & Gelman 2018) of these fits' specs, computed from the held-out log
scores of a ``bayes-llm validate`` folder, or equal
weights. Each fit's per-draw figures are computed on its own draws and pooled in
proportion to the weights (:func:`bayes_llm.derived.frontier.mix_draws`).

The estimand must be the same quantity in every fit, so the fits must share their data
(:func:`check_same_data`, the data hash recorded at fit time) and their frontier models.
The mixture's rows have kind :data:`AVERAGED_KIND`; they carry the weights, each
component fit's diagnostics status (a mixture with a failed component is flagged) and the
worst R-hat / smallest ESS of the figure across the components with positive weight (a
mixture of pooled draws has no R-hat of its own).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_llm.derived.frontier import TOP_K, frontier_gain, frontier_sets, mix_draws
from bayes_llm.derived.summary import FitLike
from bayes_llm.errors import BayesLLMError

#: The ``kind`` of a model-averaged row of the headline table.
AVERAGED_KIND: str = "posterior (model-averaged)"
#: ``--weights equal``.
EQUAL: str = "equal"
#: The validate summary file and its columns used here.
VALIDATE_SUMMARY, VALIDATE_SCORES, METHOD_COLUMN = "summary.csv", "scores.csv", "method"
#: frontier_gain variable -> headline figure id of the single-fit row.
FRONTIER_FIGURES: dict[str, str] = {
    "compute_share": "frontier_gain_compute_share",
    "gain": "frontier_gain",
    "gain_from_scaling": "frontier_gain_from_scaling",
    "gain_without_scaling": "frontier_gain_without_scaling",
    **{f"decades_{c}": f"frontier_decades_{c}"
       for c in ("compute", "period", "developer", "model", "total")},
}


def averaged_id(figure: str) -> str:
    """Return the headline figure id of the model-averaged version of ``figure``."""
    return f"{figure}_averaged"


def fit_data_hash(fit: FitLike) -> str:
    """Return the data hash recorded with a fit (``""`` when it has none)."""
    return str((getattr(fit, "metadata", None) or {}).get("data_hash", "") or "")


def check_same_data(fits: Sequence[FitLike]) -> None:
    """Refuse fits that were not made on the same data (their recorded data hash).

    Raises
    ------
    BayesLLMError
        A fit has no data hash, or two hashes differ (names both specs).
    """
    hashes = [fit_data_hash(f) for f in fits]
    for fit, h in zip(fits, hashes, strict=True):
        if not h:
            raise BayesLLMError(f"fit '{fit.spec.name}' records no data hash, so it cannot be "
                                "checked to share its data with the others; refit it")
    for fit, h in zip(fits[1:], hashes[1:], strict=True):
        if h != hashes[0]:
            raise BayesLLMError(
                f"fits '{fits[0].spec.name}' and '{fit.spec.name}' were made on different data "
                f"(data hash {hashes[0][:12]} != {h[:12]}); a model average needs the same "
                "quantity, so fit every spec on the same data")


def stacking_weights_from(validate_dir: str | os.PathLike,
                          spec_names: Sequence[str]) -> tuple[list[float], str]:
    """Stacking weights of ``spec_names`` from a ``bayes-llm validate`` folder.

    The weights are the stacking weights (Yao, Vehtari, Simpson & Gelman 2018;
    :func:`bayes_llm.validate.stacking.stacking_weights`) of exactly these specs,
    computed from the folder's held-out log scores (``scores.csv``) on the models every
    one of them predicted. They equal the ``stacking_weight`` column of the folder's
    ``summary.csv`` when the specs are all of its methods; with a subset (e.g. without
    the paper's OLS) they are re-optimised over the subset, since stacking weights
    renormalised over a subset are not that subset's stacking weights.

    Returns
    -------
    (list of float, str)
        The weights in the order of ``spec_names`` and a one-line note of their source.

    Raises
    ------
    BayesLLMError
        No summary or scores, a spec missing from the folder, or no common held-out model.
    """
    import pandas as pd

    from bayes_llm.validate.stacking import stacking_weights

    folder = Path(validate_dir)
    path, scores_path = folder / VALIDATE_SUMMARY, folder / VALIDATE_SCORES
    for need in (path, scores_path):
        if not need.is_file():
            raise BayesLLMError(f"--weights {validate_dir}: no {need.name} (give a folder "
                                "written by 'bayes-llm validate', or 'equal')")
    try:
        summary = pd.read_csv(path)
        scores = pd.read_csv(scores_path, usecols=[METHOD_COLUMN, "model_id", "log_score"])
    except (OSError, ValueError) as exc:
        raise BayesLLMError(f"{folder}: cannot read its summary or scores ({exc})") from exc
    if METHOD_COLUMN not in summary:
        raise BayesLLMError(f"{path}: has no column '{METHOD_COLUMN}'")
    methods = summary[METHOD_COLUMN].astype(str).tolist()
    missing = [s for s in spec_names if s not in methods]
    if missing:
        raise BayesLLMError(f"{path}: no stacking weight for spec(s) "
                            f"{', '.join(repr(s) for s in missing)} (methods there: "
                            f"{', '.join(methods)}); validate every averaged spec together")
    table = scores.pivot_table(index="model_id", columns=METHOD_COLUMN, values="log_score")
    common = table.reindex(columns=list(spec_names)).dropna()
    if common.empty:
        raise BayesLLMError(f"{scores_path}: no held-out model scored by every one of "
                            f"{', '.join(spec_names)}")
    weights, _ = stacking_weights(common.to_numpy(float))
    others = [m for m in methods if m not in spec_names]
    note = (f"stacking weights (Yao et al. 2018) of these specs on the "
            f"{len(common)} held-out models of {folder}"
            + (f" (re-optimised without {', '.join(others)})" if others else ""))
    return [float(v) for v in weights], note


def resolve_weights(weights: str | os.PathLike | Sequence[float] | None,
                    fits: Sequence[FitLike]) -> tuple[list[float], str]:
    """Turn ``"equal"``, a validate folder or explicit numbers into weights and a note."""
    n = len(fits)
    if weights is None or (isinstance(weights, str) and weights == EQUAL):
        return [1.0 / n] * n, "equal weights"
    if isinstance(weights, (str, os.PathLike)):
        return stacking_weights_from(weights, [f.spec.name for f in fits])
    w = np.asarray(list(weights), dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise BayesLLMError(f"model averaging needs {n} non-negative weights, not all zero; "
                            f"got {list(weights)}")
    return [float(v) for v in w / w.sum()], "weights given"


def averaged_frontier(fits: Sequence[FitLike],
                      weights: str | os.PathLike | Sequence[float] | None = EQUAL, *,
                      top_k: int = TOP_K, seed: int = 0) -> xr.Dataset:
    """Mix the frontier figures of several fits of the same data with weights.

    Parameters
    ----------
    fits : sequence of FitLike
        Fits of the same data (e.g. ``binomial_developers``, ``binomial_monotone``,
        ``binomial_eiv_t``); spec names must be distinct.
    weights : "equal", a validate folder, or numbers
        See :func:`resolve_weights`.
    top_k, seed
        As in :func:`bayes_llm.derived.frontier.frontier_gain` and
        :func:`bayes_llm.derived.frontier.mix_draws`.

    Returns
    -------
    Dataset
        One chain of mixed draws of every :func:`frontier_gain` variable. Attributes:
        ``specs``, ``weights``, ``draws_per_fit``, ``weights_source``,
        ``component_status`` (per spec), ``failed`` (specs in the mixture, i.e. with
        draws in it, that failed their diagnostics), ``notes`` (per variable: why it is
        undefined, when a component's figure is) and ``component_diagnostics`` (per
        variable: worst R-hat, smallest bulk and tail ESS of that figure across the
        component fits in the mixture).
    """
    if not fits:
        raise BayesLLMError("model averaging needs at least one fit")
    names = [f.spec.name for f in fits]
    if len(set(names)) != len(names):
        raise BayesLLMError(f"model averaging needs fits of distinct specs; got {names}")
    check_same_data(fits)
    w, source = resolve_weights(weights, fits)
    first = frontier_sets(fits[0], top_k)
    for fit in fits[1:]:
        if frontier_sets(fit, top_k) != first:
            raise BayesLLMError(f"fits '{names[0]}' and '{fit.spec.name}' do not share their "
                                "frontier models; average fits of the same data only")
    parts = []
    for part in (frontier_gain(f, top_k=top_k) for f in fits):
        reasons = part.attrs.get("notes", {})
        part = part.copy()
        part.attrs = {"notes": reasons}
        for var in part.data_vars:
            part[var].attrs = {}
        parts.append(part)
    mixed = mix_draws([p.drop_attrs() for p in parts], w, seed=seed)
    # what is in the mixture: the fits that contributed draws (a weight of 1e-6 may not)
    used = [c > 0 for c in mixed.attrs["draws_per_fit"]]
    notes: dict[str, str] = {}
    for fit, part, u in zip(fits, parts, used, strict=True):
        for var, why in part.attrs["notes"].items():
            if u:
                notes.setdefault(var, f"{fit.spec.name}: {why}")
    status = {f.spec.name: _status(f) for f in fits}
    mixed.attrs.update({
        "specs": names, "weights": [float(v) for v in w], "weights_source": source,
        "component_status": status, "notes": notes, "top_k": top_k,
        "failed": [n for n, u in zip(names, used, strict=True)
                   if u and status[n] not in ("ok", "n/a")],
        "component_diagnostics": _component_diagnostics(
            [p for p, u in zip(parts, used, strict=True) if u])})
    return mixed


def _component_diagnostics(parts: Sequence[xr.Dataset]
                           ) -> dict[str, tuple[float, float, float]]:
    """Per variable: worst R-hat, smallest bulk and tail ESS over the components."""
    from bayes_llm.derived.headline import draw_diagnostics

    tables = [draw_diagnostics(p) for p in parts]

    def worst(values: list[float], largest: bool) -> float:
        finite = [v for v in values if np.isfinite(v)]
        return (max(finite) if largest else min(finite)) if finite else float("nan")

    out = {}
    for var in tables[0].index:
        out[str(var)] = (worst([t.loc[var, "rhat"] for t in tables], True),
                         worst([t.loc[var, "ess_bulk"] for t in tables], False),
                         worst([t.loc[var, "ess_tail"] for t in tables], False))
    return out


def _status(fit: FitLike) -> str:
    from bayes_llm.derived.headline import fit_status

    return fit_status(fit)


def mixture_status(mixed: xr.Dataset) -> str:
    """Return the diagnostics status of a mixture: ``ok`` or which components failed."""
    status = mixed.attrs["component_status"]
    if mixed.attrs["failed"]:
        return "FAILED in component(s): " + "; ".join(
            f"{n}: {status[n]}" for n in mixed.attrs["failed"])
    if all(s == "n/a" for s in status.values()):
        return "n/a"
    return "ok (every component fit)"


def weights_text(mixed: xr.Dataset) -> str:
    """Return the weights of a mixture as ``spec 0.50, spec 0.50``."""
    return ", ".join(f"{n} {w:.2f}" for n, w in
                     zip(mixed.attrs["specs"], mixed.attrs["weights"], strict=True))


__all__ = ["AVERAGED_KIND", "EQUAL", "FRONTIER_FIGURES", "averaged_frontier", "averaged_id",
           "check_same_data", "fit_data_hash", "mixture_status", "resolve_weights",
           "stacking_weights_from", "weights_text"]
