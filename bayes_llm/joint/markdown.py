"""``joint.md``: the joint fit's answers as Markdown, with its diagnostics in front.

When the fit fails its diagnostics, the document opens with a banner naming every failing
quantity with its R-hat or ESS (the failures of
:class:`~bayes_llm.model.diagnostics.Diagnostics`), so no number is read without it.
"""

from __future__ import annotations

import pandas as pd

from bayes_llm.formatting import markdown_table

TITLE = ("Is the secret sauce general? A joint model of the six Open LLM Leaderboard "
         "benchmarks")
#: Rows of the concentration table shown (the CSV has every developer).
TOP_CONCENTRATED = 12


def diagnostics_banner(result) -> str | None:
    """Return a loud Markdown banner listing every failure, or ``None`` when the fit passed."""
    diag = result.diagnostics
    if diag.ok:
        return None
    lines = [f"> **WARNING: this joint fit FAILED its MCMC diagnostics "
             f"({len(diag.failures)} problem(s)). Every number below is provisional.**", ">"]
    worst = result.metadata.get("worst_elements") or {}
    for failure in diag.failures:
        name = failure.split(":", 1)[0]
        where = worst.get(name)
        lines.append(f"> - {failure}" + (f" (worst element: {where})"
                                         if where and where != name and "R-hat" in failure
                                         else ""))
    return "\n".join(lines)


def verdict_line(result) -> str:
    """One sentence: the verdict of the joint fit's diagnostics."""
    from bayes_llm.model.diagnostics import ESS_BULK_MIN, ESS_TAIL_MIN, RHAT_MAX

    s = result.diagnostics.sampler
    rules = (f"R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_BULK_MIN}/{ESS_TAIL_MIN} for the "
             "scalars and correlations, no divergences, E-BFMI >= 0.3")
    head = "OK" if result.diagnostics.ok else "FAILED"
    return (f"MCMC diagnostics of the joint fit: **{head}** ({rules}; {s['chains']} chains x "
            f"{s['draws']} draws, {s['divergences']} divergences).")


def _interval_text(frame: pd.DataFrame, row) -> str:
    return f"{row['median']:.2f} [{row['lower']:.2f}, {row['upper']:.2f}]"


def joint_markdown(result, tables: dict[str, pd.DataFrame], *,
                   figure_files: dict[str, str] | None = None) -> str:
    """Render the answers of a joint fit.

    Parameters
    ----------
    result : JointResult
        The fit (spec, design, diagnostics).
    tables : dict of str to DataFrame
        :meth:`~bayes_llm.joint.result.JointResult.make_tables`.
    figure_files : dict of str to str, optional
        Figure name -> PNG file, linked from the document.
    """
    meta = result.metadata
    settings = meta.get("settings", {})
    design = meta.get("design", {})
    label = tables["correlations"].attrs.get("interval", "interval")
    out = [f"# {TITLE}", ""]
    banner = diagnostics_banner(result)
    if banner:
        out += [banner, ""]
    out += [verdict_line(result), ""]
    out += [f"Spec '{result.spec.name}': {design.get('models', '?')} models, "
            f"{design.get('developers', '?')} developers, {design.get('periods', '?')} "
            f"periods, {design.get('counts', '?')} benchmark counts + "
            f"{design.get('bounded_scores', '?')} IFEval scores; residuals "
            f"{settings.get('residuals', '?')}, ability {settings.get('ability', '?')}, "
            f"intercept {settings.get('intercept', 'equal')}; "
            f"{settings.get('chains', '?')} chains x ({settings.get('tune', '?')} tune + "
            f"{settings.get('draws', '?')} draws), seed {meta.get('seed', '?')}, backend "
            f"{settings.get('backend', '?')}; data hash {str(meta.get('data_hash', ''))[:12]}.",
            "", f"Every number is a posterior median with its {label}.", ""]
    sds = tables["developer_sds"]
    common = sds[sds["quantity"] == "developer_common_share"]
    if len(common):
        row = common.iloc[0]
        nb = len(result.data.benchmarks)
        out += [f"**Common share of developer variance: {_interval_text(sds, row)}** "
                f"(1: a developer's advantage is one number moving every benchmark; "
                f"1/{nb} = {1 / nb:.2f}: unrelated benchmark-specific effects).", ""]
    out += ["## Correlation of developer effects between benchmarks", "",
            markdown_table(tables["correlations"]), "",
            "## Developer SD per benchmark (logits) and common share", "",
            markdown_table(sds), "",
            "## Company share and compute share per benchmark (latent scale)", "",
            markdown_table(tables["benchmark_shares"]), ""]
    conc = tables["concentration"]
    threshold = conc.attrs.get("threshold", 1.0)
    out += [f"## Developers whose advantage is concentrated in one benchmark "
            f"(top {TOP_CONCENTRATED} by P(D > {threshold:g} SD))", "",
            markdown_table(conc.head(TOP_CONCENTRATED)), ""]
    if figure_files:
        out += ["## Figures", ""]
        out += [f"![{name}]({file})" for name, file in figure_files.items()]
        out.append("")
    out += ["## Diagnostics of the scalars and correlations", "",
            markdown_table(result.diagnostics.table.reset_index()), ""]
    return "\n".join(out)


__all__ = ["TITLE", "TOP_CONCENTRATED", "diagnostics_banner", "joint_markdown",
           "verdict_line"]
