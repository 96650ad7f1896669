"""The CLI contract: what `ridgerider run` writes and how it fails (docs/result-format.md)."""
import csv
import json
import math
from pathlib import Path

import pytest

from conftest import result, run

QUARTIC = "def f(x: Tensor) -> Tensor:\n    return (x[0]**2 - 1)**2 + 2*x[1]**2"


def close(a, b, tol=1e-6):
    return all(abs(x - y) <= tol for x, y in zip(a, b)) and len(a) == len(b)


def test_builtin_problem_writes_every_file(tmp_path):
    out = tmp_path / "toy"
    code, stdout, stderr = run("run", "--problem", "toy2d", "--out", out)
    assert code == 0, stderr
    r = result(out)
    assert r["problem"] == {"name": "toy2d", "dim": 2, "kind": "builtin"}
    assert len(r["solutions"]) == 4
    for s in r["solutions"]:
        assert set(["x", "loss", "grad_norm", "min_eigenvalue", "fingerprint", "is_minimum"]) <= set(s)
        assert s["is_minimum"] and s["grad_norm"] < 1e-6 and s["min_eigenvalue"] > 0
        assert all(len(b) == 2 and b[1] in (1, -1) for b in s["fingerprint"])
    for ride in r["tree"]:
        for key in ["id", "parent", "start_loss", "end_loss", "start_eigenvalue", "steps", "end_reason"]:
            assert key in ride
        assert ride["end_reason"] != "pending"
    summary = r["summary"]
    assert summary["rides"] == len(r["tree"]) and summary["gradients"] > 0 and summary["seed"] == 0
    assert summary["wall_time_s"] > 0
    assert r["options"]["problem"] == "toy2d" and r["options"]["step-size"] == 0.05
    # events: one line per step and per ride end, each JSON
    events = [json.loads(l) for l in (out / "events.jsonl").read_text().splitlines()]
    ends = [e for e in events if e["event"] == "ride_end"]
    assert len(ends) == len(r["tree"])
    steps = [e for e in events if e["event"] == "step"]
    assert len(steps) == sum(t["steps"] for t in r["tree"])
    rows = list(csv.DictReader((out / "solutions.csv").open()))
    assert len(rows) == 4 and "x1" in rows[0]
    png = out / "landscape.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "4 solutions" in stdout


def test_user_formula_finds_both_wells(tmp_path):
    out = tmp_path / "mine"
    code, _, err = run("run", "--objective-source", QUARTIC, "--x0", "0.0,0.0", "--out", out, "--no-plot")
    assert code == 0, err
    r = result(out)
    xs = sorted(s["x"][0] for s in r["solutions"])
    assert len(xs) == 2 and abs(xs[0] + 1) < 1e-7 and abs(xs[1] - 1) < 1e-7
    assert r["problem"]["kind"] == "torchscript-source"


def test_same_seed_same_result(tmp_path):
    outs = []
    for name in ["a", "b"]:
        out = tmp_path / name
        assert run("run", "--problem", "tanh-net", "--seed", "4", "--out", out)[0] == 0
        r = result(out)
        del r["summary"]["wall_time_s"]
        outs.append(json.dumps(r, sort_keys=True))
    assert outs[0] == outs[1]


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "runs.json"
    cfg.write_text(json.dumps({"problem": "wells3d", "max-rides": 3, "order": "depth-first"}))
    out = tmp_path / "cfg"
    code, _, err = run("run", "--config", cfg, "--max-rides", "5", "--out", out)
    assert code == 0, err
    r = result(out)
    assert r["options"]["max-rides"] == 5 and r["options"]["order"] == "depth-first"
    assert r["summary"]["rides"] == 5 and r["summary"]["stop_reason"] == "max-rides"


def test_mis_refines_a_symmetric_start(tmp_path):
    out = tmp_path / "mis"
    code, _, err = run("run", "--problem", "tanh-net", "--x0", "0.5,0.5,0.5,0.1,0.1,0.1", "--mis", "--out", out)
    assert code == 0, err
    start = result(out)["start"]
    assert start["mis"]["run"] and start["mis"]["converged"] and start["grad_norm"] < 1e-9
    assert abs(start["eigenvalues"][0] - start["eigenvalues"][1]) < 1e-9


def test_problems_lists_builtins():
    code, out, _ = run("problems", "--json")
    assert code == 0
    names = [p["name"] for p in json.loads(out)]
    assert len(names) >= 5 and "toy2d" in names and "tanh-net" in names
    code, out, _ = run("problems")
    assert code == 0 and "himmelblau" in out


