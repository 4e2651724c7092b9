"""Learned frames: two equivariant vectors from an invariant MLP, Gram-Schmidt, and an O(3) handedness fix."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch_geometric.utils import scatter

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.repair import repair_axes, tolerances
from tensorframes_core.graph import knn_graph

Tensor = torch.Tensor


class LearnedFrames(nn.Module):
    r"""Frames learned end to end (the paper's main construction), ``d = 3``.

    .. math::
        v_{c,i} = \sum_j w_c(s_{ij})\, \frac{x_j - x_i}{|x_j - x_i|}\, u\!\left(\frac{|x_j - x_i|}{r_i}\right),
        \quad c = 1, 2, 3

    with ``w_c = MLP_c(s_ij) + s_ij^{c-1}``, an MLP on invariant scalars ``s_ij`` (distance over the
    neighbourhood's mean distance, and the nodes' invariant features ``x``) plus distinct fixed terms
    that keep the three vectors apart at initialisation, ``r_i`` 1.01 x the largest neighbour distance
    and ``u(t) = (1 + cos(pi t)) / 2`` (all scale-free). Gram-Schmidt of ``v_1, v_2`` gives ``e_1, e_2``;
    ``e_3 = e_1 x e_2`` is flipped by the sign of ``e_3 . v_3``: a cross product alone is only
    SO(3)-equivariant. Degenerate neighbourhoods (``v_1 ~ 0``, ``v_2 || v_1``, ``e_3 . v_3 ~ 0``) fall
    back deterministically (counted); gradients stay finite.

    >>> frames = LearnedFrames(k=8)(torch.randn(32, 3))
    >>> frames.matrices.shape
    torch.Size([32, 3, 3])
    """

    def __init__(self, k: int = 16, hidden: int = 32, in_scalars: int = 0) -> None:
        super().__init__()
        self.k = k
        self.in_scalars = in_scalars
        self.weights = nn.Sequential(
            nn.Linear(1 + 2 * in_scalars, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 3))

    def forward(self, pos: Tensor, batch: Optional[Tensor] = None, x: Optional[Tensor] = None,
                edge_index: Optional[Tensor] = None) -> Frames:
        """``pos: (N, 3)``, optional invariant ``x: (N, in_scalars)`` -> ``Frames``."""
        if pos.dim() != 2 or pos.shape[1] != 3:
            raise ValueError(f"LearnedFrames needs pos of shape (N, 3), got {tuple(pos.shape)}")
        n = pos.shape[0]
        if edge_index is None:
            edge_index = knn_graph(pos.detach(), self.k, batch)
        src, dst = edge_index
        eps = torch.finfo(pos.dtype).eps
        rel = pos[src] - pos[dst]
        # scale-free: offsets in units of the node's farthest neighbour (an invariant, not differentiated)
        reach = scatter(rel.detach().norm(dim=-1), dst, 0, dim_size=n, reduce="max")
        rel = rel / reach.clamp_min(torch.finfo(pos.dtype).tiny)[dst, None]
        dist = (rel.square().sum(-1, keepdim=True) + eps**2).sqrt()  # eps inside: finite gradients at 0
        mean_dist = scatter(dist, dst, 0, dim_size=n, reduce="mean")
        radius = scatter(dist, dst, 0, dim_size=n, reduce="max") * 1.01
        scalars = [dist / mean_dist[dst]]
        if self.in_scalars:
            if x is None or x.shape != (n, self.in_scalars):
                raise ValueError(f"x must be (N, {self.in_scalars}) invariant scalars")
            scalars += [x[dst], x[src]]
        s = scalars[0]
        # distinct fixed components (1, s, s^2) keep v_1, v_2, v_3 apart at initialisation
        w = self.weights(torch.cat(scalars, -1)) + torch.cat([torch.ones_like(s), s, s * s], -1)  # (E, 3)
        t = (dist / radius[dst]).clamp(max=1.0)
        envelope = 0.5 * (torch.cos(torch.pi * t) + 1.0)
        v = scatter(w[:, :, None] * (rel / dist)[:, None, :] * envelope[:, :, None], dst, 0, dim_size=n, reduce="sum")
        return _gram_schmidt_o3(v[:, 0], v[:, 1], v[:, 2])


def _gram_schmidt_o3(v1: Tensor, v2: Tensor, v3: Tensor) -> Frames:
    """Rows ``e1, e2, +-e1 x e2`` from equivariant ``v1, v2`` and the handedness vector ``v3``."""
    eps = torch.finfo(v1.dtype).eps
    scale = (v1.norm(dim=-1) + v2.norm(dim=-1) + v3.norm(dim=-1)).detach().clamp_min(torch.finfo(v1.dtype).tiny)
    v1, v2, v3 = (v / scale[:, None] for v in (v1, v2, v3))  # O(1) vectors: eps below is negligible
    n1 = (v1.square().sum(-1, keepdim=True) + eps**2).sqrt()
    e1 = v1 / n1
    v2 = v2 - (v2 * e1).sum(-1, keepdim=True) * e1
    n2 = (v2.square().sum(-1, keepdim=True) + eps**2).sqrt()
    e2 = v2 / n2
    e2 = e2 - (e2 * e1).sum(-1, keepdim=True) * e1  # Gram-Schmidt twice: orthogonal to rounding
    e2 = e2 / (e2.square().sum(-1, keepdim=True) + eps**2).sqrt()
    e3 = torch.linalg.cross(e1, e2)
    side = (e3 * v3).sum(-1)
    axes = torch.stack([e1, e2, e3 * torch.where(side < 0, -1.0, 1.0).to(e3.dtype)[:, None]], 1)
    margins = torch.cat([n1, n2, n2], 1).detach()
    axis_tol, sign_tol = tolerances(margins)
    axis_ok = margins > axis_tol
    axis_ok[:, 1:] &= axis_ok[:, :1]
    sign_ok = torch.ones_like(axis_ok)
    sign_ok[:, 2] = side.detach().abs() > sign_tol[:, 2]
    matrices, fallback = repair_axes(axes, axis_ok, sign_ok)
    quality = torch.minimum(margins[:, :2].amin(dim=1), side.detach().abs())
    return Frames(matrices, torch.where(fallback, torch.zeros_like(quality), quality), fallback)
