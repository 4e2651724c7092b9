"""CORE GAPS: small numeric helpers the app needs and ``tensorframes_core`` does not offer (yet).

Everything here is math, so it belongs in the core; it lives here only until the lead moves it
(suggested homes in brackets). The app imports these names from this one module, so moving them
is a one-line change per name.

>>> import torch
>>> g = transform_matrix(rotation_about("z", 90.0), reflect="x")
>>> (g.round(decimals=6) + 0.0).tolist()
[[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from tensorframes_core.reps import as_reps

Tensor = torch.Tensor

AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0), "diagonal": (1.0, 1.0, 1.0)}


def rotation_about(axis: str | Sequence[float], degrees: float) -> Tensor:
    """The (3, 3) float64 rotation by ``degrees`` about ``axis`` (a name in AXES or a 3-vector), Rodrigues.

    [core: equivariance.rotation_matrix]

    >>> (rotation_about("z", 90.0) @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)).round(decimals=6) + 0.0
    tensor([0., 1., 0.], dtype=torch.float64)
    """
    u = torch.tensor(AXES[axis] if isinstance(axis, str) else axis, dtype=torch.float64)
    u = u / u.norm()
    theta = math.radians(degrees)
    k = torch.tensor([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(theta) * k + (1 - math.cos(theta)) * (k @ k)


def rotation_from_euler(x_deg: float, y_deg: float, z_deg: float) -> Tensor:
    """``Rz @ Ry @ Rx`` (first about x, then y, then z; fixed axes), float64 (3, 3).  [core: equivariance]

    >>> bool(torch.allclose(rotation_from_euler(0, 0, 90), rotation_about("z", 90)))
    True
    """
    return rotation_about("z", z_deg) @ rotation_about("y", y_deg) @ rotation_about("x", x_deg)


def mirror(plane_normal: str) -> Tensor:
    """The reflection ``I - 2 u u^T`` through the plane through 0 normal to axis ``plane_normal``.  [core]

    >>> torch.linalg.det(mirror("y")).item()
    -1.0
    """
    u = torch.tensor(AXES[plane_normal], dtype=torch.float64)
    u = u / u.norm()
    return torch.eye(3, dtype=torch.float64) - 2.0 * torch.outer(u, u)


def transform_matrix(rotation: Tensor, reflect: str | None = None) -> Tensor:
    """``g = rotation @ mirror(reflect)`` (reflect first, then rotate), or the rotation alone."""
    return rotation if reflect is None else rotation @ mirror(reflect)


def relative_equivariance_error(f_x: Tensor, f_gx: Tensor, g: Tensor, out_reps: str = "1x1n") -> float:
    """``||f(g x) - rho(g) f(x)|| / ||f(x)||`` for one given ``g``.  [core: equivariance, next to equivariance_error]

    >>> f = torch.randn(5, 3, dtype=torch.float64)
    >>> relative_equivariance_error(f, f @ mirror("x").T, mirror("x"))
    0.0
    """
    expected = as_reps(out_reps).transform(f_x, g.to(f_x.dtype))
    scale = f_x.norm().clamp_min(torch.finfo(f_x.dtype).tiny)
    return float((f_gx - expected).norm() / scale)


def orbit_sweep(
    fn: Callable[[Tensor], Tensor],
    pos: Tensor,
    axis: str,
    angles_deg: Sequence[float],
    reflect: str | None = None,
) -> list[float]:
    """Equivariance error of ``fn`` (pos (N, 3) -> (N, 3) vectors) for g = rotation(angle) [@ mirror], per angle.

    [core: equivariance.orbit_errors]
    """
    reference = fn(pos)
    errors = []
    for angle in angles_deg:
        g = transform_matrix(rotation_about(axis, angle), reflect).to(pos.dtype)
        errors.append(relative_equivariance_error(reference, fn(pos @ g.T), g))
    return errors


def vector_slice(reps: str) -> slice:
    """Columns of the first vector block ("1n" Cartesian or "1o" irrep) in features of type ``reps``.  [core: reps]

    >>> vector_slice("1x0n+1x1n")
    slice(1, 4, None)
    """
    parsed = as_reps(reps)
    start = 0
    for term in parsed.terms:
        size = as_reps(f"1x{term.order}{term.letter}").dim
        if term.order == 1 and term.letter in ("n", "o"):
            return slice(start, start + size)
        start += term.mul * size
    raise ValueError(f"no vector feature in {reps!r}")
