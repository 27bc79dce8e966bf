"""benchmarks/same_records.py: two logs are the same when every cell's record but its timings is."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "same_records.py"


def _bench():
    spec = importlib.util.spec_from_file_location("same_records", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(path, **changes):
    rows = [{"key": f"baseline|5|{s}", "remedy": "baseline", "size": 5, "seed": s, "metrics": {"accuracy": 0.5 + s},
             "seconds": 1.0 + s, "prep_seconds": 0.1, "train_seconds": 0.9} for s in range(2)]
    rows[1].update(changes)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_timings_are_ignored_and_any_other_field_or_a_missing_cell_is_a_difference(tmp_path, capsys):
    bench = _bench()
    old = _log(tmp_path / "old.jsonl")
    run = lambda new: bench.main(bench.get_args_parser().parse_args([str(old), str(new)]))  # noqa: E731
    assert run(_log(tmp_path / "a.jsonl", seconds=99.0, train_seconds=98.0)) == 0
    assert "identical in every field but timings" in capsys.readouterr().out
    assert run(_log(tmp_path / "b.jsonl", metrics={"accuracy": 0.25})) == 1
    assert "baseline|5|1" in capsys.readouterr().out
    short = tmp_path / "c.jsonl"
    short.write_text(old.read_text().splitlines()[0] + "\n")
    assert run(short) == 1 and "only in old: 1" in capsys.readouterr().out
