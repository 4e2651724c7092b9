"""Eigen-decomposition of batched symmetric matrices: closed form for 3x3 (no cuSOLVER, no NaN at ties)."""
from __future__ import annotations

import math
from typing import Tuple

import torch

Tensor = torch.Tensor

EIGH_CHUNK = 65_535  # cuSOLVER's batched eigh fails from 65,536 matrices on


def _det3(M: Tensor) -> Tensor:
    """Determinant of ``(..., 3, 3)`` by cofactors (``torch.linalg.det`` would run a batched LU)."""
    return (M[..., 0, 0] * (M[..., 1, 1] * M[..., 2, 2] - M[..., 1, 2] * M[..., 2, 1])
            - M[..., 0, 1] * (M[..., 1, 0] * M[..., 2, 2] - M[..., 1, 2] * M[..., 2, 0])
            + M[..., 0, 2] * (M[..., 1, 0] * M[..., 2, 1] - M[..., 1, 1] * M[..., 2, 0]))


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


def _null_vector(M: Tensor) -> Tensor:
    """Unit vector spanning the null space of a rank-2 symmetric ``M``: the longest cross product of
    two of its rows (``e_x`` when ``M`` is ~0, i.e. a fully degenerate matrix)."""
    r0, r1, r2 = M[..., 0, :], M[..., 1, :], M[..., 2, :]
    candidates = torch.stack([torch.linalg.cross(r0, r1), torch.linalg.cross(r0, r2), torch.linalg.cross(r1, r2)], -2)
    norms = candidates.norm(dim=-1)
    best = norms.argmax(dim=-1, keepdim=True)
    v = candidates.gather(-2, best[..., None].expand(*best.shape, 3)).squeeze(-2)
    fallback = torch.zeros_like(v)
    fallback[..., 0] = 1.0
    return torch.where(norms.gather(-1, best) > torch.finfo(M.dtype).tiny, _unit(v), fallback)


