"""Write notebooks 01-03 from the cell sources below (run: ``python notebooks/build_notebooks.py``).

Each notebook states its research question first, has one parameter cell (tagged
``parameters``; MCMC sizes come from ``BAYES_LLM_NB_DRAWS`` / ``_TUNE`` / ``_CHAINS`` so CI can
run them small), runs top to bottom, and ends by recording package versions. The notebooks
are written without outputs; ``--execute`` runs them in place (with the current
environment's settings) to store outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

VERSIONS = '''\
# Record the software this notebook ran with.
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

print(f"python {platform.python_version()} ({sys.executable})")
for package in ("bayes_llm", "pymc", "pytensor", "arviz", "arviz-plots", "arviz-stats",
                "nutpie", "numpy", "pandas", "xarray", "matplotlib", "statsmodels"):
    try:
        print(f"{package:<12} {version(package)}")
    except PackageNotFoundError:
        print(f"{package:<12} not installed")'''

SETUP = '''\
%matplotlib inline
import os
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", category=FutureWarning)
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)'''

MCMC_PARAMETERS = '''\
# Parameters (CI runs this notebook small through the BAYES_LLM_NB_* variables).
SPEC = os.environ.get("BAYES_LLM_NB_SPEC", "binomial_developers")
DRAWS = int(os.environ.get("BAYES_LLM_NB_DRAWS", 1000))
TUNE = int(os.environ.get("BAYES_LLM_NB_TUNE", 1000))
CHAINS = int(os.environ.get("BAYES_LLM_NB_CHAINS", 4))
SEED = int(os.environ.get("BAYES_LLM_NB_SEED", 20260207))
# Folder to save the fit to (notebook 02) and reuse it from (notebook 03); "" = none.
FIT_DIR = os.environ.get("BAYES_LLM_NB_FIT_DIR", "")
# The main job's fit (written by scripts/main.sh): notebook 03 reuses it when FIT_DIR is unset.
MAIN_FIT_DIR = os.path.join("..", "results", "main", "fit")'''

LOAD_DATA = '''\
from bayes_llm.data import load_paper_dataset

# The paper's 809 models, from $BAYES_LLM_DATA_MIRROR, the cache or the pinned download.
df = load_paper_dataset()
print(f"{len(df)} models, {df['developer'].nunique()} developers, "
      f"{df['developer_group'].nunique()} groups")'''


def _nb(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _parameters(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def notebook_01() -> nbformat.NotebookNode:
    """Build notebook 01: how performance relates to compute, periods and developers."""
    return _nb([
        new_markdown_cell(
            "# 01 · Exploring the data\n\n"
            "**Research question.** Before any model: how closely does MMLU-Pro performance "
            "track training compute across the paper's 809 models, and how much room do the "
            "raw data leave for release periods (shared algorithmic progress) and developers "
            "('secret sauce')?\n\n"
            "Scores are used on the *normalised* accuracy scale `(acc - 0.1) / 0.9`, which "
            "removes the 10% guessing floor of MMLU-Pro's ten options, and on its logit (the "
            "paper's outcome)."),
        new_code_cell(SETUP),
        _parameters('# Parameters\n'
                    'OUTCOME = os.environ.get("BAYES_LLM_NB_OUTCOME", "mmlu_pro")\n'
                    'PERIOD = os.environ.get("BAYES_LLM_NB_PERIOD", "cohort")'),
        new_code_cell(LOAD_DATA),
        new_markdown_cell("## What is in the data"),
        new_code_cell('from bayes_llm.data import summarise\n\nprint(summarise(df).to_text())'),
        new_markdown_cell("## Score against compute, by period and developer group\n\n"
                          "Majors are coloured and outlined; the three pooled 'Other' groups "
                          "are grey."),
        new_code_cell('from bayes_llm.plots import data_overview_data, plot_data_overview\n\n'
                      'overview = data_overview_data(df=df, outcome=OUTCOME, period=PERIOD)\n'
                      'plot_data_overview(df=df, outcome=OUTCOME, period=PERIOD)'),
        new_markdown_cell("## How much does compute alone explain?\n\n"
                          "Least-squares fits of the logit score on log10 compute, in all "
                          "data and within each period."),
        new_code_cell(
            'logit = np.log(overview["score"] / (1 - overview["score"]))\n'
            'rows = []\n'
            'for period, sub in [("all", overview), *overview.groupby("period")]:\n'
            '    y = logit.loc[sub.index]\n'
            '    slope, intercept = np.polyfit(sub["log10_flop"], y, 1)\n'
            '    r2 = np.corrcoef(sub["log10_flop"], y)[0, 1] ** 2\n'
            '    rows.append({"period": period, "models": len(sub), "slope_per_decade": slope,\n'
            '                 "r2_compute_only": r2})\n'
            'compute_only = pd.DataFrame(rows)\n'
            'compute_only'),
        new_markdown_cell("## Developers: raw efficiency relative to the compute trend\n\n"
                          "Mean residual of each developer group from the all-data compute "
                          "line (logit points; positive = better than its compute predicts)."),
        new_code_cell(
            'slope, intercept = np.polyfit(overview["log10_flop"], logit, 1)\n'
            'overview["residual"] = logit - (intercept + slope * overview["log10_flop"])\n'
            'by_group = (overview.groupby("developer_group")\n'
            '            .agg(models=("model_id", "size"), mean_residual=("residual", "mean"),\n'
            '                 sd_residual=("residual", "std"))\n'
            '            .sort_values("mean_residual", ascending=False))\n'
            'by_group["compute_equivalent"] = 10 ** (by_group["mean_residual"] / slope)\n'
            'by_group'),
        new_markdown_cell("## The paper's frequentist decomposition on the same data\n\n"
                          "The paper's clustered OLS with period and developer-group effects, "
                          "and its Shapley split of the variance (the baseline the Bayesian "
                          "models are compared with)."),
        new_code_cell('from bayes_llm.baseline import run_baseline\n\n'
                      'baseline = run_baseline(df)\n'
                      'baseline.shapley'),
        new_markdown_cell("## Answer"),
        new_code_cell(
            'shares = baseline.shapley.set_index("block")["share_of_variance"]\n'
            'all_r2 = compute_only.set_index("period").loc["all", "r2_compute_only"]\n'
            'best = by_group.index[0]\n'
            'print(f"Compute alone explains {all_r2:.0%} of the variance of the logit score "\n'
            '      f"(slope {slope:.2f} per tenfold compute).")\n'
            'print(f"With period and developer-group effects the paper\'s regression explains "\n'
            '      f"{baseline.r2:.0%}: Shapley shares compute {shares[\'compute\']:.1%}, periods "\n'
            '      f"{shares[\'period\']:.1%}, developer groups {shares[\'developer\']:.1%}.")\n'
            'print(f"Raw developer differences are large: {best} scores like a model with "\n'
            '      f"{by_group[\'compute_equivalent\'].iloc[0]:.0f}x the compute of the trend; "\n'
            '      "notebooks 02-03 ask how much of this survives partial pooling.")'),
        new_code_cell(VERSIONS),
    ])


def notebook_02() -> nbformat.NotebookNode:
    """Build notebook 02: fit the baseline model; check priors, convergence, fit."""
    return _nb([
        new_markdown_cell(
            "# 02 · Fitting and diagnosing the hierarchical model\n\n"
            "**Research question.** Can the baseline hierarchical model (`binomial_developers`: "
            "binomial likelihood on correct answers with the guessing floor; cohort effects; "
            "every developer partially pooled; a model-level efficiency effect) be trusted on "
            "the 809 models: do its priors imply plausible accuracies, does MCMC converge, and "
            "does it reproduce the observed scores?\n\n"
            "The main job's default, `binomial_two_scale`, adds a floor mixture, base-model "
            "lineages and a two-scale model effect (chosen by out-of-sample prediction, "
            "`models/README.md`); its fit takes about an hour on 2 cores, so this notebook fits the "
            "baseline unless `BAYES_LLM_NB_SPEC=binomial_two_scale` is set."),
        new_code_cell(SETUP),
        _parameters(MCMC_PARAMETERS + '\nPRIOR_DRAWS = int(os.environ.get('
                                      '"BAYES_LLM_NB_PRIOR_DRAWS", 500))'),
        new_code_cell(LOAD_DATA),
        new_markdown_cell("## The model and its priors"),
        new_code_cell(
            'from bayes_llm.model import load_spec\n'
            'from bayes_llm.model.spec import DEFAULT_PRIORS\n'
            'from bayes_llm.report import priors_used\n\n'
            'spec = load_spec(SPEC)\n'
            'print(spec.description)\n'
            'pd.DataFrame([{"parameter": p, "prior": spec.prior(p).describe(),\n'
            '               "reason": DEFAULT_PRIORS[p][1]} for p in priors_used(spec)])'),
        new_markdown_cell("## Prior predictive check on the accuracy scale\n\n"
                          "Accuracies the priors alone imply for these 809 models, against "
                          "the observed ones."),
        new_code_cell(
            'from bayes_llm.model.predictive import predictive_summary, prior_predictive\n'
            'from bayes_llm.plots import plot_predictive_check\n\n'
            'prior = prior_predictive(spec, df, PRIOR_DRAWS, SEED)\n'
            'prior_summary = predictive_summary(prior)\n'
            'display(prior_summary)\n'
            'plot_predictive_check(pred=prior)'),
        new_markdown_cell("## Fit"),
        new_code_cell(
            'from bayes_llm.model import fit_model\n\n'
            'fit = fit_model(spec, df, draws=DRAWS, tune=TUNE, chains=CHAINS, seed=SEED,\n'
            '                progressbar=False)\n'
            'if FIT_DIR:\n'
            '    fit.save(FIT_DIR)\n'
            'print(f"sampling took {fit.metadata[\'timing_seconds\'][\'sample\']:.1f} s")\n'
            'fit.summary()'),
        new_markdown_cell("## Convergence"),
        new_code_cell('print(fit.diagnostics.to_text())'),
        new_code_cell('from bayes_llm.plots import plot_rank, plot_trace\n\n'
                      'plot_trace(fit=fit);'),
        new_code_cell('plot_rank(fit=fit);'),
        new_markdown_cell("## Posterior predictive check\n\n"
                          "Replicates *new* models with the same compute, period and "
                          "developer (each model's latent ability is redrawn), a sterner test "
                          "than replicating binomial noise around the fitted abilities."),
        new_code_cell(
            'from bayes_llm.model.predictive import posterior_predictive\n'
            'from bayes_llm.plots import plot_ppc_dist\n\n'
            'post = posterior_predictive(fit, df, SEED, draws=500)\n'
            'post_summary = predictive_summary(post)\n'
            'display(post_summary)\n'
            'plot_predictive_check(pred=post)'),
        new_code_cell('plot_ppc_dist(pred=post);'),
        new_markdown_cell("## Answer"),
        new_code_cell(
            'd = fit.diagnostics\n'
            'print("Convergence: " + ("all checks passed." if d.ok else\n'
            '      f"{len(d.failures)} check(s) failed: " + "; ".join(d.failures)))\n'
            'outside = prior_summary[(prior_summary["observed"] < prior_summary["hdi_lower"])\n'
            '                        | (prior_summary["observed"] > prior_summary["hdi_upper"])]\n'
            'print("Priors: " + ("every observed statistic is inside its prior predictive "\n'
            '      "interval." if outside.empty else "outside the prior predictive interval: "\n'
            '      + ", ".join(outside["description"])))\n'
            'tails = post_summary[post_summary[["p_greater", "p_less"]].min(axis=1) < 0.025]\n'
            'print("Posterior predictive: " + ("no statistic in the tails." if tails.empty else\n'
            '      "in the tails: " + "; ".join(\n'
            '          f"{r.description} (observed {r.observed:.3g}, replicated {r.median:.3g})"\n'
            '          for r in tails.itertuples())))'),
        new_code_cell(VERSIONS),
    ])


def notebook_03() -> nbformat.NotebookNode:
    """Build notebook 03: headline figures with posterior bands, a verdict per claim."""
    return _nb([
        new_markdown_cell(
            "# 03 · The headline figures\n\n"
            "**Research question.** What does the posterior of the hierarchical model say "
            "about each of the paper's headline claims: that 80-90% of frontier performance "
            "is due to compute, that 14-18% of differences are company-specific, that shared "
            "algorithmic progress is worth 7.5x compute, that developer efficiency is worth "
            "up to 61x, and that models within a company differ by 40x?"),
        new_code_cell(SETUP),
        _parameters(MCMC_PARAMETERS),
        new_code_cell(LOAD_DATA),
        new_markdown_cell("## The fit\n\nReused, not refitted: from `FIT_DIR` (where notebook 02 "
                          "saved its fit) when set, else from the main job's `results/main/fit` "
                          "(written by `scripts/main.sh`) when it exists and holds the same "
                          "spec on the same data; fitted here only when neither is there."),
        new_code_cell(
            'from bayes_llm.errors import ResultsError\n'
            'from bayes_llm.model import fit_model, load_fit, load_spec\n\n'
            'spec = load_spec(SPEC).with_changes(sampler={"draws": DRAWS, "tune": TUNE,\n'
            '                                             "chains": CHAINS, "seed": SEED})\n'
            'fit = None\n'
            'reuse = FIT_DIR or (MAIN_FIT_DIR if os.path.isdir(MAIN_FIT_DIR) else "")\n'
            'if reuse and os.path.isdir(reuse):\n'
            '    try:\n'
            '        fit = load_fit(reuse, df=df)  # checked against the current data\n'
            '        if fit.spec.name != SPEC:\n'
            '            print(f"not reusing {reuse}: it holds spec \'{fit.spec.name}\', "\n'
            '                  f"not \'{SPEC}\'")\n'
            '            fit = None\n'
            '        else:\n'
            '            s = fit.spec.sampler\n'
            '            print(f"reusing the fit in {reuse} ({s.chains} chains x {s.draws} "\n'
            '                  f"draws, seed {s.seed})")\n'
            '    except ResultsError as exc:\n'
            '        print(f"not reusing {reuse}: {exc}")\n'
            'if fit is None:\n'
            '    fit = fit_model(spec, df, progressbar=False)\n'
            'd = fit.diagnostics\n'
            'print("diagnostics: " + ("all checks passed" if d.ok else\n'
            '      f"{len(d.failures)} check(s) failed (details in notebook 02); the numbers "\n'
            '      "below are provisional"))'),
        new_markdown_cell("## Headline table\n\nPosterior median and 94% HDI of every figure, "
                          "the paper's OLS value of the same figure, and probabilities."),
        new_code_cell(
            'from bayes_llm.derived import headline_draws, headline_table\n'
            'from bayes_llm.derived.headline import display_frame\n'
            'from bayes_llm.derived.paper import paper_ols\n\n'
            'ols = paper_ols(fit, None, df=df)\n'
            'draws = headline_draws(fit)\n'
            'table = headline_table(fit, baseline=ols, df=df, draws=draws, seed=SEED)\n'
            'display_frame(table)'),
        new_markdown_cell("## Scaling curves by period"),
        new_code_cell('from bayes_llm.plots import plot_score_vs_compute\n\n'
                      'plot_score_vs_compute(fit=fit)'),
        new_markdown_cell("## Developer efficiency (secret sauce)"),
        new_code_cell('from bayes_llm.plots import plot_developer_effects\n\n'
                      'plot_developer_effects(fit=fit, baseline=ols)'),
        new_markdown_cell("## Frontier progress: scaling, shared progress, developer, model"),
        new_code_cell('from bayes_llm.plots import plot_frontier_decomposition\n\n'
                      'plot_frontier_decomposition(fit=fit, baseline=ols)'),
        new_markdown_cell("## What explains differences in performance"),
        new_code_cell('from bayes_llm.plots import plot_variance_shares\n\n'
                      'plot_variance_shares(fit=fit, baseline=ols)'),
        new_markdown_cell("## Answer: a verdict on each claim, from the numbers above"),
        new_code_cell(
            'from bayes_llm.report import claim_verdicts\n\n'
            'for v in claim_verdicts(table, draws, developer_coding=fit.spec.developer):\n'
            '    print(f"* {v.title}: {v.verdict.upper()}\\n  {v.text}\\n")'),
        new_code_cell(VERSIONS),
    ])


NOTEBOOKS = {
    "01_explore_data.ipynb": notebook_01,
    "02_fit_and_diagnose.ipynb": notebook_02,
    "03_headline_figures.ipynb": notebook_03,
}


def write_all(folder: Path = HERE) -> list[Path]:
    """Write every notebook into ``folder`` and return the paths."""
    paths = []
    for name, make in NOTEBOOKS.items():
        nb = make()
        nbformat.validate(nb)
        path = folder / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def main() -> None:
    """Write the notebooks; with ``--execute`` run them in place to store outputs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook after writing it (stores outputs)")
    args = parser.parse_args()
    for path in write_all():
        if args.execute:
            from nbclient import NotebookClient

            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, kernel_name="python3", timeout=1800,
                           resources={"metadata": {"path": str(HERE)}}).execute()
            nbformat.write(nb, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
