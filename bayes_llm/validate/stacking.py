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
parameters against hundreds of models: small, but not zero).
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


__all__ = ["stacking_weights"]
