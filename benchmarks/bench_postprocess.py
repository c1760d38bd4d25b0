"""Post-processing benchmark: CLI start-up, ``headline`` and ``report`` against the fit itself.

Prints (no assertion, no timed test):

* start-up: wall time of ``bayes-llm --help``, ``-h``, ``--version`` and ``specs`` (best of
  ``--repeat`` runs, each a fresh process);
* for each fit folder: wall time of ``bayes-llm headline FIT`` and ``bayes-llm report FIT``
  (fresh processes, so imports count), next to the fit's own build + sampling time read
  from its ``metadata.json``, and the ratio post-processing / fit: on the folder as
  ``bayes-llm fit`` leaves it (the first run a user sees), on a bare copy without any
  ``headline_*.json`` cache, and again (reading the caches);
* ``--stages``: where the time of ``headline`` and ``report`` goes, measured in one process
  (imports, load_fit, which rebuilds the diagnostics saved with the fit, beside what
  recomputing them would cost and what skipping the pointwise groups saves; headline draws
  and table; every report section and figure);
* ``--profile N``: the N functions of bayes_llm with the largest cumulative time in
  ``build_report`` (cProfile), to find repeated work.

``--repo PATH`` runs the CLI from another checkout (e.g. the main branch before a change),
for before/after figures on the same machine. ``--synthetic N`` first fits the default
spec to a synthetic design of N models (``bayes_llm.verify.simulate``) with ``--draws``
draws and ``--chains`` chains and adds that fit folder.

Usage::

    python benchmarks/bench_postprocess.py --startup
    python benchmarks/bench_postprocess.py --fit results/main/fit --stages
    python benchmarks/bench_postprocess.py --synthetic 10000 --draws 300 --chains 2
    python benchmarks/bench_postprocess.py --fit results/main/fit --repo /path/to/main
    python benchmarks/bench_postprocess.py --fit results/main/fit --profile 25
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _env(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.cache' / 'pytensor'}")
    return env


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_cli(args: list[str], repo: Path, repeat: int = 1) -> tuple[float, float, int]:
    """Best wall time and CPU time (user + sys) of ``bayes-llm ARGS`` in a fresh process.

    CPU time is reported beside wall time because on a shared machine the wall time
    measures the other processes as much as this one.
    """
    code = ("import sys\nfrom bayes_llm.cli import main\nsys.exit(main(sys.argv[1:]))")
    best, best_cpu, rc = float("inf"), float("inf"), 0
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu_children()
        # cwd=repo: "python -c" puts the working folder first on sys.path
        proc = subprocess.run([sys.executable, "-c", code, *args], env=_env(repo), cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        best, rc = min(best, time.perf_counter() - t), proc.returncode
        best_cpu = min(best_cpu, _cpu_children() - c)
        if rc not in (0, 1):
            print(f"  ! {' '.join(args)} exited {rc}: {proc.stderr.strip()[-300:]}")
    return best, best_cpu, rc


def startup(repo: Path, repeat: int) -> None:
    print(f"CLI start-up ({repo}), best of {repeat}:")
    for args in (["--help"], ["-h"], ["--version"], ["specs"]):
        seconds, cpu, rc = _time_cli(args, repo, repeat)
        print(f"  bayes-llm {' '.join(args):<12} {seconds:6.2f} s wall, {cpu:6.2f} s CPU "
              f"(exit {rc})")


def fit_seconds(fit_dir: Path) -> float:
    """Build + sampling time recorded by the fit itself."""
    meta = json.loads((fit_dir / "metadata.json").read_text())
    timing = meta.get("timing_seconds", {})
    return float(timing.get("build", 0.0)) + float(timing.get("sample", 0.0))


#: The cache ``bayes-llm fit`` writes into a new fit folder (the paper's OLS columns).
FIT_WRITES = "headline_paper_ols.json"


def postprocess(fit_dir: Path, repo: Path, *, report: bool = True) -> None:
    """Time ``headline`` and ``report`` on copies of the fit folder, cold and warm.

    * "after fit": the folder as ``bayes-llm fit`` leaves it (its files and the OLS
      columns it caches, :data:`FIT_WRITES`, when the source folder has them): the first
      ``headline`` a user runs;
    * "bare folder": without any ``headline_*.json`` cache (a fit saved by an older
      version): the OLS is fitted too;
    * "again": the second run on the "after fit" copy, reading the caches the first run
      wrote (:mod:`bayes_llm.derived.fit_cache`).

    The copies keep the fit folder itself as it was.
    """
    fit_s = fit_seconds(fit_dir)
    meta = json.loads((fit_dir / "metadata.json").read_text())
    print(f"fit {fit_dir} ({meta.get('n_models')} models, spec {meta.get('spec_name')}): "
          f"fit (build + sampling) {fit_s:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        copies = {}
        for name, keep in (("after fit", (FIT_WRITES,)), ("bare folder", ())):
            copies[name] = Path(tmp) / name.replace(" ", "_")
            copies[name].mkdir()
            for path in fit_dir.iterdir():
                if path.is_file() and (not path.name.startswith("headline_")
                                       or path.name in keep):
                    shutil.copy2(path, copies[name] / path.name)
        if not (copies["after fit"] / FIT_WRITES).is_file():
            print(f"  ({FIT_WRITES} not in {fit_dir}: 'after fit' is a bare folder too)")
        for run, folder in (("after fit", copies["after fit"]),
                            ("bare folder", copies["bare folder"]),
                            ("again", copies["after fit"])):
            print(f" {run}:")
            _postprocess_once(folder, repo, fit_s, report=report,
                              out=Path(tmp) / f"out_{run.replace(' ', '_')}")


def _postprocess_once(fit_dir: Path, repo: Path, fit_s: float, *, report: bool,
                      out: Path) -> None:
    headline = _time_cli(["headline", str(fit_dir), "--allow-warnings"], repo)
    if headline[2] == 2:  # an older CLI without --allow-warnings
        headline = _time_cli(["headline", str(fit_dir)], repo)
    timed = [("headline", headline)]
    if report:
        result = _time_cli(["report", str(fit_dir), "--out", str(out), "--allow-warnings"],
                           repo)
        if result[2] == 2:
            result = _time_cli(["report", str(fit_dir), "--out", str(out) + "_2"], repo)
        timed.append(("report", result))
    _print(timed, fit_s)


def _print(timed: list, fit_s: float) -> None:
    for name, (seconds, cpu, rc) in timed:
        print(f"  {name:<9} {seconds:6.1f} s wall, {cpu:6.1f} s CPU  ({seconds / fit_s:.2f} x "
              f"the fit's wall time; exit {rc})", flush=True)


def stages(fit_dir: Path) -> None:
    """Time the steps of headline and report in this process (this checkout's code)."""
    sys.path.insert(0, str(REPO))
    t0 = time.perf_counter()
    from bayes_llm.derived import headline_draws, headline_table
    from bayes_llm.model import load_fit
    from bayes_llm.model.diagnostics import diagnose
    from bayes_llm.report import build_report

    rows = [("imports (derived, model, report)", time.perf_counter() - t0)]
    t = time.perf_counter()
    fit = load_fit(fit_dir)
    rows.append(("load_fit (diagnostics rebuilt from the saved files)",
                 time.perf_counter() - t))
    try:
        from bayes_llm.model.fit import POINTWISE_GROUPS

        t = time.perf_counter()
        load_fit(fit_dir, omit=POINTWISE_GROUPS)
        rows.append(("  again, imports warm, without log_likelihood, log_prior",
                     time.perf_counter() - t))
    except ImportError:  # an older checkout
        pass
    t = time.perf_counter()
    diagnose(fit.dt)
    rows.append(("  recomputing them instead, diagnose() (not done on load)",
                 time.perf_counter() - t))
    t = time.perf_counter()
    draws = headline_draws(fit)
    rows.append(("headline_draws", time.perf_counter() - t))
    t = time.perf_counter()
    headline_table(fit, draws=draws)
    rows.append(("headline_table (given draws: the paper's OLS values)",
                 time.perf_counter() - t))
    t = time.perf_counter()
    report = build_report(fit_dir)
    rows.append(("build_report (total)", time.perf_counter() - t))
    rows += [(f"  report: {name}", seconds) for name, seconds in
             getattr(report, "timings", {}).items()]
    print(f"stages on {fit_dir}:")
    for name, seconds in rows:
        print(f"  {name:<58} {seconds:6.2f} s")


def profile(fit_dir: Path, top: int) -> None:
    """Print the ``top`` bayes_llm functions by cumulative time in ``build_report``."""
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(REPO))
    from bayes_llm.report import build_report

    profiler = cProfile.Profile()
    profiler.runcall(build_report, fit_dir)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats(r"bayes_llm[/\\]", top)
    print(f"cProfile of build_report({fit_dir}) (profiling slows it; compare shares):")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))


