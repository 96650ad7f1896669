"""`ridgerider run` under mpirun: rank 0 searches and writes, the other ranks ride. The answer
(result.json minus its wall time, and events.jsonl) is the serial one bit for bit, with one
rank, with more ranks than rides, and with a slow rank. Needs a build with MPI (CMake sets
MPIEXEC for this test); skipped otherwise."""
import json
import os
import re
import subprocess

import pytest

from conftest import BIN, result, run

MPIEXEC = os.environ.get("MPIEXEC", "")
pytestmark = pytest.mark.skipif(not MPIEXEC, reason="built without MPI")

# A TorchScript loss, so every worker must rebuild the objective from the options rank 0 sends.
SOURCE = "def f(x: Tensor) -> Tensor: return ((x**2 - 1)**2).sum() + 0.3*(x[:-1]*x[1:]).sum()"
ARGS = ["--objective-source", SOURCE, "--x0", "0,0,0,0", "--no-progress"]


def mpirun(ranks, *args, env=None, timeout=300):
    cmd = [MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), BIN, *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def comparable(out):
    r = result(out)
    del r["summary"]["wall_time_s"]
    return json.dumps(r, sort_keys=True), (out / "events.jsonl").read_bytes()


def rides_per_worker(stdout):
    m = re.search(r"rides per worker rank:((?: \d+:\d+)+)", stdout)
    assert m, stdout
    return {int(r): int(n) for r, n in (kv.split(":") for kv in m.group(1).split())}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    def compute(*extra):
        out = tmp_path_factory.mktemp("serial") / "run"
        code, _, err = run("run", *ARGS, *extra, "--out", out)
        assert code == 0, err
        return comparable(out), result(out)["summary"]["rides"]
    return compute


def test_three_ranks_equal_the_serial_run(tmp_path, serial):
    expected, rides = serial()
    out = tmp_path / "mpi3"
    code, stdout, err = mpirun(3, "run", *ARGS, "--out", out)
    assert code == 0, err
    assert comparable(out) == expected
    per_worker = rides_per_worker(stdout)
    assert sorted(per_worker) == [1, 2] and sum(per_worker.values()) == rides > 4
    assert sorted(p.name for p in out.iterdir()) == ["events.jsonl", "result.json", "solutions.csv"]


def test_one_rank_equals_the_serial_run(tmp_path, serial):
    expected, _ = serial()
    out = tmp_path / "mpi1"
    code, stdout, err = mpirun(1, "run", *ARGS, "--out", out)
    assert code == 0, err
    assert comparable(out) == expected
    assert "every ride on rank 0" in stdout


def test_more_ranks_than_rides(tmp_path):
    # toy2d: 6 rides in all; 7 workers.
    ref = tmp_path / "serial"
    assert run("run", "--problem", "toy2d", "--no-plot", "--no-progress", "--out", ref)[0] == 0
    assert result(ref)["summary"]["rides"] < 7
    out = tmp_path / "mpi8"
    code, stdout, err = mpirun(8, "run", "--problem", "toy2d", "--no-plot", "--no-progress", "--out", out)
    assert code == 0, err
    assert comparable(out) == comparable(ref)
    assert sum(rides_per_worker(stdout).values()) == result(ref)["summary"]["rides"]


def test_a_slow_rank_rides_less_and_changes_nothing(tmp_path, serial):
    expected, rides = serial()
    out = tmp_path / "slow"
    code, stdout, err = mpirun(3, "run", *ARGS, "--out", out, env={"RIDGERIDER_MPI_DELAY": "2:300"})
    assert code == 0, err
    assert comparable(out) == expected
    per_worker = rides_per_worker(stdout)
    # Rides go to whichever worker is free: the fast one takes most (a fixed split would be even).
    assert per_worker[2] * 3 < per_worker[1], per_worker


def test_budget_stops_where_the_serial_run_stops(tmp_path, serial):
    for budget in (["--max-rides", "7"], ["--max-gradients", "400"]):
        expected, _ = serial(*budget)
        out = tmp_path / ("budget" + budget[0])
        code, _, err = mpirun(3, "run", *ARGS, *budget, "--out", out)
        assert code == 0, err
        assert comparable(out) == expected, budget


def test_bad_input_under_mpirun_is_one_line_and_exit_2(tmp_path):
    code, _, err = mpirun(3, "run", "--problem", "nope", "--out", tmp_path / "x")
    assert code == 2
    assert err.count("ridgerider: error: unknown problem 'nope'") == 1  # rank 0 only
    assert not (tmp_path / "x").exists()
