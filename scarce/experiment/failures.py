"""Failed cells: a cell whose code raises is logged as its own record and the sweep goes on.

Every executor runs :func:`run_cell`, which turns an exception raised by a cell into a *failed*
record (``status: "failed"``, ``error: "<Type>: <message>"``, ``traceback``: the innermost frames,
``seconds``) instead of letting it end the sweep. A failed record never counts as a finished cell
(:func:`scarce.experiment.log.read_log` leaves it out), so rerunning the same command retries the
cell; ``Results`` lists the cells that are still failed in a "Failed cells" section of
``results.md``. Interrupts (``KeyboardInterrupt``) and exits are not caught.
"""

from __future__ import annotations

import time
import traceback

from scarce.experiment.cells import Task, run_task
from scarce.experiment.config import ExperimentConfig
from scarce.experiment.log import FAILED

TRACEBACK_FRAMES = 4
"""Innermost frames of a failed cell's traceback kept in its record."""


def describe(error: BaseException) -> str:
    """``"<Type>: <message>"``, the ``error`` of a failed record (one line)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def failed_record(task: Task, *, error: str, seconds: float, trace: str | None = None) -> dict:
    """The log record of a failed cell.

    Args:
        task: the cell.
        error: what went wrong, ``"<Type>: <message>"`` (see :func:`describe`).
        seconds: time spent in the cell before it failed.
        trace: the innermost frames of the traceback, if any.

    Example:
        >>> failed_record(Task("baseline", "baseline", 5, 0), error="ValueError: bad", seconds=0.5)["key"]
        'baseline|5|0'
    """
    record = {"key": task.key, "remedy": task.label, "size": task.size, "seed": task.seed, "status": FAILED,
              "error": error, "seconds": round(seconds, 3)}
    if trace:
        record["traceback"] = trace
    return record


def run_cell(config: ExperimentConfig, data_root: str | None, task: Task) -> dict:
    """:func:`scarce.experiment.cells.run_task`, with an exception turned into a failed record."""
    start = time.perf_counter()
    try:
        return run_task(config, data_root, task)
    except Exception as err:  # noqa: BLE001  (any error of a cell's code is that cell's failure)
        trace = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-TRACEBACK_FRAMES))
        return failed_record(task, error=describe(err), seconds=time.perf_counter() - start, trace=trace)
