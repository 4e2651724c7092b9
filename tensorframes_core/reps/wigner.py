"""Real Wigner-D matrices of SO(3) from a rotation matrix, without Euler angles (e3nn's basis).

D^1(R) = R (x, y, z order) and, for l >= 2,

    D^l(R) = C_l^T (D^{l-1}(R) (x) R) C_l,

where ``C_l: (3(2l-1), 2l+1)`` is the isometric embedding of the spin-l irrep into
(l-1) (x) 1. ``C_l`` is the null space of the intertwining equations for the so(3) generators in
e3nn's real basis, solved once in float64, so D^l is exact to float precision for every rotation
(no gimbal lock) and equals ``e3nn.o3.Irrep(l, 1).D_from_matrix(R)``. For improper R the recursion
gives the natural extension with D^l(-I) = (-1)^l I.

For speed the recursion is one GEMM with a shared weight per l:
``vec D^l = (vec D^{l-1} (x) vec R) @ W_l`` with ``W_l[(i,k),(j,n),(a,b)] = C_l[(i,j),a] C_l[(k,n),b]``.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch

Tensor = torch.Tensor


def _su2_generators(l: int) -> Tensor:
    """Complex spin-l generators (x, z, -y), as in e3nn's ``su2_generators``."""
    m = torch.arange(-l, l, dtype=torch.float64)
    raising = torch.diag(-torch.sqrt(l * (l + 1) - m * (m + 1)), diagonal=-1).to(torch.complex128)
    m = torch.arange(-l + 1, l + 1, dtype=torch.float64)
    lowering = torch.diag(torch.sqrt(l * (l + 1) - m * (m - 1)), diagonal=1).to(torch.complex128)
    m = torch.arange(-l, l + 1, dtype=torch.float64)
    return torch.stack([0.5 * (raising + lowering), torch.diag(1j * m), -0.5j * (raising - lowering)])


def _real_to_complex(l: int) -> Tensor:
    """e3nn's change of basis from real to complex spherical harmonics (with its (-i)^l factor)."""
    q = torch.zeros(2 * l + 1, 2 * l + 1, dtype=torch.complex128)
    s = 2**-0.5
    for m in range(-l, 0):
        q[l + m, l - m] = s
        q[l + m, l + m] = -1j * s
    q[l, l] = 1
    for m in range(1, l + 1):
        q[l + m, l + m] = (-1) ** m * s
        q[l + m, l - m] = 1j * (-1) ** m * s
    return (-1j) ** l * q


def so3_generators(l: int) -> Tensor:
    """Real antisymmetric generators ``(3, 2l+1, 2l+1)`` in e3nn's basis, float64; l=1 gives L_x, L_y, L_z.

    >>> so3_generators(1)[2].round(decimals=12)
    tensor([[ 0., -1.,  0.],
            [ 1.,  0.,  0.],
            [ 0.,  0.,  0.]], dtype=torch.float64)
    """
    q = _real_to_complex(l)
    x = q.conj().T @ _su2_generators(l) @ q
    return x.real.contiguous()


def intertwiner(l: int) -> Tensor:
    """Isometry ``C_l: (3(2l-1), 2l+1)`` (float64, CPU) with (J^{l-1} (x) 1 + 1 (x) J^1) C_l = C_l J^l, l >= 2.

    >>> C = intertwiner(2)
    >>> C.shape, float((C.T @ C - torch.eye(5, dtype=torch.float64)).abs().max()) < 1e-14
    (torch.Size([9, 5]), True)
    """
    if l not in _INTERTWINERS:
        _INTERTWINERS[l] = _solve_intertwiner(l)
    return _INTERTWINERS[l]


