"""Reference Ridge Rider in Python/torch, in the paper's style, for bench/compare_reference.py.

A line-by-line port of OUR exact algorithm (include/ridgerider/{tree,ride,ridges,local_min}.hpp)
with the FIXED step rule, written the way the paper's code does it: every step forms the dense
Hessian with torch.autograd.functional.hessian and decomposes it with torch.linalg.eigh, all
in float64. Gradients come from torch.autograd.grad (one forward + one backward).

Options are those of `ridgerider run --step-rule fixed` with every other option at its default:
step-size 0.05, eigen-threshold 1e-6, cluster-tolerance 1e-6 (one ride per cluster),
overlap-floor 0.5, grad-tolerance 1e-8, max-steps 2000, breadth-first order, skip-ascending,
max-rides 1000, max-depth 8, polish (modified Newton) to |g| <= 1e-9 in <= 500 iterations,
de-duplication within |dx| <= 1e-4 and |dL| <= 1e-7 max(1, |L|), verified minimum at
|g| <= 1e-6 and lambda_min >= -1e-6.

Run with Debian's interpreter: /usr/bin/python3 bench/reference_rr.py  (a self-check on toy2d).
"""

import math
import time
from dataclasses import dataclass, field

import torch

torch.set_default_dtype(torch.float64)


@dataclass
class Options:
    step_size: float = 0.05
    eigen_threshold: float = 1e-6
    cluster_tolerance: float = 1e-6
    overlap_floor: float = 0.5
    grad_tolerance: float = 1e-8
    max_steps: int = 2000
    max_rides: int = 1000
    max_depth: int = 8
    skip_ascending: bool = True
    # How skip-ascending decides (tree.hpp PushChildren): "model" = skip a sign whose first step
    # is predicted to rise, a s g.e + a^2 lambda / 2 >= 0 (the current rule); "slope" = the rule
    # of commit 39f98d8: skip s g.e > 0 unless |g.e| <= 1e-10 max(1, |g|).
    skip_rule: str = "model"
    polish_max_iterations: int = 500
    polish_grad_tolerance: float = 1e-9
    dedupe_distance: float = 1e-4
    dedupe_loss: float = 1e-7
    verify_grad_tolerance: float = 1e-6


class Objective:
    """f: a Python function of a 1-D float64 tensor returning a scalar tensor. Counts calls."""

    def __init__(self, f):
        self.f = f
        self.gradients = 0
        self.hessians = 0

    def value_and_grad(self, x):
        """(loss, gradient, finite?)"""
        self.gradients += 1
        xt = x.detach().clone().requires_grad_(True)
        y = self.f(xt)
        (g,) = torch.autograd.grad(y, xt, allow_unused=True)
        if g is None:
            g = torch.zeros_like(xt)
        f = float(y)
        g = g.detach()
        return f, g, math.isfinite(f) and bool(torch.isfinite(g).all())

    def spectrum(self, x):
        """(eigenvalues ascending, eigenvectors as columns) or None when not finite."""
        self.hessians += 1
        h = torch.autograd.functional.hessian(self.f, x.detach())
        h = 0.5 * (h + h.T)  # ours symmetrises too (autodiff.hpp, torchscript_objective.cpp)
        if not bool(torch.isfinite(h).all()):
            return None
        values, vectors = torch.linalg.eigh(h)
        if not (bool(torch.isfinite(values).all()) and bool(torch.isfinite(vectors).all())):
            return None
        return values, vectors


# ----------------------------------------------------------------------------- ridges.hpp

def clusters(values, tol):
    out, begin, n = [], 0, len(values)
    vals = values.tolist()
    for i in range(1, n + 1):
        if i == n or vals[i] - vals[begin] > tol * max(1.0, abs(vals[begin])):
            out.append((begin, i))
            begin = i
    return out


def get_ridges(spec, o):
    values, vectors = spec
    ridges = []
    for begin, end in clusters(values, o.cluster_tolerance):
        i = begin  # all_in_cluster = false: the cluster's first eigenvector
        if not (float(values[i]) < -o.eigen_threshold):
            return ridges
        ridges.append(dict(index=i, cluster_size=end - begin, eigenvalue=float(values[i]),
                           direction=vectors[:, i].clone()))
    return ridges


