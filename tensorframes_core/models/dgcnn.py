"""DGCNN (Wang et al. 2019) in local frames: an EdgeConv stack with dynamic kNN graphs."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tensorframes_core.frames import as_matrices
from tensorframes_core.frames.neighbours import envelope
from tensorframes_core.graph import knn_table
from tensorframes_core.models.base import NormalModel
from tensorframes_core.models.layers import mlp
from tensorframes_core.nn import TFMessagePassing, frame_change_by_receiver, to_global
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor


SILU_FLOOR = 0.2785  # > -min SiLU (0.27846...): phi's outputs plus this are >= 0
EDGE_BLOCK = 16_384  # edges per block of messages: a block's MLP activations stay in cache


class FrameEdgeConv(TFMessagePassing):
    r"""EdgeConv with tensorial messages and a smooth k-NN max.

    .. math::
        h_i' = \max_j w_{ij} \big(\phi(h_i,\ \rho(R_i R_j^T) h_j - h_i,\ R_i (x_j - x_i) / s_i) + c\big) - c

    ``w_ij`` (``edge_weight``, 1 when not given) vanish at the k-NN cut-off (``neighbours.envelope``) and
    ``phi`` ends in SiLU, so with ``c = SILU_FLOOR`` every term is ``>= 0`` and a neighbour entering or
    leaving the k-NN set at the cut-off changes nothing: the dynamic graph is continuous in the input,
    and ties in it (near-identical features on a flat face) are harmless.
    ``x: (N, in_reps.dim)`` local features, ``pos: (N, 3)``, ``edge_weight: (E,)``, ``scale: (N,)`` the
    receivers' length unit ``s_i`` (1 when not given: cloud units); returns ``(N, out_dim)``.
    """

    def __init__(self, in_reps, out_dim: int, frame_transform: bool = True) -> None:
        super().__init__(local={"x": in_reps}, frame_transform=frame_transform, aggr="max")
        dim = as_reps(in_reps).dim
        self.phi = mlp([2 * dim + 3, out_dim, out_dim])
        self.out_dim = out_dim

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, frames,
                edge_weight: Optional[Tensor] = None, scale: Optional[Tensor] = None) -> Tensor:
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.shape[1], dtype=x.dtype, device=x.device)
        if scale is None:
            scale = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        # phi's first Linear on [h_i, h_j' - h_i, e] = (W_i - W_j) h_i + W_j h_j' + W_e e: the h_i part once per node
        w_i, w_j, _ = self.phi[0].weight.split([x.shape[-1], x.shape[-1], pos.shape[-1]], dim=1)
        receiver = F.linear(x, w_i - w_j, self.phi[0].bias)
        degree = regular_degree(edge_index, x.shape[0])
        if degree is None:
            return self.propagate(edge_index, frames=frames, x=x, receiver=receiver, pos=pos, edge_weight=edge_weight,
                                  scale=scale[:, None])
        senders, weights = edge_index[0].view(-1, degree), edge_weight.view(-1, degree)
        return self._by_receiver(x, pos, senders, weights, receiver, scale, as_matrices(frames).to(x.dtype))

    def _by_receiver(self, x: Tensor, pos: Tensor, senders: Tensor, weights: Tensor, receiver: Tensor,
                     scale: Tensor, R: Tensor) -> Tensor:
        """What ``propagate`` gives when node ``i`` receives from exactly ``senders[i]`` (``(N, k)``, weights
        ``(N, k)``): blocks of receivers, each block's messages built in cache, the senders' features
        taken to the global frame once and turned by each receiver's frame for all its ``k`` messages
        at once (``rho(R_i) rho(R_j)^T h_j = rho(R_i R_j^T) h_j``: ``frame_change_by_receiver``)."""
        reps, turn = self.frame_spec.local["x"], self.frame_spec.frame_transform
        sent = to_global(x, reps, R) if turn else x
        out = x.new_empty(x.shape[0], self.out_dim)
        step = max(1, EDGE_BLOCK // max(senders.shape[1], 1))
        for start in range(0, x.shape[0], step):
            rows = slice(start, start + step)
            x_j = frame_change_by_receiver(sent[senders[rows]], reps, R[rows]) if turn else sent[senders[rows]]
            edge_vec = (pos[senders[rows]] - pos[rows, None]) @ R[rows].transpose(1, 2)  # R_i (x_j - x_i)
            messages = self.message(x_j, receiver[rows, None], edge_vec, weights[rows], scale[rows, None, None])
            out[rows] = messages.amax(1)
        return self.update(out)

    def message(self, x_j: Tensor, receiver_i: Tensor, edge_vec: Tensor, edge_weight: Tensor,
                scale_i: Tensor) -> Tensor:
        _, w_j, w_e = self.phi[0].weight.split([x_j.shape[-1], x_j.shape[-1], edge_vec.shape[-1]], dim=1)
        first = F.linear(x_j, w_j).add_(receiver_i).add_(F.linear(edge_vec / scale_i, w_e))
        weight = edge_weight[..., None]
        return torch.addcmul(SILU_FLOOR * weight, weight, self.phi[1:](first))  # w (phi + c)

    def update(self, aggr_out: Tensor) -> Tensor:
        return aggr_out - SILU_FLOOR


def regular_degree(edge_index: Tensor, n: int) -> Optional[int]:
    """``k`` when the edges ``(2, E)`` are listed receiver by receiver, exactly ``k`` to each of the ``n``
    nodes (``edge_index[1] = 0, ..., 0, 1, ...``), as kNN tables give them; else None.

    >>> regular_degree(torch.tensor([[1, 2, 0, 2], [0, 0, 1, 1]]), 2), regular_degree(torch.tensor([[1], [0]]), 2)
    (2, None)
    """
    count = edge_index.shape[1]
    if n == 0 or count == 0 or count % n:
        return None
    k = count // n
    return k if bool((edge_index[1].view(n, k) == torch.arange(n, device=edge_index.device)[:, None]).all()) else None


def knn_in_pool(space: Tensor, pool: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Smooth kNN graph in ``space: (N, D)`` where node ``i`` may only pick from ``pool[i]`` (``(N, P)``,
    ``-1`` = none): ``edge_index (2, E)`` to the ``k`` nearest and ``edge_weight (E,)``, the envelope of
    the distance over the (k+1)-th nearest's (1 where the pool has no (k+1)-th).

    ``O(N P D)`` time and ``O(N D)`` extra memory (one pool column at a time).
    """
    valid = pool >= 0
    safe = pool.clamp_min(0)
    dist = torch.stack([(space[safe[:, c]] - space).pow(2).sum(-1) for c in range(pool.shape[1])], dim=1)
    best, idx = dist.masked_fill(~valid, math.inf).topk(min(k + 1, pool.shape[1]), dim=1, largest=False)
    best = best.clamp_min(0).sqrt()
    cut = best[:, k:k + 1] if best.shape[1] > k else torch.full_like(best[:, :1], math.inf)
    weight = torch.where(torch.isfinite(cut), envelope(best[:, :k] / cut.clamp_min(torch.finfo(best.dtype).tiny)),
                         torch.ones_like(best[:, :k]))
    best, idx = best[:, :k], idx[:, :k]
    keep = torch.isfinite(best)
    targets = torch.arange(pool.shape[0], device=pool.device)[:, None].expand_as(idx)
    return torch.stack([safe.gather(1, idx)[keep], targets[keep]]), weight[keep]


