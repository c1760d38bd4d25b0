"""Run a sensitivity study: fit every variant (cached, in parallel), tabulate headline figures.

:func:`run_study` expands the study, computes each variant's cache key (model + data it
uses + backend), and fits only the variants without a complete cached fit. Fits run

* in this process (``workers=1``),
* in a local process pool (``workers=N``, the default is the number of CPU cores), or
* on an existing Dask cluster (``scheduler="tcp://host:port"``),

each fit with one core and its variant's fixed seed, so results do not depend on where or
in which order the variants ran. Workers return the fit's files and the post-processed
results; only this process writes to the output folder, each fit atomically, so an
interrupted run resumes where it stopped.

Output folder layout::

    sensitivity.csv    tidy: variant x headline figure -> median, interval, status
    variants.csv       one row per variant: status, diagnostics, error, cache key, timing
    study.toml         the study file as run
    fits/<key12>/      cached fits (see bayes_llm.sensitivity.cache)
    logs/<variant>.log per-variant logs (spec, sampler messages, diagnostics, errors)
    psense.csv, psense_by_prior.csv, loo.csv, compare.csv, kfold/   (see run_study)
"""

from __future__ import annotations

import io
import logging
import os
import socket
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_llm.atomic import check_room, prepare_folder, write_text_atomic
from bayes_llm.derived.summary import interval_label, resolve_interval
from bayes_llm.errors import BayesLLMError, SpecError
from bayes_llm.model.design import prepare_data
from bayes_llm.model.fit import estimate_result_bytes
from bayes_llm.model.sampling import DEFAULT_BACKEND, spec_backend
from bayes_llm.model.spec import ModelSpec
from bayes_llm.processes import DASK_CONNECT_TIMEOUT, execute  # noqa: F401 - re-exported
from bayes_llm.sensitivity.cache import PREFIX, CacheEntry, FitCache, cache_key, fit_files
from bayes_llm.sensitivity.headline import (
    HEADLINE_COLUMNS,
    check_headline_options,
    compute_headline,
    derived_fingerprint,
    headline_figures,
)
from bayes_llm.sensitivity.joint import (
    fit_joint_variant,
    is_joint,
    joint_figures,
    joint_headline,
    joint_plan,
)
from bayes_llm.sensitivity.study import BASE_VARIANT, Study, Variant

#: Columns of the tidy study table, in order (probability columns go after ``upper``).
TABLE_COLUMNS = ["study", "variant", "axis", "level", "variant_label", *HEADLINE_COLUMNS,
                 "status", "diagnostics", "error", "cached", "seconds", "n_models",
                 "cache_key"]
VARIANT_COLUMNS = ["variant", "axis", "level", "variant_label", "status", "diagnostics",
                   "error", "r_hat_max", "ess_bulk_min", "divergences", "cached", "seconds",
                   "n_models", "cache_key", "spec_hash", "data_hash", "likelihood", "sample",
                   "outcome", "log"]
STATUSES = ("ok", "warnings", "failed")
#: Entries that identify a study folder written before the marker file existed.
STUDY_ENTRIES = ("fits", "variants.csv", "sensitivity.csv", "study.toml")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- worker side
@dataclass
class VariantTask:
    """Everything a worker needs to fit one variant (picklable)."""

    variant: str
    key: str
    spec: ModelSpec
    df: pd.DataFrame
    backend: str = DEFAULT_BACKEND
    headline: dict[str, Any] = field(default_factory=dict)
    loo: bool = True


@dataclass
class VariantOutcome:
    """What a worker returns: status, the fit's files, post-processed results, the log."""

    variant: str
    key: str
    status: str
    failures: list[str] = field(default_factory=list)
    error: str = ""
    files: dict[str, bytes] | None = None
    headline: pd.DataFrame | None = None
    loo: dict[str, Any] | None = None
    loo_pointwise: pd.DataFrame | None = None
    log: str = ""
    seconds: float = 0.0
    n_models: int = 0
    sampler: dict[str, Any] = field(default_factory=dict)
    worst: dict[str, float] = field(default_factory=dict)


