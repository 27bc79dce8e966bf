"""The uniform backbone interface: a stack of stages, a pooled feature vector, stage-wise freezing.

Every registered architecture (timm or torchvision) is wrapped as a :class:`Backbone`: an ordered
list of ``stages`` (stem, blocks..., last conv) followed by global average pooling, so that

* ``forward_features(x) -> (B, D)`` works on any ``(B, 3, H, W)`` float tensor (images or, say,
  log-mel spectrograms repeated to three channels) already normalised with ``data_config``;
* ``freeze_to(n)`` freezes the first ``n`` stages (``requires_grad=False``, BatchNorm in eval mode
  with its pretrained statistics), ``unfreeze()`` undoes it;
* ``truncated(n)`` keeps only the first ``n`` stages (early, generic layers) for a new head.

BatchNorm and tiny batches: a frozen stage keeps its BatchNorm layers in eval mode and marks them
``track_running_stats=False`` *while frozen*, so neither training nor the engine's precise-BN
re-estimation (``scarce.inference.recompute_batchnorm``) touches their pretrained statistics. Trainable
stages' BatchNorm layers train on the (small) batches and the engine re-estimates their running
statistics on the clean training subset after training. With batches below ~8 examples batch
statistics are noisy: pass ``bn="frozen"`` to the transfer model to keep every BatchNorm layer in
eval mode with the pretrained statistics (its affine weights still train).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from scarce._checks import check_choice, check_int
from scarce._torch import labels_to_tensor


@dataclass(frozen=True)
class DataConfig:
    """The preprocessing a backbone expects: inputs of ``size`` px with ``(x/255 - mean) / std``.

    EfficientNet-Lite0's ``(x - 127) / 128`` on 0-255 inputs is ``mean = 127/255, std = 128/255``.
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    in_chans: int = 3
    interpolation: str = "bilinear"

    def to_dict(self) -> dict:
        return asdict(self)


IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
LITE0 = dict(mean=(127 / 255,) * 3, std=(128 / 255,) * 3)


