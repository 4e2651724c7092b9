"""Whole-cloud normals on CPU: the neighbour search (the library's KD-tree, pykdtree, against scipy's cKDTree
and the torch search) and the estimates (pca, jet), side by side in one run; Open3D's ``estimate_normals``
too when it is installed.

    OMP_NUM_THREADS=1 python benchmarks/normals_search.py [--points 100000,1000000] [--k 16]

Clouds: a torus with 0.1% noise (a scan-like surface). Times are the median of 3 calls, in seconds.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from tensorframes_core.graph import knn_table
from tensorframes_core.normals import jet_normals, neighbour_index, pca_normals
from tensorframes_core.normals.search import KDTree


def timed(fn, repeats: int = 3):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def import_seconds(module: str) -> float:
    """Seconds to import ``module`` in a fresh process (median of 3)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(3))


def _built_and_queried(points: np.ndarray, k: int) -> KDTree:
    tree = KDTree(points)
    tree.query(points, k)
    return tree


def torus(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    pos = np.stack([(1 + 0.35 * np.cos(v)) * np.cos(u), (1 + 0.35 * np.cos(v)) * np.sin(u), 0.35 * np.sin(v)], 1)
    return torch.from_numpy(pos + rng.normal(scale=0.001, size=pos.shape)).float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="100000,1000000")
    parser.add_argument("--k", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"import in a fresh process: scipy.spatial {import_seconds('scipy.spatial'):.2f} s, "
          f"pykdtree.kdtree {import_seconds('pykdtree.kdtree'):.2f} s")
    print("| points | kNN torch, 1 thread | cKDTree build + query, 1 thread | KDTree build + query, 1 thread | "
          "torch / KDTree | cKDTree / KDTree | KDTree query in file / Morton order, 1 thread "
          "| neighbour_index | pca_normals | jet_normals | Open3D estimate_normals |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.points.split(",")):
        pos = torch.as_tensor(torus(n))
        t_torch, _ = timed(lambda: knn_table(pos, pos, args.k, exclude_self=True), 1)
        from scipy.spatial import cKDTree
        points = pos.double().numpy()
        t_ckd, _ = timed(lambda: cKDTree(points, balanced_tree=False).query(points, args.k + 1, workers=1))
        t_kd, tree = timed(lambda: _built_and_queried(points, args.k + 1))
        t_file, _ = timed(lambda: tree.query(points, args.k + 1))
        morton = points[tree.order]
        t_morton, _ = timed(lambda: tree.query(morton, args.k + 1))
        t_tree, index = timed(lambda: neighbour_index(pos, args.k))
        t_pca, _ = timed(lambda: pca_normals(pos, index))
        t_jet, _ = timed(lambda: jet_normals(pos, index), 1)
        try:
            import open3d as o3d
            cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pos.double().numpy()))
            t_o3d, _ = timed(lambda: cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(args.k)))
            o3d_cell = f"{t_o3d:.2f}"
        except ImportError:
            o3d_cell = "not installed"
        print(f"| {n:,} | {t_torch:.2f} | {t_ckd:.2f} | {t_kd:.2f} | {t_torch / t_kd:.1f}x | {t_ckd / t_kd:.1f}x "
              f"| {t_file:.2f} / {t_morton:.2f} | {t_tree:.2f} | {t_pca:.2f} "
              f"| {t_jet:.2f} | {o3d_cell} |", flush=True)


if __name__ == "__main__":
    main()
