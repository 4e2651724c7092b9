"""Neighbourhoods and sampling in plain torch: exact kNN, radius search, farthest point sampling.

PyG's own ``knn``/``radius``/``fps`` need pyg-lib or torch-cluster; these need nothing and run on the
device of their inputs. All are batch-aware: ``batch`` vectors as PyG makes them (sorted by cloud);
unsorted ones are accepted too (sorted internally, indices mapped back). Edge convention as in PyG:
``edge_index[0]`` = source j (the neighbour), ``edge_index[1]`` = target i. Edges come grouped by
target in increasing order, each target's neighbours nearest first (exact distances).

Two exact search paths, same result: brute force over distance blocks (small clouds, any ``d``), and
for clouds larger than ``SPATIAL_MIN_POINTS`` in ``d <= 3`` a spatial search: points sorted along a
Morton curve and cut into leaves of at most ``LEAF_SIZE`` inside octree cells; a window of the Morton
order bounds each leaf's k-th neighbour distance, leaf pairs farther apart than that bound (box to
box) are pruned, and brute force runs inside the surviving pairs. Memory stays bounded by
``BLOCK_ELEMENTS`` per step; the spatial path's time grows like ``N log N`` for surfaces and volumes.
"""
from __future__ import annotations

import math
from typing import Iterator, List, NamedTuple, Optional, Tuple

import torch

Tensor = torch.Tensor

BLOCK_ELEMENTS = 1 << 24  # distance entries per step (16M: 64 MB in float32)
SPATIAL_MIN_POINTS = 2048  # clouds with more source points than this use the spatial search (d <= 3)
LEAF_SIZE = 32  # points per leaf of the spatial search
GROUP_SIZE = 32  # leaves per group in its pruning


def _batch_vector(batch: Optional[Tensor], n: int, device) -> Tensor:
    if batch is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    if batch.shape != (n,):
        raise ValueError(f"batch must have shape ({n},), got {tuple(batch.shape)}")
    return batch.long()


def _is_sorted(batch: Tensor) -> bool:
    return batch.numel() < 2 or not bool((batch[1:] < batch[:-1]).any())


def _pointers(batch: Tensor, n_graphs: int) -> Tensor:
    """``ptr: (n_graphs + 1,)``: cloud g occupies ``[ptr[g], ptr[g + 1])`` of a sorted ``batch``."""
    ptr = torch.zeros(n_graphs + 1, dtype=torch.long, device=batch.device)
    ptr[1:] = torch.bincount(batch, minlength=n_graphs).cumsum(0)
    return ptr


