"""Frontier compute share: how much of frontier progress is due to scaling, per draw.

Three documented definitions, each computed draw by draw from the components of
:mod:`bayes_llm.model.components` (``latent score = intercept + compute + period +
developer + model``, see :func:`bayes_llm.derived.summary.stacked_components`; the
latent score is the binomial ``eta`` or, for logit-normal and Student-t fits, the
observed logit ``y``):

(a) **Pairwise progress** for models A -> B (the paper's Table 1 method). The change in
    latent score ``d_eta = eta_B - eta_A`` splits exactly into ``d compute`` (scaling:
    ``beta * d log10 C`` plus any slope extensions), ``d period`` (shared algorithmic
    progress), ``d developer`` and ``d model`` (the model-level effect; the paper's
    residual). Each share is ``component / d_eta``; the four sum to one. Shares can be
    negative or exceed one when components pull in opposite directions (the paper's
    Llama-2-70B -> GPT-4.5 scaling share is 113.5%).
(b) **Explained part only**: the same, leaving the model-level effect out, i.e.
    ``component / (d compute + d period + d developer)``; the three sum to one.
(c) **Against a reference model**: for each frontier model (default: every period's
    best-scoring model), the gain over a hypothetical reference model with compute
    ``reference_log10_flop`` (default: the median compute of the models of the first date
    window, :func:`date_windows`), released in that window (its period effect is the
    model-weighted mean over the window's models, so the reference does not change with
    the period coding), from the average developer (unweighted mean of the
    developer effects) and with a model-level effect of zero. The compute part is
    ``slope_ref * (x_i - x_ref)`` for a plain model (``compute_i - slope_ref * x_ref`` in
    general, with ``slope_ref = beta + mean developer slope + first-period slope
    deviation``). The share depends on the reference; :func:`reference_sensitivity`
    tabulates it over a grid of reference computes.

Model-id pairs default to the best-scoring model (by the outcome's accuracy) of the first
cohort against that of the last cohort: on the paper's 809 models this is
``meta-llama__Llama-2-70b-hf`` -> ``GPT-4.5``, the paper's own example.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
from bayes_llm.derived.summary import (
    FitLike,
    check_models,
    period_levels,
    score_columns,
    stacked_components,
    summarise_draws,
)
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.components import COMPONENTS
from bayes_llm.model.curve import compute_effect

#: The components that a fit's mean structure explains (definition (b) leaves ``model`` out).
EXPLAINED_COMPONENTS: tuple[str, ...] = ("compute", "period", "developer")


def shares_of(values: xr.DataArray) -> xr.Dataset:
    """Turn component values into shares of their total, all and explained-only.

    Parameters
    ----------
    values : DataArray
        With a ``component`` dim over :data:`bayes_llm.model.components.COMPONENTS`.

    Returns
    -------
    Dataset
        ``value`` (the input), ``total`` (sum over components), ``share``
        (``value / total``, sums to one), ``explained_total`` and ``explained_share``
        (over compute, period, developer only; NaN for ``model``; sums to one).
    """
    total = values.sum("component")
    explained = values.sel(component=list(EXPLAINED_COMPONENTS))
    explained_total = explained.sum("component")
    explained_share = (explained / explained_total).reindex(component=values["component"])
    return xr.Dataset({"value": values, "total": total, "share": values / total,
                       "explained_total": explained_total,
                       "explained_share": explained_share})


def _best_model(frame: pd.DataFrame, score: str) -> str:
    scores = frame[score].astype(float)
    if scores.notna().sum() == 0:
        raise BayesLLMError("no model with a score to pick the frontier from")
    return str(frame.loc[scores.idxmax(), "model_id"])


def default_frontier_pair(fit: FitLike) -> tuple[str, str]:
    """Best-scoring model of the first cohort and of the last cohort.

    Cohorts are the ``cohort`` column of ``fit.models`` (the fit's ``period`` column when
    there is none); "best" is the highest accuracy of the spec's outcome.
    """
    models = fit.models
    column = "cohort" if "cohort" in models else "period"
    acc_col, _ = score_columns(fit.spec)
    labels = models[column].astype(str)
    levels = sorted(labels.unique())
    return (_best_model(models[labels == levels[0]], acc_col),
            _best_model(models[labels == levels[-1]], acc_col))


def pair_label(model_a: str, model_b: str) -> str:
    """Return the label of a pair, as in the baseline's pairwise table: ``"A -> B"``."""
    return f"{model_a} -> {model_b}"


