r"""Simulation-based calibration on the full design, resumable, with headline figures.

For replication ``i`` (seeded by ``(seed, i)`` alone, so replications are independent and
a run can be resumed or extended in any order):

1. draw every parameter and the outcome from the prior predictive distribution with the
   independent NumPy simulator (:mod:`bayes_llm.verify.generate`, written from
   ``models/README.md``, not from ``build.py``) on the design (by default the paper's 809
   models: their developers, periods and compute);
2. fit the model built by ``bayes_llm.model.build_model`` (compiled once,
   :class:`bayes_llm.verify.reuse.ReusableSampler`);
3. rank the true value of every scalar quantity among the posterior draws thinned to
   about their ESS (:func:`bayes_llm.verify.sbc.rank_statistics`): the scalar parameters,
   period contrasts, shared progress, developer share, and the headline figures of
   :func:`bayes_llm.derived.headline.headline_draws` (variance shares, company shares,
   Bayesian R2, finite-population SDs, frontier shares, multipliers; not the Shapley
   split, a function of the data alone) evaluated at the truth and at each draw,
   with the simulated outcome held fixed (SBC holds for any function of parameters and
   data).

Every fit is kept: a fit that fails the diagnostics gate keeps its ranks and is flagged
(``fits.csv``: R-hat, bulk and tail ESS, divergences, and the true scalar parameters, so
where in parameter space fits fail can be read off); a fit that raises is counted with
its error. Results are written after every replication (atomically); ``--report`` only
rewrites the tables and plots from what is saved.

Command (the default spec, 200 replications, into ``verification/sbc/<spec>``)::

    python -m bayes_llm.verify.run_sbc --model binomial_developers --reps 200 \
        --out verification/sbc/binomial_developers
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_llm.atomic import write_text_atomic
from bayes_llm.constants import DEFAULT_SEED, HDI_PROB
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.design import ModelData, prepare_data
from bayes_llm.model.fit import draw_integrated_effects
from bayes_llm.model.spec import ModelSpec
from bayes_llm.verify.generate import draw_prior_predictive
from bayes_llm.verify.rankcheck import DEFAULT_ALPHA, check_ranks, coverage_table
from bayes_llm.verify.sbc import rank_statistics, uniformity_tests
from bayes_llm.verify.simulate import headline_quantities, outcome_frame, reduced_design

DRAWS, TUNE, CHAINS = 300, 300, 2
#: Headline figures ranked (prefixes of ``headline_draws`` ids).
#: The Shapley split of the OLS R^2 at equal weights is a function of the data alone (the
#: same value in every draw): it is not a posterior quantity and is not ranked.
DERIVED_PREFIXES = ("variance_", "frontier_", "company_", "bayes_r2", "anova_",
                    "shared_progress_multiplier", "developer_multiplier[",
                    "within_spread_multiplier")
#: Posterior draws (all chains together) the quantities are computed on: the posterior is
#: thinned evenly to at most this many before computing the headline figures and ranking.
DERIVED_DRAWS = 200
#: Scalar truths recorded with each fit (where failures happen).
TRUTH_COLUMNS = ("alpha", "beta", "sigma_period", "period_drift", "sigma_developer",
                 "sigma_group", "sigma_model", "sigma", "nu", "sigma_slope",
                 "sigma_interaction", "sigma_x", "collapse_probability",
                 "collapse_intercept", "collapse_compute_slope", "sigma_collapse_lineage",
                 "model_wide_probability", "model_wide_log_ratio")


@dataclass
class SBCRun:
    """Saved state of a run: one row per (replication, quantity), one per fit."""

    records: pd.DataFrame
    fits: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_only: list[str] = []
        self.raw_records = self.records
        if len(self.records) and "sd" in self.records:
            # a quantity with the same value in every draw of every fit is a function of the
            # data alone (e.g. an OLS statistic): its "rank" is a tie-break, not a check
            sd = self.records.groupby("quantity", sort=False)["sd"].max()
            self.data_only = list(sd.index[sd <= 1e-12])
            self.records = self.records[~self.records["quantity"].isin(self.data_only)]

    def ranks(self) -> pd.DataFrame:
        """Fractional ranks: one row per replication, one column per quantity."""
        if self.records.empty:
            return pd.DataFrame()
        order = list(dict.fromkeys(self.records["quantity"]))
        return self.records.pivot(index="replication", columns="quantity", values="u")[order]

    def table(self, *, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
        """Per quantity: n, mean rank, KS p, Holm-adjusted p, rejected; chi-square p."""
        ranks = self.ranks()
        check = check_ranks(ranks, alpha=alpha).table
        chi = uniformity_tests(ranks)[["chi2_p", "below_5pct", "above_95pct"]]
        return check.join(chi)


def _models_frame(data: ModelData, spec: ModelSpec) -> pd.DataFrame:
    from bayes_llm.model.fit import _models_table

    return _models_table(data, spec)


@dataclass
class _FitLike:
    """What :mod:`bayes_llm.derived` needs from a fit."""

    spec: ModelSpec
    dt: xr.DataTree
    models: pd.DataFrame


def derived_quantities(spec: ModelSpec, dt: xr.DataTree, models: pd.DataFrame) -> xr.Dataset:
    """Headline figures per draw (:func:`bayes_llm.derived.headline.headline_draws`).

    Only figures that are defined for the spec (no NaN) and start with one of
    :data:`DERIVED_PREFIXES` are kept.
    """
    from bayes_llm.derived.headline import headline_draws

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ds = headline_draws(_FitLike(spec, dt, models))
    keep = {}
    for name, da in ds.data_vars.items():
        if str(name).startswith(DERIVED_PREFIXES):
            keep[str(name)] = da.drop_vars([c for c in da.coords if c not in ("chain", "draw")])
    return xr.Dataset(keep)


def _thinned(dt: xr.DataTree, at_most: int) -> xr.DataTree:
    """Keep every k-th draw of each chain so at most ``at_most`` draws remain."""
    post = dt["posterior"].to_dataset()
    total = post.sizes["chain"] * post.sizes["draw"]
    step = max(1, -(-total // at_most))
    if step == 1:
        return dt
    groups = {name: dt[name].to_dataset() for name in dt.children}
    groups["posterior"] = post.isel(draw=slice(None, None, step))
    return xr.DataTree.from_dict(groups)


def _truth_tree(dt: xr.DataTree, params: dict[str, np.ndarray]) -> xr.DataTree:
    """Return the posterior tree with one draw: the true values, on the posterior's dims."""
    post = dt["posterior"].to_dataset().isel(chain=[0], draw=[0])
    truth = xr.Dataset({name: (da.dims, np.asarray(params[name], float).reshape(da.shape))
                        for name, da in post.data_vars.items() if name in params},
                       coords=post.coords)
    groups = {name: dt[name].to_dataset() for name in dt.children
              if name in ("constant_data", "observed_data")}
    groups["posterior"] = truth
    return xr.DataTree.from_dict(groups)


