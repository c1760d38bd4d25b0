"""Side-by-side comparison of specs: out-of-sample scores, headline figures, diagnostics.

``compare(runs)`` takes validate output folders (``bayes-llm validate --out``) and/or fit
or run folders (``bayes-llm fit``/``run``). It returns one row per method:

* from a validate folder: the held-out scores on the accuracy scale (log score of the
  accuracy bin, elpd, CRPS, MAE, coverage), with the elpd difference to the best method
  and its paired standard error (Vehtari, Gelman & Gabry 2017) recomputed over every
  method compared, and the fits' diagnostic status;
* from a fit or run folder: the spec, likelihood and diagnostics, the primary headline
  figures when the folder holds a ``headline.csv`` (``bayes-llm headline --out`` or
  ``run``), and with ``loo=True`` the in-sample PSIS-LOO elpd on the fit's observation
  scale.

**One observation scale or no comparison.** An elpd is a sum of log densities of the
observations, so two elpds are comparable only if they are densities of the same
observations on the same scale. A binomial fit's log-likelihood is a log probability of
``k`` correct answers, a logit-normal fit's a log density of the logit score: ArviZ
would happily subtract them (issue 10 saw -3680), but the number has no meaning
(Vehtari, Gelman & Gabry 2017; the stacking paper of Yao et al. 2018 makes the same
point). Such a comparison raises :class:`~bayes_llm.errors.IncomparableScalesError`
(one line, exit 2). Validate folders are all on one scale (``accuracy_bin``); they are
grouped by split, each split is a separate comparison (never a difference across
splits), and folders of one split are compared only when they scored the same held-out
models of the same data (else refused the same way).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.errors import IncomparableScalesError, ResultsError
from bayes_llm.validate.reference import OLS_METHOD
from bayes_llm.validate.scores import SCORE_SCALE, paired_difference

#: Primary headline figures shown by :func:`compare` (figure ids of ``headline.csv``).
HEADLINE_FIGURES: tuple[str, ...] = ("frontier_gain_compute_share", "company_share_superpop",
                                     "within_spread_centred_multiplier")

#: Observation scale of each likelihood's native log-likelihood.
LIKELIHOOD_SCALES: dict[str, str] = {"binomial": "count", "logit_normal": "logit_score",
                                     "student_t": "logit_score"}


def check_one_scale(scales: dict[str, str], *, what: str = "elpd") -> str:
    """Return the one observation scale of ``scales`` (name -> scale), or refuse.

    Raises
    ------
    IncomparableScalesError
        When the names are on more than one scale: one line listing which is on which.
    """
    groups: dict[str, list[str]] = {}
    for name, scale in scales.items():
        groups.setdefault(str(scale), []).append(name)
    if len(groups) > 1:
        listed = "; ".join(f"{scale}: {', '.join(names)}" for scale, names in groups.items())
        raise IncomparableScalesError(
            f"refusing to compare {what} across observation scales ({listed}): a log "
            "probability of k correct answers and a log density of the logit score differ by "
            "a Jacobian, not by predictive skill; compare 'bayes-llm validate' outputs "
            f"(every likelihood scored on the {SCORE_SCALE} scale) instead")
    return next(iter(groups), SCORE_SCALE)


def _is_validate(folder: Path) -> bool:
    from bayes_llm.validate.run import META_JSON

    return (folder / META_JSON).is_file()


def _check_group(results: list, labels: list[str]) -> None:
    """Refuse validate results of one split that scored different observations."""
    first = results[0].metadata
    for res, label in zip(results[1:], labels[1:], strict=True):
        meta = res.metadata
        check_one_scale({labels[0]: first.get("score_scale"), label: meta.get("score_scale")},
                        what="held-out scores")
        same = all(meta.get(k) == first.get(k) for k in ("heldout_ids_sha256", "data_hash",
                                                          "outcome"))
        if not same:
            raise IncomparableScalesError(
                f"refusing to compare {label} ({meta.get('n_heldout')} held-out models, "
                f"outcome {meta.get('outcome')}, data {str(meta.get('data_hash'))[:12]}) with "
                f"{labels[0]} ({first.get('n_heldout')} held-out models, outcome "
                f"{first.get('outcome')}, data {str(first.get('data_hash'))[:12]}) on split "
                f"{meta.get('split')}: scores of different observations are not comparable; "
                "validate the specs on one split and data")


def _validate_rows(results: list, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary rows and per-model log scores of validate results of one split."""
    _check_group(results, labels)
    rows, scores = [], []
    seen: set[str] = set()
    for res, label in zip(results, labels, strict=True):
        for r in res.summary.to_dict("records"):
            method = str(r["method"])
            if method == OLS_METHOD and method in seen:
                continue  # the same reference on the same split: shown once
            name = method if method not in seen else f"{label}:{method}"
            seen.add(name)
            rows.append({"method": name, "spec": method, "source": label, "kind": "validate",
                         "split": res.split, "scale": res.metadata.get("score_scale"), **{
                             k: r.get(k) for k in ("n_models", "elpd", "elpd_se", "log_score",
                                                   "crps_pp", "mae_pp", "coverage_50",
                                                   "coverage_80", "coverage_90",
                                                   "coverage_94", "pit_ks")},
                         "fit_diagnostics_ok": bool(r.get("fit_diagnostics_ok", True)),
                         "fit_diagnostics": str(r.get("fit_diagnostics", ""))})
            sub = res.scores[res.scores["method"].astype(str) == method]
            scores.append(pd.DataFrame({"method": name, "model_id": sub["model_id"].astype(str),
                                        "developer": sub["developer"].astype(str),
                                        "log_score": sub["log_score"].to_numpy(float)}))
    return pd.DataFrame(rows), pd.concat(scores, ignore_index=True)


