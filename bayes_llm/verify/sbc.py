r"""Simulation-based calibration (SBC) of a model spec on a reduced design.

The rank machinery here (:func:`rank_statistics`, :func:`uniformity_tests`) is shared.
The run below simulates with the PyMC graph itself; the calibration evidence of issue 12
(full 809-model design, independent NumPy simulator, headline figures, a check that can
fail) is :mod:`bayes_llm.verify.run_sbc`.

For each replication: draw every parameter from the prior and simulate a data set on a
fixed design (:func:`bayes_llm.verify.simulate.simulate_prior`), fit the model to it with
:func:`bayes_llm.model.fit_model` (the real pipeline), and record the rank of each true
value among the posterior draws. If the sampler and the model code are right, the ranks
are uniform (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

Quantities checked (:func:`bayes_llm.verify.simulate.headline_quantities`): every scalar
parameter, the period contrasts, the shared-progress contrast
``(gamma_last - gamma_first) / beta`` and the developer variance share.

Ranks. Posterior draws are autocorrelated; each chain is thinned to about the bulk ESS of
the quantity (``thin="ess"``) before ranking, as Talts et al. recommend. With ``L`` thinned
draws of which ``r`` are below the truth, the recorded statistic is the randomised
fractional rank ``u = (r + V) / (L + 1)`` with ``V ~ Uniform(0, 1)`` (ties with the truth are
broken at random), which is exactly Uniform(0, 1) under calibration whatever ``L`` is, so
replications with different ESS can be pooled. Uniformity is tested with a chi-square test
on binned ranks and a Kolmogorov-Smirnov test, and shown as ECDF differences with
simultaneous 95% bands (:func:`bayes_llm.verify.plots.ecdf_difference_plot`).

Command line (the full run; progress and an ETA are printed to stderr, and the partial
results are saved after every replication, so an interrupted run can be resumed)::

    python -m bayes_llm.verify.sbc --model binomial_developers --replications 100 \
        --draws 200 --tune 200 --chains 2 --out results/sbc/binomial
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from bayes_llm.atomic import write_text_atomic
from bayes_llm.constants import DEFAULT_SEED
from bayes_llm.errors import BayesLLMError
from bayes_llm.model.spec import ModelSpec
from bayes_llm.verify.simulate import headline_quantities, reduced_design, simulate_prior

#: Size of the reduced design used by default (the paper has 809 models).
DEFAULT_N_MODELS: int = 120
#: Default MCMC settings per replication.
DEFAULT_DRAWS: int = 200
DEFAULT_TUNE: int = 200
DEFAULT_CHAINS: int = 2
#: Files of a saved SBC run.
RESULT_FILES = ("records.csv", "fits.csv", "settings.json")


def _ess_bulk(post: xr.Dataset) -> dict[str, float]:
    import warnings

    import arviz as az

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ess = az.ess(post, method="bulk")
    return {str(k): float(ess[k].values) for k in ess.data_vars}


def rank_statistics(post: xr.Dataset, truth: pd.Series, rng: np.random.Generator, *,
                    thin: int | str = "ess") -> pd.DataFrame:
    """Rank each true value among the (thinned) posterior draws.

    Parameters
    ----------
    post : Dataset
        Headline quantities per draw, dims ``(chain, draw)``.
    truth : Series
        True value of each quantity.
    rng : Generator
        For the randomised tie-breaking and fractional rank.
    thin : int or "ess"
        Keep every ``thin``-th draw of each chain; ``"ess"`` thins each quantity to about
        its bulk ESS.

    Returns
    -------
    DataFrame
        One row per quantity: ``truth``, posterior ``mean`` and ``sd``, ``ess_bulk``,
        ``thin``, ``n_ranked`` (L), ``rank`` (0..L) and ``u`` (randomised fractional rank).
    """
    ess = _ess_bulk(post)
    rows = []
    for name in truth.index:
        draws = np.asarray(post[name].transpose("chain", "draw").values, dtype=float)
        total = draws.size
        if thin == "ess":
            e = ess.get(name, np.nan)
            step = max(1, int(total // e)) if np.isfinite(e) and e > 0 else 1
        else:
            step = max(1, int(thin))
        kept = draws[:, ::step].ravel()
        t = float(truth[name])
        less = int(np.sum(kept < t))
        ties = int(np.sum(kept == t))
        rank = less + int(rng.integers(0, ties + 1))
        u = (rank + rng.uniform()) / (kept.size + 1)
        rows.append({"quantity": name, "truth": t, "mean": float(np.mean(draws)),
                     "sd": float(np.std(draws)), "ess_bulk": ess.get(name, np.nan),
                     "thin": step, "n_ranked": int(kept.size), "rank": rank, "u": u})
    return pd.DataFrame(rows)


def uniformity_tests(ranks: pd.DataFrame, *, bins: int | None = None) -> pd.DataFrame:
    """Chi-square and Kolmogorov-Smirnov tests of uniform fractional ranks.

    Parameters
    ----------
    ranks : DataFrame
        Fractional ranks ``u`` in (0, 1): one row per replication, one column per quantity.
    bins : int, optional
        Number of equal-width bins for the chi-square test; default ``n // 5`` clipped to
        2..20 (at least 5 expected per bin).

    Returns
    -------
    DataFrame
        Indexed by quantity: ``n``, ``mean_u``, ``chi2``, ``bins``, ``chi2_p``, ``ks``,
        ``ks_p``, ``below_5pct`` and ``above_95pct`` (shares of ranks in the extreme 5%).
    """
    rows = []
    for name in ranks.columns:
        u = ranks[name].dropna().to_numpy(float)
        n = len(u)
        b = bins or int(np.clip(n // 5, 2, 20))
        counts = np.histogram(u, bins=b, range=(0.0, 1.0))[0]
        chi = stats.chisquare(counts) if n else None
        ks = stats.kstest(u, "uniform") if n else None
        rows.append({"quantity": name, "n": n, "mean_u": float(np.mean(u)) if n else np.nan,
                     "chi2": float(chi.statistic) if n else np.nan, "bins": b,
                     "chi2_p": float(chi.pvalue) if n else np.nan,
                     "ks": float(ks.statistic) if n else np.nan,
                     "ks_p": float(ks.pvalue) if n else np.nan,
                     "below_5pct": float(np.mean(u < 0.05)) if n else np.nan,
                     "above_95pct": float(np.mean(u > 0.95)) if n else np.nan})
    return pd.DataFrame(rows).set_index("quantity")


@dataclass
class SBCResult:
    """The outcome of an SBC run.

    Attributes
    ----------
    records : DataFrame
        One row per replication and quantity (see :func:`rank_statistics`), plus
        ``replication``.
    fits : DataFrame
        One row per replication: ``seconds``, ``divergences``, ``max_rhat``,
        ``min_ess_bulk``, ``ok`` (diagnostics passed) and ``error`` (a fit that raised).
    settings : dict
        Spec name and hash, design size, MCMC settings, seeds, backend.
    """

    records: pd.DataFrame
    fits: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def n_replications(self) -> int:
        """Replications with ranks (failed fits excluded)."""
        return int(self.records["replication"].nunique()) if len(self.records) else 0

    def ranks(self) -> pd.DataFrame:
        """Fractional ranks: one row per replication, one column per quantity."""
        wide = self.records.pivot(index="replication", columns="quantity", values="u")
        order = list(dict.fromkeys(self.records["quantity"]))
        return wide[order]

    def tests(self, *, bins: int | None = None) -> pd.DataFrame:
        """Uniformity tests per quantity (:func:`uniformity_tests`)."""
        return uniformity_tests(self.ranks(), bins=bins)

    def extreme_quantities(self, *, edge: float = 0.1) -> list[str]:
        """Quantities whose ranks are *all* below ``edge`` or all above ``1 - edge``.

        With ``n`` replications this happens by chance with probability ``2 edge^n`` per
        quantity; it flags gross miscalibration (e.g. a sign error) in a short run.
        """
        ranks = self.ranks()
        return [q for q in ranks.columns
                if len(ranks[q].dropna()) >= 2 and ((ranks[q] < edge).all()
                                                    or (ranks[q] > 1 - edge).all())]

    def plot(self, **kwargs):
        """ECDF-difference plot of the ranks (:func:`bayes_llm.verify.plots.ecdf_difference_plot`)."""
        from bayes_llm.verify.plots import ecdf_difference_plot

        tests = self.tests()
        return ecdf_difference_plot(self.ranks(), pvalues=tests["chi2_p"].to_dict(),
                                    title=f"SBC: {self.settings.get('spec', '')} "
                                    f"({self.n_replications} replications)", **kwargs)

    def to_text(self) -> str:
        """Render a plain-text report: settings, fit problems and the test table."""
        s = self.settings
        lines = [f"SBC of spec '{s.get('spec')}' on a {s.get('n_models')}-model design: "
                 f"{self.n_replications} replications ({s.get('chains')} chains x "
                 f"{s.get('draws')} draws, {s.get('tune')} tuning, backend {s.get('backend')})"]
        if len(self.fits):
            failed = int(self.fits["error"].fillna("").astype(str).ne("").sum())
            lines.append(f"fits: {len(self.fits)} run, {failed} raised, "
                         f"{int((self.fits['divergences'] > 0).sum())} with divergences, "
                         f"{int((~self.fits['ok'].astype(bool)).sum())} failing diagnostics "
                         f"(total {self.fits['seconds'].sum():.0f} s)")
        if self.n_replications:
            lines.append(self.tests().to_string(float_format=lambda v: f"{v:.3g}"))
        return "\n".join(lines)

    def save(self, out: str | Path, *, figure: bool = True) -> Path:
        """Write the result into ``out``, each file atomically.

        Files: ``records.csv``, ``fits.csv``, ``settings.json``, ``tests.csv``,
        ``summary.txt`` and (with ``figure``) ``ecdf.png``.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "records.csv", self.records.to_csv(index=False))
        write_text_atomic(out / "fits.csv", self.fits.to_csv(index=False))
        write_text_atomic(out / "settings.json", json.dumps(self.settings, indent=2))
        if self.n_replications:
            write_text_atomic(out / "tests.csv", self.tests().to_csv())
            write_text_atomic(out / "summary.txt", self.to_text() + "\n")
            if figure and self.n_replications >= 2:
                import matplotlib.pyplot as plt

                fig = self.plot()
                tmp = out / ".ecdf.png.tmp"
                fig.savefig(tmp, dpi=110, format="png")
                tmp.replace(out / "ecdf.png")
                plt.close(fig)
        return out

    @classmethod
    def load(cls, out: str | Path) -> SBCResult:
        """Read a folder written by :meth:`save` (possibly a partial run)."""
        out = Path(out)
        missing = [f for f in RESULT_FILES if not (out / f).is_file()]
        if missing:
            raise BayesLLMError(f"{out}: not an SBC result folder (missing {', '.join(missing)})")
        records = pd.read_csv(out / "records.csv")
        try:
            fits = pd.read_csv(out / "fits.csv")
        except pd.errors.EmptyDataError:
            fits = pd.DataFrame()
        if "error" in fits:
            fits["error"] = fits["error"].astype(object).fillna("").astype(str)
        settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
        return cls(records=records, fits=fits, settings=settings)


