"""A plug-in remedy for the Ray tests, registered on import (``run.imports``) in the driver and in the
Ray workers: it kills its worker process on its first call (marked by a file), so Ray must retry the cell."""

import os
from dataclasses import dataclass
from pathlib import Path

from scarce.remedies import REMEDIES, Remedy


@dataclass(frozen=True)
class DieOnce(Remedy):
    marker: str = ""
    name = "die_once"

    def apply(self, setup, *, seed):
        marker = Path(self.marker)
        if self.marker and len(setup.train) > 30 and not marker.exists():  # a real cell, not the preflight
            marker.write_text("died once\n")
            os._exit(1)  # the worker process dies, as under kill -9 or the OOM killer
        return setup


if "die_once" not in REMEDIES:
    REMEDIES.register("die_once", DieOnce, help="test only: kills its worker once")
