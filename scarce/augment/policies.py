"""RandAugment and TrivialAugmentWide on albumentations' functional ops (which albumentations 2.0.8
lacks as policies), with the published op lists and magnitude ranges.

Both follow torchvision's reference implementation (``torchvision.transforms.RandAugment`` and
``TrivialAugmentWide``, 31 magnitude bins):

* RandAugment (Cubuk et al., 2020): ``num_ops`` ops drawn uniformly with replacement from Identity,
  ShearX/Y (0-0.3), TranslateX/Y (0-150/331 of the side), Rotate (0-30°), Brightness, Color,
  Contrast, Sharpness (factor 1 ± 0-0.9), Posterize (8-4 bits), Solarize (threshold 255-0),
  AutoContrast, Equalize; every op at the fixed magnitude bin ``magnitude``, signed ops flipped
  with probability 1/2.
* TrivialAugmentWide (Müller & Hutter, 2021): one op per image from the same list with the wide
  ranges (shear 0-0.99, translate 0-32 px, rotate 0-135°, enhance 0-0.99, posterize 8-2 bits) and
  a magnitude bin drawn uniformly.

Geometric ops fill with 0, like torchvision's default. Every draw comes from the ``rng`` given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from scarce._checks import check_float, check_int
from scarce.augment.image import _albumentations, check_geometry, check_image

_SIGNED = {"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color", "contrast", "sharpness"}
_SHARP_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0


def _fpixel():
    _albumentations()  # imports albumentations without its update check
    try:
        from albumentations.augmentations.pixel import functional as fpixel
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The augmentation policies need albumentations 2.0.8: pip install 'scarce[image]'.") from err
    return fpixel


def _keep_shape(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    return out.reshape(like.shape) if out.shape != like.shape else out


def _affine(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    import cv2

    h, w = x.shape[:2]
    out = cv2.warpAffine(x, matrix.astype(np.float32), (w, h), flags=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return _keep_shape(out, x)


def _blend(degenerate: np.ndarray, x: np.ndarray, factor: float) -> np.ndarray:
    out = degenerate.astype(np.float32) + factor * (x.astype(np.float32) - degenerate.astype(np.float32))
    return np.clip(out, 0, 255).astype(x.dtype) if x.dtype == np.uint8 else np.clip(out, 0, 1).astype(x.dtype)


def apply_op(x: np.ndarray, op: str, magnitude: float) -> np.ndarray:
    """Apply one policy op at a signed ``magnitude`` (deterministic: the draw happens before).

    Args:
        x: uint8 ``(H, W, C)`` image.
        op: one of :data:`OPS`.
        magnitude: shear factor, translation in px, degrees, enhance offset (factor ``1 + m``),
            posterize bits or solarize threshold (0-255), by op.
    """
    import cv2

    fpixel = _fpixel()
    h, w = x.shape[:2]
    if op == "identity":
        return x
    if op == "shear_x":
        return _affine(x, np.array([[1, magnitude, 0], [0, 1, 0]]))
    if op == "shear_y":
        return _affine(x, np.array([[1, 0, 0], [magnitude, 1, 0]]))
    if op == "translate_x":
        return _affine(x, np.array([[1, 0, magnitude], [0, 1, 0]]))
    if op == "translate_y":
        return _affine(x, np.array([[1, 0, 0], [0, 1, magnitude]]))
    if op == "rotate":
        return _affine(x, cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), magnitude, 1.0))
    if op == "brightness":
        return _blend(np.zeros_like(x), x, 1.0 + magnitude)
    if op == "color":
        if x.shape[2] != 3:
            return x
        return _keep_shape(fpixel.adjust_saturation_torchvision(x, 1.0 + magnitude), x)
    if op == "contrast":
        grey = x if x.shape[2] == 1 else cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        mean = float(np.mean(grey))
        return _blend(np.full_like(x, round(mean) if x.dtype == np.uint8 else mean), x, 1.0 + magnitude)
    if op == "sharpness":
        if h < 3 or w < 3:
            return x
        smooth = _keep_shape(cv2.filter2D(x, -1, _SHARP_KERNEL, borderType=cv2.BORDER_REPLICATE), x).copy()
        smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1] = x[0], x[-1], x[:, 0], x[:, -1]
        return _blend(smooth, x, 1.0 + magnitude)
    if op == "posterize":
        bits = int(magnitude)
        return x if bits >= 8 else _keep_shape(fpixel.posterize(x, max(bits, 1)), x)
    if op == "solarize":
        return _keep_shape(fpixel.solarize(x, magnitude / 255.0), x)
    if op == "autocontrast":
        return _keep_shape(fpixel.auto_contrast(x, cutoff=0, ignore=None, method="pil"), x)
    if op == "equalize":
        return _keep_shape(fpixel.equalize(x, mode="pil", by_channels=True), x)
    raise ValueError(f"`op` must be one of {', '.join(OPS)}, got {op!r}.")


OPS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
       "contrast", "sharpness", "posterize", "solarize", "autocontrast", "equalize")


def randaugment_space(bins: int, height: int, width: int) -> dict[str, np.ndarray]:
    """torchvision's RandAugment magnitudes per op (``bins`` values each)."""
    lin = np.linspace
    return {
        "identity": np.zeros(bins), "shear_x": lin(0, 0.3, bins), "shear_y": lin(0, 0.3, bins),
        "translate_x": lin(0, 150.0 / 331.0 * width, bins), "translate_y": lin(0, 150.0 / 331.0 * height, bins),
        "rotate": lin(0, 30, bins), "brightness": lin(0, 0.9, bins), "color": lin(0, 0.9, bins),
        "contrast": lin(0, 0.9, bins), "sharpness": lin(0, 0.9, bins),
        "posterize": 8 - np.round(np.arange(bins) / ((bins - 1) / 4)), "solarize": lin(255, 0, bins),
        "autocontrast": np.zeros(bins), "equalize": np.zeros(bins),
    }


