"""One DCGAN training step: scarce.synth vs the reference PyTorch DCGAN example, same run.

The reference is rewritten here from its published architecture (Radford et al. 2016 / the
pytorch/examples DCGAN description), not copied: generator ConvTranspose 100→512→256→128→64→3
(4×4 kernels, BatchNorm + ReLU, Tanh), discriminator the mirror (LeakyReLU 0.2, BatchNorm from the
second block, Sigmoid), BCE loss, Adam(2e-4, β1 = 0.5); one step = D on real, D on detached fake,
D update, G update through D. Ours runs the same architecture (64 px, batch 64, ngf = ndf = 64,
unconditional, BCE-with-logits) through ``scarce.synth.trainer.gan_step``, with and without
DiffAugment. Steps are interleaved and the median of each is compared; targets: ours/reference
<= 1.0, DiffAugment overhead <= 15%.

    python benchmarks/dcgan_step.py [--reps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn


def reference_models(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    def up(i, o, first=False):
        return [nn.ConvTranspose2d(i, o, 4, 1 if first else 2, 0 if first else 1, bias=False), nn.BatchNorm2d(o),
                nn.ReLU(True)]

    g = nn.Sequential(*up(nz, ngf * 8, True), *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
                      nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def down(i, o, bn=True):
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False), *([nn.BatchNorm2d(o)] if bn else []), nn.LeakyReLU(0.2, True)]

    d = nn.Sequential(*down(nc, ndf, bn=False), *down(ndf, ndf * 2), *down(ndf * 2, ndf * 4), *down(ndf * 4, ndf * 8),
                      nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return g, d


def reference_step(g, d, opt_g, opt_d, real, z):
    bce = nn.BCELoss()
    ones, zeros = torch.ones(real.shape[0]), torch.zeros(real.shape[0])
    d.zero_grad()
    err_real = bce(d(real).view(-1), ones)
    err_real.backward()
    fake = g(z[:, :, None, None])
    err_fake = bce(d(fake.detach()).view(-1), zeros)
    err_fake.backward()
    opt_d.step()
    g.zero_grad()
    err_g = bce(d(fake).view(-1), ones)
    err_g.backward()
    opt_g.step()


def main(args: argparse.Namespace) -> dict:
    from scarce.synth.dcgan import DCGANConfig, build_discriminator, build_generator, init_weights
    from scarce.synth.diffaugment import parse_policy
    from scarce.synth.trainer import gan_step

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bs = 64
    real = torch.rand(bs, 3, 64, 64) * 2 - 1
    z = torch.randn(bs, 100)

    rg, rd = reference_models()
    r_opt = (torch.optim.Adam(rg.parameters(), 2e-4, betas=(0.5, 0.999)),
             torch.optim.Adam(rd.parameters(), 2e-4, betas=(0.5, 0.999)))
    arch = DCGANConfig(image_size=64, channels=3, nz=100, ngf=64, ndf=64)
    og, od = build_generator(arch), build_discriminator(arch)
    init_weights(og)
    init_weights(od)
    o_opt = (torch.optim.Adam(og.parameters(), 2e-4, betas=(0.5, 0.999)),
             torch.optim.Adam(od.parameters(), 2e-4, betas=(0.5, 0.999)))
    policy = parse_policy("color,translation,cutout")
    gen = torch.Generator().manual_seed(0)
    runs = {
        "reference": lambda: reference_step(rg, rd, *r_opt, real, z),
        "ours": lambda: gan_step(og, od, *o_opt, real, None, z, loss="bce"),
        "ours+diffaugment": lambda: gan_step(og, od, *o_opt, real, None, z, loss="bce", policy=policy, generator=gen),
    }
    times = {k: [] for k in runs}
    for rep in range(args.reps + 1):  # the first round is a warm-up
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            if rep:
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["ours"] / med["reference"]
    overhead = med["ours+diffaugment"] / med["ours"] - 1
    print(f"threads={args.threads} reps={args.reps} (median seconds per step)")
    for k, v in med.items():
        print(f"  {k:18s} {v:.3f} s")
    print(f"ours / reference          = {ratio:.2f}  (target <= 1.00) {'OK' if ratio <= 1.0 else 'MISSED'}")
    print(f"DiffAugment overhead      = {overhead:+.1%}  (target <= 15%) {'OK' if overhead <= 0.15 else 'MISSED'}")
    return {"median": med, "ratio": ratio, "diffaugment_overhead": overhead}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5, help="measured steps per variant (after one warm-up)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
