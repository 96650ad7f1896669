"""Tests of ridgerider.results and ridgerider.plot on synthetic result directories.

The directories follow docs/result-format.md. The 2-D one is produced by a small NumPy
re-implementation of the search on the toy2d landscape (rides along Hessian eigenvectors,
branching where the tracked eigenvalue turns non-negative), so the figures look like real
runs; the 3-D one is written by hand.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402

import ridgerider  # noqa: E402
from ridgerider import plot as rplot  # noqa: E402

PYTHON_DIR = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# Synthetic runs
# --------------------------------------------------------------------------------------
def _toy2d(x):
    """toy2d: (x^2-1)^2 + (y^2-1)^2 + 0.5xy + 0.3x^2y, its gradient and Hessian."""
    a, b = x
    f = (a * a - 1) ** 2 + (b * b - 1) ** 2 + 0.5 * a * b + 0.3 * a * a * b
    g = np.array([4 * a * (a * a - 1) + 0.5 * b + 0.6 * a * b,
                  4 * b * (b * b - 1) + 0.5 * a + 0.3 * a * a])
    h = np.array([[12 * a * a - 4 + 0.6 * b, 0.5 + 0.6 * a],
                  [0.5 + 0.6 * a, 12 * b * b - 4]])
    return f, g, h


def simulate(fun, x0, step=0.05, max_steps=200, max_depth=3, eps=1e-8):
    """A miniature breadth-first Ridge Rider search. Returns (tree, solutions, events, start)."""
    x0 = np.asarray(x0, float)
    f0, g0, h0 = fun(x0)
    w0, v0 = np.linalg.eigh(h0)
    tree, solutions, events, pending = [], [], [], []

    def push(parent, x, loss, g, w, v):
        ids = []
        for i in np.flatnonzero(w < -eps):
            slope = float(g @ v[:, i])
            for sign in (1, -1):
                if abs(slope) > 1e-10 and sign * slope > 0:
                    continue  # skip the ascending direction
                rid = len(tree) + 1
                tree.append({
                    "id": rid, "parent": parent["id"] if parent else 0,
                    "depth": parent["depth"] + 1 if parent else 1,
                    "path": (parent["path"] if parent else []) + [[int(i), sign]],
                    "start_x": x.tolist(), "end_x": [], "start_loss": loss, "end_loss": loss,
                    "start_eigenvalue": float(w[i]), "end_eigenvalue": float(w[i]),
                    "cluster_size": 1, "steps": 0, "end_reason": "pending", "children": [],
                    "solution": None, "truncated": False, "gradients": 0, "hvps": 0,
                    "_dir": sign * v[:, i]})
                pending.append(rid)
                ids.append(rid)
        if parent:
            parent["children"] = ids

    push(None, x0, f0, g0, w0, v0)
    while pending:
        r = tree[pending.pop(0) - 1]
        x, e = np.array(r["start_x"]), r.pop("_dir")
        loss, lam, k, reason = r["start_loss"], r["start_eigenvalue"], 0, "max-steps"
        alpha = step
        while k < max_steps:
            xn = x + alpha * e
            fn, gn, hn = fun(xn)
            if not fn < loss:
                if alpha > 1e-3:
                    alpha *= 0.5
                    continue
                reason = "loss-increased"
                break
            w, v = np.linalg.eigh(hn)
            j = int(np.argmax(np.abs(v.T @ e)))
            e = v[:, j] * np.sign(v[:, j] @ e)
            x, loss, lam, k = xn, fn, float(w[j]), k + 1
            events.append({"event": "step", "ride": r["id"], "step": k, "x": x.tolist(),
                           "loss": fn, "eigenvalue": lam, "overlap": 1.0, "step_size": alpha,
                           "grad_norm": float(np.linalg.norm(gn))})
            if lam >= -eps:
                reason = "eigenvalue-nonnegative"
                break
        r.update(end_x=x.tolist(), end_loss=loss, end_eigenvalue=lam, steps=k,
                 end_reason=reason, gradients=k + 1, hvps=2 * k)
        f, g, h = fun(x)
        w, v = np.linalg.eigh(h)
        if k > 0 and (w < -eps).any() and r["depth"] < max_depth:
            push(r, x, loss, g, w, v)
        elif k > 0:  # a leaf: polish with Newton steps and de-duplicate
            for _ in range(50):
                f, g, h = fun(x)
                x = x - np.linalg.solve(h, g)
            f, g, h = fun(x)
            for s in solutions:
                if np.linalg.norm(np.array(s["x"]) - x) < 1e-6:
                    break
            else:
                s = {"id": len(solutions), "x": x.tolist(), "loss": f,
                     "grad_norm": float(np.linalg.norm(g)),
                     "min_eigenvalue": float(np.linalg.eigvalsh(h)[0]),
                     "fingerprint": r["path"], "is_minimum": bool(np.linalg.eigvalsh(h)[0] >= 0),
                     "polish_converged": True, "polish_iterations": 5, "ride": r["id"],
                     "reached_by": []}
                solutions.append(s)
            s["reached_by"].append(r["id"])
            r["solution"] = s["id"]
            events.append({"event": "leaf", "ride": r["id"], "solution": s["id"],
                           "new": len(s["reached_by"]) == 1})
        events.append({"event": "ride_end", "ride": r["id"], "reason": reason, "steps": k,
                       "end_loss": loss, "children": r["children"]})
    start = {"x": x0.tolist(), "loss": f0, "grad_norm": float(np.linalg.norm(g0)),
             "eigenvalues": w0.tolist(),
             "mis": {"run": False, "grad_norm_start": 0.0, "iterations": 0, "converged": True}}
    return tree, solutions, events, start


def write_run(d, result, events):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "events.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    (d / "result.json").write_text(json.dumps(result, indent=1))
    return d


def make_2d_run(d, grid=61):
    tree, solutions, events, start = simulate(_toy2d, [0.0, 0.0])
    xs = np.linspace(-2.0, 2.0, grid)
    ys = np.linspace(-2.0, 2.0, grid)
    loss = [[_toy2d(np.array([x, y]))[0] for x in xs] for y in ys]
    reasons = {}
    for r in tree:
        reasons[r["end_reason"]] = reasons.get(r["end_reason"], 0) + 1
    result = {
        "format": "ridgerider-result/1",
        "problem": {"name": "toy2d", "dim": 2, "kind": "builtin"},
        "options": {"step-size": 0.05, "seed": 0},
        "start": start, "solutions": solutions, "tree": tree,
        "summary": {"stop_reason": "archive-empty", "rides": len(tree), "pending": 0,
                    "leaves": sum(len(s["reached_by"]) for s in solutions),
                    "solutions": len(solutions),
                    "minima": sum(s["is_minimum"] for s in solutions), "end_reasons": reasons,
                    "seed": 0, "wall_time_s": 0.01},
        "landscape": {"x": xs.tolist(), "y": ys.tolist(), "loss": loss},
    }
    return write_run(d, result, events)


def make_3d_run(d):
    s = 1.0
    tree = [
        {"id": 1, "parent": 0, "depth": 1, "path": [[0, 1]], "start_x": [0, 0, 0],
         "end_x": [s, 0, 0], "start_loss": 3.0, "end_loss": 2.0, "start_eigenvalue": -4.0,
         "end_eigenvalue": 0.5, "cluster_size": 3, "steps": 2, "end_reason": "eigenvalue-nonnegative",
         "children": [3], "solution": None, "truncated": False, "gradients": 3, "hvps": 6},
        {"id": 2, "parent": 0, "depth": 1, "path": [[0, -1]], "start_x": [0, 0, 0],
         "end_x": [-s, 0, 0], "start_loss": 3.0, "end_loss": 2.0, "start_eigenvalue": -4.0,
         "end_eigenvalue": 0.5, "cluster_size": 3, "steps": 0, "end_reason": "eigenvalue-nonnegative",
         "children": [], "solution": 0, "truncated": False, "gradients": 3, "hvps": 6},
        {"id": 3, "parent": 1, "depth": 2, "path": [[0, 1], [1, 1]], "start_x": [s, 0, 0],
         "end_x": [s, s, 0], "start_loss": 2.0, "end_loss": 1.0, "start_eigenvalue": -4.0,
         "end_eigenvalue": 1.0, "cluster_size": 2, "steps": 3, "end_reason": "at-minimum",
         "children": [], "solution": 1, "truncated": False, "gradients": 3, "hvps": 6},
        {"id": 4, "parent": 1, "depth": 2, "path": [[0, 1], [1, -1]], "start_x": [s, 0, 0],
         "end_x": [], "start_loss": 2.0, "end_loss": 2.0, "start_eigenvalue": -4.0,
         "end_eigenvalue": -4.0, "cluster_size": 2, "steps": 0, "end_reason": "pending",
         "children": [], "solution": None, "truncated": False, "gradients": 0, "hvps": 0},
    ]
    tree[0]["children"] = [3, 4]
    events = [{"event": "step", "ride": 1, "step": k, "x": [0.5 * k, 0, 0], "loss": 3.0 - 0.5 * k,
               "eigenvalue": -4.0 + 2.25 * k, "overlap": 1.0, "step_size": 0.5, "grad_norm": 1.0}
              for k in (1, 2)]
    events += [{"event": "step", "ride": 3, "step": k, "x": [s, k / 3, 0], "loss": 2.0 - k / 3,
                "eigenvalue": -4.0 + 5 * k / 3, "overlap": 1.0, "step_size": 0.3, "grad_norm": 1.0}
               for k in (1, 2, 3)]
    solutions = [
        {"id": 0, "x": [-1, 0, 0], "loss": 1.9, "grad_norm": 1e-9, "min_eigenvalue": -1.0,
         "fingerprint": [[0, -1]], "is_minimum": False, "polish_converged": True,
         "polish_iterations": 3, "ride": 2, "reached_by": [2]},
        {"id": 1, "x": [1, 1, 0], "loss": 0.9, "grad_norm": 1e-9, "min_eigenvalue": 2.0,
         "fingerprint": [[0, 1], [1, 1]], "is_minimum": True, "polish_converged": True,
         "polish_iterations": 3, "ride": 3, "reached_by": [3]},
    ]
    result = {
        "format": "ridgerider-result/1",
        "problem": {"name": "wells3d", "dim": 3, "kind": "builtin"},
        "options": {}, "start": {"x": [0, 0, 0], "loss": 3.0, "grad_norm": 0.0,
                                 "eigenvalues": [-4, -4, -4]},
        "solutions": solutions, "tree": tree,
        "summary": {"stop_reason": "max-rides", "rides": 3, "pending": 1, "leaves": 2,
                    "solutions": 2, "minima": 1},
    }
    return write_run(d, result, events)


@pytest.fixture(scope="module")
def run2d_dir(tmp_path_factory):
    return make_2d_run(tmp_path_factory.mktemp("toy2d"))


@pytest.fixture(scope="module")
def run3d_dir(tmp_path_factory):
    return make_3d_run(tmp_path_factory.mktemp("wells3d"))


def run_cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "ridgerider.plot", *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=60)


def check_png(path, min_px=300, max_px=4000):
    path = Path(path)
    assert path.is_file(), path
    data = path.read_bytes()
    assert len(data) > 5000 and data[:8] == PNG_MAGIC
    img = mpimg.imread(str(path))
    h, w = img.shape[:2]
    assert min_px <= w <= max_px and min_px <= h <= max_px, (w, h)
    return img


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def test_load_2d(run2d_dir):
    run = ridgerider.load(run2d_dir)
    assert run.result["problem"]["name"] == "toy2d" and run.dim == 2
    assert len(run.solutions) == 4 and all(s.is_minimum for s in run.solutions)
    s = run.solutions[0]
    assert isinstance(s.x, np.ndarray) and s.x.shape == (2,)
    assert isinstance(s.loss, float) and s.fingerprint and isinstance(s.fingerprint[0], tuple)
    assert len(run.tree) > 4 and run.summary["solutions"] == 4
    assert run.events and run.events[0]["event"] == "step"
    paths = run.ride_paths()
    assert set(paths) == {r["id"] for r in run.tree}
    for r in run.tree:
        p = paths[r["id"]]
        assert p.shape == (r["steps"] + 1, 2)
        np.testing.assert_allclose(p[0], r["start_x"])
        np.testing.assert_allclose(p[-1], r["end_x"])


def test_load_3d_and_fallbacks(run3d_dir):
    run = ridgerider.load(run3d_dir / "result.json")  # the file itself is accepted too
    assert run.dim == 3 and run.landscape is None
    paths = run.ride_paths()
    assert paths[1].shape == (3, 3)  # start + 2 step events
    assert paths[2].shape == (2, 3)  # no step events: [start_x, end_x]
    assert paths[3].shape == (4, 3)
    assert paths[4].shape == (1, 3)  # pending: start only
    for r in run.tree:
        np.testing.assert_allclose(paths[r["id"]][0], r["start_x"])


def test_load_without_events(tmp_path, run3d_dir):
    d = tmp_path / "noevents"
    d.mkdir()
    (d / "result.json").write_bytes((run3d_dir / "result.json").read_bytes())
    run = ridgerider.load(d)
    assert run.events == []
    assert run.ride_paths()[1].shape == (2, 3)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        ridgerider.load(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="result.json"):
        ridgerider.load(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "result.json").write_text('{"format": "ridgerider-result/1", "tree": [')
    with pytest.raises(ValueError, match="result.json"):
        ridgerider.load(bad)
    (bad / "result.json").write_text('{"format": "ridgerider-result/1"}')
    (bad / "events.jsonl").write_text('{"event": "step"}\n{oops\n')
    with pytest.raises(ValueError, match=r"events.jsonl.*line 2"):
        ridgerider.load(bad)


# --------------------------------------------------------------------------------------
# Plotting
# --------------------------------------------------------------------------------------
def test_plot_functions_return_figures(run2d_dir, run3d_dir):
    import matplotlib.pyplot as plt
    run = ridgerider.load(run2d_dir)
    for fn in (rplot.plot_landscape, rplot.plot_tree, rplot.plot_spectrum):
        fig = fn(run)
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    fig, ax = plt.subplots()
    assert rplot.plot_tree(ridgerider.load(run3d_dir), ax=ax) is fig
    assert rplot.plot_spectrum(ridgerider.load(run3d_dir), ax=ax) is fig
    plt.close(fig)


def test_landscape_needs_2d(run3d_dir, run2d_dir):
    with pytest.raises(ValueError, match="2-D"):
        rplot.plot_landscape(ridgerider.load(run3d_dir))
    run = ridgerider.load(run2d_dir)
    del run.result["landscape"]
    with pytest.raises(ValueError, match="landscape"):
        rplot.plot_landscape(run)


def test_cli_landscape_default(run2d_dir):
    out = run2d_dir / "landscape.png"
    if out.exists():
        out.unlink()
    p = run_cli(run2d_dir, "--what", "landscape")
    assert p.returncode == 0, p.stderr
    check_png(out)


def test_cli_all_and_out(run2d_dir, run3d_dir, tmp_path, capsys):
    # In-process (the same main() that `python3 -m ridgerider.plot` runs) to keep this fast.
    assert rplot.main([str(run2d_dir), "--what", "all"]) == 0
    for name in ("landscape.png", "tree.png", "spectrum.png"):
        check_png(run2d_dir / name)
    assert rplot.main([str(run2d_dir), "--what", "tree", "--out", str(tmp_path / "t.png")]) == 0
    check_png(tmp_path / "t.png")
    assert rplot.main([str(run2d_dir), "--what", "all", "--out", str(tmp_path / "figs")]) == 0
    check_png(tmp_path / "figs" / "spectrum.png")
    # 3-D: "all" skips the landscape with a note; asking for the landscape alone fails.
    capsys.readouterr()
    assert rplot.main([str(run3d_dir), "--what", "all"]) == 0
    assert "skipping the landscape" in capsys.readouterr().err
    assert not (run3d_dir / "landscape.png").exists()
    check_png(run3d_dir / "tree.png")
    check_png(run3d_dir / "spectrum.png")
    assert rplot.main([str(run3d_dir), "--what", "landscape"]) == 2
    err = capsys.readouterr().err
    assert "2-D" in err and err.count("\n") == 1


def test_cli_bad_dir(tmp_path, capsys):
    p = run_cli(tmp_path / "missing")
    assert p.returncode == 2
    msg = p.stderr.strip()
    assert msg and "\n" not in msg and "missing" in msg
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "result.json").write_text("{")
    assert rplot.main([str(tmp_path / "broken")]) == 2
    err = capsys.readouterr().err
    assert "result.json" in err and err.count("\n") == 1
    assert rplot.main([str(tmp_path)]) == 2  # a directory without result.json
    assert "result.json" in capsys.readouterr().err


def test_settled_rides_draw_their_hop_to_the_saddle(tmp_path, run2d_dir):
    import matplotlib
    matplotlib.use("Agg")
    from ridgerider.plot import plot_landscape
    result = json.loads((Path(run2d_dir) / "result.json").read_text())
    events = [json.loads(l) for l in (Path(run2d_dir) / "events.jsonl").read_text().splitlines()]
    ride = result["tree"][0]
    ride["settled"] = True
    ride["branch_x"] = [ride["end_x"][0] + 0.3, ride["end_x"][1] - 0.2]
    d = write_run(tmp_path / "settled", result, events)
    fig = plot_landscape(ridgerider.load(d))
    ax = fig.axes[0]
    hops = [l for l in ax.get_lines() if l.get_linestyle() == "--" and len(l.get_xdata()) == 2]
    assert any(np.allclose(l.get_xdata()[1], ride["branch_x"][0]) for l in hops)
    legends = [lg for lg in [ax.get_legend(), *fig.legends] if lg is not None]
    assert "settle to saddle" in [t.get_text() for lg in legends for t in lg.get_texts()]
