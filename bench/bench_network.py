#!/usr/bin/python3
"""GetRidges against SciPy's eigsh on the same network, data and point, in one run.

Runs `bench_network --part spectrum` (our Krylov solver and Spectra on the LibTorch MLP
784-128-128-10, tanh, float32, the first N Fashion-MNIST training images; it writes the point
x.npy and result.json), then builds the same MLP in torch from x (flat layout of
ModelObjective::parameters(): per layer the nn.Linear weight [out, in], then the bias), and
times scipy.sparse.linalg.eigsh(which='SA', k) on a torch HVP that reuses the gradient's graph
(one double backward per product), at the tolerance bench_network gave Spectra (the same
residual bound for the k-th pair as ours). Prints the table of docs/benchmarks.md and one JSON
line; the ratio is our GetRidges time / eigsh time, fastest of --repeats each, with the two
timed alternately (`bench_network --part getridges` processes between eigsh solves) so that
both sides run under the same machine load, and the time inside HVPs counted apart.

  /usr/bin/python3 bench/bench_network.py [--bin build/bench/bench_network] [--repeats 3]
      [--out DIR] [-- extra bench_network options]
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

# One BLAS thread here too, as in the C++ process (OMP_NUM_THREADS=1): Debian's OpenBLAS
# otherwise starts a thread per core for torch's and ARPACK's products, which on a loaded
# machine made this side's HVPs 1-5x slower than the C++ ones, run to run. Set before numpy
# and torch load OpenBLAS.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy
import scipy.sparse.linalg as sla
import torch

FASHION = "/usr/share/datasets/fashion-mnist"


def load_images(n):
    with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    return (torch.from_numpy(images.astype(np.float32) / 255.0),
            torch.from_numpy(labels.astype(np.int64)))


def mlp_views(theta, widths):
    """Views of the flat parameter vector: per layer W [out, in] then b."""
    views, off = [], 0
    for i, o in zip(widths[:-1], widths[1:]):
        views.append(theta[off:off + o * i].view(o, i)); off += o * i
        views.append(theta[off:off + o]); off += o
    assert off == theta.numel(), (off, theta.numel())
    return views


def loss_fn(theta, widths, inputs, labels):
    p = mlp_views(theta, widths)
    h = inputs
    layers = len(widths) - 1
    for l in range(layers):
        h = torch.addmm(p[2 * l + 1], h, p[2 * l].t())
        if l + 1 < layers:
            h = torch.tanh(h)
    return torch.nn.functional.cross_entropy(h, labels)  # mean over the samples


def eigsh_run(x, widths, inputs, labels, k, tol, ncv):
    """One cold eigsh solve, timed from the point (graph built inside, like ours); also returns
    the seconds spent inside the HVPs."""
    count = [0]
    in_hvp = [0.0]
    t0 = time.perf_counter()
    theta = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    loss = loss_fn(theta, widths, inputs, labels)
    (grad,) = torch.autograd.grad(loss, theta, create_graph=True)

    def matvec(v):
        count[0] += 1
        t = time.perf_counter()
        vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32).reshape(-1))
        (hv,) = torch.autograd.grad(grad, theta, grad_outputs=vt, retain_graph=True)
        out = hv.detach().numpy().astype(np.float64)
        in_hvp[0] += time.perf_counter() - t
        return out

    op = sla.LinearOperator((x.size, x.size), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(1).standard_normal(x.size)
    vals, vecs = sla.eigsh(op, k=k, which="SA", tol=tol, ncv=ncv, v0=v0)
    seconds = time.perf_counter() - t0
    order = np.argsort(vals)
    return seconds, count[0], vals[order], vecs[:, order], in_hvp[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bench/bench_network")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="/tmp/bench_network")
    ap.add_argument("--reuse", action="store_true",
                    help="keep --out's x.npy and result.json from an earlier run (same options): "
                         "only the alternating GetRidges / eigsh timings are run again")
    ap.add_argument("extra", nargs="*", help="options passed to bench_network (after --)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [a.bin, "--part", "spectrum", "--repeats", str(a.repeats), "--out", a.out] + a.extra
    if not a.reuse:
        print("running:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(os.path.join(a.out, "result.json")) as f:
        res = json.load(f)["result"]
    x = np.load(os.path.join(a.out, "x.npy"))
    widths = [int(w) for w in res["arch"].split(":")[1].split("-")]
    inputs, labels = load_images(res["samples"])
    spec = res["spectrum"]
    k, tol, ncv = spec["k"], spec["spectra_eigsh_tolerance"], spec["spectra"]["ncv"]

    # Same loss at x as the C++ objective (checks layout and data).
    with torch.no_grad():
        loss_py = float(loss_fn(torch.tensor(x, dtype=torch.float32), widths, inputs, labels))
    # Alternate: one GetRidges process (ours, then Spectra), one eigsh solve, --repeats times, so
    # both sides see the same machine load; fastest of each.
    times, runs, eigsh_hvp_s, gr = [], None, [], []
    gr_cmd = [a.bin, "--part", "getridges", "--spectra-tol", repr(tol)] + a.extra
    for _ in range(a.repeats):
        out = subprocess.run(gr_cmd, check=True, env=env, capture_output=True, text=True).stdout
        gr.append(json.loads(out.strip().splitlines()[-1])["result"])
        s, n, vals, vecs, in_hvp = eigsh_run(x, widths, inputs, labels, k, tol, ncv)
        times.append(s)
        eigsh_hvp_s.append(in_hvp)
        runs = (n, vals)
    n_eigsh, vals_eigsh = runs
    ref = np.array(spec["reference_values"][:k])
    ours, spectra = spec["ours"], spec["spectra"]
    ours["seconds"] = [g["ours"]["seconds"] for g in gr]
    spectra["seconds"] = [g["spectra"]["seconds"] for g in gr]
    t_ours, t_spectra, t_eigsh = min(ours["seconds"]), min(spectra["seconds"]), min(times)
    # Per solve: seconds inside HVPs and the solver's own seconds per product.
    best = lambda rows: min(rows, key=lambda r: r[0])
    o_best = best([(g["ours"]["seconds"], g["ours"]["hvp_seconds"], g["ours"]["hvps"]) for g in gr])
    s_best = best([(g["spectra"]["seconds"], g["spectra"]["hvp_seconds"], g["spectra"]["hvps"]) for g in gr])
    e_best = best([(t, h, n_eigsh) for t, h in zip(times, eigsh_hvp_s)])
    split = {}
    for name, (t, h, n) in (("ours", o_best), ("spectra", s_best), ("eigsh", e_best)):
        split[name] = {"seconds": t, "hvp_seconds": h, "hvps": n, "ms_per_hvp": 1e3 * h / n,
                       "solver_ms_per_product": 1e3 * (t - h) / n}
    # The same ratio with every HVP at one common price (eigsh's): what the solvers themselves
    # decide, free of the load differences between the two processes' HVPs.
    price = e_best[1] / n_eigsh
    equal = ((o_best[2] * price + (o_best[0] - o_best[1])) / (n_eigsh * price + (e_best[0] - e_best[1])))
    err_eigsh = float(np.max(np.abs(vals_eigsh - ref)))
    point = (f"the symmetric saddle (FindMlpMis)" if res.get("point") == "mis"
             else f"init (seed 0) + {res['gd_steps']} GD steps of lr {res['lr']}")
    print(f"MLP {res['arch']} (d = {res['dim']}), first {res['samples']} Fashion-MNIST training images, float32, "
          f"1 thread; point: {point} (loss {res['loss']:.4f}, torch {loss_py:.4f})")
    print(f"k = {k}; ours: tolerance {spec['tolerance']:g} x scale {spec['scale']:.3f}; Spectra/eigsh: tol {tol:.3g} "
          f"(relative to |lambda|), ncv {ncv}; fastest of {a.repeats}")
    print("reference (float64):", np.array2string(ref, precision=6))
    print(f"{'solver':<22}{'HVPs':>6}{'seconds':>10}{'max |err|':>12}  eigenvalues")
    for name, n, t, e, v in (("ours (Krylov)", ours["hvps"], t_ours, ours["max_abs_err"], ours["values"]),
                             ("Spectra cold", spectra["hvps"], t_spectra, spectra["max_abs_err"], spectra["values"]),
                             ("SciPy eigsh (torch)", n_eigsh, t_eigsh, err_eigsh, vals_eigsh)):
        print(f"{name:<22}{n:>6}{t:>10.2f}{e:>12.2e}  {np.array2string(np.array(v), precision=6)}")
    print(f"ours / Spectra: HVPs {ours['hvps'] / spectra['hvps']:.2f}x, time {t_ours / t_spectra:.2f}x")
    print(f"ours / eigsh:   HVPs {ours['hvps'] / n_eigsh:.2f}x, time {t_ours / t_eigsh:.2f}x (target <= 0.5)")
    for name, r in split.items():
        print(f"  {name:<8} fastest solve {r['seconds']:.2f} s: {r['hvps']} HVPs at {r['ms_per_hvp']:.1f} ms "
              f"+ {r['solver_ms_per_product']:.1f} ms of its own per product")
    print(f"ours / eigsh with every HVP at eigsh's price: {equal:.2f}x")
    hvp = min(spec["hvp_seconds"]); grad = min(spec["gradient_seconds"])
    print(f"one HVP {hvp * 1e3:.1f} ms, one gradient {grad * 1e3:.1f} ms (fastest of 5, C++)")
    r = res["ride"]
    print(f"ride: {r['steps']} steps of {r['step_size']} along the most negative ridge, track tolerance "
          f"{r['track_tolerance']:g} (max {r['track_max_hvps']} HVPs)")
    print(f"  HVPs per step: tracker {r['tracker_hvps_per_step']:.1f} {r['tracker_hvps']}, cold Krylov "
          f"{r['cold_krylov_hvps_per_step']:.1f}, cold Spectra {r['cold_spectra_hvps_per_step']:.1f}")
    print(f"  min cosine to a fresh float64 solve: tracker {r['tracker_min_cos']:.5f}, cold Krylov "
          f"{r['cold_krylov_min_cos']:.5f}, cold Spectra {r['cold_spectra_min_cos']:.5f}; tracker unconverged "
          f"{r['tracker_unconverged']}")
    print(f"  without extrapolating the start: {r['plain_tracker_hvps_per_step']:.1f} HVPs per step "
          f"{r['plain_tracker_hvps']}, min cosine {r['plain_tracker_min_cos']:.5f}")
    print(f"  tracked eigenvalue's gap to its neighbours {np.array2string(np.array(r['fresh_gap']), precision=4)}; "
          f"cosine of the fresh eigenvector to the last step's {np.array2string(np.array(r['fresh_cos_to_last_step']), precision=5)}")
    print(f"  ride step / gradient: fastest {r['step_over_gradient_fastest']:.2f}x, median "
          f"{r['step_over_gradient_median']:.2f}x (target <= 3)")
    summary = {"scipy": scipy.__version__, "torch": torch.__version__, "eigsh_hvps": n_eigsh,
               "eigsh_seconds": times, "eigsh_values": vals_eigsh.tolist(), "eigsh_max_abs_err": err_eigsh,
               "ours_over_eigsh_time": t_ours / t_eigsh, "ours_over_spectra_time": t_ours / t_spectra,
               "time_split": split, "ours_over_eigsh_at_equal_hvp_price": equal, "getridges_runs": gr,
               "loss_torch": loss_py, "bench_network": res}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