def all_quantities(spec: ModelSpec, dt: xr.DataTree, models: pd.DataFrame, *,
                   derived: bool = True) -> xr.Dataset:
    """Every ranked quantity per draw: parameters, contrasts, headline figures."""
    post = dt["posterior"].to_dataset()
    base = headline_quantities(post)
    if not derived:
        return base
    extra = derived_quantities(spec, dt, models)
    return xr.merge([base, extra.drop_vars([v for v in extra.data_vars if v in base])],
                    compat="override", join="exact")


def _inside_hdi(post_q: xr.Dataset, truth: pd.Series) -> list[bool]:
    """Whether each true value lies in its posterior HDI (:data:`HDI_PROB`)."""
    from arviz_stats.base import array_stats

    out = []
    for name in truth.index:
        values = np.asarray(post_q[name].values, dtype=float).ravel()
        lower, upper = array_stats.hdi(values, HDI_PROB, axis=-1)
        out.append(bool(lower <= truth[name] <= upper))
    return out


def _fit_row(i: int, dt: xr.DataTree | None, params: dict, seconds: float,
             error: str = "") -> dict:
    from bayes_llm.model.diagnostics import diagnose

    row = {"replication": i, "seconds": round(seconds, 2), "error": error}
    for name in TRUTH_COLUMNS:
        if name in params:
            row[f"true_{name}"] = float(params[name])
    if dt is None:
        row.update({"ok": False, "divergences": -1})
        return row
    diag = diagnose(dt)
    table = diag.table
    rhat = table["r_hat_max"].dropna()
    row.update({"ok": diag.ok, "divergences": int(diag.sampler["divergences"]),
                "max_rhat": float(rhat.max()) if len(rhat) else np.nan,
                "min_ess_bulk": float(table["ess_bulk_min"].min()),
                "min_ess_tail": float(table["ess_tail_min"].min()),
                "worst_variable": str(rhat.idxmax()) if len(rhat) else "",
                "failures": "; ".join(diag.failures)[:300]})
    return row


