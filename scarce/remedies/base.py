"""The two central abstractions: a :class:`TrainSetup` and the :class:`Remedy` that transforms it.

A remedy for scarce data changes how a classifier is trained (data added, augmentation, sampler,
loss, model) and never the test set, which is not part of the setup. ``apply`` is pure: it returns
a new setup (``dataclasses.replace``) and leaves the given one as it was.

:data:`REMEDIES` is the catalogue a config names remedies from; a remedy class joins it with
:func:`register_remedy`, which also writes its ``name``. The catalogue's families
(:mod:`scarce.remedies.catalogue`) are imported by the package, so importing any
``scarce.remedies`` module registers them all.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from scarce.registry import Registry
from scarce.remedies.composition import NOTHING, UNDECLARED, Changes, check_composition, combine
from scarce.train_setup import TrainSetup

REMEDIES = Registry("remedy")


class Remedy(abc.ABC):
    """The base of every remedy: a pure ``apply(setup, *, seed) -> TrainSetup`` and what the code that
    uses a remedy reads about it, each with its default.

    Attributes:
        name: the name configs and messages use; written by :func:`register_remedy` (its registry
            key). A remedy that is not registered by class (a :class:`Chain`, a labelled remedy)
            sets it per instance.
        changes: what it does to the setup (:class:`~scarce.remedies.composition.Changes`): the
            parts it replaces, wraps or excludes and the modalities it accepts, so that a chain that
            would lose it is refused before any work. A class attribute, or a property when it
            depends on the options. Default :data:`~scarce.remedies.composition.UNDECLARED`: taken
            to replace every part, so it runs alone and a chain with any remedy that changes
            something is refused until it declares.
        deliverable: ``True`` when every ``model_fn`` and ``collate`` it puts in the setup describes
            itself for a model card (``card_part``, see :mod:`scarce.deliver.parts`), so that
            ``scarce train`` can save its model. Default ``False``: ``scarce train`` refuses it if it
            changes the model or the collate (a remedy that changes neither needs nothing).
        components: the remedies a composite (a chain) applies in order; ``()`` (the default) for a
            single remedy. Code that walks a chain recurses into a non-empty ``components``.
        axes: options tuned like the learning rate: name → the values to choose among on
            validation (e.g. ``{"threshold": (0.8, 0.95)}``), joined to the learner's grid; the
            setup's part that reads them takes the chosen value (``part.at(point)``). Default
            ``{}``: nothing tuned.

    Example:
        >>> from dataclasses import dataclass, replace
        >>> @dataclass(frozen=True)
        ... class Halve(Remedy):
        ...     name = "halve"
        ...     changes = Changes(wraps={"train"})
        ...     def apply(self, setup, *, seed):
        ...         return replace(setup, train=setup.train.subset(range(len(setup.train) // 2)))
        >>> Halve().components, Halve().deliverable
        ((), False)
    """

    name: ClassVar[str]
    changes: ClassVar[Changes] = UNDECLARED
    deliverable: ClassVar[bool] = False
    components: ClassVar[tuple[Remedy, ...]] = ()
    axes: ClassVar[Mapping[str, tuple]] = MappingProxyType({})

    @abc.abstractmethod
    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """The new setup (``setup`` itself is left as it was); randomness only from ``seed``."""

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """What ``scarce preview`` applies: by default :meth:`apply`. A remedy whose ``apply`` needs
        real work (training a generator, reading pretrained weights) overrides it with a cheap
        stand-in that still shows what it changes, or raises :class:`NoPreview` saying why not."""
        return self.apply(setup, seed=seed)


def register_remedy(name: str, *, help: str = "", **meta: Any) -> Callable[[type], type]:
    """Class decorator: register a :class:`Remedy` subclass in :data:`REMEDIES` under ``name`` and
    set its ``name`` (written once, here).

    Args:
        name: the registry key configs use (``{name: ..., **options}``).
        help: one line for ``scarce list remedies`` (default: the docstring's first line).
        **meta: what the entry declares without being built (e.g. ``preflight={...}``: the options
            ``scarce ablate --preflight`` overrides).

    Raises:
        TypeError: the decorated object is not a Remedy subclass, or has ``name`` as a dataclass field.
        ValueError: ``name`` is already registered.
    """

    def add(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Remedy)):
            raise TypeError(f"`register_remedy('{name}')` decorates a subclass of scarce.remedies.Remedy, got {cls!r}.")
        if dataclasses.is_dataclass(cls) and "name" in {f.name for f in dataclasses.fields(cls)}:
            raise TypeError(f"Remedy class {cls.__name__} has a `name` field; `register_remedy` writes the name.")
        REMEDIES.register(name, cls, help=help, **meta)
        cls.name = name
        return cls

    return add


class NoPreview(Exception):
    """Raised by a remedy's :meth:`Remedy.preview_apply` when it cannot show what it does without
    real work (training a generator, reading pretrained weights, encoding every text); the message
    says on the page why nothing is shown.
    """


def member_seed(seed: int, index: int) -> int:
    """The seed a :class:`Chain` gives its ``index``-th remedy when it is applied with ``seed``."""
    return seed * 1000 + index


def combine_axes(remedies: Sequence[Remedy]) -> Mapping[str, tuple]:
    """The tuned options (``axes``) of ``remedies`` together; a name two of them tune is refused."""
    out: dict[str, tuple] = {}
    for r in remedies:
        for name, values in r.axes.items():
            if name in out:
                raise ValueError(f"Two remedies of a chain tune the option '{name}' ('{r.name}' and an earlier one); "
                                 "a chain may tune each name once.")
            out[name] = tuple(values)
    return MappingProxyType(out)


def check_is_remedy(obj: Any, expected: str) -> Remedy:
    """``obj`` itself if it is a :class:`Remedy`; else ``TypeError``: ``expected`` (what should have
    been given), then what was."""
    if not isinstance(obj, Remedy):
        raise TypeError(f"{expected} (subclasses of scarce.remedies.Remedy), got {type(obj).__name__} {obj!r:.80}.")
    return obj


@register_remedy("baseline", help="no remedy: the reference every gain is measured against")
@dataclass(frozen=True)
class Baseline(Remedy):
    """The setup unchanged: what every remedy is compared with."""

    changes = NOTHING

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return setup


@dataclass(frozen=True)
class Chain(Remedy):
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
            check_is_remedy(r, "`Chain` takes remedies")
        check_composition(remedies)
        combine_axes(remedies)  # two members tuning one option: refused here
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

    @property
    def axes(self) -> Mapping[str, tuple]:
        """The tuned options of every member (two members tuning one name are refused)."""
        return combine_axes(self.remedies)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        for i, remedy in enumerate(self.remedies):
            setup = remedy.apply(setup, seed=member_seed(seed, i))
        return setup


def create_remedy(spec: str | Mapping[str, Any]) -> Remedy:
    """Build a remedy from a config entry: a name, or ``{name: ..., label: ..., **options}``.

    ``chain`` is a remedy like the others, with ``remedies: [spec, ...]``. The ``label`` (default:
    :func:`remedy_label`) is the row name in the results.

    Raises:
        ValueError: an unknown name (with a "did you mean") or bad options.
        TypeError: the registered factory built something that is not a :class:`Remedy`.
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"A remedy must be a name or a mapping with a 'name' key, got {spec!r}.")
    remedy = REMEDIES.create(spec["name"], **{k: v for k, v in spec.items() if k not in ("name", "label")})
    check_is_remedy(remedy, f"The catalogue entry '{spec['name']}' must build remedies")
    return _Renamed(remedy, str(spec["label"])) if spec.get("label") else remedy


@REMEDIES.register("chain", help="several remedies in order: {name: chain, remedies: [...]}")
def chain(*, remedies: Sequence[str | Mapping[str, Any]]) -> Chain:
    """The ``chain`` remedy of a config: ``{name: chain, remedies: [spec, ...]}``, applied in order."""
    if isinstance(remedies, (str, Mapping)) or not isinstance(remedies, Sequence) or not remedies:
        raise ValueError(f"Remedy 'chain' takes `remedies: [...]`, a non-empty list of remedy specs, got {remedies!r}.")
    return Chain(*(create_remedy(p) for p in remedies))


@dataclass(frozen=True)
class Delegate(Remedy):
    """A remedy that is another one (``inner``) under other terms: it reads the inner remedy's
    ``changes``, ``components`` and ``deliverable`` and applies (and previews) through it. A
    subclass sets the terms (its name, its options)."""

    inner: Remedy

    @property
    def changes(self) -> Changes:
        return self.inner.changes

    @property
    def components(self) -> tuple[Remedy, ...]:
        return self.inner.components

    @property
    def deliverable(self) -> bool:
        return self.inner.deliverable

    @property
    def axes(self) -> Mapping[str, tuple]:
        return self.inner.axes

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return self.inner.apply(setup, seed=seed)

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return self.inner.preview_apply(setup, seed=seed)


@dataclass(frozen=True)
class _Renamed(Delegate):
    """A remedy shown under another name (a config's ``label``)."""

    name: str


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
