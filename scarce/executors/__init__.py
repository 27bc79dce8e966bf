"""Where cells run: this process, local processes (:mod:`~scarce.executors.local`) or a Ray cluster
(:mod:`~scarce.executors.ray_cluster`), by name from a recipe's ``run:`` section (:data:`EXECUTORS`)."""

from scarce.executors.local import EXECUTORS, Executor, create_executor, import_modules

__all__ = ["EXECUTORS", "Executor", "create_executor", "import_modules"]
