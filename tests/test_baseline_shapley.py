"""The generic Shapley R² decomposition."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from bayes_llm.baseline import shapley_r2, subset_r2


def _r2(y: np.ndarray, X: np.ndarray) -> float:
    X1 = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(X1, y, rcond=None)
    resid = y - X1 @ coef
    return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


@pytest.fixture
def blocks():
    rng = np.random.default_rng(3)
    n = 200
    a = rng.normal(size=n)
    b = 0.6 * a + rng.normal(size=(n, 2)).T[0]
    c = rng.integers(0, 4, size=n)
    dummies = (c[:, None] == np.arange(1, 4)).astype(float)
    d = rng.normal(size=(n, 2)) + a[:, None]
    y = 1.0 + 0.8 * a + 0.5 * b + dummies @ np.array([0.3, -0.2, 0.5]) + 0.2 * d[:, 0]
    y = y + rng.normal(size=n)
    return y, {"a": a, "b": b, "c": dummies, "d": d}


def test_values_sum_to_full_r2(blocks):
    y, bl = blocks
    values = shapley_r2(y, bl)
    assert list(values) == list(bl)
    assert sum(values.values()) == pytest.approx(_r2(y, np.column_stack(list(bl.values()))))


def test_matches_average_over_orderings(blocks):
    y, bl = blocks
    names = list(bl)
    r2 = subset_r2(y, bl)
    brute = dict.fromkeys(names, 0.0)
    orders = list(permutations(names))
    for order in orders:
        seen: frozenset[str] = frozenset()
        for name in order:
            brute[name] += (r2[seen | {name}] - r2[seen]) / len(orders)
            seen = seen | {name}
    values = shapley_r2(y, bl)
    for name in names:
        assert values[name] == pytest.approx(brute[name], abs=1e-12)


def test_orthogonal_blocks_get_their_own_r2():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(100, 2))
    X, _ = np.linalg.qr(Z - Z.mean(axis=0))  # centred, mutually orthogonal columns
    y = X @ np.array([3.0, 1.0]) + 0.1 * rng.normal(size=100)
    values = shapley_r2(y, {"x0": X[:, 0], "x1": X[:, 1]})
    assert values["x0"] == pytest.approx(_r2(y, X[:, [0]]), abs=1e-12)
    assert values["x1"] == pytest.approx(_r2(y, X[:, [1]]), abs=1e-12)


def test_order_invariance_and_symmetry(blocks):
    y, bl = blocks
    forward = shapley_r2(y, bl)
    backward = shapley_r2(y, dict(reversed(list(bl.items()))))
    for name in bl:
        assert forward[name] == pytest.approx(backward[name], abs=1e-12)
    twins = shapley_r2(y, {"a1": bl["a"], "a2": bl["a"].copy(), "b": bl["b"]})
    assert twins["a1"] == pytest.approx(twins["a2"], abs=1e-12)


def test_collinear_columns_are_harmless(blocks):
    y, bl = blocks
    redundant = dict(bl)
    redundant["c"] = np.column_stack([bl["c"], bl["c"][:, 0] + bl["c"][:, 1]])
    a, b = shapley_r2(y, bl), shapley_r2(y, redundant)
    for name in bl:
        assert a[name] == pytest.approx(b[name], abs=1e-10)


def test_input_errors(blocks):
    y, bl = blocks
    with pytest.raises(ValueError, match="constant"):
        shapley_r2(np.ones_like(y), bl)
    with pytest.raises(ValueError, match="rows"):
        shapley_r2(y, {"a": bl["a"][:-1]})
    assert shapley_r2(y, {}) == {}
