#!/usr/bin/python3
"""Why RR on the pooled loss of Colored Fashion-MNIST keeps colour (docs/RESULTS.md).

Builds the experiment's data (IRM's protocol: 2,000 images per training environment, colour
flipped with probability 0.2 / 0.1, test colour flipped with 0.9; label noise 0.25; 14x14 in one
of two channels) and the experiment's MLP 392-32-32-1 (tanh, L2 1e-3, full-batch Adam lr 1e-3).
1. Trains a colour-blind network on the pooled training loss: the first layer's weights tied
   across the two channels, so the network sees only the shape (the grayscale oracle's solution).
2. Prints the pooled loss's gradient there, split into the part that keeps the tie (what that
   training drove down) and the channel-antisymmetric part (the direction that reads colour).
3. Unties the weights and runs Adam on the pooled loss from there, printing train and test
   accuracy as it goes.
If the colour part dominates and the test accuracy collapses, no colour-blind point is a
stationary point of the pooled loss nearby, and anything that goes downhill on that loss -- a
ride of Ridge Rider included -- ends at a colour predictor.

  /usr/bin/python3 docs/scripts/pooled_loss_uses_colour.py    (about 30 s on 2 cores)
"""
import gzip
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import torch

FASHION = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
HIDDEN = 32
STEPS = 600


def load(kind):
    with gzip.open(f"{FASHION}/{kind}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f"{FASHION}/{kind}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images[:, ::2, ::2].astype(np.float32) / 255.0, labels


def environment(images, labels, colour_flip, rng):
    y = (labels < 5).astype(np.float32)
    y = np.where(rng.random(len(y)) < 0.25, 1 - y, y)
    colour = np.where(rng.random(len(y)) < colour_flip, 1 - y, y).astype(int)
    x = np.zeros((len(y), 2, 14, 14), np.float32)
    x[np.arange(len(y)), colour] = images
    return torch.tensor(x.reshape(len(y), -1)), torch.tensor(y)


def logits(p, x):
    h = torch.tanh(x @ p[0].T + p[1])
    h = torch.tanh(h @ p[2].T + p[3])
    return (h @ p[4].T + p[5]).squeeze(-1)


def loss(p, x, y):
    risk = torch.nn.functional.binary_cross_entropy_with_logits(logits(p, x), y)
    return risk + 1e-3 * sum((w ** 2).sum() for w in p[::2])


def accuracy(p, x, y):
    with torch.no_grad():
        return float(((logits(p, x) > 0).float() == y).float().mean())


def tie_channels(w1):
    """Average the first layer's weights over the two channels (in place): colour-blind."""
    w = w1.view(HIDDEN, 2, 196)
    w[:] = w.mean(1, keepdim=True)


def adam(p, x, y, steps, tied, on_step=None):
    opt = torch.optim.Adam(p, lr=1e-3)
    for s in range(steps):
        opt.zero_grad()
        loss(p, x, y).backward()
        if tied:
            tie_channels(p[0].grad)
        opt.step()
        if on_step:
            on_step(s)


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train_images, train_labels = load("train")
    test_images, test_labels = load("t10k")
    env1 = environment(train_images[:2000], train_labels[:2000], 0.2, rng)
    env2 = environment(train_images[25000:27000], train_labels[25000:27000], 0.1, rng)
    test = environment(test_images, test_labels, 0.9, rng)
    x, y = torch.cat([env1[0], env2[0]]), torch.cat([env1[1], env2[1]])

    layers = [torch.nn.Linear(392, HIDDEN), torch.nn.Linear(HIDDEN, HIDDEN),
              torch.nn.Linear(HIDDEN, 1)]
    p = [t.detach().clone().requires_grad_() for l in layers for t in (l.weight, l.bias)]
    with torch.no_grad():
        tie_channels(p[0])
    adam(p, x, y, STEPS, tied=True)
    print(f"colour-blind network (first layer tied across channels, pooled loss): "
          f"train {accuracy(p, x, y):.3f}, test {accuracy(p, *test):.3f}")

    grads = torch.autograd.grad(loss(p, x, y), p)
    g1 = grads[0].view(HIDDEN, 2, 196)
    symmetric = float(g1.mean(1).norm())
    colour = float(((g1[:, 0] - g1[:, 1]) / 2).norm())
    others = sum(float((g ** 2).sum()) for g in grads[1:]) ** 0.5
    print(f"pooled-loss gradient there: tie-keeping first layer {symmetric:.2e}, other layers "
          f"{others:.2e}, colour (channel-antisymmetric) {colour:.2e}")

    trace = []
    adam(p, x, y, STEPS, tied=False,
         on_step=lambda s: (s % 50 == 0 or s == STEPS - 1)
         and trace.append(f"{s}: {accuracy(p, x, y):.3f} / {accuracy(p, *test):.3f}"))
    print("untied, Adam on the pooled loss from there (step: train / test):")
    print("  " + ", ".join(trace))


if __name__ == "__main__":
    main()
