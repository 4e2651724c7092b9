"""Real Wigner-D matrices of SO(3) from a rotation matrix, without Euler angles (e3nn's basis).

D^1(R) = R (x, y, z order) and, for l >= 2,

    D^l(R) = C_l^T (D^{l-1}(R) (x) R) C_l,

where ``C_l: (3(2l-1), 2l+1)`` is the isometric embedding of the spin-l irrep into
(l-1) (x) 1. ``C_l`` is the null space of the intertwining equations for the so(3) generators in
e3nn's real basis, solved once in float64, so D^l is exact to float precision for every rotation
(no gimbal lock) and equals ``e3nn.o3.Irrep(l, 1).D_from_matrix(R)``. For improper R the recursion
gives the natural extension with D^l(-I) = (-1)^l I.
"""
from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
def intertwiner(l: int) -> Tensor:
    """Isometry ``C_l: (3(2l-1), 2l+1)`` (float64) with (J^{l-1} (x) 1 + 1 (x) J^1) C_l = C_l J^l, l >= 2."""
    a, b = so3_generators(l - 1), so3_generators(l)
    n, m = 3 * (2 * l - 1), 2 * l + 1
    eye_small, eye_n, eye_m = torch.eye(2 * l - 1, dtype=torch.float64), torch.eye(n, dtype=torch.float64), torch.eye(m, dtype=torch.float64)
    gram = torch.zeros(n * m, n * m, dtype=torch.float64)
    for k in range(3):
        left = torch.kron(a[k], torch.eye(3, dtype=torch.float64)) + torch.kron(eye_small, so3_generators(1)[k])
        eq = torch.kron(left, eye_m) - torch.kron(eye_n, b[k].T.contiguous())  # row-major vec(left C - C J^l)
        gram += eq.T @ eq
    _, vecs = torch.linalg.eigh(gram)
    c = vecs[:, 0].reshape(n, m) * m**0.5
    return c


_ON_DEVICE: Dict[Tuple[int, torch.dtype, torch.device], Tensor] = {}


def _intertwiner_like(l: int, ref: Tensor) -> Tensor:
    key = (l, ref.dtype, ref.device)
    if key not in _ON_DEVICE:
        _ON_DEVICE[key] = intertwiner(l).to(dtype=ref.dtype, device=ref.device)
    return _ON_DEVICE[key]


def wigner_D_all(R: Tensor, lmax: int) -> List[Tensor]:
    """``[D^0(R), ..., D^lmax(R)]`` for ``R: (..., 3, 3)``, each ``(..., 2l+1, 2l+1)``.

    >>> Ds = wigner_D_all(torch.eye(3, dtype=torch.float64), 3)
    >>> [tuple(D.shape) for D in Ds]
    [(1, 1), (3, 3), (5, 5), (7, 7)]
    >>> float((Ds[3] - torch.eye(7, dtype=torch.float64)).abs().max()) < 1e-14
    True
    """
    out = [R.new_ones(*R.shape[:-2], 1, 1)]
    if lmax >= 1:
        out.append(R)
    for l in range(2, lmax + 1):
        c = _intertwiner_like(l, R)
        m = 2 * l + 1
        u = out[-1] @ c.reshape(2 * l - 1, 3 * m)  # (..., 2l-1, 3m): sum_k D_ik C_k,(j', b)
        t = R.unsqueeze(-3) @ u.reshape(*u.shape[:-1], 3, m)  # (..., 2l-1, 3, m): sum_j' R_jj' u_i,j',b
        out.append(c.T @ t.reshape(*t.shape[:-3], 3 * (2 * l - 1), m))
    return out


def wigner_D(l: int, R: Tensor) -> Tensor:
    """Real Wigner-D ``(..., 2l+1, 2l+1)`` of ``R: (..., 3, 3)``; homogeneous of degree l in R.

    >>> R = torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]], dtype=torch.float64)
    >>> torch.allclose(wigner_D(1, R), R)
    True
    """
    return wigner_D_all(R, l)[l]
