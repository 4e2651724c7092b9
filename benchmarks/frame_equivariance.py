"""Equivariance on geometry that is hard for frames: boxes, cylinders, CAD-like meshes, gallery shapes.

    OMP_NUM_THREADS=1 python benchmarks/frame_equivariance.py [--dtype float32|float64] [--points 2048] [--rows 0:13]
    OMP_NUM_THREADS=1 python benchmarks/frame_equivariance.py --jumps 12

For each cloud, each model x mode that uses frames (random init, eval mode) and the bare frames: the
worst relative error ``||f(g x) - g f(x)|| / ||f(x)||`` over 4 random O(3) elements (2 improper), and
the share of points whose frame fell back (in x or in any g x). The issue-11 targets: float32 error
<= 1e-4 and fallbacks <= 0.5%; float64 error <= 1e-9. The gallery's symmetric sheet (``disk``) is left
out: no frame can be equivariant on it, and every point falls back by design.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import tensorframes_core as tf
from tensorframes_core.data import shapes
from tensorframes_core.data.formats import sample_mesh
from tensorframes_core.equivariance import relative_equivariance_error

SYMMETRIC = ("disk",)  # its own mirror image: every frame falls back by design (README, lesson 7)
MODELS = [(arch, mode, frames) for arch in ("dgcnn", "pointnet2", "gcn", "transformer")
          for mode in ("scalar_frames", "tensor_frames") for frames in ("pca", "learned")]


def _box(sides, n, seed, noise=0.0):
    import trimesh
    mesh = trimesh.creation.box(extents=sides)
    return _mesh_cloud(mesh, n, seed, noise)


def _mesh_cloud(mesh, n, seed, noise=0.0):
    pos, _ = sample_mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    diag = float(np.linalg.norm(pos.max(0) - pos.min(0)))
    return pos + rng.normal(scale=noise * diag, size=pos.shape)


def cad_parts():
    """CAD-like meshes made with trimesh: a chamfered block, a block with a boss, an L-bracket, a flange."""
    import trimesh
    shift = trimesh.transformations.translation_matrix
    c = np.array([[x, y, z] for x in (-1, 1) for y in (-0.6, 0.6) for z in (-0.3, 0.3)], float)
    chamfer = np.concatenate([c[(c[:, 0] < 0) | (c[:, 2] < 0)],
                              [[0.8, y, 0.3] for y in (-0.6, 0.6)] + [[1.0, y, 0.1] for y in (-0.6, 0.6)]])
    boss = trimesh.util.concatenate([trimesh.creation.box(extents=(2.0, 1.2, 0.4)),
                                     trimesh.creation.cylinder(radius=0.3, height=0.5, sections=48,
                                                               transform=shift((0.4, 0.1, 0.45)))])
    bracket = trimesh.util.concatenate([trimesh.creation.box(extents=(2.0, 1.0, 0.25)),
                                        trimesh.creation.box(extents=(0.25, 1.0, 1.3),
                                                             transform=shift((-0.875, 0, 0.775)))])
    flange = trimesh.util.concatenate([trimesh.creation.cylinder(radius=1.0, height=0.2, sections=64),
                                       trimesh.creation.cylinder(radius=0.45, height=0.9, sections=64,
                                                                 transform=shift((0.05, 0, 0.45)))])
    return {"chamfered block": trimesh.convex.convex_hull(chamfer), "block + boss": boss,
            "L-bracket": bracket, "flange": flange}


def clouds(n: int):
    out = {
        "box 2x1x0.5": _box((2, 1, 0.5), n, 0),
        "box 2x1x0.5 noise 0.6%": _box((2, 1, 0.5), n, 0, noise=0.006),
        "box 3x2x1 translated": _box((3, 2, 1), n, 1) + np.array([5.0, -3.0, 2.0]),
        "box 2x1x0.5 x1e-3": _box((2, 1, 0.5), n, 2) * 1e-3,
        "box 2x1x0.5 x1e3": _box((2, 1, 0.5), n, 3) * 1e3,
    }
    out.update({name: _mesh_cloud(mesh, n, 4) for name, mesh in cad_parts().items()})
    for name in shapes.NAMES:
        if name not in SYMMETRIC:
            out[f"gallery {name}"] = shapes.make(name, n, seed=0).pos
    return out


def _frame_rows(build):
    """Frames as a function with vector outputs: every axis (row) turns like a vector."""
    def run(p):
        with torch.no_grad():
            frames = build(p)
        return frames.matrices.reshape(-1, p.shape[1]), frames.fallback_mask
    return run


def measure(fn, pos, gs):
    """Worst relative error over ``gs`` and the fallback share (x or any g x); ``fn(pos) -> (out, mask)``."""
    ref, mask = fn(pos)
    worst, any_fb = 0.0, mask.clone()
    for g in gs:
        moved, moved_mask = fn(pos @ g.T)
        worst = max(worst, relative_equivariance_error(ref, moved, g))
        any_fb |= moved_mask
    return worst, float(any_fb.double().mean())


def count_jumps(draws: int, data: dict, gs: torch.Tensor) -> None:
    """Print, per draw of learned-frame weights, the points whose (normalised-cloud) frame jumps."""
    from tensorframes_core.models.base import normalise_clouds
    jumps = fell = total = 0
    for draw in range(draws):
        torch.manual_seed(1000 + draw)
        frames = tf.LearnedFrames(k=16).to(gs.dtype).eval()
        for cloud, pos in data.items():
            p = torch.as_tensor(np.ascontiguousarray(pos), dtype=gs.dtype)
            batch = torch.zeros(len(p), dtype=torch.long)
            with torch.no_grad():
                ref = frames(normalise_clouds(p, batch, 1), batch)
                for g in gs:
                    moved = frames(normalise_clouds(p @ g.T, batch, 1), batch)
                    off = (moved.matrices - ref.matrices @ g.T).abs().amax(dim=(1, 2)) > 0.05
                    skip = ref.fallback_mask | moved.fallback_mask
                    jumps, fell, total = jumps + int((off & ~skip).sum()), fell + int(skip.sum()), total + len(p)
                    if bool((off & ~skip).any()):
                        print(f"draw {draw}, {cloud}: {int((off & ~skip).sum())} point(s) jump", flush=True)
    print(f"learned frames, {draws} draws: {jumps} jumps at points that did not fall back, {fell} fallbacks, "
          f"in {total} point-transforms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--points", type=int, default=2048)
    parser.add_argument("--models", default="all", help="'all', 'frames' (bare frames only) or arch/mode/frames,...")
    parser.add_argument("--rows", default=":", help="a slice of the clouds, e.g. 0:13 and 13: in two processes")
    parser.add_argument("--jumps", type=int, default=0, help="count frame jumps over this many weight draws")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(7)
    gs = tf.random_orthogonal(4, dtype=dtype, generator=gen)
    gs[1::2, 0] *= -1
    start, _, stop = args.rows.partition(":")
    data = dict(list(clouds(args.points).items())[int(start or 0):int(stop) if stop else None])
    if args.jumps:
        return count_jumps(args.jumps, data, gs)
    torch.manual_seed(0)
    fns = {"frames pca": _frame_rows(lambda p: tf.pca_frames(p, k=16)),
           "frames learned": _frame_rows(tf.LearnedFrames(k=16).to(dtype).eval())}
    if args.models != "frames":
        chosen = MODELS if args.models == "all" else [tuple(m.split("/")) for m in args.models.split(",")]
        for arch, mode, frames in chosen:
            model = tf.build_model(arch, mode, frames).to(dtype).eval()

            def run(p, model=model):
                with torch.no_grad():
                    out, aux = model(p, return_aux=True)
                return out, aux["fallback_mask"]
            fns[f"{arch}/{mode}/{frames}"] = run
    names = list(fns)
    print(f"{args.dtype}, {args.points} points, 4 random O(3) elements (2 improper): error / fallback share")
    worst = {name: (0.0, 0.0) for name in names}
    for cloud, pos in data.items():
        p = torch.as_tensor(np.ascontiguousarray(pos), dtype=dtype)
        cells = []
        for name in names:
            e, fb = measure(fns[name], p, gs)
            worst[name] = (max(worst[name][0], e), max(worst[name][1], fb))
            cells.append(f"{e:8.1e} {100 * fb:5.2f}%")
        print(f"{cloud:28s} " + " | ".join(cells), flush=True)
    target = 1e-4 if dtype == torch.float32 else 1e-9
    print(f"worst per column (targets: error <= {target:.0e}, fallbacks <= 0.5%):")
    for name in names:
        met = worst[name][0] <= target and worst[name][1] <= 0.005
        print(f"  {name:36s} error {worst[name][0]:.1e}  fallbacks {100 * worst[name][1]:.2f}%  "
              f"{'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
