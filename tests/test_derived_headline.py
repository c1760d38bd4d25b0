"""The headline table on real (small) fits of the 809 models, its exports and its CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm.baseline import run_baseline
from bayes_llm.cli import main
from bayes_llm.constants import HDI_PROB
from bayes_llm.derived import (
    HEADLINE_COLUMNS,
    HEADLINE_FIGURES,
    PAPER_CLAIMS,
    default_frontier_pair,
    headline_draws,
    headline_table,
    pair_figure_id,
    write_headline,
)
from bayes_llm.derived.headline import HEADLINE_CSV, HEADLINE_MARKDOWN

pytestmark = pytest.mark.mcmc

LLAMA, GPT45 = "meta-llama__Llama-2-70b-hf", "GPT-4.5"
FLAN, MINITRON = "google__flan-ul2", "nvidia__Minitron-4B-Base"


@pytest.fixture(scope="module")
def mirror_draws(paper_mirror_fit):
    return headline_draws(paper_mirror_fit)


@pytest.fixture(scope="module")
def mirror_table(paper_mirror_fit, mirror_draws):
    return headline_table(paper_mirror_fit, draws=mirror_draws)


@pytest.fixture(scope="module")
def binomial_table(binomial_fit):
    return headline_table(binomial_fit, pairs=[(FLAN, MINITRON)])


def _check_complete(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(HEADLINE_COLUMNS)
    assert list(table["figure"][:len(HEADLINE_FIGURES)]) == list(HEADLINE_FIGURES)
    for col in ("paper_value", "posterior_median", "hdi_lower", "hdi_upper", "probability"):
        assert np.isfinite(table[col]).all(), table.loc[~np.isfinite(table[col]), "figure"]
    assert (table["hdi_lower"] <= table["posterior_median"]).all()
    assert (table["posterior_median"] <= table["hdi_upper"]).all()
    assert (table["hdi_lower"] < table["hdi_upper"]).all()
    assert (table["hdi_prob"] == HDI_PROB).all()
    claimed = table["paper_claim"] != ""
    assert np.isfinite(table.loc[claimed, "p_claim"]).all()
    assert table.loc[claimed, "p_claim"].between(0, 1).all()


def test_default_pair_is_the_papers(paper_mirror_fit):
    assert default_frontier_pair(paper_mirror_fit) == (LLAMA, GPT45)


def test_paper_mirror_table_matches_the_paper(mirror_table, paper_df):
    _check_complete(mirror_table)
    t = mirror_table.set_index("figure")
    for fid, paper in (("shapley_compute_share", 0.320), ("shapley_period_share", 0.027),
                       ("shapley_developer_share", 0.180)):
        assert t.loc[fid, "paper_value"] == pytest.approx(paper, abs=0.001)
        assert t.loc[fid, "posterior_median"] == pytest.approx(paper, abs=0.02)
    shared = t.loc["shared_progress_multiplier"]
    assert shared["paper_value"] == pytest.approx(7.52, abs=0.01)
    assert shared["hdi_lower"] < 7.5 < shared["hdi_upper"]
    # paper values are the baseline's own numbers, never hard-coded
    base = run_baseline(paper_df)
    assert t.loc["within_spread_multiplier", "paper_value"] == pytest.approx(
        base.multiplier("within_spread"), rel=1e-9)
    assert t.loc["developer_multiplier[Microsoft]", "paper_value"] == pytest.approx(
        base.multiplier("developer", "Microsoft"), rel=1e-9)
    pair = base.pairwise.set_index(["pair", "component"])
    assert t.loc["frontier_pair_compute_share", "paper_value"] == pytest.approx(
        pair.loc[(f"{LLAMA} -> {GPT45}", "scaling"), "share"], rel=1e-9)
    assert t.loc["frontier_pair_model_share", "paper_value"] == pytest.approx(
        pair.loc[(f"{LLAMA} -> {GPT45}", "residual"), "share"], rel=1e-9)
    # OLS residuals are orthogonal to the fit: the model share of the variance is 1 - R2
    assert t.loc["variance_model_share", "paper_value"] == pytest.approx(1 - base.r2, abs=1e-9)
    assert t.loc["frontier_pair_compute_share", "paper_claim"] == \
        PAPER_CLAIMS["frontier_compute_share"].text


def test_passed_baseline_gives_the_same_paper_values(paper_mirror_fit, mirror_draws,
                                                     mirror_table, paper_df):
    passed = headline_table(paper_mirror_fit, baseline=run_baseline(paper_df),
                            draws=mirror_draws)
    assert np.allclose(passed["paper_value"], mirror_table["paper_value"], rtol=1e-9)
    assert passed["posterior_median"].equals(mirror_table["posterior_median"])
    no_paper = headline_table(paper_mirror_fit, paper=False, draws=mirror_draws)
    assert no_paper["paper_value"].isna().all()


def test_every_decomposition_sums_to_one(mirror_draws):
    groups = {
        "frontier_pair": ["frontier_pair_compute_share", "frontier_pair_period_share",
                          "frontier_pair_developer_share", "frontier_pair_model_share"],
        "explained": ["frontier_pair_compute_share_explained",
                      "frontier_pair_period_share_explained",
                      "frontier_pair_developer_share_explained"],
        "shapley": ["shapley_compute_share", "shapley_period_share",
                    "shapley_developer_share", "shapley_residual_share"],
        "variance": ["variance_compute_share", "variance_period_share",
                     "variance_developer_share", "variance_model_share"],
    }
    for name, ids in groups.items():
        total = sum(mirror_draws[i] for i in ids)
        assert np.allclose(total, 1.0, atol=1e-9), name
    assert set(mirror_draws.sizes) == {"chain", "draw"}
    assert mirror_draws.attrs["frontier_pair"] == f"{LLAMA} -> {GPT45}"
    assert mirror_draws.attrs["frontier_model"] == GPT45


def test_binomial_table_with_extra_pair(binomial_table, binomial_fit):
    _check_complete(binomial_table)
    t = binomial_table.set_index("figure")
    extra = pair_figure_id("compute", f"{FLAN} -> {MINITRON}")
    assert extra in t.index
    assert pair_figure_id("compute", f"{FLAN} -> {MINITRON}", explained=True) in t.index
    # developer-string coding: the paper's estimator gives the developer block far more
    assert t.loc["shapley_developer_share", "paper_value"] > 0.4
    assert "'developer' fixed effects" in binomial_table.attrs["paper_note"]
    # a pair outside the fit keeps its rows, as NaN with a note
    draws = headline_draws(binomial_fit, frontier_pair=("nope", GPT45))
    assert np.isnan(draws["frontier_pair_compute_share"]).all()
    assert "not in the fit" in draws["frontier_pair_compute_share"].attrs["note"]
    assert np.isfinite(draws["shapley_developer_share"]).all()


def test_write_headline_and_cli(mirror_table, paper_mirror_fit, tmp_path, capsys):
    out = tmp_path / "headline"
    written = write_headline(mirror_table, out)
    assert sorted(p.name for p in written) == sorted([HEADLINE_CSV, HEADLINE_MARKDOWN])
    assert sorted(p.name for p in out.iterdir()) == sorted([HEADLINE_CSV, HEADLINE_MARKDOWN])
    back = pd.read_csv(out / HEADLINE_CSV, keep_default_na=False, na_values=[""])
    assert back["figure"].tolist() == mirror_table["figure"].tolist()
    assert np.allclose(back["posterior_median"], mirror_table["posterior_median"])
    md = (out / HEADLINE_MARKDOWN).read_text()
    assert "| shapley_developer_share |" in md and "94% HDI" in md
    run = tmp_path / "run"
    paper_mirror_fit.save(run)
    cli_out = tmp_path / "cli"
    assert main(["headline", str(run), "--out", str(cli_out), "--pair",
                 f"{FLAN} -> {MINITRON}", "--allow-warnings"]) == 0
    printed = capsys.readouterr().out
    assert "shapley_developer_share" in printed and "7.52x" in printed
    assert f"{LLAMA} -> {GPT45}" in printed
    cli_table = pd.read_csv(cli_out / HEADLINE_CSV)
    assert pair_figure_id("model", f"{FLAN} -> {MINITRON}") in set(cli_table["figure"])
    assert main(["headline", str(run), "--pair", "no arrow"]) == 2
    assert main(["headline", str(tmp_path / "missing")]) == 2
