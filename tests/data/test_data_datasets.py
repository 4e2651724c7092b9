"""Dataset classes on tiny fixture trees written here (the real data cannot be downloaded)."""
import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from tensorframes_core.data import InputError, ModelNet40Normals, PCPNet, PointCloud, ProceduralNormals, shapes


def shape_table(seed: int, n: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pos = rng.normal(size=(n, 3))
    normals = rng.normal(size=(n, 3))
    return np.hstack([pos, normals / np.linalg.norm(normals, axis=1, keepdims=True)])


@pytest.fixture
def modelnet(tmp_path):
    root = tmp_path / "modelnet40_normal_resampled"
    names = {"train": ["airplane_0001", "night_stand_0002"], "test": ["airplane_0003"]}
    for i, name in enumerate(names["train"] + names["test"]):
        folder = root / name.rsplit("_", 1)[0]
        folder.mkdir(parents=True, exist_ok=True)
        np.savetxt(folder / f"{name}.txt", shape_table(i), delimiter=",", fmt="%.6f")
    for split, listed in names.items():
        (root / f"modelnet40_{split}.txt").write_text("\n".join(listed) + "\n")
    (root / "modelnet40_shape_names.txt").write_text("airplane\nbathtub\nnight_stand\n")
    return tmp_path


def test_modelnet40_reads_splits_classes_and_first_points(modelnet):
    train = ModelNet40Normals(modelnet, "train", n_points=8)
    assert len(train) == 2 and train.classes == ["airplane", "bathtub", "night_stand"]
    assert train.labels == [0, 2]
    cloud = train[1]
    expected = shape_table(1)[:8]
    np.testing.assert_allclose(cloud.pos.numpy(), expected[:, :3], atol=1e-5)
    np.testing.assert_allclose(cloud.normals.numpy(), expected[:, 3:], atol=1e-5)
    direct = ModelNet40Normals(modelnet / "modelnet40_normal_resampled", "test", n_points=8)
    assert len(direct) == 1 and direct[0].name == "airplane_0003"
    random = ModelNet40Normals(modelnet, "train", n_points=8, sample="random", seed=3)
    assert len(random[0]) == 8 and torch.equal(random[0].pos, random[0].pos)
    data = ModelNet40Normals(modelnet, "train", n_points=8, transform=PointCloud.to_data)[0]
    assert data.pos.shape == data.normal.shape == (8, 3)
    with pytest.raises(IndexError):
        train[2]


def test_modelnet40_missing_files_say_what_was_expected(modelnet, tmp_path):
    with pytest.raises(InputError, match="modelnet40_train.txt"):
        ModelNet40Normals(tmp_path / "nowhere")
    (modelnet / "modelnet40_normal_resampled" / "airplane" / "airplane_0001.txt").unlink()
    with pytest.raises(InputError, match="airplane_0001.txt"):
        ModelNet40Normals(modelnet, "train")
    with pytest.raises(InputError, match="split"):
        ModelNet40Normals(modelnet, "val")


@pytest.fixture
def pcpnet(tmp_path):
    for i, name in enumerate(["fandisk100k", "fandisk100k_noise_white_1.00e-02"]):
        table = shape_table(10 + i, n=30)
        np.savetxt(tmp_path / f"{name}.xyz", table[:, :3])
        np.savetxt(tmp_path / f"{name}.normals", table[:, 3:])
    (tmp_path / "testset_all.txt").write_text("fandisk100k\nfandisk100k_noise_white_1.00e-02\n\n")
    return tmp_path


def test_pcpnet_reads_points_and_normals(pcpnet):
    ds = PCPNet(pcpnet)
    assert len(ds) == 2 and ds[1].name == "fandisk100k_noise_white_1.00e-02"
    np.testing.assert_allclose(ds[0].normals.numpy(), shape_table(10, n=30)[:, 3:], atol=1e-6)
    sub = PCPNet(pcpnet, n_points=12, seed=1)[0]
    full = ds[0]
    idx = [int(np.argmin((full.pos - p).norm(dim=1))) for p in sub.pos]
    assert len(sub) == 12 and torch.equal(sub.normals, full.normals[idx])


def test_pcpnet_missing_files(pcpnet):
    with pytest.raises(InputError, match="testset_other.txt"):
        PCPNet(pcpnet, list_file="testset_other.txt")
    with pytest.raises(InputError, match="PCPNet folder"):
        PCPNet(pcpnet / "missing")
    (pcpnet / "fandisk100k.normals").unlink()
    with pytest.raises(InputError, match="fandisk100k.normals is missing"):
        PCPNet(pcpnet)


def test_procedural_dataset_matches_make_item_and_batches_with_pyg():
    ds = ProceduralNormals(4, 64, noise=0.006, seed=10, names=("torus", "box"), transform=PointCloud.to_data)
    assert len(ds) == 4
    torch.testing.assert_close(ds[3].pos, shapes.make("box", 64, 0.006, seed=13).pos)
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch.pos.shape == batch.normal.shape == (128, 3) and batch.num_graphs == 2
    with pytest.raises(InputError, match="unknown shapes"):
        ProceduralNormals(2, 64, names=("teapot",))