def _eig3_parts(A: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The closed form's pieces for symmetric ``A: (..., 3, 3)``: ``A / scale``, ``scale: (..., 1, 1)``, the
    isolated eigenvector ``w``, the pair ``e1`` (larger eigenvalue), ``e2`` (each ``(..., 3)``) and
    ``max_apart: (...,)`` (True where ``w`` belongs to the largest eigenvalue, else to the smallest)."""
    tiny = torch.finfo(A.dtype).tiny
    scale = A.abs().amax(dim=(-1, -2), keepdim=True).clamp_min(tiny)
    A = A / scale  # entries in [-1, 1]: no overflow or underflow below, for any scale
    eye = torch.eye(3, dtype=A.dtype, device=A.device)
    q = A.diagonal(dim1=-2, dim2=-1).mean(-1)
    B = A - q[..., None, None] * eye
    p = (B.square().sum((-1, -2)) / 6).sqrt().clamp_min(tiny)
    phi = torch.acos((_det3(B / p[..., None, None]) / 2).clamp(-1.0, 1.0)) / 3
    lam_max = q + 2 * p * torch.cos(phi)
    lam_min = q + 2 * p * torch.cos(phi + 2 * math.pi / 3)
    lam_mid = 3 * q - lam_max - lam_min
    # the eigenvalue with the larger gap to the middle one is the well-separated, accurate one
    max_apart = (lam_max - lam_mid) >= (lam_mid - lam_min)
    lam = torch.where(max_apart, lam_max, lam_min)
    w = _null_vector(A - lam[..., None, None] * eye)
    # orthonormal basis (u, v) of the plane orthogonal to w, then the 2x2 problem there
    axis = torch.zeros_like(w).scatter_(-1, w.abs().argmin(dim=-1, keepdim=True), 1.0)
    u = _unit(torch.linalg.cross(w, axis))
    v = torch.linalg.cross(w, u)
    Au, Av = (A @ u[..., None])[..., 0], (A @ v[..., None])[..., 0]
    a, b, c = (u * Au).sum(-1), (u * Av).sum(-1), (v * Av).sum(-1)
    theta = 0.5 * torch.atan2(2 * b, a - c)
    cos, sin = torch.cos(theta)[..., None], torch.sin(theta)[..., None]
    e1, e2 = cos * u + sin * v, cos * v - sin * u  # e1: the larger eigenvalue of the pair
    return A, scale, w, e1, e2, max_apart


def symmetric_eig3(A: Tensor) -> Tuple[Tensor, Tensor]:
    """Ascending eigenvalues ``(..., 3)`` and orthonormal eigenvectors as ROWS ``(..., 3, 3)`` of
    symmetric ``A: (..., 3, 3)`` (float32 or float64).

    Robust closed form (Eberly's method): trigonometric eigenvalues; the eigenvector of the eigenvalue
    farthest from the other two as the null vector of ``A - lambda I`` (that eigenvalue is the accurate
    one); the remaining pair from the exactly diagonalised 2x2 problem in the orthogonal plane, so
    near-equal eigenvalues keep full accuracy and exactly equal ones give some orthonormal basis of
    their space (callers detect ties from the gaps). Never NaN, differentiable away from ties.

    >>> w, V = symmetric_eig3(torch.diag(torch.tensor([3.0, 1.0, 2.0])))
    >>> w
    tensor([1., 2., 3.])
    >>> V.abs()
    tensor([[0., 1., 0.],
            [0., 0., 1.],
            [1., 0., 0.]])
    """
    A, scale, w, e1, e2, _ = _eig3_parts(A)
    vectors = torch.stack([w, e1, e2], dim=-2)
    values = ((vectors @ A) * vectors).sum(-1)  # Rayleigh quotients
    order = values.argsort(dim=-1)
    values = values.gather(-1, order)
    vectors = vectors.gather(-2, order[..., None].expand_as(vectors))
    return values * scale[..., 0], vectors


def smallest_eigenvector3(A: Tensor) -> Tensor:
    """Unit eigenvector ``(..., 3)`` of the smallest eigenvalue of symmetric ``A: (..., 3, 3)``: row 0 of
    :func:`symmetric_eig3` (up to sign, and to the choice within an exactly tied eigenspace) without
    the Rayleigh quotients and the sort: the isolated eigenvector where the smallest eigenvalue is
    the isolated one, else the smaller of the pair.

    >>> smallest_eigenvector3(torch.diag(torch.tensor([3.0, 1.0, 2.0]))).abs()
    tensor([0., 1., 0.])
    """
    _, _, w, _, e2, max_apart = _eig3_parts(A)
    return torch.where(max_apart[..., None], e2, w)


def symmetric_eig(A: Tensor) -> Tuple[Tensor, Tensor]:
    """Ascending eigenvalues ``(N, d)`` and eigenvectors as rows ``(N, d, d)`` of symmetric ``A: (N, d, d)``.

    Closed form for d = 3; chunked ``torch.linalg.eigh`` otherwise (and as the test reference).
    """
    if A.shape[-1] == 3:
        return symmetric_eig3(A)
    return chunked_eigh(A)


def chunked_eigh(A: Tensor) -> Tuple[Tensor, Tensor]:
    """``torch.linalg.eigh`` in chunks of 65,535 (cuSOLVER's limit); eigenvectors returned as rows.

    >>> w, V = chunked_eigh(torch.diag(torch.tensor([2.0, 1.0]))[None])
    >>> w, V.abs()
    (tensor([[1., 2.]]), tensor([[[0., 1.],
             [1., 0.]]]))
    """
    d = A.shape[-1]
    if A.shape[0] == 0:
        return A.new_zeros(0, d), A.new_zeros(0, d, d)
    values, vectors = zip(*(torch.linalg.eigh(chunk) for chunk in A.split(EIGH_CHUNK)))
    return torch.cat(values), torch.cat(vectors).transpose(-1, -2)
