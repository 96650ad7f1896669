"""Figures of the paper's experiments, from the results.json that
``ridgerider reproduce NAME --out DIR`` writes.

- tree-mdp: ``fractions.png``, the mean fraction of positive-reward leaves found per depth
  and method, with the spread over trees as error bars (std) and the minimum as a dot.
- lever-game: ``cross_play.png``, the cross-play heatmaps (player 1 of run a with player 2
  of run b) of the chosen ridge and of the self-play baseline, and the mean cross-play of
  every ridge.
- fashion-mnist: ``per_class.png``, per-class test accuracy of every leaf at the end of its
  first ride and of its last (before finishing, the saddle's row above them) and after
  finishing, with Adam's beside them, and the leaves' pairwise disagreement.
- colored-fashion-mnist: ``ood.png``, train and test accuracy (mean and std over seeds) of
  ERM, IRM, the selected Ridge Rider leaf of each variant (on IRM's objective, on the pooled
  loss) and the grayscale oracle, and every RR candidate's
  test accuracy against the held-out gap between the training environments (the selection
  criterion), the chosen ones marked.

Command line (what the reproduce command calls)::

    python3 -m ridgerider.experiment_plots DIR

Library use: ``plot_tree_mdp(results)`` and ``plot_lever_game(results)`` take the parsed
results.json and return the Figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["plot_tree_mdp", "plot_lever_game", "plot_per_class", "plot_ood", "plot_dir", "main"]

_METHODS = [
    ("rr", "Ridge Rider"),
    ("gd_random", "GD, random starts"),
    ("gd_mis", "GD from MIS"),
    ("random_directions", "random directions from MIS"),
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_tree_mdp(results: dict):
    plt = _pyplot()
    depths = sorted(results["depths"], key=int)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    width = 0.8 / len(_METHODS)
    x = np.arange(len(depths))
    for k, (key, label) in enumerate(_METHODS):
        spread = [results["depths"][d]["spread"][key] for d in depths]
        mean = np.array([s["mean"] for s in spread])
        std = np.array([s["std"] for s in spread])
        low = np.array([s["min"] for s in spread])
        pos = x + (k - (len(_METHODS) - 1) / 2) * width
        ax.bar(pos, mean, width, yerr=std, capsize=3, label=label)
        ax.plot(pos, low, "k.", ms=4)
    ax.axhline(0.95, color="grey", ls="--", lw=0.8)
    ax.set_xticks(x, [f"depth {d}" for d in depths])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of positive-reward leaves found")
    n = results["setup"]["trees_per_depth"]
    ax.set_title(f"Tree MDP: mean ± std over {n} trees (dots: worst tree; dashed: 95% target)", fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, frameon=False)
    fig.tight_layout()
    return fig


def plot_lever_game(results: dict):
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    mats = [
        (np.array(results["chosen_cross_play_matrix"]),
         f"ridge {results['chosen_ridge']} (chosen): cross-play {results['chosen_cross_play']:.3f}"),
        (np.array(results["self_play_cross_play_matrix"]),
         f"self-play baseline: cross-play {results['self_play_cross_play']:.3f}"),
    ]
    for ax, (m, title) in zip(axes[:2], mats):
        im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("run of player 2")
        ax.set_ylabel("run of player 1")
    fig.colorbar(im, ax=axes[:2], shrink=0.8, label="expected payoff")
    ridges = results["ridges"]
    labels = [r["label"] for r in ridges]
    xp = [r["cross_play"] for r in ridges]
    sp = [r["self_play_mean"] for r in ridges]
    pos = np.arange(len(ridges))
    axes[2].bar(pos - 0.2, sp, 0.4, label="self-play (same run)")
    axes[2].bar(pos + 0.2, xp, 0.4, label="cross-play (different runs)")
    axes[2].axhline(0.6, color="grey", ls="--", lw=0.8)
    axes[2].set_xticks(pos, labels, fontsize=8)
    axes[2].set_xlabel("ridge (index in the spectrum at the MIS, sign)")
    axes[2].set_ylim(0, 1.05)
    axes[2].legend(fontsize=8)
    axes[2].set_title("mean payoff per ridge", fontsize=9)
    return fig


def plot_per_class(results: dict):
    """Per-class test accuracy of the leaves (rows) over the classes (columns): at the end of the
    first ride from the saddle and at the end of the leaf's last ride (what the ridges learned
    first; the saddle's own row on top), and after finishing (Adam's row at the bottom); then
    the leaves' pairwise disagreement. Results without the first-ride numbers (one level of
    rides) get one ride panel."""
    plt = _pyplot()
    leaves = results["leaves"]
    # Short row labels (leaf node and its first branch; results.md has the whole paths), so long
    # fingerprints do not run into the next panel.
    names = [f"leaf {l.get('node', i + 1)}: ({l['fingerprint'][0][0]},{l['fingerprint'][0][1]:+d})"
             + ("..." if len(l["fingerprint"]) > 1 else "") for i, l in enumerate(leaves)]
    mis = results.get("mis", {}).get("per_class_accuracy")
    top = [mis] if mis else []
    top_name = ["saddle (MIS)"] if mis else []
    panels = []
    if all("root_ride_end_per_class_accuracy" in l for l in leaves) and any(l.get("rides", 1) > 1 for l in leaves):
        panels.append((np.array(top + [l["root_ride_end_per_class_accuracy"] for l in leaves]),
                       top_name + [n.replace("...", "") for n in names], "at the end of the first ride"))
    panels.append((np.array(top + [l["ride_end_per_class_accuracy"] for l in leaves]), top_name + names,
                   "at the end of the last ride" if len(panels) else "at the end of each ride"))
    panels.append((np.array([l["per_class_accuracy"] for l in leaves] + [results["baseline"]["per_class_accuracy"]]),
                   names + ["Adam (baseline)"], "after finishing (Adam, same steps and batches)"))
    classes = results.get("class_names") or [str(c) for c in range(panels[-1][0].shape[1])]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(5.5 * len(panels) + 5, 0.45 * (len(leaves) + 1) + 2.4),
                             gridspec_kw={"width_ratios": [1] * len(panels) + [0.8], "wspace": 0.45})
    for ax, (m, rows, title) in zip(axes, panels):
        im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set_title(title, fontsize=9)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if m[i, j] < 0.5 else "black")
    fig.colorbar(im, ax=list(axes[:len(panels)]), shrink=0.8, label="per-class test accuracy")
    dis = np.array(results["disagreement"])
    im2 = axes[-1].imshow(dis, cmap="magma", aspect="auto")
    axes[-1].set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    axes[-1].set_yticks(range(len(names)), names, fontsize=6)
    axes[-1].set_title("test images two leaves label differently", fontsize=9)
    fig.colorbar(im2, ax=axes[-1], shrink=0.8)
    return fig


def plot_ood(results: dict):
    """Colored Fashion-MNIST: the methods' accuracies, and what the test-blind selection saw."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    methods = [("erm", "ERM"), ("irm", "IRM"), ("rr", "RR, pooled"), ("rr_irm", "RR, IRM obj."),
               ("oracle", "grayscale oracle")]
    methods = [(m, l) for m, l in methods if m in results]
    x = np.arange(len(methods))
    for k, (field, label) in enumerate([("train", "train"), ("test", "test")]):
        mean = [results[m][f"{field}_accuracy_mean"] for m, _ in methods]
        std = [results[m][f"{field}_accuracy_std"] for m, _ in methods]
        axes[0].bar(x + (k - 0.5) * 0.38, mean, 0.38, yerr=std, capsize=3, label=label)
    axes[0].axhline(0.5, color="gray", lw=0.8, ls=":")
    axes[0].set_xticks(x, [l for _, l in methods], fontsize=8)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("accuracy")
    axes[0].set_title(f"mean ± std over {len(results['rr']['seeds'])} seeds", fontsize=9)
    axes[0].legend(fontsize=8)
    # One colour per RR variant; circles: the saddle and ride ends, squares: finished ride ends.
    variants = [("rr_irm", "IRM objective", "C2"), ("rr", "pooled loss", "C0")]
    for s in results["per_seed"]:
        for key, _, colour in variants:
            if key not in s:
                continue
            c = s[key]["candidates"]
            gap = [abs(a["heldout_env1_accuracy"] - a["heldout_env2_accuracy"]) for a in c]
            test = [a["test_accuracy"] for a in c]
            raw = [a["point"] in ("ride end", "saddle") for a in c]
            axes[1].scatter([g for g, e in zip(gap, raw) if e], [t for t, e in zip(test, raw) if e],
                            marker="o", facecolors="none", edgecolors=colour, s=25)
            axes[1].scatter([g for g, e in zip(gap, raw) if not e], [t for t, e in zip(test, raw) if not e],
                            marker="s", color=colour, s=18)
            if s[key]["chosen"] >= 0:
                axes[1].scatter([gap[s[key]["chosen"]]], [test[s[key]["chosen"]]], marker="*", color="k", s=90)
    for _, label, colour in variants:
        axes[1].scatter([], [], marker="o", facecolors="none", edgecolors=colour, label=f"RR on {label}: saddle, ride end")
        axes[1].scatter([], [], marker="s", color=colour, label=f"RR on {label}: finished ride end")
    axes[1].scatter([], [], marker="*", color="k", label="chosen (per seed and variant)")
    axes[1].set_xlabel("|held-out env 1 accuracy - held-out env 2 accuracy| (selection criterion)")
    axes[1].set_ylabel("test-environment accuracy")
    axes[1].set_title("every Ridge Rider candidate, all seeds", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_dir(directory) -> list:
    """Writes the figures of one result directory; returns the files written."""
    directory = Path(directory)
    results = json.loads((directory / "results.json").read_text())
    kind = results.get("experiment")
    if kind == "tree-mdp":
        out = directory / "fractions.png"
        plot_tree_mdp(results).savefig(out, dpi=120)
    elif kind == "lever-game":
        out = directory / "cross_play.png"
        plot_lever_game(results).savefig(out, dpi=120, bbox_inches="tight")
    elif kind in ("fashion-mnist",):
        out = directory / "per_class.png"
        plot_per_class(results).savefig(out, dpi=120, bbox_inches="tight")
    elif kind == "colored-fashion-mnist":
        out = directory / "ood.png"
        plot_ood(results).savefig(out, dpi=120, bbox_inches="tight")
    else:
        raise ValueError(f"{directory}: no plots for experiment {kind!r}")
    return [out]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="a directory written by `ridgerider reproduce NAME --out DIR`")
    args = ap.parse_args(argv)
    try:
        for f in plot_dir(args.dir):
            print(f"plot: {f}")
    except (OSError, ValueError, KeyError) as e:
        print(f"experiment_plots: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
