"""Experiments: the typed recipe (:mod:`~scarce.experiment.config`), who trains a row
(:mod:`~scarce.experiment.learners`), model selection, one cell (:mod:`~scarce.experiment.cells`),
the preflight and the resumable grid runner (:mod:`~scarce.experiment.runner`) with its log."""

from scarce.experiment.config import ExperimentConfig, load_config

__all__ = ["Experiment", "ExperimentConfig", "load_config"]


def __getattr__(name):  # lazy: the runner imports torch only when used
    if name == "Experiment":
        from scarce.experiment import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'scarce.experiment' has no attribute {name!r}")
