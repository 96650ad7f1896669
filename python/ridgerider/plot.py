"""Figures of a Ridge Rider run: the 2-D landscape with the rides, the ride tree
(disconnectivity-style) and the tracked eigenvalue along each ride.

Library use (each function takes a :class:`ridgerider.Run` and returns the Figure)::

    import ridgerider
    from ridgerider import plot
    run = ridgerider.load("out/toy2d")
    plot.plot_landscape(run).savefig("landscape.png")

Command line::

    python3 -m ridgerider.plot DIR [--what landscape|tree|spectrum|all] [--out FILE]

writes DIR/landscape.png (DIR/{landscape,tree,spectrum}.png for ``--what all``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .results import Run, load

__all__ = ["plot_landscape", "plot_tree", "plot_spectrum", "branch_colors", "save", "main"]

Branch = Optional[Tuple[int, int]]  # (ridge index, sign) of a ride's first choice

_START_STYLE = dict(marker="*", s=260, c="black", edgecolors="white", linewidths=0.9, zorder=6)


def _solution_style(is_minimum: bool, size: float) -> dict:
    """Solutions: a white cross for a verified minimum, a grey square for anything else
    (a saddle or a point where polishing stalled)."""
    if is_minimum:
        return dict(marker="X", s=size, c="white", edgecolors="black", linewidths=1.2,
                    label="solution (minimum)")
    return dict(marker="s", s=size * 0.55, c="0.6", edgecolors="black", linewidths=1.2,
                label="solution (not a minimum)")


def _plt():
    import matplotlib.pyplot as plt  # imported late so that the CLI can pick Agg first

    return plt


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig, ax = _plt().subplots(figsize=figsize)
    return fig, ax


def _first_branch(ride: Dict) -> Branch:
    path = ride.get("path") or []
    if not path:
        return None
    i, s = path[0]
    return int(i), (1 if s > 0 else -1)


def _branch_label(b: Branch) -> str:
    if b is None:
        return "no branch"
    return f"ridge {b[0]}, {'+' if b[1] > 0 else '-'}"


def branch_colors(run: Run) -> Dict[Branch, tuple]:
    """{first branch (ridge index, sign): colour}, ordered ridge 0 +, ridge 0 -, ridge 1 +, ...
    The same colours are used by every figure."""
    import matplotlib as mpl

    keys = sorted({_first_branch(r) for r in run.tree},
                  key=lambda b: (-1, 0) if b is None else (b[0], -b[1]))
    # Pairs of a darker and a lighter shade (tab20) keep + and - of one ridge related but
    # distinct; fall back to a continuous map when there are many first branches.
    if len(keys) <= 10:
        cmap = mpl.colormaps["tab10"]
        return {k: cmap(i) for i, k in enumerate(keys)}
    cmap = mpl.colormaps["turbo"]
    return {k: cmap(0.05 + 0.9 * i / max(1, len(keys) - 1)) for i, k in enumerate(keys)}


_MAX_BRANCH_LEGEND = 12


class _Labels:
    """Hands out one legend label per first branch (none at all past _MAX_BRANCH_LEGEND
    branches, where the legend would swamp the figure)."""

    def __init__(self, colors: Dict[Branch, tuple]):
        self.enabled = len(colors) <= _MAX_BRANCH_LEGEND
        self.seen: set = set()

    def __call__(self, b: Branch) -> Optional[str]:
        if not self.enabled or b in self.seen:
            return None
        self.seen.add(b)
        return _branch_label(b)


def _legend(ax, n_branches: int):
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    title = None if n_branches <= _MAX_BRANCH_LEGEND else f"colour: first branch ({n_branches})"
    if len(labels) > 6 or title:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False, title=title, title_fontsize=8)
    else:
        ax.legend(handles, labels, loc="best", fontsize=8.5, framealpha=0.9)


def _title(run: Run, what: str) -> str:
    n = len(run.solutions)
    minima = sum(1 for s in run.solutions if s.is_minimum)
    sol = f"{n} solution{'s' if n != 1 else ''}"
    if n:
        sol += f" ({minima} minim{'a' if minima != 1 else 'um'})"
    return f"{run.name}: {what} — {sol}, {len(run.tree)} ride{'s' if len(run.tree) != 1 else ''}"


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if abs(v) < 1e-12:
        return "≈0" if v != 0 else "0"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.2e}"
    return f"{v:.3g}"


# --------------------------------------------------------------------------------------
# Landscape
# --------------------------------------------------------------------------------------
def _levels(z: np.ndarray, n: int = 24) -> np.ndarray:
    """Contour levels dense near the minimum and sparse at the top: geometric spacing of
    the loss above its minimum, merged with quantiles so that the well regions get bands."""
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    if not span > 0:
        return np.array([lo - 0.5, lo + 0.5])
    geo = lo + np.geomspace(span * 1e-3, span, n - 1)
    quant = np.quantile(finite, np.linspace(0.0, 1.0, n))
    merged = np.unique(np.concatenate([[lo], geo, quant, [hi]]))
    # Thin to about n levels, keeping them strictly increasing and distinct.
    if merged.size > n:
        merged = np.unique(np.quantile(merged, np.linspace(0.0, 1.0, n)))
    keep = [merged[0]]
    for v in merged[1:]:
        if v - keep[-1] > span * 1e-6:
            keep.append(v)
    keep[-1] = max(keep[-1], hi)
    if len(keep) < 2:
        keep = [lo, hi]
    return np.asarray(keep)


def plot_landscape(run: Run, ax=None):
    """Filled contours of result["landscape"] with the start point, every ride (in the colour
    of its first branch), the ride end points and the solutions (annotated with their loss).
    2-D problems only: raises ValueError otherwise."""
    import matplotlib as mpl
    import matplotlib.patheffects as pe

    if run.dim != 2:
        raise ValueError(f"plot_landscape needs a 2-D problem; {run.name!r} has dim {run.dim}")
    land = run.landscape
    if not land or not all(k in land for k in ("x", "y", "loss")):
        raise ValueError(f"{run.path or run.name}/result.json has no \"landscape\" (x, y, loss) to plot")
    gx = np.asarray(land["x"], dtype=float)
    gy = np.asarray(land["y"], dtype=float)
    z = np.array([[np.nan if v is None else v for v in row] for row in land["loss"]], dtype=float)
    if z.shape != (gy.size, gx.size):
        raise ValueError(f"landscape loss has shape {z.shape}, expected (len(y), len(x)) = "
                         f"({gy.size}, {gx.size})")
    if not np.isfinite(z).any():
        raise ValueError("landscape loss has no finite values")

    fig, ax = _new_axes(ax, (8.0, 6.6))
    levels = _levels(z)
    cmap = mpl.colormaps["viridis"]
    norm = mpl.colors.BoundaryNorm(levels, cmap.N)
    zm = np.ma.masked_invalid(z)
    cf = ax.contourf(gx, gy, zm, levels=levels, cmap=cmap, norm=norm, extend="neither")
    ax.contour(gx, gy, zm, levels=levels, colors="white", linewidths=0.35, alpha=0.45)
    cb = fig.colorbar(cf, ax=ax, shrink=0.9, pad=0.02)
    cb.set_label("loss")
    step = max(1, int(math.ceil(len(levels) / 9)))
    ticks = list(levels[::step])
    if ticks[-1] != levels[-1]:
        if len(ticks) > 1 and (levels[-1] - ticks[-1]) < 0.5 * (ticks[-1] - ticks[-2]):
            ticks[-1] = levels[-1]
        else:
            ticks.append(levels[-1])
    cb.set_ticks(ticks)
    cb.set_ticklabels([_fmt(v) for v in ticks])

    colors = branch_colors(run)
    labels = _Labels(colors)
    paths = run.ride_paths()
    ends = []
    for ride in run.tree:
        p = paths.get(int(ride["id"]))
        if p is None or len(p) < 2 or p.shape[1] != 2:
            continue
        b = _first_branch(ride)
        label = labels(b)
        depth = int(ride.get("depth", 1))
        lw = max(1.2, 2.4 - 0.3 * (depth - 1))
        ax.plot(p[:, 0], p[:, 1], "-", color=colors[b], lw=lw, label=label, zorder=3,
                solid_capstyle="round",
                path_effects=[pe.Stroke(linewidth=lw + 1.6, foreground="black", alpha=0.55),
                              pe.Normal()])
        ends.append((p[-1], colors[b]))
    # A settled ride branches at the stationary point ahead of its end: a dashed hop joins them.
    settled = False
    for ride in run.tree:
        p = paths.get(int(ride["id"]))
        bx = ride.get("branch_x") or []
        if not ride.get("settled") or len(bx) != 2 or p is None or len(p) == 0 or p.shape[1] != 2:
            continue
        ax.plot([p[-1, 0], bx[0]], [p[-1, 1], bx[1]], "--", color=colors[_first_branch(ride)], lw=1.1,
                zorder=3)
        settled = True
    if settled:
        ax.plot([], [], "--", color="0.3", lw=1.1, label="settle to saddle")
    if ends:
        ax.scatter([e[0][0] for e in ends], [e[0][1] for e in ends], s=16,
                   c=[e[1] for e in ends], edgecolors="black", linewidths=0.4, zorder=4,
                   label="ride end")

    sx = run.start_x
    if sx.size == 2:
        ax.scatter([sx[0]], [sx[1]], label="start", **_START_STYLE)

    sols = [s for s in run.solutions if s.x.size == 2]
    # A leaf ride's end is polished into its solution: a dotted line joins them.
    by_sol = {s.id: s for s in sols}
    for ride in run.tree:
        sid = ride.get("solution")
        p = paths.get(int(ride["id"]))
        if sid is None or int(sid) not in by_sol or p is None or len(p) == 0 or p.shape[1] != 2:
            continue
        sx_ = by_sol[int(sid)].x
        ax.plot([p[-1, 0], sx_[0]], [p[-1, 1], sx_[1]], ":", color=colors[_first_branch(ride)],
                lw=1.3, zorder=3)
    if any(r.get("solution") is not None for r in run.tree) and sols:
        ax.plot([], [], ":", color="0.3", lw=1.3, label="leaf → solution")
    for minimum in (True, False):
        group = [s for s in sols if s.is_minimum == minimum]
        if group:
            ax.scatter([s.x[0] for s in group], [s.x[1] for s in group], zorder=7,
                       **_solution_style(minimum, 140))
    for s in sols:
        ax.annotate(_fmt(s.loss), (s.x[0], s.x[1]), xytext=(7, 7), textcoords="offset points",
                    fontsize=8.5, zorder=8,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", alpha=0.85))

    # The grid's extent, widened if anything lies outside it.
    pts = [np.array([[gx.min(), gy.min()], [gx.max(), gy.max()]])]
    pts += [p for p in paths.values() if p.ndim == 2 and p.shape[1] == 2 and len(p)]
    pts += [s.x[None, :] for s in sols]
    allp = np.vstack(pts)
    allp = allp[np.isfinite(allp).all(axis=1)]
    (x0, y0), (x1, y1) = allp.min(axis=0), allp.max(axis=0)
    grid = (gx.min(), gx.max(), gy.min(), gy.max())
    if (x0, x1, y0, y1) != (grid[0], grid[1], grid[2], grid[3]):
        mx, my = 0.03 * (x1 - x0 or 1.0), 0.03 * (y1 - y0 or 1.0)
        x0 = x0 - mx if x0 < grid[0] else x0
        x1 = x1 + mx if x1 > grid[1] else x1
        y0 = y0 - my if y0 < grid[2] else y0
        y1 = y1 + my if y1 > grid[3] else y1
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    w, h = x1 - x0, y1 - y0
    if w > 0 and h > 0 and 1 / 3 <= w / h <= 3:
        ax.set_aspect("equal", adjustable="box")

    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    ax.set_title(_title(run, "landscape"))
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(4, max(1, len(labels))), fontsize=8.5, frameon=False, markerscale=0.8)
    return fig


# --------------------------------------------------------------------------------------
# Tree
# --------------------------------------------------------------------------------------
def _children_map(run: Run) -> Dict[int, List[int]]:
    """{ride id (0 = the start point): child ride ids}, from "parent" (which every ride has),
    ordered as in the parents' "children" lists where given, else by id."""
    ids = {int(r["id"]) for r in run.tree}
    kids: Dict[int, List[int]] = {0: []}
    for r in run.tree:
        kids.setdefault(int(r["id"]), [])
    for r in run.tree:
        parent = int(r.get("parent", 0) or 0)
        if parent not in ids:
            parent = 0
        kids.setdefault(parent, []).append(int(r["id"]))
    for r in run.tree:
        order = [int(c) for c in r.get("children") or []]
        rank = {c: i for i, c in enumerate(order)}
        kids[int(r["id"])].sort(key=lambda c: (rank.get(c, len(rank)), c))
    return kids


