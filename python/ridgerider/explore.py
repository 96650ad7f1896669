"""Ridge Rider on a loss written in Python; the search itself runs in C++ (ridgerider._core).

    import ridgerider as rr, torch
    def loss(x):                      # any torch function of a flat parameter tensor
        return (x[0]**2 - 1)**2 + 2 * x[1]**2
    res = rr.explore(loss, x0=[0.0, 0.0], seed=0)
    for s in res.solutions: print(s.x, s.loss, s.fingerprint)

Options are the CLI's (``ridgerider run --help``), as keyword arguments with ``_`` for ``-``
(``step_size=0.1`` is ``--step-size 0.1``), with the same defaults, checks and messages (a bad
value raises ValueError). The result is a :class:`ridgerider.Run`, the class
``ridgerider.load(dir)`` returns for a CLI run; ``out=DIR`` also writes the directory the CLI
would (result.json, events.jsonl, solutions.csv, landscape.png for 2-D losses).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Union

import numpy as np

from .callbacks import Callback, _Dispatch
from .results import Run, load

__all__ = ["explore", "explore_model", "options", "model_vector", "set_model_vector"]


def _core():
    try:
        from . import _core as core
    except ImportError as e:
        raise ImportError(
            "ridgerider's compiled module (ridgerider._core) is not built or not on the path: run "
            "`make build` and put both python/ and build/python/ on PYTHONPATH "
            "(PYTHONPATH=python:build/python /usr/bin/python3); see README.md, 'From Python'") from e
    return core


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (np.ndarray, tuple)):
        return [_jsonable(e) for e in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, list):
        return [_jsonable(e) for e in v]
    try:  # torch tensors and other array-likes with .tolist()
        import torch
        if isinstance(v, torch.Tensor):
            return v.detach().cpu().tolist()
    except ImportError:
        pass
    return v


def _options_json(opts: Dict[str, Any]) -> str:
    """Keyword arguments to the JSON object of option keys the C++ table reads."""
    out: Dict[str, Any] = {}
    for key, value in opts.items():
        k = str(key).replace("_", "-")
        if k in out:
            raise ValueError(f"option '{k}' given twice")
        out[k] = _jsonable(value)
    try:
        return json.dumps(out, allow_nan=True)
    except TypeError as e:
        raise ValueError(f"options must be numbers, booleans, strings or lists: {e}") from None


def options(**opts) -> Dict[str, Any]:
    """Every option with its value after applying ``opts`` over the defaults: what
    ``result.json`` records. Raises ValueError as the CLI would for a bad name or value."""
    return json.loads(_core().check_options(_options_json(opts)))


def _as_x0(x0) -> list:
    try:
        import torch
        if isinstance(x0, torch.Tensor):
            x0 = x0.detach().cpu().numpy()
    except ImportError:
        pass
    a = np.asarray(x0, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-D list of numbers, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x0 must be finite")
    return a.tolist()


def _run(objective, x0: list, opts: Dict[str, Any], out, callbacks, name: str, plot: bool) -> Run:
    core = _core()
    options_json = _options_json(opts)
    core.check_options(options_json)  # bad options fail before anything is written
    dispatch = _Dispatch(callbacks or [])
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="ridgerider-")
        target = Path(tmp.name)
    else:
        target = Path(out)
        for f in ("result.json", "checkpoint.json", "events.jsonl", "solutions.csv"):  # never over a run
            if (target / f).exists():
                raise FileExistsError(f"{target} already holds a run ({f}); choose another directory")
    try:
        try:
            # In memory, a 2-D loss's landscape grid waits for the first plot (it costs
            # landscape_resolution^2 calls of the loss); a directory gets it as the CLI's does.
            done = core.explore(objective, x0, options_json, str(target),
                                dispatch if dispatch.callbacks else None, name, tmp is None)
        except BaseException as e:  # the loss or a callback raised: keep what was found
            if (target / "result.json").is_file():
                partial = load(target)
                if tmp is not None:
                    partial.path = None
                e.partial_result = partial  # type: ignore[attr-defined]
                if hasattr(e, "add_note"):
                    e.add_note("ridgerider: the search stopped here; what it had found is in the "
                               "exception's .partial_result" + ("" if tmp else f" and in {target}"))
            raise
        run = load(target)
        if tmp is None and plot and run.dim == 2 and run.options.get("plot", True):
            from . import plot as rplot
            rplot.save(run, "landscape", target / "landscape.png")
    finally:
        if tmp is not None:
            tmp.cleanup()
    if tmp is not None:
        run.path = None  # held in memory only
        bounds = done["landscape_bounds"]
        if bounds is not None and "landscape" not in run.result:
            lo, hi = bounds
            resolution = int(run.options.get("landscape-resolution", 121))
            run._landscape_source = lambda: json.loads(core.landscape(objective, lo, hi, resolution))
    return run


def _scripted_objective(core, loss, dim: int, required: bool):
    """The loss compiled by torch.jit.script and loaded as the CLI loads a .pt file (native tape
    where its graph translates), or None when it does not script (then the Python function is
    called instead)."""
    import torch
    try:
        scripted = loss if isinstance(loss, torch.jit.ScriptFunction) else torch.jit.script(loss)
        with tempfile.TemporaryDirectory(prefix="ridgerider-") as d:
            path = str(Path(d) / "loss.pt")
            torch.jit.save(scripted, path)
            return core.torchscript_file_objective(path, dim)
    except Exception as e:  # not TorchScript (closures, Python objects, ...), or fails at x = 0
        if required:
            raise ValueError(f"script=True: the loss does not work as TorchScript: "
                             f"{' '.join(str(e).split())[:300]}") from None
        return None


def explore(loss: Callable, x0, *, grad: Optional[Callable] = None, hvp: Optional[Callable] = None,
            hessian: Optional[Callable] = None, callbacks: Optional[Iterable[Callback]] = None,
            out: Optional[Union[str, Path]] = None, name: str = "python", script: Optional[bool] = False,
            **opts) -> Run:
    """Explores ``loss`` with exact Ridge Rider (dense Hessian at every step) from ``x0``.

    loss:      a function of a 1-D float64 ``torch.Tensor`` returning a one-element tensor;
               gradients, Hessian-vector products and Hessians come from torch autograd (one
               Python call per point: the graph is reused for every derivative there). Or, with
               ``grad=``, a function of a NumPy array returning a float (no torch needed).
    grad, hvp, hessian:
               NumPy callables ``grad(x) -> (d,)``, ``hvp(x, v) -> (d,)``, ``hessian(x) -> (d, d)``;
               without hvp and hessian, HVPs are central differences of ``grad``.
    x0:        the start point (a saddle or a maximum; add ``mis=True`` to refine a nearby or
               merely symmetric start). Its length is the dimension.
    callbacks: :class:`ridgerider.Callback` instances (progress, early stop).
    out:       also write the CLI's result directory there (refused if it already holds a run).
    name:      the problem's name in the result.
    script:    False (default): call the Python function. True: compile it with torch.jit.script
               and evaluate it as the CLI evaluates TorchScript (a native tape of the formula
               where it translates: 10-20x faster on small formulas), ValueError if it does not
               script. None: try that, fall back to calling the function.
    **opts:    the CLI's options (``seed=0, step_size=0.05, max_rides=100, order="depth-first"``...).

    Returns a :class:`ridgerider.Run`. A Python exception raised by ``loss`` or a callback stops
    the search and propagates, with what was found so far as its ``partial_result``.
    """
    core = _core()
    xs = _as_x0(x0)
    if grad is None:
        if hvp is not None or hessian is not None:
            raise ValueError("hvp= and hessian= need grad= (NumPy mode); a torch loss gets them from autograd")
        objective = None
        if script or script is None:
            objective = _scripted_objective(core, loss, len(xs), required=bool(script))
        if objective is None:
            objective = core.torch_objective(loss, len(xs), name)
    elif script:
        raise ValueError("script=True is for torch losses, not NumPy callables (grad=)")
    else:
        objective = core.numpy_objective(len(xs), loss, grad, hvp, hessian, name)
    return _run(objective, xs, opts, out, callbacks, name, plot=True)


# --------------------------------------------------------------------------------------
# nn.Module
# --------------------------------------------------------------------------------------
def _functional_call():
    try:
        from torch.func import functional_call  # torch >= 2.0
    except ImportError:
        from torch.nn.utils.stateless import functional_call  # torch 1.13
    return functional_call


def model_vector(model) -> np.ndarray:
    """The model's trainable parameters as one flat float64 vector (the order of
    ``model.named_parameters()``): the coordinates ``explore_model`` explores in."""
    import torch
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).double().cpu()
                          for p in model.parameters() if p.requires_grad]).numpy()


def set_model_vector(model, x) -> None:
    """Writes a flat vector (e.g. a solution's ``x``) into the model's trainable parameters."""
    import torch
    v = torch.as_tensor(np.asarray(x, dtype=float))
    params = [p for p in model.parameters() if p.requires_grad]
    n = sum(p.numel() for p in params)
    if v.numel() != n:
        raise ValueError(f"the vector has {v.numel()} numbers but the model has {n} trainable parameters")
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(v.to(params[0].dtype), params)


_DENSE_LIMIT = 2000  # without the matrix-free spectrum, the largest model explore_model accepts


def explore_model(model, loss_fn: Callable, data, targets, *, k: Optional[int] = 4, x0=None,
                  callbacks: Optional[Iterable[Callback]] = None, out=None, name: Optional[str] = None,
                  **opts) -> Run:
    """Ridge Rider on the trainable parameters of an ``nn.Module``: the loss is
    ``loss_fn(model(data), targets)`` on this one fixed batch, as a function of the flat
    parameter vector (``model_vector``; ``x0`` defaults to the model's current parameters).
    Every evaluation is one stateless forward pass (``functional_call``) and one backward pass;
    HVPs reuse that graph. The model is put in eval mode (dropout/batch-norm statistics would
    make the loss random) and left unchanged: write a solution into it with
    ``set_model_vector(model, solution.x)``.

    k:   ridges followed per branch point (the k most negative eigenvalues: ``max_ridges``,
         and ``eigenpairs`` where the build has the matrix-free spectrum).
    Without the matrix-free spectrum the curvature is the exact path's dense Hessian (d HVPs)
    at every step: small models only (refused above d = 2000); use ``model.double()`` for a
    float64 loss.
    """
    import torch
    functional_call = _functional_call()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    names = [n for n, _ in params]
    shapes = [tuple(p.shape) for _, p in params]
    dtypes = [p.dtype for _, p in params]
    sizes = [p.numel() for _, p in params]
    buffers = dict(model.named_buffers())
    frozen = {n: p for n, p in model.named_parameters() if not p.requires_grad}
    model.eval()

    def loss(x):
        chunks = torch.split(x, sizes)
        state = {n: c.view(s).to(dt) for n, c, s, dt in zip(names, chunks, shapes, dtypes)}
        state.update(frozen)
        state.update(buffers)
        return loss_fn(functional_call(model, state, (data,)), targets)

    core = _core()
    keys = {o["key"] for o in core.option_table()}
    given = {str(key).replace("_", "-") for key in opts}
    if k is not None:
        # k ridges per branch point; with the matrix-free spectrum also the eigenpairs solved there.
        for key in ("max-ridges", "eigenpairs"):
            if key in keys:
                if key in given:
                    raise ValueError(f"give k or {key.replace('-', '_')}, not both")
                opts[key] = k
    xs = _as_x0(model_vector(model) if x0 is None else x0)
    if len(xs) != sum(sizes):
        raise ValueError(f"x0 has {len(xs)} numbers but the model has {sum(sizes)} trainable parameters")
    if "spectrum-method" not in keys and len(xs) > _DENSE_LIMIT:
        raise ValueError(f"explore_model: the model has {len(xs)} parameters, but this build has only the "
                         f"dense spectrum (a {len(xs)} x {len(xs)} Hessian at every step); it is meant for "
                         f"d <= {_DENSE_LIMIT}")
    label = name or type(model).__name__
    objective = core.torch_objective(loss, len(xs), label)
    return _run(objective, xs, opts, out, callbacks, label, plot=False)
