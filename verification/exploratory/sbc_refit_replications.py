"""Exploratory: refit chosen SBC replications with longer chains, or with eta sampled.

Checks whether a quantity's low SBC ranks come from short chains or from integrating the
model effect out: redraws replication ``i``'s parameters and counts exactly as
``python -m bayes_llm.verify.run_sbc`` does (seed ``[SEED, i]``, the same reduced design),
refits them with ``DRAWS`` + ``DRAWS`` draws x 2 chains (``--sampled``: with
``integrate_model_effect = false``, eta sampled) and prints the truth, the posterior mean
and SD of ``sigma_model`` and the truth's rank. ``verification/README.md`` quotes its
output (``sbc_collapse_lineage``, replications 4, 11, 15 and 24).

Run: ``python verification/exploratory/sbc_refit_replications.py SPEC DESIGN_MODELS DRAWS
I [I ...] [--sampled]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import time

import arviz as az
import numpy as np

from bayes_llm.cli.options import load_data
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.model.spec import load_spec
from bayes_llm.verify import run_sbc
from bayes_llm.verify.generate import draw_prior_predictive
from bayes_llm.verify.reuse import ReusableSampler
from bayes_llm.verify.simulate import reduced_design


def main() -> None:
    """Refit and print (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("design_models", type=int)
    parser.add_argument("draws", type=int)
    parser.add_argument("replications", type=int, nargs="+")
    parser.add_argument("--sampled", action="store_true", help="fit with eta sampled")
    args = parser.parse_args()
    spec = load_spec(args.spec)
    fitted = spec.with_changes(integrate_model_effect=False) if args.sampled else spec
    table = reduced_design(load_data(None, None), args.design_models, seed=DEFAULT_SEED)
    data = run_sbc.design_data(table, spec)
    sampler = ReusableSampler(fitted, run_sbc.design_data(table, fitted))
    for i in args.replications:
        params, observed = draw_prior_predictive(spec, data, np.random.default_rng([DEFAULT_SEED, i]))
        t0 = time.perf_counter()
        dt = sampler.fit(observed, draws=args.draws, tune=args.draws, chains=2,
                         seed=DEFAULT_SEED + i)
        post = dt["posterior"]["sigma_model"]
        rhat = float(az.rhat(dt["posterior"].to_dataset()[["sigma_model"]])["sigma_model"])
        values, truth = post.values.ravel(), float(params["sigma_model"])
        print(f"replication {i}: truth {truth:.3f}, posterior mean {values.mean():.3f} "
              f"SD {values.std():.3f}, rank {np.mean(values < truth):.3f}, R-hat {rhat:.3f}, "
              f"{int(dt['sample_stats']['diverging'].sum())} divergences, "
              f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
