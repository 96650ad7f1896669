"""Loading a result directory written by ``ridgerider run --out DIR``.

The format is described in docs/result-format.md: ``DIR/result.json`` (written last, so its
presence means the run finished) and ``DIR/events.jsonl`` (one JSON object per line).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

FORMAT_PREFIX = "ridgerider-result/"

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Solution:
    """One distinct leaf of the search (an entry of result["solutions"])."""

    id: int
    x: np.ndarray
    loss: float
    grad_norm: float
    min_eigenvalue: float
    fingerprint: List[Tuple[int, int]]  # [(ridge index, sign), ...] of the first ride here
    is_minimum: bool
    ride: Optional[int] = None  # the first ride that led here
    reached_by: List[int] = field(default_factory=list)
    polish_converged: Optional[bool] = None
    polish_iterations: Optional[int] = None

    @property
    def fingerprint_str(self) -> str:
        """The fingerprint as in solutions.csv: ``+0/-1/...`` (sign, ridge index)."""
        return "/".join(("+" if s > 0 else "-") + str(i) for i, s in self.fingerprint)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Solution":
        return cls(
            id=int(d.get("id", 0)),
            x=np.asarray(d.get("x", []), dtype=float),
            loss=_float(d.get("loss")),
            grad_norm=_float(d.get("grad_norm")),
            min_eigenvalue=_float(d.get("min_eigenvalue")),
            fingerprint=[(int(i), int(s)) for i, s in d.get("fingerprint", [])],
            is_minimum=bool(d.get("is_minimum", False)),
            ride=None if d.get("ride") is None else int(d["ride"]),
            reached_by=[int(r) for r in d.get("reached_by", [])],
            polish_converged=d.get("polish_converged"),
            polish_iterations=d.get("polish_iterations"),
        )


def _float(v: Any) -> float:
    """JSON numbers to float; null (how a writer may spell NaN/Inf) to NaN."""
    return float("nan") if v is None else float(v)


class Run:
    """A loaded result directory.

    Attributes:
      path:      the directory (None for a result of ridgerider.explore() without out=).
      result:    the parsed result.json (a dict).
      solutions: list of :class:`Solution`, in discovery order.
      tree:      list of ride dicts (result["tree"]), in id order.
      summary:   result["summary"] (a dict).
      events:    list of dicts from events.jsonl ([] when the file is missing).
    """

    def __init__(self, path: Optional[PathLike], result: Dict[str, Any], events: List[Dict[str, Any]]):
        self.path: Optional[Path] = None if path is None else Path(path)  # None: held in memory only
        self.result = result
        self.events = events
        self.solutions = [Solution.from_dict(s) for s in result.get("solutions", [])]
        self.tree: List[Dict[str, Any]] = list(result.get("tree", []))
        self.summary: Dict[str, Any] = dict(result.get("summary", {}))
        # explore() results held in memory compute a 2-D landscape grid on first use.
        self._landscape_source = None

    # -- conveniences ------------------------------------------------------------------
    @property
    def problem(self) -> Dict[str, Any]:
        return self.result.get("problem", {})

    @property
    def name(self) -> str:
        return str(self.problem.get("name", self.path.name if self.path else "run"))

    @property
    def options(self) -> Dict[str, Any]:
        """result["options"]: every option of the run by its CLI key."""
        return self.result.get("options", {})

    @property
    def dim(self) -> int:
        """The problem's dimension (problem.dim, else the length of start.x)."""
        d = self.problem.get("dim")
        if d is not None:
            return int(d)
        return len(self.result.get("start", {}).get("x", []))

    @property
    def start_x(self) -> np.ndarray:
        return np.asarray(self.result.get("start", {}).get("x", []), dtype=float)

    @property
    def landscape(self) -> Optional[Dict[str, Any]]:
        """result["landscape"] (2-D problems only), or None. For an explore() result held in
        memory the grid is computed on first use (landscape_resolution^2 loss calls)."""
        if "landscape" not in self.result and self._landscape_source is not None:
            self.result["landscape"] = self._landscape_source()
            self._landscape_source = None
        return self.result.get("landscape")

    def ride(self, ride_id: int) -> Dict[str, Any]:
        """The tree entry of ride ``ride_id``."""
        for r in self.tree:
            if r.get("id") == ride_id:
                return r
        raise KeyError(f"no ride {ride_id} in {self.path or self.name}")

    def steps(self) -> Dict[int, List[Dict[str, Any]]]:
        """{ride id: its step events, ordered by step}."""
        out: Dict[int, List[Dict[str, Any]]] = {}
        for e in self.events:
            if e.get("event") == "step" and "ride" in e:
                out.setdefault(int(e["ride"]), []).append(e)
        for evs in out.values():
            evs.sort(key=lambda e: e.get("step", 0))  # stable: keeps file order on ties
        return out

    def ride_paths(self) -> Dict[int, np.ndarray]:
        """{ride id: (n_points, dim) array}: the ride's start_x followed by the x of its
        step events; [start_x, end_x] when the ride has no step events (e.g. events.jsonl is
        missing); [start_x] alone for a pending ride without an end point."""
        steps = self.steps()
        paths: Dict[int, np.ndarray] = {}
        for r in self.tree:
            rid = int(r["id"])
            start = np.asarray(r.get("start_x", []), dtype=float)
            pts = [start]
            evs = steps.get(rid, [])
            if evs:
                pts.extend(np.asarray(e["x"], dtype=float) for e in evs if "x" in e)
            else:
                end = r.get("end_x")
                if end is not None and len(end) == len(start) and r.get("end_reason") != "pending":
                    pts.append(np.asarray(end, dtype=float))
            paths[rid] = np.vstack(pts) if start.size else np.empty((0, self.dim))
        return paths

    def to_dict(self) -> Dict[str, Any]:
        """The result as plain data: result.json's object (a deep copy) with the events
        under "events"."""
        import copy

        self.landscape  # noqa: B018  (a deferred 2-D landscape grid is part of the data)
        d = copy.deepcopy(self.result)
        d["events"] = copy.deepcopy(self.events)
        return d

    # -- figures (matplotlib; each returns the Figure, see ridgerider.plot) ----------------
    def plot_landscape(self, ax=None):
        """Contours of a 2-D loss with every ride and the solutions."""
        from .plot import plot_landscape
        return plot_landscape(self, ax=ax)

    def plot_tree(self, ax=None):
        """The ride tree as a disconnectivity-style graph (loss on the vertical axis)."""
        from .plot import plot_tree
        return plot_tree(self, ax=ax)

    def plot_spectrum(self, ax=None):
        """The tracked eigenvalue along each ride."""
        from .plot import plot_spectrum
        return plot_spectrum(self, ax=ax)

    def __repr__(self) -> str:
        return (f"Run({None if self.path is None else str(self.path)!r}, problem={self.name!r}, dim={self.dim}, "
                f"rides={len(self.tree)}, solutions={len(self.solutions)})")


