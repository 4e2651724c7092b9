"""A model over a large cloud in tiles gives every point its one-pass output (flat faces and two objects)."""
import numpy as np
import pytest
import torch
import trimesh

from float_tolerance import tol
from tensorframes_core.data.formats import sample_mesh
from tensorframes_core.models import build_model
from tensorframes_core.normals.tiles import can_tile, tiled_normals


def box_and_ball(n, dtype):
    """A 2 x 1 x 0.5 box (flat faces: the frames need the whole cloud's context) and a ball beside it."""
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    ball = trimesh.creation.icosphere(3)
    a, _ = sample_mesh(np.asarray(box.vertices), np.asarray(box.faces), n // 2, seed=0)
    b, _ = sample_mesh(np.asarray(ball.vertices) * 0.5 + 3.0, np.asarray(ball.faces), n - n // 2, seed=1)
    return torch.from_numpy(np.concatenate([a, b])).to(dtype)


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_tiles_equal_one_pass(dtype, workers):
    torch.manual_seed(int(torch.randint(0, 10_000, ())))
    model = build_model("multiscale", "tensor_frames", layers=2, hidden="4x0n+2x1n+1x2n", ref_points=500)
    model = model.to(dtype).eval()
    pos = box_and_ball(4000, dtype)
    with torch.no_grad():
        whole = model(pos)
    threads = torch.get_num_threads()
    tiles = tiled_normals(model, pos, tile=500, workers=workers)  # 8 tiles, each grown by 3 hops
    assert torch.get_num_threads() == threads  # restored after the tiles' threads
    # float64: the same arithmetic up to summation order; float32: rounding of the search's distances
    # (float64 in the KD-tree) through the network, bounded by the frames' margins (eps^(2/3))
    atol = tol(dtype, ops=1e3) if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(tiles, whole, atol=atol, rtol=0)


def test_only_bounded_models_tile():
    assert can_tile(build_model("multiscale", "baseline"))
    assert not can_tile(build_model("multiscale", "tensor_frames", "learned"))
    assert not can_tile(build_model("dgcnn", "tensor_frames"))  # feature-space graphs reach the whole cloud
    with pytest.raises(ValueError, match="cannot run in tiles"):
        tiled_normals(build_model("dgcnn", "tensor_frames"), torch.randn(100, 3))
