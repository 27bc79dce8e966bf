"""Default classifiers for the recipes: a small CNN for small images and a CIFAR-style ResNet-18.

``create_model(name, num_classes=..., in_channels=..., image_size=...)``; ``"auto"`` picks the
small CNN below 32 px and ResNet-18 (torchvision, no weights, 3×3 stem) from 32 px up.
"""

from __future__ import annotations

from scarce._checks import check_int
from scarce.registry import Registry

MODELS = Registry("model")


def create_model(name: str, *, num_classes: int, in_channels: int = 3, image_size: int = 32, **options):
    """Build a registered model (an ``nn.Module`` mapping ``(B, C, H, W)`` to ``(B, num_classes)``).

    ``options`` go to the model's factory (e.g. ``width`` for ``small_cnn``).
    """
    check_int("num_classes", num_classes, minimum=2)
    check_int("in_channels", in_channels, minimum=1)
    check_int("image_size", image_size, minimum=1)
    if name == "auto":
        name = "small_cnn" if image_size < 32 else "resnet18"
    return MODELS.create(name, num_classes=num_classes, in_channels=in_channels, image_size=image_size, **options)


def list_models() -> list[str]:
    return ["auto", *MODELS.names()]


@MODELS.register("small_cnn", help="3-block CNN with BatchNorm and global pooling (any size >= 8 px)")
def small_cnn(*, num_classes: int, in_channels: int, image_size: int, width: int = 32, dropout: float = 0.2):
    """Three conv blocks (width, 2·width, 4·width) with BatchNorm, max-pooling while the map is
    ≥ 8 px, global average pooling and a linear head."""
    from torch import nn

    layers, c, size = [], in_channels, image_size
    for i, out in enumerate((width, 2 * width, 4 * width)):
        layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
        if size >= 8 and i < 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))


@MODELS.register("resnet18", help="torchvision ResNet-18, no weights, CIFAR stem (3x3, no max-pool)")
def resnet18(*, num_classes: int, in_channels: int, image_size: int):
    """torchvision's ResNet-18 without pretrained weights; below 64 px the stem is a 3×3 stride-1
    convolution without max-pooling (the usual CIFAR variant)."""
    from torch import nn
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None, num_classes=num_classes)
    if image_size < 64:
        model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return model
