"""Where cells run: in this process (default) or in a local process pool (``--jobs N``).

An executor takes a picklable function and a list of tasks and yields ``(task, result)`` as each
finishes; a distributed engine only needs to implement the same ``run`` method.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class Executor(Protocol):
    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]: ...


class InProcessExecutor:
    """Run tasks one after another in this process."""

    def run(self, fn, tasks):
        for task in tasks:
            yield task, fn(task)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class ProcessPoolExecutor:
    """Run tasks in ``jobs`` spawned processes, splitting the machine's cores between them."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def run(self, fn, tasks):
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
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
