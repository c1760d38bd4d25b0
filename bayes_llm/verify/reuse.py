"""Compile a spec's model once, then fit it to many simulated data sets.

Simulation-based calibration fits the same model to hundreds of data sets on one design.
Compiling the model for nutpie takes ~20-40 s (numba); sampling the 809-model binomial
model takes ~2-5 s. :class:`ReusableSampler` builds the model with
:func:`bayes_llm.model.build_model` (the real builder) on the design, turns each observed
variable's data into a shared variable (a graph rewrite: the builder is not changed),
compiles once and swaps the observations in for every fit (``nutpie``'s ``with_data``).
The same model, settings and seed give the same draws.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytensor
import xarray as xr

from bayes_llm.model.build import build_model, initial_values
from bayes_llm.model.design import ModelData
from bayes_llm.model.spec import ModelSpec

#: Prefix of the shared variables holding the observations.
SHARED_PREFIX = "sbc_observed_"


def observed_as_shared(model):
    """Return a copy of ``model`` whose observed data are named shared variables.

    The shared variable of observed variable ``name`` is ``sbc_observed_<name>``.
    """
    from pymc.model.fgraph import ModelObservedRV, fgraph_from_model, model_from_fgraph

    fg, _ = fgraph_from_model(model, inlined_views=True)
    for node in list(fg.apply_nodes):
        if isinstance(node.op, ModelObservedRV):
            value = node.inputs[1]
            name = node.outputs[0].name
            shared = pytensor.shared(np.asarray(value.data), name=SHARED_PREFIX + name,
                                     shape=value.type.shape)
            fg.replace(value, shared, import_missing=True)
    return model_from_fgraph(fg, mutate_fgraph=True)


@dataclass
class ReusableSampler:
    """A spec's model on a design, compiled once for nutpie.

    Parameters
    ----------
    spec : ModelSpec
        The model to fit.
    data : ModelData
        The design (its observations are only placeholders).
    """

    spec: ModelSpec
    data: ModelData
    compile_seconds: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        import time

        import nutpie

        logging.getLogger("pymc").setLevel(logging.WARNING)
        t0 = time.perf_counter()
        model = observed_as_shared(build_model(self.data, self.spec))
        self.observed_names = [rv.name for rv in model.observed_RVs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # floor mixture: start pi low, as fit_model does (eta's data-based start
            # would change with every replicate's observations; it is left at PyMC's)
            start = initial_values(self.data, self.spec)
            points = None if start is None else {
                name: value for name, value in start.items()
                if name in ("collapse_probability", "collapse_intercept",
                            "collapse_compute_slope", "collapse_lineage_z")}
            self._compiled = nutpie.compile_pymc_model(model, initial_points=points)
        self.compile_seconds = time.perf_counter() - t0
        self.coords = {k: list(v) for k, v in model.coords.items() if v is not None}

    def fit(self, observed: dict[str, np.ndarray], *, draws: int, tune: int, chains: int,
            seed: int, cores: int = 1) -> xr.DataTree:
        """Sample the posterior given ``observed`` (observed variable name -> values).

        Returns
        -------
        DataTree
            nutpie's result: ``posterior``, ``sample_stats`` (and warm-up groups).
        """
        import nutpie

        missing = [n for n in self.observed_names if n not in observed]
        if missing:
            raise KeyError(f"observations lack {', '.join(missing)}")
        updates = {SHARED_PREFIX + n: np.asarray(observed[n]) for n in self.observed_names}
        compiled = self._compiled.with_data(**updates)
        target = self.spec.sampler.target_accept
        kwargs = {"target_accept": target}
        if self.spec.sampler.mass_matrix == "low_rank":
            kwargs["low_rank_modified_mass_matrix"] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nutpie.sample(compiled, draws=draws, tune=tune, chains=chains,
                                 cores=cores, seed=seed, progress_bar=False, **kwargs)


def with_constant_data(dt: xr.DataTree, data: ModelData, observed: dict) -> xr.DataTree:
    """Add ``constant_data`` and ``observed_data`` groups like a fit's (for derived code)."""
    const = xr.Dataset({
        "log10_flop_centred": ("model", np.asarray(observed.get("log10_flop_obs", data.x))),
        "period_idx": ("model", data.period_idx),
        "developer_idx": ("model", data.developer_idx),
    }, coords={"model": data.coords["model"]})
    # constant data of the issue-10 options (names as in models/README.md)
    extra = {"compute_knots": ("compute_knot", getattr(data, "knots", None)),
             "lineage_idx": ("model", getattr(data, "lineage_idx", None)),
             "off_harness": ("model", getattr(data, "off_harness", None)),
             "developer_mean_compute": ("developer", getattr(data, "developer_mean_x", None))}
    for name, (dim, values) in extra.items():
        if values is not None:
            const[name] = xr.DataArray(np.asarray(values), dims=dim,
                                       coords={dim: data.coords[dim]} if dim in data.coords
                                       else None)
    obs = {k: ("model", np.asarray(v)) for k, v in observed.items()
           if k != "log10_flop_obs"}
    groups = {name: dt[name].to_dataset() for name in dt.children}
    groups["constant_data"] = const
    groups["observed_data"] = xr.Dataset(obs, coords={"model": data.coords["model"]})
    return xr.DataTree.from_dict(groups)


__all__ = ["ReusableSampler", "observed_as_shared", "with_constant_data"]
