"""Verification of the Bayesian model: simulation, parameter recovery and calibration.

* :mod:`bayes_llm.verify.simulate` — simulate canonical model tables from a spec, a design
  (developers, periods, compute) and parameter values (fixed, or drawn from the prior);
  reduced and synthetic designs.
* :mod:`bayes_llm.verify.sbc` — simulation-based calibration (Talts et al. 2018): ranks of
  the true values among posterior draws, rank-uniformity tests, and the command
  ``python -m bayes_llm.verify.sbc``.
* :mod:`bayes_llm.verify.logdensity` — the documented joint log density in NumPy/SciPy,
  written from ``models/README.md`` (checked against the PyMC model term by term);
* :mod:`bayes_llm.verify.generate` — an independent NumPy prior-predictive simulator of the
  documented model (SBC's simulator: a sign or scale error in ``build.py`` shows);
* :mod:`bayes_llm.verify.reuse` — compile a model once, refit it to many data sets;
* :mod:`bayes_llm.verify.rankcheck` — the calibrated pass/fail rank check (exact KS, Holm,
  family-wise 1%), its false-alarm rate, and interval coverage with binomial bounds;
* :mod:`bayes_llm.verify.run_sbc` — full-design, resumable SBC of parameters and headline
  figures (``python -m bayes_llm.verify.run_sbc``; results in ``verification/sbc/``);
* :mod:`bayes_llm.verify.plots` — the ECDF-difference plot of SBC ranks with simultaneous
  confidence bands (Säilynoja, Bürkner & Vehtari 2022).

The names below are loaded on first use (PEP 562), so that the NumPy simulator
(:mod:`~bayes_llm.verify.generate`, used by the report's prior predictive check) does not
import PyMC with :mod:`~bayes_llm.verify.simulate`.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

_NAMES = ("Simulation", "headline_quantities", "reduced_design", "simulate",
          "simulate_prior", "synthetic_design")

if TYPE_CHECKING:
    from bayes_llm.verify.simulate import (
        Simulation,
        headline_quantities,
        reduced_design,
        simulate,
        simulate_prior,
        synthetic_design,
    )


class _VerifyPackage(types.ModuleType):
    """Keep ``bayes_llm.verify.simulate`` the function, as when it was imported eagerly.

    Importing the submodule ``bayes_llm.verify.simulate`` makes the import system bind the
    module to the package's ``simulate``; the function of that name is the package's API.
    """

    def __setattr__(self, name: str, value) -> None:
        if name == "simulate" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _VerifyPackage


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'bayes_llm.verify' has no attribute '{name}'")
    value = getattr(importlib.import_module("bayes_llm.verify.simulate"), name)
    globals()[name] = value
    return value

__all__ = [
    "Simulation",
    "headline_quantities",
    "reduced_design",
    "simulate",
    "simulate_prior",
    "synthetic_design",
]
