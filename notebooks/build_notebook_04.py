"""Write notebook 04 (sensitivity) from the cell sources below.

Run ``python notebooks/build_notebook_04.py`` to (re)write ``04_sensitivity.ipynb`` without
outputs, or with ``--execute`` to run it in place and store outputs. The notebook answers
one question with a sensitivity study (``studies/*.toml``), has one parameter cell (tagged
``parameters``; MCMC sizes from ``BAYES_LLM_NB_DRAWS`` / ``_TUNE`` / ``_CHAINS``; with few
draws it switches to CI mode and the small ``quick`` study), runs top to bottom, and ends
by recording package versions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NAME = "04_sensitivity.ipynb"

INTRO = """\
# 04 Sensitivity: which modelling choices move "80–90%" and "14–18%"?

**Research question.** The paper's two headline claims are that *at the frontier, 80–90% of
performance differences are explained by higher training compute* and that *developer-specific
"secret sauce" accounts for 14–18% of the differences*. Both are numbers computed from one
model. How much do they depend on the choices behind that model: the priors, the likelihood,
how developers and periods are coded, which models are in the sample, the outcome, measurement
error in compute, and how "frontier" and the reference model are defined? Which choice moves
each figure the most?

**Approach.** A *sensitivity study* (`studies/default.toml`) varies the project's default
model one choice at a time. Every variant is fitted (cached by a hash of spec and data, so
re-running this notebook refits nothing that is unchanged), and each headline figure is
summarised by its posterior median and 94% HDI. A forest plot shows each figure across the
variants; a tornado plot ranks the choices by how far they move the median. Power-scaling
(`psense`) asks, without refitting, whether the default fit's figures lean on the priors, and
cross-validation compares the variants fitted to the same data.

In CI mode (few draws) the notebook runs the small `quick` study instead; its numbers are
illustrative only."""

SETUP = '''\
%matplotlib inline
import os
import warnings

import numpy as np
import pandas as pd
from IPython.display import display

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=RuntimeWarning)
pd.set_option("display.width", 180)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 60)'''

PARAMETERS = '''\
# Parameters (CI runs this notebook small through the BAYES_LLM_NB_* variables).
DRAWS = int(os.environ.get("BAYES_LLM_NB_DRAWS", 1000))
TUNE = int(os.environ.get("BAYES_LLM_NB_TUNE", 1000))
CHAINS = int(os.environ.get("BAYES_LLM_NB_CHAINS", 4))
# CI mode (few draws): the small 'quick' study instead of the ~20-variant default study.
CI_MODE = os.environ.get("BAYES_LLM_NB_CI", "1" if DRAWS < 500 else "0") == "1"
STUDY = os.environ.get("BAYES_LLM_NB_STUDY", "quick" if CI_MODE else "default")
# Parallel fits on this machine, or the address of a Dask scheduler ("" = local).
WORKERS = int(os.environ.get("BAYES_LLM_NB_WORKERS", os.cpu_count() or 1))
SCHEDULER = os.environ.get("BAYES_LLM_NB_SCHEDULER", "") or None
# Cross-validation: auto (PSIS-LOO where Pareto k allow, else K-fold by developer), loo,
# kfold or none.
CROSSVAL = os.environ.get("BAYES_LLM_NB_CROSSVAL", "loo" if CI_MODE else "auto")
# Output folder; its fits/ cache is reused when the notebook runs again.
OUT = os.environ.get("BAYES_LLM_NB_SENSITIVITY_DIR", f"results/nb04_{STUDY}")'''

LOAD_DATA = '''\
from bayes_llm.data import load_paper_dataset

# The paper's 809 models, from $BAYES_LLM_DATA_MIRROR, the cache or the pinned download.
df = load_paper_dataset()
print(f"{len(df)} models, {df['developer'].nunique()} developers")'''

STUDY_MD = """\
## The study

Each variant changes one choice of the base model (`axis` and `level`); the base variant is
the unchanged model. Variants that only change the headline definitions (the reference model)
share the base variant's fit."""

