"""A joint fit's result: its answers as tables and figures, a saved folder, and loading it.

The folder written by :meth:`JointResult.save` (and ``bayes-llm joint --out DIR``):

=========================================  ============================================
``posterior.nc``                           posterior and sample statistics (DataTree)
``design.nc``, ``models.csv``              the data arrays of the fit and its models
``spec.toml``                              the spec, with the sampler settings used
``diagnostics.csv``                        worst R-hat, smallest bulk/tail ESS per
                                           diagnosed variable
``metadata.json``                          spec, seed, settings, diagnostics verdict and
                                           failures, data hash, design, timings,
                                           versions, interval of the tables, SHA-256 of
                                           every file above
``correlations.csv`` ...                   :data:`TABLE_FILES`, each with the columns
                                           ``fit_diagnostics_ok`` and ``fit_diagnostics``
``joint.md``                               the answers as Markdown tables, under a
                                           diagnostics banner when the fit failed
``developer_correlation.png``,             the two figures
``developer_benchmark_effects.png``
=========================================  ============================================

:func:`load_joint` reads the folder back, verifies the checksums and rebuilds the
diagnostics from what was saved (the verdict re-derived with the current rules, as
:func:`bayes_llm.model.diagnostics.diagnostics_from_saved` does for a fit); its tables and
figures are recomputed from the saved posterior, so ``--hdi-prob``/``--ci-kind`` apply.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.errors import ResultsError

#: Table name -> CSV file of the result folder.
TABLE_FILES: dict[str, str] = {
    "correlations": "correlations.csv",
    "developer_sds": "developer_sds.csv",
    "benchmark_shares": "benchmark_shares.csv",
    "concentration": "concentration.csv",
}
#: Figure name -> PNG file of the result folder.
FIGURE_FILES: dict[str, str] = {
    "developer_correlation": "developer_correlation.png",
    "developer_benchmark_effects": "developer_benchmark_effects.png",
}
#: Files whose SHA-256 is recorded in ``metadata.json`` and checked on loading.
CHECKSUMMED = ("posterior.nc", "design.nc", "models.csv", "spec.toml", "diagnostics.csv")
MARKDOWN_FILE = "joint.md"
#: Every file of a result folder (besides the ownership marker).
JOINT_FILES = (*CHECKSUMMED, "metadata.json", *TABLE_FILES.values(), MARKDOWN_FILE,
               *FIGURE_FILES.values())
#: Kind recorded in the folder's ownership marker (:mod:`bayes_llm.atomic`).
FOLDER_KIND = "joint"
#: Fewest models of a developer in the heat map (fewer when no developer has that many).
HEAT_MAP_MIN_MODELS = 10
#: Model-level columns saved in ``models.csv``.
MODEL_COLUMNS = ("model_id", "developer", "log10_flop")


@dataclass
class JointResult:
    """A joint six-benchmark fit and its answers.

    Attributes
    ----------
    spec : ModelSpec
        The spec, with the sampler settings used.
    dt : DataTree
        Groups ``posterior`` and ``sample_stats``.
    data : Leaderboard6Data
        The data arrays of the fit (:func:`~bayes_llm.model.leaderboard6.prepare_leaderboard6_data`).
    diagnostics : Diagnostics
        R-hat, ESS and sampler checks of the scalars and correlations; ``ok`` is the verdict.
    metadata : dict
        Spec, seed, settings, data hash, design, timings, versions (see the module doc).
    folder : Path, optional
        The folder it was loaded from.
    """

    spec: object
    dt: xr.DataTree
    data: object
    diagnostics: object
    metadata: dict
    folder: Path | None = None
    _tables: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as a Dataset."""
        return self.dt["posterior"].to_dataset()

    @property
    def status(self) -> tuple[bool, str]:
        """``(ok, text)``: ``(True, "ok")`` or ``(False, "FAILED: reason; reason")``."""
        from bayes_llm.report.exports import diagnostics_status

        return diagnostics_status(self)

    @property
    def n_models(self) -> pd.Series:
        """Models per developer."""
        from bayes_llm.derived.leaderboard6_concentration import models_per_developer

        return models_per_developer(self.data)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The answers in the current interval setting (see :meth:`make_tables`)."""
        return self.make_tables()

    def make_tables(self, hdi_prob: float | None = None,
                    ci_kind: str | None = None) -> dict[str, pd.DataFrame]:
        """Return the answers as tables (median and interval), by :data:`TABLE_FILES` name.

        ``correlations``: developer-effect correlation per benchmark pair;
        ``developer_sds``: developer SD per benchmark and the common share;
        ``benchmark_shares``: company and compute share per benchmark;
        ``concentration``: per developer, how concentrated its advantage is in one benchmark.
        Each table's ``attrs`` hold the interval and the fit's diagnostic status.
        """
        from bayes_llm.derived.leaderboard6 import correlation_table, developer_summary
        from bayes_llm.derived.leaderboard6_concentration import concentration_table
        from bayes_llm.derived.leaderboard6_shares import benchmark_share_table
        from bayes_llm.derived.summary import interval_label, interval_setting, resolve_interval

        key = resolve_interval(hdi_prob, ci_kind)
        if key not in self._tables:
            post = self.posterior
            with interval_setting(*key):
                tables = {
                    "correlations": correlation_table(post),
                    "developer_sds": developer_summary(post),
                    "benchmark_shares": benchmark_share_table(post, self.data),
                    "concentration": concentration_table(post, n_models=self.n_models),
                }
                label = interval_label()
            ok, text = self.status
            for frame in tables.values():
                frame.attrs.update({"interval": label, "fit_diagnostics_ok": ok,
                                    "fit_diagnostics": text})
            self._tables[key] = tables
        return {k: v.copy() for k, v in self._tables[key].items()}

    def heat_map_min_models(self) -> int:
        """Fewest models of a developer in the heat map (:data:`HEAT_MAP_MIN_MODELS` or fewer)."""
        return max(1, min(HEAT_MAP_MIN_MODELS, int(self.n_models.max())))

    def figures(self, hdi_prob: float | None = None, ci_kind: str | None = None) -> dict:
        """Draw the two figures (matplotlib Figures), by :data:`FIGURE_FILES` name."""
        from bayes_llm.derived.summary import interval_setting, resolve_interval
        from bayes_llm.plots.leaderboard6 import (
            plot_developer_benchmark_effects,
            plot_developer_correlation,
        )

        with interval_setting(*resolve_interval(hdi_prob, ci_kind)):
            post = self.posterior
            return {
                "developer_correlation": plot_developer_correlation(post),
                "developer_benchmark_effects": plot_developer_benchmark_effects(
                    post, self.n_models, min_models=self.heat_map_min_models()),
            }

    def save(self, out: str | os.PathLike, *, hdi_prob: float | None = None,
             ci_kind: str | None = None) -> Path:
        """Write the result folder atomically (see the module docstring) and return its path.

        An existing folder is replaced only when bayes_llm wrote it
        (:func:`bayes_llm.atomic.atomic_directory`).
        """
        from bayes_llm.atomic import atomic_directory
        from bayes_llm.data.sources import sha256_of
        from bayes_llm.derived.summary import interval_label, resolve_interval
        from bayes_llm.joint.markdown import joint_markdown
        from bayes_llm.joint.run import worst_elements
        from bayes_llm.plots._style import figure_png

        if "worst_elements" not in self.metadata:  # e.g. a result saved by an older version
            self.metadata["worst_elements"] = worst_elements(self.posterior, self.diagnostics)
        prob, kind = resolve_interval(hdi_prob, ci_kind)
        tables = self.make_tables(prob, kind)
        figures = self.figures(prob, kind)
        pngs = {FIGURE_FILES[name]: figure_png(fig) for name, fig in figures.items()}
        ok, text = self.status
        out = Path(out)
        with atomic_directory(out, kind=FOLDER_KIND) as tmp:
            self.dt.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
            design_dataset(self.data).to_netcdf(tmp / "design.nc", engine="h5netcdf")
            self.data.frame[[c for c in (*MODEL_COLUMNS, self.spec.period)
                             if c in self.data.frame]].to_csv(tmp / "models.csv", index=False)
            (tmp / "spec.toml").write_text(self.spec.to_toml(), encoding="utf-8")
            self.diagnostics.table.to_csv(tmp / "diagnostics.csv")
            for name, frame in tables.items():
                frame = frame.copy()
                frame["fit_diagnostics_ok"], frame["fit_diagnostics"] = ok, text
                frame.to_csv(tmp / TABLE_FILES[name], index=False, float_format="%.10g",
                             lineterminator="\n")
            for name, png in pngs.items():
                (tmp / name).write_bytes(png)
            (tmp / MARKDOWN_FILE).write_text(joint_markdown(self, tables,
                                                            figure_files=FIGURE_FILES),
                                             encoding="utf-8")
            metadata = dict(self.metadata)
            metadata["diagnostics"] = {"ok": bool(self.diagnostics.ok),
                                       "failures": list(self.diagnostics.failures),
                                       "sampler": self.diagnostics.sampler}
            metadata["interval"] = {"hdi_prob": prob, "ci_kind": kind,
                                    "label": interval_label(prob, kind)}
            metadata["file_sha256"] = {name: sha256_of(tmp / name) for name in CHECKSUMMED}
            (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True,
                                                          default=str), encoding="utf-8")
        return out


def design_dataset(data) -> xr.Dataset:
    """Return the arrays of a :class:`~bayes_llm.model.leaderboard6.Leaderboard6Data` as a Dataset."""
    c = data.coords
    return xr.Dataset(
        {"x": ("model", data.x), "period_idx": ("model", data.period_idx),
         "developer_idx": ("model", data.developer_idx),
         "chance": ("benchmark", data.chance), "n_items": ("benchmark", data.n_items),
         "count_model": ("count_obs", data.count_model),
         "count_benchmark": ("count_obs", data.count_benchmark),
         "k": ("count_obs", data.k), "n": ("count_obs", data.n),
         "bounded_model": ("bounded_obs", data.bounded_model),
         "bounded_benchmark": ("bounded_obs", data.bounded_benchmark),
         "y": ("bounded_obs", data.y)},
        coords={"model": list(c["model"]), "benchmark": list(data.benchmarks),
                "period": list(c["period"]), "developer": list(c["developer"])},
        attrs={"data_hash": data.data_hash},
    )


def design_from_dataset(ds: xr.Dataset, frame: pd.DataFrame):
    """Rebuild the :class:`~bayes_llm.model.leaderboard6.Leaderboard6Data` saved by :func:`design_dataset`."""
    from bayes_llm.model.leaderboard6 import BOUNDED_BENCHMARKS, Leaderboard6Data

    def arr(name, dtype):
        return np.asarray(ds[name].values, dtype)

    models = [str(m) for m in ds["model"].values]
    benchmarks = tuple(str(b) for b in ds["benchmark"].values)
    count_model, count_bench = arr("count_model", np.int64), arr("count_benchmark", np.int64)
    bounded_model = arr("bounded_model", np.int64)
    coords = {
        "model": models, "period": [str(p) for p in ds["period"].values],
        "developer": [str(d) for d in ds["developer"].values],
        "benchmark": list(benchmarks), "benchmark_b": list(benchmarks),
        "count_benchmark": [b for b in benchmarks if b not in BOUNDED_BENCHMARKS],
        "count_obs": [f"{models[i]}|{benchmarks[b]}" for i, b in
                      zip(count_model, count_bench, strict=True)],
        "bounded_obs": [models[i] for i in bounded_model],
    }
    return Leaderboard6Data(
        frame=frame, x=arr("x", float), period_idx=arr("period_idx", np.int64),
        developer_idx=arr("developer_idx", np.int64), benchmarks=benchmarks,
        chance=arr("chance", float), n_items=arr("n_items", np.int64),
        count_model=count_model, count_benchmark=count_bench, k=arr("k", np.int64),
        n=arr("n", np.int64), bounded_model=bounded_model,
        bounded_benchmark=arr("bounded_benchmark", np.int64), y=arr("y", float),
        coords=coords, data_hash=str(ds.attrs.get("data_hash", "")))


def verify_joint_files(path: Path, metadata: dict) -> None:
    """Check every :data:`CHECKSUMMED` file of a joint result against ``metadata.json``.

    Raises
    ------
    ResultsError
        One line naming the missing, damaged or edited file.
    """
    from bayes_llm.data.sources import sha256_of

    sums = metadata.get("file_sha256")
    if not isinstance(sums, dict):
        raise ResultsError(f"{path / 'metadata.json'}: no checksum table; not the metadata "
                           "of a joint result")
    for name in CHECKSUMMED:
        target = path / name
        if not target.is_file():
            raise ResultsError(f"{target}: missing from the joint result")
        if sha256_of(target) != sums.get(name):
            raise ResultsError(f"{target}: checksum differs from metadata.json (the file was "
                               "damaged or edited); refit with 'bayes-llm joint'")


def load_joint(path: str | os.PathLike) -> JointResult:
    """Read a folder written by :meth:`JointResult.save` (``bayes-llm joint --out``).

    Nothing is refitted: the posterior, the data arrays and the diagnostics saved with the
    fit are read back (every file's SHA-256 checked first), and the verdict is re-derived
    from the saved diagnostics table with the current rules.

    Raises
    ------
    ResultsError
        One line naming the folder or file: not a joint result, a file missing, damaged
        or edited (checksum), unreadable.
    """
    from bayes_llm.model.diagnostics import diagnostics_from_saved
    from bayes_llm.model.spec import load_spec

    path = Path(path)
    meta_path = path / "metadata.json"
    if not path.is_dir():
        raise ResultsError(f"{path}: no such folder (give a folder written by "
                           "'bayes-llm joint --out')")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no metadata.json; not a folder written by "
                           "'bayes-llm joint'") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{meta_path}: unreadable ({exc})") from exc
    if not isinstance(metadata, dict) or metadata.get("kind") != "joint" \
            or not isinstance(metadata.get("file_sha256"), dict):
        raise ResultsError(f"{meta_path}: not the metadata of a joint result (give a folder "
                           "written by 'bayes-llm joint --out')")
    verify_joint_files(path, metadata)
    try:
        spec = load_spec(path / "spec.toml")
        frame = pd.read_csv(path / "models.csv", dtype={"model_id": str, "developer": str})
        with xr.open_dataset(path / "design.nc", engine="h5netcdf") as ds:
            data = design_from_dataset(ds.load(), frame)
        with xr.open_datatree(path / "posterior.nc", engine="h5netcdf") as tree:
            dt = tree.load()
        table = pd.read_csv(path / "diagnostics.csv", index_col="variable")
        diagnostics = diagnostics_from_saved(table, metadata["diagnostics"]["sampler"])
    except ResultsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage is one line naming the folder
        raise ResultsError(f"{path}: cannot read the joint result "
                           f"({type(exc).__name__}: {exc})") from exc
    return JointResult(spec=spec, dt=dt, data=data, diagnostics=diagnostics,
                       metadata=metadata, folder=path)


__all__ = ["CHECKSUMMED", "FIGURE_FILES", "FOLDER_KIND", "JOINT_FILES", "MARKDOWN_FILE",
           "TABLE_FILES", "JointResult", "design_dataset", "design_from_dataset",
           "load_joint", "verify_joint_files"]