def _chunks(batch_x: Tensor, batch_y: Tensor, budget: int) -> Iterator[Tuple[int, int, int, int]]:
    """Row chunks ``[y0, y1)`` of sorted ``batch_y`` with the column range ``[x0, x1)`` of the clouds
    they touch (sorted ``batch_x``), each block holding at most ~``budget`` entries."""
    if batch_y.numel() == 0 or batch_x.numel() == 0:
        return
    n_graphs = int(max(batch_x.max(), batch_y.max())) + 1
    ptr_x, ptr_y = _pointers(batch_x, n_graphs).tolist(), _pointers(batch_y, n_graphs).tolist()
    g = 0
    while g < n_graphs:
        # whole clouds together while they fit the budget; one cloud split into row chunks otherwise
        g_end = g + 1
        while g_end < n_graphs and (ptr_y[g_end + 1] - ptr_y[g]) * (ptr_x[g_end + 1] - ptr_x[g]) <= budget:
            g_end += 1
        rows = max(1, budget // max(ptr_x[g_end] - ptr_x[g], 1))
        for y0 in range(ptr_y[g], ptr_y[g_end], rows):
            yield y0, min(y0 + rows, ptr_y[g_end]), ptr_x[g], ptr_x[g_end]
        g = g_end


def _cdist(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise distances from coordinate differences (cdist's faster matrix-product form cancels
    catastrophically for near points: it would mis-rank close neighbours, notably in float32)."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _padded_blocks(nx: List[int], ny: List[int], budget: int) -> Iterator[Tuple[int, int, int, int]]:
    """Blocks ``(g0, g1, r0, r1)``: clouds ``g0..g1-1`` side by side, rows ``r0..r1-1`` of each, padded
    to the group's largest clouds, within ~``budget`` entries and at most twice the unpadded work."""
    g, n_graphs = 0, len(nx)
    while g < n_graphs:
        g_end, wx, wy, work = g + 1, nx[g], ny[g], nx[g] * ny[g]
        while g_end < n_graphs:
            cx, cy = max(wx, nx[g_end]), max(wy, ny[g_end])
            padded = (g_end + 1 - g) * cx * cy
            if padded > budget or padded > 2 * (work + nx[g_end] * ny[g_end]):
                break
            g_end, wx, wy, work = g_end + 1, cx, cy, work + nx[g_end] * ny[g_end]
        rows = max(1, budget // max((g_end - g) * wx, 1))
        for r0 in range(0, wy, rows):
            yield g, g_end, r0, min(r0 + rows, wy)
        g = g_end


def _brute_force(x: Tensor, y: Tensor, k: int, bx: Tensor, by: Tensor, exclude_self: bool) -> Tensor:
    """Neighbour table ``(M, k)`` (-1 = none) from per-cloud distance blocks; sorted batches.

    Clouds are padded side by side into ``(B, rows, cols)`` blocks, so a batch of B clouds of n points
    costs ``B n^2`` distances, not the ``(B n)^2`` of one matrix masked by cloud."""
    n, m = x.shape[0], y.shape[0]
    table = torch.full((m, k), -1, dtype=torch.long, device=x.device)
    n_graphs = int(max(bx.max(), by.max())) + 1
    ptr_x, ptr_y = _pointers(bx, n_graphs), _pointers(by, n_graphs)
    nx, ny = ptr_x.diff(), ptr_y.diff()
    for g0, g1, r0, r1 in _padded_blocks(nx.tolist(), ny.tolist(), BLOCK_ELEMENTS):
        width = int(nx[g0:g1].max())
        if width == 0:
            continue
        rows = torch.arange(r0, r1, device=x.device)
        cols = torch.arange(width, device=x.device)
        yi = ptr_y[g0:g1, None] + rows  # (B, R) target indices
        xi = ptr_x[g0:g1, None] + cols  # (B, C) source indices
        y_ok = rows < ny[g0:g1, None]
        dist = _cdist(y[yi.clamp_max(m - 1)], x[xi.clamp_max(n - 1)])  # (B, R, C)
        bad = (cols >= nx[g0:g1, None])[:, None, :]
        if exclude_self:  # x and y are the same points: self = same index
            bad = bad | (yi[:, :, None] == xi[:, None, :])
        kk = min(k, width)
        best, idx = dist.masked_fill_(bad, math.inf).topk(kk, dim=2, largest=False)
        found = torch.where(torch.isfinite(best), xi.gather(1, idx.flatten(1)).view_as(idx), -1)
        table[yi[y_ok], :kk] = found[y_ok]
    return table


def _morton_code(pos: Tensor, batch: Tensor, lo: Tensor, extent: Tensor) -> Tensor:
    """Morton (z-order) code of every point in its cloud's bounding cube, ``30 // d`` bits per axis."""
    d = pos.shape[1]
    bits = 30 // d
    top = 2**bits - 1
    q = ((pos - lo[batch]) / extent[batch, None] * top).clamp(0, top).long()
    code = torch.zeros_like(batch)
    for b in range(bits):
        for a in range(d):
            code |= ((q[:, a] >> b) & 1) << (b * d + a)
    return code


class _Leaves(NamedTuple):
    """Points sorted by ``key`` (cloud, Morton code) and cut into leaves of at most ``LEAF_SIZE``."""

    pos: Tensor  # (n, d) sorted points
    key: Tensor  # (n,) their sort keys
    leaf: Tensor  # (n,) leaf of each point
    start: Tensor  # (L,) first point of each leaf
    length: Tensor  # (L,)
    cloud: Tensor  # (L,)
    lo: Tensor  # (L, d) bounding boxes
    hi: Tensor  # (L, d)


def _segment_rank(segment_key: Tensor) -> Tuple[Tensor, Tensor]:
    """Segment id and rank inside the segment of every entry of a sorted key."""
    _, segment, count = torch.unique_consecutive(segment_key, return_inverse=True, return_counts=True)
    return segment, torch.arange(segment.numel(), device=segment.device) - (count.cumsum(0) - count)[segment]


def _make_leaves(pos: Tensor, batch: Tensor, lo: Tensor, extent: Tensor) -> Tuple[Tensor, _Leaves]:
    """Sort ``pos`` by cloud and Morton code; leaves = runs of ``LEAF_SIZE`` points inside octree cells.

    Each cloud uses the finest octree level whose cells, cut into leaves, keep leaves at least half
    full on average: leaves stay compact (no run crosses a cell) without much padding. Returns the
    sorting permutation and the leaves."""
    d, n_graphs = pos.shape[1], lo.shape[0]
    bits = 30 // d
    code = _morton_code(pos, batch, lo, extent)
    order = torch.argsort((batch << 31) | code)
    pos, batch, code = pos[order], batch[order], code[order]
    total = torch.bincount(batch, minlength=n_graphs)
    level = torch.zeros(n_graphs, dtype=torch.long, device=pos.device)
    for lv in range(1, bits + 1):
        _, count = torch.unique_consecutive((batch << 31) | (code >> d * (bits - lv)), return_counts=True)
        per_cloud = torch.zeros_like(total).index_add_(0, batch[count.cumsum(0) - count], -(-count // LEAF_SIZE))
        level = torch.where(2 * total >= LEAF_SIZE * per_cloud, lv, level)
    cell, rank = _segment_rank((batch << 31) | (code >> d * (bits - level[batch])))
    leaf, _ = _segment_rank((cell << 31) | (rank // LEAF_SIZE))
    n_leaves = int(leaf[-1]) + 1
    length = torch.bincount(leaf, minlength=n_leaves)
    start = length.cumsum(0) - length
    index = leaf[:, None].expand_as(pos)
    box_lo = pos.new_full((n_leaves, d), math.inf).scatter_reduce(0, index, pos, "amin")
    box_hi = pos.new_full((n_leaves, d), -math.inf).scatter_reduce(0, index, pos, "amax")
    return order, _Leaves(pos, (batch << 31) | code, leaf, start, length, batch[start], box_lo, box_hi)


def _box_gap2(lo_a: Tensor, hi_a: Tensor, lo_b: Tensor, hi_b: Tensor) -> Tensor:
    """Squared distance between boxes (0 where they overlap), broadcasting."""
    return ((lo_b - hi_a).clamp_min(0) + (lo_a - hi_b).clamp_min(0)).square().sum(-1)


def _groups(lx: _Leaves) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``GROUP_SIZE`` consecutive leaves of a cloud as one box: each leaf's group, and per group its
    first leaf, its leaf count, its cloud and its box."""
    _, rank = _segment_rank(lx.cloud)
    group, _ = _segment_rank((lx.cloud << 31) | (rank // GROUP_SIZE))
    n_groups = int(group[-1]) + 1
    length = torch.bincount(group, minlength=n_groups)
    start = length.cumsum(0) - length
    index = group[:, None].expand_as(lx.lo)
    lo = lx.lo.new_full((n_groups, lx.lo.shape[1]), math.inf).scatter_reduce(0, index, lx.lo, "amin")
    hi = lx.hi.new_full((n_groups, lx.hi.shape[1]), -math.inf).scatter_reduce(0, index, lx.hi, "amax")
    return group, start, length, lx.cloud[start], (lo, hi)


def _leaf_pairs(lx: _Leaves, ly: _Leaves, rho: Tensor) -> Tuple[Tensor, Tensor]:
    """(target leaf, source leaf) pairs, sorted by target: same cloud, boxes within ``rho[t]``.

    Two levels: groups of leaves are paired first (quadratic in the number of groups only), then the
    leaves of every surviving group pair."""
    group_x, start_x, length_x, cloud_x, (lo_x, hi_x) = _groups(lx)
    group_y, start_y, length_y, cloud_y, (lo_y, hi_y) = _groups(ly)
    rho_y = rho.new_zeros(start_y.numel()).scatter_reduce(0, group_y, rho, "amax", include_self=False)
    rho2 = rho.square()
    slot = torch.arange(GROUP_SIZE, device=rho.device)
    step = max(BLOCK_ELEMENTS // (4 * lx.lo.shape[1] * GROUP_SIZE**2), 1)
    targets, sources = [rho.new_zeros(0, dtype=torch.long)], [rho.new_zeros(0, dtype=torch.long)]
    for t0, t1, s0, s1 in _chunks(cloud_x, cloud_y, max(BLOCK_ELEMENTS // (4 * lx.lo.shape[1]), 1)):
        near = _box_gap2(lo_y[t0:t1, None], hi_y[t0:t1, None], lo_x[None, s0:s1], hi_x[None, s0:s1])
        near = (near <= rho_y[t0:t1, None].square()) & (cloud_y[t0:t1, None] == cloud_x[None, s0:s1])
        group_t, group_s = near.nonzero().unbind(1)
        for p0 in range(0, group_t.numel(), step):
            gt, gs = group_t[p0:p0 + step] + t0, group_s[p0:p0 + step] + s0
            t = (start_y[gt, None] + slot)[:, :, None]  # (P, G, 1)
            s = (start_x[gs, None] + slot)[:, None, :]  # (P, 1, G)
            valid = (slot < length_y[gt, None])[:, :, None] & (slot < length_x[gs, None])[:, None, :]
            t, s = t.clamp_max(ly.lo.shape[0] - 1), s.clamp_max(lx.lo.shape[0] - 1)
            keep = valid & (_box_gap2(ly.lo[t], ly.hi[t], lx.lo[s], lx.hi[s]) <= rho2[t])
            targets.append(t.expand_as(keep)[keep])
            sources.append(s.expand_as(keep)[keep])
    t, s = torch.cat(targets), torch.cat(sources)
    order = torch.argsort(t, stable=True)
    return t[order], s[order]


def _block_search(lx: _Leaves, ly: _Leaves, leaves: Tensor, src: Tensor, src_ok: Tensor, k: int,
                  exclude_self: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """The ``k`` nearest candidates ``src: (L, C)`` (valid where ``src_ok``) of the points of target
    leaves ``leaves: (L,)``: their rows in ``ly``, the candidate indices (-1 = none) and distances."""
    n, m = lx.pos.shape[0], ly.pos.shape[0]
    slot = torch.arange(LEAF_SIZE, device=src.device)
    dst = ly.start[leaves, None] + slot  # (L, LEAF_SIZE)
    dst = dst[slot < ly.length[leaves, None]]
    block = _cdist(ly.pos[(ly.start[leaves, None] + slot).clamp_max(m - 1)], lx.pos[src.clamp_max(n - 1)])
    block.masked_fill_(~src_ok[:, None, :], math.inf)
    if exclude_self:
        block.masked_fill_(src[:, None, :] == (ly.start[leaves, None] + slot)[:, :, None], math.inf)
    best, idx = block.topk(min(k, block.shape[-1]), dim=-1, largest=False)
    found = torch.where(torch.isfinite(best), src.gather(1, idx.flatten(1)).view_as(idx), -1)
    keep = slot < ly.length[leaves, None]
    return dst, found[keep], best[keep]


def _window_bound(lx: _Leaves, ly: _Leaves, k: int, exclude_self: bool) -> Tensor:
    """Per target leaf, an upper bound on its points' k-th neighbour distance (inf: fewer than k).

    Candidates: the ``2 (k + 1) + LEAF_SIZE`` sources around the leaf's place in the Morton order of
    its cloud, a contiguous window that always holds ``min(k + 1, cloud size)`` of them."""
    width = 2 * (k + 1) + LEAF_SIZE
    cloud_key = ly.cloud << 31
    first = torch.searchsorted(lx.key, cloud_key)
    end = torch.searchsorted(lx.key, cloud_key + (1 << 31))
    begin = torch.searchsorted(lx.key, ly.key[ly.start]) - (k + 1)
    begin = torch.maximum(torch.minimum(begin, end - width), first)
    rho = lx.pos.new_full((ly.start.numel(),), math.inf)
    offsets = torch.arange(width, device=begin.device)
    step = max(BLOCK_ELEMENTS // (LEAF_SIZE * width), 1)
    for t0 in range(0, ly.start.numel(), step):
        leaves = torch.arange(t0, min(t0 + step, ly.start.numel()), device=begin.device)
        src = begin[leaves, None] + offsets
        dst, _, best = _block_search(lx, ly, leaves, src, src < end[leaves, None], k, exclude_self)
        kth = best[:, k - 1] if best.shape[1] == k else torch.full_like(best[:, 0], math.inf)
        rho.scatter_reduce_(0, ly.leaf[dst], kth, "amax", include_self=False)
    return rho


def _leaf_search(lx: _Leaves, ly: _Leaves, pair_t: Tensor, pair_s: Tensor, k: int, exclude_self: bool) -> Tensor:
    """Table ``(M, k)`` (sorted indices, -1 = none): each target point's ``k`` nearest among the points
    of the source leaves paired with its leaf. Leaves with similar pair counts share a padded block."""
    device = lx.pos.device
    count = torch.bincount(pair_t, minlength=ly.start.numel())
    first = count.cumsum(0) - count
    by_count = torch.argsort(count)
    counts = count[by_count].tolist()
    slot = torch.arange(LEAF_SIZE, device=device)
    table = torch.full((ly.pos.shape[0], k), -1, dtype=torch.long, device=device)
    i = counts.count(0)
    while i < len(counts):
        j = i + 1
        while j < len(counts) and (j + 1 - i) * counts[j] * LEAF_SIZE**2 <= BLOCK_ELEMENTS:
            j += 1
        leaves, width = by_count[i:j], counts[j - 1]
        cand = first[leaves, None] + torch.arange(width, device=device)
        cand_ok = cand < (first + count)[leaves, None]
        cand_leaf = pair_s[cand.clamp_max(pair_s.numel() - 1)]
        src = (lx.start[cand_leaf][:, :, None] + slot).flatten(1)  # (L, width * LEAF_SIZE)
        src_ok = (cand_ok[:, :, None] & (slot < lx.length[cand_leaf][:, :, None])).flatten(1)
        dst, found, _ = _block_search(lx, ly, leaves, src, src_ok, k, exclude_self)
        table[dst, : found.shape[1]] = found
        i = j
    return table


def _spatial(x: Tensor, y: Tensor, k: int, bx: Tensor, by: Tensor, exclude_self: bool,
             max_distance: float) -> Tensor:
    """Neighbour table ``(M, k)`` (-1 = none) by a leaf-pruned search; batches in any order, d <= 3.

    Pass 1 (a window of the Morton order) bounds every target leaf's k-th neighbour distance from
    above; pass 2 searches every source leaf whose box lies within that bound: exact."""
    d = x.shape[1]
    n_graphs = int(max(bx.max(), by.max())) + 1
    lo = x.new_full((n_graphs, d), math.inf).scatter_reduce(0, bx[:, None].expand_as(x), x, "amin")
    lo = lo.scatter_reduce(0, by[:, None].expand_as(y), y, "amin")
    hi = x.new_full((n_graphs, d), -math.inf).scatter_reduce(0, bx[:, None].expand_as(x), x, "amax")
    hi = hi.scatter_reduce(0, by[:, None].expand_as(y), y, "amax")
    extent = (hi - lo).amax(-1).clamp_min(torch.finfo(x.dtype).tiny)
    order_x, lx = _make_leaves(x, bx, lo, extent)
    order_y, ly = (order_x, lx) if exclude_self else _make_leaves(y, by, lo, extent)
    slack = 1.0 + 64 * torch.finfo(x.dtype).eps  # covers the rounding of distances and box gaps
    rho = (_window_bound(lx, ly, k, exclude_self) * slack).clamp_max(max_distance * slack)
    table = _leaf_search(lx, ly, *_leaf_pairs(lx, ly, rho), k, exclude_self)
    table = torch.where(table >= 0, order_x[table.clamp_min(0)], -1)
    return torch.empty_like(table).index_copy_(0, order_y, table)


def _neighbours(x: Tensor, y: Tensor, k: int, batch_x: Optional[Tensor], batch_y: Optional[Tensor],
                exclude_self: bool, max_distance: float = math.inf) -> Tuple[Tensor, Tensor]:
    """Table ``(M, k)`` of each target's nearest sources (-1 = none) and their exact distances
    (inf for none), nearest first."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (N, d) and (M, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if exclude_self and x.shape[0] != y.shape[0]:
        raise ValueError("exclude_self needs x and y to be the same points")
    bx = _batch_vector(batch_x, x.shape[0], x.device)
    by = _batch_vector(batch_y, y.shape[0], y.device)
    m = y.shape[0]
    work = torch.promote_types(x.dtype, torch.float32)
    x, y = x.to(work), y.to(work)
    if x.shape[0] == 0 or m == 0 or k == 0:
        table = torch.full((m, k), -1, dtype=torch.long, device=x.device)
    elif x.shape[1] <= 3 and int(torch.bincount(bx).max()) > SPATIAL_MIN_POINTS:
        table = _spatial(x, y, k, bx, by, exclude_self, max_distance)
    else:
        if _is_sorted(bx) and _is_sorted(by):
            table = _brute_force(x, y, k, bx, by, exclude_self)
        else:
            px = torch.argsort(bx, stable=True)
            py = px if exclude_self else torch.argsort(by, stable=True)
            table = _brute_force(x[px], y[py], k, bx[px], by[py], exclude_self)
            table = torch.where(table >= 0, px[table.clamp_min(0)], -1)
            table = torch.empty_like(table).index_copy_(0, py, table)
    dist = (x[table.clamp_min(0)] - y[:, None]).norm(dim=-1).masked_fill(table < 0, math.inf)
    dist, order = dist.sort(dim=1, stable=True)
    return table.gather(1, order), dist


def _edges(table: Tensor) -> Tensor:
    valid = table >= 0
    targets = torch.arange(table.shape[0], device=table.device)[:, None].expand_as(table)
    return torch.stack([table[valid], targets[valid]])


def knn_table(x: Tensor, y: Tensor, k: int, batch_x: Optional[Tensor] = None, batch_y: Optional[Tensor] = None,
              exclude_self: bool = False) -> Tuple[Tensor, Tensor]:
    """Dense form of :func:`knn`: ``index: (M, k)`` of every ``y`` point's nearest ``x`` points (same
    cloud), nearest first, ``-1`` where its cloud has fewer; ``dist: (M, k)`` exact distances (``inf``
    there). ``exclude_self`` (``x`` and ``y`` the same points) drops each point itself.

    >>> index, dist = knn_table(torch.tensor([[0.0], [1.0], [3.0]]), torch.tensor([[2.9]]), k=2)
    >>> index, dist
    (tensor([[2, 1]]), tensor([[0.1000, 1.9000]]))
    """
    return _neighbours(x, y, k, batch_x, batch_y, exclude_self)


def knn(x: Tensor, y: Tensor, k: int, batch_x: Optional[Tensor] = None, batch_y: Optional[Tensor] = None,
        exclude_self: bool = False) -> Tensor:
    """For every point of ``y`` its ``k`` nearest points of ``x`` in the same cloud, nearest first.

    ``x: (N, d)``, ``y: (M, d)``. Returns ``edge_index: (2, E)`` with ``[0]`` indexing ``x`` (source)
    and ``[1]`` indexing ``y`` (target). ``exclude_self`` (``x`` and ``y`` the same points) drops each
    point itself. Clouds with fewer points give fewer neighbours.

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]])
    >>> knn(pos, pos[:1], k=2)
    tensor([[0, 1],
            [0, 0]])
    """
    return _edges(knn_table(x, y, k, batch_x, batch_y, exclude_self)[0])


def knn_graph(pos: Tensor, k: int, batch: Optional[Tensor] = None, loop: bool = False) -> Tensor:
    """kNN graph of ``pos: (N, d)``: each point receives edges from its ``k`` nearest (``(2, E)``).

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]])
    >>> knn_graph(pos, k=1)
    tensor([[1, 0, 1],
            [0, 1, 2]])
    """
    return knn(pos, pos, k, batch, batch, exclude_self=not loop)


def radius(x: Tensor, y: Tensor, r: float, batch_x: Optional[Tensor] = None, batch_y: Optional[Tensor] = None,
           max_num_neighbors: int = 64, exclude_self: bool = False) -> Tensor:
    """For every point of ``y`` the points of ``x`` within distance ``r`` (``<= r``), at most the nearest
    ``max_num_neighbors``, as ``edge_index: (2, E)`` (``[0]`` indexes ``x``, ``[1]`` indexes ``y``).

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]])
    >>> radius(pos, pos[:1], r=1.0)
    tensor([[0, 1],
            [0, 0]])
    """
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    table, dist = _neighbours(x, y, max_num_neighbors, batch_x, batch_y, exclude_self, max_distance=r)
    return _edges(table.masked_fill(dist > r, -1))


def radius_graph(pos: Tensor, r: float, batch: Optional[Tensor] = None, loop: bool = False,
                 max_num_neighbors: int = 64) -> Tensor:
    """All pairs within ``r`` in each cloud of ``pos: (N, d)``, capped at the nearest ``max_num_neighbors``.

    >>> radius_graph(torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]), r=1.5)
    tensor([[1, 0],
            [0, 1]])
    """
    return radius(pos, pos, r, batch, batch, max_num_neighbors, exclude_self=not loop)


def fps(pos: Tensor, ratio: float, batch: Optional[Tensor] = None, random_start: bool = False,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Farthest point sampling: ``ceil(ratio * n)`` distinct indices per cloud, all clouds at once.

    The first pick is each cloud's first point (a random one with ``random_start``); every next pick
    maximises the distance to the picks so far (first index on ties). Returns ``(M,)`` indices, by
    cloud, in pick order. ``O(M_max * N)`` time: one step per sample, all clouds in parallel.

    >>> fps(torch.tensor([[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [2, 0, 0]]), ratio=0.5)
    tensor([0, 2])
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    n = pos.shape[0]
    b = _batch_vector(batch, n, pos.device)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=pos.device)
    if not _is_sorted(b):
        perm = torch.argsort(b, stable=True)
        return perm[fps(pos[perm], ratio, b[perm], random_start, generator)]
    n_graphs = int(b.max()) + 1
    counts = torch.bincount(b, minlength=n_graphs)
    ptr = _pointers(b, n_graphs)
    n_max = int(counts.max())
    # pad to (B, n_max); padded and already picked slots never win (distance -1)
    slot = torch.arange(n, device=pos.device) - ptr[b]
    padded = pos.new_zeros(n_graphs, n_max, pos.shape[1])
    padded[b, slot] = pos
    real = torch.zeros(n_graphs, n_max, dtype=torch.bool, device=pos.device)
    real[b, slot] = True
    samples = torch.ceil(counts.to(torch.float64) * ratio).long().clamp(min=1) * (counts > 0)
    m_max = int(samples.max())
    if random_start:
        u = torch.rand(n_graphs, generator=generator, device=generator.device if generator else "cpu")
        start = (u.to(pos.device, torch.float64) * counts).long().clamp(max=n_max - 1)
    else:
        start = torch.zeros(n_graphs, dtype=torch.long, device=pos.device)
    picks = torch.empty(n_graphs, m_max, dtype=torch.long, device=pos.device)
    picks[:, 0] = start
    rows = torch.arange(n_graphs, device=pos.device)
    planes = padded.permute(2, 0, 1).contiguous()  # (d, B, n_max): one coordinate per plane
    min_dist = torch.where(real, math.inf, -1.0).to(pos.dtype)
    dist, diff = torch.empty_like(min_dist), torch.empty_like(min_dist)
    for step in range(1, m_max):  # few kernels per step, all into preallocated buffers
        last = picks[:, step - 1]
        centre = planes[:, rows, last]  # (d, B)
        dist.zero_()
        for axis in range(planes.shape[0]):
            torch.sub(planes[axis], centre[axis, :, None], out=diff)
            dist.addcmul_(diff, diff)
        torch.minimum(min_dist, dist, out=min_dist)
        min_dist[rows, last] = -1.0  # picked: never again (duplicates tie at distance 0)
        picks[:, step] = min_dist.argmax(dim=1)
    keep = torch.arange(m_max, device=pos.device)[None] < samples[:, None]
    return (picks + ptr[:-1, None])[keep]
