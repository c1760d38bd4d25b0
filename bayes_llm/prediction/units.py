"""Developer terms of the linear predictor for new rows: known units and fresh draws.

How the fit codes the developer effect (see :mod:`bayes_llm.model.build`) decides the
variance of a developer it has not seen:

* **pooled, centred** (``ZeroSumNormal``; the default): the fitted effects are
  ``u_j = v_j - mean(v)`` with ``v_j ~ Normal(0, sigma_developer)`` iid, and ``alpha``
  absorbs ``mean(v)``. A new developer's deviation from ``alpha`` is ``v_new - mean(v)``:
  ``mean(v)`` is independent of the contrasts ``u_j`` the data pin, so given the fit it
  keeps its prior variance ``sigma^2 / J`` and the fresh effect has mean 0 and variance
  ``sigma^2 (1 + 1/J)`` (J = number of fitted developer units).
* **pooled, non-centred** (``sigma * z``, z iid, not sum-to-zero): variance ``sigma^2``.
* **pooled, Student-t** (``developer_distribution = "student_t"``, iid, not sum-to-zero):
  a fresh ``StudentT(nu_developer, 0, sigma)`` draw, given as its scale mixture: variance
  ``sigma^2 nu / chi2_nu`` with the chi-square drawn per draw and row, so that the
  Gaussian draw the caller adds is a Student-t draw.
* **pooled, by kind** (``developer_distribution = "normal_by_kind"``, iid, not
  sum-to-zero): ``Normal(0, sigma_developer_kind[k]^2)`` with k the new developer's kind,
  decided from its rows (:func:`new_developer_kind_index`).
* **fixed** (sum-to-zero with a fixed wide prior, no learned spread): the spread of
  developers is estimated per draw from the fitted effects, ``s^2 = sum(u_j^2) / (J - 1)``
  (unbiased for iid effects made sum-to-zero), and the fresh effect has variance
  ``s^2 (1 + 1/J)`` as above.
* **nested**: a known developer keeps its own effect; a new developer of a known group
  gets the group's effect plus ``Normal(0, sigma_developer)`` (developers are iid around
  their group); of a new group, a fresh group (``sigma_group^2 (1 + 1/G)``, the group
  effects being sum-to-zero) plus the developer draw.
* **group** (the paper's 13 groups): a group the fit has not seen is an error naming the
  row (the groups are a fixed coding, not a sample of groups).
* **developer slopes** (``developer_slope`` iid ``Normal(0, sigma_slope)``): own slope, or a
  fresh one with variance ``sigma_slope^2``; the term is ``slope * x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_llm.errors import BayesLLMError
from bayes_llm.model.spec import ModelSpec


class UnknownGroupError(BayesLLMError):
    """A row's developer group is not one of a group-coded fit's groups."""


def new_unit_variance(sigma2: np.ndarray, n_units: int, *, zero_sum: bool) -> np.ndarray:
    """Variance of a fresh effect of a unit the fit has not seen.

    ``sigma2 (1 + 1/n_units)`` under sum-to-zero coding (see the module docstring), else
    ``sigma2``.
    """
    return sigma2 * (1.0 + 1.0 / n_units) if zero_sum else sigma2


def row_units(frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """Each row's developer unit label under the spec's developer coding."""
    column = "developer_group" if spec.developer == "group" else "developer"
    return frame[column].astype(str).to_numpy()


@dataclass(frozen=True)
class DeveloperTerms:
    """Per-draw developer terms, shape ``(sample, row)``.

    ``mean`` and ``var`` are the intercept part; ``slope_mean`` and ``slope_var`` multiply
    centred compute (zeros without developer slopes). ``known`` flags rows whose unit the
    fit has.
    """

    mean: np.ndarray
    var: np.ndarray
    slope_mean: np.ndarray
    slope_var: np.ndarray
    known: np.ndarray


def developer_terms(post: dict[str, np.ndarray], coords: dict[str, list[str]],
                    spec: ModelSpec, frame: pd.DataFrame,
                    row_names: list[str] | None = None,
                    rng: np.random.Generator | None = None) -> DeveloperTerms:
    """Developer terms for the rows of ``frame``.

    Parameters
    ----------
    post : dict
        Posterior arrays with a leading ``sample`` axis (``developer_effect`` etc.).
    coords : dict
        The fit's ``developer`` and ``developer_group`` labels.
    spec : ModelSpec
        The fit's spec.
    frame : DataFrame
        Rows with ``model_id``, ``developer`` and ``developer_group``.
    row_names : list of str, optional
        How errors name the rows (default ``row <i> (model_id '<id>')``).
    rng : Generator, optional
        Draws the scale-mixture variances of new developers under Student-t developer
        effects (required then; unused otherwise).
    """
    n_samples = next(iter(post.values())).shape[0]
    n_rows = len(frame)
    zeros = np.zeros((n_samples, n_rows))
    if spec.developer == "none" or "developer_effect" not in post:
        return DeveloperTerms(zeros, zeros.copy(), zeros.copy(), zeros.copy(),
                              np.zeros(n_rows, bool))
    units = list(coords["developer"])
    lookup = {u: i for i, u in enumerate(units)}
    labels = row_units(frame, spec)
    idx = np.array([lookup.get(u, -1) for u in labels])
    known = idx >= 0
    effects = post["developer_effect"]
    mean = np.where(known[None, :], effects[:, np.maximum(idx, 0)], 0.0)
    var = zeros.copy()
    if (~known).any():
        new = ~known
        if spec.developer == "group":
            i = int(np.argmax(new))
            name = (row_names[i] if row_names is not None
                    else f"row {i + 1} (model_id '{frame['model_id'].iloc[i]}')")
            raise UnknownGroupError(
                f"{name}: developer group "
                f"'{labels[i]}' is not one of the fit's {len(units)} groups "
                f"({', '.join(units)}); a group-coded fit cannot predict another group")
        if spec.developer == "nested":
            m, v = _nested_new(post, coords, frame, new)
            mean[:, new], var[:, new] = m, v
        else:
            var[:, new] = _pooled_new_variance(post, spec, len(units), int(new.sum()), rng,
                                               new_rows=frame.loc[new],
                                               seen_lineages=coords.get("lineage", ()))
    slope_mean, slope_var = zeros.copy(), zeros.copy()
    if "developer_slope" in post:
        slopes = post["developer_slope"]
        slope_mean = np.where(known[None, :], slopes[:, np.maximum(idx, 0)], 0.0)
        slope_var = np.where(known[None, :], 0.0, post["sigma_slope"][:, None] ** 2)
    return DeveloperTerms(mean, var, slope_mean, slope_var, known)


def _pooled_new_variance(post: dict[str, np.ndarray], spec: ModelSpec, n_units: int,
                         n_new: int, rng: np.random.Generator | None, *,
                         new_rows: pd.DataFrame | None = None,
                         seen_lineages=()) -> np.ndarray:
    """Variance of each new row's developer effect, shape ``(sample, n_new)``.

    Student-t effects get a scale-mixture variance per draw and row (``rng`` required);
    effects by kind the scale of each row's developer kind (``new_rows``, their lineages
    judged against the fit's, ``seen_lineages``); the other codings one variance per
    draw (see the module docstring).
    """
    n_samples = next(iter(post.values())).shape[0]
    if "sigma_developer_kind" in post:
        kind = new_developer_kind_index(new_rows, spec, seen_lineages)
        return post["sigma_developer_kind"][:, kind] ** 2
    if "nu_developer" in post:
        if rng is None:
            raise ValueError("Student-t developer effects: a new developer's draw needs rng")
        nu = post["nu_developer"][:, None]
        mixing = nu / rng.chisquare(np.broadcast_to(nu, (n_samples, n_new)))
        return post["sigma_developer"][:, None] ** 2 * mixing
    if spec.developer_effect == "fixed":
        effects = post["developer_effect"]
        if n_units < 2:
            raise BayesLLMError("the fit has one developer unit with unpooled (fixed) effects, "
                                "so the spread of developers is unknown; a new developer "
                                "cannot be predicted")
        s2 = np.sum(effects**2, axis=1) / (n_units - 1)
        var = new_unit_variance(s2, n_units, zero_sum=True)
    else:
        zero_sum = spec.developer_parameterisation == "centred"  # else iid: alpha the mean
        var = new_unit_variance(post["sigma_developer"] ** 2, n_units, zero_sum=zero_sum)
    return np.broadcast_to(var[:, None], (n_samples, n_new))


def new_developer_kind_index(rows: pd.DataFrame, spec: ModelSpec,
                             seen_lineages) -> np.ndarray:
    """Index into ``DEVELOPER_KINDS`` of each row's developer, for developers new to a fit.

    The kind is decided as in the fit (:func:`bayes_llm.data.lineage.developer_kinds`) from
    the new developers' own rows, with every lineage of the fit counted as founded by
    someone else: a new developer whose models all derive from bases the fit has seen, or
    from a base another new developer released first, is a fine-tuner.
    """
    from bayes_llm.data.lineage import DEVELOPER_KINDS, developer_kinds, model_lineages

    labels = model_lineages(rows, spec.lineage_source)
    kinds = developer_kinds(rows, labels, frozenset(str(s) for s in seen_lineages))
    return np.array([DEVELOPER_KINDS.index(kinds[d])
                     for d in rows["developer"].astype(str)], dtype=np.int64)


def _nested_new(post: dict[str, np.ndarray], coords: dict[str, list[str]],
                frame: pd.DataFrame, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    groups = list(coords["developer_group"])
    glookup = {g: i for i, g in enumerate(groups)}
    gidx = np.array([glookup.get(str(g), -1)
                     for g in frame["developer_group"].astype(str).to_numpy()[new]])
    group_effect = post["group_effect"]
    mean = np.where(gidx[None, :] >= 0, group_effect[:, np.maximum(gidx, 0)], 0.0)
    dev_var = post["sigma_developer"][:, None] ** 2
    group_var = new_unit_variance(post["sigma_group"] ** 2, len(groups), zero_sum=True)
    var = dev_var + np.where(gidx[None, :] >= 0, 0.0, group_var[:, None])
    return mean, np.broadcast_to(var, mean.shape)


__all__ = ["DeveloperTerms", "UnknownGroupError", "developer_terms", "new_developer_kind_index",
           "new_unit_variance", "row_units"]
