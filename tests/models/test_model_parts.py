"""Building blocks of the models: normalisation, unit vectors, frame-aware interpolation, pooled kNN."""
import pytest
import torch

from conftest import surface_cloud
from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.graph import knn, knn_graph, knn_table
from tensorframes_core.models import build_model
from tensorframes_core.models.base import normalise_clouds, unit_vectors
from tensorframes_core.models import dgcnn
from tensorframes_core.models.dgcnn import FrameEdgeConv, knn_in_pool, knn_smooth, regular_degree, smooth_edges
from tensorframes_core.models.pointnet2 import FrameInterpolation, nearest_to_origin
from tensorframes_core.nn import to_local

DT = torch.float64


def test_normalise_clouds_per_cloud_and_not_in_place():
    pos = torch.cat([surface_cloud(30, 0), surface_cloud(20, 1) * 1e3 + 7.0])
    batch = torch.cat([torch.zeros(30), torch.ones(20)]).long()
    before = pos.clone()
    p = normalise_clouds(pos, batch, 2)
    assert torch.equal(pos, before)
    for b in (0, 1):
        q = p[batch == b]
        torch.testing.assert_close(q.mean(0), torch.zeros(3, dtype=DT), atol=1e-12, rtol=0)
        torch.testing.assert_close(q.pow(2).sum(-1).mean(), torch.tensor(1.0, dtype=DT))


