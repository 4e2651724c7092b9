"""Named elements of O(3): rotations by axis and angle or Euler angles, mirrors, and their products.

>>> import torch
>>> g = transform_matrix(rotation_about("z", 90.0), reflect="x")
>>> (g.round(decimals=6) + 0.0).tolist()
[[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

Tensor = torch.Tensor

AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0), "diagonal": (1.0, 1.0, 1.0)}


def rotation_about(axis: Union[str, Sequence[float]], degrees: float) -> Tensor:
    """The (3, 3) float64 rotation by ``degrees`` about ``axis`` (a name in AXES or a 3-vector), Rodrigues.

    >>> (rotation_about("z", 90.0) @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)).round(decimals=6) + 0.0
    tensor([0., 1., 0.], dtype=torch.float64)
    """
    u = torch.tensor(AXES[axis] if isinstance(axis, str) else axis, dtype=torch.float64)
    u = u / u.norm()
    theta = math.radians(degrees)
    k = torch.tensor([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(theta) * k + (1 - math.cos(theta)) * (k @ k)


def rotation_from_euler(x_deg: float, y_deg: float, z_deg: float) -> Tensor:
    """``Rz @ Ry @ Rx`` (first about x, then y, then z; fixed axes), float64 (3, 3).

    >>> bool(torch.allclose(rotation_from_euler(0, 0, 90), rotation_about("z", 90)))
    True
    """
    return rotation_about("z", z_deg) @ rotation_about("y", y_deg) @ rotation_about("x", x_deg)


def mirror(plane_normal: str) -> Tensor:
    """The reflection ``I - 2 u u^T`` through the plane through 0 normal to axis ``plane_normal``.

    >>> torch.linalg.det(mirror("y")).item()
    -1.0
    """
    u = torch.tensor(AXES[plane_normal], dtype=torch.float64)
    u = u / u.norm()
    return torch.eye(3, dtype=torch.float64) - 2.0 * torch.outer(u, u)


def transform_matrix(rotation: Tensor, reflect: Optional[str] = None) -> Tensor:
    """``g = rotation @ mirror(reflect)`` (reflect first, then rotate), or the rotation alone."""
    return rotation if reflect is None else rotation @ mirror(reflect)
