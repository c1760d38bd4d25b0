#!/usr/bin/env bash
# Regenerate verification/sbc/*: the default spec (200 replications) and one spec per
# option family (100 each), 2 chains x 300 draws (300 tuning) per fit. Resumable: every
# replication is saved as it finishes; rerunning continues where the run stopped, so the
# rounds below first give every spec some replications, then complete them.
# Usage: PY=/path/to/python bash verification/run_all.sh
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python}
run() { nice -n 10 "$PY" -m bayes_llm.verify.run_sbc --model "$1" --reps "$2" \
          --out "verification/sbc/$(basename "$1" .toml)" | tail -n 3; }
FAMILIES="logit_normal_groups binomial_nested student_t_developers paper_mirror
          verification/specs/sbc_compute_error.toml verification/specs/sbc_developer_slopes.toml
          verification/specs/sbc_compute_period.toml
          binomial_t_developers binomial_monotone binomial_lineage binomial_protocol
          binomial_mundlak binomial_eiv_t"
run binomial_developers 30
run logit_normal_groups 100
run binomial_developers 200
for f in $FAMILIES; do run "$f" 100; done
