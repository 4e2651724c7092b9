"""TFMessagePassing and make_equivariant: the frame change happens, whole stacks are equivariant, errors raise."""
import pytest
import torch
from torch import nn
from torch_geometric.nn import EdgeConv, GATConv, GATv2Conv, GCNConv, GINConv, PointNetConv, SimpleConv

from tensorframes_core.equivariance import assert_equivariant, equivariance_error, random_orthogonal
from tensorframes_core.graph import knn_graph
import tensorframes_core.nn.wrap as wrap
from tensorframes_core.nn import TFMessagePassing, make_equivariant, to_global, to_local
from tensorframes_core.reps import as_reps

DT = torch.float64
N = 20
IN_REPS = "2x0n+1x1n+1x2n"
HIDDEN_REPS = "4x0n+2x1n+1x2n"


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


class SumConv(TFMessagePassing):
    """out_i = sum_j x_j as seen by message (the frame change is all that happens)."""

    def __init__(self, reps, **kwargs):
        super().__init__(local={"x": reps}, aggr="sum", **kwargs)

    def forward(self, x, edge_index, frames, size=None):
        return self.propagate(edge_index, frames=frames, x=x, size=size)

    def message(self, x_j):
        return x_j


class PointConv(TFMessagePassing):
    """A generic tensor-frames layer: phi(x_i, rho(R_i R_j^T) x_j, R_i (pos_j - pos_i))."""

    def __init__(self, in_reps, out_dim):
        super().__init__(local={"x": in_reps}, aggr="mean")
        dim = as_reps(in_reps).dim
        self.phi = _mlp(2 * dim + 4, out_dim)

    def forward(self, x, pos, edge_index, frames):
        return self.propagate(edge_index, frames=frames, x=x, pos=pos)

    def message(self, x_i, x_j, edge_vec):
        return self.phi(torch.cat([x_i, x_j, edge_vec, edge_vec.norm(dim=-1, keepdim=True)], dim=-1))


def _mlp(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, 16), nn.SiLU(), nn.Linear(16, n_out)).to(DT)


def _expected_sum(x, reps, R_src, R_dst, edge_index, n_dst, frame_transform=True):
    """sum_j rho(R_i R_j^T) x_j, with rho(R) built by the reps (independent of the layer code)."""
    j, i = edge_index
    msgs = x[j]
    if frame_transform:
        msgs = (reps.rho(R_dst[i] @ R_src[j].transpose(-1, -2)) @ msgs.unsqueeze(-1)).squeeze(-1)
    return torch.zeros(n_dst, reps.dim, dtype=x.dtype).index_add_(0, i, msgs)


def _probe_data(spec, n_src=N, n_dst=N, seed=0):
    g = _gen(seed)
    reps = as_reps(spec, 3)
    x = torch.randn(n_src, reps.dim, dtype=DT, generator=g)
    R_src = random_orthogonal(n_src, 3, dtype=DT, generator=g)
    R_dst = random_orthogonal(n_dst, 3, dtype=DT, generator=g)
    edge_index = torch.stack([torch.randint(0, n_src, (60,), generator=g), torch.randint(0, n_dst, (60,), generator=g)])
    return reps, x, R_src, R_dst, edge_index


def _wrapped_sum(reps, frame_transform=True):
    conv = make_equivariant(SimpleConv(aggr="sum"), local={"x": reps}, frame_transform=frame_transform)
    return lambda x, ei, frames, size=None: conv(x, ei, frames=frames, size=size)


def _subclass_sum(reps, frame_transform=True):
    return SumConv(reps, frame_transform=frame_transform)


# --- the frame change really happens ---------------------------------------------------------


@pytest.mark.parametrize("build", [_wrapped_sum, _subclass_sum], ids=["make_equivariant", "TFMessagePassing"])
@pytest.mark.parametrize("spec", ["2x1n+1x2n", "4x0e+2x1o+1x2e", "1x0p+1x1p"])
def test_messages_are_moved_into_the_receivers_frame(build, spec):
    reps, x, R, _, edge_index = _probe_data(spec)
    out = build(reps)(x, edge_index, R)
    torch.testing.assert_close(out, _expected_sum(x, reps, R, R, edge_index, N), rtol=0, atol=1e-12)
    scalar = build(reps, frame_transform=False)(x, edge_index, R)
    torch.testing.assert_close(scalar, _expected_sum(x, reps, R, R, edge_index, N, False), rtol=0, atol=1e-12)
    assert (out - scalar).abs().max() > 0.1  # the probe can tell the two apart


