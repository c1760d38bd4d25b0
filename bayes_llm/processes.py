"""Run tasks here, in a local process pool or on Dask; workers never outlive their parent."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bayes_llm.errors import BayesLLMError

#: How long to wait for a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT = "20s"
#: How often a worker checks that its parent is still alive (seconds).
PARENT_POLL_SECONDS = 1.0
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as ``parent`` (the study's process) dies.

    Even a ``kill -9`` of the parent leaves no orphaned worker sampling on: on Linux the
    kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a
    daemon thread checks every :data:`PARENT_POLL_SECONDS` that the parent is still the
    parent (an orphan is re-parented) and exits otherwise.

    Parameters
    ----------
    parent : int
        The process id of the parent, taken in the parent (``os.getpid()``).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - the poll below still works
            pass
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="bayes_llm-parent-watch", daemon=True).start()


def execute(fn: Callable, tasks: list, *, workers: int = 1,
            scheduler: str | None = None) -> Iterator[tuple[Any, Any, BaseException | None]]:
    """Run ``fn`` on every task; yield ``(task, result, exception)`` as each finishes.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one task.
    tasks : list
        The tasks.
    workers : int
        1: run here, one after another; more: a local process pool (spawned processes).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``); overrides ``workers``.
    """
    if not tasks:
        return
    if scheduler:
        yield from _execute_dask(fn, tasks, scheduler)
        return
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            try:
                yield task, fn(task), None
            except Exception as exc:  # noqa: BLE001 - reported per task
                yield task, None, exc
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                               mp_context=mp.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(fn, task): task for task in tasks}
        for future in as_completed(futures):
            exc = future.exception()
            yield futures[future], (None if exc else future.result()), exc
    except BaseException:
        # Interrupted (Ctrl-C, or the caller stopped iterating): stop the running fits
        # now. Finished variants are already in the cache; a re-run resumes from there.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute_dask(fn: Callable, tasks: list, scheduler: str):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise BayesLLMError("--scheduler needs dask.distributed: pip install "
                            "'dask[distributed]'") from exc
    try:
        client = Client(scheduler, set_as_default=False, timeout=DASK_CONNECT_TIMEOUT)
    except OSError as exc:
        raise BayesLLMError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") \
            from exc
    try:
        futures = {client.submit(fn, task, pure=False): task for task in tasks}
        for future in as_completed(list(futures), loop=client.loop):
            try:
                yield futures[future], future.result(), None
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                yield futures[future], None, exc
    finally:
        client.close()


__all__ = ["PARENT_POLL_SECONDS", "die_with_parent", "execute"]
