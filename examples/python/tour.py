"""The issue's tour, line by line: a torch loss, an nn.Module, a CLI run loaded and plotted.

    PYTHONPATH=python:build/python /usr/bin/python3 examples/python/tour.py [OUT_DIR]

The CLI run is made here first (build/apps/ridgerider, or $RIDGERIDER_BIN) so that there is a
directory to load.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rr-tour-"))
cli = os.environ.get("RIDGERIDER_BIN", str(Path(__file__).resolve().parents[2] / "build" / "apps" / "ridgerider"))
subprocess.run([cli, "run", "--problem", "himmelblau", "--out", str(out / "runs" / "fm"), "--no-progress"],
               check=True, stdout=subprocess.DEVNULL)
os.chdir(out)

# A small network on one fixed batch: a two-layer linear network at its zero weights, a saddle
# (the exact path: a dense Hessian at every step).
import torch  # noqa: E402

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False), torch.nn.Linear(2, 1, bias=False)).double()
with torch.no_grad():
    for p in model.parameters():
        p.zero_()
loss_fn = torch.nn.functional.mse_loss
data = torch.randn(16, 2, dtype=torch.float64)
targets = data @ torch.tensor([[1.0], [-2.0]], dtype=torch.float64)

# ---- the snippet, as written ----
import ridgerider as rr, torch  # noqa: E401,E402
def loss(x):                      # any torch function of a flat parameter tensor
    return (x[0]**2 - 1)**2 + 2 * x[1]**2
res = rr.explore(loss, x0=[0.0, 0.0], seed=0)             # exact RR, derivatives by torch
for s in res.solutions: print(s.x, s.loss, s.fingerprint)
res = rr.explore_model(model, loss_fn, data, targets, k=4)  # matrix-free RR on an nn.Module
run = rr.load("runs/fm")                                     # a CLI run's results
run.plot_tree(); run.plot_landscape(); run.plot_spectrum()   # matplotlib figures
# ---- end of the snippet ----

print(f"explore_model: d = {res.dim}, {len(res.solutions)} solutions, best loss "
      f"{min(s.loss for s in res.solutions):.4g} (start {res.result['start']['loss']:.4g})")
for name, fig in (("tree", run.plot_tree()), ("landscape", run.plot_landscape()), ("spectrum", run.plot_spectrum())):
    fig.savefig(out / f"{name}.png")
print(f"{run!r}: figures in {out}")
assert len(run.solutions) >= 3 and (out / "tree.png").is_file()
assert all(s.is_minimum and s.loss < 1e-20 for s in res.solutions)  # the network fits the linear targets
