"""Ridge Rider: follow Hessian eigenvectors from saddles.

This package reads the result directories written by ``ridgerider run --out DIR``
(see docs/result-format.md) and plots them::

    import ridgerider
    run = ridgerider.load("out/toy2d")
    from ridgerider import plot
    plot.plot_landscape(run).savefig("landscape.png")

The compiled extension (``ridgerider._core``) is optional: loading and plotting work
without it.
"""

from .results import Run, Solution, load

try:  # the compiled bindings, when they have been built
    from . import _core  # noqa: F401
except ImportError:  # pure-Python use: loading and plotting results only
    _core = None

__all__ = ["load", "Run", "Solution"]
