"""A training process killed with SIGKILL mid-run resumes from its last complete checkpoint."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from train_helpers import REPO, subprocess_env, tiny_args

from tensorframes_core.train import load_latest, load_model, train

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def test_sigkill_then_resume(tmp_path, tiny_config):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "tensorframes_core.cli", *tiny_args(run, 10_000)], cwd=REPO,
                            env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "last.pt").exists():  # poll: the first checkpoint appears after imports and one epoch
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # somewhere in epoch 2+ (or while writing its checkpoint)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    done = load_latest(run)[0]["metadata"]["epoch"]
    assert done >= 1
    result = train(tiny_config(out=str(run), epochs=done + 1, resume=True))
    assert not list(run.glob(".*.tmp"))  # what a kill mid-write leaves is cleaned up
    assert result["epochs"] == done + 1 and [h["epoch"] for h in result["history"]] == list(range(1, done + 2))
    model = load_model(run)
    assert model.checkpoint_metadata["epoch"] == done + 1
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
