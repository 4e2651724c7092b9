"""Neighbour search for whole scans: a KD-tree on CPU (pykdtree: faster there than scipy's cKDTree and the
torch search, see ``benchmarks/normals_search.py``), the library's exact torch search on other devices."""
from __future__ import annotations

from typing import Iterator, Tuple

import numpy as np
import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


CHUNK = 262_144  # query points per step of a whole-scan search
MORTON_BITS = 10  # grid cells per axis 2^10 for the spatially compact order


class KDTree:
    """k-nearest queries among ``points: (N, 3)`` (kept as float64) on the CPU: pykdtree's tree (OpenMP
    queries that release the GIL; no scipy import) built over the points in :attr:`order`, a spatially
    compact order, so that the tree's memory follows space (faster to build, fewer pages per query)."""

    def __init__(self, points: np.ndarray) -> None:
        from pykdtree.kdtree import KDTree as _Tree

        self.points = np.ascontiguousarray(points, dtype=np.float64)
        self.order = morton_order(self.points)
        self._tree = _Tree(self.points[self.order], leafsize=16)

    def query(self, query: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """``(dist, index)``, each ``(m, k)`` (float64, int64), nearest first, of ``query: (m, 3)``; ``k <= N``."""
        dist, index = self._tree.query(np.ascontiguousarray(query, dtype=np.float64), k=k)
        m = len(query)
        return np.asarray(dist).reshape(m, k), self.order[np.asarray(index).reshape(m, k)]


def morton_order(points: np.ndarray) -> np.ndarray:
    """``(N,)`` int64: ``points: (N, 3)`` by their Morton (Z-order) code on a ``2^10`` grid over the bounding
    box. Consecutive points are close, so blocks of them query and gather in cache (2.5x faster queries than
    file order on a shuffled cloud, ``benchmarks/normals_search.py``)."""
    low, high = points.min(0), points.max(0)
    cells = (1 << MORTON_BITS) - 1
    grid = ((points - low) * (cells / max(float((high - low).max()), 1e-300))).astype(np.uint64)
    code = np.zeros(len(grid), dtype=np.uint64)
    for axis in range(3):
        code |= _spread_bits(grid[:, axis]) << np.uint64(axis)
    return np.argsort(code)


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """The 10 low bits of ``v`` (uint64) moved to every third bit (Morton interleaving)."""
    v = v & np.uint64(0x3FF)
    for shift, mask in ((16, 0x30000FF), (8, 0x300F00F), (4, 0x30C30C3), (2, 0x9249249)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def neighbour_chunks(pos: Tensor, k: int, chunk: int = CHUNK) -> Iterator[Tuple[Tensor, Tensor]]:
    """``(ids, index)`` per block of at most ``chunk`` query points: ``ids: (m,)`` the points and
    ``index: (m, k)`` their ``k`` nearest other points, nearest first, both long on ``pos.device``. On the
    CPU the blocks follow :attr:`KDTree.order` (spatially compact), elsewhere input order; together they
    cover every point once. One tree, blocks of queries: memory ``O(N + chunk k)``. A cloud of ``N <= k``
    points repeats its farthest neighbour to fill ``k``."""
    n = pos.shape[0]
    if k < 1 or n < 2:
        raise ValueError(f"need k >= 1 and at least 2 points, got k={k}, {n} points")
    take = min(k, n - 1)
    tree = None
    order = torch.arange(n, device=pos.device)
    if pos.device.type == "cpu":
        tree = KDTree(pos.detach().double().numpy())
        order = torch.from_numpy(tree.order)
    for begin in range(0, n, chunk):
        ids = order[begin:begin + chunk]
        if tree is not None:
            index = torch.from_numpy(query_others(tree, ids.numpy(), take)[0])
        else:
            index = knn_table(pos, pos[ids], take + 1)[0]
            own = index == ids[:, None]
            own[~own.any(1), -1] = True
            index = index[~own].reshape(len(ids), take)
        if take < k:
            index = torch.cat([index, index[:, -1:].expand(len(ids), k - take)], 1)
        yield ids, index.to(pos.device)


def query_others(tree: KDTree, ids: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other points of ``tree.points[ids]`` among the tree's points (``k < N``):
    ``index (m, k)`` int64 and ``dist (m, k)`` float64, nearest first, each point itself left out (with
    duplicate points it need not be the first found)."""
    dist, found = tree.query(tree.points[ids], k + 1)
    if bool((found[:, 0] == ids).all()):  # the usual case: each point is its own nearest
        return found[:, 1:], dist[:, 1:]
    own = found == ids[:, None]
    own[~own.any(1), -1] = True  # a point hidden behind k+1 duplicates: drop the farthest instead
    return found[~own].reshape(len(ids), k), dist[~own].reshape(len(ids), k)


def neighbour_index(pos: Tensor, k: int) -> Tensor:
    """Indices of each point's ``k`` nearest other points, nearest first: ``pos: (N, 3)`` -> ``(N, k)``
    long on ``pos.device`` (:func:`neighbour_chunks` gathered into input order).

    >>> neighbour_index(torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]), 1)
    tensor([[1],
            [0],
            [1]])
    """
    table = torch.empty(pos.shape[0], k, dtype=torch.long, device=pos.device)
    for ids, index in neighbour_chunks(pos, k):
        table[ids] = index
    return table


def nearest_of(query: Tensor, ref: Tensor) -> Tensor:
    """For each point of ``query: (N, 3)`` the index of its nearest point in ``ref: (M, 3)``: ``(N,)`` long on
    ``query.device`` (a KD-tree of ``ref`` on the CPU, the exact torch search elsewhere).

    >>> nearest_of(torch.tensor([[0.1, 0, 0], [2.9, 0, 0]]), torch.tensor([[0.0, 0, 0], [3, 0, 0]]))
    tensor([0, 1])
    """
    if query.device.type == "cpu":
        _, found = KDTree(ref.detach().double().numpy()).query(query.detach().double().numpy(), 1)
        return torch.from_numpy(found[:, 0])
    return knn_table(ref, query, 1)[0][:, 0]
