"""ridgerider.explore / explore_model: Python losses searched by the compiled module.

Needs the extension (build/python/ridgerider/_core*.so on the path: CTest sets
PYTHONPATH=python:build/python) and, for the comparisons with the CLI, RIDGERIDER_BIN."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import ridgerider as rr  # noqa: E402

core = pytest.importorskip("ridgerider._core")

BIN = os.environ.get("RIDGERIDER_BIN", str(Path(__file__).resolve().parents[2] / "build" / "apps" / "ridgerider"))


def toy(x):
    return (x[0] ** 2 - 1) ** 2 + 2 * x[1] ** 2


TOY_SOURCE = "def f(x: Tensor) -> Tensor: return (x[0]**2 - 1)**2 + 2*x[1]**2"

# The README's 3-D example: a tree with branch points below the root.
WELLS_SOURCE = ("def f(x: Tensor) -> Tensor: return (x[0]**2 - 1)**2 + (x[1]**2 - 1)**2 + 0.2 * x[2]**2"
                " - 0.1 * x[0] * x[1] * x[2]")


def wells(x):
    return (x[0] ** 2 - 1) ** 2 + (x[1] ** 2 - 1) ** 2 + 0.2 * x[2] ** 2 - 0.1 * x[0] * x[1] * x[2]


def run_cli(tmp_path, source, x0, *extra):
    out = tmp_path / "cli"
    p = subprocess.run([BIN, "run", "--objective-source", source, "--x0", ",".join(map(str, x0)),
                        "--out", str(out), "--no-plot", "--no-progress", *map(str, extra)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return rr.load(out)


def run_cli_error(*args):
    p = subprocess.run([BIN, "run", *map(str, args)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, (p.returncode, p.stderr)
    return p.stderr.strip().removeprefix("ridgerider: error: ")


# --------------------------------------------------------------------------------------
# The snippet and the CLI comparison
# --------------------------------------------------------------------------------------
def test_snippet_finds_both_minima():
    res = rr.explore(toy, x0=[0.0, 0.0], seed=0)
    assert isinstance(res, rr.Run) and res.path is None
    xs = sorted(tuple(np.round(s.x, 6)) for s in res.solutions)
    assert xs == [(-1.0, 0.0), (1.0, 0.0)]
    for s in res.solutions:
        assert isinstance(s.x, np.ndarray) and s.x.dtype == np.float64
        assert s.loss == pytest.approx(0.0, abs=1e-12) and s.is_minimum
        assert len(s.fingerprint) == 1 and s.fingerprint[0][0] == 0
    assert {s.fingerprint[0][1] for s in res.solutions} == {1, -1}
    assert res.summary["stop_reason"] == "archive-empty"
    assert res.problem == {"name": "python", "dim": 2, "kind": "python-torch"}
    assert res.events and res.events[0]["event"] == "step"


def _assert_same_search(a, b, tol=1e-9):
    assert len(a.solutions) == len(b.solutions) > 0
    for sa, sb in zip(a.solutions, b.solutions):
        np.testing.assert_allclose(sa.x, sb.x, atol=tol)
        assert sa.loss == pytest.approx(sb.loss, abs=tol)
        assert sa.fingerprint == sb.fingerprint and sa.is_minimum == sb.is_minimum
    assert [(r["id"], r["parent"], r["path"], r["end_reason"], r["steps"]) for r in a.tree] == \
           [(r["id"], r["parent"], r["path"], r["end_reason"], r["steps"]) for r in b.tree]


@pytest.mark.parametrize("fn,source,x0", [(toy, TOY_SOURCE, [0.0, 0.0]),
                                          (wells, WELLS_SOURCE, [0.0, 0.0, 0.0])])
def test_same_solutions_as_the_cli(tmp_path, fn, source, x0):
    cli = run_cli(tmp_path, source, x0, "--seed", 3)
    py = rr.explore(fn, x0=x0, seed=3)
    _assert_same_search(py, cli)
    # The recorded options are the CLI's, but for what names the loss.
    skip = {"objective-source", "x0", "plot", "progress"}
    assert {k: v for k, v in py.options.items() if k not in skip} == \
           {k: v for k, v in cli.options.items() if k not in skip}


def test_script_true_is_the_clis_torchscript_path(tmp_path):
    cli = run_cli(tmp_path, WELLS_SOURCE, [0, 0, 0], "--step-rule", "fixed")
    py = rr.explore(wells, [0.0, 0.0, 0.0], script=True, step_rule="fixed")
    assert py.problem["kind"] == "python-torchscript"
    _assert_same_search(py, cli, tol=0)  # the same evaluator: the same numbers
    for key in ("gradients", "hessians", "values"):
        assert py.summary[key] == cli.summary[key]
    calls = [0]

    def counted(x):  # a closure over a Python list: not TorchScript
        calls[0] += 1
        return toy(x)

    with pytest.raises(ValueError, match="script=True: the loss does not work as TorchScript"):
        rr.explore(counted, [0.0, 0.0], script=True)
    res = rr.explore(counted, [0.0, 0.0], script=None)  # falls back to calling it
    assert calls[0] > 0 and res.problem["kind"] == "python-torch" and len(res.solutions) == 2


def test_threads_give_the_same_result():
    # A Python loss rides one ride at a time whatever `threads` says (the GIL would serialise
    # them); a scripted one rides on threads like the CLI. Either way the result is the same.
    one = rr.explore(wells, [0.0, 0.0, 0.0])
    _assert_same_search(rr.explore(wells, [0.0, 0.0, 0.0], threads=2), one, tol=0)
    s1 = rr.explore(wells, [0.0, 0.0, 0.0], script=True)
    _assert_same_search(rr.explore(wells, [0.0, 0.0, 0.0], script=True, threads=2), s1, tol=0)


def test_options_pass_through_like_the_cli(tmp_path):
    opts = dict(step_rule="fixed", step_size=0.1, order="depth-first", max_rides=3)
    cli = run_cli(tmp_path, WELLS_SOURCE, [0, 0, 0], "--step-rule", "fixed", "--step-size", 0.1,
                  "--order", "depth-first", "--max-rides", 3)
    py = rr.explore(wells, [0, 0, 0], **opts)
    assert py.summary["stop_reason"] == "max-rides" and py.summary["rides"] == 3
    assert py.options["step-rule"] == "fixed" and py.options["order"] == "depth-first"
    _assert_same_search(py, cli)


def test_numpy_callables_find_the_same_solutions():
    def value(x):
        return float((x[0] ** 2 - 1) ** 2 + 2 * x[1] ** 2)

    def grad(x):
        return np.array([4 * x[0] * (x[0] ** 2 - 1), 4 * x[1]])

    def hessian(x):
        return np.array([[12 * x[0] ** 2 - 4, 0.0], [0.0, 4.0]])

    ref = rr.explore(toy, [0.0, 0.0])
    exact = rr.explore(value, [0.0, 0.0], grad=grad, hessian=hessian)
    assert exact.problem["kind"] == "python-numpy"
    _assert_same_search(exact, ref, tol=1e-9)
    fd = rr.explore(value, [0.0, 0.0], grad=grad)  # HVPs by central differences of grad
    assert sorted(tuple(np.round(s.x, 5)) for s in fd.solutions) == [(-1.0, 0.0), (1.0, 0.0)]
    assert all(s.is_minimum for s in fd.solutions)


# --------------------------------------------------------------------------------------
# Options: the CLI's names, checks and messages
# --------------------------------------------------------------------------------------
def test_option_errors_are_the_clis():
    cases = [
        (dict(step_size=-1.0), ["--step-size", "-1"]),
        (dict(step_size="abc"), None),  # the CLI parses text first; the JSON config path is the same check
        (dict(order="sideways"), ["--order", "sideways"]),
        (dict(max_steps=0), ["--max-steps", "0"]),
    ]
    for kwargs, flags in cases:
        with pytest.raises(ValueError) as e:
            rr.explore(toy, [0.0, 0.0], **kwargs)
        if flags is not None:
            cli_msg = run_cli_error("--objective-source", TOY_SOURCE, "--x0", "0,0", "--out", "/nonexistent/x",
                                    *flags)
            assert str(e.value) == cli_msg
    with pytest.raises(ValueError, match=r"option 'step-size': expected a number, got \"abc\""):
        rr.options(step_size="abc")
    with pytest.raises(ValueError, match=r"unknown option 'step-sise' \(did you mean 'step-size'\?\)"):
        rr.explore(toy, [0.0, 0.0], step_sise=0.1)
    with pytest.raises(ValueError, match="does not apply"):
        rr.explore(toy, [0.0, 0.0], problem="toy2d")
    with pytest.raises(ValueError, match="given twice"):
        rr.options(**{"step_size": 0.1, "step-size": 0.2})


def test_options_accept_dashes_underscores_and_numpy_values():
    o = rr.options(**{"max-rides": np.int64(7), "step_size": np.float64(0.2), "seed": 5})
    assert o["max-rides"] == 7 and o["step-size"] == 0.2 and o["seed"] == 5
    assert o["order"] == "breadth-first"  # defaults filled in
    assert "out" not in o and "threads" not in o  # unrecorded options, as in result.json


# --------------------------------------------------------------------------------------
# Results: out=, load, dicts, figures
# --------------------------------------------------------------------------------------
def test_out_writes_a_cli_style_directory(tmp_path):
    out = tmp_path / "run"
    res = rr.explore(toy, [0.0, 0.0], out=out)
    assert res.path == out
    for name in ("result.json", "events.jsonl", "solutions.csv", "landscape.png"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint.json").exists()
    loaded = rr.load(out)
    assert loaded.result == res.result and loaded.events == res.events
    assert "landscape" in loaded.result and loaded.dim == 2
    # In memory the grid waits for its first use, and is then the one the directory holds.
    mem = rr.explore(toy, [0.0, 0.0])
    assert "landscape" not in mem.result
    assert mem.to_dict()["landscape"] == loaded.result["landscape"]
    assert mem.result["landscape"] is mem.landscape  # computed once
    wo_time = {k: v for k, v in mem.summary.items() if k != "wall_time_s"}
    assert wo_time == {k: v for k, v in loaded.summary.items() if k != "wall_time_s"}
    with pytest.raises(FileExistsError, match=r"already holds a run \(result.json\)"):
        rr.explore(toy, [0.0, 0.0], out=out)
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "checkpoint.json").write_text("{}")
    with pytest.raises(FileExistsError, match="checkpoint.json"):
        rr.explore(toy, [0.0, 0.0], out=tmp_path / "unfinished")
    assert (tmp_path / "unfinished" / "checkpoint.json").read_text() == "{}"


def test_results_as_plain_dicts_and_figures():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    res = rr.explore(toy, [0.0, 0.0])
    d = res.to_dict()
    json.dumps(d)  # plain data
    assert d["solutions"][0]["x"] == res.solutions[0].x.tolist()
    assert d["events"] == res.events and d["summary"]["solutions"] == 2
    for fig in (res.plot_tree(), res.plot_landscape(), res.plot_spectrum()):
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)


# --------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------
class Recorder(rr.Callback):
    def __init__(self):
        self.steps, self.rides, self.leaves = [], [], []

    def on_step(self, e):
        self.steps.append(e)

    def on_ride_end(self, ride):
        self.rides.append(ride)

    def on_leaf(self, solution, ride):
        self.leaves.append((solution, ride))


def test_callbacks_see_every_event():
    rec = Recorder()
    res = rr.explore(wells, [0.0, 0.0, 0.0], callbacks=[rec])
    assert len(rec.steps) == sum(r["steps"] for r in res.tree)
    assert isinstance(rec.steps[0]["x"], np.ndarray) and rec.steps[0]["x"].shape == (3,)
    assert [r["id"] for r in rec.rides] == [r["id"] for r in res.tree if r["end_reason"] != "pending"]
    assert len(rec.leaves) == res.summary["leaves"]
    assert all(isinstance(s, rr.Solution) for s, _ in rec.leaves)


def test_early_stop_and_stop_ride():
    full = rr.explore(wells, [0.0, 0.0, 0.0])
    assert full.summary["solutions"] >= 2
    res = rr.explore(wells, [0.0, 0.0, 0.0], callbacks=[rr.StopAfterSolutions(1)])
    assert res.summary["stop_reason"] == "aborted" and res.summary["solutions"] == 1

    class StopEachRideAfter2(rr.Callback):
        def on_step(self, e):
            return rr.STOP_RIDE if e["step"] >= 2 else None

    res = rr.explore(wells, [0.0, 0.0, 0.0], callbacks=[StopEachRideAfter2()], max_depth=1)
    done = [r for r in res.tree if r["end_reason"] != "pending"]
    assert done and all(r["end_reason"] == "stopped-by-callback" and r["steps"] == 2 for r in done)


def test_exceptions_propagate_with_the_partial_result():
    class Boom(rr.Callback):
        def on_ride_end(self, ride):
            if ride["id"] == 2:
                raise KeyError("boom")

    with pytest.raises(KeyError, match="boom") as e:
        rr.explore(wells, [0.0, 0.0, 0.0], callbacks=[Boom()])
    part = e.value.partial_result
    assert part.summary["stop_reason"] == "aborted" and part.summary["rides"] == 2

    calls = [0]

    def flaky(x):
        calls[0] += 1
        if calls[0] > 10:  # mid-search (the toy search takes ~25 evaluations)
            raise ArithmeticError("flaky loss")
        return toy(x)

    with pytest.raises(ArithmeticError, match="flaky loss") as e:
        rr.explore(flaky, [0.0, 0.0])
    assert e.value.partial_result.summary["stop_reason"] == "aborted"

    with pytest.raises(ValueError, match="return None"):
        class Bad(rr.Callback):
            def on_leaf(self, s, r):
                return "sideways"
        rr.explore(toy, [0.0, 0.0], callbacks=[Bad()])


def test_bad_losses_are_clear_errors():
    with pytest.raises(ValueError, match="one element"):
        rr.explore(lambda x: x * 2, [0.0, 0.0])
    with pytest.raises(ValueError, match="torch tensor"):
        rr.explore(lambda x: 1.0, [0.0, 0.0])
    with pytest.raises(ValueError, match="does not depend on x"):
        rr.explore(lambda x: torch.tensor(float(x[0].item()) ** 2), [1.0, 0.0])
    with pytest.raises(ValueError, match="not finite at the start"):
        rr.explore(lambda x: torch.log(x[0]) + x[1] ** 2, [-1.0, 0.0])
    with pytest.raises(IndexError):
        rr.explore(lambda x: x[5] ** 2, [0.0, 0.0])
    with pytest.raises(ValueError, match="x0 must be"):
        rr.explore(toy, [[0.0, 0.0]])


# --------------------------------------------------------------------------------------
# Derivatives and tensor sharing
# --------------------------------------------------------------------------------------
def test_torch_objective_derivatives_match_torch():
    def f(x):
        return torch.sin(x[0]) * x[1] ** 3 + torch.exp(0.3 * x[2] * x[0]) + (x ** 2).sum() ** 2

    obj = core.torch_objective(f, 3)
    x = np.array([0.3, -0.7, 1.1])
    v = np.array([0.2, 0.5, -1.0])
    fx, g = obj.value_and_gradient(x)
    xt = torch.tensor(x, requires_grad=True)
    assert fx == pytest.approx(f(xt).item(), rel=1e-14)
    np.testing.assert_allclose(g, torch.autograd.grad(f(xt), xt)[0].numpy(), rtol=1e-13)
    h = torch.autograd.functional.hessian(f, torch.tensor(x)).numpy()
    np.testing.assert_allclose(obj.hvp(x, v), h @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.hessian(x), h, rtol=1e-12, atol=1e-12)
    assert obj.value(x) == pytest.approx(fx, rel=1e-15)


def test_one_python_call_per_point():
    calls = [0]

    def f(x):
        calls[0] += 1
        return toy(x)

    obj = core.torch_objective(f, 2)
    x = np.array([0.2, 0.1])
    obj.value_and_gradient(x)
    obj.hvp(x, np.array([1.0, 0.0]))
    obj.hessian(x)
    obj.value(x)
    assert calls[0] == 1  # the gradient's graph serves the HVP, the Hessian and the value


def test_tensors_cross_without_copies():
    t = torch.zeros(5, dtype=torch.float64)
    assert core._tensor_address(t) == t.data_ptr()  # C++ sees Python's storage
    core._tensor_fill_(t, 2.5)  # written by LibTorch in C++, seen by Python
    assert torch.equal(t, torch.full((5,), 2.5, dtype=torch.float64))
    u = core._tensor_from_cpp(4)
    assert isinstance(u, torch.Tensor) and u.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert core._tensor_address(u) == u.data_ptr()
    seen = []

    def f(x):
        seen.append((type(x), x.dtype, tuple(x.shape), x.requires_grad))
        return toy(x)

    core.torch_objective(f, 2).value_and_gradient(np.zeros(2))
    assert seen == [(torch.Tensor, torch.float64, (2,), True)]


# --------------------------------------------------------------------------------------
# nn.Module
# --------------------------------------------------------------------------------------
def _tiny_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)).double()
    data = torch.randn(16, 2, dtype=torch.float64)
    targets = (data[:, :1] * data[:, 1:]).tanh()
    with torch.no_grad():  # a symmetric start: both hidden units alike (the MIS refines it)
        for p in model.parameters():
            p.mul_(0.1)
    return model, data, targets


def test_explore_model_tiny_network():
    model, data, targets = _tiny_model()
    loss_fn = torch.nn.functional.mse_loss
    before = rr.model_vector(model).copy()
    small = dict(mis=True, max_rides=5, max_depth=2, polish_max_iterations=50)
    res = rr.explore_model(model, loss_fn, data, targets, k=2, **small)
    assert res.dim == 9 and res.options["max-ridges"] == 2
    np.testing.assert_array_equal(rr.model_vector(model), before)  # the model is left unchanged
    start = res.result["start"]["loss"]
    assert res.solutions and min(s.loss for s in res.solutions) < start
    # A solution written into the model gives the model the solution's loss.
    best = min(res.solutions, key=lambda s: s.loss)
    rr.set_model_vector(model, best.x)
    with torch.no_grad():
        assert loss_fn(model(data), targets).item() == pytest.approx(best.loss, rel=1e-10)
    rr.set_model_vector(model, before)
    # The same loss written by hand as a function of the flat vector explores identically.
    sizes = [p.numel() for p in model.parameters()]

    def by_hand(x):
        w1, b1, w2, b2 = torch.split(x, sizes)
        h = torch.tanh(data @ w1.view(2, 2).T + b1)
        return ((h @ w2.view(1, 2).T + b2 - targets) ** 2).mean()

    ref = rr.explore(by_hand, before, max_ridges=2, **small)
    _assert_same_search(res, ref, tol=1e-8)
    with pytest.raises(ValueError, match="give k or max_ridges"):
        rr.explore_model(model, loss_fn, data, targets, k=2, max_ridges=3)


def test_explore_model_refuses_what_it_cannot_do():
    keys = {o["key"] for o in core.option_table()}
    big = torch.nn.Linear(60, 40)  # d = 2440
    data = torch.zeros(4, 60)
    if "spectrum-method" not in keys:  # the dense spectrum only: a clear error, not 2440^2 Hessians
        with pytest.raises(ValueError, match="2440 parameters"):
            rr.explore_model(big, torch.nn.functional.mse_loss, data, torch.zeros(4, 40))
    frozen = torch.nn.Linear(2, 1)
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        rr.explore_model(frozen, torch.nn.functional.mse_loss, torch.zeros(3, 2), torch.zeros(3, 1))
