"""Exploratory: a range of its own for each summed-out lineage's grid (issue 10).

``lineage_grid = "near_floor"`` integrates every summed-out lineage's effect on one fixed
grid of 105 nodes over [-9, 5] (``bayes_llm.model.lineage_grid``), which costs ~9-13x a fit
without it (``benchmarks/bench_lineage_grid.py``). A cheaper rule would give each lineage a
range of its own, from where its conditional can have mass: each factor of the conditional
(the lineage law, unimodal at 0; each model's likelihood, a collapsed part constant in the
effect plus a regular part peaked near p_i = logit((k_i/n - g)/(1 - g)) - mu_i, the share
above the floor clipped to [0.02, 0.98]) rises below its peak and falls above it, so the
product has no peak outside the hull of 0 and the p_i. The candidate range is that hull
widened by a margin m on each side; beyond it the rule would use the law's exact tail mass
times the likelihood at the range's end (as the fixed grid does beyond [-9, 5]).

At the draws of a kept fit (``lineage_modes.py`` writes one; a fit without ``eta_mean``
gets it back from the model), this script computes each summed-out lineage's log marginal
exactly (trapezoid rule at step 0.02 over [-9, 5], plus the fixed grid's tails) and with
the candidate range (the same fine rule inside it, exact likelihoods at its ends, the law's
tails beyond), and prints, per margin, the largest error in log units, the conditional's
largest mass outside the range, and the nodes a step of 0.1 would need (the largest over
the draws, per lineage: a fixed node count for the graph) with the cost it predicts
against the fixed grid's 105 nodes. The step inside the range is not studied here: it is
the fixed grid's, whose accuracy the fit's own self-check reports.

With ``--grid-check`` it first prints, per lineage, how far the model's own rule (the grid's
105 nodes with Gregory's ends and the tails, plus the window over a lineage's narrow peaks)
is from the same integral at step 0.01 over [-9, 5] (the quantiles over the draws), and the
conditional's SD: which lineages the fit's self-check warns about, and why.

Run: ``python verification/exploratory/lineage_grid_ranges.py SPEC FIT.nc [--split S]
[--fold F] [--margins 0.5 1 1.5 2] [--max-draws N] [--grid-check]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import special, stats

#: Step of the exact reference rule (logits).
FINE_STEP = 0.02
#: Step a cheaper rule would use inside each lineage's range (the fixed grid's fine step).
RULE_STEP = 0.1


class _Captured(Exception):
    """Raised once the summed-out lineages' inputs are captured (skips the draws)."""


def capture_inputs(dt, data, spec, seed: int) -> dict:
    """Return the arguments ``add_eta_draws`` passes to ``draw_summed_out_effects``."""
    from bayes_llm.model import lineage_grid as lg
    from bayes_llm.model.fit import draw_integrated_effects

    captured: dict = {}

    def capture(k, n, g, mu, scales, layout, sigma_lineage, nu_lineage, rng, collapse=None):
        captured.update(k=k, n=n, g=g, mu=mu, scales=scales, layout=layout,
                        sigma=sigma_lineage, nu=nu_lineage, collapse=collapse)
        raise _Captured

    original = lg.draw_summed_out_effects
    lg.draw_summed_out_effects = capture
    try:
        draw_integrated_effects(dt, data, spec, seed)
    except _Captured:
        pass
    finally:
        lg.draw_summed_out_effects = original
    return captured


def with_eta_mean(dt, model):
    """Return the fit's posterior as sampled.

    ``eta_mean`` (recomputed from the model) in place of the draws made after sampling
    (``eta``, ``lineage_effect``).
    """
    import pymc as pm
    import xarray as xr

    from bayes_llm.model.eta_integral import ETA_MEAN

    post = dt["posterior"].to_dataset()
    if ETA_MEAN not in post:
        mean = pm.compute_deterministics(post, var_names=[ETA_MEAN], model=model,
                                         progressbar=False)
        post = post.drop_vars([v for v in ("eta", "lineage_effect") if v in post])
        post = post.assign({ETA_MEAN: mean[ETA_MEAN]})
    out = xr.DataTree()
    out["posterior"] = xr.DataTree(post)
    return out


