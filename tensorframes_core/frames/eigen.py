"""Closed-form eigen-decomposition of batched symmetric 3x3 matrices (no cuSOLVER, no NaN at ties)."""
from __future__ import annotations

import math
from typing import Tuple

import torch

Tensor = torch.Tensor

EIGH_CHUNK = 65_535  # cuSOLVER's batched eigh fails from 65,536 matrices on


def symmetric_eig3(A: Tensor) -> Tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) ``(..., 3)`` and eigenvectors as ROWS ``(..., 3, 3)`` of symmetric ``A``.

    Eigenvalues by the trigonometric formula; the extreme eigenvectors from the largest cross product
    of two rows of ``A - lambda I`` (re-orthogonalised); the
    middle one completes the basis. Degenerate eigenvalues give some orthonormal basis of their space
    (callers detect the degeneracy from the gaps). Never NaN.

    >>> w, V = symmetric_eig3(torch.diag(torch.tensor([3.0, 1.0, 2.0])))
    >>> torch.allclose(w, torch.tensor([1.0, 2.0, 3.0]))
    True
    >>> V.abs().round()
    tensor([[0., 1., 0.],
            [0., 0., 1.],
            [1., 0., 0.]])
    """
    tiny = torch.finfo(A.dtype).tiny
    scale = A.abs().amax(dim=(-1, -2), keepdim=True).clamp_min(tiny)
    A = A / scale  # well-scaled for every dtype
    a00, a11, a22 = A[..., 0, 0], A[..., 1, 1], A[..., 2, 2]
    a01, a02, a12 = A[..., 0, 1], A[..., 0, 2], A[..., 1, 2]
    q = (a00 + a11 + a22) / 3
    p1 = a01**2 + a02**2 + a12**2
    p2 = (a00 - q) ** 2 + (a11 - q) ** 2 + (a22 - q) ** 2 + 2 * p1
    p = torch.sqrt(p2 / 6).clamp_min(tiny)
    eye = torch.eye(3, dtype=A.dtype, device=A.device)
    B = (A - q[..., None, None] * eye) / p[..., None, None]
    r = (torch.linalg.det(B) / 2).clamp(-1.0, 1.0)
    phi = torch.acos(r) / 3
    lam_max = q + 2 * p * torch.cos(phi)
    lam_min = q + 2 * p * torch.cos(phi + 2 * math.pi / 3)
    lam_mid = 3 * q - lam_max - lam_min
    v_min = _null_vector(A - lam_min[..., None, None] * eye)
    v_max = _null_vector(A - lam_max[..., None, None] * eye)
    # make v_max exactly orthogonal to v_min (Gram-Schmidt; fallback axis if it collapses)
    v_max = v_max - (v_max * v_min).sum(-1, keepdim=True) * v_min
    v_max = _normalise_or_any_orthogonal(v_max, v_min)
    v_mid = torch.linalg.cross(v_max, v_min)
    values = torch.stack([lam_min, lam_mid, lam_max], dim=-1) * scale[..., 0]
    return values, torch.stack([v_min, v_mid, v_max], dim=-2)


def _null_vector(M: Tensor) -> Tensor:
    """Unit vector (approximately) in the null space of rank-2 symmetric ``M``: the longest cross
    product of two of its rows; a canonical axis when ``M`` is ~0."""
    r0, r1, r2 = M[..., 0, :], M[..., 1, :], M[..., 2, :]
    candidates = torch.stack([torch.linalg.cross(r0, r1), torch.linalg.cross(r0, r2), torch.linalg.cross(r1, r2)], -2)
    norms = candidates.norm(dim=-1)
    best = norms.argmax(dim=-1, keepdim=True)
    v = candidates.gather(-2, best[..., None].expand(*best.shape, 3)).squeeze(-2)
    n = norms.gather(-1, best)
    fallback = torch.zeros_like(v)
    fallback[..., 0] = 1.0
    ok = n > torch.finfo(M.dtype).eps ** 2
    return torch.where(ok, v / n.clamp_min(torch.finfo(M.dtype).tiny), fallback)


def _normalise_or_any_orthogonal(v: Tensor, w: Tensor) -> Tensor:
    """``v / |v|``, or a deterministic unit vector orthogonal to unit ``w`` when ``v`` is ~0."""
    n = v.norm(dim=-1, keepdim=True)
    axis = torch.zeros_like(w)
    axis.scatter_(-1, w.abs().argmin(dim=-1, keepdim=True), 1.0)
    other = axis - (axis * w).sum(-1, keepdim=True) * w
    other = other / other.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)
    return torch.where(n > torch.finfo(v.dtype).eps ** 0.5, v / n.clamp_min(torch.finfo(v.dtype).tiny), other)


def symmetric_eig(A: Tensor) -> Tuple[Tensor, Tensor]:
    """Ascending eigenvalues ``(N, d)`` and eigenvectors as rows ``(N, d, d)`` of symmetric ``A: (N, d, d)``.

    Closed form for d = 3; chunked ``torch.linalg.eigh`` otherwise (and as the test reference).
    """
    if A.shape[-1] == 3:
        return symmetric_eig3(A)
    return chunked_eigh(A)


def chunked_eigh(A: Tensor) -> Tuple[Tensor, Tensor]:
    """``torch.linalg.eigh`` in chunks of 65,535 (cuSOLVER's limit); eigenvectors returned as rows."""
    values, vectors = [], []
    for chunk in A.split(EIGH_CHUNK):
        w, V = torch.linalg.eigh(chunk)
        values.append(w)
        vectors.append(V.transpose(-1, -2))
    if not values:
        d = A.shape[-1]
        return A.new_zeros(0, d), A.new_zeros(0, d, d)
    return torch.cat(values), torch.cat(vectors)
