"""Irreps: exact real Wigner-D (no Euler angles), a representation of O(3), e3nn's basis and parity convention."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.reps import Irreps, TensorReps, as_reps
from tensorframes_core.reps.wigner import so3_generators, wigner_D
from float_tolerance import tol

F64 = torch.float64
TOL = 1e-10  # homomorphism checks over products of up to dim-13 blocks: far above tol(F64, 13**2)
LMAX = 6


def rotations(n, seed):
    return random_orthogonal(n, 3, proper=True, dtype=F64, generator=torch.Generator().manual_seed(seed))


def o3(n, seed):
    """2n matrices: n rotations, then n improper ones."""
    q = rotations(2 * n, seed)
    return torch.cat([q[:n], -q[n:]])


def axis_angle(axis, theta):
    """Rodrigues: rotation by theta about a unit axis, float64."""
    axis = torch.as_tensor(axis, dtype=F64)
    axis = axis / axis.norm()
    K = torch.zeros(3, 3, dtype=F64)
    K[0, 1], K[0, 2], K[1, 2] = -axis[2], axis[1], -axis[0]
    K = K - K.T
    return torch.eye(3, dtype=F64) + math.sin(theta) * K + (1 - math.cos(theta)) * K @ K


term = st.tuples(st.integers(1, 3), st.integers(0, LMAX), st.sampled_from("eo"))
specs = st.lists(term, min_size=1, max_size=5).map(lambda ts: "+".join(f"{m}x{k}{c}" for m, k, c in ts))
seeds = st.integers(0, 2**31 - 1)
fast = settings(max_examples=50, deadline=None)


@fast
@given(specs, seeds)
def test_homomorphism_transpose_orthogonal(spec, seed):
    reps = Irreps(spec)
    R, S = o3(2, seed), o3(2, seed + 1).flip(0)  # every pairing of proper and improper
    rho_R, rho_S, rho_RS, rho_Rt = reps.rho(torch.cat([R, S, R @ S, R.mT])).split(4)
    assert (rho_R @ rho_S - rho_RS).abs().max() < TOL
    assert (rho_Rt - rho_R.mT).abs().max() < TOL
    assert (rho_R @ rho_R.mT - torch.eye(reps.dim, dtype=F64)).abs().max() < TOL


@fast
@given(specs, seeds)
def test_transform_equals_rho(spec, seed):
    reps = Irreps(spec)
    R = o3(3, seed)
    x = torch.randn(6, reps.dim, dtype=F64, generator=torch.Generator().manual_seed(seed))
    x_before = x.clone()
    torch.testing.assert_close(reps.transform(x, R), (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1), atol=TOL, rtol=0)
    assert torch.equal(x, x_before)


def test_transform_broadcasts():
    reps = Irreps("2x0e+1x1e+1x2o+1x3e")
    R = o3(2, 0)
    x = torch.randn(5, 4, reps.dim, dtype=F64)
    full = (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(reps.transform(x, R), full, atol=TOL, rtol=0)
    torch.testing.assert_close(reps.transform(x[0, 0], R), reps.rho(R) @ x[0, 0], atol=TOL, rtol=0)
    torch.testing.assert_close(reps.transform(x[:, 0], R[3]), x[:, 0] @ reps.rho(R[3]).T, atol=TOL, rtol=0)


def test_vector_is_R_and_parities():
    R = o3(8, 3)
    det = torch.linalg.det(R)[:, None, None]
    torch.testing.assert_close(Irreps("1x1o").rho(R), R, atol=tol(F64), rtol=0)  # (x, y, z) order, all of O(3)
    torch.testing.assert_close(Irreps("1x1e").rho(R), det * R, atol=tol(F64, 3), rtol=0)  # axial vector
    torch.testing.assert_close(Irreps("0o").rho(R), det, atol=tol(F64, 3), rtol=0)
    torch.testing.assert_close(Irreps("0e").rho(R), torch.ones_like(det), atol=0, rtol=0)
    v, w = torch.randn(3, dtype=F64), torch.randn(3, dtype=F64)
    cross = Irreps("1e").transform(torch.linalg.cross(v, w), R[-1])
    torch.testing.assert_close(cross, torch.linalg.cross(R[-1] @ v, R[-1] @ w))
    # a symmetric traceless matrix is a 2e: its 5 numbers transform like TensorReps("2n") restricted
    inv = -torch.eye(3, dtype=F64)
    for l in range(LMAX + 1):
        for letter, p in (("e", 1), ("o", -1)):
            torch.testing.assert_close(Irreps(f"{l}{letter}").rho(inv), p * torch.eye(2 * l + 1, dtype=F64))


@pytest.mark.parametrize("l", range(LMAX + 1))
def test_characters(l):
    """trace D^l(rotation by theta) = sin((2l+1) theta / 2) / sin(theta / 2); times p for -rotation."""
    gen = torch.Generator().manual_seed(l)
    for theta in [0.3, 1.0, 2.0, 3.0, math.pi - 1e-3]:
        Q = axis_angle(torch.randn(3, dtype=F64, generator=gen), theta)
        chi = math.sin((2 * l + 1) * theta / 2) / math.sin(theta / 2)
        for letter, p in (("e", 1), ("o", -1)):
            reps = Irreps(f"1x{l}{letter}")
            assert abs(torch.trace(reps.rho(Q)).item() - chi) < tol(F64, (2 * l + 1) ** 3)
            assert abs(torch.trace(reps.rho(-Q)).item() - p * chi) < tol(F64, (2 * l + 1) ** 3)  # -Q: improper


def test_identity_and_gimbal_lock():
    """Axes and angles where Euler angles degenerate: D equals exp(theta J_axis) to float precision."""
    eye = torch.eye(3, dtype=F64)
    for l in range(LMAX + 1):
        torch.testing.assert_close(wigner_D(l, eye), torch.eye(2 * l + 1, dtype=F64), atol=tol(F64, (2 * l + 1) ** 2), rtol=0)
    for l in [2, 3, 6]:
        J = so3_generators(l)
        for k, axis in enumerate(torch.eye(3, dtype=F64)):
            for theta in [0.0, 1e-9, 1e-4, math.pi / 2, math.pi, -math.pi / 2, 2.5]:
                Q = axis_angle(axis, theta)
                ref = torch.linalg.matrix_exp(theta * J[k])
                torch.testing.assert_close(wigner_D(l, Q), ref, atol=tol(F64, (2 * l + 1) ** 3), rtol=0)


def test_matches_e3nn():
    e3nn_o3 = pytest.importorskip("e3nn.o3")
    R = torch.cat([o3(4, 11), axis_angle([0, 1, 0], 0.7)[None], -axis_angle([1, 0, 0], 2.0)[None]])
    for l in range(LMAX + 1):
        for p in (1, -1):
            ours = Irreps(f"1x{l}{'e' if p == 1 else 'o'}").rho(R)
            theirs = e3nn_o3.Irrep(l, p).D_from_matrix(R)
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    spec = "3x0e+2x1o+1x1e+2x2e+1x3o+1x0o"
    torch.testing.assert_close(Irreps(spec).rho(R), e3nn_o3.Irreps(spec).D_from_matrix(R), atol=1e-5, rtol=0)
    assert Irreps(spec).dim == e3nn_o3.Irreps(spec).dim


def test_high_l_and_float32():
    R, S = rotations(2, 5), -rotations(2, 6)
    for l in [7, 9]:
        torch.testing.assert_close(wigner_D(l, R) @ wigner_D(l, S), wigner_D(l, R @ S), atol=tol(F64, (2 * l + 1) ** 3), rtol=0)
    reps = Irreps("4x0e+2x1o+1x2e+1x4o")
    x = torch.randn(2, reps.dim)
    out = reps.transform(x, R.float())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reps.transform(x.double(), R).float(), atol=1e-5, rtol=1e-5)


def test_spec_algebra_and_errors():
    a, b = Irreps("8x0e + 4x1o"), Irreps("2x2e")
    assert (a + b).dim == 30 and str(a + b) == "8x0e+4x1o+2x2e" and a + b == Irreps("8x0e+4x1o+2x2e")
    assert a.d == 3 and eval(repr(a)) == a and hash(a) == hash(Irreps(str(a)))
    assert Irreps("1o").num_scalars == 0 and Irreps("3x0e+0o").num_scalars == 3
    assert as_reps(a) is a and Irreps("1o") != TensorReps("1n")
    with pytest.raises(ValueError):
        a + TensorReps("1n")
    for bad in ["", "1x1n", "1x1", "2x-1e", "1e+", "1oe", "1x1o+1x1p"]:
        with pytest.raises(ValueError):
            Irreps(bad)
    with pytest.raises(ValueError, match="matrices"):
        Irreps("1o").rho(torch.eye(2))
    with pytest.raises(ValueError):
        as_reps("1o", d=2)


def test_negative_controls_fail():
    """The homomorphism test catches a transposed D and a wrong parity; orthogonality alone would not."""
    R, S = rotations(1, 8)[0], -rotations(1, 9)[0]
    wrong = lambda Q: wigner_D(2, Q).T  # noqa: E731  orthogonal, right at the identity, but not a homomorphism
    assert (wrong(R) @ wrong(R).T - torch.eye(5, dtype=F64)).abs().max() < 1e-12
    assert (wrong(R) @ wrong(S) - wrong(R @ S)).abs().max() > 1e-2
    x = torch.randn(5, dtype=F64)
    assert (Irreps("2e").transform(x, S) - Irreps("2o").transform(x, S)).abs().max() > 1e-2
