"""Where cells run: in this process (default), in a local process pool (``--jobs N``) or on a Ray
cluster (``--executor ray``, :mod:`scarce.executors.ray_cluster`).

An executor takes a picklable function and a list of tasks and yields ``(task, result)`` as each
finishes; a distributed engine only needs to implement the same ``run`` method. ``lost(task,
error)`` makes the result of a task that could not run at all (its worker died more often than the
engine retries it); an executor without workers to lose never calls it. Executors are registered
in :data:`EXECUTORS` and built from a config's ``run:`` section by :func:`create_executor`.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from scarce._checks import check_int
from scarce._threads import limit_threads
from scarce.registry import Registry


class Executor(Protocol):
    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any], *,
            lost: Callable[[Any, BaseException], Any] | None = None) -> Iterator[tuple[Any, Any]]: ...


class InProcessExecutor:
    """Run tasks one after another in this process."""

    def run(self, fn, tasks, *, lost=None):
        for task in tasks:
            yield task, fn(task)


ORPHAN_CHECK_SECONDS = 1.0
"""How often a pool worker checks that the process that started it is still alive."""


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:  # the driver died (kill -9, OOM): nobody will read our results
            os._exit(1)


def import_modules(names: Iterable[str]) -> None:
    """Import the plug-in modules a config's ``run.imports`` names (each registers what it defines)."""
    for i, name in enumerate(names):
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"`run.imports[{i}]` must name an importable module, got {name!r}: {err}.") from err


def _init_worker(threads: int, parent: int, imports: tuple[str, ...] = ()) -> None:
    limit_threads(threads)  # every pool of the worker, not only torch's (scarce._threads)
    import_modules(imports)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="scarce-orphan-check").start()


class ProcessPoolExecutor:
    """Run tasks in ``jobs`` spawned processes, splitting the machine's cores between them. A worker
    whose driver dies (killed, out of memory) exits within about :data:`ORPHAN_CHECK_SECONDS`."""

    def __init__(self, jobs: int, *, imports: Iterable[str] = ()) -> None:
        self.jobs, self.imports = jobs, tuple(imports)

    def run(self, fn, tasks, *, lost=None):
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker,
                                    initargs=(threads, os.getpid(), self.imports)) as pool:
            futures = {pool.submit(fn, t): t for t in tasks}
            try:
                for fut in cf.as_completed(futures):
                    yield futures[fut], fut.result()
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise


def local_executor(*, jobs: int = 1, imports: Iterable[str] = ()) -> Executor:
    """This machine: in this process (``jobs=1``) or in ``jobs`` spawned processes."""
    check_int("run.jobs", jobs, minimum=1)
    return InProcessExecutor() if jobs == 1 else ProcessPoolExecutor(jobs, imports=imports)


EXECUTORS = Registry("executor")
"""Executors by name; ``options``: the ``run:`` keys each one takes."""
EXECUTORS.register("local", local_executor, help="this machine: in this process, or `jobs` local processes",
                   options=("jobs", "imports"))
EXECUTORS.register("ray", "scarce.executors.ray_cluster:RayExecutor",
                   help="a Ray cluster (pip install 'scarce[ray]'): one task per cell with its CPU/GPU share",
                   options=("address", "cpus_per_cell", "gpus_per_cell", "imports"))


def create_executor(run: Any) -> Executor:
    """The executor a config's ``run:`` section names, built with the options it takes.

    Args:
        run: the section (a dataclass: ``scarce.experiment.config.RunSection``) with ``executor`` and
            the options of every executor; an option away from its field default must be one the
            chosen executor takes.

    Raises:
        ValueError: an unknown executor, or an option set away from its default that the chosen
            executor does not take (``jobs: 4`` with ``executor: ray``).
    """
    meta = EXECUTORS.meta(run.executor)
    for f in dataclasses.fields(run):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        if f.name != "executor" and f.name not in meta["options"] and getattr(run, f.name) != default:
            takers = [n for n in EXECUTORS.names() if f.name in EXECUTORS.meta(n)["options"]]
            raise ValueError(f"`run.{f.name}` applies to the {' / '.join(takers)} executor only, got "
                             f"{f.name}={getattr(run, f.name)!r} with executor {run.executor!r}.")
    return EXECUTORS.create(run.executor, **{k: getattr(run, k) for k in meta["options"]})
