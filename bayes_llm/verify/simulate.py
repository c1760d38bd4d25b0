"""Simulate canonical model tables from the model itself.

The simulator keeps the *design* of a data set — which models exist, their developers,
release periods and training compute — and replaces the outcome (MMLU-Pro accuracy, or the
MATH Level 5 score) with a draw from the Bayesian model of a spec.

How: the PyMC model is built exactly as for a fit (:func:`bayes_llm.model.prepare_data` and
:func:`bayes_llm.model.build_model` on the design), then

* :func:`simulate` fixes chosen parameters at true values with ``pymc.do`` and draws every
  other random variable (developer effects, model effects ``eta``, the outcome) once with
  ``pymc.draw``;
* :func:`simulate_prior` draws *all* parameters and the outcome from the prior (what
  simulation-based calibration needs).

Reusing the model graph, rather than re-implementing the generative process in numpy,
guarantees that the simulator and the fitted model can never disagree, whatever the spec
(random-walk or sum-to-zero period effects, nested developers, slopes, errors in compute).
The price is a one-off compilation of the forward-sampling function (about a second).

The simulated table has the canonical columns of the design, with the outcome columns
replaced: ``mmlu_pro_acc``, ``mmlu_pro_norm`` and ``mmlu_pro_logit`` (or ``math_lvl5_acc``
and ``math_lvl5_logit``), and ``log10_flop`` when the spec models errors in compute. It is
not re-validated: a binomial draw may fall below the guessing floor, which is a legitimate
outcome of the model (the logit columns are then missing, the accuracy is kept).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.build import OBSERVED_NAME, build_model
from bayes_llm.model.design import OUTCOMES, ModelData, prepare_data
from bayes_llm.model.spec import ModelSpec

#: Plausible true values for parameter recovery, by variable (scales in logits).
#: Period effects rise linearly by :data:`PLAUSIBLE_PROGRESS` logits from the first to the
#: last period (see :func:`plausible_truth`).
PLAUSIBLE_TRUTH: dict[str, float] = {
    "alpha": -0.4,
    "beta": 0.6,
    "sigma_developer": 0.5,
    "sigma_group": 0.4,
    "sigma_model": 0.35,
    "sigma": 0.45,
}
#: Shared progress (logits) between the first and the last period in :func:`plausible_truth`.
PLAUSIBLE_PROGRESS: float = 1.4


class SimulationError(BayesLLMError):
    """A simulation request names parameters the model does not have, or bad values."""


@dataclass
class Simulation:
    """One simulated data set and the parameter values that generated it.

    Attributes
    ----------
    df : DataFrame
        Canonical model table (the design's rows) with the simulated outcome.
    truth : dict of str to ndarray
        Value of every free and deterministic variable of the model, and of the outcome,
        in the model's own coding (e.g. sum-to-zero period effects).
    spec : ModelSpec
        The spec simulated from.
    data : ModelData
        The prepared design (coordinates of periods and developers).
    fixed : dict of str to ndarray
        The parameters that were fixed (after projection); empty for prior draws.
    seed : int or None
        The seed of the draw, when given as an integer.
    dims, coords : dict
        Dimension names of each variable and the model's coordinates.
    observed : dict of str to ndarray
        The simulated observed variables (``correct`` or ``y``; ``log10_flop_obs``).
    """

    df: pd.DataFrame
    truth: dict[str, np.ndarray]
    spec: ModelSpec
    data: ModelData = field(repr=False)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    seed: int | None = None
    dims: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    coords: dict[str, list] = field(default_factory=dict, repr=False)
    observed: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def truth_dataset(self) -> xr.Dataset:
        """Return the true values as a Dataset with ``chain`` and ``draw`` dimensions of size 1."""
        return as_draws_dataset({k: v[None] for k, v in self.truth.items()}, self.dims,
                                self.coords)

    def quantities(self) -> pd.Series:
        """Return the true values of the headline scalar quantities (see :func:`headline_quantities`)."""
        ds = headline_quantities(self.truth_dataset())
        return pd.Series({name: float(ds[name].values.ravel()[0]) for name in ds.data_vars})


def _model_dims(model: pm.Model) -> tuple[dict[str, tuple[str, ...]], dict[str, list]]:
    dims = {name: tuple(d for d in (d_ or ()) if d is not None)
            for name, d_ in model.named_vars_to_dims.items()}
    coords = {k: list(v) for k, v in model.coords.items() if v is not None}
    return dims, coords


def as_draws_dataset(values: Mapping[str, np.ndarray], dims: Mapping[str, tuple[str, ...]],
                     coords: Mapping[str, list]) -> xr.Dataset:
    """Wrap arrays with a leading draw axis into a Dataset shaped like a posterior.

    Parameters
    ----------
    values : mapping of str to ndarray
        Variable name -> array of shape ``(n_draws, *variable_shape)``.
    dims : mapping
        Variable name -> dimension names (``pymc.Model.named_vars_to_dims``).
    coords : mapping
        Dimension name -> labels (``pymc.Model.coords``).

    Returns
    -------
    Dataset
        Dims ``(chain=1, draw=n_draws, ...)`` with the model's coordinates.
    """
    out = {}
    for name, arr in values.items():
        arr = np.asarray(arr)
        dims_ = tuple(dims.get(name, ()))
        if len(dims_) != arr.ndim - 1:
            dims_ = tuple(f"{name}_dim_{i}" for i in range(arr.ndim - 1))
        out[name] = xr.DataArray(arr[None], dims=("chain", "draw", *dims_))
    used = {d for da in out.values() for d in da.dims}
    return xr.Dataset(out, coords={k: v for k, v in coords.items() if k in used})


def headline_quantities(post: xr.Dataset) -> xr.Dataset:
    """Scalar quantities checked by recovery and calibration, per draw.

    Parameters
    ----------
    post : Dataset
        Posterior (or true values) with ``chain`` and ``draw`` dimensions.

    Returns
    -------
    Dataset
        Dims ``(chain, draw)``:

        * every scalar parameter (``alpha``, ``beta``, ``sigma_*``, ``nu``, ...);
        * ``period_contrast[P]``: ``gamma_P - gamma_first`` for every later period P
          (contrasts do not depend on how the period effects are coded);
        * ``shared_progress``: ``(gamma_last - gamma_first) / beta``, shared algorithmic
          progress between the first and the last period in decades of compute;
        * ``developer_share``: ``sigma_developer^2 / (sigma_developer^2 + s^2)`` with ``s``
          the model-level SD (``sigma_model``, binomial) or the residual SD (``sigma``):
          the share of compute- and period-adjusted between-model variance that is due to
          the developer.
    """
    out: dict[str, xr.DataArray] = {}
    for name, da in post.data_vars.items():
        if set(da.dims) == {"chain", "draw"}:
            out[str(name)] = da
    if "period_effect" in post and post["period_effect"].sizes.get("period", 1) > 1:
        pe = post["period_effect"]
        labels = [str(v) for v in pe["period"].values]
        first = pe.isel(period=0, drop=True)
        for i, label in enumerate(labels[1:], start=1):
            out[f"period_contrast[{label}]"] = pe.isel(period=i, drop=True) - first
        if "beta" in post:
            out["shared_progress"] = (pe.isel(period=-1, drop=True) - first) / post["beta"]
    resid = next((n for n in ("sigma_model", "sigma") if n in post), None)
    if "sigma_developer" in post and resid is not None:
        sd2 = post["sigma_developer"] ** 2
        out["developer_share"] = sd2 / (sd2 + post[resid] ** 2)
    return xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in ("chain", "draw")])
                       for k, v in out.items()})


def recovery_table(posterior: xr.Dataset, sim: Simulation, *,
                   prob: float = HDI_PROB) -> pd.DataFrame:
    """Compare the posterior of the headline quantities with the simulation's true values.

    Parameters
    ----------
    posterior : Dataset
        A fit's posterior (``Fit.posterior``) on ``sim.df``.
    sim : Simulation
        The simulation the fit was made on.
    prob : float
        Interval probability (default :data:`bayes_llm.constants.HDI_PROB`, of the project's
        interval kind :data:`bayes_llm.constants.CI_KIND`).

    Returns
    -------
    DataFrame
        Indexed by quantity: ``truth``, posterior ``mean`` and ``sd``, ``lower`` and
        ``upper`` interval bounds, ``inside`` (truth within the interval), ``z``
        ((mean - truth) / sd) and ``fixed`` (whether the truth was set rather than drawn).
    """
    from arviz_stats.base import array_stats

    post_q = headline_quantities(posterior)
    truth = sim.quantities()
    fixed_names = set(sim.fixed)
    rows = []
    for name in post_q.data_vars:
        values = np.asarray(post_q[name].values, dtype=float).ravel()
        lower, upper = getattr(array_stats, CI_KIND)(values, prob, axis=-1)
        t = float(truth[name])
        base = name.split("[", 1)[0]
        is_fixed = base in fixed_names or (base == "period_contrast"
                                           and "period_effect" in fixed_names)
        rows.append({"quantity": str(name), "truth": t, "mean": float(values.mean()),
                     "sd": float(values.std()), "lower": float(lower), "upper": float(upper),
                     "inside": bool(lower <= t <= upper),
                     "z": float((values.mean() - t) / values.std()) if values.std() > 0
                     else np.nan, "fixed": is_fixed})
    return pd.DataFrame(rows).set_index("quantity")


def _quiet_build(data: ModelData, spec: ModelSpec) -> pm.Model:
    logging.getLogger("pymc").setLevel(logging.WARNING)
    return build_model(data, spec)


def _constraint(model: pm.Model, name: str) -> str:
    """How a vector variable is identified: ``"zero_sum"``, ``"reference"`` or ``"free"``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = np.asarray(pm.draw(model[name], draws=3, random_seed=0))
    if draws.ndim < 2:
        return "free"
    if np.allclose(draws[:, 0], 0.0):
        return "reference"
    if np.allclose(draws.sum(axis=1), 0.0, atol=1e-8):
        return "zero_sum"
    return "free"


def _project(value: np.ndarray, constraint: str) -> np.ndarray:
    if constraint == "zero_sum":
        return value - value.mean()
    if constraint == "reference":
        return value - value[0]
    return value


def plausible_truth(model: pm.Model) -> dict[str, np.ndarray]:
    """Default true values for recovery: :data:`PLAUSIBLE_TRUTH` for the model's scalars.

    Period effects (when the model has more than one period and they are a variable) rise
    linearly by :data:`PLAUSIBLE_PROGRESS` logits from the first to the last period.
    """
    latent, _ = _variable_names(model)
    out = {k: np.asarray(v, dtype=float) for k, v in PLAUSIBLE_TRUTH.items() if k in latent}
    n_periods = len(model.coords.get("period") or ())
    if "period_effect" in latent and n_periods > 1:
        out["period_effect"] = np.linspace(-PLAUSIBLE_PROGRESS / 2, PLAUSIBLE_PROGRESS / 2,
                                           n_periods)
    return out


def _variable_names(model: pm.Model) -> tuple[list[str], list[str]]:
    latent = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics]
    observed = [v.name for v in model.observed_RVs]
    return latent, observed


