"""The ``scarce synth`` commands: ``train CONFIG`` and ``sample CHECKPOINT --n N --class C --out DIR``.

A training config is YAML (unknown keys are errors)::

    dataset: {name: digits, options: {size: 16}}
    subset: {per_class: 50, seed: 0}      # optional: a stratified k-per-class subset of the pool
    arch: {ngf: 32, ndf: 32, nz: 64, conditional: true, cond: projection, spectral_norm: false}
    train: {steps: 2000, batch_size: 64, diffaugment: "color,translation,cutout"}   # lr: sets lr_g and lr_d
    seed: 0
    out: runs/gan_digits                   # checkpoint.pt and samples_*.png go here

Rerunning the same config resumes from ``out/checkpoint.pt``. A run that diverges stops with
:class:`scarce.synth.health.GANDivergedError` (the CLI exits 2 with the likely fix), keeping the last
healthy checkpoint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from scarce._checks import check_int, did_you_mean

_SECTIONS = ("dataset", "subset", "arch", "train", "seed", "out", "data_root")
_ARCH_KEYS = ("nz", "ngf", "ndf", "conditional", "cond", "spectral_norm")


def _check_keys(section: str, given: Any, known: tuple[str, ...]) -> dict:
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ValueError(f"Config section '{section}' must be a mapping, got {given!r}.")
    for key in given:
        if key not in known:
            raise ValueError(f"Unknown config key '{section}.{key}'.{did_you_mean(str(key), known)} "
                             f"Known keys here: {', '.join(known)}.")
    return dict(given)


def _yaml_loader():
    """``yaml.SafeLoader`` that also reads ``1e5`` and ``2e-4`` as floats (YAML 1.2; PyYAML's 1.1
    rules read them as text)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
                                 list("-+0123456789."))
    return Loader


def load_train_config(path: str | Path) -> dict:
    """Read and check a ``scarce synth train`` YAML config (see the module doc)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file not found: '{path}'.")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader()) or {}  # noqa: S506 (safe)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problem = " ".join(line.strip() for line in str(err).splitlines() if line.strip(" ^"))
        raise ValueError(f"Config file '{path}' is not valid UTF-8 YAML: {problem}") from None
    data = _check_keys("<top>", data, _SECTIONS)
    from scarce.synth.trainer import GANTrainConfig

    train_keys = ("lr", *(f.name for f in dataclasses.fields(GANTrainConfig)))
    return {"dataset": _check_keys("dataset", data.get("dataset"), ("name", "options")),
            "subset": _check_keys("subset", data.get("subset"), ("per_class", "seed")),
            "arch": _check_keys("arch", data.get("arch"), _ARCH_KEYS),
            "train": _check_keys("train", data.get("train"), train_keys),
            "seed": check_int("seed", data.get("seed", 0), minimum=0),
            "out": str(data.get("out") or Path("runs") / f"gan_{path.stem}"),
            "data_root": data.get("data_root")}


def train_command(config_path: str | Path, *, data_root: str | None = None, progress: bool = True) -> Path:
    """Train a GAN as a config says; returns the checkpoint path."""
    from scarce.data.datasets import as_image_array
    from scarce.data.loaders import load_dataset
    from scarce.data.subsets import stratified_subset
    from scarce.synth.dcgan import DCGANConfig
    from scarce.synth.trainer import CHECKPOINT, GANTrainConfig, train_gan

    cfg = load_train_config(config_path)
    if "name" not in cfg["dataset"]:
        raise ValueError("Config key 'dataset.name' is required (e.g. digits).")
    bundle = load_dataset(cfg["dataset"]["name"], root=data_root or cfg["data_root"],
                          **(cfg["dataset"].get("options") or {}))
    train = bundle.train
    if cfg["subset"]:
        k = check_int("subset.per_class", cfg["subset"].get("per_class"), minimum=1)
        split = stratified_subset(train.labels, per_class=k, seed=cfg["subset"].get("seed", 0))
        train = train.subset(split.train)
    images = as_image_array(train)
    arch_opts = dict(cfg["arch"])
    conditional = arch_opts.pop("conditional", True)
    arch = DCGANConfig(image_size=int(images.shape[1]), channels=int(images.shape[3]),
                       num_classes=train.num_classes if conditional else 0, **arch_opts)
    train_opts = dict(cfg["train"])
    if "lr" in train_opts:
        if "lr_g" in train_opts or "lr_d" in train_opts:
            raise ValueError("Config key 'train.lr' sets both lr_g and lr_d: give either it or them, not both.")
        lr = train_opts.pop("lr")
        train_opts.update(lr_g=lr, lr_d=lr)
    gan_cfg = GANTrainConfig(**train_opts)
    out = Path(cfg["out"])
    train_gan(images, np.asarray(train.labels), arch=arch, config=gan_cfg, seed=cfg["seed"], out_dir=out,
              resume=True, progress=progress)
    return out / CHECKPOINT


def sample_command(checkpoint: str | Path, *, n: int, out: str | Path, class_index: int | None = None,
                   seed: int = 0) -> list[Path]:
    """Write ``n`` PNG samples of a checkpoint's EMA generator into ``out`` (each file atomically).

    For a conditional generator without ``class_index`` the classes are cycled.
    """
    from PIL import Image

    from scarce._io import atomic_write
    from scarce.synth.trainer import load_generator, sample

    check_int("n", n, minimum=0)
    g, _ = load_generator(checkpoint)
    k = g.arch.num_classes
    if class_index is not None:
        if not k:
            raise ValueError("`--class` needs a class-conditional checkpoint; this one is unconditional.")
        check_int("class", class_index, minimum=0, maximum=k - 1)
        labels = np.full(n, class_index)
    else:
        labels = np.arange(n) % k if k else None
    images = sample(g, n, labels=labels, seed=seed)
    out = Path(out)
    paths = []
    for i, im in enumerate(images):
        pil = Image.fromarray(im[..., 0] if im.shape[2] == 1 else im)
        name = f"class{int(labels[i])}_{i:05d}.png" if labels is not None else f"sample_{i:05d}.png"
        paths.append(atomic_write(out / name, lambda tmp, p=pil: p.save(tmp, format="PNG")))
    return paths
