"""In-process training runs (a one-layer GCN on four 64-point clouds), the CLI, evaluation and pretrained loading."""
import json
import shutil

import pytest
import torch
from torch import nn

from tensorframes_core.cli import main
from tensorframes_core.data import shapes
from tensorframes_core.models import build_model
from tensorframes_core.pretrained import available_pretrained, load_pretrained
from tensorframes_core.train import CheckpointError, TrainingError, evaluate, load_model, read_checkpoint, train
from tensorframes_core.train import loop
from tensorframes_core.train.checkpoint import weights_hash

from train_helpers import SHAPES, tiny_args


def test_cli_train_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_config, capsys):
    run = tmp_path / "cli"
    assert main(tiny_args(run, 1)) == 0
    model = load_model(run / "last.pt")
    meta = model.checkpoint_metadata
    assert meta["epoch"] == 1 and meta["command"].startswith("tensorframes train --arch gcn")
    assert "--epochs 1" in meta["command"] and meta["data"]["kind"] == "procedural" and meta["data"]["n_clouds"] == 4
    assert 0 <= meta["metrics"]["val"]["mean"] <= 90 and meta["config"]["layers"] == 1
    normals = model(shapes.make("box", 64, seed=5).to_data())
    assert normals.shape == (64, 3) and torch.isfinite(normals).all()

    assert main(tiny_args(run, 2)) == 2  # would overwrite the run
    assert "already holds a checkpoint" in capsys.readouterr().err
    assert main(tiny_args(run, 2, "--resume")) == 0
    meta = read_checkpoint(run / "last.pt")["metadata"]
    assert meta["epoch"] == 2 and [h["epoch"] for h in meta["history"]] == [1, 2]  # continued, not restarted
    assert read_checkpoint(run / "prev.pt")["metadata"]["epoch"] == 1

    straight = train(tiny_config(epochs=2))  # same settings, no interruption: the same weights, bit for bit
    assert straight["epochs"] == 2 and straight["skipped_steps"] == 0
    assert straight["weights_sha256"] == meta["weights_sha256"]

    assert main(tiny_args(run, 2, "--resume")) == 0  # nothing left to do
    assert read_checkpoint(run / "last.pt")["metadata"]["weights_sha256"] == meta["weights_sha256"]
    assert main(tiny_args(run, 3, "--resume", "--size", "layers=2")) == 2  # a different model
    assert "pass the same --arch/--mode/--frames/--size" in capsys.readouterr().err


def poison(monkeypatch, bad_step):
    """Make the model return NaN on training forward passes for which ``bad_step(i)`` holds (i = 0, 1, ...)."""
    def build(*args, **kwargs):
        model = build_model(*args, **kwargs)
        forward, calls = model.forward, []

        def poisoned(data, **kw):
            out = forward(data, **kw)
            if model.training:
                calls.append(1)
                if bad_step(len(calls) - 1):
                    return out * float("nan")
            return out
        model.forward = poisoned
        return model
    monkeypatch.setattr(loop, "build_model", build)


def test_nan_steps_are_skipped_and_counted(tiny_config, monkeypatch):
    poison(monkeypatch, lambda i: i in (1, 3, 4))  # 2 steps per epoch, 3 epochs; steps 3 and 4 in a row
    result = train(tiny_config(epochs=3, max_bad_steps=3))
    assert result["skipped_steps"] == 3 and [h["skipped_steps"] for h in result["history"]] == [1, 1, 1]
    ckpt = read_checkpoint(tiny_config().out + "/last.pt")
    assert ckpt["metadata"]["skipped_steps"] == 3
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values())


