"""Regenerate the demo meshes in this folder: `python assets/shapes/generate.py` (numpy + trimesh).

knot.ply: a trefoil-knot tube (smooth, curved); twisted_nut.ply: a hexagonal nut with a round hole,
twisted (sharp edges, flat and ruled faces); bumpy_blob.ply: an organic blob with two ears.
"""
from pathlib import Path

import numpy as np
import trimesh

HERE = Path(__file__).parent


def grid_faces(rows: int, cols: int, close_rows: bool, close_cols: bool) -> np.ndarray:
    """Two triangles per quad of a rows x cols vertex grid (indices r * cols + c)."""
    r, c = np.meshgrid(np.arange(rows - (not close_rows)), np.arange(cols - (not close_cols)), indexing="ij")
    a, b = r * cols + c, r * cols + (c + 1) % cols
    d, e = ((r + 1) % rows) * cols + c, ((r + 1) % rows) * cols + (c + 1) % cols
    return np.concatenate([np.stack([a, b, e], -1), np.stack([a, e, d], -1)]).reshape(-1, 3)


def knot(rings: int = 220, sides: int = 14, radius: float = 0.4) -> trimesh.Trimesh:
    t = np.linspace(0, 2 * np.pi, rings, endpoint=False)
    curve = np.stack([np.sin(t) + 2 * np.sin(2 * t), np.cos(t) - 2 * np.cos(2 * t), -np.sin(3 * t)], 1)
    d1 = np.stack([np.cos(t) + 4 * np.cos(2 * t), -np.sin(t) + 4 * np.sin(2 * t), -3 * np.cos(3 * t)], 1)
    d2 = np.stack([-np.sin(t) - 8 * np.sin(2 * t), -np.cos(t) + 8 * np.cos(2 * t), 9 * np.sin(3 * t)], 1)
    tangent = d1 / np.linalg.norm(d1, axis=1, keepdims=True)
    normal = d2 - (d2 * tangent).sum(1, keepdims=True) * tangent  # Frenet frame: curvature > 0
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    phi = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = np.cos(phi)[None, :, None] * normal[:, None] + np.sin(phi)[None, :, None] * binormal[:, None]
    vertices = (curve[:, None] + radius * ring).reshape(-1, 3)
    return trimesh.Trimesh(vertices, grid_faces(rings, sides, True, True), process=False)


def twisted_nut(per_side: int = 8, layers: int = 12, twist: float = 0.5) -> trimesh.Trimesh:
    corners = np.stack([np.cos(np.arange(7) * np.pi / 3), np.sin(np.arange(7) * np.pi / 3)], 1)
    s = np.linspace(0, 1, per_side, endpoint=False)[:, None]
    hexagon = np.concatenate([(1 - s) * corners[i] + s * corners[i + 1] for i in range(6)])
    angle = np.arctan2(hexagon[:, 1], hexagon[:, 0])
    hole = 0.5 * np.stack([np.cos(angle), np.sin(angle)], 1)
    n, z = len(hexagon), np.linspace(-0.4, 0.4, layers + 1)
    # one closed loop of profile rings: outer wall up, top rim, inner wall down, bottom rim
    profile = [np.column_stack([hexagon, np.full(n, h)]) for h in z]
    profile += [np.column_stack([hole, np.full(n, h)]) for h in z[::-1]]
    vertices = np.concatenate(profile)
    c, s_ = np.cos(twist * vertices[:, 2]), np.sin(twist * vertices[:, 2])
    x, y = vertices[:, 0], vertices[:, 1]
    vertices = np.column_stack([c * x - s_ * y, s_ * x + c * y, vertices[:, 2]])
    return trimesh.Trimesh(vertices, grid_faces(len(profile), n, True, True), process=False)


def bumpy_blob(seed: int = 7) -> trimesh.Trimesh:
    sphere = trimesh.creation.icosphere(subdivisions=4)
    d = sphere.vertices
    rng = np.random.default_rng(seed)
    bumps = rng.normal(size=(6, 3))
    bumps /= np.linalg.norm(bumps, axis=1, keepdims=True)
    ears = np.array([[0.35, 0.2, 0.92], [-0.35, 0.2, 0.92]])
    ears /= np.linalg.norm(ears, axis=1, keepdims=True)
    r = 1 + 0.12 * np.exp(-8 * (1 - d @ bumps.T)).sum(1) + 0.6 * np.exp(-40 * (1 - d @ ears.T)).sum(1)
    return trimesh.Trimesh(d * r[:, None] * np.array([1.0, 0.8, 0.9]), sphere.faces, process=False)


if __name__ == "__main__":
    for name, mesh in {"knot": knot(), "twisted_nut": twisted_nut(), "bumpy_blob": bumpy_blob()}.items():
        mesh.export(HERE / f"{name}.ply", encoding="binary")
        print(name, mesh.vertices.shape, mesh.faces.shape, "watertight:", mesh.is_watertight)
