"""PCA frames: the classical local frame whose first axis is the PCA normal."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.eigen import symmetric_eig
from tensorframes_core.frames.neighbours import weighted_neighbourhood
from tensorframes_core.frames.rules import CloudContext, cloud_context, direction_tol, settle_frames

Tensor = torch.Tensor


@torch.no_grad()
def pca_frames(pos: Tensor, k: int = 16, batch: Optional[Tensor] = None,
               table: Optional[Tuple[Tensor, Tensor]] = None, context: Optional[CloudContext] = None) -> Frames:
    """Frames from the weighted scatter ``C_i = sum_j w_ij (x_j - x_i)(x_j - x_i)^T`` of each point's
    ``k`` nearest neighbours (the point itself not counted; smaller clouds use what they have), with
    weights that vanish smoothly at the (k+1)-th neighbour (``neighbours.weighted_neighbourhood``), so
    distance ties in the neighbour search change nothing.

    Rows are eigenvectors of ``C_i`` by increasing variance, so row 0 is the PCA normal. Axes whose
    relative eigen-gap is below ``eps^(1/3)`` and every sign are settled by the tie-breaking rules of
    ``frames/rules.py`` (local first and third moments, then the centroid and the far field of the
    cloud): equivariant, ``R(pos @ Q.T) = R(pos) @ Q.T`` for Q in O(d), wherever the cloud is not
    itself symmetric and the k-th neighbour is unique; elsewhere a deterministic fallback fires
    (counted in ``fallback_mask``; ``rules`` says what decided each axis). ``quality`` is the smallest
    relative margin used (its rounding error is ~eps / quality). Closed-form eigen-solver for d = 3,
    ``torch.linalg.eigh`` otherwise; no gradient. ``pos: (N, d)``, ``batch: (N,)`` -> ``Frames (N, d, d)``.
    ``table``: a shared ``knn_table(..., exclude_self=True)`` of ``pos`` with ``>= k + 1`` columns (see
    :func:`weighted_neighbourhood`), so a model that needs the same search does it once. ``context``:
    the non-local rules' :class:`~tensorframes_core.frames.rules.CloudContext` when ``pos`` is a tile of
    a larger cloud (default: ``cloud_context(pos, batch)``).

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
    work = pos.to(torch.promote_types(pos.dtype, torch.float32))  # half precision: compute in float32
    rel, weight = weighted_neighbourhood(work, k, batch, table)  # (N, k, d), (N, k): translations drop out
    values, axes = symmetric_eig((rel * weight[..., None]).transpose(1, 2) @ rel)  # ascending, rows
    # relative eigen-gaps decide which spans are determined; the rules settle the rest
    gaps = (values[:, 1:] - values[:, :-1]) / values[:, -1:].clamp_min(torch.finfo(work.dtype).tiny)  # (N, d-1)
    split_ok = (gaps > direction_tol(work.dtype)) & (values[:, -1:] > 0)
    axis_gap = torch.minimum(torch.cat([gaps[:, :1], gaps], 1), torch.cat([gaps, gaps[:, -1:]], 1))  # (N, d)
    no_sign = torch.zeros_like(axis_gap, dtype=torch.bool)
    frames = settle_frames(axes, split_ok, axis_gap, no_sign, (rel, weight),
                           cloud_context(work, batch) if context is None else context)
    return Frames(frames.matrices.to(pos.dtype), frames.quality.to(pos.dtype), frames.fallback_mask, frames.rules)
