"""Standard PyG layers by name, plain and made equivariant: the paper's title claim, measured on a cloud.

Each layer gets random weights (equivariance is a property of the architecture, not of training) and
reads ``[1, x_i - c]`` (``"1x0n+1x1n"``, positions about the centroid); its output is declared to be
``OUT_REPS``. Plain, it works in global coordinates; wrapped with :func:`make_equivariant` (the
declarations of ``nn.wrap``'s table), it works in PCA frames between ``to_local`` and ``to_global``.

>>> pos = torch.randn(60, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
>>> from tensorframes_core.group import rotation_about
>>> errors = layer_equivariance("EdgeConv", pos, rotation_about("z", 70.0))
>>> errors["plain"] > 1e-2, errors["tensor frames"] < 1e-9
(True, True)
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch
from torch import nn
from torch_geometric.nn import EdgeConv, GATConv, GCNConv, GINConv, PointNetConv, SAGEConv

from tensorframes_core.equivariance import relative_equivariance_error
from tensorframes_core.frames import pca_frames
from tensorframes_core.graph import knn_graph
from tensorframes_core.nn.transforms import to_global, to_local
from tensorframes_core.nn.wrap import make_equivariant
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor

IN_REPS = "1x0n+1x1n"
OUT_REPS = "4x0n+2x1n"


def _mlp(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, 16), nn.SiLU(), nn.Linear(16, n_out))


def _zoo(d_in: int, d_out: int) -> Dict[str, Callable[[], Tuple[nn.Module, Dict[str, str], Optional[Dict[str, str]]]]]:
    """``name -> () -> (layer, local declarations, global declarations)`` (see ``nn.wrap``)."""
    return {
        "EdgeConv": lambda: (EdgeConv(_mlp(2 * d_in, d_out)), {"x": IN_REPS}, None),
        "PointNetConv": lambda: (PointNetConv(_mlp(d_in + 3, d_out)), {"x": IN_REPS}, {"pos": "1x1n"}),
        "GCNConv": lambda: (GCNConv(d_in, d_out), {"x": OUT_REPS}, None),  # lin runs before propagate
        "GATConv": lambda: (GATConv(d_in, d_out, heads=2, concat=False), {"x": OUT_REPS}, None),
        "GINConv": lambda: (GINConv(_mlp(d_in, d_out)), {"x": IN_REPS}, None),
        "SAGEConv": lambda: (SAGEConv(d_in, d_out), {"x": IN_REPS}, None),  # mean of moved x_j, then lin
    }


LAYERS = tuple(_zoo(1, 1))


def build_layer(name: str, seed: int = 0, dtype: torch.dtype = torch.float64):
    """``(plain, wrapped)``: layer ``name`` with random weights (seeded), and the same weights wrapped."""
    zoo = _zoo(as_reps(IN_REPS).dim, as_reps(OUT_REPS).dim)
    if name not in zoo:
        raise ValueError(f"unknown layer {name!r}; choose from {', '.join(LAYERS)}")
    torch.manual_seed(seed)
    plain, local, global_ = zoo[name]()
    plain = plain.to(dtype)
    twin, _, _ = zoo[name]()
    twin.load_state_dict(plain.state_dict())
    return plain, make_equivariant(twin.to(dtype), local=local, global_=global_)


def _call(layer: nn.Module, name: str, x: Tensor, pos: Tensor, edge_index: Tensor, **frames) -> Tensor:
    if name == "PointNetConv":
        return layer(x, pos, edge_index, **frames)
    return layer(x, edge_index, **frames)


def layer_equivariance(name: str, pos: Tensor, g: Tensor, k: int = 8, seed: int = 0) -> Dict[str, float]:
    """``{"plain": err, "tensor frames": err}``: ``||f(g x) - rho(g) f(x)|| / ||f(x)||`` of layer ``name``
    on ``pos: (N, 3)`` for ``g: (3, 3)`` in O(3), over the ``k``-NN graph, in ``pos.dtype``."""
    plain, wrapped = build_layer(name, seed, pos.dtype)

    def inputs(p: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        centred = p - p.mean(0)
        return torch.cat([torch.ones_like(p[:, :1]), centred], 1), centred, knn_graph(p, k)

    def plain_fn(p: Tensor) -> Tensor:
        x, centred, edges = inputs(p)
        return _call(plain, name, x, centred, edges)

    def wrapped_fn(p: Tensor) -> Tensor:
        x, centred, edges = inputs(p)
        R = pca_frames(p).matrices
        return to_global(_call(wrapped, name, to_local(x, IN_REPS, R), centred, edges, frames=R), OUT_REPS, R)

    moved = pos @ g.T.to(pos.dtype)
    with torch.no_grad():
        return {label: relative_equivariance_error(fn(pos), fn(moved), g, OUT_REPS)
                for label, fn in (("plain", plain_fn), ("tensor frames", wrapped_fn))}
