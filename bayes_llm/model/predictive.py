"""Prior and posterior predictive checks, on the benchmark's accuracy scale.

The model is rebuilt from its spec and the data (:func:`bayes_llm.model.build_model` on
:func:`bayes_llm.model.prepare_data`) and PyMC draws replicated outcomes:

* :func:`prior_predictive` — scores implied by the priors alone, to check that the priors
  put their mass on plausible benchmark results (MMLU-Pro accuracy between the 10%
  guessing floor and 100%, rising with compute) rather than piling up at the floor and the
  ceiling;
* :func:`posterior_predictive` — scores replicated from the posterior. With the binomial
  likelihood the default replicates *new models* (each model's latent ability ``eta`` is
  redrawn from its population distribution given compute, period and developer), not just
  new binomial noise around the fitted ``eta``, which would fit any data almost perfectly.

Both return the predictive :class:`xarray.DataTree` with an ``accuracy`` variable (raw
benchmark accuracy, guessing floor included) added to the predictive and observed groups,
and ``log10_flop`` (uncentred) to ``constant_data``. :func:`predictive_summary` condenses
either into a table of test statistics on the accuracy scale; :func:`predictive_bands`
gives predictive intervals of accuracy by compute bin.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.base import array_stats

from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import ModelData, prepare_data
from bayes_llm.model.spec import ModelSpec

#: Name of the observed variable of each likelihood (as :data:`bayes_llm.model.build.
#: OBSERVED_NAME`, repeated here so that the checks need not import PyMC).
OBSERVED_NAME: dict[str, str] = {"binomial": "correct", "logit_normal": "y", "student_t": "y"}
#: Default number of prior predictive draws.
PRIOR_DRAWS: int = 500
#: Accuracy within this distance of the guessing floor counts as "at chance".
NEAR_FLOOR: float = 0.02
#: Accuracy above this counts as "near perfect".
NEAR_CEILING: float = 0.95
#: Test statistics of :func:`predictive_summary`: name -> description.
STATISTICS: dict[str, str] = {
    "mean": "mean accuracy across models",
    "sd": "SD of accuracy across models",
    "p05": "5th percentile of accuracy",
    "p95": "95th percentile of accuracy",
    "share_near_floor": f"share of models within {NEAR_FLOOR:.0%} of the guessing floor",
    "share_near_ceiling": f"share of models above {NEAR_CEILING:.0%} accuracy",
    "slope": "OLS slope of accuracy on log10 compute (per 10x)",
}


def interval(values: np.ndarray, axis=-1, prob: float | None = None,
             kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of the project's credible interval along ``axis``.

    Parameters
    ----------
    values : ndarray
        Draws.
    axis : int or tuple of int
        Axis (or axes) holding the draws.
    prob : float, optional
        Interval probability (``None``: :data:`bayes_llm.constants.HDI_PROB`, read now).
    kind : {"hdi", "eti"}, optional
        Interval kind (``None``: :data:`bayes_llm.constants.CI_KIND`, read now).

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper bounds.
    """
    from bayes_llm.derived.summary import resolve_interval

    prob, kind = resolve_interval(prob, kind)
    bounds = getattr(array_stats, kind)(np.asarray(values, float), prob, axis=axis)
    return bounds[..., 0], bounds[..., 1]


def _accuracy(values: xr.DataArray, spec: ModelSpec, data: ModelData) -> xr.DataArray:
    """Raw benchmark accuracy from the outcome variable (counts or logit scores)."""
    if spec.likelihood == "binomial":
        acc = values / float(data.n[0])
    else:
        acc = data.guess + (1.0 - data.guess) * xr.apply_ufunc(
            lambda v: 1.0 / (1.0 + np.exp(-np.clip(v, -700, 700))), values)
    acc.attrs = {"long_name": f"{spec.outcome} accuracy",
                 "guess_rate": data.guess}
    return acc.rename("accuracy")


def _add_accuracy(tree: xr.DataTree, group: str, spec: ModelSpec,
                  data: ModelData) -> xr.DataTree:
    name = OBSERVED_NAME[spec.likelihood]
    pred = tree[group].to_dataset()
    pred["accuracy"] = _accuracy(pred[name], spec, data)
    tree[group] = xr.DataTree(pred)
    obs = tree["observed_data"].to_dataset() if "observed_data" in tree else xr.Dataset()
    if name not in obs:
        observed = data.k if spec.likelihood == "binomial" else data.y
        obs[name] = xr.DataArray(observed, dims="model", coords={"model": data.coords["model"]})
    obs["accuracy"] = _accuracy(obs[name], spec, data)
    tree["observed_data"] = xr.DataTree(obs)
    const = tree["constant_data"].to_dataset() if "constant_data" in tree else xr.Dataset()
    const["log10_flop"] = xr.DataArray(data.x + spec.compute_centre, dims="model",
                                       coords={"model": data.coords["model"]})
    tree["constant_data"] = xr.DataTree(const)
    tree.attrs.update({"spec_name": spec.name, "likelihood": spec.likelihood,
                       "outcome": spec.outcome, "guess_rate": data.guess,
                       "predictive_group": group})
    return tree


