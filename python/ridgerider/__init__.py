"""Ridge Rider: follow Hessian eigenvectors from saddles to diverse solutions.

Explore a loss written in Python (the search runs in the compiled module)::

    import ridgerider as rr, torch
    def loss(x):                      # any torch function of a flat parameter tensor
        return (x[0]**2 - 1)**2 + 2 * x[1]**2
    res = rr.explore(loss, x0=[0.0, 0.0], seed=0)
    for s in res.solutions: print(s.x, s.loss, s.fingerprint)

read the result directory of a CLI run (``ridgerider run --out DIR``, docs/result-format.md)
and plot either::

    run = rr.load("runs/toy")
    run.plot_tree(); run.plot_landscape(); run.plot_spectrum()   # matplotlib figures

Set-up (README.md, "From Python"): ``make build``, then
``PYTHONPATH=python:build/python /usr/bin/python3``. Loading and plotting work without the
compiled module (``ridgerider._core``); explore() and explore_model() need it.
"""

# The compiled module is built into build/python/ridgerider/, beside (not inside) this source
# folder: let the package span every `ridgerider` folder on sys.path.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

try:
    import numpy  # noqa: F401
except ImportError as _e:  # the usual cause: a python3 other than Debian's first on PATH
    import sys as _sys

    raise ImportError(f"ridgerider needs NumPy, which {_sys.executable} does not have; Debian's "
                      f"numpy, torch and matplotlib are seen by /usr/bin/python3 (README.md, "
                      f"'From Python')") from _e

from .callbacks import ABORT, CONTINUE, STOP_RIDE, Callback, PrintProgress, StopAfterSolutions  # noqa: E402
from .explore import explore, explore_model, model_vector, options, set_model_vector  # noqa: E402
from .results import Run, Solution, load  # noqa: E402

# ridgerider._core (the compiled module) is imported on first use by explore(): it imports
# torch, which loading and plotting do not need.

__all__ = ["explore", "explore_model", "load", "options", "model_vector", "set_model_vector", "Run",
           "Solution", "Callback", "PrintProgress", "StopAfterSolutions", "CONTINUE", "STOP_RIDE",
           "ABORT"]