SHOW_STUDY = '''\
from bayes_llm.sensitivity import load_study

study = load_study(STUDY)
print(f"study '{study.name}': base spec '{study.base.name}' - {study.description}")
variants = study.variants(sampler={"draws": DRAWS, "tune": TUNE, "chains": CHAINS})
display(pd.DataFrame([{"variant": v.name, "axis": v.axis, "level": v.level,
                       "change": v.label} for v in variants]))'''

RUN = '''\
from bayes_llm.sensitivity import run_study

result = run_study(study, df, OUT, workers=WORKERS, scheduler=SCHEDULER,
                   sampler={"draws": DRAWS, "tune": TUNE, "chains": CHAINS},
                   crossval=CROSSVAL, psense=True, progress=print)
print()
print(result.variants["status"].value_counts().to_string())
failed = result.variants[result.variants["status"] == "failed"]
if len(failed):
    print("\\nfailed variants (kept in every table, with their error):")
    display(failed[["variant", "error"]])'''

CLAIMS_MD = """\
## The two claims, figure by figure

*80–90%* is read four ways (`frontier_*_compute_share*`): the compute share of the latent-score
gain from the first cohort's best model to the last cohort's best (pairwise, with or without
the model-level effect), and of the last frontier model's gain over a reference model.
*14–18%* is the company share: the paper's Shapley split of R² with a Bayesian-bootstrap band
(`shapley_developer_share`), and the hierarchical model's variance partition
(`variance_developer_share`). The table shows each variant's posterior median; `P(claim)` is
the base variant's posterior probability that the figure lies in the paper's range."""

CLAIM_TABLE = '''\
from bayes_llm.sensitivity.plots import key_figures

table = result.table
CLAIMS = {
    "80-90%": [f for f in key_figures(table) if f.startswith("frontier_")],
    "14-18%": [f for f in key_figures(table) if f.endswith("developer_share")],
}
for claim, figures in CLAIMS.items():
    sub = table[table["figure"].isin(figures)]
    wide = sub.pivot(index="variant", columns="figure", values="median")
    wide = wide.reindex(index=list(dict.fromkeys(table["variant"])), columns=figures)
    wide["status"] = sub.drop_duplicates("variant").set_index("variant")["status"]
    print(f"claim {claim}: posterior medians")
    display(wide.round(3))
    base = sub[sub["variant"] == "base"].set_index("figure")
    cols = [c for c in ("paper_value", "median", "lower", "upper", "p_claim") if c in base]
    display(base.loc[figures, cols].rename(columns={"p_claim": "P(claim)"}).round(3))'''

FOREST = '''\
from bayes_llm.sensitivity.plots import forest_plot

fig = forest_plot(table=table)
fig.savefig(os.path.join(OUT, "forest.png"), dpi=120)'''

TORNADO_MD = """\
## Which choice moves each figure most?

Each bar spans the lowest to the highest posterior median over an axis's levels (the base
included); axes are sorted by that swing. Multipliers are compared on the log10 scale.
Failed variants are left out of the bars and counted."""

TORNADO = '''\
from bayes_llm.sensitivity.plots import tornado_data, tornado_plot

fig = tornado_plot(table=table)
fig.savefig(os.path.join(OUT, "tornado.png"), dpi=120)
movers = tornado_data(table=table)
display(movers[["figure", "axis", "base_median", "low", "low_level", "high", "high_level",
                "swing", "n_failed"]].round(3))'''

PSENSE_MD = """\
## Do the figures lean on the priors? (power-scaling, no refit)

Power-scaling perturbs the prior or the likelihood of the base fit and measures how far each
figure moves. *robust*: the priors do not move it; *weak likelihood*: the prior dominates;
*prior-data conflict*: both move it."""

PSENSE = '''\
ps = result.psense
claimed = [f for figs in CLAIMS.values() for f in figs]
summary = ps.summary.set_index("quantity")
display(summary.loc[[f for f in claimed if f in summary.index],
                    ["prior_sensitivity", "likelihood_sensitivity", "verdict"]].round(3))
top = (ps.by_prior.sort_values("prior_sensitivity", ascending=False)
       .drop_duplicates("quantity").set_index("quantity"))
print("prior each figure is most sensitive to:")
display(top.loc[[f for f in claimed if f in top.index], ["prior", "prior_sensitivity"]].round(4))
for note in ps.notes:
    print("note:", note)'''