def prior_predictive(spec: ModelSpec, df: pd.DataFrame, draws: int = PRIOR_DRAWS,
                     seed: int = DEFAULT_SEED) -> xr.DataTree:
    """Draw parameters and outcomes from the priors of ``spec`` on the models of ``df``.

    Parameters
    ----------
    spec : ModelSpec
        The model specification (its priors are checked).
    df : DataFrame
        The canonical model table; the spec's sample filter is applied.
    draws : int
        Number of prior draws.
    seed : int
        Random seed.

    Returns
    -------
    DataTree
        Groups ``prior``, ``prior_predictive`` (the outcome and ``accuracy``),
        ``observed_data`` (with ``accuracy``) and ``constant_data`` (with ``log10_flop``).
    """
    if draws < 1:
        raise BayesLLMError(f"prior predictive draws must be positive, got {draws}")
    import pymc as pm

    from bayes_llm.model.build import build_model

    data = prepare_data(df, spec)
    model = build_model(data, spec)
    with _quiet():
        tree = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
    return _add_accuracy(tree, "prior_predictive", spec, data)


def checked_data(fit, df: pd.DataFrame, check_data: bool = True) -> ModelData:
    """Return the fit's design from ``df``, refused when it is not the data the fit was made on."""
    spec = fit.spec
    data = prepare_data(df, spec)
    expected = fit.metadata.get("data_hash")
    if check_data and expected and data.data_hash != expected:
        raise BayesLLMError(f"fit '{spec.name}': the data given differ from the data it was "
                            "fitted to (data hash mismatch); pass the same table")
    if "constant_data" in fit.dt and "model" in fit.dt["constant_data"].coords:
        fitted = [str(m) for m in fit.dt["constant_data"]["model"].values]
        if fitted != data.coords["model"]:
            raise BayesLLMError(f"fit '{spec.name}': the table gives other models than the fit "
                                f"({len(data.coords['model'])} vs {len(fitted)}, or in another "
                                "order); pass the data the fit was made on")
    return data


def posterior_predictive(fit, df: pd.DataFrame, seed: int = DEFAULT_SEED, *,
                         new_models: bool = True, draws: int | None = None,
                         check_data: bool = True) -> xr.DataTree:
    """Replicate the outcomes from the posterior of ``fit``.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    df : DataFrame
        The canonical data the fit was made on (checked against the fit's data hash).
    seed : int
        Random seed.
    new_models : bool
        Binomial likelihood only: redraw each model's latent ability ``eta`` from its
        population distribution (replicates new models with the same compute, period and
        developer); ``False`` keeps the fitted ``eta`` and replicates binomial noise only.
    draws : int, optional
        Use an evenly thinned subset of about this many posterior draws (all by default).
    check_data : bool
        Check that ``df`` gives the data the fit was made on (its data hash); turn off
        only for a table rebuilt from the fit's own ``models`` (which lacks some hashed
        columns).

    Returns
    -------
    DataTree
        Groups ``posterior_predictive`` (the outcome and ``accuracy``), ``observed_data``
        and ``constant_data`` (with ``log10_flop``).

    Raises
    ------
    BayesLLMError
        When ``df`` is not the data the fit was made on.
    """
    spec = fit.spec
    data = checked_data(fit, df, check_data)
    import pymc as pm

    from bayes_llm.model.build import build_model

    model = build_model(data, spec)
    posterior = fit.dt["posterior"].to_dataset()
    if draws is not None:
        n_total = posterior.sizes["chain"] * posterior.sizes["draw"]
        step = max(1, int(np.ceil(n_total / max(draws, 1))))
        posterior = posterior.isel(draw=slice(None, None, step))
    if spec.integrate_model_effect:
        # eta is summed out of the model: its counts' random draws always take a fresh eta
        if not new_models:
            raise BayesLLMError(f"fit '{spec.name}' integrates the model effect out "
                                "(integrate_model_effect): its posterior predictive always "
                                "replicates new models; use new_models=True")
        posterior = posterior.drop_vars("eta", errors="ignore")
    name = OBSERVED_NAME[spec.likelihood]
    trace = {"posterior": xr.DataTree(posterior)}
    if "constant_data" in fit.dt:
        trace["constant_data"] = xr.DataTree(fit.dt["constant_data"].to_dataset())
    latent = [v for v in ("eta",) if v in posterior]
    resample = bool(new_models and (latent or spec.integrate_model_effect))
    with _quiet():
        tree = pm.sample_posterior_predictive(
            xr.DataTree.from_dict(trace), model=model, var_names=[name],
            sample_vars=latent if resample else None,
            freeze_vars=None if resample else (latent or None),
            random_seed=seed, progressbar=False)
    tree.attrs["new_models"] = resample
    return _add_accuracy(tree, "posterior_predictive", spec, data)


class _quiet:
    """Silence PyMC's "Sampling: [...]" log line and its compile warnings."""

    def __enter__(self):
        self._logger = logging.getLogger("pymc")
        self._level = self._logger.level
        self._logger.setLevel(logging.WARNING)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return self

    def __exit__(self, *exc):
        self._warnings.__exit__(*exc)
        self._logger.setLevel(self._level)
        return False


