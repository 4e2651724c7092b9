"""``tensorframes normals`` on a scan-like file against Open3D, as whole processes (read, estimate, write).

    python benchmarks/normals_scan.py [--points 1000000] [--methods pca,jet,default] [--open3d-path DIR]
                                      [--repeats 3]

A method may carry more flags of the command: ``--methods "pca,default,default --model-points 0"``.

Run it without OMP_NUM_THREADS, as a user runs both tools (the README's table); the table's header says
which setting it ran under.

The file: two objects (a torus and a rounded box, side by side) with exact normals kept aside, 0.05%
noise, binary PLY (x y z, and normal columns of zeros that both tools ignore). Each command runs as its own process under ``/usr/bin/time``
(wall seconds, peak resident memory); accuracy is the unoriented RMS angle (degrees) of the written
normals against the exact ones. Open3D (``estimate_normals`` with KNN 16, the tools scan users have)
runs when it imports, from ``--open3d-path`` if given (e.g. ``pip install --target DIR open3d-cpu``):
it is never a dependency of this package.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tensorframes_core.data import load_point_cloud
from tensorframes_core.data.writers import write_normals

OPEN3D = """
import sys, open3d as o3d
cloud = o3d.io.read_point_cloud(sys.argv[1])
cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(16))
o3d.io.write_point_cloud(sys.argv[2], cloud)
"""


def scan(n: int, seed: int = 0):
    """``(pos, normals)`` float64: half on a torus, half on a box with rounded edges (sharp-ish features)."""
    rng = np.random.default_rng(seed)
    m = n // 2
    u, v = rng.uniform(0, 2 * np.pi, (2, m))
    out = np.stack([np.cos(u) * np.cos(v), np.sin(u) * np.cos(v), np.sin(v)], 1)
    torus = np.stack([np.cos(u), np.sin(u), np.zeros(m)], 1) + 0.35 * out
    # box: |x| <= 0.6, |y| <= 0.4, |z| <= 0.3 around (3, 0, 0), points on faces by area
    half = np.array([0.6, 0.4, 0.3])
    area = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]])
    axis = rng.choice(3, size=n - m, p=area / area.sum())
    sign = rng.choice([-1.0, 1.0], size=n - m)
    box = (rng.uniform(-1, 1, (n - m, 3)) * half)
    box[np.arange(n - m), axis] = sign * half[axis]
    box_normals = np.zeros((n - m, 3))
    box_normals[np.arange(n - m), axis] = sign
    pos = np.concatenate([torus, box + [3.0, 0.0, 0.0]])
    normals = np.concatenate([out, box_normals])
    diagonal = np.linalg.norm(pos.max(0) - pos.min(0))
    return pos + rng.normal(scale=0.0005 * diagonal, size=pos.shape), normals


def timed(cmd, env=None):
    """Wall seconds and peak resident MB of one process."""
    run = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {run.stderr[-500:]}")
    wall, kb = run.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024


def rms_angle(normals: np.ndarray, exact: np.ndarray) -> float:
    cos = np.abs((normals * exact).sum(1) / np.linalg.norm(normals, axis=1).clip(1e-12))
    return float(np.sqrt(np.mean(np.degrees(np.arccos(cos.clip(0, 1))) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--open3d-path", default=None)
    parser.add_argument("--methods", default="pca,jet")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every command, interleaved")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.open3d_path:
        env["PYTHONPATH"] = args.open3d_path + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pos, exact = scan(args.points)
        source = tmp / "scan.ply"
        write_normals(source, pos, np.zeros_like(pos))  # the normal columns are ignored: zeros
        tf = [sys.executable, "-m", "tensorframes_core.cli", "normals", str(source), "--quiet", "--device", "cpu"]
        commands = {}
        for i, method in enumerate(args.methods.split(",")):  # a method may carry flags: "default --model-points 0"
            out = tmp / f"method{i}.ply"
            commands[f"tensorframes normals --method {method}"] = (tf + ["--out", str(out), "--method", *method.split()],
                                                                   out, None)
        commands["Open3D estimate_normals (KNN 16)"] = ([sys.executable, "-c", OPEN3D, str(source),
                                                         str(tmp / "open3d.ply")], tmp / "open3d.ply", env)
        runs = {name: [] for name in commands}
        for _ in range(args.repeats):  # one round runs every command once: a slow spell hits all of them
            for name, (cmd, _, cmd_env) in list(commands.items()):
                try:
                    runs[name].append(timed(cmd, cmd_env))
                except RuntimeError as exc:
                    if cmd_env is None:
                        raise
                    print(f"(Open3D not run: {str(exc).splitlines()[-1]})")
                    del commands[name], runs[name]
        rows = [(name, runs[name], rms_angle(load_point_cloud(out, max_points=10**8, max_bytes=10**10).normals.numpy(),
                                            exact)) for name, (_, out, _) in commands.items()]
    reference = runs.get("Open3D estimate_normals (KNN 16)")
    print(f"{args.points:,} points, two objects, whole processes (read, estimate, write), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, median of {args.repeats} interleaved rounds")
    print("| command | wall s | vs Open3D (range over rounds) | peak MB | RMS angle (deg) |\n|---|---|---|---|---|")
    for name, times, rms in rows:
        wall, mb = np.median([t for t, _ in times]), max(m for _, m in times)
        ratio = "-"
        if reference:
            per_round = [t / r for (t, _), (r, _) in zip(times, reference)]
            ratio = f"{wall / np.median([r for r, _ in reference]):.2f}x ({min(per_round):.2f}-{max(per_round):.2f})"
        print(f"| {name} | {wall:.2f} | {ratio} | {mb:,.0f} | {rms:.2f} |")


if __name__ == "__main__":
    main()