def update_ridge(spec, previous, o):
    values, vectors = spec
    c = vectors.T @ previous
    best = int(torch.argmax(c.abs()))  # first of equal maxima, like Eigen's maxCoeff
    t = dict(direction=None, eigenvalue=0.0, overlap=0.0, index=0)
    for begin, end in clusters(values, o.cluster_tolerance):
        if best < begin or best >= end:
            continue
        p = vectors[:, begin:end] @ c[begin:end]
        norm = float(p.norm())
        t["index"] = begin
        t["overlap"] = norm / max(float(previous.norm()), 1e-300)
        t["direction"] = p / norm if norm > 0 else vectors[:, best].clone()
        w = c[begin:end] ** 2
        t["eigenvalue"] = (float(values[begin:end] @ w) / float(w.sum()) if float(w.sum()) > 0
                           else float(values[best]))
        break
    t["lost"] = t["overlap"] < o.overlap_floor
    return t


# ----------------------------------------------------------------------------- ride.hpp

def ride(obj, x, loss, grad, e, eigenvalue, o):
    """Fixed step rule. Returns dict(x, loss, grad, spectrum, eigenvalue, direction, steps, reason)."""
    out = dict(x=x, loss=loss, grad=grad, spectrum=None, eigenvalue=eigenvalue, direction=e,
               steps=0, reason="pending")
    alpha = o.step_size
    while True:
        if out["steps"] >= o.max_steps:
            out["reason"] = "max-steps"
            break
        x_new = out["x"] + alpha * out["direction"]
        f_new, g_new, ok = obj.value_and_grad(x_new)
        if not ok:
            out["reason"] = "non-finite"
            break
        if not (f_new < out["loss"]):
            out["reason"] = "loss-increased"
            break
        s = obj.spectrum(x_new)
        if s is None:
            out["reason"] = "non-finite"
            break
        t = update_ridge(s, out["direction"], o)
        out.update(x=x_new, loss=f_new, grad=g_new, spectrum=s)
        out["steps"] += 1
        if t["lost"]:
            out["reason"] = "overlap-lost"
            break
        out["direction"] = t["direction"]
        out["eigenvalue"] = t["eigenvalue"]
        if float(out["grad"].norm()) < o.grad_tolerance and float(s[0][0]) >= -o.eigen_threshold:
            out["reason"] = "at-minimum"
            break
        if out["eigenvalue"] >= -o.eigen_threshold:
            out["reason"] = "eigenvalue-nonnegative"
            break
    return out


# ----------------------------------------------------------------------------- local_min.hpp

def check_point(obj, x):
    f, g, ok = obj.value_and_grad(x)
    if not ok:
        return None
    s = obj.spectrum(x)
    if s is None:
        return None
    return dict(loss=f, grad_norm=float(g.norm()), min_eigenvalue=float(s[0][0]))


def polish(obj, x, o):
    f, g, ok = obj.value_and_grad(x)
    if not ok:
        return x, check_point(obj, x), 0, False
    it = 0
    while it < o.polish_max_iterations:
        if float(g.norm()) <= o.polish_grad_tolerance:
            break
        s = obj.spectrum(x)
        if s is None:
            break
        values, vectors = s
        scale = max(1.0, float(values.abs().max()))
        delta = 1e-8 * scale
        inv = 1.0 / values.abs().clamp(min=delta)
        p = -(vectors @ (inv * (vectors.T @ g)))
        cap = max(1.0, float(x.norm()))
        pn = float(p.norm())
        if pn > cap:
            p = p * (cap / pn)
        slope = float(g @ p)
        t, accepted, fn, gn = 1.0, False, 0.0, None
        for _ in range(60):
            xn = x + t * p
            fn, gn, ok = obj.value_and_grad(xn)
            if ok and fn <= f + 1e-4 * t * slope:
                x = xn
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        stalled = f - fn <= 1e-16 * max(1.0, abs(f)) and float(gn.norm()) >= float(g.norm())
        f, g = fn, gn
        it += 1
        if stalled:
            break
    converged = float(g.norm()) <= o.polish_grad_tolerance
    return x, check_point(obj, x), it, converged


# ----------------------------------------------------------------------------- tree.hpp

