"""Killed runs resume to exactly the result of an uninterrupted run (result.json minus its wall
time, and events.jsonl byte for byte); a corrupt checkpoint falls back to the previous one."""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, result, run

# ~1.5 s of search on 2 cores: long enough for kills to land mid-run.
ARGS = ["run", "--problem", "quadratic", "--step-rule", "fixed", "--step-size", "0.0005",
        "--checkpoint-interval", "0", "--no-progress"]
KILLS = int(os.environ.get("RIDGERIDER_KILLS", "10"))


def comparable(out):
    r = result(out)
    del r["summary"]["wall_time_s"]
    return json.dumps(r, sort_keys=True), (Path(out) / "events.jsonl").read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    code, _, err = run(*ARGS, "--out", out)
    assert code == 0, err
    return comparable(out), result(out)["summary"]["wall_time_s"]


def finished_rides(out):
    try:
        return (out / "events.jsonl").read_bytes().count(b'"event":"ride_end"')
    except FileNotFoundError:
        return 0


def kill_and_resume(out, delay, after_rides=None):
    """Kills the run `delay` seconds after `after_rides` rides finished (counted in its events,
    flushed with every checkpoint), so that the kill lands mid-run however loaded the machine;
    or `delay` seconds after launch when after_rides is None."""
    p = subprocess.Popen([BIN, *ARGS, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if after_rides is not None:
        while finished_rides(out) < after_rides and p.poll() is None:
            time.sleep(0.005)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()
    if (out / "result.json").exists():
        return "finished before the kill"
    if not (out / "checkpoint.json").exists() and not (out / "checkpoint.prev.json").exists():
        code, _, err = run(*ARGS, "--out", out, "--overwrite")  # killed before the first checkpoint: start again
        assert code == 0, err
        return "killed before the first checkpoint"
    code, _, err = run("run", "--resume", out, "--no-progress")
    assert code == 0, err
    return "resumed"


def test_kill_minus_9_at_random_moments_then_resume(tmp_path, reference):
    expected, search_time = reference
    rides = json.loads(expected[0])["summary"]["rides"]
    rng = random.Random(1234)
    outcomes = []
    for i in range(KILLS):
        out = tmp_path / f"kill{i}"
        if i % 5 == 4:  # also right at launch, before or while the first checkpoint is written
            outcomes.append(kill_and_resume(out, rng.uniform(0.0, 0.4)))
        else:  # mid-run: after a random number of rides, at a random moment of the next one
            outcomes.append(kill_and_resume(out, rng.uniform(0.0, 0.05), after_rides=rng.randint(1, rides - 2)))
        assert comparable(out) == expected, f"kill {i} ({outcomes[-1]})"
        assert not (out / "checkpoint.json").exists()  # a finished run leaves no checkpoint
    assert outcomes.count("resumed") >= KILLS // 2, outcomes  # most kills really land mid-run


def test_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path, reference):
    expected, search_time = reference
    out = tmp_path / "corrupt"
    for attempt in range(5):
        p = subprocess.Popen([BIN, *ARGS, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (out / "checkpoint.prev.json").exists() and p.poll() is None:
            time.sleep(0.005)
        time.sleep(0.3 * search_time)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if all((out / f).exists() for f in ["checkpoint.json", "checkpoint.prev.json"]):
            break
    assert (out / "checkpoint.prev.json").exists() and (out / "checkpoint.json").exists()
    text = (out / "checkpoint.json").read_text()
    (out / "checkpoint.json").write_text(text[: len(text) // 2])  # truncated
    code, _, err = run("run", "--resume", out, "--no-progress")
    assert code == 0, err
    assert "truncated or corrupt" in err and "previous checkpoint" in err
    assert comparable(out) == expected


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    code, _, err = run("run", "--resume", tmp_path / "nothing-here")
    assert code == 2 and "checkpoint" in err and len(err.strip().splitlines()) == 1


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    out = tmp_path / "done"
    assert run("run", "--problem", "toy2d", "--no-plot", "--out", out)[0] == 0
    before = (out / "result.json").read_bytes()
    code, stdout, _ = run("run", "--resume", out)
    assert code == 0 and "already complete" in stdout
    assert (out / "result.json").read_bytes() == before


def test_resume_refuses_new_options(tmp_path):
    code, _, err = run("run", "--resume", tmp_path, "--max-rides", "3")
    assert code == 2 and "--max-rides cannot change them" in err


def test_a_new_run_never_writes_over_an_earlier_one(tmp_path):
    out = tmp_path / "done"
    assert run("run", "--problem", "toy2d", "--no-progress", "--out", out)[0] == 0
    assert (out / "landscape.png").exists()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run("run", "--problem", "wells3d", "--no-progress", "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "already holds a run (result.json)" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # --overwrite replaces the run's files and leaves anything else in the directory alone.
    (out / "notes.txt").write_text("mine")
    code, _, err = run("run", "--problem", "wells3d", "--no-progress", "--out", out, "--overwrite")
    assert code == 0, err
    assert result(out)["problem"]["name"] == "wells3d" and (out / "notes.txt").read_text() == "mine"
    assert not (out / "landscape.png").exists()  # the old run's plot went with it


def test_an_unfinished_run_is_pointed_to_resume(tmp_path, reference):
    out = tmp_path / "killed"
    p = subprocess.Popen([BIN, *ARGS, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (out / "checkpoint.json").exists() and p.poll() is None:
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    if (out / "result.json").exists():
        pytest.skip("the run finished before the kill")
    code, _, err = run(*ARGS, "--out", out)
    assert code == 2 and f"already holds an unfinished run" in err and f"--resume {out}" in err
    code, _, err = run("run", "--resume", out, "--no-progress")
    assert code == 0, err
    assert comparable(out) == reference[0]


def test_nothing_is_written_outside_out(tmp_path):
    cwd, out = tmp_path / "cwd", tmp_path / "deep" / "out"
    cwd.mkdir()
    code, _, err = run("run", "--problem", "toy2d", "--checkpoint-interval", "0", "--out", out, cwd=cwd)
    assert code == 0, err
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "deep"]
    assert sorted(p.name for p in out.iterdir()) == ["events.jsonl", "landscape.png", "result.json", "solutions.csv"]
