"""Ablation throughput: cells per hour on three reference grids, where a cell's time goes, and the
arithmetic rate of training against this machine's measured peak.

Reproduce (the published numbers: CPU, idle machine, one heavy job at a time):

    ../shared/tools/heavy env SCARCE_DATA=../shared/data .venv/bin/python benchmarks/ablation_throughput.py \
        --grid a,b,c --device cpu --json runs/throughput.json [--rev REV]

Grids, each a real ``Experiment`` through the normal runner into a temporary ``--out``:

a. the digits demo (``recipes/digits.yaml`` of the code measured);
b. CIFAR-10 at k = 10: baseline / augment ``light`` / MixUp, ``small_cnn`` (width 16) at 32 px, the
   default 3 lr x 2 weight-decay tuning grid (needs ``SCARCE_DATA``);
c. Rotten Tomatoes: baseline / EDA / duplicate on ``hashed_linear`` (needs ``SCARCE_DATA``).

``--sizes`` / ``--seeds`` replace every grid's sizes / seeds; ``--quick`` keeps the first size,
seed and grid point, 4 steps and 2 folds (for tests; not a measurement); ``--threads`` sets torch's
CPU threads (default: torch's; on a loaded machine 2 threads on 2 cores stall, so numbers are only
numbers on an idle one). Cells per hour count the cells of the grid over the wall time of
``Experiment.run()`` (the one-off dataset load is reported apart; one-off imports, e.g.
scikit-learn's, fall in the first cells that need them).

With ``--jobs 1`` (the default) the engine's pieces are wrapped with timers in this process only
(the code measured is unchanged): each second of a cell is attributed to exactly one phase, so the
shares sum to 100 %: the DataLoader's batches and the batch transform (data + augmentation,
collate included), the model's forward in training, ``backward``, the optimiser step, validation
and train-accuracy checks (``scarce.checkpoints.val_score`` and ``fit_score``), BatchNorm re-estimation, test evaluation,
remedy preparation (``prepare`` of the selection's clock), the rest of each fit (per-step Python,
model construction, checkpoints) and the rest of the cell. Time inside an outer phase stays there
(a collate during validation is validation). On CUDA every phase boundary synchronises. The
timers cost a few microseconds per module call and step; ``--no-phases`` measures cells per hour
without them (and without phases and FLOPs), as does ``--jobs`` > 1 (cells run in worker processes).

FLOPs: the first batch of each model class trained is replayed after the grid under
``torch.utils.flop_counter.FlopCounterMode`` (forward, and forward + backward in train mode), per
sample, times the samples that went through the model in training and in evaluation (optimiser
arithmetic and remedy preparation not counted). Peak: the best of a few large fp32 matmuls and of
a conv2d typical of ``small_cnn``, measured in the same run.

``--rev REV`` runs this script for every grid twice as subprocesses, interleaved: with
``PYTHONPATH`` at this checkout and at a temporary ``git worktree`` of REV, and prints the ratio
of cells per hour (this / REV), measured in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from cell_phases import PHASES, ModelTally, PhaseClock, count_flops, instrument

GRIDS = {
    "a": "digits demo (recipes/digits.yaml)",
    "b": "CIFAR-10 k=10: baseline / light / mixup, small_cnn 32 px, 3 lr x 2 wd",
    "c": "Rotten Tomatoes: baseline / eda / duplicate, hashed_linear",
}
RECIPES = {  # each grid is a shipped recipe, cut to the reference grid by overrides
    "a": ("digits.yaml", []),
    "b": ("cifar10_quick.yaml", ["remedies=[baseline, {name: augment, preset: light, label: light}, "
                                      "{name: mixup, label: mixup}]",
                                      "train.lr=[0.0003, 0.001, 0.003]", "train.weight_decay=[0.0001, 0.05]"]),
    "c": ("text_eda.yaml", ["remedies=[baseline, eda, duplicate]", "references=[]", "sizes=[25, 125]"]),
}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", default="a,b,c", help="comma-separated grids: a (digits), b (CIFAR-10), c (text)")
    p.add_argument("--sizes", default=None, help="replace every grid's sizes, e.g. 5,10")
    p.add_argument("--seeds", default=None, help="replace every grid's seeds, e.g. 0,1")
    p.add_argument("--quick", action="store_true", help="first size, seed and grid point, 4 steps (tests only)")
    p.add_argument("--jobs", type=int, default=1, help="cells in parallel (phases and FLOPs need 1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (CPU numbers are the published ones)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-phases", action="store_true", help="no timers: cells per hour only")
    p.add_argument("--data-root", default=None, help="datasets folder (default: $SCARCE_DATA)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--rev", default=None, help="also measure this git revision and print the ratio")
    return p


def _ints(text: str | None, name: str) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise ValueError(f"`--{name}` must be comma-separated non-negative integers, e.g. 0,1; got {text!r}.")
    return values


def check_args(args) -> list[str]:
    """Validate the arguments before any work; return the grids to run."""
    grids = [g.strip() for g in str(args.grid).split(",") if g.strip()]
    if not grids or any(g not in GRIDS for g in grids):
        raise ValueError(f"`--grid` must be a comma-separated subset of {sorted(GRIDS)}, got {args.grid!r}.")
    _ints(args.sizes, "sizes"), _ints(args.seeds, "seeds")
    if isinstance(args.jobs, bool) or not isinstance(args.jobs, int) or args.jobs < 1:
        raise ValueError(f"`--jobs` must be an integer >= 1, got {args.jobs!r}.")
    if args.threads is not None and (isinstance(args.threads, bool) or not isinstance(args.threads, int)
                                     or args.threads < 1):
        raise ValueError(f"`--threads` must be an integer >= 1, got {args.threads!r}.")
    if args.device not in ("cpu", "cuda", "auto") and not str(args.device).startswith("cuda:"):
        raise ValueError(f"`--device` must be cpu, cuda, cuda:N or auto, got {args.device!r}.")
    return list(dict.fromkeys(grids))


def _best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure_peak(device, *, quick: bool) -> dict:
    """GFLOP/s of a large fp32 matmul and of a conv2d typical of ``small_cnn`` (best of a few)."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    n, repeats = (512, 2) if quick else (2048, 5)
    a, b = (torch.randn(n, n, generator=gen).to(device) for _ in range(2))
    x, w = torch.randn(64, 32, 16, 16, generator=gen).to(device), torch.randn(64, 32, 3, 3, generator=gen).to(device)

    def mm():
        a @ b
        sync()

    def conv():
        F.conv2d(x, w, padding=1)
        sync()

    with torch.no_grad():
        t_mm, t_conv = _best_seconds(mm, repeats), _best_seconds(conv, repeats)
    conv_flops = 2 * 64 * 16 * 16 * 64 * 32 * 9
    return {"matmul_gflops": 2 * n ** 3 / t_mm / 1e9, "conv_gflops": conv_flops / t_conv / 1e9,
            "matmul": f"{n}x{n} @ {n}x{n} fp32", "conv": "x (64, 32, 16, 16) * w (64, 32, 3, 3), padding 1"}


