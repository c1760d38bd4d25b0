"""A fit-like object of an integrated model-effect spec with fixed draws (shared helper).

For the tests of ``model_effect = "two_scale"`` and ``"laplace"``: one chain, one period, no
developer level, every posterior draw the same, so prediction, log scores and
cross-validation can be checked against closed forms without sampling.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import xarray as xr

from bayes_llm.model.spec import spec_from_dict

#: MMLU-Pro's guessing floor and number of items.
GUESS, N_ITEMS = 0.1, 12_032


def integrated_spec_dict(model_effect: str) -> dict:
    """The smallest spec dict with ``model_effect`` summed out of a binomial count."""
    return {"name": "t", "likelihood": "binomial", "integrate_model_effect": True,
            "model_effect": model_effect}


def integrated_fit(model_effect: str, scalars: dict[str, float], *, n_draws: int,
                   sigma: float, mean: float) -> SimpleNamespace:
    """A fit-like object: alpha = ``mean``, beta 0, ``sigma_model`` = ``sigma``.

    ``scalars`` are the option's own variables (e.g. the two-scale weights, the Laplace
    scale), each a constant over the draws.
    """
    spec = spec_from_dict({**integrated_spec_dict(model_effect), "developer": "none",
                           "period_effect": "fixed", "period": "cohort"})
    shape = ("chain", "draw")
    full = np.full((1, n_draws), 1.0)
    values = {"alpha": mean, "beta": 0.0, "sigma_model": sigma, **scalars}
    post = xr.Dataset({name: (shape, value * full) for name, value in values.items()}
                      | {"period_effect": (("chain", "draw", "period"),
                                           np.zeros((1, n_draws, 1)))},
                      coords={"chain": [0], "draw": np.arange(n_draws),
                              "period": ["2023q4-2024q2"]})
    return SimpleNamespace(spec=spec, dt=xr.DataTree.from_dict({"posterior": post}),
                           diagnostics=None)
