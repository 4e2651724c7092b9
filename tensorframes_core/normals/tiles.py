"""A model over a cloud of any size in tiles, each point getting exactly its one-pass output.

A point's output depends on the whole cloud only through a few numbers (the centre and scale, the
frames' non-local context, the coarse scales' reference points: computed once, O(N)) and otherwise on
``model.receptive_hops`` hops of its neighbour table. So the points are cut into spatially compact
tiles (the KD-tree's Morton order), each tile grows by that many hops, and the model runs on the grown
tile with the whole cloud's numbers (:class:`~tensorframes_core.models.base.CloudScope`): memory is
O(N) for the cloud plus O(tile) for the network, and the result is that of one pass.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from tensorframes_core.frames.rules import cloud_context
from tensorframes_core.models.base import CloudScope, NormalModel, normalise_clouds
from tensorframes_core.models.multiscale import COARSE_WIDTH, strided_subsample, without_self
from tensorframes_core.normals.search import KDTree, query_others

Tensor = torch.Tensor

TILE = 65_536  # points whose outputs one model call returns (a worker thread's working set)


def can_tile(model: torch.nn.Module) -> bool:
    """Whether :func:`tiled_normals` gives ``model`` its one-pass result: a bounded receptive field and
    frames whose non-local part is the cloud context (PCA frames, or none)."""
    if not isinstance(model, NormalModel) or model.receptive_hops is None:
        return False
    selector = model.frame_selector
    return not selector.uses_frames or selector.kind == "pca"


def tiled_normals(model: NormalModel, pos: Tensor, tile: int = TILE, progress: bool = False,
                  workers: Optional[int] = None) -> Tensor:
    """``model``'s normals ``(N, 3)`` of one cloud ``pos: (N, 3)`` (CPU), ``tile`` points per call (see the
    module docstring); a progress bar over the tiles if ``progress``. ``ValueError`` if not :func:`can_tile`.

    ``workers`` tiles run at once (default: torch's thread count), each in its own thread with one torch
    thread (torch's count is set to 1 meanwhile and restored): the network's small per-block operations
    scale better over tiles than inside each operation."""
    if not can_tile(model):
        raise ValueError(f"{type(model).__name__} cannot run in tiles (unbounded receptive field or learned frames)")
    param = next(model.parameters())
    n = pos.shape[0]
    batch = torch.zeros(n, dtype=torch.long)
    work = normalise_clouds(pos.detach().cpu().to(param.dtype), batch, 1)  # as one pass does
    context = cloud_context(work, batch)
    tree = KDTree(work.double().numpy())
    points = tree.points
    width = model.shared_k
    reference = None
    if hasattr(model, "coarse_table"):
        ref_ids = strided_subsample(batch, 1, model.ref_points)
        reference = (work[ref_ids], ref_ids, KDTree(points[ref_ids.numpy()]))
    out = torch.empty(n, 3, dtype=pos.dtype)
    order = tree.order
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    scratch = threading.local()

    def run_tile(start: int) -> None:
        if not hasattr(scratch, "local"):
            scratch.local = np.full(n, -1, dtype=np.int64)  # global -> tile index, reset after each tile
        local = scratch.local
        ids = order[start:start + tile]
        grown, rows, dists = _grow(tree, ids, width, model.receptive_hops, local, rank)
        index = torch.from_numpy(np.where(rows >= 0, local[rows.clip(0)], -1))
        dist = torch.from_numpy(np.where(index.numpy() >= 0, dists, np.inf))
        coarse = None
        if reference is not None:
            ref_pos, ref_ids, ref_tree = reference
            cdist, cidx = ref_tree.query(points[grown], COARSE_WIDTH + 1)
            coarse = (ref_pos, *without_self(torch.from_numpy(cidx), torch.from_numpy(cdist),
                                             torch.from_numpy(grown), ref_ids, COARSE_WIDTH))
        scope = CloudScope((index, dist), context.take(torch.from_numpy(grown)), coarse)
        with torch.no_grad():
            normals = model(work[torch.from_numpy(grown)], scope=scope)
        out[torch.from_numpy(ids)] = normals[:len(ids)].to(pos.dtype)
        local[grown] = -1

    starts = range(0, n, tile)
    workers = max(1, min(len(starts), workers or torch.get_num_threads()))
    threads = torch.get_num_threads()
    bar = tqdm(total=len(starts), desc="model normals", unit="tile", disable=not progress, leave=False)
    try:
        if workers > 1:
            torch.set_num_threads(1)
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(run_tile, starts):
                bar.update()
    finally:
        torch.set_num_threads(threads)
        bar.close()
    return out.to(pos.device)


def _grow(tree: KDTree, ids: np.ndarray, width: int, hops: int, local: np.ndarray, rank: np.ndarray):
    """The tile ``ids`` grown by ``hops`` hops of ``width`` nearest others (tile first, each hop in the
    tree's order ``rank``: coherent queries), their neighbour rows and distances ``(M, width)``;
    sets ``local[grown] = 0 .. M - 1``."""
    grown, rows, dists = [ids], [], []
    local[ids] = np.arange(len(ids))
    frontier = ids
    for hop in range(hops + 1):
        index, dist = query_others(tree, frontier, width)
        rows.append(index)
        dists.append(dist)
        if hop == hops:
            break
        new = np.unique(index)
        new = new[local[new] < 0]
        new = new[np.argsort(rank[new])]
        local[new] = np.arange(len(new)) + sum(len(g) for g in grown)
        grown.append(new)
        frontier = new
    return np.concatenate(grown), np.concatenate(rows), np.concatenate(dists)