def explore(f, x0, o=None):
    """The whole search from x0 (a saddle). Returns a dict: solutions (x, loss, grad_norm,
    min_eigenvalue, is_minimum, fingerprint), rides, leaves, end_reasons, gradients, hessians,
    search_time_s (wall time of the search only)."""
    o = o or Options()
    t0 = time.perf_counter()
    obj = Objective(f)
    x0 = torch.as_tensor(x0, dtype=torch.float64).clone()
    nodes, pending, solutions = [], [], []
    state = dict(leaves=0)

    def push_children(parent, x, loss, grad, ridges):
        depth = parent["depth"] + 1 if parent else 1
        base = parent["path"] if parent else []
        ids = []
        gnorm = float(grad.norm())
        a = o.step_size
        for r in ridges:
            slope = float(grad @ r["direction"])
            stationary = abs(slope) <= 1e-10 * max(1.0, gnorm)
            for sign in (+1, -1):
                if o.skip_rule == "model":
                    skip = a * sign * slope + 0.5 * r["eigenvalue"] * a * a >= 0
                else:
                    skip = not stationary and sign * slope > 0
                if o.skip_ascending and skip:
                    continue
                c = dict(id=len(nodes) + 1, depth=depth, path=base + [(r["index"], sign)],
                         start_x=x, start_direction=sign * r["direction"], start_loss=loss,
                         start_eigenvalue=r["eigenvalue"], reason="pending", steps=0)
                ids.append(c["id"])
                pending.append(c["id"])
                nodes.append(c)
        if parent:
            parent["children"] = ids

    def add_leaf(node, end_x):
        state["leaves"] += 1
        x, chk, iters, converged = polish(obj, end_x, o)
        if chk is None:
            return
        cand = dict(x=x, loss=chk["loss"], grad_norm=chk["grad_norm"],
                    min_eigenvalue=chk["min_eigenvalue"],
                    is_minimum=chk["grad_norm"] <= o.verify_grad_tolerance
                    and chk["min_eigenvalue"] >= -o.eigen_threshold,
                    polish_converged=converged, polish_iterations=iters,
                    fingerprint=node["path"], ride=node["id"], reached_by=[node["id"]])
        for s in solutions:
            same_x = float((s["x"] - x).norm()) <= o.dedupe_distance
            same_loss = abs(s["loss"] - cand["loss"]) <= o.dedupe_loss * max(1.0, abs(s["loss"]))
            if same_x and same_loss:
                s["reached_by"].append(node["id"])
                return
        solutions.append(cand)

    # Start
    loss0, g0, ok = obj.value_and_grad(x0)
    stop = None
    if not ok:
        stop = "non-finite-start"
    else:
        s0 = obj.spectrum(x0)
        if s0 is None:
            stop = "non-finite-start"
        else:
            ridges = get_ridges(s0, o)
            if not ridges:
                root = dict(id=1, depth=0, path=[], reason="at-minimum", steps=0)
                nodes.append(root)
                add_leaf(root, x0)
            else:
                push_children(None, x0, loss0, g0, ridges)

    # Next, until the archive is empty
    while stop is None:
        if not pending:
            stop = "archive-empty"
            break
        if sum(1 for n in nodes if n["reason"] != "pending") >= o.max_rides:
            stop = "max-rides"
            break
        n = nodes[pending.pop(0) - 1]  # breadth-first: the oldest
        _, grad, _ = obj.value_and_grad(n["start_x"])
        out = ride(obj, n["start_x"], n["start_loss"], grad, n["start_direction"],
                   n["start_eigenvalue"], o)
        n["reason"], n["steps"], n["end_x"], n["end_loss"] = (out["reason"], out["steps"],
                                                             out["x"], out["loss"])
        can_continue = (out["steps"] > 0 and out["spectrum"] is not None
                        and out["reason"] != "non-finite")
        if can_continue:
            ridges = get_ridges(out["spectrum"], o)
            if out["reason"] == "loss-increased":
                ridges = [r for r in ridges
                          if abs(float(r["direction"] @ out["direction"])) < o.overlap_floor]
            if ridges and n["depth"] >= o.max_depth:
                n["truncated"] = True
                ridges = []
            if not ridges:
                add_leaf(n, out["x"])
            else:
                push_children(n, out["x"], out["loss"], out["grad"], ridges)

    elapsed = time.perf_counter() - t0
    reasons = {}
    for n in nodes:
        reasons[n["reason"]] = reasons.get(n["reason"], 0) + 1
    return dict(
        solutions=[dict(x=s["x"].tolist(), loss=s["loss"], grad_norm=s["grad_norm"],
                        min_eigenvalue=s["min_eigenvalue"], is_minimum=s["is_minimum"],
                        fingerprint=s["fingerprint"], reached_by=s["reached_by"])
                   for s in solutions],
        rides=sum(1 for n in nodes if n["reason"] != "pending"),
        leaves=state["leaves"], end_reasons=reasons, stop_reason=stop,
        gradients=obj.gradients, hessians=obj.hessians, search_time_s=elapsed)


if __name__ == "__main__":
    def toy2d(p):
        x, y = p[0], p[1]
        return (x * x - 1.0) ** 2 + (y * y - 1.0) ** 2 + 0.5 * x * y + 0.3 * x * x * y

    r = explore(toy2d, [0.0, 0.0])
    print(f"{len(r['solutions'])} solutions from {r['rides']} rides, {r['gradients']} gradients, "
          f"{r['hessians']} hessians, {r['search_time_s']:.3f} s; end reasons {r['end_reasons']}")
    for s in r["solutions"]:
        print(" ", s["x"], s["loss"], s["is_minimum"], s["fingerprint"])