def _read_json(path: Path) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: malformed JSON (line {e.lineno}, column {e.colno}): {e.msg}") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text: {e}") from e


def _read_events(path: Path) -> List[Dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: malformed JSON on line {lineno}: {e.msg}") from e
            if not isinstance(ev, dict):
                raise ValueError(f"{path}: line {lineno} is not a JSON object")
            events.append(ev)
    return events


def load(dir: PathLike) -> Run:  # noqa: A002  (the documented name)
    """Loads the result directory ``dir`` (or the result.json file inside it).

    Raises FileNotFoundError when the directory or its result.json is missing (a run that
    has not finished has no result.json), ValueError when a file is not valid JSON or is not
    a ridgerider result.
    """
    p = Path(dir)
    if p.is_file() and p.name == "result.json":
        p = p.parent
    if not p.exists():
        raise FileNotFoundError(2, "result directory not found", str(p))
    if not p.is_dir():
        raise FileNotFoundError(2, "not a result directory", str(p))
    result_path = p / "result.json"
    if not result_path.is_file():
        raise FileNotFoundError(
            2, "no result.json (not a ridgerider result directory, or the run did not finish)",
            str(result_path))
    result = _read_json(result_path)
    if not isinstance(result, dict):
        raise ValueError(f"{result_path}: expected a JSON object at the top level")
    fmt = result.get("format")
    if fmt is not None and not str(fmt).startswith(FORMAT_PREFIX):
        raise ValueError(f"{result_path}: unknown format {fmt!r} (expected {FORMAT_PREFIX}N)")
    return Run(p, _resolve_vectors(result, p), _read_events(p / "events.jsonl"))


def _resolve_vectors(obj: Any, base: Path) -> Any:
    """Replaces every {"npy": "vectors/<hash>.npy"} (long vectors such as a network's
    parameters, see docs/result-format.md) by the array in that file."""
    if isinstance(obj, dict):
        if len(obj) == 1 and isinstance(obj.get("npy"), str):
            return np.load(base / obj["npy"])
        return {k: _resolve_vectors(v, base) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve_vectors(v, base) for v in obj]
    return obj
