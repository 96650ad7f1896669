"""The README's first Python example: a loss written in torch, explored from its saddle.

    PYTHONPATH=python:build/python /usr/bin/python3 examples/python/quickstart.py [OUT_DIR]
"""
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")  # files, no window

import ridgerider as rr
import torch  # noqa: F401  (the loss below is torch code)


def loss(x):                      # any torch function of a flat parameter tensor
    return (x[0]**2 - 1)**2 + 2 * x[1]**2


res = rr.explore(loss, x0=[0.0, 0.0], seed=0)             # exact RR, derivatives by torch
for s in res.solutions:
    print(s.x, s.loss, s.fingerprint)

out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rr-quickstart-")
res.plot_tree().savefig(f"{out}/tree.png")
res.plot_landscape().savefig(f"{out}/landscape.png")
res.plot_spectrum().savefig(f"{out}/spectrum.png")
print(f"{len(res.solutions)} solutions; figures in {out}")
assert sorted(round(float(s.x[0])) for s in res.solutions) == [-1, 1]
