"""Two-process data-parallel training with torchrun and the Gloo backend on the CPU."""
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from train_helpers import REPO, subprocess_env, tiny_args

from tensorframes_core.train import load_model, read_checkpoint, train
from tensorframes_core.train.checkpoint import weights_hash

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="needs torch.distributed with Gloo")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_train_in_step(tmp_path, tiny_config):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={free_port()}", "-m", "tensorframes_core.train", *tiny_args(run, 1)[1:]]
    proc = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained 1 epochs") == 1  # only rank 0 reports
    meta = read_checkpoint(run / "last.pt")["metadata"]
    assert meta["world_size"] == 2
    assert meta["command"].startswith("torchrun --nproc_per_node=2 -m tensorframes_core.train --arch gcn")
    rank0, rank1 = meta["rank_weights_sha256"]  # each rank hashed its own weights after the epoch
    assert rank0 == rank1 == meta["weights_sha256"]
    assert weights_hash(load_model(run).state_dict()) == rank0
    assert sorted(p.name for p in run.iterdir()) == ["last.pt", "last.pt.json"]  # rank 1 wrote nothing

    # 2 ranks x batch 2 with averaged gradients = one process with batch 4 (all 4 clouds in one step)
    train(tiny_config(batch_size=4, epochs=1, out=str(tmp_path / "single")))
    single = load_model(tmp_path / "single").state_dict()
    for name, value in load_model(run).state_dict().items():
        torch.testing.assert_close(value, single[name], atol=1e-5, rtol=1e-4)
