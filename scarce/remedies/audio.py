"""Audio remedies: waveform augmentation (audiomentations presets) and SpecAugment on log-mels.

``waveform`` sets the per-sample ``transform`` (CPU, before the log-mel collate); ``specaugment``
sets the ``batch_transform`` (on the device, after it). Both build their augmentation through
:mod:`scarce.augment.registry` (entries ``waveform`` and ``specaugment``). They compose with
``chain``; a transform or batch transform already on the setup is kept and run first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scarce.augment.registry import create_augment
from scarce.remedies.base import Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes


def check_audio(setup: TrainSetup, remedy: str) -> int:
    """The sample rate of the setup's clips; ``ValueError`` naming ``remedy`` for other data."""
    if setup.train.modality != "audio":
        raise ValueError(f"Remedy '{remedy}' needs an audio dataset, got modality {setup.train.modality!r}.")
    rate = getattr(setup.train, "sample_rate", None)
    if rate is None:
        raise ValueError(f"Remedy '{remedy}' needs the training set's `sample_rate`, got None.")
    return int(rate)


@dataclass(frozen=True)
class _Then:
    """Run ``first`` then ``second`` (per-sample or batch transforms)."""

    first: object
    second: object

    def __call__(self, x, *args, **kwargs):
        if args or "generator" in kwargs:  # batch transform: (x, y, generator=...)
            x, y = self.first(x, *args, **kwargs)
            return self.second(x, y, **kwargs)
        return self.second(self.first(x, **kwargs), **kwargs)


@register_remedy("waveform", help="audio: audiomentations preset light/medium/strong per clip")
class Waveform(Remedy):
    """Augment each training clip with an audiomentations preset (``light``/``medium``/``strong``).

    Example:
        >>> Waveform(preset="strong").name
        'waveform'
    """

    changes = Changes(wraps={"transform"}, modalities={"audio"})

    def __init__(self, *, preset: str = "medium", p: float = 1.0, sample_rate: int | None = None) -> None:
        create_augment("waveform", preset=preset, sample_rate=sample_rate or 8000, p=p)  # validates the options now
        self.preset, self.p, self.sample_rate = preset, p, sample_rate

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        rate = check_audio(setup, self.name)
        if self.sample_rate is not None and self.sample_rate != rate:
            raise ValueError(f"Remedy '{self.name}' was set for `sample_rate`={self.sample_rate} Hz but the clips are "
                             f"{rate} Hz.")
        aug = create_augment("waveform", preset=self.preset, sample_rate=rate, p=self.p)
        transform = aug if setup.transform is None else _Then(setup.transform, aug)
        return replace(setup, transform=transform).with_notes(waveform_preset=self.preset)


@register_remedy("specaugment", help="audio: SpecAugment masks (+ warp) on log-mel batches, on device")
class SpecAugmentRemedy(Remedy):
    """SpecAugment on the log-mel batch (frequency/time masks, optional time warp), on the device.

    Options are those of :class:`scarce.augment.specaugment.SpecAugment`; the frame-mask channel of
    scarce's audio collate (channel 1) gives each clip's valid length.

    Example:
        >>> SpecAugmentRemedy(freq_masks=2, freq_width=6).name
        'specaugment'
    """

    changes = Changes(wraps={"batch_transform"}, modalities={"audio"})

    def __init__(self, *, freq_masks: int = 2, freq_width: int = 6, time_masks: int = 2,
                 time_width: int | float = 0.1, time_warp: int = 0, p: float = 1.0) -> None:
        self.aug = create_augment("specaugment", freq_masks=freq_masks, freq_width=freq_width, time_masks=time_masks,
                               time_width=time_width, time_warp=time_warp, p=p, valid_channel=1, inplace=True)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        check_audio(setup, self.name)
        bt = self.aug if setup.batch_transform is None else _Then(setup.batch_transform, self.aug)
        return replace(setup, batch_transform=bt).with_notes(specaugment=repr(self.aug))