def grid_config(letter: str, args):
    """The grid's ``ExperimentConfig`` with the command line's replacements applied."""
    import scarce
    from scarce.experiment import load_config

    recipe, base = RECIPES[letter]
    path = Path(scarce.__file__).resolve().parents[1] / "recipes" / recipe
    config = load_config(path, overrides=base)
    sizes, seeds = _ints(args.sizes, "sizes") or config.sizes, _ints(args.seeds, "seeds") or config.seeds
    overrides = [*base, f"train.device={args.device}"]
    if args.quick:
        sizes, seeds = sizes[:1], seeds[:1]
        overrides += ["train.steps=4", "train.eval_every=2", "folds=2", "test_limit=200",
                      f"train.lr=[{config.train.lr[0]}]", f"train.weight_decay=[{config.train.weight_decay[0]}]"]
    overrides += [f"sizes={json.dumps(sizes)}", f"seeds={json.dumps(seeds)}"]
    return load_config(path, overrides=overrides)


def run_grid(letter: str, args, device) -> dict:
    """Run one grid through ``Experiment`` in a temporary folder; cells per hour, phases, FLOPs."""
    import torch

    from scarce.experiment import Experiment

    try:
        from scarce.report.ablation import run_and_report
    except ImportError:  # a revision before the engine's split (12/2026): its runner wrote the report itself
        def run_and_report(exp):
            return exp.run()

    root = args.data_root or os.environ.get("SCARCE_DATA")
    if letter != "a" and not (root and Path(root).is_dir()):
        return {"skipped": f"grid {letter} needs the datasets: set SCARCE_DATA or pass --data-root (got {root!r})."}
    clock = PhaseClock(torch.cuda.synchronize if device.type == "cuda" else None)
    tally = ModelTally(clock)
    with tempfile.TemporaryDirectory(prefix="scarce-throughput-") as tmp:
        config = grid_config(letter, args)
        start = time.perf_counter()
        try:
            if hasattr(config, "with_run"):
                exp = Experiment(config.with_run(jobs=args.jobs), out_dir=Path(tmp) / "out", data_root=args.data_root,
                                 progress=False)
            else:  # a revision before with_run: the runner took `jobs`
                exp = Experiment(config, out_dir=Path(tmp) / "out", data_root=args.data_root, jobs=args.jobs,
                                 progress=False)
        except FileNotFoundError as err:
            return {"skipped": f"grid {letter}: {err}"}
        load = time.perf_counter() - start
        timers = contextlib.nullcontext([]) if args.no_phases or args.jobs > 1 else instrument(clock, tally)
        with timers as missing:
            start = time.perf_counter()
            results = run_and_report(exp)
            run = time.perf_counter() - start
    records = results.records
    by_row = defaultdict(list)
    for r in records:
        by_row[r["remedy"]].append(r["seconds"])
    out = {"title": GRIDS[letter], "config": dataclasses.asdict(config), "cells": len(records), "load_seconds": load,
           "run_seconds": run, "cells_per_hour": 3600 * len(records) / run,
           "cells_per_hour_with_load": 3600 * len(records) / (run + load),
           "seconds_per_cell_by_row": {k: sum(v) / len(v) for k, v in by_row.items()},
           "records": {k: sum(r.get(k) or 0.0 for r in records) for k in ("seconds", "prep_seconds", "train_seconds")},
           "cell_results": {f"{r['remedy']}|{r['size']}|{r['seed']}": {
               "accuracy": r["metrics"].get(config.metric, r["metrics"].get("accuracy")), "hparams": r.get("hparams")}
               for r in records if r.get("metrics")}}
    if clock.seconds:
        total = sum(clock.seconds.values())
        out.update(cell_seconds=total, phases=dict(clock.seconds), details=dict(clock.details), missing=missing,
                   shares={k: 100 * v / total for k, v in clock.seconds.items()})
        out["flops"] = count_flops(tally)
    return out


