"""Predict new models from a saved fit: :func:`predict`.

For each row and posterior draw the linear predictor of the fit's model
(``bayes_llm.model.build``) is assembled term by term,

    mu = alpha + f(x) + gamma_t + u_j + (b_j + delta_t) x + option terms,

where each term is the fitted one when the row's unit is in the fit, and otherwise a
fresh draw from the population the model states (with the variance of the coding actually
used; see :mod:`~bayes_llm.prediction.units`, :mod:`~bayes_llm.prediction.periods`,
:mod:`~bayes_llm.prediction.compute` and :mod:`bayes_llm.model.option_terms`). Fresh
Gaussian terms are drawn once per draw and row. Then the model-level effect and the
observation noise are added:

* binomial: ``eta = mu + e``, ``e ~ Normal(0, sigma_model)`` (or Student-t with
  ``nu_model``, the two-scale mixture, or Laplace of SD ``sigma_model``);
  ``k ~ Binomial(n, g + (1 - g) logistic(eta))``; accuracy ``k / n``;
  with ``floor_mixture`` a new model is collapsed with probability pi (per draw and row;
  with ``collapse_by_lineage`` its lineage's propensity, a fresh one for a new lineage):
  its success probability is then a Beta(a, b) draw near the guessing floor (a
  beta-binomial count) and its latent score the logit of that probability above the
  floor;
* logit-normal / Student-t: ``y ~ Normal(mu, sigma)`` / ``StudentT(nu, mu, sigma)`` on the
  logit-above-floor scale; accuracy ``g + (1 - g) logistic(y)``.

Every row is predicted as a *new* model (a fresh model-level effect), also a row whose
``model_id`` is in the fit (flagged ``in_fit``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import OUTCOMES
from bayes_llm.model.eta_integral import draw_prior_eta_scales, scale_components
from bayes_llm.model.option_terms import (
    collapse_distribution,
    collapse_lineage_rows,
    collapse_probability_per_model,
    model_effect_distribution,
    option_terms,
    two_scale_components,
)
from bayes_llm.prediction.compute import true_compute
from bayes_llm.prediction.periods import row_period_terms
from bayes_llm.prediction.result import Prediction
from bayes_llm.prediction.units import developer_terms, row_units

#: Columns a table to predict must have (a DataFrame; a file is checked by its loader).
REQUIRED_COLUMNS = ("model_id", "developer", "release_month", "log10_flop")


def diagnostics_status(fit: Any) -> tuple[bool, str]:
    """Return ``(True, "ok")``, ``(False, "FAILED: ...")`` or ``(True, "not available")``."""
    diag = getattr(fit, "diagnostics", None)
    if diag is None:
        return True, "not available"
    if diag.ok:
        return True, "ok"
    return False, "FAILED: " + "; ".join(diag.failures)


def prediction_frame(table: pd.DataFrame | str | os.PathLike) -> tuple[pd.DataFrame, list[str]]:
    """Return the canonical rows to predict and how errors name each row.

    A path is read with :func:`bayes_llm.data.user.load_model_table` (``for_prediction``:
    any month, scores optional); a DataFrame needs :data:`REQUIRED_COLUMNS`.
    """
    if isinstance(table, str | os.PathLike):
        from bayes_llm.data.user import load_model_table

        frame = load_model_table(table, for_prediction=True).reset_index(drop=True)
        names = [f"{table}, row {i + 2} (model_id '{m}')" for i, m in enumerate(frame["model_id"])]
        return frame, names
    if not isinstance(table, pd.DataFrame):
        raise BayesLLMError(f"predict: table must be a DataFrame or a path, not "
                            f"{type(table).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in table]
    if missing:
        raise BayesLLMError(f"predict: the table lacks column(s) {', '.join(missing)}")
    if table.empty:
        raise BayesLLMError("predict: the table has no rows")
    frame = table.reset_index(drop=True).copy()
    try:
        frame["release_month"] = pd.to_datetime(frame["release_month"])
        frame["log10_flop"] = pd.to_numeric(frame["log10_flop"])
    except (ValueError, TypeError) as exc:
        raise BayesLLMError(f"predict: release_month must be dates and log10_flop numbers "
                            f"({' '.join(str(exc).split())})") from exc
    for column in ("release_month", "log10_flop", "model_id", "developer"):
        missing_rows = np.flatnonzero(frame[column].isna().to_numpy())
        if missing_rows.size:
            i = int(missing_rows[0])
            raise BayesLLMError(f"predict: row {i + 1} (model_id '{frame['model_id'].iloc[i]}') "
                                f"has no {column}")
    if "compute_is_estimate" not in frame:
        frame["compute_is_estimate"] = False
    if "hf_id" not in frame:
        frame["hf_id"] = pd.NA
    if "developer_group" not in frame:
        from bayes_llm.data.grouping import paper_developer_groups

        ln = (frame["log10_flop"].astype(float) - 18.0) * np.log(10.0)
        frame["developer_group"] = paper_developer_groups(frame["developer"], ln)
    names = [f"row {i + 1} (model_id '{m}')" for i, m in enumerate(frame["model_id"])]
    return frame, names


def draw_indices(n_total: int, draws: int | None) -> np.ndarray:
    """Evenly spaced indices of about ``draws`` of ``n_total`` stacked draws (all: None)."""
    if draws is None or draws >= n_total:
        return np.arange(n_total)
    if draws < 1:
        raise BayesLLMError(f"predict: draws must be positive, got {draws}")
    return np.unique(np.linspace(0, n_total - 1, draws).round().astype(int))


def stacked(da: xr.DataArray, idx: np.ndarray) -> np.ndarray:
    """Return a (chain, draw, ...) DataArray as a ``(sample, ...)`` array at ``idx``."""
    arr = da.transpose("chain", "draw", ...).values
    return arr.reshape(-1, *arr.shape[2:])[idx]


def posterior_arrays(fit: Any, idx: np.ndarray) -> tuple[dict[str, np.ndarray],
                                                         dict[str, list[str]]]:
    """Every posterior variable without a ``model`` dim, stacked; and the coordinates."""
    post = fit.dt["posterior"].to_dataset()
    arrays = {str(name): stacked(var, idx) for name, var in post.data_vars.items()
              if "model" not in var.dims}
    coords = {str(dim): [str(v) for v in post[dim].values]
              for dim in ("period", "developer", "developer_group", "lineage")
              if dim in post.coords}
    return arrays, coords


def _knots(fit: Any) -> np.ndarray | None:
    if fit.spec.compute_curve != "monotone":
        return None
    dt = fit.dt
    if "constant_data" in dt.children and "compute_knots" in dt["constant_data"]:
        return np.asarray(dt["constant_data"]["compute_knots"].values, float)
    return np.asarray(fit.spec.compute_knots, float) - fit.spec.compute_centre


def curve_term(post: dict[str, np.ndarray], x: np.ndarray, knots: np.ndarray | None) -> np.ndarray:
    """Per-draw f(x) via :func:`bayes_llm.model.curve.compute_effect`, ``(sample, row)``."""
    from bayes_llm.model.curve import compute_effect

    if knots is None:
        ds = xr.Dataset({"beta": ("sample", post["beta"])})
    else:
        ds = xr.Dataset({"compute_slope": (("sample", "compute_segment"),
                                           post["compute_slope"])})
    return compute_effect(ds, xr.DataArray(x, dims=("sample", "row")), knots=knots) \
        .transpose("sample", "row").values


def linear_predictor(fit: Any, frame: pd.DataFrame, post: dict[str, np.ndarray],
                     coords: dict[str, list[str]], idx: np.ndarray, rng: np.random.Generator,
                     row_names: list[str]) -> dict[str, np.ndarray]:
    """Per-draw mean and extra variance of mu for each row, plus row flags.

    Returns a dict with ``mean`` and ``var`` (``(sample, row)``), ``x`` (the centred
    compute used), ``steps``, ``period_label``, ``developer_known``.
    """
    spec = fit.spec
    x = true_compute(post, frame, spec, rng)
    mean = post["alpha"][:, None] + curve_term(post, x, _knots(fit))
    periods = row_period_terms(post, coords, spec.period, frame, row_names)
    mean, var = mean + periods.mean, periods.var
    if periods.slope_mean is not None:
        mean, var = mean + periods.slope_mean * x, var + periods.slope_var * x**2
    dev = developer_terms(post, coords, spec, frame, row_names, rng)
    mean = mean + dev.mean + dev.slope_mean * x
    var = var + dev.var + dev.slope_var * x**2
    o_mean, o_var = option_terms(fit, frame, units=list(row_units(frame, spec)),
                                 compute_centre=spec.compute_centre,
                                 lineage_source=spec.lineage_source, rng=rng)
    mean = mean + stacked(o_mean, idx)
    var = var + stacked(o_var, idx)
    return {"mean": mean, "var": var, "x": x, "steps": periods.placement.steps,
            "period_label": periods.placement.label, "period_anchor": periods.placement.anchor,
            "developer_known": dev.known}


def _scaled_noise(sigma: np.ndarray, nu: np.ndarray | None, shape: tuple[int, int],
                  rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal(shape) if nu is None else rng.standard_t(nu[:, None], shape)
    return sigma[:, None] * z


def predict(fit: Any, table: pd.DataFrame | str | os.PathLike, *, seed: int = DEFAULT_SEED,
            draws: int | None = None, draw_index: np.ndarray | None = None) -> Prediction:
    """Posterior predictive draws of the latent score and accuracy for new rows.

    Parameters
    ----------
    fit : Fit
        A fitted model (:func:`bayes_llm.model.load_fit`); anything with ``spec``, ``dt``
        (posterior group) and optionally ``diagnostics`` works.
    table : DataFrame or path
        Canonical rows, or a schema-valid file (any release month; scores optional and,
        when present, kept as ``observed_accuracy`` for validation).
    seed : int
        Seed of every fresh draw.
    draws : int, optional
        Use about this many evenly spaced posterior draws (default all).
    draw_index : ndarray of int, optional
        Exactly these posterior draws, as indices into the chain-major stacked draws
        (``chain * n_draw + draw``); overrides ``draws``.

    Returns
    -------
    Prediction

    Raises
    ------
    BayesLLMError
        One line naming the row: released before the fit's first period, a developer group
        a group-coded fit does not have, a period a one-period fit cannot extrapolate to,
        or a table lacking columns.
    """
    spec = fit.spec
    frame, row_names = prediction_frame(table)
    post_ds = fit.dt["posterior"]
    n_total = post_ds.sizes["chain"] * post_ds.sizes["draw"]
    idx = (draw_indices(n_total, draws) if draw_index is None
           else np.asarray(draw_index, dtype=np.int64))
    post, coords = posterior_arrays(fit, idx)
    rng = np.random.default_rng(seed)
    lp = linear_predictor(fit, frame, post, coords, idx, rng, row_names)
    shape = lp["mean"].shape
    mu = lp["mean"] + np.sqrt(lp["var"]) * rng.standard_normal(shape)
    acc_col, _, guess, n_questions = OUTCOMES[spec.outcome]
    n_items = np.full(len(frame), n_questions, dtype=np.int64)
    if spec.likelihood == "binomial":
        kind, sigma_model, nu_model = model_effect_distribution(fit)
        if kind == "two_scale":  # each row's effect from the core or the wide component
            parts = {key: stacked(value, idx)
                     for key, value in two_scale_components(fit).items()}
            latent, _ = draw_prior_eta_scales(mu, scale_components(
                parts["core"][:, None], parts["wide"][:, None],
                parts["wide_probability"][:, None]), rng)
        elif kind == "laplace":  # Laplace of SD sigma_model: scale sigma_model / sqrt 2
            latent = mu + rng.laplace(0.0, 1.0, shape) * (
                stacked(sigma_model, idx)[:, None] / np.sqrt(2.0))
        else:
            latent = mu + _scaled_noise(stacked(sigma_model, idx),
                                        None if nu_model is None else stacked(nu_model, idx),
                                        shape, rng)
        p = guess + (1.0 - guess) * special.expit(latent)
        # mu and the model-effect scale let a log score integrate over the fresh model
        # effect instead of using its one draw (bayes_llm.validate.scores)
        noise = {"p": p, "mu": mu, "sigma": stacked(sigma_model, idx)}
        if nu_model is not None:
            noise["nu"] = stacked(nu_model, idx)
        if kind == "laplace":  # "sigma" is the Laplace law's SD, b its scale
            noise["laplace_scale"] = stacked(sigma_model, idx) / np.sqrt(2.0)
        if kind == "two_scale":  # "sigma" is then the core SD
            noise.update({"sigma": parts["core"], "sigma_wide": parts["wide"],
                          "wide_probability": parts["wide_probability"]})
        collapse = collapse_distribution(fit)
        drawn_p = p
        if collapse is not None:
            drawn = {key: stacked(value, idx) for key, value in collapse.items()}
            a, b = drawn["a"], drawn["b"]
            # collapse_by_period: the row's period's pi; after the last fitted period the
            # last one's (its anchor; no trend is extrapolated). collapse_by_compute: from
            # the row's reported compute (not a drawn true compute).
            # collapse_by_lineage: a known lineage's propensity, a new one's drawn
            pi = collapse_probability_per_model(
                drawn, shape[1], period_idx=lp["period_anchor"],
                x=frame["log10_flop"].to_numpy(float) - spec.compute_centre,
                lineage_idx=collapse_lineage_rows(collapse.get("lineage_z"), frame,
                                                  spec.lineage_source), rng=rng)
            collapsed = rng.uniform(size=shape) < pi
            p_collapsed = rng.beta(a[:, None], b[:, None], shape)
            drawn_p = np.where(collapsed, p_collapsed, p)
            with np.errstate(divide="ignore"):
                latent = np.where(collapsed, special.logit((p_collapsed - guess)
                                                           / (1.0 - guess)), latent)
            noise.update({"collapse_probability": pi, "collapse_a": a, "collapse_b": b})
        accuracy = rng.binomial(n_items[None, :], drawn_p) / n_items[None, :]
    else:
        latent = mu
        nu = post["nu"] if spec.likelihood == "student_t" else None
        y = mu + _scaled_noise(post["sigma"], nu, shape, rng)
        accuracy = guess + (1.0 - guess) * special.expit(y)
        noise = {"mu": mu, "sigma": post["sigma"]}
        if nu is not None:
            noise["nu"] = nu
    fitted_ids = set()
    if getattr(fit, "models", None) is not None and "model_id" in fit.models:
        fitted_ids = set(fit.models["model_id"].astype(str))
    frame["period"] = lp["period_label"]
    frame["period_steps_ahead"] = lp["steps"]
    frame["developer_known"] = lp["developer_known"]
    frame["in_fit"] = frame["model_id"].astype(str).isin(fitted_ids)
    row_coords = {"model_id": ("row", frame["model_id"].astype(str).to_numpy())}
    ok, status = diagnostics_status(fit)
    return Prediction(
        frame=frame,
        latent=xr.DataArray(latent, dims=("sample", "row"), coords=row_coords, name="latent"),
        accuracy=xr.DataArray(accuracy, dims=("sample", "row"), coords=row_coords,
                              name="accuracy"),
        likelihood=spec.likelihood, n_items=n_items, guess=guess, outcome=spec.outcome,
        observed_column=acc_col, diagnostics_ok=ok, diagnostics=status,
        spec_name=spec.name, noise=noise)


__all__ = ["diagnostics_status", "posterior_arrays", "predict", "prediction_frame"]
