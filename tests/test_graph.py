"""knn / radius / fps against brute-force references: batched, unsorted, both search paths, CPU (+ CUDA)."""
import math

import pytest
import torch

import tensorframes_core.graph as graph
from tensorframes_core.graph import fps, knn, knn_graph, radius, radius_graph

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
F64 = torch.float64


@pytest.fixture(params=["brute", "spatial"])
def path(request, monkeypatch):
    """Run a test through both search paths; tiny leaves and groups make small clouds exercise every
    level of the spatial search (several leaves per cell, several groups per cloud)."""
    if request.param == "spatial":
        monkeypatch.setattr(graph, "SPATIAL_MIN_POINTS", 0)
        monkeypatch.setattr(graph, "LEAF_SIZE", 4)
        monkeypatch.setattr(graph, "GROUP_SIZE", 3)
    else:
        monkeypatch.setattr(graph, "SPATIAL_MIN_POINTS", 10**9)
    return request.param


def batched_cloud(sizes, seed=0, d=3, device="cpu", dtype=F64):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randn(sum(sizes), d, generator=gen, dtype=dtype)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return pos.to(device), batch.to(device)


def reference(x, y, k, bx, by, exclude_self=False, r=math.inf):
    """Full distance matrix + sort: each target's neighbour list (nearest first) and distances."""
    x, y, bx, by = x.cpu().double(), y.cpu().double(), bx.cpu(), by.cpu()
    dist = torch.cdist(y, x, compute_mode="donot_use_mm_for_euclid_dist")
    dist[by[:, None] != bx[None]] = math.inf
    if exclude_self:
        dist.fill_diagonal_(math.inf)
    dist[dist > r] = math.inf
    dist, order = dist.sort(dim=1)
    return [(order[i][torch.isfinite(dist[i])][:k].tolist(), dist[i][torch.isfinite(dist[i])][:k])
            for i in range(y.shape[0])]


def check_against_reference(edge_index, x, y, ref):
    """Same neighbour SETS as the reference, listed nearest first, edges grouped by target."""
    src, dst = edge_index.cpu()
    assert bool((dst[1:] >= dst[:-1]).all()), "edges must come grouped by target"
    for i, (nbrs, dist) in enumerate(ref):
        mine = src[dst == i]
        assert set(mine.tolist()) == set(nbrs), f"target {i}"
        mine_dist = (x.cpu().double()[mine] - y.cpu().double()[i]).norm(dim=-1)
        torch.testing.assert_close(mine_dist, dist, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(path, device, loop):
    pos, batch = batched_cloud([40, 1, 7, 130, 2, 90], seed=1, device=device)
    edge_index = knn_graph(pos, 6, batch, loop=loop)
    check_against_reference(edge_index, pos, pos, reference(pos, pos, 6, batch, batch, exclude_self=not loop))
    assert bool((batch[edge_index[0]] == batch[edge_index[1]]).all())


@pytest.mark.parametrize("d", [1, 2, 5])
def test_knn_graph_other_dimensions(path, d):
    pos, batch = batched_cloud([60, 45], seed=2, d=d)
    check_against_reference(knn_graph(pos, 5, batch), pos, pos, reference(pos, pos, 5, batch, batch, True))


def test_knn_bipartite_and_unsorted_batches(path):
    x, bx = batched_cloud([50, 60, 30], seed=3)
    y, by = batched_cloud([5, 3, 0, 4], seed=4)  # y's cloud 3 has no x points: no neighbours
    px, py = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)), torch.randperm(len(y))
    x, bx, y, by = x[px], bx[px], y[py], by[py]
    check_against_reference(knn(x, y, 4, bx, by), x, y, reference(x, y, 4, bx, by))
    pos, batch = batched_cloud([30, 25], seed=5)
    perm = torch.randperm(len(pos), generator=torch.Generator().manual_seed(1))
    check_against_reference(knn_graph(pos[perm], 3, batch[perm]), pos[perm], pos[perm],
                            reference(pos[perm], pos[perm], 3, batch[perm], batch[perm], True))


def test_knn_survives_large_offsets_in_float32(path):
    """Distances come from centred coordinates: a far-away cloud ranks like the same cloud at 0."""
    pos, batch = batched_cloud([200, 150], seed=6, dtype=torch.float32)
    far = pos + 1e4
    check_against_reference(knn_graph(far, 8, batch), far, far, reference(far, far, 8, batch, batch, True))


def test_clustered_and_duplicate_points(path):
    gen = torch.Generator().manual_seed(7)
    centres = torch.randn(6, 3, generator=gen, dtype=F64) * 100
    pos = centres.repeat_interleave(40, 0) + 1e-3 * torch.randn(240, 3, generator=gen, dtype=F64)
    pos[:10] = pos[0]  # coincident points: ties, so only the distances are compared
    table, dist = graph._neighbours(pos, pos, 12, None, None, exclude_self=True)
    ref = torch.stack([d for _, d in reference(pos, pos, 12, torch.zeros(240), torch.zeros(240), True)])
    torch.testing.assert_close(dist, ref, atol=1e-9, rtol=0)


