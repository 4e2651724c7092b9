"""What ``tf.load_pretrained()`` costs a fresh process, step by step, each step timed in its own new process.

    python benchmarks/startup.py [--repeats 3]

Rows: the interpreter with ``import torch``; then ``import torch_geometric`` (the layers subclass PyG's
``MessagePassing``; PyG 2.8 imports ``torch._dynamo`` on the way, timed alone too), alone and after
``import tensorframes_core`` (which defers that import: ``tensorframes_core/_pyg_import.py``); then the whole cold
``load_pretrained()`` (the flagship); and ``load_pretrained()`` in a process that has already imported
torch and PyG (what a notebook or the explorer pays per model); last, the end of a process that imported
torch: the interpreter's teardown against ``os._exit`` (what ``tensorframes normals`` does, ``cli.run``).
Median of ``--repeats`` processes.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STEPS = {
    "import torch (fresh interpreter)": ("import torch", ""),
    "  + import torch._dynamo (PyG imports it)": ("import torch", "import torch._dynamo"),
    "  + import torch_geometric": ("import torch", "import torch_geometric"),
    "  + import torch_geometric after import tensorframes_core": (
        "import torch, tensorframes_core", "import torch_geometric"),
    "  + tf.load_pretrained() cold (PyG, model, weights)": ("import torch", "import tensorframes_core as tf; tf.load_pretrained()"),
    "tf.load_pretrained() with torch and PyG imported": (
        "import torch, torch_geometric, tensorframes_core as tf", "tf.load_pretrained()"),
}
PROBE = """
import time
t0 = time.perf_counter()
{before}
t1 = time.perf_counter()
{step}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def timed(before: str, step: str) -> tuple:
    """``(seconds before the step, seconds of the step)`` in a new interpreter."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before, step=step)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def teardown(end: str) -> float:
    """Seconds from a fresh process's last statement (after ``import torch``) to its exit, ending by ``end``."""
    code = f"import sys, time, os, torch; print(time.time()); sys.stdout.flush(); {end}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return time.time() - float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| step | seconds (median) |\n|---|---|")
    for name, (before, step) in STEPS.items():
        runs = [timed(before, step) for _ in range(args.repeats)]
        seconds = statistics.median(r[0] if not step else r[1] for r in runs)
        print(f"| {name} | {seconds:.2f} |", flush=True)
    for name, end in (("the end of a process that imported torch: teardown", "pass"),
                      ("the end of a process that imported torch: os._exit", "os._exit(0)")):
        print(f"| {name} | {statistics.median(teardown(end) for _ in range(args.repeats)):.2f} |", flush=True)


if __name__ == "__main__":
    main()
