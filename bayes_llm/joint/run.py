"""Fit the joint six-benchmark model end to end: data, sampling, diagnostics.

:func:`run_joint` is what ``bayes-llm joint`` runs: the canonical model table and a spec
with ``outcome = "leaderboard6"`` in, a :class:`~bayes_llm.joint.result.JointResult` out.
The diagnostics (:func:`bayes_llm.model.diagnostics.diagnose`, the project's rules) are
computed on :data:`DIAGNOSED`, the scalars and the correlation matrix the answers are made
of; the per-model latents are left out, as in ``benchmarks/bench_leaderboard6.py``.
"""

from __future__ import annotations

import datetime as _dt
import os
import time

import pandas as pd

from bayes_llm.constants import JOINT_DEFAULT_ABILITY as DEFAULT_ABILITY
from bayes_llm.constants import JOINT_DEFAULT_INTERCEPT as DEFAULT_INTERCEPT
from bayes_llm.constants import JOINT_DEFAULT_RESIDUALS as DEFAULT_RESIDUALS
from bayes_llm.errors import BayesLLMError
from bayes_llm.joint.result import JointResult

#: Variables whose R-hat and ESS decide the verdict (those present in the fit).
DIAGNOSED: tuple[str, ...] = ("alpha", "beta", "ability_loading", "sigma_model",
                              "sigma_developer", "developer_corr", "sigma_period",
                              "sigma_period_benchmark", "ifeval_precision", "period_effect")
#: Posterior groups kept in a result folder (the log-likelihood and log-prior are dropped).
KEPT_GROUPS = ("posterior", "sample_stats")


def joint_spec(spec="leaderboard6", *, draws: int | None = None, tune: int | None = None,
               chains: int | None = None, seed: int | None = None):
    """Load ``spec`` (a name, a path or a :class:`~bayes_llm.model.spec.ModelSpec`) for a joint fit.

    Raises
    ------
    BayesLLMError
        The spec is not a joint model (``outcome`` other than ``"leaderboard6"``).
    """
    from bayes_llm.model.spec import ModelSpec, load_spec

    spec = spec if isinstance(spec, ModelSpec) else load_spec(spec)
    if spec.outcome != "leaderboard6":
        raise BayesLLMError(f"spec '{spec.name}' has outcome = '{spec.outcome}', not "
                            "'leaderboard6'; 'bayes-llm joint' fits the joint model only (use "
                            "'bayes-llm fit' for the others)")
    sampler = {k: v for k, v in (("draws", draws), ("tune", tune), ("chains", chains),
                                 ("seed", seed)) if v is not None}
    return spec.with_changes(sampler=sampler) if sampler else spec


def estimate_joint_bytes(spec, n_models: int, n_developers: int, n_benchmarks: int = 6) -> int:
    """Rough size of a saved joint result (posterior draws of the larger variables)."""
    per_draw = 3 * n_models + 3 * n_developers * n_benchmarks + 40 * n_benchmarks + 200
    return int(spec.sampler.draws * spec.sampler.chains * per_draw * 8 + 2_000_000)


def check_joint_output(out: str | os.PathLike, spec, df: pd.DataFrame) -> str:
    """Check the destination of a joint result before sampling.

    Returns ``"new"`` or ``"replace"`` (a folder of ours); raises
    :class:`~bayes_llm.errors.OutputError` (one line) for anything else.
    """
    from bayes_llm.atomic import check_destination

    n_dev = int(df["developer"].nunique()) if "developer" in df else 100
    return check_destination(out, size_bytes=estimate_joint_bytes(spec, len(df), n_dev))


def check_joint_options(residuals: str, ability: str, backend: str,
                        intercept: str = DEFAULT_INTERCEPT) -> None:
    """Refuse an unknown residual, ability or intercept parameterisation or backend (one line each)."""
    from bayes_llm.model.leaderboard6 import (
        ABILITY_PARAMETERISATIONS,
        INTERCEPT_PARAMETERISATIONS,
        RESIDUAL_PARAMETERISATIONS,
    )
    from bayes_llm.model.sampling import check_backend

    if residuals not in RESIDUAL_PARAMETERISATIONS:
        raise BayesLLMError(f"--residuals {residuals!r}: choose one of "
                            f"{', '.join(RESIDUAL_PARAMETERISATIONS)}")
    if ability not in ABILITY_PARAMETERISATIONS:
        raise BayesLLMError(f"--ability {ability!r}: choose one of "
                            f"{', '.join(ABILITY_PARAMETERISATIONS)}")
    if intercept not in INTERCEPT_PARAMETERISATIONS:
        raise BayesLLMError(f"--intercept {intercept!r}: choose one of "
                            f"{', '.join(INTERCEPT_PARAMETERISATIONS)}")
    check_backend(backend)