def rates(grid: dict, peak: dict) -> dict:
    """Achieved GFLOP/s in forward+backward and over the cells, and their fraction of the peaks."""
    f, ph = grid["flops"], grid["phases"]
    fwd_bwd = ph.get("forward", 0.0) + ph.get("backward", 0.0)
    out = {"fwd_bwd_gflops": f["train_flops"] / fwd_bwd / 1e9 if fwd_bwd else 0.0,
           "cell_gflops": (f["train_flops"] + f["eval_flops"]) / grid["cell_seconds"] / 1e9}
    for k in ("fwd_bwd", "cell"):
        out[f"{k}_of_matmul_peak"] = out[f"{k}_gflops"] / peak["matmul_gflops"]
        out[f"{k}_of_conv_peak"] = out[f"{k}_gflops"] / peak["conv_gflops"]
    return out


def report(letter: str, g: dict) -> None:
    print(f"\n## grid {letter}: {GRIDS[letter]}")
    if "skipped" in g:
        print(f"skipped: {g['skipped']}")
        return
    print(f"cells/hour: {g['cells_per_hour']:.1f}  ({g['cells']} cells in {g['run_seconds']:.1f} s; with the "
          f"{g['load_seconds']:.1f} s dataset load: {g['cells_per_hour_with_load']:.1f})")
    print("seconds per cell by row: " + ", ".join(f"{k} {v:.2f}" for k, v in g["seconds_per_cell_by_row"].items()))
    rec = g["records"]
    print(f"records: {rec['seconds']:.1f} s in cells, prep_seconds {rec['prep_seconds']:.1f}, "
          f"train_seconds {rec['train_seconds']:.1f}")
    if "phases" not in g:
        print("phases: not measured (--no-phases or --jobs > 1)")
        return
    print(f"phases (share of {g['cell_seconds']:.1f} s in cells):")
    labels = {**PHASES, "cell": "other (cell bookkeeping, scoring)"}
    for name, share in sorted(g["shares"].items(), key=lambda kv: -kv[1]):
        label = labels.get(name) or f"rest of fit ({name.split(':', 1)[-1]}: per-step Python, model build, ...)"
        print(f"  {label:<66s} {share:6.1f} %  {g['phases'][name]:8.2f} s")
    print(f"  {'total':<66s} {sum(g['shares'].values()):6.1f} %")
    if g["details"]:
        print("  inside data: " + ", ".join(f"{k} {v:.2f} s" for k, v in g["details"].items()))
    if g["missing"]:
        print(f"  not found at this commit (their time is in the enclosing phase): {', '.join(g['missing'])}")
    f, r = g["flops"], g["rates"]
    per = ", ".join(f"{k} {v['forward'] / 1e6:.2f} MFLOP fwd / {v['train'] / 1e6:.2f} fwd+bwd"
                    for k, v in f["per_sample"].items())
    print(f"arithmetic: per sample {per or 'no model'}; {f['train_flops'] / 1e9:.1f} GFLOP training, "
          f"{f['eval_flops'] / 1e9:.1f} GFLOP evaluation")
    if not f["train_flops"]:
        print("  FlopCounterMode counts no arithmetic in this model (e.g. embedding lookups): no rate to report")
        return
    for key, where in (("fwd_bwd", "in forward+backward"), ("cell", "over the cells")):
        print(f"  achieved {where:<20s} {r[key + '_gflops']:7.2f} GFLOP/s = {100 * r[key + '_of_matmul_peak']:.1f} % "
              f"of matmul peak ({100 * r[key + '_of_conv_peak']:.1f} % of conv peak)")


