"""The rows of a recipe: :class:`Row` (label, remedy, learner) and the registry of reference learners.

``remedies: [...]`` rows are trained by the engine on the recipe's model; ``references: [...]`` rows
by a registered reference learner (:data:`LEARNERS`, registered here lazily as ``"module:attr"``
strings so that reading a recipe imports nothing heavy; the learners live in
:mod:`scarce.experiment.learners`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scarce.registry import Registry

LEARNERS = Registry("reference learner")
LEARNERS.register("logreg", "scarce.experiment.learners:LogisticLearner",
                  help="logistic regression on raw features (pixels; TF-IDF for text; MFCC stats for audio), C on a grid")


@dataclass(frozen=True)
class Row:
    """One results row: its label, the remedy spec and the learner spec (``None``: the engine)."""

    label: str
    remedy: Any
    learner: Any = None


def reference_spec(spec: Any, where: str) -> dict:
    """A ``references`` entry as a mapping with a registered ``name``; ``where`` names it in errors."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ValueError(f"`{where}` must be a learner name or a mapping with a 'name' key "
                         f"(one of {LEARNERS.names()}), got {spec!r}.")
    LEARNERS.get(spec["name"])  # unknown names: "did you mean"
    return dict(spec)