def pair_decomposition(fit: FitLike, pairs: Sequence[tuple[str, str]] | None = None, *,
                       components: xr.DataArray | None = None) -> xr.Dataset:
    """Definitions (a) and (b): decompose the latent-score change of model pairs, per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    pairs : sequence of (model_id, model_id), optional
        Pairs A -> B; default ``[default_frontier_pair(fit)]``.
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    Dataset
        Dims ``(chain, draw, pair, component)``, see :func:`shares_of`: ``share`` is
        definition (a), ``explained_share`` definition (b), ``total`` the change in latent
        score. Coordinates ``model_a`` and ``model_b`` along ``pair``.

    Raises
    ------
    BayesLLMError
        A model id is not in the fit.
    """
    pairs = [default_frontier_pair(fit)] if pairs is None else [tuple(p) for p in pairs]
    if not pairs:
        raise BayesLLMError("no pairs to decompose")
    check_models(fit, [m for pair in pairs for m in pair])
    stacked = stacked_components(fit, components)
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    labels = pd.Index([pair_label(x, y) for x, y in pairs], name="pair")
    va = stacked.sel(model=a).drop_vars("model").rename(model="pair")
    vb = stacked.sel(model=b).drop_vars("model").rename(model="pair")
    values = (vb - va).assign_coords(pair=labels)
    out = shares_of(values)
    return out.assign_coords(model_a=("pair", a), model_b=("pair", b))


def frontier_models(fit: FitLike) -> pd.DataFrame:
    """Each period's best-scoring model (the fit's periods, in order).

    Returns
    -------
    DataFrame
        ``period``, ``model_id``, ``log10_flop`` and the outcome's accuracy, one row per
        period that has models.
    """
    acc_col, _ = score_columns(fit.spec)
    models = fit.models
    rows = []
    for period in period_levels(fit):
        sub = models[models["period"].astype(str) == period]
        if sub.empty or sub[acc_col].notna().sum() == 0:
            continue
        best = _best_model(sub, acc_col)
        row = sub[sub["model_id"].astype(str) == best].iloc[0]
        rows.append({"period": period, "model_id": best,
                     "log10_flop": float(row["log10_flop"]), acc_col: float(row[acc_col])})
    return pd.DataFrame(rows, columns=["period", "model_id", "log10_flop", acc_col])


def date_windows(fit: FitLike) -> pd.Series:
    """Each model's release window by date, independent of the fit's period coding.

    The paper's cohorts (column ``cohort``, from release dates) when present, else the
    fit's periods.
    """
    column = "cohort" if "cohort" in fit.models else "period"
    return fit.models[column].astype(str).reset_index(drop=True)


def first_window_mask(fit: FitLike) -> np.ndarray:
    """Models released in the first date window (see :func:`date_windows`)."""
    windows = date_windows(fit)
    return (windows == sorted(windows.unique())[0]).to_numpy()


def default_reference_compute(fit: FitLike) -> float:
    """Median log10 FLOP of the models of the first date window (the reference compute).

    Fixed by compute and release date (:func:`date_windows`), so quarterly or monthly
    period codings keep the same reference model as the cohort coding.
    """
    values = fit.models.loc[first_window_mask(fit), "log10_flop"].astype(float)
    if values.empty:
        values = fit.models["log10_flop"].astype(float)
    return float(np.median(values))


def _reference_developer(post: xr.Dataset, reference: str) -> xr.DataArray | float:
    if "developer_effect" not in post:
        return 0.0
    effects = post["developer_effect"]
    if reference == "mean":
        return effects.mean("developer")
    units = [str(u) for u in effects.coords["developer"].values]
    if reference not in units:
        raise BayesLLMError(f"reference developer '{reference}' is not a developer unit of "
                            f"the fit; use 'mean' or one of: {', '.join(units[:10])}"
                            + (" ..." if len(units) > 10 else ""))
    return effects.sel(developer=reference).drop_vars("developer")


