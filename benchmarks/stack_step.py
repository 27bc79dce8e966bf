"""One training step of a tuning grid's G points, done five ways, in one run: where the engine's
speed-up for grids comes from, and why it is not larger on a CPU.

For ``small_cnn`` (width 16) on a batch of 32 images of 32 px (the CIFAR-10 grid's cell), the time
per point and step (forward, backward, AdamW) of:

* ``alone NCHW``: one model in the default layout, G times (the engine before this change);
* ``alone channels_last``: the same in ``channels_last`` (what a single fit does now);
* ``vmap``: ``torch.func.vmap`` over ``functional_call`` with stacked parameters, G at once;
* ``wide``: :class:`scarce.wide_model.ModelStack` (G copies as one wide network, ``channels_last``);
* ``compiled``: ``torch.compile`` of the ``channels_last`` model (with ``--compile``; its
  compile time is reported apart).

Each is the best of ``--repeats`` timings of ``--steps`` steps after warm-up, at 1 and at 2
threads; ratios are against ``alone NCHW`` at the same thread count, measured in the same run.

    ../shared/tools/heavy .venv/bin/python benchmarks/stack_step.py [--points 6] [--compile] [--device cpu]
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=6, help="grid points G (default 6: 3 lr x 2 wd)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    return p


def _models(g: int, device, channels_last: bool):
    import torch

    from scarce.models import create_model

    torch.manual_seed(0)
    first = create_model("small_cnn", num_classes=10, in_channels=3, image_size=32, width=16).to(device).train()
    models = [first] + [copy.deepcopy(first) for _ in range(g - 1)]
    if channels_last:
        models = [m.to(memory_format=torch.channels_last) for m in models]
    return models


def _timer(step, steps: int, repeats: int, sync) -> float:
    for _ in range(3):
        step()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def measure(args, device) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, vmap

    from scarce.wide_model import ModelStack

    g = args.points
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(0, 10, (32,), generator=gen).to(device)
    xcl = x.contiguous(memory_format=torch.channels_last)
    out = {}

    def alone(channels_last: bool):
        models = _models(g, device, channels_last)
        opts = [torch.optim.AdamW(m.parameters(), lr=1e-3) for m in models]
        inp = xcl if channels_last else x

        def step():
            for m, opt in zip(models, opts):
                loss = F.cross_entropy(m(inp), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return step

    def batched(kind: str):
        models = _models(g, device, kind == "wide")
        opt = torch.optim.AdamW([{"params": list(m.parameters())} for m in models], lr=1e-3)
        if kind == "wide":
            forward, inp = ModelStack(models), xcl
        else:
            params = [dict(m.named_parameters()) for m in models]
            buffers = [dict(m.named_buffers()) for m in models]

            def forward(inp):
                p = {n: torch.stack([d[n] for d in params]) for n in params[0]}
                b = {n: torch.stack([d[n] for d in buffers]) for n in buffers[0]}
                return vmap(lambda p, b, v: functional_call(models[0], (p, b), (v,)), in_dims=(0, 0, None),
                            randomness="same")(p, b, inp)
            inp = x

        def step():
            logits = forward(inp)
            loss = sum(F.cross_entropy(logits[i], y) for i in range(g))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    steps = {"alone NCHW": alone(False), "alone channels_last": alone(True), "vmap": batched("vmap"),
             "wide": batched("wide")}
    for name, step in steps.items():
        out[name] = _timer(step, args.steps, args.repeats, sync) / g
    if args.compile:
        model = _models(1, device, True)[0]
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        compiled = torch.compile(model)

        def step():
            loss = F.cross_entropy(compiled(xcl), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        start = time.perf_counter()
        step()
        out["compile seconds"] = time.perf_counter() - start
        out["compiled"] = _timer(step, args.steps, args.repeats, sync)
    return out


def main(args) -> dict:
    import torch

    from scarce._torch import resolve_device

    device = resolve_device(args.device)
    warnings.filterwarnings("ignore", message="There is a performance drop")  # vmap's fallback, measured here
    results = {}
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        r = measure(args, device)
        results[threads] = r
        base = r["alone NCHW"]
        print(f"# {threads} thread(s), {device}, G = {args.points} points, small_cnn width 16, batch 32 x 32 px")
        for name, sec in r.items():
            if name == "compile seconds":
                print(f"  {'torch.compile: first step':26s} {sec:7.1f} s")
                continue
            print(f"  {name:26s} {1e3 * sec:7.2f} ms per point and step   x{base / sec:.2f} vs alone NCHW")
    return results


if __name__ == "__main__":
    main(get_args_parser().parse_args())