class _LogCapture:
    """Collect log records and warnings of one task into a string."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.handler = logging.StreamHandler(self.buffer)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                    "%(message)s"))
        self._warnings = warnings.catch_warnings(record=True)
        self.caught: list = []

    def __enter__(self) -> _LogCapture:
        logging.getLogger().addHandler(self.handler)
        self.caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: object) -> None:
        self._warnings.__exit__(*exc)
        logging.getLogger().removeHandler(self.handler)
        seen = set()
        for w in self.caught:
            text = f"{w.category.__name__}: {w.message}"
            if text not in seen:
                seen.add(text)
                self.buffer.write(f"warning: {text}\n")

    def write(self, text: str) -> None:
        self.buffer.write(text.rstrip("\n") + "\n")

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


def _status_of(diagnostics) -> str:
    return "ok" if diagnostics.ok else "warnings"


def _worst(diagnostics) -> dict[str, float]:
    """Worst R-hat and smallest bulk ESS over the checked variables, and divergences."""
    table = diagnostics.table
    checked = table[table["checked"]] if "checked" in table else table
    return {"r_hat_max": float(checked["r_hat_max"].max()),
            "ess_bulk_min": float(checked["ess_bulk_min"].min()),
            "divergences": int(diagnostics.sampler.get("divergences", 0))}


def _n_models(fit) -> int:
    """Models in a fit (a joint fit: models with at least one benchmark score)."""
    if is_joint(fit.spec):
        return int(fit.data.n_models)
    return int(fit.metadata.get("n_models", len(fit.models)))


def postprocess_fit(fit, *, headline: dict[str, Any], loo: bool,
                    log: _LogCapture | None = None) -> tuple[pd.DataFrame | None, Any, str]:
    """Headline table and PSIS-LOO of a fit; returns ``(headline, loo_result, error)``.

    A headline failure is an error of the variant; a LOO failure is only logged. A joint
    fit (``outcome = "leaderboard6"``) gives the joint answers
    (:func:`bayes_llm.sensitivity.joint.joint_headline`) and no PSIS-LOO (its observations
    are not those of any single-benchmark variant).
    """
    from bayes_llm.sensitivity.crossval import loo_variant

    table, loo_result, error = None, None, ""
    joint = is_joint(fit.spec)
    if joint and loo and log:
        log.write("PSIS-LOO: not computed for the joint model (no variant shares its "
                  "observations)")
    loo = loo and not joint
    t0 = time.perf_counter()
    try:
        table = joint_headline(fit, headline) if joint else compute_headline(fit, headline)
        if log:
            log.write(f"headline figures computed in {time.perf_counter() - t0:.1f} s")
    except Exception as exc:  # noqa: BLE001 - reported as the variant's error
        error = f"headline: {type(exc).__name__}: {exc}"
        if log:
            log.write(traceback.format_exc())
    if loo:
        t0 = time.perf_counter()
        try:
            loo_result = loo_variant(fit)
            if log:
                log.write(f"PSIS-LOO (logit-score scale): elpd {loo_result.elpd:.1f} "
                          f"(SE {loo_result.se:.1f}), {loo_result.n_high_k} Pareto k > "
                          f"{loo_result.good_k:.2f}, in {time.perf_counter() - t0:.1f} s")
        except Exception:  # noqa: BLE001 - LOO is optional
            if log:
                log.write("PSIS-LOO failed:\n" + traceback.format_exc())
    return table, loo_result, error


def run_variant(task: VariantTask) -> VariantOutcome:
    """Fit one variant and post-process it; never raises (errors become a failed outcome).

    Parameters
    ----------
    task : VariantTask
        The variant's spec, data and options.

    Returns
    -------
    VariantOutcome
    """
    from bayes_llm.model.fit import fit_model

    t0 = time.perf_counter()
    out = VariantOutcome(variant=task.variant, key=task.key, status="failed")
    with _LogCapture() as log:
        log.write(f"host {socket.gethostname()} pid {os.getpid()}; fitting variant "
                  f"'{task.variant}' (cache key {task.key[:PREFIX]}), seed "
                  f"{task.spec.sampler.seed}, backend {task.backend}")
        joint = is_joint(task.spec)
        try:
            if joint:
                fit, files = fit_joint_variant(task, log)
            else:
                fit = fit_model(task.spec, task.df, backend=task.backend, progressbar=False,
                                cores=1)
        except Exception as exc:  # noqa: BLE001 - a failing variant is reported, not raised
            out.error = f"fit: {type(exc).__name__}: {exc}"
            log.write(traceback.format_exc())
        else:
            out.n_models = _n_models(fit)
            out.failures = list(fit.diagnostics.failures)
            out.sampler = dict(fit.diagnostics.sampler)
            out.worst = _worst(fit.diagnostics)
            out.status = _status_of(fit.diagnostics)
            timing = fit.metadata["timing_seconds"]
            report = fit.data.report if joint else fit.metadata.get("sample_report", "")
            log.write(f"sampled in {timing.get('sample', timing.get('build_compile_sample', 0)):.1f}"
                      f" s; {report}")
            log.write(fit.diagnostics.to_text())
            if joint:
                out.files = files
            else:
                fit.metadata["sensitivity_variant"] = task.variant
                with tempfile.TemporaryDirectory(prefix="bayes_llm_variant_") as tmp:
                    out.files = fit_files(fit, tmp)
            table, loo_result, error = postprocess_fit(fit, headline=task.headline,
                                                       loo=task.loo, log=log)
            out.headline = table
            if loo_result is not None:
                out.loo = loo_result.to_dict()
                out.loo_pointwise = loo_result.pointwise
            if error:
                out.status, out.error = "failed", error
    out.log = log.text
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


# --------------------------------------------------------------------------- results
@dataclass
class StudyResult:
    """Everything a study run produced.

    Attributes
    ----------
    study : Study
        The study.
    out : Path
        The output folder.
    table : DataFrame
        Tidy: one row per variant and headline figure (:data:`TABLE_COLUMNS`).
    variants : DataFrame
        One row per variant (:data:`VARIANT_COLUMNS`).
    fitted, cached : list of str
        Variants fitted (or attempted: see ``failed``) in this run, and those whose fit
        came from the cache.
    seconds : float
        Wall time of the run.
    psense : PsenseResult or None
        Power-scaling sensitivity of the base variant (when requested).
    crossval : CrossvalResult or None
        PSIS-LOO / K-fold comparison (when requested).
    plans : dict
        Variant name -> its spec, cache key, data hash and number of models.
    notes : list of str
        Problems of the optional steps (psense, cross-validation) that did not stop the run.
    """

    study: Study
    out: Path
    table: pd.DataFrame
    variants: pd.DataFrame
    fitted: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0
    psense: Any = None
    crossval: Any = None
    plans: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """Return the variants whose fit or headline computation failed."""
        return self.variants.loc[self.variants["status"] == "failed", "variant"].tolist()

    def fit_path(self, variant: str = BASE_VARIANT) -> Path:
        """Return the cache folder of a variant's fit."""
        key = self.variants.set_index("variant").loc[variant, "cache_key"]
        return self.out / "fits" / str(key)[:PREFIX]

    def load_fit(self, variant: str = BASE_VARIANT):
        """Load a variant's cached fit (a joint variant: its ``JointResult``)."""
        from bayes_llm.model.fit import load_fit

        plan = self.plans.get(variant)
        if plan is not None and is_joint(plan.variant.spec):
            from bayes_llm.joint import load_joint

            return load_joint(self.fit_path(variant))
        return load_fit(self.fit_path(variant))

    def to_text(self, *, figures: list[str] | None = None) -> str:
        """Render a readable summary: per variant, each figure's median and interval, and status."""
        return format_table(self.table, figures=figures)