def test_repeated_nan_stops_without_a_poisoned_checkpoint(tiny_config, monkeypatch, capsys, tmp_path):
    poison(monkeypatch, lambda i: i >= 2)  # epoch 1 is fine, then every step fails
    with pytest.raises(TrainingError, match="3 consecutive steps with a non-finite"):
        train(tiny_config(epochs=4, max_bad_steps=3))
    last, prev = (read_checkpoint(f"{tiny_config().out}/{name}.pt")["metadata"] for name in ("last", "prev"))
    # epoch 2: both steps skipped (2 < 3 in a row), so its checkpoint holds epoch 1's weights; epoch 3 never saved
    assert (last["epoch"], prev["epoch"]) == (2, 1) and last["weights_sha256"] == prev["weights_sha256"]
    assert all(torch.isfinite(t).all() for t in load_model(tiny_config().out).state_dict().values())

    poison(monkeypatch, lambda i: True)
    run = tmp_path / "cli_nan"
    assert main(tiny_args(run, 2, "--max-bad-steps", "2")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stopped after 2 consecutive") and "Traceback" not in err
    assert not (run / "last.pt").exists()


class Constant(nn.Module):
    """Predicts +z everywhere: the crudest model that is not equivariant."""

    def forward(self, data):
        return torch.tensor([0.0, 0.0, 1.0]).expand(data.pos.shape[0], 3)


def test_pca_is_rotation_and_reflection_invariant_and_a_constant_is_not():
    small = dict(noise=(0.0, 0.006), n_clouds=3, n_points=256, names=SHAPES)
    results = evaluate(build_model("pca", "baseline", k=16), **small)
    assert set(results) == {(r, n) for r in ("none", "so3", "o3") for n in (0.0, 0.006)}
    for noise in (0.0, 0.006):
        for rot in ("so3", "o3"):
            for key in ("mean", "rms"):
                a, b = results[("none", noise)][key], results[(rot, noise)][key]
                assert abs(a - b) <= 0.01 * a, (rot, noise, key, a, b)
    assert results[("none", 0.006)]["mean"] > results[("none", 0.0)]["mean"]  # noise hurts PCA
    control = evaluate(Constant(), rotations=("none", "o3"), noise=(0.0,), n_clouds=2, n_points=256, names=("box",))
    assert abs(control[("none", 0.0)]["pct_5"] - control[("o3", 0.0)]["pct_5"]) > 10


def test_cli_eval_pca_best_k_json(tmp_path, capsys):
    out = tmp_path / "eval.json"
    argv = ["eval", "--arch", "pca", "--k", "4,12", "--rotations", "none,o3", "--noise", "0", "--n-clouds", "2",
            "--n-points", "128", "--shapes", "box,gyroid", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["model"] in ("pca k=4", "pca k=12") and f"best: {report['model']}" in text
    assert set(report["candidates"]) == {"pca k=4", "pca k=12"} and report["config"]["arch"] == "pca"
    assert [row["rotation"] for row in report["results"]] == ["none", "o3"] and "rms" in text
    assert main(argv[:-1]) == 0  # --json alone: JSON on stdout
    assert json.loads(capsys.readouterr().out)["model"] == report["model"]


@pytest.mark.parametrize("argv, message", [
    (["eval", "--checkpoint", "/no/such/model.pt"], "no checkpoint file at /no/such/model.pt"),
    (["eval", "--pretrained", "gcn/augment/learned"], "no pretrained gcn/augment/learned"),
    (["eval", "--pretrained", "gcn"], "expects ARCH/MODE/FRAMES"),
    (["eval", "--arch", "pca", "--rotations", "none,so2"], "unknown rotations"),
    (["train", "--data", "modelnet40", "--epochs", "1"], "needs --root"),
    (["train", "--size", "layers"], "key=value"),
    (["train", "--size", "depth=3", "--arch", "gcn"], "unknown size kwargs"),
    (["train", "--epochs", "0"], "epochs must be a positive integer"),
])
def test_cli_errors_are_clear(argv, message, tmp_path, capsys):
    argv = argv + (["--out", str(tmp_path / "run"), "--quiet"] if argv[0] == "train" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_cli_bad_checkpoint_file(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["eval", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: ") and "Traceback" not in err and len(err) < 400


def test_bench_slot(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "tensorframes_core.bench", None)
    assert main(["bench", "--anything"]) == 2
    assert "tensorframes_core/bench.py is missing" in capsys.readouterr().err


def test_export_and_pretrained(tmp_path, tiny_config, capsys):
    result = train(tiny_config(epochs=1))
    root = tmp_path / "checkpoints"
    assert main(["export", str(tmp_path / "run"), "--to", str(root)]) == 0
    target = root / "gcn_tensor_frames_pca.pt"
    assert read_checkpoint(target)["training"] is None  # weights and metadata only
    [entry] = available_pretrained(root)
    assert entry["name"] == "gcn_tensor_frames_pca" and entry["epoch"] == 1 and entry["metrics"]["val"]
    model = load_pretrained("gcn", "tensor_frames", "pca", root=root)
    assert weights_hash(model.state_dict()) == result["weights_sha256"] and not model.training
    with pytest.raises(CheckpointError, match="available: gcn/tensor_frames/pca"):
        load_pretrained("dgcnn", "tensor_frames", "pca", root=root)
    resumable = tmp_path / "from_export"
    resumable.mkdir()
    shutil.copy(target, resumable / "last.pt")
    with pytest.raises(ValueError, match="has no training state"):
        train(tiny_config(epochs=2, resume=True, out=str(resumable)))


def test_train_step_refuses_a_model_without_parameters():
    from tensorframes_core.models import build_model
    from tensorframes_core.train import TrainStep

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="no parameters to train"):
        TrainStep(build_model("pca", "tensor_frames", "pca"), optimizer)


def test_shapes_default_to_the_aligned_suite_and_take_suite_names(capsys):
    from tensorframes_core.cli import build_parser
    from tensorframes_core.train.config import TrainConfig

    parser = build_parser()
    assert TrainConfig().shapes == shapes.ALIGNED
    assert parser.parse_args(["eval", "--arch", "pca"]).shapes == list(shapes.ALIGNED)
    assert parser.parse_args(["train", "--shapes", "all"]).shapes == list(shapes.NAMES)
    assert parser.parse_args(["train", "--shapes", "chair,aligned"]).shapes[:2] == ["chair", "box"]
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--shapes", "teapot"])
    assert "unknown shape 'teapot'" in capsys.readouterr().err
