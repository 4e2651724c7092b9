"""Whole-cloud normals: classical estimates, chunking, orientation, the PyG transform and bad input."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import Compose

import tensorframes_core.normals.classical as classical
from tensorframes_core.data import InputError, shapes
from tensorframes_core.graph import knn_table
from tensorframes_core.normals import EstimateNormals, estimate_normals, jet_normals, neighbour_index, pca_normals

F64 = torch.float64


def torus(n=3000, seed=0, big=1.0, small=0.35):
    """Points on a torus and their outward normals (away from the tube's centre circle)."""
    g = torch.Generator().manual_seed(seed)
    u, v = torch.rand(2, n, generator=g, dtype=F64) * 2 * torch.pi
    outward = torch.stack([torch.cos(u) * torch.cos(v), torch.sin(u) * torch.cos(v), torch.sin(v)], 1)
    centre = torch.stack([big * torch.cos(u), big * torch.sin(u), torch.zeros_like(u)], 1)
    return centre + small * outward, outward


def sphere(n=2000, seed=0, centre=(0.0, 0.0, 0.0)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=F64)
    x = x / x.norm(dim=-1, keepdim=True)
    return x + torch.tensor(centre, dtype=F64), x


def unoriented_agreement(a, b):
    return (a * b).sum(-1).abs()


def test_search_matches_the_torch_search():
    pos = torch.randn(3000, 3, dtype=F64)
    fast = neighbour_index(pos, 12)
    exact = knn_table(pos, pos, 12, exclude_self=True)[0]
    assert torch.equal(fast, exact)
    dup = torch.cat([pos[:20], pos[:20]])  # duplicate points: each point still drops only itself
    index = neighbour_index(dup, 3)
    assert not bool((index == torch.arange(40)[:, None]).any())
    assert neighbour_index(pos[:3], 8).shape == (3, 8)  # fewer points than k: padded


@pytest.mark.parametrize("estimate", [pca_normals, jet_normals])
def test_classical_normals_on_curved_surfaces(estimate):
    pos, exact = torus()
    normals = estimate(pos, neighbour_index(pos, 24))
    assert unoriented_agreement(normals, exact).median() > 0.999
    assert torch.allclose(normals.norm(dim=-1), torch.ones(len(pos), dtype=F64))


def test_jet_beats_pca_where_curvature_matters():
    pos, exact = torus(4000, small=0.2)
    index = neighbour_index(pos, 30)
    pca_err = torch.acos(unoriented_agreement(pca_normals(pos, index), exact).clamp(max=1)).mean()
    jet_err = torch.acos(unoriented_agreement(jet_normals(pos, index), exact).clamp(max=1)).mean()
    assert jet_err < 0.5 * pca_err


@pytest.mark.parametrize("estimate", [pca_normals, jet_normals])
def test_chunked_equals_one_pass(estimate, monkeypatch):
    pos = torch.as_tensor(shapes.make("blob", 5000, noise=0.006, seed=1).pos)
    index = neighbour_index(pos, 16)
    whole = estimate(pos, index)
    monkeypatch.setattr(classical, "CHUNK", 777)
    torch.testing.assert_close(estimate(pos, index), whole, atol=0, rtol=0)


def test_orientation_outward_on_closed_shapes_and_two_objects():
    pos, exact = torus()
    consistent = estimate_normals(pos, "pca", orient="consistent")
    assert ((consistent * exact).sum(-1) > 0).double().mean() > 0.99  # a torus: the centroid rule cannot
    centroid = estimate_normals(pos, "pca", orient="centroid")
    assert ((centroid * exact).sum(-1) > 0).double().mean() < 0.9
    a, na = sphere(1500, seed=1)
    b, nb = sphere(1500, seed=2, centre=(5.0, 0.0, 0.0))
    two = estimate_normals(torch.cat([a, b]), "jet", orient="consistent")
    assert ((two * torch.cat([na, nb])).sum(-1) > 0).double().mean() > 0.99
    view = estimate_normals(a, "pca", orient="viewpoint:0,0,10")
    assert bool(((view * (torch.tensor([0.0, 0.0, 10.0], dtype=F64) - a)).sum(-1) >= 0).all())


def test_transform_in_a_compose_and_dtype_kept():
    data = Compose([EstimateNormals("pca", k=12, orient="centroid")])(Data(pos=sphere(500)[0].float()))
    assert data.norm.shape == (500, 3) and data.norm.dtype == torch.float32
    assert "EstimateNormals(method='pca', k=12" in repr(EstimateNormals("pca", k=12))


def test_a_shipped_model_as_method():
    pos = torch.as_tensor(shapes.make("box", 600, seed=2).pos)
    normals = estimate_normals(pos, "dgcnn/tensor_frames/pca")
    assert normals.shape == (600, 3) and bool(torch.isfinite(normals).all())


def test_a_model_sees_at_most_model_points_and_the_rest_take_the_nearest():
    """Above ``model_points`` a model runs on every ceil(N / m)-th point alone; each other point gets the normal
    of its nearest seen point, so the result turns with the input (random O(3) with a reflection; float64
    input, a float32 model: the project's float32 target, relative error <= 1e-4, bounds the differences)."""
    from tensorframes_core.equivariance import random_orthogonal

    pos = torus(2_500, seed=int(torch.randint(0, 10_000, ())))[0]
    method = "dgcnn/tensor_frames/pca"
    normals = estimate_normals(pos, method, model_points=1_000)  # step 3: 834 points seen
    seen = pos[::3]
    alone = estimate_normals(seen, method, model_points=0)  # its own bounding-box centre: float32 rounding apart
    assert float((normals[::3] - alone).norm() / alone.norm()) <= 1e-4
    nearest = torch.cdist(pos, seen).argmin(1)
    torch.testing.assert_close(normals, normals[::3][nearest])
    g = random_orthogonal(d=3, dtype=F64)
    g = g * torch.linalg.det(g).sign() * torch.tensor([-1.0, 1.0, 1.0], dtype=F64)  # det -1: with a reflection
    turned = estimate_normals(pos @ g.T, method, model_points=1_000)
    # the model runs in float32: the project's float32 target (relative error <= 1e-4) bounds it
    assert float((turned - normals @ g.T).norm() / normals.norm()) <= 1e-4
    everything = estimate_normals(pos, method, model_points=0)
    assert not torch.allclose(everything, normals)  # 0: the model saw every point


@pytest.mark.parametrize("kwargs, match", [
    ({"pos": torch.zeros(10, 2)}, "shape"),
    ({"pos": np.zeros((10, 3))}, "shape"),
    ({"pos": torch.tensor([[0.0, 0, 0], [1, 0, 0], [float("nan"), 0, 0]])}, "finite"),
    ({"orient": "upwards"}, "unknown orientation"),
    ({"orient": "viewpoint:1,2"}, "unknown orientation"),
    ({"method": "resnet"}, "unknown method"),
    ({"k": 2}, "at least 3"),
    ({"model_points": 2}, "model_points must be at least 3"),
])
def test_bad_input_is_an_input_error(kwargs, match):
    args = {"pos": torch.randn(50, 3), **kwargs}
    with pytest.raises(InputError, match=match):
        estimate_normals(**args)


def test_whole_scan_in_blocks_equals_one_pass(monkeypatch):
    """100,000 points: the search and the estimate in small blocks give exactly the one-pass normals."""
    import tensorframes_core.normals.search as search

    pos = torus(100_000, seed=3)[0].float()
    whole = estimate_normals(pos, "pca", orient="consistent")
    monkeypatch.setattr(search, "CHUNK", 7_777)
    monkeypatch.setattr(classical, "CHUNK", 1_001)
    blocks = estimate_normals(pos, "pca", orient="consistent")
    torch.testing.assert_close(blocks, whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["pca", "jet", "dgcnn/tensor_frames/pca"])
def test_far_from_the_origin_in_float64_gives_the_normals_at_the_origin(method):
    """A geo-referenced scan (metres at 10^6, float64): the normals do not depend on where the cloud sits,
    since every method works on the offsets from its bounding box's centre; a viewpoint moves with it."""
    cloud = shapes.make("torus", 1500, noise=0.002, seed=5)
    pos = cloud.pos.double()
    offset = torch.tensor([512345.678, 5401234.567, 312.5], dtype=torch.float64)
    near = estimate_normals(pos, method, orient="viewpoint:0,0,5")
    far = estimate_normals(pos + offset, method, orient="viewpoint:512345.678,5401234.567,317.5")
    assert far.dtype == torch.float64
    # the two clouds differ by the rounding of the shift (eps64 * 5e6 ~ 1e-9 on offsets of ~0.03)
    assert ((far * near).sum(-1) > 1 - 1e-4).float().mean() > 0.999
