"""Neighbourhoods and sampling in plain torch: exact kNN, radius search, farthest point sampling.

PyG's own ``knn``/``radius``/``fps`` need pyg-lib or torch-cluster; these need nothing. All of them
are batch-aware (``batch`` vectors sorted by cloud, as PyG makes them), chunked over target points so
memory stays bounded, and run on the device of their inputs. Edge convention as in PyG:
``edge_index[0]`` = source j (the neighbour), ``edge_index[1]`` = target i.
"""
from __future__ import annotations

import math
from typing import Iterator, Optional, Tuple

import torch

Tensor = torch.Tensor

BLOCK_ELEMENTS = 1 << 24  # distance entries per chunk (16M: 64 MB in float32)


def _batch_vector(batch: Optional[Tensor], n: int, device) -> Tensor:
    if batch is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    if batch.shape != (n,):
        raise ValueError(f"batch must have shape ({n},), got {tuple(batch.shape)}")
    if n > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted by cloud (as PyG's Batch makes it)")
    return batch.long()


def _pointers(batch: Tensor, n_graphs: int) -> list:
    ptr = torch.zeros(n_graphs + 1, dtype=torch.long, device=batch.device)
    ptr[1:] = torch.bincount(batch, minlength=n_graphs).cumsum(0)
    return ptr.tolist()


def _chunks(batch_x: Tensor, batch_y: Tensor) -> Iterator[Tuple[int, int, int, int]]:
    """Target chunks ``[y0, y1)`` with the source range ``[x0, x1)`` of the clouds they touch."""
    if batch_y.numel() == 0 or batch_x.numel() == 0:
        return
    n_graphs = int(max(batch_x.max(), batch_y.max())) + 1
    ptr_x, ptr_y = _pointers(batch_x, n_graphs), _pointers(batch_y, n_graphs)
    g = 0
    while g < n_graphs:
        # whole clouds together while they fit the budget; one cloud split into row chunks otherwise
        g_end, x_width = g + 1, ptr_x[g + 1] - ptr_x[g]
        while g_end < n_graphs:
            next_width = ptr_x[g_end + 1] - ptr_x[g]
            if (ptr_y[g_end + 1] - ptr_y[g]) * next_width > BLOCK_ELEMENTS:
                break
            g_end, x_width = g_end + 1, next_width
        rows = max(1, BLOCK_ELEMENTS // max(x_width, 1))
        for y0 in range(ptr_y[g], ptr_y[g_end], rows):
            yield y0, min(y0 + rows, ptr_y[g_end]), ptr_x[g], ptr_x[g_end]
        g = g_end


def _block_dist(y: Tensor, x: Tensor) -> Tensor:
    """Distances ``(len(y), len(x))`` (cdist's matrix-product path: fast, accurate enough to rank)."""
    return torch.cdist(y.unsqueeze(0), x.unsqueeze(0)).squeeze(0)


def knn(x: Tensor, y: Tensor, k: int, batch_x: Optional[Tensor] = None, batch_y: Optional[Tensor] = None,
        exclude_self: bool = False) -> Tensor:
    """For every point of ``y`` its ``k`` nearest points of ``x`` (same cloud), sorted by distance.

    ``x: (N, d)``, ``y: (M, d)``. Returns ``edge_index: (2, E)`` with ``[0]`` indexing ``x`` (source)
    and ``[1]`` indexing ``y`` (target). ``exclude_self`` (``x is y``) drops each point itself. Clouds
    with fewer points give fewer neighbours.

    >>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]])
    >>> knn(pos, pos[:1], k=2)
    tensor([[0, 1],
            [0, 0]])
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    bx = _batch_vector(batch_x, x.shape[0], x.device)
    by = _batch_vector(batch_y, y.shape[0], y.device)
    sources, targets = [], []
    for y0, y1, x0, x1 in _chunks(bx, by):
        dist = _block_dist(y[y0:y1], x[x0:x1])
        dist = dist.masked_fill(by[y0:y1, None] != bx[None, x0:x1], math.inf)
        if exclude_self:
            rows = torch.arange(y0, y1, device=x.device)
            inside = (rows >= x0) & (rows < x1)
            dist[inside.nonzero()[:, 0], (rows[inside] - x0)] = math.inf
        kk = min(k, x1 - x0)
        if kk == 0:
            continue
        best, idx = dist.topk(kk, dim=1, largest=False, sorted=True)
        valid = torch.isfinite(best)
        rows = torch.arange(y0, y1, device=x.device)[:, None].expand_as(idx)
        sources.append((idx + x0)[valid])
        targets.append(rows[valid])
    if not sources:
        return torch.empty(2, 0, dtype=torch.long, device=x.device)
    return torch.stack([torch.cat(sources), torch.cat(targets)])


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
    """For every point of ``y`` the points of ``x`` within distance ``r`` (at most the nearest
    ``max_num_neighbors``), as ``edge_index: (2, E)`` (``[0]`` indexes ``x``, ``[1]`` indexes ``y``)."""
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    edge_index = knn(x, y, max_num_neighbors, batch_x, batch_y, exclude_self=exclude_self)
    within = (x[edge_index[0]] - y[edge_index[1]]).norm(dim=-1) <= r
    return edge_index[:, within]


def radius_graph(pos: Tensor, r: float, batch: Optional[Tensor] = None, loop: bool = False,
                 max_num_neighbors: int = 64) -> Tensor:
    """All pairs within ``r`` in each cloud of ``pos: (N, d)``, capped at the nearest ``max_num_neighbors``."""
    return radius(pos, pos, r, batch, batch, max_num_neighbors, exclude_self=not loop)


def fps(pos: Tensor, ratio: float, batch: Optional[Tensor] = None, random_start: bool = False,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Farthest point sampling: ``ceil(ratio * n)`` indices per cloud, all clouds at once.

    The first pick is each cloud's first point (a random one with ``random_start``); every next pick
    maximises the distance to the picks so far. Returns ``(M,)`` indices, by cloud, in pick order.

    >>> fps(torch.tensor([[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [2, 0, 0]]), ratio=0.5)
    tensor([0, 2])
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    n = pos.shape[0]
    b = _batch_vector(batch, n, pos.device)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=pos.device)
    n_graphs = int(b.max()) + 1
    counts = torch.bincount(b, minlength=n_graphs)
    ptr = torch.zeros(n_graphs + 1, dtype=torch.long, device=pos.device)
    ptr[1:] = counts.cumsum(0)
    n_max = int(counts.max())
    # pad to (B, n_max): padded slots never win (distance -1)
    slot = torch.arange(n, device=pos.device) - ptr[b]
    padded = pos.new_zeros(n_graphs, n_max, pos.shape[1])
    padded[b, slot] = pos
    real = torch.zeros(n_graphs, n_max, dtype=torch.bool, device=pos.device)
    real[b, slot] = True
    samples = torch.ceil(counts.to(torch.float64) * ratio).long().clamp(min=1) * (counts > 0)
    m_max = int(samples.max())
    if random_start:
        u = torch.rand(n_graphs, generator=generator, device=generator.device if generator else "cpu")
        start = (u.to(pos.device) * counts).long().clamp(max=n_max - 1)
    else:
        start = torch.zeros(n_graphs, dtype=torch.long, device=pos.device)
    picks = torch.empty(n_graphs, m_max, dtype=torch.long, device=pos.device)
    picks[:, 0] = start
    rows = torch.arange(n_graphs, device=pos.device)
    min_dist = torch.where(real, torch.full_like(real, math.inf, dtype=pos.dtype), -1.0)
    for step in range(1, m_max + 1):
        last = padded[rows, picks[:, step - 1]]
        dist = ((padded - last[:, None]) ** 2).sum(-1)
        min_dist = torch.where(real, torch.minimum(min_dist, dist), min_dist)
        if step < m_max:
            picks[:, step] = min_dist.argmax(dim=1)
    keep = torch.arange(m_max, device=pos.device)[None] < samples[:, None]
    return (picks + ptr[:-1, None])[keep]
