"""Cost of one conditional-DCGAN step of the ``synthetic`` remedy per width, to size a sweep.

Trains the remedy's GAN (class-conditional, projection discriminator, hinge loss, DiffAugment
colour/translation/cutout, batch 64) on random uint8 images for a short and a long run and takes
the difference, so set-up is not counted; prints seconds per step for each ``ngf = ndf`` and the
ratio to the reference width (64) measured in the same run, and the minutes a fit of ``--steps``
takes. Used to size ``recipes/synthetic_images_cifar10.yaml`` (its header quotes the run).

    python benchmarks/gan_width_cost.py [--size 32] [--widths 64 48 32] [--threads 1] [--steps 3000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from scarce.synth.dcgan import DCGANConfig
from scarce.synth.trainer import GANTrainConfig, train_gan


def seconds_per_step(images: np.ndarray, labels: np.ndarray, *, width: int, short: int = 5, long: int = 45) -> float:
    """(time of ``long`` steps − time of ``short`` steps) / (long − short) for ``ngf = ndf = width``, after a
    one-step warm-up (the first run of a process pays one-off initialisation, which made the short run
    slower than the long one)."""
    arch = DCGANConfig(image_size=images.shape[1], channels=images.shape[3], nz=64, ngf=width, ndf=width,
                       num_classes=int(labels.max()) + 1)
    took = {}
    train_gan(images, labels, arch=arch, config=GANTrainConfig(steps=1, batch_size=64, device="cpu"))  # warm-up
    for steps in (short, long):
        config = GANTrainConfig(steps=steps, batch_size=64, diffaugment="color,translation,cutout", device="cpu")
        start = time.perf_counter()
        train_gan(images, labels, arch=arch, config=config)
        took[steps] = time.perf_counter() - start
    return (took[long] - took[short]) / (long - short)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=32, choices=(16, 32, 64), help="image side in pixels")
    p.add_argument("--widths", type=int, nargs="+", default=[64, 48, 32], help="ngf = ndf values (64: the reference)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (a one-thread worker: 1)")
    p.add_argument("--steps", type=int, default=3000, help="steps of a fit, for the minutes column")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (400, args.size, args.size, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(10), 40)
    widths = [64] + [w for w in args.widths if w != 64]
    cost = {w: seconds_per_step(images, labels, width=w) for w in widths}
    print(f"size={args.size}px threads={args.threads} batch=64 DiffAugment")
    for w in widths:
        print(f"  ngf=ndf={w:<3d} {cost[w]:.3f} s/step  x{cost[w] / cost[64]:.2f} of ngf=64  "
              f"{cost[w] * args.steps / 60:.1f} min per {args.steps}-step fit")


if __name__ == "__main__":
    main()
