"""PCA frames: the classical local frame whose first axis is the PCA normal."""
from __future__ import annotations

from typing import Optional

import torch

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.eigen import symmetric_eig
from tensorframes_core.frames.repair import repair_axes
from tensorframes_core.graph import knn_graph
from torch_geometric.utils import scatter

Tensor = torch.Tensor


def _sum(values: Tensor, index: Tensor, n: int) -> Tensor:
    return scatter(values, index, 0, dim_size=n, reduce="sum")


def _tolerance(dtype: torch.dtype) -> float:
    """Relative margin below which an eigen-gap or a sign is treated as undetermined."""
    return 3 * torch.finfo(dtype).eps ** 0.5  # float32: 1e-3, float64: 4.5e-8


@torch.no_grad()
def pca_frames(pos: Tensor, k: int = 16, batch: Optional[Tensor] = None) -> Frames:
    """Frames from the covariance of each point's ``k`` nearest neighbours (the point not counted).

    Rows are eigenvectors in order of increasing variance, so row 0 is the PCA normal. Each axis e is
    signed so that the first moment ``sum_j e.(x_j - x_i)`` is positive (the third moment when the first
    is ~0). Equivariant, ``R(pos @ Q.T) = R(pos) @ Q.T`` for Q in O(d), wherever the eigen-gaps and the
    moments are clear of zero; elsewhere a deterministic fallback fires (counted in ``fallback_mask``):
    ambiguous axes are taken from the standard basis. ``pos: (N, d)`` -> ``Frames`` with ``(N, d, d)``.

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]])
    >>> f = pca_frames(pos, k=4)
    >>> torch.allclose(f.matrices @ f.matrices.transpose(1, 2), torch.eye(3).expand(5, 3, 3), atol=1e-5)
    True
    """
    if pos.dim() != 2 or pos.shape[1] < 2:
        raise ValueError(f"pos must be (N, d) with d >= 2, got {tuple(pos.shape)}")
    if not pos.is_floating_point():
        raise ValueError("pos must be a floating-point tensor")
    n, d = pos.shape
    work = pos.float() if pos.dtype in (torch.float16, torch.bfloat16) else pos
    edge_index = knn_graph(work, k, batch)
    src, dst = edge_index
    rel = work[src] - work[dst]  # (E, d)
    cov = _sum(rel[:, :, None] * rel[:, None, :], dst, n)  # (N, d, d)
    values, axes = symmetric_eig(cov)  # ascending, rows
    tol = _tolerance(work.dtype)
    top = values[:, -1:].clamp_min(torch.finfo(work.dtype).tiny)
    gaps = (values[:, 1:] - values[:, :-1]) / top  # (N, d-1)
    # axis a is determined by the eigen-gaps on both of its sides
    gap_ok = torch.ones(n, d, dtype=torch.bool, device=pos.device)
    gap_ok[:, :-1] &= gaps > tol
    gap_ok[:, 1:] &= gaps > tol
    gap_ok &= values[:, -1:] > 0
    proj = torch.einsum("nad,nd->na", axes[dst], rel)  # (E, d): neighbour offsets in the local axes
    tiny = torch.finfo(work.dtype).tiny
    dist = rel.norm(dim=-1, keepdim=True)
    first = _sum(proj, dst, n) / _sum(dist, dst, n).clamp_min(tiny)
    third = _sum(proj**3, dst, n) / _sum(dist**3, dst, n).clamp_min(tiny)
    use_first = first.abs() > tol
    use_third = ~use_first & (third.abs() > tol)
    sign_ok = use_first | use_third
    sign = torch.where(use_first, first.sign(), torch.where(use_third, third.sign(), torch.ones_like(first)))
    axes = axes * sign[..., None]
    matrices, fallback = repair_axes(axes, gap_ok, sign_ok)
    margin = torch.where(use_first, first.abs(), third.abs()).amin(-1)
    quality = torch.where(fallback, torch.zeros_like(margin), torch.minimum(gaps.amin(-1), margin))
    return Frames(matrices.to(pos.dtype), quality.to(pos.dtype), fallback)


