"""Small generic clouds for the model tests (CPU, tiny sizes)."""
import pytest
import torch
from torch_geometric.data import Batch, Data

NETWORKS = ("pointnet2", "dgcnn", "gcn", "transformer", "multiscale")  # every trainable architecture
ARCH_MODES_FRAMES = [(a, m, f) for a in NETWORKS
                     for m in ("baseline", "augment", "scalar_frames", "tensor_frames")
                     for f in (("pca", "learned") if m in ("scalar_frames", "tensor_frames") else ("pca",))]
TINY = {"pointnet2": {"hidden": "4x0n+2x1n"}, "dgcnn": {"hidden": "4x0n+2x1n", "layers": 2, "k": 8},
        "gcn": {"hidden": "4x0n+2x1n", "layers": 2, "k": 8},
        "transformer": {"hidden": "4x0n+2x1n", "layers": 2, "heads": 2, "k": 8}, "pca": {"k": 8},
        "multiscale": {"hidden": "4x0n+1x1n+1x2n", "layers": 1, "k": 8, "ref_points": 65}}


def surface_cloud(n=64, seed=0, dtype=torch.float64):
    """``n`` points on a randomly stretched, bumpy ellipsoid with a little noise: generic (no symmetries)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, 3, generator=g, dtype=torch.float64)
    u = u / u.norm(dim=-1, keepdim=True)
    bump = 1 + 0.2 * torch.sin(3 * u[:, :1] + 2 * u[:, 1:2]) * torch.cos(2 * u[:, 2:])
    axes = torch.tensor([1.0, 0.7, 0.45], dtype=torch.float64) * (1 + 0.2 * torch.rand(3, generator=g, dtype=torch.float64))
    pos = u * bump * axes + 0.01 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    return pos.to(dtype)


def two_clouds(n=64, dtype=torch.float64, seed=0):
    """A ``Batch`` of two different clouds, the second shifted away."""
    a, b = surface_cloud(n, seed, dtype), surface_cloud(n, seed + 1, dtype) * 2.0 + 5.0
    return Batch.from_data_list([Data(pos=a), Data(pos=b)])


@pytest.fixture
def batch64():
    return two_clouds(64, torch.float64)