def _git(root: Path, *cmd: str) -> str:
    return subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True, check=True).stdout.strip()


def describe(root: Path) -> str:
    try:
        return _git(root, "describe", "--always", "--dirty")
    except (subprocess.CalledProcessError, OSError):
        return "unknown"


def measure(args, grids: list[str]) -> dict:
    """Peak, then every grid, in this process."""
    import torch

    import scarce
    from scarce._torch import resolve_device

    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    root = Path(scarce.__file__).resolve().parents[1]
    peak = measure_peak(device, quick=args.quick)
    print(f"# ablation throughput: {root} at {describe(root)}, torch {torch.__version__}, {device}, "
          f"{torch.get_num_threads()} threads, jobs {args.jobs}{', QUICK (not a measurement)' if args.quick else ''}")
    print(f"peak: matmul {peak['matmul_gflops']:.1f} GFLOP/s ({peak['matmul']}); conv2d {peak['conv_gflops']:.1f} "
          f"GFLOP/s ({peak['conv']})")
    out = {"scarce_path": str(root), "commit": describe(root), "torch": torch.__version__, "device": str(device),
           "threads": torch.get_num_threads(), "jobs": args.jobs, "quick": bool(args.quick), "peak": peak, "grids": {}}
    for letter in grids:
        g = run_grid(letter, args, device)
        if "flops" in g:
            g["rates"] = rates(g, peak)
        out["grids"][letter] = g
        report(letter, g)
    return out


