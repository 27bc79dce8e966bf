"""Audio classifiers trained from scratch, on ``(B, 2, n_mels, T)`` log-mel batches (channel 1 = frame mask).

``audio_tdnn`` (the default, ``"auto"``): 1-D convolutions over time with the mel bands as
channels (a time-delay network), then masked mean + standard-deviation pooling over the valid
frames (x-vector "statistics pooling"), with the input's own mean/std statistics concatenated
before the head. With one or two clips per class this inductive bias matters: the head sees the
same MFCC-like statistics the logistic-regression reference uses, plus learned ones.
``audio_cnn2d``: a 2-D CNN over (mel, time) with masked global pooling, for comparison.
"""

from __future__ import annotations

import torch
from torch import nn

from scarce._checks import check_float, check_int


def masked_stats(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation of ``h`` ``(B, C, T)`` over frames where ``mask`` ``(B, T)`` is 1."""
    m = mask[:, None, :]
    n = m.sum(-1).clamp_min(1.0)
    mean = (h * m).sum(-1) / n
    var = (((h - mean[..., None]) * m) ** 2).sum(-1) / n
    return torch.cat([mean, torch.sqrt(var + 1e-5)], dim=1)


def _split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.dim() != 4 or x.shape[1] != 2:
        raise ValueError(f"Audio models take (B, 2, n_mels, T) log-mel batches (channel 1: frame mask), "
                         f"got shape {tuple(x.shape)}.")
    return x[:, 0], x[:, 1, 0]


class AudioTDNN(nn.Module):
    """Time-delay CNN with statistics pooling (see module doc)."""

    def __init__(self, *, num_classes: int, n_mels: int, width: int = 64, layers: int = 3, dropout: float = 0.3,
                 input_stats: bool = True) -> None:
        super().__init__()
        check_int("num_classes", num_classes, minimum=2)
        check_int("width", width, minimum=1)
        check_int("layers", layers, minimum=1)
        check_float("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        blocks, c = [], n_mels
        for i in range(layers):
            k, d = (5, 1) if i == 0 else (3, i + 1)
            blocks.append(nn.Sequential(nn.Conv1d(c, width, k, padding=d * (k // 2), dilation=d, bias=False),
                                        nn.BatchNorm1d(width), nn.ReLU(inplace=True)))
            c = width
        self.body = nn.ModuleList(blocks)
        self.input_stats = input_stats
        feat = 2 * width + (2 * n_mels if input_stats else 0)
        self.head = nn.Sequential(nn.BatchNorm1d(feat), nn.Dropout(dropout), nn.Linear(feat, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec, mask = _split(x)
        h = spec * mask[:, None, :]
        for block in self.body:  # padding frames are zeroed after every block: a clip's output does
            h = block(h) * mask[:, None, :]  # not depend on the length of the others in its batch
        stats = [masked_stats(h, mask)] + ([masked_stats(spec, mask)] if self.input_stats else [])
        return self.head(torch.cat(stats, dim=1))


class AudioCNN2d(nn.Module):
    """Three 2-D conv blocks over (mel, time) with BatchNorm, then masked mean pooling over time."""

    def __init__(self, *, num_classes: int, n_mels: int, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        check_int("width", width, minimum=1)
        layers, c = [], 1
        for out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                       nn.MaxPool2d((2, 1))]
            c = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec, mask = _split(x)
        h = self.body(spec[:, None]).mean(2)  # (B, C, T)
        m = mask[:, None, :]
        return self.head((h * m).sum(-1) / m.sum(-1).clamp_min(1.0))
