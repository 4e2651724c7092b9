"""Real meshes as a normal-estimation test, with the PCPNet conventions.

Each mesh is centred on its bounding box and scaled to a unit bounding-box diagonal; points are sampled
uniformly by area (or with a density gradient or stripes along a random axis, as
``shapes.keep_probability`` gives), each with its face's exact normal, then moved by Gaussian noise
with a standard deviation of ``noise`` times the diagonal (PCPNet: 0, 0.125%, 0.6%, 1.2%).
Seeds are fixed per mesh, condition and ``seed``, so every model sees the same clouds.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from .cloud import InputError
from .formats import MESH_FORMATS, sample_mesh
from .shapes import keep_probability

MESH_NOISE = (0.0, 0.00125, 0.006, 0.012)
MESH_DENSITIES = ("uniform", "gradient", "striped")


def mesh_files(root: str | Path) -> list[Path]:
    """Every mesh file below ``root`` (``.ply .obj .stl .off .glb``), sorted; ``InputError`` if none."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MESH_FORMATS)
    if not files:
        raise InputError(f"{root}: no mesh files ({' '.join(MESH_FORMATS)}) in it")
    return files


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``vertices (V, 3)`` float64 and ``faces (F, 3)`` int64 of a mesh file (scenes are merged)."""
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure on a foreign file is bad input
        raise InputError(f"{path}: could not read it as a mesh ({type(exc).__name__}: {exc})") from exc
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))), dtype=np.float64)
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), dtype=np.int64)
    if len(faces) == 0 or len(vertices) < 3:
        raise InputError(f"{path}: no triangles in it")
    return vertices, faces


def benchmark_cloud(vertices: np.ndarray, faces: np.ndarray, n_points: int, noise: float, density: str,
                    seed: int) -> Data:
    """One test cloud: ``Data(pos (n, 3), normal (n, 3))`` float32, PCPNet conventions (module docstring)."""
    if density not in MESH_DENSITIES:
        raise InputError(f"unknown density {density!r}; valid: {', '.join(MESH_DENSITIES)}")
    lo, hi = vertices.min(0), vertices.max(0)
    diagonal = float(np.linalg.norm(hi - lo))
    if not diagonal > 0:
        raise InputError("the mesh has zero extent")
    unit = (vertices - (lo + hi) / 2) / diagonal
    rng = np.random.default_rng(seed)
    if density == "uniform":
        pos, normal = sample_mesh(unit, faces, n_points, seed)
    else:
        keep = keep_probability(density, rng)
        box_lo, box_hi = unit.min(0), unit.max(0)
        parts, count, draw = [], 0, 0
        while count < n_points:
            pool, pool_normal = sample_mesh(unit, faces, 4 * n_points, seed + 7919 * (draw + 1))
            mask = rng.random(len(pool)) < keep(pool, box_lo, box_hi)
            parts.append((pool[mask], pool_normal[mask]))
            count += int(mask.sum())
            draw += 1
        pos = np.concatenate([p for p, _ in parts])[:n_points]
        normal = np.concatenate([q for _, q in parts])[:n_points]
    pos = pos + rng.normal(scale=noise, size=pos.shape)
    return Data(pos=torch.from_numpy(pos).float(), normal=torch.from_numpy(normal).float())


def condition_seed(name: str, noise: float, density: str, seed: int) -> int:
    """A fixed seed per mesh name and condition (stable across runs and machines).

    >>> condition_seed("bunny", 0.006, "uniform", 0) == condition_seed("bunny", 0.006, "uniform", 0)
    True
    """
    return (zlib.crc32(f"{name}|{noise:g}|{density}".encode()) + seed) % 2**31
