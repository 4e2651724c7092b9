"""Under torch.compile the frame changes still happen (PyG skips message hooks there; we use none)."""
import pytest
import torch
from torch import nn
from torch_geometric.nn import EdgeConv, SimpleConv

from tensorframes_core.equivariance import assert_equivariant, random_orthogonal
from tensorframes_core.nn import TFMessagePassing, make_equivariant, to_global, to_local
from tensorframes_core.reps import as_reps

DT = torch.float64
REPS = "2x0n+1x1n+1x2n"
N = 16


class VecConv(TFMessagePassing):
    def __init__(self, reps, out_dim):
        super().__init__(local={"x": reps}, aggr="sum")
        self.phi = nn.Sequential(nn.Linear(2 * as_reps(reps).dim + 3, 16), nn.SiLU(), nn.Linear(16, out_dim)).to(DT)

    def forward(self, x, pos, edge_index, frames):
        return self.propagate(edge_index, frames=frames, x=x, pos=pos)

    def message(self, x_i, x_j, edge_vec):
        return self.phi(torch.cat([x_i, x_j, edge_vec], dim=-1))


def _setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(N, 3, dtype=DT, generator=g)
    x = torch.randn(N, as_reps(REPS).dim, dtype=DT, generator=g)
    R0 = random_orthogonal(N, 3, dtype=DT, generator=g)
    edge_index = torch.stack([torch.arange(N).repeat_interleave(4), torch.randint(0, N, (4 * N,), generator=g)])
    frames_of = lambda p: R0 @ torch.linalg.lstsq(pos, p).solution  # noqa: E731  moves like real frames
    return pos, x, edge_index, frames_of


def _fn(layer, call, edge_index, frames_of):
    def fn(p, f):
        frames = frames_of(p)
        return to_global(call(layer, to_local(f, REPS, frames), p, edge_index, frames), "1x1n", frames)

    return fn


def _build(kind):
    if kind == "tf":
        return VecConv(REPS, 3), lambda m, f, p, ei, fr: m(f, p, ei, fr)
    d = as_reps(REPS).dim
    edge_conv = EdgeConv(nn.Sequential(nn.Linear(2 * d, 16), nn.SiLU(), nn.Linear(16, 3)).to(DT))
    return make_equivariant(edge_conv, local={"x": REPS}), lambda m, f, p, ei, fr: m(f, ei, frames=fr)


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", ["tf", "edgeconv"])
def test_compiled_equals_eager_and_is_equivariant(kind, backend):
    torch.manual_seed(0)
    torch._dynamo.reset()
    pos, x, edge_index, frames_of = _setup()
    layer, call = _build(kind)
    compiled = torch.compile(layer, backend=backend, fullgraph=True)
    eager_fn, compiled_fn = _fn(layer, call, edge_index, frames_of), _fn(compiled, call, edge_index, frames_of)
    torch.testing.assert_close(compiled_fn(pos, x), eager_fn(pos, x), rtol=0, atol=1e-12)
    assert_equivariant(compiled_fn, pos, x, in_reps=REPS, out_reps="1x1n", atol=1e-9,
                       generator=torch.Generator().manual_seed(1))


def test_compiled_layer_still_changes_frames():
    """Equivariance cannot see a missing frame change; compare with sum_j rho(R_i R_j^T) x_j directly."""
    torch._dynamo.reset()
    pos, x, edge_index, frames_of = _setup(seed=2)
    reps = as_reps(REPS)
    R = frames_of(pos)
    conv = torch.compile(make_equivariant(SimpleConv(aggr="sum"), local={"x": reps}), backend="aot_eager")
    j, i = edge_index
    msgs = (reps.rho(R[i] @ R[j].transpose(-1, -2)) @ x[j].unsqueeze(-1)).squeeze(-1)
    expected = torch.zeros_like(x).index_add_(0, i, msgs)
    torch.testing.assert_close(conv(x, edge_index, frames=R), expected, rtol=0, atol=1e-12)
