"""ridgerider.explore() (a Python torch loss, searched by the compiled module) against the CLI on
the same formulas (TorchScript source, native tape) and the Python reference (bench/reference_rr.py).

For every case of `bench_native --cases`: the same options as compare_reference.py (fixed step
rule, no settle), solutions checked to agree, times as medians of --repeats interleaved runs.
  explore search: summary.wall_time_s of rr.explore(f, x0, ...) (the search alone);
  explore call:   the whole rr.explore() call (a 2-D landscape grid is deferred to the first
                  plot, so not included);
  script=True:    rr.explore(..., script=True): the function compiled by torch.jit.script and
                  evaluated as the CLI evaluates TorchScript (search time; whole call in brackets,
                  which includes scripting and saving it);
  CLI search:     summary.wall_time_s of `ridgerider run --objective-source ...` (native tape),
                  and with RIDGERIDER_TORCH_TAPE=0 (LibTorch autograd in C++: the same arithmetic
                  as explore(), so the evaluation counts must be equal too).

    PYTHONPATH=python:build/python /usr/bin/python3 bench/python_api.py [--build build] [--repeats 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_reference as cr  # noqa: E402
import reference_rr  # noqa: E402

import ridgerider as rr  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tol", type=float, default=1e-6)
    a = ap.parse_args()
    cli = os.path.join(a.build, "apps", "ridgerider")
    bench = os.path.join(a.build, "bench", "bench_native")
    torch.set_num_threads(1)
    cr.EXTRA.append("--no-settle")
    cases = json.loads(subprocess.run([bench, "--cases"], check=True, capture_output=True, text=True).stdout)
    tmp = tempfile.mkdtemp(prefix="rr-pyapi-")
    rows, problems = [], []
    for c in cases:
        f = cr.python_function(c["source"])
        scripted = torch.jit.CompilationUnit(c["source"] + "\n").f  # exec'd functions cannot be scripted
        args = ["--objective-source", c["source"], "--x0", cr.x0_text(c["x0"])]
        ref_t, ex_t, call_t, cli_t, ag_t, sc_t, sc_call_t = [], [], [], [], [], [], []
        reference_rr.explore(f, c["x0"])  # warm-up
        rr.explore(f, c["x0"], step_rule="fixed", settle=False)
        for k in range(a.repeats):
            ref = reference_rr.explore(f, c["x0"])
            ref_t.append(ref["search_time_s"])
            t0 = time.perf_counter()
            res = rr.explore(f, c["x0"], step_rule="fixed", settle=False)
            call_t.append(time.perf_counter() - t0)
            ex_t.append(res.summary["wall_time_s"])
            t0 = time.perf_counter()
            sc = rr.explore(scripted, c["x0"], step_rule="fixed", settle=False, script=True)
            sc_call_t.append(time.perf_counter() - t0)
            sc_t.append(sc.summary["wall_time_s"])
            ts = cr.run_cli(cli, args, os.path.join(tmp, f"{c['name']}-{k}"))
            cli_t.append(ts["search_time_s"])
            os.environ["RIDGERIDER_TORCH_TAPE"] = "0"
            ag = cr.run_cli(cli, args, os.path.join(tmp, f"{c['name']}-autograd-{k}"))
            del os.environ["RIDGERIDER_TORCH_TAPE"]
            ag_t.append(ag["search_time_s"])
        sols = [dict(x=s.x.tolist()) for s in res.solutions]
        for label, other in (("CLI (tape)", ts["solutions"]), ("CLI (autograd)", ag["solutions"])):
            d = cr.match(sols, other, a.tol)
            if d is None or d > a.tol:
                problems.append(f"{c['name']}: explore() and {label} differ (max |dx| {d})")
        counts = lambda r: (r["rides"], r["gradients"], r["hessians"])  # noqa: E731
        if counts(res.summary) != counts(ag):
            problems.append(f"{c['name']}: rides/gradients/Hessians explore() {counts(res.summary)} "
                            f"vs CLI (autograd) {counts(ag)}")
        med = statistics.median
        rows.append(dict(case=c["name"], d=c["dim"], rides=res.summary["rides"], solutions=len(sols),
                         gradients=res.summary["gradients"], hessians=res.summary["hessians"],
                         reference_s=med(ref_t), explore_s=med(ex_t), explore_call_s=med(call_t),
                         cli_s=med(cli_t), autograd_s=med(ag_t), script_s=med(sc_t),
                         script_call_s=med(sc_call_t)))
        print(f"  {c['name']}: done", file=sys.stderr)
    fmt = lambda v: f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"  # noqa: E731
    print("\n| formula | d | rides | solutions | gradients / Hessians | python ref | explore() search | "
          "explore() whole call | explore(script=True) search (call) | CLI search, autograd | CLI search, tape | "
          "ref / explore() | explore() / CLI autograd | explore() / CLI tape |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['d']} | {r['rides']} | {r['solutions']} | {r['gradients']} / {r['hessians']} | "
              f"{fmt(r['reference_s'])} | {fmt(r['explore_s'])} | {fmt(r['explore_call_s'])} | "
              f"{fmt(r['script_s'])} ({fmt(r['script_call_s'])}) | {fmt(r['autograd_s'])} | {fmt(r['cli_s'])} | {r['reference_s'] / r['explore_s']:.1f}x | "
              f"{r['explore_s'] / r['autograd_s']:.1f}x | {r['explore_s'] / r['cli_s']:.0f}x |")
    print("\n" + ("DIFFERENCES:\n  " + "\n  ".join(problems) if problems else
                  f"explore() and the CLI agree on every case (solutions within {a.tol}; counts equal "
                  f"to the CLI's autograd path)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
