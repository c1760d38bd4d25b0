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

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.atomic import atomic_directory, check_destination
from bayes_llm.data.benchmarks import OUTCOME_BENCHMARKS, outcome_columns
from bayes_llm.data.sources import sha256_of
from bayes_llm.errors import ResultsError, SpecError
from bayes_llm.model.design import ModelData, prepare_data
from bayes_llm.model.diagnostics import (
    TABLE_COLUMNS,
    Diagnostics,
    diagnose,
    diagnostics_from_saved,
)
from bayes_llm.model.sampling import spec_backend
from bayes_llm.model.spec import ModelSpec, load_spec, spec_from_dict

RESULT_FILES = ("posterior.nc", "spec.toml", "metadata.json", "diagnostics.csv", "models.csv")
#: Files whose SHA-256 is recorded in metadata.json and verified on load.
CHECKSUMMED = ("posterior.nc", "spec.toml", "diagnostics.csv", "models.csv")
#: Metadata fields every saved fit has, and their JSON types.
METADATA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "spec_name": str, "spec_hash": str, "data_hash": str, "source_file": str, "backend": str,
    "seed": int, "versions": dict, "n_models": int, "sample_report": str,
    "timing_seconds": dict, "created": str, "file_sha256": dict,
}
#: Optional metadata fields and their JSON types (checked when present).
OPTIONAL_METADATA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "diagnostics": dict, "structure": dict, "sensitivity_cache_key": str,
    "sensitivity_variant": str,
}
#: Columns models.csv must have (the rest of MODEL_COLUMNS depend on the data).
REQUIRED_MODEL_COLUMNS = ("model_id", "developer", "period", "developer_unit")
#: Groups every saved posterior file has.
REQUIRED_GROUPS = ("posterior", "sample_stats")
#: The per-model, per-draw groups that only model comparison and prior sensitivity read
#: (about two thirds of a posterior file): post-processing loads fits without their data
#: (``load_fit(..., omit=POINTWISE_GROUPS)``).
POINTWISE_GROUPS = ("log_likelihood", "log_prior")
MODEL_COLUMNS = ("model_id", "developer", "developer_group", "is_major", "cohort", "quarter",
                 "month", "log10_flop", "mmlu_pro_acc", "mmlu_pro_norm", "mmlu_pro_logit",
                 "math_lvl5_acc", "math_lvl5_logit", "compute_is_estimate", "on_hf_leaderboard",
                 *(c for name in OUTCOME_BENCHMARKS for c in outcome_columns(name)))


_CF_ENCODING_ATTRS = ("_FillValue", "missing_value", "scale_factor", "add_offset")


def open_posterior_file(path: Path) -> xr.DataTree:
    """Open a saved ``posterior.nc`` (lazily), skipping the no-op NaN-mask decoding.

    Every float variable we write carries ``_FillValue = NaN``; xarray's CF decoding then
    replaces NaN by NaN, which copies every array (about 0.4 s on a default fit). When NaN
    fills are the only CF encoding attributes in the file, the file is opened without
    mask-and-scale decoding and the fill value is moved to ``encoding``, where decoding
    would have put it: the result is ``identical`` to the decoded one (tested). Any other
    encoding attribute (a numeric fill, a scale factor) falls back to full decoding.
    """
    dt = xr.open_datatree(path, engine="h5netcdf", mask_and_scale=False)
    variables = [var for node in dt.subtree for var in node.ds.variables.values()]
    if not all(_nan_fill_only(var) for var in variables):
        dt.close()
        return xr.open_datatree(path, engine="h5netcdf")
    for node in dt.subtree:
        for var in node.variables.values():
            if "_FillValue" in var.attrs:
                var.encoding["_FillValue"] = var.attrs.pop("_FillValue")
    return dt


