import json
import os
import subprocess
from pathlib import Path

import pytest

BIN = os.environ.get("RIDGERIDER_BIN", str(Path(__file__).resolve().parents[2] / "build" / "apps" / "ridgerider"))


def run(*args, timeout=600):
    """Runs the CLI; returns (exit status, stdout, stderr)."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def results(out_dir):
    return json.loads((Path(out_dir) / "results.json").read_text())


@pytest.fixture(scope="session")
def lever_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("lever") / "out"
    rc, so, se = run("reproduce", "lever-game", "--quick", "--out", out)
    assert rc == 0, se
    return out


@pytest.fixture(scope="session")
def tree_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("tree") / "out"
    rc, so, se = run("reproduce", "tree-mdp", "--quick", "--threads", "2", "--out", out)
    assert rc == 0, se
    return out
