"""The flagship normal estimator: neighbourhood moments at four scales, in local frames, density-free.

Inputs are not positions (which carry the cloud's size and the sampling density) but, per point
``i`` and scale ``s``, moments of its ``k_s`` nearest points weighted by the smooth envelope of
``frames.neighbours`` (so the inputs are continuous and near-ties in the search change nothing):

=============== ========= ==================================================================
feature          type      value
=============== ========= ==================================================================
spread           ``2n``    ``C_s / r_s^2``, ``C_s`` the weighted covariance about the weighted mean
offset           ``1n``    ``m_s / r_s``, ``m_s`` the weighted mean of ``x_j - x_i``
size             ``0n``    ``log(r_s / r_ref)``
=============== ========= ==================================================================

``r_s`` is the distance of the (k_s+1)-th point, ``r_ref`` the message graph's cut-off. Everything
is a ratio of lengths, so the same surface gives the same inputs at 2,000 or 2,000,000 points.
The fine scales (``k = 8, 16``) search the whole cloud; the coarse ones (``k = 32, 64``) search a
subsample of at most ``ref_points`` points of each cloud (every ``ceil(N / ref_points)``-th point by
index, which does not depend on the orientation), so their physical extent stays that of a
``ref_points``-point cloud however dense the scan: noise is averaged over the same patch of surface.

The spread tensors are what makes tensorial messages matter: in ``tensor_frames`` mode a neighbour's
``C_s`` reaches node ``i`` as ``R_i R_j^T C_s (R_i R_j^T)^T``, the same tensor seen from ``i``; in
``scalar_frames`` it arrives in ``j``'s own axes. ``layers`` :class:`~tensorframes_core.models.dgcnn.FrameEdgeConv`
layers over the smooth ``k``-NN graph, with edge vectors in units of ``r_ref``, are fused with the
inputs and read out as one local vector (the PCA normal at the start of training).
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import nn

from tensorframes_core.frames.neighbours import envelope
from tensorframes_core.graph import knn_table
from tensorframes_core.models.base import CloudScope, NormalModel
from tensorframes_core.models.dgcnn import FrameEdgeConv, smooth_edges
from tensorframes_core.models.layers import mlp

Tensor = torch.Tensor

FINE_K = (8, 16)  # searched in the whole cloud
COARSE_K = (32, 64)  # searched in the ref_points subsample
SCALES = len(FINE_K) + len(COARSE_K)
COARSE_WIDTH = max(COARSE_K) + 1  # columns of the coarse neighbour table
ROW_BLOCK = 4096  # points per block of moments: a block's (n, 64, 3) neighbourhoods stay in cache


def strided_subsample(batch: Tensor, num_graphs: int, ref_points: int) -> Tensor:
    """Indices of every ``ceil(n_c / ref_points)``-th point of each cloud ``c`` (by position in the cloud).

    >>> strided_subsample(torch.tensor([0, 0, 0, 0, 0, 1, 1]), 2, 2)  # steps 3 and 1
    tensor([0, 3, 5, 6])
    """
    count = torch.bincount(batch, minlength=num_graphs)
    start = torch.cumsum(count, 0) - count
    step = (count + ref_points - 1) // ref_points
    local = torch.arange(batch.shape[0], device=batch.device) - start[batch]
    return (local % step.clamp_min(1)[batch] == 0).nonzero()[:, 0]


def neighbourhood_moments(query: Tensor, ref: Tensor, index: Tensor, dist: Tensor,
                          ks: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
    """Envelope-weighted moments of each query point's first ``k`` neighbours in ``ref``, for each ``k`` in
    ``ks``, from a table ``index, dist: (N, >= max(ks) + 1)`` (``index`` into ``ref: (M, 3)``, ``-1`` = none,
    nearest first) for ``query: (N, 3)``: per ``k`` the covariance ``(N, 3, 3)`` about the weighted mean,
    the weighted mean of ``x_j - x_i`` ``(N, 3)`` and the cut-off ``r`` ``(N,)`` (the (k+1)-th distance; the
    farthest one where there is no (k+1)-th, every neighbour then weighing 1; 1 where all are
    coincident). One gather of the widest neighbourhood serves every ``k``.
    """
    width = max(ks)
    valid_all = index[:, :width + 1] >= 0
    rel_all = torch.where(valid_all[:, :width, None], ref[index[:, :width].clamp_min(0)] - query[:, None], 0.0)
    moments = []
    for k in ks:
        valid, rel = valid_all[:, :k + 1], rel_all[:, :k]
        far = torch.where(valid[:, k], dist[:, k], dist[:, :k].masked_fill(~valid[:, :k], 0.0).amax(1))
        cut = torch.where(far > 0, far, 1.0)  # coincident points: any unit will do
        weight = torch.where(valid[:, k:k + 1], envelope(dist[:, :k] / cut[:, None]), valid[:, :k].to(query.dtype))
        total = weight.sum(1, keepdim=True).clamp_min(torch.finfo(query.dtype).tiny)
        mean = (weight[..., None] * rel).sum(1) / total
        centred = rel - mean[:, None]
        cov = (weight[..., None] * centred).transpose(1, 2) @ centred / total[..., None]
        moments.append((cov, mean, cut))
    return moments


def without_self(index: Tensor, dist: Tensor, ids: Tensor, ref_ids: Tensor, width: int) -> Tuple[Tensor, Tensor]:
    """A neighbour table ``(N, width + 1)`` into a reference set with each query point itself moved out:
    ``ids: (N,)`` the queries' and ``ref_ids: (M,)`` the references' ids in the whole cloud; returns the
    first ``width`` columns of what is left (only the rows of reference points can hold themselves).

    >>> without_self(torch.tensor([[0, 1, 2], [1, 0, 2]]), torch.tensor([[0.0, 1, 2], [1, 2, 3]]),
    ...              torch.tensor([5, 9]), torch.tensor([5, 7, 8]), 2)[0]
    tensor([[1, 2],
            [1, 0]])
    """
    rows = torch.isin(ids, ref_ids).nonzero()[:, 0]
    own_index, own_dist = index[rows], dist[rows]
    is_self = (own_index >= 0) & (ref_ids[own_index.clamp_min(0)] == ids[rows, None])
    order = torch.sort(is_self.to(torch.uint8), dim=1, stable=True).indices[:, :width]  # self moves last
    index, dist = index[:, :width].clone(), dist[:, :width].clone()
    index[rows], dist[rows] = own_index.gather(1, order), own_dist.gather(1, order)
    return index, dist


class MultiScale(NormalModel):
    """Multi-scale neighbourhood moments in local frames (module docstring), ``layers`` smooth EdgeConvs.

    Size kwargs: ``layers`` (3), ``k`` (16, the message graph), ``ref_points`` (2048, the coarse
    scales' subsample) plus the common ones of :class:`NormalModel`.
    """

    input_reps = f"{SCALES}x0n+{SCALES}x1n+{SCALES}x2n"

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", layers: int = 3, k: int = 16,
                 ref_points: int = 2048, hidden: str = "24x0n+6x1n+3x2n", **common: Any) -> None:
        super().__init__("multiscale", mode, frames, task,
                         {"layers": int(layers), "k": int(k), "ref_points": int(ref_points)}, hidden=hidden, **common)
        if layers < 1 or k < 1 or ref_points < max(COARSE_K) + 1:
            raise ValueError(f"need layers >= 1, k >= 1, ref_points > {max(COARSE_K)}; got {layers}, {k}, {ref_points}")
        self.k, self.ref_points = int(k), int(ref_points)
        dim = self.hidden.dim
        self.convs = nn.ModuleList(
            FrameEdgeConv(self.in_reps if i == 0 else self.hidden, dim, self.frame_transform) for i in range(layers))
        self.fuse = mlp([self.in_reps.dim + layers * dim, 2 * dim, dim])
        self.shared_k = max(self.k, max(FINE_K), self.frame_selector.k) + 1
        self.receptive_hops = int(layers) + 1  # the inputs of the last senders need their own neighbours

    def global_inputs(self, pos: Tensor, batch: Tensor, table: Optional[Tuple[Tensor, Tensor]],
                      scope: Optional[CloudScope] = None) -> Tensor:
        """``(N, 52)``: sizes ``(N, 4)``, offsets ``(N, 12)``, spreads ``(N, 36)`` (module table); no gradient."""
        with torch.no_grad():
            work = pos.to(torch.promote_types(pos.dtype, torch.float32))
            if scope is None:
                ref, coarse_index, coarse_dist = self.coarse_table(work, batch)
            else:
                ref, coarse_index, coarse_dist = scope.coarse
            ref, ref_length = ref.to(work.dtype), self._reference_length(table, work)
            blocks = [work.new_zeros(0, self.in_reps.dim)]
            for start in range(0, work.shape[0], ROW_BLOCK):
                rows = slice(start, start + ROW_BLOCK)
                fine = (table[0][rows], table[1][rows].to(work.dtype))
                coarse = (coarse_index[rows], coarse_dist[rows].to(work.dtype))
                blocks.append(self._inputs(work[rows], work, ref, fine, coarse, ref_length[rows]))
            return torch.cat(blocks).to(pos.dtype)

    @staticmethod
    def _inputs(query: Tensor, fine_ref: Tensor, coarse_ref: Tensor, fine: Tuple[Tensor, Tensor],
                coarse: Tuple[Tensor, Tensor], ref_length: Tensor) -> Tensor:
        """The inputs ``(n, 52)`` of a block of points ``query: (n, 3)`` from their rows of the fine and
        coarse neighbour tables (into ``fine_ref``, ``coarse_ref``) and their ``r_ref: (n,)``."""
        moments = neighbourhood_moments(query, fine_ref, *fine, FINE_K)
        moments += neighbourhood_moments(query, coarse_ref, *coarse, COARSE_K)
        sizes = torch.stack([torch.log(cut / ref_length) for _, _, cut in moments], dim=1)
        offsets = torch.cat([mean / cut[:, None] for _, mean, cut in moments], dim=1)
        spreads = torch.cat([(cov / cut.square()[:, None, None]).flatten(1) for cov, _, cut in moments], dim=1)
        return torch.cat([sizes, offsets, spreads], dim=1)

    def coarse_table(self, pos: Tensor, batch: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The coarse scales' reference points ``pos[sub]`` (:func:`strided_subsample`) and each point's
        ``COARSE_WIDTH`` nearest others among them: ``(reference (M, 3), index (N, W) into it, dist (N, W))``."""
        sub = strided_subsample(batch, int(batch.max()) + 1 if batch.numel() else 0, self.ref_points)
        index, dist = knn_table(pos[sub], pos, COARSE_WIDTH + 1, batch[sub], batch)
        ids = torch.arange(pos.shape[0], device=pos.device)
        return (pos[sub], *without_self(index, dist, ids, sub, COARSE_WIDTH))

    def _reference_length(self, table: Tuple[Tensor, Tensor], like: Tensor) -> Tensor:
        """``r_ref (N,)``: the distance of the (k+1)-th neighbour, the message graph's cut-off."""
        index, dist = table
        far = torch.where(index[:, self.k] >= 0, dist[:, self.k], dist[:, :self.k].nan_to_num(posinf=0.0).amax(1))
        far = far.to(like.dtype)
        return torch.where(far > 0, far, 1.0)

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table=None) -> Tuple[Tensor, Tensor]:
        edge_index, weight = smooth_edges(table[0], table[1].to(pos.dtype), self.k, pad=True)  # k per node
        scale = self._reference_length(table, pos)
        h, outs = x, [x]
        for conv in self.convs:
            h = conv(h, pos, edge_index, frames=frames, edge_weight=weight, scale=scale)
            outs.append(h)
        return self.fuse(torch.cat(outs, dim=-1)), edge_index[:, edge_index[0] != edge_index[1]]  # padding out


