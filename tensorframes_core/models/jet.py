"""Jet fitting as a model: the classical quadric-fit baseline of the PCPNet tables, on the same code path."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tensorframes_core.models.base import unpack
from tensorframes_core.normals import jet_normals, neighbour_index


class JetNormals(nn.Module):
    """Parameter-free normals of a degree-2 jet over each point's ``k`` nearest neighbours, cloud by cloud
    (``normals.jet_normals``). ``model(data) -> (N, 3)`` like every normal model; unoriented.

    >>> JetNormals(k=12)(torch.randn(50, 3)).shape
    torch.Size([50, 3])
    """

    def __init__(self, k: int = 24) -> None:
        super().__init__()
        if k < 5:
            raise ValueError(f"a degree-2 jet needs k >= 5, got {k}")
        self.k = int(k)
        self.config = {"arch": "jet", "k": self.k}

    def forward(self, data) -> Any:
        pos, batch, num_graphs = unpack(data)
        out = torch.empty_like(pos)
        for cloud in range(num_graphs):
            idx = (batch == cloud).nonzero()[:, 0]
            if len(idx) >= 2:
                out[idx] = jet_normals(pos[idx], neighbour_index(pos[idx], self.k))
            else:
                out[idx] = torch.tensor([1.0, 0.0, 0.0], dtype=pos.dtype, device=pos.device)
        return out

    def extra_repr(self) -> str:
        return f"k={self.k}"
