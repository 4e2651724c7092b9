"""A point transformer in local frames (in the spirit of the reference code's LoCaFormer)."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import torch
from torch import nn
from torch_geometric.utils import softmax

from tensorframes_core.graph import knn_graph
from tensorframes_core.models.base import NormalModel
from tensorframes_core.models.layers import mlp
from tensorframes_core.nn import TFMessagePassing
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor


class FrameAttention(TFMessagePassing):
    r"""Multi-head attention over graph neighbours with keys and values in the receiver's frame.

    .. math::
        \tilde h_j = \rho(R_i R_j^T) h_j,\quad p_{ij} = \mathrm{MLP}(R_i (x_j - x_i)),\quad
        a_{ij} = \mathrm{softmax}_j\big(q_i \cdot (k(\tilde h_j) + p_{ij}) / \sqrt{c}\big),\quad
        h_i' = W_o \sum_j a_{ij} \big(v(\tilde h_j) + p_{ij}\big)

    per head (``c`` channels each). Every logit is a number computed in frame ``i``, hence invariant.
    ``x: (N, reps.dim)`` -> ``(N, reps.dim)``.
    """

    def __init__(self, reps, heads: int = 4, frame_transform: bool = True) -> None:
        super().__init__(local={"x": reps}, frame_transform=frame_transform, aggr="sum")
        dim = as_reps(reps).dim
        if dim % heads:
            raise ValueError(f"hidden dim {dim} is not divisible by heads={heads}")
        self.heads, self.channels = heads, dim // heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.pos_enc = mlp([3, dim, dim], last_act=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, frames) -> Tensor:
        return self.out(self.propagate(edge_index, frames=frames, x=x, q=self.query(x), pos=pos))

    def message(self, x_j: Tensor, q_i: Tensor, edge_vec: Tensor, index: Tensor, ptr: Optional[Tensor],
                size_i: Optional[int]) -> Tensor:
        shape = (-1, self.heads, self.channels)
        p = self.pos_enc(edge_vec)
        k, v = self.key_value(x_j).chunk(2, dim=-1)
        logits = (q_i.view(shape) * (k + p).view(shape)).sum(-1) / math.sqrt(self.channels)
        alpha = softmax(logits, index, ptr, size_i)
        return (alpha.unsqueeze(-1) * (v + p).view(shape)).flatten(1)


class Transformer(NormalModel):
    """Embedding, then ``layers`` pre-norm blocks ``h += attn(LN h); h += FFN(LN h)`` on the kNN graph (with self loops).

    Size kwargs: ``layers`` (3), ``heads`` (4), ``k`` (16) plus the common ones of :class:`NormalModel`.
    """

    def __init__(self, mode: str, frames: str = "pca", task: str = "normals", layers: int = 3, heads: int = 4,
                 k: int = 16, **common: Any) -> None:
        super().__init__("transformer", mode, frames, task,
                         {"layers": int(layers), "heads": int(heads), "k": int(k)}, **common)
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.k = int(k)
        dim = self.hidden.dim
        self.embed = nn.Linear(self.in_reps.dim, dim)
        self.attns = nn.ModuleList(FrameAttention(self.hidden, heads, self.frame_transform) for _ in range(layers))
        self.ffns = nn.ModuleList(mlp([dim, 2 * dim, dim], last_act=False) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2 * layers + 1))

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table=None) -> Tuple[Tensor, Tensor]:
        edge_index = knn_graph(pos, self.k, batch=batch, loop=True)
        h = self.embed(x)
        for i, (attn, ffn) in enumerate(zip(self.attns, self.ffns)):
            h = h + attn(self.norms[2 * i](h), pos, edge_index, frames=frames)
            h = h + ffn(self.norms[2 * i + 1](h))
        return self.norms[-1](h), edge_index
