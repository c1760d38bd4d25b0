"""The six-benchmark long table: join, items, chance levels, validation (fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_llm.data.benchmarks import (
    BENCHMARK_NAMES,
    BENCHMARKS,
    LONG_COLUMNS,
    benchmark,
    benchmark_long_table,
    item_count_check,
    join_report,
    leaderboard_columns,
    load_leaderboard_scores,
    normalisation_check,
)
from bayes_llm.errors import DataValidationError


def _leaderboard(rows):
    """A leaderboard table with the given (name, precision, raw score) rows, same raw score
    on every benchmark and the documented normalisation where it has no subtasks."""
    out = []
    for name, precision, raw in rows:
        row = {"model_name": name, "model_precision": precision}
        for b in BENCHMARKS:
            row[b.value_column] = raw
            row[b.normalized_column] = 100 * max(0.0, (raw - b.chance) / (1 - b.chance))
        out.append(row)
    return pd.DataFrame(out, columns=leaderboard_columns())


def _frame():
    return pd.DataFrame({
        "model_id": ["org__a", "org__b", "closed"],
        "hf_id": ["org_a_bfloat16", "org_b_float16", pd.NA],
        "mmlu_pro_acc": [0.31, 0.41, 0.71],
        "math_lvl5_acc": [0.11, 0.21, 0.51],
    })


def test_benchmark_definitions_items_and_chance():
    assert BENCHMARK_NAMES == ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")
    assert benchmark("bbh").n_items == 21 * 250 + 187 + 146 + 178
    assert benchmark("musr").n_items == 756
    assert benchmark("musr").chance == pytest.approx((1 / 2 + 1 / 5 + 1 / 3) / 3)
    assert 0.2 < benchmark("bbh").chance < 0.4
    assert benchmark("mmlu_pro").chance == 0.1 and benchmark("gpqa").chance == 0.25
    assert benchmark("ifeval").chance == 0.0 and benchmark("math").chance == 0.0


def test_long_table_joins_on_name_and_precision_and_keeps_paper_scores():
    lb = _leaderboard([("org/a", "bfloat16", 0.5), ("org/a", "float16", 0.9),
                       ("org/b", "float16", 0.3)])
    long = benchmark_long_table(_frame(), lb)
    assert list(long.columns) == list(LONG_COLUMNS)
    assert len(long) == 3 * 6
    assert list(long["model_id"].iloc[::6]) == ["org__a", "org__b", "closed"]
    a = long[long["model_id"] == "org__a"].set_index("benchmark")
    assert (a["score"] == 0.5).all()  # the bfloat16 row, not the float16 one
    assert (a["source"] == "leaderboard").all()
    assert a.loc["mmlu_pro", "successes"] == round(0.5 * 12032)
    closed = long[long["model_id"] == "closed"].set_index("benchmark")
    assert closed.loc["mmlu_pro", "score"] == 0.71 and closed.loc["math", "score"] == 0.51
    assert closed.loc["mmlu_pro", "source"] == "paper"
    for b in ("ifeval", "bbh", "gpqa", "musr"):
        assert np.isnan(closed.loc[b, "score"]) and closed.loc[b, "source"] == "missing"
        assert pd.isna(closed.loc[b, "successes"])
    assert np.isnan(closed.loc["mmlu_pro", "normalized_score"])


def test_leaderboard_missing_outcome_stays_missing():
    lb = _leaderboard([("org/a", "bfloat16", 0.5), ("org/b", "float16", 0.3)])
    lb.loc[1, benchmark("gpqa").value_column] = np.nan
    long = benchmark_long_table(_frame(), lb).set_index(["model_id", "benchmark"])
    assert np.isnan(long.loc[("org__b", "gpqa"), "score"])
    assert long.loc[("org__b", "gpqa"), "source"] == "missing"


def test_join_report_counts_matches_and_disagreements():
    lb = _leaderboard([("org/a", "bfloat16", 0.31), ("org/a", "float16", 0.41),
                       ("org/b", "float16", 0.5)])
    frame = _frame().assign(mmlu_pro_acc=[0.41, 0.5, 0.7])
    long = benchmark_long_table(frame, lb)
    rep = join_report(frame, long, lb)
    assert rep["models"] == 3 and rep["matched"] == 2
    mmlu = rep["paper_vs_leaderboard"]["mmlu_pro"]
    # org__a: paper 0.41 vs leaderboard bfloat16 0.31, equal to its float16 row
    assert mmlu == {"compared": 2, "max_abs_diff": pytest.approx(0.1), "n_differ": 1,
                    "n_other_precision": 1}


@pytest.mark.parametrize("problem", ["duplicate", "out_of_range", "missing_column"])
def test_bad_leaderboard_is_one_line_error(problem):
    lb = _leaderboard([("org/a", "bfloat16", 0.5), ("org/b", "float16", 0.3)])
    if problem == "duplicate":
        lb = pd.concat([lb, lb.iloc[[0]]], ignore_index=True)
        match = "duplicate"
    elif problem == "out_of_range":
        lb.loc[1, benchmark("bbh").value_column] = 1.7
        match = "row 3, column 'evaluations_bbh_value'"
    else:
        lb = lb.drop(columns=[benchmark("musr").value_column])
        match = "missing column"
    with pytest.raises(DataValidationError, match=match):
        benchmark_long_table(_frame(), lb)


def test_real_join_match_rate_normalisation_and_counts(paper_df, mirror_dir):
    lb = load_leaderboard_scores(mirror=mirror_dir)
    long = benchmark_long_table(paper_df, lb)
    rep = join_report(paper_df, long, lb)
    assert rep["models"] == 809 and rep["matched"] == 798
    assert rep["observed"]["mmlu_pro"] == 809 and rep["observed"]["gpqa"] == 798
    # The documented normalisation reproduces the table's normalised scores.
    assert (normalisation_check(lb)["max_abs_diff"] < 1e-9).all()
    counts = item_count_check(lb).set_index("benchmark")["share_integer"]
    assert (counts[["math", "gpqa", "mmlu_pro"]] > 0.99).all()
    assert (counts[["ifeval", "bbh", "musr"]] < 0.01).all()
    # MATH agrees exactly; MMLU-Pro differs for a few models, most of them because the
    # paper's score is the same model's evaluation at the other precision.
    assert rep["paper_vs_leaderboard"]["math"]["n_differ"] == 0
    mmlu = rep["paper_vs_leaderboard"]["mmlu_pro"]
    assert mmlu["compared"] == 798 and 0 < mmlu["n_differ"] < 40
    assert mmlu["n_other_precision"] <= mmlu["n_differ"]
    scores = long["score"].dropna()
    assert ((scores >= 0) & (scores <= 1)).all()
