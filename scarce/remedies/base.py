"""The two central abstractions: a :class:`TrainSetup` and the :class:`Remedy` that transforms it.

A remedy for scarce data changes how a classifier is trained (data added, augmentation, sampler,
loss, model) and never the test set, which is not part of the setup. ``apply`` is pure: it returns
a new setup (``dataclasses.replace``) and leaves the given one as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from scarce.remedies.catalogue import REMEDIES
from scarce.remedies.composition import NOTHING, Changes, check_composition, combine
from scarce.train_setup import TrainSetup


@runtime_checkable
class Remedy(Protocol):
    """A remedy: ``name`` and a pure ``apply(setup, *, seed) -> TrainSetup``.

    It should also declare ``changes`` (a :class:`~scarce.remedies.composition.Changes`): the
    parts of the setup it replaces, wraps or excludes and the modalities it accepts, so that a
    chain that would lose it is refused before any work (see :mod:`scarce.remedies.composition`).
    It may define ``preview_apply(setup, *, seed)`` for ``scarce preview`` (see :class:`NoPreview`).
    """

    name: str

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup: ...


class NoPreview(Exception):
    """Raised by a remedy's optional ``preview_apply(setup, *, seed)`` when it cannot show what it
    does without real work (training a generator, reading pretrained weights, encoding every text).

    ``scarce preview`` calls ``preview_apply`` instead of ``apply`` when a remedy defines it (a cheap
    stand-in for ``apply`` that still shows what the remedy changes, e.g. the backbone's
    preprocessing without its weights); the message says on the page why nothing is shown.
    """


def member_seed(seed: int, index: int) -> int:
    """The seed a :class:`Chain` gives its ``index``-th remedy when it is applied with ``seed``."""
    return seed * 1000 + index


@dataclass(frozen=True)
class Baseline:
    """The setup unchanged: what every remedy is compared with."""

    name: str = "baseline"
    changes = NOTHING

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return setup


@dataclass(frozen=True)
class Chain:
    """Apply several remedies in order; each gets its own seed derived from ``seed``.

    Construction checks the composition (:func:`~scarce.remedies.composition.check_composition`;
    the modality is checked later, against the dataset): a chain that would lose a remedy raises
    ``ValueError``. ``changes`` is the chain's combined declaration (nested chains flattened).

    Example:
        >>> Chain(Baseline(), Baseline()).name
        'baseline+baseline'
    """

    remedies: tuple[Remedy, ...]
    name: str = ""

    def __init__(self, *remedies: Remedy, name: str = "") -> None:
        if not remedies:
            raise ValueError("`Chain` needs at least one remedy.")
        for r in remedies:
            if not isinstance(r, Remedy):
                raise TypeError(f"`Chain` takes remedies (with name and apply), got {type(r).__name__}.")
        check_composition(remedies)
        object.__setattr__(self, "remedies", tuple(remedies))
        object.__setattr__(self, "name", name or "+".join(r.name for r in remedies))

    @property
    def components(self) -> tuple[Remedy, ...]:
        """The chained remedies (nested chains are flattened by the composition check)."""
        return self.remedies

    @property
    def changes(self) -> Changes:
        """What the chain as a whole does to the setup."""
        return combine(self.remedies)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        for i, remedy in enumerate(self.remedies):
            setup = remedy.apply(setup, seed=member_seed(seed, i))
        return setup


def create_remedy(spec: str | Mapping[str, Any]) -> Remedy:
    """Build a remedy from a config entry: a name, or ``{name: ..., label: ..., **options}``.

    ``chain`` is a remedy like the others, with ``remedies: [spec, ...]``. The ``label`` (default:
    :func:`remedy_label`) is the row name in the results.
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"A remedy must be a name or a mapping with a 'name' key, got {spec!r}.")
    remedy = REMEDIES.create(spec["name"], **{k: v for k, v in spec.items() if k not in ("name", "label")})
    return _Renamed(remedy, str(spec["label"])) if spec.get("label") else remedy


def chain(*, remedies: Sequence[str | Mapping[str, Any]]) -> Chain:
    """The ``chain`` remedy of a config: ``{name: chain, remedies: [spec, ...]}``, applied in order."""
    if isinstance(remedies, (str, Mapping)) or not isinstance(remedies, Sequence) or not remedies:
        raise ValueError(f"Remedy 'chain' takes `remedies: [...]`, a non-empty list of remedy specs, got {remedies!r}.")
    return Chain(*(create_remedy(p) for p in remedies))


@dataclass(frozen=True)
class _Renamed:
    """A remedy shown under another name (a config's ``label``)."""

    inner: Remedy
    name: str

    @property
    def changes(self) -> Changes | None:
        return getattr(self.inner, "changes", None)

    @property
    def components(self) -> tuple[Remedy, ...] | None:
        return getattr(self.inner, "components", None)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return self.inner.apply(setup, seed=seed)

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """The inner remedy's ``preview_apply`` (its ``apply`` when it has none)."""
        return getattr(self.inner, "preview_apply", self.inner.apply)(setup, seed=seed)


def remedy_label(spec: str | Mapping[str, Any]) -> str:
    """The results-row name of a remedy spec (without building it): its ``label``, else its name
    with its options, and for a composite (a spec holding ``remedies``) its parts joined by ``+``."""
    if isinstance(spec, str):
        return spec
    if spec.get("label"):
        return str(spec["label"])
    if isinstance(spec.get("remedies"), list):
        return "+".join(remedy_label(p) for p in spec["remedies"])
    opts = ",".join(f"{k}={v}" for k, v in spec.items() if k not in ("name", "label"))
    return f"{spec['name']}({opts})" if opts else str(spec["name"])


def list_remedies() -> list[str]:
    return REMEDIES.names()
