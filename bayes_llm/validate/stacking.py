"""Stacking weights from held-out log scores (Yao, Vehtari, Simpson & Gelman 2018).

Stacking of predictive distributions chooses simplex weights ``w`` maximising
``sum_i log sum_k w_k p_k(y_i)``, where ``p_k(y_i)`` is method ``k``'s *held-out*
predictive probability of model ``i``'s observation (here the accuracy-bin probability of
:mod:`bayes_llm.validate.scores`, so every method is on one scale). The objective is
concave in ``w``; it is maximised by the EM fixed point for mixture weights
``w_k <- w_k mean_i [p_k(y_i) / sum_j w_j p_j(y_i)]``, which stays on the simplex and
increases the objective at every step.

The stacked log score reported next to the weights is evaluated on the same held-out
models the weights were chosen on, so it is optimistic by the weights' fit (K - 1
parameters against hundreds of models: small, but not zero). Whether the stacked predictive
beats the best single method is therefore judged by :func:`cross_validated_stacking`: the
held-out models are split into groups of developers, and each group's stacked density uses
weights fit on the other groups only (the same leave-groups-out logic as the scores
themselves), so the comparison with the best single method carries no in-sample advantage.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: EM iterations at most, and the tolerance on the change of the objective.
MAX_ITER: int = 2000
TOL: float = 1e-10


def stacking_weights(log_scores: np.ndarray) -> tuple[np.ndarray, float]:
    """Stacking weights from a ``(models, methods)`` array of held-out log scores.

    Returns
    -------
    (ndarray, float)
        The weights (sum 1) and the mean log score of the stacked predictive on these
        models (optimistic; see the module docstring).
    """
    ls = np.asarray(log_scores, float)
    m, k = ls.shape
    w = np.full(k, 1.0 / k)
    last = -np.inf
    for _ in range(MAX_ITER):
        with np.errstate(divide="ignore"):
            mix = special.logsumexp(ls + np.log(w)[None, :], axis=1)
        value = float(mix.mean())
        if value - last < TOL:
            break
        last = value
        resp = np.exp(ls + np.log(np.maximum(w, 1e-300))[None, :] - mix[:, None])
        new = resp.mean(axis=0)
        new /= new.sum()
        step = float(np.max(np.abs(new - w)))
        w = new
        if step < TOL:
            break
    with np.errstate(divide="ignore"):
        value = float(special.logsumexp(ls + np.log(w)[None, :], axis=1).mean())
    return w, value


#: Groups of developers the held-out models are split into for cross-validated stacking.
CV_GROUPS: int = 10


def cross_validated_stacking(log_scores: np.ndarray, groups, *, n_groups: int = CV_GROUPS,
                             seed: int = 0) -> np.ndarray:
    """Per-model log score of the stacked predictive with weights fit without the model.

    The distinct ``groups`` (e.g. developers) are dealt into ``n_groups`` parts balanced by
    model count, as the ``developers:K`` split deals its folds
    (:func:`bayes_llm.sensitivity.crossval.developer_folds`, ``seed``); each part's models
    are scored by the mixture whose weights :func:`stacking_weights` fits on the models of
    the other parts.

    Parameters
    ----------
    log_scores : ndarray
        ``(models, methods)`` held-out log scores.
    groups : array-like
        One label per model; models sharing a label are always in the same part.
    n_groups : int
        Number of parts (at most the number of distinct labels).
    seed : int
        Seed of the deal of labels into parts.

    Returns
    -------
    ndarray
        ``(models,)`` log scores of the cross-validated stacked predictive; their mean is
        comparable with a single method's mean log score, paired model by model.
    """
    import pandas as pd

    from bayes_llm.sensitivity.crossval import developer_folds

    ls = np.asarray(log_scores, float)
    labels = np.asarray(groups).astype(str)
    if labels.shape != (ls.shape[0],):
        raise ValueError(f"{labels.shape[0]} group labels for {ls.shape[0]} models")
    k = min(n_groups, len(np.unique(labels)))
    if k < 2:
        raise ValueError("cross-validated stacking needs at least two distinct groups")
    part_of = developer_folds(pd.DataFrame({"developer": labels}), k, seed=seed)
    part = np.array([part_of[g] for g in labels])
    out = np.empty(ls.shape[0])
    for j in range(k):
        test = part == j
        w, _ = stacking_weights(ls[~test])
        with np.errstate(divide="ignore"):
            out[test] = special.logsumexp(ls[test] + np.log(w)[None, :], axis=1)
    return out


__all__ = ["CV_GROUPS", "cross_validated_stacking", "stacking_weights"]
