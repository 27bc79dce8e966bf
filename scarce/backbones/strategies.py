"""Fine-tuning strategies: which stages train, at which learning rate, and when they unfreeze.

* ``linear_probe``: every backbone stage frozen, a new linear head trains;
* ``finetune_last(n)``: the last ``n`` stages and the head train;
* ``finetune_all``: everything trains;
* ``truncate(n)``: only the first ``n`` (early, generic) stages are kept, pooled, with a new head;
* layer-wise learning-rate decay: stage ``i`` of ``S`` trains at
  ``lr · backbone_lr_scale · decay^(S-1-i)`` and the head at ``lr`` — pretrained layers get a lower
  rate by default (``backbone_lr_scale=0.1``);
* gradual unfreezing (fastai/ULMFiT style): the head trains alone first, then every
  ``unfreeze_every`` steps one more stage, from the top, becomes trainable.

Learning rates are given to the engine as ``lr_scale`` in each parameter group, relative to the
tuned ``lr`` (``scarce.train.fit`` multiplies them), so every strategy is tuned on the same grid.
BatchNorm: see :mod:`scarce.backbones.base` (frozen stages keep their pretrained statistics;
``bn="frozen"`` keeps all of them, for batches below ~8 examples).
"""

from __future__ import annotations

import torch
from torch import nn

from scarce._checks import check_choice, check_float, check_int

STRATEGIES = ("linear_probe", "finetune_last", "finetune_all", "truncate")


class Standardize(nn.Module):
    """``(x - mean) / std`` with fixed (buffer) statistics, e.g. of the training features."""

    def __init__(self, mean, std) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TransferModel(nn.Module):
    """A backbone and a new linear head, with a freezing strategy and optional gradual unfreezing.

    Args:
        backbone: a :class:`~scarce.backbones.base.Backbone` (truncated already for ``truncate``).
        num_classes: the new head's outputs.
        trainable_stages: how many of the last stages train from the start (0 = linear probe).
        unfreeze_every: with gradual unfreezing, training steps between two unfreezings (``None``: off).
        bn: ``"train"`` (trainable stages' BatchNorm uses batch statistics) or ``"frozen"``.
        dropout: dropout before the head.

    Example:
        >>> from scarce.backbones import create_backbone
        >>> m = TransferModel(create_backbone("resnet18", pretrained=False), num_classes=3, trainable_stages=1)
        >>> m.backbone.frozen_stages
        4
    """

    def __init__(self, backbone, *, num_classes: int, trainable_stages: int, unfreeze_every: int | None = None,
                 bn: str = "train", dropout: float = 0.0) -> None:
        super().__init__()
        check_int("num_classes", num_classes, minimum=2)
        check_int("trainable_stages", trainable_stages, minimum=0, maximum=backbone.num_stages)
        if unfreeze_every is not None:
            check_int("unfreeze_every", unfreeze_every, minimum=1)
        check_choice("bn", bn, ("train", "frozen"))
        check_float("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        # the pretrained ImageNet classifier is never used: not held, so a saved model is rebuilt without it
        self.backbone = backbone.headless() if getattr(backbone, "classifier", None) is not None else backbone
        self.backbone.freeze_batchnorm(bn == "frozen")
        self.backbone.freeze_to(backbone.num_stages - trainable_stages)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.num_features, num_classes)
        self.unfreeze_every = unfreeze_every
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled() and self.unfreeze_every:
            self.steps_seen += 1
            frozen = self.backbone.frozen_stages
            if frozen > 0 and int(self.steps_seen) % self.unfreeze_every == 0:
                self.backbone.freeze_to(frozen - 1)
        return self.head(self.dropout(self.backbone.forward_features(x)))

    def param_groups(self, *, backbone_lr_scale: float = 0.1, decay: float = 1.0) -> list[dict]:
        """Parameter groups with ``lr_scale``: the head at 1, stage ``i`` at
        ``backbone_lr_scale · decay^(S-1-i)``. Frozen parameters are included (they get no
        gradient, so the optimiser skips them) so that gradual unfreezing needs no new optimiser."""
        check_float("backbone_lr_scale", backbone_lr_scale, low=0.0, low_inclusive=False)
        check_float("decay", decay, low=0.0, high=1.0, low_inclusive=False)
        s = self.backbone.num_stages
        groups = [{"params": list(self.head.parameters()), "lr_scale": 1.0}]
        for i, stage in enumerate(self.backbone.stages):
            params = list(stage.parameters())
            if params:
                groups.append({"params": params, "lr_scale": backbone_lr_scale * decay ** (s - 1 - i)})
        return groups


class ParamGroups:
    """A picklable ``param_groups_fn`` for :class:`TransferModel` (see ``TransferModel.param_groups``)."""

    def __init__(self, *, backbone_lr_scale: float = 0.1, decay: float = 1.0) -> None:
        self.backbone_lr_scale = check_float("backbone_lr_scale", backbone_lr_scale, low=0.0, low_inclusive=False)
        self.decay = check_float("decay", decay, low=0.0, high=1.0, low_inclusive=False)

    def __call__(self, model: TransferModel) -> list[dict]:
        return model.param_groups(backbone_lr_scale=self.backbone_lr_scale, decay=self.decay)


def build_transfer_model(backbone, *, num_classes: int, strategy: str, n_stages: int | None = None,
                         gradual: int | None = None, bn: str = "train", dropout: float = 0.0) -> TransferModel:
    """A :class:`TransferModel` for one of :data:`STRATEGIES`.

    Args:
        strategy: ``linear_probe``, ``finetune_last`` (needs ``n_stages``), ``finetune_all`` or
            ``truncate`` (keeps the first ``n_stages``, all trainable).
        gradual: unfreeze one more stage every ``gradual`` steps (starting from the head alone).

    Raises:
        ValueError: unknown strategy, or ``n_stages`` missing or beyond the backbone's stages.
    """
    check_choice("strategy", strategy, STRATEGIES)
    s = backbone.num_stages
    if strategy in ("finetune_last", "truncate"):
        if n_stages is None:
            raise ValueError(f"Strategy '{strategy}' needs `n_stages` (1..{s}).")
        check_int("n_stages", n_stages, minimum=1, maximum=s)
    if strategy == "truncate":
        backbone, trainable = backbone.truncated(n_stages), n_stages
    else:
        trainable = {"linear_probe": 0, "finetune_last": n_stages, "finetune_all": s}[strategy]
    if gradual is not None:
        trainable = 0
    return TransferModel(backbone, num_classes=num_classes, trainable_stages=trainable, unfreeze_every=gradual,
                         bn=bn, dropout=dropout)
