"""Frames: equivariance with reflections in float64, orthogonality, degenerate clouds, the eigen-solver."""
import math

import pytest
import torch

import tensorframes_core.frames.eigen as eigen
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
from tensorframes_core.frames.eigen import chunked_eigh, smallest_eigenvector3, symmetric_eig3
from float_tolerance import tol

F64 = torch.float64


def blob(n=300, d=3, seed=0):
    """Anisotropic Gaussian blob: generic (no ties, no symmetric neighbourhoods)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=F64) * torch.arange(1, d + 1, dtype=F64)


def noisy_surface(n=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 2, generator=gen, dtype=F64) * 4
    height = torch.sin(u[:, 0]) * torch.cos(u[:, 1]) + 0.01 * torch.randn(n, generator=gen, dtype=F64)
    return torch.stack([u[:, 0], u[:, 1], height], 1)


def transforms(d, count=6, seed=0):
    """Haar matrices, every other one improper (a reflection)."""
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
CLOUDS = {"blob": blob, "surface": noisy_surface}


def assert_orthogonal(m, atol=1e-12):
    eye = torch.eye(m.shape[-1], dtype=m.dtype).expand_as(m)
    torch.testing.assert_close(m @ m.transpose(1, 2), eye, atol=atol, rtol=0)


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_frames_are_equivariant_with_reflections(name, cloud):
    build, pos = CONSTRUCTIONS[name], CLOUDS[cloud](seed=11)
    frames = build(pos)
    assert frames.fallback_count == 0
    with torch.no_grad():
        for q in transforms(3, seed=12):
            moved = build(pos @ q.T)
            torch.testing.assert_close(moved.matrices, frames.matrices @ q.T, atol=1e-9, rtol=0)
            torch.testing.assert_close(moved.quality, frames.quality, atol=1e-9, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_frames_ignore_translation_and_scale(name):
    build, pos = CONSTRUCTIONS[name], blob(seed=13)
    base = build(pos).matrices
    with torch.no_grad():
        for shift, scale in [(100.0, 1.0), (0.0, 1e-6), (0.0, 1e6)]:
            torch.testing.assert_close(build(pos * scale + shift).matrices, base, atol=1e-7, rtol=0)


def test_identity_frames_are_not_equivariant():
    """Negative control: the check above fails for frames that do not turn with the input."""
    q = transforms(3, seed=6)[1]
    frames = identity_frames(300, dtype=F64)
    moved = identity_frames(300, dtype=F64)  # what the baseline gives for pos @ q.T
    assert (moved.matrices - frames.matrices @ q.T).abs().max() > 0.1


@pytest.mark.parametrize("d", [2, 4])
def test_pca_frames_any_dimension(d):
    pos = blob(200, d, seed=3)
    frames = pca_frames(pos, k=12)
    assert frames.fallback_count == 0
    assert_orthogonal(frames.matrices)
    for q in transforms(d, count=4, seed=4):
        torch.testing.assert_close(pca_frames(pos @ q.T, k=12).matrices, frames.matrices @ q.T, atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_frames_are_orthogonal(name):
    assert_orthogonal(CONSTRUCTIONS[name](noisy_surface(seed=7)).matrices)


def test_pca_row0_is_the_normal_of_noisy_sphere_and_plane():
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2000, 3, generator=gen, dtype=F64)
    normals = x / x.norm(dim=-1, keepdim=True)
    sphere = normals + 0.001 * torch.randn(2000, 3, generator=gen, dtype=F64)
    assert (pca_frames(sphere, k=16).matrices[:, 0] * normals).sum(-1).abs().mean() > 0.99
    plane = torch.rand(500, 3, generator=gen, dtype=F64) * torch.tensor([1.0, 1.0, 0.001], dtype=F64)
    assert pca_frames(plane, k=16).matrices[:, 0, 2].abs().min() > 0.99


def test_batched_frames_equal_per_cloud_frames():
    a, b = blob(60, seed=14), noisy_surface(80, seed=15)
    batch = torch.cat([torch.zeros(60, dtype=torch.long), torch.ones(80, dtype=torch.long)])
    for build in (lambda p, bt=None: pca_frames(p, 8, bt), three_nn_frames):
        together = build(torch.cat([a, b + 0.01]), batch).matrices  # clouds overlap in space
        torch.testing.assert_close(together, torch.cat([build(a).matrices, build(b + 0.01).matrices]))


DEGENERATE = {
    "identical": torch.ones(12, 3, dtype=F64),
    "collinear": torch.linspace(0, 1, 12, dtype=F64)[:, None] * torch.tensor([[1.0, 2.0, 3.0]], dtype=F64),
    "coplanar circle": torch.stack([torch.cos(torch.linspace(0, 6.0, 12, dtype=F64)),
                                    torch.sin(torch.linspace(0, 6.0, 12, dtype=F64)),
                                    torch.zeros(12, dtype=F64)], 1),
    "square grid": torch.stack(torch.meshgrid(torch.arange(4.0, dtype=F64), torch.arange(4.0, dtype=F64),
                                              indexing="ij"), -1).reshape(16, 2) @ torch.eye(2, 3, dtype=F64),
    "one point": torch.zeros(1, 3, dtype=F64),
    "two points": torch.tensor([[0.0, 0, 0], [1, 1, 0]], dtype=F64),
    "k >= N": blob(5, seed=16),
}
GENERIC_SMALL = {"k >= N"}  # few points but generic: the frames are well defined for pca


@pytest.mark.parametrize("cloud", sorted(DEGENERATE))
@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_degenerate_clouds_are_deterministic_finite_and_counted(cloud, name):
    pos = DEGENERATE[cloud]
    first, second = CONSTRUCTIONS[name](pos), CONSTRUCTIONS[name](pos)
    assert torch.equal(first.matrices, second.matrices) and torch.equal(first.fallback_mask, second.fallback_mask)
    assert bool(torch.isfinite(first.matrices).all()) and bool(torch.isfinite(first.quality).all())
    assert_orthogonal(first.matrices, atol=1e-9)
    if cloud not in GENERIC_SMALL:
        assert first.fallback_count > 0
        assert bool((first.quality[first.fallback_mask] == 0).all())
    elif name == "pca":
        assert first.fallback_count == 0


@pytest.mark.parametrize("cloud", ["identical", "collinear", "two points", "one point", "square grid"])
def test_learned_frames_gradients_are_finite_on_degenerate_clouds(cloud):
    module = LearnedFrames(k=8)
    pos = DEGENERATE[cloud].float().requires_grad_()
    module(pos).matrices.sum().backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None] + [pos.grad]
    assert all(bool(torch.isfinite(g).all()) for g in grads)


def test_learned_frames_train_and_take_invariant_scalars():
    module = LearnedFrames(k=8, in_scalars=2).double()
    pos, x = blob(50, seed=17), torch.randn(50, 2, dtype=F64)
    module(pos, x=x).matrices[:, 0].sum().backward()
    assert any(bool(p.grad.abs().sum() > 0) for p in module.parameters())
    q = transforms(3, seed=18)[1]
    with torch.no_grad():
        torch.testing.assert_close(module(pos @ q.T, x=x).matrices, module(pos, x=x).matrices @ q.T,
                                   atol=1e-9, rtol=0)
    with pytest.raises(ValueError):
        module(pos)  # the declared scalars are missing
    with pytest.raises(ValueError):
        LearnedFrames()(torch.randn(10, 2))


def test_distance_ties_count_as_fallbacks():
    """A tie broken by index is a non-equivariant choice: flagged even though the geometry is fine."""
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 2, 0.5], [0.3, 0.2, 3]], dtype=F64)
    assert bool(three_nn_frames(pos).fallback_mask[0])  # nearest two at equal distance
    assert bool(pca_frames(pos, k=1).fallback_mask[0])  # k-th and (k+1)-th at equal distance
    assert not bool(pca_frames(pos, k=4).fallback_mask[0])  # all four: nothing left to choose


def test_float32_and_half_inputs():
    pos = blob(seed=9)
    f32 = pca_frames(pos.float())
    assert f32.matrices.dtype == torch.float32
    agree = ~f32.fallback_mask
    torch.testing.assert_close(f32.matrices[agree].double(), pca_frames(pos).matrices[agree], atol=1e-3, rtol=0)
    half = pca_frames(pos.to(torch.float16))
    assert half.matrices.dtype == torch.float16 and bool(torch.isfinite(half.matrices).all())


def spd_with_spectrum(values, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = random_orthogonal(values.shape[0], 3, dtype=F64, generator=gen)
    return q @ torch.diag_embed(values) @ q.transpose(1, 2)


def test_closed_form_eigensolver_matches_eigh():
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(2000, 3, 3, generator=gen, dtype=F64)
    a = x @ x.transpose(1, 2)
    w, v = symmetric_eig3(a)
    w_ref, v_ref = chunked_eigh(a)
    torch.testing.assert_close(w, w_ref, atol=tol(F64, 9, float(w_ref.abs().max())), rtol=0)
    torch.testing.assert_close((v * v_ref).sum(-1).abs(), torch.ones(2000, 3, dtype=F64), atol=1e-10, rtol=0)
    assert_orthogonal(v)
    w32, v32 = symmetric_eig3(a.float())
    torch.testing.assert_close(w32.double(), w_ref, atol=1e-5 * float(w_ref.abs().max()), rtol=0)


@pytest.mark.parametrize("gap", [1e-3, 1e-8, 1e-12, 0.0])
def test_eigensolver_near_degenerate_keeps_full_accuracy(gap):
    """Near-equal eigenvalues: residuals stay at rounding level (the trigonometric formula alone
    loses sqrt(eps) there); exactly equal ones give an orthonormal basis of their space."""
    spectra = torch.tensor([[1.0, 1.0 + gap, 3.0], [0.0, 2.0, 2.0 + gap], [1.0, 1.0 + gap, 1.0 + 2 * gap]], dtype=F64)
    a = spd_with_spectrum(spectra.repeat(100, 1), seed=int(-math.log10(gap)) if gap else 99)
    w, v = symmetric_eig3(a)
    assert bool(torch.isfinite(w).all()) and bool(torch.isfinite(v).all())
    assert_orthogonal(v)
    residual = (v @ a - w[..., None] * v).norm(dim=-1)
    assert float(residual.max()) < tol(F64, 9, 3.0)
    torch.testing.assert_close(w, spectra.repeat(100, 1), atol=tol(F64, 3, 3.0), rtol=0)


@pytest.mark.parametrize("gap", [1.0, 1e-3, 1e-8, 0.0])
def test_smallest_eigenvector_is_row_zero_of_the_full_solver(gap):
    """The normal-only solver (whole-scan PCA) gives an eigenvector of the smallest eigenvalue at
    rounding level, for isolated and for tied smallest eigenvalues, where ``max_apart`` takes either
    branch; equal to row 0 of the full solver up to sign where the smallest eigenvalue is isolated."""
    spectra = torch.tensor([[1.0, 1.0 + gap, 3.0], [0.0, 2.0, 2.0 + gap], [0.5, 1.0, 1.0 + gap]], dtype=F64)
    seed = int(torch.randint(0, 2**31, ()))  # fresh every run
    a = spd_with_spectrum(spectra.repeat(200, 1), seed=seed) * 10.0 ** torch.randint(-6, 7, (600, 1, 1))
    n = smallest_eigenvector3(a)
    w, v = symmetric_eig3(a)
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(600, dtype=F64), atol=tol(F64, 3, 1.0), rtol=0)
    scale = a.abs().amax((1, 2))
    residual = (a @ n[..., None])[..., 0] - w[:, :1] * n
    assert float((residual.norm(dim=-1) / scale).max()) < tol(F64, 9, 3.0), seed
    isolated = (w[:, 1] - w[:, 0]) > 1e-6 * scale
    torch.testing.assert_close((n * v[:, 0]).sum(-1).abs()[isolated], torch.ones(int(isolated.sum()), dtype=F64),
                               atol=1e-8, rtol=0)
    assert bool(torch.isfinite(smallest_eigenvector3(a.float())).all())


def test_eigensolver_special_matrices_and_chunked_reference(monkeypatch):
    special = torch.stack([torch.zeros(3, 3), torch.eye(3) * 5, torch.diag(torch.tensor([2.0, 1.0, 1.0])),
                           torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 0]])]).double()
    w, v = symmetric_eig3(special)
    assert bool(torch.isfinite(v).all())
    assert_orthogonal(v)
    torch.testing.assert_close(w, chunked_eigh(special)[0], atol=tol(F64, 3, 5.0), rtol=0)
    torch.testing.assert_close(symmetric_eig3(special * 1e-200)[0], w * 1e-200, atol=1e-213, rtol=0)
    monkeypatch.setattr(eigen, "EIGH_CHUNK", 3)  # the cuSOLVER workaround: several chunks, same result
    x = torch.randn(10, 4, 4, dtype=F64)
    a = x @ x.transpose(1, 2)
    torch.testing.assert_close(chunked_eigh(a)[0], torch.linalg.eigh(a)[0])
    assert chunked_eigh(a[:0])[1].shape == (0, 4, 4)


def test_controls_and_helpers():
    batch = torch.tensor([0, 0, 1, 1, 1])
    glob = random_global_frames(batch, dtype=F64, generator=torch.Generator().manual_seed(0)).matrices
    assert torch.equal(glob[0], glob[1]) and torch.equal(glob[2], glob[4]) and not torch.equal(glob[0], glob[2])
    assert random_global_frames(n=4).matrices.shape == (4, 3, 3)
    per_node = random_frames(50, dtype=F64, generator=torch.Generator().manual_seed(1)).matrices
    assert_orthogonal(per_node)
    assert bool((torch.linalg.det(per_node) < 0).any()) and bool((torch.linalg.det(per_node) > 0).any())
    frames = Frames(per_node)
    assert len(frames) == 50 and frames.fallback_count == 0 and len(frames[:3]) == 3
    assert frames.to(dtype=torch.float32).matrices.dtype == torch.float32
    assert as_matrices(frames) is per_node and as_matrices(per_node) is per_node
    src, dst = split_frames((frames, per_node[:3]))
    assert src.shape == (50, 3, 3) and dst.shape == (3, 3, 3)
    assert split_frames(frames)[0] is split_frames(frames)[1]
    with pytest.raises(ValueError):
        as_matrices(torch.zeros(3, 3))
    with pytest.raises(ValueError):
        split_frames((frames, frames, frames))


@pytest.mark.parametrize("name", sorted(CONSTRUCTIONS))
def test_empty_cloud(name):
    frames = CONSTRUCTIONS[name](torch.zeros(0, 3, dtype=F64))
    assert frames.matrices.shape == (0, 3, 3) and frames.fallback_count == 0
