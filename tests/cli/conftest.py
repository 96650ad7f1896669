import json
import os
import subprocess
from pathlib import Path

import pytest

BIN = os.environ.get("RIDGERIDER_BIN", str(Path(__file__).resolve().parents[2] / "build" / "apps" / "ridgerider"))


def run(*args, cwd=None, timeout=300):
    """Runs the CLI; returns (exit status, stdout, stderr)."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def result(out_dir):
    return json.loads((Path(out_dir) / "result.json").read_text())


@pytest.fixture
def cli():
    return run
