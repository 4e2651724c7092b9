r"""The tie-breaking rules that settle every axis of a frame: one place, one order, float-derived margins.

A frame axis is a direction and a sign. A construction (PCA's eigenvectors, learned vectors) proposes
axes; where its margin is too small the decision is handed, in order, to the next rule:

====  ====================  =====================================================================
code  rule                  quantity (``r_j = x_j - x_i`` over the k neighbours, ``a_i = c - x_i``)
====  ====================  =====================================================================
0     construction          the construction's own direction (eigen-gap) or sign
1     local first moment    :math:`m_1 = \sum_j r_j / \sum_j |r_j|`
2     local third moment    :math:`\sum_j (e \cdot r_j)^3 / \sum_j |r_j|^3` (sign);
                            :math:`\sum_j |r_j|^2 r_j / \sum_j |r_j|^3` (direction)
3     centroid              the offset to the cloud's centroid, :math:`a_i / s` (``s``: RMS radius)
4     far field             the cloud's third moment about the point,
                            :math:`\overline{((x_j - x_i) \cdot e)^3} / s^3` (sign);
                            :math:`M a_i / s^3` with the cloud's second moment M (direction)
5     fallback              standard basis (deterministic, NOT equivariant: counted)
====  ====================  =====================================================================

Directions: axes whose relative eigen-gaps (or construction margins) are below ``direction_tol``
form a *cluster*: its span is determined, the basis inside it is not. The rules' vectors, projected
into what is left of the span, fill the cluster one axis at a time (sign included); its last axis is
the remaining one-dimensional complement. Signs: every axis without one takes the sign of the first
rule whose value clears ``sign_tol``. A flat face (a mirror-symmetric neighbourhood) thus gets its
normal's sign from the centroid; a cylinder cap's in-plane axes from local moments; ties that only
the whole cloud's symmetry can explain (a planar cloud, a symmetric grid) fall back and are counted.

Margins come from the float precision: a direction counts when its relative margin exceeds
``eps^(1/3)`` (then its rounding error ``eps / margin`` is at most ``eps^(2/3)``: 2.4e-5 in float32,
3.7e-11 in float64), a sign when its relative value exceeds what rounding could flip,
``64 eps + 4 eps / margin`` (``repair.tolerances``). A decision near a margin is either robust or
handed on, never taken on round-off. Non-local sums (centroid, moments) run in float64.

Every threshold between two rules that disagree is a place where rounding can flip a decision; such
events are rare per point but not impossible. Learned frames, whose margins are often small, therefore
hand directions over continuously (``learned._blend``: no threshold between two different axes) and
try the sign rules in the order centroid, far field, then local moments (``sign_order``): the non-local
values are rarely near their bound, while local moments on smooth patches often sit near any floor.
"""
from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Tuple

import torch

from tensorframes_core.frames.base import Frames
from tensorframes_core.frames.repair import repair_axes, tolerances

Tensor = torch.Tensor
Local = Tuple[Tensor, Tensor]  # a weighted neighbourhood: rel (N, k, d), weight (N, k)

RULES = ("construction", "local first moment", "local third moment", "centroid", "far field", "fallback")
CONSTRUCTION, FALLBACK = 0, len(RULES) - 1


def direction_tol(dtype: torch.dtype) -> float:
    """Smallest relative margin (eigen-gap, residual norm) that decides a direction: ``eps^(1/3)``.

    >>> round(direction_tol(torch.float32), 5), f"{direction_tol(torch.float64):.1e}"
    (0.00492, '6.1e-06')
    """
    return torch.finfo(dtype).eps ** (1.0 / 3.0)


class CloudContext(NamedTuple):
    """Non-local information that turns with the cloud (float64), for the points of each cloud.

    ``offset: (N, d)`` centroid minus point over the RMS radius ``s``; ``moment2: (B, d, d)`` and
    ``moment3: (B, d, d, d)``: each cloud's second and third central moments over ``s^2``, ``s^3``;
    ``members``: per cloud, the indices of its points; ``magnitude: (N,)``: ``|x_i|``, the size of the
    point's coordinates, and ``radius: (N,)``: ``s``. Rounding the input coordinates (as computing
    ``g x`` does) moves a point by ``~eps |x_i|``.
    """

    offset: Tensor
    moment2: Tensor
    moment3: Tensor
    members: List[Tensor]
    magnitude: Tensor
    radius: Tensor

    def take(self, index: Tensor) -> "CloudContext":
        """The context of the points ``index: (M,)`` of ONE cloud, as one cloud of ``M`` points: a tile of
        a large cloud keeps the whole cloud's centroid and moments (``normals.tiles``)."""
        owner = next(b for b, idx in enumerate(self.members) if bool(torch.isin(index[:1], idx).all()))
        return CloudContext(self.offset[index], self.moment2[owner:owner + 1], self.moment3[owner:owner + 1],
                            [torch.arange(len(index), device=index.device)], self.magnitude[index], self.radius[index])


