"""Cartesian tensor representations of O(d): ``TensorReps("16x0n+8x1n+2x1p+4x2n")``."""
from __future__ import annotations

import torch

from tensorframes_core.reps.base import Reps
from tensorframes_core.reps.spec import Term

Tensor = torch.Tensor


class TensorReps(Reps):
    """Direct sum of Cartesian tensors of O(d), written like ``"16x0n+8x1n+2x1p+4x2n"``.

    A term ``MULxKn`` is MUL tensors of order K (d^K components each, row-major:
    ``x[..., m, a1, ..., aK]``); ``p`` instead of ``n`` marks pseudo tensors. The action is

        (rho(R) x)[m, a1..aK] = det(R)^[pseudo] * sum_b R[a1, b1] ... R[aK, bK] x[m, b1..bK].

    >>> TensorReps("2x1n").dim
    6
    >>> TensorReps("16x0n+8x1n+2x1p+4x2n").dim
    82
    >>> str(TensorReps("1n + 0p", d=2))
    '1x1n+1x0p'
    >>> R = torch.tensor([[0., -1.], [1., 0.]])
    >>> TensorReps("1x1n+1x0p", d=2).transform(torch.tensor([1., 0., 5.]), R)
    tensor([0., 1., 5.])
    """

    letters = "np"

    def __init__(self, spec: str, d: int = 3) -> None:
        super().__init__(spec, d)

    def _order_dim(self, order: int) -> int:
        return self.d**order

    def _is_pseudo(self, term: Term) -> bool:
        return term.letter == "p"

    def _act(self, part: Tensor, order: int, R: Tensor) -> Tensor:
        return contract_tensor_axes(part, R, order)

    def _matrix(self, order: int, R: Tensor) -> Tensor:
        return kron_power(R, order)

    def _with_spec(self, spec: str) -> "TensorReps":
        return TensorReps(spec, self.d)

    def __repr__(self) -> str:
        return f"TensorReps({str(self)!r}, d={self.d})"


def contract_tensor_axes(part: Tensor, R: Tensor, order: int) -> Tensor:
    """Apply ``R: (..., d, d)`` along each of the ``order`` tensor axes of ``part: (..., mul * d**order)``.

    One matmul per axis: contract the last axis, then rotate it to the front of the tensor axes;
    after ``order`` steps every axis has been hit once and the axis order is restored. For order 2
    when each matrix acts on at least ``d**2`` tensors (a receiver's messages folded together, as in
    ``Reps.transform_shared``), one product with ``R (x) R`` instead: no transposed copies, and the
    ``(..., d**2, d**2)`` matrices take no more memory than the tensors (several times faster for a
    receiver's 16 messages on CPU: ``benchmarks/normals_scan.py`` times the flagship that uses it).

    >>> x = torch.arange(4.)  # one 2x2 tensor
    >>> contract_tensor_axes(x, torch.tensor([[0., 1.], [1., 0.]]), 2)  # swaps both indices
    tensor([3., 2., 1., 0.])
    """
    d = R.shape[-1]
    matrices = R.numel() // (d * d)
    if order == 2 and part.numel() >= matrices * d**4:
        tensors = part.reshape(*part.shape[:-1], part.shape[-1] // d**2, d**2)
        return (tensors @ kron_power(R, 2).transpose(-1, -2)).reshape(part.shape)
    Rt = R.transpose(-1, -2)
    inner = d ** (order - 1)
    width = part.shape[-1]  # explicit sizes (no -1): empty batches reshape too
    t = part
    for _ in range(order):
        t = t.reshape(*t.shape[:-1], width // d, d) @ Rt  # (..., mul * d^(order-1), d)
        t = t.reshape(*t.shape[:-2], width // (inner * d), inner, d).transpose(-1, -2)  # (..., mul, d_new, d^(order-1))
        t = t.reshape(*t.shape[:-3], width)
    return t


def kron_power(R: Tensor, order: int) -> Tensor:
    """``R (x) ... (x) R`` (``order`` factors), ``(..., d**order, d**order)``; order 0 gives ones.

    >>> kron_power(torch.eye(2), 2).shape
    torch.Size([4, 4])
    """
    d = R.shape[-1]
    out = R.new_ones(*R.shape[:-2], 1, 1)
    for _ in range(order):
        n = out.shape[-1]
        out = (out[..., :, None, :, None] * R[..., None, :, None, :]).reshape(*R.shape[:-2], n * d, n * d)
    return out