def design_data(df: pd.DataFrame, spec: ModelSpec) -> ModelData:
    """Return the design of the run: the spec's sample of ``df`` (its outcome is replaced)."""
    return prepare_data(df, spec)


def run(spec: ModelSpec, data: ModelData, *, reps: int, draws: int = DRAWS,
        tune: int = TUNE, chains: int = CHAINS, seed: int = DEFAULT_SEED,
        out: str | Path | None = None, sim_spec: ModelSpec | None = None,
        derived: bool = True, thin: int | str = "ess",
        log: Callable[[str], None] | None = None, sampler=None) -> SBCRun:
    """Run (or resume) SBC of ``spec`` on the design ``data``.

    Parameters
    ----------
    spec : ModelSpec
        The fitted model.
    data : ModelData
        The design.
    reps : int
        Replications wanted in total (those already in ``out`` are skipped).
    draws, tune, chains : int
        MCMC settings per fit.
    seed : int
        Replication ``i`` simulates with ``numpy.random.default_rng([seed, i])`` and
        samples with seed ``seed + i``.
    out : path, optional
        Folder of the run; results are saved after every replication and resumed from.
    sim_spec : ModelSpec, optional
        Spec of the simulator (default ``spec``); a different one injects a deliberate
        miscalibration (the fit's priors differ from the data's).
    derived : bool
        Rank the headline figures too.
    thin : int or "ess"
        Thinning before ranking.
    log : callable, optional
        Progress lines (default stderr).
    sampler : ReusableSampler, optional
        An already compiled sampler for ``spec`` on ``data``.
    """
    from bayes_llm.verify.reuse import ReusableSampler, with_constant_data

    emit = log or (lambda line: print(line, file=sys.stderr, flush=True))
    sim_spec = sim_spec or spec
    settings = {"spec": spec.name, "spec_hash": spec.hash(), "sim_spec_hash": sim_spec.hash(),
                "n_models": data.n_models, "data_hash": data.data_hash, "draws": draws,
                "tune": tune, "chains": chains, "seed": seed, "thin": thin,
                "derived": derived, "derived_draws": DERIVED_DRAWS,
                "simulator": "bayes_llm.verify.generate (NumPy)"}
    state = _load(out, settings) if out is not None else SBCRun(pd.DataFrame(),
                                                                 pd.DataFrame(), settings)
    done = set(state.fits["replication"].astype(int)) if len(state.fits) else set()
    todo = [i for i in range(reps) if i not in done]
    if not todo:
        return state
    if sampler is None:
        sampler = ReusableSampler(spec, data)
        emit(f"[sbc {spec.name}] compiled in {sampler.compile_seconds:.0f} s; "
             f"{len(done)} done, {len(todo)} to run")
    base_models = _models_frame(data, spec)
    records = [state.records] if len(state.records) else []
    fits = state.fits.to_dict("records") if len(state.fits) else []
    start = time.perf_counter()
    for count, i in enumerate(todo, start=1):
        rng = np.random.default_rng([seed, i])
        params, observed = draw_prior_predictive(sim_spec, data, rng)
        t0 = time.perf_counter()
        try:
            dt = sampler.fit(observed, draws=draws, tune=tune, chains=chains, seed=seed + i)
            sample_seconds = time.perf_counter() - t0
            dt = with_constant_data(dt, data, observed)
            if spec.integrate_model_effect:  # eta given the simulated counts, as a fit does
                dt = draw_integrated_effects(dt, data, spec, seed + i, k=observed["correct"])
            frame = outcome_frame(data, spec, observed)
            models = base_models.copy()
            for col in frame.columns.intersection(models.columns):
                models[col] = frame[col].to_numpy()
            post_q = all_quantities(spec, _thinned(dt, DERIVED_DRAWS), models, derived=derived)
            truth_q = all_quantities(spec, _truth_tree(dt, params), models, derived=derived)
            names = [n for n in post_q.data_vars
                     if np.isfinite(float(truth_q[n].values.ravel()[0]))
                     and np.isfinite(post_q[n].values).all()]
            truth = pd.Series({n: float(truth_q[n].values.ravel()[0]) for n in names})
            table = rank_statistics(post_q[names], truth, np.random.default_rng([seed, i, 1]),
                                    thin=thin)
            table["inside_hdi"] = _inside_hdi(post_q[names], truth)
            table.insert(0, "replication", i)
            row = {**_fit_row(i, dt, params, time.perf_counter() - t0),
                   "sample_seconds": round(sample_seconds, 2)}
            records.append(table)
            fits.append(row)
        except Exception as exc:  # noqa: BLE001 - a failed fit is counted, not fatal
            fits.append(_fit_row(i, None, params, time.perf_counter() - t0,
                                 f"{type(exc).__name__}: {exc}"[:300]))
        state = SBCRun(pd.concat(records, ignore_index=True) if records else pd.DataFrame(),
                       pd.DataFrame(fits), settings)
        if out is not None:
            save(state, out, figure=False)
        elapsed = time.perf_counter() - start
        last = fits[-1]
        emit(f"[sbc {spec.name}] replication {i} ({len(done) + count}/{reps}) "
             f"{last['seconds']:.1f} s, ok={last['ok']}"
             f"{' ERROR ' + last['error'] if last['error'] else ''}"
             f" | elapsed {elapsed:.0f} s, ETA {elapsed / count * (len(todo) - count):.0f} s")
    if out is not None:
        save(state, out)
    return state


