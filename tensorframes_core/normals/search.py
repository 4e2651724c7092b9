"""Neighbour search for whole scans: scipy's KD-tree on CPU (faster there, see
``benchmarks/normals_search.py``), the library's exact torch search on other devices."""
from __future__ import annotations

from typing import Iterator, Tuple

import numpy as np
import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


CHUNK = 262_144  # query points per step of a whole-scan search


def kd_tree(points: np.ndarray):
    """scipy's ``cKDTree`` of ``points: (N, 3)`` float64, built by sliding midpoints (``balanced_tree=False``:
    1.7x faster to build than median splits at 10^6 points, queries as fast; ``benchmarks/normals_search.py``)."""
    from scipy.spatial import cKDTree

    return cKDTree(points, balanced_tree=False)


def neighbour_chunks(pos: Tensor, k: int, chunk: int = CHUNK) -> Iterator[Tuple[Tensor, Tensor]]:
    """``(ids, index)`` per block of at most ``chunk`` query points: ``ids: (m,)`` the points and
    ``index: (m, k)`` their ``k`` nearest other points, nearest first, both long on ``pos.device``. On the
    CPU the blocks follow the KD-tree's leaf order (spatially compact: 2.6x faster queries than file
    order on a shuffled cloud, ``benchmarks/normals_search.py``, and cache-friendly gathers), elsewhere
    input order; together they cover every point once. One tree, blocks of queries: memory
    ``O(N + chunk k)``. A cloud of ``N <= k`` points repeats its farthest neighbour to fill ``k``."""
    n = pos.shape[0]
    if k < 1 or n < 2:
        raise ValueError(f"need k >= 1 and at least 2 points, got k={k}, {n} points")
    take = min(k, n - 1)
    tree = points = None
    order = torch.arange(n, device=pos.device)
    if pos.device.type == "cpu":
        points = pos.detach().double().numpy()
        tree = kd_tree(points)
        order = torch.from_numpy(tree.indices.astype(np.int64))
    for begin in range(0, n, chunk):
        ids = order[begin:begin + chunk]
        if tree is not None:
            index = torch.from_numpy(query_others(tree, points, ids.numpy(), take)[0])
        else:
            index = knn_table(pos, pos[ids], take + 1)[0]
            own = index == ids[:, None]
            own[~own.any(1), -1] = True
            index = index[~own].reshape(len(ids), take)
        if take < k:
            index = torch.cat([index, index[:, -1:].expand(len(ids), k - take)], 1)
        yield ids, index.to(pos.device)


def query_others(tree, points: np.ndarray, ids: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other points of ``points[ids]`` in a ``cKDTree`` of ``points`` (``k < len(points)``):
    ``index (m, k)`` int64 and ``dist (m, k)`` float64, nearest first, each point itself left out (with
    duplicate points it need not be the first found)."""
    dist, found = tree.query(points[ids], k + 1, workers=-1)
    found = np.asarray(found, dtype=np.int64).reshape(len(ids), k + 1)
    dist = np.asarray(dist).reshape(len(ids), k + 1)
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
        _, found = kd_tree(ref.detach().double().numpy()).query(query.detach().double().numpy(), 1, workers=-1)
        return torch.from_numpy(np.asarray(found, dtype=np.int64).reshape(-1))
    return knn_table(ref, query, 1)[0][:, 0]
