"""Remedy ``synthetic``: fit a class-conditional DCGAN on the cell's training subset only, then add
synthetic images per class.

The GAN sees ``setup.train`` and nothing else (never the validation split or the test set, which
the setup does not hold). ``setup.clean_train`` stays the real subset. The synthetic rows are
appended after the real ones; ``notes["synthetic_indices"]`` gives their ``[start, stop)`` range
and the dataset's ``is_synthetic`` mask marks each sample.

With ``share`` (0 < share < 1) every training batch holds that share of synthetic images and the
rest real ones, whatever the pool sizes (:mod:`scarce.remedies.added_rows`); without it
the synthetic rows are drawn like the real ones. ``synthetic_control`` is the same with augmented
copies of the real images in place of the GAN's samples.

The GAN is a deterministic function of the training subset and the options (``gan_seed``); the
remedy's ``seed`` only drives sampling. With ``cache_dir`` (a folder, or ``default``:
``$SCARCE_CACHE/gan``) the trained GAN is kept on disk under a hash of (images, labels,
architecture, settings), so rows that share a GAN (``synthetic`` and
``augmentation+synthetic``) fit it once, and a killed sweep resumes the GAN from its checkpoint. The
entry is locked while it is checked and fitted (:func:`scarce._cache.entry_lock`), so rows that share a
GAN may run in parallel processes (``--jobs 2``): one fits it, the others wait and load it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace

import numpy as np

from scarce._cache import entry_lock, resolve_cache_dir
from scarce._checks import check_int
from scarce.data.datasets import ConcatDataset, LabelledDataset, as_image_array
from scarce.remedies.added_rows import AddedRows
from scarce.remedies.base import NoPreview, TrainSetup, register_remedy

DEFAULT_POLICY = "color,translation,cutout"


class SyntheticImages(LabelledDataset):
    """Generated uint8 images with their labels (some classes may have none) and their provenance."""

    def __init__(self, data: np.ndarray, labels: np.ndarray, *, class_names: list[str], provenance: dict) -> None:
        self.data, self.labels = data, np.asarray(labels, np.int64)
        self.class_names, self.modality, self.provenance = list(class_names), "image", dict(provenance)

    def get(self, index: int) -> np.ndarray:
        return self.data[index]


@register_remedy("synthetic",
                 help="add class-conditional DCGAN samples fitted on the training subset only (share: their "
                      "fraction of every batch)",
                 preflight={"steps": 1, "cache_dir": None})
@dataclass(frozen=True, kw_only=True)
class Synthetic(AddedRows):
    """Add DCGAN samples to the training set.

    How many per class (one of): ``n_per_class`` (the same n for every class), ``ratio`` (n = ratio ×
    the class's real count; the default, 1.0) or ``fill=True`` (top every class up to the largest).
    ``share`` (0 < share < 1): every batch holds that share of synthetic images (default ``None``:
    they are drawn like the real rows).

    Args:
        steps: GAN training steps. diffaugment: DiffAugment (``policy``) on real and fake images.
        ngf, ndf, nz: generator/discriminator widths and latent size. batch_size, lr, loss: GAN
            training settings. cond: ``"projection"`` or ``"embedding"``. spectral_norm: in D.
        gan_seed: seed of the GAN fit. cache_dir: keep fitted GANs in this folder, or in
            ``$SCARCE_CACHE/gan`` with ``"default"`` (``None``, the default: not kept; see module doc).

    Example:
        >>> Synthetic(n_per_class=50, steps=1000, diffaugment=True).name
        'synthetic'
        >>> sorted(Synthetic(share=0.25).changes.replaces)
        ['sampler_fn']
    """

    steps: int = 1000
    diffaugment: bool = True
    policy: str = DEFAULT_POLICY
    ngf: int = 32
    ndf: int = 32
    nz: int = 64
    batch_size: int = 64
    lr: float = 2e-4
    loss: str = "hinge"
    cond: str = "projection"
    spectral_norm: bool = False
    gan_seed: int = 0
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        self._check_added_rows()
        for key in ("steps", "ngf", "ndf", "nz", "batch_size"):
            check_int(key, getattr(self, key), minimum=1)
        check_int("gan_seed", self.gan_seed, minimum=0)
        resolve_cache_dir(self.cache_dir, kind="gan")  # a bad value fails now
        self._gan_settings()  # validates lr, loss, cond, policy

    def _gan_settings(self):
        from scarce.synth.trainer import GANTrainConfig

        return GANTrainConfig(steps=self.steps, batch_size=self.batch_size, lr_g=self.lr, lr_d=self.lr, loss=self.loss,
                              diffaugment=self.policy if self.diffaugment else "", checkpoint_every=max(1, self.steps // 4),
                              device="auto")

    def _gan_entry(self, images: np.ndarray, labels: np.ndarray, num_classes: int):
        """``(architecture, training settings, cache key, cache folder or None)`` of the GAN for these images."""
        from scarce.synth.dcgan import DCGANConfig

        arch = DCGANConfig(image_size=int(images.shape[1]), channels=int(images.shape[3]), nz=self.nz, ngf=self.ngf,
                           ndf=self.ndf, num_classes=num_classes, cond=self.cond, spectral_norm=self.spectral_norm)
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"`synthetic` needs square images, got {images.shape[1]}x{images.shape[2]}.")
        config = self._gan_settings()
        h = hashlib.sha1(images.tobytes())
        h.update(labels.astype(np.int64).tobytes())
        h.update(json.dumps([arch.to_dict(), {k: v for k, v in vars(config).items() if k != "device"},
                             self.gan_seed], sort_keys=True).encode())
        key = h.hexdigest()[:16]
        folder = resolve_cache_dir(self.cache_dir, kind="gan")
        return arch, config, key, (folder / key if folder is not None else None)

    def _cached(self, out) -> tuple | None:
        """``(generator, meta)`` of a finished GAN in the cache folder ``out``, else ``None``."""
        from scarce.synth.trainer import CHECKPOINT, load_generator

        if out is not None and (out / CHECKPOINT).exists():
            g, meta = load_generator(out / CHECKPOINT, device="cpu")
            if meta["step"] >= self.steps:
                return g, meta
        return None

    def fit_gan(self, images: np.ndarray, labels: np.ndarray, num_classes: int):
        """Train (or load from ``cache_dir``) the GAN; returns ``(generator, info)``."""
        from scarce.synth.trainer import train_gan

        arch, config, key, out = self._gan_entry(images, labels, num_classes)
        start = time.time()
        with entry_lock(out):  # cells sharing this GAN in parallel processes: one fits it, the others load it
            cached = self._cached(out)
            if cached is not None:
                return cached[0], {"gan_key": key, "gan_cached": True, "gan_seconds": 0.0,
                                   "gan_wait_seconds": round(time.time() - start, 2)}
            res = train_gan(images, labels, arch=arch, config=config, seed=self.gan_seed, out_dir=out, resume=True)
        last = res.history[-1] if res.history else {}
        return res.generator.cpu(), {"gan_key": key, "gan_cached": False,
                                     "gan_seconds": round(time.time() - start, 2),
                                     "gan_final_d_loss": last.get("d_loss"), "gan_final_g_loss": last.get("g_loss")}

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """``apply`` when the GAN of this subset is already fitted in ``cache_dir`` (it is loaded, not
        trained); otherwise :class:`~scarce.remedies.base.NoPreview`: a preview never trains."""
        train = setup.train
        if train.modality == "image" and self.counts(np.bincount(train.labels, minlength=setup.num_classes)).sum():
            images = as_image_array(train)
            *_, out = self._gan_entry(images, np.asarray(train.labels, np.int64), setup.num_classes)
            if self._cached(out) is None:
                where = "no `cache_dir`" if out is None else f"no finished GAN for this subset in '{out.parent}'"
                raise NoPreview(f"'{self.name}' needs a trained generator: no preview ({where}; `scarce ablate` "
                                "fits one per subset and keeps it when `cache_dir` is set).")
        return self.apply(setup, seed=seed)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.synth.trainer import sample

        train = setup.train
        if train.modality != "image":
            raise ValueError(f"`synthetic` works on images, got modality {train.modality!r}.")
        real_counts = np.bincount(train.labels, minlength=setup.num_classes)
        per_class = self.counts(real_counts)
        notes = {"n_synthetic": int(per_class.sum()), "synthetic_per_class": per_class.tolist(),
                 "gan_steps": self.steps, "gan_diffaugment": self.policy if self.diffaugment else ""}
        if per_class.sum() == 0:
            return setup.with_notes(**notes, synthetic_indices=[len(train), len(train)])
        images = as_image_array(train)
        if images.ndim != 4:
            raise ValueError(f"`synthetic` needs (N, H, W, C) images, got shape {images.shape}.")
        labels = np.asarray(train.labels, np.int64)
        generator, info = self.fit_gan(images, labels, setup.num_classes)
        y = np.repeat(np.arange(setup.num_classes), per_class)
        fake = sample(generator, len(y), labels=y, seed=seed)
        synth = SyntheticImages(fake, y, class_names=train.class_names,
                                provenance={"gan_key": info["gan_key"], "sample_seed": seed})
        combined = ConcatDataset([train, synth])
        combined.is_synthetic = np.r_[np.zeros(len(train), bool), np.ones(len(synth), bool)]
        out = replace(setup, train=combined, clean_train=train if setup.clean_train is None else setup.clean_train)
        return self.with_share(out.with_notes(**notes, **info, synthetic_indices=[len(train), len(combined)]),
                               start=len(train))
