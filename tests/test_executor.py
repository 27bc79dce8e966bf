"""Local pool workers die with their driver."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc (Linux)")
def test_pool_workers_exit_after_their_driver_is_killed(tmp_path):
    driver = textwrap.dedent("""
        import time
        from scarce.executors.local import ProcessPoolExecutor
        for _ in ProcessPoolExecutor(2).run(time.sleep, [60, 60]):
            pass
    """)
    proc = subprocess.Popen([sys.executable, "-c", driver], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline:  # the two workers, plus spawn's resource tracker
            workers = [p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
            if len(workers) == 2:
                break
            time.sleep(0.2)
        assert len(workers) == 2, "the pool did not start its two workers"
        time.sleep(1.0)  # past the worker initialiser
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "a pool worker outlived its killed driver by 10 s"
    finally:
        if proc.poll() is None:
            proc.kill()


POOLS = ("(__import__('cv2').getNumThreads(), __import__('scipy.linalg').__name__, __import__('torch').get_num_threads(),"
         " sorted({i['num_threads'] for i in __import__('threadpoolctl').threadpool_info()}))")


def test_pool_workers_cap_every_thread_pool_at_their_share():
    """Each of N workers gets cores / N threads in torch and in every BLAS / OpenMP / OpenCV pool, loaded before
    or after the worker started (an OpenBLAS pool of one thread per core spun beside the training threads)."""
    pytest.importorskip("cv2")
    from scarce.executors.local import ProcessPoolExecutor

    share = max(1, (os.cpu_count() or 1) // 2)
    before = dict(os.environ)
    for _, (cv2_threads, _, torch_threads, pools) in ProcessPoolExecutor(2).run(eval, [POOLS, POOLS]):
        assert (cv2_threads, torch_threads, pools) == (share, share, [share])
    assert dict(os.environ) == before  # the driver's own pools are left alone
