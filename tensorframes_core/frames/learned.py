"""Learned frames: two equivariant vectors from an invariant MLP, Gram-Schmidt, and an O(3) handedness fix."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.neighbours import weighted_neighbourhood
from tensorframes_core.frames.repair import tolerances
from tensorframes_core.frames.rules import (CONSTRUCTION, FALLBACK, cloud_context, direction_tol, direction_vectors,
                                            first_rule_vector, roundoff_factors, settle_frames)
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
    ``e_3 . v_3 = 0``) the tie-breaking rules of ``frames/rules.py`` decide, directions through a
    continuous hand-off; only symmetric clouds fall back (counted). Gradients stay finite.

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
    relative to its rounding scale (``|v_c| <= 1``).

    Directions hand over to the tie-breaking rules (``frames/rules.py``) continuously: where a learned
    vector's margin ``n`` (its size, less the axes already chosen) falls from ``2 tol`` to ``tol``, the
    axis turns from the learned direction to the first rule vector that clears ``tol``
    (:func:`_blend`), so no threshold separates two different axes (a hard hand-off at ``n = tol`` was
    a float32 flip). Signs: e3's from the triple product with ``v3``, else from the non-local rules
    (centroid, far field) first; a local moment's sign next to its floor was the other flip."""
    tol = direction_tol(v1.dtype)
    vectors = [v if v is None else v.to(v1.dtype) for v in direction_vectors(local, ctx, v1.dtype)]
    e1, m1, r1, ok1 = _blend(v1, first_rule_vector(vectors, lambda v: v, tol), tol)
    v1_size = _size(v1)
    v2 = v2 - (v2 * e1).sum(-1, keepdim=True) * e1
    across = lambda v: v - (v * e1.detach()).sum(-1, keepdim=True) * e1.detach()  # noqa: E731
    e2, m2, r2, ok2 = _blend(v2, first_rule_vector(vectors, across, tol), tol)
    e2 = e2 - (e2 * e1).sum(-1, keepdim=True) * e1  # orthogonal to rounding
    e2 = e2 / _size(e2)[:, None]
    # where no vector clears its margin, any orthonormal basis of the undecided span will do: the rules settle it
    e1 = torch.where(ok1[:, None], e1, _any_orthogonal(torch.zeros_like(e1)))
    ok2 = ok1 & ok2
    e2 = torch.where(ok2[:, None], e2, _any_orthogonal(e1))
    e3 = torch.linalg.cross(e1, e2)
    # handedness: the triple product det[v1, v2, v3] = n1 n2 (e3 . v3) where the learned vectors decide alone
    # (its rounding ~eps |v1| |v2| |v3|); with the sizes as weights the hand-off sits where e3 . v3 is not small
    side = ((e3 * v3).sum(-1) * v1_size * _size(v2)).detach()
    axes = torch.stack([e1, e2, e3 * torch.where(side < 0, -1.0, 1.0).to(e3.dtype)[:, None]], 1)
    margins = torch.stack([m1, m2, torch.minimum(m2, side.abs())], 1).detach()
    _, flip = tolerances(margins.clamp_min(tol))
    near, _ = roundoff_factors(local, ctx, v1.dtype)
    sign_ok = torch.stack([torch.ones_like(ok1)] * 2 + [ok2 & (side.abs() > flip[:, 2] * near)], 1)
    # where the triple product cannot sign e3, the rules sign it: what bounds their values is the rounding of
    # e3's direction (margin m2), not the failed handedness margin (which would ask ~0.1 of every rule)
    margins = torch.where(sign_ok, margins, m2.detach()[:, None].expand(-1, 3))
    rule = torch.stack([r1, torch.maximum(r1, r2), torch.maximum(r1, r2)], 1)
    # a learned axis's rounding error eps / m reaches eps^(2/3): its sign comes from the centroid or the far
    # field, whose values are rarely near their bound; local moments (often near 0 on smooth patches, so often
    # near any floor) only after them, and above the direction tolerance
    return settle_frames(axes, torch.stack([ok1, ok2], 1), margins, sign_ok, local, ctx,
                         local_floor=tol, rule=rule, sign_order=(3, 4, 1, 2))


def _size(v: Tensor) -> Tensor:
    """``|v|`` of ``v: (N, 3)``, with ``eps`` inside the root (finite gradients at 0)."""
    return (v.square().sum(-1) + torch.finfo(v.dtype).eps ** 2).sqrt()


def _blend(v: Tensor, rule_vector: Tuple[Tensor, Tensor, Tensor], tol: float) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """One axis from a learned vector ``v: (N, 3)`` (margin ``n = |v|``) and the first rule vector
    ``(unit, norm, rule)`` (:func:`rules.first_rule_vector`): ``a v / n + (1 - a) u`` with
    ``a = clamp((n - tol) / tol, 0, 1)``, normalised. Returns the unit axis, its margin (the blend's size
    times the smaller margin that enters), the deciding rule (0: the learned vector alone) and whether
    it is decided. Where no rule vector exists the learned vector decides alone above ``tol``."""
    u, u_norm, code = rule_vector
    found = code != FALLBACK
    n = _size(v)
    a = ((n - tol) / tol).clamp(0.0, 1.0)
    a = torch.where(found, a, (n > tol).to(a.dtype))
    w = a[:, None] * v / n[:, None] + (1 - a)[:, None] * u
    size = _size(w)
    enters = torch.where(a >= 1, n, torch.where(a <= 0, u_norm, torch.minimum(n, u_norm)))
    margin = (size * enters).detach()
    rule = torch.where(a >= 1, CONSTRUCTION, code)
    return w / size[:, None], margin, rule, (size > tol) & ((n > tol) | found)


def _any_orthogonal(e: Tensor) -> Tensor:
    """A unit vector orthogonal to each unit row of ``e: (N, 3)`` (to ``e_x`` where ``e`` is 0); not
    equivariant: only a basis for a span that the tie-breaking rules then settle."""
    pick = torch.zeros_like(e).scatter_(-1, e.detach().abs().argmin(dim=-1, keepdim=True), 1.0)
    v = pick - (pick * e).sum(-1, keepdim=True) * e
    return v / v.norm(dim=-1, keepdim=True)