def outcome_frame(data: ModelData, spec: ModelSpec, draws: Mapping[str, np.ndarray],
                  *, label: str = "") -> pd.DataFrame:
    """Return the design's table with the outcome (and compute) replaced by ``draws``.

    Parameters
    ----------
    data : ModelData
        The prepared design.
    spec : ModelSpec
        The spec whose outcome and likelihood the draws follow.
    draws : mapping
        Must hold the observed variable (``correct`` for the binomial likelihood, ``y``
        otherwise); ``log10_flop_obs`` when the spec models errors in compute.
    label : str
        Recorded in ``df.attrs["source_file"]``.
    """
    acc_col, logit_col, guess, n_questions = OUTCOMES[spec.outcome]
    frame = data.frame.copy()
    obs = np.asarray(draws[OBSERVED_NAME[spec.likelihood]], dtype=float)
    if spec.likelihood == "binomial":
        acc = obs / data.n
        norm = (acc - guess) / (1.0 - guess)
        with np.errstate(divide="ignore", invalid="ignore"):
            logit = np.log(norm) - np.log1p(-norm)
        logit = np.where(np.isfinite(logit), logit, np.nan)
    else:
        logit = obs
        acc = guess + (1.0 - guess) / (1.0 + np.exp(-obs))
        norm = (acc - guess) / (1.0 - guess)
    frame[acc_col] = acc
    frame[logit_col] = logit
    if spec.outcome != "math_lvl5":  # MMLU-Pro and the joined benchmarks have <b>_norm
        frame[f"{spec.outcome}_norm"] = norm
    if "log10_flop_obs" in draws:
        frame["log10_flop"] = np.asarray(draws["log10_flop_obs"], float) + spec.compute_centre
        if "ln_flop_1e18" in frame:
            frame["ln_flop_1e18"] = (frame["log10_flop"] - 18.0) * np.log(10.0)
    frame.attrs = {"source_file": label or f"simulated from spec '{spec.name}'",
                   "simulated": True}
    return frame


