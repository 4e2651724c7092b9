"""Orienting unoriented normals: outward from the centroid, towards a viewpoint, or consistently along a
minimum spanning tree of the neighbour graph (Hoppe et al. 1992, as Open3D's
``orient_normals_consistent_tangent_plane``)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from tensorframes_core.data.cloud import InputError

Tensor = torch.Tensor
ORIENTATIONS = ("none", "centroid", "viewpoint:X,Y,Z", "consistent")


def parse_orientation(spec: Optional[str]):
    """``None``, ``"centroid"``, ``"consistent"`` or a viewpoint ``(3,)`` tensor from a user's string.

    >>> parse_orientation("viewpoint:0,0,10")
    tensor([ 0.,  0., 10.], dtype=torch.float64)
    """
    if spec is None or spec == "none":
        return None
    if spec in ("centroid", "consistent"):
        return spec
    if spec.startswith("viewpoint:"):
        try:
            point = [float(x) for x in spec.split(":", 1)[1].split(",")]
        except ValueError:
            point = []
        if len(point) == 3 and all(np.isfinite(point)):
            return torch.tensor(point, dtype=torch.float64)
    raise InputError(f"unknown orientation {spec!r}; valid: {', '.join(ORIENTATIONS)}")


def _flip_towards(normals: Tensor, direction: Tensor) -> Tensor:
    """Each normal signed so that ``normal . direction >= 0``."""
    sign = torch.where((normals.double() * direction.double()).sum(-1) < 0, -1.0, 1.0)
    return normals * sign.to(normals.dtype)[:, None]


def orient_normals(pos: Tensor, normals: Tensor, how, index: Optional[Tensor] = None) -> Tensor:
    """Signed copies of ``normals: (N, 3)`` at ``pos: (N, 3)``; ``how`` as :func:`parse_orientation` gives.

    ``"centroid"``: away from the cloud's centroid. A viewpoint: towards it. ``"consistent"``: along a
    minimum spanning tree of the neighbour graph ``index: (N, k)`` with weights ``1 - |n_i . n_j|`` (so
    the propagation crosses flat regions first and sharp creases last), each connected part then
    turned as a whole to point away from its own centroid (outward on closed shapes; separate objects
    in one file are handled one by one).
    """
    how = parse_orientation(how) if isinstance(how, str) or how is None else how
    if how is None:
        return normals
    if isinstance(how, Tensor):
        return _flip_towards(normals, how.to(pos.device)[None] - pos.double())
    if how == "centroid":
        return _flip_towards(normals, pos.double() - pos.double().mean(0))
    if index is None:
        raise ValueError("consistent orientation needs the neighbour table index (N, k)")
    return _consistent(pos, normals, index)


def _consistent(pos: Tensor, normals: Tensor, index: Tensor) -> Tensor:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

    n, k = index.shape
    nrm = normals.detach().double().cpu().numpy()
    src = np.repeat(np.arange(n), k)
    dst = index.cpu().numpy().reshape(-1)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    # > 0 everywhere: scipy drops zero weights, and rounding can push |cos| a hair above 1
    weight = np.clip(1.0 - np.abs((nrm[src] * nrm[dst]).sum(1)), 0.0, None) + 1e-9
    graph = coo_matrix((weight, (src, dst)), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(graph.maximum(graph.T)).tocoo()
    parts, label = connected_components(tree, directed=False)
    # one traversal for all parts: a virtual node n joined to the first point of each
    roots = np.unique(label, return_index=True)[1]
    joined = coo_matrix((np.concatenate([tree.data, np.ones(parts)]),
                         (np.concatenate([tree.row, roots]), np.concatenate([tree.col, np.full(parts, n)]))),
                        shape=(n + 1, n + 1)).tocsr()
    _, pred = breadth_first_order(joined, n, directed=False, return_predecessors=True)
    parent = pred[:n].copy()
    parent[roots] = roots  # each part's first point is its own root
    # each point's sign relative to its root: the product of the edge signs on the path (pointer jumping)
    sign = np.where((nrm * nrm[parent]).sum(1) < 0, -1.0, 1.0)
    hop = parent.copy()
    while True:
        done = hop == parent[hop]
        if done.all():
            break
        sign = np.where(done, sign, sign * sign[hop])
        hop = np.where(done, hop, hop[hop])
    oriented = nrm * sign[:, None]
    # each part as a whole: away from its centroid
    x = pos.detach().double().cpu().numpy()
    centre = np.zeros((parts, 3))
    np.add.at(centre, label, x)
    centre /= np.bincount(label, minlength=parts)[:, None]
    out_score = np.zeros(parts)
    np.add.at(out_score, label, ((x - centre[label]) * oriented).sum(1))
    oriented *= np.where(out_score < 0, -1.0, 1.0)[label][:, None]
    return torch.from_numpy(oriented).to(normals.dtype).to(normals.device)
