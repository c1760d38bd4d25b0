"""The headline figures of a fit, as the sensitivity study needs them.

The figures themselves are defined in :mod:`bayes_llm.derived` (``headline_table``,
``headline_draws`` and ``HEADLINE_FIGURES``). This module adapts them to one tidy row
format, passes a study's headline options through, and fingerprints the derived code so
that cached headline tables are recomputed (without refitting) when it changes.

When :mod:`bayes_llm.derived` does not provide the headline functions (e.g. in a partial
checkout) a small built-in set of structural figures is used instead: the compute slope
and the variance shares of the compute, period, developer and model components. Such
tables say so in their ``source`` column.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.constants import CI_KIND, HDI_PROB
from bayes_llm.errors import SpecError

#: Columns of a normalised headline table, in order (probability columns follow).
HEADLINE_COLUMNS = ["figure", "figure_label", "paper_value", "median", "lower", "upper"]
#: Candidate column names in the derived table, per normalised column.
_ALIASES: dict[str, tuple[str, ...]] = {
    "figure": ("figure", "figure_id", "id", "key", "name"),
    "figure_label": ("label", "figure_label", "description"),
    "paper_value": ("paper_value", "paper", "paper_point", "paper_estimate"),
    "median": ("median", "estimate", "posterior_median"),
    "lower": ("hdi_lower", "lower", "ci_lower", "hdi_low", "low"),
    "upper": ("hdi_upper", "upper", "ci_upper", "hdi_high", "high"),
}
#: Version of the normalised headline table layout (part of the headline cache tag).
HEADLINE_FORMAT_VERSION = 2
FALLBACK_SOURCE = "bayes_llm.sensitivity (fallback: bayes_llm.derived has no headline_table)"


# --------------------------------------------------------------------------- fallback
def _fallback_draws(fit) -> xr.Dataset:
    from bayes_llm.model.components import linear_components

    comps = linear_components(fit.dt)
    model = "model_effect" if "model_effect" in comps else "model"
    variances = {name: comps[var].var("model") for name, var in (
        ("compute", "compute"), ("period", "period"), ("developer", "developer"),
        ("model", model))}
    total = sum(variances.values())
    out = {"beta": fit.dt["posterior"]["beta"]}
    for name, var in variances.items():
        out[f"{name}_share"] = var / total
    return xr.Dataset(out)


_FALLBACK_FIGURES = {
    "beta": "logit change per 10x compute",
    "compute_share": "share of variance from compute",
    "period_share": "share of variance from period effects",
    "developer_share": "share of variance from developer effects",
    "model_share": "share of variance from model-level effects",
}


def _fallback_table(fit, **_: Any) -> pd.DataFrame:
    draws = _fallback_draws(fit)
    rows = []
    for figure, label in _FALLBACK_FIGURES.items():
        rows.append({"figure": figure, "figure_label": label, "paper_value": np.nan,
                     **_summary(draws[figure])})
    return pd.DataFrame(rows)


def _summary(da: xr.DataArray) -> dict[str, float]:
    import arviz as az

    values = np.asarray(da, dtype=float)
    if not np.all(np.isfinite(values)):
        return {"median": float(np.nanmedian(values)), "lower": np.nan, "upper": np.nan}
    func = az.hdi if CI_KIND == "hdi" else az.eti
    bounds = func(da, prob=HDI_PROB, dim=["chain", "draw"])
    return {"median": float(da.median(["chain", "draw"])),
            "lower": float(bounds.sel(ci_bound="lower")),
            "upper": float(bounds.sel(ci_bound="upper"))}


# --------------------------------------------------------------------------- adapter
def headline_functions() -> tuple[Callable, Callable, str]:
    """Return ``(table_fn, draws_fn, source)``: the derived headline functions or the fallback."""
    try:
        from bayes_llm import derived
    except ImportError:
        return _fallback_table, _fallback_draws, FALLBACK_SOURCE
    table_fn = getattr(derived, "headline_table", None)
    draws_fn = getattr(derived, "headline_draws", None)
    if table_fn is None or draws_fn is None:
        return _fallback_table, _fallback_draws, FALLBACK_SOURCE
    return table_fn, draws_fn, "bayes_llm.derived"


def headline_figures() -> list[str]:
    """Return the ids of the headline figures, in their canonical order."""
    try:
        from bayes_llm import derived

        figures = getattr(derived, "HEADLINE_FIGURES", None)
    except ImportError:
        figures = None
    if figures is None:
        return list(_FALLBACK_FIGURES)
    if isinstance(figures, dict):
        return [str(k) for k in figures]
    out = []
    for item in figures:
        for attr in ("figure", "figure_id", "id", "key", "name"):
            if hasattr(item, attr):
                out.append(str(getattr(item, attr)))
                break
        else:
            out.append(str(item[0]) if isinstance(item, tuple | list) else str(item))
    return out


def derived_fingerprint() -> str:
    """Return a SHA-256 prefix of the source of :mod:`bayes_llm.derived` and the table format.

    It covers :mod:`bayes_llm.sensitivity.joint` too, which makes the joint variant's rows.

    A cached headline table is reused only while this fingerprint is unchanged (bump
    :data:`HEADLINE_FORMAT_VERSION` when :func:`normalise_headline` changes).
    """
    digest = hashlib.sha256(f"format {HEADLINE_FORMAT_VERSION}".encode())
    files: list[Path] = []
    try:
        from bayes_llm import derived

        files += sorted(Path(derived.__file__).parent.glob("*.py"))
    except ImportError:
        pass
    files.append(Path(__file__).with_name("joint.py"))  # the joint variant's rows
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def check_headline_options(options: dict[str, Any], *, where: str = "headline") -> None:
    """Fail clearly when the headline computation does not accept an option.

    Raises
    ------
    SpecError
        Naming the option and the options that are accepted.
    """
    if not options:
        return
    table_fn, _, source = headline_functions()
    params = inspect.signature(table_fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY
                or (p.kind is p.POSITIONAL_OR_KEYWORD and n not in ("fit", "baseline"))]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SpecError(f"{where}: option(s) {', '.join(unknown)} not supported by the "
                        f"headline computation ({source}); it accepts: "
                        f"{', '.join(accepted) or 'no options'}")


def normalise_headline(table: pd.DataFrame) -> pd.DataFrame:
    """Rename a derived headline table to :data:`HEADLINE_COLUMNS`, other columns after.

    ``label`` becomes ``figure_label``, ``estimate`` (older tables: ``posterior_median``)
    ``median``, ``lower``/``upper`` (older: ``hdi_lower``/``hdi_upper``) stay; the long
    ``definition`` text is dropped (it is the same for every variant); every other column
    (``kind``, ``unit``, ``paper_claim``, ``p_claim``, ``statement``, ``probability``,
    ``rhat``, ``ess_bulk``, ``ess_tail``, ``note``, ...) is kept.
    """
    table = table.reset_index(drop=table.index.name is None)
    rename = {}
    for target, names in _ALIASES.items():
        if target in table.columns:
            continue
        for name in names:
            if name in table.columns and name not in rename:
                rename[name] = target
                break
    table = table.rename(columns=rename).drop(columns=["definition"], errors="ignore")
    for col in HEADLINE_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan if col not in ("figure", "figure_label") else ""
    table["figure"] = table["figure"].astype(str)
    extra = [c for c in table.columns if c not in HEADLINE_COLUMNS]
    return table[[*HEADLINE_COLUMNS, *extra]].reset_index(drop=True)


def compute_headline(fit, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Return the fit's headline figures as a normalised table.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    options : dict, optional
        Passed to ``headline_table`` as keyword arguments (frontier definition, reference
        model, ... as far as it accepts them).

    Returns
    -------
    DataFrame
        Columns :data:`HEADLINE_COLUMNS`, then any probability columns, then ``source``.
    """
    options = dict(options or {})
    table_fn, _, source = headline_functions()
    check_headline_options(options)
    table = normalise_headline(table_fn(fit, **options))
    table["source"] = source
    return table


def compute_headline_draws(fit, options: dict[str, Any] | None = None) -> xr.Dataset:
    """Return per-draw headline figures (dims ``chain``, ``draw``), one variable per figure."""
    options = dict(options or {})
    _, draws_fn, _ = headline_functions()
    params = inspect.signature(draws_fn).parameters
    accepts = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in options.items() if accepts or k in params}
    out = draws_fn(fit, **kwargs)
    if isinstance(out, xr.DataArray):
        dim = next(d for d in out.dims if d not in ("chain", "draw"))
        out = out.to_dataset(dim=dim)
    return out


__all__ = ["HEADLINE_COLUMNS", "check_headline_options", "compute_headline",
           "compute_headline_draws", "derived_fingerprint", "headline_figures",
           "headline_functions", "normalise_headline"]
