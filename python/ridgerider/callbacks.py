"""Callbacks: watch a search while it runs, and stop it early.

Subclass :class:`Callback` and override any of its three methods; pass instances to
``ridgerider.explore(..., callbacks=[...])``. Each method may return ``None`` (or
:data:`CONTINUE`) to go on, :data:`STOP_RIDE` to end the current ride there, or :data:`ABORT`
to stop the whole search; everything found up to then is kept in the result. Several callbacks
combine as in the C++ library: the strongest answer wins (abort > stop-ride > continue)::

    class StopAtLoss(ridgerider.Callback):
        def on_leaf(self, solution, ride):
            if solution.loss < 1e-3:
                return ridgerider.ABORT

The dicts have the keys of ``events.jsonl`` (steps) and of ``result.json``'s ``tree``
(rides); see docs/result-format.md.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Iterable, List, Optional

from .results import Solution

CONTINUE = "continue"
STOP_RIDE = "stop-ride"
ABORT = "abort"

_STRENGTH = {None: 0, CONTINUE: 0, STOP_RIDE: 1, ABORT: 2}

__all__ = ["Callback", "PrintProgress", "StopAfterSolutions", "CONTINUE", "STOP_RIDE", "ABORT"]


class Callback:
    """Base class of search callbacks; every method does nothing by default."""

    def on_step(self, event: Dict[str, Any]) -> Optional[str]:
        """After every step of a ride: ``event`` has ride, step, x (a NumPy array), loss,
        eigenvalue, overlap, step_size, grad_norm. x is None when rides ran on threads and x
        has more than 1000 coordinates (buffering every step's parameters would not fit in
        memory). Only called for callbacks that override it (building the dict costs a little
        on every step)."""
        return None

    def on_ride_end(self, ride: Dict[str, Any]) -> Optional[str]:
        """After a ride: ``ride`` is its entry of result.json's tree (id, parent, path, end_loss,
        end_reason, children, ...)."""
        return None

    def on_leaf(self, solution: Solution, ride: Dict[str, Any]) -> Optional[str]:
        """When a ride ends in a leaf: the (possibly already known) solution it merged into."""
        return None


class PrintProgress(Callback):
    """A progress line (rides, leaves, solutions, time) at most every ``interval`` seconds."""

    def __init__(self, interval: float = 1.0, file=None):
        self.interval = float(interval)
        self.file = file
        self.rides = self.leaves = self.solutions = 0
        self._start = self._last = time.monotonic()

    def on_ride_end(self, ride):
        self.rides += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(f"ridgerider: {self.rides} rides (depth {ride.get('depth')}), {self.leaves} leaves, "
                  f"{self.solutions} solutions, {now - self._start:.1f} s",
                  file=self.file or sys.stderr, flush=True)
        return None

    def on_leaf(self, solution, ride):
        self.leaves += 1
        self.solutions = max(self.solutions, solution.id + 1)
        return None


class StopAfterSolutions(Callback):
    """Aborts the search once ``n`` distinct solutions have been found (optionally only counting
    verified minima)."""

    def __init__(self, n: int, minima_only: bool = False):
        if n < 1:
            raise ValueError("StopAfterSolutions: n must be >= 1")
        self.n = int(n)
        self.minima_only = minima_only
        self.seen: set = set()

    def on_leaf(self, solution, ride):
        if solution.is_minimum or not self.minima_only:
            self.seen.add(solution.id)
        return ABORT if len(self.seen) >= self.n else None


class _Dispatch:
    """What the compiled search calls: converts its dicts for the user's callbacks and combines
    their answers."""

    def __init__(self, callbacks: Iterable[Callback]):
        self.callbacks: List[Callback] = list(callbacks)
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be ridgerider.Callback instances, got {type(c).__name__}")
        self.steppers = [c for c in self.callbacks if type(c).on_step is not Callback.on_step]
        self.wants_steps = bool(self.steppers)

    @staticmethod
    def _combine(answers) -> str:
        best = CONTINUE
        for a in answers:
            if a not in _STRENGTH:
                raise ValueError(f"a callback must return None, {CONTINUE!r}, {STOP_RIDE!r} or {ABORT!r}, not {a!r}")
            if _STRENGTH[a] > _STRENGTH[best]:
                best = a
        return best

    def on_step(self, event):
        return self._combine([c.on_step(event) for c in self.steppers])

    def on_ride_end(self, ride):
        return self._combine([c.on_ride_end(ride) for c in self.callbacks])

    def on_leaf(self, solution, ride):
        s = Solution.from_dict(solution)
        return self._combine([c.on_leaf(s, ride) for c in self.callbacks])
