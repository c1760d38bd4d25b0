"""The paper's dataset as loaded, its derived columns, grouping, samples and user tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_llm import constants as C
from bayes_llm.cli import main
from bayes_llm.data import (
    compute_percentile_ratio,
    load_model_table,
    paper_developer_groups,
    paper_group_order,
    select_sample,
    summarise,
)
from bayes_llm.data.grouping import major_developers
from bayes_llm.data.paper import derived_check_table, read_paper_frame
from bayes_llm.data.schema import COLUMN_NAMES
from bayes_llm.data.sources import get_source
from bayes_llm.errors import BayesLLMError

#: The file's 15 labels -> the paper's 13 regression groups: Mistral and Tencent are not
#: majors, so their developers are pooled by mean compute like every other non-major.
FILE_LABEL_TO_GROUP = {"Mistral": C.OTHER_MED, "Tencent": C.OTHER_SMALL}


@pytest.fixture(scope="module")
def raw_paper(mirror_dir) -> pd.DataFrame:
    return read_paper_frame(mirror_dir / get_source("secret_sauce").mirror_path)


# --- counts -----------------------------------------------------------------------------


def test_shape_and_columns(paper_df):
    assert len(paper_df) == 809
    assert tuple(paper_df.columns) == COLUMN_NAMES
    assert paper_df["model_id"].is_unique


def test_counts_of_developers_groups_and_cohorts(paper_df):
    assert paper_df["developer"].nunique() == 256
    assert paper_df["developer_group"].nunique() == 13
    assert set(paper_df["developer_group"]) == set(paper_group_order())
    assert paper_df["cohort"].value_counts().to_dict() == {
        "2022q4-2023q3": 29, "2023q4-2024q2": 134, "2024q3-2025q1": 646}
    assert paper_df["cohort"].notna().all()


def test_release_window(paper_df):
    assert paper_df["month"].min() == C.PAPER_FIRST_MONTH == "2022-11"
    assert paper_df["month"].max() == C.PAPER_LAST_MONTH == "2025-03"
    assert (paper_df["release_month"].dt.day == 1).all()


def test_quarters_match_the_file(paper_df, raw_paper):
    file_quarter = raw_paper["Quarter of Model Release"].dt.to_period("Q").astype(str)
    assert (file_quarter.to_numpy() == paper_df["quarter"].to_numpy()).all()


def test_every_recomputed_column_matches_the_file(paper_df):
    check = derived_check_table(paper_df)
    assert set(check["column"]) == {"mmlu_pro_norm", "mmlu_pro_logit", "ln_flop_1e18",
                                    "log10_flop", "math_lvl5_logit", "cohort"}
    assert check["ok"].all(), check
    assert (check["n_missing_mismatch"] == 0).all()
    assert check["max_abs_diff"].max() < 1e-5


def test_compute_is_six_n_d(paper_df):
    flop = 6 * paper_df["params_b"] * 1e9 * paper_df["tokens_b"] * 1e9
    np.testing.assert_allclose(paper_df["log10_flop"], np.log10(flop), rtol=0, atol=1e-12)
    np.testing.assert_allclose(paper_df["ln_flop_1e18"], np.log(flop / 1e18), atol=1e-10)


def test_tokens_fall_back_to_base_model_tokens(paper_df):
    known = paper_df["has_full_token_count"]
    assert known.sum() == 255
    assert (paper_df.loc[known, "tokens_b"] == paper_df.loc[known, "tokens_total_b"]).all()
    assert (paper_df.loc[~known, "tokens_b"] == paper_df.loc[~known, "tokens_base_b"]).all()
    assert paper_df["tokens_b"].notna().all()


def test_outcome_is_finite_and_math_logit_missing_only_at_zero(paper_df):
    assert np.isfinite(paper_df["mmlu_pro_logit"]).all()
    assert (paper_df["mmlu_pro_acc"] > C.MMLU_PRO_GUESS_RATE).all()
    missing = paper_df["math_lvl5_logit"].isna()
    assert missing.sum() == 24
    assert (paper_df.loc[missing, "math_lvl5_acc"] == 0).all()


def test_compute_estimates_are_the_proprietary_models(paper_df):
    est = paper_df[paper_df["compute_is_estimate"]]
    assert len(est) == 7
    assert set(est["developer_group"]) == {"Anthropic", "Google", "OpenAI", "X-AI"}
    assert est["hf_id"].isna().all()
    assert (paper_df["on_hf_leaderboard"] == paper_df["hf_id"].notna()).all()


# --- the 13-group coding ----------------------------------------------------------------


def test_group_coding_reproduces_the_files_labels(paper_df):
    file_label = paper_df["developer_label_in_file"]
    assert file_label.nunique() == 15
    expected = file_label.replace(FILE_LABEL_TO_GROUP)
    mismatch = paper_df[expected != paper_df["developer_group"]]
    assert mismatch.empty, mismatch[["model_id", "developer_label_in_file", "developer_group"]]


def test_mistral_and_tencent_pool_by_their_mean_compute(paper_df):
    # Verify the mapping from the data, not by assertion: the pooled developers' mean
    # ln(FLOP/1e18) falls in the bin the mapping claims.
    small, med = C.PAPER_OTHER_CUTOFFS
    mean_ln = paper_df.groupby("developer")["ln_flop_1e18"].mean()
    mistral = paper_df.loc[paper_df["developer_label_in_file"] == "Mistral", "developer"]
    tencent = paper_df.loc[paper_df["developer_label_in_file"] == "Tencent", "developer"]
    assert set(mistral) == {"mistralai"} and set(tencent) == {"TencentARC"}
    assert small < mean_ln["mistralai"] <= med
    assert mean_ln["TencentARC"] <= small
    assert not paper_df.loc[mistral.index, "is_major"].any()


def test_majors(paper_df):
    majors = major_developers()
    assert len(majors) == 10
    assert paper_df["is_major"].sum() == 122
    in_major_group = paper_df["developer_group"].isin(majors.values())
    assert (in_major_group == paper_df["is_major"]).all()


def test_group_cutoffs_are_inclusive_upper_bounds():
    developer = pd.Series(["a", "b", "c", "d", "Qwen"])
    ln = pd.Series([12.0, 12.0001, 15.5, 15.5001, 1.0])
    groups = paper_developer_groups(developer, ln)
    assert groups.tolist() == [C.OTHER_SMALL, C.OTHER_MED, C.OTHER_MED, C.OTHER_LARGE, "Qwen"]


def test_group_uses_the_developer_mean_not_the_model():
    developer = pd.Series(["x", "x"])
    groups = paper_developer_groups(developer, pd.Series([10.0, 16.0]))  # mean 13
    assert groups.tolist() == [C.OTHER_MED, C.OTHER_MED]


# --- the compute spread -----------------------------------------------------------------


def test_compute_ratio_is_1321_with_stata_percentiles(paper_df):
    stata = compute_percentile_ratio(paper_df["log10_flop"], method="stata")
    numpy = compute_percentile_ratio(paper_df["log10_flop"], method="numpy")
    assert round(stata) == 1321
    assert round(numpy) == 1290
    assert round(numpy) != round(stata)


def test_compute_ratio_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        compute_percentile_ratio(np.array([1.0, 2.0]), method="excel")


def test_summary_object_and_cli(paper_df, mirror_dir, capsys):
    summary = summarise(paper_df)
    assert (summary.n_models, summary.n_developers, summary.n_groups) == (809, 256, 13)
    assert (summary.first_month, summary.last_month) == ("2022-11", "2025-03")
    assert summary.by_group.sum() == 809 and summary.by_cohort.sum() == 809
    assert main(["data", "summary", "--mirror", str(mirror_dir)]) == 0
    out, err = capsys.readouterr()
    # stderr says where the data came from (one line), nothing else
    assert err.startswith("data: ") and "dataset_for_github.xlsx" in err
    assert len(err.splitlines()) == 1
    assert "models:               809" in out
    assert "all match" in out
    assert "1,321x" in out and "1,290x" in out


# --- sample filters ---------------------------------------------------------------------


@pytest.mark.parametrize(("sample", "n_kept"), [
    ("full", 809), ("majors", 122), ("hf_leaderboard", 798), ("full_tokens", 255),
    ("no_compute_estimates", 802),
])
def test_sample_filters_report_exclusions_that_add_up(paper_df, sample, n_kept):
    kept, report = select_sample(paper_df, sample)
    assert len(kept) == report.n_kept == n_kept
    assert report.n_before == 809
    assert sum(report.excluded.values()) == report.n_excluded == 809 - n_kept
    assert kept.attrs["sample_report"] is report
    assert f"kept {n_kept} of 809" in str(report)


def test_required_columns_are_reported_separately(paper_df):
    kept, report = select_sample(paper_df, "majors", require=("math_lvl5_logit",))
    assert report.excluded["not in sample 'majors'"] == 687
    n_missing = report.excluded["missing math_lvl5_logit"]
    assert n_missing == paper_df.loc[paper_df["is_major"], "math_lvl5_logit"].isna().sum()
    assert len(kept) == 122 - n_missing
    assert kept["math_lvl5_logit"].notna().all()
    assert sum(report.excluded.values()) == 809 - len(kept)


def test_filters_do_not_modify_the_input(paper_df):
    before = len(paper_df)
    select_sample(paper_df, "majors")
    assert len(paper_df) == before


def test_unknown_sample():
    with pytest.raises(BayesLLMError, match="unknown sample 'big'.*majors"):
        select_sample(pd.DataFrame(), "big")


# --- user tables ------------------------------------------------------------------------


def _write(df: pd.DataFrame, path) -> None:
    df = df.copy()
    df.attrs = {}  # attrs hold a DataFrame, which Parquet metadata cannot serialise
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_table_round_trip(paper_df, tmp_path, suffix):
    path = tmp_path / f"models{suffix}"
    _write(paper_df, path)
    back = load_model_table(path)
    assert tuple(back.columns) == COLUMN_NAMES
    assert len(back) == 809
    for column in COLUMN_NAMES:
        ours, theirs = back[column], paper_df[column]
        if pd.api.types.is_float_dtype(theirs):
            np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float),
                                       rtol=1e-12, atol=0, err_msg=column)
        elif pd.api.types.is_datetime64_any_dtype(theirs):
            assert (ours.dt.strftime("%Y-%m") == theirs.dt.strftime("%Y-%m")).all()
        else:
            assert ours.astype(object).where(ours.notna(), None).tolist() == \
                theirs.astype(object).where(theirs.notna(), None).tolist(), column


def test_user_table_minimal_columns_recompute_compute_and_groups(paper_df, tmp_path):
    minimal = paper_df[["model_id", "developer", "month", "mmlu_pro_acc", "params_b",
                        "tokens_b"]].rename(columns={"month": "release_month"})
    path = tmp_path / "minimal.csv"
    minimal.to_csv(path, index=False)
    back = load_model_table(path)
    np.testing.assert_allclose(back["log10_flop"], paper_df["log10_flop"], atol=1e-12)
    assert (back["developer_group"] == paper_df["developer_group"]).all()
    assert (back["cohort"] == paper_df["cohort"]).all()
    assert not back["compute_is_estimate"].any()
    assert back["math_lvl5_acc"].isna().all()


def test_user_table_window_none_allows_later_months(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("model_id,developer,release_month,mmlu_pro_acc,log10_flop\n"
                    "Fjord-7B,fjordlabs,2025-09,0.41,23.5\n")
    back = load_model_table(path, window=None)
    assert back["quarter"].tolist() == ["2025Q3"]
    assert back["cohort"].isna().all()


def test_user_estimate_flags_are_parsed_strictly(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("model_id,developer,release_month,mmlu_pro_acc,log10_flop,"
                    "compute_is_estimate\n"
                    "A-1,acme,2024-01,0.4,23,yes\nA-2,acme,2024-01,0.4,23,no\n"
                    "A-3,acme,2024-01,0.4,23,\nA-4,acme,2024-01,0.4,23,FALSE\n")
    assert load_model_table(path)["compute_is_estimate"].tolist() == [True, False, False,
                                                                      False]


# --- the data card ----------------------------------------------------------------------


def test_data_card_documents_every_column_and_source():
    from bayes_llm.data import load_manifest

    card = (Path(__file__).resolve().parent.parent / "data" / "README.md").read_text()
    for column in COLUMN_NAMES:
        assert f"| `{column}` |" in card, column
    for source in load_manifest().values():
        assert f"`{source.name}`" in card and f"`{source.mirror_path}`" in card, source.name
