"""Real-mesh evaluation: PCPNet conventions, per mesh and overall, the CLI path, bad folders."""
import json

import numpy as np
import pytest
import torch

from tensorframes_core.cli import main
from tensorframes_core.data import InputError
from tensorframes_core.data.meshes import benchmark_cloud, mesh_files, read_mesh
from tensorframes_core.models import build_model
from tensorframes_core.models.jet import JetNormals
from tensorframes_core.train.mesh_eval import density_k_grid, evaluate_meshes


@pytest.fixture(scope="module")
def mesh_dir(tmp_path_factory):
    import trimesh

    root = tmp_path_factory.mktemp("meshes")
    trimesh.creation.box(extents=(2.0, 1.0, 0.5)).export(root / "box.stl")
    trimesh.creation.icosphere(subdivisions=3, radius=3.0).export(root / "ball.ply")
    (root / "sub").mkdir()
    trimesh.creation.cylinder(radius=0.5, height=2.0, sections=32).export(root / "sub" / "can.obj")
    (root / "notes.txt").write_text("not a mesh")
    return root


def test_clouds_follow_the_pcpnet_conventions(mesh_dir):
    vertices, faces = read_mesh(mesh_dir / "ball.ply")
    clean = benchmark_cloud(vertices, faces, 500, 0.0, "uniform", seed=1)
    extent = clean.pos.max(0).values - clean.pos.min(0).values
    assert abs(float(extent.norm()) - 1.0) < 0.05  # unit bounding-box diagonal (of the samples: ~ of the mesh)
    assert float(clean.pos.mean(0).abs().max()) < 0.02  # centred
    assert torch.allclose(clean.normal.norm(dim=-1), torch.ones(500))
    noisy = benchmark_cloud(vertices, faces, 500, 0.012, "uniform", seed=1)
    assert 0.008 < float((noisy.pos - clean.pos).std()) < 0.016  # 1.2% of the diagonal
    for density in ("gradient", "striped"):
        cloud = benchmark_cloud(vertices, faces, 700, 0.0, density, seed=2)
        assert cloud.pos.shape == (700, 3)
    again = benchmark_cloud(vertices, faces, 500, 0.012, "uniform", seed=1)
    assert torch.equal(again.pos, noisy.pos)  # seeded


def test_per_mesh_and_overall_and_rotations(mesh_dir):
    assert [p.name for p in mesh_files(mesh_dir)] == ["ball.ply", "box.stl", "can.obj"]
    results = evaluate_meshes(build_model("pca", "baseline", k=16), mesh_dir, n_points=400, noise=(0.0, 0.006),
                              rotations=("none", "o3"))
    assert set(results) == {(r, n, "uniform") for r in ("none", "o3") for n in (0.0, 0.006)}
    row = results[("none", 0.0, "uniform")]
    assert set(row["per_mesh"]) == {"ball", "box", "can"}
    assert abs(row["rms"] - np.mean([m["rms"] for m in row["per_mesh"].values()])) < 1e-9
    assert abs(row["rms"] - results[("o3", 0.0, "uniform")]["rms"]) < 1e-3  # PCA is equivariant
    assert results[("none", 0.006, "uniform")]["rms"] > row["rms"]
    jet = evaluate_meshes(JetNormals(k=24), mesh_dir, n_points=400, noise=(0.0,), rotations=("none",))
    assert jet[("none", 0.0, "uniform")]["per_mesh"]["ball"]["rms"] < row["per_mesh"]["ball"]["rms"]


def test_cli_meshes(mesh_dir, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["eval", "--data", "meshes", "--root", str(mesh_dir), "--arch", "jet", "--n-points", "300",
                 "--noise", "0", "--rotations", "none", "--densities", "uniform,striped", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["model"].startswith("jet k=") and len(report["candidates"]) == len(density_k_grid(300))
    assert {r["density"] for r in report["results"]} == {"uniform", "striped"}
    assert "PGP5" in capsys.readouterr().out


def test_bad_folders_and_options(tmp_path, mesh_dir):
    with pytest.raises(InputError, match="no mesh files"):
        mesh_files(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        mesh_files(tmp_path / "missing")
    (tmp_path / "broken.ply").write_bytes(b"ply\nnonsense")
    with pytest.raises(InputError, match="broken.ply"):
        read_mesh(tmp_path / "broken.ply")
    assert main(["eval", "--data", "meshes", "--arch", "pca"]) == 2
    assert main(["eval", "--data", "meshes", "--root", str(mesh_dir), "--arch", "pca", "--densities", "wavy"]) == 2


def test_the_shipped_corpus_reads_and_its_splits_are_disjoint():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "assets" / "meshes"
    splits = {split: {p.stem for p in mesh_files(root / split)} for split in ("train", "val", "test")}
    assert all(splits.values()) and not (splits["train"] & splits["test"]) and not (splits["val"] & splits["test"])
    sources = (root / "SOURCES.md").read_text()
    for split, names in splits.items():
        for name in names:
            vertices, faces = read_mesh(root / split / f"{name}.ply")
            assert len(faces) <= 12_000 and f"{split}/{name}.ply" in sources
