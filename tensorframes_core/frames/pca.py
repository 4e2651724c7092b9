"""PCA frames: the classical local frame whose first axis is the PCA normal."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.eigen import symmetric_eig
from tensorframes_core.frames.neighbours import neighbour_offsets
from tensorframes_core.frames.repair import repair_axes, tolerances

Tensor = torch.Tensor


@torch.no_grad()
def pca_frames(pos: Tensor, k: int = 16, batch: Optional[Tensor] = None,
               table: Optional[Tuple[Tensor, Tensor]] = None) -> Frames:
    """Frames from the scatter ``C_i = sum_j (x_j - x_i)(x_j - x_i)^T`` of each point's ``k`` nearest
    neighbours (the point itself not counted; smaller clouds use what they have).

    Rows are eigenvectors of ``C_i`` by increasing variance, so row 0 is the PCA normal. Each axis e is
    signed so that the first moment ``sum_j e.(x_j - x_i)`` is positive (the third moment
    ``sum_j (e.(x_j - x_i))^3`` when the first is ~0). Equivariant, ``R(pos @ Q.T) = R(pos) @ Q.T`` for
    Q in O(d), wherever the relative eigen-gaps and moments clear rounding level (``repair.tolerances``)
    and the k-th neighbour is unique; elsewhere a deterministic fallback fires (counted in
    ``fallback_mask``): undetermined axes come from the standard basis. ``quality`` is the smallest
    relative gap or moment used (its eigenvector error is ~eps / quality). Closed-form eigen-solver for
    d = 3, ``torch.linalg.eigh`` otherwise; no gradient. ``pos: (N, d)`` -> ``Frames`` ``(N, d, d)``.
    ``table``: a shared ``knn_table(..., exclude_self=True)`` of ``pos`` with ``>= k + 1`` columns (see
    :func:`neighbour_offsets`), so a model that needs the same search does it once.

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]])
    >>> f = pca_frames(pos, k=4)
    >>> torch.allclose(f.matrices @ f.matrices.transpose(1, 2), torch.eye(3).expand(5, 3, 3), atol=1e-5)
    True
    """
    if pos.dim() != 2 or pos.shape[1] < 2:
        raise ValueError(f"pos must be (N, d) with d >= 2, got {tuple(pos.shape)}")
    if not pos.is_floating_point():
        raise ValueError("pos must be a floating-point tensor")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n, d = pos.shape
    work = pos.to(torch.promote_types(pos.dtype, torch.float32))  # half precision: compute in float32
    tiny = torch.finfo(work.dtype).tiny
    rel, _, ambiguous = neighbour_offsets(work, k, batch, table)  # (N, k, d): translations drop out
    values, axes = symmetric_eig(rel.transpose(1, 2) @ rel)  # ascending, rows
    # an axis is determined by the relative eigen-gaps on both of its sides
    gaps = (values[:, 1:] - values[:, :-1]) / values[:, -1:].clamp_min(tiny)  # (N, d-1)
    axis_gap = torch.minimum(torch.cat([gaps[:, :1], gaps], 1), torch.cat([gaps, gaps[:, -1:]], 1))  # (N, d)
    axis_tol, sign_tol = tolerances(axis_gap)
    axis_ok = (axis_gap > axis_tol) & (values[:, -1:] > 0)
    # sign: first moment (linear, so from the summed offsets), third moment where the first is ~0
    dist = rel.norm(dim=-1)  # (N, k)
    first = (axes @ rel.sum(1)[..., None])[..., 0] / dist.sum(1).clamp_min(tiny)[:, None]
    third = torch.zeros_like(first)
    weak = (first.abs() <= sign_tol).any(dim=1)
    if bool(weak.any()):
        proj = rel[weak] @ axes[weak].transpose(1, 2)  # (N', k, d): offsets in the local axes
        third[weak] = proj.pow(3).sum(1) / dist[weak].pow(3).sum(1).clamp_min(tiny)[:, None]
    use_first = first.abs() > sign_tol
    sign_ok = use_first | (third.abs() > sign_tol)
    moment = torch.where(use_first, first, third)
    matrices, fallback = repair_axes(axes * torch.where(sign_ok, moment.sign(), 1.0)[..., None], axis_ok, sign_ok)
    fallback = fallback | ambiguous
    quality = torch.where(fallback, 0.0, torch.minimum(axis_gap, moment.abs()).amin(dim=1))
    return Frames(matrices.to(pos.dtype), quality.to(pos.dtype), fallback)
