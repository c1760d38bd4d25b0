"""Prior and posterior predictive checks drawn with NumPy, without PyMC.

The report's checks need replicated data sets, not a compiled model: building the PyMC
graph (and importing PyMC) costs more than the draws. These functions return the same
trees as :func:`bayes_llm.model.predictive.prior_predictive` and
:func:`~bayes_llm.model.predictive.posterior_predictive` (groups ``prior_predictive`` or
``posterior_predictive`` with the outcome and ``accuracy``, ``observed_data``,
``constant_data`` with ``log10_flop``), drawn from the same distributions by other code:

* :func:`prior_predictive_numpy` — the independent NumPy simulator of the documented model
  (:func:`bayes_llm.verify.generate.draw_prior_predictive`, the one simulation-based
  calibration checks the PyMC model against), one prior draw per replicate;
* :func:`posterior_predictive_numpy` — new models with the fitted rows' compute, period and
  developer, from :func:`bayes_llm.prediction.predict` (per posterior draw: the fitted
  terms, a fresh model-level effect, binomial noise), on the same thinned draws as the PyMC
  path. Only where that is the PyMC path's distribution: binomial likelihood, latent
  ability redrawn (``new_models``), compute taken as measured (no errors-in-variables,
  where PyMC keeps each fitted model's posterior true compute), and every row placed in its
  fitted period and developer unit; :func:`posterior_numpy_supported` says so, and
  :func:`posterior_predictive_checked` falls back to PyMC otherwise.

Random numbers differ from PyMC's, so the replicates are other draws from the same
distribution (``tests/test_predictive_numpy.py`` compares the two).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import ModelData, prepare_data
from bayes_llm.model.predictive import OBSERVED_NAME, PRIOR_DRAWS, _add_accuracy, checked_data
from bayes_llm.model.spec import ModelSpec


class NotCovered(BayesLLMError):
    """The NumPy posterior predictive does not cover this fit (use the PyMC path)."""


def prior_predictive_numpy(spec: ModelSpec, df: pd.DataFrame, draws: int = PRIOR_DRAWS,
                           seed: int = DEFAULT_SEED) -> xr.DataTree:
    """Replicated outcomes from the priors of ``spec`` on the models of ``df`` (NumPy).

    Parameters and return value as :func:`bayes_llm.model.predictive.prior_predictive`,
    except that the tree has no ``prior`` group (the parameters are not kept).
    """
    from bayes_llm.verify.generate import draw_prior_predictive

    if draws < 1:
        raise BayesLLMError(f"prior predictive draws must be positive, got {draws}")
    data = prepare_data(df, spec)
    rng = np.random.default_rng(seed)
    name = OBSERVED_NAME[spec.likelihood]
    values = np.stack([draw_prior_predictive(spec, data, rng)[1][name] for _ in range(draws)])
    tree = _tree("prior_predictive", name, values[None], data, spec)
    tree.attrs["simulator"] = "numpy (bayes_llm.verify.generate)"
    return tree


def posterior_numpy_supported(fit) -> bool:
    """Whether :func:`posterior_predictive_numpy` draws from the PyMC path's distribution."""
    spec = fit.spec
    return (spec.likelihood == "binomial" and not spec.compute_error
            and "eta" in fit.dt["posterior"])


def thinned_draw_index(n_chain: int, n_draw: int, draws: int | None) -> tuple[np.ndarray, int]:
    """Stacked indices of the PyMC path's thinning and the draws kept per chain.

    As :func:`bayes_llm.model.predictive.posterior_predictive`: every ``step``-th draw of
    each chain, ``step = ceil(n_chain * n_draw / draws)``.
    """
    step = 1 if draws is None else max(1, int(np.ceil(n_chain * n_draw / max(draws, 1))))
    kept = np.arange(0, n_draw, step)
    return (np.arange(n_chain)[:, None] * n_draw + kept[None, :]).ravel(), len(kept)


def posterior_predictive_numpy(fit, df: pd.DataFrame, seed: int = DEFAULT_SEED, *,
                               draws: int | None = None,
                               check_data: bool = True) -> xr.DataTree:
    """Replicate new models from the posterior of ``fit`` with NumPy (no PyMC).

    Parameters and return value as :func:`bayes_llm.model.predictive.posterior_predictive`
    with ``new_models=True``.

    Raises
    ------
    BayesLLMError
        ``df`` is not the fit's data; or the fit is one this path does not cover
        (:func:`posterior_numpy_supported`), or a row would not be placed in its fitted
        period and developer unit.
    """
    from bayes_llm.prediction import predict

    spec = fit.spec
    if not posterior_numpy_supported(fit):
        raise NotCovered(f"fit '{spec.name}': the NumPy posterior predictive covers the "
                            "binomial likelihood without compute errors; use "
                            "bayes_llm.model.predictive.posterior_predictive")
    data = checked_data(fit, df, check_data)
    post = fit.dt["posterior"]
    idx, kept = thinned_draw_index(post.sizes["chain"], post.sizes["draw"], draws)
    rows = data.frame
    if "release_month" not in rows and "month" in rows:  # a fit's saved models.csv
        rows = rows.assign(release_month=pd.to_datetime(rows["month"], format="%Y-%m"))
    if "release_month" not in rows:
        raise NotCovered(f"fit '{spec.name}': the rows have no release month to place them")
    pred = predict(fit, rows, seed=seed, draw_index=idx)
    periods = data.coords["period"]
    fitted_period = np.asarray(periods, dtype=object)[data.period_idx]
    placed = pred.frame["period"].astype(str).to_numpy()
    if not (pred.frame["developer_known"].all() and (placed == fitted_period.astype(str)).all()
            and (pred.frame["period_steps_ahead"] == 0).all()):
        raise NotCovered(f"fit '{spec.name}': some rows would not be predicted in their "
                            "fitted period and developer unit; use the PyMC path")
    counts = np.rint(pred.accuracy.values * pred.n_items[None, :]).astype(np.int64)
    values = counts.reshape(post.sizes["chain"], kept, -1)
    tree = _tree("posterior_predictive", OBSERVED_NAME[spec.likelihood], values, data, spec)
    tree.attrs["new_models"] = True
    tree.attrs["simulator"] = "numpy (bayes_llm.prediction.predict)"
    return tree


def posterior_predictive_checked(fit, df: pd.DataFrame, seed: int = DEFAULT_SEED, *,
                                 draws: int | None = None,
                                 check_data: bool = True) -> xr.DataTree:
    """New-model replicates: NumPy where it covers the fit, PyMC's graph otherwise."""
    if posterior_numpy_supported(fit):
        try:
            return posterior_predictive_numpy(fit, df, seed, draws=draws,
                                              check_data=check_data)
        except NotCovered:
            pass
    from bayes_llm.model.predictive import posterior_predictive

    return posterior_predictive(fit, df, seed, draws=draws, check_data=check_data)


def _tree(group: str, name: str, values: np.ndarray, data: ModelData,
          spec: ModelSpec) -> xr.DataTree:
    """Return a predictive tree from ``values`` shaped (chain, draw, model)."""
    n_chain, n_draw, _ = values.shape
    coords = {"chain": np.arange(n_chain), "draw": np.arange(n_draw),
              "model": data.coords["model"]}
    pred = xr.Dataset({name: (("chain", "draw", "model"), values)}, coords=coords)
    tree = xr.DataTree.from_dict({group: pred})
    return _add_accuracy(tree, group, spec, data)


__all__ = ["NotCovered", "checked_data", "posterior_numpy_supported", "posterior_predictive_checked",
           "posterior_predictive_numpy", "prior_predictive_numpy", "thinned_draw_index"]