def _group(pred: xr.DataTree) -> str:
    for group in ("prior_predictive", "posterior_predictive"):
        if group in pred:
            return group
    raise BayesLLMError("no prior_predictive or posterior_predictive group in the tree; "
                        "use prior_predictive() or posterior_predictive()")


def _statistics(acc: np.ndarray, x: np.ndarray, guess: float) -> dict[str, np.ndarray]:
    """Test statistics over the last axis (models) of ``acc``."""
    xc = x - x.mean()
    return {
        "mean": acc.mean(axis=-1),
        "sd": acc.std(axis=-1),
        "p05": np.percentile(acc, 5, axis=-1),
        "p95": np.percentile(acc, 95, axis=-1),
        "share_near_floor": (acc <= guess + NEAR_FLOOR).mean(axis=-1),
        "share_near_ceiling": (acc > NEAR_CEILING).mean(axis=-1),
        "slope": (acc - acc.mean(axis=-1, keepdims=True)) @ xc / float(xc @ xc),
    }


def predictive_draws(pred: xr.DataTree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictive accuracy as (draws, models), observed accuracy and log10 compute."""
    group = _group(pred)
    acc = pred[group]["accuracy"].transpose("chain", "draw", "model").to_numpy()
    acc = acc.reshape(-1, acc.shape[-1])
    obs = pred["observed_data"]["accuracy"].to_numpy()
    x = pred["constant_data"]["log10_flop"].to_numpy()
    return acc, obs, x


def predictive_summary(pred: xr.DataTree) -> pd.DataFrame:
    """Test statistics of predictive accuracy against the observed data.

    Parameters
    ----------
    pred : DataTree
        From :func:`prior_predictive` or :func:`posterior_predictive`.

    Returns
    -------
    DataFrame
        One row per statistic of :data:`STATISTICS`: ``statistic``, ``description``,
        ``observed``, predictive ``median``, ``hdi_lower`` / ``hdi_upper`` (the project's
        interval, :data:`bayes_llm.constants.HDI_PROB`), ``p_greater`` and ``p_less``, the
        predictive probabilities that the replicated statistic is at least / at most the
        observed one (either near 0 flags a misfit; both near 1 means ties, as for a share
        that is 0 in the data and almost always 0 in replications).
    """
    group = _group(pred)
    acc, obs, x = predictive_draws(pred)
    guess = float(pred.attrs.get("guess_rate", 0.0))
    sim = _statistics(acc, x, guess)
    real = _statistics(obs[None, :], x, guess)
    rows = []
    for name, description in STATISTICS.items():
        lo, hi = interval(sim[name])
        rows.append({"check": group, "statistic": name, "description": description,
                     "observed": float(real[name][0]), "median": float(np.median(sim[name])),
                     "hdi_lower": float(lo), "hdi_upper": float(hi),
                     "p_greater": float(np.mean(sim[name] >= real[name][0])),
                     "p_less": float(np.mean(sim[name] <= real[name][0]))})
    return pd.DataFrame(rows)


def predictive_bands(pred: xr.DataTree, n_bins: int = 12) -> pd.DataFrame:
    """Predictive accuracy intervals by bin of log10 compute, with the observed median.

    Parameters
    ----------
    pred : DataTree
        From :func:`prior_predictive` or :func:`posterior_predictive`.
    n_bins : int
        Number of equal-count compute bins.

    Returns
    -------
    DataFrame
        Per bin: ``log10_flop`` (bin median), ``n_models``, predictive ``median``,
        ``q25`` / ``q75`` and ``hdi_lower`` / ``hdi_upper`` of a model's accuracy, and the
        ``observed_median`` accuracy of the models in the bin.
    """
    acc, obs, x = predictive_draws(pred)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        mask = which == b
        if not mask.any():
            continue
        vals = acc[:, mask].ravel()
        lo, hi = interval(vals)
        rows.append({"bin": b, "log10_flop": float(np.median(x[mask])),
                     "n_models": int(mask.sum()), "median": float(np.median(vals)),
                     "q25": float(np.quantile(vals, 0.25)), "q75": float(np.quantile(vals, 0.75)),
                     "hdi_lower": float(lo), "hdi_upper": float(hi),
                     "observed_median": float(np.median(obs[mask]))})
    return pd.DataFrame(rows)


def prior_predictive_summary(spec: ModelSpec, df: pd.DataFrame, draws: int = PRIOR_DRAWS,
                             seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Draw from the prior predictive and summarise it on the accuracy scale.

    Shorthand for ``predictive_summary(prior_predictive(spec, df, draws, seed))``.
    """
    return predictive_summary(prior_predictive(spec, df, draws, seed))


__all__ = [
    "NEAR_CEILING",
    "NEAR_FLOOR",
    "PRIOR_DRAWS",
    "STATISTICS",
    "interval",
    "posterior_predictive",
    "predictive_bands",
    "predictive_draws",
    "predictive_summary",
    "prior_predictive",
    "prior_predictive_summary",
]
