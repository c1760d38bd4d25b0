"""Exploratory: the lineage grid's self-check at realistic draws (issue 10).

``lineage_grid = "near_floor"`` integrates each near-floor lineage's effect on a fixed grid
of step 0.1 (``bayes_llm.model.lineage_grid``; then 0.25 up to 5, then the law's tails);
the trapezoid rule is accurate only where the conditional's peaks are wider than about the
step, and the tails only where the likelihood is flat beyond the grid. Until a full fit is affordable (7-10x
the cost of one without the grid, ``benchmarks/bench_lineage_grid.py``), this script gets
draws of everything else from mean-field ADVI (fast, its scales realistic, its spreads too
small) on a validate split's training set, then runs the draws after sampling
(``draw_integrated_effects``) and prints the grid's self-check (the rule on every other node
against the full rule; the mass in the tails and their estimated error; the
Metropolis-Hastings acceptance of
the corrected draws) and each summed-out lineage's drawn effect. It says nothing about
whether NUTS mixes (ADVI has one mode by construction).

Run: ``python verification/exploratory/lineage_grid_check.py [SPEC] [--split S] [--fold F]
[--iterations N] [--draws D]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    """Fit ADVI on the split's training set, draw the summed-out effects, print the check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?",
                        default="verification/specs/fc_two_nc_ratio2_tlin_grid.toml")
    parser.add_argument("--split", default="time:2024-10")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=6000)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    import pymc as pm

    from bayes_llm.constants import DEFAULT_SEED
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model import load_spec, prepare_data
    from bayes_llm.model.build import build_model, initial_values
    from bayes_llm.model.fit import draw_integrated_effects
    from bayes_llm.validate.run import split_fold

    spec = load_spec(args.spec)
    _, train, _ = split_fold(load_paper_dataset(), spec, args.split, args.fold)
    data = prepare_data(train, spec)
    model = build_model(data, spec)
    start = time.perf_counter()
    with model:
        approx = pm.fit(args.iterations, method="advi", random_seed=DEFAULT_SEED,
                        start=initial_values(data, spec), progressbar=False)
        dt = approx.sample(args.draws, random_seed=DEFAULT_SEED)
    print(f"ADVI {args.iterations} iterations on {data.n_models} models: "
          f"{time.perf_counter() - start:.0f} s")
    post = dt["posterior"]
    for name in ("sigma_model", "sigma_lineage", "nu_lineage", "sigma_developer",
                 "sigma_model_core", "sigma_model_wide"):
        if name in post:
            print(f"  {name}: median {float(post[name].median()):.3f}")
    start = time.perf_counter()
    dt = draw_integrated_effects(dt, data, spec, DEFAULT_SEED)
    print(f"draws after sampling: {time.perf_counter() - start:.0f} s")
    effect = dt["posterior"]["lineage_effect"]
    for key, value in effect.attrs.items():
        print(f"  {key}: {value:.3g}")
    labels = np.asarray(data.coords["lineage"])
    for lineage in data.lineage_grid:
        draws = effect.sel(lineage=labels[lineage]).values.ravel()
        acc = data.k[data.lineage_idx == lineage] / data.n[data.lineage_idx == lineage]
        print(f"  {labels[lineage]:24s} {len(acc):2d} models (accuracy {acc.min():.3f}-"
              f"{acc.max():.3f}): effect median {np.median(draws):+.2f}, "
              f"5-95% [{np.quantile(draws, 0.05):+.2f}, {np.quantile(draws, 0.95):+.2f}]")


if __name__ == "__main__":
    main()