def format_table(table: pd.DataFrame, *, figures: list[str] | None = None) -> str:
    """Render a study table as text: one block per figure, one line per variant.

    Each line gives the posterior median and interval, the paper's estimator on that
    variant's data, and the variant's status (``ok``, ``warnings`` with the number of
    failed diagnostics, or ``failed`` with its error).
    """
    if table.empty:
        return "(no variants)\n"
    figs = figures or list(dict.fromkeys(table["figure"]))
    width = max(len(str(v)) for v in table["variant"])
    lines = []
    for fig in figs:
        sub = table[table["figure"] == fig]
        if sub.empty:
            continue
        label = sub["figure_label"].dropna().astype(str)
        claim = ""
        if "paper_claim" in sub and sub["paper_claim"].notna().any():
            text = str(sub["paper_claim"].dropna().iloc[0])
            claim = f"  (paper's claim: {text})" if text and text != "nan" else ""
        lines.append(f"{fig}: {label.iloc[0] if len(label) else ''}{claim}")
        lines.append(f"  {'variant':<{width}}  {'median':>9}  {table_interval(sub):<21}  "
                     f"{'paper':>8}  status")
        for row in sub.itertuples(index=False):
            if pd.notna(row.median):
                lo = f"{row.lower:.3g}" if pd.notna(row.lower) else "?"
                hi = f"{row.upper:.3g}" if pd.notna(row.upper) else "?"
                med, hdi = f"{row.median:.3g}", f"[{lo}, {hi}]"
            else:
                med, hdi = "-", ""
            paper = f"{row.paper_value:.3g}" if pd.notna(row.paper_value) else ""
            status = str(row.status) + (" (cached)" if bool(row.cached) else "")
            if row.status == "failed":
                status += f": {row.error}"
            elif row.status == "warnings":
                n = len([d for d in str(row.diagnostics).split("; ") if d])
                status += f" ({n} diagnostic failure{'s' if n != 1 else ''})"
            lines.append(f"  {row.variant:<{width}}  {med:>9}  {hdi:<21}  {paper:>8}  {status}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run
@dataclass
class _Plan:
    variant: Variant
    key: str = ""
    backend: str = DEFAULT_BACKEND
    data_hash: str = ""
    n_models: int = 0
    error: str = ""


def _status_record(outcome: VariantOutcome) -> dict[str, Any]:
    """Return the fit's own status (diagnostics); headline errors are not cached with it."""
    return {"status": "warnings" if outcome.failures else "ok", "failures": outcome.failures,
            "sampler": outcome.sampler, "seconds": outcome.seconds,
            "n_models": outcome.n_models, **outcome.worst}


def _write_log(path: Path, header: str, body: str, *, append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if append and path.is_file():
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(body.rstrip("\n") + "\n")
    else:
        write_text_atomic(path, header.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def table_interval(table: pd.DataFrame) -> str:
    """Return the interval label of a study table's posterior rows (e.g. ``94% HDI``).

    Read from the table's ``interval`` column; rows that are not posteriors (the Shapley
    statistic's bootstrap band, its null) give ``"<prob> band"`` from ``hdi_prob``; a
    table without either column (older cached tables) gets the project's setting, read now.
    """
    posterior = table[table["kind"] == "posterior"] if "kind" in table else table
    if "interval" in table:
        labels = posterior["interval"].dropna().astype(str)
        labels = labels[labels.str.len() > 0]
        if len(labels):
            return str(labels.iloc[0])
    if posterior.empty and "hdi_prob" in table:
        probs = pd.to_numeric(table["hdi_prob"], errors="coerce").dropna()
        if len(probs):
            return interval_label(float(probs.iloc[0]), "hdi").split()[0] + " band"
    return interval_label()


def run_study(
    study: Study,
    df: pd.DataFrame,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    sampler: dict[str, Any] | None = None,
    backend: str | None = None,
    loo: bool = True,
    crossval: str | None = None,
    folds: int | None = None,
    psense: bool = False,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
    hdi_prob: float | None = None,
    ci_kind: str | None = None,
) -> StudyResult:
    """Fit (or reuse) every variant of ``study`` and write the study table.

    Parameters
    ----------
    study : Study
        From :func:`bayes_llm.sensitivity.load_study`.
    df : DataFrame
        The canonical model table (e.g. the paper's 809 models).
    out : path
        Output folder (created; a previous run's cache inside it is reused).
    workers : int, optional
        Local parallel workers (default: the number of CPU cores); 1 runs here.
    scheduler : str, optional
        A Dask scheduler address; the variants then run on that cluster.
    sampler : dict, optional
        Sampler overrides for every variant (``draws``, ``tune``, ``chains``,
        ``target_accept``); part of each variant's spec, so part of its cache key.
    backend : str, optional
        NUTS backend for every variant; default: each variant's own
        (:func:`bayes_llm.model.sampling.spec_backend`: ``pymc`` for a ``[sampler]`` custom
        step, else nutpie). Part of each variant's cache key.
    loo : bool
        Compute PSIS-LOO per variant (cheap; needed for ``crossval``).
    crossval : {"auto", "loo", "kfold", "none"}, optional
        Compare variants by cross-validation (default the study's ``[crossval]`` method):
        ``loo`` PSIS-LOO; ``kfold`` leave-developers-out K-fold (refits K times per
        variant); ``auto`` PSIS-LOO where every Pareto k is good, K-fold otherwise.
    folds : int, optional
        K of the K-fold (default the study's).
    psense : bool
        Power-scaling sensitivity of the base variant's headline figures.
    only : iterable of str, optional
        Run only these variants (the table lists only them).
    progress : callable, optional
        Called with one line of text per event (e.g. ``print``).
    hdi_prob, ci_kind : optional
        The credible interval of the study's tables and plots (``None`` for both: the
        project's setting, :data:`bayes_llm.constants.HDI_PROB` /
        :data:`~bayes_llm.constants.CI_KIND`). A chosen interval becomes a headline
        option of every variant (overriding a study's own), so each interval's tables are
        cached apart and the fits are reused.

    Returns
    -------
    StudyResult
    """
    t_start = time.perf_counter()
    interval = None  # a bad value fails before any folder is made
    if hdi_prob is not None or ci_kind is not None:
        prob, kind = resolve_interval(hdi_prob, ci_kind)
        interval = {"hdi_prob": prob, "ci_kind": kind}
    say = progress or (lambda _msg: None)
    out = prepare_folder(out, "study", legacy=STUDY_ENTRIES)
    cache = FitCache(out / "fits")
    logs = out / "logs"
    variants = study.variants(sampler=sampler)
    if only is not None:
        wanted = list(only)
        known = {v.name for v in variants}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise SpecError(f"{study.source}: unknown variant(s) {', '.join(unknown)}; "
                            f"variants: {', '.join(sorted(known))}")
        variants = [v for v in variants if v.name in wanted]
    if interval is not None:
        variants = [replace(v, headline={**v.headline, **interval}) for v in variants]
    for v in variants:
        check_headline_options(v.headline, where=f"{study.source}: variant '{v.name}' headline")
    fingerprint = derived_fingerprint()
    source = Path(study.source)
    if source.is_file() and source.resolve() != (out / "study.toml").resolve():
        write_text_atomic(out / "study.toml", source.read_text(encoding="utf-8"))

    # ---- plan: keys, cache hits, and variants that fail before fitting
    plans: dict[str, _Plan] = {}
    for v in variants:
        plan = _Plan(variant=v, backend=spec_backend(v.spec, backend))
        try:
            plan.data_hash, plan.n_models = variant_data(df, v.spec)
        except BayesLLMError as exc:
            plan.error = f"data: {exc}"
        else:
            plan.key = cache_key(v.spec, plan.data_hash, backend=plan.backend)
        plans[v.name] = plan
    headline_tags = {v.name: {"options": v.headline, "derived": fingerprint} for v in variants}
    by_key: dict[str, list[str]] = {}
    for name, plan in plans.items():
        if plan.key:
            by_key.setdefault(plan.key, []).append(name)
    todo, hits = [], []
    corrupt: dict[str, str] = {}
    for key, names in by_key.items():
        entry = cache.lookup(key)
        problem = entry.verify() if entry else ""
        if problem:  # never reuse a fit that fails its checksums: refit it
            corrupt[key] = problem
            say(f"cached fit fits/{key[:PREFIX]} of {', '.join(names)} is corrupt ({problem}); "
                "refitting")
        (hits if entry and not problem else todo).append((key, names))
    check_room(out, sum(_estimate_bytes(plans[names[0]], df) for _, names in todo))
    n = len(variants)
    say(f"study '{study.name}': {n} variants, {sum(len(nm) for _, nm in hits)} cached, "
        f"{sum(len(nm) for _, nm in todo)} to fit"
        + (f", {sum(1 for p in plans.values() if p.error)} failing before fitting"
           if any(p.error for p in plans.values()) else "")
        + (f" on {scheduler}" if scheduler else f" with {workers or os.cpu_count() or 1} "
           "local worker(s)"))

    outcomes: dict[str, dict[str, Any]] = {}
    done = 0

    def record(name: str, info: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        outcomes[name] = info
        extra = f": {info['error']}" if info.get("error") else ""
        if info["status"] == "warnings":
            extra = f" ({len(info['failures'])} diagnostic failure(s))"
        note = f" ({info['note']})" if info.get("note") else ""
        say(f"[{done:>{len(str(n))}}/{n}] {name}: {info['status']}"
            f"{' (cached)' if info['cached'] else f' in {info['seconds']:.1f} s'}{note}{extra}")

    for name, plan in plans.items():
        if plan.error:
            header = f"variant '{name}' of study '{study.name}'\n{_now()}"
            _write_log(logs / f"{name}.log", header, f"failed before fitting: {plan.error}\n\n"
                       + plan.variant.spec.to_toml())
            record(name, {"status": "failed", "failures": [], "error": plan.error,
                          "cached": False, "seconds": 0.0, "headline": None})

    # ---- cache hits: reuse the fit; recompute headline / LOO only when stale or missing
    for key, names in hits:
        entry = cache.entry(key)
        for name in names:
            info = _from_cache(entry, plans[name], headline_tags[name], loo=loo)
            _write_log(logs / f"{name}.log", "", f"{_now()} cache hit: fits/{key[:PREFIX]} "
                       f"(status {info['status']}); not refitted", append=True)
            record(name, info)

    # ---- fit the rest
    tasks = [VariantTask(variant=names[0], key=key, spec=plans[names[0]].variant.spec, df=df,
                         backend=plans[names[0]].backend,
                         headline=plans[names[0]].variant.headline, loo=loo)
             for key, names in todo]
    fitted: list[str] = []
    for task, outcome, exc in execute(run_variant, tasks, workers=workers or os.cpu_count() or 1,
                                      scheduler=scheduler):
        if exc is not None:
            outcome = VariantOutcome(variant=task.variant, key=task.key, status="failed",
                                     error=f"worker: {type(exc).__name__}: {exc}",
                                     log="".join(traceback.format_exception(exc)))
        names = by_key[task.key]
        entry = None
        if outcome.files is not None:
            entry = cache.store(task.key, outcome.files)
            entry.write_json("status", _status_record(outcome))
            if outcome.headline is not None:
                entry.write_extra(_headline_name(plans[task.variant].variant), outcome.headline,
                                  headline_tags[task.variant])
            if outcome.loo is not None:
                entry.write_extra("loo_pointwise", outcome.loo_pointwise, {"key": task.key},
                                  extra=outcome.loo)
        for name in names:
            spec = plans[name].variant.spec
            header = (f"variant '{name}' of study '{study.name}' - {plans[name].variant.label}\n"
                      f"{_now()}  cache key {task.key[:PREFIX]}\n\n{spec.to_toml()}")
            body = outcome.log + f"\nstatus: {outcome.status}" + (
                f"\nerror: {outcome.error}" if outcome.error else "")
            if task.key in corrupt:
                body = f"refitted: the cached fit was corrupt ({corrupt[task.key]})\n" + body
            if name != task.variant:
                body = f"same model as variant '{task.variant}' (one fit)\n" + body
            _write_log(logs / f"{name}.log", header, body)
            info = {"status": outcome.status, "failures": outcome.failures,
                    "error": outcome.error, "cached": False, "seconds": outcome.seconds,
                    "headline": outcome.headline, **outcome.worst}
            if task.key in corrupt:
                info["note"] = "refitted: the cached fit was corrupt"
            if name != task.variant and entry is not None:
                # Same model, maybe other headline options.
                info = _from_cache(entry, plans[name], headline_tags[name], loo=False)
                info["cached"] = False
            record(name, info)
            fitted.append(name)

    table, variant_table = _assemble(study, variants, plans, outcomes, logs)
    write_text_atomic(out / "sensitivity.csv", table.to_csv(index=False))
    write_text_atomic(out / "variants.csv", variant_table.to_csv(index=False))
    result = StudyResult(study=study, out=out, table=table, variants=variant_table,
                         fitted=fitted, cached=[n for n in outcomes if n not in fitted
                                                and outcomes[n]["cached"]], plans=plans)
    if psense:
        try:
            result.psense = _run_psense(result, say)
        except Exception as exc:  # noqa: BLE001 - the study table stands without it
            result.notes.append(f"psense failed: {type(exc).__name__}: {exc}")
            _write_log(logs / "psense.log", f"psense {_now()}", traceback.format_exc())
            say(result.notes[-1])
    method = crossval or study.crossval.method
    if method != "none":
        from bayes_llm.sensitivity.crossval import run_crossval

        try:
            result.crossval = run_crossval(result, df=df, method=method,
                                           folds=folds or study.crossval.folds,
                                           workers=workers or os.cpu_count() or 1,
                                           scheduler=scheduler, backend=backend,
                                           progress=say)
        except BayesLLMError as exc:
            result.notes.append(f"cross-validation failed: {exc}")
            say(result.notes[-1])
    result.seconds = round(time.perf_counter() - t_start, 1)
    say(f"study '{study.name}' done in {result.seconds:.1f} s: {len(result.fitted)} fitted, "
        f"{len(result.cached)} cached, {len(result.failed)} failed; table: "
        f"{out / 'sensitivity.csv'}")
    return result


def variant_data(df: pd.DataFrame, spec: ModelSpec) -> tuple[str, int]:
    """Return ``(data hash, number of models)`` of a variant, without fitting.

    Single-benchmark outcomes: :func:`bayes_llm.model.prepare_data`; the joint model:
    :func:`bayes_llm.sensitivity.joint.joint_plan`. Raises what they raise.
    """
    if is_joint(spec):
        return joint_plan(df, spec)
    data = prepare_data(df, spec)
    return data.data_hash, data.n_models


def _estimate_bytes(plan: _Plan, df: pd.DataFrame) -> int:
    """Rough size of a variant's saved fit (a joint fit: its result folder)."""
    spec = plan.variant.spec
    if is_joint(spec):
        from bayes_llm.joint.run import estimate_joint_bytes

        n_dev = int(df["developer"].nunique()) if "developer" in df else 100
        return estimate_joint_bytes(spec, plan.n_models, n_dev)
    return estimate_result_bytes(spec, plan.n_models)


def _headline_name(variant: Variant) -> str:
    """File stem of a variant's cached headline table (one per set of headline options)."""
    return f"headline-{variant.headline_key()}" if variant.headline else "headline"


def _from_cache(entry: CacheEntry, plan: _Plan, tag: dict[str, Any], *,
                loo: bool) -> dict[str, Any]:
    """Status and headline of a cached fit, recomputing stale post-processing (no refit)."""
    status = entry.read_json("status")
    name = _headline_name(plan.variant)
    headline = entry.read_extra(name, tag)
    need_loo = loo and not is_joint(plan.variant.spec) and \
        entry.read_extra("loo_pointwise", {"key": entry.key}) is None
    fit = None
    error = ""
    stale_status = not status or "r_hat_max" not in status
    if stale_status or headline is None or need_loo:
        try:
            fit = entry.load()
        except Exception as exc:  # noqa: BLE001 - a corrupt cache entry fails the variant
            return {"status": "failed", "failures": [], "cached": True, "seconds": 0.0,
                    "error": f"cache: {type(exc).__name__}: {exc}", "headline": None}
    if stale_status:
        status = {"status": _status_of(fit.diagnostics), "failures": fit.diagnostics.failures,
                  "sampler": fit.diagnostics.sampler,
                  "seconds": float((status or {}).get("seconds", 0.0)),
                  "n_models": _n_models(fit), **_worst(fit.diagnostics)}
        entry.write_json("status", status)
    if headline is None or need_loo:
        table, loo_result, error = postprocess_fit(fit, headline=tag["options"],
                                                   loo=need_loo)
        if table is not None:
            entry.write_extra(name, table, tag)
            headline = table
        if loo_result is not None:
            entry.write_extra("loo_pointwise", loo_result.pointwise, {"key": entry.key},
                              extra=loo_result.to_dict())
    return {"status": "failed" if error else status["status"], "failures": status["failures"],
            "error": error, "cached": True, "seconds": float(status.get("seconds", 0.0)),
            "headline": headline, **{k: status.get(k, np.nan) for k in
                                     ("r_hat_max", "ess_bulk_min", "divergences")}}


def _assemble(study: Study, variants: list[Variant], plans: dict[str, _Plan],
              outcomes: dict[str, dict[str, Any]], logs: Path
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the tidy table and the per-variant table; failed variants keep their rows."""
    figures = headline_figures()
    labels: dict[str, str] = {}
    paper: dict[str, float] = {}
    single = {v.name for v in variants if not is_joint(v.spec)}
    for name, info in outcomes.items():
        if name not in single:  # the joint rows name other figures
            continue
        h = info.get("headline")
        if h is not None and not h.empty:
            for row in h.itertuples(index=False):
                labels.setdefault(row.figure, row.figure_label)
                if pd.notna(row.paper_value):
                    paper.setdefault(row.figure, row.paper_value)
            figures = list(dict.fromkeys([*h["figure"].astype(str), *figures]))
            break
    rows, vrows = [], []
    for v in variants:
        plan, info = plans[v.name], outcomes[v.name]
        diag = "; ".join(info.get("failures") or [])
        common = {"study": study.name, "variant": v.name, "axis": v.axis, "level": v.level,
                  "variant_label": v.label, "status": info["status"], "diagnostics": diag,
                  "error": info.get("error", ""), "cached": bool(info["cached"]),
                  "seconds": info.get("seconds", 0.0), "n_models": plan.n_models,
                  "cache_key": plan.key[:PREFIX]}
        vrows.append({**common, **{k: info.get(k, np.nan) for k in
                                   ("r_hat_max", "ess_bulk_min", "divergences")},
                      "spec_hash": v.spec.hash()[:PREFIX],
                      "data_hash": plan.data_hash[:PREFIX], "likelihood": v.spec.likelihood,
                      "sample": v.spec.sample, "outcome": v.spec.outcome,
                      "log": str(logs / f"{v.name}.log")})
        headline = info.get("headline")
        if headline is None or headline.empty:
            for fig in (figures if v.name in single else joint_figures()):
                rows.append({**common, "figure": fig, "figure_label": labels.get(fig, ""),
                             "paper_value": paper.get(fig, np.nan), "median": np.nan,
                             "lower": np.nan, "upper": np.nan})
            continue
        for rec in headline.to_dict("records"):
            rec.pop("source", None)
            rows.append({**common, **rec})
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in TABLE_COLUMNS]
    table = table.reindex(columns=[*TABLE_COLUMNS[:11], *extra, *TABLE_COLUMNS[11:]])
    return table, pd.DataFrame(vrows, columns=VARIANT_COLUMNS)


def _run_psense(result: StudyResult, say: Progress):
    """Power-scaling sensitivity of the base (or first successful) variant."""
    from bayes_llm.sensitivity.psense import psense_headline

    ok = result.variants[(result.variants["status"] != "failed")
                         & (result.variants["outcome"] != "leaderboard6")]["variant"].tolist()
    if not ok:
        say("psense: no successful single-benchmark variant to analyse (the joint model "
            "has no power-scaling analysis)")
        return None
    name = BASE_VARIANT if BASE_VARIANT in ok else ok[0]
    say(f"psense: power-scaling the priors and likelihood of variant '{name}' (no refit)")
    fit = result.load_fit(name)
    res = psense_headline(fit, options=result.plans[name].variant.headline)
    res.variant = name
    write_text_atomic(result.out / "psense.csv", res.summary.to_csv(index=False))
    write_text_atomic(result.out / "psense_by_prior.csv", res.by_prior.to_csv(index=False))
    return res


def stderr_progress(message: str) -> None:
    """Progress callback printing to stderr with a timestamp."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


__all__ = ["STATUSES", "TABLE_COLUMNS", "VARIANT_COLUMNS", "StudyResult", "VariantOutcome",
           "VariantTask", "execute", "format_table", "postprocess_fit", "run_study",
           "run_variant", "stderr_progress", "variant_data"]
