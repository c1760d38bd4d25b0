"""Run NUTS on a built model with one of the supported backends."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import multiprocessing
import os
import warnings
from typing import TYPE_CHECKING

import xarray as xr

from bayes_llm.errors import BackendUnavailableError, BayesLLMError
from bayes_llm.model.spec import SamplerSettings

if TYPE_CHECKING:  # pymc is imported when sampling, not with this module
    import pymc as pm

#: Backend name -> (module that must be importable, install hint).
BACKENDS: dict[str, tuple[str, str]] = {
    "nutpie": ("nutpie", "pip install nutpie"),
    "pymc": ("pymc", "pip install pymc"),
    "numpyro": ("numpyro", "pip install 'bayes_llm[numpyro]'  (numpyro and jax)"),
}
DEFAULT_BACKEND = "nutpie"


def spec_backend(spec, backend: str | None = None) -> str:
    """Return the NUTS backend that samples ``spec``.

    ``backend`` when given; otherwise the one the spec's sampler needs (``pymc`` for
    the ``[sampler]`` custom steps, :data:`~bayes_llm.model.spec.CUSTOM_STEPS`: their steps
    are PyMC's), else
    :data:`DEFAULT_BACKEND`.
    """
    if backend is not None:
        return backend
    return "pymc" if spec.sampler.custom_steps else DEFAULT_BACKEND


def check_backend(backend: str | None, *specs) -> None:
    """Fail clearly when a backend cannot sample: unknown, not installed, or unfit for a spec.

    ``backend=None`` checks each spec's own backend (:func:`spec_backend`); a spec with
    a ``[sampler]`` custom step refuses any backend but ``pymc``
    (the steps are PyMC's).
    """
    for spec in specs:
        if spec.sampler.custom_steps and backend not in (None, "pymc"):
            raise BayesLLMError(f"{spec.source or spec.name}: "
                                f"{_needs_pymc(spec.sampler.custom_steps)} not '{backend}'"
                                "; pass --backend pymc or leave --backend out")
    names = ([backend] if backend is not None else
             sorted({spec_backend(spec) for spec in specs}) or [DEFAULT_BACKEND])
    for name in names:
        if name not in BACKENDS:
            raise BayesLLMError(f"unknown backend '{name}'; choose one of: "
                                f"{', '.join(BACKENDS)}")
        module, hint = BACKENDS[name]
        required = [module, "jax"] if name == "numpyro" else [module]
        missing = [m for m in required if importlib.util.find_spec(m) is None]
        if missing:
            raise BackendUnavailableError(
                f"backend '{name}' needs {', '.join(missing)}, which is not installed; "
                f"install it with: {hint}")


def sample_posterior(
    model: pm.Model,
    settings: SamplerSettings,
    *,
    backend: str = DEFAULT_BACKEND,
    progressbar: bool = True,
    cores: int | None = None,
    initvals: dict | None = None,
    data=None,
) -> xr.DataTree:
    """Sample the posterior and add the log-likelihood and log-prior groups.

    Parameters
    ----------
    model : pymc.Model
        The model to sample.
    settings : SamplerSettings
        Draws, tuning steps, chains, target acceptance and seed.
    backend : {"nutpie", "pymc", "numpyro"}
        NUTS implementation. The same seed and backend give identical draws.
    progressbar : bool
        Show sampling progress.
    cores : int, optional
        Parallel chains (default: all cores, at most ``chains``).
    initvals : dict, optional
        Starting values by variable name (before the sampler's jitter), e.g.
        :func:`bayes_llm.model.build.initial_values`; default PyMC's.
    data : ModelData, optional
        The design the model was built on: needed with ``settings.lineage_gibbs`` (the
        Gibbs step of :mod:`bayes_llm.model.lineage_gibbs` reads its counts and lineages)
        and ``settings.developer_ridge_move`` (each lineage's developers).

    Returns
    -------
    DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data``, ``constant_data``,
        ``log_likelihood`` and ``log_prior``.
    """
    import pymc as pm

    check_backend(backend)
    cores = cores or min(settings.chains, os.cpu_count() or 1)
    nuts: dict = {"target_accept": settings.target_accept}
    if backend == "nutpie" and settings.mass_matrix == "low_rank":
        nuts["adaptation"] = "low_rank"
    if backend == "numpyro":
        from bayes_llm.model.eta_kernel import register_jax

        register_jax()  # the integrated likelihood's op, in JAX
        nuts["chain_method"] = "sequential" if cores == 1 else "parallel"
    extra: dict = {} if initvals is None else {"initvals": initvals}
    if backend == "pymc" and cores > 1:
        # PyMC's chain processes recompile the step's functions with their own PyTensor
        # config: fresh interpreters that read the strict flag from the environment
        extra["mp_ctx"] = multiprocessing.get_context("spawn")
    logging.getLogger("pymc").setLevel(logging.WARNING)
    with warnings.catch_warnings(), reproducible_compilation(), _strict_flags_in_children():
        warnings.filterwarnings("ignore", message=".*does not provide a compiled.*")
        if settings.custom_steps:  # compiled here, with the strict flags
            extra["step"] = compound_steps(model, data, backend, settings)
        dt = pm.sample(
            draws=settings.draws, tune=settings.tune, chains=settings.chains, cores=cores,
            random_seed=settings.seed, nuts_sampler=backend, progressbar=progressbar,
            model=model, compute_convergence_checks=False,
            **({} if "step" in extra else {"nuts": nuts}), **extra)
        observed = [rv.name for rv in model.observed_RVs if rv.name != "log10_flop_obs"]
        dt = pm.stats.compute_log_likelihood(dt, var_names=observed, model=model,
                                             progressbar=False)
        dt = pm.stats.compute_log_prior(dt, model=model, progressbar=False)
    return dt


#: What each custom step is, for the messages.
_STEP_TEXT = {"lineage_gibbs": "the Gibbs step",
              "multi_lineage_gibbs": "the multi-model lineages' Gibbs step",
              "single_lineage_gibbs": "the single-model lineages' Gibbs step",
              "lineage_scale_move": "the scale move",
              "developer_scale_move": "the developer scale move",
              "developer_ridge_move": "the developer ridge move"}


def _needs_pymc(names) -> str:
    return (f"[sampler] {' and '.join(f'{n} = true' for n in names)} needs the 'pymc' backend "
            f"(PyMC's NUTS with {' and '.join(_STEP_TEXT[n] for n in names)}; nutpie and "
            "numpyro take no custom step),")


def compound_steps(model: pm.Model, data, backend: str, settings: SamplerSettings) -> list:
    """PyMC's step methods for the ``[sampler]`` custom steps, then NUTS.

    The Gibbs step (``lineage_gibbs``, :class:`~bayes_llm.model.lineage_gibbs.
    LineageGibbs`) updates the near-floor lineages' effects
    (:func:`~bayes_llm.model.lineage_grid.near_floor_lineages`, the lineages
    ``lineage_grid = "near_floor"`` would sum out), with ``multi_lineage_gibbs`` every
    multi-model lineage's (the near-floor ones among them), and with
    ``single_lineage_gibbs`` every
    single-model lineage's effect; the scale moves
    (:class:`~bayes_llm.model.scale_move.ScaleMove`) move sigma_lineage and nu_lineage with
    every lineage effect held (``lineage_scale_move``) and sigma_developer with every
    developer effect held (``developer_scale_move``); the ridge move
    (:class:`~bayes_llm.model.scale_move.CompensatedScaleMove`, ``developer_ridge_move``)
    moves sigma_developer with the developer z's held and the lineages of mostly one
    developer compensating; NUTS then moves every free variable (it runs last, so its log
    density is the draw's).

    Raises
    ------
    BayesLLMError
        A backend other than ``pymc`` (nutpie and numpyro take no custom step), or no
        design for the Gibbs step.
    """
    import numpy as np
    import pymc as pm

    from bayes_llm.model.lineage_gibbs import LineageGibbs
    from bayes_llm.model.lineage_grid import near_floor_lineages
    from bayes_llm.model.scale_move import (
        DEVELOPER_GROUP,
        LINEAGE_GROUP,
        CompensatedScaleMove,
        ScaleMove,
        lineage_compensation,
    )

    if backend != "pymc":
        raise BayesLLMError(f"{_needs_pymc(settings.custom_steps)} not '{backend}'; pass "
                            "--backend pymc")
    steps = []
    with model:
        needs_design = [n for n in ("lineage_gibbs", "multi_lineage_gibbs",
                                    "single_lineage_gibbs", "developer_ridge_move")
                        if getattr(settings, n)]
        if needs_design and data is None:
            raise BayesLLMError(f"[sampler] {needs_design[0]} = true: the sampler needs the "
                                "model's design (data=)")
        if settings.lineage_gibbs or settings.multi_lineage_gibbs:
            lineages = (np.asarray(data.lineage_multi, dtype=np.int64)
                        if settings.multi_lineage_gibbs else
                        near_floor_lineages(data.lineage_idx, data.k / data.n,
                                            data.lineage_multi))
            if len(lineages):
                steps.append(LineageGibbs(data=data, lineages=lineages))
        if settings.single_lineage_gibbs and len(data.lineage_single):
            steps.append(LineageGibbs(data=data, lineages=data.lineage_single,
                                      block="single"))
        if settings.lineage_scale_move:
            steps.append(ScaleMove(group=LINEAGE_GROUP))
        if settings.developer_scale_move:
            steps.append(ScaleMove(group=DEVELOPER_GROUP))
        if settings.developer_ridge_move:
            steps.append(CompensatedScaleMove(compensation=lineage_compensation(data)))
        steps.append(pm.NUTS(vars=model.value_vars, target_accept=settings.target_accept))
    return steps


def reproducible_compilation():
    """Compile the model's functions with strict IEEE floating point (no fast-math).

    With numba's fast-math flags (PyTensor's default: reassociation, contraction,
    approximate functions), LLVM may round differently depending on how much of the graph
    it sees at once: a function compiled fresh (cold compile cache, callees inlined) and
    one assembled from cached pieces (warm cache) gave different log densities in the last
    bits, so the same seed gave different chains (issue 13). Without fast-math the results
    are bit-identical whether the cache is cold or warm. PyTensor keys its numba cache on
    this flag, so fast-math entries of earlier runs are never reused here.

    Returns
    -------
    context manager
        Sets ``pytensor.config.numba__fastmath = False`` inside the block.
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


#: The PyTensor flag of :func:`reproducible_compilation`, as written in ``PYTENSOR_FLAGS``.
STRICT_FLAG = "numba__fastmath=False"


@contextlib.contextmanager
def _strict_flags_in_children():
    """Put :data:`STRICT_FLAG` in ``PYTENSOR_FLAGS`` for processes started in the block.

    A process started by spawn (or from a forkserver) does not inherit the parent's
    in-memory PyTensor config, only its environment: without this, PyMC's chain processes
    would compile with fast-math and the same seed would give different draws with a cold
    and a warm compile cache.
    """
    before = os.environ.get("PYTENSOR_FLAGS")
    flags = [f for f in (before or "").split(",") if f and not f.startswith("numba__fastmath")]
    os.environ["PYTENSOR_FLAGS"] = ",".join([*flags, STRICT_FLAG])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTENSOR_FLAGS", None)
        else:
            os.environ["PYTENSOR_FLAGS"] = before
