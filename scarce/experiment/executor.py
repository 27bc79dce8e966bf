"""Where cells run: in this process (default) or in a local process pool (``--jobs N``).

An executor takes a picklable function and a list of tasks and yields ``(task, result)`` as each
finishes; a distributed engine only needs to implement the same ``run`` method.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class Executor(Protocol):
    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]: ...


class InProcessExecutor:
    """Run tasks one after another in this process."""

    def run(self, fn, tasks):
        for task in tasks:
            yield task, fn(task)


ORPHAN_CHECK_SECONDS = 1.0
"""How often a pool worker checks that the process that started it is still alive."""


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:  # the driver died (kill -9, OOM): nobody will read our results
            os._exit(1)


def _init_worker(threads: int, parent: int) -> None:
    import torch

    torch.set_num_threads(threads)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="scarce-orphan-check").start()


class ProcessPoolExecutor:
    """Run tasks in ``jobs`` spawned processes, splitting the machine's cores between them. A worker
    whose driver dies (killed, out of memory) exits within about :data:`ORPHAN_CHECK_SECONDS`."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def run(self, fn, tasks):
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker,
                                    initargs=(threads, os.getpid())) as pool:
            futures = {pool.submit(fn, t): t for t in tasks}
            try:
                for fut in cf.as_completed(futures):
                    yield futures[fut], fut.result()
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise


def make_executor(jobs: int) -> Executor:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1, got {jobs!r}.")
    return InProcessExecutor() if jobs == 1 else ProcessPoolExecutor(jobs)
