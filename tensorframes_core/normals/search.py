"""Neighbour search for whole scans: scipy's KD-tree on CPU (faster there, see
``benchmarks/normals_search.py``), the library's exact torch search on other devices."""
from __future__ import annotations

import numpy as np
import torch

from tensorframes_core.graph import knn_table

Tensor = torch.Tensor


def neighbour_index(pos: Tensor, k: int) -> Tensor:
    """Indices of each point's ``k`` nearest other points, nearest first: ``pos: (N, 3)`` -> ``(N, k)``
    long on ``pos.device``; a cloud of ``N <= k`` points repeats its farthest neighbour to fill ``k``.

    >>> neighbour_index(torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]), 1)
    tensor([[1],
            [0],
            [1]])
    """
    n = pos.shape[0]
    if k < 1 or n < 2:
        raise ValueError(f"need k >= 1 and at least 2 points, got k={k}, {n} points")
    take = min(k, n - 1)
    if pos.device.type == "cpu":
        from scipy.spatial import cKDTree

        points = pos.detach().double().numpy()
        _, index = cKDTree(points).query(points, take + 1, workers=-1)
        index = np.asarray(index).reshape(n, take + 1)
        # drop each point itself (with duplicate points it may not be column 0)
        own = index == np.arange(n)[:, None]
        own[~own.any(1), -1] = True  # a point hidden behind k+1 duplicates: drop the farthest instead
        index = torch.from_numpy(index[~own].reshape(n, take))
    else:
        index = knn_table(pos, pos, take, exclude_self=True)[0]
    if take < k:
        index = torch.cat([index, index[:, -1:].expand(n, k - take)], 1)
    return index.to(pos.device)