def _diff_to_best(table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    wide = scores.pivot_table(index="model_id", columns="method", values="log_score").dropna()
    if wide.empty:
        return table
    totals = wide.sum()
    best = str(totals.idxmax())
    diffs = {m: paired_difference(wide[m].to_numpy(), wide[best].to_numpy())
             for m in wide.columns}
    table = table.copy()
    table["elpd_diff_to_best"] = table["method"].map(lambda m: diffs[m].total
                                                     if m in diffs else math.nan)
    table["elpd_diff_to_best_se"] = table["method"].map(
        lambda m: (0.0 if m == best else diffs[m].total_se) if m in diffs else math.nan)
    table["n_common"] = len(wide)
    table["best"] = table["method"] == best
    return table


def split_comparisons(results: list, labels: list[str]
                      ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """One comparison per split (never across splits), in order of first appearance.

    Parameters
    ----------
    results : list of ValidationResult
        Loaded validate outputs.
    labels : list of str
        A name for each (its folder's name): the ``source`` column, and the prefix of a
        method name that two outputs of one split share.

    Returns
    -------
    list of (DataFrame, DataFrame)
        Per split: the rows of every method, best first by elpd, with
        ``elpd_diff_to_best`` and its paired SE; and the per-model log scores
        (``method``, ``model_id``, ``developer``, ``log_score``) they were computed from.
    """
    out = []
    for split in dict.fromkeys(res.split for res in results):
        members = [i for i, res in enumerate(results) if res.split == split]
        table, scores = _validate_rows([results[i] for i in members],
                                       [labels[i] for i in members])
        table = _diff_to_best(table, scores)
        out.append((table.sort_values("elpd", ascending=False, kind="stable"), scores))
    return out


def _fit_row(folder: Path, *, loo: bool) -> tuple[dict, object]:
    from bayes_llm.model import load_fit
    from bayes_llm.report.build import find_fit_dir

    fit_dir = find_fit_dir(folder)
    from bayes_llm.validate.run import diagnostics_summary

    fit = load_fit(fit_dir)
    ok, short, _ = diagnostics_summary(fit)
    row = {"method": fit.spec.name, "source": str(folder), "kind": "fit",
           "likelihood": fit.spec.likelihood, "n_models": len(fit.models),
           "fit_diagnostics_ok": ok, "fit_diagnostics": short}
    for candidate in (folder / "headline.csv", fit_dir / "headline.csv",
                      folder / "headline" / "headline.csv"):
        if candidate.is_file():
            head = pd.read_csv(candidate).set_index("figure")
            for fid in HEADLINE_FIGURES:
                if fid in head.index:
                    r = head.loc[fid]
                    row[fid] = float(r["estimate"])
                    row[f"{fid}_interval"] = f"[{float(r['lower']):.3g}, {float(r['upper']):.3g}]"
            break
    loo_result = None
    if loo:
        from bayes_llm.sensitivity.crossval import loo_variant

        loo_result = loo_variant(fit)
        row.update({"loo_elpd": loo_result.elpd, "loo_se": loo_result.se,
                    "loo_scale": loo_result.scale, "loo_high_pareto_k": loo_result.n_high_k})
    return row, loo_result


def compare(runs: Iterable, *, loo: bool = False) -> pd.DataFrame:
    """Compare specs side by side (see the module docstring).

    Parameters
    ----------
    runs : iterable
        Validate output folders (or :class:`~bayes_llm.validate.run.ValidationResult`
        objects) and/or fit or run folders.
    loo : bool
        Also compute in-sample PSIS-LOO for fit folders (on each fit's scale: the binomial
        integrated over its model effect and moved to the logit-score scale by the Jacobian
        where every score has a logit, as in :mod:`bayes_llm.sensitivity.crossval`); fits
        on different scales or of different models are refused.

    Returns
    -------
    DataFrame
        One row per method; validate rows best first by elpd.

    Raises
    ------
    IncomparableScalesError
        Scores of different observation scales or different held-out models.
    ResultsError
        A folder that is neither a validate output nor a fit.
    """
    from bayes_llm.validate.run import ValidationResult, load_validation

    results, labels, fit_rows, loos = [], [], [], {}
    for run in runs:
        if isinstance(run, ValidationResult):
            results.append(run)
            labels.append(f"validate#{len(results)}")
            continue
        folder = Path(run)
        if not folder.is_dir():
            raise ResultsError(f"{folder}: no such folder")
        if _is_validate(folder):
            results.append(load_validation(folder))
            labels.append(folder.name)
        else:
            row, res = _fit_row(folder, loo=loo)
            fit_rows.append(row)
            if res is not None:
                loos[f"{row['method']} ({folder})"] = res
    if len(loos) > 1:
        check_one_scale({name: res.scale for name, res in loos.items()}, what="PSIS-LOO elpd")
        ids = {name: tuple(sorted(res.pointwise["model_id"].astype(str))) for name, res in
               loos.items()}
        if len(set(ids.values())) > 1:
            raise IncomparableScalesError(
                "refusing to compare PSIS-LOO elpd of fits to different models ("
                + "; ".join(f"{n}: {len(v)} models" for n, v in ids.items()) + ")")
    frames = [table for table, _ in split_comparisons(results, labels)]
    if fit_rows:
        frames.append(pd.DataFrame(fit_rows))
    if not frames:
        raise ResultsError("compare: give at least one validate output or fit folder")
    return pd.concat(frames, ignore_index=True)


def comparison_text(table: pd.DataFrame) -> str:
    """Render :func:`compare`'s table for a terminal (failed diagnostics marked ``!!``)."""
    lines = []
    all_val = table[table["kind"] == "validate"] if "kind" in table else table.iloc[0:0]
    for split in dict.fromkeys(all_val["split"] if len(all_val) else []):
        val = all_val[all_val["split"] == split]
        lines.append(f"Out of sample (split {split}; scale {val['scale'].iloc[0]}: "
                     "log probability of the observed accuracy bin; CRPS, MAE in accuracy "
                     "points; elpd difference to the best on this split, paired SE):")
        lines.append(f"{'method':<28} {'n':>4} {'log score':>9} {'elpd diff (SE)':>17} "
                     f"{'CRPS':>6} {'MAE':>6} {'cov50':>5} {'cov80':>5} {'cov90':>5} "
                     f"{'cov94':>5}  diagnostics")
        for r in val.to_dict("records"):
            diff = (f"{r.get('elpd_diff_to_best', math.nan):8.1f} "
                    f"({r.get('elpd_diff_to_best_se', math.nan):5.1f})")
            flag = "" if r["fit_diagnostics_ok"] else "!! "
            lines.append(f"{r['method']:<28} {int(r['n_models']):>4} {r['log_score']:>9.3f} "
                         f"{diff:>17} {r['crps_pp']:>6.2f} {r['mae_pp']:>6.2f} "
                         + " ".join(f"{100 * r[f'coverage_{lab}']:>5.0f}"
                                    for lab in ("50", "80", "90", "94"))
                         + f"  {flag}{r['fit_diagnostics']}")
    fits = table[table["kind"] == "fit"] if "kind" in table else table.iloc[0:0]
    if len(fits):
        lines.append("Fits:")
        for r in fits.to_dict("records"):
            flag = "" if r["fit_diagnostics_ok"] else "!! "
            parts = [f"{r['method']} ({r['likelihood']}, {r['n_models']} models)"]
            for fid in HEADLINE_FIGURES:
                value = r.get(fid)
                if value is not None and np.isfinite(value):
                    parts.append(f"{fid} {value:.3g} {r.get(f'{fid}_interval', '')}")
            if "loo_elpd" in r and np.isfinite(r.get("loo_elpd", math.nan)):
                parts.append(f"PSIS-LOO elpd {r['loo_elpd']:.1f} (SE {r['loo_se']:.1f}; "
                             f"{r['loo_scale']} scale; {int(r['loo_high_pareto_k'])} high "
                             "Pareto k)")
            parts.append(f"diagnostics {flag}{r['fit_diagnostics']}")
            lines.append("  " + "; ".join(parts))
    return "\n".join(lines) + "\n"


__all__ = ["HEADLINE_FIGURES", "LIKELIHOOD_SCALES", "check_one_scale", "compare",
           "comparison_text", "split_comparisons"]