def test_help_explains_every_option():
    code, out, _ = run("run", "--help")
    assert code == 0
    for flag in ["--problem", "--objective-source", "--objective", "--x0", "--out", "--config", "--mis",
                 "--step-rule", "--order", "--max-rides", "--eigen-threshold", "--seed"]:
        assert flag in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "--problem", "toy2d", "--stepsize", "0.1"], "did you mean --step-size"),
        (["run", "--problem", "nope"], "unknown problem 'nope'"),
        (["run", "--problem", "toy2d", "--x0", "1,2,3"], "--x0 has 3 numbers"),
        (["run", "--problem", "toy2d", "--x0", "1,abc"], "option 'x0'"),
        (["run", "--problem", "toy2d", "--order", "sideways"], "option 'order'"),
        (["run", "--problem", "toy2d", "--step-size", "-1"], "step-size"),
        (["run", "--objective-source", "def f(x: Tensor) -> Tensor: return x[0] +* 1", "--x0", "0"], "does not compile"),
        (["run", "--objective-source", QUARTIC, "--x0", "0"], "dimension"),
        (["run", "--objective-source", "def f(x: Tensor) -> Tensor: return torch.log(x[0])", "--x0", "-1"],
         "not finite at the start"),
        (["run", "--objective", "/nonexistent/loss.pt", "--x0", "0"], "/nonexistent/loss.pt"),
        (["run"], "nothing to explore"),
        (["run", "--objective-source", QUARTIC], "--x0 is required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    out = tmp_path / "never"
    code, stdout, stderr = run(*args, "--out", out)
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert needle in lines[0], lines[0]
    assert not (out / "result.json").exists()


def test_malformed_config_is_exit_2(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"problem": "toy2d",')
    code, _, err = run("run", "--config", cfg)
    assert code == 2 and "not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_spectrum_matches_lapack_and_torch(tmp_path):
    """The start spectrum of a TorchScript loss equals LAPACK's (numpy.linalg.eigh) on the Hessian
    from Python's torch.autograd: derivatives and eigen-solver checked against independent ones."""
    torch = pytest.importorskip("torch")
    numpy = pytest.importorskip("numpy")
    src = ("def f(x: Tensor) -> Tensor:\n"
           "    return (x[0]**2 - 1)**2 + (x[1]**2 - 1)**2 + 0.3*x[0]*x[1] + torch.tanh(x[0] - x[2])**2 - x[2]**2")
    x0 = [0.1, -0.2, 0.05]
    out = tmp_path / "lapack"
    code, _, err = run("run", "--objective-source", src, "--x0", ",".join(map(str, x0)), "--max-rides", "1",
                       "--out", out)
    assert code == 0, err
    start = result(out)["start"]
    scope = {}
    exec("import torch\nfrom torch import Tensor\n" + src, scope)
    h = torch.autograd.functional.hessian(scope["f"], torch.tensor(x0, dtype=torch.float64)).numpy()
    expected = numpy.linalg.eigh(h)[0]
    assert numpy.max(numpy.abs(numpy.array(start["eigenvalues"]) - expected)) < 1e-10


def test_nan_mid_ride_ends_that_ride_and_the_run_completes(tmp_path):
    # The tilted double well, NaN wherever x0 > 0.5: the ride towards +x meets it mid-way.
    src = ("def f(x: Tensor) -> Tensor:\n"
           "    return (x[0]**2 - 1)**2 + 0.25*x[0] + 2*x[1]**2 + 0.0*torch.sqrt(0.5 - x[0])")
    out = tmp_path / "nan"
    code, _, err = run("run", "--objective-source", src, "--x0", "0.06,0", "--mis", "--no-plot", "--out", out)
    assert code == 0, err
    r = result(out)
    reasons = [t["end_reason"] for t in r["tree"]]
    assert reasons.count("non-finite") == 1, reasons
    assert len(r["solutions"]) == 1 and r["solutions"][0]["x"][0] < 0 and r["solutions"][0]["is_minimum"]
    assert r["summary"]["stop_reason"] == "archive-empty"


def test_threads_give_the_same_result_and_events(tmp_path):
    outs = []
    for threads in ["1", "2"]:
        out = tmp_path / f"t{threads}"
        code, _, err = run("run", "--objective-source",
                           "def f(x: Tensor) -> Tensor: return ((x**2 - 1)**2).sum() + 0.3*(x[:-1]*x[1:]).sum()",
                           "--x0", "0,0,0,0", "--threads", threads, "--out", out)
        assert code == 0, err
        r = result(out)
        del r["summary"]["wall_time_s"]
        outs.append((json.dumps(r, sort_keys=True), (out / "events.jsonl").read_bytes()))
    assert outs[0] == outs[1]


def test_matrix_free_path_is_chosen_by_dimension_recorded_and_finds_the_minima(tmp_path):
    out = tmp_path / "mf"
    code, _, err = run("run", "--problem", "wells3d", "--spectrum-method", "matrix-free", "--no-settle",
                       "--out", out)
    assert code == 0, err
    r = result(out)
    s = r["summary"]
    assert s["spectrum_method"] == "matrix-free" and s["polish_method"] == "lbfgs"
    assert s["settle_method"] == "off" and s["hessians"] == 0 and s["hvps"] > 0
    assert s["minima"] == 8 and r["options"]["spectrum-method"] == "matrix-free"
    # auto picks matrix-free above dense-max-dim; forcing dense there is refused
    code, _, err = run("run", "--problem", "wells3d", "--dense-max-dim", "2", "--max-rides", "2",
                       "--out", tmp_path / "auto")
    assert code == 0, err
    assert result(tmp_path / "auto")["summary"]["spectrum_method"] == "matrix-free"
    assert result(tmp_path / "auto")["summary"]["settle_method"] == "off (matrix-free)"
    code, _, err = run("run", "--problem", "wells3d", "--spectrum-method", "dense", "--dense-max-dim", "2",
                       "--out", tmp_path / "bad")
    assert code == 2 and "dense-max-dim" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("run", "--problem", "wells3d", "--eigenpairs", "0", "--out", tmp_path / "bad2")
    assert code == 2 and "eigenpairs" in err
