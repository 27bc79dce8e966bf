"""Cells as Ray tasks: a local cluster sized to this machine, or an existing cluster (``address``).

Each pending cell is one Ray task holding ``cpus_per_cell`` CPUs and ``gpus_per_cell`` GPUs
(fractions allowed); every thread pool in the task (torch, BLAS, OpenMP, OpenCV) uses
``max(1, int(cpus_per_cell))`` threads (:mod:`scarce._threads`). A task whose
worker process dies (killed, out of memory) is retried up to :data:`MAX_RETRIES` times by Ray; a
cell that still could not run becomes the runner's failed record (``lost``), and a cell whose code
raises is already a failed record (:mod:`scarce.experiment.cells`), so the sweep goes on. Only
the driver writes the results log: it takes results in completion order (``ray.wait``).

``ray`` is imported only here, when a sweep runs: ``pip install 'scarce[ray]'``. See
docs/scale_out.md for clusters, resources and the shared-filesystem requirement.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
from collections.abc import Iterable

from scarce._checks import check_float
from scarce._threads import limit_threads

MAX_RETRIES = 2
"""Times Ray reruns a cell whose worker process died before giving it up."""
FORWARDED_ENV = ("SCARCE_DATA", "SCARCE_CACHE")
"""Environment variables of the driver that tasks see too (when this executor starts the cluster)."""
INSTALL = "pip install 'scarce[ray]'"


def _ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError(f"`--executor ray` needs Ray: {INSTALL}.") from err
    return ray


def _run_one(fn, task, threads: int, imports: tuple[str, ...]):
    limit_threads(threads)  # every pool of the worker, not only torch's (scarce._threads)
    for name in imports:
        importlib.import_module(name)
    return fn(task)


class RayExecutor:
    """Run each task as a Ray task with a CPU/GPU share.

    Args:
        address: the cluster to join (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:PORT"``); ``None``
            starts a local cluster with ``os.cpu_count()`` CPUs for the sweep and stops it after.
        cpus_per_cell: CPUs each task holds (> 0, fractions allowed).
        gpus_per_cell: GPUs each task holds (>= 0, fractions allowed).
        imports: modules each task imports first (plug-ins registered at import).
        max_retries: reruns of a task whose worker died.

    Raises:
        ImportError: Ray is not installed (names the extra to install).
        ValueError: a resource out of range or an empty address.

    Example:
        >>> RayExecutor(cpus_per_cell=0.5).cpus_per_cell  # doctest: +SKIP
        0.5
    """

    def __init__(self, *, address: str | None = None, cpus_per_cell: float = 1.0, gpus_per_cell: float = 0.0,
                 imports: Iterable[str] = (), max_retries: int = MAX_RETRIES) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"`run.address` must be a cluster address such as 'auto' or 'HOST:6379', got {address!r}.")
        self.cpus_per_cell = check_float("run.cpus_per_cell", cpus_per_cell, low=0.0, low_inclusive=False)
        self.gpus_per_cell = check_float("run.gpus_per_cell", gpus_per_cell, low=0.0)
        self.address, self.imports, self.max_retries = address, tuple(imports), max_retries
        if importlib.util.find_spec("ray") is None:  # before any work, without importing it
            raise ImportError(f"`--executor ray` needs Ray, which is not installed: {INSTALL}.")

    def _init(self, ray) -> bool:
        """Connect (or start a local cluster); True when this call started it."""
        if ray.is_initialized():
            return False
        options = dict(include_dashboard=False, log_to_driver=False)
        if self.address is None:
            env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
            options.update(num_cpus=os.cpu_count() or 1, runtime_env={"env_vars": env} if env else None)
        ray.init(address=self.address, **options)
        return True

    def run(self, fn, tasks, *, lost=None):
        tasks = list(tasks)
        if not tasks:
            return
        ray = _ray()
        started = self._init(ray)
        threads = max(1, math.floor(self.cpus_per_cell))
        remote = ray.remote(_run_one).options(num_cpus=self.cpus_per_cell, num_gpus=self.gpus_per_cell,
                                              max_retries=self.max_retries, retry_exceptions=False)
        pending = {}
        try:
            fn_ref = ray.put(fn)
            pending = {remote.remote(fn_ref, t, threads, self.imports): t for t in tasks}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayError as err:  # the worker died past its retries, or the task never ran
                    if lost is None:
                        raise
                    result = lost(task, err)
                yield task, result
        finally:
            for ref in pending:  # an interrupted driver leaves no task running for nobody
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
