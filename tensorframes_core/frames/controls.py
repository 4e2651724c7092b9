"""Cheap frames used as controls: identity (baseline), random per node, random per cloud, 3-NN."""
from __future__ import annotations

from typing import Optional

import torch

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.repair import repair_axes
from tensorframes_core.graph import knn_graph

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

    ``pos: (N, 3)``. Ties in distance and collinear/coplanar neighbours fall back deterministically.
    """
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"three_nn_frames needs pos of shape (N, 3), got {tuple(pos.shape)}")
    n = pos.shape[0]
    tiny = 64 * torch.finfo(pos.dtype).eps
    offsets = torch.zeros(n, 3, 3, dtype=pos.dtype, device=pos.device)
    counts = torch.zeros(n, dtype=torch.long, device=pos.device)
    src, dst = knn_graph(pos, 3, batch)
    # knn_graph lists each target's neighbours nearest first
    order = torch.arange(src.numel(), device=pos.device)
    first = torch.zeros(n, dtype=torch.long, device=pos.device).scatter_reduce(
        0, dst, order, reduce="amin", include_self=False)
    rank = order - first[dst]
    offsets[dst, rank] = pos[src] - pos[dst]
    counts.scatter_add_(0, dst, torch.ones_like(dst))
    scale = offsets.norm(dim=-1).amax(-1, keepdim=True).clamp_min(torch.finfo(pos.dtype).tiny)
    u = offsets / scale[..., None]
    e1 = u[:, 0] / u[:, 0].norm(dim=-1, keepdim=True).clamp_min(tiny)
    v2 = u[:, 1] - (u[:, 1] * e1).sum(-1, keepdim=True) * e1
    n2 = v2.norm(dim=-1, keepdim=True)
    e2 = v2 / n2.clamp_min(tiny)
    e3 = torch.linalg.cross(e1, e2)
    side = (u[:, 2] * e3).sum(-1, keepdim=True)
    e3 = e3 * torch.where(side < 0, -1.0, 1.0).to(pos.dtype)
    axes = torch.stack([e1, e2, e3], 1)
    axis_ok = torch.stack([
        u[:, 0].norm(dim=-1) > tiny,
        n2[:, 0] > tiny,
        n2[:, 0] > tiny,
    ], 1) & (counts >= 2)[:, None]
    sign_ok = torch.ones_like(axis_ok)
    sign_ok[:, 2] = (side[:, 0].abs() > tiny) & (counts >= 3)
    matrices, fallback = repair_axes(axes, axis_ok, sign_ok)
    quality = torch.where(fallback, torch.zeros_like(side[:, 0]), torch.minimum(n2[:, 0], side[:, 0].abs()))
    return Frames(matrices, quality, fallback)
