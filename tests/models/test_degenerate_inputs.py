"""Degenerate geometry through every model in every mode: finite outputs and gradients, deterministic."""
import itertools

import pytest
import torch
from torch_geometric.data import Data

from conftest import NETWORKS
from tensorframes_core.models import build_model

ARCHS = NETWORKS + ("pca",)
MODES = ("baseline", "augment", "scalar_frames", "tensor_frames")


def clouds():
    gen = torch.Generator().manual_seed(0)
    return {
        "identical": torch.ones(20, 3),
        "collinear": torch.linspace(0, 1, 20)[:, None] * torch.tensor([[1.0, 2.0, 3.0]]),
        "coplanar": torch.cat([torch.rand(20, 2, generator=gen), torch.zeros(20, 1)], 1),
        "one point": torch.zeros(1, 3),
        "two points": torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        "k >= N": torch.randn(5, 3, generator=gen),
        "scale 1e6": torch.randn(40, 3, generator=gen) * 1e6,
        "scale 1e-6": torch.randn(40, 3, generator=gen) * 1e-6,
        "float16": torch.randn(40, 3, generator=gen).half(),
        "bfloat16": torch.randn(40, 3, generator=gen).bfloat16(),
    }


@pytest.mark.parametrize("arch,mode", list(itertools.product(ARCHS, MODES)))
def test_degenerate_clouds_give_finite_outputs_and_gradients(arch, mode):
    torch.manual_seed(0)
    model = build_model(arch, mode, hidden="8x0n+4x1n") if arch != "pca" else build_model(arch, mode)
    for name, pos in clouds().items():
        model.train()
        out = model(Data(pos=pos))
        assert out.shape == (pos.shape[0], 3), name
        assert bool(torch.isfinite(out).all()), f"{arch}/{mode}: non-finite normals on {name}"
        params = [p for p in model.parameters() if p.requires_grad]
        if params:
            out.float().sum().backward()
            assert all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params), name
            model.zero_grad()
        model.eval()
        with torch.no_grad():
            assert torch.equal(model(Data(pos=pos)), model(Data(pos=pos))), f"{arch}/{mode}: not deterministic on {name}"
