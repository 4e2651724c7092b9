"""PointNet++ (Qi et al. 2017) for per-point outputs, in local frames.

Frames are computed once for all points; the set-abstraction centres (subsets of the points) keep
their own frames. Every place where features cross nodes moves them into the receiver's frame:
ball-query set abstraction (``PointNetConv`` made equivariant), the global set abstraction (into the
frame of the point nearest the cloud's centroid), broadcasting the global feature back, and the
kNN interpolation of feature propagation.
"""
from __future__ import annotations

from typing import Any, Tuple

import torch
from torch_geometric.nn import PointNetConv

from tensorframes_core.graph import fps, knn, radius
from tensorframes_core.models.base import NormalModel
from tensorframes_core.models.layers import mlp
from tensorframes_core.nn import TFMessagePassing, make_equivariant

Tensor = torch.Tensor


class FrameInterpolation(TFMessagePassing):
    r"""Inverse-square-distance interpolation after the frame change (PointNet++ feature propagation).

    .. math::
        f_i = \frac{\sum_j w_{ij}\, \rho(R_i R_j^T) f_j}{\sum_j w_{ij}},\qquad w_{ij} = 1 / |x_j - x_i|^2

    over the edges ``j -> i`` given (e.g. the 3 nearest sources). Bipartite: ``x_src: (N_src, dim)``,
    ``pos_src: (N_src, 3)``, ``pos_dst: (N_dst, 3)``, ``frames = (R_src, R_dst)``; returns ``(N_dst, dim)``.
    """

    def __init__(self, reps, frame_transform: bool = True) -> None:
        super().__init__(local={"x": reps}, frame_transform=frame_transform, aggr="sum")

    def forward(self, x_src: Tensor, pos_src: Tensor, pos_dst: Tensor, edge_index: Tensor, frames) -> Tensor:
        size = (pos_src.shape[0], pos_dst.shape[0])
        return self.propagate(edge_index, size=size, frames=frames, x=(x_src, None), pos=(pos_src, pos_dst))

    def message(self, x_j: Tensor, edge_vec: Tensor) -> Tensor:
        floor = torch.finfo(edge_vec.dtype).tiny ** 0.5  # a coincident source takes all the weight
        w = 1.0 / edge_vec.pow(2).sum(-1, keepdim=True).clamp_min(floor)
        return torch.cat([w * x_j, w], dim=-1)

    def update(self, aggr_out: Tensor) -> Tensor:
        return aggr_out[:, :-1] / aggr_out[:, -1:].clamp_min(torch.finfo(aggr_out.dtype).tiny)


def set_abstraction(in_reps, out_dim: int, frame_transform: bool):
    r"""``PointNetConv`` (max of :math:`\mathrm{MLP}(\rho(R_i R_j^T) f_j,\ R_i(x_j - x_i))`), made equivariant."""
    conv = PointNetConv(mlp([in_reps.dim + 3, out_dim, out_dim]), None, add_self_loops=False)
    return make_equivariant(conv, local={"x": in_reps}, global_={"pos": "1x1n"}, frame_transform=frame_transform)