@pytest.mark.parametrize("build", [_wrapped_sum, _subclass_sum], ids=["make_equivariant", "TFMessagePassing"])
def test_bipartite_frames_pair(build):
    reps, x, R_src, R_dst, edge_index = _probe_data("1x1n+1x2n", n_src=N, n_dst=7)
    x_dst = torch.zeros(7, reps.dim, dtype=DT)
    out = build(reps)((x, x_dst), edge_index, (R_src, R_dst), size=(N, 7))
    torch.testing.assert_close(out, _expected_sum(x, reps, R_src, R_dst, edge_index, 7), rtol=0, atol=1e-12)


def test_flow_target_to_source():
    reps, x, R, _, edge_index = _probe_data("2x1n")
    out = SumConv(reps, flow="target_to_source")(x, edge_index, R)
    torch.testing.assert_close(out, _expected_sum(x, reps, R, R, edge_index.flip(0), N), rtol=0, atol=1e-12)


def test_global_inputs_and_edge_vec_are_in_the_receivers_frame():
    class Geometric(TFMessagePassing):
        def __init__(self):
            super().__init__(global_={"e": "1x1n", "pos": "1x1n"}, aggr="sum")

        def message(self, e, pos_j, pos_i, edge_vec):
            return torch.cat([e, pos_j - pos_i, edge_vec], dim=-1)

    g = _gen(3)
    pos = torch.randn(N, 3, dtype=DT, generator=g)
    R = random_orthogonal(N, 3, dtype=DT, generator=g)
    edge_index = knn_graph(pos, 4)
    e = torch.randn(edge_index.shape[1], 3, dtype=DT, generator=g)
    out = Geometric().propagate(edge_index, frames=R, e=e, pos=pos)
    j, i = edge_index
    rel = (R[i] @ (pos[j] - pos[i]).unsqueeze(-1)).squeeze(-1)
    e_local = (R[i] @ e.unsqueeze(-1)).squeeze(-1)
    expected = torch.zeros(N, 9, dtype=DT).index_add_(0, i, torch.cat([e_local, rel, rel], dim=-1))
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_pyg_template_does_not_replace_our_propagate():
    conv = SumConv("1x1n")
    assert type(conv).propagate is TFMessagePassing.propagate
    conv.decomposed_layers = 2  # PyG rebinds propagate here; still ours
    reps, x, R, _, edge_index = _probe_data("1x1n")
    torch.testing.assert_close(conv(x, edge_index, R), _expected_sum(x, reps, R, R, edge_index, N), rtol=0, atol=1e-12)


# --- whole stacks are O(3)-equivariant (reflections included) -----------------------------------


class Stack(nn.Module):
    """Two message-passing layers with a SiLU between; local features in and out."""

    def __init__(self, kind, out_spec):
        super().__init__()
        self.kind = kind
        out_dim = as_reps(out_spec).dim
        h = as_reps(HIDDEN_REPS).dim
        d_in = as_reps(IN_REPS).dim
        if kind == "tf":
            self.convs = nn.ModuleList([PointConv(IN_REPS, h), PointConv(HIDDEN_REPS, out_dim)])
            return
        layers = {
            "edge": lambda: [(EdgeConv(_mlp(2 * d_in, h)), IN_REPS), (EdgeConv(_mlp(2 * h, out_dim)), HIDDEN_REPS)],
            "pointnet": lambda: [(PointNetConv(_mlp(d_in + 3, h)), IN_REPS),
                                 (PointNetConv(_mlp(h + 3, out_dim)), HIDDEN_REPS)],
            # GCN/GAT propagate lin(x): declare the reps of lin's output
            "gcn": lambda: [(GCNConv(d_in, h), HIDDEN_REPS), (GCNConv(h, out_dim), out_spec)],
            "gat": lambda: [(GATConv(d_in, h, heads=2, concat=False), HIDDEN_REPS),
                            (GATConv(h, out_dim, heads=2, concat=False), out_spec)],
            "gin": lambda: [(GINConv(_mlp(d_in, h)), IN_REPS), (GINConv(_mlp(h, out_dim)), HIDDEN_REPS)],
        }[kind]()
        global_ = {"pos": "1x1n"} if kind == "pointnet" else None
        self.convs = nn.ModuleList([make_equivariant(conv.to(DT), local={"x": reps}, global_=global_)
                                    for conv, reps in layers])

    def forward(self, x, pos, edge_index, frames):
        for k, conv in enumerate(self.convs):
            if k:
                x = nn.functional.silu(x)
            if self.kind == "tf":
                x = conv(x, pos, edge_index, frames)
            elif self.kind == "pointnet":
                x = conv(x, pos, edge_index, frames=frames)
            else:
                x = conv(x, edge_index, frames=frames)
        return x


