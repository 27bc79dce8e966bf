"""The engine's unlabelled term (``TrainSetup.consistency``): the part a semi-supervised remedy puts on
the setup, and the unlabelled stream the engine draws for it at every step.

A :class:`Consistency` says how many unlabelled examples a step draws per labelled one (``ratio``),
how much its term weighs (``weight``; 0: no term, no unlabelled batch), how to make the two views of
an example (``views``: weak and strong, drawn from the ``rng`` given, applied deterministically), the
term on the model's logits of those views (``loss``) and which of its options are tuned
(``axes``, fixed by ``at(point)``). FixMatch (:mod:`scarce.remedies.fixmatch`) is one;
:func:`fixmatch_loss` is its pure kernel.

:class:`ViewDraws` turns an ``(index, draw)`` key into the two views of a pool example, with an RNG
seeded by ``(seed, draw)`` as :class:`scarce.steps.Draws` does for labelled rows, so the stream is the
same whatever the number of DataLoader workers. :class:`UnlabelledTerm` is one run's term: its
batches (a :class:`scarce.steps.StepBatches` stream over the pool with a seed derived from the run's),
the forward of labelled + weak + strong views, the term per grid copy and the share of unlabelled
examples that counted.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scarce.data.datasets import LabelledDataset
from scarce.train_setup import TrainSetup

if TYPE_CHECKING:  # torch is imported where it is used: remedies import this module, and listing them stays light
    import torch


class Consistency(abc.ABC):
    """An unlabelled loss the engine adds at every step (``TrainSetup.consistency``).

    Attributes:
        ratio: unlabelled examples drawn per labelled example of a step (capped at the pool's size);
            required (an attribute or a dataclass field of the subclass).
        weight: the factor of the term (0: no term; the engine then draws no unlabelled batch, so the
            run is the supervised one exactly).
        axes: options tuned like the learning rate (name → values), joined to the learner's grid;
            :meth:`at` fixes them. Default ``{}``.

    Example:
        >>> import torch
        >>> class Agree(Consistency):  # the two views should get the same prediction
        ...     ratio, weight = 1, 1.0
        ...     def views(self, x, *, rng):
        ...         return x, x + rng.normal(0, 0.1, np.shape(x))
        ...     def loss(self, weak_logits, strong_logits):
        ...         mask = torch.ones(len(weak_logits))
        ...         return torch.nn.functional.mse_loss(strong_logits, weak_logits.detach()), mask
        >>> Agree().at({"lr": 0.1}).ratio
        1
    """

    ratio: int
    axes: ClassVar[Mapping[str, tuple]] = MappingProxyType({})

    @property
    @abc.abstractmethod
    def weight(self) -> float:
        """The factor of the term (0: off)."""

    def at(self, point: Mapping[str, Any]) -> Consistency:
        """This term with the grid point's values of its tuned options (itself when none is tuned)."""
        return self

    @abc.abstractmethod
    def views(self, x: Any, *, rng: np.random.Generator) -> tuple[Any, Any]:
        """The ``(weak, strong)`` views of one unlabelled example, every draw from ``rng``."""

    @abc.abstractmethod
    def loss(self, weak_logits: torch.Tensor, strong_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(term, mask)``: the weighted scalar term on one grid copy's ``(U, C)`` logits of the weak
        and strong views, and the ``(U,)`` mask of the examples that counted."""


def fixmatch_loss(weak_logits: torch.Tensor, strong_logits: torch.Tensor, *,
                  threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """FixMatch's per-example term (Sohn et al., 2020): the cross-entropy of the strong view's logits
    against the weak view's predicted class, where the weak view's top softmax probability is at
    least ``threshold``, else 0. No gradient flows through the weak view.

    Returns:
        ``(terms, mask)``, both ``(U,)`` float32; the FixMatch loss is ``weight * terms.mean()``
        (the mean over every unlabelled example, confident or not).

    Example:
        >>> import torch
        >>> weak = torch.tensor([[4.0, 0.0], [0.1, 0.0]])  # confident in class 0; unsure
        >>> strong = torch.tensor([[0.0, 0.0], [0.0, 5.0]])
        >>> terms, mask = fixmatch_loss(weak, strong, threshold=0.9)
        >>> mask.tolist(), round(terms[0].item(), 4), terms[1].item()
        ([1.0, 0.0], 0.6931, 0.0)
    """
    import torch.nn.functional as F

    confidence, target = weak_logits.detach().float().softmax(-1).max(-1)
    mask = (confidence >= threshold).float()
    return F.cross_entropy(strong_logits.float(), target, reduction="none") * mask, mask


def stream_seed(seed: int) -> int:
    """The seed of a run's unlabelled stream, derived from the run's ``seed`` (so its order and draws
    are not those of the labelled stream, even on a pool that holds the labelled rows)."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


class ViewDraws:
    """The pool indexed by ``(index, draw)``: the ``(weak, strong)`` views of example ``index``, drawn
    with an RNG seeded by ``(seed, draw)`` (the same whatever the number of workers); a map-style
    dataset for a ``torch.utils.data.DataLoader``."""

    def __init__(self, pool: LabelledDataset, consistency: Consistency, seed: int) -> None:
        self.pool, self.consistency, self.seed = pool, consistency, seed

    def __len__(self) -> int:
        return len(self.pool)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Any, Any]:
        index, draw = key
        x, _ = self.pool[index]
        return self.consistency.views(x, rng=np.random.default_rng([self.seed, draw]))


@dataclass(frozen=True)
class ViewsCollate:
    """A list of ``(weak, strong)`` views → ``(weak batch, strong batch)`` through the setup's collate."""

    collate: Callable

    def __call__(self, items: Sequence[tuple[Any, Any]]) -> tuple[Any, Any]:
        weak, _ = self.collate([(w, -1) for w, _ in items])
        strong, _ = self.collate([(s, -1) for _, s in items])
        return weak, strong


def joint_forward(forward: Callable, parts: Sequence[Any]) -> list[torch.Tensor]:
    """``forward`` (``x -> (G, B, C)`` logits) of several batches: one forward of their concatenation
    when they are tensors of one shape, dtype and device (BatchNorm then sees them together, as in
    FixMatch), else one forward each; the logits of each part, in order."""
    import torch

    if all(isinstance(p, torch.Tensor) for p in parts) and len({(p.shape[1:], p.dtype, p.device) for p in parts}) == 1:
        return list(forward(torch.cat(list(parts))).split([len(p) for p in parts], dim=1))
    return [forward(p) for p in parts]


class UnlabelledTerm:
    """One run's unlabelled term: its batches, the per-copy terms and the share that counted.

    Args:
        consistency: the setup's term (its tuned options fixed).
        pool: the unlabelled examples.
        steps: the run's steps (one unlabelled batch each).
        batch: the labelled batch size; a step draws ``min(ratio * batch, len(pool))`` examples.
        seed: the run's seed (the stream's is derived from it: :func:`stream_seed`).
        collate: the setup's collate, for both views.
        copies: grid copies trained together (one mask record each).
        num_workers, pin_memory: as the labelled loader's.
    """

    def __init__(self, consistency: Consistency, pool: LabelledDataset, *, steps: int, batch: int, seed: int,
                 collate: Callable, copies: int, num_workers: int = 0, pin_memory: bool = False) -> None:
        import torch

        from scarce.steps import StepBatches

        self.consistency, self.size = consistency, min(consistency.ratio * batch, len(pool))
        seed = stream_seed(seed)
        self.loader = torch.utils.data.DataLoader(  # its own generator: the global RNG is not touched
            ViewDraws(pool, consistency, seed), collate_fn=ViewsCollate(collate), num_workers=num_workers,
            batch_sampler=StepBatches(len(pool), steps=steps, batch_size=self.size, seed=seed),
            pin_memory=pin_memory, generator=torch.Generator().manual_seed(seed))
        self.masks: list[list[torch.Tensor]] = [[] for _ in range(copies)]

    def __iter__(self):
        return iter(self.loader)

    def losses(self, forward: Callable, x: Any, weak: Any, strong: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The labelled logits ``(G, B, C)`` and each copy's unlabelled term (its mask share recorded)."""
        logits, weak_logits, strong_logits = joint_forward(forward, [x, weak, strong])
        terms = []
        for g, record in enumerate(self.masks):
            term, mask = self.consistency.loss(weak_logits[g], strong_logits[g])
            record.append(mask.detach().float().mean())
            terms.append(term)
        return logits, terms

    def notes(self, copy: int, *, steps: int) -> dict:
        """What the term did over the first ``steps`` steps of copy ``copy``: ``confident_share`` (the
        mean share of unlabelled examples that counted), ``confident_share_late`` (the same over the
        last 10 % of those steps) and ``unlabelled_batch``."""
        shares = np.array([float(m) for m in self.masks[copy][:steps]])
        late = shares[len(shares) - math.ceil(0.1 * len(shares)):]
        return {"confident_share": round(float(shares.mean()), 4) if len(shares) else None,
                "confident_share_late": round(float(late.mean()), 4) if len(late) else None,
                "unlabelled_batch": self.size}


def unlabelled_term(setup: TrainSetup, **options: Any) -> UnlabelledTerm | None:
    """The run's :class:`UnlabelledTerm` (``options``: its keywords but the first two), or ``None``
    when the setup has no consistency term or its ``weight`` is 0.

    Raises:
        TypeError: ``setup.consistency`` is not a :class:`Consistency`.
        ValueError: a term and no unlabelled example to draw.
    """
    consistency = setup.consistency
    if consistency is None:
        return None
    if not isinstance(consistency, Consistency):
        raise TypeError(f"`setup.consistency` must be a scarce.consistency.Consistency, got "
                        f"{type(consistency).__name__}.")
    if consistency.weight == 0:
        return None
    if setup.unlabelled is None or len(setup.unlabelled) == 0:
        raise ValueError("`setup.consistency` adds an unlabelled term and `setup.unlabelled` holds no example; "
                         "give the recipe an `unlabelled:` pool.")
    return UnlabelledTerm(consistency, setup.unlabelled, **options)
