"""Installed like any package: a wheel built from this tree carries the checkpoints, and a fresh install
(outside the checkout) loads them and runs ``tensorframes normals``."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_the_checkpoints_and_runs_normals(tmp_path):
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(dist)], check=True,
                   cwd=tmp_path, timeout=300)
    wheel = next(dist.glob("*.whl"))
    subprocess.run(pip + ["install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    np.savetxt(tmp_path / "small.xyz", np.random.default_rng(0).normal(size=(300, 3)))
    env = {**os.environ, "PYTHONPATH": str(site)}
    check = ("import tensorframes_core as tf; from pathlib import Path; import sys; "
             f"assert Path(tf.__file__).is_relative_to({str(site)!r}), tf.__file__; "
             "tf.load_pretrained('dgcnn', 'tensor_frames', 'pca'); print(len(tf.pretrained.available_pretrained()))")
    shipped = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
    assert shipped.returncode == 0, shipped.stderr
    assert int(shipped.stdout.split()[-1]) == len(list((ROOT / "tensorframes_core" / "checkpoints").glob("*.pt")))
    for method in ("default", "dgcnn/tensor_frames/pca"):
        out = tmp_path / f"out_{method.replace('/', '_')}.ply"
        run = subprocess.run([sys.executable, "-m", "tensorframes_core.cli", "normals", "small.xyz", "--out", str(out),
                              "--method", method, "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr
        assert out.stat().st_size > 300 * 24