def _nan_fill_only(var: xr.Variable | xr.DataArray) -> bool:
    """Whether a variable's only CF encoding attribute is a float NaN ``_FillValue``."""
    present = [key for key in _CF_ENCODING_ATTRS if key in var.attrs]
    if not present:
        return True
    fill = var.attrs.get("_FillValue")
    return (present == ["_FillValue"] and np.issubdtype(var.dtype, np.floating)
            and np.ndim(fill) == 0 and bool(np.isnan(fill)))


def package_versions() -> dict[str, str]:
    """Versions of the packages that make a fit (recorded in its metadata)."""
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
    #: The result folder the fit was loaded from (``None`` for a fit made in memory); where
    #: post-processing may keep checksum-verified caches (:mod:`bayes_llm.derived.cache`).
    folder: Path | None = field(repr=False, default=None, compare=False)
    #: Groups of the saved posterior file left out of :attr:`dt` (``load_fit(omit=...)``).
    omitted_groups: tuple[str, ...] = field(repr=False, default=(), compare=False)

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
        if self.omitted_groups:
            raise ResultsError(f"this fit was loaded without its {', '.join(self.omitted_groups)}"
                               " group(s); load it in full to save it")
        with atomic_directory(out, kind=None) as tmp:  # metadata.json marks it
            self.dt.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
            (tmp / "spec.toml").write_text(self.spec.to_toml(), encoding="utf-8")
            self.diagnostics.table.to_csv(tmp / "diagnostics.csv")
            self.models.to_csv(tmp / "models.csv", index=False)
            metadata = dict(self.metadata)
            # The structure as read back (netCDF changes some dtypes, e.g. object -> float).
            saved = xr.open_datatree(tmp / "posterior.nc", engine="h5netcdf")
            try:
                metadata["structure"] = posterior_structure(saved)
            finally:
                saved.close()
            metadata["file_sha256"] = {name: sha256_of(tmp / name) for name in CHECKSUMMED}
            (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True),
                                               encoding="utf-8")
        return out


def posterior_structure(dt: xr.DataTree) -> dict[str, dict[str, dict]]:
    """Record every group's variables with their dimensions, shape and dtype.

    Saved in ``metadata.json`` so :func:`load_fit` detects a renamed, dropped, reshaped or
    retyped variable even in a file that still parses.
    """
    out: dict[str, dict[str, dict]] = {}
    for group in sorted(dt.children):
        ds = dt[group].to_dataset()
        out[group] = {str(name): {"dims": [str(d) for d in var.dims],
                                  "shape": [int(n) for n in var.shape],
                                  "dtype": str(var.dtype)}
                      for name, var in sorted(ds.data_vars.items())}
    return out


def estimate_result_bytes(spec: ModelSpec, n_models: int, *, draws: int | None = None,
                          chains: int | None = None) -> int:
    """Estimate the size of a saved fit, to check the destination has room before sampling.

    Per draw and chain: the model-level arrays (latent effect, linear predictor, pointwise
    log-likelihood and prior terms, the true compute under errors-in-variables: about 6
    values per model, as measured on saved fits) plus ~200 scalars and per-group effects;
    8 bytes each, stored uncompressed; plus the tables.
    """
    draws = draws or spec.sampler.draws
    chains = chains or spec.sampler.chains
    per_draw = 8 * ((7 if spec.compute_error else 6) * n_models + 200)
    return int(draws * chains * per_draw + 2_000 * n_models + 1_000_000)


def check_output(out: str | os.PathLike, spec: ModelSpec, n_models: int, *,
                 draws: int | None = None, tune: int | None = None,
                 chains: int | None = None, seed: int | None = None) -> str:
    """Check a fit's destination before sampling (see :func:`bayes_llm.atomic.check_destination`).

    The sampler overrides are validated first (so a draws count beyond the limit is
    reported with the memory it would need), then the destination: a folder we may create
    or replace, writable, with room for the estimated size of the result.

    Returns
    -------
    str
        ``"new"``, or ``"replace"`` when ``out`` is an earlier bayes_llm result that will be
        replaced.

    Raises
    ------
    OutputError
        One line naming ``out`` and the problem; nothing is created.
    """
    overrides = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains,
                                   "seed": seed}.items() if v is not None}
    if overrides:
        spec = spec.with_changes(sampler=overrides)
    return check_destination(out, size_bytes=estimate_result_bytes(spec, n_models))