def _tree_positions(run: Run, kids: Dict[int, List[int]]) -> Dict[int, float]:
    """x positions from a depth-first ordering: leaves at 0, 1, 2, ... in DFS order, an inner
    ride at the middle of its children's span (so children sit under their parent)."""
    pos: Dict[int, float] = {}
    counter = [0]
    visiting: set = set()

    def visit(node: int) -> float:
        if node in visiting:  # a malformed tree with a cycle: treat as a leaf
            x = float(counter[0])
            counter[0] += 1
            return x
        visiting.add(node)
        children = kids.get(node, [])
        if not children:
            x = float(counter[0])
            counter[0] += 1
        else:
            xs = [visit(c) for c in children]
            x = 0.5 * (min(xs) + max(xs))
        pos[node] = x
        return x

    visit(0)
    for r in run.tree:  # anything unreachable
        if int(r["id"]) not in pos:
            visit(int(r["id"]))
    return pos


def plot_tree(run: Run, ax=None):
    """Disconnectivity-style tree: loss on the vertical axis, each ride a vertical line from
    its start loss to its end loss at an x position from a depth-first ordering; branch points
    join a ride to its children; leaves go on to their solution's loss."""
    fig, ax = _new_axes(ax, (max(6.0, min(16.0, 2.5 + 0.32 * len(run.tree))), 6.0))
    kids = _children_map(run)
    pos = _tree_positions(run, kids)
    colors = branch_colors(run)
    sols = {s.id: s for s in run.solutions}
    by_id = {int(r["id"]): r for r in run.tree}
    start_loss = run.result.get("start", {}).get("loss")

    def _loss(v, fallback):
        return fallback if v is None else float(v)

    labels = _Labels(colors)
    n_leaf_labels = sum(1 for r in run.tree if r.get("solution") is not None)
    for rid, r in by_id.items():
        x = pos[rid]
        b = _first_branch(r)
        c = colors[b]
        y0 = _loss(r.get("start_loss"), float("nan"))
        y1 = _loss(r.get("end_loss"), y0)
        pending = r.get("end_reason") == "pending"
        label = labels(b)
        ax.plot([x, x], [y0, y0 if pending else y1], color=c, lw=2.0 if not pending else 1.2,
                ls=":" if pending else "-", label=label, zorder=3, solid_capstyle="butt")
        if pending:
            ax.scatter([x], [y0], marker="o", s=22, facecolors="white", edgecolors=c, zorder=4)
            continue
        children = kids.get(rid, [])
        if children:
            cx = [pos[k] for k in children]
            ax.plot([min(cx + [x]), max(cx + [x])], [y1, y1], color=c, lw=1.2, zorder=2)
            ax.scatter([x], [y1], s=22, c=[c], edgecolors="black", linewidths=0.5, zorder=5)
        sid = r.get("solution")
        if sid is not None and int(sid) in sols:
            s = sols[int(sid)]
            if math.isfinite(s.loss) and s.loss != y1:
                ax.plot([x, x], [y1, s.loss], color=c, lw=1.2, ls="--", zorder=2)
            style = _solution_style(s.is_minimum, 100)
            style.pop("label")
            ax.scatter([x], [s.loss], zorder=6, **style)
            if n_leaf_labels <= 60:
                ax.annotate(f"#{s.id}", (x, s.loss), xytext=(0, -9), textcoords="offset points",
                            ha="center", va="top", fontsize=7.5, color="0.2")

    roots = kids.get(0, [])
    if roots:
        rx = [pos[k] for k in roots]
        y = start_loss
        if y is None:
            y = by_id[roots[0]].get("start_loss")
        if y is not None:
            ax.plot([min(rx), max(rx)], [y, y], color="black", lw=1.2, zorder=2)
            ax.scatter([0.5 * (min(rx) + max(rx))], [y], label="start", **_START_STYLE)

    # Proxy legend entries for the markers.
    for minimum in (True, False):
        if any(s.is_minimum == minimum for s in run.solutions):
            ax.scatter([], [], **_solution_style(minimum, 80))
    if any(r.get("end_reason") == "pending" for r in run.tree):
        ax.plot([], [], ":", color="0.4", label="pending ride")

    ax.set_xticks([])
    xs = list(pos.values()) or [0.0]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.margins(y=0.08)
    ax.set_ylabel("loss")
    ax.set_xlabel("rides (depth-first order)")
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(_title(run, "ride tree"))
    _legend(ax, len(colors))
    return fig


