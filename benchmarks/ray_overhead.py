"""Per-cell cost of the Ray executor against in-process, on the digits smoke grid, in one run.

The same grid (``recipes/digits.yaml --smoke`` widened to ``--seeds`` seeds, so there are enough
cells to average) runs in-process and then with ``--executor ray`` on a local cluster started by
the sweep (its start and stop are counted: that is what a user pays). Prints the seconds per cell
of each, the ratio (Ray / in-process) and the cluster start-up share; ``--json`` writes them.

    ../shared/tools/heavy python benchmarks/ray_overhead.py --seeds 5 --json runs/ray_overhead.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds of the smoke grid (cells = rows x seeds)")
    p.add_argument("--cpus-per-cell", type=float, default=1.0)
    p.add_argument("--json", help="write the numbers here")
    return p


def _sweep(config, executor: str, **run) -> tuple[float, int]:
    from scarce.experiment.runner import Experiment
    from scarce.report.ablation import ablate

    cfg = dataclasses.replace(config, run=dataclasses.replace(config.run, executor=executor, **run))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        res = ablate(cfg, out_dir=out, progress=False)
        return time.perf_counter() - start, len(res.records)


def main(args) -> dict:
    from scarce.experiment.config import load_config, smoke_config

    if args.seeds < 1:
        raise ValueError(f"`--seeds` must be >= 1, got {args.seeds}.")
    config = smoke_config(load_config(ROOT / "recipes" / "digits.yaml"))
    config = dataclasses.replace(config, seeds=list(range(args.seeds)), tune="every_cell")
    local, n = _sweep(config, "local", jobs=1)
    ray_wall, n_ray = _sweep(config, "ray", cpus_per_cell=args.cpus_per_cell)
    out = {"cells": n, "in_process_s_per_cell": local / n, "ray_s_per_cell": ray_wall / n_ray,
           "ratio": (ray_wall / n_ray) / (local / n), "in_process_wall": local, "ray_wall": ray_wall,
           "cpus_per_cell": args.cpus_per_cell}
    print(f"{n} cells: in-process {out['in_process_s_per_cell']:.2f} s/cell, Ray {out['ray_s_per_cell']:.2f} s/cell "
          f"(cluster start and stop included), ratio {out['ratio']:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
