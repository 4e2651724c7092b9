"""Evaluation on a folder of real meshes (PCPNet conventions, ``data.meshes``): per mesh and overall,
as given, under random SO(3) and under random O(3)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from tensorframes_core.data.meshes import MESH_NOISE, benchmark_cloud, condition_seed, mesh_files, read_mesh
from tensorframes_core.train.data import TEST_SEED
from tensorframes_core.train.evaluate import ROTATIONS, angle_errors, eval_rotations
from tensorframes_core.train.metrics import METRICS, summarize

Condition = Tuple[str, float, str]  # (rotation, noise, density)


def density_k_grid(n_points: int) -> list[int]:
    """Neighbourhood sizes for classical baselines that fit the density: 8..128 at 2,048 points, growing
    as ``sqrt(n_points / 2048)`` (between a fixed count and a fixed area), so the grid brackets the best k.

    >>> density_k_grid(2048), density_k_grid(20000)
    ([8, 16, 32, 64, 128], [25, 50, 100, 200, 400])
    """
    factor = max(1.0, (n_points / 2048) ** 0.5)
    return sorted({max(6, round(k * factor)) for k in (8, 16, 32, 64, 128)})


def mesh_names(paths) -> list[str]:
    """Short unique names: the file stem, with the parent folder where two stems clash."""
    stems = [p.stem for p in paths]
    return [f"{p.parent.name}/{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in paths]


def evaluate_meshes(
    model: nn.Module,
    root,
    n_points: int = 2048,
    noise: Sequence[float] = MESH_NOISE,
    densities: Sequence[str] = ("uniform",),
    rotations: Sequence[str] = ROTATIONS,
    seed: int = TEST_SEED,
    batch_size: int = 4,
    device: Optional[Union[str, torch.device]] = None,
) -> Dict[Condition, Dict[str, Any]]:
    """Metrics of ``model`` per ``(rotation, noise, density)``: each metric of ``train.metrics.METRICS``
    averaged over the meshes (PCPNet averages per-shape RMS), and ``per_mesh``: ``{name: metrics}``.
    Every model gets the same clouds and the same matrices."""
    paths = mesh_files(root)
    names = mesh_names(paths)
    meshes = [read_mesh(p) for p in paths]
    results: Dict[Condition, Dict[str, Any]] = {}
    for level in noise:
        for density in densities:
            clouds = [benchmark_cloud(v, f, n_points, float(level), density, condition_seed(name, level, density, seed))
                      for name, (v, f) in zip(names, meshes)]
            for kind in rotations:
                errors, cloud = angle_errors(model, clouds, eval_rotations(kind, len(clouds), seed), batch_size, device)
                per_mesh = {name: summarize(errors[cloud == i]) for i, name in enumerate(names)}
                overall = {m: sum(r[m] for r in per_mesh.values()) / len(per_mesh) for m in METRICS}
                results[(kind, float(level), density)] = {**overall, "per_mesh": per_mesh}
    return results


def format_mesh_table(results: Dict[Condition, Dict[str, Any]]) -> str:
    """One row per condition: RMS, mean, PGP5 and PGP10 (percent of points under 5 and 10 degrees).

    >>> print(format_mesh_table({("none", 0.0, "uniform"): {"rms": 9.5, "mean": 6.25, "pct_5": 50.0, "pct_10": 80.0}}))
    rotation  noise  density   rms  mean  PGP5  PGP10
        none      0  uniform  9.50  6.25  50.0   80.0
    """
    header = ["rotation", "noise", "density", "rms", "mean", "PGP5", "PGP10"]
    rows = [[kind, f"{level:g}", density, f"{r['rms']:.2f}", f"{r['mean']:.2f}", f"{r['pct_5']:.1f}",
             f"{r['pct_10']:.1f}"] for (kind, level, density), r in results.items()]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header] + rows)
