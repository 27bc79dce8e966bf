"""SpecAugment (Park et al. 2019) as a vectorised batch transform on log-mel tensors, on any device.

Frequency masks (``freq_masks`` bands of width ``0..freq_width`` mel bins), time masks
(``time_masks`` spans of width ``0..time_width`` frames, or a fraction of each clip's valid
length) and optional time warping, drawn per sample from a ``torch.Generator`` and applied to the
whole batch at once with broadcast comparisons (no Python loop over clips). Parameters are drawn
(:func:`draw_params`) apart from being applied (:func:`apply_params`), so tests check them exactly.

Variable-length batches: pass ``lengths`` (valid frames per clip), or use ``valid_channel`` to
read them from a frame-mask channel (scarce's audio collate puts one in channel 1). Time masks and
warps then stay inside each clip's valid frames.
"""

from __future__ import annotations

import numbers

import torch

from scarce._checks import check_float, check_int


def _check_width(name: str, value) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be an int (frames/bins) or a float in (0, 1] (fraction), got {value!r}.")
    if isinstance(value, numbers.Integral):
        return check_int(name, value, minimum=0)
    return check_float(name, value, low=0.0, high=1.0, low_inclusive=False)


def _uniform_int(high: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Integers uniform in ``0..high`` (inclusive, elementwise) from uniforms ``u`` in [0, 1)."""
    return torch.minimum((u * (high + 1).float()).long(), high)


def draw_params(*, batch: int, n_freq: int, lengths: torch.Tensor, generator: torch.Generator, freq_masks: int,
                freq_width: int, time_masks: int, time_width: int | float, time_warp: int = 0,
                p: float = 1.0) -> dict[str, torch.Tensor]:
    """Draw every sample's masks: starts and widths ``(B, n)`` for frequency and time, warp points,
    and which samples are augmented (``apply``, ``(B,)`` bool).

    A time mask's width is at most ``time_width`` frames (an int) or ``floor(time_width·L)`` for a
    clip of ``L`` valid frames (a float), and it lies inside the clip.
    """
    device = lengths.device
    if freq_width > n_freq:
        raise ValueError(f"`freq_width` must be <= the number of mel bins {n_freq}, got {freq_width}.")
    if isinstance(time_width, int) and time_masks and (lengths < time_width).any():
        short = int(lengths.min())
        raise ValueError(f"A clip of {short} valid frames is shorter than the time-mask width `time_width`={time_width}; "
                         "use a smaller width or a fraction of the clip length (e.g. time_width=0.1).")
    # one call to the generator for the whole batch: [apply | fw | f0 | tw | t0 | warp centre, shift]
    u = torch.rand(batch, 3 + 2 * freq_masks + 2 * time_masks, generator=generator, device=device)
    uf, ut = u[:, 1:1 + 2 * freq_masks], u[:, 1 + 2 * freq_masks:1 + 2 * freq_masks + 2 * time_masks]
    apply = u[:, 0] < p
    fw = _uniform_int(torch.full((batch, freq_masks), freq_width, device=device), uf[:, :freq_masks])
    f0 = _uniform_int(n_freq - fw, uf[:, freq_masks:])
    max_t = (torch.full_like(lengths, time_width) if isinstance(time_width, int)
             else torch.floor(lengths.float() * time_width).long())
    tw = _uniform_int(max_t[:, None].expand(batch, time_masks), ut[:, :time_masks])
    t0 = _uniform_int(lengths[:, None] - tw, ut[:, time_masks:])
    params = {"apply": apply, "f0": f0, "fw": fw, "t0": t0, "tw": tw}
    if time_warp:
        # warp point in [W, L - W) moved by d in [-W, W]; clips too short to warp get d = 0
        room = (lengths - 2 * time_warp).clamp_min(0)
        centre = time_warp + _uniform_int((room - 1).clamp_min(0), u[:, -2])
        shift = _uniform_int(torch.full_like(lengths, 2 * time_warp), u[:, -1]) - time_warp
        params.update(warp_centre=centre, warp_shift=torch.where(room > 0, shift, torch.zeros_like(shift)))
    return params


def _time_warp(x: torch.Tensor, lengths: torch.Tensor, centre: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear warp of the time axis of ``(B, C, F, T)``: frame ``centre`` moves to
    ``centre + shift``; frames past each clip's length are left as they are."""
    b, _, _, t = x.shape
    pos = torch.arange(t, device=x.device, dtype=torch.float32)[None].expand(b, t)
    c, new_c = centre.float()[:, None], (centre + shift).float()[:, None]
    last = (lengths.float() - 1)[:, None]
    left = pos * c / new_c.clamp_min(1e-6)
    right = c + (pos - new_c) * (last - c) / (last - new_c).clamp_min(1e-6)
    src = torch.where(pos < new_c, left, right)
    src = torch.where(pos <= last, src.clamp(0, t - 1), pos)
    lo = src.floor().long().clamp(0, t - 1)
    hi = (lo + 1).clamp(max=t - 1)
    a = (src - lo.float()).to(x.dtype)[:, None, None, :]
    idx = lambda i: i[:, None, None, :].expand_as(x)  # noqa: E731
    return torch.gather(x, 3, idx(lo)) * (1 - a) + torch.gather(x, 3, idx(hi)) * a


def _fill_spans(out: torch.Tensor, start: torch.Tensor, width: torch.Tensor, apply: torch.Tensor, size: int,
                axis: int, value: float) -> None:
    """Write ``value`` into every span ``[start, start + width)`` of ``axis`` (2: mel, 3: time) of
    the augmented samples, with one indexed assignment that touches only the masked cells."""
    if start.numel() == 0:
        return
    offsets = torch.arange(size, device=out.device)
    keep = (offsets < width[..., None]) & apply[:, None, None]  # (B, n, size)
    batch, mask, offset = keep.nonzero(as_tuple=True)
    rows = start[batch, mask] + offset
    if axis == 2:
        out[batch, :, rows, :] = value
    else:
        out[batch, :, :, rows] = value


def apply_params(x: torch.Tensor, params: dict[str, torch.Tensor], *, lengths: torch.Tensor | None = None,
                 mask_value: float = 0.0, inplace: bool = False) -> torch.Tensor:
    """Apply drawn masks (and warps) to ``(B, C, F, T)`` for the whole batch at once.

    Returns a new tensor unless ``inplace`` (then ``x`` itself is masked, saving a copy).
    """
    apply = params["apply"]
    out = x if inplace else x.clone()
    if "warp_centre" in params:
        warped = _time_warp(x, lengths, params["warp_centre"], params["warp_shift"])
        out = torch.where(apply[:, None, None, None], warped, out)
    _fill_spans(out, params["f0"], params["fw"], apply, x.shape[2], 2, mask_value)
    _fill_spans(out, params["t0"], params["tw"], apply, x.shape[3], 3, mask_value)
    return out


class SpecAugment:
    """Batch transform ``aug(x, y, generator=torch.Generator) -> (x, y)`` on log-mel batches.

    Args:
        freq_masks: number of frequency masks F.
        freq_width: maximum frequency-mask width in mel bins.
        time_masks: number of time masks.
        time_width: maximum time-mask width: frames (int) or a fraction of each clip's valid length
            (float in (0, 1]).
        time_warp: maximum warp distance W in frames (0: no warping).
        p: probability that a clip is augmented (``p=0``: identity).
        mask_value: value written into masked cells (0 = the mean of a standardised log-mel).
        valid_channel: channel holding a 0/1 frame mask (read for lengths, never masked); ``None``:
            every frame is valid and every channel is masked.
        inplace: mask the given tensor itself instead of a copy (the engine's batches are fresh
            tensors, so the remedy uses this; off by default).

    Input ``x`` is ``(B, F, T)`` or ``(B, C, F, T)``, any float dtype and device; ``y`` is passed through.

    Example:
        >>> import torch
        >>> aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=10)
        >>> x = torch.ones(4, 1, 64, 100)
        >>> y = aug(x, torch.zeros(4), generator=torch.Generator().manual_seed(0))[0]
        >>> y.shape, bool((y == 0).any()), bool((y == 1).any())
        (torch.Size([4, 1, 64, 100]), True, True)
    """

    def __init__(self, *, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2,
                 time_width: int | float = 0.1, time_warp: int = 0, p: float = 1.0, mask_value: float = 0.0,
                 valid_channel: int | None = None, inplace: bool = False) -> None:
        self.freq_masks = check_int("freq_masks", freq_masks, minimum=0)
        self.freq_width = check_int("freq_width", freq_width, minimum=0)
        self.time_masks = check_int("time_masks", time_masks, minimum=0)
        self.time_width = _check_width("time_width", time_width)
        self.time_warp = check_int("time_warp", time_warp, minimum=0)
        self.p = check_float("p", p, low=0.0, high=1.0)
        self.mask_value = check_float("mask_value", mask_value)
        self.valid_channel = None if valid_channel is None else check_int("valid_channel", valid_channel, minimum=0)
        if not isinstance(inplace, bool):
            raise TypeError(f"`inplace` must be a bool, got {inplace!r}.")
        self.inplace = inplace

    def __repr__(self) -> str:
        return (f"SpecAugment(freq_masks={self.freq_masks}, freq_width={self.freq_width}, time_masks={self.time_masks}, "
                f"time_width={self.time_width}, time_warp={self.time_warp}, p={self.p:g})")

    def _lengths(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        b, _, _, t = x.shape
        if lengths is None and self.valid_channel is not None:
            lengths = x[:, self.valid_channel, 0, :].sum(-1).round().long()
        if lengths is None:
            return torch.full((b,), t, dtype=torch.long, device=x.device)
        lengths = torch.as_tensor(lengths, device=x.device).long()
        if lengths.shape != (b,) or (lengths < 1).any() or (lengths > t).any():
            raise ValueError(f"`lengths` must be (B,)={b} valid frame counts in 1..{t}, got {lengths.tolist()}. "
                             "An empty clip (0 frames) cannot be augmented.")
        return lengths

    def __call__(self, x: torch.Tensor, y=None, *, generator: torch.Generator, lengths: torch.Tensor | None = None):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"`x` must be a floating-point tensor of log-mels, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}.")
        if x.dim() not in (3, 4):
            raise ValueError(f"`x` must be (B, F, T) or (B, C, F, T) log-mels, got shape {tuple(x.shape)}.")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}.")
        if self.p == 0 or x.shape[0] == 0:
            return x, y
        x4 = x if x.dim() == 4 else x[:, None]
        if self.valid_channel is not None and self.valid_channel >= x4.shape[1]:
            raise ValueError(f"`valid_channel`={self.valid_channel} but `x` has {x4.shape[1]} channel(s).")
        if not torch.isfinite(x4.sum()):  # one fast reduction; log-mels are far from float overflow
            raise ValueError("`x` must hold finite values, got NaN or Inf.")
        lengths = self._lengths(x4, lengths)
        params = draw_params(batch=x4.shape[0], n_freq=x4.shape[2], lengths=lengths, generator=generator,
                             freq_masks=self.freq_masks, freq_width=self.freq_width, time_masks=self.time_masks,
                             time_width=self.time_width, time_warp=self.time_warp, p=self.p)
        if self.valid_channel is None:
            out = apply_params(x4, params, lengths=lengths, mask_value=self.mask_value, inplace=self.inplace)
        else:
            keep = [c for c in range(x4.shape[1]) if c != self.valid_channel]
            valid = x4[:, self.valid_channel:self.valid_channel + 1]
            out = x4 if self.inplace else x4.clone()
            masked = apply_params(x4[:, keep], params, lengths=lengths, mask_value=self.mask_value, inplace=True)
            out[:, keep] = masked * valid  # x4[:, keep] is already a copy; padding stays 0 after a warp
        return (out if x.dim() == 4 else out[:, 0]), y
