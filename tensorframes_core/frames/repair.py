"""When a frame is ambiguous (degenerate neighbourhoods): the tolerances, and the deterministic fallback."""
from __future__ import annotations

from typing import Tuple

import torch

Tensor = torch.Tensor


def tolerances(axis_margin: Tensor) -> Tuple[float, Tensor]:
    """``(axis_tol, sign_tol)`` for relative, scale-free margins of the dtype of ``axis_margin: (N, d)``.

    An axis (direction) counts as undetermined when its margin (relative eigen-gap, residual norm) is
    at rounding level, ``<= 64 eps``; in between, its rounding error ``~eps / margin`` shows in
    ``Frames.quality``. A sign (relative moment) must also clear what that error could flip:
    ``64 eps + 4 eps / margin``.

    >>> axis_tol, sign_tol = tolerances(torch.tensor([[1.0, 1e-3]], dtype=torch.float64))
    >>> axis_tol, sign_tol
    (1.4210854715202004e-14, tensor([[1.5099e-14, 9.0239e-13]], dtype=torch.float64))
    """
    eps = torch.finfo(axis_margin.dtype).eps
    return 64 * eps, 64 * eps + 4 * eps / axis_margin.clamp_min(64 * eps)


def repair_axes(axes: Tensor, axis_ok: Tensor, sign_ok: Tensor) -> Tuple[Tensor, Tensor]:
    """Make every frame orthonormal and well-defined, marking the ones that needed a fallback.

    ``axes: (N, d, d)`` orthonormal rows; ``axis_ok: (N, d)`` whether each row's direction is determined;
    ``sign_ok: (N, d)`` whether its sign is. Rows with an undetermined sign keep their direction and
    take the sign that makes their largest component positive; undetermined rows are replaced, in
    order, by standard basis vectors Gram-Schmidt-orthogonalised against the rows kept so far.
    Deterministic and NaN-free, but not equivariant: hence the returned ``fallback_mask: (N,)``.

    >>> axes = torch.eye(3)[None]
    >>> m, bad = repair_axes(-axes, torch.tensor([[True, False, False]]), torch.ones(1, 3, dtype=torch.bool))
    >>> m[0], bool(bad[0])
    (tensor([[-1., -0., -0.],
            [ 0.,  1.,  0.],
            [ 0.,  0.,  1.]]), True)
    """
    fallback = ~(axis_ok & sign_ok).all(dim=1)
    if not bool(fallback.any()):
        return axes, fallback
    idx = fallback.nonzero()[:, 0]
    sub, keep = axes[idx], axis_ok[idx]
    n, d, _ = sub.shape
    largest = sub.abs().argmax(dim=-1, keepdim=True)
    canonical = sub.gather(-1, largest).sign().clamp_min(0) * 2 - 1  # +1 where the largest entry is >= 0
    sub = torch.where(sign_ok[idx][..., None], sub, sub * canonical)
    rows = torch.where(keep[..., None], sub, torch.zeros_like(sub))
    eye = torch.eye(d, dtype=axes.dtype, device=axes.device)
    threshold = (2.0 * d) ** -0.5
    for a in range(d):
        missing = ~keep[:, a]
        if not bool(missing.any()):
            continue
        filled = torch.zeros(n, d, dtype=axes.dtype, device=axes.device)
        found = torch.zeros(n, dtype=torch.bool, device=axes.device)
        for b in range(d):
            residual = eye[b] - torch.einsum("nr,nrd->nd", rows @ eye[b], rows)
            norm = residual.norm(dim=-1)
            take = missing & ~found & (norm > threshold)
            filled = torch.where(take[:, None], residual / norm.clamp_min(threshold)[:, None], filled)
            found |= take
        rows = rows.clone()
        rows[:, a] = torch.where(missing[:, None], filled, rows[:, a])
    out = axes.clone()
    out[idx] = rows
    return out, fallback
