"""Draw the report's fit-only figures in a second process, while the report is built.

Most of a report's time is matplotlib laying out and rendering figures. The figures in
:data:`WORKER_FIGURES` need nothing but the saved fit (and the data it was fitted on), so
:func:`start` hands them to one spawned worker process at the start of
:func:`bayes_llm.report.build.build_report`; the worker loads the fit from its folder and
draws them while the main process computes the headline figures, the checks and the other
figures. :func:`make_fit_figure` is the one recipe of each figure, used by the worker and
by the main process alike (serially, or when the worker fails), so both draw the same
figure.

The worker is used only where it can help: at least two CPUs available to this process,
and not switched off (``BAYES_LLM_FIGURE_WORKER=0`` or ``figure_process=False``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

#: Figures drawn from the fit (and its data, and the paper's OLS) alone, in report order.
FIT_FIGURES: tuple[str, ...] = ("data_overview", "trace", "rank", "score_vs_compute",
                                "developer_effects", "frontier_decomposition")
#: The ones the worker draws. Chosen so that the worker (start-up, imports, loading the
#: fit: ~2 s, then ~3 s of figures on the default fit) finishes before the main process
#: (~6 s of headline figures, checks and the other figures); the two results figures that
#: need the paper's OLS stay with the main process, which has it.
WORKER_FIGURES: tuple[str, ...] = ("data_overview", "trace", "rank", "score_vs_compute")
#: Environment variable that switches the worker off (``0``) or on (``1``).
ENV_VAR = "BAYES_LLM_FIGURE_WORKER"
#: Seconds the report waits for the worker before drawing the figures itself.
WAIT_SECONDS = 300.0
#: Seconds given to a stopped worker to exit before it is killed.
CLOSE_SECONDS = 10.0


def make_fit_figure(key: str, fit, df: pd.DataFrame | None, baseline=None, *,
                    thin: int | None = None, components=None):
    """Draw one of :data:`FIT_FIGURES` (a matplotlib figure, not rendered).

    Parameters
    ----------
    key : str
        The figure's key.
    fit : Fit
        The fit.
    df : DataFrame or None
        The data the fit was made on (``None``: the models saved with the fit).
    baseline : OLSFit, optional
        The paper's OLS for this fit (red crosses of the results figures).
    thin : int, optional
        The rank plot's thinning, that of the report's rank tests (default
        :func:`bayes_llm.plots.diagnostics.rank_thin_factor`).
    components : DataArray, optional
        The fit's components (:func:`bayes_llm.derived.fast.fast_components`), already
        computed for the headline: the results figures reuse them.
    """
    if key == "data_overview":
        from bayes_llm.plots.scaling import plot_data_overview
        from bayes_llm.report.build import models_frame

        frame = df if df is not None else models_frame(fit)
        return plot_data_overview(df=frame, outcome=fit.spec.outcome)
    if key == "trace":
        from bayes_llm.plots.diagnostics import plot_trace

        return plot_trace(fit=fit)
    if key == "rank":
        from bayes_llm.plots.diagnostics import plot_rank

        return plot_rank(fit=fit, thin=thin)
    if key == "score_vs_compute":
        from bayes_llm.plots.scaling import plot_score_vs_compute

        return plot_score_vs_compute(fit=fit)
    if key == "developer_effects":
        from bayes_llm.plots.developers import plot_developer_effects

        return plot_developer_effects(fit=fit, baseline=baseline, df=df,
                                      components=components)
    if key == "frontier_decomposition":
        from bayes_llm.plots.frontier import plot_frontier_decomposition

        return plot_frontier_decomposition(fit=fit, baseline=baseline, df=df,
                                           components=components)
    raise KeyError(f"not a fit-only figure: {key!r}")


def render_fit_figures(fit_dir: str, df: pd.DataFrame | None, interval: tuple[float, str],
                       keys: list[str]) -> dict[str, bytes | str]:
    """Load the fit in ``fit_dir`` and render ``keys`` (the worker's task).

    The keys are figures that need no paper OLS (:data:`WORKER_FIGURES`): the worker
    would draw the results figures without their red crosses.

    Returns
    -------
    dict
        PNG bytes per key, or the error message (``"Type: message"``) of a figure that
        failed; the main process then draws that one itself.
    """
    from bayes_llm.derived.summary import interval_setting
    from bayes_llm.model import load_fit
    from bayes_llm.model.fit import POINTWISE_GROUPS
    from bayes_llm.plots._style import close, figure_png

    needs_ols = {"developer_effects", "frontier_decomposition"} & set(keys)
    if needs_ols:
        raise ValueError(f"the figure worker draws no figure that needs the paper's OLS: "
                         f"{sorted(needs_ols)}")
    out: dict[str, bytes | str] = {}
    with interval_setting(*interval):
        fit = load_fit(Path(fit_dir), df=df, omit=POINTWISE_GROUPS)
        for key in keys:
            try:
                fig = make_fit_figure(key, fit, df)
                out[key] = figure_png(fig)
                close(fig)
            except Exception as exc:  # noqa: BLE001 - drawn again (and reported) by the caller
                out[key] = f"{type(exc).__name__}: {exc}"
    return out


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def wanted(figure_worker: bool | None) -> bool:
    """Whether to use the worker: the argument, else the environment, else >= 2 CPUs."""
    if figure_worker is not None:
        return figure_worker
    setting = os.environ.get(ENV_VAR, "").strip().lower()
    if setting in {"0", "false", "no", "off"}:
        return False
    if setting in {"1", "true", "yes", "on"}:
        return True
    return available_cpus() >= 2


def _work(writer, parent: int, fit_dir: str, df: pd.DataFrame | None,
          interval: tuple[float, str], keys: list[str]) -> None:
    """Run in the worker: render the figures, send ``("ok", figures)`` or ``("error", why)``."""
    from bayes_llm.processes import die_with_parent

    die_with_parent(parent)
    try:
        message = ("ok", render_fit_figures(fit_dir, df, interval, keys))
    except Exception as exc:  # noqa: BLE001 - reported by the parent, which draws them itself
        message = ("error", f"{type(exc).__name__}: {exc}")
    writer.send(message)
    writer.close()


class FigureWorker:
    """One spawned process rendering some of :data:`FIT_FIGURES` of a fit folder.

    A plain process and a one-way pipe whose write end only the worker holds: if the worker
    dies or is stopped, even half-way through sending its figures, the parent's read ends
    with ``EOFError`` instead of waiting for ever. (A ``ProcessPoolExecutor`` whose worker
    was terminated while sending its result left its manager thread blocked in ``recv``, and
    ``shutdown(wait=True)`` with it: a hang seen once in CI.)
    """

    def __init__(self, fit_dir: Path, df: pd.DataFrame | None, interval: tuple[float, str],
                 keys: list[str]):
        import multiprocessing as mp

        context = mp.get_context("spawn")
        self.keys = list(keys)
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_work, args=(writer, os.getpid(), str(fit_dir), df, interval, self.keys),
            daemon=True, name="bayes_llm-figure-worker")
        self._process.start()
        writer.close()  # the worker's copy is the only one left
        self._done = False

    def results(self, timeout: float = WAIT_SECONDS) -> tuple[dict[str, bytes | str], str]:
        """Wait for the worker; return its results and ``""``, or ``{}`` and why it failed."""
        try:
            if not self._reader.poll(timeout):
                return {}, f"TimeoutError: no figures after {timeout:g} s"
            status, payload = self._reader.recv()
            self._done = True
            if status != "ok":
                return {}, payload
            return payload, ""
        except (EOFError, OSError) as exc:
            return {}, (f"WorkerDied: the figure worker ended without sending its figures "
                        f"(exit code {self._process.exitcode}; {type(exc).__name__})")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker (at once if it is still running) and release the pipe."""
        if self._process.is_alive() and not self._done:
            self._process.terminate()
        self._process.join(timeout=CLOSE_SECONDS)
        if self._process.is_alive():  # pragma: no cover - terminate was ignored
            self._process.kill()
            self._process.join(timeout=CLOSE_SECONDS)
        self._reader.close()


def start(fit_dir: Path, df: pd.DataFrame | None, interval: tuple[float, str],
          figure_worker: bool | None = None) -> FigureWorker | None:
    """Start the worker on :data:`WORKER_FIGURES` when :func:`wanted`; else ``None``."""
    if not wanted(figure_worker):
        return None
    try:
        return FigureWorker(fit_dir, df, interval, list(WORKER_FIGURES))
    except Exception:  # noqa: BLE001 - no worker (e.g. no process may be spawned): serial
        return None
