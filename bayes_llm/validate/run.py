"""Out-of-sample validation: fit each spec on each training fold, predict, score.

For every fold of the split (:mod:`bayes_llm.validate.splits`) and every spec, the spec is
fitted to the training models with the project's :func:`bayes_llm.model.fit_model`, the
held-out models are predicted with :func:`bayes_llm.predict` (accuracy draws and CDF), and
each held-out model is scored on the accuracy scale (:mod:`bayes_llm.validate.scores`).
The paper's OLS (:mod:`bayes_llm.validate.reference`) is refitted on the same training
models and scored identically; it is the reference of every paired difference.

A fold whose fit fails the project's diagnostics gate (:mod:`bayes_llm.model.diagnostics`)
is *used but flagged*: every score row carries ``fit_diagnostics_ok`` and
``fit_diagnostics``, the summary says per method how many folds failed, and the Markdown
summary and PIT plot open with a banner. A fold whose fit raises is listed in ``folds``
with its error and its models are missing from that method's scores (the summary then
scores every method only on the models all methods predicted, and says so).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import ResultsError, SpecError
from bayes_llm.model.sampling import spec_backend
from bayes_llm.validate.fold_cache import package_commit, prediction_code_hash
from bayes_llm.validate.reference import OLS_METHOD, predict_ols
from bayes_llm.validate.scores import (
    COVERAGE_LEVELS,
    SCORE_SCALE,
    coverage_table,
    level_label,
    score_rows,
    summarise_scores,
)
from bayes_llm.validate.splits import Fold, SplitRule, make_folds, parse_split
from bayes_llm.validate.stacking import stacking_weights

#: Files of a validate output folder.
SCORES_CSV, SUMMARY_CSV, COVERAGE_CSV, FOLDS_CSV = ("scores.csv", "summary.csv",
                                                    "coverage.csv", "folds.csv")
PIT_PNG, SUMMARY_MD, META_JSON = "pit.png", "summary.md", "validate.json"
#: Every fold fit's convergence diagnostics, one row per (method, fold, variable).
FIT_DIAGNOSTICS_CSV = "fit_diagnostics.csv"
#: Its columns.
FIT_DIAGNOSTICS_COLUMNS = ("method", "fold", "variable", "size", "r_hat_max", "ess_bulk_min",
                           "ess_tail_min", "checked")
#: Marker kind of a validate output folder.
FOLDER_KIND = "validate"
#: Columns copied from the table into every score row.
ID_COLUMNS = ("model_id", "developer", "month", "log10_flop")


def _predict_api() -> Callable:
    import bayes_llm

    try:
        return bayes_llm.predict
    except AttributeError as exc:
        raise ResultsError("the prediction API bayes_llm.predict (issue 10, item 1) is not "
                           "in this install; validate needs it to predict held-out models"
                           ) from exc


def diagnostics_summary(fit) -> tuple[bool, str, str]:
    """``(ok, short status, every failure)`` of a fit's diagnostics gate.

    The short status names the number of failed checks, the worst R-hat and the smallest
    bulk ESS (with their variables) and the divergences; the full list goes to folds.csv.
    """
    diag = getattr(fit, "diagnostics", None)
    if diag is None:
        return True, "not applicable", ""
    if diag.ok:
        return True, "ok", ""
    parts = []
    table = getattr(diag, "table", None)
    try:
        rhat, ess = table["r_hat_max"].astype(float), table["ess_bulk_min"].astype(float)
        parts.append(f"max R-hat {rhat.max():.3f} ({rhat.idxmax()})")
        parts.append(f"min bulk ESS {ess.min():.0f} ({ess.idxmin()})")
    except (TypeError, KeyError, ValueError, AttributeError):
        pass
    sampler = getattr(diag, "sampler", None) or {}
    if "divergences" in sampler:
        parts.append(f"{sampler['divergences']} divergences")
    n = len(diag.failures)
    short = f"FAILED ({n} check{'s' if n != 1 else ''}" + (": " + ", ".join(parts) if parts else "") + ")"
    return False, short, "; ".join(diag.failures)


def fit_diagnostics_rows(fit) -> pd.DataFrame | None:
    """Return the fit's diagnostics, one row per variable (R-hat, bulk and tail ESS), or None.

    Kept for every fold, passed or failed: how far each variable is from its threshold
    (e.g. the bulk ESS of sigma_lineage when it passes) is what a comparison of samplers
    reads.
    """
    table = getattr(getattr(fit, "diagnostics", None), "table", None)
    if not isinstance(table, pd.DataFrame):
        return None
    return table.rename_axis("variable").reset_index()[list(FIT_DIAGNOSTICS_COLUMNS[2:])]


def _worst(fit) -> dict[str, float]:
    """Largest R-hat and smallest bulk ESS over the fit's variables (NaN if unknown)."""
    table = getattr(getattr(fit, "diagnostics", None), "table", None)
    try:
        return {"max_rhat": float(table["r_hat_max"].max()),
                "min_ess_bulk": float(table["ess_bulk_min"].min())}
    except (TypeError, KeyError, ValueError):
        return {"max_rhat": math.nan, "min_ess_bulk": math.nan}


