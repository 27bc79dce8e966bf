"""Waveform augmentation presets built on audiomentations, made deterministic from a given RNG.

audiomentations draws its parameters from Python's ``random`` module and NumPy's global
generator. :class:`WaveformAugment` therefore draws one seed from the ``rng`` it is given, seeds
both global generators with it *inside a save/restore block*, applies the preset and puts the
global states back: the output depends only on ``rng`` (so the engine's per-(seed, draw)
generators give the same stream whatever the number of DataLoader workers) and no global state
leaks. The block is not thread-safe; DataLoader workers are processes, which is fine.

Registered as ``waveform`` in :mod:`scarce.augment.registry` (``create_augment("waveform",
preset="light", sample_rate=8000)``). Presets (``light`` / ``medium`` / ``strong``, in
:data:`PRESET_BUILDERS`): gain, Gaussian noise at an SNR, time shift, and
from ``medium`` up time stretch, pitch shift and band filters. Frequencies are set relative to
the sample rate so that they stay below Nyquist at 8 kHz.
"""

from __future__ import annotations

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce._rng import seeded_globals
from scarce.data.audio import check_waveform


def _import_audiomentations():
    try:
        import audiomentations
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Waveform augmentation needs audiomentations: pip install 'scarce[audio]'.") from err
    return audiomentations


def _light(A, nyq: float) -> list:
    return [A.Gain(min_gain_db=-6, max_gain_db=6, p=0.5),
            A.AddGaussianSNR(min_snr_db=30, max_snr_db=50, p=0.5),
            A.Shift(min_shift=-0.1, max_shift=0.1, rollover=False, p=0.5)]


def _medium(A, nyq: float) -> list:
    return [A.Gain(min_gain_db=-9, max_gain_db=9, p=0.5),
            A.AddGaussianSNR(min_snr_db=20, max_snr_db=40, p=0.5),
            A.Shift(min_shift=-0.2, max_shift=0.2, rollover=False, p=0.5),
            A.TimeStretch(min_rate=0.9, max_rate=1.1, leave_length_unchanged=True, p=0.3),
            A.PitchShift(min_semitones=-2, max_semitones=2, p=0.3),
            A.OneOf([A.LowPassFilter(min_cutoff_freq=0.4 * nyq, max_cutoff_freq=0.9 * nyq),
                     A.HighPassFilter(min_cutoff_freq=20, max_cutoff_freq=0.05 * nyq)], p=0.2)]


def _strong(A, nyq: float) -> list:
    return [A.Gain(min_gain_db=-12, max_gain_db=12, p=0.7),
            A.AddGaussianSNR(min_snr_db=10, max_snr_db=30, p=0.7),
            A.Shift(min_shift=-0.3, max_shift=0.3, rollover=False, p=0.7),
            A.TimeStretch(min_rate=0.8, max_rate=1.25, leave_length_unchanged=True, p=0.5),
            A.PitchShift(min_semitones=-4, max_semitones=4, p=0.5),
            A.OneOf([A.BandPassFilter(min_center_freq=0.1 * nyq, max_center_freq=0.5 * nyq),
                     A.LowPassFilter(min_cutoff_freq=0.3 * nyq, max_cutoff_freq=0.8 * nyq),
                     A.HighPassFilter(min_cutoff_freq=20, max_cutoff_freq=0.1 * nyq)], p=0.4)]


PRESET_BUILDERS = {"light": _light, "medium": _medium, "strong": _strong}
"""Preset name → ``build(audiomentations, nyquist_hz) -> list of transforms`` (add a preset here)."""
PRESETS = tuple(PRESET_BUILDERS)


def build_preset(name: str, *, sample_rate: int):
    """The audiomentations ``Compose`` of a preset (its randomness is global; use :class:`WaveformAugment`).

    Example:
        >>> len(build_preset("strong", sample_rate=8000).transforms)
        6
    """
    check_choice("preset", name, PRESETS)
    check_int("sample_rate", sample_rate, minimum=1000)
    A = _import_audiomentations()
    return A.Compose(PRESET_BUILDERS[name](A, sample_rate / 2))


class WaveformAugment:
    """A per-sample waveform transform: ``aug(x, rng=np.random.Generator) -> x`` (float32, same length).

    Args:
        preset: ``"light"``, ``"medium"`` or ``"strong"``.
        sample_rate: Hz of the clips it will see.
        p: probability that a clip is augmented at all (``p=0``: identity).

    Raises:
        TypeError / ValueError: on call, for a non-float, multi-channel, empty or non-finite clip.

    Example:
        >>> import numpy as np
        >>> aug = WaveformAugment(preset="light", sample_rate=8000)
        >>> x = np.sin(np.arange(4000) / 5).astype(np.float32)
        >>> y1 = aug(x, rng=np.random.default_rng(0)); y2 = aug(x, rng=np.random.default_rng(0))
        >>> bool(np.array_equal(y1, y2)), y1.shape, y1.dtype
        (True, (4000,), dtype('float32'))
    """

    def __init__(self, *, preset: str = "medium", sample_rate: int, p: float = 1.0) -> None:
        self.preset = check_choice("preset", preset, PRESETS)
        self.sample_rate = check_int("sample_rate", sample_rate, minimum=1000)
        self.p = check_float("p", p, low=0.0, high=1.0)
        self._compose = None

    def __repr__(self) -> str:
        return f"WaveformAugment(preset={self.preset!r}, sample_rate={self.sample_rate}, p={self.p:g})"

    def __getstate__(self):  # pickle the settings; workers rebuild the Compose
        return {**self.__dict__, "_compose": None}

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        x = check_waveform(x, name="x")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"`rng` must be a numpy.random.Generator, got {type(rng).__name__}.")
        if self.p == 0 or rng.random() >= self.p:
            return x
        if self._compose is None:
            self._compose = build_preset(self.preset, sample_rate=self.sample_rate)
        seed = int(rng.integers(2**32))
        with seeded_globals(seed):
            y = self._compose(samples=np.array(x, np.float32), sample_rate=self.sample_rate)
        y = np.asarray(y, np.float32)
        if y.shape != x.shape or not np.isfinite(y).all():  # pragma: no cover - a library regression
            raise RuntimeError(f"Preset {self.preset!r} returned shape {y.shape} or non-finite samples for a clip of "
                               f"shape {x.shape}.")
        return y
