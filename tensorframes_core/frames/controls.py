"""Cheap frames used as controls: identity (baseline), random per node, random per cloud, 3-NN."""
from __future__ import annotations

from typing import Optional

import torch

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.neighbours import neighbour_offsets
from tensorframes_core.frames.repair import repair_axes, tolerances

Tensor = torch.Tensor


def identity_frames(n: int, d: int = 3, dtype: torch.dtype = torch.float32, device=None) -> Frames:
    """Every node gets the global axes: no equivariance (the baseline).

    >>> identity_frames(2, d=2).matrices
    tensor([[[1., 0.],
             [0., 1.]],
    <BLANKLINE>
            [[1., 0.],
             [0., 1.]]])
    """
    return Frames(torch.eye(d, dtype=dtype, device=device).repeat(n, 1, 1))


def random_frames(n: int, d: int = 3, generator: Optional[torch.Generator] = None,
                  dtype: torch.dtype = torch.float32, device=None) -> Frames:
    """An independent Haar-random O(d) frame per node (reflections included)."""
    return Frames(random_orthogonal(n, d, generator=generator, dtype=dtype, device=device))


def random_global_frames(batch: Optional[Tensor] = None, n: Optional[int] = None, d: int = 3,
                         generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float32,
                         device=None) -> Frames:
    """One Haar-random O(d) frame per cloud, shared by its nodes: exactly data augmentation.

    ``batch: (N,)`` cloud index of every node, or ``None`` with ``n`` nodes in one cloud.
    """
    if batch is None:
        if n is None:
            raise ValueError("give batch or n")
        batch = torch.zeros(n, dtype=torch.long, device=device)
    n_graphs = int(batch.max()) + 1 if batch.numel() else 0
    per_graph = random_orthogonal(n_graphs, d, generator=generator, dtype=dtype, device=batch.device)
    return Frames(per_graph[batch])


@torch.no_grad()
def three_nn_frames(pos: Tensor, batch: Optional[Tensor] = None) -> Frames:
    """Frames from the three nearest neighbours: e1 towards the nearest, e2 Gram-Schmidt towards the
    second, e3 = +-(e1 x e2) signed by the third neighbour's offset (so O(3)-, not only SO(3)-equivariant).

    ``pos: (N, 3)``. Coincident or collinear neighbours and fewer than three of them fall back
    deterministically; distance ties among the first four neighbours (broken by index) are counted
    as fallbacks too. ``quality``: the smallest relative margin (offset norms, side, distance gaps).

    >>> f = three_nn_frames(torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]))
    >>> f.matrices[0], f.fallback_count
    (tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]]), 0)
    """
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"three_nn_frames needs pos of shape (N, 3), got {tuple(pos.shape)}")
    work = pos.to(torch.promote_types(pos.dtype, torch.float32))
    rel, valid, ambiguous = neighbour_offsets(work, 3, batch)  # (N, 3, 3), nearest first
    dist = rel.norm(dim=-1)
    u = rel / dist.amax(1).clamp_min(torch.finfo(work.dtype).tiny)[:, None, None]  # scale-free offsets
    n1 = u[:, 0].norm(dim=-1)
    e1 = u[:, 0] / n1.clamp_min(torch.finfo(work.dtype).tiny)[:, None]
    v2 = u[:, 1] - (u[:, 1] * e1).sum(-1, keepdim=True) * e1
    n2 = v2.norm(dim=-1)
    e2 = v2 / n2.clamp_min(torch.finfo(work.dtype).tiny)[:, None]
    e3 = torch.linalg.cross(e1, e2)
    side = (u[:, 2] * e3).sum(-1)
    axes = torch.stack([e1, e2, e3 * torch.where(side < 0, -1.0, 1.0)[:, None]], 1)
    axis_tol, sign_tol = tolerances(torch.stack([n1, n2, n2], 1))
    axis_ok = torch.stack([n1 > axis_tol, n2 > axis_tol, n2 > axis_tol], 1) & valid[:, 1:2]
    axis_ok[:, 0] &= valid[:, 0]
    sign_ok = torch.ones_like(axis_ok)
    sign_ok[:, 2] = valid[:, 2] & (side.abs() > sign_tol[:, 2])
    matrices, fallback = repair_axes(axes, axis_ok, sign_ok)
    # which neighbour is first, second, third: ties there are broken by index, not by geometry
    gap = (dist[:, 1:] - dist[:, :-1]) / dist[:, 1:].clamp_min(torch.finfo(work.dtype).tiny)
    tie = ((gap <= axis_tol) & valid[:, 1:]).any(dim=1) | ambiguous
    fallback = fallback | tie
    margin = torch.stack([n1, n2, side.abs(), gap[:, 0], gap[:, 1]], 1).amin(dim=1)
    quality = torch.where(fallback, 0.0, margin)
    return Frames(matrices.to(pos.dtype), quality.to(pos.dtype), fallback)
