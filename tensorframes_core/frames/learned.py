"""Learned frames: two equivariant vectors from an invariant MLP, Gram-Schmidt, and an O(3) handedness fix."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.neighbours import weighted_neighbourhood
from tensorframes_core.frames.repair import tolerances
from tensorframes_core.frames.rules import cloud_context, direction_tol, roundoff_factors, settle_frames
from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


class LearnedFrames(nn.Module):
    r"""Frames learned end to end (the paper's main construction), ``d = 3``.

    .. math::
        v_{c,i} = \sum_j w_c(s_{ij})\, \frac{x_j - x_i}{|x_j - x_i|}\, u\!\left(\frac{|x_j - x_i|}{r_i}\right),
        \quad c = 1, 2, 3

    with ``w_c = MLP_c(s_ij) + s_ij^{c-1}``, an MLP on invariant scalars ``s_ij`` (distance over the
    neighbourhood's weighted mean distance, and the nodes' invariant features ``x``) plus distinct fixed
    terms that keep the three vectors apart at initialisation, ``r_i`` the distance of the (k+1)-th
    neighbour and ``u`` the envelope of ``neighbours.weighted_neighbourhood`` (scale-free, and
    continuous across ties in the neighbour search). Gram-Schmidt of ``v_1, v_2`` gives ``e_1, e_2``;
    ``e_3 = e_1 x e_2`` is flipped by the sign of ``e_3 . v_3``: a cross product alone is only
    SO(3)-equivariant. Where those margins fail (on a flat face ``v_3`` lies in the plane, so
    ``e_3 . v_3 = 0``) the tie-breaking rules of ``frames/rules.py`` decide; only symmetric clouds fall
    back (counted). Gradients stay finite.

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

    def forward(self, pos: Tensor, batch: Optional[Tensor] = None, x: Optional[Tensor] = None) -> Frames:
        """``pos: (N, 3)``, ``batch: (N,)``, optional invariant ``x: (N, in_scalars)`` -> ``Frames``."""
        if pos.dim() != 2 or pos.shape[1] != 3:
            raise ValueError(f"LearnedFrames needs pos of shape (N, 3), got {tuple(pos.shape)}")
        n = pos.shape[0]
        if self.in_scalars and (x is None or x.shape != (n, self.in_scalars)):
            raise ValueError(f"x must be (N, {self.in_scalars}) invariant scalars")
        tiny, eps = torch.finfo(pos.dtype).tiny, torch.finfo(pos.dtype).eps
        with torch.no_grad():
            table = knn_table(pos, pos, self.k + 1, batch, batch, exclude_self=True)
            _, weight = weighted_neighbourhood(pos, self.k, batch, table)  # envelope u(|r| / r_i), (N, k)
        index = table[0][:, :self.k].clamp_min(0)
        rel = torch.where(table[0][:, :self.k, None] >= 0, pos[index] - pos[:, None], 0.0)  # differentiable
        # scale-free: offsets in units of the cut-off r_i (an invariant, not differentiated)
        reach = (pos[table[0][:, self.k].clamp_min(0)] - pos).detach().norm(dim=-1)
        reach = torch.where(table[0][:, self.k] >= 0, reach, rel.detach().norm(dim=-1).amax(dim=1))
        local = (rel.detach(), weight)  # for the tie-breaking rules, in the input's units
        rel = rel / reach.clamp_min(tiny)[:, None, None]
        dist = (rel.square().sum(-1, keepdim=True) + eps**2).sqrt()  # eps inside: finite gradients at 0
        mean_dist = (weight[..., None] * dist).sum(1, keepdim=True) / weight.sum(1).clamp_min(tiny)[:, None, None]
        s = dist / mean_dist.clamp_min(eps)
        scalars = [s]
        if self.in_scalars:
            scalars += [x[:, None].expand(n, self.k, -1), x[index]]
        # distinct fixed components (1, s, s^2) keep v_1, v_2, v_3 apart at initialisation
        w = self.weights(torch.cat(scalars, -1)) + torch.cat([torch.ones_like(s), s, s * s], -1)  # (N, k, 3)
        terms = weight[..., None] * w  # (N, k, 3)
        v = (terms[..., None] * (rel / dist)[:, :, None, :]).sum(1)  # (N, 3, 3)
        # relative to the sum of the terms' sizes, since rounding scales with that, not with |v_c|
        v = v / terms.detach().abs().sum(1).clamp_min(tiny)[..., None]
        v = v.to(torch.promote_types(v.dtype, torch.float32))  # under autocast: decide in float32 at least
        return _gram_schmidt_o3(v[:, 0], v[:, 1], v[:, 2], local, cloud_context(pos, batch))


def _gram_schmidt_o3(v1: Tensor, v2: Tensor, v3: Tensor, local, ctx) -> Frames:
    """Rows ``e1, e2, +-e1 x e2`` from equivariant ``v1, v2`` and the handedness vector ``v3``, each
    relative to its rounding scale (``|v_c| <= 1``); what their margins leave open goes to the
    tie-breaking rules (``frames/rules.py``)."""
    eps = torch.finfo(v1.dtype).eps
    n1 = (v1.square().sum(-1, keepdim=True) + eps**2).sqrt()
    e1 = v1 / n1
    v2 = v2 - (v2 * e1).sum(-1, keepdim=True) * e1
    n2 = (v2.square().sum(-1, keepdim=True) + eps**2).sqrt()
    e2 = v2 / n2
    e2 = e2 - (e2 * e1).sum(-1, keepdim=True) * e1  # Gram-Schmidt twice: orthogonal to rounding
    e2 = e2 / (e2.square().sum(-1, keepdim=True) + eps**2).sqrt()
    tol = direction_tol(v1.dtype)
    # where a margin fails, any orthonormal basis of the undecided span will do: the rules settle it
    e1 = torch.where(n1 > tol, e1, _any_orthogonal(torch.zeros_like(e1)))
    e2 = torch.where((n1 > tol) & (n2 > tol), e2, _any_orthogonal(e1))
    e3 = torch.linalg.cross(e1, e2)
    # handedness from the triple product of the inputs: sign(e3 . v3) = sign(det[v1, v2, v3]), and the
    # determinant's rounding error is eps |v1||v2||v3|, not eps / n2 as through e3
    triple = (torch.linalg.cross(v1, v2) * v3).sum(-1).detach()
    side = triple  # relative: each |v_c| <= 1
    axes = torch.stack([e1, e2, e3 * torch.where(side < 0, -1.0, 1.0).to(e3.dtype)[:, None]], 1)
    margins = torch.cat([n1, n2, torch.minimum(n2, side.abs()[:, None])], 1).detach()
    split_ok = torch.cat([n1 > tol, (n1 > tol) & (n2 > tol)], 1).detach()
    _, flip = tolerances(margins.clamp_min(tol))
    near, _ = roundoff_factors(local, ctx, v1.dtype)
    sign_ok = torch.stack([torch.ones_like(side, dtype=torch.bool)] * 2 + [side.abs() > flip[:, 2] * near], 1)
    # where the triple product cannot sign e3, the rules sign it: what bounds their values is the rounding of
    # e3's direction (margin n2), not the failed handedness margin (which would ask ~0.1 of every rule)
    margins = torch.where(sign_ok, margins, n2.expand(-1, 3))
    # a learned axis has rounding error eps / n (its margin): local moments decide a sign only above the
    # direction tolerance, else the non-local rules do (a near-threshold local moment was the last flip)
    return settle_frames(axes, split_ok, margins, sign_ok, local, ctx, local_floor=tol)


def _any_orthogonal(e: Tensor) -> Tensor:
    """A unit vector orthogonal to each unit row of ``e: (N, 3)`` (to ``e_x`` where ``e`` is 0); not
    equivariant: only a basis for a span that the tie-breaking rules then settle."""
    pick = torch.zeros_like(e).scatter_(-1, e.detach().abs().argmin(dim=-1, keepdim=True), 1.0)
    v = pick - (pick * e).sum(-1, keepdim=True) * e
    return v / v.norm(dim=-1, keepdim=True)
