"""Fit a spec to data, and save and load results with provenance.

A saved fit is a folder::

    posterior.nc      the xarray.DataTree (netCDF via h5netcdf)
    spec.toml         the spec that produced it
    metadata.json     spec hash, data hash, package versions, seed, backend, timings
    diagnostics.csv   the diagnostics table
    models.csv        the models in the fit (id, developer, group, period, compute, score)

The folder is written to a temporary sibling and renamed into place, so an interrupted
save leaves no half-written result. :func:`load_fit` verifies the files and, when given
the current data, that they still match.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from bayes_llm.atomic import atomic_directory
from bayes_llm.data.sources import sha256_of
from bayes_llm.errors import ResultsError, SpecError
from bayes_llm.model.build import build_model
from bayes_llm.model.design import ModelData, data_hash, prepare_data
from bayes_llm.model.diagnostics import Diagnostics, diagnose
from bayes_llm.model.sampling import DEFAULT_BACKEND, sample_posterior
from bayes_llm.model.spec import ModelSpec, load_spec, spec_from_dict

RESULT_FILES = ("posterior.nc", "spec.toml", "metadata.json", "diagnostics.csv", "models.csv")
#: Files whose SHA-256 is recorded in metadata.json and verified on load.
CHECKSUMMED = ("posterior.nc", "spec.toml", "diagnostics.csv", "models.csv")
MODEL_COLUMNS = ("model_id", "developer", "developer_group", "is_major", "cohort", "quarter",
                 "month", "log10_flop", "mmlu_pro_acc", "mmlu_pro_norm", "mmlu_pro_logit",
                 "math_lvl5_acc", "math_lvl5_logit", "compute_is_estimate", "on_hf_leaderboard")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("bayes_llm", "pymc", "pytensor", "arviz", "nutpie", "numpy", "xarray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class Fit:
    """A fitted model: the posterior DataTree plus everything needed to interpret it."""

    spec: ModelSpec
    dt: xr.DataTree
    models: pd.DataFrame
    metadata: dict
    diagnostics: Diagnostics = field(repr=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.diagnostics is None:
            self.diagnostics = diagnose(self.dt)
        self.metadata.setdefault("diagnostics", {
            "ok": self.diagnostics.ok,
            "failures": list(self.diagnostics.failures),
            "sampler": self.diagnostics.sampler,
        })

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as a Dataset."""
        return self.dt["posterior"].to_dataset()

    def summary(self, var_names: list[str] | None = None) -> pd.DataFrame:
        """ArviZ summary at the project's interval (see :data:`bayes_llm.constants.HDI_PROB`)."""
        import arviz as az

        from bayes_llm.constants import CI_KIND, HDI_PROB

        names = var_names or [v for v in self.posterior.data_vars
                              if self.posterior[v].ndim <= 3 and v not in ("eta",)
                              and "model" not in self.posterior[v].dims]
        return az.summary(self.dt, var_names=names, ci_prob=HDI_PROB, ci_kind=CI_KIND)

    def save(self, out: str | os.PathLike) -> Path:
        """Write the result folder atomically and return its path.

        ``metadata.json`` records the SHA-256 of every other file, so :func:`load_fit`
        detects a corrupted or replaced file, even one that still parses.
        """
        out = Path(out)
        with atomic_directory(out) as tmp:
            self.dt.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
            (tmp / "spec.toml").write_text(self.spec.to_toml(), encoding="utf-8")
            self.diagnostics.table.to_csv(tmp / "diagnostics.csv")
            self.models.to_csv(tmp / "models.csv", index=False)
            metadata = dict(self.metadata)
            metadata["file_sha256"] = {name: sha256_of(tmp / name) for name in CHECKSUMMED}
            (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True),
                                               encoding="utf-8")
        return out


