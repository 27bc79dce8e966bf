"""``scarce search``: race a recipe's remedies (and the pairs of them that compose) on the user's
own data within a budget, and write the winner as a recipe (``best.yaml``).

The race runs at one size (default: every labelled example of the smallest class, so all the
user's data per class) and adds one seed per round. Every candidate still in the race and the
reference row run the round's seed, through the normal runner (:class:`Experiment`): the same
subsets, the same tuning and selection as an ablation, one resumable ``results.jsonl``, any
executor. After a round with at least ``min_seeds`` seeds, a candidate is dropped when it is
significantly worse than the current leader: a paired test over the seeds run so far (the
ablation tables' test, :func:`scarce.metrics.paired_pvalue`), Holm-adjusted over the candidates
compared in that round, at level ``alpha``. The reference (usually ``baseline``) is never dropped
and may lead: then no remedy helped. The race ends when one candidate is left besides the
reference, the budget is spent or the seed cap is reached.

Every decision is a function of the log, so a killed search rerun with the same arguments replays
the finished rounds from ``results.jsonl`` (no cell runs twice) and goes on where it stopped.

Example:
    >>> budget = parse_budget("300cells")
    >>> (budget.cells, budget.seconds)
    (300, None)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce.experiment.plan import get_bundle
from scarce.remedies.composition import check_remedy
from scarce.experiment.config import ExperimentConfig
from scarce.experiment.log import LOG, is_failed, read_records
from scarce.report.stats import resolve_metric, test_counts
from scarce.experiment.runner import Experiment
from scarce.report.ablation import run_and_report
from scarce.remedies.base import create_remedy, remedy_label
from scarce.metrics import holm, paired_pvalue

COMBINE = ("pairs", "none")
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(h|m|min|s|cells?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}


@dataclass(frozen=True)
class Budget:
    """What the search may spend: a number of cells or of seconds of cell time (one of the two)."""

    cells: int | None = None
    seconds: float | None = None

    def allows(self, *, cells_done: int, seconds_done: float, next_cells: int, next_seconds: float) -> bool:
        """Whether a round of ``next_cells`` cells (about ``next_seconds``) still fits."""
        if self.cells is not None:
            return cells_done + next_cells <= self.cells
        return seconds_done + next_seconds <= self.seconds

    def __str__(self) -> str:
        return f"{self.cells} cells" if self.cells is not None else f"{self.seconds:g} s of cell time"


def parse_budget(text: Any) -> Budget:
    """``"2h"``, ``"90m"``, ``"45s"`` (cell time) or ``"300cells"``; positive.

    Raises:
        ValueError: anything else, naming ``--budget``, the accepted forms and the value given.
    """
    m = _BUDGET.match(str(text)) if isinstance(text, (str, int, float)) and not isinstance(text, bool) else None
    if m is None:
        raise ValueError(f"`--budget` must be a duration like 2h, 90m, 45s or a cell count like 300cells; got {text!r}.")
    value, unit = float(m.group(1)), m.group(2).lower()
    if value <= 0:
        raise ValueError(f"`--budget` must be positive, got {text!r}.")
    if unit.startswith("cell"):
        if value != int(value):
            raise ValueError(f"`--budget` in cells must be a whole number, got {text!r}.")
        return Budget(cells=int(value))
    return Budget(seconds=value * _UNIT_SECONDS[unit])


@dataclass(frozen=True)
class Candidate:
    """A remedy in the race: its row label and its spec (a chain for a pair)."""

    label: str
    spec: Any


def candidates(config: ExperimentConfig, *, combine: str, modality: str) -> tuple[Candidate, list[Candidate]]:
    """The reference row and the candidates: the recipe's remedy rows, then (``combine: pairs``)
    each pair of them in the first order the composition rules allow (pairs refused in both orders
    are left out).

    Raises:
        ValueError: the reference is not a remedy row, or there is nothing to race.
    """
    check_choice("combine", combine, COMBINE)
    rows = config.rows()
    ref = config.reference_label()
    by_label = {r.label: r for r in rows}
    if by_label.get(ref) is None or by_label[ref].learner is not None:
        raise ValueError(f"`reference` must be one of the recipe's `remedies` rows (the search races remedies on "
                         f"the engine's model); got {ref!r}.")
    singles = [Candidate(r.label, r.remedy) for r in rows if r.learner is None and r.label != ref]
    if not singles:
        raise ValueError("The recipe names no remedy besides the reference: give `remedies` at least two rows.")
    out = list(singles)
    if combine == "pairs":
        for i, a in enumerate(singles):
            for b in singles[i + 1:]:
                for first, second in ((a, b), (b, a)):
                    spec = {"name": "chain", "label": f"{first.label}+{second.label}",
                            "remedies": [first.spec, second.spec]}
                    try:
                        check_remedy(create_remedy(spec), modality=modality)
                    except ValueError:
                        continue
                    out.append(Candidate(spec["label"], spec))
                    break
    return Candidate(ref, by_label[ref].remedy), out


@dataclass
class Round:
    """One round of the race: its seed, who ran, and who was dropped after it (and why)."""

    index: int
    seed: int
    raced: list[str]
    leader: str | None = None
    dropped: list[dict] = field(default_factory=list)


@dataclass
class SearchResult:
    """The race: its rounds, the standing of every candidate and the winner (``reference`` when no
    remedy beat it), read from ``results.jsonl``."""

    out_dir: Path
    metric: str
    reference: Candidate
    candidates: list[Candidate]
    size: int
    rounds: list[Round]
    records: list[dict]
    stop_reason: str
    winner: str
    budget: Budget

    def values(self, label: str) -> dict[int, float]:
        """The metric per seed of a row."""
        return {r["seed"]: r["metrics"][self.metric] for r in self.records if r["remedy"] == label}


def round_seeds(config: ExperimentConfig, max_seeds: int) -> list[int]:
    """The recipe's seeds in order, then the smallest unused integers, ``max_seeds`` in all."""
    seeds = list(dict.fromkeys(config.seeds))[:max_seeds]
    extra = (s for s in range(10 ** 6) if s not in set(seeds))
    while len(seeds) < max_seeds:
        seeds.append(next(extra))
    return seeds