def _law_log_cdf(u, scale, nu):
    """Log of the lineage law's mass below ``u`` (Student-t or, with ``nu`` None, Normal)."""
    if nu is None:
        return stats.norm.logcdf(u, scale=scale)
    return stats.t.logcdf(u, nu, scale=scale)


def _trapezoid_between(values: np.ndarray, grid: np.ndarray, lo, hi, at_lo, at_hi):
    """Log of the trapezoid rule over [lo, hi]: the fine nodes inside and the exact ends.

    ``values`` (..., nodes) log integrand on ``grid``; ``lo``, ``hi``, ``at_lo``, ``at_hi``
    (...): the range and the log integrand at its ends.
    """
    inside = (grid >= lo[..., None]) & (grid <= hi[..., None])
    first = np.argmax(inside, axis=-1)
    last = grid.size - 1 - np.argmax(inside[..., ::-1], axis=-1)
    top = np.maximum(values.max(axis=-1), np.maximum(at_lo, at_hi))
    dens = np.where(inside, np.exp(values - top[..., None]), 0.0)
    body = np.sum(0.5 * (dens[..., 1:] + dens[..., :-1]) * np.diff(grid)
                  * (inside[..., 1:] & inside[..., :-1]), axis=-1)
    take = np.take_along_axis
    f_first = take(dens, first[..., None], -1)[..., 0]
    f_last = take(dens, last[..., None], -1)[..., 0]
    left = 0.5 * (np.exp(at_lo - top) + f_first) * (grid[first] - lo)
    right = 0.5 * (np.exp(at_hi - top) + f_last) * (hi - grid[last])
    return np.log(body + left + right) + top


def _fine_grid(step: float) -> np.ndarray:
    """Nodes at ``step`` over the fixed grid's range [-9, 5]."""
    from bayes_llm.model.lineage_grid import GRID_HIGH, GRID_LOW

    return np.linspace(GRID_LOW, GRID_HIGH, int(round((GRID_HIGH - GRID_LOW) / step)) + 1)


