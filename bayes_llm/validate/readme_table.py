"""The spec x score table of ``models/README.md``, regenerated from validate outputs.

The block between ``<!-- validate:begin -->`` and ``<!-- validate:end -->`` is replaced by
a table built from one or more ``bayes-llm validate`` output folders (every number read
from their ``summary.csv`` and ``scores.csv``; nothing typed by hand), one table per split
with every method of every folder of that split.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bayes_llm.errors import ResultsError

BEGIN, END = "<!-- validate:begin -->", "<!-- validate:end -->"


def _f(v, nd: int) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(v) else f"{v:.{nd}f}"


def _diagnostics_cell(res, method: str, row: dict) -> str:
    """``ok``/``n/a (OLS)``, or how many folds failed with the worst R-hat and bulk ESS."""
    if row.get("fit_diagnostics_ok", True) in (True, "True"):
        return str(row.get("fit_diagnostics", "ok"))
    folds = res.folds[res.folds["method"].astype(str) == method]
    bad = folds[~folds["diagnostics_ok"].astype(bool)]
    cell = f"**FAILED in {len(bad)}/{len(folds)} folds**"
    if "max_rhat" in bad and len(bad) and np.isfinite(bad["max_rhat"].astype(float)).any():
        cell += (f" (worst R-hat {bad['max_rhat'].astype(float).max():.3f}, smallest bulk ESS "
                 f"{bad['min_ess_bulk'].astype(float).min():.0f})")
    return cell


def _within_one_se(row: dict) -> str:
    """``best``, ``yes`` (the elpd difference to the best is within one paired SE) or ``no``."""
    if bool(row.get("best")):
        return "best"
    diff, se = float(row.get("elpd_diff_to_best", math.nan)), float(
        row.get("elpd_diff_to_best_se", math.nan))
    if not (math.isfinite(diff) and math.isfinite(se)):
        return "n/a"
    return "yes" if diff + se >= 0 else "no"


def _source_line(label: str, res) -> str:
    from bayes_llm.validate.run import sampler_text

    meta = res.metadata
    commit = str(meta.get("commit") or "?")[:7]
    return (f"`{label}` (sampler: {sampler_text(meta)}; seed {meta.get('seed')}; code "
            f"{commit}; made {meta.get('created', '?')})")


def _cv_stacking_line(wide, scores, table) -> str:
    """Cross-validated stacking against the best single method, paired model by model."""
    from bayes_llm.validate.scores import paired_difference
    from bayes_llm.validate.stacking import CV_GROUPS, cross_validated_stacking

    developer = scores.drop_duplicates("model_id").set_index("model_id")["developer"]
    groups = developer.reindex(wide.index).astype(str).to_numpy()
    if len(np.unique(groups)) < 2 or wide.shape[1] < 2:
        return "Cross-validated stacking: not applicable (one method or one developer)."
    cv = cross_validated_stacking(wide.to_numpy(float), groups)
    best = str(table.loc[table["best"].astype(bool), "method"].iloc[0])
    d = paired_difference(cv, wide[best].to_numpy(float))
    total, se = d.total, d.total_se
    verdict = ("better than the best method by more than one SE" if total - se > 0 else
               "not better than the best method by more than one SE")
    return (f"Cross-validated stacking (weights fit without each of {CV_GROUPS} groups of "
            f"developers, Yao et al. 2018): log score / model {cv.mean():.3f}, elpd diff vs "
            f"`{best}` {total:+.1f} (SE {se:.1f}) on {len(cv)} models: {verdict}.")


def score_table_markdown(folders: list[str | Path]) -> str:
    """Markdown of the spec x score table for the given validate output folders.

    One table per split holding every method of every folder of that split: the elpd
    difference to the best method on the split with its paired SE (Vehtari, Gelman & Gabry
    2017), whether that difference is within one SE, and stacking weights (Yao, Vehtari,
    Simpson & Gelman 2018) over every method of the split.
    """
    from bayes_llm.validate.compare import split_comparisons
    from bayes_llm.validate.run import load_validation
    from bayes_llm.validate.stacking import stacking_weights

    labels = [Path(f).name for f in folders]
    results = [load_validation(f) for f in folders]
    by_label = dict(zip(labels, results, strict=True))
    out = []
    for table, scores in split_comparisons(results, labels):
        split = table["split"].iloc[0]
        members = [lab for lab in labels if by_label[lab].split == split]
        first = by_label[members[0]].metadata
        wide = scores.pivot_table(index="model_id", columns="method", values="log_score")
        wide = wide[list(table["method"])].dropna()
        weights, stacked = stacking_weights(wide.to_numpy(float))
        weight = dict(zip(wide.columns, weights, strict=True))
        out += [f"**Split `{split}`** ({first.get('n_heldout')} held-out models; outcome "
                f"`{first.get('outcome')}`; differences to the best method on this split with "
                "their paired SE; stacking over every method of the split, whose stacked "
                f"log score / model is {stacked:.3f}, optimistic by the weights' fit)", "",
                _cv_stacking_line(wide, scores, table), "",
                "Sources: " + "; ".join(_source_line(lab, by_label[lab]) for lab in members)
                + ".", ""]
        if any(by_label[lab].banner() for lab in members):
            out += ["**!! MCMC DIAGNOSTICS FAILED in some folds: these scores are provisional "
                    "(see the diagnostics column; every failed check is in each source's "
                    "folds.csv) !!**", ""]
        out += ["| method | source | log score / model | elpd diff vs best (SE) | within 1 SE "
                "| CRPS (pp) | MAE (pp) | cov 50% | cov 80% | cov 90% | cov 94% "
                "| stacking weight | diagnostics |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in table.to_dict("records"):
            diag = _diagnostics_cell(by_label[r["source"]], str(r["spec"]), r)
            out.append(
                f"| `{r['method']}` | `{r['source']}` | {_f(r['log_score'], 3)} | "
                f"{_f(r.get('elpd_diff_to_best'), 1)} ({_f(r.get('elpd_diff_to_best_se'), 1)})"
                f" | {_within_one_se(r)} | {_f(r['crps_pp'], 2)} | {_f(r['mae_pp'], 2)} | "
                + " | ".join(_f(100 * float(r[f"coverage_{lab}"]), 0)
                             for lab in ("50", "80", "90", "94"))
                + f" | {_f(weight.get(r['method']), 2)} | {diag} |")
        out.append("")
    return "\n".join(out)


def update_readme(readme: str | Path, folders: list[str | Path]) -> Path:
    """Replace the marker block of ``readme`` with :func:`score_table_markdown` (atomic write).

    Raises
    ------
    ResultsError
        The file lacks the two markers (in order).
    """
    from bayes_llm.atomic import write_text_atomic

    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ResultsError(f"{readme}: no '{BEGIN}' ... '{END}' block to regenerate")
    body = score_table_markdown(folders)
    new = text[:start + len(BEGIN)] + "\n" + body + "\n" + text[end:]
    return write_text_atomic(readme, new)


__all__ = ["BEGIN", "END", "score_table_markdown", "update_readme"]
