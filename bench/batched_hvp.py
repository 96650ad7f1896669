#!/usr/bin/python3
"""Can Hessian-vector products in blocks cost less per vector than one at a time?

Issue 3's ride-step target (<= 3 gradients per step) together with its tracker target (<= 4 HVPs
per step) needs an HVP at <= 0.5 gradient. This measures, in one run and one process, on the MLP
of bench_network (784-128-128-10, tanh, float32, mean cross-entropy over the first N Fashion-MNIST
training images, one BLAS thread, the point: the seeded torch init):

  gradient       one forward + backward (what a ride step needs at least once)
  hvp            one double backward through the gradient's kept graph (what we use)
  batched k      k HVPs in one double backward (`is_grads_batched`, torch's batched autograd)
  r-op k         k HVPs by a hand-written forward-over-reverse (Pearlmutter's R-op) of this
                 MLP with the k directions stacked into each matrix product, the forward
                 activations cached: the fewest flops an exact HVP of this network needs

each as the fastest of --repeats, per vector, relative to the gradient; and checks that the
batched and R-op products equal the single ones. Why the R-op is the floor: the first layer
(784 x 128) holds 85% of the parameters and dominates both passes; a gradient does X W1^T
(forward) and delta1^T X (its weight gradient), the R-op X V1^T and R{delta1}^T X -- the same two
N x 784 x 128 products per vector -- so blocks can only win by better BLAS efficiency, not by
fewer flops.

  /usr/bin/python3 bench/batched_hvp.py [--samples 1024] [--repeats 7] [--blocks 1 2 4 8 16]
"""
import argparse
import gzip
import json
import os
import time

# One BLAS thread (as bench_network): set before torch loads OpenBLAS.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch

FASHION = "/usr/share/datasets/fashion-mnist"


