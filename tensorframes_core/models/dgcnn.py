"""DGCNN (Wang et al. 2019) in local frames: an EdgeConv stack with dynamic kNN graphs."""
from __future__ import annotations

import math
from typing import Any, Tuple

import torch
from torch import nn

from tensorframes_core.graph import knn_graph
from tensorframes_core.models.base import NormalModel
from tensorframes_core.models.layers import mlp
from tensorframes_core.nn import TFMessagePassing, to_global
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor


class FrameEdgeConv(TFMessagePassing):
    r"""EdgeConv with tensorial messages.

    .. math::
        h_i' = \max_j \phi\big(h_i,\ \rho(R_i R_j^T) h_j - h_i,\ R_i (x_j - x_i)\big)

    ``x: (N, in_reps.dim)`` local features, ``pos: (N, 3)``; returns ``(N, out_dim)``.
    """

    def __init__(self, in_reps, out_dim: int, frame_transform: bool = True) -> None:
        super().__init__(local={"x": in_reps}, frame_transform=frame_transform, aggr="max")
        dim = as_reps(in_reps).dim
        self.phi = mlp([2 * dim + 3, out_dim, out_dim])

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, frames) -> Tensor:
        return self.propagate(edge_index, frames=frames, x=x, pos=pos)

    def message(self, x_i: Tensor, x_j: Tensor, edge_vec: Tensor) -> Tensor:
        return self.phi(torch.cat([x_i, x_j - x_i, edge_vec], dim=-1))


def knn_in_pool(space: Tensor, pool: Tensor, k: int) -> Tensor:
    """kNN graph in ``space: (N, D)`` where node ``i`` may only pick from ``pool[i]`` (``(N, P)``, ``-1`` = none).

    ``O(N P D)`` time and ``O(N D)`` extra memory (one pool column at a time). Returns ``(2, E)``.
    """
    valid = pool >= 0
    safe = pool.clamp_min(0)
    dist = torch.stack([(space[safe[:, c]] - space).pow(2).sum(-1) for c in range(pool.shape[1])], dim=1)
    best, idx = dist.masked_fill(~valid, math.inf).topk(min(k, pool.shape[1]), dim=1, largest=False)
    keep = torch.isfinite(best)
    targets = torch.arange(pool.shape[0], device=pool.device)[:, None].expand_as(idx)
    return torch.stack([safe.gather(1, idx)[keep], targets[keep]])


class DGCNN(NormalModel):
    """``layers`` :class:`FrameEdgeConv` layers, their outputs concatenated and fused by an MLP.

    The first graph is the kNN graph of the positions (each point its own nearest neighbour, as in
    the original); later ones are kNN graphs of the features, taken in the global frame
    (``to_global``) so that distances are invariant and comparable across nodes. In
    ``scalar_frames`` mode the local numbers themselves are used (no frame change anywhere).

    The feature-space search runs over each point's ``knn_pool`` spatially nearest points (a local
    dynamic graph, linear cost); ``knn_pool=0`` searches the whole cloud as the original DGCNN does
    (quadratic cost: seconds at 10,000 points on a CPU).
    Size kwargs: ``layers`` (3), ``k`` (16), ``knn_pool`` (32) plus the common ones of :class:`NormalModel`.
    """

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", layers: int = 3, k: int = 16,
                 knn_pool: int = 32, **common: Any) -> None:
        super().__init__("dgcnn", mode, frames, task, {"layers": int(layers), "k": int(k), "knn_pool": int(knn_pool)},
                         **common)
        if layers < 1 or k < 1 or knn_pool < 0:
            raise ValueError(f"need layers >= 1, k >= 1, knn_pool >= 0; got {layers}, {k}, {knn_pool}")
        self.k, self.knn_pool = int(k), int(knn_pool)
        dim = self.hidden.dim
        self.convs = nn.ModuleList(
            FrameEdgeConv(self.in_reps if i == 0 else self.hidden, dim, self.frame_transform) for i in range(layers))
        self.fuse = mlp([layers * dim, 2 * dim, dim])
        if self.knn_pool:  # one search of the positions for the pool and the PCA frames
            self.shared_k = max(self.knn_pool, self.k, self.frame_selector.k + 1)

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table=None) -> Tuple[Tensor, Tensor]:
        pool = None
        if self.knn_pool:  # each point itself, then its nearest others (the shared table, nearest first)
            width = max(self.knn_pool, self.k)
            pool = torch.cat([torch.arange(pos.shape[0], device=pos.device)[:, None], table[0][:, :width - 1]], 1)
        first = edge_index = self._knn(pos, batch, pool)
        h, outs = x, []
        for i, conv in enumerate(self.convs):
            if i > 0:
                space = to_global(h, self.hidden, frames) if self.frame_transform else h
                edge_index = self._knn(space.detach(), batch, pool)
            h = conv(h, pos, edge_index, frames=frames)
            outs.append(h)
        return self.fuse(torch.cat(outs, dim=-1)), first

    def _knn(self, space: Tensor, batch: Tensor, pool) -> Tensor:
        return knn_graph(space, self.k, batch=batch, loop=True) if pool is None else knn_in_pool(space, pool, self.k)