# --------------------------------------------------------------------------------------
# Spectrum
# --------------------------------------------------------------------------------------
def plot_spectrum(run: Run, ax=None):
    """The tracked eigenvalue along each ride against the step, from the step events'
    "eigenvalue". Steps are counted from the start point along the ride's path, so a child
    continues where its parent ended; the ride's start_eigenvalue is drawn at its first
    point. Rides without step events are drawn from start_eigenvalue to end_eigenvalue."""
    fig, ax = _new_axes(ax, (8.0, 5.0))
    colors = branch_colors(run)
    steps = run.steps()
    by_id = {int(r["id"]): r for r in run.tree}
    offset: Dict[int, int] = {}

    def off(rid: int, guard: int = 0) -> int:
        if rid in offset:
            return offset[rid]
        r = by_id.get(rid)
        if r is None or guard > len(by_id):
            return 0
        parent = int(r.get("parent", 0) or 0)
        o = 0 if parent not in by_id else off(parent, guard + 1) + int(by_id[parent].get("steps", 0))
        offset[rid] = o
        return o

    labels = _Labels(colors)
    drawn = 0
    for rid, r in by_id.items():
        b = _first_branch(r)
        o = off(rid)
        evs = [e for e in steps.get(rid, []) if e.get("eigenvalue") is not None]
        if evs:
            k = [o + int(e.get("step", i + 1)) for i, e in enumerate(evs)]
            lam = [float(e["eigenvalue"]) for e in evs]
            if r.get("start_eigenvalue") is not None:
                k.insert(0, o)
                lam.insert(0, float(r["start_eigenvalue"]))
        elif r.get("end_reason") != "pending" and int(r.get("steps", 0)) > 0 and \
                r.get("start_eigenvalue") is not None and r.get("end_eigenvalue") is not None:
            k = [o, o + int(r["steps"])]
            lam = [float(r["start_eigenvalue"]), float(r["end_eigenvalue"])]
        else:
            continue
        label = labels(b)
        drawn += 1
        ax.plot(k, lam, "-", color=colors[b], lw=1.6, label=label,
                marker="." if len(k) <= 40 else None, ms=4)
        ax.scatter([k[-1]], [lam[-1]], s=18, color=colors[b], edgecolors="black",
                   linewidths=0.4, zorder=4)
    ax.axhline(0.0, color="black", lw=0.8, ls="--", zorder=1)
    ax.set_xlabel("step (counted from the start point along the ride's path)")
    ax.set_ylabel("tracked eigenvalue $\\lambda$")
    ax.grid(alpha=0.3)
    ax.set_title(_title(run, "tracked eigenvalue"))
    if drawn:
        _legend(ax, len(colors))
    else:
        ax.text(0.5, 0.5, "no step events (events.jsonl missing or empty)",
                transform=ax.transAxes, ha="center", va="center", color="0.4")
    return fig


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
_PLOTS = {"landscape": plot_landscape, "tree": plot_tree, "spectrum": plot_spectrum}


