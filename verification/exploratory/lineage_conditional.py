"""Exploratory (issue 10): test whether one lineage effect's conditional is bimodal.

Summing a lineage effect out by one-dimensional quadrature removes its two modes from the
sampler's way only if the modes are in that one dimension, i.e. if the lineage effect's
*conditional* density given every other sampled variable has two peaks. If each chain's
conditional has one peak, at a place set by the other variables (the degrees of freedom,
the collapse parameters, the developer effects), the modes live in the joint posterior and
a quadrature over the lineage effect leaves them where they are.

For draws of a kept fold fit (``lineage_modes.py`` makes one), this evaluates the
independent NumPy log density (``bayes_llm.verify.logdensity``) on a grid of the lineage's
effect with every other variable held at the draw, and prints per draw the grid's local
maxima, the log-density gap between them, and the conditional's SD (from the grid). Only
the terms that depend on the lineage effect are evaluated (its law and its models'
observations); the first draw checks them against the whole log density's difference.

Run: ``python verification/exploratory/lineage_conditional.py SPEC KEPT.nc LINEAGE
[--fold 0 --draws-per-chain 4 --grid -3,1,0.01]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from chain_predictions import kept_fold_fit
from scipy import stats

from bayes_llm.model.design import prepare_data
from bayes_llm.verify import logdensity as ld


def local_maxima(logp: np.ndarray, min_gap: float = 0.5) -> list[int]:
    """Return the grid's local maxima that stand ``min_gap`` above the valley to each side."""
    peaks = [i for i in range(1, len(logp) - 1) if logp[i] >= logp[i - 1] and logp[i] > logp[i + 1]]
    if len(peaks) == 1:
        return peaks
    return [i for i in peaks if logp[i] - max(logp[:i].min(), logp[i + 1:].min()) >= min_gap]


def conditional_log_density(spec, data, values, position: int, grid: np.ndarray) -> np.ndarray:
    """Log density of the lineage effect at each grid point, the rest held at ``values``.

    Up to a constant: the lineage law's term plus the observation terms of the lineage's
    models only, by ``bayes_llm.verify.logdensity.integrated_count_logpmf`` (the
    observation term of ``log_density_terms``; evaluating the whole log density takes ~7 s
    per point on a fold's training set). ``main`` checks it once against the whole log
    density's difference between two points.
    """
    parts = ld.structure(spec, data)
    if not (parts["integrated"] and parts["two_scale"] and parts["floor_mixture"]
            and parts["t_lineage"]):
        raise SystemExit("written for the integrated two-scale floor mixture with Student-t "
                         "lineages (fc_two_nc_ratio2_tlin and its variants)")
    lineage = data.lineage_multi[position]
    members = np.flatnonzero(data.lineage_idx == lineage)
    base = {k: (np.array(v, copy=True) if np.ndim(v) else v) for k, v in values.items()}
    base["lineage_multi_effect"][position] = 0.0
    mu0 = ld._mu(spec, data, base, parts)[members]
    k = np.repeat(data.k[members], grid.size)
    n = np.repeat(data.n[members], grid.size)
    mu = (mu0[:, None] + grid[None, :]).ravel()
    pi = np.repeat(ld._model_collapse_probability(data, values, parts)[members], grid.size)
    observed = ld.integrated_count_logpmf(values, parts, k, n, data.guess, mu, pi=pi)
    observed = observed.reshape(members.size, grid.size)
    law = stats.t.logpdf(grid, float(values["nu_lineage"]), 0.0,
                         float(values["sigma_lineage"]))
    return law + observed.sum(axis=0)


def main() -> None:
    """Print, per draw, the peaks of the lineage effect's conditional log density."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("kept")
    parser.add_argument("lineage", help="a lineage label, e.g. fp:1.24B/9000BT")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--draws-per-chain", type=int, default=4)
    parser.add_argument("--grid", default="-3,1,0.01", help="start,stop,step of the grid")
    args = parser.parse_args()
    fit, _, train, _ = kept_fold_fit(args.spec, args.kept, args.fold)
    spec, post = fit.spec, fit.dt["posterior"].to_dataset()
    data = prepare_data(train, spec)
    names = ld.value_names(spec, data)
    effect = post["lineage_multi_effect"]
    dim = next(d for d in effect.dims if d not in ("chain", "draw"))
    position = list(effect.coords[dim].values).index(args.lineage)
    start, stop, step = (float(v) for v in args.grid.split(","))
    grid = np.arange(start, stop + step / 2, step)
    n_draws = post.sizes["draw"]
    picks = np.linspace(0, n_draws - 1, args.draws_per_chain).astype(int)
    checked = False
    for chain in post["chain"].values:
        for draw in picks:
            values = {n: np.asarray(post[n].sel(chain=chain, draw=draw).values, float)
                      for n in names}
            at_draw = float(values["lineage_multi_effect"][position])
            if not checked:  # the shortcut against the whole log density, once
                check = conditional_log_density(spec, data, values, position,
                                                np.array([at_draw, at_draw + 0.3]))
                whole = []
                for u in (at_draw, at_draw + 0.3):
                    values["lineage_multi_effect"][position] = u
                    whole.append(ld.log_density(spec, data, values))
                print(f"check: difference {check[1] - check[0]:.6f} (shortcut), "
                      f"{whole[1] - whole[0]:.6f} (whole log density)", flush=True)
                checked = True
            logp = conditional_log_density(spec, data, values, position, grid)
            weights = np.exp(logp - logp.max())
            weights /= weights.sum()
            mean = float(np.sum(weights * grid))
            sd = float(np.sqrt(np.sum(weights * (grid - mean) ** 2)))
            peaks = local_maxima(logp)
            described = ", ".join(f"{grid[i]:+.2f} ({logp[i] - logp.max():+.1f})" for i in peaks)
            if len(peaks) > 1:  # the valley between the two highest peaks, below the lower one
                top = sorted(sorted(peaks, key=lambda i: -logp[i])[:2])
                valley = logp[top[0]:top[1] + 1].min()
                described += f"; valley {valley - min(logp[top[0]], logp[top[1]]):+.1f}"
            nu = float(values["nu_lineage"])  # Student-t lineages: conditional_log_density
            print(f"chain {chain} draw {draw}: effect at the draw {at_draw:+.2f} "
                  f"nu_lineage {nu:.1f}; "
                  f"conditional mean {mean:+.2f}, SD {sd:.3f}; peaks {described}", flush=True)


if __name__ == "__main__":
    main()
