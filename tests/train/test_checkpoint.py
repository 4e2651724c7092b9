import json
import pickle

import pytest
import torch

import tensorframes_core
from tensorframes_core.data import shapes
from tensorframes_core.train import checkpoint as ckpt_mod
from tensorframes_core.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_latest,
    load_model,
    read_checkpoint,
    save_checkpoint,
    sidecar,
)


@pytest.fixture
def cloud():
    return shapes.make("box", 64, seed=3).to_data()


def test_round_trip(tmp_path, tiny_model, cloud):
    path = tmp_path / "m.pt"
    opt = torch.optim.Adam(tiny_model.parameters())
    extra = {"command": "tensorframes train x", "metrics": {"a": 1.0}}
    meta = save_checkpoint(path, tiny_model, opt, epoch=3, metadata=extra)
    raw = torch.load(path, weights_only=True)  # plain weights-only loading works
    assert json.loads(raw["metadata"]) == meta == json.loads(sidecar(path).read_text())
    assert meta["epoch"] == 3 and meta["config"] == tiny_model.config
    assert meta["version"] == tensorframes_core.__version__
    assert meta["arch"] == "gcn" and meta["command"] == "tensorframes train x" and "created" in meta
    state, loaded_meta = load_checkpoint(path)
    assert loaded_meta == meta and set(state) == set(tiny_model.state_dict())
    model = load_model(path)
    assert not model.training and model.checkpoint_metadata["weights_sha256"] == meta["weights_sha256"]
    torch.testing.assert_close(model(cloud), tiny_model.eval()(cloud))
    assert read_checkpoint(path)["training"]["optimizer"]["param_groups"]


def test_interrupted_write_keeps_the_old_file(tmp_path, tiny_model, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, tiny_model, epoch=1)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError("no space left on device")

    monkeypatch.setattr(ckpt_mod.os, "fsync", disk_full)
    with torch.no_grad():
        next(tiny_model.parameters()).add_(1.0)
    with pytest.raises(OSError, match="no space"):
        save_checkpoint(path, tiny_model, epoch=2, previous=tmp_path / "prev.pt")
    monkeypatch.undo()
    assert path.read_bytes() == before and load_checkpoint(path)[1]["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "last.pt.json"]  # no temp file left behind


def test_truncated_and_corrupted_files_are_refused(tmp_path, tiny_model):
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny_model)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupted"):
            read_checkpoint(tmp_path / "cut.pt")
    weight = next(iter(tiny_model.state_dict().values())).contiguous().numpy().tobytes()
    at = data.find(weight)
    assert at > 0
    flipped = bytearray(data)
    flipped[at + 1] ^= 0xFF  # one bit pattern inside the stored weights
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="SHA-256|corrupted"):
        read_checkpoint(tmp_path / "flip.pt")
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        read_checkpoint(tmp_path / "missing.pt")


def test_altered_weights_fail_the_hash(tmp_path, tiny_model):
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny_model)
    payload = torch.load(path, weights_only=True)
    name = next(iter(payload["model"]))
    payload["model"][name] = payload["model"][name] + 1e-3
    torch.save(payload, path)  # a valid file whose weights no longer match the stored hash
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(path)


class Payload:
    """Unpickling this creates a file: the shape of an attack through a pickled checkpoint."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return open, (self.target, "w")


def test_pickle_payload_is_refused_without_side_effect(tmp_path, tiny_model):
    marker = tmp_path / "pwned"
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control)))
    assert control.exists()  # the payload is live: unpickled normally, it runs
    save_checkpoint(tmp_path / "good.pt", tiny_model)
    good = torch.load(tmp_path / "good.pt", weights_only=True)
    files = {
        "zip.pt": lambda f: torch.save(Payload(marker), f),
        "raw.pt": lambda f: f.write(pickle.dumps(Payload(marker), protocol=2)),
        "inside.pt": lambda f: torch.save({**good, "metadata": Payload(marker)}, f),
        "legacy.pt": lambda f: torch.save({**good, "extra": Payload(marker)}, f, _use_new_zipfile_serialization=False),
    }
    for name, write in files.items():
        with open(tmp_path / name, "wb") as f:
            write(f)
        for load in (read_checkpoint, load_model):
            with pytest.raises(CheckpointError, match="refused|not a readable"):
                load(tmp_path / name)
        assert not marker.exists(), name


def test_previous_checkpoint_is_the_fallback(tmp_path, tiny_model):
    last, prev = tmp_path / "last.pt", tmp_path / "prev.pt"
    save_checkpoint(last, tiny_model, epoch=1, previous=prev)
    assert not prev.exists()
    save_checkpoint(last, tiny_model, epoch=2, previous=prev)
    assert read_checkpoint(prev)["metadata"]["epoch"] == 1 and json.loads(sidecar(prev).read_text())["epoch"] == 1
    assert load_latest(tmp_path)[0]["metadata"]["epoch"] == 2
    last.write_bytes(last.read_bytes()[:100])  # killed while writing without atomic replace, or disk damage
    with pytest.warns(RuntimeWarning, match="falling back"):
        ckpt, path = load_latest(tmp_path)
    assert path == prev and ckpt["metadata"]["epoch"] == 1
    with pytest.warns(RuntimeWarning):
        assert load_model(tmp_path).checkpoint_metadata["epoch"] == 1
    last.unlink()  # killed between moving last -> prev and moving the new file in
    with pytest.warns(RuntimeWarning):
        assert load_latest(tmp_path)[1] == prev
    prev.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning), pytest.raises(CheckpointError):
        load_latest(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        load_latest(tmp_path / "empty")


def rewrite_metadata(path, **changes):
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["metadata"])
    meta.update(changes)
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, path)


@pytest.mark.parametrize("changes, message", [
    ({"arch": "resnet"}, "arch 'resnet' is unknown"),
    ({"mode": "magic"}, "mode 'magic' is unknown"),
    ({"version": "7.0.0"}, "incompatible"),
    ({"config": {"arch": "gcn", "mode": "tensor_frames", "frames": "pca", "depth": 3}}, "does not take"),
    ({"frames": "3nn"}, "config does not match"),
])
def test_bad_metadata_is_refused_before_building(tmp_path, tiny_model, monkeypatch, changes, message):
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny_model)
    rewrite_metadata(path, **changes)

    def no_build(*args, **kwargs):
        raise AssertionError("build_model called on an invalid checkpoint")

    monkeypatch.setattr(ckpt_mod, "build_model", no_build)
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_foreign_files_are_refused(tmp_path):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a tensorframes checkpoint"):
        read_checkpoint(tmp_path / "plain.pt")
    payload = {"format": ckpt_mod.FORMAT, "format_version": 1, "metadata": "{not json", "model": {}}
    torch.save(payload, tmp_path / "badjson.pt")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_checkpoint(tmp_path / "badjson.pt")