def trivialaugment_space(bins: int) -> dict[str, np.ndarray]:
    """torchvision's TrivialAugmentWide magnitudes per op (``bins`` values each)."""
    lin = np.linspace
    return {
        "identity": np.zeros(bins), "shear_x": lin(0, 0.99, bins), "shear_y": lin(0, 0.99, bins),
        "translate_x": lin(0, 32, bins), "translate_y": lin(0, 32, bins), "rotate": lin(0, 135, bins),
        "brightness": lin(0, 0.99, bins), "color": lin(0, 0.99, bins), "contrast": lin(0, 0.99, bins),
        "sharpness": lin(0, 0.99, bins), "posterize": 8 - np.round(np.arange(bins) / ((bins - 1) / 6)),
        "solarize": lin(255, 0, bins), "autocontrast": np.zeros(bins), "equalize": np.zeros(bins),
    }


class _Policy:
    ops: Sequence[str]

    def _space(self, x: np.ndarray) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply_drawn(self, x: np.ndarray, rng: np.random.Generator, op: str, bin_: int) -> np.ndarray:
        m = float(self._space(x)[op][bin_])
        if op in _SIGNED and rng.random() < 0.5:
            m = -m
        return apply_op(x, op, m)


class RandAugment(_Policy):
    """RandAugment: ``num_ops`` random ops at magnitude bin ``magnitude`` of ``num_magnitude_bins``.

    Args:
        num_ops: ops per image (N), drawn with replacement.
        magnitude: the magnitude bin (M), in ``[0, num_magnitude_bins - 1]``; 9 of 31 is torchvision's default.
        num_magnitude_bins: bins of every op's range.
        p: probability of applying the policy to a sample (``0`` → identity).
        channels: the images' channel count (checked on every call), or ``None``.

    Example:
        >>> import numpy as np
        >>> aug = RandAugment(num_ops=2, magnitude=9)
        >>> aug(np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0)).shape
        (32, 32, 3)
    """

    def __init__(self, *, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31, p: float = 1.0,
                 channels: int | None = None) -> None:
        self.num_ops = check_int("num_ops", num_ops, minimum=0)
        self.num_magnitude_bins = check_int("num_magnitude_bins", num_magnitude_bins, minimum=2)
        self.magnitude = check_int("magnitude", magnitude, minimum=0, maximum=num_magnitude_bins - 1)
        self.p = check_float("p", p, low=0.0, high=1.0)
        self.channels = None if channels is None else check_int("channels", channels, minimum=1)
        self.ops, self._cache = OPS, {}
        self.name = f"randaugment(n={num_ops},m={magnitude})"

    def _space(self, x):
        key = x.shape[:2]
        if key not in self._cache:
            self._cache[key] = randaugment_space(self.num_magnitude_bins, *key)
        return self._cache[key]

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        check_image(x, channels=self.channels)
        if self.p < 1.0 and rng.random() >= self.p:
            return x
        for op_index in rng.integers(len(self.ops), size=self.num_ops):
            x = self._apply_drawn(x, rng, self.ops[int(op_index)], self.magnitude)
        return x


