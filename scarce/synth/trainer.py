"""Train a DCGAN: seeded, device-agnostic (AMP on CUDA), hinge or non-saturating loss, DiffAugment,
EMA generator, atomic checkpoints, exact resume, divergence detection (rules and thresholds:
:mod:`scarce.synth.health`; checkpoints are written only while healthy), PNG sample grids.

Randomness is stateless per step: step ``s`` draws its batch, latent vectors and DiffAugment
parameters from generators seeded with ``(seed, s)``, so resuming from a checkpoint (models,
optimisers, EMA, step) reproduces the uninterrupted run exactly on CPU with no RNG state to carry.

Example:
    >>> import numpy as np
    >>> from scarce.synth.dcgan import DCGANConfig
    >>> x = np.random.default_rng(0).integers(0, 255, (8, 16, 16, 1), dtype=np.uint8)
    >>> res = train_gan(x, None, arch=DCGANConfig(image_size=16, channels=1, ngf=4, ndf=4),
    ...                 config=GANTrainConfig(steps=2, batch_size=4), seed=0)
    >>> sample(res.generator, 3, seed=0).shape
    (3, 16, 16, 1)
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from scarce._checks import check_choice, check_float, check_int
from scarce._torch import resolve_device
from scarce.synth.checkpoint import FORMAT, check_architecture, load_checkpoint, save_checkpoint, save_grid
from scarce.synth.dcgan import DCGANConfig, Generator, build_discriminator, build_generator, init_weights
from scarce.synth.diffaugment import diff_augment, parse_policy
from scarce.synth.health import (COLLAPSE_G_LOSS, COLLAPSE_LOSS, COLLAPSE_PATIENCE, FIX, MAX_LOSS, MAX_WEIGHT,
                                 GANDivergedError, HealthCheck, max_abs_weight)

CHECKPOINT = "checkpoint.pt"
# settings that may change between a run and its resumption without changing the result
_RESUMABLE = ("steps", "checkpoint_every", "sample_every", "device")


@dataclass(frozen=True)
class GANTrainConfig:
    """Settings of a GAN run.

    Attributes:
        steps: discriminator+generator updates.
        batch_size: real images per step (sampled with replacement when the data is smaller).
        lr_g, lr_d, beta1, beta2: Adam settings (DCGAN: 2e-4, 0.5, 0.999).
        loss: ``"hinge"`` or ``"bce"`` (non-saturating, BCE with logits).
        diffaugment: DiffAugment policy applied to real and fake images ("" = off).
        ema_decay: decay of the generator's exponential moving average (0 = no averaging).
        checkpoint_every: save ``checkpoint.pt`` every N steps (and at the end) when ``out_dir`` is set.
        sample_every: save a PNG sample grid every N steps (0: only at the end).
        max_loss: stop when either loss's magnitude exceeds it (an exploding loss).
        max_weight: stop when the largest absolute weight of G or D exceeds it (exploding weights).
        collapse_loss, collapse_g_loss: stop when the discriminator loss stays below ``collapse_loss``
            while the generator's is above ``collapse_g_loss`` for ``FAST_COLLAPSE_STEPS`` steps.
        collapse_patience: also stop when the discriminator loss stays below ``collapse_loss`` for
            this many consecutive steps, whatever the generator's loss.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``...
    """

    steps: int = 2000
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "hinge"
    diffaugment: str = ""
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    sample_every: int = 0
    max_loss: float = MAX_LOSS
    max_weight: float = MAX_WEIGHT
    collapse_loss: float = COLLAPSE_LOSS
    collapse_g_loss: float = COLLAPSE_G_LOSS
    collapse_patience: int = COLLAPSE_PATIENCE
    device: str = "auto"

    def __post_init__(self) -> None:
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("lr_g", self.lr_g, low=0.0, low_inclusive=False)
        check_float("lr_d", self.lr_d, low=0.0, low_inclusive=False)
        check_float("beta1", self.beta1, low=0.0, high=1.0, high_inclusive=False)
        check_float("beta2", self.beta2, low=0.0, high=1.0, high_inclusive=False)
        check_choice("loss", self.loss, ("hinge", "bce"))
        parse_policy(self.diffaugment)
        check_float("ema_decay", self.ema_decay, low=0.0, high=1.0, high_inclusive=False)
        check_int("checkpoint_every", self.checkpoint_every, minimum=1)
        check_int("sample_every", self.sample_every, minimum=0)
        check_float("max_loss", self.max_loss, low=0.0, low_inclusive=False)
        check_float("max_weight", self.max_weight, low=0.0, low_inclusive=False)
        check_float("collapse_loss", self.collapse_loss, low=0.0)
        check_float("collapse_g_loss", self.collapse_g_loss)
        check_int("collapse_patience", self.collapse_patience, minimum=1)


@dataclass
class GANResult:
    """The EMA generator (eval mode), the discriminator, the last step and per-step losses."""

    generator: Generator
    discriminator: torch.nn.Module
    step: int
    history: list[dict] = field(default_factory=list)


def validate_data(images: Any, labels: Any, arch: DCGANConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """Check images against the architecture (size, channels) and, if conditional, the labels."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) == 0:
        raise ValueError(f"`images` must be a non-empty uint8 array (N, H, W, C), got {images.dtype} {images.shape}.")
    n, h, w, c = images.shape
    if h != w or h != arch.image_size:
        raise ValueError(f"`images` must be {arch.image_size}x{arch.image_size} for this model, got {h}x{w}.")
    if c != arch.channels:
        raise ValueError(f"Channel mismatch: the images have {c} channel(s), the model expects {arch.channels}.")
    if not arch.conditional:
        return images, None
    if labels is None:
        raise ValueError("`labels` are required for a class-conditional GAN (num_classes > 0).")
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"`labels` must be {n} integer class indices, got {labels.dtype} {labels.shape}.")
    if labels.min() < 0 or labels.max() >= arch.num_classes:
        raise ValueError(f"`labels` must be in 0..{arch.num_classes - 1}, got {labels.min()}..{labels.max()}.")
    counts = np.bincount(labels, minlength=arch.num_classes)
    empty = np.flatnonzero(counts == 0).tolist()
    if empty:
        raise ValueError(f"Class(es) {empty} have zero images: a class-conditional GAN needs at least one image "
                         "per class (drop the class or use num_classes=0).")
    return images, labels.astype(np.int64)