def knn_smooth(space: Tensor, k: int, batch: Tensor) -> Tuple[Tensor, Tensor]:
    """:func:`knn_in_pool` over whole clouds (each point its own nearest): ``(edge_index, edge_weight)``."""
    return smooth_edges(*knn_table(space, space, k + 1, batch, batch), k)


def smooth_edges(index: Tensor, dist: Tensor, k: int, pad: bool = False) -> Tuple[Tensor, Tensor]:
    """Edges ``(2, E)`` from a ``knn_table`` ``(index, dist)`` of ``>= k + 1`` columns to each row's first
    ``k``, weighted by the envelope of the distance over the (k+1)-th's (1 where there is none).
    Missing neighbours (``-1``) are left out, or with ``pad`` kept as edges from the row itself with
    weight 0 (they send nothing to a max of non-negative messages): then every node receives exactly
    ``k`` edges, listed node by node (:func:`regular_degree`)."""
    cut = torch.where(index[:, k:k + 1] >= 0, dist[:, k:k + 1], math.inf)
    weight = torch.where(torch.isfinite(cut), envelope(dist[:, :k] / cut.clamp_min(torch.finfo(dist.dtype).tiny)),
                         torch.ones_like(dist[:, :k]))
    keep = index[:, :k] >= 0
    targets = torch.arange(index.shape[0], device=index.device)[:, None].expand(-1, k)
    if pad:
        return (torch.stack([torch.where(keep, index[:, :k], targets).flatten(), targets.flatten()]),
                torch.where(keep, weight, 0.0).flatten())
    return torch.stack([index[:, :k][keep], targets[keep]]), weight[keep]


class DGCNN(NormalModel):
    """``layers`` :class:`FrameEdgeConv` layers, their outputs concatenated and fused by an MLP.

    The first graph is the kNN graph of the positions (each point its own nearest neighbour, as in
    the original); later ones are kNN graphs of the features, taken in the global frame
    (``to_global``) so that distances are invariant and comparable across nodes. In
    ``scalar_frames`` mode the local numbers themselves are used (no frame change anywhere).

    Every graph is smooth (:func:`knn_in_pool`): edge weights vanish at the k-NN cut-off, so the
    dynamic graph never makes a discrete choice that rounding could flip. The feature-space search runs
    over each point's ``knn_pool`` spatially nearest points (a local dynamic graph, linear cost);
    ``knn_pool=0`` searches the whole cloud as the original DGCNN does
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
        first, weight = self._knn(pos, batch, pool)
        edge_index = first
        h, outs = x, []
        for i, conv in enumerate(self.convs):
            if i > 0:
                space = to_global(h, self.hidden, frames) if self.frame_transform else h
                edge_index, weight = self._knn(space.detach(), batch, pool)
            h = conv(h, pos, edge_index, frames=frames, edge_weight=weight)
            outs.append(h)
        return self.fuse(torch.cat(outs, dim=-1)), first

    def _knn(self, space: Tensor, batch: Tensor, pool) -> Tuple[Tensor, Tensor]:
        return knn_smooth(space, self.k, batch) if pool is None else knn_in_pool(space, pool, self.k)