class TrivialAugmentWide(_Policy):
    """TrivialAugmentWide: one random op per image at a uniformly drawn magnitude bin.

    Args:
        num_magnitude_bins: bins of every op's (wide) range.
        p: probability of applying the policy to a sample (``0`` → identity).
        channels: the images' channel count (checked on every call), or ``None``.

    Example:
        >>> import numpy as np
        >>> TrivialAugmentWide()(np.zeros((8, 8, 1), np.uint8), rng=np.random.default_rng(0)).shape
        (8, 8, 1)
    """

    def __init__(self, *, num_magnitude_bins: int = 31, p: float = 1.0, channels: int | None = None) -> None:
        self.num_magnitude_bins = check_int("num_magnitude_bins", num_magnitude_bins, minimum=2)
        self.p = check_float("p", p, low=0.0, high=1.0)
        self.channels = None if channels is None else check_int("channels", channels, minimum=1)
        self.ops, self._space_values = OPS, trivialaugment_space(num_magnitude_bins)
        self.name = "trivialaugment"

    def _space(self, x):
        return self._space_values

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        check_image(x, channels=self.channels)
        if self.p < 1.0 and rng.random() >= self.p:
            return x
        op = self.ops[int(rng.integers(len(self.ops)))]
        return self._apply_drawn(x, rng, op, int(rng.integers(self.num_magnitude_bins)))


def _hflip_then(policy: Callable, hflip: bool, p: float) -> Callable:
    from scarce.augment.image import ImageAugment, Sequential

    if not hflip:
        return Sequential(policy, p=p)
    flip = ImageAugment(_albumentations().HorizontalFlip(p=0.5), channels=policy.channels, name="hflip")
    return Sequential(flip, policy, p=p)


def randaugment_preset(*, image_shape, channels: int, p: float = 1.0, hflip: bool = True, num_ops: int = 2,
                       magnitude: int = 9, num_magnitude_bins: int = 31):
    """RandAugment (plus a random horizontal flip unless ``hflip=False``), as a registry preset."""
    check_geometry(image_shape, channels)
    policy = RandAugment(num_ops=num_ops, magnitude=magnitude, num_magnitude_bins=num_magnitude_bins,
                         channels=channels)
    return _hflip_then(policy, hflip, p)


def trivialaugment_preset(*, image_shape, channels: int, p: float = 1.0, hflip: bool = True,
                          num_magnitude_bins: int = 31):
    """TrivialAugmentWide (plus a random horizontal flip unless ``hflip=False``), as a registry preset."""
    check_geometry(image_shape, channels)
    policy = TrivialAugmentWide(num_magnitude_bins=num_magnitude_bins, channels=channels)
    return _hflip_then(policy, hflip, p)