def draw_integrated_effects(dt: xr.DataTree, data: ModelData, spec: ModelSpec, seed: int,
                            k: np.ndarray | None = None) -> xr.DataTree:
    """Draw what an integrated spec summed out, after sampling (``integrate_model_effect``).

    The model effects ``eta`` given the counts (and, where they were summed out with eta,
    the single-model lineages' effects): :func:`bayes_llm.model.eta_integral.add_eta_draws`.

    Parameters
    ----------
    dt : DataTree
        The sampled posterior (``eta_mean`` in place of ``eta``).
    data : ModelData
        The design the model was built on.
    spec : ModelSpec
        The spec (``integrate_model_effect = true``).
    seed : int
        Seed of the draws.
    k : array, optional
        The counts the posterior was sampled on, when not ``data.k`` (simulation-based
        calibration fits simulated counts on the same design).
    """
    from bayes_llm.model.eta_integral import LineageLayout, add_eta_draws

    # a Laplace model effect or Student-t lineages: every lineage effect was sampled,
    # unless some were summed out on a grid (lineage_grid)
    lineages = (LineageLayout.from_data(data,
                                        singles_summed_out=spec.lineage_singles_summed_out)
                if spec.lineage_singles_summed_out or spec.lineage_grid != "none" else None)
    return add_eta_draws(dt, data.k if k is None else k, data.n, data.guess, seed,
                         data.period_idx, lineages, data.x)


