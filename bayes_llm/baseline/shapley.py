"""Exact Shapley (LMG) decomposition of R² over named blocks of regressors."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from math import factorial

import numpy as np


def _centred(a: np.ndarray) -> np.ndarray:
    return a - a.mean(axis=0, keepdims=True)


def _check_weights(weights: np.ndarray, n: int) -> np.ndarray:
    """Validate observation weights and scale them to sum to one."""
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"weights has {w.shape[0]} entries, y has {n}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def subset_r2(y: np.ndarray, blocks: Mapping[str, np.ndarray], *,
              weights: np.ndarray | None = None) -> dict[frozenset[str], float]:
    """R² of the regression of ``y`` on every subset of the blocks (intercept always in).

    Parameters
    ----------
    y : ndarray, shape (n,)
        Outcome.
    blocks : mapping of str to ndarray, shape (n,) or (n, k)
        Named regressor blocks. Columns need not be linearly independent.
    weights : ndarray, shape (n,), optional
        Non-negative observation weights. When given, every regression is weighted least
        squares and R² is the weighted R², ``1 - sum(w e**2) / sum(w (y - ybar_w)**2)``
        (``ybar_w`` the weighted mean). Weights are scaled to sum to one, so equal
        weights give the unweighted result (up to rounding). ``None`` (default): ordinary
        least squares.

    Returns
    -------
    dict of frozenset to float
        R² of every subset; the empty subset (intercept only) has R² 0.

    """
    y = np.asarray(y, dtype=float).reshape(-1)
    if weights is None:
        centre, qualifier = _centred, ""
    else:
        w = _check_weights(weights, len(y))
        sw = np.sqrt(w)

        def centre(a: np.ndarray) -> np.ndarray:
            # Weighted centring, then sqrt(w) scaling: OLS on the result is WLS.
            return (a - w @ a) * (sw if a.ndim == 1 else sw[:, None])

        qualifier = " (under the weights)"
    yc = centre(y)
    tss = float(yc @ yc)
    if not np.isfinite(tss) or tss <= 0:
        raise ValueError(f"y must be finite and not constant{qualifier}")
    names = list(blocks)
    arrays = {}
    for name in names:
        arr = np.asarray(blocks[name], dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"block '{name}' must be 1- or 2-dimensional")
        if arr.shape[0] != len(yc):
            raise ValueError(f"block '{name}' has {arr.shape[0]} rows, y has {len(yc)}")
        arrays[name] = centre(arr)
    out: dict[frozenset[str], float] = {frozenset(): 0.0}
    for size in range(1, len(names) + 1):
        for subset in combinations(names, size):
            X = np.concatenate([arrays[n] for n in subset], axis=1)
            if X.shape[1] == 0:
                out[frozenset(subset)] = 0.0
                continue
            coef, *_ = np.linalg.lstsq(X, yc, rcond=None)
            resid = yc - X @ coef
            out[frozenset(subset)] = 1.0 - float(resid @ resid) / tss
    return out


def shapley_from_subsets(names: list[str], r2: Mapping[frozenset[str], float]) -> dict[str, float]:
    """Shapley values of each name given the R² of every subset of ``names``."""
    k = len(names)
    weights = [factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)]
    values: dict[str, float] = {}
    for name in names:
        others = [n for n in names if n != name]
        total = 0.0
        for size in range(k):
            for subset in combinations(others, size):
                s = frozenset(subset)
                total += weights[size] * (r2[s | {name}] - r2[s])
        values[name] = total
    return values


def shapley_r2(y: np.ndarray, blocks: Mapping[str, np.ndarray], *,
               weights: np.ndarray | None = None) -> dict[str, float]:
    """Exact Shapley decomposition of the R² of ``y`` on named regressor blocks.

    Each block is one player; the value of a coalition is the R² of the OLS regression of
    ``y`` on the blocks in it plus an intercept. All ``2**len(blocks)`` subsets are fitted
    (plain NumPy least squares on centred data, so collinear or rank-deficient blocks are
    fine). The values sum exactly to the full model's R²; the residual share of the variance
    is ``1 - sum(values)``.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Outcome (e.g. one posterior draw or bootstrap replicate).
    blocks : mapping of str to ndarray, shape (n,) or (n, k)
        Named regressor blocks, e.g. ``{"compute": x, "period": D_t, "developer": D_j}``.
        Do not include an intercept column; it is always included.
    weights : ndarray, shape (n,), optional
        Observation weights: every coalition's regression is then weighted least squares
        and its value the weighted R² (see :func:`subset_r2`). Used by the Bayesian
        bootstrap of :mod:`bayes_llm.derived.shapley_band`. ``None`` (default): OLS.

    Returns
    -------
    dict of str to float
        Shapley share of R² of each block, in the order of ``blocks``.

    """
    names = list(blocks)
    if not names:
        return {}
    return shapley_from_subsets(names, subset_r2(y, blocks, weights=weights))
