"""``tensorframes normals``: every point kept in order, each output format read back, no partial file on error."""
import numpy as np
import pytest
import torch

from tensorframes_core.cli import main
from tensorframes_core.data import load_point_cloud, shapes
from tensorframes_core.data.writers import WRITE_FORMATS


@pytest.fixture
def scan(tmp_path):
    cloud = shapes.make("torus", 3000, noise=0.002, seed=4)
    path = tmp_path / "scan.xyz"
    np.savetxt(path, cloud.pos.numpy())
    return path, cloud


@pytest.mark.parametrize("ext", WRITE_FORMATS)
def test_every_format_round_trips_in_input_order(scan, ext, tmp_path):
    path, cloud = scan
    out = tmp_path / f"normals{ext}"
    assert main(["normals", str(path), "--out", str(out), "--orient", "consistent", "--quiet"]) == 0
    back = load_point_cloud(out)
    torch.testing.assert_close(back.pos, cloud.pos, atol=1e-6, rtol=1e-6)  # every point, same order
    assert back.normals is not None
    assert ((back.normals * cloud.normals).sum(-1).abs() > 0.95).float().mean() > 0.95


def test_bad_input_or_output_leaves_no_file(scan, tmp_path, capsys):
    path, _ = scan
    assert main(["normals", str(path), "--out", str(tmp_path / "x.obj")]) == 2
    assert "cannot write '.obj'" in capsys.readouterr().err
    bad = tmp_path / "bad.xyz"
    bad.write_text("1 2 nan\n" * 20)
    assert main(["normals", str(bad), "--out", str(tmp_path / "y.ply")]) == 2
    assert main(["normals", str(path), "--out", str(tmp_path / "z.ply"), "--orient", "up"]) == 2
    assert main(["normals", str(path), "--out", str(tmp_path / "no" / "w.ply")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xyz", "scan.xyz"]
