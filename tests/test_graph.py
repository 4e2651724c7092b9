"""knn / radius / fps against brute-force references, batched, CPU (and CUDA when present)."""
import math

import pytest
import torch

from tensorframes_core.graph import fps, knn, knn_graph, radius_graph

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def batched_cloud(sizes, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randn(sum(sizes), 3, generator=gen, dtype=torch.float64)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return pos.to(device), batch.to(device)


def brute_neighbours(pos, batch, i, k=None, r=None, loop=False):
    dist = (pos - pos[i]).norm(dim=-1)
    dist[batch != batch[i]] = math.inf
    if not loop:
        dist[i] = math.inf
    order = dist.argsort()
    finite = order[torch.isfinite(dist[order])]
    if r is not None:
        finite = finite[dist[finite] <= r]
    return set(finite[: (k if k is not None else len(finite))].tolist())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(device, loop):
    pos, batch = batched_cloud([40, 1, 7, 130, 2], seed=1, device=device)
    k = 6
    edge_index = knn_graph(pos, k, batch, loop=loop)
    src, dst = edge_index.cpu()
    for i in range(pos.shape[0]):
        assert set(src[dst == i].tolist()) == brute_neighbours(pos.cpu(), batch.cpu(), i, k=k, loop=loop)
    assert bool((batch[edge_index[0]] == batch[edge_index[1]]).all())


def test_knn_sorted_nearest_first_and_bipartite():
    pos, batch = batched_cloud([50, 60], seed=2)
    query, qbatch = batched_cloud([5, 3], seed=3)
    src, dst = knn(pos, query, 4, batch, qbatch)
    for i in range(query.shape[0]):
        mine = src[dst == i]
        dist = (pos[mine] - query[i]).norm(dim=-1)
        assert bool((dist[1:] >= dist[:-1]).all())
        ref = (pos - query[i]).norm(dim=-1)
        ref[batch != qbatch[i]] = math.inf
        assert set(mine.tolist()) == set(ref.topk(4, largest=False).indices.tolist())


def test_knn_chunking_gives_the_same_graph(monkeypatch):
    import tensorframes_core.graph as graph

    pos, batch = batched_cloud([300, 200], seed=4)
    whole = knn_graph(pos, 5, batch)
    monkeypatch.setattr(graph, "BLOCK_ELEMENTS", 997)  # many small chunks, clouds split across them
    assert torch.equal(knn_graph(pos, 5, batch), whole)


@pytest.mark.parametrize("device", DEVICES)
def test_radius_graph_matches_brute_force_and_caps_at_nearest(device):
    pos, batch = batched_cloud([80, 30], seed=5, device=device)
    r = 0.9
    src, dst = radius_graph(pos, r, batch, max_num_neighbors=1000).cpu()
    for i in range(pos.shape[0]):
        assert set(src[dst == i].tolist()) == brute_neighbours(pos.cpu(), batch.cpu(), i, r=r)
    capped_src, capped_dst = radius_graph(pos, r, batch, max_num_neighbors=3).cpu()
    for i in range(pos.shape[0]):
        assert set(capped_src[capped_dst == i].tolist()) == brute_neighbours(pos.cpu(), batch.cpu(), i, k=3, r=r)


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
    sizes = [37, 5, 64]
    pos, batch = batched_cloud(sizes, seed=6, device=device)
    ratio = 0.25
    idx = fps(pos, ratio, batch).cpu()
    offset = 0
    expected = []
    for n in sizes:
        expected += [offset + p for p in reference_fps(pos.cpu()[offset:offset + n], math.ceil(ratio * n))]
        offset += n
    assert idx.tolist() == expected


def test_fps_random_start_is_seeded():
    pos, batch = batched_cloud([50, 50], seed=7)
    a = fps(pos, 0.2, batch, random_start=True, generator=torch.Generator().manual_seed(1))
    b = fps(pos, 0.2, batch, random_start=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.numel() == 20


def test_degenerate_inputs():
    empty = torch.zeros(0, 3)
    assert knn_graph(empty, 4).shape == (2, 0)
    assert knn_graph(torch.zeros(1, 3), 4).shape == (2, 0)
    same = torch.ones(5, 3)
    assert knn_graph(same, 10).shape == (2, 20)  # k >= N: everybody else
    assert fps(same, 0.5).numel() == 3
    with pytest.raises(ValueError):
        knn_graph(torch.randn(4, 3), 2, batch=torch.tensor([1, 0, 0, 1]))