def _child(args, grid: str, pythonpath: Path, json_path: Path, tag: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--grid", grid, "--jobs", str(args.jobs),
           "--device", args.device, "--json", str(json_path)]
    for flag, value in (("--sizes", args.sizes), ("--seeds", args.seeds), ("--data-root", args.data_root),
                        ("--threads", args.threads)):
        cmd += [flag, str(value)] if value is not None else []
    cmd += ["--quick"] * bool(args.quick) + ["--no-phases"] * bool(args.no_phases)
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    with subprocess.Popen(cmd, cwd=pythonpath, env=env, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            print(f"[{tag}] {line}", end="", flush=True)
    if proc.returncode:
        raise RuntimeError(f"The {tag} run of grid {grid} failed (exit {proc.returncode}); see its output above.")
    result = json.loads(json_path.read_text(encoding="utf-8"))
    if Path(result["scarce_path"]) != pythonpath.resolve():
        raise RuntimeError(f"The {tag} run imported scarce from {result['scarce_path']}, not {pythonpath}.")
    return result


def compare(args, grids: list[str]) -> dict:
    """Every grid at this checkout and at ``args.rev`` (interleaved subprocesses) and the ratios."""
    here = Path(__file__).resolve().parents[1]
    try:
        sha = _git(here, "rev-parse", "--verify", "--quiet", f"{args.rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise ValueError(f"`--rev` must name a commit of {here}, got {args.rev!r}.") from None
    sides = {"this": {"grids": {}}, "rev": {"grids": {}, "rev": args.rev, "sha": sha}}
    with tempfile.TemporaryDirectory(prefix="scarce-rev-") as tmp:
        tree = Path(tmp) / "tree"
        _git(here, "worktree", "add", "--detach", str(tree), sha)
        try:
            for letter in grids:
                for side, path in (("this", here), ("rev", tree)):
                    child = _child(args, letter, path, Path(tmp) / f"{side}_{letter}.json", f"{side} {letter}")
                    sides[side]["grids"][letter] = child["grids"][letter]
                    sides[side].setdefault("runs", []).append({k: v for k, v in child.items() if k != "grids"})
        finally:
            _git(here, "worktree", "remove", "--force", str(tree))
    print(f"\n# cells per hour, this checkout ({describe(here)}) / {args.rev} ({sha[:10]}), measured in one run")
    ratios = {}
    for letter in grids:
        a, b = sides["this"]["grids"][letter], sides["rev"]["grids"][letter]
        if "skipped" in a or "skipped" in b:
            print(f"  grid {letter}: skipped")
            continue
        ratios[letter] = a["cells_per_hour"] / b["cells_per_hour"]
        differ = sorted(k for k in a["config"] if k in b["config"] and a["config"][k] != b["config"][k])
        print(f"  grid {letter}: {a['cells_per_hour']:9.1f} / {b['cells_per_hour']:9.1f} = x{ratios[letter]:.2f}"
              + (f"   (configs differ in: {', '.join(differ)})" if differ else ""))
    paired = {letter: paired_difference(sides["this"]["grids"][letter], sides["rev"]["grids"][letter])
              for letter in ratios}
    for letter, p in paired.items():
        if p:
            print(f"  grid {letter}: test metric this - {args.rev} over {p['n']} cells: mean {p['mean']:+.4f}, "
                  f"sd {p['sd']:.4f}, 95% CI [{p['low']:+.4f}, {p['high']:+.4f}]; same chosen point in "
                  f"{p['same_hparams']}/{p['n']} cells; identical metric in {p['identical']}/{p['n']}")
    return {**sides, "ratios": ratios, "paired": paired}


def paired_difference(a: dict, b: dict) -> dict | None:
    """The test metric of the same cells (row, size, seed) measured at two commits: mean paired
    difference with a t interval, and how often the chosen point and the metric are identical."""
    from scipy import stats

    keys = sorted(set(a.get("cell_results", {})) & set(b.get("cell_results", {})))
    if not keys:
        return None
    d = [a["cell_results"][k]["accuracy"] - b["cell_results"][k]["accuracy"] for k in keys]
    n, mean = len(d), sum(d) / len(d)
    sd = (sum((x - mean) ** 2 for x in d) / (n - 1)) ** 0.5 if n > 1 else 0.0
    half = stats.t.ppf(0.975, n - 1) * sd / n ** 0.5 if n > 1 else float("nan")
    return {"n": n, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half,
            "same_hparams": sum(a["cell_results"][k]["hparams"] == b["cell_results"][k]["hparams"] for k in keys),
            "identical": sum(x == 0 for x in d), "by_cell": dict(zip(keys, d))}


def main(args) -> dict:
    grids = check_args(args)
    result = compare(args, grids) if args.rev else measure(args, grids)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, sort_keys=True, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
