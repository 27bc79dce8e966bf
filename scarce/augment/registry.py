"""One registry of augmentations for every modality: ``create_augment(name, **options)``,
``list_augments(modality=None)``.

Every entry declares its ``modality`` (``image``, ``text``, ``audio``) and its ``kind``:

* ``sample``: a per-sample transform ``aug(x, rng=np.random.Generator) -> x`` (an image
  ``(H, W, C)``, a text ``str`` or a waveform ``(T,)`` float32), run on the CPU in the data loader;
* ``batch``: a batch step ``aug(x, y, generator=torch.Generator) -> (x, y)`` on the device.

Entries are registered here, lazily (``"module:attr"``), so that listing them imports no backend
(albumentations, nlpaug, audiomentations, torch). Add one line per augmentation: the contract
test (``tests/test_augment_contract.py``) runs over every entry and fails until the new one passes.

Example:
    >>> import numpy as np
    >>> aug = create_augment("aeda")
    >>> isinstance(aug("a fine film", rng=np.random.default_rng(0)), str)
    True
    >>> [n for n in list_augments("audio")]
    ['specaugment', 'waveform']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scarce._checks import check_choice
from scarce.modalities import modality_names
from scarce.registry import Registry

KINDS = ("sample", "batch")


@dataclass(frozen=True)
class AugmentInfo:
    """What a registry entry declares: its name, modality, kind and one-line help."""

    name: str
    modality: str
    kind: str
    help: str


class AugmentRegistry(Registry):
    """A :class:`~scarce.registry.Registry` whose entries declare a ``modality`` and a ``kind``."""

    def __init__(self) -> None:
        super().__init__("augmentation")
        self._info: dict[str, AugmentInfo] = {}

    def register(self, name: str, factory: Callable[..., Any] | str | None = None, *, modality: str, kind: str,
                 help: str = ""):
        """Register ``factory`` under ``name`` for ``modality`` and ``kind`` (see the module docstring)."""
        check_choice("modality", modality, modality_names())
        check_choice("kind", kind, KINDS)

        def add(obj):
            super(AugmentRegistry, self).register(name, obj, help=help)
            self._info[name] = AugmentInfo(name, modality, kind, self._help[name])
            return obj

        return add(factory) if factory is not None else add

    def info(self, name: str) -> AugmentInfo:
        """The declaration of ``name`` (unknown names raise ``ValueError`` with a "did you mean")."""
        if name not in self._info:
            self.get(name)  # raises the registry's "unknown name" error
        return self._info[name]

    def names(self, modality: str | None = None, kind: str | None = None) -> list[str]:
        """Registered names, sorted; only those of ``modality`` / ``kind`` when given."""
        if modality is not None:
            check_choice("modality", modality, modality_names())
        if kind is not None:
            check_choice("kind", kind, KINDS)
        return sorted(n for n, i in self._info.items()
                      if (modality is None or i.modality == modality) and (kind is None or i.kind == kind))


AUGMENTS = AugmentRegistry()

_IMAGE, _TEXT, _AUDIO = "scarce.augment.image", "scarce.augment.text", "scarce.augment.audio"
# AUGMENTS.register("name", "module:factory", modality=..., kind=..., help="one line")
AUGMENTS.register("light", f"{_IMAGE}:light", modality="image", kind="sample",
                  help="shift ±side/8 (or RandomResizedCrop) + flip")
AUGMENTS.register("medium", f"{_IMAGE}:medium", modality="image", kind="sample",
                  help="light + rotation/scale + mild colour jitter")
AUGMENTS.register("strong", f"{_IMAGE}:strong", modality="image", kind="sample",
                  help="medium + shear, strong colour, grey, cut-out")
AUGMENTS.register("randaugment", "scarce.augment.policies:randaugment_preset", modality="image", kind="sample",
                  help="RandAugment (N ops at magnitude M, torchvision's op list)")
AUGMENTS.register("trivialaugment", "scarce.augment.policies:trivialaugment_preset", modality="image",
                  kind="sample", help="TrivialAugmentWide (one op, random magnitude, wide ranges)")
AUGMENTS.register("cutout", f"{_IMAGE}:cutout", modality="image", kind="sample",
                  help="Cutout: one black rectangle (holes=) of a quarter to half the sides (size=)")
AUGMENTS.register("mixup", "scarce.augment.mix:MixUp", modality="image", kind="batch",
                  help="MixUp: per-sample lambda ~ Beta(alpha, alpha), soft targets (num_classes=)")
AUGMENTS.register("cutmix", "scarce.augment.mix:CutMix", modality="image", kind="batch",
                  help="CutMix: per-sample box of area 1 - lambda, area-weighted soft targets (num_classes=)")
AUGMENTS.register("mixup_cutmix", "scarce.augment.mix:MixUpOrCutMix", modality="image", kind="batch",
                  help="per sample CutMix with probability switch_prob, else MixUp (timm's switch)")
AUGMENTS.register("eda", f"{_TEXT}:EDA", modality="text", kind="sample",
                  help="EDA: synonym replace/insert, swap, delete a share word_rate of the words (offline WordNet)")
AUGMENTS.register("aeda", f"{_TEXT}:AEDA", modality="text", kind="sample",
                  help="AEDA: insert 1 to ratio x words punctuation marks")
AUGMENTS.register("char_noise", f"{_TEXT}:CharNoise", modality="text", kind="sample",
                  help="keyboard/OCR/random character noise through nlpaug (kind=)")
AUGMENTS.register("contextual", "scarce.augment.text_contextual:ContextualAug", modality="text", kind="sample",
                  help="masked-LM word substitution from a local model folder (model_path=)")
AUGMENTS.register("waveform", f"{_AUDIO}:WaveformAugment", modality="audio", kind="sample",
                  help="audiomentations preset light/medium/strong on a clip (sample_rate=)")
AUGMENTS.register("specaugment", "scarce.augment.specaugment:SpecAugment", modality="audio", kind="batch",
                  help="SpecAugment frequency/time masks (+ warp) on log-mel batches")


def create_augment(name: str, **options: Any):
    """Build the augmentation registered as ``name`` with its options.

    Args:
        name: one of :func:`list_augments`.
        **options: the entry's own. Image presets need ``image_shape`` and ``channels``; batch
            mixers need ``num_classes``; ``waveform`` needs ``sample_rate``. Every ``sample``
            entry takes ``p`` (probability of augmenting a sample at all; ``0`` is the identity).

    Raises:
        ValueError: an unknown name (with a "did you mean") or bad options (naming the option).

    Example:
        >>> import numpy as np
        >>> aug = create_augment("light", image_shape=(32, 32), channels=3)
        >>> aug(np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0)).dtype
        dtype('uint8')
    """
    return AUGMENTS.create(name, **options)


def list_augments(modality: str | None = None, *, kind: str | None = None) -> list[str]:
    """Names accepted by :func:`create_augment`, all of them or those of ``modality`` / ``kind``.

    Example:
        >>> list_augments("image", kind="batch")
        ['cutmix', 'mixup', 'mixup_cutmix']
    """
    return AUGMENTS.names(modality, kind)


def augment_info(name: str) -> AugmentInfo:
    """The modality, kind and help of the entry ``name``.

    Example:
        >>> augment_info("specaugment").kind
        'batch'
    """
    return AUGMENTS.info(name)
