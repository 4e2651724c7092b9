"""DGCNN (Wang et al. 2019) in local frames: an EdgeConv stack with dynamic kNN graphs."""
from __future__ import annotations

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


class DGCNN(NormalModel):
    """``layers`` :class:`FrameEdgeConv` layers, their outputs concatenated and fused by an MLP.

    The first graph is the kNN graph of the positions (each point its own nearest neighbour, as in
    the original); later ones are kNN graphs of the features,
    taken in the global frame (``to_global``) so that distances are invariant and comparable across
    nodes. In ``scalar_frames`` mode the local numbers themselves are used (no frame change anywhere).
    Size kwargs: ``layers`` (3), ``k`` (16) plus the common ones of :class:`NormalModel`.
    """

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", layers: int = 3, k: int = 16,
                 **common: Any) -> None:
        super().__init__("dgcnn", mode, frames, task, {"layers": int(layers), "k": int(k)}, **common)
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.k = int(k)
        dim = self.hidden.dim
        self.convs = nn.ModuleList(
            FrameEdgeConv(self.in_reps if i == 0 else self.hidden, dim, self.frame_transform) for i in range(layers))
        self.fuse = mlp([layers * dim, 2 * dim, dim])

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int) -> Tuple[Tensor, Tensor]:
        first = edge_index = knn_graph(pos, self.k, batch=batch, loop=True)
        h, outs = x, []
        for i, conv in enumerate(self.convs):
            if i > 0:
                space = to_global(h, self.hidden, frames) if self.frame_transform else h
                edge_index = knn_graph(space.detach(), self.k, batch=batch, loop=True)
            h = conv(h, pos, edge_index, frames=frames)
            outs.append(h)
        return self.fuse(torch.cat(outs, dim=-1)), first
