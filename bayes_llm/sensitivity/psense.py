"""Power-scaling sensitivity of the headline figures (no refitting).

Power-scaling (Kallioinen et al. 2024, ``arviz.psense``) perturbs the prior or the
likelihood of a fitted model by raising it to a power close to one, and measures by
importance sampling how far each posterior quantity moves (a cumulative Jensen-Shannon
distance per unit of log power). The project applies it

* to each **posterior headline figure**: the per-draw figures from the derived module are
  added to a copy of the posterior, so the diagnostic speaks directly about "80-90%" and
  "14-18%". The paper's Shapley statistic, its bootstrap band and its null reference are
  not posterior quantities (they do not depend on the prior or the likelihood of the
  model) and are never passed here; any per-draw figure whose ``kind`` attribute is not
  ``posterior`` is skipped with a note;
* jointly over the **top-level priors** (those with fixed hyper-parameters: ``alpha``,
  ``beta``, the ``sigma_*`` scales, ``nu``, unpooled effects...; hierarchical effects are
  conditioned on them and are not power-scaled), and
* to **each top-level prior on its own**, to say which prior a figure leans on.

Verdicts follow ArviZ's rule with its 0.05 threshold, in plain words:

``prior-data conflict``
    Both prior and likelihood power-scaling move the figure: the prior and the data pull
    in different directions. Check the prior.
``weak likelihood``
    The prior moves the figure and the likelihood hardly does: the data say little and
    the prior dominates this figure.
``robust``
    The prior does not move the figure (the likelihood may): data-driven.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.sensitivity.headline import compute_headline_draws
from bayes_llm.sensitivity.study import used_priors

#: psense threshold (ArviZ's default): sensitivity at or above it counts.
THRESHOLD = 0.05
#: Spec prior name -> the free variable(s) of the model that carry it (first present wins;
#: unpooled effects are sum-to-zero ``period_effect`` / ``developer_effect`` with a fixed
#: scale, older fits name them ``*_fixed_effect``).
PRIOR_VARIABLES: dict[str, tuple[str, ...]] = {
    "alpha": ("alpha",), "beta": ("beta",), "sigma_period": ("sigma_period",),
    "period_drift": ("period_drift",),
    "period_fixed": ("period_fixed_effect", "period_effect"),
    "sigma_developer": ("sigma_developer", "sigma_developer_kind"), "sigma_group": ("sigma_group",),
    "developer_fixed": ("developer_fixed_effect", "developer_effect"),
    "sigma_slope": ("sigma_slope",), "sigma_interaction": ("sigma_interaction",),
    "sigma_model": ("sigma_model",), "sigma": ("sigma",), "nu": ("nu",), "mu_x": ("mu_x",),
    "sigma_x": ("sigma_x",),
}
VERDICTS = {
    "prior-data conflict": "prior and data pull this figure in different directions; "
                           "check the prior",
    "weak likelihood": "the prior dominates this figure; the data say little about it",
    "robust": "the prior does not move this figure; it is driven by the data",
}


def verdict(prior: float, likelihood: float, *, threshold: float = THRESHOLD) -> str:
    """Return a plain-language verdict from prior and likelihood sensitivity (ArviZ's rule).

    Returns
    -------
    str
        ``"prior-data conflict"``, ``"weak likelihood"`` or ``"robust"``.
    """
    if not (np.isfinite(prior) and np.isfinite(likelihood)):
        return "undetermined"
    if prior >= threshold and likelihood >= threshold:
        return "prior-data conflict"
    if prior >= threshold > likelihood:
        return "weak likelihood"
    return "robust"


def top_level_priors(fit) -> list[str]:
    """Return the fit's power-scalable priors: free variables with fixed hyper-parameters.

    Returns
    -------
    list of str
        Variable names of the ``log_prior`` group, in :data:`PRIOR_VARIABLES` order.
    """
    names = set(fit.dt["log_prior"].to_dataset().data_vars)
    used = set(used_priors(fit.spec))
    out = []
    for prior, candidates in PRIOR_VARIABLES.items():
        present = [v for v in candidates if v in names]
        if prior in used and present:
            out.append(present[0])
    return out


@dataclass
class PsenseResult:
    """Power-scaling sensitivity of one fit.

    Attributes
    ----------
    summary : DataFrame
        One row per headline figure and top-level parameter: ``quantity``, ``kind``
        (``figure`` / ``parameter``), ``label``, ``prior_sensitivity`` (all top-level
        priors jointly), ``likelihood_sensitivity``, ``diagnosis`` (ArviZ's words),
        ``verdict`` and ``explanation``.
    by_prior : DataFrame
        Long table: ``quantity``, ``kind``, ``prior`` (one top-level prior at a time),
        ``prior_sensitivity``, ``sensitive`` (at or above the threshold).
    priors : list of str
        The top-level priors that were power-scaled.
    """

    summary: pd.DataFrame
    by_prior: pd.DataFrame
    priors: list[str]
    threshold: float = THRESHOLD
    variant: str = ""
    notes: list[str] = field(default_factory=list)

    def verdicts(self) -> dict[str, str]:
        """Figure id -> verdict, for the headline figures."""
        rows = self.summary[self.summary["kind"] == "figure"]
        return dict(zip(rows["quantity"], rows["verdict"], strict=True))

    def to_text(self) -> str:
        """Render a readable report: one line per quantity, and which prior matters most."""
        lines = [f"power-scaling sensitivity (threshold {self.threshold}); top-level priors: "
                 f"{', '.join(self.priors)}"]
        top = (self.by_prior.sort_values("prior_sensitivity", ascending=False)
               .drop_duplicates("quantity").set_index("quantity")["prior"])
        for row in self.summary.itertuples(index=False):
            lead = top.get(row.quantity, "")
            lines.append(f"  {row.quantity:<28} prior {row.prior_sensitivity:6.3f}  "
                         f"likelihood {row.likelihood_sensitivity:6.3f}  {row.verdict}"
                         + (f" (most sensitive to {lead})" if lead and row.verdict != "robust"
                            else ""))
        return "\n".join(lines) + "\n"


def _tree_with(fit, extra: xr.Dataset, params: list[str]) -> xr.DataTree:
    post = fit.dt["posterior"].to_dataset()
    data = xr.merge([post[params], extra], compat="override", join="exact")
    return xr.DataTree.from_dict({
        "posterior": data,
        "log_prior": fit.dt["log_prior"].to_dataset(),
        "log_likelihood": fit.dt["log_likelihood"].to_dataset(),
    })


#: Relative spread below which a figure counts as the same in every draw (rounding only).
SAME_IN_EVERY_DRAW_RTOL = 1e-9


def _scalar_figures(draws: xr.Dataset) -> tuple[xr.Dataset, list[str]]:
    """Keep figures that are one finite number per draw; explain the others."""
    keep, notes = {}, []
    for name, da in draws.data_vars.items():
        kind = da.attrs.get("kind", "posterior")
        if kind != "posterior":
            notes.append(f"figure '{name}' is a {kind}, not a posterior; not power-scaled")
            continue
        extra_dims = [d for d in da.dims if d not in ("chain", "draw")]
        if extra_dims and da.squeeze(drop=True).ndim > 2:
            notes.append(f"figure '{name}' has more than one value per draw; not power-scaled")
            continue
        da = da.squeeze(drop=True) if extra_dims else da
        if not np.all(np.isfinite(da.to_numpy())):
            why = da.attrs.get("note", "it has non-finite draws")
            notes.append(f"figure '{name}' is not computable for this fit ({why}); skipped")
            continue
        values = da.to_numpy()
        # the same up to rounding: a figure computed from the data through per-draw
        # arithmetic (e.g. alpha + components = the observed score) differs in the last bits
        if values.size and np.ptp(values) <= SAME_IN_EVERY_DRAW_RTOL * max(
                1.0, float(np.abs(values).max())):
            notes.append(f"figure '{name}' is the same in every draw (a property of the data, "
                         "not of the posterior); not power-scaled")
            continue
        keep[str(name)] = da
    return xr.Dataset(keep), notes


def psense_headline(fit, *, options: dict[str, Any] | None = None,
                    draws: xr.Dataset | None = None, threshold: float = THRESHOLD,
                    alphas: tuple[float, float] = (0.99, 1.01)) -> PsenseResult:
    """Power-scaling sensitivity of a fit's headline figures and top-level parameters.

    Parameters
    ----------
    fit : Fit
        A fit with ``log_prior`` and ``log_likelihood`` groups (every project fit has them).
    options : dict, optional
        Headline options (as in a study's ``[headline]``).
    draws : Dataset, optional
        Precomputed per-draw headline figures; default
        :func:`bayes_llm.sensitivity.headline.compute_headline_draws`.
    threshold : float
        Sensitivity threshold of the verdicts.
    alphas : tuple of float
        Power-scaling exponents (ArviZ's default).

    Returns
    -------
    PsenseResult
    """
    import arviz as az

    priors = top_level_priors(fit)
    if draws is None:
        draws = compute_headline_draws(fit, options)
    draws, notes = _scalar_figures(draws)
    figures = list(draws.data_vars)
    params = [p for p in priors if fit.dt["posterior"][p].ndim == 2]
    tree = _tree_with(fit, draws, params)
    names = [*figures, *params]
    quiet = logging.getLogger("arviz_stats.psense")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        joint = az.psense_summary(tree, var_names=names, prior_var_names=priors,
                                  threshold=threshold, alphas=alphas, round_to=6)
        per_prior = []
        for prior in priors:
            ds = az.psense(tree, var_names=names, group="prior", group_var_names=[prior],
                           alphas=alphas)
            for name in names:
                per_prior.append({"quantity": name,
                                  "kind": "figure" if name in figures else "parameter",
                                  "prior": prior,
                                  "prior_sensitivity": float(np.asarray(ds[name]).max())})
    finally:
        quiet.setLevel(level)
    rows = []
    for name in names:
        row = joint.loc[name]
        p, lik = float(row["prior"]), float(row["likelihood"])
        v = verdict(p, lik, threshold=threshold)
        rows.append({"quantity": name, "kind": "figure" if name in figures else "parameter",
                     "label": str(draws[name].attrs.get("label", "")) if name in figures
                     else "", "prior_sensitivity": p, "likelihood_sensitivity": lik,
                     "diagnosis": str(row["diagnosis"]), "verdict": v,
                     "explanation": VERDICTS.get(v, "")})
    by_prior = pd.DataFrame(per_prior, columns=["quantity", "kind", "prior",
                                                "prior_sensitivity"])
    by_prior["sensitive"] = by_prior["prior_sensitivity"] >= threshold
    return PsenseResult(summary=pd.DataFrame(rows), by_prior=by_prior, priors=priors,
                        threshold=threshold, notes=notes)


__all__ = ["PRIOR_VARIABLES", "THRESHOLD", "VERDICTS", "PsenseResult", "psense_headline",
           "top_level_priors", "verdict"]
