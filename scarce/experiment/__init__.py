"""Experiments: training setups, remedies, the grid runner and its results."""

from scarce.experiment.config import ExperimentConfig, load_config
from scarce.experiment.setup import REMEDIES, Baseline, Chain, Remedy, TrainSetup, create_remedy, list_remedies

__all__ = ["Baseline", "Chain", "Experiment", "ExperimentConfig", "REMEDIES", "Remedy", "Results", "TrainSetup",
           "Search", "ablate", "create_remedy", "list_remedies", "load_config", "search"]


def __getattr__(name):  # lazy: the runner imports torch only when used
    if name in ("Experiment", "ablate"):
        from scarce.experiment import runner

        return getattr(runner, name)
    if name in ("Search", "search"):
        from scarce.experiment import search

        return getattr(search, name)
    if name == "Results":
        from scarce.experiment.results import Results

        return Results
    raise AttributeError(f"module 'scarce.experiment' has no attribute {name!r}")