@dataclass
class ValidationResult:
    """Scores of every method on every held-out model, and their summaries.

    Attributes
    ----------
    split : str
        The split rule, e.g. ``time:2024-10``.
    scores : DataFrame
        One row per (method, held-out model): ids, ``fold``, the scores of
        :func:`bayes_llm.validate.scores.score_rows`, ``fit_diagnostics_ok`` and
        ``fit_diagnostics``.
    summary : DataFrame
        One row per method (:func:`summarise_scores` against the OLS reference) with
        ``stacking_weight``, ``folds_failed_diagnostics``, ``folds_failed``,
        ``fit_diagnostics_ok`` and ``fit_diagnostics``.
    coverage : DataFrame
        :func:`coverage_table`, with the diagnostics columns.
    folds : DataFrame
        One row per (method, fold): sizes, seconds, the diagnostics status (short), every
        failed check (``diagnostics_detail``) or the error.
    fit_diagnostics : DataFrame
        One row per (method, fold, variable) of every fold fit: R-hat, bulk and tail ESS
        (:data:`FIT_DIAGNOSTICS_COLUMNS`), passed checks included.
    metadata : dict
        Split, seed, outcome, sample, specs (name and hash), data hash of the table,
        sampler settings, score scale, held-out ids hash, stacked log score.
    """

    split: str
    scores: pd.DataFrame
    summary: pd.DataFrame
    coverage: pd.DataFrame
    folds: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    fit_diagnostics: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(FIT_DIAGNOSTICS_COLUMNS)))

    def _unscored_methods(self) -> list[str]:
        """Methods with no summary row: every fold raised (the error is in ``folds``)."""
        if self.folds is None or "method" not in self.folds:
            return []
        scored = set(self.summary["method"]) if "method" in self.summary else set()
        return [m for m in dict.fromkeys(self.folds["method"].astype(str)) if m not in scored]

    @property
    def diagnostics_ok(self) -> bool:
        """Whether every fold of every method passed its diagnostics (and none failed)."""
        ok = bool(self.summary["fit_diagnostics_ok"].all()) if len(self.summary) else True
        return ok and not self._unscored_methods()

    def banner(self) -> str | None:
        """Return a loud line when some fold's fit failed the diagnostics gate or raised."""
        bad = self.summary[~self.summary["fit_diagnostics_ok"].astype(bool)]
        parts = [f"{r.method}: {r.fit_diagnostics}" for r in bad.itertuples(index=False)]
        for method in self._unscored_methods():
            errors = self.folds.loc[self.folds["method"].astype(str) == method, "error"]
            parts.append(f"{method}: every fold failed, none scored ("
                         + "; ".join(sorted(set(errors.astype(str)))) + ")")
        if not parts:
            return None
        return ("!! MCMC DIAGNOSTICS FAILED in some validation folds: their scores are "
                "provisional !! (" + " | ".join(parts) + ")")

    def to_markdown(self) -> str:
        """Render the summary as Markdown: banner, table of scores, coverage, folds."""
        return summary_markdown(self)

    def write(self, out: str | Path) -> Path:
        """Write the output folder atomically (see :func:`write_validation`)."""
        return write_validation(self, out)


