r"""Classical normals from a neighbour table: PCA (plane fit) and jets (quadric fit, as in PCPNet's tables).

Both are unoriented (the sign is arbitrary); both run in chunks of points, so memory stays bounded and
the result equals one pass exactly.
"""
from __future__ import annotations

from typing import Optional

import torch

from tensorframes_core.frames.eigen import smallest_eigenvector3, symmetric_eig3

Tensor = torch.Tensor
CHUNK = 65_536  # points per step


def _offsets(pos: Tensor, index: Tensor, ids: Optional[Tensor], start: int, stop: int) -> Tensor:
    """``(M, k, 3)`` offsets of the neighbours in rows ``start .. stop`` of ``index`` from their point
    (``ids[start:stop]``, or ``start .. stop`` when ``ids`` is None), in ``pos.dtype``; ``pos: (N, 3)``."""
    centre = pos[start:stop] if ids is None else pos[ids[start:stop]]
    return pos[index[start:stop]] - centre[:, None]


def pca_normals(pos: Tensor, index: Tensor, ids: Optional[Tensor] = None) -> Tensor:
    r"""Smallest-variance axis of each point's neighbourhood (the point and its neighbours ``index: (N, k)``),
    :math:`C_i = \sum_j (y_j - \bar y)(y_j - \bar y)^T`, as Open3D's ``estimate_normals``. ``pos: (N, 3)``
    -> ``(N, 3)`` unit, in ``pos.dtype``: offsets and covariances in ``pos.dtype`` (float32 at least: the
    offsets from the point keep the input's own precision, and a float32 scan's blocks run faster than
    in float64), the eigen-solve in float64 (its vectorised acos/cos would round differently in a block's
    tail in float32: the chunked result equals one pass exactly). ``index: (M, k)`` may hold the rows of
    the points ``ids: (M,)`` only (a block of a whole-scan search), giving their ``(M, 3)`` normals.

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0.5, 0.5, 0]])
    >>> pca_normals(pos, torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2], [0, 1, 2]])).abs()
    tensor([[0., 0., 1.],
            [0., 0., 1.],
            [0., 0., 1.],
            [0., 0., 1.],
            [0., 0., 1.]])
    """
    work, k = pos.to(torch.promote_types(pos.dtype, torch.float32)), index.shape[1]
    out = torch.empty(index.shape[0], 3, dtype=torch.float64, device=pos.device)
    for start in range(0, index.shape[0], CHUNK):
        stop = min(start + CHUNK, index.shape[0])
        d = _offsets(work, index, ids, start, stop)
        mean = d.sum(1) / (k + 1)  # the point itself sits at offset 0
        y = d - mean[:, None]
        covariance = y.transpose(1, 2) @ y + mean[:, :, None] * mean[:, None, :]
        out[start:stop] = smallest_eigenvector3(covariance.double())
    return out.to(pos.dtype)


def jet_normals(pos: Tensor, index: Tensor, ids: Optional[Tensor] = None) -> Tensor:
    r"""Normals of a degree-2 jet: in each neighbourhood's PCA frame (origin at its centroid, axes
    ``t_1, t_2, n``), the least-squares quadric :math:`h(u, v) = c_0 + c_1 u + c_2 v + c_3 u^2 + c_4 uv +
    c_5 v^2` of the heights; the normal at the point's own ``(u_i, v_i)`` is
    :math:`n - h_u t_1 - h_v t_2`, normalised. Needs ``k >= 5`` neighbours (6 coefficients); otherwise,
    and where the fit is singular, the PCA normal. ``pos: (N, 3)``, ``index: (N, k)`` -> ``(N, 3)``
    (``ids`` as in :func:`pca_normals`).

    >>> u, v = torch.meshgrid(torch.linspace(-1, 1, 7), torch.linspace(-1, 1, 7), indexing="ij")
    >>> pos = torch.stack([u.flatten(), v.flatten(), 0.3 * u.flatten() ** 2], 1).double()
    >>> from tensorframes_core.normals.search import neighbour_index
    >>> n = jet_normals(pos, neighbour_index(pos, 12))[[24, 3]]  # at (0, 0, 0) and (-1, 0, 0.3)
    >>> exact = torch.tensor([[0.0, 0, 1], [0.6, 0, 1]], dtype=torch.float64)
    >>> (n * exact / exact.norm(dim=-1, keepdim=True)).sum(-1).abs() > 0.9999
    tensor([True, True])
    """
    if index.shape[1] < 5:
        return pca_normals(pos, index, ids)
    pos64 = pos.double()
    out = torch.empty(index.shape[0], 3, dtype=torch.float64, device=pos.device)
    for start in range(0, index.shape[0], CHUNK):
        stop = min(start + CHUNK, index.shape[0])
        d = _offsets(pos64, index, ids, start, stop)
        y = torch.cat([torch.zeros_like(d[:, :1]), d], 1)  # row 0: the point itself
        y = y - y.mean(1, keepdim=True)
        axes = symmetric_eig3(y.transpose(1, 2) @ y)[1]  # rows n, t_2, t_1 (ascending variance)
        local = y @ axes.transpose(1, 2)  # (M, k + 1, 3): h, v, u
        scale = local[..., 1:].abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-300)
        h, v, u = (local[..., c] / scale[..., 0] for c in range(3))
        design = torch.stack([torch.ones_like(u), u, v, u * u, u * v, v * v], -1)  # (M, k + 1, 6)
        gram = design.transpose(1, 2) @ design
        coef, info = torch.linalg.solve_ex(gram, (design.transpose(1, 2) @ h[..., None]))
        coef = coef[..., 0]
        u0, v0 = u[:, 0], v[:, 0]  # the point itself is row 0
        h_u = coef[:, 1] + 2 * coef[:, 3] * u0 + coef[:, 4] * v0
        h_v = coef[:, 2] + coef[:, 4] * u0 + 2 * coef[:, 5] * v0
        normal = axes[:, 0] - h_u[:, None] * axes[:, 2] - h_v[:, None] * axes[:, 1]
        normal = normal / normal.norm(dim=-1, keepdim=True)
        good = (info == 0) & torch.isfinite(normal).all(-1)
        out[start:stop] = torch.where(good[:, None], normal, axes[:, 0])
    return out.to(pos.dtype)