def reference_parts(fit: FitLike, reference_log10_flop: float, *,
                    reference_developer: str = "mean") -> xr.DataArray:
    """Return the reference model's compute, period, developer and model parts per draw.

    Returns
    -------
    DataArray
        Dims ``(chain, draw, component)``; the ``model`` part is zero.
    """
    post = fit.dt["posterior"].to_dataset()
    first = period_levels(fit)[0]
    slope = post["beta"]
    if "developer_slope" in post:
        slope = slope + post["developer_slope"].mean("developer")
    if "compute_period_slope" in post:
        slope = slope + post["compute_period_slope"].sel(period=first, drop=True)
    x_ref = float(reference_log10_flop) - fit.spec.compute_centre
    compute = slope * x_ref
    if "compute_slope" in post:  # monotone compute curve: f(x_ref), not beta * x_ref
        compute = compute_effect(fit.dt, x_ref)
    # the period effect of the first date window: the model-weighted mean period effect
    # of its models (gamma of the first period under the cohort coding)
    pidx = np.asarray(fit.dt["constant_data"]["period_idx"].values, dtype=int)
    counts = np.bincount(pidx[first_window_mask(fit)], minlength=post.sizes["period"])
    weights = xr.DataArray(counts / counts.sum(), dims="period")
    period = (post["period_effect"] * weights).sum("period")
    developer = xr.zeros_like(compute) + _reference_developer(post, reference_developer)
    model = xr.zeros_like(compute)
    parts = xr.concat([compute, period, developer, model],
                      dim=pd.Index(list(COMPONENTS), name="component"))
    return parts.transpose("chain", "draw", "component")


def reference_decomposition(fit: FitLike, models: Sequence[str] | None = None, *,
                            reference_log10_flop: float | None = None,
                            reference_developer: str = "mean",
                            components: xr.DataArray | None = None) -> xr.Dataset:
    """Definition (c): each frontier model's gain over a reference model, per draw.

    Parameters
    ----------
    fit : FitLike
        A fit.
    models : sequence of str, optional
        Model ids; default the frontier models (:func:`frontier_models`).
    reference_log10_flop : float, optional
        The reference model's log10 FLOP; default :func:`default_reference_compute`.
    reference_developer : str
        ``"mean"`` (the unweighted average developer effect, default) or a developer unit.
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    Dataset
        Dims ``(chain, draw, model, component)``, see :func:`shares_of`; ``share`` is the
        compute (etc.) share of the gain ``total`` over the reference model. Attributes
        record the reference.
    """
    model_ids = (frontier_models(fit)["model_id"].tolist() if models is None
                 else [str(m) for m in models])
    check_models(fit, model_ids)
    if reference_log10_flop is None:
        reference_log10_flop = default_reference_compute(fit)
    stacked = stacked_components(fit, components).sel(model=model_ids)
    ref = reference_parts(fit, reference_log10_flop, reference_developer=reference_developer)
    out = shares_of(stacked - ref)
    out.attrs.update({"reference_log10_flop": float(reference_log10_flop),
                      "reference_period": period_levels(fit)[0],
                      "reference_developer": reference_developer,
                      "reference_model_effect": 0.0})
    return out


def reference_sensitivity(fit: FitLike, reference_grid: Sequence[float] | None = None, *,
                          model: str | None = None, reference_developer: str = "mean",
                          prob: float = HDI_PROB, kind: str = CI_KIND,
                          components: xr.DataArray | None = None) -> pd.DataFrame:
    """How definition (c) depends on the reference model's compute.

    Parameters
    ----------
    fit : FitLike
        A fit.
    reference_grid : sequence of float, optional
        Reference log10 FLOP values; default nine points from the smallest to the largest
        compute in the fit.
    model : str, optional
        The frontier model; default the last period's best-scoring model.
    reference_developer : str
        As in :func:`reference_decomposition`.
    prob, kind
        Interval setting (default the project's 94% HDI).
    components : DataArray, optional
        Precomputed :func:`bayes_llm.derived.summary.stacked_components`.

    Returns
    -------
    DataFrame
        One row per reference compute: ``reference_log10_flop``, ``model``, then median and
        interval of the compute share (``share_*``) and of the explained-only compute share
        (``explained_share_*``).
    """
    if model is None:
        model = frontier_models(fit)["model_id"].iloc[-1]
    if reference_grid is None:
        x = fit.models["log10_flop"].astype(float)
        reference_grid = np.round(np.linspace(x.min(), x.max(), 9), 2)
    comps = stacked_components(fit, components)
    rows = []
    for ref in reference_grid:
        dec = reference_decomposition(fit, [model], reference_log10_flop=float(ref),
                                      reference_developer=reference_developer,
                                      components=comps)
        share = summarise_draws(dec["share"].sel(model=model, component="compute"),
                                prob=prob, kind=kind)
        expl = summarise_draws(dec["explained_share"].sel(model=model, component="compute"),
                               prob=prob, kind=kind)
        rows.append({"reference_log10_flop": float(ref), "model": model,
                     **{f"share_{k}": v for k, v in share.items()},
                     **{f"explained_share_{k}": v for k, v in expl.items()}})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- guarded ratios