def _status_of_method(folds: pd.DataFrame, method: str) -> tuple[bool, str, int, int]:
    sub = folds[folds["method"] == method]
    failed_fit = sub[sub["error"].astype(str) != ""]
    failed_diag = sub[(sub["error"].astype(str) == "") & ~sub["diagnostics_ok"].astype(bool)]
    parts = []
    if len(failed_diag):
        if len(sub) == 1:
            where = str(failed_diag["diagnostics"].iloc[0])
        else:
            where = ("fold " if len(failed_diag) == 1 else "folds ") + ", ".join(
                str(int(f) + 1) for f in failed_diag["fold"])
        parts.append(f"{len(failed_diag)}/{len(sub)} folds FAILED diagnostics ({where}; "
                     "every failed check in folds.csv)")
    if len(failed_fit):
        parts.append(f"{len(failed_fit)}/{len(sub)} folds could not be fitted ("
                     + "; ".join(f"fold {int(r.fold) + 1}: {r.error}"
                                 for r in failed_fit.itertuples(index=False)) + ")")
    if parts:
        return False, " ".join(parts), len(failed_diag), len(failed_fit)
    kinds = set(sub["diagnostics"].astype(str))
    return True, ("not applicable (OLS)" if kinds == {"not applicable"} else "ok"), 0, 0


def _data_hash(frame: pd.DataFrame, columns: tuple[str, ...]) -> str:
    cols = [c for c in columns if c in frame]
    text = frame[cols].astype(str).sort_values("model_id").to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()


def validation_table(df: pd.DataFrame, outcome: str, sample: str):
    """Return the models a validation scores, and the sample report.

    The canonical table with ``outcome``'s columns, restricted to ``sample`` and to rows
    with an accuracy and a compute, re-indexed, with string model ids (the folds' keys).
    """
    from bayes_llm.data.benchmarks import with_outcome_columns
    from bayes_llm.data.samples import select_sample
    from bayes_llm.model.design import OUTCOMES

    df = with_outcome_columns(df, outcome)
    table, report = select_sample(df, sample, require=(OUTCOMES[outcome][0], "log10_flop"))
    table = table.reset_index(drop=True)
    table["model_id"] = table["model_id"].astype(str)
    return table, report


