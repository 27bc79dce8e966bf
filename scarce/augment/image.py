"""Per-sample image augmentation backed by albumentations, with streams reproducible from a seed.

The engine calls ``transform(x, rng=np.random.Generator) -> x`` on a uint8 ``(H, W, C)`` image and
derives ``rng`` from ``(seed, draw id)``. :class:`ImageAugment` hands that generator to the
albumentations pipeline (``set_random_state``) before every call, so the augmentation depends on
the draw only: the same whatever the number of DataLoader workers, different per epoch and per
position. (albumentations 2.0.8 left to itself copies its generator into every worker, so without
a seed each worker repeats the same sequence, and a given batch position sees the same
augmentation epoch after epoch.)

Presets (``create_augment(name, image_shape=..., channels=...)``; ``create_augment`` and
``list_augments`` are those of :mod:`scarce.augment.registry`, re-exported here):

* small images (side ≤ 64 px): ``light`` = shift by ±side/8 px + horizontal flip; ``medium`` adds
  ±10° rotation, ±10 % scale and mild colour jitter; ``strong`` adds shear, strong colour jitter,
  random grey (RGB) and one cut-out hole of a quarter to half the side;
* large images: ``light`` = RandomResizedCrop(scale 0.35-1) + flip; ``medium`` = scale 0.25-1 and
  colour jitter; ``strong`` = scale 0.08-1, colour jitter, grey, blur and cut-out;
* ``randaugment`` and ``trivialaugment`` from :mod:`scarce.augment.policies`;
* ``cutout``: one black rectangle of a quarter to half the sides (:func:`cutout`).

``hflip=False`` removes the flip (digits, text). A user's own ``A.Compose`` is wrapped with
``ImageAugment(A.Compose([...]))``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce.augment.registry import AUGMENTS, create_augment, list_augments  # noqa: F401  (one registry)

SMALL_MAX = 64


def _albumentations():
    """Import albumentations without its network update check (nothing may download at run time)."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        import albumentations as A
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Image augmentation needs albumentations 2.0.8: pip install 'scarce[image]'."
        ) from err
    return A


