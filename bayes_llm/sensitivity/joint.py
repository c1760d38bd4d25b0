"""The joint six-benchmark model as a variant of a sensitivity study.

A variant whose spec has ``outcome = "leaderboard6"`` is fitted by
:func:`bayes_llm.joint.run_joint` (with the ``bayes-llm joint`` defaults
:data:`~bayes_llm.joint.run.DEFAULT_RESIDUALS` / :data:`~bayes_llm.joint.run.DEFAULT_ABILITY`,
one core, the variant's seed) instead of :func:`bayes_llm.model.fit_model`; the runner
caches its saved folder (:meth:`bayes_llm.joint.result.JointResult.save`) like any fit.

Its rows in ``sensitivity.csv`` are the joint model's answers, named for what they are
(:func:`joint_headline`):

* ``company_share_latent[<b>]``, ``compute_share_latent[<b>]``: per benchmark b, the
  company and compute share of the latent variance of the joint model
  (:mod:`bayes_llm.derived.leaderboard6_shares`);
* ``developer_common_share``: the share of the developer covariance along its first
  principal component (:mod:`bayes_llm.derived.leaderboard6`);
* ``developer_corr[<a>,<b>]``: the correlation of developer effects between two benchmarks.

The per-benchmark shares are **not** the single-benchmark headline's ``company_share``:
models/README.md (joint model, answers): "Unlike the single-benchmark headline share, which
leaves this term out since SBC showed its plug-in uncalibrated (coverage of the share's
94% intervals 0.68 in 200 replications; `bayes_llm/derived/company.py`), these shares
keep it, because IFEval's Beta noise is its only model-level residual; they are not
SBC-checked." -- "this term" being the distribution-specific variance. Every row says so in
its ``note``, and the names differ, so a table or plot keyed by figure never puts the two
in one row.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_llm.data.benchmarks import BENCHMARK_NAMES

#: The outcome of the joint model.
JOINT_OUTCOME = "leaderboard6"
#: ``source`` of the joint rows.
JOINT_SOURCE = "bayes_llm.joint (joint six-benchmark model)"
#: The note every per-benchmark share row carries.
SHARE_NOTE = ("joint model, latent scale, includes the distribution-specific variance term; "
              "not the single-benchmark headline company share (which leaves it out), so "
              "not the same estimand")
#: Headline options the joint rows use (the others are about the single-benchmark frontier).
JOINT_OPTIONS = ("hdi_prob", "ci_kind")


def is_joint(spec) -> bool:
    """Whether ``spec`` is the joint model (``outcome = "leaderboard6"``)."""
    return getattr(spec, "outcome", None) == JOINT_OUTCOME


@functools.cache
def joint_code_hash() -> str:
    """SHA-256 of the code that turns a joint spec and data into a posterior (cache key)."""
    from bayes_llm.joint import run
    from bayes_llm.model import leaderboard6

    digest = hashlib.sha256()
    for module in (leaderboard6, run):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def joint_settings() -> dict[str, str]:
    """Return the residual, ability and intercept parameterisations of a study's joint variant."""
    from bayes_llm.joint.run import DEFAULT_ABILITY, DEFAULT_INTERCEPT, DEFAULT_RESIDUALS

    return {"residuals": DEFAULT_RESIDUALS, "ability": DEFAULT_ABILITY,
            "intercept": DEFAULT_INTERCEPT}


def joint_plan(df: pd.DataFrame, spec) -> tuple[str, int]:
    """Return ``(data hash, number of models)`` of a joint variant, without fitting.

    The hash is :func:`bayes_llm.model.leaderboard6.prepare_leaderboard6_data`'s, which
    covers every observed benchmark score, so a changed score changes the cache key.
    """
    from bayes_llm.model.leaderboard6 import prepare_leaderboard6_data

    data = prepare_leaderboard6_data(df, spec)
    return data.data_hash, int(data.n_models)


def joint_figures(benchmarks: tuple[str, ...] = BENCHMARK_NAMES) -> list[str]:
    """Return the figure names of a joint variant's rows, in order."""
    out = ["developer_common_share"]
    for b in benchmarks:
        out += [f"company_share_latent[{b}]", f"compute_share_latent[{b}]"]
    out += [f"developer_corr[{a},{b}]" for i, a in enumerate(benchmarks)
            for b in benchmarks[i + 1:]]
    return out