KINDS = ["edge", "pointnet", "gcn", "gat", "gin", "tf"]


def _equivariant_frames(pos0, seed=5):
    """Random per-node frames that move like real ones: frames_of(pos0 @ Q.T) = R0 @ Q.T."""
    R0 = random_orthogonal(pos0.shape[0], 3, dtype=DT, generator=_gen(seed))
    return lambda pos: R0 @ torch.linalg.lstsq(pos0, pos).solution


def _model_fn(stack, in_reps, out_reps, frames_of):
    def fn(pos, x):
        frames = frames_of(pos)
        edge_index = knn_graph(pos, 5)
        y = stack(to_local(x, in_reps, frames), pos, edge_index, frames)
        return to_global(y, out_reps, frames)

    return fn


def _inputs(seed=1):
    g = _gen(seed)
    pos = torch.randn(N, 3, dtype=DT, generator=g)
    x = torch.randn(N, as_reps(IN_REPS).dim, dtype=DT, generator=g)
    return pos, x


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("out_spec", ["1x1n", "1x2n", "1x1p"])
def test_stack_is_equivariant(kind, out_spec):
    torch.manual_seed(0)
    out_reps = as_reps(out_spec)
    pos, x = _inputs()
    stack = Stack(kind, out_spec)
    fn = _model_fn(stack, as_reps(IN_REPS), out_reps, _equivariant_frames(pos))
    assert fn(pos, x).abs().max() > 1e-3  # not trivially zero
    assert_equivariant(fn, pos, x, in_reps=IN_REPS, out_reps=out_reps, atol=1e-9, generator=_gen(2))


@pytest.mark.parametrize("kind", KINDS)
def test_identity_frames_are_not_equivariant(kind):
    torch.manual_seed(0)
    pos, x = _inputs()
    stack = Stack(kind, "1x1n")
    fn = _model_fn(stack, as_reps(IN_REPS), as_reps("1x1n"), lambda p: torch.eye(3, dtype=DT).expand(N, 3, 3))
    assert equivariance_error(fn, pos, x, in_reps=IN_REPS, out_reps="1x1n", generator=_gen(2)) > 1e-2


def test_pca_frames_stack_is_equivariant():
    from tensorframes_core.frames import pca_frames

    torch.manual_seed(0)
    pos, x = _inputs(seed=7)
    fn = _model_fn(Stack("edge", "1x1n"), as_reps(IN_REPS), as_reps("1x1n"), lambda p: pca_frames(p, k=8))
    assert_equivariant(fn, pos, x, in_reps=IN_REPS, out_reps="1x1n", atol=1e-9, generator=_gen(2))


def test_irreps_as_local_reps_are_equivariant():
    torch.manual_seed(0)
    pos, _ = _inputs()
    x = torch.randn(N, 15, dtype=DT, generator=_gen(4))
    conv = PointConv("4x0e+2x1o+1x2e", 3)
    fn = _model_fn(lambda f, p, ei, fr: conv(f, p, ei, fr), as_reps("4x0e+2x1o+1x2e"), as_reps("1x1o"),
                   _equivariant_frames(pos))
    assert_equivariant(fn, pos, x, in_reps="4x0e+2x1o+1x2e", out_reps="1x1o", atol=1e-9, generator=_gen(2))


# --- errors and state ---------------------------------------------------------------------------