#: A ratio is undefined when at least this share of draws has a denominator "near zero".
GUARD_MASS: float = 0.05
#: "Near zero": ``|denominator| < GUARD_RELATIVE * gross``, with ``gross`` the sum of the
#: absolute values of the parts the denominator adds up (the movements it is split into).
GUARD_RELATIVE: float = 0.1
#: The rule in words (printed with every undefined figure).
GUARD_RULE: str = (f"a share is reported only when fewer than {GUARD_MASS:.0%} of draws have "
                   f"|denominator| < {GUARD_RELATIVE:.0%} of the gross movement (sum of the "
                   f"absolute parts) and fewer than {GUARD_MASS:.0%} have the other sign; "
                   "otherwise it is undefined")


def ratio_guard(denominator: np.ndarray, gross: np.ndarray | None = None, *,
                what: str = "the total change") -> str:
    """Return ``""`` when a ratio over ``denominator`` is defined, else the reason.

    Parameters
    ----------
    denominator : array
        Draws of the denominator.
    gross : array, optional
        Draws of the gross movement (default ``|denominator|``: then only the sign rule,
        non-finite and zero denominators apply).
    what : str
        Name of the denominator in the reason.

    Notes
    -----
    The rule (:data:`GUARD_RULE`): the ratio is undefined when ``P(|den| < 0.1 gross)
    >= 0.05`` or ``min(P(den > 0), P(den < 0)) >= 0.05``. A ratio whose denominator has
    material mass near zero has a Cauchy-like posterior (heavy tails both ways), for which
    an interval is not meaningful.
    """
    den = np.asarray(denominator, dtype=float).ravel()
    gross = np.abs(den) if gross is None else np.asarray(gross, dtype=float).ravel()
    if den.size == 0 or not np.all(np.isfinite(den)):
        return f"undefined: {what} has non-finite draws"
    near = np.abs(den) < GUARD_RELATIVE * gross
    near |= den == 0
    mass = float(np.mean(near))
    sign = float(min(np.mean(den > 0), np.mean(den < 0)))
    if sign >= GUARD_MASS:
        return (f"undefined: the sign of {what} is uncertain (the other sign in {sign:.0%} "
                f"of draws; {GUARD_RULE})")
    if mass >= GUARD_MASS:
        return (f"undefined: {what} is near zero in {mass:.0%} of draws (median "
                f"{np.median(den):.3g} against a gross movement of {np.median(gross):.3g}; "
                f"{GUARD_RULE})")
    return ""


def pair_guards(dec: xr.Dataset) -> dict[str, dict[str, str]]:
    """Guard reasons of each pair's shares: pair label -> {"share": ..., "explained": ...}."""
    out = {}
    for label in dec["pair"].values:
        one = dec.sel(pair=label)
        values = one["value"].transpose("chain", "draw", "component").values
        gross = np.abs(values).sum(axis=-1)
        explained = values[..., :3]
        out[str(label)] = {
            "share": ratio_guard(values.sum(axis=-1), gross,
                                 what=f"the change in latent score of {label}"),
            "explained": ratio_guard(explained.sum(axis=-1), np.abs(explained).sum(axis=-1),
                                     what=f"the explained change of {label}")}
    return out


# ---------------------------------------------------------- frontier gain (primary)
#: Default number of best models per date window that make "the frontier".
TOP_K: int = 3


