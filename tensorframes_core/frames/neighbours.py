"""Neighbourhoods as dense offset tensors, with the tie check that frame constructions need."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


def _search(pos: Tensor, k: int, batch: Optional[Tensor], table: Optional[Tuple[Tensor, Tensor]]):
    """The ``k + 1`` nearest others of every point: the shared ``table`` (checked) or a new search."""
    if table is None:
        return knn_table(pos, pos, k + 1, batch, batch, exclude_self=True)
    if table[0].shape[0] != pos.shape[0] or table[0].shape[1] < k + 1:
        raise ValueError(f"a shared neighbour table must be (N, >= k + 1) = ({pos.shape[0]}, >= {k + 1}), "
                         f"got {tuple(table[0].shape)}")
    return table


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
    table = _search(pos, k, batch, table)
    index, dist = table[0][:, :k + 1], table[1][:, :k + 1].to(pos.dtype)
    valid = index[:, :k] >= 0
    rel = torch.where(valid[..., None], pos[index[:, :k].clamp_min(0)] - pos[:, None], 0.0)
    tie = (dist[:, k] - dist[:, k - 1]) <= 64 * torch.finfo(pos.dtype).eps * dist[:, k]
    return rel, valid, tie & (index[:, k] >= 0)


def envelope(t: Tensor) -> Tensor:
    """Neighbour weight ``u(t) = (1 - t^8)^2`` for ``t = |x_j - x_i| / r_i`` in ``[0, 1]``: ~1 inside,
    0 with zero slope at the cut-off ``r_i`` (a neighbour entering or leaving the set changes nothing).

    >>> envelope(torch.tensor([0.0, 0.5, 1.0]))
    tensor([1.0000, 0.9922, 0.0000])
    """
    return (1 - t.clamp(0.0, 1.0).pow(8)).square()


def weighted_neighbourhood(pos: Tensor, k: int, batch: Optional[Tensor] = None,
                           table: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest neighbours' offsets and smooth weights: ``rel: (N, k, d)``, ``weight: (N, k)``.

    ``weight_j = envelope(|x_j - x_i| / r_i)`` with ``r_i`` the distance of the (k+1)-th neighbour (the
    nearest one left out), so the weighted neighbourhood is continuous in the input: a tie between the
    k-th and (k+1)-th neighbours, which makes the plain k-NN set a coin toss, costs nothing. Where a
    cloud has no (k+1)-th point every neighbour counts fully; missing neighbours weigh 0. ``table`` as
    in :func:`neighbour_offsets`.

    >>> rel, w = weighted_neighbourhood(torch.tensor([[0.0, 0], [1, 0], [-1, 0], [0, 3]]), k=2)
    >>> w[0]  # the two tied neighbours at 1, well inside r_0 = 3
    tensor([0.9997, 0.9997])
    >>> w[1]  # from (1, 0): (0, 0) at 1 and (-1, 0) at 2, cut-off at sqrt(10)
    tensor([0.9998, 0.9495])
    """
    table = _search(pos, k, batch, table)
    index = table[0][:, :k + 1]
    valid = index >= 0
    rel = torch.where(valid[:, :k, None], pos[index[:, :k].clamp_min(0)] - pos[:, None], 0.0)
    dist = rel.norm(dim=-1)
    cut = (pos[index[:, k].clamp_min(0)] - pos).norm(dim=-1)  # (N,), from the same coordinates as rel
    t = dist / cut.clamp_min(torch.finfo(pos.dtype).tiny)[:, None]
    weight = torch.where(valid[:, k:k + 1], envelope(t), torch.ones_like(t))
    return rel, torch.where(valid[:, :k], weight, 0.0)
