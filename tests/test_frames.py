"""Frames: equivariance with reflections in float64, orthogonality, degenerate clouds, the eigen-solver."""
import pytest
import torch

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.frames import (
    Frames,
    LearnedFrames,
    as_matrices,
    identity_frames,
    pca_frames,
    random_frames,
    random_global_frames,
    split_frames,
    three_nn_frames,
)
from tensorframes_core.frames.eigen import chunked_eigh, symmetric_eig3

F64 = torch.float64


def generic_cloud(n=300, d=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=F64) * torch.arange(1, d + 1, dtype=F64)


def transforms(d, count=6, seed=0):
    """Haar matrices, every other one improper."""
    gen = torch.Generator().manual_seed(seed)
    qs = random_orthogonal(count, d, proper=True, dtype=F64, generator=gen)
    qs[1::2, 0] *= -1
    return qs


def learned(seed=0):
    torch.manual_seed(seed)
    return LearnedFrames(k=12).double().eval()


CONSTRUCTIONS = {
    "pca": lambda pos: pca_frames(pos, k=16),
    "3nn": three_nn_frames,
    "learned": learned(),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_frames_are_equivariant_with_reflections(name):
    build = CONSTRUCTIONS[name]
    pos = generic_cloud(seed=11)
    frames = build(pos)
    assert frames.fallback_count == 0
    for q in transforms(3, seed=12):
        moved = build(pos @ q.T)
        torch.testing.assert_close(moved.matrices, frames.matrices @ q.T, atol=1e-9, rtol=0)


@pytest.mark.parametrize("d", [2, 4])
def test_pca_frames_any_dimension(d):
    pos = generic_cloud(200, d, seed=3)
    frames = pca_frames(pos, k=12)
    for q in transforms(d, count=4, seed=4):
        torch.testing.assert_close(pca_frames(pos @ q.T, k=12).matrices, frames.matrices @ q.T, atol=1e-9, rtol=0)


def test_identity_frames_are_not_equivariant():
    """Negative control: the same check fails for frames that do not turn with the input."""
    pos = generic_cloud(seed=5)
    q = transforms(3, seed=6)[1]
    frames = identity_frames(len(pos), dtype=F64)
    assert (identity_frames(len(pos), dtype=F64).matrices - frames.matrices @ q.T).abs().max() > 0.1


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_frames_are_orthogonal(name):
    m = CONSTRUCTIONS[name](generic_cloud(seed=7)).matrices
    torch.testing.assert_close(m @ m.transpose(1, 2), torch.eye(3, dtype=F64).expand_as(m), atol=1e-12, rtol=0)


def test_pca_row0_is_the_normal_of_a_noisy_sphere():
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2000, 3, generator=gen, dtype=F64)
    normals = x / x.norm(dim=-1, keepdim=True)
    pos = normals + 0.001 * torch.randn(2000, 3, generator=gen, dtype=F64)
    row0 = pca_frames(pos, k=16).matrices[:, 0]
    cos = (row0 * normals).sum(-1).abs()
    assert cos.mean() > 0.99


DEGENERATE = {
    "identical": torch.ones(12, 3, dtype=F64),
    "collinear": torch.linspace(0, 1, 12, dtype=F64)[:, None] * torch.tensor([[1.0, 2.0, 3.0]], dtype=F64),
    "coplanar circle": torch.stack([torch.cos(torch.linspace(0, 6.0, 12, dtype=F64)),
                                    torch.sin(torch.linspace(0, 6.0, 12, dtype=F64)),
                                    torch.zeros(12, dtype=F64)], 1),
    "one point": torch.zeros(1, 3, dtype=F64),
    "two points": torch.tensor([[0.0, 0, 0], [1, 1, 0]], dtype=F64),
}


@pytest.mark.parametrize("cloud", sorted(DEGENERATE))
@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_degenerate_clouds_are_deterministic_finite_and_counted(cloud, name):
    pos = DEGENERATE[cloud]
    first, second = CONSTRUCTIONS[name](pos), CONSTRUCTIONS[name](pos)
    assert torch.equal(first.matrices, second.matrices)
    m = first.matrices
    assert bool(torch.isfinite(m).all()) and bool(torch.isfinite(first.quality).all())
    torch.testing.assert_close(m @ m.transpose(1, 2), torch.eye(3, dtype=F64).expand_as(m), atol=1e-6, rtol=0)
    assert first.fallback_count > 0


@pytest.mark.parametrize("cloud", ["identical", "collinear", "two points"])
def test_learned_frames_gradients_are_finite_on_degenerate_clouds(cloud):
    module = LearnedFrames(k=8)
    module(DEGENERATE[cloud].float()).matrices.sum().backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in module.parameters() if p.grad is not None)


def test_pca_frames_scale_free_and_low_precision_input():
    pos = generic_cloud(seed=9)
    base = pca_frames(pos).matrices
    for scale in (1e-6, 1e6):
        torch.testing.assert_close(pca_frames(pos * scale).matrices, base, atol=1e-7, rtol=0)
    half = pca_frames(pos.to(torch.float16))
    assert half.matrices.dtype == torch.float16 and bool(torch.isfinite(half.matrices).all())


def test_closed_form_eigensolver_matches_eigh():
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(2000, 3, 3, generator=gen, dtype=F64)
    a = x @ x.transpose(1, 2)
    w, v = symmetric_eig3(a)
    w_ref, v_ref = chunked_eigh(a)
    torch.testing.assert_close(w, w_ref, atol=1e-10 * float(w_ref.abs().max()), rtol=0)
    torch.testing.assert_close((v * v_ref).sum(-1).abs(), torch.ones(2000, 3, dtype=F64), atol=1e-8, rtol=0)
    # near-degenerate and exactly degenerate matrices: no NaN, still an orthonormal basis
    tied = torch.diag_embed(torch.tensor([[1.0, 1.0, 2.0], [1.0, 1.0 + 1e-14, 1.0], [0.0, 0.0, 0.0]], dtype=F64))
    w, v = symmetric_eig3(tied)
    assert bool(torch.isfinite(w).all()) and bool(torch.isfinite(v).all())
    torch.testing.assert_close(v @ v.transpose(1, 2), torch.eye(3, dtype=F64).expand(3, 3, 3), atol=1e-12, rtol=0)


def test_controls_and_helpers():
    batch = torch.tensor([0, 0, 1, 1, 1])
    glob = random_global_frames(batch, dtype=F64, generator=torch.Generator().manual_seed(0)).matrices
    assert torch.equal(glob[0], glob[1]) and torch.equal(glob[2], glob[4]) and not torch.equal(glob[0], glob[2])
    per_node = random_frames(50, dtype=F64, generator=torch.Generator().manual_seed(1)).matrices
    torch.testing.assert_close(per_node @ per_node.transpose(1, 2), torch.eye(3, dtype=F64).expand(50, 3, 3))
    assert bool((torch.linalg.det(per_node) < 0).any())
    frames = Frames(per_node)
    assert as_matrices(frames) is per_node and as_matrices(per_node) is per_node
    src, dst = split_frames((frames, per_node[:3]))
    assert src.shape == (50, 3, 3) and dst.shape == (3, 3, 3)
    with pytest.raises(ValueError):
        as_matrices(torch.zeros(3, 3))
