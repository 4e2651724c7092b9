"""The flagship architecture's inputs: density-free moments, the coarse scales' subsample, exact equivariance."""
import torch
from torch_geometric.data import Data

from conftest import TINY
from float_tolerance import tol
from tensorframes_core.equivariance import assert_equivariant
from tensorframes_core.graph import knn_table
from tensorframes_core.models import build_model
from tensorframes_core.models.base import normalise_clouds
from tensorframes_core.models.multiscale import FINE_K, SCALES, neighbourhood_moments, strided_subsample

F64 = torch.float64


def grid(spacing, half_width=1.0):
    """A square grid in the plane z = 0 with the given spacing (an exactly self-similar surface)."""
    ticks = torch.arange(-half_width, half_width + spacing / 2, spacing, dtype=F64)
    x, y = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([x.flatten(), y.flatten(), torch.zeros(x.numel(), dtype=F64)], 1)


def fine_inputs(model, pos):
    """The fine-scale sizes, offsets and spreads of every point (the columns that the whole cloud decides)."""
    normalised = normalise_clouds(pos, torch.zeros(len(pos), dtype=torch.long), 1)
    table = knn_table(normalised, normalised, model.shared_k, exclude_self=True)
    x = model.global_inputs(normalised, torch.zeros(len(pos), dtype=torch.long), table)
    fine = range(len(FINE_K))
    return torch.cat([x[:, list(fine)], x[:, [SCALES + 3 * s + c for s in fine for c in range(3)]],
                      x[:, [4 * SCALES + 9 * s + c for s in fine for c in range(9)]]], 1)


def test_fine_inputs_do_not_depend_on_the_density():
    """The same grid at 3x the density gives the same inputs at its centre point: only ratios of lengths."""
    model = build_model("multiscale", "tensor_frames").double()
    coarse, dense = grid(0.1), grid(0.1 / 3)
    centre_c = coarse.norm(dim=1).argmin()
    centre_d = dense.norm(dim=1).argmin()
    a, b = fine_inputs(model, coarse)[centre_c], fine_inputs(model, dense)[centre_d]
    torch.testing.assert_close(a, b, atol=tol(F64, ops=100), rtol=0)
    assert a.abs().max() > 0.1  # not trivially zero


def test_strided_subsample_caps_every_cloud():
    batch = torch.cat([torch.zeros(10, dtype=torch.long), torch.ones(3, dtype=torch.long)])
    sub = strided_subsample(batch, 2, ref_points=4)
    assert sub.tolist() == [0, 3, 6, 9, 10, 11, 12]  # step ceil(10 / 4) = 3 in the first cloud, 1 in the second


def test_moments_of_a_symmetric_star():
    """Four neighbours at (+-1, 0, 0), (0, +-2, 0) and a far fifth: zero mean, covariance diag(1/2, 2, 0) x w;
    the first two alone (k = 2 from the same gather): diag(1, 0, 0)."""
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 2, 0], [0, -2, 0], [0, 0, 10]], dtype=F64)
    index, dist = knn_table(pos, pos, 5, exclude_self=True)
    (cov, mean, cut), (cov2, mean2, cut2) = neighbourhood_moments(pos, pos, index, dist, (4, 2))
    assert float(cut[0]) == 10.0 and float(cut2[0]) == 2.0  # k = 2: the two at distance 1, cut at the third
    torch.testing.assert_close(mean2[0], torch.zeros(3, dtype=F64), atol=1e-15, rtol=0)
    torch.testing.assert_close(cov2[0], torch.diag(torch.tensor([1.0, 0.0, 0.0], dtype=F64)), atol=1e-15, rtol=0)
    torch.testing.assert_close(mean[0], torch.zeros(3, dtype=F64), atol=1e-15, rtol=0)
    w1, w2 = (1 - 0.1 ** 8) ** 2, (1 - 0.2 ** 8) ** 2
    expected = torch.diag(torch.tensor([2 * w1, 8 * w2, 0.0], dtype=F64)) / (2 * w1 + 2 * w2)
    torch.testing.assert_close(cov[0], expected, atol=1e-15, rtol=0)


def test_equivariant_when_the_coarse_scales_subsample():
    """More points than ref_points (the strided subsample in use), float64, fresh O(3) elements."""
    torch.manual_seed(int(torch.randint(0, 10_000, ())))
    model = build_model("multiscale", "tensor_frames", **TINY["multiscale"]).double().eval()
    gen = torch.Generator().manual_seed(int(torch.randint(0, 10_000, ())))
    pos = torch.randn(400, 3, generator=gen, dtype=F64) * torch.tensor([1.0, 0.6, 0.2], dtype=F64)
    assert_equivariant(lambda p: model(Data(pos=p)), pos, trials=3, generator=gen, atol=1e-9)
