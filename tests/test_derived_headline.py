"""The headline table on real (small) fits of the 809 models, its exports and its CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm.baseline import run_baseline
from bayes_llm.cli import main
from bayes_llm.derived import (
    HEADLINE_COLUMNS,
    HEADLINE_FIGURES,
    KINDS,
    PAPER_CLAIMS,
    PRIMARY,
    default_frontier_pair,
    headline_draws,
    headline_table,
    pair_figure_id,
    write_headline,
)
from bayes_llm.derived.averaging import AVERAGED_KIND
from bayes_llm.derived.company import GROUP_CODING_NOTE
from bayes_llm.derived.headline import HEADLINE_CSV, HEADLINE_MARKDOWN, REPORTED

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
    assert set(table["kind"]) == set(KINDS) - {AVERAGED_KIND}  # no --average-with here
    ids = [f for f in HEADLINE_FIGURES if f in set(table["figure"])]
    assert ids == [f for f in table["figure"] if f in HEADLINE_FIGURES]
    post = table[table["kind"] == "posterior"]
    defined = post[np.isfinite(post["estimate"])]
    assert (defined["lower"] <= defined["estimate"] + 1e-12).all()
    assert (defined["estimate"] <= defined["upper"] + 1e-12).all()
    # every undefined posterior row says why
    assert (post.loc[~np.isfinite(post["estimate"]), "note"] != "").all()
    # diagnostics of the derived quantity itself, on posterior rows only
    varying = defined[(defined["upper"] - defined["lower"])
                      > 1e-9 * defined["estimate"].abs().clip(lower=1.0)]
    assert np.isfinite(varying["rhat"]).all() and np.isfinite(varying["ess_tail"]).all()
    assert table.loc[table["kind"] != "posterior", "rhat"].isna().all()
    assert (post["fit_diagnostics"] != "").all()
    # paper values only where the paper reported the quantity
    has_paper = table.loc[np.isfinite(table["paper_value"]), "figure"]
    assert all(f in REPORTED or f.startswith("pair_") for f in has_paper)
    assert set(PRIMARY.values()) <= set(table.loc[table["primary_for"] != "", "figure"])
    claimed = (table["paper_claim"] != "") & (table["kind"] == "posterior") & \
        np.isfinite(table["estimate"])
    assert table.loc[claimed, "p_claim"].between(0, 1).all()


def test_default_pair_is_the_papers(paper_mirror_fit):
    assert default_frontier_pair(paper_mirror_fit) == (LLAMA, GPT45)


def test_paper_mirror_table_matches_the_paper(mirror_table, paper_df):
    _check_complete(mirror_table)
    t = mirror_table.set_index("figure")
    for fid, paper in (("shapley_compute_share", 0.320), ("shapley_period_share", 0.027),
                       ("shapley_developer_share", 0.180)):
        assert t.loc[fid, "paper_value"] == pytest.approx(paper, abs=0.001)
        # a sampling band of the OLS statistic, centred on the statistic itself
        assert t.loc[fid, "kind"] == "sampling band"
        assert t.loc[fid, "estimate"] == pytest.approx(t.loc[fid, "paper_value"], abs=1e-9)
    # the null level of the 13-group statistic (~10.9%, the groups are partly compute bins)
    null = t.loc["shapley_developer_share_null"]
    assert null["kind"] == "null reference" and 0.07 < null["estimate"] < 0.15
    excess = t.loc["shapley_developer_share_excess"]
    assert excess["estimate"] == pytest.approx(t.loc["shapley_developer_share", "estimate"]
                                               - null["estimate"])
    assert GROUP_CODING_NOTE in t.loc["company_share_superpop", "note"]
    assert mirror_table["paper_method_fit_coding"].isna().all()
    # never reported by the paper: no paper value
    assert np.isnan(t.loc["frontier_gain_compute_share", "paper_value"])
    assert np.isnan(t.loc["company_share_superpop", "paper_value"])
    shared = t.loc["shared_progress_multiplier"]
    assert shared["paper_value"] == pytest.approx(7.52, abs=0.01)
    assert shared["lower"] < 7.5 < shared["upper"]
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
    assert t.loc["frontier_pair_compute_share", "paper_claim"] == \
        PAPER_CLAIMS["frontier_compute_share"].text


def test_passed_baseline_gives_the_same_paper_values(paper_mirror_fit, mirror_draws,
                                                     mirror_table, paper_df):
    passed = headline_table(paper_mirror_fit, baseline=run_baseline(paper_df),
                            draws=mirror_draws)
    assert np.allclose(passed["paper_value"], mirror_table["paper_value"], rtol=1e-9,
                       equal_nan=True)
    assert passed["estimate"].equals(mirror_table["estimate"])
    no_paper = headline_table(paper_mirror_fit, paper=False, draws=mirror_draws)
    assert no_paper["paper_value"].isna().all()


def test_every_decomposition_sums_to_one(mirror_draws):
    groups = {
        "frontier_pair": ["frontier_pair_compute_share", "frontier_pair_period_share",
                          "frontier_pair_developer_share", "frontier_pair_model_share"],
        "explained": ["frontier_pair_compute_share_explained",
                      "frontier_pair_period_share_explained",
                      "frontier_pair_developer_share_explained"],
        "variance": ["variance_compute_share", "variance_period_share",
                     "variance_developer_share", "variance_model_share"],
    }
    for name, ids in groups.items():
        total = sum(mirror_draws[i] for i in ids)
        assert np.allclose(total, 1.0, atol=1e-9), name
    assert set(mirror_draws.sizes) == {"chain", "draw"}
    assert "lineage_share_superpop" not in mirror_draws  # lineage fits only
    assert mirror_draws.attrs["frontier_pair"] == f"{LLAMA} -> {GPT45}"
    assert mirror_draws.attrs["frontier_model"] == GPT45


def test_binomial_table_with_extra_pair(binomial_table, binomial_fit):
    _check_complete(binomial_table)
    t = binomial_table.set_index("figure")
    extra = pair_figure_id("compute", f"{FLAN} -> {MINITRON}")
    assert extra in t.index
    # the paper's second pair: net change ~0.1 logit, so its shares are undefined
    assert np.isnan(t.loc[extra, "estimate"]) and t.loc[extra, "note"].startswith("undefined")
    assert pair_figure_id("compute", f"{FLAN} -> {MINITRON}", explained=True) in t.index
    # paper: the paper's 13-group statistic; beside it the same method on developer strings
    assert t.loc["shapley_developer_share", "paper_value"] == pytest.approx(0.18, abs=0.002)
    assert t.loc["shapley_developer_share", "paper_method_fit_coding"] > 0.4
    # with 256 developer dummies the statistic is ~33% with no developer effect at all
    assert 0.25 < t.loc["shapley_developer_share_null", "estimate"] < 0.4
    assert "every developer string" in binomial_table.attrs["paper_note"]
    assert np.isfinite(t.loc["frontier_gain_compute_share", "estimate"])
    # a pair outside the fit keeps its rows, as NaN with a note
    draws = headline_draws(binomial_fit, frontier_pair=("nope", GPT45))
    assert np.isnan(draws["frontier_pair_compute_share"]).all()
    assert "not in the fit" in draws["frontier_pair_compute_share"].attrs["note"]
    assert all(draws[v].attrs["kind"] == "posterior" for v in draws.data_vars)


def test_write_headline_and_cli(mirror_table, paper_mirror_fit, tmp_path, capsys):
    out = tmp_path / "headline"
    written = write_headline(mirror_table, out)
    assert sorted(p.name for p in written) == sorted([HEADLINE_CSV, HEADLINE_MARKDOWN])
    assert sorted(p.name for p in out.iterdir()) == sorted([HEADLINE_CSV, HEADLINE_MARKDOWN])
    back = pd.read_csv(out / HEADLINE_CSV, keep_default_na=False, na_values=[""])
    assert back["figure"].tolist() == mirror_table["figure"].tolist()
    assert np.allclose(back["estimate"], mirror_table["estimate"], equal_nan=True)
    md = (out / HEADLINE_MARKDOWN).read_text()
    assert "| shapley_developer_share |" in md and "94% HDI" in md
    assert "| null reference |" in md and "| quoted claim |" in md
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


def test_headline_cli_averages_fits_of_the_same_data(binomial_fit, paper_mirror_fit,
                                                     tmp_path, capsys):
    runs = {"binomial": tmp_path / "binomial", "mirror": tmp_path / "mirror"}
    binomial_fit.save(runs["binomial"])
    paper_mirror_fit.save(runs["mirror"])
    out = tmp_path / "out"
    code = main(["headline", str(runs["binomial"]), "--average-with", str(runs["mirror"]),
                 "--weights", "equal", "--out", str(out), "--allow-warnings"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "model-averaged rows: binomial_developers 0.50, paper_mirror 0.50" in printed
    table = pd.read_csv(out / HEADLINE_CSV).set_index("figure")
    row = table.loc["frontier_gain_averaged"]
    assert row["kind"] == AVERAGED_KIND and "equal weights" in row["definition"]
    assert row["lower"] <= row["estimate"] <= row["upper"]
    # stacking weights by spec name; a spec missing from the validate folder is refused
    validate = tmp_path / "validate"
    validate.mkdir()
    pd.DataFrame({"method": ["binomial_developers", "paper_ols"],
                  "stacking_weight": [0.9, 0.1]}).to_csv(validate / "summary.csv",
                                                         index=False)
    pd.DataFrame({"method": ["binomial_developers", "paper_ols"], "model_id": ["m", "m"],
                  "log_score": [-9.0, -9.5]}).to_csv(validate / "scores.csv", index=False)
    assert main(["headline", str(runs["binomial"]), "--average-with", str(runs["mirror"]),
                 "--weights", str(validate), "--allow-warnings"]) == 2
    assert "no stacking weight for spec(s) 'paper_mirror'" in capsys.readouterr().err