def _seed_int(seed: int | np.random.Generator | None) -> int | None:
    return int(seed) if isinstance(seed, int | np.integer) else None


def simulate(spec: ModelSpec, design: pd.DataFrame,
             params: Mapping[str, float | np.ndarray | tuple] | None = None,
             *, seed: int | np.random.Generator | None = None) -> Simulation:
    """Simulate one data set with some parameters fixed at true values.

    Parameters
    ----------
    spec : ModelSpec
        The model to simulate from.
    design : DataFrame
        Canonical model table giving the design (developers, periods, compute); its
        outcome columns are replaced. The spec's sample filter is applied first.
    params : mapping, optional
        Variable name -> true value, for any free or deterministic variable of the model
        (``alpha``, ``beta``, ``sigma_developer``, ``period_effect``, ...). Variables not
        given are drawn from their (conditional) prior. A vector whose model coding is
        constrained is projected onto the constraint: sum-to-zero effects are centred,
        reference-coded effects (first level zero) have the first value subtracted.
        Default: :func:`plausible_truth`. Fixing a deterministic variable (e.g. random-walk
        period effects) cuts it loose from its parents: they are still drawn and reported
        in ``truth`` but no longer influence the data.
    seed : int or Generator, optional
        Seed of the draw.

    Returns
    -------
    Simulation

    Raises
    ------
    SimulationError
        For a name that is not a variable of the model, or a value of the wrong shape.
    """
    data = prepare_data(design, spec)
    model = _quiet_build(data, spec)
    latent, observed = _variable_names(model)
    if params is None:
        params = plausible_truth(model)
    fixed: dict[str, np.ndarray] = {}
    for name, value in params.items():
        if name not in latent:
            raise SimulationError(f"spec '{spec.name}' has no variable '{name}'; its "
                                  f"variables are: {', '.join(latent)}")
        target_shape = tuple(int(s) for s in model[name].shape.eval())
        arr = np.asarray(value, dtype=float)
        if arr.shape != target_shape:
            raise SimulationError(f"true value of '{name}' has shape {arr.shape}, the model "
                                  f"needs {target_shape}")
        if arr.ndim == 1:
            arr = _project(arr, _constraint(model, name))
        fixed[name] = arr
    intervened = pm.do(model, {k: v for k, v in fixed.items()}) if fixed else model
    names = latent + observed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = pm.draw([intervened[n] for n in names], random_seed=seed)
    drawn = {n: np.asarray(v) for n, v in zip(names, values, strict=True)}
    truth = {n: drawn[n] for n in latent}
    df = outcome_frame(data, spec, drawn, label=f"simulated from spec '{spec.name}' "
                       f"(seed {seed}, fixed: {', '.join(fixed) or 'none'})")
    dims, coords = _model_dims(model)
    return Simulation(df=df, truth=truth, spec=spec, data=data, fixed=fixed,
                      seed=_seed_int(seed), dims=dims, coords=coords,
                      observed={n: drawn[n] for n in observed})