def run_joint(df: pd.DataFrame, spec="leaderboard6", *, long: pd.DataFrame | None = None,
              benchmarks: tuple[str, ...] | None = None, draws: int | None = None,
              tune: int | None = None, chains: int | None = None, seed: int | None = None,
              residuals: str = DEFAULT_RESIDUALS, ability: str = DEFAULT_ABILITY,
              intercept: str = DEFAULT_INTERCEPT, backend: str = "nutpie", progressbar: bool = False,
              cores: int | None = None, source_file: str = "") -> JointResult:
    """Fit the joint model to ``df`` and diagnose it.

    Parameters
    ----------
    df : DataFrame
        The canonical model table (e.g. :func:`bayes_llm.data.load_paper_dataset`).
    spec : str, path or ModelSpec
        A spec with ``outcome = "leaderboard6"`` (default the bundled one).
    long : DataFrame, optional
        The long benchmark table (default: from the leaderboard source, see
        :func:`bayes_llm.model.leaderboard6.prepare_leaderboard6_data`).
    benchmarks : tuple of str, optional
        Benchmarks to model (default all six, or those of ``long``'s simulation).
    draws, tune, chains, seed : int, optional
        Sampler settings replacing the spec's.
    residuals, ability : str
        Parameterisations of the count residuals and of the common ability
        (:data:`~bayes_llm.model.leaderboard6.RESIDUAL_PARAMETERISATIONS`,
        :data:`~bayes_llm.model.leaderboard6.ABILITY_PARAMETERISATIONS`).
    intercept : str
        How alpha is sampled (:data:`~bayes_llm.model.leaderboard6.INTERCEPT_PARAMETERISATIONS`;
        the same model either way).
    backend : str
        NUTS backend.
    progressbar : bool
        Show the sampler's progress.
    cores : int, optional
        Parallel chains (default: at most two).
    source_file : str
        Where ``df`` came from, recorded in the metadata.

    Returns
    -------
    JointResult
        Its diagnostics say whether the numbers can be trusted; they are computed either way.
    """
    from bayes_llm.model.diagnostics import diagnose
    from bayes_llm.model.fit import package_versions
    from bayes_llm.model.leaderboard6 import fit_leaderboard6, prepare_leaderboard6_data

    check_joint_options(residuals, ability, backend, intercept)
    spec = joint_spec(spec, draws=draws, tune=tune, chains=chains, seed=seed)
    t0 = time.perf_counter()
    kwargs = {"benchmarks": tuple(benchmarks)} if benchmarks else {}
    data = prepare_leaderboard6_data(df, spec, long, **kwargs)
    t_data = time.perf_counter() - t0
    t1 = time.perf_counter()
    dt = fit_leaderboard6(data, spec, backend=backend, progressbar=progressbar,
                          cores=cores or min(spec.sampler.chains, 2), residuals=residuals,
                          ability_scaling=ability, intercept=intercept)
    t_fit = time.perf_counter() - t1
    import xarray as xr

    dt = xr.DataTree.from_dict({g: dt[g].to_dataset() for g in KEPT_GROUPS if g in dt})
    t2 = time.perf_counter()
    post = dt["posterior"].to_dataset()
    diagnostics = diagnose(dt, var_names=[v for v in DIAGNOSED if v in post])
    worst = worst_elements(post, diagnostics)
    t_diag = time.perf_counter() - t2
    metadata = {
        "kind": "joint",
        "spec_name": spec.name, "spec_hash": spec.hash(),
        "data_hash": data.data_hash, "source_file": source_file,
        "seed": spec.sampler.seed,
        "settings": {"draws": spec.sampler.draws, "tune": spec.sampler.tune,
                     "chains": spec.sampler.chains,
                     "target_accept": spec.sampler.target_accept, "backend": backend,
                     "residuals": residuals, "ability": ability, "intercept": intercept,
                     "developer_parameterisation": spec.developer_parameterisation,
                     "period_parameterisation": spec.period_parameterisation},
        "design": {"models": data.n_models, "developers": len(data.coords["developer"]),
                   "periods": len(data.coords["period"]),
                   "benchmarks": list(data.benchmarks),
                   "counts": int(data.k.size), "bounded_scores": int(data.y.size)},
        "worst_elements": worst,
        "timing_seconds": {"data": round(t_data, 3), "build_compile_sample": round(t_fit, 3),
                           "diagnostics": round(t_diag, 3)},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }
    return JointResult(spec=spec, dt=dt, data=data, diagnostics=diagnostics,
                       metadata=metadata)


def worst_elements(post, diagnostics) -> dict[str, str]:
    """Name the worst element (by R-hat) of each variable that fails the diagnostics.

    The diagnostics table has one row per variable (its worst element's R-hat and ESS);
    this says *which* element, e.g. ``sigma_model[bbh]``, for the banner of ``joint.md``.
    """
    import warnings

    import arviz_stats as azs
    import numpy as np

    failing = [n for n in diagnostics.table.index
               if any(f.startswith(f"{n}:") for f in diagnostics.failures)]
    out: dict[str, str] = {}
    for name in failing:
        da = post[name]
        if da.ndim <= 2:
            out[name] = name
            continue
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore")
            rhat = azs.rhat(da)
        values = np.asarray(rhat).ravel()
        if not np.isfinite(values).any():
            continue
        flat = int(np.nanargmax(values))
        index = np.unravel_index(flat, rhat.shape)
        labels = [str(rhat[dim].values[i]) if dim in rhat.coords else str(i)
                  for dim, i in zip(rhat.dims, index, strict=True)]
        out[name] = f"{name}[{', '.join(labels)}]"
    return out


__all__ = ["DEFAULT_ABILITY", "DEFAULT_RESIDUALS", "DIAGNOSED", "KEPT_GROUPS",
           "check_joint_output", "estimate_joint_bytes", "joint_spec", "run_joint"]