def cloud_context(pos: Tensor, batch: Optional[Tensor] = None) -> CloudContext:
    """Centroid offsets and central moments of each point's cloud, ``pos: (N, d)``, ``batch: (N,)``;
    memory ``O(N d)`` (the moments are summed cloud by cloud)."""
    n, d = pos.shape
    x = pos.detach().double()
    batch = torch.zeros(n, dtype=torch.long, device=pos.device) if batch is None else batch.long()
    graphs = int(batch.max()) + 1 if n else 0
    count = torch.zeros(graphs, dtype=x.dtype, device=x.device).index_add_(0, batch, torch.ones_like(x[:, 0]))
    centre = torch.zeros(graphs, d, dtype=x.dtype, device=x.device).index_add_(0, batch, x)
    centre = centre / count.clamp_min(1)[:, None]
    z = x - centre[batch]
    scale = (torch.zeros_like(count).index_add_(0, batch, z.square().sum(-1)) / count.clamp_min(1)).sqrt()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    z = z / scale[batch, None]
    members = [(batch == b).nonzero()[:, 0] for b in range(graphs)]
    m2 = x.new_zeros(graphs, d, d)
    m3 = x.new_zeros(graphs, d, d, d)
    for b, idx in enumerate(members):
        zb = z[idx]
        m2[b] = zb.T @ zb / max(len(idx), 1)
        m3[b] = ((zb[:, :, None] * zb[:, None, :]).reshape(len(idx), d * d).T @ zb).reshape(d, d, d) / max(len(idx), 1)
    return CloudContext(-z, m2, m3, members, x.norm(dim=-1), scale[batch])