def load_images(n):
    try:
        with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz")) as f:
            images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
        with gzip.open(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")) as f:
            labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    except FileNotFoundError as e:
        raise SystemExit(f"{e}: install Debian's dataset-fashion-mnist package "
                         "(scripts/setup.sh does)")
    return (torch.from_numpy(images.astype(np.float32) / 255.0),
            torch.from_numpy(labels.astype(np.int64)))


def forward(params, x):
    """Logits and the hidden activations (a0 = x, a1, ...) of the tanh MLP."""
    acts = [x]
    h = x
    layers = len(params) // 2
    for l in range(layers):
        h = torch.addmm(params[2 * l + 1], h, params[2 * l].t())
        if l + 1 < layers:
            h = torch.tanh(h)
            acts.append(h)
    return h, acts


def r_op_hvp(params, acts, probs, labels, vecs):
    """H v for k stacked directions vecs (per parameter: [k, *shape]) at the point whose
    activations and softmax probabilities are given: forward R-pass, then backward R-pass.
    Mean cross-entropy, so the output's second derivative is (diag p - p p^T) / N."""
    layers = len(params) // 2
    n = probs.shape[0]
    k = vecs[0].shape[0]
    # R-forward: R{z_l} = R{a_{l-1}} W_l^T + a_{l-1} V_l^T + c_l; R{a_l} = (1 - a_l^2) R{z_l}.
    r_acts = [None]  # R{a0} = 0: the data do not move
    rz = None
    for l in range(layers):
        w, v, c = params[2 * l], vecs[2 * l], vecs[2 * l + 1]
        out = w.shape[0]
        # a_{l-1} V_l^T for all k in one product: [N, in] x [in, k*out].
        rz = (acts[l] @ v.reshape(k * out, -1).t()).reshape(n, k, out).transpose(0, 1)
        if r_acts[l] is not None:
            rz = rz + r_acts[l] @ w.t()
        rz = rz + c[:, None, :]
        if l + 1 < layers:
            r_acts.append((1 - acts[l + 1] ** 2) * rz)
    # Output: delta_L = (p - Y) / N; R{delta_L} = (p * R{z} - p (p . R{z})) / N.
    r_delta = (probs * rz - probs * (probs * rz).sum(-1, keepdim=True)) / n
    out_grads = [None] * len(params)
    delta = None
    for l in reversed(range(layers)):
        w, v = params[2 * l], vecs[2 * l]
        if delta is None:
            delta = (probs - torch.zeros_like(probs).scatter_(1, labels[:, None], 1.0)) / n
        # R{dW_l} = R{delta_l}^T a_{l-1} + delta_l^T R{a_{l-1}}: [k*out, N] x [N, in] first.
        out = w.shape[0]
        rdw = (r_delta.transpose(0, 1).reshape(n, k * out).t() @ acts[l]).reshape(k, out, -1)
        if r_acts[l] is not None:
            rdw = rdw + delta.t() @ r_acts[l]
        out_grads[2 * l] = rdw
        out_grads[2 * l + 1] = r_delta.sum(1)
        if l > 0:
            a = acts[l]
            back = delta @ w                      # delta_l W_l (unbatched)
            r_back = r_delta @ w + delta @ v      # R{delta_l W_l}
            r_delta = (1 - a ** 2) * r_back - 2 * a * r_acts[l] * back
            delta = (1 - a ** 2) * back
    return out_grads


def fastest(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--widths", default="784-128-128-10")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, labels = load_images(a.samples)
    widths = [int(w) for w in a.widths.split("-")]
    params = []
    for i, o in zip(widths[:-1], widths[1:]):
        lin = torch.nn.Linear(i, o)
        params += [lin.weight.detach().requires_grad_(), lin.bias.detach().requires_grad_()]
    d = sum(p.numel() for p in params)

    def loss():
        logits, _ = forward(params, x)
        return torch.nn.functional.cross_entropy(logits, labels)

    t_grad = fastest(lambda: torch.autograd.grad(loss(), params), a.repeats)
    grad = torch.autograd.grad(loss(), params, create_graph=True)
    with torch.no_grad():
        logits, acts = forward(params, x)
        probs = torch.softmax(logits, dim=1)
    consts = [p.detach() for p in params]

    rows = []
    gen = torch.Generator().manual_seed(1)
    for k in a.blocks:
        vecs = [torch.randn(k, *p.shape, generator=gen) for p in params]
        singles = [torch.autograd.grad(grad, params, [v[j] for v in vecs], retain_graph=True)
                   for j in range(k)]
        t_single = fastest(lambda: [torch.autograd.grad(grad, params, [v[j] for v in vecs],
                                                        retain_graph=True)
                                    for j in range(k)], a.repeats)
        if k > 1:
            batched = torch.autograd.grad(grad, params, vecs, retain_graph=True,
                                          is_grads_batched=True)
            t_batched = fastest(lambda: torch.autograd.grad(grad, params, vecs, retain_graph=True,
                                                            is_grads_batched=True), a.repeats)
            err_b = max(float((b[j] - s[i]).abs().max())
                        for j, s in enumerate(singles) for i, b in enumerate(batched))
        else:
            t_batched, err_b = t_single, 0.0
        with torch.no_grad():
            rop = r_op_hvp(consts, acts, probs, labels, vecs)
            t_rop = fastest(lambda: r_op_hvp(consts, acts, probs, labels, vecs), a.repeats)
        scale = max(float(s[i].abs().max()) for s in singles for i in range(len(params)))
        err_r = max(float((r[j] - s[i]).abs().max())
                    for j, s in enumerate(singles) for i, r in enumerate(rop))
        rows.append(dict(k=k, hvp_per_vector_over_gradient=t_single / k / t_grad,
                         batched_per_vector_over_gradient=t_batched / k / t_grad,
                         r_op_per_vector_over_gradient=t_rop / k / t_grad,
                         batched_max_error=err_b / scale, r_op_max_error=err_r / scale))
        # float32 throughout: agreement to ~1e-5 of the largest entry is all one can ask.
        if err_b > 1e-4 * scale or err_r > 1e-4 * scale:
            raise SystemExit(f"k = {k}: batched or R-op HVP differs from the single one "
                             f"(relative {err_b / scale:.2e}, {err_r / scale:.2e})")

    print(f"MLP {a.widths} (d = {d}), {a.samples} images, float32, 1 thread, torch "
          f"{torch.__version__}; gradient {t_grad * 1e3:.2f} ms (fastest of {a.repeats})")
    print("| k | HVP one at a time | batched double backward | hand-written R-op |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['k']} | {r['hvp_per_vector_over_gradient']:.2f} | "
              f"{r['batched_per_vector_over_gradient']:.2f} | "
              f"{r['r_op_per_vector_over_gradient']:.2f} |")
    print(json.dumps(dict(d=d, samples=a.samples, gradient_ms=t_grad * 1e3, rows=rows,
                          torch=torch.__version__)))


if __name__ == "__main__":
    main()
