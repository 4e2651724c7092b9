"""The three frame changes of a tensor-frames network, in one place.

A frame ``R_i`` is an orthogonal ``(d, d)`` matrix whose rows are node ``i``'s axes. With features
of type ``rho`` (a reps object, or a spec string such as ``"2x0n+1x1n"``):

* input:  ``f_i = rho(R_i) F_i``             (:func:`to_local`: global -> local, invariant numbers)
* edges:  ``rho(R_i R_j^T) f_j``             (:func:`frame_change`: sender's frame -> receiver's; per
  receiver for ``G`` messages at once: :func:`frame_change_by_receiver`)
* output: ``Y_i = rho(R_i^T) y_i``           (:func:`to_global`: local -> global)

Under ``x -> Q x`` frames move as ``R_i -> R_i Q^T``, so ``R_i R_j^T`` and every local feature are
invariant, and ``to_global`` turns invariant numbers into an equivariant output.
"""
from __future__ import annotations

import torch

from tensorframes_core.frames import as_matrices
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor


def _frame_matrices(frames) -> Tensor:
    matrices = as_matrices(frames)
    if matrices.dim() != 3 or matrices.shape[-1] != matrices.shape[-2]:
        raise ValueError(f"frames must be (N, d, d) matrices, got shape {tuple(matrices.shape)}")
    return matrices


def _apply(x: Tensor, reps, matrices: Tensor, what: str) -> Tensor:
    """``rho(M_k) x_k`` for ``x: (K, ..., dim)`` and ``matrices: (K, d, d)`` (broadcast over ``...``)."""
    if x.shape[-1] != reps.dim:
        raise ValueError(f"{what}: last dimension {x.shape[-1]} does not match the reps' dim {reps.dim} ({reps})")
    if x.dim() < 2 or x.shape[0] != matrices.shape[0]:
        raise ValueError(f"{what}: expected {matrices.shape[0]} rows (one per frame), got shape {tuple(x.shape)}")
    if matrices.shape[-1] != reps.d:
        raise ValueError(f"{what}: frames are {matrices.shape[-1]}-dimensional but the reps are for d={reps.d}")
    matrices = matrices.to(x.dtype).reshape(matrices.shape[:1] + (1,) * (x.dim() - 2) + matrices.shape[1:])
    return reps.transform(x, matrices)


def to_local(x: Tensor, reps, frames) -> Tensor:
    """Global features to each node's own frame: ``f_i = rho(R_i) x_i``.

    ``x: (N, dim)``; ``frames``: a ``Frames`` or ``(N, d, d)`` tensor; returns ``(N, dim)``.

    >>> import torch
    >>> R = torch.tensor([[[0., 1., 0.], [-1., 0., 0.], [0., 0., 1.]]])   # rows = local axes
    >>> to_local(torch.tensor([[1., 0., 0.]]), "1x1n", R)
    tensor([[ 0., -1.,  0.]])
    """
    matrices = _frame_matrices(frames)
    return _apply(x, as_reps(reps, matrices.shape[-1]), matrices, "to_local")


def to_global(x: Tensor, reps, frames) -> Tensor:
    """Local features back to global coordinates: ``Y_i = rho(R_i^T) y_i`` (inverse of :func:`to_local`).

    >>> import torch
    >>> R = torch.tensor([[[0., 1., 0.], [-1., 0., 0.], [0., 0., 1.]]])
    >>> to_global(torch.tensor([[0., -1., 0.]]), "1x1n", R)
    tensor([[1., 0., 0.]])
    """
    matrices = _frame_matrices(frames)
    return _apply(x, as_reps(reps, matrices.shape[-1]), matrices.transpose(-1, -2), "to_global")


def relative_frames(R_src: Tensor, R_dst: Tensor) -> Tensor:
    """Per-edge change of frame ``R_i R_j^T``: ``(E, d, d)`` from the gathered ``R_src = R_j``, ``R_dst = R_i``.

    It maps sender coordinates to receiver coordinates: ``R_i R_j^T (R_j v) = R_i v``.
    """
    return R_dst @ R_src.transpose(-1, -2)


def apply_edgewise(x: Tensor, reps, matrices: Tensor, what: str = "features") -> Tensor:
    """``rho(M_e) x_e`` for ``x: (E, ..., dim)`` and ``matrices: (E, d, d)``, one axis at a time.

    Used by the layers with ``matrices`` = :func:`relative_frames` (computed once per propagate and
    shared by all local features) or ``R_i`` (global inputs); no ``(dim, dim)`` matrix per edge.
    """
    return _apply(x, reps, matrices, what)


def frame_change(x_j: Tensor, reps, R_src: Tensor, R_dst: Tensor) -> Tensor:
    """Sender features in the receiver's frame: ``rho(R_i R_j^T) x_j``.

    ``x_j: (E, ..., dim)`` features of the edges' sources in their own frames; ``R_src, R_dst: (E, d, d)``
    the frames of source ``j`` and target ``i`` gathered per edge. One ``(E, d, d)`` product, then
    ``reps.transform`` (a per-axis contraction). Returns ``(E, ..., dim)``.

    >>> import torch
    >>> from tensorframes_core.equivariance import random_orthogonal
    >>> Rj, Ri = random_orthogonal(5, dtype=torch.float64), random_orthogonal(5, dtype=torch.float64)
    >>> v = torch.randn(5, 3, dtype=torch.float64)                 # global vectors
    >>> moved = frame_change(to_local(v, "1x1n", Rj), "1x1n", Rj, Ri)
    >>> torch.allclose(moved, to_local(v, "1x1n", Ri))               # = the same vectors seen from i
    True
    """
    return _apply(x_j, as_reps(reps, R_src.shape[-1]), relative_frames(R_src, R_dst), "frame_change")


def frame_change_by_receiver(x_j: Tensor, reps, R_dst: Tensor) -> Tensor:
    """:func:`frame_change` for ``G`` messages per receiver: ``rho(R_i) X_j = rho(R_i R_j^T) x_j``.

    ``x_j: (B, G, dim)`` the senders' features already in global axes (:func:`to_global` once per node),
    ``R_dst: (B, d, d)`` the receivers' frames. Each receiver's frame acts on its ``G`` messages in one
    product (``reps.transform_shared``), not ``G`` small ones. Returns ``(B, G, dim)``.

    >>> import torch
    >>> from tensorframes_core.equivariance import random_orthogonal
    >>> Rj, Ri = random_orthogonal(6, dtype=torch.float64), random_orthogonal(2, dtype=torch.float64)
    >>> x = torch.randn(6, 3, dtype=torch.float64)                  # local vectors of six senders
    >>> moved = frame_change_by_receiver(to_global(x, "1x1n", Rj).view(2, 3, 3), "1x1n", Ri)
    >>> torch.allclose(moved, frame_change(x, "1x1n", Rj, Ri.repeat_interleave(3, 0)).view(2, 3, 3))
    True
    """
    return as_reps(reps, R_dst.shape[-1]).transform_shared(x_j, R_dst.to(x_j.dtype))


__all__ = ["to_local", "to_global", "frame_change", "frame_change_by_receiver", "relative_frames", "apply_edgewise"]
