import gzip

import numpy as np
import pytest

from fixtures import write_fashion_mnist, write_image_folder
from scarce.data import ArrayDataset, ConcatDataset, ImageFolderDataset, list_datasets, load_dataset
from scarce.data.loaders import read_idx


def test_digits_is_default_embedded_with_fixed_split():
    b = load_dataset("digits")
    assert b.num_classes == 10 and b.modality == "image"
    x, y = b.train[0]
    assert x.dtype == np.uint8 and x.shape == (8, 8, 1) and 0 <= y < 10
    assert len(b.train) + len(b.test) == 1797
    assert np.array_equal(b.test.indices, load_dataset("digits").test.indices)
    assert not set(b.train.indices) & set(b.test.indices)


def test_unknown_dataset_did_you_mean():
    with pytest.raises(ValueError, match="Did you mean 'digits'"):
        load_dataset("digit")
    assert {"digits", "cifar10", "fashion_mnist", "image_folder"} <= set(list_datasets())


def test_missing_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv("SCARCE_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="Data root must be an existing folder"):
        load_dataset("cifar10", root=tmp_path / "nope")
    with pytest.raises(ValueError, match="SCARCE_DATA"):
        load_dataset("cifar10")
    with pytest.raises(FileNotFoundError, match="CIFAR-10 not found"):
        load_dataset("cifar10", root=tmp_path)


def test_cifar10_image_folder_layout(tmp_path):
    write_image_folder(tmp_path / "cifar10-jpeg" / "train")
    write_image_folder(tmp_path / "cifar10-jpeg" / "test", n=2)
    b = load_dataset("cifar10", root=tmp_path)
    assert b.train.class_names == ["cat", "dog"] and len(b.train) == 6 and len(b.test) == 4
    assert b.train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    x, y = b.train[4]
    assert x.shape == (6, 5, 3) and y == 1 and x[0, 0, 0] == 41


def test_image_folder_split_and_broken_file(tmp_path):
    write_image_folder(tmp_path / "imgs", n=10)
    b = load_dataset("image_folder", path=str(tmp_path / "imgs"), test_fraction=0.2)
    assert len(b.test) == 4 and np.bincount(b.test.labels).tolist() == [2, 2]
    (tmp_path / "imgs" / "cat" / "0000.png").write_bytes(b"not an image")
    ds = ImageFolderDataset(tmp_path / "imgs")
    with pytest.raises(OSError, match="0000.png"):
        ds[0]


def test_fashion_mnist_idx(tmp_path):
    d = write_fashion_mnist(tmp_path)
    b = load_dataset("fashion_mnist", root=tmp_path)
    assert b.train[3][0].shape == (28, 28, 1) and b.train[3][1] == 3 and len(b.test) == 10
    raw = gzip.open(d / "t10k-labels-idx1-ubyte.gz").read()
    with gzip.open(d / "bad.gz", "wb") as f:
        f.write(raw[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(d / "bad.gz")


def test_array_dataset_checks_and_views():
    with pytest.raises(ValueError, match="uint8 array of shape"):
        ArrayDataset(np.zeros((2, 4, 4), np.float32), [0, 1])
    with pytest.raises(ValueError, match="one entry per example"):
        ArrayDataset(np.zeros((3, 4, 4, 1), np.uint8), [0, 1])
    ds = ArrayDataset(np.arange(4 * 2 * 2).reshape(4, 2, 2, 1).astype(np.uint8), [0, 1, 0, 1])
    sub = ds.subset([3, 1])
    assert sub.labels.tolist() == [1, 1] and sub[0][0][0, 0, 0] == 12
    both = ConcatDataset([ds, sub])
    assert len(both) == 6 and both[5][0][0, 0, 0] == 4 and both.labels.tolist() == [0, 1, 0, 1, 1, 1]
