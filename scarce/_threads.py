"""A worker's share of the CPU for every thread pool in its process, not only torch's.

Floor 0: imports nothing else of ours but the argument checks.

A cell worker (``--jobs N``, a Ray task) trains with ``torch.set_num_threads(share)``, but the same
process holds other pools that start with one thread per core: numpy's and scipy's OpenBLAS, the
OpenBLAS that OpenCV bundles (albumentations), OpenMP runtimes, OpenCV's own ``parallel_for``: N
workers on C cores start about 5 N C such threads, and an idle OpenBLAS thread spins on
``sched_yield`` for a while after each call. On the 2-core machine this cost nothing measurable
(docs/results/throughput.md, "Thread pools in pool workers"); the pools grow with the cores.
:func:`limit_threads` caps them all: ``threadpoolctl`` (a
scikit-learn dependency, written for exactly this) the pools already loaded, the environment those
loaded later (each library reads its variable when it loads), OpenCV directly if it is loaded.
"""

from __future__ import annotations

import os
import sys

from scarce._checks import check_int

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")
"""What the libraries loaded after :func:`limit_threads` read for their pool sizes."""


def limit_threads(threads: int) -> None:
    """Give every thread pool of this process at most ``threads`` threads (a smaller limit already set
    in the environment is kept). Call it first thing in a worker process."""
    import threadpoolctl
    import torch

    check_int("threads", threads, minimum=1)
    for name in THREAD_VARIABLES:
        current = os.environ.get(name, "")
        os.environ[name] = str(min(threads, int(current)) if current.isdigit() and int(current) > 0 else threads)
    threadpoolctl.threadpool_limits(limits=threads)
    torch.set_num_threads(threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)
