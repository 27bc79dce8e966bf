"""What a remedy does to a :class:`~scarce.remedies.base.TrainSetup`, and which chains compose.

Every remedy declares a :class:`Changes` as its ``changes`` attribute (it may depend on the
remedy's options; a remedy that declares nothing inherits :data:`UNDECLARED` from the
:class:`~scarce.remedies.base.Remedy` base). :func:`check_composition` reads the declarations of a chain, in order, and
refuses a chain that would lose a remedy, before any work; :func:`check_remedy` does the same for
one configured remedy (a chain or not) against the dataset's modality.

The vocabulary of parts (:data:`PARTS`) is the fields of ``TrainSetup`` a remedy may change plus
a few named aspects that are not fields but on which two remedies can clash:

========================  ======================================================================
part                      what it is
========================  ======================================================================
``train``                 the training rows (expansion, resampling, synthetic rows)
``transform``             the per-sample transform
``batch_transform``       the batch transform (on device, after collate)
``sampler_fn``            the sampler
``loss_fn``               the loss
``collate``               how rows become tensors
``model_fn``              the model
``param_groups_fn``       the optimiser's parameter groups
``self_training``         training on pseudo-labels of the unlabelled pool (a teacher labels it)
``consistency``           an unlabelled loss at every step (FixMatch-style consistency)
``prior_correction``      a correction of the logits by the class prior (logit adjustment in the
                          loss or post hoc, Balanced Softmax): at most one per chain
``class_prior``           the class distribution of the training rows (over/under-sampling to
                          balance): remedies whose effect is computed from the class counts
                          (class weights, prior corrections, class-balanced samplers) exclude it,
                          since after rebalancing they would do nothing, before it they would
                          correct twice
``targets``               soft targets (MixUp, CutMix); a loss that needs class indices
                          excludes it
========================  ======================================================================

Rules, for remedies ``A`` before ``B`` in one chain:

* ``B`` *replaces* a part ``A`` changed (replaced or wrapped): refused, since ``A``'s change would
  be lost; the message suggests the other order when that order composes.
* a part one of them *excludes* is changed by the other: refused (either order).
* a remedy whose ``modalities`` do not hold the dataset's modality is refused; so is a chain whose
  remedies accept no common modality.
* a remedy without a declaration (its ``changes`` is :data:`UNDECLARED`) is taken to replace every
  part: alone it runs, in a chain with a remedy that changes anything it is refused with a message
  on how to declare ``changes``.

A remedy is read through its members (``name``, ``changes``, ``components``; see
:class:`~scarce.remedies.base.Remedy`); a composite (a chain) lists its members in ``components``,
a single remedy has none (``()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scarce.modalities import modality_names

FIELDS = ("train", "transform", "batch_transform", "sampler_fn", "loss_fn", "collate", "model_fn",
          "param_groups_fn", "self_training", "consistency")
ASPECTS = ("prior_correction", "class_prior", "targets")
PARTS = frozenset(FIELDS + ASPECTS)


def _parts(name: str, value: Any) -> frozenset:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"`{name}` must be a set of part names, got {value!r}.")
    value = frozenset(value)
    unknown = sorted(value - PARTS)
    if unknown:
        raise ValueError(f"`{name}` holds unknown parts {unknown}; parts are {sorted(PARTS)}.")
    return value


@dataclass(frozen=True)
class Changes:
    """What a remedy does to the setup.

    Args:
        replaces: parts it sets afresh (an earlier remedy's change to them would be lost).
        wraps: parts it changes while keeping what is there working (it builds on them).
        excludes: parts no other remedy of the chain may change.
        modalities: the data it accepts (``None``: any).
        advice: what to do instead, added to a refusal caused by ``excludes``.

    Example:
        >>> Changes(replaces={"sampler_fn"}, modalities={"image"}).changed
        frozenset({'sampler_fn'})
    """

    replaces: frozenset = frozenset()
    wraps: frozenset = frozenset()
    excludes: frozenset = frozenset()
    modalities: frozenset | None = None
    advice: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("replaces", "wraps", "excludes"):
            object.__setattr__(self, name, _parts(name, getattr(self, name)))
        both = sorted(self.replaces & self.wraps)
        if both:
            raise ValueError(f"A part is either replaced or wrapped, got {both} in both `replaces` and `wraps`.")
        if self.modalities is not None:
            if isinstance(self.modalities, str):
                raise ValueError(f"`modalities` must be a set of modalities or None, got {self.modalities!r}.")
            mods = frozenset(self.modalities)
            if not mods or mods - set(modality_names()):  # read live: a plug-in may register a modality
                raise ValueError(f"`modalities` must be a non-empty subset of {sorted(modality_names())} or None, "
                                 f"got {sorted(mods)}.")
            object.__setattr__(self, "modalities", mods)

    @property
    def changed(self) -> frozenset:
        """Every part it replaces or wraps."""
        return self.replaces | self.wraps


NOTHING = Changes()
UNDECLARED = Changes(replaces=PARTS)
"""The ``changes`` of a remedy that declares none: every part replaced. It is told apart by identity
(a remedy that really replaces every part declares its own ``Changes(replaces=PARTS)``), so that
the refusal of a chain can say that the declaration is missing."""


def leaves(remedies: Iterable[Any]) -> Iterator[Any]:
    """The single remedies of ``remedies`` in order, nested chains (their ``components``) flattened."""
    for r in remedies:
        if r.components:
            yield from leaves(r.components)
        else:
            yield r


def changes_of(remedy: Any) -> Changes:
    """The remedy's ``changes``, checked to be a :class:`Changes` (a plug-in may set anything).

    Raises:
        ValueError: ``changes`` is not a :class:`Changes`.
    """
    ch = remedy.changes
    if not isinstance(ch, Changes):
        raise ValueError(f"Remedy '{remedy.name}' has `changes` = {ch!r}; it must be a "
                         "scarce.remedies.composition.Changes.")
    return ch


def declared(remedy: Any) -> bool:
    """Whether the remedy declares its ``changes`` (a plug-in may leave the base's :data:`UNDECLARED`)."""
    return changes_of(remedy) is not UNDECLARED


def combine(remedies: Iterable[Any]) -> Changes:
    """The changes of a chain as a whole (nested chains flattened).

    A part any member replaces is replaced; a part only wrapped is wrapped; excluded parts add up;
    the modalities are those every member accepts.
    """
    rep, wrap, exc, mods = set(), set(), set(), None
    for r in leaves(remedies):
        ch = changes_of(r)
        rep |= ch.replaces
        wrap |= ch.wraps
        exc |= ch.excludes
        if ch.modalities is not None:
            mods = ch.modalities if mods is None else mods & ch.modalities
    if mods is not None and not mods:  # no common modality: check_composition explains which pair
        mods = None
    return Changes(replaces=frozenset(rep), wraps=frozenset(wrap - rep), excludes=frozenset(exc), modalities=mods)


_UNDECLARED = ("Remedy '{}' does not declare what it changes, so it is taken to replace every part of the setup; "
               "give its class a `changes` attribute, e.g. `changes = Changes(replaces={{'loss_fn'}})` (from "
               "scarce.remedies.composition; see docs/writing_a_remedy.md).")


def _conflict(a: Any, b: Any, *, suggest: bool = True) -> str | None:
    """Why remedy ``b`` cannot follow remedy ``a`` in one chain, or ``None``."""
    ca, cb = changes_of(a), changes_of(b)
    na, nb = a.name, b.name
    for r in (a, b):
        other = changes_of(b if r is a else a)
        if not declared(r) and (other.changed or other.excludes):
            return _UNDECLARED.format(r.name) + f" (It is chained with '{nb if r is a else na}'.)"
    lost = sorted(cb.replaces & ca.changed)
    if lost:
        msg = (f"Remedies '{na}' and '{nb}' both change `{lost[0]}`: '{nb}' sets it afresh, so what '{na}' did "
               "would be lost.")
        if suggest and _conflict(b, a, suggest=False) is None:
            msg += f" Put '{nb}' before '{na}'."
        elif suggest:
            msg += f" A chain holds one remedy that sets `{lost[0]}`: keep one of the two."
        return msg
    for x, y, cx in ((a, b, ca), (b, a, cb)):
        hit = sorted(cx.excludes & changes_of(y).changed)
        if hit:
            msg = (f"Remedies '{x.name}' and '{y.name}' cannot be chained: '{y.name}' changes `{hit[0]}` and "
                   f"'{x.name}' needs it unchanged.")
            return msg + (f" {cx.advice}" if cx.advice else "")
    if ca.modalities is not None and cb.modalities is not None and not ca.modalities & cb.modalities:
        return (f"Remedies '{na}' and '{nb}' share no data modality: '{na}' takes {sorted(ca.modalities)} and "
                f"'{nb}' takes {sorted(cb.modalities)}.")
    return None


def check_composition(remedies: Iterable[Any], *, modality: str | None = None) -> Changes:
    """Refuse a chain that would lose a remedy or does not fit the data; return its combined changes.

    Args:
        remedies: the chain's remedies in order (nested chains are flattened).
        modality: the dataset's modality (``"image"``, ``"text"``, ``"audio"``), ``None`` if unknown.

    Returns:
        The chain's combined :class:`Changes`.

    Raises:
        ValueError: naming both remedies and the part they both change (or the modality), with the
            fix when there is one.

    Example:
        >>> from scarce.remedies.base import create_remedy
        >>> sorted(check_composition([create_remedy("class_weights"), create_remedy("logit_adjust")]).replaces)
        ['loss_fn', 'prior_correction']
    """
    flat = list(leaves(remedies))
    for r in flat:
        ch = changes_of(r)
        if modality is not None and ch.modalities is not None and modality not in ch.modalities:
            raise ValueError(f"Remedy '{r.name}' works on {' or '.join(sorted(ch.modalities))} data and the "
                             f"dataset's modality is '{modality}'; remove it or use a remedy for {modality} data.")
    for j, b in enumerate(flat):
        for a in flat[:j]:
            why = _conflict(a, b)
            if why:
                raise ValueError(why)
    return combine(flat)


def check_remedy(remedy: Any, *, modality: str | None) -> Changes:
    """:func:`check_composition` for one configured remedy (a chain is checked member by member)."""
    return check_composition([remedy], modality=modality)
