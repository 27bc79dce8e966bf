"""Dataset loaders by name, each with a fixed, documented test split.

The data root comes from the ``root`` argument (``--data-root`` on the CLI), else the
``SCARCE_DATA`` environment variable. Embedded datasets (``digits``) need none. On a connected
machine ``download=True`` fetches the official copies through torchvision into the root.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scarce.data.datasets import ArrayDataset, ImageFolderDataset, LabelledDataset, Subset
from scarce.registry import Registry

DATASETS = Registry("dataset")


@dataclass(frozen=True)
class DatasetBundle:
    """A training pool (subsets are cut from it) and a fixed test set that no remedy touches."""

    name: str
    train: LabelledDataset
    test: LabelledDataset
    test_split: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def modality(self) -> str:
        return self.train.modality


def resolve_root(root: str | os.PathLike | None, *, required: bool = True) -> Path | None:
    """The data root: ``root`` if given, else ``$SCARCE_DATA``; it must exist."""
    value = root if root not in (None, "") else os.environ.get("SCARCE_DATA")
    if value in (None, ""):
        if required:
            raise ValueError(
                "No data root: pass `root` (CLI: --data-root DIR) or set SCARCE_DATA to the folder "
                "that holds the datasets (e.g. ../shared/data)."
            )
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Data root must be an existing folder, got '{path}'.")
    return path


def load_dataset(name: str, *, root: str | os.PathLike | None = None, **options: Any) -> DatasetBundle:
    """Load a registered dataset by name (see ``list_datasets()``).

    Example:
        >>> bundle = load_dataset("digits")
        >>> bundle.num_classes, bundle.modality
        (10, 'image')
    """
    return DATASETS.create(name, root=root, **options)


def list_datasets() -> list[str]:
    return DATASETS.names()


def stratified_test_split(labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified split of positions into (pool, test); used where a dataset has no test set."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        test.append(rng.permutation(members)[: int(round(members.size * test_fraction))])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(labels.size), test), test


@DATASETS.register("digits", modality="image", help="scikit-learn's 1,797 real 8x8 digits (embedded; the default)")
def digits(*, root=None, size: int = 8) -> DatasetBundle:
    """scikit-learn's digits as uint8 8×8×1 images; test split: a seeded stratified 30% (seed 0).

    ``size`` > 8 upsamples every image bilinearly (PIL) to ``size``×``size`` (e.g. 16 for a DCGAN).
    """
    from sklearn.datasets import load_digits

    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"`size` must be an integer >= 8 (the native 8 px), got {size!r}.")
    raw = load_digits()
    images = np.round(raw.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    if size != 8:
        from PIL import Image

        images = np.stack([np.asarray(Image.fromarray(im[..., 0]).resize((size, size), Image.BILINEAR))
                           for im in images])[..., None]
    full = ArrayDataset(images, raw.target, class_names=[str(d) for d in range(10)])
    pool, test = stratified_test_split(full.labels, test_fraction=0.3, seed=0)
    return DatasetBundle("digits", Subset(full, pool), Subset(full, test), "stratified 30% of 1,797, seed 0")


def _cifar_from_torchvision(root: Path, train: bool, download: bool) -> ArrayDataset:
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root / "cifar10"), train=train, download=download)
    return ArrayDataset(np.asarray(ds.data, np.uint8), np.asarray(ds.targets), class_names=list(ds.classes))


@DATASETS.register("cifar10", modality="image", help="CIFAR-10 (image folders under <root>/cifar10-jpeg, or download)")
def cifar10(*, root=None, download: bool = False) -> DatasetBundle:
    """CIFAR-10 from ``<root>/cifar10-jpeg/{train,test}/<class>/`` (its official test set of 10,000).

    With ``download=True`` on a connected machine the official copy is fetched into
    ``<root>/cifar10`` by torchvision.
    """
    base = resolve_root(root)
    folder = base / "cifar10-jpeg"
    if folder.is_dir():
        train = ImageFolderDataset(folder / "train")
        test = ImageFolderDataset(folder / "test", class_names=train.class_names)
    elif download or (base / "cifar10" / "cifar-10-batches-py").is_dir():
        train, test = _cifar_from_torchvision(base, True, download), _cifar_from_torchvision(base, False, download)
    else:
        raise FileNotFoundError(
            f"CIFAR-10 not found under '{base}': expected '{folder}/train/<class>/*.jpg' or "
            "'cifar10/cifar-10-batches-py'; pass download=True on a connected machine."
        )
    return DatasetBundle("cifar10", train, test, "official test set (10,000)")


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file: big-endian header, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, OSError) as err:  # a download cut short, a corrupt gzip stream
        raise ValueError(f"'{path}' cannot be read: truncated or corrupt ({type(err).__name__}: {err}).") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"'{path}' is not a uint8 IDX file.")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"'{path}' is truncated: expected {int(np.prod(dims))} values, found {body.size}.")
    return body.reshape(dims)


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@DATASETS.register("fashion_mnist", modality="image", help="Fashion-MNIST IDX files under <root>/fashion-mnist")
def fashion_mnist(*, root=None, download: bool = False) -> DatasetBundle:
    """Fashion-MNIST as 28×28×1 uint8 images; its official test set of 10,000."""
    base = resolve_root(root)
    folder = base / "fashion-mnist"
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        if not download:
            raise FileNotFoundError(
                f"Fashion-MNIST not found: expected '{folder}/train-images-idx3-ubyte.gz' and its "
                "siblings; pass download=True on a connected machine."
            )
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(base / "fashion-mnist-tv"), download=True)
        folder = base / "fashion-mnist-tv" / "FashionMNIST" / "raw"

    def part(prefix: str) -> ArrayDataset:
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")[..., None]
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
        return ArrayDataset(np.ascontiguousarray(images), labels, class_names=FASHION_CLASSES)

    return DatasetBundle("fashion_mnist", part("train"), part("t10k"), "official test set (10,000)")


@DATASETS.register("image_folder", modality="image", help="your own images: <path>/<class>/*.jpg (+ optional test path)")
def image_folder(*, root=None, path: str, test_path: str | None = None, test_fraction: float = 0.2,
                 mode: str = "RGB") -> DatasetBundle:
    """Images in class folders. Test split: ``test_path`` if given, else a seeded stratified
    ``test_fraction`` (seed 0) of ``path``. A relative path is taken under the data root."""
    base = resolve_root(root, required=False)
    where = Path(path) if Path(path).is_absolute() or base is None else base / path
    full = ImageFolderDataset(where, mode=mode)
    if test_path:
        t = Path(test_path) if Path(test_path).is_absolute() or base is None else base / test_path
        return DatasetBundle("image_folder", full, ImageFolderDataset(t, class_names=full.class_names, mode=mode), str(t))
    pool, test = stratified_test_split(full.labels, test_fraction=test_fraction, seed=0)
    return DatasetBundle("image_folder", Subset(full, pool), Subset(full, test), f"stratified {test_fraction:.0%}, seed 0")


DATASETS.register("rotten_tomatoes", "scarce.data.text:rotten_tomatoes", modality="text",
                  help="Rotten Tomatoes critic snippets, fresh vs rotten (<root>/rotten-tomatoes)")
DATASETS.register("text_csv", "scarce.data.text:text_csv", modality="text", help="your own texts: a CSV/JSONL text column + label column")
DATASETS.register("fsdd", "scarce.data.audio:fsdd", modality="audio", help="Free Spoken Digit Dataset (<root>/fsdd/recordings; test: takes 0-4)")
DATASETS.register("audio_folder", "scarce.data.audio:audio_folder", modality="audio", help="your own clips: <path>/<class>/*.wav|flac")
