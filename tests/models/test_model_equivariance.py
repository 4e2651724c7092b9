"""Whole models, float64, random O(3) with reflections: tensor/scalar frames equivariant, baseline/augment not."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from conftest import NETWORKS, TINY, surface_cloud, two_clouds
from tensorframes_core.equivariance import assert_equivariant, equivariance_error, random_orthogonal
from tensorframes_core.models import build_model



def _fn(model):
    return lambda pos: model(Data(pos=pos))


def _model(arch, mode, frames="pca"):
    torch.manual_seed(0)
    return build_model(arch, mode, frames, **TINY[arch]).double().eval()


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames"])
@pytest.mark.parametrize("frames", ["pca", "learned"])
def test_frames_modes_are_equivariant(arch, mode, frames):
    gen = torch.Generator().manual_seed(1)
    assert_equivariant(_fn(_model(arch, mode, frames)), surface_cloud(64, seed=3), trials=4, generator=gen, atol=1e-8)


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["baseline", "augment"])
def test_baseline_and_augment_at_eval_are_not(arch, mode):
    gen = torch.Generator().manual_seed(1)
    assert equivariance_error(_fn(_model(arch, mode)), surface_cloud(64, seed=3), trials=4, generator=gen) > 1e-2


@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames"])
def test_three_nn_frames_are_equivariant(mode):
    gen = torch.Generator().manual_seed(2)
    assert_equivariant(_fn(_model("dgcnn", mode, "3nn")), surface_cloud(64, seed=5), trials=4, generator=gen, atol=1e-8)


def test_pca_arch_is_equivariant():
    model = build_model("pca", "baseline", k=12)
    assert_equivariant(_fn(model), surface_cloud(64, seed=4), generator=torch.Generator().manual_seed(0), atol=1e-8)


def test_random_frames_control_is_not_equivariant():
    gen = torch.Generator().manual_seed(1)
    assert equivariance_error(_fn(_model("dgcnn", "tensor_frames", "random")), surface_cloud(64), trials=2,
                              generator=gen) > 1e-2


@pytest.mark.parametrize("arch", ["pointnet2", "dgcnn"])
def test_each_cloud_of_a_batch_by_its_own_transform(arch):
    model = _model(arch, "tensor_frames")
    data = two_clouds(64)
    Q = random_orthogonal(2, proper=True, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    Q = Q * torch.tensor([1.0, -1.0], dtype=torch.float64)[:, None, None]  # a rotation and a reflection
    moved = (Q[data.batch] @ data.pos.unsqueeze(-1)).squeeze(-1)
    out = model(Batch(pos=moved, batch=data.batch))
    expected = (Q[data.batch] @ model(data).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(out, expected, atol=1e-8, rtol=0)


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["baseline", "tensor_frames"])
def test_translation_and_unit_invariance(arch, mode):
    model = _model(arch, mode)
    pos = surface_cloud(64, seed=2)
    reference = model(Data(pos=pos))
    for moved in (pos + torch.tensor([1e3, -2e3, 5e2], dtype=torch.float64), pos * 1e3, pos * 1e-3):
        torch.testing.assert_close(model(Data(pos=moved)), reference, atol=1e-8, rtol=0)


def box_cloud(n, dtype=torch.float64, seed=0):
    """Area-uniform samples of a 2 x 1 x 0.5 box: flat, mirror-symmetric neighbourhoods everywhere."""
    g = torch.Generator().manual_seed(seed)
    sides = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
    areas = torch.stack([sides[1] * sides[2], sides[0] * sides[2], sides[0] * sides[1]])
    axis = torch.multinomial(areas.repeat(2), n, replacement=True, generator=g) % 3
    pos = (torch.rand(n, 3, generator=g, dtype=torch.float64) - 0.5) * sides
    sign = torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
    pos[torch.arange(n), axis] = sign * sides[axis] / 2
    return pos.to(dtype)


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames"])
@pytest.mark.parametrize("frames", ["pca", "learned"])
def test_frames_modes_are_equivariant_on_a_box(arch, mode, frames):
    """Flat faces: no local rule can orient the normal; the frames' non-local rules must (fresh seeds)."""
    model = _model(arch, mode, frames)
    pos = box_cloud(256, seed=int(torch.randint(0, 1000, ())))
    _, aux = model(Data(pos=pos), return_aux=True)
    assert int(aux["fallback_mask"].sum()) == 0
    assert_equivariant(_fn(model), pos, trials=4, atol=1e-9)  # the float64 target


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames"])
@pytest.mark.parametrize("frames", ["pca", "learned"])
def test_float32_full_size_models_meet_the_target_on_a_box(arch, mode, frames):
    """The issue's float32 target at a fixed seed: default sizes, 1,024 points, relative error <= 1e-4."""
    torch.manual_seed(0)
    model = build_model(arch, mode, frames).eval()
    with torch.no_grad():
        error = equivariance_error(_fn(model), box_cloud(1024, torch.float32, seed=1), trials=2,
                                   generator=torch.Generator().manual_seed(3))
    assert error <= 1e-4
