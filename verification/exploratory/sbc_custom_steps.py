"""Exploratory: SBC of a spec sampled by PyMC's NUTS with its ``[sampler]`` custom steps.

``python -m bayes_llm.verify.run_sbc`` fits with nutpie (compiled once), which takes no
custom step, so it checks the model and the simulator, not the Gibbs steps and scale
moves. This script runs the same replications (``run_sbc.run``: the independent NumPy
simulator, ranks of the scalar parameters thinned to their ESS) with each replication
fitted the way a fit of the spec is made: the model built on the replication's counts and
sampled by ``sample_posterior`` with the spec's custom steps (PyMC; chains one after the
other in this process, so that a patched step is the one that runs).

``--broken ridge``: the deliberate error the check must catch; the developer ridge move
accepts with the log Jacobian of the plain scale move (n log(sigma'/sigma) for the n
developer z's, a Jacobian it does not have), so its draws of sigma_developer are biased.

Run: ``python verification/exploratory/sbc_custom_steps.py SPEC --models 60 --reps 40
--out DIR [--broken ridge]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

from bayes_llm.cli.options import load_data
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.model.build import build_model, initial_values
from bayes_llm.model.sampling import sample_posterior
from bayes_llm.model.spec import load_spec
from bayes_llm.verify import run_sbc
from bayes_llm.verify.rankcheck import check_ranks
from bayes_llm.verify.simulate import reduced_design


@dataclasses.dataclass
class CompoundSampler:
    """``run_sbc``'s sampler interface: each fit built on its counts, custom steps on."""

    spec: object
    data: object

    def fit(self, observed, *, draws: int, tune: int, chains: int, seed: int):
        """Build the model on ``observed["correct"]`` and sample it as a fit would."""
        data = dataclasses.replace(self.data, k=np.asarray(observed["correct"]))
        model = build_model(data, self.spec)
        settings = dataclasses.replace(self.spec.sampler, draws=draws, tune=tune,
                                       chains=chains, seed=seed)
        return sample_posterior(model, settings, backend="pymc", progressbar=False, cores=1,
                                initvals=initial_values(data, self.spec), data=data)


def _break_the_ridge_move(developers: int) -> None:
    """Give the ridge move the plain scale move's Jacobian for ``developers`` z's."""
    from bayes_llm.model.scale_move import CompensatedScaleMove, ScaleMove

    def wrong(self, sigma, proposed, n):
        return ScaleMove.log_jacobian(self, sigma, proposed, developers)

    CompensatedScaleMove.log_jacobian = wrong


def main() -> int:
    """Run (or resume) the SBC and print the rank check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--broken", choices=["ridge"])
    args = parser.parse_args()
    spec = load_spec(args.spec)
    if not spec.sampler.custom_steps:
        print(f"{args.spec}: the spec has no [sampler] custom step", file=sys.stderr)
        return 2
    table = reduced_design(load_data(None, None, announce=False), args.models,
                           seed=DEFAULT_SEED)
    data = run_sbc.design_data(table, spec)
    if args.broken == "ridge":
        _break_the_ridge_move(len(data.coords["developer"]))
    state = run_sbc.run(spec, data, reps=args.reps, draws=args.draws, tune=args.tune,
                        chains=args.chains, out=args.out, derived=False,
                        sampler=CompoundSampler(spec, data))
    check = check_ranks(state.ranks())
    print(check.to_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