def frontier_sets(fit: FitLike, top_k: int = TOP_K) -> tuple[list[str], list[str]]:
    """Return the ``top_k`` best-scoring models of the first and of the last date window."""
    acc_col, _ = score_columns(fit.spec)
    windows = date_windows(fit)
    levels = sorted(windows.unique())
    models = fit.models.reset_index(drop=True)
    out = []
    for level in (levels[0], levels[-1]):
        sub = models[(windows == level) & models[acc_col].notna()]
        if sub.empty:
            raise BayesLLMError(f"no scored model in window {level} to define the frontier")
        out.append(sub.nlargest(top_k, acc_col)["model_id"].astype(str).tolist())
    return out[0], out[1]


def _model_slopes(fit: FitLike) -> np.ndarray:
    """Per draw and model: the compute slope (beta plus slope extensions)."""
    post = fit.dt["posterior"].to_dataset()
    const = fit.dt["constant_data"].to_dataset()
    beta = post["beta"].transpose("chain", "draw").values[..., None] if "beta" in post \
        else np.zeros((post.sizes["chain"], post.sizes["draw"], 1))
    n = const.sizes["model"]
    slope = np.broadcast_to(beta, (*beta.shape[:2], n)).copy()
    if "developer_slope" in post:
        didx = np.asarray(const["developer_idx"].values, dtype=int)
        slope += post["developer_slope"].transpose("chain", "draw", "developer").values[..., didx]
    if "compute_period_slope" in post:
        pidx = np.asarray(const["period_idx"].values, dtype=int)
        slope += post["compute_period_slope"].transpose("chain", "draw", "period").values[
            ..., pidx]
    return slope


def _compute_at(fit: FitLike, x: np.ndarray, models: np.ndarray) -> np.ndarray:
    """Compute term of ``models`` (indices) at centred log compute ``x`` (chain, draw, 1).

    The curve ``f(x)`` via :func:`bayes_llm.model.curve.compute_effect` (any compute
    curve: linear or monotone); plus the slope
    extensions (developer and period slope deviations) times ``x``.
    """
    post = fit.dt["posterior"].to_dataset()
    beta = post["beta"].transpose("chain", "draw").values[..., None] if "beta" in post \
        else None
    xa = xr.DataArray(x, dims=("chain", "draw", "one"),
                      coords={d: post[d].values for d in ("chain", "draw")})
    curve = compute_effect(fit.dt, xa).transpose("chain", "draw", "one").values
    deviation = _model_slopes(fit)[..., models] - (beta if beta is not None else 0.0)
    return curve + deviation * x


def _x(fit: FitLike) -> np.ndarray:
    post = fit.dt["posterior"].to_dataset()
    if "log10_flop_true" in post:
        return post["log10_flop_true"].transpose("chain", "draw", "model").values
    return np.asarray(fit.dt["constant_data"]["log10_flop_centred"].values, float)[None, None]


