"""Same surface, 2,000 to 2,000,000 points: does the estimate keep its quality as the scan gets denser?

    python benchmarks/density_table.py [--mesh assets/meshes/test/bunny.ply] [--points 2000,20000,200000,2000000]
                                       [--noise 0,0.00125] [--methods default,pca] [--model-points 65536,0]

One test mesh (no model saw it), sampled area-weighted with its exact face normals, unit bounding-box
diagonal, Gaussian noise in units of the diagonal (PCPNet conventions, fixed seed per size); every method
through ``tf.estimate_normals``; a model once per ``--model-points`` value (it sees at most that many points,
the others take the nearest one's normal; 0: every point, in tiles above ``tiles.TILE`` points). RMS
unoriented angle error in degrees. Noise fixed in units of the object means that a denser scan has more
noise per point spacing, which no local estimate can ignore; noise 0 isolates the sampling density.
"""
from __future__ import annotations

import argparse
import time

import torch

from tensorframes_core.data.meshes import benchmark_cloud, read_mesh
from tensorframes_core.normals import estimate_normals


def rms_angle(normals: torch.Tensor, exact: torch.Tensor) -> float:
    cos = (normals.double() * exact.double()).sum(1).abs() / normals.double().norm(dim=1).clamp_min(1e-12)
    return float(torch.rad2deg(torch.arccos(cos.clamp(0, 1))).square().mean().sqrt())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="assets/meshes/test/bunny.ply")
    parser.add_argument("--points", default="2000,20000,200000,2000000")
    parser.add_argument("--noise", default="0,0.00125")
    parser.add_argument("--methods", default="default,pca")
    parser.add_argument("--model-points", default="65536,0", help="a model's model_points values, one row each")
    args = parser.parse_args()
    vertices, faces = read_mesh(args.mesh)
    sizes = [int(n) for n in args.points.split(",")]
    runs = []  # (row label, method, model_points)
    for method in args.methods.split(","):
        if method in ("pca", "jet"):
            runs.append((method, method, None))
        else:
            runs += [(f"{method} (model on {f'<= {int(m):,} points' if int(m) else 'every point'})", method, int(m))
                     for m in args.model_points.split(",")]
    print(f"{args.mesh}: RMS unoriented angle error (deg), seconds in brackets")
    print("| noise | method | " + " | ".join(f"{n:,} points" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for noise in (float(x) for x in args.noise.split(",")):
        clouds = [benchmark_cloud(vertices, faces, n, noise, "uniform", seed=n) for n in sizes]
        for label, method, model_points in runs:
            cells = []
            for cloud in clouds:
                start = time.perf_counter()
                normals = estimate_normals(cloud.pos, method, device="cpu", model_points=model_points)
                cells.append(f"{rms_angle(normals, cloud.normal):.2f} ({time.perf_counter() - start:.1f} s)")
            print(f"| {noise:g} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
