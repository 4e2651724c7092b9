"""GCN (Kipf & Welling 2017) on the kNN graph: unmodified PyG ``GCNConv`` layers made equivariant."""
from __future__ import annotations

from typing import Any, Tuple

import torch
from torch import nn
from torch_geometric.nn import GCNConv

from tensorframes_core.graph import knn_graph
from tensorframes_core.models.base import NormalModel
from tensorframes_core.nn import make_equivariant

Tensor = torch.Tensor


class GCN(NormalModel):
    r"""``layers`` residual blocks :math:`h \leftarrow h + W\,\mathrm{SiLU}(\mathrm{GCNConv}(h))` on the kNN graph.

    Each ``GCNConv`` is wrapped by :func:`~tensorframes_core.nn.make_equivariant` with
    ``local={"x": hidden}``: its ``lin`` runs on local (invariant) numbers before ``propagate``, and
    its output, declared to be the hidden reps in the node's frame, is moved by ``rho(R_i R_j^T)``
    before the normalised sum. GCN sees geometry only through the features (no edge vectors).
    Size kwargs: ``layers`` (4), ``k`` (16) plus the common ones of :class:`NormalModel`.
    """

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", layers: int = 4, k: int = 16,
                 **common: Any) -> None:
        super().__init__("gcn", mode, frames, task, {"layers": int(layers), "k": int(k)}, **common)
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.k = int(k)
        dim = self.hidden.dim
        self.embed = nn.Linear(self.in_reps.dim, dim)
        self.convs = nn.ModuleList(
            make_equivariant(GCNConv(dim, dim), local={"x": self.hidden}, frame_transform=self.frame_transform)
            for _ in range(layers))
        self.mixes = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))
        self.act = nn.SiLU()

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table=None) -> Tuple[Tensor, Tensor]:
        edge_index = knn_graph(pos, self.k, batch=batch)
        h = self.embed(x)
        for conv, mix in zip(self.convs, self.mixes):
            h = h + mix(self.act(conv(h, edge_index, frames=frames)))
        return h, edge_index
