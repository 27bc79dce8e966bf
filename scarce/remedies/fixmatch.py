"""FixMatch (Sohn et al., 2020): the recipe's unlabelled pool trains the row at every step.

Each step also draws ``ratio`` × batch unlabelled examples and makes two views of each: a *weak*
one (flip and shift for images) and a *strong* one (RandAugment and Cutout). Where the model's top
softmax probability on the weak view reaches ``threshold``, its predicted class is the target of
the strong view; the cross-entropy of those examples (averaged over all the unlabelled examples of
the step) times ``weight`` joins the labelled loss. The remedy only puts that term on the setup
(:class:`FixMatchTerm`, a :class:`scarce.consistency.Consistency`); the engine draws the batches and
adds it (:func:`scarce.train.fit_setup`).

Views per modality (``weak`` / ``strong`` default ``auto``):

========  ====================================================  =====================================
modality  weak                                                  strong
========  ====================================================  =====================================
image     the row's per-sample transform if it has one, else    ``light`` + ``randaugment`` (no
          ``light`` (shift ±side/8 + horizontal flip)           second flip) + ``cutout``
text      the row's per-sample transform if it has one, else    ``eda`` (synonyms, insertion, swap,
          the text itself                                       deletion; needs WordNet)
audio     the row's per-sample transform if it has one, else    ``waveform`` preset ``strong``
          ``waveform`` preset ``light``
========  ====================================================  =====================================

The weak view is the row's own per-sample augmentation when it has one, so that the labelled
examples and the weak views are augmented alike (as in the paper, where both are weakly
augmented): chain the augmentation *before* ``fixmatch`` (``[augment, fixmatch]``) for it to be the
weak view; after it, it augments the labelled rows only. An explicit ``weak`` overrides that.

Example (a recipe)::

    unlabelled: {from: pool, limit: 5000}
    remedies:
      - baseline
      - fixmatch                                      # threshold 0.95, weight 1, ratio 7
      - {name: fixmatch, threshold: [0.8, 0.95], ratio: 3}
      - {name: chain, remedies: [{name: augment, preset: light}, fixmatch]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from scarce._checks import check_float, check_int
from scarce.augment.registry import augment_info, create_augment, list_augments
from scarce.consistency import Consistency, fixmatch_loss
from scarce.remedies.audio import check_audio
from scarce.remedies.base import Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes
from scarce.remedies.image import image_geometry
from scarce.remedies.semi_supervised import require_pool

AUTO, IDENTITY = "auto", "identity"
DEFAULT_VIEWS = MappingProxyType({
    "image": ("light", ("light", {"name": "randaugment", "hflip": False}, "cutout")),
    "text": (IDENTITY, "eda"),
    "audio": ({"name": "waveform", "preset": "light"}, {"name": "waveform", "preset": "strong"}),
})
"""Per modality, the ``(weak, strong)`` view specs ``auto`` stands for (weak: when the row has no
per-sample transform of its own)."""

GEOMETRY: Mapping[str, Callable[[TrainSetup, str], dict]] = MappingProxyType({
    "image": lambda setup, remedy: dict(zip(("image_shape", "channels"), image_geometry(setup))),
    "text": lambda setup, remedy: {},
    "audio": lambda setup, remedy: {"sample_rate": check_audio(setup, remedy)},
})
"""Per modality, the options an augmentation of the registry needs from the data (``(setup, remedy
name) -> options``)."""

TRY_GEOMETRY = MappingProxyType({"image": {"image_shape": (32, 32), "channels": 3}, "text": {},
                                 "audio": {"sample_rate": 16000}})
"""A geometry to build the views on once when the remedy is made, so that bad options fail then."""


def _values(name: str, value: Any, *, high: float | None) -> tuple[float, ...]:
    """One number, or a non-empty list of distinct ones (tuned), each in ``[0, high]``."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"`{name}` must be a number or a non-empty list of them, got [].")
    out = tuple(check_float(name, v, low=0.0, high=high) for v in values)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` must not repeat values, got {values}.")
    return out


def view_specs(name: str, value: Any) -> tuple[dict, ...] | None:
    """The augmentations a view option names, in order (``()``: the example itself; ``None``: ``auto``).

    A view is ``auto``, ``identity``, a per-sample augmentation of :mod:`scarce.augment.registry` by
    name or as ``{name: ..., **options}``, or a list of them (applied in order).

    Example:
        >>> view_specs("strong", ["light", {"name": "cutout", "holes": 2}])
        ({'name': 'light'}, {'name': 'cutout', 'holes': 2})
    """
    if isinstance(value, str) and value == AUTO:
        return None
    if value is None or (isinstance(value, str) and value == IDENTITY):
        return ()
    out = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        item = {"name": item} if isinstance(item, str) else item
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValueError(f"`{name}` must be 'auto', 'identity', an augmentation name, a mapping "
                             f"{{name: ..., **options}} or a list of them, got {value!r}.")
        if augment_info(item["name"]).kind != "sample":  # an unknown name fails here with a "did you mean"
            raise ValueError(f"`{name}` names '{item['name']}', a batch augmentation; a view is made of per-sample "
                             f"augmentations: {', '.join(list_augments(kind='sample'))}.")
        out.append(dict(item))
    return tuple(out)


def describe_views(specs: tuple[dict, ...]) -> str:
    """A view's specs in one line, e.g. ``light+randaugment(hflip=False)+cutout``."""
    parts = []
    for spec in specs:
        options = ",".join(f"{k}={v}" for k, v in spec.items() if k != "name")
        parts.append(f"{spec['name']}({options})" if options else spec["name"])
    return "+".join(parts) or IDENTITY


def build_views(specs: tuple[dict, ...], geometry: Mapping[str, Any]) -> Callable | None:
    """The per-sample transform of a view (``None``: the example itself)."""
    from scarce.augment.image import Sequential  # applies any per-sample transforms in order

    parts = [create_augment(s["name"], **{**geometry, **{k: v for k, v in s.items() if k != "name"}}) for s in specs]
    return None if not parts else parts[0] if len(parts) == 1 else Sequential(*parts)


@dataclass(frozen=True, kw_only=True)
class FixMatchTerm(Consistency):
    """FixMatch's unlabelled term on a setup (read by the engine, :mod:`scarce.consistency`).

    Attributes:
        thresholds: the confidence threshold, or the values it is tuned among (axis ``fixmatch_threshold``).
        weights: the term's factor λ_u, or the values it is tuned among (axis ``fixmatch_weight``).
        ratio: μ, unlabelled examples per labelled example of a step.
        weak_views, strong_views: what the views are, in words (the repr and the notes show them).
        weak, strong: the per-sample transforms of the views (``None``: the example itself).
    """

    thresholds: tuple[float, ...]
    weights: tuple[float, ...]
    ratio: int
    weak_views: str
    strong_views: str
    weak: Callable | None = field(default=None, repr=False, compare=False)
    strong: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def axes(self) -> Mapping[str, tuple]:
        """``fixmatch_threshold`` / ``fixmatch_weight`` when there are values to choose among."""
        tuned = {"fixmatch_threshold": self.thresholds, "fixmatch_weight": self.weights}
        return MappingProxyType({k: v for k, v in tuned.items() if len(v) > 1})

    def _one(self, axis: str, values: tuple[float, ...]) -> float:
        if len(values) != 1:
            raise ValueError(f"Several values {list(values)} of `{axis}` are tuned; take one with `at(point)`.")
        return values[0]

    @property
    def threshold(self) -> float:
        """The one threshold (after :meth:`at`)."""
        return self._one("fixmatch_threshold", self.thresholds)

    @property
    def weight(self) -> float:
        """The one factor λ_u (after :meth:`at`)."""
        return self._one("fixmatch_weight", self.weights)

    def at(self, point: Mapping[str, Any]) -> FixMatchTerm:
        """This term with the grid point's tuned values (itself when nothing is tuned)."""
        fields = {"fixmatch_threshold": "thresholds", "fixmatch_weight": "weights"}
        fixed = {fields[axis]: (float(point[axis]),) for axis in self.axes}
        return replace(self, **fixed) if fixed else self

    def views(self, x: Any, *, rng: np.random.Generator) -> tuple[Any, Any]:
        """``(weak, strong)``, each drawn from its own child of ``rng``."""
        weak_rng, strong_rng = rng.spawn(2)
        return (x if self.weak is None else self.weak(x, rng=weak_rng),
                x if self.strong is None else self.strong(x, rng=strong_rng))

    def loss(self, weak_logits, strong_logits):
        """``weight × mean(mask × CE(strong, argmax weak))`` and the mask (:func:`scarce.consistency.fixmatch_loss`)."""
        terms, mask = fixmatch_loss(weak_logits, strong_logits, threshold=self.threshold)
        return self.weight * terms.mean(), mask


@register_remedy("fixmatch", preflight={"ratio": 1},
                 help="FixMatch: a weak view's confident prediction trains its strong view (unlabelled pool)")
@dataclass(frozen=True, kw_only=True)
class FixMatch(Remedy):
    """FixMatch on the recipe's unlabelled pool, on top of whatever the row trains (see the module doc).

    Options: ``threshold`` (softmax confidence for a pseudo-label to count; default 0.95; a list is
    tuned on validation), ``weight`` (λ_u, the unlabelled term's factor; default 1; a list is tuned;
    0 is the supervised run), ``ratio`` (μ, unlabelled examples per labelled one in a step; default
    7), ``weak`` and ``strong`` (the views: ``auto``, ``identity``, an augmentation of
    ``scarce list augments`` by name or ``{name: ..., **options}``, or a list of them).

    A step costs about ``1 + 2 × ratio`` times the forward and backward work of a supervised one.

    Example:
        >>> FixMatch(threshold=[0.8, 0.95]).axes["fixmatch_threshold"]
        (0.8, 0.95)
    """

    threshold: Any = 0.95
    weight: Any = 1.0
    ratio: int = 7
    weak: Any = AUTO
    strong: Any = AUTO

    def __post_init__(self) -> None:
        _values("threshold", self.threshold, high=1.0)
        _values("weight", self.weight, high=None)
        check_int("ratio", self.ratio, minimum=1)
        named = {augment_info(s["name"]).modality for s in self._specs()}
        if len(named) > 1:
            raise ValueError(f"`weak` and `strong` must be augmentations of one modality, got {sorted(named)}.")
        for specs in (view_specs("weak", self.weak), view_specs("strong", self.strong)):
            if specs:  # built once now, so that bad options fail before any training
                build_views(specs, TRY_GEOMETRY[augment_info(specs[0]["name"]).modality])

    def _specs(self) -> list[dict]:
        """Every augmentation the two views name (none for ``auto`` and ``identity``)."""
        return [*(view_specs("weak", self.weak) or ()), *(view_specs("strong", self.strong) or ())]

    @property
    def changes(self) -> Changes:
        """The unlabelled term; the modality of the views it names (any of the defaults' when ``auto``)."""
        named = {augment_info(s["name"]).modality for s in self._specs()}
        return Changes(replaces={"consistency"}, modalities=named or set(DEFAULT_VIEWS))

    @property
    def axes(self) -> Mapping[str, tuple]:
        return self.term(weak=None, strong=None).axes

    def term(self, *, weak: Callable | None, strong: Callable | None, weak_views: str = "",
             strong_views: str = "") -> FixMatchTerm:
        """The setup's term with these views."""
        return FixMatchTerm(thresholds=_values("threshold", self.threshold, high=1.0),
                            weights=_values("weight", self.weight, high=None), ratio=self.ratio,
                            weak_views=weak_views, strong_views=strong_views, weak=weak, strong=strong)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        require_pool(setup, self.name)
        modality = setup.train.modality
        if modality not in DEFAULT_VIEWS:
            raise ValueError(f"Remedy '{self.name}' has views for {sorted(DEFAULT_VIEWS)} data, got modality "
                             f"{modality!r}.")
        geometry = GEOMETRY[modality](setup, self.name)
        default_weak, default_strong = DEFAULT_VIEWS[modality]
        strong = view_specs("strong", self.strong)
        strong = view_specs("strong", default_strong) if strong is None else strong
        weak = view_specs("weak", self.weak)
        if weak is None and setup.transform is not None:
            weak_fn, weak_text = setup.transform, "the row's per-sample transform"
        else:
            weak = view_specs("weak", default_weak) if weak is None else weak
            weak_fn, weak_text = build_views(weak, geometry), describe_views(weak)
        term = self.term(weak=weak_fn, strong=build_views(strong, geometry), weak_views=weak_text,
                         strong_views=describe_views(strong))
        return replace(setup, consistency=term).with_notes(
            fixmatch_weak=weak_text, fixmatch_strong=term.strong_views, fixmatch_ratio=self.ratio,
            fixmatch_threshold=list(term.thresholds) if len(term.thresholds) > 1 else term.thresholds[0],
            fixmatch_weight=list(term.weights) if len(term.weights) > 1 else term.weights[0])
