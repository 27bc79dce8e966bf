"""Class-balancing remedies: samplers, resampling and loss-side fixes from ``scarce.balance``.

Each remedy reads the class counts of ``setup.train`` (the cell's, possibly long-tailed, subset)
and changes only the sampler, the training rows, the loss or the model's output; the test set is
never touched and every remedy trains for the same number of steps.

Composition (``changes``): class weights, focal and DRW set the base loss (``loss_fn`` replaced);
a logit adjustment in the loss and Balanced Softmax wrap whatever loss is there (put them after
the base loss), post-hoc logit adjustment wraps whatever model is there; at most one prior
correction per chain (``prior_correction``). Over/under-sampling balances the rows
(``class_prior`` replaced), which the count-based remedies exclude: after it they would do
nothing, before it they would correct twice. cRT wraps the model and the loss and replaces the
sampler.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scarce._checks import check_choice, check_float
from scarce.balance.resample import fit_resample, target_counts
from scarce.balance.strategies import check_labels, class_counts, resolve_strategy
from scarce.remedies.base import Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes

_BALANCED_ROWS = ("The rows are already class-balanced by resampling: use either the resampling or the "
                  "count-based remedy (class weights, prior correction, balanced sampler), not both.")
_READS_PRIOR = frozenset({"class_prior"})


def _counts(setup: TrainSetup):
    return class_counts(check_labels(setup.train.labels), num_classes=setup.num_classes)


@dataclass(frozen=True)
class _BalancedSamplerFn:
    strategy: str

    def __call__(self, labels, *, seed: int):
        from scarce.balance.samplers import ClassBalancedSampler

        return ClassBalancedSampler(labels, strategy=self.strategy, seed=seed)


@register_remedy("balanced_sampler",
                 help="class-balanced sampler (strategy: inverse, sqrt, power(q), effective_number(b))")
@dataclass(frozen=True)
class BalancedSampler(Remedy):
    """Draw batches with a class-balanced sampler (``strategy``: inverse, sqrt, power(q), ...)."""

    strategy: str = "inverse"
    changes = Changes(replaces={"sampler_fn"}, excludes=_READS_PRIOR, advice=_BALANCED_ROWS)

    def __post_init__(self) -> None:
        resolve_strategy(self.strategy)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return replace(setup, sampler_fn=_BalancedSamplerFn(self.strategy)).with_notes(sampler=str(self.strategy))


@register_remedy("oversample", help="random over-sampling of the training rows (strategy: auto, ratio, {class: count})")
@dataclass(frozen=True)
class Oversample(Remedy):
    """Random over-sampling of the training rows to ``strategy`` ("auto", a ratio, {class: count})."""

    strategy: Any = "auto"
    method: str = field(default="over", init=False)
    changes = Changes(wraps={"train"}, replaces={"class_prior"})

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, dict):  # a dict is checked against the counts in apply
            target_counts([2, 1], method=self.method, strategy=self.strategy)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        idx = fit_resample(setup.train.labels, method=self.method, strategy=self.strategy, seed=seed)
        return replace(setup, train=setup.train.subset(idx)).with_notes(resampled=f"{self.method}:{len(idx)}")


@register_remedy("undersample",
                 help="random under-sampling of the training rows (strategy: auto, ratio, {class: count})")
@dataclass(frozen=True)
class Undersample(Oversample):
    """Random under-sampling of the training rows to ``strategy`` ("auto", a ratio, {class: count})."""

    method: str = field(default="under", init=False)


@register_remedy("class_weights", help="cross-entropy with class-balanced weights (inverse or effective number)")
@dataclass(frozen=True)
class ClassWeights(Remedy):
    """Cross-entropy with class-balanced weights (``kind``: inverse or effective_number(β))."""

    kind: str = "effective_number"
    beta: float = 0.9999
    changes = Changes(replaces={"loss_fn"}, excludes=_READS_PRIOR, advice=_BALANCED_ROWS)

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, ("inverse", "effective_number"))
        check_float("beta", self.beta, low=0.0, high=1.0, high_inclusive=False)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.losses import WeightedCrossEntropy, class_balanced_weights

        w = class_balanced_weights(_counts(setup), kind=self.kind, beta=self.beta)
        return replace(setup, loss_fn=WeightedCrossEntropy(w)).with_notes(loss=f"weighted_ce:{self.kind}")


@register_remedy("focal", help="focal loss (gamma)")
@dataclass(frozen=True)
class Focal(Remedy):
    """Focal loss with focusing parameter ``gamma``."""

    gamma: float = 2.0
    changes = Changes(replaces={"loss_fn"})

    def __post_init__(self) -> None:
        check_float("gamma", self.gamma, low=0.0)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.losses import FocalLoss

        return replace(setup, loss_fn=FocalLoss(gamma=self.gamma)).with_notes(loss=f"focal:{self.gamma:g}")


@dataclass(frozen=True)
class PosthocModelFn:
    """``model_fn`` of post-hoc logit adjustment: the wrapped model, its eval logits minus ``τ·log π``."""

    model_fn: Any
    counts: tuple
    tau: float

    def __call__(self, num_classes: int):
        from scarce.balance.losses import PosthocAdjusted

        return PosthocAdjusted(self.model_fn(num_classes), list(self.counts), tau=self.tau)

    def class_terms(self) -> dict[str, Any]:
        """The offset subtracted from the trained model's logits at test time (``-τ·log π``)."""
        from scarce.balance.losses import class_terms, log_prior

        return {**class_terms(self.model_fn),
                f"logit offset −τ·log π (τ = {self.tau:g}), after training": -(self.tau * log_prior(list(self.counts))).numpy()}

    def card_part(self, describe) -> dict:
        """Its description for a model card (``scarce.deliver.parts``): the wrapped model's, the
        class counts and ``τ`` (the offset is also a buffer saved with the weights)."""
        return {"kind": "posthoc_logit_adjust", "tau": float(self.tau), "counts": [int(c) for c in self.counts],
                "what": "in eval mode the logits become logits - tau * log(class prior of the training rows)",
                "inner": describe(self.model_fn)}

    @classmethod
    def from_card(cls, description: dict, build) -> "PosthocModelFn":
        return cls(build(description["inner"]), tuple(description["counts"]), float(description["tau"]))