def _solve_intertwiner(l: int) -> Tensor:
    """Two small float64 eigenproblems instead of one on all (3(2l-1)) x (2l+1) unknowns.

    1. The spin-l part of (l-1) (x) 1 is the eigenspace of the Casimir sum_k A_k^2 with eigenvalue
       -l(l+1) (A_k the tensor-product generators): an orthonormal basis V, (3(2l-1), 2l+1).
    2. In that basis the generators are B_k = V^T A_k V; the orthogonal U with B_k U = U J^l_k
       (unique up to sign) is the null vector of the stacked equations; C_l = V U.
    """
    f64 = torch.float64
    one = so3_generators(1)
    eye_small = torch.eye(2 * l - 1, dtype=f64)
    low = so3_generators(l - 1)
    gens = [torch.kron(low[k], torch.eye(3, dtype=f64)) + torch.kron(eye_small, one[k]) for k in range(3)]
    casimir = sum(g @ g for g in gens)
    m = 2 * l + 1
    _, vecs = torch.linalg.eigh(casimir)  # ascending: -l(l+1) (the top spin, m-fold) comes first
    V = vecs[:, :m]
    J = so3_generators(l)
    eye_m = torch.eye(m, dtype=f64)
    gram = torch.zeros(m * m, m * m, dtype=f64)
    for k in range(3):
        eq = torch.kron(V.T @ gens[k] @ V, eye_m) - torch.kron(eye_m, J[k].T.contiguous())  # row-major vec(B U - U J)
        gram += eq.T @ eq
    _, null = torch.linalg.eigh(gram)
    return V @ (null[:, 0].reshape(m, m) * m**0.5)


def prepare_wigner(lmax: int) -> None:
    """Solve the constants up to ``lmax`` now (float64, CPU); :class:`Irreps` calls this when built.

    Plain dicts, not lru_cache: torch.compile reads a warm dict as constants, but would trace
    (and re-run) the eigendecomposition through an lru_cache.
    """
    for l in range(2, lmax + 1):
        if l not in _WEIGHTS:
            c = intertwiner(l).reshape(2 * l - 1, 3, 2 * l + 1)
            _WEIGHTS[l] = torch.einsum("ija,knb->ikjnab", c, c).reshape((2 * l - 1) ** 2 * 9, (2 * l + 1) ** 2)


_INTERTWINERS: Dict[int, Tensor] = {}
_WEIGHTS: Dict[int, Tensor] = {}
_ON_DEVICE: Dict[Tuple[int, torch.dtype, torch.device], Tensor] = {}


def _weights_on(l: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``W_l`` cast once per dtype/device (cached in eager mode only)."""
    key = (l, dtype, device)
    if key in _ON_DEVICE:
        return _ON_DEVICE[key]
    prepare_wigner(l)
    w = _WEIGHTS[l].to(dtype=dtype, device=device)
    if not torch.compiler.is_compiling():
        _ON_DEVICE[key] = w
    return w


def wigner_D_all(R: Tensor, lmax: int) -> List[Tensor]:
    """``[D^0(R), ..., D^lmax(R)]`` for ``R: (..., 3, 3)``, each ``(..., 2l+1, 2l+1)``.

    >>> Ds = wigner_D_all(torch.eye(3, dtype=torch.float64), 3)
    >>> [tuple(D.shape) for D in Ds]
    [(1, 1), (3, 3), (5, 5), (7, 7)]
    >>> float((Ds[3] - torch.eye(7, dtype=torch.float64)).abs().max()) < 1e-14
    True
    """
    batch = R.shape[:-2]
    out = [R.new_ones(*batch, 1, 1)]
    if lmax >= 1:
        out.append(R)
    r = R.reshape(*batch, 1, 9)
    for l in range(2, lmax + 1):
        width = (2 * l - 1) ** 2  # explicit sizes (no -1): empty batches reshape too
        outer = (out[-1].reshape(*batch, width, 1) * r).reshape(*batch, width * 9)  # vec D^{l-1} (x) vec R
        out.append((outer @ _weights_on(l, R.dtype, R.device)).reshape(*batch, 2 * l + 1, 2 * l + 1))
    return out


def wigner_D(l: int, R: Tensor) -> Tensor:
    """Real Wigner-D ``(..., 2l+1, 2l+1)`` of ``R: (..., 3, 3)``; homogeneous of degree l in R.

    >>> R = torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]], dtype=torch.float64)
    >>> torch.allclose(wigner_D(1, R), R)
    True
    """
    return wigner_D_all(R, l)[l]
