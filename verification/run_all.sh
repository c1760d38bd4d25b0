#!/usr/bin/env bash
# Regenerate verification/sbc/*: the default spec (200 replications) and one spec per
# option family (100 each). Resumable: rerun to continue; each replication is saved.
# Usage: bash verification/run_all.sh [REPS_DEFAULT] [REPS_FAMILY]
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python}
DEF=${1:-200}
FAM=${2:-100}
run() { nice -n 10 "$PY" -m bayes_llm.verify.run_sbc --model "$1" --reps "$2" --out "verification/sbc/$(basename "$1" .toml)"; }
run binomial_developers "$DEF"
run logit_normal_groups "$FAM"
run binomial_nested "$FAM"
run student_t_developers "$FAM"
run paper_mirror "$FAM"
run verification/specs/sbc_compute_error.toml "$FAM"
run verification/specs/sbc_developer_slopes.toml "$FAM"
run verification/specs/sbc_compute_period.toml "$FAM"
