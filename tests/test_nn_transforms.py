"""to_local / to_global / frame_change against rho(R) built by the reps themselves."""
import pytest
import torch

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.frames import Frames
from tensorframes_core.nn import frame_change, relative_frames, to_global, to_local
from tensorframes_core.reps import as_reps

SPECS = ["2x0n+1x1n+1x2n", "1x0p+2x1p", "4x0e+2x1o+1x2e"]


def _data(spec, n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    reps = as_reps(spec, 3)
    R = random_orthogonal(n, 3, dtype=torch.float64, generator=g)
    x = torch.randn(n, reps.dim, dtype=torch.float64, generator=g)
    return reps, R, x


@pytest.mark.parametrize("spec", SPECS)
def test_to_local_is_rho_of_frame_and_to_global_inverts_it(spec):
    reps, R, x = _data(spec)
    local = to_local(x, reps, R)
    torch.testing.assert_close(local, (reps.rho(R) @ x.unsqueeze(-1)).squeeze(-1), rtol=0, atol=1e-12)
    torch.testing.assert_close(to_global(local, reps, R), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(to_local(x, spec, R), local)  # spec strings are parsed


@pytest.mark.parametrize("spec", SPECS)
def test_frame_change_is_rho_of_relative_frame(spec):
    reps, R_src, x = _data(spec, seed=1)
    _, R_dst, _ = _data(spec, seed=2)
    expected = (reps.rho(R_dst @ R_src.transpose(-1, -2)) @ x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(frame_change(x, reps, R_src, R_dst), expected, rtol=0, atol=1e-12)
    # moving local features from frame j to frame i == reading the global feature in frame i
    torch.testing.assert_close(frame_change(to_local(x, reps, R_src), reps, R_src, R_dst),
                               to_local(x, reps, R_dst), rtol=0, atol=1e-12)


def test_relative_frames_and_extra_axes():
    reps, R_src, x = _data("1x1n+1x2n", seed=3)
    _, R_dst, _ = _data("1x1n", seed=4)
    torch.testing.assert_close(relative_frames(R_src, R_dst) @ R_src, R_dst)
    heads = torch.stack([x, 2 * x], dim=1)  # (E, heads, dim), as in GATConv
    moved = frame_change(heads, reps, R_src, R_dst)
    torch.testing.assert_close(moved[:, 1], 2 * frame_change(x, reps, R_src, R_dst))


def test_frames_object_and_shape_errors():
    reps, R, x = _data("1x1n")
    torch.testing.assert_close(to_local(x, reps, Frames(R)), to_local(x, reps, R))
    with pytest.raises(ValueError, match="dim"):
        to_local(x[:, :2], reps, R)
    with pytest.raises(ValueError, match="rows"):
        to_local(x[:3], reps, R)
    with pytest.raises(ValueError):
        to_local(x, "3x7q", R)
