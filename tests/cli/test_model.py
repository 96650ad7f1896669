"""`ridgerider run --model`: a user's scripted nn.Module (or the built-in MLP) on Fashion-MNIST or
IDX files of one's own, end to end at small d (the dense spectrum), and its bad input."""
import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import result, run

torch = pytest.importorskip("torch")
FASHION = Path("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")


class Pooled(torch.nn.Module):
    """28x28 images pooled to 4x4, then 16-2-10: d = 64, small enough for the dense path."""

    def __init__(self, inputs=16):
        super().__init__()
        self.fc1 = torch.nn.Linear(inputs, 2)
        self.fc2 = torch.nn.Linear(2, 10)

    def forward(self, x):
        x = torch.nn.functional.avg_pool2d(x.reshape(-1, 1, 28, 28), 7).flatten(1)
        return self.fc2(torch.tanh(self.fc1(x)))


def save(module, path):
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(module.eval()), str(path))
    return path


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.mark.skipif(not FASHION.exists(), reason="dataset-fashion-mnist is not installed")
def test_scripted_module_on_fashion_mnist(tmp_path):
    net = save(Pooled(), tmp_path / "my_net.pt")
    out = tmp_path / "fm"
    code, stdout, err = run("run", "--model", net, "--data", "fashion-mnist", "--train-size", "64",
                            "--loss", "cross-entropy", "--init", "zero", "--max-rides", "2",
                            "--max-steps", "10", "--no-settle", "--out", out)
    assert code == 0, err
    r = result(out)
    p = r["problem"]
    assert p["kind"] == "model" and p["name"] == "my_net" and p["dim"] == 64
    m = p["model"]
    assert m["data"] == "fashion-mnist:train" and m["samples"] == 64
    assert m["loss"] == "cross-entropy" and m["dtype"] == "float32" and m["batch"] == "full"
    assert m["hvp"] == "reused-graph" and m["mode"] == "as-saved" and m["init"] == "zero"
    assert [e["name"] for e in m["layout"]] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert m["layout"][2]["shape"] == [10, 2] and m["layout"][2]["offset"] == 34
    assert r["options"]["model"] == str(net) and r["options"]["data"] == "fashion-mnist"
    # x = 0 is a saddle of a tanh network (a symmetric point): the start has negative curvature,
    # and every ride goes down from it.
    assert r["start"]["x"] == [0.0] * 64 and min(r["start"]["eigenvalues"]) < 0
    done = [t for t in r["tree"] if t["end_reason"] != "pending"]
    assert len(done) == 2 and all(t["end_loss"] <= r["start"]["loss"] for t in done)
    assert any(t["end_loss"] < r["start"]["loss"] - 1e-3 for t in done)
    assert r["summary"]["hvps"] > 0


def test_own_idx_data_fixed_batch_and_mlp(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "img.gz", rng.integers(0, 256, size=(50, 3, 2)))
    write_idx(tmp_path / "lab.gz", rng.integers(0, 3, size=50))
    data = f"{tmp_path / 'img.gz'},{tmp_path / 'lab.gz'}"
    outs = []
    for threads in ["1", "2"]:
        out = tmp_path / threads
        code, _, err = run("run", "--model", "mlp:6-3-3", "--data", data, "--batch", "20", "--dtype", "float64",
                           "--init", "zero", "--max-rides", "2", "--max-steps", "10", "--seed", "5",
                           "--threads", threads, "--torch-threads", "1", "--out", out)
        assert code == 0, err
        r = result(out)
        del r["summary"]["wall_time_s"]
        outs.append(json.dumps(r, sort_keys=True))
    m = r["problem"]["model"]
    assert m["batch"] == "fixed 20 per ride" and m["batch_size"] == 20 and m["samples"] == 50
    assert m["activation"] == "tanh" and r["problem"]["name"] == "mlp-6-3-3" and r["problem"]["dim"] == 33
    # Batches keyed by (seed, ride), not by which clone rides it: two ride threads, same result.
    assert outs[0] == outs[1]


def test_input_shape_mismatch_is_one_line_exit_2(tmp_path):
    class Wide(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(20, 3)

        def forward(self, x):
            return self.fc(x)

    rng = np.random.default_rng(1)
    write_idx(tmp_path / "img.gz", rng.integers(0, 256, size=(10, 4, 4)))
    write_idx(tmp_path / "lab.gz", rng.integers(0, 3, size=10))
    net = save(Wide(), tmp_path / "wide.pt")
    out = tmp_path / "bad"
    code, _, err = run("run", "--model", net, "--data", f"{tmp_path / 'img.gz'},{tmp_path / 'lab.gz'}", "--out", out)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "does not accept the data's inputs of shape [2, 16]" in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--model", "mlp:6-3", "--x0", "1"], "--model needs --data"),
    (["--model", "mlp:6-3", "--data", "nowhere"], "unknown data 'nowhere'"),
    (["--model", "mlp:6-3", "--data", "fashion-mnist", "--batch", "ten"], "expected full or a positive number"),
    (["--problem", "toy2d", "--data", "fashion-mnist"], "--data is only used with --model"),
    (["--model", "mlp:6-3", "--data", "a,b", "--dtype", "float16"], "'float16' is not one of"),
])
def test_model_option_errors(tmp_path, args, message):
    code, _, err = run("run", *args, "--out", tmp_path / "x")
    assert code == 2 and message in err, err