def nearest_to_origin(pos: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Index of each cloud's point nearest the origin (the centroid after normalisation): ``(num_graphs,)``.

    >>> nearest_to_origin(torch.tensor([[2., 0, 0], [1., 0, 0], [0., 3, 0], [0., 0, 5]]), torch.tensor([0, 0, 1, 1]), 2)
    tensor([1, 2])
    """
    dist = pos.pow(2).sum(-1)
    best = torch.full((num_graphs,), float("inf"), dtype=dist.dtype, device=dist.device)
    best = best.scatter_reduce(0, batch, dist, reduce="amin")
    candidates = torch.where(dist == best[batch], torch.arange(pos.shape[0], device=pos.device), pos.shape[0])
    first = torch.full((num_graphs,), pos.shape[0], dtype=torch.long, device=pos.device)
    return first.scatter_reduce(0, batch, candidates, reduce="amin")


class PointNet2(NormalModel):
    """Two ball-query set abstractions, a global one, and three feature-propagation steps.

    Level 0 = all points, level 1 = FPS(``ratio1``) of them, level 2 = FPS(``ratio2``) of level 1;
    radii are in units of the cloud's RMS radius. Size kwargs: ``ratio1`` (0.5), ``ratio2`` (0.25),
    ``radius1`` (0.2), ``radius2`` (0.4), ``max_neighbors`` (32), ``k_interp`` (3) plus the common
    ones of :class:`NormalModel`.
    """

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", ratio1: float = 0.5,
                 ratio2: float = 0.25, radius1: float = 0.2, radius2: float = 0.4, max_neighbors: int = 32,
                 k_interp: int = 3, **common: Any) -> None:
        sizes = {"ratio1": float(ratio1), "ratio2": float(ratio2), "radius1": float(radius1),
                 "radius2": float(radius2), "max_neighbors": int(max_neighbors), "k_interp": int(k_interp)}
        super().__init__("pointnet2", mode, frames, task, sizes, **common)
        for key, value in sizes.items():
            if value <= 0 or (key.startswith("ratio") and value > 1):
                raise ValueError(f"{key} must be positive{' and <= 1' if key.startswith('ratio') else ''}, got {value}")
        self.sizes = sizes
        dim, ft = self.hidden.dim, self.frame_transform
        self.sa1 = set_abstraction(self.in_reps, dim, ft)
        self.sa2 = set_abstraction(self.hidden, dim, ft)
        self.sa_global = set_abstraction(self.hidden, dim, ft)
        self.interp = FrameInterpolation(self.hidden, ft)
        self.fp2 = mlp([2 * dim, dim, dim])
        self.fp1 = mlp([2 * dim, dim, dim])
        self.fp0 = mlp([self.in_reps.dim + dim, dim, dim])

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table=None) -> Tuple[Tensor, Tensor]:
        s = self.sizes
        idx1 = fps(pos, s["ratio1"], batch=batch)
        pos1, batch1, R1 = pos[idx1], batch[idx1], frames[idx1]
        e1 = radius(pos, pos1, s["radius1"], batch, batch1, max_num_neighbors=s["max_neighbors"])
        h1 = self.sa1((x, None), (pos, pos1), e1, frames=(frames, R1))

        idx2 = fps(pos1, s["ratio2"], batch=batch1)
        pos2, batch2, R2 = pos1[idx2], batch1[idx2], R1[idx2]
        e2 = radius(pos1, pos2, s["radius2"], batch1, batch2, max_num_neighbors=s["max_neighbors"])
        h2 = self.sa2((h1, None), (pos1, pos2), e2, frames=(R1, R2))

        ref = nearest_to_origin(pos2, batch2, num_graphs)  # one reference node (and frame) per cloud
        nodes2 = torch.arange(pos2.shape[0], device=pos.device)
        pooled = self.sa_global((h2, None), (pos2, pos2[ref]), torch.stack([nodes2, batch2]), frames=(R2, R2[ref]))
        spread = self.interp(pooled, pos2[ref], pos2, torch.stack([batch2, nodes2]), frames=(R2[ref], R2))

        f2 = self.fp2(torch.cat([h2, spread], dim=-1))
        e21 = knn(pos2, pos1, s["k_interp"], batch2, batch1)
        f1 = self.fp1(torch.cat([h1, self.interp(f2, pos2, pos1, e21, frames=(R2, R1))], dim=-1))
        e10 = knn(pos1, pos, s["k_interp"], batch1, batch)
        f0 = self.fp0(torch.cat([x, self.interp(f1, pos1, pos, e10, frames=(R1, frames))], dim=-1))
        return f0, torch.stack([e1[0], idx1[e1[1]]])
