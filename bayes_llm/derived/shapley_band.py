"""Weighted Shapley split of R² (the paper's company-share statistic) and its resampling.

Not a posterior. The headline table shows the paper's statistic as a *sampling band* of
an OLS statistic next to its null reference
(:mod:`bayes_llm.derived.shapley_null`, which uses the weighted subset R² of this
module); :func:`shapley_draws` (Bayesian bootstrap, below) is kept for comparison and
is never summarised as a posterior or passed to power-scaling: with models resampled as
independent it ignores the clustering by developer, and its median sits above the
statistic (54.2% against 51.9% with every developer string as a dummy).

The paper's figure is a descriptive statistic of the 809 models: the Shapley (LMG) split of
the R² of the OLS regression of the logit score on compute, period dummies and developer
(group) dummies (32.0% / 2.7% / 18.0% of the variance). It is not a parameter of the
hierarchical model, so its uncertainty is obtained the way one puts a posterior on any
such functional of the data: the **Bayesian bootstrap** (Rubin 1981). Treat the models as
draws from an unknown population distribution F with a non-informative Dirichlet-process
limit prior; the posterior of F is then the observed models with weights
``w ~ Dirichlet(1, ..., 1)``, and each draw of the statistic is the paper's estimator
evaluated on that weighted population (weighted least squares, weighted R², exact
Shapley over the three blocks). This

* keeps the paper's estimator exactly (equal weights reproduce 32.0 / 2.7 / 18.0),
* needs no model for the score beyond the paper's own, so it is the natural band for the
  paper's definition (the hierarchical model's own partition is
  :mod:`bayes_llm.derived.variance`),
* is smooth (no model is ever dropped, unlike the ordinary bootstrap, so every dummy stays
  estimable) and its draws are exchangeable with MCMC draws for summaries.

The bootstrap draws are laid out on the fit's ``(chain, draw)`` dims for convenience; they
are independent of the MCMC draws (joint statements with model parameters are not
meaningful). ``cluster="developer_group"`` draws Dirichlet weights per cluster instead
(each model gets its cluster's weight divided by the cluster's size), mirroring the
paper's clustered standard errors; with 13 clusters this band is much wider.

Blocks follow the fit: ``period`` dummies of the fit's periods and ``developer`` dummies of
its developer units (the paper's 13 groups, or every developer string), so passing a
group-coded or a developer-coded fit gives the two codings. Models without a logit score
are left out, as in the paper's regression.

Speed: the developer block (up to 256 dummies) is absorbed by weighted within-group
demeaning (Frisch-Waugh-Lovell) instead of being regressed on explicitly, so one draw
costs a few small least-squares problems; :func:`weighted_subset_r2` equals
:func:`bayes_llm.baseline.shapley.subset_r2` with ``weights`` to rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.baseline.shapley import shapley_from_subsets
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.derived.summary import SAMPLE_DIMS, FitLike, score_columns
from bayes_llm.errors import BayesLLMError

#: Shapley players, in order, and the residual share that completes the variance.
SHAPLEY_BLOCKS: tuple[str, str, str] = ("compute", "period", "developer")
SHAPLEY_PARTS: tuple[str, ...] = (*SHAPLEY_BLOCKS, "residual")


@dataclass(frozen=True)
class Categorical:
    """A categorical regressor block: integer codes ``0..n_levels-1`` (dummies, first dropped)."""

    codes: np.ndarray

    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return int(self.codes.max()) + 1 if self.codes.size else 0

    def dummies(self) -> np.ndarray:
        """0/1 columns for every level but the first."""
        return (self.codes[:, None] == np.arange(1, self.n_levels)[None, :]).astype(float)


def _as_matrix(block: np.ndarray | Categorical) -> np.ndarray:
    if isinstance(block, Categorical):
        return block.dummies()
    arr = np.asarray(block, dtype=float)
    return arr[:, None] if arr.ndim == 1 else arr


def _demean(values: np.ndarray, w: np.ndarray, codes: np.ndarray | None,
            n_levels: int) -> np.ndarray:
    """Weighted demeaning of columns, overall or within the groups of ``codes``."""
    if codes is None:
        return values - w @ values
    wsum = np.bincount(codes, weights=w, minlength=n_levels)
    safe = np.where(wsum > 0, wsum, 1.0)
    out = np.empty_like(values)
    for j in range(values.shape[1]):
        means = np.bincount(codes, weights=w * values[:, j], minlength=n_levels) / safe
        out[:, j] = values[:, j] - means[codes]
    return out


class _SubsetR2:
    """The weighted R² of every subset of fixed blocks, for many weight vectors.

    Dummy matrices are built once and only for blocks that are regressed on explicitly.
    """

    def __init__(self, y: np.ndarray, blocks: Mapping[str, np.ndarray | Categorical]) -> None:
        self.y = np.asarray(y, dtype=float).reshape(-1)
        self.blocks = dict(blocks)
        self.names = list(blocks)
        for name, block in self.blocks.items():
            rows = len(block.codes) if isinstance(block, Categorical) else len(block)
            if rows != len(self.y):
                raise BayesLLMError(f"block '{name}' has {rows} rows, y has {len(self.y)}")
        self._mats: dict[str, np.ndarray] = {}
        self.plan = []
        for size in range(1, len(self.names) + 1):
            for subset in combinations(self.names, size):
                cats = [s for s in subset if isinstance(self.blocks[s], Categorical)]
                absorb = max(cats, key=lambda s: self.blocks[s].n_levels) if cats else None
                explicit = [s for s in subset if s != absorb]
                self.plan.append((frozenset(subset), absorb, explicit))

    def _matrix(self, name: str) -> np.ndarray:
        if name not in self._mats:
            self._mats[name] = _as_matrix(self.blocks[name])
        return self._mats[name]

    def __call__(self, weights: np.ndarray | None = None) -> dict[frozenset[str], float]:
        y = self.y
        n = len(y)
        w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise BayesLLMError("weights must be n finite, non-negative numbers, not all zero")
        w = w / w.sum()
        sw = np.sqrt(w)
        yc = y - w @ y
        tss = float(w @ yc**2)
        if not np.isfinite(tss) or tss <= 0:
            raise BayesLLMError("the outcome must be finite and not constant")
        out: dict[frozenset[str], float] = {frozenset(): 0.0}
        for subset, absorb, explicit in self.plan:
            codes = self.blocks[absorb].codes if absorb else None
            n_levels = self.blocks[absorb].n_levels if absorb else 0
            yt = _demean(y[:, None], w, codes, n_levels)[:, 0] * sw
            if explicit:
                X = np.concatenate([self._matrix(s) for s in explicit], axis=1)
                X = _demean(X, w, codes, n_levels) * sw[:, None]
                coef, *_ = np.linalg.lstsq(X, yt, rcond=None)
                yt = yt - X @ coef
            out[subset] = 1.0 - float(yt @ yt) / tss
        return out


def weighted_subset_r2(y: np.ndarray, blocks: Mapping[str, np.ndarray | Categorical],
                       weights: np.ndarray | None = None) -> dict[frozenset[str], float]:
    """Weighted R² of ``y`` on every subset of the blocks (intercept always in).

    The categorical block with the most levels in a subset is absorbed by weighted
    within-group demeaning; the other blocks are regressed on explicitly.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Outcome.
    blocks : mapping of str to ndarray or Categorical
        Numeric blocks (n,) or (n, k), or :class:`Categorical` blocks.
    weights : ndarray, shape (n,), optional
        Non-negative weights (scaled to sum to one); default equal weights.

    Returns
    -------
    dict of frozenset to float
    """
    return _SubsetR2(y, blocks)(weights)


def _shapley_values(names: list[str], r2: dict[frozenset[str], float]) -> dict[str, float]:
    values = shapley_from_subsets(names, r2)
    values["residual"] = 1.0 - r2[frozenset(names)]
    return values


def weighted_shapley(y: np.ndarray, blocks: Mapping[str, np.ndarray | Categorical],
                     weights: np.ndarray | None = None) -> dict[str, float]:
    """Shapley split of the weighted R², plus ``residual = 1 - R²`` (sums to one)."""
    return _shapley_values(list(blocks), weighted_subset_r2(y, blocks, weights))


def shapley_inputs(fit: FitLike) -> tuple[np.ndarray, dict[str, np.ndarray | Categorical],
                                          pd.DataFrame]:
    """Return the paper's regression data for a fit: outcome, blocks, models used.

    Returns
    -------
    (y, blocks, models)
        ``blocks`` maps compute (log10 FLOP), period and developer (the fit's developer
        units) to their regressors; ``models`` are the rows used (logit score present).
    """
    _, logit_col = score_columns(fit.spec)
    models = fit.models[fit.models[logit_col].notna()].reset_index(drop=True)
    if len(models) < 3:
        raise BayesLLMError(f"only {len(models)} models with a {logit_col} score")
    period = pd.factorize(models["period"].astype(str), sort=True)[0]
    developer = pd.factorize(models["developer_unit"].astype(str), sort=True)[0]
    blocks = {"compute": models["log10_flop"].to_numpy(float),
              "period": Categorical(np.asarray(period)),
              "developer": Categorical(np.asarray(developer))}
    return models[logit_col].to_numpy(float), blocks, models


def dirichlet_weights(n_draws: int, n: int, *, seed: int = DEFAULT_SEED,
                      clusters: np.ndarray | None = None) -> np.ndarray:
    """Bayesian-bootstrap weights, shape ``(n_draws, n)``, each row summing to one.

    ``clusters`` (integer codes per model): Dirichlet(1, ..., 1) over clusters, each split
    equally among the cluster's models.
    """
    rng = np.random.default_rng(seed)
    if clusters is None:
        return rng.dirichlet(np.ones(n), size=n_draws)
    clusters = np.asarray(clusters)
    k = int(clusters.max()) + 1
    sizes = np.bincount(clusters, minlength=k)
    cw = rng.dirichlet(np.ones(k), size=n_draws)
    return cw[:, clusters] / sizes[clusters][None, :]


def shapley_point(fit: FitLike) -> dict[str, float]:
    """Return the paper's Shapley split (equal weights) of the fit's models and coding."""
    y, blocks, _ = shapley_inputs(fit)
    return weighted_shapley(y, blocks)


def _template(fit: FitLike) -> xr.DataArray:
    """Return a zero ``(chain, draw)`` array on the fit's sample coordinates."""
    beta = fit.dt["posterior"]["beta"].transpose(*SAMPLE_DIMS)
    return xr.DataArray(np.zeros(beta.shape), dims=SAMPLE_DIMS,
                        coords={d: beta.coords[d].values for d in SAMPLE_DIMS})


