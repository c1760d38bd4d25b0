"""The spec x score table of ``models/README.md``, regenerated from validate outputs.

The block between ``<!-- validate:begin -->`` and ``<!-- validate:end -->`` is replaced by
a table built from one or more ``bayes-llm validate`` output folders (every number read
from their ``summary.csv``; nothing typed by hand), one section per split.
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


def _diagnostics_cell(res, row: dict) -> str:
    """``ok``/``n/a (OLS)``, or how many folds failed with the worst R-hat and bulk ESS."""
    if row.get("fit_diagnostics_ok", True) in (True, "True"):
        return str(row.get("fit_diagnostics", "ok"))
    folds = res.folds[res.folds["method"].astype(str) == str(row["method"])]
    bad = folds[~folds["diagnostics_ok"].astype(bool)]
    cell = f"**FAILED in {len(bad)}/{len(folds)} folds**"
    if "max_rhat" in bad and len(bad) and np.isfinite(bad["max_rhat"].astype(float)).any():
        cell += (f" (worst R-hat {bad['max_rhat'].astype(float).max():.3f}, smallest bulk ESS "
                 f"{bad['min_ess_bulk'].astype(float).min():.0f})")
    return cell


def score_table_markdown(folders: list[str | Path]) -> str:
    """Markdown of the spec x score table for the given validate output folders."""
    from bayes_llm.validate.run import load_validation, sampler_text

    out = []
    for folder in folders:
        res = load_validation(folder)
        meta = res.metadata
        out += [f"**Split `{res.split}`** ({meta.get('n_heldout')} held-out models; outcome "
                f"`{meta.get('outcome')}`; sampler: {sampler_text(meta)}; seed {meta.get('seed')}; "
                f"made {meta.get('created', '?')}; source `{Path(folder).name}/summary.csv`)",
                ""]
        if res.banner():
            out += ["**!! MCMC DIAGNOSTICS FAILED in some folds: these scores are provisional "
                    "(see the diagnostics column; every failed check is in folds.csv) !!**", ""]
        out += ["| method | log score / model | elpd diff vs OLS (SE) | CRPS (pp) | MAE (pp) "
                "| cov 50% | cov 80% | cov 90% | cov 94% | stacking weight | diagnostics |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in res.summary.to_dict("records"):
            diag = _diagnostics_cell(res, r)
            out.append(
                f"| `{r['method']}` | {_f(r['log_score'], 3)} | {_f(r.get('elpd_diff'), 1)} "
                f"({_f(r.get('elpd_diff_se'), 1)}) | {_f(r['crps_pp'], 2)} | "
                f"{_f(r['mae_pp'], 2)} | "
                + " | ".join(_f(100 * float(r[f"coverage_{lab}"]), 0)
                             for lab in ("50", "80", "90", "94"))
                + f" | {_f(r.get('stacking_weight'), 2)} | {diag} |")
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