def fold_tables(table: pd.DataFrame, fold: Fold) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return a fold's training and held-out rows of :func:`validation_table`'s table."""
    by_id = table.set_index("model_id", drop=False)
    train = by_id.loc[list(fold.train_ids)].reset_index(drop=True)
    test = by_id.loc[list(fold.test_ids)].reset_index(drop=True)
    train.attrs, test.attrs = dict(table.attrs), dict(table.attrs)
    return train, test


def split_fold(df: pd.DataFrame, spec, split: SplitRule | str, fold_index: int,
               seed: int = DEFAULT_SEED) -> tuple[Fold, pd.DataFrame, pd.DataFrame]:
    """Return one fold of ``split`` with its training and held-out rows.

    As :func:`validate` makes them for ``spec`` (its outcome and sample) with ``seed``. For
    scripts that refit or inspect one fold (benchmarks, exploratory checks).
    """
    rule = parse_split(split) if isinstance(split, str) else split
    table, _ = validation_table(df, spec.outcome, spec.sample)
    folds = make_folds(table, rule, seed=seed)
    if not 0 <= fold_index < len(folds):
        raise SpecError(f"split {rule.label} has {len(folds)} fold(s); there is no fold "
                        f"index {fold_index}")
    fold = folds[fold_index]
    return (fold, *fold_tables(table, fold))


def validate(specs, df: pd.DataFrame, split: SplitRule | str, *, draws: int | None = None,
             tune: int | None = None, chains: int | None = None, seed: int = DEFAULT_SEED,
             backend: str | None = None, include_ols: bool = True,
             progress: Callable[[str], None] | None = None, fitter: Callable | None = None,
             predictor: Callable | None = None,
             fold_cache: str | Path | None = None,
             progressbar: bool = False) -> ValidationResult:
    """Validate specs out of sample on one split, next to the paper's OLS.

    Parameters
    ----------
    specs : list of ModelSpec
        The specs (same outcome and sample: they are scored on the same models).
    df : DataFrame
        The canonical model table.
    split : SplitRule or str
        ``time:YYYY-MM``, ``developers:K`` or ``kfold:K``.
    draws, tune, chains : int, optional
        Override each spec's sampler settings.
    seed : int
        Seed of the fold assignment, the sampler (fold ``f`` uses ``seed + f``), the
        predictive draws and the PIT randomisation.
    backend : str, optional
        NUTS backend of every fit; default: each spec's own
        (:func:`~bayes_llm.model.sampling.spec_backend`).
    include_ols : bool
        Score the paper's OLS too (the reference of the paired differences).
    progress : callable, optional
        Called with one line per step.
    fitter, predictor : callable, optional
        Replace :func:`bayes_llm.model.fit_model` and :func:`bayes_llm.predict` (tests).
    fold_cache : str or Path, optional
        Folder of finished folds (:mod:`bayes_llm.validate.fold_cache`): each spec's fold is
        kept there as soon as it is scored and reused by a later run with the same model,
        code, rows, seed and sampler settings.
    progressbar : bool
        Show each fit's sampler progress bar.

    Returns
    -------
    ValidationResult
    """
    from bayes_llm.model.design import HASHED_COLUMNS, OUTCOMES

    say = progress or (lambda _m: None)
    rule = parse_split(split) if isinstance(split, str) else split
    specs = list(specs)
    if not specs and not include_ols:
        raise SpecError("validate needs at least one spec")
    outcome = specs[0].outcome if specs else "mmlu_pro"
    sample = specs[0].sample if specs else "full"
    for spec in specs[1:]:
        if (spec.outcome, spec.sample) != (outcome, sample):
            raise SpecError(f"spec '{spec.name}' has outcome '{spec.outcome}' and sample "
                            f"'{spec.sample}', spec '{specs[0].name}' '{outcome}' and "
                            f"'{sample}': validate scores specs on the same models; run them "
                            "separately")
    names = [s.name for s in specs]
    if len(set(names)) != len(names) or OLS_METHOD in names:
        raise SpecError(f"spec names must be distinct and not '{OLS_METHOD}': {names}")
    if outcome not in OUTCOMES:
        raise SpecError(f"validate scores single-benchmark outcomes ({', '.join(OUTCOMES)}), "
                        f"not outcome '{outcome}'")
    acc_col, _, _, n_q = OUTCOMES[outcome]
    table, report = validation_table(df, outcome, sample)
    folds = make_folds(table, rule, seed=seed)
    say(f"validate: split {rule.label}, {len(folds)} fold(s), {len(table)} models "
        f"(sample '{sample}'), methods: {', '.join(names + ([OLS_METHOD] if include_ols else []))}")
    fit_fn = fitter
    if fit_fn is None:
        from bayes_llm.model.fit import fit_model as fit_fn
    predict_fn = predictor or (_predict_api() if specs else None)
    cache = None
    if fold_cache is not None:
        from bayes_llm.validate.fold_cache import FoldCache

        cache = FoldCache(fold_cache)
    score_frames, fold_rows, diagnostic_frames = [], [], []
    n_jobs = len(folds) * (len(specs) + int(include_ols))
    job = 0
    for fold in folds:
        train, test = fold_tables(table, fold)
        y = test[acc_col].to_numpy(float)
        methods = [(s.name, s) for s in specs] + ([(OLS_METHOD, None)] if include_ols else [])
        for name, spec in methods:
            job += 1
            spec_sampler = spec_backend(spec, backend) if spec is not None else None
            head = (f"[{job}/{n_jobs}] {name}, {fold.label}: fit on {len(train)} models, "
                    f"predict {len(test)}")
            say(head + " ...")
            key = None
            if cache is not None and spec is not None:
                from bayes_llm.validate.fold_cache import fold_key

                key = fold_key(spec, train, test, seed=seed, fold_index=fold.index,
                               draws=draws, tune=tune, chains=chains,
                               backend=spec_sampler)
                kept = cache.load(key)
                if kept is not None:
                    row, rows, diagnostics = kept
                    if diagnostics is not None:
                        diagnostic_frames.append(diagnostics.assign(method=name,
                                                                    fold=fold.index))
                    row.update(method=name, fold_label=fold.label)
                    rows = rows.assign(method=name)
                    fold_rows.append(row)
                    score_frames.append(rows)
                    say(f"{head}: from the fold cache ({row['seconds']:.0f} s when fitted), "
                        f"mean log score {rows['log_score'].mean():.3f}, diagnostics "
                        f"{row['diagnostics']}")
                    continue
            t0 = time.perf_counter()
            diagnostics = None
            row = {"method": name, "fold": fold.index, "fold_label": fold.label,
                   "n_train": len(train), "n_test": len(test), "seconds": math.nan,
                   "diagnostics_ok": True, "diagnostics": "not applicable",
                   "diagnostics_detail": "", "error": ""}
            try:
                if spec is None:
                    pred = predict_ols(train, test, outcome=outcome, seed=seed + fold.index)
                    n_items, discrete = pred.n_items, False
                    row["unseen_levels"] = int(pred.unseen.sum())
                else:
                    fit = fit_fn(spec, train, backend=spec_sampler,
                                 draws=draws, tune=tune,
                                 chains=chains, seed=seed + fold.index,
                                 progressbar=progressbar)
                    (row["diagnostics_ok"], row["diagnostics"],
                     row["diagnostics_detail"]) = diagnostics_summary(fit)
                    row.update(_worst(fit))
                    diagnostics = fit_diagnostics_rows(fit)
                    pred = predict_fn(fit, test, seed=seed + fold.index)
                    n_items = getattr(pred, "n_items", None)
                    n_items = np.full(len(test), n_q) if n_items is None else np.asarray(
                        n_items, float)
                    discrete = spec.likelihood == "binomial"
                rows = score_rows(pred, y, n_items, discrete=discrete,
                                  seed=seed + 7919 * fold.index + job)
            except SpecError:
                raise
            except Exception as exc:  # a fit or prediction that cannot be made: listed
                row["error"] = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:400]
                row["diagnostics_ok"] = False
                row["seconds"] = round(time.perf_counter() - t0, 1)
                fold_rows.append(row)
                say(f"{head}: FAILED ({row['error']})")
                continue
            row["seconds"] = round(time.perf_counter() - t0, 1)
            fold_rows.append(row)
            ids = test[[c for c in ID_COLUMNS if c in test]].reset_index(drop=True)
            rows.insert(0, "fold", fold.index)
            rows.insert(0, "method", name)
            rows = pd.concat([rows.iloc[:, :2], ids, rows.iloc[:, 2:]], axis=1)
            rows["fit_diagnostics_ok"] = row["diagnostics_ok"]
            rows["fit_diagnostics"] = row["diagnostics"]
            score_frames.append(rows)
            if diagnostics is not None:
                diagnostic_frames.append(diagnostics.assign(method=name, fold=fold.index))
            if key is not None:
                cache.save(key, row, rows, diagnostics)
            flag = "" if row["diagnostics_ok"] else "  !! DIAGNOSTICS FAILED !!"
            say(f"{head}: done in {row['seconds']:.0f} s, mean log score "
                f"{rows['log_score'].mean():.3f}, diagnostics {row['diagnostics']}{flag}")
    folds_table = pd.DataFrame(fold_rows)
    if not score_frames:
        raise ResultsError("validate: no method produced predictions (see the errors above)")
    scores = pd.concat(score_frames, ignore_index=True)
    reference = OLS_METHOD if include_ols else None
    summary = summarise_scores(scores, reference=reference)
    status = {m: _status_of_method(folds_table, m) for m in summary["method"]}
    summary["folds"] = [int((folds_table["method"] == m).sum()) for m in summary["method"]]
    summary["folds_failed_diagnostics"] = [status[m][2] for m in summary["method"]]
    summary["folds_failed"] = [status[m][3] for m in summary["method"]]
    summary["fit_diagnostics_ok"] = [status[m][0] for m in summary["method"]]
    summary["fit_diagnostics"] = [status[m][1] for m in summary["method"]]
    stacked = math.nan
    if len(summary) > 1:
        common = scores.pivot_table(index="model_id", columns="method", values="log_score")
        common = common[list(summary["method"])].dropna()
        weights, stacked = stacking_weights(common.to_numpy(float))
        summary["stacking_weight"] = weights
    else:
        summary["stacking_weight"] = 1.0
    coverage = coverage_table(scores)
    coverage["fit_diagnostics_ok"] = coverage["method"].map(lambda m: status[m][0])
    coverage["fit_diagnostics"] = coverage["method"].map(lambda m: status[m][1])
    heldout = sorted(set(scores["model_id"]))
    metadata = {
        "split": rule.label, "seed": seed, "outcome": outcome, "sample": sample,
        "sample_report": str(report), "score_scale": SCORE_SCALE,
        "specs": {s.name: {"hash": s.hash(), "likelihood": s.likelihood,
                           "draws": draws or s.sampler.draws, "tune": tune or s.sampler.tune,
                           "chains": chains or s.sampler.chains,
                           "backend": spec_backend(s, backend)} for s in specs},
        "reference": reference, "data_hash": _data_hash(table, HASHED_COLUMNS + (
            (acc_col,) if acc_col not in HASHED_COLUMNS else ())),
        "heldout_ids_sha256": hashlib.sha256("\n".join(heldout).encode()).hexdigest(),
        "n_heldout": len(heldout), "draws": draws, "tune": tune, "chains": chains,
        "backend": backend or "each spec's own", "stacked_log_score": stacked,
        "coverage_levels": list(COVERAGE_LEVELS),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # provenance: the code that made the scores (a committed run can be traced back)
        "code_hash": prediction_code_hash(), "commit": package_commit(),
    }
    fit_diagnostics = (pd.concat(diagnostic_frames, ignore_index=True)
                       [list(FIT_DIAGNOSTICS_COLUMNS)] if diagnostic_frames else
                       pd.DataFrame(columns=list(FIT_DIAGNOSTICS_COLUMNS)))
    return ValidationResult(split=rule.label, scores=scores, summary=summary,
                            coverage=coverage, folds=folds_table, metadata=metadata,
                            fit_diagnostics=fit_diagnostics)


def sampler_text(meta: dict) -> str:
    """Say which sampler settings the fits used (overrides, else each spec's own)."""
    if meta.get("draws") or meta.get("tune") or meta.get("chains"):
        return (f"draws {meta.get('draws') or 'spec'} x chains {meta.get('chains') or 'spec'}, "
                f"tune {meta.get('tune') or 'spec'} (overrides)")
    per_spec = [f"{name} {s['draws']} x {s['chains']}, tune {s['tune']}"
                + (f", {s['backend']}" if "backend" in s else "")
                for name, s in (meta.get("specs") or {}).items() if "draws" in s]
    return "each spec's own settings" + (f" ({'; '.join(per_spec)})" if per_spec else "")


def _fmt(v: float, nd: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{nd}f}"


def summary_markdown(result: ValidationResult) -> str:
    """Render a validation result as Markdown (banner first when any fold failed)."""
    meta = result.metadata
    lines = [f"# Out-of-sample validation: split `{result.split}`", ""]
    banner = result.banner()
    lines += [f"**{banner}**" if banner else "fit diagnostics: every fold passed "
              "(R-hat, ESS, divergences; the OLS reference has none)", ""]
    lines += [f"Held-out models: {meta.get('n_heldout')}; outcome `{meta.get('outcome')}`, "
              f"sample `{meta.get('sample')}`; seed {meta.get('seed')}; sampler: "
              f"{sampler_text(meta)}.", "",
              "Scores on the accuracy scale (one observation scale for every likelihood): "
              "log score = log predictive probability of the observed accuracy bin "
              "[(k-0.5)/n, (k+0.5)/n], mean per model (higher is better); elpd = its sum; "
              "CRPS and MAE of the predictive median in accuracy points (lower is better); "
              "differences are paired, against the paper's OLS, with their standard errors "
              "(SE of the sum for elpd, of the mean otherwise). Stacking weights: Yao et al. "
              "(2018), from these held-out log scores.", ""]
    levels = [level_label(v) for v in meta.get("coverage_levels", COVERAGE_LEVELS)]
    head = (["method", "n", "log score", "elpd diff (SE)", "CRPS pp", "MAE pp"]
            + [f"cov {lab}%" for lab in levels] + ["stack w", "diagnostics"])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result.summary.to_dict("records"):
        diff = (f"{_fmt(r.get('elpd_diff', math.nan), 1)} ({_fmt(r.get('elpd_diff_se', math.nan), 1)})"
                if "elpd_diff" in r else "")
        diag = r["fit_diagnostics"] if r["fit_diagnostics_ok"] else f"**{r['fit_diagnostics']}**"
        cells = [f"`{r['method']}`", str(r["n_models"]), _fmt(r["log_score"]), diff,
                 _fmt(r["crps_pp"], 2), _fmt(r["mae_pp"], 2)]
        cells += [f"{100 * r[f'coverage_{lab}']:.0f}" for lab in levels]
        cells += [_fmt(r["stacking_weight"], 2), diag]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Coverage misses (share of held-out models below / above the interval):", ""]
    lines += ["| method | level | coverage (SE) | below | above |", "|---|---|---|---|---|"]
    for r in result.coverage.to_dict("records"):
        lines.append(f"| `{r['method']}` | {r['level']:.0%} | {100 * r['coverage']:.1f} "
                     f"({100 * r['se']:.1f}) | {100 * r['below']:.1f} | {100 * r['above']:.1f} |")
    lines += ["", "Folds:", "", "| method | fold | train | test | seconds | diagnostics |",
              "|---|---|---|---|---|---|"]
    for r in result.folds.to_dict("records"):
        what = r["error"] or r["diagnostics"]
        what = what if r["diagnostics_ok"] and not r["error"] else f"**{what}**"
        lines.append(f"| `{r['method']}` | {r['fold_label']} | {r['n_train']} | {r['n_test']} "
                     f"| {_fmt(r['seconds'], 0)} | {what} |")
    stacked = meta.get("stacked_log_score")
    if stacked is not None and np.isfinite(stacked):
        lines += ["", f"Stacked predictive: mean log score {stacked:.3f} on the same models "
                  "(optimistic: the weights were chosen on them)."]
    return "\n".join(lines) + "\n"


def check_validate_output(out: str | Path) -> str:
    """Check the destination before any fitting (see :func:`bayes_llm.atomic.check_destination`)."""
    from bayes_llm.atomic import check_destination

    return check_destination(out, size_bytes=5_000_000)


def write_validation(result: ValidationResult, out: str | Path) -> Path:
    """Write a validation result's output folder.

    ``scores.csv``, ``summary.csv``, ``coverage.csv``, ``folds.csv``,
    ``fit_diagnostics.csv``, ``pit.png``, ``summary.md`` and ``validate.json`` go into
    ``out`` (a new folder, or an earlier validate folder of ours, replaced atomically).
    """
    from bayes_llm.atomic import atomic_directory
    from bayes_llm.plots._style import figure_png
    from bayes_llm.plots.validation import plot_pit_histogram

    banner = result.banner()
    title = f"PIT of held-out models, split {result.split} (uniform if calibrated)"
    fig = plot_pit_histogram(scores=result.scores, title=(f"{banner[:110]}...\n{title}"
                                                          if banner else title))
    png = figure_png(fig)
    out = Path(out)
    with atomic_directory(out, kind=FOLDER_KIND) as tmp:
        for name, frame in ((SCORES_CSV, result.scores), (SUMMARY_CSV, result.summary),
                            (COVERAGE_CSV, result.coverage), (FOLDS_CSV, result.folds),
                            (FIT_DIAGNOSTICS_CSV, result.fit_diagnostics)):
            (tmp / name).write_text(frame.to_csv(index=False, float_format="%.6g",
                                                 lineterminator="\n"), encoding="utf-8")
        (tmp / PIT_PNG).write_bytes(png)
        (tmp / SUMMARY_MD).write_text(result.to_markdown(), encoding="utf-8")
        meta = {**result.metadata, "diagnostics_ok": result.diagnostics_ok,
                "diagnostics_banner": banner}
        (tmp / META_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str),
                                     encoding="utf-8")
    return out