def _fit_row(replication: int, fit, seconds: float) -> dict:
    table = fit.diagnostics.table
    checked = table[table["checked"]]
    return {"replication": replication, "seconds": round(seconds, 2),
            "divergences": int(fit.diagnostics.sampler["divergences"]),
            "max_rhat": float(np.nanmax(checked["r_hat_max"])),
            "min_ess_bulk": float(np.nanmin(checked["ess_bulk_min"])),
            "ok": bool(fit.diagnostics.ok), "error": ""}


def run_sbc(
    spec: ModelSpec,
    design: pd.DataFrame,
    *,
    replications: int,
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    seed: int = DEFAULT_SEED,
    backend: str = "nutpie",
    thin: int | str = "ess",
    progress: bool = True,
    out: str | Path | None = None,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> SBCResult:
    """Run simulation-based calibration of ``spec`` on ``design``.

    Parameters
    ----------
    spec : ModelSpec
        The model (priors included) to calibrate.
    design : DataFrame
        Canonical model table fixing the design (e.g. :func:`reduced_design` of the paper's
        data); its outcome is replaced by the simulations.
    replications : int
        Number of prior draws (simulated data sets, fits).
    draws, tune, chains : int
        MCMC settings per fit.
    seed : int
        Seed of the prior draws; fit ``i`` uses ``seed + 1 + i``.
    backend : str
        NUTS backend of the fits.
    thin : int or "ess"
        Thinning before ranking (see :func:`rank_statistics`).
    progress : bool
        Print one line per replication with the elapsed time and an ETA.
    out : path, optional
        Save the partial result after every replication (and the final one) here.
    resume : bool
        With ``out``: continue a run saved there with the same settings, or extend it to
        more ``replications`` (the prior draws are made with the same seed, so the first
        ones are the same; this is checked against the saved true values).
    log : callable, optional
        Where progress lines go (default: stderr).

    Returns
    -------
    SBCResult
    """
    from bayes_llm.model.fit import fit_model

    emit = log or (lambda line: print(line, file=sys.stderr, flush=True))
    settings = {"spec": spec.name, "spec_hash": spec.hash(), "n_models": len(design),
                "design_source": str(design.attrs.get("source_file", "")),
                "replications": replications, "draws": draws, "tune": tune, "chains": chains,
                "seed": seed, "backend": backend, "thin": thin}
    records: list[pd.DataFrame] = []
    fit_rows: list[dict] = []
    done: set[int] = set()
    if out is not None and resume and (Path(out) / "settings.json").is_file():
        previous = SBCResult.load(out)
        same = {k: v for k, v in previous.settings.items() if k != "replications"}
        if same != {k: v for k, v in settings.items() if k != "replications"}:
            raise BayesLLMError(f"{out}: holds an SBC run with other settings; use another "
                                "--out or drop --resume")
        records = [previous.records] if len(previous.records) else []
        fit_rows = previous.fits.to_dict("records") if len(previous.fits) else []
        done = {int(r["replication"]) for r in fit_rows}
        if done and max(done) >= replications:
            raise BayesLLMError(f"{out}: already holds {len(done)} replications; ask for "
                                f"more than {max(done)} to extend it")
        emit(f"[sbc {spec.name}] resuming: {len(done)} of {replications} replications done")
    sims = simulate_prior(spec, design, replications, seed=seed)
    if records:
        _check_same_draws(records[0], sims, out)
    todo = [i for i in range(replications) if i not in done]
    start = time.perf_counter()
    result = _result(records, fit_rows, settings)
    for count, i in enumerate(todo, start=1):
        sim = sims[i]
        rep_rng = np.random.default_rng([seed, 2, i])
        t0 = time.perf_counter()
        try:
            fit = fit_model(spec, sim.df, backend=backend, draws=draws, tune=tune,
                            chains=chains, seed=seed + 1 + i, progressbar=False)
        except Exception as exc:  # noqa: BLE001 - one failed fit must not end the run
            fit_rows.append({"replication": i, "seconds": round(time.perf_counter() - t0, 2),
                             "divergences": -1, "max_rhat": np.nan, "min_ess_bulk": np.nan,
                             "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]})
            emit(f"[sbc {spec.name}] replication {i}: fit failed: {fit_rows[-1]['error']}")
        else:
            seconds = time.perf_counter() - t0
            post_q = headline_quantities(fit.posterior)
            truth_q = sim.quantities()[list(post_q.data_vars)]
            table = rank_statistics(post_q, truth_q, rep_rng, thin=thin)
            table.insert(0, "replication", i)
            records.append(table)
            fit_rows.append(_fit_row(i, fit, seconds))
        result = _result(records, fit_rows, settings)
        if out is not None:
            result.save(out, figure=False)
        if progress:
            elapsed = time.perf_counter() - start
            eta = elapsed / count * (len(todo) - count)
            last = fit_rows[-1]
            emit(f"[sbc {spec.name}] {len(done) + count}/{replications} replications | "
                 f"last {last['seconds']:.1f} s, divergences {last['divergences']} | "
                 f"elapsed {_clock(elapsed)}, ETA {_clock(eta)}")
    if out is not None:
        result.save(out)
    return result


def _check_same_draws(previous: pd.DataFrame, sims: list, out) -> None:
    """Refuse to resume when the prior draws differ from those of the saved replications."""
    for i, group in previous.groupby("replication"):
        truth = sims[int(i)].quantities()
        saved = group.set_index("quantity")["truth"]
        if not np.allclose(truth[saved.index].to_numpy(float), saved.to_numpy(float),
                           rtol=1e-9, atol=1e-12, equal_nan=True):
            raise BayesLLMError(f"{out}: the prior draws no longer match the saved run "
                                f"(replication {i}); start a new run")


def _result(records: list[pd.DataFrame], fit_rows: list[dict], settings: dict) -> SBCResult:
    table = (pd.concat(records, ignore_index=True) if records
             else pd.DataFrame(columns=["replication", "quantity", "u"]))
    fits = pd.DataFrame(fit_rows).sort_values("replication", ignore_index=True) if fit_rows \
        else pd.DataFrame()
    return SBCResult(records=table.sort_values(["replication"], kind="stable",
                                               ignore_index=True), fits=fits,
                     settings=settings)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bayes_llm.verify.sbc",
        description="Simulation-based calibration of a model spec on a reduced design of the "
                    "paper's data.")
    p.add_argument("--model", default="binomial_developers",
                   help="spec file or bundled spec name (default: binomial_developers)")
    p.add_argument("--replications", type=int, default=100)
    p.add_argument("--draws", type=int, default=DEFAULT_DRAWS)
    p.add_argument("--tune", type=int, default=DEFAULT_TUNE)
    p.add_argument("--chains", type=int, default=DEFAULT_CHAINS)
    p.add_argument("--n-models", type=int, default=DEFAULT_N_MODELS,
                   help="size of the reduced design (default 120)")
    p.add_argument("--design-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--backend", default="nutpie")
    p.add_argument("--thin", default="ess", help="'ess' or an integer")
    p.add_argument("--bins", type=int, default=None, help="chi-square bins")
    p.add_argument("--out", type=Path, required=True, help="result folder")
    p.add_argument("--resume", action="store_true",
                   help="continue (or extend to more replications) a run saved in --out")
    p.add_argument("--mirror", type=Path, default=None, help="local data mirror folder")
    p.add_argument("--data", type=Path, default=None,
                   help="your own model table for the design instead of the paper's")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run SBC from the command line; returns the exit code (2 on a user error)."""
    args = _parser().parse_args(argv)
    try:
        from bayes_llm.cli.options import load_data
        from bayes_llm.model.sampling import check_backend
        from bayes_llm.model.spec import load_spec

        spec = load_spec(args.model)
        check_backend(args.backend)
        if args.replications < 1 or min(args.draws, args.tune, args.chains) < 1:
            raise BayesLLMError("--replications, --draws, --tune and --chains must be positive")
        thin: int | str = "ess" if args.thin == "ess" else int(args.thin)
        df = load_data(args.mirror, args.data)
        design = reduced_design(df, args.n_models, seed=args.design_seed)
        result = run_sbc(spec, design, replications=args.replications, draws=args.draws,
                         tune=args.tune, chains=args.chains, seed=args.seed,
                         backend=args.backend, thin=thin, progress=not args.quiet,
                         out=args.out, resume=args.resume)
    except (BayesLLMError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.to_text())
    if args.bins:
        print(result.tests(bins=args.bins).to_string())
    print(f"saved {args.out}")
    return 0


def expected_chance_extreme(n: int, edge: float = 0.1) -> float:
    """Probability that a calibrated quantity's ``n`` ranks all fall in one extreme."""
    return 2 * math.pow(edge, n)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