def test_unit_vectors_safe_at_zero_with_finite_gradient():
    y = torch.tensor([[0.0, 0.0, 0.0], [1e-30, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=DT, requires_grad=True)
    out = unit_vectors(y)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(3, dtype=DT))
    out.sum().backward()
    assert torch.isfinite(y.grad).all()


def test_interpolation_moves_features_into_the_target_frame_first():
    g = torch.Generator().manual_seed(0)
    pos_src, pos_dst = torch.randn(12, 3, dtype=DT, generator=g), torch.randn(5, 3, dtype=DT, generator=g)
    R_src, R_dst = random_orthogonal(12, dtype=DT, generator=g), random_orthogonal(5, dtype=DT, generator=g)
    field = torch.randn(1, 3, dtype=DT, generator=g).expand(12, 3)  # one global vector everywhere
    feats = torch.cat([torch.randn(12, 1, dtype=DT, generator=g), to_local(field, "1x1n", R_src)], -1)
    edge_index = knn(pos_src, pos_dst, 3)
    out = FrameInterpolation("1x0n+1x1n")(feats, pos_src, pos_dst, edge_index, frames=(R_src, R_dst))
    torch.testing.assert_close(out[:, 1:], to_local(field[:5], "1x1n", R_dst))  # the same vector, seen from i
    j, i = edge_index
    w = 1 / (pos_src[j] - pos_dst[i]).pow(2).sum(-1)
    scalar = torch.zeros(5, dtype=DT).index_add_(0, i, w * feats[j, 0]) / torch.zeros(5, dtype=DT).index_add_(0, i, w)
    torch.testing.assert_close(out[:, 0], scalar)
    plain = FrameInterpolation("1x0n+1x1n", frame_transform=False)(feats, pos_src, pos_dst, edge_index, (R_src, R_dst))
    assert not torch.allclose(plain[:, 1:], out[:, 1:])


def test_interpolation_copies_a_coincident_source():
    pos = torch.randn(6, 3, dtype=DT)
    R = random_orthogonal(6, dtype=DT)
    x = torch.randn(6, 4, dtype=DT)
    out = FrameInterpolation("1x0n+1x1n")(x, pos, pos[:2], knn(pos, pos[:2], 3), frames=(R, R[:2]))
    torch.testing.assert_close(out, x[:2])


def test_nearest_to_origin_per_cloud():
    pos = torch.tensor([[2.0, 0, 0], [0.5, 0, 0], [0, 0, 0.1], [0, 3, 0]])
    assert nearest_to_origin(pos, torch.tensor([0, 0, 1, 1]), 2).tolist() == [1, 2]


def test_knn_in_a_full_pool_is_the_plain_knn():
    space = torch.randn(40, 7, dtype=DT)
    batch = torch.arange(2).repeat_interleave(20)
    pool = knn_table(space[:, :3], space[:, :3], 25, batch, batch)[0]
    assert ((pool >= 0).sum(1) == 20).all()  # each cloud's 20 points, padded to 25
    def as_set(ei):
        return set(map(tuple, ei.T.tolist()))
    edges, weight = knn_in_pool(space, pool, 5)
    assert as_set(edges) == as_set(knn_graph(space, 5, batch, loop=True))
    whole, whole_weight = knn_smooth(space, 5, batch)
    assert as_set(whole) == as_set(edges)
    torch.testing.assert_close(whole_weight.sort().values, weight.sort().values)
    assert bool((weight > 0).all() and (weight <= 1).all())


def test_smooth_knn_weights_vanish_at_the_cut_off():
    """The k-th neighbour tied with the (k+1)-th weighs 0: which of the two the search returns is moot."""
    space = torch.tensor([[0.0], [1.0], [2.0], [-2.0], [5.0]], dtype=DT)
    edges, weight = knn_in_pool(space, torch.arange(5).expand(5, 5).clone(), 3)  # point 0: 0, 1, then 2 or -2
    mine = edges[1] == 0
    assert sorted(edges[0][mine].tolist())[:2] == [0, 1] and weight[mine].min() == 0.0


def test_pca_frames_from_a_shared_table_are_the_same_frames():
    from tensorframes_core.frames import pca_frames
    pos = torch.randn(60, 3, dtype=DT)
    batch = torch.arange(2).repeat_interleave(30)
    shared = pca_frames(pos, k=16, batch=batch, table=knn_table(pos, pos, 31, batch, batch, exclude_self=True))
    torch.testing.assert_close(shared.matrices, pca_frames(pos, k=16, batch=batch).matrices, atol=0, rtol=0)
    with pytest.raises(ValueError, match="k \\+ 1"):
        pca_frames(pos, k=16, batch=batch, table=knn_table(pos, pos, 16, batch, batch, exclude_self=True))


def test_dgcnn_global_search_option_is_equivariant_too():
    from tensorframes_core.equivariance import assert_equivariant
    from torch_geometric.data import Data
    torch.manual_seed(0)
    model = build_model("dgcnn", "tensor_frames", knn_pool=0, hidden="4x0n+2x1n", layers=2, k=8).double().eval()
    assert_equivariant(lambda p: model(Data(pos=p)), surface_cloud(48), trials=4, atol=1e-8,
                       generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("frame_transform", [True, False])
def test_frame_edge_conv_by_receiver_equals_propagate(frame_transform, monkeypatch):
    """Every node k senders, listed node by node: the receiver-block path (several blocks here) gives what
    PyG's propagate gives for the same edges in another order, in float64, with reflected frames."""
    monkeypatch.setattr(dgcnn, "EDGE_BLOCK", 40)
    gen = torch.Generator().manual_seed(int(torch.randint(0, 2**31, ())))
    n, k = 90, 6
    conv = FrameEdgeConv("2x0n+2x1n+1x2n", 8, frame_transform).double()
    x = torch.randn(n, 2 + 6 + 9, dtype=DT, generator=gen)
    pos = torch.randn(n, 3, dtype=DT, generator=gen)
    R = random_orthogonal(n, dtype=DT, generator=gen)
    senders = torch.randint(0, n, (n, k), generator=gen)
    edge_index = torch.stack([senders.flatten(), torch.arange(n).repeat_interleave(k)])
    weight = torch.rand(n * k, dtype=DT, generator=gen)
    scale = torch.rand(n, dtype=DT, generator=gen) + 0.5
    shuffled = torch.randperm(n * k, generator=gen)
    assert regular_degree(edge_index, n) == k and regular_degree(edge_index[:, shuffled], n) is None
    fast = conv(x, pos, edge_index, R, weight, scale)
    slow = conv(x, pos, edge_index[:, shuffled], R, weight[shuffled], scale)
    torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)


def test_padded_smooth_edges_send_nothing():
    """Missing neighbours padded as weight-0 self edges: k edges per node, the same layer output."""
    pos = surface_cloud(40, 3)
    index, dist = knn_table(pos, pos, 9, exclude_self=True)
    index[:5, 4:] = -1  # five rows with missing neighbours, as at a tile's border
    dense, dense_weight = smooth_edges(index, dist, 8, pad=True)
    sparse, sparse_weight = smooth_edges(index, dist, 8)
    assert regular_degree(dense, 40) == 8 and regular_degree(sparse, 40) is None
    conv = FrameEdgeConv("1x0n+1x1n", 4).double()
    x, R = torch.randn(40, 4, dtype=DT), random_orthogonal(40, dtype=DT)
    torch.testing.assert_close(conv(x, pos, dense, R, dense_weight), conv(x, pos, sparse, R, sparse_weight),
                               atol=1e-12, rtol=0)