def joint_headline(result, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Return a joint fit's answers as rows of a study table.

    Parameters
    ----------
    result : JointResult
        A joint fit (from :func:`bayes_llm.joint.run_joint` or
        :func:`bayes_llm.joint.load_joint`).
    options : dict, optional
        The variant's headline options; ``hdi_prob`` and ``ci_kind`` set the interval, the
        others (frontier and reference model of the single-benchmark headline) do not apply
        and are listed in each row's ``note``.

    Returns
    -------
    DataFrame
        The columns of :data:`bayes_llm.sensitivity.headline.HEADLINE_COLUMNS`, then
        ``kind``, ``unit``, ``interval``, ``hdi_prob``, ``ci_kind``, ``fit_diagnostics``,
        ``note``, ``source``; ``paper_value`` is empty (the paper has no joint model).
    """
    from bayes_llm.derived.summary import interval_label, resolve_interval
    from bayes_llm.sensitivity.headline import HEADLINE_COLUMNS

    options = dict(options or {})
    prob, kind = resolve_interval(options.get("hdi_prob"), options.get("ci_kind"))
    ignored = sorted(set(options) - set(JOINT_OPTIONS))
    tables = result.make_tables(prob, kind)
    _, status = result.status
    rows: list[dict[str, Any]] = []

    def add(figure: str, label: str, summary: dict, note: str, unit: str) -> None:
        extra = f"; headline option(s) {', '.join(ignored)} do not apply" if ignored else ""
        rows.append({"figure": figure, "figure_label": label, "paper_value": np.nan,
                     "median": float(summary["median"]), "lower": float(summary["lower"]),
                     "upper": float(summary["upper"]), "kind": "posterior", "unit": unit,
                     "note": note + extra})

    sds = tables["developer_sds"].set_index("quantity")
    add("developer_common_share",
        "Joint model: share of the developer covariance common to all benchmarks "
        "(first principal component)", sds.loc["developer_common_share"],
        "joint model", "share")
    shares = tables["benchmark_shares"].set_index("benchmark")
    for b in shares.index:
        for name, what in (("company_share", "developer (company)"),
                           ("compute_share", "compute")):
            summary = {k: shares.loc[b, f"{name}_{k}"] for k in ("median", "lower", "upper")}
            add(f"{name}_latent[{b}]",
                f"Joint model: {what} share of {b}'s latent variance (with the "
                "distribution-specific term)", summary, SHARE_NOTE, "share")
    for row in tables["correlations"].itertuples(index=False):
        add(f"developer_corr[{row.benchmark},{row.other}]",
            f"Joint model: correlation of developer effects, {row.benchmark} vs {row.other}",
            {"median": row.median, "lower": row.lower, "upper": row.upper},
            "joint model", "correlation")
    table = pd.DataFrame(rows)
    table["interval"] = interval_label(prob, kind)
    table["hdi_prob"], table["ci_kind"] = prob, kind
    table["fit_diagnostics"] = status
    table["source"] = JOINT_SOURCE
    rest = [c for c in table.columns if c not in HEADLINE_COLUMNS]
    return table[[*HEADLINE_COLUMNS, *rest]]


def fit_joint_variant(task, log) -> tuple[Any, dict[str, bytes]]:
    """Fit a joint variant (one core, the spec's seed) and return it with its saved files."""
    import tempfile

    from bayes_llm.joint import run_joint

    settings = joint_settings()
    log.write(f"joint model (outcome '{JOINT_OUTCOME}'): residuals "
              f"'{settings['residuals']}', ability '{settings['ability']}', intercept "
              f"'{settings['intercept']}'")
    result = run_joint(task.df, task.spec, backend=task.backend, cores=1,
                       progressbar=False, **settings)
    result.metadata["sensitivity_variant"] = task.variant
    with tempfile.TemporaryDirectory(prefix="bayes_llm_joint_variant_") as tmp:
        folder = result.save(Path(tmp) / "joint",
                             **{k: v for k, v in task.headline.items() if k in JOINT_OPTIONS})
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    return result, files


__all__ = ["JOINT_OPTIONS", "JOINT_OUTCOME", "JOINT_SOURCE", "SHARE_NOTE", "fit_joint_variant",
           "is_joint", "joint_code_hash", "joint_figures", "joint_headline", "joint_plan",
           "joint_settings"]