def simulate_prior(spec: ModelSpec, design: pd.DataFrame, n: int, *,
                   seed: int | np.random.Generator | None = None) -> list[Simulation]:
    """Draw ``n`` parameter sets from the prior and simulate a data set from each.

    Parameters
    ----------
    spec : ModelSpec
        The model (its priors are the ones drawn from).
    design : DataFrame
        Canonical model table giving the design.
    n : int
        Number of data sets.
    seed : int or Generator, optional
        Seed of all ``n`` draws together (one compiled function, drawn ``n`` times).

    Returns
    -------
    list of Simulation
    """
    if n < 1:
        raise SimulationError(f"need at least one prior draw, got {n}")
    data = prepare_data(design, spec)
    model = _quiet_build(data, spec)
    latent, observed = _variable_names(model)
    names = latent + observed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = pm.draw([model[v] for v in names], draws=n, random_seed=seed)
    arrays = {v: np.asarray(a) for v, a in zip(names, values, strict=True)}
    if n == 1:
        arrays = {k: v[None] for k, v in arrays.items()}
    dims, coords = _model_dims(model)
    sims = []
    for i in range(n):
        drawn = {k: v[i] for k, v in arrays.items()}
        df = outcome_frame(data, spec, drawn,
                           label=f"prior draw {i} of spec '{spec.name}' (seed {seed})")
        sims.append(Simulation(df=df, truth={k: drawn[k] for k in latent}, spec=spec,
                               data=data, seed=_seed_int(seed), dims=dims, coords=coords,
                               observed={k: drawn[k] for k in observed}))
    return sims


