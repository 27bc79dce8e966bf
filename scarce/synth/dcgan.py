"""DCGAN generator and discriminator for 16/32/64 px images, 1 or 3 channels, optionally
class-conditional.

The architecture follows Radford et al. (2016): the generator maps a latent vector through a stack
of stride-2 transposed convolutions (BatchNorm + ReLU, Tanh at the end); the discriminator mirrors
it with stride-2 convolutions (LeakyReLU 0.2, BatchNorm after the first block) down to a 4×4 map
and one logit. At 64 px with ``ngf = ndf = 64`` this is the reference DCGAN (latent 100 → 512 →
256 → 128 → 64 → 3 channels).

Conditioning (``num_classes > 0``): the generator concatenates a learned label embedding to the
latent vector; the discriminator either adds a *projection* term ``<embed(y), h>`` on its pooled
features (Miyato & Koyama 2018, ``cond="projection"``) or takes the one-hot label as extra input
channels (``cond="embedding"``). ``spectral_norm=True`` wraps every discriminator layer in spectral
normalisation and drops its BatchNorm.

Example:
    >>> import torch
    >>> arch = DCGANConfig(image_size=16, channels=1, num_classes=3, ngf=8, ndf=8)
    >>> g, d = build_generator(arch), build_discriminator(arch)
    >>> y = torch.tensor([0, 1])
    >>> x = g(torch.randn(2, arch.nz), y)
    >>> tuple(x.shape), tuple(d(x, y).shape)
    ((2, 1, 16, 16), (2,))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from scarce._checks import check_choice, check_int

SIZES = (16, 32, 64)
CONDITIONING = ("projection", "embedding")


@dataclass(frozen=True)
class DCGANConfig:
    """The architecture of a DCGAN pair (saved in every checkpoint and compared on load).

    Attributes:
        image_size: 16, 32 or 64 (pixels, square).
        channels: 1 (grey) or 3 (RGB).
        nz: latent dimension.
        ngf, ndf: base widths of the generator and the discriminator.
        num_classes: 0 for an unconditional GAN, else the number of classes (>= 2).
        cond: discriminator conditioning, ``"projection"`` or ``"embedding"``.
        spectral_norm: spectral normalisation in the discriminator (instead of BatchNorm).
    """

    image_size: int = 32
    channels: int = 3
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    num_classes: int = 0
    cond: str = "projection"
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        check_int("image_size", self.image_size)
        if self.image_size not in SIZES:
            raise ValueError(
                f"`image_size` must be a supported power of two {SIZES}, got {self.image_size}. "
                "Resize the images first (e.g. digits with `size: 16`)."
            )
        check_int("channels", self.channels)
        if self.channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3, got {self.channels}.")
        check_int("nz", self.nz, minimum=1)
        check_int("ngf", self.ngf, minimum=1)
        check_int("ndf", self.ndf, minimum=1)
        check_int("num_classes", self.num_classes, minimum=0)
        if self.num_classes == 1:
            raise ValueError("`num_classes` must be 0 (unconditional) or >= 2, got 1.")
        check_choice("cond", self.cond, CONDITIONING)
        if not isinstance(self.spectral_norm, bool):
            raise TypeError(f"`spectral_norm` must be a bool, got {self.spectral_norm!r}.")

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def n_up(self) -> int:
        """Number of stride-2 stages between 4×4 and the image size."""
        return self.image_size.bit_length() - 3  # 16 -> 2, 32 -> 3, 64 -> 4

    def to_dict(self) -> dict:
        return asdict(self)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0.

    Uses the global torch RNG: call it under ``torch.random.fork_rng`` with a manual seed (the
    trainer does) to keep initialisation reproducible without touching the caller's state.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            w = getattr(m, "weight_orig", m.weight)
            nn.init.normal_(w, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """``forward(z, y=None) -> images`` in [-1, 1], shape ``(B, channels, size, size)``."""

    def __init__(self, arch: DCGANConfig) -> None:
        super().__init__()
        self.arch = arch
        nz_in = arch.nz * (2 if arch.conditional else 1)
        self.embed = nn.Embedding(arch.num_classes, arch.nz) if arch.conditional else None
        width = arch.ngf * 2 ** (arch.n_up - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz_in, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width),
                                   nn.ReLU(True)]
        for _ in range(arch.n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, arch.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ValueError("This generator is class-conditional: pass labels `y`.")
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """``forward(x, y=None) -> logits`` of shape ``(B,)`` (real > 0)."""

    def __init__(self, arch: DCGANConfig) -> None:
        super().__init__()
        self.arch = arch
        sn = nn.utils.spectral_norm if arch.spectral_norm else (lambda m: m)
        c_in = arch.channels + (arch.num_classes if arch.conditional and arch.cond == "embedding" else 0)
        width = arch.ndf
        layers: list[nn.Module] = [sn(nn.Conv2d(c_in, width, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        for _ in range(arch.n_up - 1):
            layers.append(sn(nn.Conv2d(width, width * 2, 4, 2, 1, bias=False)))
            if not arch.spectral_norm:
                layers.append(nn.BatchNorm2d(width * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            width *= 2
        self.features = nn.Sequential(*layers)
        self.head = sn(nn.Conv2d(width, 1, 4, 1, 0, bias=False))
        self.proj = None
        if arch.conditional and arch.cond == "projection":
            self.proj = sn(nn.Embedding(arch.num_classes, width))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        a = self.arch
        if a.conditional and y is None:
            raise ValueError("This discriminator is class-conditional: pass labels `y`.")
        if a.conditional and a.cond == "embedding":
            onehot = torch.zeros(x.shape[0], a.num_classes, device=x.device, dtype=x.dtype)
            onehot.scatter_(1, y[:, None], 1.0)
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        h = self.features(x)
        out = self.head(h).flatten()
        if self.proj is not None:
            out = out + (self.proj(y) * h.sum(dim=(2, 3))).sum(dim=1)
        return out


def build_generator(arch: DCGANConfig) -> Generator:
    """A generator for ``arch`` (weights not yet initialised: see :func:`init_weights`)."""
    return Generator(arch)


def build_discriminator(arch: DCGANConfig) -> Discriminator:
    """A discriminator for ``arch`` (weights not yet initialised: see :func:`init_weights`)."""
    return Discriminator(arch)
