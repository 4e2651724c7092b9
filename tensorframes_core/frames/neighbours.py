"""Neighbourhoods as dense offset tensors, with the tie check that frame constructions need."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


def neighbour_offsets(pos: Tensor, k: int, batch: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Offsets to each point's ``k`` nearest neighbours, nearest first (the point itself excluded).

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
    index, dist = knn_table(pos, pos, k + 1, batch, batch, exclude_self=True)
    valid = index[:, :k] >= 0
    rel = torch.where(valid[..., None], pos[index[:, :k].clamp_min(0)] - pos[:, None], 0.0)
    tie = (dist[:, k] - dist[:, k - 1]) <= 64 * torch.finfo(pos.dtype).eps * dist[:, k]
    return rel, valid, tie & (index[:, k] >= 0)