def reduced_design(df: pd.DataFrame, n_models: int = 120, *, seed: int = 0,
                   period: str = "cohort", min_per_period: int = 8) -> pd.DataFrame:
    """Return a smaller design that keeps the structure of the real one.

    Models are sampled uniformly within each period (so large developers keep several
    models and most small ones keep one or none: developer sizes stay skewed), every
    period keeps at least ``min_per_period`` models, and the models with the smallest and
    the largest compute are always kept (the compute range is preserved).

    Parameters
    ----------
    df : DataFrame
        Canonical model table (e.g. the paper's 809 models).
    n_models : int
        Approximate number of models to keep.
    seed : int
        Seed of the subsample.
    period : str
        Period column to stratify on.
    min_per_period : int
        Minimum number of models per period (or all of a smaller period).

    Returns
    -------
    DataFrame
        The kept rows in their original order.
    """
    if n_models >= len(df):
        return df.copy()
    rng = np.random.default_rng(seed)
    frame = df.reset_index(drop=True)
    anchors = {int(frame["log10_flop"].idxmin()), int(frame["log10_flop"].idxmax())}
    groups = frame.groupby(frame[period].astype(str)).indices
    share = {p: len(ix) / len(frame) for p, ix in groups.items()}
    keep = set(anchors)
    for p, ix in groups.items():
        want = max(min(min_per_period, len(ix)), round(share[p] * (n_models - len(anchors))))
        pool = np.setdiff1d(ix, list(keep))
        already = len(set(ix) & keep)
        take = max(0, min(len(pool), want - already))
        keep |= set(rng.choice(pool, size=take, replace=False).tolist())
    out = frame.loc[sorted(keep)].copy()
    out.attrs = {**df.attrs, "source_file": f"{df.attrs.get('source_file', '')} "
                 f"(reduced design: {len(out)} models, seed {seed})"}
    return out


def synthetic_design(reference: pd.DataFrame, n_models: int, *, n_developers: int = 1000,
                     seed: int = 0, zipf: float = 0.8) -> pd.DataFrame:
    """Return a large synthetic design shaped like the real data.

    Rows of ``reference`` are resampled with replacement (release dates, periods and
    compute keep their joint distribution; compute gets N(0, 0.1) jitter in log10 FLOP).
    Each synthetic developer gets at least one model and the rest follow Zipf-like weights
    ``rank ** -zipf`` (a few very large developers, a long tail of singletons); each
    developer belongs to one of the reference developer groups.

    Parameters
    ----------
    reference : DataFrame
        Canonical model table to mimic.
    n_models : int
        Number of models.
    n_developers : int
        Number of developers (at most ``n_models``).
    seed : int
        Seed.
    zipf : float
        Exponent of the developer-size weights.

    Returns
    -------
    DataFrame
        Canonical columns; outcome columns hold resampled real values until simulated over.
    """
    if n_developers > n_models:
        raise SimulationError(f"{n_developers} developers need at least as many models, got "
                              f"{n_models}")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(reference), size=n_models)
    out = reference.iloc[rows].reset_index(drop=True).copy()
    weights = np.arange(1, n_developers + 1, dtype=float) ** -zipf
    dev = np.concatenate([np.arange(n_developers),
                          rng.choice(n_developers, size=n_models - n_developers,
                                     p=weights / weights.sum())])
    rng.shuffle(dev)
    width = len(str(n_developers))
    names = np.array([f"synthetic-dev-{j:0{width}d}" for j in range(n_developers)])
    groups = reference["developer_group"].astype(str).to_numpy()
    dev_group = groups[rng.integers(0, len(groups), size=n_developers)]
    out["developer"] = names[dev]
    out["developer_group"] = dev_group[dev]
    out["model_id"] = [f"synthetic-{i:07d}" for i in range(n_models)]
    out["log10_flop"] = out["log10_flop"].to_numpy(float) + rng.normal(0.0, 0.1, n_models)
    if "ln_flop_1e18" in out:
        out["ln_flop_1e18"] = (out["log10_flop"] - 18.0) * np.log(10.0)
    out["compute_is_estimate"] = False
    out.attrs = {"source_file": f"synthetic design ({n_models} models, {n_developers} "
                 f"developers, seed {seed})"}
    return out


__all__ = [
    "PLAUSIBLE_PROGRESS",
    "PLAUSIBLE_TRUTH",
    "Simulation",
    "SimulationError",
    "as_draws_dataset",
    "headline_quantities",
    "outcome_frame",
    "plausible_truth",
    "recovery_table",
    "reduced_design",
    "simulate",
    "simulate_prior",
    "synthetic_design",
]
