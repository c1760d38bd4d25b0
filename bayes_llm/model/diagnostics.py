"""MCMC diagnostics in one table, and the pass/fail rules the CLI enforces.

Rules (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021): rank-normalised split R-hat
at most :data:`RHAT_MAX`, bulk ESS and tail ESS (the 5% and 95% quantiles: every interval
reported is a 94% HDI) at least :data:`ESS_BULK_MIN` / :data:`ESS_TAIL_MIN`, no divergent
transition, E-BFMI at least :data:`EBFMI_MIN`. They apply to *every* posterior variable,
the per-model latents (``eta``, ``log10_flop_true``) included: the decompositions are built
from them. With fewer than two chains R-hat is undefined (between-chain agreement cannot
be assessed), so the gate fails and says so rather than printing OK.
:func:`diagnose_draws` applies the same R-hat and ESS rules to derived quantities per
draw (e.g. the headline figures).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.model.draw_stats import TAIL_PROB

#: Thresholds: R-hat above, bulk or tail ESS below, any divergence, fail a fit.
RHAT_MAX = 1.01
ESS_BULK_MIN = 400
ESS_TAIL_MIN = 400
EBFMI_MIN = 0.3
#: Chains needed for R-hat to be defined.
MIN_CHAINS = 2
#: Per-model variables: reported as one summary row each (worst element), and checked.
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
                         f"{ESS_BULK_MIN} and tail ESS >= {ESS_TAIL_MIN} for every variable, "
                         "per-model latents included)")
        else:
            lines.append("diagnostics: FAILED")
            lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


def _sample_stat(stats: xr.Dataset, *names: str) -> xr.DataArray | None:
    for name in names:
        if name in stats:
            return stats[name]
    return None


def _table(post: xr.Dataset, names: list[str]) -> pd.DataFrame:
    import arviz_stats as az  # here: loading a fit with its saved diagnostics needs none

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # Constant elements (e.g. a reference level fixed at 0) have undefined R-hat/ESS.
        warnings.simplefilter("ignore")
        rhat = az.rhat(post[names])
        ess_bulk = az.ess(post[names], method="bulk")
        # the 5% and 95% quantiles, as documented: ArviZ's default is its ci_prob (0.89)
        ess_tail = az.ess(post[names], method="tail", prob=(TAIL_PROB, 1.0 - TAIL_PROB))
    rows = []
    for name in names:
        r = np.asarray(rhat[name]).ravel()
        b = np.asarray(ess_bulk[name]).ravel()
        t = np.asarray(ess_tail[name]).ravel()
        defined = np.isfinite(b)
        rows.append({
            "variable": name,
            "size": int(post[name].isel(chain=0, draw=0).size),
            "r_hat_max": float(np.nanmax(r)) if np.isfinite(r).any() else np.nan,
            "ess_bulk_min": float(np.nanmin(b)) if defined.any() else np.nan,
            "ess_tail_min": float(np.nanmin(t)) if np.isfinite(t).any() else np.nan,
            "checked": bool(defined.any()),
        })
    return pd.DataFrame(rows).set_index("variable")


def _rule_failures(table: pd.DataFrame, n_chains: int) -> list[str]:
    failures = []
    if n_chains < MIN_CHAINS:
        failures.append(f"R-hat is undefined with {n_chains} chain (needs >= {MIN_CHAINS} "
                        "chains): convergence cannot be assessed")
    for name, row in table[table["checked"]].iterrows():
        if n_chains >= MIN_CHAINS and np.isfinite(row["r_hat_max"]) \
                and row["r_hat_max"] > RHAT_MAX:
            failures.append(f"{name}: R-hat {row['r_hat_max']:.3f} > {RHAT_MAX}")
        if np.isfinite(row["ess_bulk_min"]) and row["ess_bulk_min"] < ESS_BULK_MIN:
            failures.append(f"{name}: bulk ESS {row['ess_bulk_min']:.0f} < {ESS_BULK_MIN}")
        if np.isfinite(row["ess_tail_min"]) and row["ess_tail_min"] < ESS_TAIL_MIN:
            failures.append(f"{name}: tail ESS {row['ess_tail_min']:.0f} < {ESS_TAIL_MIN}")
    return failures


def diagnose_draws(draws: xr.Dataset) -> tuple[pd.DataFrame, list[str]]:
    """R-hat, bulk and tail ESS of derived quantities per draw, and the gate's verdict.

    Parameters
    ----------
    draws : Dataset
        Variables with ``chain`` and ``draw`` dimensions (and any others), e.g. the
        headline figures of :func:`bayes_llm.derived.headline.headline_draws`. Variables
        that are NaN or constant in every draw are reported and not checked.

    Returns
    -------
    (table, failures)
        ``table`` as :attr:`Diagnostics.table`; ``failures`` the broken rules (empty
        when every checked quantity passes; with one chain, R-hat is undefined and that
        is a failure).
    """
    names = [str(v) for v in draws.data_vars]
    table = _table(draws, names)
    return table, _rule_failures(table, int(draws.sizes.get("chain", 1)))


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
    table = _table(post, names)
    stats = dt["sample_stats"].to_dataset() if "sample_stats" in dt else xr.Dataset()
    div = _sample_stat(stats, "diverging")
    depth = _sample_stat(stats, "maxdepth_reached", "reached_max_treedepth")
    n_div = int(div.sum()) if div is not None else 0
    n_depth = int(depth.sum()) if depth is not None else 0
    import arviz_stats as az

    ebfmi = (np.atleast_1d(az.bfmi(dt)["energy"].values).astype(float).tolist()
             if "energy" in stats else [])
    sampler = {"divergences": n_div, "treedepth_saturated": n_depth, "ebfmi": ebfmi,
               "chains": int(post.sizes["chain"]), "draws": int(post.sizes["draw"])}
    return Diagnostics(table=table, sampler=sampler, failures=_failures(table, sampler))


def _failures(table: pd.DataFrame, sampler: dict) -> list[str]:
    """List the broken rules, from the per-variable table and the sampler statistics."""
    failures = _rule_failures(table, int(sampler["chains"]))
    n_div = sampler["divergences"]
    if n_div:
        failures.append(f"{n_div} divergent transitions")
    low = [f"{v:.2f}" for v in sampler["ebfmi"] if v < EBFMI_MIN]
    if low:
        failures.append(f"E-BFMI below {EBFMI_MIN} in {len(low)} chain(s): {', '.join(low)}")
    return failures


#: Columns of :attr:`Diagnostics.table` (index ``variable``), as saved in diagnostics.csv.
TABLE_COLUMNS = ("size", "r_hat_max", "ess_bulk_min", "ess_tail_min", "checked")
#: Keys of :attr:`Diagnostics.sampler` and their JSON types, as saved in metadata.json.
SAMPLER_FIELDS: dict[str, type] = {"divergences": int, "treedepth_saturated": int,
                                   "ebfmi": list, "chains": int, "draws": int}


def diagnostics_from_saved(table: pd.DataFrame, sampler: dict) -> Diagnostics:
    """Rebuild a fit's :class:`Diagnostics` from what :meth:`~bayes_llm.model.fit.Fit.save` wrote.

    The per-variable table (``diagnostics.csv``) and the sampler statistics (the
    ``diagnostics.sampler`` record of ``metadata.json``) are the numbers :func:`diagnose`
    computed when the fit was made; the verdict is re-derived from them with the current
    rules, so it equals :func:`diagnose` on the same posterior without recomputing R-hat
    and ESS (seconds on a large fit).

    Parameters
    ----------
    table : DataFrame
        Index ``variable``, columns :data:`TABLE_COLUMNS`.
    sampler : dict
        Keys :data:`SAMPLER_FIELDS`.

    Raises
    ------
    ValueError
        Missing or mistyped columns or keys (the caller names the file).
    """
    if table.index.name != "variable" or list(table.columns) != list(TABLE_COLUMNS):
        raise ValueError(f"columns {[table.index.name, *table.columns]}, expected "
                         f"{['variable', *TABLE_COLUMNS]}")
    if table.index.has_duplicates:
        raise ValueError("a variable is listed twice")
    if table["checked"].dtype != bool or table["size"].dtype.kind not in "iu":
        raise ValueError("'checked' must be True/False and 'size' an integer")
    for name in ("r_hat_max", "ess_bulk_min", "ess_tail_min"):
        if table[name].dtype.kind != "f":
            raise ValueError(f"'{name}' is not numeric")
    if set(sampler) != set(SAMPLER_FIELDS):
        raise ValueError(f"sampler record has keys {sorted(sampler)}, expected "
                         f"{sorted(SAMPLER_FIELDS)}")
    for name, kind in SAMPLER_FIELDS.items():
        value = sampler[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"sampler record '{name}' is {type(value).__name__}, not "
                             f"{kind.__name__}")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in sampler["ebfmi"]):
        raise ValueError("sampler record 'ebfmi' holds a non-number")
    sampler = {**sampler, "ebfmi": [float(v) for v in sampler["ebfmi"]]}
    table = table.astype({"size": int, "checked": bool})
    return Diagnostics(table=table, sampler=sampler, failures=_failures(table, sampler))