def fit_model(
    spec: ModelSpec,
    df: pd.DataFrame,
    *,
    backend: str | None = None,
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
    backend : {"nutpie", "pymc", "numpyro"}, optional
        NUTS backend; default: the spec's (``pymc`` for the ``[sampler]`` custom steps,
        :data:`~bayes_llm.model.spec.CUSTOM_STEPS`, else ``nutpie``).
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
    from bayes_llm.model.build import build_model, initial_values  # PyMC: only to fit
    from bayes_llm.model.sampling import sample_posterior

    backend = spec_backend(spec, backend)
    overrides = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains,
                                   "seed": seed}.items() if v is not None}
    if overrides:
        spec = spec.with_changes(sampler=overrides)
    t0 = time.perf_counter()
    data = prepare_data(df, spec)
    model = build_model(data, spec)
    t1 = time.perf_counter()
    dt = sample_posterior(model, spec.sampler, backend=backend, progressbar=progressbar,
                          cores=cores, initvals=initial_values(data, spec), data=data)
    if spec.integrate_model_effect:
        dt = draw_integrated_effects(dt, data, spec, spec.sampler.seed)
    t2 = time.perf_counter()
    metadata = {
        "spec_name": spec.name,
        "spec_hash": spec.hash(),
        "data_hash": data.data_hash,
        "source_file": str(df.attrs.get("source_file", "")),
        "backend": backend,
        "seed": spec.sampler.seed,
        "versions": package_versions(),
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


def _read_metadata(path: Path) -> dict:
    meta_path = path / "metadata.json"
    try:
        text = meta_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{meta_path}: corrupt (not UTF-8 text: {exc.reason} at byte "
                           f"{exc.start})") from exc
    except OSError as exc:
        raise ResultsError(f"{meta_path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{meta_path}: corrupt ({exc})") from exc
    if not isinstance(metadata, dict):
        raise ResultsError(f"{meta_path}: corrupt (a JSON {type(metadata).__name__}, not an "
                           "object)")
    for name, kind in {**METADATA_FIELDS, **OPTIONAL_METADATA_FIELDS}.items():
        if name not in metadata:
            if name == "file_sha256":
                raise ResultsError(f"{meta_path}: has no checksum table ('file_sha256'), so "
                                   "the result cannot be verified; refusing to use it (refit)")
            if name in METADATA_FIELDS:
                raise ResultsError(f"{meta_path}: corrupt (field '{name}' is missing)")
            continue
        value = metadata[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            raise ResultsError(f"{meta_path}: corrupt (field '{name}' is "
                               f"{type(value).__name__} {_short(value)}, not "
                               f"{' or '.join(k.__name__ for k in kinds)})")
    nested = {"versions": (str,), "timing_seconds": (int, float)}
    for name, kinds in nested.items():
        for key, value in metadata[name].items():
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise ResultsError(f"{meta_path}: corrupt ({name}['{key}'] is "
                                   f"{type(value).__name__} {_short(value)})")
    diagnostics = metadata.get("diagnostics", {})
    if not isinstance(diagnostics.get("ok", True), bool) or not isinstance(
            diagnostics.get("failures", []), list):
        raise ResultsError(f"{meta_path}: corrupt (the diagnostics record is malformed: "
                           f"{_short(diagnostics)})")
    sums = metadata["file_sha256"]
    if set(sums) != set(CHECKSUMMED):
        raise ResultsError(f"{meta_path}: corrupt (the checksum table lists "
                           f"{', '.join(sorted(map(str, sums))) or 'no files'}; expected "
                           f"{', '.join(CHECKSUMMED)})")
    for name, value in sums.items():
        if not isinstance(value, str) or len(value) != 64 or \
                any(c not in "0123456789abcdef" for c in value):
            raise ResultsError(f"{meta_path}: corrupt (checksum of {name} is "
                               f"{_short(value)}, not a SHA-256 hex digest)")
    return metadata


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def verify_checksums(path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Check every checksummed file of a result against ``metadata.json``.

    Raises
    ------
    ResultsError
        A missing checksum table, or a file whose SHA-256 differs.
    """
    path = Path(path)
    metadata = metadata if metadata is not None else _read_metadata(path)
    for name in CHECKSUMMED:
        try:
            actual = sha256_of(path / name)
        except OSError as exc:
            raise ResultsError(f"{path / name}: cannot be read ({exc.strerror or exc})") from exc
        if name != "spec.toml" and actual != metadata["file_sha256"][name]:
            raise ResultsError(f"{path / name}: cannot be read, the file is corrupt or truncated "
                               "(its SHA-256 differs from the one recorded in metadata.json)")


def _check_structure(path: Path, dt: xr.DataTree, metadata: dict, spec: ModelSpec,
                     n_rows: int) -> None:
    """Check groups, variables, dimensions, sizes and dtypes of the posterior file."""
    where = path / "posterior.nc"
    missing = [g for g in REQUIRED_GROUPS if g not in dt.children]
    if missing:
        raise ResultsError(f"{where}: has no {', '.join(missing)} group")
    expected = metadata.get("structure")
    if expected is not None:
        actual = posterior_structure(dt)
        for group in sorted(set(expected) | set(actual)):
            if group not in actual:
                raise ResultsError(f"{where}: group '{group}' is missing")
            if group not in expected:
                raise ResultsError(f"{where}: unexpected group '{group}'")
            want, got = expected[group], actual[group]
            if not isinstance(want, dict):
                raise ResultsError(f"{path / 'metadata.json'}: corrupt (structure of group "
                                   f"'{group}' is not an object)")
            lost, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            if lost or extra:
                raise ResultsError(
                    f"{where}: group '{group}' does not hold the variables recorded at save "
                    f"time (missing: {', '.join(lost) or 'none'}; unexpected: "
                    f"{', '.join(extra) or 'none'})")
            for name, info in want.items():
                if info != got[name]:
                    raise ResultsError(
                        f"{where}: variable '{group}/{name}' has dims {got[name]['dims']}, "
                        f"shape {got[name]['shape']}, {got[name]['dtype']}; recorded "
                        f"{_short(info)}")
    post = dt["posterior"]
    if not {"chain", "draw"} <= set(post.sizes) or not post.data_vars:
        raise ResultsError(f"{where}: the posterior group has no (chain, draw) variables")
    sizes = {"chain": spec.sampler.chains, "draw": spec.sampler.draws}
    for dim, want in sizes.items():
        if post.sizes[dim] != want:
            raise ResultsError(f"{where}: {post.sizes[dim]} {dim}s, but spec.toml asks for "
                               f"{want}")
    if "model" in post.sizes and post.sizes["model"] != metadata["n_models"]:
        raise ResultsError(f"{where}: {post.sizes['model']} models, but metadata.json records "
                           f"{metadata['n_models']}")
    if post.sizes.get("model", n_rows) != n_rows:
        raise ResultsError(f"{path / 'models.csv'}: {n_rows} rows but the posterior has "
                           f"{post.sizes['model']} models")
    for name, var in post.data_vars.items():
        if var.dtype.kind not in "fiub":
            raise ResultsError(f"{where}: posterior variable '{name}' has type {var.dtype}, "
                               "not numeric")


def load_fit(path: str | os.PathLike, *, df: pd.DataFrame | None = None,
             spec: ModelSpec | None = None, omit: tuple[str, ...] = ()) -> Fit:
    """Load a saved fit; check it is complete and, if given, matches data and spec.

    Checks, in order: every file is present; ``metadata.json`` is a UTF-8 JSON object with
    every field of the right type and a checksum table; every file matches its SHA-256;
    the spec parses and matches its hash; the posterior file reads and holds the groups,
    variables, dimensions, sizes and types recorded at save time; ``models.csv`` has its
    columns and one row per model. The diagnostics are rebuilt from ``diagnostics.csv`` and
    the sampler record of ``metadata.json`` (:func:`saved_diagnostics`), and recomputed only
    for a fit saved without them.

    Parameters
    ----------
    path : path
        The result folder written by :meth:`Fit.save`.
    df : DataFrame, optional
        The current canonical data; a different data hash is an error.
    spec : ModelSpec, optional
        The current spec; a different spec hash is an error.
    omit : tuple of str
        Groups of the posterior file whose data are not read (e.g.
        :data:`POINTWISE_GROUPS`, which the headline and the report never use): every check
        above still covers them (checksum, structure), but they are not in ``fit.dt``
        (``fit.omitted_groups``), and such a fit cannot be saved.

    Raises
    ------
    ResultsError
        One line for every problem: missing, truncated, corrupt or tampered files, or a
        spec/data mismatch.
    """
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such result folder")
    missing = [f for f in RESULT_FILES if not (path / f).is_file()]
    if missing:
        raise ResultsError(f"{path}: incomplete result, missing {', '.join(missing)}")
    metadata = _read_metadata(path)
    verify_checksums(path, metadata)
    try:
        saved_spec = load_spec(path / "spec.toml")
    except (SpecError, UnicodeDecodeError, OSError) as exc:
        raise ResultsError(f"{path / 'spec.toml'}: corrupt or invalid "
                           f"({' '.join(str(exc).split())})") from exc
    if saved_spec.hash() != metadata["spec_hash"]:
        raise ResultsError(f"{path}: spec.toml does not match the spec hash recorded in "
                           "metadata.json (edited or corrupt)")
    if set(omit) & set(REQUIRED_GROUPS):
        raise ValueError(f"load_fit: the {', '.join(REQUIRED_GROUPS)} groups cannot be omitted")
    try:
        dt = open_posterior_file(path / "posterior.nc")
        if not omit:
            dt = dt.load()
    except Exception as exc:  # noqa: BLE001 - any read failure means a corrupt file
        raise ResultsError(f"{path / 'posterior.nc'}: cannot be read, the file is corrupt or "
                           f"truncated ({type(exc).__name__}: {exc})") from exc
    lazy = dt if omit else None  # open until the structure of every group is checked
    try:
        if spec is not None and spec.hash() != saved_spec.hash():
            raise ResultsError(f"{path}: the saved fit was made with a different spec than "
                               f"'{spec.name}' now is; refit it")
        try:
            models = pd.read_csv(path / "models.csv")
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ResultsError(f"{path / 'models.csv'}: corrupt or empty "
                               f"({' '.join(str(exc).split())})") from exc
        lacking = [c for c in REQUIRED_MODEL_COLUMNS if c not in models.columns]
        if lacking:
            raise ResultsError(f"{path / 'models.csv'}: corrupt (missing column(s) "
                               f"{', '.join(lacking)})")
        _check_structure(path, dt, metadata, saved_spec, len(models))  # every group
        omitted = tuple(g for g in omit if g in dt.children)
        if lazy is not None:
            try:
                dt = lazy.drop_nodes(list(omitted)).load()
            except Exception as exc:  # noqa: BLE001 - as above
                raise ResultsError(f"{path / 'posterior.nc'}: cannot be read, the file is "
                                   f"corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    finally:
        if lazy is not None:
            lazy.close()
    if df is not None:
        current = prepare_data(df, saved_spec).data_hash
        if current != metadata["data_hash"]:
            raise ResultsError(f"{path}: the data changed since this fit was made "
                               f"(data hash {current[:12]} != {metadata['data_hash'][:12]})"
                               "; refit it")
    return Fit(spec=saved_spec, dt=dt, models=models, metadata=metadata,
               diagnostics=saved_diagnostics(path, metadata, dt), folder=Path(path),
               omitted_groups=omitted)


def saved_diagnostics(path: str | os.PathLike, metadata: dict,
                      dt: xr.DataTree) -> Diagnostics | None:
    """Rebuild the diagnostics saved with a fit, without recomputing R-hat and ESS.

    ``diagnostics.csv`` (checksum-verified by :func:`load_fit` before this is called) holds
    the per-variable table and ``metadata.json`` the sampler statistics; together they are
    what :func:`bayes_llm.model.diagnostics.diagnose` computed when the fit was made.

    Returns
    -------
    Diagnostics or None
        ``None`` when the fit predates this record (no sampler statistics in
        ``metadata.json``, or a table of another layout or of other variables): the caller
        then recomputes them.

    Raises
    ------
    ResultsError
        A malformed record, or one that disagrees with the posterior's chains and draws.
    """
    path = Path(path)
    sampler = metadata.get("diagnostics", {}).get("sampler")
    if sampler is None:
        return None
    where = path / "diagnostics.csv"
    try:
        table = pd.read_csv(where, index_col=0)  # pandas 3 parses floats exactly
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{where}: corrupt or empty ({' '.join(str(exc).split())})") \
            from exc
    post = dt["posterior"]
    if table.index.name != "variable" or list(table.columns) != list(TABLE_COLUMNS) \
            or set(map(str, table.index)) != set(map(str, post.data_vars)):
        return None
    if not isinstance(sampler, dict):
        raise ResultsError(f"{path / 'metadata.json'}: corrupt (the diagnostics record's "
                           f"sampler statistics are {_short(sampler)})")
    try:
        diagnostics = diagnostics_from_saved(table, sampler)
    except ValueError as exc:
        raise ResultsError(f"{path / 'metadata.json'} / diagnostics.csv: corrupt "
                           f"diagnostics record ({exc})") from exc
    for dim in ("chain", "draw"):
        if diagnostics.sampler[f"{dim}s"] != post.sizes[dim]:
            raise ResultsError(f"{path / 'metadata.json'}: corrupt (the diagnostics record "
                               f"counts {diagnostics.sampler[f'{dim}s']} {dim}s, the "
                               f"posterior has {post.sizes[dim]})")
    return diagnostics


__all__ = ["Fit", "check_output", "estimate_result_bytes", "fit_model", "load_fit",
           "posterior_structure", "saved_diagnostics", "spec_from_dict", "verify_checksums"]