def _load(out: str | Path, settings: dict) -> SBCRun:
    out = Path(out)
    if not (out / "settings.json").is_file():
        return SBCRun(pd.DataFrame(), pd.DataFrame(), settings)
    saved = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    if {k: v for k, v in saved.items() if k in settings} != settings:
        raise BayesLLMError(f"{out}: holds an SBC run with other settings "
                            f"({saved}); use another --out")
    records = pd.read_csv(out / "records.csv") if (out / "records.csv").is_file() \
        else pd.DataFrame()
    fits = pd.read_csv(out / "fits.csv", keep_default_na=False, na_values=[""]) \
        if (out / "fits.csv").is_file() else pd.DataFrame()
    if "error" in fits:
        fits["error"] = fits["error"].astype(object).fillna("").astype(str)
    return SBCRun(records, fits, saved)


def summary_text(state: SBCRun, *, alpha: float = DEFAULT_ALPHA) -> str:
    """Markdown summary: fits, failures and where, the rank table."""
    fits = state.fits
    s = state.settings
    n = len(fits)
    raised = int(fits["error"].astype(str).ne("").sum()) if n else 0
    gate_failed = int((~fits["ok"].astype(bool)).sum()) - raised if n else 0
    if n:  # converged: ran, no divergence, R-hat <= 1.01 for every element (eta included)
        fits = fits.reindex(columns=fits.columns.union(["divergences", "max_rhat"],
                                                       sort=False))  # none, if all raised
        converged = fits["error"].astype(str).eq("") & fits["divergences"].eq(0) & \
            (fits["max_rhat"] <= 1.01)
    lines = [f"# SBC of `{s.get('spec')}` on {s.get('n_models')} models",
             "",
             f"{n} replications run ({s.get('chains')} chains x {s.get('draws')} draws, "
             f"{s.get('tune')} tuning; simulator: {s.get('simulator')}); "
             f"{raised} fits raised (no ranks); {gate_failed} failed the full diagnostics "
             "gate (R-hat, bulk and tail ESS >= 400, divergences; ESS >= 400 is out of reach "
             "of 600 draws) and are kept in the ranks; "
             + (f"{int((~converged).sum())} did not converge by the looser rule (a "
                "divergence or R-hat > 1.01 in any element, eta included)." if n else ""),
             f"Fit time: {fits['seconds'].sum():.0f} s in total, median "
             f"{fits['seconds'].median():.1f} s per replication (sampling and ranking)."
             if n else ""]
    if n and (~converged).any() and converged.any():
        cols = [c for c in fits.columns if c.startswith("true_")]
        lines += ["", "Where fits fail to converge (median true value, non-converged vs "
                  "converged fits):", "", "| parameter | not converged | converged |",
                  "|---|---|---|"]
        for c in cols:
            lines.append(f"| {c[5:]} | {fits.loc[~converged, c].median():.3g} | "
                         f"{fits.loc[converged, c].median():.3g} |")
    if n and "worst_variable" in fits:
        worst = fits.loc[fits["max_rhat"] > 1.01, "worst_variable"].value_counts()
        if len(worst):
            lines += ["", "Variable with the largest R-hat in fits with R-hat > 1.01: "
                      + ", ".join(f"{k} x{v}" for k, v in worst.items())]
    if state.data_only:
        lines += ["", "Not ranked (the same value in every posterior draw, a function of the "
                  "data alone): " + ", ".join(state.data_only) + "."]
    if len(state.records):
        table = state.table(alpha=alpha)
        rejected = list(table.index[table["rejected"]])
        lines += ["", f"Uniformity of ranks: exact KS per quantity, Holm across "
                  f"{len(table)} quantities at family-wise {alpha:g}: "
                  + ("no quantity rejected." if not rejected else
                     f"REJECTED: {', '.join(rejected)}."), "",
                  "| quantity | n | mean rank | KS p | Holm p | chi² p |", "|---|---|---|---|---|---|"]
        for q, r in table.iterrows():
            lines.append(f"| {q} | {int(r['n'])} | {r['mean_u']:.3f} | {r['ks_p']:.3g} | "
                         f"{r['holm_p']:.3g} | {r['chi2_p']:.3g} |")
    if len(state.records):
        cov = coverage_table(state.records, prob=HDI_PROB)
        low = cov[(cov["holm_central"] < alpha) | (cov["holm_hdi"] < alpha)]
        pooled_c = cov["covered_central"].sum() / max(cov["n"].sum(), 1)
        pooled_h = cov["covered_hdi"].sum() / max(cov["n_hdi"].sum(), 1)
        hdi_text = f"{pooled_h:.3f}" if cov["n_hdi"].sum() else "not recorded"
        lines += ["", f"Coverage of the {HDI_PROB:.0%} intervals (parameters drawn from the "
                  f"prior, so the expected coverage is exactly {HDI_PROB:.0%}): central "
                  f"interval {pooled_c:.3f}, HDI {hdi_text}, pooled over quantities; "
                  f"quantities outside their binomial bounds after Holm at {alpha:g}: "
                  + (", ".join(low.index) if len(low) else "none") + " (`coverage.csv`)."]
    return "\n".join(lines) + "\n"