def check_image(x: Any, *, channels: int | None = None, name: str = "x") -> np.ndarray:
    """Check an image for the augmentation contract: uint8 ``(H, W, C)`` (or float32 in [0, 1]).

    Raises:
        TypeError: ``x`` is not a numpy array.
        ValueError: wrong rank, wrong channel count, a dtype other than uint8/float32, or a float
            image outside [0, 1].
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy image of shape (H, W, C), got {type(x).__name__}.")
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"`{name}` must be an image of shape (H, W, C), got shape {x.shape}.")
    if channels is not None and x.shape[2] != channels:
        kind = {1: "greyscale (1 channel)", 3: "RGB (3 channels)"}.get(channels, f"{channels} channels")
        raise ValueError(
            f"`{name}` must have {channels} channel(s) for this pipeline ({kind}), got {x.shape[2]}; "
            "build the pipeline with the images' channel count."
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.float32:
        if not np.isfinite(x).all():
            raise ValueError(f"`{name}` must hold finite values, got NaN or Inf.")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"`{name}` as float32 must lie in [0, 1], got values in [{lo:g}, {hi:g}]; "
                             "pass uint8 images in 0..255 instead.")
        return x
    raise ValueError(f"`{name}` must be uint8 (0..255) or float32 in [0, 1], got dtype {x.dtype}.")


class ImageAugment:
    """Wrap an albumentations pipeline as a seeded per-sample transform.

    Args:
        pipeline: an ``A.Compose``, a single albumentations transform, a list of them, or any
            callable with the ``transform(x, rng=...)`` contract (e.g. a policy).
        p: probability of augmenting a sample at all (``0`` → identity).
        channels: the channel count the pipeline was built for (checked on every call).
        name: shown in notes and reprs.

    The generator is installed into the pipeline for the duration of a call, so one instance
    must not be called from several threads at once (DataLoader workers are processes: fine).

    Example:
        >>> import albumentations as A, numpy as np
        >>> aug = ImageAugment(A.Compose([A.HorizontalFlip(p=0.5)]), channels=3)
        >>> x = np.zeros((8, 8, 3), np.uint8)
        >>> aug(x, rng=np.random.default_rng(0)).shape
        (8, 8, 3)
    """

    def __init__(self, pipeline: Any, *, p: float = 1.0, channels: int | None = None, name: str = "custom") -> None:
        self.p = check_float("p", p, low=0.0, high=1.0)
        if channels is not None:
            check_int("channels", channels, minimum=1)
        self.channels, self.name = channels, name
        A = None
        if isinstance(pipeline, (list, tuple)):
            A = _albumentations()
            pipeline = A.Compose(list(pipeline))
        if hasattr(pipeline, "set_random_state"):
            A = A or _albumentations()
            if not isinstance(pipeline, A.BaseCompose):
                pipeline = A.Compose([pipeline])
            self._album = True
        elif callable(pipeline):
            self._album = False
        else:
            raise TypeError(
                f"`pipeline` must be an albumentations Compose/transform, a list of them or a callable "
                f"transform(x, rng=...), got {type(pipeline).__name__}."
            )
        self.pipeline = pipeline

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        check_image(x, channels=self.channels)
        if self.p < 1.0 and rng.random() >= self.p:
            return x
        if not self._album:
            return self.pipeline(x, rng=rng)
        self.pipeline.set_random_state(rng, random.Random(rng.bit_generator.random_raw()))
        return self.pipeline(image=x)["image"]

    def __repr__(self) -> str:
        return f"ImageAugment(name={self.name!r}, p={self.p}, channels={self.channels})"


class Sequential:
    """Apply per-sample transforms one after another (each draws from the same ``rng``, in order),
    the whole with probability ``p``."""

    def __init__(self, *transforms: Any, p: float = 1.0) -> None:
        if not transforms or not all(callable(t) for t in transforms):
            raise TypeError("`transforms` must be one or more callables transform(x, rng=...).")
        self.transforms, self.p = transforms, check_float("p", p, low=0.0, high=1.0)
        self.channels = getattr(transforms[-1], "channels", None)

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        if self.p < 1.0:
            check_image(x, channels=self.channels)
            if rng.random() >= self.p:
                return x
        for t in self.transforms:
            x = t(x, rng=rng)
        return x


def _shape(image_shape: Sequence[int]) -> tuple[int, int]:
    if not isinstance(image_shape, (list, tuple)) or len(image_shape) not in (2, 3):
        raise ValueError(f"`image_shape` must be (H, W) or (H, W, C), got {image_shape!r}.")
    h = check_int("image_shape[0]", image_shape[0], minimum=1)
    w = check_int("image_shape[1]", image_shape[1], minimum=1)
    return h, w


def preset_transforms(level: str, *, image_shape: Sequence[int], channels: int, hflip: bool = True) -> list:
    """The albumentations transforms of preset ``level`` (``light``/``medium``/``strong``).

    Small images (side ≤ 64) get shift/rotate/scale with an edge fill; larger ones get
    RandomResizedCrop back to the input size. Colour jitter is brightness/contrast only for
    greyscale.
    """
    A = _albumentations()
    import cv2

    check_choice("level", level, ("light", "medium", "strong"))
    h, w = _shape(image_shape)
    rgb = channels == 3
    flip = [A.HorizontalFlip(p=0.5)] if hflip else []
    strength = {"light": 0, "medium": 1, "strong": 2}[level]

    def colour(amount: float, p: float):
        if rgb:
            return A.ColorJitter(brightness=amount, contrast=amount, saturation=amount, hue=amount / 4, p=p)
        return A.RandomBrightnessContrast(brightness_limit=amount, contrast_limit=amount, p=p)

    if max(h, w) <= SMALL_MAX:
        t = max(1, round(min(h, w) / 8))
        border = cv2.BORDER_REFLECT_101 if rgb else cv2.BORDER_CONSTANT
        affine = dict(translate_px=(-t, t), border_mode=border, fill=0, p=1.0)
        if strength >= 1:
            affine.update(rotate=(-10, 10), scale=(0.9, 1.1))
        if strength >= 2:
            affine.update(rotate=(-15, 15), scale=(0.85, 1.15), shear=(-8, 8))
        first, mild, grey_p, blur, hole = A.Affine(**affine), colour(0.2, 0.5), 0.1, [], (0.25, 0.5)
    else:
        scale = {0: (0.35, 1.0), 1: (0.25, 1.0), 2: (0.08, 1.0)}[strength]
        first, mild, grey_p = A.RandomResizedCrop(size=(h, w), scale=scale, p=1.0), colour(0.3, 0.8), 0.2
        blur, hole = [A.GaussianBlur(blur_limit=(3, 7), p=0.2)], (0.1, 0.3)
    ops = [first, *flip]
    if strength == 1:
        ops.append(mild)
    if strength == 2:
        ops += [colour(0.4, 0.8), *([A.ToGray(num_output_channels=3, p=grey_p)] if rgb else []), *blur,
                A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=hole, hole_width_range=hole, fill=0, p=0.5)]
    return ops


def check_geometry(image_shape: Sequence[int], channels: int) -> tuple[int, int]:
    """Check the geometry an image preset is built for: ``(H, W)`` or ``(H, W, C)`` and 1 or 3 channels."""
    shape = _shape(image_shape)
    check_int("channels", channels, minimum=1)
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 (greyscale) or 3 (RGB) for the presets, got {channels}.")
    return shape


def _preset(level: str):
    def build(*, image_shape: Sequence[int], channels: int, p: float = 1.0, hflip: bool = True) -> ImageAugment:
        check_geometry(image_shape, channels)
        A = _albumentations()
        ops = preset_transforms(level, image_shape=tuple(image_shape), channels=channels, hflip=hflip)
        return ImageAugment(A.Compose(ops), p=p, channels=channels, name=level)

    build.__name__ = build.__qualname__ = level
    build.__doc__ = (f"The ``{level}`` preset as an :class:`ImageAugment` for images of ``image_shape`` with "
                     f"``channels`` (1 or 3) channels (see the module docstring); ``p``, ``hflip``.")
    return build


# the presets, registered in :mod:`scarce.augment.registry` (the one registry of every modality)
light, medium, strong = _preset("light"), _preset("medium"), _preset("strong")


def cutout(*, image_shape: Sequence[int], channels: int, p: float = 1.0, holes: int = 1,
           size: Sequence[float] = (0.25, 0.5)) -> ImageAugment:
    """Cutout (DeVries & Taylor, 2017): ``holes`` black rectangles whose sides are drawn in ``size``
    (shares of the image's sides), with probability ``p`` (albumentations' ``CoarseDropout``); the
    last step of FixMatch's strong view.

    Example:
        >>> aug = cutout(image_shape=(8, 8), channels=1)
        >>> int((aug(np.full((8, 8, 1), 255, np.uint8), rng=np.random.default_rng(0)) == 0).sum()) > 0
        True
    """
    check_geometry(image_shape, channels)
    check_int("holes", holes, minimum=1)
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"`size` must be (low, high) shares of the side, got {size!r}.")
    low = check_float("size[0]", size[0], low=0.0, high=1.0, low_inclusive=False)
    high = check_float("size[1]", size[1], low=low, high=1.0)
    A = _albumentations()
    drop = A.CoarseDropout(num_holes_range=(holes, holes), hole_height_range=(low, high),
                           hole_width_range=(low, high), fill=0, p=1.0)
    return ImageAugment(A.Compose([drop]), p=p, channels=channels, name="cutout")
