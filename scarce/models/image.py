"""Image classifiers trained from scratch: a small CNN for small images and a CIFAR-style
ResNet-18, plus the raw-pixel features of the logistic-regression reference.

Both take ``(B, C, H, W)`` float batches; ``in_channels`` and ``image_size`` describe them.
"""

from __future__ import annotations

import numpy as np

from scarce._checks import check_int


def _check_inputs(in_channels: int, image_size: int) -> None:
    check_int("in_channels", in_channels, minimum=1)
    check_int("image_size", image_size, minimum=1)


def small_cnn(*, num_classes: int, in_channels: int = 3, image_size: int = 32, width: int = 32, dropout: float = 0.2):
    """Three conv blocks (width, 2·width, 4·width) with BatchNorm, max-pooling while the map is
    ≥ 8 px, global average pooling and a linear head."""
    from torch import nn

    _check_inputs(in_channels, image_size)
    check_int("width", width, minimum=1)
    layers, c, size = [], in_channels, image_size
    for i, out in enumerate((width, 2 * width, 4 * width)):
        layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
        if size >= 8 and i < 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))


def resnet18(*, num_classes: int, in_channels: int = 3, image_size: int = 32):
    """torchvision's ResNet-18 without pretrained weights; below 64 px the stem is a 3×3 stride-1
    convolution without max-pooling (the usual CIFAR variant)."""
    from torch import nn
    from torchvision.models import resnet18 as tv_resnet18

    _check_inputs(in_channels, image_size)
    model = tv_resnet18(weights=None, num_classes=num_classes)
    if image_size < 64:
        model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return model


class FlatPixels:
    """Raw pixels scaled to [0, 1], flattened: the logistic-regression reference's image features."""

    def fit_transform(self, ds):
        return self.transform(ds)

    def transform(self, ds):
        return np.stack([np.asarray(ds.get(i), np.float32).ravel() / 255.0 for i in range(len(ds))])