def _fail(msg: str, code: int = 2) -> int:
    print(f"ridgerider.plot: {' '.join(str(msg).split())}", file=sys.stderr)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(
        prog="python3 -m ridgerider.plot",
        description="Plot a ridgerider result directory (DIR/result.json, DIR/events.jsonl).")
    parser.add_argument("dir", metavar="DIR", help="result directory written by ridgerider run")
    parser.add_argument("--what", choices=[*_PLOTS, "all"], default="landscape",
                        help="which figure (default: landscape); 'all' skips the landscape "
                             "for problems that are not 2-D")
    parser.add_argument("--out", metavar="FILE",
                        help="output file (default DIR/<what>.png); with --what all, a "
                             "directory to write the figures into")
    parser.add_argument("--dpi", type=int, default=150, help="resolution (default 150)")
    args = parser.parse_args(argv)

    try:
        run = load(args.dir)
    except (FileNotFoundError, ValueError, OSError) as e:
        return _fail(f"cannot load {args.dir}: {e}")

    what = list(_PLOTS) if args.what == "all" else [args.what]
    if args.what == "all":
        out_dir = Path(args.out) if args.out else run.path
        targets = {w: out_dir / f"{w}.png" for w in what}
    else:
        targets = {args.what: Path(args.out) if args.out else run.path / f"{args.what}.png"}

    status = 0
    for w, target in targets.items():
        if w == "landscape" and args.what == "all" and (run.dim != 2 or not run.landscape):
            print(f"ridgerider.plot: skipping the landscape ({run.name} is {run.dim}-D"
                  f"{'' if run.dim != 2 else ' without a landscape grid'})", file=sys.stderr)
            continue
        try:
            save(run, w, target, dpi=args.dpi)
        except ValueError as e:
            return _fail(str(e))
        except OSError as e:
            status = _fail(f"cannot write {target}: {e}", 1)
    return status


def save(run: Run, what: str, target, dpi: int = 150) -> Path:
    """Draws figure ``what`` (landscape, tree or spectrum) of ``run`` and writes it to
    ``target`` (PNG, or any format matplotlib knows from the suffix). Raises ValueError when
    the figure cannot be drawn (e.g. a landscape of a problem that is not 2-D), OSError when the
    file cannot be written."""
    if what not in _PLOTS:
        raise ValueError(f"unknown figure {what!r} (one of: {', '.join(_PLOTS)})")
    plt = _plt()
    fig = _PLOTS[what](run)
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return target


if __name__ == "__main__":
    sys.exit(main())