def load_validation(folder: str | Path) -> ValidationResult:
    """Read a validate output folder back.

    Raises
    ------
    ResultsError
        The folder is not a validate output (one line naming the missing file).
    """
    folder = Path(folder)
    missing = [n for n in (SCORES_CSV, SUMMARY_CSV, COVERAGE_CSV, FOLDS_CSV, META_JSON)
               if not (folder / n).is_file()]
    if missing:
        raise ResultsError(f"{folder}: not a 'bayes-llm validate' output folder (missing "
                           f"{', '.join(missing)})")
    try:
        meta = json.loads((folder / META_JSON).read_text(encoding="utf-8"))
        frames = [pd.read_csv(folder / n, keep_default_na=False, na_values=[""])
                  for n in (SCORES_CSV, SUMMARY_CSV, COVERAGE_CSV, FOLDS_CSV)]
        diagnostics = (pd.read_csv(folder / FIT_DIAGNOSTICS_CSV)
                       if (folder / FIT_DIAGNOSTICS_CSV).is_file() else  # older folders
                       pd.DataFrame(columns=list(FIT_DIAGNOSTICS_COLUMNS)))
    except (ValueError, OSError) as exc:
        raise ResultsError(f"{folder}: unreadable validate output ({exc})") from exc
    for frame in frames:
        if "model_id" in frame:
            frame["model_id"] = frame["model_id"].astype(str)
        for col in ("error", "diagnostics", "diagnostics_detail", "fit_diagnostics"):
            if col in frame:
                frame[col] = frame[col].astype(object).fillna("").astype(str)
    return ValidationResult(split=str(meta.get("split")), scores=frames[0], summary=frames[1],
                            coverage=frames[2], folds=frames[3], metadata=meta,
                            fit_diagnostics=diagnostics)


__all__ = ["COVERAGE_CSV", "FIT_DIAGNOSTICS_CSV", "FOLDS_CSV", "META_JSON", "PIT_PNG",
           "SCORES_CSV", "SUMMARY_CSV", "SUMMARY_MD", "ValidationResult",
           "check_validate_output", "diagnostics_summary", "fit_diagnostics_rows",
           "load_validation", "summary_markdown", "validate", "write_validation"]