def shapley_draws(fit: FitLike, *, bootstrap: bool = True, seed: int = DEFAULT_SEED,
                  cluster: str | None = None) -> xr.Dataset:
    """Bayesian-bootstrap draws of the Shapley shares, on the fit's ``(chain, draw)`` dims.

    Parameters
    ----------
    fit : FitLike
        A fit (its models, outcome, periods and developer units define the regression).
    bootstrap : bool
        ``False``: the paper's point value on every draw (equal weights).
    seed : int
        Seed of the Dirichlet weights (default :data:`bayes_llm.constants.DEFAULT_SEED`).
    cluster : str, optional
        Column of ``fit.models`` to draw weights by cluster (e.g. ``"developer_group"``).

    Returns
    -------
    Dataset
        ``share`` (chain, draw, block) over compute, period, developer, residual, summing
        to one (shares of the variance; the first three sum to R²); ``r2`` (chain, draw).
    """
    y, blocks, models = shapley_inputs(fit)
    template = _template(fit)
    n_chain, n_draw = template.shape
    n_total = n_chain * n_draw
    if bootstrap:
        codes = None
        if cluster is not None:
            if cluster not in models:
                raise BayesLLMError(f"no column '{cluster}' to cluster the bootstrap by")
            codes = pd.factorize(models[cluster].astype(str), sort=True)[0]
        weights = dirichlet_weights(n_total, len(y), seed=seed, clusters=codes)
        problem = _SubsetR2(y, blocks)
        rows = [_shapley_values(problem.names, problem(w)) for w in weights]
    else:
        rows = [weighted_shapley(y, blocks)] * n_total
    values = np.array([[row[p] for p in SHAPLEY_PARTS] for row in rows])
    values = values.reshape(n_chain, n_draw, len(SHAPLEY_PARTS))
    share = xr.DataArray(values, dims=(*SAMPLE_DIMS, "block"),
                         coords={**{d: template.coords[d].values for d in SAMPLE_DIMS},
                                 "block": list(SHAPLEY_PARTS)})
    r2 = 1.0 - share.sel(block="residual", drop=True)
    ds = xr.Dataset({"share": share, "r2": r2})
    ds.attrs.update({"method": "bayesian_bootstrap" if bootstrap else "point",
                     "seed": int(seed), "cluster": cluster or "", "n_models": len(y)})
    return ds


__all__ = ["SHAPLEY_BLOCKS", "SHAPLEY_PARTS", "Categorical", "dirichlet_weights",
           "shapley_draws", "shapley_inputs", "shapley_point", "weighted_shapley",
           "weighted_subset_r2"]
