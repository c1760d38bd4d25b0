"""A fake joint six-benchmark posterior for tests that must not sample (shared helper)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def fake_joint_posterior(data, *, chains: int, draws: int,
                         log_likelihood: bool = False) -> xr.DataTree:
    """Random draws with every variable (and dimension) the joint answers read; no sampling.

    ``data`` is a ``Leaderboard6Data``; ``log_likelihood`` adds an empty group of that name
    (what a real fit has and a saved result drops).
    """
    rng = np.random.default_rng(0)
    c, d = chains, draws
    nb, nd = len(data.benchmarks), len(data.coords["developer"])
    nm, npd = data.n_models, len(data.coords["period"])
    coords = {"chain": range(c), "draw": range(d), "benchmark": list(data.benchmarks),
              "benchmark_b": list(data.benchmarks), "developer": data.coords["developer"],
              "model": data.coords["model"], "period": data.coords["period"],
              "count_benchmark": data.coords["count_benchmark"]}
    corr = np.broadcast_to(np.eye(nb), (c, d, nb, nb)).copy()
    for i, j in zip(*np.triu_indices(nb, 1), strict=True):
        corr[..., i, j] = corr[..., j, i] = rng.uniform(0.1, 0.6, (c, d))
    post = xr.Dataset({
        "alpha": (("chain", "draw", "benchmark"), rng.normal(-0.5, 0.1, (c, d, nb))),
        "beta": (("chain", "draw", "benchmark"), rng.normal(0.5, 0.05, (c, d, nb))),
        "ability_loading": (("chain", "draw", "benchmark"), rng.uniform(0.3, 0.5, (c, d, nb))),
        "ability": (("chain", "draw", "model"), rng.normal(0, 1, (c, d, nm))),
        "sigma_developer": (("chain", "draw", "benchmark"), rng.uniform(0.4, 0.8, (c, d, nb))),
        "developer_corr": (("chain", "draw", "benchmark", "benchmark_b"), corr),
        "developer_effect": (("chain", "draw", "developer", "benchmark"),
                             rng.normal(0, 0.6, (c, d, nd, nb))),
        "sigma_model": (("chain", "draw", "count_benchmark"),
                        rng.uniform(0.2, 0.4, (c, d, nb - 1))),
        "sigma_period": (("chain", "draw"), rng.uniform(0.1, 0.3, (c, d))),
        "sigma_period_benchmark": (("chain", "draw"), rng.uniform(0.05, 0.1, (c, d))),
        "period_effect": (("chain", "draw", "period"), rng.normal(0, 0.2, (c, d, npd))),
        "period_benchmark_effect": (("chain", "draw", "benchmark", "period"),
                                    rng.normal(0, 0.1, (c, d, nb, npd))),
        "ifeval_precision": (("chain", "draw"), rng.uniform(25, 35, (c, d))),
    }, coords=coords)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((c, d), bool)),
                        "energy": (("chain", "draw"), rng.normal(0, 1, (c, d)))},
                       coords={"chain": range(c), "draw": range(d)})
    groups = {"posterior": post, "sample_stats": stats}
    if log_likelihood:
        groups["log_likelihood"] = xr.Dataset()
    return xr.DataTree.from_dict(groups)
