"""The equivariance utilities themselves: Haar sampling and checks that can fail."""
import math

import pytest
import torch

from tensorframes_core.equivariance import assert_equivariant, equivariance_error, random_orthogonal
from float_tolerance import tol


@pytest.mark.parametrize("d", [2, 3, 4])
def test_random_orthogonal_is_orthogonal_with_both_determinants(d):
    gen = torch.Generator().manual_seed(1234)
    q = random_orthogonal(4000, d=d, dtype=torch.float64, generator=gen)
    eye = torch.eye(d, dtype=torch.float64)
    assert torch.allclose(q @ q.transpose(-1, -2), eye.expand_as(q), atol=1e-12)
    improper = (torch.linalg.det(q) < 0).double().mean().item()
    assert 0.45 < improper < 0.55


def test_random_orthogonal_proper_and_haar_trace():
    gen = torch.Generator().manual_seed(7)
    q = random_orthogonal(20000, d=3, proper=True, dtype=torch.float64, generator=gen)
    assert bool((torch.linalg.det(q) > 0).all())
    # Haar on SO(3): E[tr Q] = 0 and E[tr(Q)^2] = 1; QR of a Gaussian without the sign fix fails this.
    trace = torch.diagonal(q, dim1=-2, dim2=-1).sum(-1)
    assert abs(trace.mean().item()) < 0.05
    assert abs((trace**2).mean().item() - 1.0) < 0.05


def test_random_orthogonal_seeded_and_single():
    a = random_orthogonal(generator=torch.Generator().manual_seed(3))
    b = random_orthogonal(generator=torch.Generator().manual_seed(3))
    assert a.shape == (3, 3) and torch.equal(a, b)


def test_equivariance_error_exact_for_equivariant_function():
    pos = torch.randn(50, 3, dtype=torch.float64)
    centred = lambda p: p - p.mean(0, keepdim=True)  # noqa: E731
    assert equivariance_error(centred, pos) < tol(torch.float64, 50 + 9)  # a 50-point mean, 3x3 products


def test_equivariance_error_detects_rotation_only_equivariance():
    """A cross product is SO(3)- but not O(3)-equivariant as a vector: reflections must catch it."""
    pos = torch.randn(30, 3, dtype=torch.float64)

    def cross_with_mean(p):
        c = p - p.mean(0, keepdim=True)
        return torch.linalg.cross(c, c.roll(1, 0))

    assert equivariance_error(cross_with_mean, pos, reflections=False) < 1e-12
    assert equivariance_error(cross_with_mean, pos, reflections=True) > 0.5
    # ... and it IS equivariant as a pseudo-vector.
    assert equivariance_error(cross_with_mean, pos, out_reps="1x1p") < 1e-12


def test_equivariance_error_with_features_and_invariant_output():
    pos = torch.randn(20, 3, dtype=torch.float64)
    vec = torch.randn(20, 3, dtype=torch.float64)
    dot = lambda p, v: (p * v).sum(-1, keepdim=True)  # noqa: E731
    assert equivariance_error(dot, pos, vec, in_reps="1x1n", out_reps="1x0n") < tol(torch.float64, 9)
    assert equivariance_error(lambda p, v: v[:, :1], pos, vec, in_reps="1x1n", out_reps="1x0n") > 0.1


def test_assert_equivariant_raises_for_broken_function():
    pos = torch.randn(20, 3, dtype=torch.float64)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(lambda p: p.abs(), pos)
    assert assert_equivariant(lambda p: 2 * p, pos) < 1e-12


def test_equivariance_error_needs_reps_for_features():
    with pytest.raises(ValueError):
        equivariance_error(lambda p, x: x, torch.randn(5, 3), torch.randn(5, 3))


def test_rank2_output():
    pos = torch.randn(40, 3, dtype=torch.float64)

    def second_moment(p):
        c = p - p.mean(0)
        return (c[:, :, None] * c[:, None, :]).reshape(-1, 9)

    assert equivariance_error(second_moment, pos, out_reps="1x2n") < 1e-12
    assert math.isfinite(equivariance_error(second_moment, pos, out_reps="1x2n"))