def frontier_gain(fit: FitLike, *, top_k: int = TOP_K,
                  components: xr.DataArray | None = None) -> xr.Dataset:
    """Compute the frontier's gain (accuracy scale) and its counterfactual without scaling.

    Frontier: the ``top_k`` best-scoring models of the first and of the last date window
    (:func:`frontier_sets`). Per draw, with ``acc(eta) = g + (1 - g) logistic(eta)`` (the
    outcome's guessing floor ``g``) and ``eta`` each model's latent score:

    * ``gain`` = mean acc of the last frontier - mean acc of the first frontier;
    * ``gain_without_scaling`` = the same with every last-frontier model's compute term
      replaced by its value at the first frontier's mean (true, under errors-in-variables)
      log compute, i.e. had frontier compute stayed where it started (all else equal:
      period, developer and model-level effects kept). The compute term is the fit's
      curve (:func:`bayes_llm.model.curve.compute_effect`: linear or monotone), so the
      estimand is the same for every curve;
    * ``gain_from_scaling`` = ``gain - gain_without_scaling`` (accuracy points; additive);
    * ``compute_share`` = ``gain_from_scaling / gain`` (guarded: :func:`ratio_guard`
      with the gross movement ``|gain_from_scaling| + |gain_without_scaling|``);
    * ``decades_<component>``: the additive decomposition of the change in mean latent
      score from the first to the last frontier into compute-equivalent decades (component
      change / beta; for a non-linear curve, beta is the curve's average slope between
      the two frontiers' mean log computes): ``compute`` is
      the change in mean (slope-weighted) log compute,
      ``period`` shared progress, ``developer`` and ``model`` the rest; ``decades_total``
      their sum. No ratio of uncertain quantities except ``/ beta``, guarded the same way.

    Returns
    -------
    Dataset
        Dims ``(chain, draw)``; attributes ``first``, ``last`` (model ids), ``top_k``,
        ``reference_x`` (centred log10 compute of the first frontier), ``notes`` (guard
        reasons, empty when every figure is defined).
    """
    from bayes_llm.model.design import OUTCOMES

    first, last = frontier_sets(fit, top_k)
    stacked = stacked_components(fit, components).transpose("chain", "draw", "model",
                                                            "component")
    ids = stacked["model"].values.astype(str)
    pos = {m: i for i, m in enumerate(ids)}
    fi = np.array([pos[m] for m in first])
    li = np.array([pos[m] for m in last])
    sub = stacked.isel(model=np.concatenate([fi, li]))
    values = sub.values
    fi, li = np.arange(len(fi)), np.arange(len(fi), len(fi) + len(li))
    alpha = fit.dt["posterior"]["alpha"].transpose("chain", "draw").values[..., None]
    eta = alpha + values.sum(axis=-1)
    _, _, guess, _ = OUTCOMES[fit.spec.outcome]

    def acc(e: np.ndarray) -> np.ndarray:
        return guess + (1.0 - guess) / (1.0 + np.exp(-e))

    idx = np.array([pos[m] for m in first] + [pos[m] for m in last])
    x = _x(fit)[..., idx]
    x_first = np.broadcast_to(x, eta.shape)[..., fi].mean(axis=-1, keepdims=True)
    compute_last = values[..., li, 0]
    eta_cf = eta[..., li] - compute_last + _compute_at(fit, x_first, idx[li])
    base = acc(eta[..., fi]).mean(axis=-1)
    gain = acc(eta[..., li]).mean(axis=-1) - base
    gain_cf = acc(eta_cf).mean(axis=-1) - base
    scaling = gain - gain_cf
    notes = {}
    why = ratio_guard(gain, np.abs(scaling) + np.abs(gain_cf), what="the frontier's gain")
    share = scaling / gain if not why else np.full_like(gain, np.nan)
    if why:
        notes["compute_share"] = why
    delta = values[..., li, :].mean(axis=-2) - values[..., fi, :].mean(axis=-2)
    post = fit.dt["posterior"].to_dataset()
    if "beta" in post and "compute_slope" not in post:
        beta = post["beta"].transpose("chain", "draw").values
    else:  # a non-linear curve: its average slope between the two frontiers
        x_last = np.broadcast_to(x, eta.shape)[..., li].mean(axis=-1)
        beta = delta[..., 0] / (x_last - x_first[..., 0])
    why_beta = ratio_guard(beta, np.abs(beta), what="beta")
    if not why_beta and np.mean(beta <= 0) >= GUARD_MASS:
        why_beta = (f"undefined: beta <= 0 in {np.mean(beta <= 0):.0%} of draws; "
                    "compute-equivalents need a positive slope")
    out = {"gain": gain, "gain_without_scaling": gain_cf, "gain_from_scaling": scaling,
           "compute_share": share}
    for k, comp in enumerate(COMPONENTS):
        out[f"decades_{comp}"] = (delta[..., k] / beta if not why_beta
                                  else np.full_like(beta, np.nan))
        if why_beta:
            notes[f"decades_{comp}"] = why_beta
    out["decades_total"] = sum(out[f"decades_{c}"] for c in COMPONENTS)
    if why_beta:
        notes["decades_total"] = why_beta
    coords = {d: post[d].values for d in ("chain", "draw")}
    ds = xr.Dataset({k: xr.DataArray(v, dims=("chain", "draw"), coords=coords)
                     for k, v in out.items()})
    ds.attrs.update({"first": ", ".join(first), "last": ", ".join(last), "top_k": top_k,
                     "reference_x": float(np.median(x_first)),
                     "notes": notes})
    return ds


