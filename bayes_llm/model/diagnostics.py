"""MCMC diagnostics in one table, and the pass/fail rules the CLI enforces."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

#: Thresholds: R-hat above, bulk ESS below, any divergence, fail a fit.
RHAT_MAX = 1.01
ESS_BULK_MIN = 400
EBFMI_MIN = 0.3
#: Per-model variables: reported as a summary row, not checked one by one.
PER_MODEL_VARS = ("eta", "log10_flop_true")


@dataclass
class Diagnostics:
    """Convergence diagnostics of one fit.

    Attributes
    ----------
    table : DataFrame
        One row per variable: worst R-hat, smallest bulk and tail ESS, number of elements.
    sampler : dict
        Divergences, tree-depth saturation, E-BFMI per chain, draws and chains.
    failures : list of str
        Human-readable reasons the fit fails the rules (empty when it passes).
    """

    table: pd.DataFrame
    sampler: dict
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every rule passed."""
        return not self.failures

    def to_text(self) -> str:
        """Render the table, the sampler statistics and the verdict."""
        lines = [self.table.to_string(float_format=lambda v: f"{v:.4g}"), ""]
        s = self.sampler
        lines.append(f"divergences: {s['divergences']} | max tree depth reached: "
                     f"{s['treedepth_saturated']} draws | E-BFMI per chain: "
                     + ", ".join(f"{v:.2f}" for v in s["ebfmi"]))
        if self.ok:
            lines.append(f"diagnostics: OK (R-hat <= {RHAT_MAX}, no divergences, bulk ESS >= "
                         f"{ESS_BULK_MIN} for every reported quantity)")
        else:
            lines.append("diagnostics: FAILED")
            lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


def _sample_stat(stats: xr.Dataset, *names: str) -> xr.DataArray | None:
    for name in names:
        if name in stats:
            return stats[name]
    return None


def diagnose(dt: xr.DataTree, *, var_names: list[str] | None = None) -> Diagnostics:
    """Compute R-hat, ESS, divergences, tree-depth saturation and E-BFMI for a fit.

    Parameters
    ----------
    dt : DataTree
        The fit result.
    var_names : list of str, optional
        Variables to check; default every posterior variable.
    """
    post = dt["posterior"].to_dataset()
    names = var_names or [v for v in post.data_vars]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # Constant elements (e.g. a reference level fixed at 0) have undefined R-hat/ESS.
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post[names])
        ess_bulk = az.ess(post[names], method="bulk")
        ess_tail = az.ess(post[names], method="tail")
    rows = []
    for name in names:
        r = np.asarray(rhat[name]).ravel()
        b = np.asarray(ess_bulk[name]).ravel()
        t = np.asarray(ess_tail[name]).ravel()
        finite = np.isfinite(r)
        rows.append({
            "variable": name,
            "size": int(post[name].isel(chain=0, draw=0).size),
            "r_hat_max": float(np.nanmax(r)) if finite.any() else np.nan,
            "ess_bulk_min": float(np.nanmin(b)) if finite.any() else np.nan,
            "ess_tail_min": float(np.nanmin(t)) if finite.any() else np.nan,
            "checked": name not in PER_MODEL_VARS,
        })
    table = pd.DataFrame(rows).set_index("variable")
    stats = dt["sample_stats"].to_dataset() if "sample_stats" in dt else xr.Dataset()
    div = _sample_stat(stats, "diverging")
    depth = _sample_stat(stats, "maxdepth_reached", "reached_max_treedepth")
    n_div = int(div.sum()) if div is not None else 0
    n_depth = int(depth.sum()) if depth is not None else 0
    ebfmi = (np.atleast_1d(az.bfmi(dt)["energy"].values).astype(float).tolist()
             if "energy" in stats else [])
    sampler = {"divergences": n_div, "treedepth_saturated": n_depth, "ebfmi": ebfmi,
               "chains": int(post.sizes["chain"]), "draws": int(post.sizes["draw"])}
    failures = []
    checked = table[table["checked"]]
    for name, row in checked.iterrows():
        if np.isfinite(row["r_hat_max"]) and row["r_hat_max"] > RHAT_MAX:
            failures.append(f"{name}: R-hat {row['r_hat_max']:.3f} > {RHAT_MAX}")
        if np.isfinite(row["ess_bulk_min"]) and row["ess_bulk_min"] < ESS_BULK_MIN:
            failures.append(f"{name}: bulk ESS {row['ess_bulk_min']:.0f} < {ESS_BULK_MIN}")
    if n_div:
        failures.append(f"{n_div} divergent transitions")
    low = [f"{v:.2f}" for v in ebfmi if v < EBFMI_MIN]
    if low:
        failures.append(f"E-BFMI below {EBFMI_MIN} in {len(low)} chain(s): {', '.join(low)}")
    return Diagnostics(table=table, sampler=sampler, failures=failures)