def eliminate(values: Mapping[str, Mapping[int, float]], *, raced: Sequence[str], reference: str, seeds: Sequence[int],
              alpha: float) -> tuple[str, list[dict]]:
    """The leader (best mean over ``seeds``, reference included) and the candidates significantly worse
    than it: paired p-value over ``seeds``, Holm-adjusted over the candidates compared."""
    means = {c: float(np.mean([values[c][s] for s in seeds])) for c in [reference, *raced]}
    leader = max(means, key=lambda c: (means[c], c == reference))  # a tie keeps the reference ahead
    others = [c for c in raced if c != leader]
    ps = [paired_pvalue([values[c][s] for s in seeds], [values[leader][s] for s in seeds]) for c in others]
    adjusted = holm(ps) if ps else []
    dropped = [{"label": c, "leader": leader, "mean": means[c], "leader_mean": means[leader],
                "gap": means[c] - means[leader], "p": float(p), "p_holm": float(q)}
               for c, p, q in zip(others, ps, adjusted) if q <= alpha and means[c] < means[leader]]
    return leader, dropped


class Search:
    """Race ``config``'s remedies at one size (see the module docstring).

    Args:
        config: the recipe (its ``remedies``, ``reference``, model, train grid, selection...).
        out_dir: the folder of the race's ``results.jsonl`` and outputs.
        budget: a :class:`Budget` or its text (``"2h"``, ``"300cells"``).
        size: examples per class (default: the smallest class count of the training pool).
        combine: ``pairs`` (add the pairs that compose) or ``none``.
        max_seeds: the seed cap (rounds).
        min_seeds: seeds before the first elimination (>= 2).
        alpha: the Holm-adjusted level of an elimination.
        data_root, progress: as for :class:`Experiment`; jobs, executor: the `run:` keys of the race's cells (names, applied by ``ExperimentConfig.with_run``).

    Raises:
        ValueError: bad arguments (before any work), e.g. a size above the smallest class.
    """

    def __init__(self, config: ExperimentConfig, *, out_dir: str | Path, budget: Budget | str, size: int | None = None,
                 combine: str = "pairs", max_seeds: int = 10, min_seeds: int = 3, alpha: float = 0.05,
                 data_root: str | None = None, jobs: int | None = None, executor: Any = None,
                 progress: bool = True) -> None:
        self.budget = budget if isinstance(budget, Budget) else parse_budget(budget)
        self.max_seeds = check_int("max_seeds", max_seeds, minimum=2)
        self.min_seeds = check_int("min_seeds", min_seeds, minimum=2, maximum=self.max_seeds)
        self.alpha = check_float("alpha", alpha, low=0.0, high=1.0, low_inclusive=False)
        bundle = get_bundle(config, data_root)
        smallest = int(np.bincount(np.asarray(bundle.train.labels), minlength=bundle.num_classes).min())
        if size is None:
            size = smallest
        check_int("size", size, minimum=1)
        if size > smallest:
            raise ValueError(f"`--size` must be at most {smallest}, the smallest class count of the training data; "
                             f"got {size}.")
        self.reference, self.candidates = candidates(config, combine=combine, modality=bundle.modality)
        if self.budget.cells is not None and self.budget.cells < len(self.candidates) + 1:
            raise ValueError(f"`--budget` of {self.budget} cannot run one round: it needs "
                             f"{len(self.candidates) + 1} cells ({len(self.candidates)} candidates and the reference).")
        self.seeds = round_seeds(config, self.max_seeds)
        config = config.with_run(jobs=jobs, executor=executor)
        self.config = dataclasses.replace(config, sizes=[size], seeds=self.seeds[:1], references=[],
                                          reference=self.reference.label)
        self.size, self.out_dir = size, Path(out_dir)
        self.kwargs = dict(data_root=data_root, progress=progress)
        self._base = Experiment(self.round_config([c.label for c in self.candidates], 1), out_dir=self.out_dir,
                                **self.kwargs)  # every row and the data of round 1 are checked now

    def round_config(self, raced: Sequence[str], n_seeds: int) -> ExperimentConfig:
        """The recipe of a round: the reference and ``raced`` at the race's size on its first ``n_seeds`` seeds."""
        specs = {c.label: c.spec for c in self.candidates}
        remedies = [_labelled(self.reference)] + [_labelled(Candidate(c, specs[c])) for c in raced]
        return dataclasses.replace(self.config, remedies=remedies, seeds=self.seeds[:n_seeds])

    def _experiment(self, config: ExperimentConfig) -> Experiment:
        """The round's experiment: the race's, regridded (only new seeds' data is decoded)."""
        return self._base.regrid(config)

    def run(self) -> SearchResult:
        """Run (or resume) the race; write ``search.md``, ``search.json``, ``race.png`` and ``best.yaml``."""
        from scarce.search.report import write_outputs

        raced = [c.label for c in self.candidates]
        rounds: list[Round] = []
        stop = f"the seed cap ({self.max_seeds} seeds) was reached"
        for i, seed in enumerate(self.seeds):
            done = self._done()
            # a round costs all its cells, those a killed run already finished included: a resumed or
            # replayed race decides as a fresh one
            spent, cost = spent_cells(done, rounds, self.reference.label), 1 + len(raced)
            if not self.budget.allows(cells_done=len(spent), seconds_done=sum(r.get("seconds", 0.0) for r in spent),
                                      next_cells=cost, next_seconds=_mean_seconds(spent) * cost):
                stop = f"the budget ({self.budget}) was spent"
                break
            run_and_report(self._experiment(self.round_config(raced, i + 1)))
            rnd = Round(i + 1, seed, list(raced))
            rounds.append(rnd)
            values = self._values(self._done())
            ran = self.seeds[:i + 1]
            missing = [c for c in [self.reference.label, *raced] if any(s not in values.get(c, {}) for s in ran)]
            if missing:
                raise RuntimeError(f"Cells of {missing} failed in round {i + 1} (see {self.out_dir / 'results.md'}, "
                                   "Failed cells); rerun `scarce search` to retry them.")
            rnd.leader, rnd.dropped = eliminate(values, raced=raced, reference=self.reference.label, seeds=ran,
                                                alpha=self.alpha)
            if len(ran) < self.min_seeds:
                rnd.dropped = []
            raced = [c for c in raced if c not in {d["label"] for d in rnd.dropped}]
            if len(raced) <= 1:
                stop = "one candidate was left" if raced else "every candidate was dropped"
                break
        result = self._result(rounds, stop)
        write_outputs(result, self.config)
        return result

    def _done(self) -> list[dict]:
        return [r for r in read_records(self.out_dir / LOG) if not is_failed(r) and r["size"] == self.size]

    def _values(self, records: list[dict]) -> dict[str, dict[int, float]]:
        """The headline metric per row and seed of ``records``."""
        metric = self._metric(records)
        out: dict[str, dict[int, float]] = {}
        for r in records:
            out.setdefault(r["remedy"], {})[r["seed"]] = r["metrics"][metric]
        return out

    def _metric(self, records: list[dict]) -> str:
        """The headline metric, ``auto`` resolved from the test split as the ablation tables do."""
        return resolve_metric(self.config.metric, test_counts(records))[0]

    def _result(self, rounds: list[Round], stop: str) -> SearchResult:
        records = self._done()
        played = [self.reference.label, *(c.label for c in self.candidates)]
        winner = rounds[-1].leader if rounds else self.reference.label  # eliminations never drop the leader
        return SearchResult(self.out_dir, self._metric(records), self.reference, self.candidates, self.size, rounds,
                            [r for r in records if r["remedy"] in played], stop, winner, self.budget)


def _labelled(c: Candidate) -> Any:
    """The candidate's spec with its label set (so the row keeps its race name)."""
    spec = {"name": c.spec} if isinstance(c.spec, str) else dict(c.spec)
    if remedy_label(spec) != c.label:
        spec["label"] = c.label
    return spec if len(spec) > 1 else spec["name"]


def spent_cells(records: Sequence[dict], rounds: Sequence[Round], reference: str) -> list[dict]:
    """The cells the race's finished ``rounds`` used (the reference and the rows raced, on each round's
    seed): what the budget counts. Other cells of the folder (a grid it was replayed on, an earlier race
    with other candidates) are not this race's spending."""
    used = {(label, rnd.seed) for rnd in rounds for label in [reference, *rnd.raced]}
    return [r for r in records if (r["remedy"], r["seed"]) in used]


def _mean_seconds(records: Sequence[dict]) -> float:
    """Mean seconds per finished cell (0 before the first round: the first round always runs)."""
    secs = [r.get("seconds", 0.0) for r in records]
    return float(np.mean(secs)) if secs else 0.0


def search(config: ExperimentConfig, **kwargs: Any) -> SearchResult:
    """Shortcut: ``Search(config, **kwargs).run()``."""
    return Search(config, **kwargs).run()
