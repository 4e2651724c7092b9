"""Every arch x mode x frames builds, runs, returns finite unit normals, back-propagates; configs rebuild."""
import json

import pytest
import torch
from torch_geometric.data import Data

from conftest import ARCH_MODES_FRAMES, TINY, surface_cloud, two_clouds
from tensorframes_core.models import ARCHS, FRAMES, MODES, build_model


@pytest.mark.parametrize("arch,mode,frames", ARCH_MODES_FRAMES)
def test_forward_backward(arch, mode, frames):
    torch.manual_seed(0)
    model = build_model(arch, mode, frames, **TINY[arch]).train()
    data = two_clouds(48, torch.float32)
    pos_before = data.pos.clone()
    normals = model(data)
    assert normals.shape == (96, 3) and normals.dtype == torch.float32
    assert torch.isfinite(normals).all()
    torch.testing.assert_close(normals.norm(dim=-1), torch.ones(96), atol=1e-5, rtol=0)
    assert torch.equal(data.pos, pos_before)  # the input is never modified
    (1 - (normals * torch.randn(96, 3)).sum(-1).abs()).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_pca_arch_matches_pca_frames():
    from tensorframes_core.frames import pca_frames
    from tensorframes_core.models.base import normalise_clouds
    pos = surface_cloud(80)
    model = build_model("pca", "tensor_frames", "learned", k=10)
    assert model.config["mode"] == "baseline" and sum(p.numel() for p in model.parameters()) == 0
    normals, aux = model(Data(pos=pos), return_aux=True)
    batch = torch.zeros(80, dtype=torch.long)
    expected = pca_frames(normalise_clouds(pos, batch, 1), k=10, batch=batch).matrices[:, 0]
    torch.testing.assert_close(normals, expected)
    assert aux["edge_index"].shape == (2, 0) and aux["fallback_mask"].shape == (80,)


@pytest.mark.parametrize("arch", ARCHS)
def test_config_rebuilds_same_architecture(arch):
    model = build_model(arch, "tensor_frames", "learned", **TINY[arch])
    config = json.loads(json.dumps(model.config))
    assert {"arch", "mode", "frames", "task"} <= set(config)
    rebuilt = build_model(**config)
    assert rebuilt.config == model.config
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize("kwargs,match", [
    ({"arch": "resnet", "mode": "baseline"}, "pointnet2, dgcnn"),
    ({"arch": "dgcnn", "mode": "magic"}, "tensor_frames"),
    ({"arch": "dgcnn", "mode": "baseline", "frames": "svd"}, "learned"),
    ({"arch": "dgcnn", "mode": "baseline", "task": "segmentation"}, "normals"),
    ({"arch": "dgcnn", "mode": "baseline", "layerz": 2}, "layers"),
    ({"arch": "gcn", "mode": "baseline", "hidden": "4x1q"}, "reps"),
])
def test_bad_names_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(**kwargs)


def test_choices_are_exported():
    assert set(MODES) == {"baseline", "augment", "scalar_frames", "tensor_frames"}
    assert set(FRAMES) >= {"pca", "learned", "3nn", "random"}
    assert set(ARCHS) == {"pointnet2", "dgcnn", "gcn", "transformer", "multiscale", "pca"}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pos", [
    torch.zeros(1, 3),                                               # a single point
    torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]),                # two points
    torch.ones(7, 3),                                                # coincident points
    torch.linspace(0, 1, 9)[:, None] * torch.tensor([1.0, 2.0, 3.0]),  # a line
], ids=["one", "two", "coincident", "collinear"])
def test_degenerate_clouds_give_unit_normals(arch, pos):
    normals = build_model(arch, "tensor_frames", **TINY[arch]).eval()(Data(pos=pos))
    assert normals.shape == pos.shape and torch.isfinite(normals).all()
    torch.testing.assert_close(normals.norm(dim=-1), torch.ones(len(pos)), atol=1e-5, rtol=0)


def test_plain_tensor_and_dtype_follow_input():
    model = build_model("dgcnn", "tensor_frames", **TINY["dgcnn"]).eval()
    pos = surface_cloud(40, dtype=torch.float64)
    out = model(pos)  # a float32 model on float64 input computes in float32, answers in float64
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, model(Data(pos=pos.float())).double())