def _fine_log_marginal(values: np.ndarray, fine: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """Log marginal by the trapezoid rule on ``fine`` plus the grid's two ``tails``.

    ``values`` (..., nodes) the log integrand on ``fine``; ``tails`` (..., 2) the law's log
    mass beyond each end plus the log likelihood there (``LineageIntegrand.tails``).
    """
    ends = np.ones(values.shape[:-1])
    inside = _trapezoid_between(values, fine, ends * fine[0], ends * fine[-1],
                                values[..., 0], values[..., -1])
    return special.logsumexp(np.stack([inside, tails[..., 0], tails[..., 1]]), axis=0)


#: Step of the reference rule for ``--grid-check`` (resolves peaks of SD 0.02 to ~1e-30).
CHECK_STEP = 0.01


def _blocks(inputs: dict, max_draws: int | None, block: int):
    """Yield each block's summed-out models' inputs: (mu, scales, collapse, scale, nu).

    Blocks of ``block`` draws over the first ``max_draws`` (None: all).
    """
    idx = inputs["layout"].models
    draws = inputs["mu"].shape[0]
    draws = draws if max_draws is None else min(max_draws, draws)
    for start in range(0, draws, block):
        sl = slice(start, min(start + block, draws))
        col = inputs["collapse"]
        yield (inputs["mu"][sl][:, idx], [(lw[sl][:, idx], sd[sl][:, idx])
                                          for lw, sd in inputs["scales"]],
               None if col is None else (col[0][sl][:, idx], col[1][sl], col[2][sl]),
               np.asarray(inputs["sigma"], float)[sl],
               None if inputs["nu"] is None else np.asarray(inputs["nu"], float)[sl])


def _summed_out_counts(inputs: dict):
    """Items correct and items of the summed-out lineages' models."""
    idx = inputs["layout"].models
    k = np.asarray(inputs["k"], float)
    return k[idx], np.broadcast_to(np.asarray(inputs["n"], float), k.shape)[idx]


def grid_rule_errors(inputs: dict, max_draws: int | None = None, block: int = 5) -> dict:
    """Compare the model's log marginals with a step-0.01 rule's, per lineage and draw.

    Both rules have the grid's tails beyond [-9, 5]; the conditional's SD comes with them.

    Returns
    -------
    dict
        ``error`` (draws, lineages) absolute differences in log units; ``sd`` (draws,
        lineages) the conditional's SD over [-9, 5].
    """
    from bayes_llm.model import lineage_grid as lg

    k, n = _summed_out_counts(inputs)
    g, member = inputs["g"], inputs["layout"].membership
    fine = _fine_grid(CHECK_STEP)
    errors, sds = [], []
    for mu, scales, collapse, scale, nu in _blocks(inputs, max_draws, block):
        rule = lg.lineage_integrand(k, n, g, mu, scales, inputs["layout"], scale, nu,
                                    collapse)
        coarse = rule.log_marginal()
        loglik = np.einsum("dmp,lm->dlp", lg.node_log_likelihoods(
            k, n, g, mu, scales, collapse, offsets=fine), member)
        values = loglik + lg.log_law(fine, scale[:, None, None],
                                     None if nu is None else nu[:, None, None])
        errors.append(np.abs(coarse - _fine_log_marginal(values, fine, rule.tails)))
        weights = np.exp(values - values.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        mean = (weights * fine).sum(-1)
        sds.append(np.sqrt((weights * (fine - mean[..., None]) ** 2).sum(-1)))
    return {"error": np.concatenate(errors), "sd": np.concatenate(sds)}


def range_errors(inputs: dict, margins, max_draws: int | None = None, block: int = 10):
    """Per margin: each lineage's largest log error, mass outside and node count.

    Returns
    -------
    dict
        margin -> dict of arrays over lineages: ``error`` (largest |log rule - log exact|
        over the draws), ``outside`` (largest share of the conditional outside the range),
        ``nodes`` (largest node count at step :data:`RULE_STEP`), and ``width`` (median
        range width).
    """
    from bayes_llm.model import lineage_grid as lg

    layout = inputs["layout"]
    k, n = _summed_out_counts(inputs)
    g, member = inputs["g"], layout.membership
    fine = _fine_grid(FINE_STEP)
    share = np.clip((k / n - g) / (1.0 - g), 0.02, 0.98)
    observed_logit = special.logit(share)
    results = {m: {"error": [], "outside": [], "nodes": [], "width": []} for m in margins}
    for b_mu, b_scales, b_col, scale, nu in _blocks(inputs, max_draws, block):
        scale = scale[:, None]
        nu = None if nu is None else nu[:, None]

        def lineage_loglik(offsets, b_mu=b_mu, b_scales=b_scales, b_col=b_col):
            """Each lineage's log likelihood at ``offsets`` (draws, models, points)."""
            ll = lg.node_log_likelihoods(k, n, g, b_mu, b_scales, b_col, offsets=offsets)
            return np.einsum("dmp,lm->dlp", ll, member)

        law = lg.log_law(fine, scale[..., None], None if nu is None else nu[..., None])
        loglik = lineage_loglik(fine)
        values = loglik + law
        tails = loglik[..., [0, -1]] + np.stack(lg.law_log_tails(scale, nu), axis=-1)
        exact = _fine_log_marginal(values, fine, tails)
        peaks = observed_logit[None, :] - b_mu  # (draws, models)
        for margin in margins:
            lo = np.full(values.shape[:2], 0.0)
            hi = np.full(values.shape[:2], 0.0)
            for lineage in range(member.shape[0]):
                own = peaks[:, member[lineage] > 0]
                lo[:, lineage] = np.minimum(0.0, own.min(axis=1)) - margin
                hi[:, lineage] = np.maximum(0.0, own.max(axis=1)) + margin
            lo, hi = np.maximum(lo, fine[0]), np.minimum(hi, fine[-1])
            ends = lineage_loglik(np.stack([lo, hi], axis=-1)[:, layout.position, :])
            ll_lo, ll_hi = ends[..., 0], ends[..., 1]
            law_lo = lg.log_law(lo, scale, nu)
            law_hi = lg.log_law(hi, scale, nu)
            inside = _trapezoid_between(values, fine, lo, hi, ll_lo + law_lo, ll_hi + law_hi)
            below = _law_log_cdf(lo, scale, nu) + ll_lo
            above = _law_log_cdf(-hi, scale, nu) + ll_hi
            rule = special.logsumexp(np.stack([inside, below, above]), axis=0)
            out = results[margin]
            out["error"].append(np.abs(rule - exact).max(axis=0))
            out["outside"].append((-np.expm1(inside - exact)).max(axis=0))
            out["nodes"].append((np.ceil((hi - lo) / RULE_STEP) + 1).max(axis=0))
            out["width"].append(hi - lo)
    return {m: {"error": np.max(r["error"], axis=0), "outside": np.max(r["outside"], axis=0),
                "nodes": np.max(r["nodes"], axis=0),
                "width": np.median(np.concatenate(r["width"]), axis=0)}
            for m, r in results.items()}


def main() -> None:
    """Recompute the summed-out lineages' conditionals at a kept fit's draws; print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("fit")
    parser.add_argument("--split", default="developers:5")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--margins", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0])
    parser.add_argument("--max-draws", type=int, default=None)
    parser.add_argument("--grid-check", action="store_true",
                        help="first compare the fixed grid's rule with a step-0.01 rule")
    args = parser.parse_args()
    import xarray as xr

    from bayes_llm.constants import DEFAULT_SEED
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model import load_spec, prepare_data
    from bayes_llm.model.build import build_model
    from bayes_llm.model.lineage_grid import FLOOR_ACCURACY, NODE_COUNT
    from bayes_llm.validate.run import split_fold

    spec = load_spec(args.spec)
    _, train, _ = split_fold(load_paper_dataset(), spec, args.split, args.fold)
    data = prepare_data(train, spec)
    start = time.perf_counter()
    dt = with_eta_mean(xr.open_datatree(args.fit), build_model(data, spec))
    inputs = capture_inputs(dt, data, spec, DEFAULT_SEED)
    layout = inputs["layout"]
    sizes = layout.membership.sum(axis=1)
    total, summed = data.n_models, len(layout.models)
    labels = np.asarray(data.coords["lineage"])[layout.lineages]
    print(f"{args.split} fold {args.fold}: {total} training models, {len(sizes)} lineages "
          f"holding {summed} summed out; {inputs['mu'].shape[0]} draws "
          f"({args.max_draws or 'all'} used)")
    if args.grid_check:
        check = grid_rule_errors(inputs, args.max_draws)
        k, n = _summed_out_counts(inputs)
        floor = k / n < FLOOR_ACCURACY
        print(f"the model's rule (grid and windows) against step {CHECK_STEP} (quantiles over the "
              f"draws: 50/90/99/100%), and the conditional's SD (min, median):")
        for j in np.argsort(-check["error"].max(axis=0)):
            own = layout.membership[j] > 0
            q = np.quantile(check["error"][:, j], [0.5, 0.9, 0.99, 1.0])
            print(f"  {labels[j]:22s} {int(own.sum()):2d} models ({int(floor[own].sum())} at "
                  f"the floor): error {' / '.join(f'{v:.2g}' for v in q)}, above 1e-3 at "
                  f"{np.mean(check['error'][:, j] > 1e-3):.0%} of the draws; SD "
                  f"{check['sd'][:, j].min():.3f}, {np.median(check['sd'][:, j]):.3f}")
    result = range_errors(inputs, args.margins, args.max_draws)
    print(f"ranges: {time.perf_counter() - start:.0f} s so far")
    fixed = (total - summed + NODE_COUNT * summed) / total
    for margin, r in result.items():
        cost = (total - summed + float(np.sum(r["nodes"] * sizes))) / total
        print(f"margin {margin:g}: largest log error {r['error'].max():.2g}, largest mass "
              f"outside {r['outside'].max():.2g}; nodes per lineage {int(r['nodes'].min())}-"
              f"{int(r['nodes'].max())} (fixed grid {NODE_COUNT}); predicted cost "
              f"{cost:.1f}x a fit without the grid (fixed grid {fixed:.1f}x)")
        worst = np.argsort(-r["error"])[:3]
        for j in worst:
            print(f"    {labels[j]:24s} {int(sizes[j]):2d} models: error {r['error'][j]:.2g}, "
                  f"outside {r['outside'][j]:.2g}, median width {r['width'][j]:.1f}, "
                  f"nodes {int(r['nodes'][j])}")


if __name__ == "__main__":
    main()
