"""Ridge Rider on the weights of a small nn.Module (one fixed batch), with a progress line and
an early stop after a few distinct solutions. Every solution is a set of weights: write it back
into the model with set_model_vector.

    PYTHONPATH=python:build/python /usr/bin/python3 examples/python/model.py
"""
import torch

import ridgerider as rr

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
data = torch.randn(32, 2, dtype=torch.float64)
targets = torch.sin(2 * data[:, :1]) * data[:, 1:]
with torch.no_grad():  # start near the symmetric point where all hidden units are alike
    for p in model.parameters():
        p.mul_(0.05)

res = rr.explore_model(model, torch.nn.functional.mse_loss, data, targets, k=2, mis=True,
                       max_depth=2, polish_max_iterations=100,
                       callbacks=[rr.PrintProgress(1.0), rr.StopAfterSolutions(3)])
start = res.result["start"]["loss"]
print(f"d = {res.dim}, start loss {start:.4f}, stop: {res.summary['stop_reason']}")
# A tanh network's minima are flat (near-zero curvature) or lie at infinity (saturated units):
# polishing with a capped number of Newton steps may stop just short of the verification
# threshold (|g| <= 1e-6), so "verified minimum" can read False with |g| ~ 1e-6.
for s in sorted(res.solutions, key=lambda s: s.loss):
    print(f"  {s.fingerprint_str:14s} loss {s.loss:.5f}  |g| {s.grad_norm:.1e}  verified minimum: {s.is_minimum}")
best = min(res.solutions, key=lambda s: s.loss)
rr.set_model_vector(model, best.x)
with torch.no_grad():
    print(f"model with the best solution's weights: loss {torch.nn.functional.mse_loss(model(data), targets):.5f}")
assert best.loss < start
