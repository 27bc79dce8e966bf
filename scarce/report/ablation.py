"""An ablation end to end: the grid run by :class:`~scarce.experiment.runner.Experiment` (cells
appended to ``results.jsonl``), then its report rebuilt from that log (:class:`Results`: tables,
plots, ``report.html``).

The runner sits below the report and writes only the log and the resolved config; this module is
where the two meet, for the CLI (``scarce ablate``), the search and the Python API.

Example:
    >>> import tempfile
    >>> from scarce.experiment.config import ExperimentConfig
    >>> cfg = ExperimentConfig(sizes=[5], seeds=[0], remedies=["baseline"], references=[])
    >>> cfg.train.steps = 2
    >>> results = ablate(cfg, out_dir=tempfile.mkdtemp(), progress=False)
    >>> sorted({r["remedy"] for r in results.records})
    ['baseline']
"""

from __future__ import annotations

from typing import Any

from scarce.experiment.config import ExperimentConfig
from scarce.experiment.runner import Experiment
from scarce.report.results import Results


def run_and_report(experiment: Experiment) -> Results:
    """Run ``experiment``'s pending cells, then write its report; returns the rebuilt ``Results``."""
    experiment.run()
    results = Results.from_dir(experiment.out_dir)
    results.write(experiment.out_dir)
    return results


def ablate(config: ExperimentConfig, **kwargs: Any) -> Results:
    """Shortcut: ``run_and_report(Experiment(config, **kwargs))``."""
    return run_and_report(Experiment(config, **kwargs))