def save(state: SBCRun, out: str | Path, *, figure: bool = True) -> Path:
    """Write the run's files into ``out``, each atomically.

    ``records.csv``, ``fits.csv``, ``settings.json``; with ranks also ``tests.csv``,
    ``ranks.csv``, ``summary.md`` and (with ``figure``) ``ecdf.png``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "settings.json", json.dumps(state.settings, indent=2))
    write_text_atomic(out / "records.csv", state.raw_records.to_csv(index=False))
    write_text_atomic(out / "fits.csv", state.fits.to_csv(index=False))
    if len(state.records):
        write_text_atomic(out / "ranks.csv", state.ranks().to_csv())
        write_text_atomic(out / "tests.csv", state.table().to_csv())
        write_text_atomic(out / "coverage.csv",
                          coverage_table(state.records, prob=HDI_PROB).to_csv())
        write_text_atomic(out / "summary.md", summary_text(state))
        if figure and len(state.ranks()) >= 2:
            import matplotlib.pyplot as plt

            from bayes_llm.verify.plots import ecdf_difference_plot

            table = state.table()
            fig = ecdf_difference_plot(state.ranks(), pvalues=table["holm_p"].to_dict(),
                                       title=f"SBC {state.settings.get('spec')}: "
                                       f"{len(state.ranks())} replications (panel: Holm p)")
            tmp = out / ".ecdf.png.tmp"
            fig.savefig(tmp, dpi=80, format="png")
            tmp.replace(out / "ecdf.png")
            plt.close(fig)
    return out


def index_text(root: str | Path, *, alpha: float = DEFAULT_ALPHA) -> str:
    """Markdown table of every run saved under ``root`` (one folder per spec)."""
    lines = ["# SBC runs (generated by `python -m bayes_llm.verify.run_sbc --index`)", "",
             "| spec | models | replications | fits raised | quantities | rejected (Holm, "
             f"family-wise {alpha:g}) | min Holm p | fit time (s) | details |",
             "|---|---|---|---|---|---|---|---|---|"]
    for folder in sorted(p for p in Path(root).iterdir() if (p / "settings.json").is_file()):
        state = _load(folder, {})
        if state.records.empty:
            continue
        table = state.table(alpha=alpha)
        fits = state.fits
        raised = int(fits["error"].astype(str).ne("").sum())
        rejected = ", ".join(table.index[table["rejected"]]) or "none"
        lines.append(f"| {state.settings.get('spec')} | {state.settings.get('n_models')} | "
                     f"{len(fits)} | {raised} | {len(table)} | {rejected} | "
                     f"{table['holm_p'].min():.3g} | {fits['seconds'].sum():.0f} | "
                     f"[summary]({folder.name}/summary.md) |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bayes_llm.verify.run_sbc",
                                description="Full-design SBC of a spec (resumable).")
    p.add_argument("--model", default="binomial_developers")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--draws", type=int, default=DRAWS)
    p.add_argument("--tune", type=int, default=TUNE)
    p.add_argument("--chains", type=int, default=CHAINS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--no-derived", action="store_true", help="rank parameters only")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report", action="store_true",
                   help="only rewrite tables and plots from the saved results")
    p.add_argument("--index", action="store_true",
                   help="write <out>/README.md: a table of every run saved under --out")
    p.add_argument("--mirror", type=Path, default=None)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--design-models", type=int, default=None, metavar="N",
                   help="reduced design of about N models (bayes_llm.verify.simulate."
                        "reduced_design, seeded by --seed; default: every model)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command line; exit 2 on a user error, 1 when a quantity is rejected, else 0."""
    args = _parser().parse_args(argv)
    try:
        from bayes_llm.model.spec import load_spec

        if args.index:
            text = index_text(args.out)
            write_text_atomic(Path(args.out) / "README.md", text)
            print(text)
            return 0
        if args.report:
            state = _load(args.out, {})
            if state.records.empty:
                raise BayesLLMError(f"{args.out}: no saved replications")
            save(state, args.out)
        else:
            if args.reps < 1 or min(args.draws, args.tune, args.chains) < 1:
                raise BayesLLMError("--reps, --draws, --tune and --chains must be positive")
            from bayes_llm.cli.options import load_data

            spec = load_spec(args.model)
            table = load_data(args.mirror, args.data)
            if args.design_models is not None:
                if not 1 <= args.design_models <= len(table):
                    raise BayesLLMError(f"--design-models must be between 1 and {len(table)}, "
                                        f"not {args.design_models}")
                table = reduced_design(table, args.design_models, seed=args.seed)
            data = design_data(table, spec)
            state = run(spec, data, reps=args.reps, draws=args.draws, tune=args.tune,
                        chains=args.chains, seed=args.seed, out=args.out,
                        derived=not args.no_derived)
    except BayesLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = summary_text(state)
    print(text)
    return 0 if "REJECTED" not in text else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
