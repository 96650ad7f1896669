"""A loss without torch: value and gradient as NumPy functions (HVPs by finite differences of
the gradient), written to a CLI-style result directory and read back with ridgerider.load.

    PYTHONPATH=python:build/python /usr/bin/python3 examples/python/numpy_loss.py
"""
import tempfile
from pathlib import Path

import numpy as np

import ridgerider as rr


def himmelblau(x):
    return (x[0]**2 + x[1] - 11)**2 + (x[0] + x[1]**2 - 7)**2


def grad(x):
    a, b = x[0]**2 + x[1] - 11, x[0] + x[1]**2 - 7
    return np.array([4 * a * x[0] + 2 * b, 2 * a + 4 * b * x[1]])


# Himmelblau's function has a local maximum at about (-0.2708, -0.9230): start there.
out = Path(tempfile.mkdtemp(prefix="rr-numpy-")) / "himmelblau"
res = rr.explore(himmelblau, x0=[-0.270845, -0.923039], grad=grad, mis=True, out=out)
run = rr.load(out)  # what the CLI's `--out` would hold: result.json, events.jsonl, solutions.csv
for s in run.solutions:
    print(f"{s.fingerprint_str:10s} x = {np.round(s.x, 4)}  loss = {s.loss:.2e}  minimum: {s.is_minimum}")
print(f"{run.summary['rides']} rides, {run.summary['gradients']} gradients; results in {out}")
assert sum(s.is_minimum and s.loss < 1e-10 for s in run.solutions) >= 3
