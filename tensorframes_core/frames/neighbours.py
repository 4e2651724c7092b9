"""Neighbourhoods as dense offset tensors, with the tie check that frame constructions need."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


def neighbour_offsets(pos: Tensor, k: int, batch: Optional[Tensor] = None,
                      table: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Offsets to each point's ``k`` nearest neighbours, nearest first (the point itself excluded).

    ``table``: a precomputed ``knn_table(pos, pos, K, batch, batch, exclude_self=True)`` with
    ``K >= k + 1`` columns, to share one neighbour search between frames and a model (its first
    ``k + 1`` columns are used); else the search runs here.

    Returns ``rel: (N, k, d)`` = ``x_j - x_i`` (zeros where a cloud has fewer points), ``valid: (N, k)``,
    and ``ambiguous: (N,)``: the k-th and (k+1)-th distances tie to rounding level (``64 eps``
    relative), so the neighbour set was picked by index: not equivariant, to be counted as a fallback.

    >>> rel, valid, ambiguous = neighbour_offsets(torch.tensor([[0.0, 0], [1, 0], [0, 2], [-1, 0]]), k=1)
    >>> rel[:, 0], valid[:, 0], ambiguous
    (tensor([[ 1.,  0.],
            [-1.,  0.],
            [ 0., -2.],
            [ 1.,  0.]]), tensor([True, True, True, True]), tensor([ True, False, False, False]))
    """
    if table is None:
        table = knn_table(pos, pos, k + 1, batch, batch, exclude_self=True)
    elif table[0].shape[0] != pos.shape[0] or table[0].shape[1] < k + 1:
        raise ValueError(f"a shared neighbour table must be (N, >= k + 1) = ({pos.shape[0]}, >= {k + 1}), "
                         f"got {tuple(table[0].shape)}")
    index, dist = table[0][:, :k + 1], table[1][:, :k + 1].to(pos.dtype)
    valid = index[:, :k] >= 0
    rel = torch.where(valid[..., None], pos[index[:, :k].clamp_min(0)] - pos[:, None], 0.0)
    tie = (dist[:, k] - dist[:, k - 1]) <= 64 * torch.finfo(pos.dtype).eps * dist[:, k]
    return rel, valid, tie & (index[:, k] >= 0)
