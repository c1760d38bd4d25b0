"""Exports that carry the fit's diagnostic status: parameter summary, per-draw headline values.

Every exported table gets two columns, ``fit_diagnostics_ok`` and ``fit_diagnostics`` (``ok``
or ``FAILED: <reasons>``), and every netCDF file the same as attributes, so a number never
leaves the package without the state of the fit it came from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from bayes_llm.atomic import write_text_atomic
from bayes_llm.derived.summary import resolve_interval

#: File names written by :func:`write_exports`.
PARAMETER_SUMMARY_CSV = "parameter_summary.csv"
HEADLINE_DRAWS_NC = "headline_draws.nc"
#: The parameter summary kept in a fit folder (:mod:`bayes_llm.derived.fit_cache`), per
#: interval: ArviZ's summary of thousands of draws is the slow part of the exports.
PARAMETER_SUMMARY_CACHE = "headline_parameter_summary.json"
#: Characters netCDF (and every netCDF reader) accepts in a variable name, besides letters.
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def diagnostics_status(fit) -> tuple[bool, str]:
    """Return ``(ok, text)``: ``(True, "ok")`` or ``(False, "FAILED: reason; reason")``."""
    diag = getattr(fit, "diagnostics", None)
    if diag is None:  # a fit-like object without diagnostics (e.g. the OLS pseudo-fit)
        return True, "not applicable"
    if diag.ok:
        return True, "ok"
    return False, "FAILED: " + "; ".join(diag.failures)


def diagnostics_banner(fit) -> str | None:
    """Return a loud banner for a failing fit, or ``None`` when it passed."""
    ok, _ = diagnostics_status(fit)
    if ok:
        return None
    failures = list(fit.diagnostics.failures)
    shown = "; ".join(failures[:3]) + (f"; +{len(failures) - 3} more" if len(failures) > 3
                                       else "")
    return ("!! MCMC DIAGNOSTICS FAILED for this fit: every figure below is provisional "
            f"!! ({shown})")


def with_diagnostics(frame: pd.DataFrame, fit) -> pd.DataFrame:
    """Return ``frame`` with ``fit_diagnostics_ok`` and ``fit_diagnostics`` columns added."""
    ok, text = diagnostics_status(fit)
    out = frame.copy()
    out["fit_diagnostics_ok"] = ok
    out["fit_diagnostics"] = text
    out.attrs.update(frame.attrs)
    return out


def parameter_summary(fit, *, hdi_prob: float | None = None,
                      ci_kind: str | None = None) -> pd.DataFrame:
    """ArviZ's summary of every posterior variable without a per-model dimension.

    Parameters
    ----------
    fit : Fit
        A fit.
    hdi_prob, ci_kind : optional
        The interval (``None``: the project's setting, read now).

    The table is computed once per fit folder and interval and kept there
    (:data:`PARAMETER_SUMMARY_CACHE`, checksum-verified, keyed by the posterior's SHA-256,
    the interval, the ArviZ version and this module's source).

    Returns
    -------
    DataFrame
        ArviZ's columns (``mean, sd``, the interval bounds, ``ess_bulk``, ``ess_tail``,
        ``r_hat``, MCSE...) with the parameter name as the first column ``parameter``,
        then ``hdi_prob``/``ci_kind`` and the fit's diagnostic status.
    """
    from bayes_llm.derived.fit_cache import cached_in_fit_folder, code_hash

    prob, kind = resolve_interval(hdi_prob, ci_kind)
    key = {"version": 1, "posterior_sha256": fit.metadata.get("file_sha256", {}).get(
               "posterior.nc"), "ci_prob": prob, "ci_kind": kind,
           "arviz_stats": _version("arviz_stats"), "code_sha256": code_hash(["report/exports.py"])}
    table = cached_in_fit_folder(
        fit, PARAMETER_SUMMARY_CACHE, key, lambda: _parameter_summary(fit, prob, kind),
        _encode_table, _decode_table)
    return with_diagnostics(table, fit)


def _parameter_summary(fit, prob: float, kind: str) -> pd.DataFrame:
    import arviz_stats as az  # without arviz_plots and matplotlib

    post = fit.dt["posterior"]
    names = [str(v) for v in post.data_vars if "model" not in post[v].dims]
    table = az.summary(fit.dt, var_names=names, ci_prob=prob, ci_kind=kind)
    table = table.rename_axis("parameter").reset_index()
    table["ci_prob"] = prob
    table["ci_kind"] = kind
    return table


def _encode_table(table: pd.DataFrame) -> dict:
    """Columns in order and their values (JSON keeps every float exactly)."""
    return {"columns": [str(c) for c in table.columns],
            "values": [table[c].tolist() for c in table.columns]}


def _decode_table(stored: dict) -> pd.DataFrame:
    return pd.DataFrame(dict(zip(stored["columns"], stored["values"], strict=True)))


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def netcdf_name(name: str, taken: set[str] | None = None) -> str:
    """Return a netCDF-safe name: letters, digits and ``_``, starting with a letter.

    ``developer_multiplier[Other, Large]`` becomes ``developer_multiplier_Other_Large``;
    a name already in ``taken`` gets a numeric suffix.
    """
    safe = _UNSAFE.sub("_", name).strip("_") or "value"
    if not safe[0].isalpha():
        safe = "v_" + safe
    if taken is not None:
        base, i = safe, 2
        while safe in taken:
            safe, i = f"{base}_{i}", i + 1
        taken.add(safe)
    return safe


def headline_draws_dataset(draws, fit=None):
    """Return the per-draw headline Dataset with netCDF-safe names and the fit's status.

    Each variable keeps its original figure id in the ``figure`` attribute; the Dataset's
    attributes (strings and numbers only) carry the fit's diagnostic status.
    """
    import xarray as xr

    taken: set[str] = set()
    variables = {}
    for name in draws.data_vars:
        da = draws[name].copy()
        da.attrs = {k: v for k, v in da.attrs.items() if isinstance(v, str | int | float)}
        da.attrs["figure"] = str(name)
        variables[netcdf_name(str(name), taken)] = da
    out = xr.Dataset(variables)  # built at once: adding 50 variables one by one merges 50 times
    attrs = {k: v for k, v in draws.attrs.items() if isinstance(v, str | int | float)}
    attrs = {k: ("" if v is None else v) for k, v in attrs.items()}
    if fit is not None:
        ok, text = diagnostics_status(fit)
        attrs["fit_diagnostics_ok"] = int(ok)
        attrs["fit_diagnostics"] = text
    out.attrs = attrs
    return out


def write_headline_draws(draws, path: str | os.PathLike, fit=None) -> Path:
    """Write the per-draw headline quantities to a netCDF file atomically."""
    from bayes_llm.atomic import atomic_path

    path = Path(path)
    ds = headline_draws_dataset(draws, fit)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def stamp_markdown(path: str | os.PathLike, fit) -> Path:
    """Put the fit's diagnostic status at the top of a Markdown export (rewritten atomically).

    A failing fit gets the loud banner of :func:`diagnostics_banner` as the first line;
    a passing one a ``fit diagnostics: ok`` line under the title.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    banner = diagnostics_banner(fit)
    status = f"**{banner}**" if banner else f"fit diagnostics: {diagnostics_status(fit)[1]}"
    at = 1 if lines and lines[0].startswith("#") and not banner else 0
    lines[at:at] = ["", status] if at else [status, ""]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def write_parameter_summary(fit, path: str | os.PathLike, *, hdi_prob: float | None = None,
                            ci_kind: str | None = None) -> Path:
    """Write :func:`parameter_summary` as CSV atomically."""
    table = parameter_summary(fit, hdi_prob=hdi_prob, ci_kind=ci_kind)
    return write_text_atomic(Path(path), table.to_csv(index=False, float_format="%.6g",
                                                      lineterminator="\n"))


__all__ = ["HEADLINE_DRAWS_NC", "PARAMETER_SUMMARY_CSV", "diagnostics_banner",
           "diagnostics_status", "headline_draws_dataset", "netcdf_name", "parameter_summary",
           "stamp_markdown", "with_diagnostics", "write_headline_draws",
           "write_parameter_summary"]