def _step_seed(seed: int, step: int) -> int:
    return int(np.random.default_rng([seed, step]).integers(2**62))


def _losses(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def _g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean() if kind == "hinge" else F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


class _NonFinite(Exception):
    """(which loss, value): raised by :func:`gan_step` before the offending update."""


def gan_step(g: torch.nn.Module, d: torch.nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             real: torch.Tensor, y: torch.Tensor | None, z: torch.Tensor, *, loss: str = "hinge",
             policy: tuple[str, ...] = (), generator: torch.Generator | None = None,
             scalers: tuple | None = None, amp: bool = False) -> tuple[float, float]:
    """One discriminator update then one generator update on the same fake batch; returns the losses.

    DiffAugment (``policy``, parameters from ``generator``) is applied to real and fake images
    before D. D's weights get no gradient during the generator update (``requires_grad_(False)``),
    which saves a third of D's backward pass compared with the reference DCGAN loop.
    """
    if scalers is None:
        scalers = (torch.amp.GradScaler("cuda", enabled=False),) * 2
    device_type = real.device.type

    def aug(x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, policy, generator=generator) if policy else x

    with torch.autocast(device_type, dtype=torch.float16, enabled=amp):
        fake = g(z, y)
        d_loss = _losses(loss, d(aug(real), y).float(), d(aug(fake.detach()), y).float())
    d_val = d_loss.item()
    if not math.isfinite(d_val):
        raise _NonFinite("discriminator", d_val)
    _update(opt_d, scalers[1], d_loss)
    d.requires_grad_(False)
    try:
        with torch.autocast(device_type, dtype=torch.float16, enabled=amp):
            g_loss = _g_loss(loss, d(aug(fake), y).float())
    finally:
        d.requires_grad_(True)
    g_val = g_loss.item()
    if not math.isfinite(g_val):
        raise _NonFinite("generator", g_val)
    _update(opt_g, scalers[0], g_loss)
    return d_val, g_val


def _update(opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


@torch.no_grad()
def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def _build(arch: DCGANConfig, seed: int, device: torch.device):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g, d = build_generator(arch), build_discriminator(arch)
        init_weights(g)
        init_weights(d)
    return g.to(device), d.to(device)


def train_gan(images: Any, labels: Any = None, *, arch: DCGANConfig, config: GANTrainConfig = GANTrainConfig(),
              seed: int = 0, out_dir: str | os.PathLike | None = None, resume: bool = False,
              progress: bool = False, on_step: Callable[[int, dict], None] | None = None) -> GANResult:
    """Train a DCGAN on uint8 ``(N, H, W, C)`` images (and labels when conditional).

    Args:
        images: the training images (the cell's training subset only).
        labels: class indices, required when ``arch.num_classes > 0``.
        arch: the architecture. config: the training settings. seed: the run's seed.
        out_dir: where ``checkpoint.pt`` and ``samples_*.png`` go (``None``: nothing written).
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (same architecture and settings).
        progress: show a tqdm progress bar.
        on_step: called as ``on_step(step, models)`` at the end of each step, after its checkpoint
            (``models`` holds ``generator``, ``discriminator``, ``ema``); for logging and tests.

    Returns:
        A :class:`GANResult` with the EMA generator.

    Raises:
        ValueError: bad data (size, channels, empty class) or a checkpoint that does not match.
        GANDivergedError: see the module doc for the rules; the last healthy checkpoint (if any)
            is kept and named in the message with the likely fix.
    """
    check_int("seed", seed, minimum=0)
    images, labels = validate_data(images, labels, arch)
    device = resolve_device(config.device)
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / CHECKPOINT if out is not None else None
    g, d = _build(arch, seed, device)
    ema = copy.deepcopy(g).requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=(config.beta1, config.beta2))
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
    amp = device.type == "cuda"
    scaler_g, scaler_d = torch.amp.GradScaler("cuda", enabled=amp), torch.amp.GradScaler("cuda", enabled=amp)
    start, history = 0, []
    cfg_dict = asdict(config)
    if resume and ckpt_path is not None and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        check_architecture(state, arch.to_dict(), path=ckpt_path)
        diff = [k for k in cfg_dict if k not in _RESUMABLE and state["config"].get(k) != cfg_dict[k]]
        if diff or state["seed"] != seed:
            what = ", ".join(f"{k}: {state['config'].get(k)!r} vs {cfg_dict[k]!r}" for k in diff) or \
                f"seed: {state['seed']} vs {seed}"
            raise ValueError(f"Cannot resume from '{ckpt_path}': settings differ ({what}).")
        g.load_state_dict(state["generator"])
        d.load_state_dict(state["discriminator"])
        ema.load_state_dict(state["ema"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        if amp and "scaler_g" in state:
            scaler_g.load_state_dict(state["scaler_g"])
            scaler_d.load_state_dict(state["scaler_d"])
        start, history = int(state["step"]), list(state.get("history", []))

    data = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).to(device)
    ys = torch.from_numpy(labels).to(device) if labels is not None else None
    policy = parse_policy(config.diffaugment)
    n, bs = len(images), config.batch_size
    last_good = start if start and ckpt_path is not None else None
    health, due = HealthCheck(**{f: getattr(config, f) for f in HealthCheck.THRESHOLDS}), False

    def checkpoint(step: int) -> None:
        nonlocal last_good
        state = {"format": FORMAT, "arch": arch.to_dict(), "config": cfg_dict, "seed": seed, "step": step,
                 "generator": g.state_dict(), "discriminator": d.state_dict(), "ema": ema.state_dict(),
                 "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "history": history}
        if amp:
            state.update(scaler_g=scaler_g.state_dict(), scaler_d=scaler_d.state_dict())
        save_checkpoint(ckpt_path, state)
        last_good = step

    def stop(step: int, why: str) -> GANDivergedError:
        kept = (f"The last healthy checkpoint (step {last_good}) is kept at '{ckpt_path}'." if last_good is not None
                else "No checkpoint was written.")
        return GANDivergedError(f"GAN training diverged at step {step}: {why}. {kept}\n{FIX}")

    from tqdm.auto import tqdm

    if ckpt_path is not None and not start:
        checkpoint(0)  # the initial models: a run that diverges at once still keeps a healthy checkpoint
    g.train()
    d.train()
    bar = tqdm(total=config.steps, initial=start, disable=not progress, desc="GAN", leave=False)
    for step in range(start + 1, config.steps + 1):
        step_seed = _step_seed(seed, step)
        rng = np.random.default_rng(step_seed)
        gen = torch.Generator().manual_seed(step_seed)
        idx = torch.from_numpy(rng.choice(n, size=bs, replace=n < bs)).to(device)
        real, y = data[idx], (ys[idx] if ys is not None else None)
        z = torch.randn(bs, arch.nz, generator=gen).to(device)

        try:
            d_val, g_val = gan_step(g, d, opt_g, opt_d, real, y, z, loss=config.loss, policy=policy, generator=gen,
                                    scalers=(scaler_g, scaler_d), amp=amp)
        except _NonFinite as err:
            raise stop(step, f"the {err.args[0]} loss is {err.args[1]}") from None
        _ema_update(ema, g, min(config.ema_decay, (1 + step) / (10 + step)))

        history.append({"step": step, "d_loss": round(d_val, 6), "g_loss": round(g_val, 6)})
        why = health.update(d_val, g_val, weight=max_abs_weight(g, d))
        if why is not None:
            raise stop(step, why)
        due = due or step % config.checkpoint_every == 0
        if ckpt_path is not None and ((due and health.healthy) or step == config.steps):
            checkpoint(step)
            due = False
        if out is not None and ((config.sample_every and step % config.sample_every == 0) or step == config.steps):
            save_grid(sample_grid_images(ema, seed=seed), out / f"samples_{step:06d}.png",
                      nrow=arch.num_classes or 8)
        if on_step is not None:
            on_step(step, {"generator": g, "discriminator": d, "ema": ema})
        bar.update(1)
        bar.set_postfix(d=f"{d_val:.3f}", g=f"{g_val:.3f}")
    bar.close()
    return GANResult(generator=ema.eval(), discriminator=d, step=max(start, config.steps), history=history)


@torch.no_grad()
def sample(generator: Generator, n: int, *, labels: Any = None, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Draw ``n`` images (uint8 ``(n, H, W, C)``) from ``generator`` in eval mode.

    Args:
        labels: an int (one class for all), a length-``n`` sequence, or ``None`` (unconditional;
            required for a conditional generator).
        seed: seed of the latent vectors.
    """
    check_int("n", n, minimum=0)
    arch = generator.arch
    if arch.conditional:
        if labels is None:
            raise ValueError("`labels` are required to sample a class-conditional generator.")
        y = np.full(n, labels, np.int64) if np.ndim(labels) == 0 else np.asarray(labels, np.int64)
        if y.shape != (n,) or (n and (y.min() < 0 or y.max() >= arch.num_classes)):
            raise ValueError(f"`labels` must be {n} class indices in 0..{arch.num_classes - 1}, got {labels!r}.")
    elif labels is not None:
        raise ValueError("`labels` must be None for an unconditional generator.")
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    gen = torch.Generator().manual_seed(seed)
    out = []
    for s in range(0, n, batch_size):
        b = min(batch_size, n - s)
        z = torch.randn(b, arch.nz, generator=gen).to(device)
        yb = torch.from_numpy(y[s:s + b]).to(device) if arch.conditional else None
        x = generator(z, yb).float().clamp(-1, 1).add(1).mul(127.5).round().byte()
        out.append(x.permute(0, 2, 3, 1).cpu().numpy())
    generator.train(was_training)
    empty = np.zeros((0, arch.image_size, arch.image_size, arch.channels), np.uint8)
    return np.concatenate(out) if out else empty


def sample_grid_images(generator: Generator, *, seed: int = 0, per_class: int = 8) -> np.ndarray:
    """A fixed set of samples for grids: ``per_class`` rows × one column per class (or 64 images)."""
    k = generator.arch.num_classes
    if k:
        return sample(generator, per_class * k, labels=np.tile(np.arange(k), per_class), seed=seed)
    return sample(generator, 64, seed=seed)


def load_generator(path: str | os.PathLike, *, device: str = "cpu") -> tuple[Generator, dict]:
    """The EMA generator of a checkpoint (eval mode) and the checkpoint's metadata."""
    state = load_checkpoint(path, map_location=device)
    try:
        arch = DCGANConfig(**state["arch"])
        g = build_generator(arch)
        g.load_state_dict(state["ema"])
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"Checkpoint '{path}' is corrupted: {str(err).splitlines()[0]}") from None
    meta = {k: state[k] for k in ("arch", "config", "seed", "step")}
    return g.to(device).eval(), meta
