"""A worker's share of the CPU for every thread pool in its process, not only torch's.

Floor 0: imports nothing else of ours but the argument checks.

A cell worker (``--jobs N``, a Ray task) trains with ``torch.set_num_threads(share)``, but the same
process holds other pools that start with one thread per core: numpy's and scipy's OpenBLAS, the
OpenBLAS that OpenCV bundles (albumentations), OpenMP runtimes, OpenCV's own ``parallel_for``. After
each call an OpenBLAS thread spins on ``sched_yield`` waiting for more work; with two workers on two
cores those threads take CPU from the training threads (seen on 2026-12-07: load ~4 with two cells,
one spinning thread per worker). :func:`limit_threads` caps them all: ``threadpoolctl`` (a
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