def test_non_uniform_batched_clouds(path):
    """Clusters 1000x denser than the background, far outliers and clouds of very different sizes."""
    gen = torch.Generator().manual_seed(9)

    def cloud(n_cluster, n_background, n_out):
        parts = [torch.randn(n_cluster, 3, generator=gen, dtype=F64) * 1e-3 + 0.5,
                 torch.rand(n_background, 3, generator=gen, dtype=F64),
                 torch.randn(n_out, 3, generator=gen, dtype=F64) * 100]
        return torch.cat(parts)[torch.randperm(n_cluster + n_background + n_out, generator=gen)]

    clouds = [cloud(150, 100, 5), cloud(0, 3, 0), cloud(40, 300, 2), cloud(60, 0, 1)]
    pos = torch.cat(clouds)
    batch = torch.repeat_interleave(torch.arange(len(clouds)), torch.tensor([len(c) for c in clouds]))
    for k, loop in [(7, False), (16, True)]:
        check_against_reference(knn_graph(pos, k, batch, loop=loop), pos, pos,
                                reference(pos, pos, k, batch, batch, exclude_self=not loop))


def test_chunking_gives_the_same_graph(path, monkeypatch):
    pos, batch = batched_cloud([300, 200, 7], seed=8)
    whole = knn_graph(pos, 5, batch)
    monkeypatch.setattr(graph, "BLOCK_ELEMENTS", 997)  # many small steps, clouds split across them
    assert torch.equal(knn_graph(pos, 5, batch), whole)


@pytest.mark.parametrize("device", DEVICES)
def test_radius_matches_brute_force_and_caps_at_nearest(path, device):
    pos, batch = batched_cloud([80, 30, 1], seed=9, device=device)
    r = 0.9
    full = radius_graph(pos, r, batch, max_num_neighbors=1000)
    check_against_reference(full, pos, pos, reference(pos, pos, 1000, batch, batch, True, r=r))
    capped = radius_graph(pos, r, batch, max_num_neighbors=3)
    check_against_reference(capped, pos, pos, reference(pos, pos, 3, batch, batch, True, r=r))
    y, by = batched_cloud([6, 4], seed=10, device=device)
    check_against_reference(radius(pos, y, r, batch, by, max_num_neighbors=5), pos, y,
                            reference(pos, y, 5, batch, by, r=r))


def reference_fps(pos, m):
    picks = [0]
    dist = (pos - pos[0]).norm(dim=-1)
    for _ in range(m - 1):
        nxt = int(dist.argmax())
        picks.append(nxt)
        dist = torch.minimum(dist, (pos - pos[nxt]).norm(dim=-1))
    return picks


@pytest.mark.parametrize("device", DEVICES)
def test_fps_matches_reference_per_cloud(device):
    sizes = [37, 5, 64, 1]
    pos, batch = batched_cloud(sizes, seed=11, device=device)
    ratio = 0.25
    idx = fps(pos, ratio, batch).cpu()
    offset, expected = 0, []
    for n in sizes:
        expected += [offset + p for p in reference_fps(pos.cpu()[offset:offset + n], math.ceil(ratio * n))]
        offset += n
    assert idx.tolist() == expected


def test_fps_unsorted_batch_random_start_and_no_repeats():
    pos, batch = batched_cloud([30, 20], seed=12)
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(2))
    picked = fps(pos[perm], 0.3, batch[perm])
    assert picked.numel() == 9 + 6 and bool((batch[perm][picked][:9] == 0).all())
    assert int(picked[0]) == int((batch[perm] == 0).nonzero()[0])  # each cloud starts at its first point
    a = fps(pos, 0.2, batch, random_start=True, generator=torch.Generator().manual_seed(1))
    b = fps(pos, 0.2, batch, random_start=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.numel() == 10
    assert sorted(fps(torch.ones(6, 3), 1.0).tolist()) == list(range(6))  # identical points: no repeats


def test_degenerate_inputs(path):
    assert knn_graph(torch.zeros(0, 3), 4).shape == (2, 0)
    assert knn_graph(torch.zeros(1, 3), 4).shape == (2, 0)
    assert knn_graph(torch.randn(5, 3), 0).shape == (2, 0)
    assert knn_graph(torch.ones(5, 3), 10).shape == (2, 20)  # k >= N: everybody else
    assert radius_graph(torch.ones(5, 3), 0.0).shape == (2, 20)  # distance 0 <= r = 0
    assert fps(torch.ones(5, 3), 0.5).numel() == 3
    assert fps(torch.zeros(0, 3), 0.5).numel() == 0
    with pytest.raises(ValueError):
        knn_graph(torch.randn(4, 3), -1)
    with pytest.raises(ValueError):
        knn(torch.randn(4, 3), torch.randn(4, 2), 1)
