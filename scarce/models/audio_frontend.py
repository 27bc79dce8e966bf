"""Audio front end in plain torch ops (torchaudio is not a dependency): mel filterbank, log-mel
spectrograms of padded variable-length batches with validity masks, MFCC statistics, and the
collate that turns a list of waveforms into a log-mel batch.

The batch layout used by scarce's audio pipeline is ``(B, 2, n_mels, T)``: channel 0 holds the
log-mel spectrogram standardised per clip over its valid frames (padding frames are 0), channel 1
the frame-validity mask (1 on the clip, 0 on padding). SpecAugment (``scarce.augment.specaugment``)
reads the clip lengths from that mask, and the models pool over valid frames only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scarce._checks import check_float, check_int
from scarce._torch import labels_to_tensor
from scarce.data.audio import check_waveform


@functools.lru_cache(maxsize=16)
def _mel_filterbank_np(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    fb *= (2.0 / (upper - lower))  # Slaney-style area normalisation
    return fb.astype(np.float32)


def mel_filterbank(*, sample_rate: int, n_fft: int, n_mels: int, f_min: float = 20.0,
                   f_max: float | None = None) -> torch.Tensor:
    """Triangular filters on the HTK mel scale, shape ``(n_mels, n_fft // 2 + 1)``.

    Example:
        >>> mel_filterbank(sample_rate=8000, n_fft=256, n_mels=40).shape
        torch.Size([40, 129])
    """
    check_int("sample_rate", sample_rate, minimum=1)
    check_int("n_fft", n_fft, minimum=8)
    check_int("n_mels", n_mels, minimum=1, maximum=n_fft // 2)
    f_max = sample_rate / 2 if f_max is None else f_max
    check_float("f_max", f_max, low=0.0, high=sample_rate / 2, low_inclusive=False)
    check_float("f_min", f_min, low=0.0, high=f_max, high_inclusive=False)
    return torch.from_numpy(_mel_filterbank_np(sample_rate, n_fft, n_mels, float(f_min), float(f_max)))


@dataclass(frozen=True)
class MelConfig:
    """Log-mel settings; the defaults suit 8-16 kHz speech (25 ms windows, 10 ms hop).

    Attributes:
        sample_rate: Hz of the waveforms.
        n_mels: mel bands.
        win_seconds / hop_seconds: window and hop; ``n_fft`` is the next power of two.
        max_seconds: clips longer than this are centre-cropped (``None``: never).
    """

    sample_rate: int = 8000
    n_mels: int = 40
    win_seconds: float = 0.025
    hop_seconds: float = 0.010
    max_seconds: float | None = 1.0

    def __post_init__(self) -> None:
        check_int("sample_rate", self.sample_rate, minimum=1000)
        check_int("n_mels", self.n_mels, minimum=1, maximum=self.n_fft // 2)
        check_float("win_seconds", self.win_seconds, low=0.0, low_inclusive=False)
        check_float("hop_seconds", self.hop_seconds, low=0.0, high=self.win_seconds, low_inclusive=False)
        if self.max_seconds is not None:
            check_float("max_seconds", self.max_seconds, low=self.win_seconds)

    @property
    def win_length(self) -> int:
        return max(8, int(round(self.win_seconds * self.sample_rate)))

    @property
    def hop_length(self) -> int:
        return max(1, int(round(self.hop_seconds * self.sample_rate)))

    @property
    def n_fft(self) -> int:
        return 1 << (self.win_length - 1).bit_length()

    @property
    def max_samples(self) -> int | None:
        return None if self.max_seconds is None else int(round(self.max_seconds * self.sample_rate))

    def frames(self, samples):
        """Number of valid frames of clips with ``samples`` samples (centred STFT)."""
        return 1 + samples // self.hop_length


def pad_waveforms(clips: Sequence[np.ndarray], *, max_samples: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre-crop clips longer than ``max_samples`` and zero-pad all to the longest: ``(B, N)``
    float32 and the valid lengths ``(B,)`` int64."""
    clips = [check_waveform(c, name=f"clip {i}") for i, c in enumerate(clips)]
    if max_samples is not None:
        clips = [c[(c.size - max_samples) // 2:(c.size - max_samples) // 2 + max_samples] if c.size > max_samples
                 else c for c in clips]
    lengths = torch.tensor([c.size for c in clips], dtype=torch.int64)
    out = torch.zeros(len(clips), int(lengths.max()))
    for i, c in enumerate(clips):
        out[i, : c.size] = torch.from_numpy(np.array(c, np.float32))
    return out, lengths


def log_mel(wave: torch.Tensor, cfg: MelConfig, *, eps: float = 1e-6) -> torch.Tensor:
    """Natural-log mel power spectrogram of a ``(B, N)`` waveform batch: ``(B, n_mels, 1 + N // hop)``.

    Example:
        >>> log_mel(torch.zeros(2, 8000), MelConfig()).shape
        torch.Size([2, 40, 101])
    """
    if wave.dim() != 2:
        raise ValueError(f"`wave` must be a (B, N) batch, got shape {tuple(wave.shape)}.")
    window = torch.hann_window(cfg.win_length, device=wave.device, dtype=wave.dtype)
    spec = torch.stft(wave, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window=window,
                      center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()
    fb = mel_filterbank(sample_rate=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels).to(wave.device, wave.dtype)
    return torch.log(torch.matmul(fb, power) + eps)


def frame_mask(lengths: torch.Tensor, cfg: MelConfig, frames: int) -> torch.Tensor:
    """``(B, frames)`` float mask: 1 on frames of each clip, 0 on padding."""
    n = torch.clamp(cfg.frames(lengths), max=frames)
    return (torch.arange(frames, device=lengths.device)[None] < n[:, None]).float()


def standardise(logmel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-clip scalar standardisation over valid frames; padding becomes 0."""
    m = mask[:, None, :]
    count = m.sum((1, 2), keepdim=True) * logmel.shape[1]
    mean = (logmel * m).sum((1, 2), keepdim=True) / count
    var = (((logmel - mean) * m) ** 2).sum((1, 2), keepdim=True) / count
    return (logmel - mean) / torch.sqrt(var + 1e-5) * m


class LogMelCollate:
    """Collate ``(waveform, label)`` pairs into a ``(B, 2, n_mels, T)`` batch (see module doc).

    Example:
        >>> import numpy as np
        >>> c = LogMelCollate(MelConfig(sample_rate=8000, n_mels=32))
        >>> x, y = c([(np.zeros(800, np.float32), 0), (np.ones(1600, np.float32), 1)])
        >>> tuple(x.shape), x[0, 1, 0].sum().item(), y.tolist()
        ((2, 2, 32, 17), 9.0, [0, 1])
    """

    def __init__(self, cfg: MelConfig) -> None:
        if not isinstance(cfg, MelConfig):
            raise TypeError(f"`cfg` must be a MelConfig, got {type(cfg).__name__}.")
        self.cfg = cfg

    def __call__(self, batch):
        wave, lengths = pad_waveforms([x for x, _ in batch], max_samples=self.cfg.max_samples)
        lm = log_mel(wave, self.cfg)
        mask = frame_mask(lengths, self.cfg, lm.shape[-1])
        x = torch.stack([standardise(lm, mask), mask[:, None, :].expand_as(lm)], dim=1)
        ys = [y for _, y in batch]
        y = labels_to_tensor(ys)
        return x, y


def mfcc_stats(clips: Sequence[np.ndarray], cfg: MelConfig, *, n_mfcc: int = 20, batch_size: int = 256) -> np.ndarray:
    """Mean and standard deviation over time of ``n_mfcc`` MFCCs (DCT-II of the log-mel): ``(N, 2·n_mfcc)``."""
    from scipy.fft import dct

    check_int("n_mfcc", n_mfcc, minimum=1, maximum=cfg.n_mels)
    out = []
    for start in range(0, len(clips), batch_size):
        wave, lengths = pad_waveforms(clips[start:start + batch_size], max_samples=cfg.max_samples)
        lm = log_mel(wave, cfg)
        mask = frame_mask(lengths, cfg, lm.shape[-1]).numpy()
        c = dct(lm.numpy(), type=2, norm="ortho", axis=1)[:, :n_mfcc]
        n = mask.sum(1)[:, None]
        mean = (c * mask[:, None]).sum(2) / n
        std = np.sqrt((((c - mean[..., None]) * mask[:, None]) ** 2).sum(2) / n)
        out.append(np.concatenate([mean, std], axis=1))
    return np.concatenate(out).astype(np.float32)


class MfccStats:
    """The logistic-regression reference's features for audio: MFCC mean + std per clip."""

    def __init__(self, *, n_mfcc: int = 20, n_mels: int = 40) -> None:
        self.n_mfcc, self.n_mels = check_int("n_mfcc", n_mfcc, minimum=1), check_int("n_mels", n_mels, minimum=1)

    def _cfg(self, ds) -> MelConfig:
        rate = getattr(ds, "sample_rate", None)
        if rate is None:
            raise ValueError("An audio dataset must carry `sample_rate` (Hz) for MFCC features, got None.")
        return MelConfig(sample_rate=int(rate), n_mels=self.n_mels, max_seconds=None)

    def fit_transform(self, ds):
        return self.transform(ds)

    def transform(self, ds):
        return mfcc_stats([ds.get(i) for i in range(len(ds))], self._cfg(ds), n_mfcc=self.n_mfcc)
