"""TensorReps: a representation of O(d) (homomorphism, orthogonal, pseudo parity), fast transform == rho @ x."""
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.reps import Irreps, Reps, TensorReps, as_reps

F64 = torch.float64
TOL = 1e-10


def haar(n, d, seed):
    """n Haar rotations (det +1)."""
    return random_orthogonal(n, d, proper=True, dtype=F64, generator=torch.Generator().manual_seed(seed))


def improper(n, d, seed):
    """n Haar matrices, all with det -1 (so reflections are always exercised)."""
    return haar(n, d, seed) * torch.tensor([-1.0] + [1.0] * (d - 1), dtype=F64)[:, None]




def specs_for(d):
    """Random specs with up to 5 terms, orders up to 3 (2 for d = 4 to keep rho small)."""
    term = st.tuples(st.integers(1, 3), st.integers(0, 3 if d < 4 else 2), st.sampled_from("np"))
    return st.lists(term, min_size=1, max_size=5).map(lambda ts: "+".join(f"{m}x{k}{c}" for m, k, c in ts))


spec_and_d = st.sampled_from([2, 3, 4]).flatmap(lambda d: st.tuples(specs_for(d), st.just(d)))
seeds = st.integers(0, 2**31 - 1)
fast = settings(max_examples=50, deadline=None)


def both_kinds(n, d, seed):
    return torch.cat([haar(n, d, seed), improper(n, d, seed + 1)])


@fast
@given(spec_and_d, seeds)
def test_homomorphism_transpose_orthogonal(spec_d, seed):
    spec, d = spec_d
    reps = TensorReps(spec, d)
    R, S = both_kinds(2, d, seed), both_kinds(2, d, seed + 7).flip(0)  # every pairing of proper and improper
    rho_R, rho_S, rho_RS, rho_Rt = reps.rho(torch.cat([R, S, R @ S, R.mT])).split(4)
    assert rho_R.shape == (4, reps.dim, reps.dim)
    assert (rho_R @ rho_S - rho_RS).abs().max() < TOL
    assert (rho_Rt - rho_R.mT).abs().max() < TOL
    eye = torch.eye(reps.dim, dtype=F64)
    assert (rho_R @ rho_R.mT - eye).abs().max() < TOL
    assert torch.equal(reps.rho(torch.eye(d, dtype=F64)), eye)


@fast
@given(spec_and_d, seeds)
def test_transform_equals_rho(spec_d, seed):
    spec, d = spec_d
    reps = TensorReps(spec, d)
    R = both_kinds(3, d, seed)
    x = torch.randn(6, reps.dim, dtype=F64, generator=torch.Generator().manual_seed(seed))
    x_before = x.clone()
    expected = (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1)
    out = reps.transform(x, R)
    torch.testing.assert_close(out, expected, atol=TOL, rtol=0)
    assert torch.equal(x, x_before)  # input untouched
    assert out.data_ptr() != x.data_ptr()