def mix_draws(datasets: Sequence[xr.Dataset], weights: Sequence[float], *,
              seed: int = 0) -> xr.Dataset:
    """Model averaging of per-draw figures: a weighted mixture of several fits' draws.

    The mixture has the most draws ``N`` that the fits can supply without replacement,
    ``N = min_k S_k / w_k`` over the fits with positive weight (``S_k`` their draws); fit
    ``k`` contributes ``w_k N`` draws (floored; the remainder goes to the largest
    fractional parts), taken without replacement with a fixed seed and pooled into one
    chain. So weights ``(1, 0)`` return every draw of the first fit, and equal weights on
    fits with equal draws return all their draws pooled. Use it
    with stacking or pseudo-BMA weights across compute-curve options to integrate the
    frontier figures over the functional form (Yao, Vehtari, Simpson & Gelman 2018).

    Parameters
    ----------
    datasets : sequence of Dataset
        Per-draw figures (dims ``chain``, ``draw``) with the same variables.
    weights : sequence of float
        Non-negative weights (normalised here).
    seed : int
        Seed of the subsampling.

    Returns
    -------
    Dataset
        One chain (R-hat of the mixture is not meaningful); attributes ``weights`` and
        ``draws_per_fit`` (how many draws each fit contributed).
    """
    w = np.asarray(weights, dtype=float)
    if len(datasets) != len(w) or len(w) == 0 or np.any(w < 0) or w.sum() <= 0:
        raise BayesLLMError("mix_draws needs one non-negative weight per fit, not all zero")
    w = w / w.sum()
    stacked = [d.stack(sample=("chain", "draw")).reset_index("sample", drop=True)
               for d in datasets]
    sizes = np.array([d.sizes["sample"] for d in stacked])
    positive = w > 0
    total = int(np.floor(np.min(sizes[positive] / w[positive]) + 1e-9))
    exact = w * total
    counts = np.minimum(np.floor(exact + 1e-9).astype(int), sizes)
    for k in np.argsort(-(exact - counts)):  # largest remainders first
        if counts.sum() >= total:
            break
        if positive[k] and counts[k] < sizes[k]:
            counts[k] += 1
    rng = np.random.default_rng(seed)
    parts = [d.isel(sample=np.sort(rng.choice(d.sizes["sample"], c, replace=False)))
             for d, c in zip(stacked, counts, strict=True) if c > 0]
    mixed = xr.concat(parts, dim="sample").rename(sample="draw")
    mixed = mixed.assign_coords(draw=np.arange(mixed.sizes["draw"])).expand_dims(chain=[0])
    mixed.attrs["weights"] = [float(v) for v in w]
    mixed.attrs["draws_per_fit"] = [int(c) for c in counts]
    return mixed.transpose("chain", "draw", ...)


def frontier_gain_averaged(fits: Sequence[FitLike], weights: Sequence[float], *,
                           top_k: int = TOP_K, seed: int = 0) -> xr.Dataset:
    """Average the frontier estimand over several fits (e.g. compute-curve options).

    Each fit's :func:`frontier_gain` is computed on its own draws and the draws are mixed
    in proportion to ``weights`` (:func:`mix_draws`), e.g. stacking weights from the
    out-of-sample scores of the prediction issue. The fits must share their models (the
    frontier is then the same set of models in every fit). Prefer
    :func:`bayes_llm.derived.averaging.averaged_frontier`, which also checks that the fits
    share their data, reads stacking weights and carries the component diagnostics.

    Returns
    -------
    Dataset
        One chain of mixed draws; attributes ``weights`` and ``specs``.
    """
    if not fits:
        raise BayesLLMError("frontier_gain_averaged needs at least one fit")
    sets = {frontier_sets(f, top_k) == frontier_sets(fits[0], top_k) for f in fits}
    if sets != {True}:
        raise BayesLLMError("the fits do not share their frontier models; average fits of "
                            "the same data only")
    parts = [frontier_gain(f, top_k=top_k) for f in fits]
    for part in parts:
        for var in part.data_vars:
            part[var].attrs = {}
        part.attrs = {}
    out = mix_draws(parts, weights, seed=seed)
    out.attrs["specs"] = [f.spec.name for f in fits]
    return out


__all__ = ["EXPLAINED_COMPONENTS", "GUARD_RULE", "TOP_K", "date_windows",
           "default_frontier_pair", "default_reference_compute", "first_window_mask",
           "frontier_gain", "frontier_gain_averaged", "frontier_models", "frontier_sets",
           "mix_draws", "pair_decomposition", "pair_guards", "pair_label", "ratio_guard",
           "reference_decomposition", "reference_parts", "reference_sensitivity",
           "shares_of"]