@register_remedy("logit_adjust", help="logit adjustment by tau*log prior, in the loss or post-hoc (mode)")
@dataclass(frozen=True)
class LogitAdjust(Remedy):
    """Logit adjustment with strength ``tau``: in the loss (``mode: loss``, Menon et al. 2021) or
    post-hoc on a model trained with plain cross-entropy (``mode: posthoc``)."""

    tau: float = 1.0
    mode: str = "loss"
    deliverable = True  # post-hoc: its model describes itself for a card (scarce.deliver.parts)

    def __post_init__(self) -> None:
        check_float("tau", self.tau, low=0.0)
        check_choice("mode", self.mode, ("loss", "posthoc"))

    @property
    def changes(self) -> Changes:
        wrapped = "model_fn" if self.mode == "posthoc" else "loss_fn"
        return Changes(wraps={wrapped}, replaces={"prior_correction"}, excludes=_READS_PRIOR, advice=_BALANCED_ROWS)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.losses import LogitAdjustedLoss

        counts = _counts(setup)
        if self.mode == "posthoc":
            fn = PosthocModelFn(setup.model_fn, tuple(int(c) for c in counts), self.tau)
            return replace(setup, model_fn=fn).with_notes(logit_adjust=f"posthoc:{self.tau:g}")
        return replace(setup, loss_fn=LogitAdjustedLoss(counts, tau=self.tau, base=setup.loss_fn)).with_notes(
            logit_adjust=f"loss:{self.tau:g}")