CV_MD = """\
## Cross-validation

Variants fitted to the same models and outcome are compared on one scale (the logit score;
binomial likelihoods are integrated over the model effect and put on that scale with the
Jacobian). PSIS-LOO is used where every Pareto k is good; otherwise developers are left out
K at a time and each held-out model is predicted with its developer effect drawn from the
population (a new developer), which is what "secret sauce" generalisation means."""

CV = '''\
if result.crossval is not None:
    print(result.crossval.to_text())
    display(result.crossval.compare.drop(columns=["error"], errors="ignore").round(2))
else:
    print("cross-validation was not run (CROSSVAL = 'none')")'''

ANSWER_MD = """\
## Answer

The cell below states, for each claim and each of its figures, the base variant's estimate
and the choice that moves it most (from the tornado data above). In the default study
(500 draws x 2 chains, see `benchmarks/bench_sensitivity.py`) two choices dominated: *what
counts as a "developer"* (every developer string or the paper's 13 groups: the company
share roughly triples under the former) and *which models are in the sample*, which can
change the frontier models themselves (GPT-4.5 is not on the Open LLM Leaderboard, so the
`hf_leaderboard` sample compares a different pair). The priors barely moved anything, in
line with power-scaling. Variants with diagnostic warnings (see `variants.csv`) should be
refitted with more draws before their numbers are quoted."""

ANSWER = '''\
def fmt(value, unit):
    return f"{value:.0f}x" if unit == "multiplier" else f"{100 * value:.1f}%"


for claim, figures in CLAIMS.items():
    print(f"claim '{claim}':")
    for figure in figures:
        rows = movers[movers["figure"] == figure]
        base = table[(table["variant"] == "base") & (table["figure"] == figure)].iloc[0]
        if rows.empty or not np.isfinite(base["median"]):
            print(f"  {figure}: not available")
            continue
        top = rows.iloc[0]
        unit = top["unit"]
        print(f"  {figure}: base {fmt(base['median'], unit)} "
              f"[{fmt(base['lower'], unit)}, {fmt(base['upper'], unit)}]; moved most by "
              f"'{top['axis']}' ({top['low_level']} {fmt(top['low'], unit)} to "
              f"{top['high_level']} {fmt(top['high'], unit)}), then "
              + ", ".join(f"'{a}'" for a in rows["axis"].iloc[1:3]))'''

VERSIONS = '''\
# Record the software this notebook ran with.
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

print(f"python {platform.python_version()} ({sys.executable})")
for package in ("bayes_llm", "pymc", "pytensor", "arviz", "arviz-stats", "nutpie", "numpy",
                "pandas", "xarray", "matplotlib", "dask", "distributed"):
    try:
        print(f"{package:<12} {version(package)}")
    except PackageNotFoundError:
        print(f"{package:<12} not installed")'''


def notebook_04() -> nbformat.NotebookNode:
    """Build notebook 04: which modelling choices move the two headline claims most."""
    parameters = new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    cells = [
        new_markdown_cell(INTRO),
        new_code_cell(SETUP),
        parameters,
        new_code_cell(LOAD_DATA),
        new_markdown_cell(STUDY_MD),
        new_code_cell(SHOW_STUDY),
        new_code_cell(RUN),
        new_markdown_cell(CLAIMS_MD),
        new_code_cell(CLAIM_TABLE),
        new_code_cell(FOREST),
        new_markdown_cell(TORNADO_MD),
        new_code_cell(TORNADO),
        new_markdown_cell(PSENSE_MD),
        new_code_cell(PSENSE),
        new_markdown_cell(CV_MD),
        new_code_cell(CV),
        new_markdown_cell(ANSWER_MD),
        new_code_cell(ANSWER),
        new_code_cell(VERSIONS),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    """Write the notebook; with ``--execute`` run it in place to store outputs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true",
                        help="run the notebook after writing it (stores outputs)")
    args = parser.parse_args()
    nb = notebook_04()
    nbformat.validate(nb)
    path = HERE / NAME
    nbformat.write(nb, path)
    if args.execute:
        from nbclient import NotebookClient

        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=3600,
                       resources={"metadata": {"path": str(HERE.parent)}}).execute()
        nbformat.write(nb, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