def test_transform_broadcasts():
    reps = TensorReps("2x0n+1x1p+1x2n+0p", 3)
    R = both_kinds(2, 3, 0)  # (4, 3, 3)
    x = torch.randn(5, 4, reps.dim, dtype=F64)
    full = (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(reps.transform(x, R), full, atol=TOL, rtol=0)  # (5, 4, dim) with (4, 3, 3)
    torch.testing.assert_close(reps.transform(x[0, 0], R), (reps.rho(R) @ x[0, 0]), atol=TOL, rtol=0)  # one x, many R
    torch.testing.assert_close(reps.transform(x[:, 0], R[1]), x[:, 0] @ reps.rho(R[1]).T, atol=TOL, rtol=0)  # one R


@pytest.mark.parametrize("d", [2, 3])
def test_order_two_by_kronecker_product_equals_rho(d):
    """Order-2 runs of many tensors per matrix take the ``R (x) R`` product, short ones the axis-by-axis
    contraction: both equal ``rho(R) x``, reflections and broadcasting included."""
    reps = TensorReps("12x2n+1x0n+3x2p", d)  # a long run (the product) and a short one (contraction)
    seed = int(torch.randint(0, 2**31, ()))
    R = both_kinds(2, d, seed)  # (4, d, d)
    x = torch.randn(5, 4, reps.dim, dtype=F64, generator=torch.Generator().manual_seed(seed))
    full = (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(reps.transform(x, R), full, atol=TOL, rtol=0)
    torch.testing.assert_close(reps.transform(x[0], R), full[0], atol=TOL, rtol=0)


def test_known_actions():
    R = improper(1, 3, 3)[0]
    det = torch.linalg.det(R)
    v, w = torch.randn(3, dtype=F64), torch.randn(3, dtype=F64)
    M = torch.randn(3, 3, dtype=F64)
    reps = TensorReps("1x0n+1x0p+1x1n+1x1p+1x2n")
    out = reps.transform(torch.cat([torch.tensor([2.0, 3.0], dtype=F64), v, torch.linalg.cross(v, w), M.flatten()]), R)
    assert out[0] == 2.0
    torch.testing.assert_close(out[1], 3.0 * det)
    torch.testing.assert_close(out[2:5], R @ v)
    torch.testing.assert_close(out[5:8], torch.linalg.cross(R @ v, R @ w))  # cross product is a 1p
    torch.testing.assert_close(out[8:], (R @ M @ R.T).flatten())


@pytest.mark.parametrize("d", [2, 3, 4])
def test_pseudo_parity(d):
    reflection = torch.diag(torch.tensor([-1.0] + [1.0] * (d - 1), dtype=F64))
    for k in range(3):
        torch.testing.assert_close(TensorReps(f"1x{k}p", d).rho(reflection), -TensorReps(f"1x{k}n", d).rho(reflection))
    R = both_kinds(3, d, d)
    torch.testing.assert_close(TensorReps("0p", d).rho(R)[..., 0, 0], torch.linalg.det(R))
    torch.testing.assert_close(TensorReps("1p", d).rho(R[:3]), TensorReps("1n", d).rho(R[:3]))  # proper: no sign


def test_float32_grad_and_dtype():
    reps = TensorReps("4x0n+2x1n+1x2p")
    R = random_orthogonal(10, 3)
    x = torch.randn(10, reps.dim, requires_grad=True)
    out = reps.transform(x, R)
    assert out.dtype == torch.float32
    out.square().sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach(), atol=1e-5, rtol=1e-5)  # rho orthogonal: grad of |rho x|^2


def test_scalars_only_copy():
    reps = TensorReps("8x0n")
    x = torch.randn(4, 8)
    out = reps.transform(x, random_orthogonal(4))
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


def test_spec_algebra():
    a, b = TensorReps("16x0n + 8x1n"), TensorReps("2x1p+4x2n")
    assert (a + b).dim == 82 and str(a + b) == "16x0n+8x1n+2x1p+4x2n"
    assert TensorReps("1n+0n") == TensorReps("1x1n+1x0n") and str(TensorReps("1n+0n")) == "1x1n+1x0n"
    assert TensorReps("1n+0n") != TensorReps("0n+1n") and TensorReps("1n", 2) != TensorReps("1n", 3)
    assert len({TensorReps("2x1n"), TensorReps("2x1n"), TensorReps("2x1n", 2)}) == 2
    assert eval(repr(TensorReps("3x2p", 4))) == TensorReps("3x2p", 4)
    assert TensorReps(str(a + b)) == a + b
    reps = TensorReps("3x0n+1x0p+2x1n+1x0n", 2)
    assert reps.num_scalars == 4 and reps.has_pseudo and not TensorReps("1n").has_pseudo
    assert reps.slices() == [slice(0, 3), slice(3, 4), slice(4, 8), slice(8, 9)]
    assert [t.mul for t in reps] == [3, 1, 2, 1] and len(reps) == 4
    assert TensorReps("5x7n", 2).dim == 5 * 2**7
    with pytest.raises(ValueError):
        a + TensorReps("1n", 2)
    with pytest.raises(ValueError):
        a + Irreps("1o")


BAD_SPECS = ["", "  ", "2x", "x1n", "1x1q", "1n+", "+1n", "1x1n+1x1o", "0x1n", "2*1n", "-1x1n", "1.5n", None]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_specs_raise(spec):
    with pytest.raises(ValueError):
        TensorReps(spec)
    with pytest.raises(ValueError):
        as_reps(spec)


@pytest.mark.parametrize("d", [1, 0, 2.5, True])
def test_bad_d_raises(d):
    with pytest.raises(ValueError):
        TensorReps("1n", d)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="channels"):
        TensorReps("1n").transform(torch.randn(4), torch.eye(3))
    with pytest.raises(ValueError, match="matrices"):
        TensorReps("1n").transform(torch.randn(3), torch.eye(2))


def test_pickle_and_base_class():
    for reps in [TensorReps("2x0n+1x2p", 4), Irreps("2x0e+1x3o")]:
        assert pickle.loads(pickle.dumps(reps)) == reps
    with pytest.raises(TypeError):
        Reps("1n", 3)


def test_as_reps():
    reps = TensorReps("1n")
    assert as_reps(reps) is reps
    assert as_reps("2x1n+0p", d=4) == TensorReps("2x1n+0p", 4)
    assert as_reps("8x0e+1x1o") == Irreps("8x0e+1x1o")
    for bad in ["2x1n+1x0e", "2x1e", 7]:
        with pytest.raises(ValueError):
            as_reps(bad) if bad != "2x1e" else as_reps(bad, d=2)


def test_negative_control_wrong_rho_fails():
    """The checks above can fail: a transposed rho, or a transform that forgets an axis, is caught."""
    reps = TensorReps("1x1n+1x2p")
    R, S = haar(1, 3, 1)[0], improper(1, 3, 2)[0]
    wrong = lambda Q: reps.rho(Q).T  # noqa: E731
    assert (wrong(R) @ wrong(S) - wrong(R @ S)).abs().max() > 1e-2
    x = torch.randn(reps.dim, dtype=F64)
    forgot_det = TensorReps("1x1n+1x2n").transform(x, S)
    assert (forgot_det - reps.transform(x, S)).abs().max() > 1e-2


def test_transform_of_an_empty_batch():
    """A layer with no edges hands transform zero rows."""
    for reps in (TensorReps("2x0n+1x1n+1x2n+1x3p"), Irreps("1x0e+1x1o+1x2e")):
        out = reps.transform(torch.zeros(0, reps.dim), torch.eye(3).expand(0, 3, 3))
        assert out.shape == (0, reps.dim)


@pytest.mark.parametrize("reps", [TensorReps("2x0n+3x1n+2x2n+1x1p"), Irreps("2x0e+1x1o+2x2e+1x1e")])
def test_transform_shared_equals_broadcast_transform(reps):
    """One matrix per entry for its G rows: the folded products equal G separate actions (reflections too)."""
    gen = torch.Generator().manual_seed(int(torch.randint(0, 2**31, ())))
    R = random_orthogonal(5, dtype=torch.float64, generator=gen)
    x = torch.randn(5, 7, reps.dim, dtype=torch.float64, generator=gen)
    expected = reps.transform(x, R[:, None])
    assert torch.allclose(reps.transform_shared(x, R), expected, atol=1e-13, rtol=0)
    with pytest.raises(ValueError, match="need x"):
        reps.transform_shared(x[0], R)
