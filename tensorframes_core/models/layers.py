"""Small building blocks shared by the architectures (plain layers: they only see invariant numbers).

In a tensor-frames network every feature a layer reads is expressed in the receiving node's own
frame, so these are ordinary unconstrained PyTorch modules; their output is *declared* to be the
hidden reps in that frame (see :mod:`tensorframes_core.nn.wrap`).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def mlp(dims: Sequence[int], last_act: bool = True) -> nn.Sequential:
    """``Linear -> LayerNorm -> SiLU`` per step of ``dims``; ``last_act=False`` ends with a bare ``Linear``.

    >>> [type(m).__name__ for m in mlp([4, 8, 2], last_act=False)]
    ['Linear', 'LayerNorm', 'SiLU', 'Linear']
    """
    if len(dims) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {list(dims)}")
    layers = []
    for step, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if last_act or step < len(dims) - 2:
            layers += [nn.LayerNorm(n_out), nn.SiLU()]
    return nn.Sequential(*layers)


class VectorHead(nn.Module):
    r"""Final ``Linear`` to one local vector (``1x1n``): :math:`y_i = W h_i + b`, ``b`` starts at ``e_0``.

    With PCA frames ``e_0`` in node ``i``'s frame is the PCA normal, so a fresh model predicts the
    PCA normal and training learns a correction (small initial ``W``). ``h: (N, in_dim) -> (N, d)``.

    >>> head = VectorHead(5)
    >>> head(torch.zeros(2, 5))
    tensor([[1., 0., 0.],
            [1., 0., 0.]], grad_fn=<AddmmBackward0>)
    """

    def __init__(self, in_dim: int, d: int = 3, init_scale: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, d)
        with torch.no_grad():
            self.linear.weight.mul_(init_scale)
            self.linear.bias.zero_()
            self.linear.bias[0] = 1.0

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h)