def synthetic_fit(n_models: int, draws: int, chains: int, out: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from bayes_llm.data import load_paper_dataset
    from bayes_llm.model import fit_model, load_spec
    from bayes_llm.verify.simulate import simulate, synthetic_design

    if (out / "metadata.json").is_file():
        print(f"reusing {out}")
        return out
    spec = load_spec("binomial_developers").with_changes(
        sampler={"draws": draws, "tune": draws, "chains": chains, "seed": 1})
    df = load_paper_dataset()
    design = synthetic_design(df, n_models, n_developers=min(1000, n_models), seed=1)
    data = simulate(spec, design, seed=1).df
    t = time.perf_counter()
    fit = fit_model(spec, data, progressbar=False)
    print(f"synthetic fit of {n_models} models: {time.perf_counter() - t:.1f} s "
          f"({chains} chains x {draws} draws)")
    fit.save(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--startup", action="store_true", help="Time CLI start-up.")
    parser.add_argument("--fit", action="append", type=Path, default=[],
                        help="A fit folder to post-process (repeatable).")
    parser.add_argument("--stages", action="store_true", help="Break the time down.")
    parser.add_argument("--synthetic", type=int, help="Also fit N synthetic models first.")
    parser.add_argument("--synthetic-out", type=Path,
                        default=REPO / "results" / "bench_postprocess")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="Checkout whose CLI is timed (default: this one).")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-report", action="store_true", help="Time headline only.")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="cProfile build_report; print the top N bayes_llm functions.")
    args = parser.parse_args()
    fits = list(args.fit)
    if args.synthetic:
        fits.append(synthetic_fit(args.synthetic, args.draws, args.chains,
                                  args.synthetic_out / f"fit_{args.synthetic}"))
    if args.startup or not fits:
        startup(args.repo, args.repeat)
    for fit_dir in fits:
        postprocess(fit_dir, args.repo, report=not args.no_report)
        if args.stages:
            stages(fit_dir)
        if args.profile:
            profile(fit_dir, args.profile)


if __name__ == "__main__":
    main()
