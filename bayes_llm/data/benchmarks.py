"""The six Open LLM Leaderboard v2 benchmarks of the paper's models, as a long table.

Source: ``open_llm_leaderboard_v2`` in ``data/sources.toml`` (checksum verified on every
read). A model of our table matches the leaderboard row whose ``model_name`` (first ``/``
replaced by ``_``) and ``model_precision`` form its ``hf_id`` (the rule of
:mod:`bayes_llm.data.lineage`, reused here). On the paper's 809 models, 798 match.

Scores. The leaderboard CSV carries, per benchmark, ``evaluations_<b>_value`` (the raw
score, a share in [0, 1]) and ``evaluations_<b>_normalized_score`` (its display score). The
leaderboard's normalisation (Hugging Face, "Scores Normalization", Open LLM Leaderboard
documentation) is, per task without subtasks, ``100 * max(0, (raw - c) / (1 - c))`` with
``c = 1 / num_choices`` the random-guess baseline; for tasks with subtasks (BBH, MuSR) each
subtask is normalised with its own baseline (floored at 0) and the results are averaged;
generative tasks (IFEval, MATH) have ``c = 0``. The normalised score floors every
below-chance model at 0, so it loses information: we use the **raw** value, which the table
gives directly (no inversion is needed). :func:`normalisation_check` recomputes the
documented formula from the raw values for the four tasks without subtasks and reports the
largest difference from the table's normalised score.

Items and chance levels (:data:`BENCHMARKS`; counts checked against the data by
:func:`item_count_check`):

* **IFEval** (Zhou et al. 2023, arXiv:2311.07911): 541 prompts carrying 834 verifiable
  instructions; the leaderboard's raw value is the mean of prompt-level and
  instruction-level strict accuracy (every value is p/541/2 + i/834/2 for integers p, i).
  Generative: chance 0. Not a count of independent successes, so the joint model uses a
  bounded (Beta) likelihood for it.
* **BBH** (Suzgun et al. 2022, arXiv:2210.09261), 24 multiple-choice subtasks of the
  leaderboard's harness (``leaderboard_bbh``), 5,761 items (21 x 250, causal judgement 187,
  penguins in a table 146, snarks 178). The raw value is the unweighted mean of subtask
  accuracies (it is not an integer multiple of 1/5,761), so its chance level is the mean
  of the 24 subtasks' 1 / num_choices (num_choices from the harness task files, 2 to 19).
* **MATH Lvl 5** (Hendrycks et al. 2021): 1,324 level-5 problems, exact match, chance 0.
* **GPQA** (Rein et al. 2023, arXiv:2311.12022): main (448), diamond (198) and extended
  (546) sets pooled, 1,192 scored items (raw value x 1,192 is an integer); 4 options,
  chance 0.25. Diamond and main are subsets of extended, so only 546 questions are
  distinct: a binomial on 1,192 trials overstates the information (the model-level
  residual absorbs it).
* **MuSR** (Sprague et al. 2023, arXiv:2310.16049): murder mysteries (250 items,
  2 options), object placements (256, 5), team allocation (250, 3); the raw value is the
  unweighted mean of the three accuracies (checked: every value is of that form), chance
  (1/2 + 1/5 + 1/3) / 3 = 0.344.
* **MMLU-Pro** (Wang et al. 2024, arXiv:2406.01574): 12,032 questions, 10 options,
  chance 0.1.

For the subtask means (BBH, MuSR) ``successes = round(score * n_items)`` is an
approximation (``successes_exact`` is false); for the others it is exact.

Models scored outside the leaderboard (no match) keep the scores the paper's own table
gives them (MMLU-Pro and MATH Lvl 5, ``source = "paper"``); their other benchmarks are
missing (NaN), never imputed. Every model appears once per benchmark.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.data.lineage import SOURCE, leaderboard_key
from bayes_llm.data.sources import resolve
from bayes_llm.errors import DataValidationError


@dataclass(frozen=True)
class Benchmark:
    """One leaderboard benchmark: its items, chance level and how its raw score is formed."""

    name: str
    label: str
    n_items: int
    chance: float
    kind: str
    aggregate: str
    paper_column: str | None = None

    @property
    def value_column(self) -> str:
        """The leaderboard CSV column of the raw score."""
        return f"evaluations_{self.name}_value"

    @property
    def normalized_column(self) -> str:
        """The leaderboard CSV column of the normalised (display) score."""
        return f"evaluations_{self.name}_normalized_score"


#: Number of answer options of the 24 BBH subtasks of the leaderboard harness
#: (``lm_eval/tasks/leaderboard/bbh_mc/*.yaml``, ``doc_to_choice``) and their item counts.
BBH_SUBTASKS: dict[str, tuple[int, int]] = {
    "boolean_expressions": (2, 250), "causal_judgement": (2, 187),
    "date_understanding": (6, 250), "disambiguation_qa": (3, 250),
    "formal_fallacies": (2, 250), "geometric_shapes": (11, 250), "hyperbaton": (2, 250),
    "logical_deduction_five_objects": (5, 250), "logical_deduction_seven_objects": (7, 250),
    "logical_deduction_three_objects": (3, 250), "movie_recommendation": (6, 250),
    "navigate": (2, 250), "object_counting": (19, 250), "penguins_in_a_table": (5, 146),
    "reasoning_about_colored_objects": (18, 250), "ruin_names": (6, 250),
    "salient_translation_error_detection": (6, 250), "snarks": (2, 178),
    "sports_understanding": (2, 250), "temporal_sequences": (4, 250),
    "tracking_shuffled_objects_five_objects": (5, 250),
    "tracking_shuffled_objects_seven_objects": (7, 250),
    "tracking_shuffled_objects_three_objects": (3, 250), "web_of_lies": (2, 250),
}
#: MuSR subtasks: (number of options, items).
MUSR_SUBTASKS: dict[str, tuple[int, int]] = {
    "murder_mysteries": (2, 250), "object_placements": (5, 256), "team_allocation": (3, 250),
}


def _mean_chance(subtasks: dict[str, tuple[int, int]]) -> float:
    return float(np.mean([1.0 / k for k, _ in subtasks.values()]))


def _items(subtasks: dict[str, tuple[int, int]]) -> int:
    return sum(n for _, n in subtasks.values())


#: The six benchmarks, in the leaderboard's order.
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("ifeval", "IFEval", 541, 0.0, "instruction_following",
              "mean of prompt-level (541) and instruction-level (834) strict accuracy"),
    Benchmark("bbh", "BBH", _items(BBH_SUBTASKS), _mean_chance(BBH_SUBTASKS),
              "multiple_choice", "unweighted mean of 24 subtask accuracies"),
    Benchmark("math", "MATH Lvl 5", 1324, 0.0, "generative", "share of problems solved",
              paper_column="math_lvl5_acc"),
    Benchmark("gpqa", "GPQA", 1192, 0.25, "multiple_choice",
              "share of 1,192 scored items (main + diamond + extended)"),
    Benchmark("musr", "MuSR", _items(MUSR_SUBTASKS), _mean_chance(MUSR_SUBTASKS),
              "multiple_choice", "unweighted mean of 3 subtask accuracies"),
    Benchmark("mmlu_pro", "MMLU-Pro", 12032, 0.1, "multiple_choice", "share of questions",
              paper_column="mmlu_pro_acc"),
)
BENCHMARK_NAMES: tuple[str, ...] = tuple(b.name for b in BENCHMARKS)
#: Benchmarks whose raw score is an exact share of items (successes are integers).
EXACT_COUNTS: frozenset[str] = frozenset({"math", "gpqa", "mmlu_pro"})
LONG_COLUMNS = ("model_id", "benchmark", "score", "n_items", "chance", "successes",
                "successes_exact", "normalized_score", "source", "leaderboard_name")


#: Benchmarks that are single outcomes of the one-benchmark model besides the paper's two
#: (MMLU-Pro and MATH Lvl 5 are canonical columns): ``<b>_acc``, ``<b>_norm`` and
#: ``<b>_logit`` come from :func:`add_benchmark_columns`.
OUTCOME_BENCHMARKS: tuple[str, ...] = ("ifeval", "bbh", "gpqa", "musr")
#: Benchmarks whose score is not a count of independent successes (IFEval: the mean of
#: prompt-level and instruction-level accuracies): no binomial likelihood for them.
NOT_COUNTS: frozenset[str] = frozenset({"ifeval"})


def outcome_columns(name: str) -> tuple[str, str, str]:
    """Return the (raw score, normalised, logit) columns of an outcome benchmark."""
    return f"{name}_acc", f"{name}_norm", f"{name}_logit"


def add_benchmark_columns(frame: pd.DataFrame, names: tuple[str, ...] = OUTCOME_BENCHMARKS, *,
                          leaderboard: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return ``frame`` with each benchmark's raw score, normalised score and logit.

    The scores come from :func:`benchmark_long_table` (the join of this module). Columns per
    benchmark b (:func:`outcome_columns`), defined as the canonical ``mmlu_pro_*`` columns
    (:func:`bayes_llm.data.schema.derive_columns`): ``<b>_acc`` the raw share;
    ``<b>_norm = (acc - c) / (1 - c)`` with c the chance level of :data:`BENCHMARKS`;
    ``<b>_logit = logit(<b>_norm)``, missing (NaN) where it is not finite, i.e. for a score
    at or below the chance level (as ``math_lvl5_logit`` for a score of 0). Models without
    the benchmark (not on the leaderboard) get NaN in all three: missing, not imputed.

    Parameters
    ----------
    frame : DataFrame
        A canonical model table (``model_id``, ``hf_id``).
    names : tuple of str
        Benchmarks of :data:`OUTCOME_BENCHMARKS` to add.
    leaderboard : DataFrame, optional
        The leaderboard columns; default :func:`load_leaderboard_scores`.
    """
    from bayes_llm.data.schema import logit

    unknown = [n for n in names if n not in OUTCOME_BENCHMARKS]
    if unknown:
        raise KeyError(f"not an outcome benchmark: {', '.join(unknown)}; choose from "
                       f"{', '.join(OUTCOME_BENCHMARKS)}")
    long = benchmark_long_table(frame, leaderboard)
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    for name in names:
        b = benchmark(name)
        score = long.loc[long["benchmark"] == name, "score"].to_numpy(float)  # frame order
        norm = (score - b.chance) / (1.0 - b.chance)
        lg = logit(norm)
        acc_col, norm_col, logit_col = outcome_columns(name)
        out[acc_col] = score
        out[norm_col] = norm
        out[logit_col] = np.where(np.isfinite(lg), lg, np.nan)
    return out


