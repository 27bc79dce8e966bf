"""The ablation throughput benchmark (benchmarks/ablation_throughput.py) on its quick digits grid,
and its phase clock: every second of a cell lands in exactly one phase."""

import importlib.util
import json
import time
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("ablation_throughput", BENCH / "ablation_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_digits_grid_reports_cells_per_hour_phases_and_peak(bench, tmp_path, capsys):
    threads = torch.get_num_threads()
    out = tmp_path / "throughput.json"
    args = bench.get_args_parser().parse_args(["--quick", "--grid", "a", "--threads", "1", "--json", str(out)])
    import scarce.train

    originals = torch.Tensor.backward, scarce.train.val_score, scarce.train.fit
    try:
        result = bench.main(args)
    finally:
        torch.set_num_threads(threads)
    assert (torch.Tensor.backward, scarce.train.val_score, scarce.train.fit) == originals  # timers removed
    printed = capsys.readouterr().out
    assert "cells/hour:" in printed and "total" in printed
    assert json.loads(out.read_text()) == json.loads(json.dumps(result, default=str))
    assert result["peak"]["matmul_gflops"] > 0 and result["peak"]["conv_gflops"] > 0
    grid = result["grids"]["a"]
    assert grid["cells"] == 4 and grid["cells_per_hour"] > 0  # baseline, augment, mixup, logreg at one size/seed
    assert sum(grid["shares"].values()) == pytest.approx(100, abs=1)
    for phase in ("data", "forward", "backward", "optimizer", "validation", "batchnorm", "test", "prep"):
        assert grid["phases"][phase] > 0, phase
    assert grid["cell_seconds"] == pytest.approx(grid["records"]["seconds"], rel=0.1, abs=0.2)
    assert not grid["missing"]
    (per_sample,) = grid["flops"]["per_sample"].values()  # small_cnn: backward counted, about 2x forward
    assert 2 < per_sample["train"] / per_sample["forward"] < 4
    assert grid["flops"]["train_flops"] > 0 and grid["rates"]["cell_gflops"] > 0


def test_bad_arguments_are_refused_before_any_work(bench):
    parse = bench.get_args_parser().parse_args
    for argv, name in ((["--grid", "a,x"], "--grid"), (["--sizes", "5,ten"], "--sizes"), (["--jobs", "0"], "--jobs"),
                       (["--device", "gpu"], "--device"), (["--threads", "0"], "--threads"),
                       (["--rev", "no-such-revision-0f3c"], "--rev")):
        with pytest.raises(ValueError, match=name):
            bench.main(parse(argv))


def test_phase_clock_gives_each_second_to_one_phase(bench):
    clock = bench.PhaseClock()
    with clock.phase("cell"):
        time.sleep(0.01)
        with clock.phase("fit:X"):
            with clock.phase("validation"):
                with clock.phase("data"):  # inside an opaque phase: stays validation
                    time.sleep(0.02)
            with clock.phase("data"):
                time.sleep(0.01)
    with clock.phase("forward"):  # outside a cell: not counted
        time.sleep(0.01)
    assert set(clock.seconds) == {"cell", "fit:X", "validation", "data"}
    assert clock.seconds["validation"] >= 0.02 and clock.seconds["data"] < 0.02
    assert clock.seconds["cell"] >= 0.01 and not clock.stack and clock.skip == 0
