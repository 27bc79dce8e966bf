"""Reports of an ablation: statistics (:mod:`~scarce.report.stats`), :class:`Results` and its tables
(:mod:`~scarce.report.results`), plots (:mod:`~scarce.report.plots`) and the HTML page
(:mod:`~scarce.report.html`), all rebuilt from a run folder's ``results.jsonl``."""


def __getattr__(name):  # lazy: matplotlib loads only when a report is built
    if name == "Results":
        from scarce.report.results import Results

        return Results
    if name in ("ablate", "run_and_report"):
        from scarce.report import ablation

        return getattr(ablation, name)
    raise AttributeError(f"module 'scarce.report' has no attribute {name!r}")


__all__ = ["Results", "ablate", "run_and_report"]