def _bn_layers(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class Backbone(nn.Module):
    """Stages + global average pooling, with the preprocessing and freezing API.

    Args:
        stages: the architecture's stages, in order (input → deepest).
        data_config: the preprocessing it expects (:class:`DataConfig`).
        name: the registry name.
        weights: where the weights came from (``"none"``, ``"imagenet"``, a file path).

    Example:
        >>> import torch
        >>> from scarce.backbones import create_backbone
        >>> bb = create_backbone("efficientnet_lite0", pretrained=False)
        >>> bb.forward_features(torch.zeros(2, 3, 64, 64)).shape == (2, bb.num_features)
        True
    """

    def __init__(self, stages: list[nn.Module], *, data_config: DataConfig, name: str, weights: str = "none") -> None:
        super().__init__()
        if not stages:
            raise ValueError("`stages` must hold at least one module.")
        self.stages = nn.ModuleList(stages)
        self.data_config = data_config
        self.name = name
        self.weights = weights
        self._frozen = 0
        self._bn_frozen_all = False
        self._widths: list[int] | None = None

    # -- shape ---------------------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def stage_widths(self) -> list[int]:
        """Output channels of each stage (measured once with a small dummy forward)."""
        if self._widths is None:
            was = self.training
            self.eval()
            widths, x = [], torch.zeros(1, self.data_config.in_chans, 64, 64,
                                         device=next(self.parameters()).device)
            with torch.no_grad():
                for stage in self.stages:
                    x = stage(x)
                    widths.append(int(x.shape[1]))
            self.train(was)
            self._widths = widths
        return self._widths

    @property
    def num_features(self) -> int:
        """D, the length of ``forward_features``' output."""
        return self.stage_widths()[-1]

    # -- forward -------------------------------------------------------------------------------
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, D)`` of a normalised ``(B, in_chans, H, W)`` float tensor."""
        if x.dim() != 4:
            raise ValueError(f"`x` must be a (B, C, H, W) tensor, got shape {tuple(x.shape)}.")
        if x.shape[1] != self.data_config.in_chans:
            raise ValueError(
                f"`x` must have {self.data_config.in_chans} channels for backbone '{self.name}', got {x.shape[1]}. "
                "Convert greyscale explicitly (scarce.backbones.Preprocess(..., grayscale='repeat') repeats the "
                "channel three times)."
            )
        for stage in self.stages:
            x = stage(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

    # -- freezing ------------------------------------------------------------------------------
    def freeze_to(self, n: int) -> "Backbone":
        """Freeze the first ``n`` stages (0 = none, ``num_stages`` = all); later ones are trainable.

        Frozen stages get ``requires_grad=False`` and their BatchNorm layers stay in eval mode with
        their current (pretrained) statistics, excluded from precise-BN re-estimation.

        Raises:
            ValueError: ``n`` beyond the number of stages.
        """
        check_int("n", n, minimum=0, maximum=self.num_stages)
        for i, stage in enumerate(self.stages):
            frozen = i < n
            for p in stage.parameters():
                p.requires_grad_(not frozen)
            for bn in _bn_layers(stage):
                bn.track_running_stats = not (frozen or self._bn_frozen_all)
        self._frozen = n
        self.train(self.training)
        return self

    def unfreeze(self) -> "Backbone":
        """Make every stage trainable again."""
        return self.freeze_to(0)

    @property
    def frozen_stages(self) -> int:
        return self._frozen

    def freeze_batchnorm(self, frozen: bool = True) -> "Backbone":
        """Keep every BatchNorm layer in eval mode with its pretrained statistics (tiny batches)."""
        self._bn_frozen_all = bool(frozen)
        return self.freeze_to(self._frozen)

    def train(self, mode: bool = True) -> "Backbone":
        super().train(mode)
        for i, stage in enumerate(self.stages):
            if i < self._frozen or self._bn_frozen_all:
                for bn in _bn_layers(stage):
                    bn.eval()
        return self

    def headless(self) -> "Backbone":
        """The same backbone (sharing its stages and freezing state) without the pretrained
        ImageNet ``classifier``, which ``forward_features`` never uses: what a saved model holds."""
        out = Backbone(list(self.stages), data_config=self.data_config, name=self.name, weights=self.weights)
        out._bn_frozen_all, out._frozen = self._bn_frozen_all, self._frozen
        return out.train(self.training)

    def truncated(self, n: int) -> "Backbone":
        """A backbone made of the first ``n`` stages only (shares their modules).

        Raises:
            ValueError: ``n`` not in ``1..num_stages``.
        """
        check_int("n", n, minimum=1, maximum=self.num_stages)
        out = Backbone(list(self.stages[:n]), data_config=self.data_config, name=f"{self.name}[:{n}]",
                       weights=self.weights)
        out._bn_frozen_all = self._bn_frozen_all
        return out


class Preprocess:
    """uint8 ``(B, H, W, C)`` images (or a list of HWC arrays) → the backbone's normalised input.

    Resizes to ``size`` (default: the backbone's), converts greyscale explicitly when asked
    (``grayscale="repeat"`` repeats the single channel three times; ``"error"`` refuses), then
    applies ``(x/255 - mean) / std``. Picklable, so it can serve as a DataLoader collate.

    Example:
        >>> import numpy as np
        >>> from scarce.backbones.base import DataConfig, Preprocess, LITE0
        >>> p = Preprocess(DataConfig(size=64, **LITE0))
        >>> p(np.zeros((2, 32, 32, 3), np.uint8)).shape
        torch.Size([2, 3, 64, 64])
    """

    def __init__(self, data_config: DataConfig, *, size: int | None = None, grayscale: str = "error") -> None:
        self.data_config = data_config
        self.size = check_int("size", size, minimum=8) if size is not None else data_config.size
        self.grayscale = check_choice("grayscale", grayscale, ("error", "repeat"))

    def describe(self) -> dict:
        """What the preprocessing does (part of the feature-cache key; :meth:`from_description` rebuilds it)."""
        return {**self.data_config.to_dict(), "size": self.size, "grayscale": self.grayscale}

    @classmethod
    def from_description(cls, description: dict) -> "Preprocess":
        """The preprocessing :meth:`describe` described."""
        d = dict(description)
        config = DataConfig(size=int(d["size"]), mean=tuple(d["mean"]), std=tuple(d["std"]),
                            in_chans=int(d["in_chans"]), interpolation=d["interpolation"])
        return cls(config, size=int(d["size"]), grayscale=d["grayscale"])

    def in_words(self) -> str:
        """What is done to an image, for a reader (a model card)."""
        grey = "; a 1-channel image repeated to 3 channels" if self.grayscale == "repeat" else ""
        return (f"uint8 HWC images resized to {self.size}x{self.size} ({self.data_config.interpolation}){grey}; "
                f"then (x / 255 - mean) / std with mean {[round(v, 4) for v in self.data_config.mean]} and std "
                f"{[round(v, 4) for v in self.data_config.std]}, channels first")

    def __call__(self, images) -> torch.Tensor:
        import numpy as np

        if isinstance(images, np.ndarray) and images.ndim == 4:
            xs = images
        else:
            xs = np.stack([np.asarray(im) for im in images])
        if xs.ndim == 3:
            xs = xs[..., None]
        x = torch.from_numpy(np.ascontiguousarray(xs)).permute(0, 3, 1, 2).float()
        want = self.data_config.in_chans
        if x.shape[1] != want:
            if x.shape[1] == 1 and want == 3 and self.grayscale == "repeat":
                x = x.expand(-1, 3, -1, -1)
            else:
                raise ValueError(
                    f"Images must have {want} channels for this backbone, got {x.shape[1]}. "
                    + ("Pass grayscale='repeat' to repeat the grey channel explicitly." if x.shape[1] == 1 else "")
                )
        if tuple(x.shape[2:]) != (self.size, self.size):
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode=self.data_config.interpolation,
                                          align_corners=False, antialias=x.shape[2] > self.size)
        mean = torch.tensor(self.data_config.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.data_config.std).view(1, -1, 1, 1)
        return (x / 255.0 - mean) / std


class Collate:
    """A DataLoader collate for backbone models: ``list[(image, label)]`` → ``(x, y)`` tensors."""

    def __init__(self, preprocess: Preprocess) -> None:
        self.preprocess = preprocess

    def __call__(self, batch):
        x = self.preprocess([b[0] for b in batch])
        ys = [b[1] for b in batch]
        y = labels_to_tensor(ys)
        return x, y

    def card_part(self, describe) -> dict:
        """Its description for a model card (``scarce.deliver.parts``)."""
        return {"kind": "backbone_preprocess", "preprocess": self.preprocess.describe(),
                "what": self.preprocess.in_words()}

    @classmethod
    def from_card(cls, description: dict, build) -> tuple:
        """``(collate, None)`` rebuilt from :meth:`card_part` (no frozen module in front)."""
        return cls(Preprocess.from_description(description["preprocess"])), None


class FrontThen(nn.Module):
    """``model(front(x))``: a frozen module (e.g. a probe's backbone) then a trained model, saved as one.

    Example:
        >>> m = FrontThen(nn.Identity(), nn.Linear(3, 2))
        >>> m(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(self, front: nn.Module, model: nn.Module) -> None:
        super().__init__()
        self.front, self.model = front, model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.front(x))