def with_outcome_columns(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """``frame`` with the columns of ``outcome`` (joined when missing; else unchanged)."""
    if outcome not in OUTCOME_BENCHMARKS:
        return frame
    if all(c in frame for c in outcome_columns(outcome)):
        return frame
    return add_benchmark_columns(frame, (outcome,))


def benchmark(name: str) -> Benchmark:
    """Look up one of :data:`BENCHMARKS` by name."""
    for b in BENCHMARKS:
        if b.name == name:
            return b
    raise KeyError(name)


def leaderboard_columns() -> list[str]:
    """Return the leaderboard CSV columns this module reads."""
    cols = ["model_name", "model_precision"]
    for b in BENCHMARKS:
        cols += [b.value_column, b.normalized_column]
    return cols


@functools.lru_cache(maxsize=4)
def _read_scores(path: str) -> pd.DataFrame:
    return pd.read_csv(path, usecols=leaderboard_columns())


def load_leaderboard_scores(path: str | os.PathLike | None = None, *,
                            mirror: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the leaderboard's names, precisions and six benchmark scores (checksum verified)."""
    file = resolve(SOURCE, path=path, mirror=mirror)
    out = _read_scores(str(Path(file).resolve())).copy()
    out.attrs["source_file"] = str(file)
    return out


def _check_leaderboard(leaderboard: pd.DataFrame) -> None:
    """Refuse a leaderboard table with missing columns, duplicate keys or bad raw scores."""
    file = leaderboard.attrs.get("source_file", "<leaderboard table>")
    missing = [c for c in leaderboard_columns() if c not in leaderboard]
    if missing:
        raise DataValidationError(file, f"missing column(s) {', '.join(missing)}")
    keys = leaderboard["model_name"].astype(str) + "\x00" + \
        leaderboard["model_precision"].astype(str)
    dup = keys.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(file, "duplicate (model_name, model_precision) "
                                  f"'{leaderboard['model_name'].iloc[row]}'", row=row + 2,
                                  column="model_name")
    for b in BENCHMARKS:
        values = pd.to_numeric(leaderboard[b.value_column], errors="coerce")
        bad = values.notna() & ((values < 0) | (values > 1))
        bad |= values.isna() & leaderboard[b.value_column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(
                file, f"raw score {leaderboard[b.value_column].iloc[row]!r} is not a share "
                "in [0, 1]", row=row + 2, column=b.value_column)


def benchmark_long_table(frame: pd.DataFrame,
                         leaderboard: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the models of ``frame`` x the six benchmarks: raw score, items, chance level.

    Parameters
    ----------
    frame : DataFrame
        A canonical model table (``model_id``, ``hf_id``; ``mmlu_pro_acc`` and
        ``math_lvl5_acc`` are used for models without a leaderboard match).
    leaderboard : DataFrame, optional
        The leaderboard columns :func:`leaderboard_columns`; default
        :func:`load_leaderboard_scores`.

    Returns
    -------
    DataFrame
        One row per model and benchmark (models in ``frame``'s order, benchmarks in
        :data:`BENCHMARKS` order), columns :data:`LONG_COLUMNS`: ``score`` the raw share
        (NaN when missing), ``successes`` ``round(score * n_items)`` (NA when missing),
        ``successes_exact``, the leaderboard's ``normalized_score`` (NaN for paper-sourced
        rows), ``source`` (``"leaderboard"``, ``"paper"`` or ``"missing"``),
        ``leaderboard_name`` (None when unmatched).
    """
    if leaderboard is None:
        leaderboard = load_leaderboard_scores()
    _check_leaderboard(leaderboard)
    lb = leaderboard.dropna(subset=["model_name", "model_precision"])
    lb = lb.set_axis(pd.Index([leaderboard_key(n, p) for n, p in
                               zip(lb["model_name"], lb["model_precision"], strict=True)]))
    hf = frame["hf_id"] if "hf_id" in frame else pd.Series(pd.NA, index=frame.index)
    keys = [h if isinstance(h, str) and h in lb.index else None for h in hf]
    matched = lb.reindex([k if k is not None else "\x00none" for k in keys])
    model_ids = frame["model_id"].astype(str).to_numpy()
    parts = []
    for b in BENCHMARKS:
        score = matched[b.value_column].to_numpy(float)
        normalized = matched[b.normalized_column].to_numpy(float)
        from_lb = ~np.isnan(score)
        source = np.where(from_lb, "leaderboard", "missing").astype(object)
        if b.paper_column is not None and b.paper_column in frame:
            paper = frame[b.paper_column].to_numpy(float)
            use = ~from_lb & np.array([k is None for k in keys]) & ~np.isnan(paper)
            score = np.where(use, paper, score)
            source[use] = "paper"
        successes = pd.array(np.where(np.isnan(score), 0, np.rint(score * b.n_items)),
                             dtype="Int64")
        successes[np.isnan(score)] = pd.NA
        parts.append(pd.DataFrame({
            "model_id": model_ids,
            "benchmark": b.name,
            "score": score,
            "n_items": b.n_items,
            "chance": b.chance,
            "successes": successes,
            "successes_exact": b.name in EXACT_COUNTS,
            "normalized_score": np.where(from_lb, normalized, np.nan),
            "source": source,
            "leaderboard_name": matched["model_name"].to_numpy(object),
        }))
    long = pd.concat(parts, ignore_index=True)
    order = {m: i for i, m in enumerate(model_ids)}
    long["_order"] = long["model_id"].map(order)
    long["_b"] = long["benchmark"].map({n: i for i, n in enumerate(BENCHMARK_NAMES)})
    long = long.sort_values(["_order", "_b"], kind="stable").drop(columns=["_order", "_b"])
    long = long.reset_index(drop=True)
    long["leaderboard_name"] = long["leaderboard_name"].where(long["leaderboard_name"].notna(),
                                                              None)
    return long[list(LONG_COLUMNS)]


def normalisation_check(leaderboard: pd.DataFrame) -> pd.DataFrame:
    """Recompute the documented normalisation for the tasks without subtasks.

    ``100 * max(0, (raw - c) / (1 - c))`` for IFEval, MATH Lvl 5 (c = 0), GPQA (0.25) and
    MMLU-Pro (0.1), compared with the table's normalised score. Returns one row per
    benchmark: ``benchmark``, ``rows`` compared, ``max_abs_diff``.
    """
    rows = []
    for b in BENCHMARKS:
        if b.name in ("bbh", "musr"):
            continue
        raw = pd.to_numeric(leaderboard[b.value_column], errors="coerce").to_numpy(float)
        norm = pd.to_numeric(leaderboard[b.normalized_column], errors="coerce").to_numpy(float)
        ok = ~np.isnan(raw) & ~np.isnan(norm)
        pred = 100 * np.maximum(0.0, (raw[ok] - b.chance) / (1 - b.chance))
        diff = float(np.max(np.abs(pred - norm[ok]))) if ok.any() else float("nan")
        rows.append({"benchmark": b.name, "rows": int(ok.sum()), "max_abs_diff": diff})
    return pd.DataFrame(rows)


def item_count_check(leaderboard: pd.DataFrame, tol: float = 1e-6) -> pd.DataFrame:
    """Share of rows whose raw score times ``n_items`` is an integer, per benchmark.

    Near 1 for the benchmarks scored as a share of items (MATH, GPQA, MMLU-Pro); near 0 for
    the subtask means (BBH, MuSR) and IFEval's mean of two accuracies.
    """
    rows = []
    for b in BENCHMARKS:
        raw = pd.to_numeric(leaderboard[b.value_column], errors="coerce").dropna().to_numpy()
        k = raw * b.n_items
        rows.append({"benchmark": b.name, "n_items": b.n_items,
                     "share_integer": float(np.mean(np.abs(k - np.rint(k)) < tol))})
    return pd.DataFrame(rows)


def join_report(frame: pd.DataFrame, long: pd.DataFrame,
                leaderboard: pd.DataFrame | None = None) -> dict[str, object]:
    """Match rate and agreement with the paper's own scores (computed from the tables).

    Returns
    -------
    dict
        ``models``, ``matched``, ``match_rate``, ``observed`` (per benchmark: non-missing
        scores), and for MMLU-Pro and MATH Lvl 5 (``paper_vs_leaderboard``): the number of
        matched models compared, the largest absolute difference between the paper's score
        and the leaderboard's raw score, how many differ by more than 1e-9 and, given
        ``leaderboard``, how many of those equal the score of the same model evaluated at
        another precision (``n_other_precision``).
    """
    wide = long.pivot(index="model_id", columns="benchmark", values="score")
    src = long.pivot(index="model_id", columns="benchmark", values="source")
    matched = long.groupby("model_id", sort=False)["leaderboard_name"].first().notna()
    report: dict[str, object] = {
        "models": int(len(frame)),
        "matched": int(matched.sum()),
        "match_rate": float(matched.mean()) if len(matched) else float("nan"),
        "observed": {b: int(wide[b].notna().sum()) for b in BENCHMARK_NAMES},
    }
    agreement = {}
    paper = frame.set_index(frame["model_id"].astype(str))
    for b in BENCHMARKS:
        if b.paper_column is None or b.paper_column not in paper:
            continue
        on_lb = src[b.name] == "leaderboard"
        ids = on_lb[on_lb].index
        ours = paper.loc[ids, b.paper_column].to_numpy(float)
        theirs = wide.loc[ids, b.name].to_numpy(float)
        ok = ~np.isnan(ours) & ~np.isnan(theirs)
        diff = np.abs(ours[ok] - theirs[ok])
        entry = {"compared": int(ok.sum()),
                 "max_abs_diff": float(diff.max()) if diff.size else float("nan"),
                 "n_differ": int((diff > 1e-9).sum())}
        if leaderboard is not None:
            names = long.loc[long["benchmark"] == b.name].set_index("model_id")[
                "leaderboard_name"]
            by_name = leaderboard.groupby("model_name")[b.value_column].apply(list)
            differ = np.asarray(ids)[ok][diff > 1e-9]
            entry["n_other_precision"] = int(sum(
                any(abs(v - paper.loc[m, b.paper_column]) <= 1e-9
                    for v in by_name.get(names.loc[m], []))
                for m in differ))
        agreement[b.name] = entry
    report["paper_vs_leaderboard"] = agreement
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m bayes_llm.data.benchmarks [OUT.csv]``: the join's report (and long table)."""
    import json
    import sys

    from bayes_llm.data.paper import load_paper_dataset
    from bayes_llm.errors import BayesLLMError

    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m bayes_llm.data.benchmarks [OUT.csv]", file=sys.stderr)
        return 2
    try:
        frame = load_paper_dataset()
        leaderboard = load_leaderboard_scores()
        long = benchmark_long_table(frame, leaderboard)
        if args:
            from bayes_llm.atomic import write_text_atomic

            write_text_atomic(args[0], long.to_csv(index=False))
    except (BayesLLMError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(join_report(frame, long, leaderboard), indent=1))
    print(normalisation_check(leaderboard).to_string(index=False))
    print(item_count_check(leaderboard).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