def fit_model(
    spec: ModelSpec,
    df: pd.DataFrame,
    *,
    backend: str = DEFAULT_BACKEND,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    progressbar: bool = True,
    cores: int | None = None,
) -> Fit:
    """Prepare data, build the model, sample, and diagnose.

    Parameters
    ----------
    spec : ModelSpec
        The model specification; sampler settings can be overridden by the keywords.
    df : DataFrame
        The canonical model table.
    backend : {"nutpie", "pymc", "numpyro"}
        NUTS backend.
    draws, tune, chains, seed : int, optional
        Override the spec's sampler settings.
    progressbar : bool
        Show sampling progress.
    cores : int, optional
        Parallel chains.

    Returns
    -------
    Fit
    """
    overrides = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains,
                                   "seed": seed}.items() if v is not None}
    if overrides:
        spec = spec.with_changes(sampler=overrides)
    t0 = time.perf_counter()
    data = prepare_data(df, spec)
    model = build_model(data, spec)
    t1 = time.perf_counter()
    dt = sample_posterior(model, spec.sampler, backend=backend, progressbar=progressbar,
                          cores=cores)
    t2 = time.perf_counter()
    metadata = {
        "spec_name": spec.name,
        "spec_hash": spec.hash(),
        "data_hash": data.data_hash,
        "source_file": str(df.attrs.get("source_file", "")),
        "backend": backend,
        "seed": spec.sampler.seed,
        "versions": _versions(),
        "n_models": data.n_models,
        "sample_report": str(data.report),
        "timing_seconds": {"build": round(t1 - t0, 3), "sample": round(t2 - t1, 3)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    models = _models_table(data, spec)
    return Fit(spec=spec, dt=dt, models=models, metadata=metadata)


def _models_table(data: ModelData, spec: ModelSpec) -> pd.DataFrame:
    cols = [c for c in MODEL_COLUMNS if c in data.frame]
    table = data.frame[cols].copy()
    table["period"] = [data.coords["period"][i] for i in data.period_idx]
    table["developer_unit"] = [data.coords["developer"][i] for i in data.developer_idx]
    return table


def load_fit(path: str | os.PathLike, *, df: pd.DataFrame | None = None,
             spec: ModelSpec | None = None) -> Fit:
    """Load a saved fit; check it is complete and, if given, matches data and spec.

    Parameters
    ----------
    path : path
        The result folder written by :meth:`Fit.save`.
    df : DataFrame, optional
        The current canonical data; a different data hash is an error.
    spec : ModelSpec, optional
        The current spec; a different spec hash is an error.

    Raises
    ------
    ResultsError
        Missing, truncated or corrupt files, or a spec/data mismatch.
    """
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such result folder")
    missing = [f for f in RESULT_FILES if not (path / f).is_file()]
    if missing:
        raise ResultsError(f"{path}: incomplete result, missing {', '.join(missing)}")
    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path / 'metadata.json'}: corrupt ({exc})") from exc
    for name, expected in metadata.get("file_sha256", {}).items():
        if name != "spec.toml" and sha256_of(path / name) != expected:
            raise ResultsError(f"{path / name}: cannot be read, the file is corrupt or truncated "
                               "(its SHA-256 differs from the one recorded in metadata.json)")
    try:
        saved_spec = load_spec(path / "spec.toml")
    except SpecError as exc:
        raise ResultsError(f"{path / 'spec.toml'}: corrupt or invalid ({exc})") from exc
    if saved_spec.hash() != metadata.get("spec_hash"):
        raise ResultsError(f"{path}: spec.toml does not match the spec hash recorded in "
                           "metadata.json (edited or corrupt)")
    try:
        dt = xr.open_datatree(path / "posterior.nc", engine="h5netcdf").load()
    except Exception as exc:  # noqa: BLE001 - any read failure means a corrupt file
        raise ResultsError(f"{path / 'posterior.nc'}: cannot be read, the file is corrupt or "
                           f"truncated ({type(exc).__name__}: {exc})") from exc
    if "posterior" not in dt:
        raise ResultsError(f"{path / 'posterior.nc'}: has no posterior group")
    if spec is not None and spec.hash() != saved_spec.hash():
        raise ResultsError(f"{path}: the saved fit was made with a different spec than "
                           f"'{spec.name}' now is; refit it")
    if df is not None:
        current = data_hash(prepare_data(df, saved_spec).frame)
        if current != metadata.get("data_hash"):
            raise ResultsError(f"{path}: the data changed since this fit was made "
                               f"(data hash {current[:12]} != {metadata.get('data_hash', '')[:12]})"
                               "; refit it")
    try:
        models = pd.read_csv(path / "models.csv")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise ResultsError(f"{path / 'models.csv'}: corrupt or empty ({exc})") from exc
    if len(models) != dt["posterior"].sizes.get("model", len(models)):
        raise ResultsError(f"{path / 'models.csv'}: {len(models)} rows but the posterior has "
                           f"{dt['posterior'].sizes['model']} models")
    return Fit(spec=saved_spec, dt=dt, models=models, metadata=metadata)


__all__ = ["Fit", "fit_model", "load_fit", "spec_from_dict"]