def test_undeclared_or_misspelled_names_raise():
    with pytest.raises(ValueError, match="never read"):
        make_equivariant(EdgeConv(_mlp(6, 3)), local={"h": "1x1n"})
    with pytest.raises(ValueError, match="never read"):

        class Typo(TFMessagePassing):
            def __init__(self):
                super().__init__(local={"features": "1x1n"})

            def message(self, feature_j):
                return feature_j

        Typo()
    with pytest.raises(ValueError, match="not 'x_j'"):
        make_equivariant(EdgeConv(_mlp(6, 3)), local={"x_j": "1x1n"})
    with pytest.raises(ValueError, match="pos"):
        make_equivariant(PointNetConv(_mlp(6, 3)), local={"x": "1x1n"})
    with pytest.raises(ValueError, match="edge_update"):
        make_equivariant(GATv2Conv(3, 3), local={"x": "1x1n"})
    with pytest.raises(ValueError, match="both"):
        SumConv("1x1n", global_={"x": "1x1n"})


def test_declared_but_not_passed_raises_at_first_call():
    class TwoInputs(TFMessagePassing):
        def __init__(self):
            super().__init__(local={"x": "1x1n", "v": "1x1n"})

        def message(self, x_j, v_j):
            return x_j + v_j

    reps, x, R, _, edge_index = _probe_data("1x1n")
    with pytest.raises(ValueError, match="declared"):
        TwoInputs().propagate(edge_index, frames=R, x=x)


def test_missing_frames_and_bad_inputs_raise():
    reps, x, R, _, edge_index = _probe_data("1x1n")
    with pytest.raises(ValueError, match="frames"):
        SumConv(reps)(x, edge_index, None)
    wrapped = make_equivariant(SimpleConv(), local={"x": reps})
    with pytest.raises(ValueError, match="frames"):
        wrapped(x, edge_index)
    with pytest.raises(ValueError, match="wrapper"):
        wrapped.layer(x, edge_index)  # the patched layer cannot be used without frames
    with pytest.raises(ValueError, match="frames for a node set"):
        SumConv(reps)(x, edge_index, R[:5])
    for frame_transform in (True, False):
        with pytest.raises(ValueError, match="dim"):
            SumConv("1x2n", frame_transform=frame_transform)(x, edge_index, R)
    with pytest.raises(ValueError):
        SumConv("3xbanana")
    with pytest.raises(ValueError):
        make_equivariant(SimpleConv(), local={"x": "1x9z"})
    with pytest.raises(ValueError, match="already wrapped"):
        make_equivariant(wrapped.layer, local={"x": reps})


def _per_call_tensors(module):
    """Tensor attributes outside _parameters/_buffers, i.e. state left behind by a forward call."""
    return [f"{type(m).__name__}.{k}" for m in module.modules() for k, v in vars(m).items()
            if isinstance(v, torch.Tensor)]


@pytest.mark.parametrize("kind", ["edge", "tf"])
def test_no_tensors_left_on_modules_and_gradients_flow(kind):
    torch.manual_seed(0)
    pos, x = _inputs()
    stack = Stack(kind, "1x1n")
    frames = _equivariant_frames(pos)(pos).requires_grad_()
    out = stack(to_local(x, IN_REPS, frames), pos, knn_graph(pos, 5), frames)
    out.square().sum().backward()
    assert _per_call_tensors(stack) == []
    assert wrap._CALL.current is None
    with pytest.raises(ValueError):  # a failing call leaves nothing behind either
        stack(to_local(x, IN_REPS, frames)[:, :5], pos, knn_graph(pos, 5), frames)
    assert wrap._CALL.current is None and _per_call_tensors(stack) == []
    assert all(p.grad is not None for p in stack.parameters())
    assert frames.grad is not None and frames.grad.abs().max() > 0  # gradients reach the frames


@pytest.mark.parametrize("name", __import__("tensorframes_core.nn.layer_zoo", fromlist=["LAYERS"]).LAYERS)
def test_layer_zoo_wrapped_is_equivariant_and_plain_is_not(name):
    """The explorer's "any PyG layer" numbers: fresh O(3) elements with a reflection, a noisy box."""
    from tensorframes_core.nn.layer_zoo import layer_equivariance

    seed = int(torch.randint(0, 10_000, ()))
    g = _gen(seed)
    pos = (torch.rand(200, 3, dtype=DT, generator=g) - 0.5) * torch.tensor([2.0, 1.0, 0.5], dtype=DT)
    Q = random_orthogonal(dtype=DT, generator=g) * torch.tensor([-1.0, 1.0, 1.0], dtype=DT)[:, None]
    errors = layer_equivariance(name, pos, Q, seed=seed)
    assert errors["plain"] > 1e-2 and errors["tensor frames"] < 1e-9, (seed, errors)