@register_remedy("balanced_softmax", help="Balanced Softmax: cross-entropy on logits + log prior")
@dataclass(frozen=True)
class BalancedSoftmax(Remedy):
    """Balanced Softmax (Ren et al. 2020): cross-entropy (or the setup's loss) on ``logits + log π``."""

    changes = Changes(wraps={"loss_fn"}, replaces={"prior_correction"}, excludes=_READS_PRIOR, advice=_BALANCED_ROWS)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.losses import LogitAdjustedLoss

        loss = LogitAdjustedLoss(_counts(setup), tau=1.0, base=setup.loss_fn)
        return replace(setup, loss_fn=loss).with_notes(balanced_softmax=True)


@register_remedy("drw", help="deferred re-weighting: class-balanced weights from `start` of training on")
@dataclass(frozen=True)
class DRW(Remedy):
    """Deferred re-weighting: cross-entropy, then effective-number weights (β) from ``start`` on."""

    start: float = 0.8
    beta: float = 0.9999
    changes = Changes(replaces={"loss_fn"}, excludes=_READS_PRIOR, advice=_BALANCED_ROWS)

    def __post_init__(self) -> None:
        check_float("start", self.start, low=0.0, high=1.0)
        check_float("beta", self.beta, low=0.0, high=1.0, high_inclusive=False)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.losses import DeferredReweighting, class_balanced_weights

        w = class_balanced_weights(_counts(setup), kind="effective_number", beta=self.beta)
        return replace(setup, loss_fn=DeferredReweighting(w, start=self.start),  # keep a re-weighted checkpoint
                       select_from=max(setup.select_from, self.start)).with_notes(drw_start=self.start)


@dataclass(frozen=True)
class CRTModelFn:
    """cRT's ``model_fn`` (the wrapped model following the two-phase clock) and its sampler."""

    model_fn: Any
    clock: Any
    reinit: bool
    strategy: str

    def __call__(self, num_classes: int):
        from scarce.balance.crt import attach_crt

        return attach_crt(self.model_fn(num_classes), self.clock, reinit=self.reinit)

    def card_part(self, describe) -> dict:
        """Its description for a model card: the wrapped model's (cRT adds no weight)."""
        return {"kind": "crt", "start": float(self.clock.start), "reinit": self.reinit, "strategy": str(self.strategy),
                "inner": describe(self.model_fn)}

    @classmethod
    def from_card(cls, description: dict, build) -> Any:
        """The wrapped model: cRT's hook only acts in train mode, a saved model predicts in eval mode."""
        return build(description["inner"])

    def sampler(self, labels, *, seed: int):
        from scarce.balance.crt import PhaseSampler

        return PhaseSampler(labels, self.clock, seed=seed, strategy=self.strategy)


@register_remedy("crt", help="classifier re-training: freeze features at `start`, retrain the head class-balanced")
@dataclass(frozen=True)
class CRT(Remedy):
    """Decoupled classifier re-training: instance-balanced training until ``start`` (a fraction of
    the steps), then features frozen and only the head trained with a class-balanced sampler."""

    start: float = 0.8
    strategy: str = "inverse"
    reinit: bool = False
    deliverable = True  # its model describes itself for a card (scarce.deliver.parts)
    changes = Changes(wraps={"model_fn", "loss_fn"}, replaces={"sampler_fn"}, excludes=_READS_PRIOR,
                      advice=_BALANCED_ROWS)

    def __post_init__(self) -> None:
        check_float("start", self.start, low=0.0, high=1.0)
        resolve_strategy(self.strategy)
        if not isinstance(self.reinit, bool):
            raise TypeError(f"`reinit` must be true or false, got {self.reinit!r}.")

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.balance.crt import PhaseLoss, TwoPhase

        clock = TwoPhase(start=self.start)
        parts = CRTModelFn(setup.model_fn, clock, self.reinit, self.strategy)
        return replace(setup, model_fn=parts, sampler_fn=parts.sampler, loss_fn=PhaseLoss(clock, setup.loss_fn),
                       select_from=max(setup.select_from, self.start)).with_notes(crt_start=self.start)