def roundoff_factors(local: Optional[Local], ctx: CloudContext, dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    """How much rounding of the input coordinates (``eps |x_i|``) outweighs ``eps`` relative to the
    local and to the cloud's length scale: ``(1 + |x_i| / mean_j |r_j|, 1 + |x_i| / s)``, each ``(N,)``."""
    far = (1 + ctx.magnitude / ctx.radius).to(dtype)
    if local is None:
        return far, far
    rel, weight = local
    mean = (weight * rel.norm(dim=-1)).sum(1) / weight.sum(1).clamp_min(torch.finfo(rel.dtype).tiny)
    near = 1 + ctx.magnitude.to(dtype) / mean.clamp_min(torch.finfo(rel.dtype).tiny)
    return torch.where(mean > 0, near, far), far


def _sign_values(axes: Tensor, local: Optional[Local], ctx: CloudContext) -> List[Optional[Tensor]]:
    """Per rule 1..4, the relative signed value of each axis ``(N, d)`` (``None`` for a missing rule)."""
    values: List[Optional[Tensor]] = [None, None]
    if local is not None:
        rel, weight = local
        tiny = torch.finfo(rel.dtype).tiny
        dist = rel.norm(dim=-1)  # (N, k)
        proj = rel @ axes.transpose(1, 2)  # (N, k, d): offsets in the local axes
        values = [(weight[..., None] * proj).sum(1) / (weight * dist).sum(1).clamp_min(tiny)[:, None],
                  (weight[..., None] * proj.pow(3)).sum(1) / (weight * dist.pow(3)).sum(1).clamp_min(tiny)[:, None]]
    e = axes.double()
    along = (e @ ctx.offset[..., None])[..., 0]  # a . e, (N, d)
    # mean_j ((x_j - x_i) . e)^3 = T(e,e,e) + 3 (a.e) e^T M e + (a.e)^3 (the first central moment is 0)
    t, m = torch.zeros_like(along), torch.zeros_like(along)
    for b, idx in enumerate(ctx.members):
        eb = e[idx]
        t[idx] = torch.einsum("abc,nxa,nxb,nxc->nx", ctx.moment3[b], eb, eb, eb)
        m[idx] = torch.einsum("ab,nxa,nxb->nx", ctx.moment2[b], eb, eb)
    far = t + 3 * along * m + along.pow(3)
    return values + [along.to(axes.dtype), far.to(axes.dtype)]


def direction_vectors(local: Optional[Local], ctx: CloudContext, dtype: torch.dtype) -> List[Optional[Tensor]]:
    """Per rule 1..4, an equivariant vector ``(N, d)`` of relative size (``None`` for a missing rule)."""
    vectors: List[Optional[Tensor]] = [None, None]
    if local is not None:
        rel, weight = local
        tiny = torch.finfo(rel.dtype).tiny
        w, dist = weight[..., None], rel.norm(dim=-1, keepdim=True)
        vectors = [(w * rel).sum(1) / (w * dist).sum(1).clamp_min(tiny),
                   (w * dist.square() * rel).sum(1) / (w * dist.pow(3)).sum(1).clamp_min(tiny)]
    far = torch.zeros_like(ctx.offset)
    for b, idx in enumerate(ctx.members):
        far[idx] = ctx.offset[idx] @ ctx.moment2[b]  # M a (M symmetric)
    return vectors + [ctx.offset.to(dtype), far.to(dtype)]


def first_rule_vector(vectors: List[Optional[Tensor]], project: Callable[[Tensor], Tensor],
                      tol: float) -> Tuple[Tensor, Tensor, Tensor]:
    """The first rule vector (table order) whose part ``project(v): (M, d)`` clears ``tol``, as a unit
    vector; ``vectors``: per rule ``(M, d)`` or ``None`` (:func:`direction_vectors`). Returns
    ``unit (M, d)`` (0 where none), ``norm (M,)`` (its part's size, 0 where none) and ``rule (M,)``
    (``FALLBACK`` where none)."""
    first = next(v for v in vectors if v is not None)
    unit, norm = torch.zeros_like(first), first.new_zeros(first.shape[0])
    rule = torch.full_like(norm, FALLBACK, dtype=torch.long)
    for code, v in enumerate(vectors, start=1):
        if v is None:
            continue
        w = project(v)
        size = w.norm(dim=-1)
        take = (rule == FALLBACK) & (size > tol)
        unit = torch.where(take[:, None], w / size.clamp_min(tol)[:, None], unit)
        norm = torch.where(take, size, norm)
        rule = torch.where(take, code, rule)
    return unit, norm, rule


def _fill_cluster(basis: Tensor, vectors: List[Optional[Tensor]], tol: float) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Axes for one cluster: ``basis: (M, s, d)`` orthonormal rows spanning it, ``vectors``: per rule
    ``(M, d)`` (or ``None``). Returns ``axes (M, s, d)``, ``rule (M, s)``, ``margin (M, s)`` and
    ``decided (M, s)``. Slot by slot, the first vector whose part in the span, less the axes already
    chosen, clears ``tol`` gives the next axis (its sign too); the last axis is the remaining complement,
    its sign left to the sign rules."""
    m, s, d = basis.shape
    basis = basis.detach()  # the rules' axes carry no gradient: they are picked, not computed
    chosen = basis.new_zeros(m, s, d)
    rule = torch.full((m, s), FALLBACK, dtype=torch.long, device=basis.device)
    margin = basis.new_zeros(m, s)
    decided = torch.zeros(m, s, dtype=torch.bool, device=basis.device)
    for slot in range(s - 1):
        done = chosen[:, :slot]

        def in_span_less_done(v: Tensor) -> Tensor:
            w = ((basis @ v[..., None]).transpose(1, 2) @ basis)[:, 0]  # v projected into the span
            return w - ((done @ w[..., None]).transpose(1, 2) @ done)[:, 0]  # less the chosen axes
        chosen[:, slot], margin[:, slot], rule[:, slot] = first_rule_vector(vectors, in_span_less_done, tol)
        decided[:, slot] = (rule[:, slot] != FALLBACK) & decided[:, :slot].all(dim=1)
    done = chosen[:, :s - 1]
    residual = basis - (basis @ done.transpose(1, 2)) @ done  # the basis less the chosen axes
    last = residual.gather(1, residual.norm(dim=-1).argmax(dim=1)[:, None, None].expand(m, 1, d))[:, 0]
    chosen[:, s - 1] = last / last.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(basis.dtype).tiny)
    decided[:, s - 1] = decided[:, :s - 1].all(dim=1)
    margin[:, s - 1] = margin[:, :s - 1].amin(dim=1)
    rule[:, s - 1] = rule[:, :s - 1].amax(dim=1)
    return chosen, rule, margin, decided


def settle_frames(axes: Tensor, split_ok: Tensor, margins: Tensor, sign_ok: Tensor, local: Optional[Local],
                  ctx: CloudContext, local_floor: float = 0.0, rule: Optional[Tensor] = None,
                  sign_order: Tuple[int, ...] = (1, 2, 3, 4)) -> Frames:
    """Decide every axis by the rules in the module table; ``Frames.rules`` records the deciding rule.

    ``axes: (N, d, d)`` orthonormal rows proposed by a construction, signed where ``sign_ok: (N, d)``;
    ``split_ok: (N, d - 1)``: whether the span of rows ``0..a`` is determined (e.g. eigen-gap
    ``a | a + 1`` above ``direction_tol``); ``margins: (N, d)``: the construction's relative margin of
    each axis; ``local``: neighbour offsets ``(N, k, d)`` and weights ``(N, k)`` (``None``: only the
    non-local rules); ``ctx`` from :func:`cloud_context`; ``local_floor``: the least relative value for which a local
    moment (rules 1, 2) may decide a sign, for constructions whose axes carry more rounding error than
    the flip bound assumes; ``rule: (N, d)``: the rule that already decided each proposed axis (default:
    the construction); ``sign_order``: the order in which the sign rules are tried.
    """
    n, d, _ = axes.shape
    device = axes.device
    tol = direction_tol(axes.dtype)
    axes, sign_ok, quality = axes.clone(), sign_ok.clone(), margins.clone()
    rule = torch.full((n, d), CONSTRUCTION, dtype=torch.long, device=device) if rule is None else rule.long()
    direction_ok = torch.ones(n, d, dtype=torch.bool, device=device)
    # clusters: runs of rows between determined splits; a run longer than one row is filled by vectors
    cut = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=device), split_ok,
                     torch.ones(n, 1, dtype=torch.bool, device=device)], 1)  # cut[:, a]: a split before row a
    vectors = None
    for a in range(d):
        for size in range(2, d - a + 1):
            members = cut[:, a] & ~cut[:, a + 1:a + size].any(dim=1) & cut[:, a + size]
            if not bool(members.any()):
                continue
            if vectors is None:
                vectors = direction_vectors(local, ctx, axes.dtype)
            idx = members.nonzero()[:, 0]
            rows = slice(a, a + size)
            chosen, how, margin, ok = _fill_cluster(axes[idx, rows], [v if v is None else v[idx] for v in vectors], tol)
            axes[idx, rows], rule[idx, rows], quality[idx, rows] = chosen, how, margin
            direction_ok[idx, rows] = ok
            sign_ok[idx, rows] = ok
            sign_ok[idx, a + size - 1] = False  # the complement's sign is the sign rules' job
    # signs: the first rule whose relative value clears what rounding could flip
    pending = ~sign_ok & direction_ok
    if bool(pending.any()):
        _, flip = tolerances(quality.clamp_min(tol))
        near, far = roundoff_factors(local, ctx, axes.dtype)
        sign = torch.ones_like(quality)
        values = dict(enumerate(_sign_values(axes, local, ctx), start=1))
        for code in sign_order:
            value = values.get(code)
            if value is None:
                continue
            bound = (flip * near[:, None]).clamp_min(local_floor) if code <= 2 else flip * far[:, None]
            take = pending & (value.abs() > bound)
            sign = torch.where(take, value.sign(), sign)
            rule = torch.where(take, rule.clamp_min(code), rule)
            quality = torch.where(take, torch.minimum(quality, value.abs()), quality)
            sign_ok |= take
            pending &= ~take
        axes = axes * sign[..., None]
    matrices, fallback = repair_axes(axes, direction_ok, sign_ok | ~direction_ok)
    rule = torch.where(direction_ok & sign_ok, rule, FALLBACK)
    quality = torch.where(fallback, 0.0, quality.amin(dim=1) if d else quality.new_ones(n))
    return Frames(matrices, quality, fallback, rule.to(torch.uint8))
