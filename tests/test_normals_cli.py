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
    assert main(["normals", str(path), "--out", str(tmp_path / "v.ply"), "--model-points", "2"]) == 2
    assert "model_points must be at least 3" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xyz", "scan.xyz"]


@pytest.fixture
def coloured_scan(tmp_path):
    """A vertex-only PLY with red/green/blue written by trimesh (not by this package)."""
    import trimesh

    cloud = shapes.make("sphere", 500, seed=1)
    rgb = np.random.default_rng(0).integers(0, 256, (500, 3), dtype=np.uint8)
    path = tmp_path / "coloured.ply"
    trimesh.PointCloud(cloud.pos.numpy(), colors=rgb).export(path)
    return path, cloud, rgb


def test_model_points_sets_what_the_model_sees(scan, tmp_path):
    """``--model-points M``: the model's normals on every ceil(N / M)-th point, the nearest one's elsewhere."""
    path, _ = scan
    normals = {}
    for seen in ("1000", "0"):
        out = tmp_path / f"n{seen}.npz"
        assert main(["normals", str(path), "--out", str(out), "--model-points", seen, "--quiet"]) == 0
        normals[seen] = load_point_cloud(out).normals
    pos = load_point_cloud(path).pos
    nearest = torch.cdist(pos, pos[::3]).argmin(1)
    torch.testing.assert_close(normals["1000"], normals["1000"][::3][nearest])
    assert not torch.allclose(normals["0"], normals["1000"])


@pytest.mark.parametrize("ext", WRITE_FORMATS)
def test_colours_are_kept_in_every_format(coloured_scan, ext, tmp_path):
    path, cloud, rgb = coloured_scan
    assert load_point_cloud(path).colors.numpy().tolist() == rgb.tolist()
    out = tmp_path / f"normals{ext}"
    assert main(["normals", str(path), "--out", str(out), "--method", "pca", "--quiet"]) == 0
    back = load_point_cloud(out)
    torch.testing.assert_close(back.pos, cloud.pos, atol=1e-6, rtol=1e-6)
    assert back.colors is not None and back.colors.numpy().tolist() == rgb.tolist()


def test_pcd_rgb_packed_as_pcl_does(tmp_path):
    """PCL's ascii PCD with an ``rgb`` field of TYPE U (0x00RRGGBB) and one of TYPE F (the same bits)."""
    pos = np.random.default_rng(1).random((20, 3))
    rgb = np.random.default_rng(2).integers(0, 256, (20, 3), dtype=np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    head = "VERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F {}\nCOUNT 1 1 1 1\nWIDTH 20\nHEIGHT 1\nPOINTS 20\n"
    text = "".join(f"{x} {y} {z} {c}\n" for (x, y, z), c in zip(pos, packed))
    (tmp_path / "u.pcd").write_text(head.format("U") + "DATA ascii\n" + text)
    assert load_point_cloud(tmp_path / "u.pcd").colors.numpy().tolist() == rgb.tolist()
    body = np.hstack([pos.astype("<f4"), packed.astype("<u4").view("<f4")[:, None]]).tobytes()
    (tmp_path / "f.pcd").write_bytes((head.format("F") + "DATA binary\n").encode() + body)
    assert load_point_cloud(tmp_path / "f.pcd").colors.numpy().tolist() == rgb.tolist()


def test_the_command_as_a_process_keeps_its_output_status_and_messages(scan, tmp_path):
    """``normals`` ends its process without the interpreter's teardown: the file must be complete, the
    exit status and the error message must come through."""
    import subprocess
    import sys

    path, cloud = scan
    out = tmp_path / "process.ply"
    command = [sys.executable, "-m", "tensorframes_core.cli", "normals", str(path), "--method", "pca"]
    done = subprocess.run(command + ["--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    back = load_point_cloud(out)
    torch.testing.assert_close(back.pos, cloud.pos, atol=1e-6, rtol=1e-6)
    assert back.normals.norm(dim=-1).sub(1).abs().max() < 1e-5
    failed = subprocess.run(command + ["--out", str(tmp_path / "x.obj")], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2 and "cannot write '.obj'" in failed.stderr
    assert not (tmp_path / "x.obj").exists()


@pytest.mark.parametrize("ext", WRITE_FORMATS)
def test_a_geo_referenced_scan_keeps_its_coordinates_and_gets_its_normals(ext, tmp_path):
    """UTM-like metres (5.4e6: float32 would round them to 0.5 m) are read in float64, written back as read,
    and the normals are those of the surface (a sloped ground patch, 1 cm noise)."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 20, (4000, 2))
    z = 0.1 * xy[:, 0] + 0.01 * rng.normal(size=4000)
    pos = np.column_stack([xy[:, 0] + 512345.678, xy[:, 1] + 5401234.567, z + 312.5]).round(4)
    source = tmp_path / "utm.xyz"
    np.savetxt(source, pos, fmt="%.4f")
    out = tmp_path / f"normals{ext}"
    assert main(["normals", str(source), "--out", str(out), "--method", "pca", "--quiet"]) == 0
    back = load_point_cloud(out, dtype=None)
    assert back.pos.dtype == torch.float64
    np.testing.assert_array_equal(back.pos.numpy(), pos)  # every coordinate as read
    exact = torch.tensor([-0.1, 0.0, 1.0]) / np.hypot(0.1, 1.0)
    angle = torch.rad2deg(torch.arccos((back.normals @ exact).abs().clamp(max=1)))
    assert angle.square().mean().sqrt() < 3  # degrees; float32 coordinates gave ~87 (every normal along y)
