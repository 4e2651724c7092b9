"""Tiny training settings shared by the training tests (CPU, a few 64-point clouds, a one-layer GCN).

A uniquely named module (not ``conftest``), so ``from train_helpers import ...`` cannot pick up
another folder's conftest.
"""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHAPES = ("box", "gyroid", "twisted_box")  # the quickest procedural families to generate
TINY_SIZE = {"layers": 1, "hidden": "4x0n+2x1n", "k": 8}
TINY = dict(arch="gcn", mode="tensor_frames", frames="pca", size=TINY_SIZE, n_train=4, n_val=2, n_points=64,
            shapes=SHAPES, batch_size=2, device="cpu", progress=False)


def tiny_args(out, epochs=1, *extra):
    """``tensorframes train`` arguments for the TINY run."""
    return ["train", "--arch", "gcn", "--mode", "tensor_frames", "--frames", "pca",
            "--size", *(f"{k}={v}" for k, v in TINY_SIZE.items()), "--n-train", "4", "--n-val", "2",
            "--n-points", "64", "--shapes", ",".join(SHAPES), "--batch-size", "2", "--device", "cpu",
            "--epochs", str(epochs), "--out", str(out), "--quiet", *extra]


def subprocess_env():
    """Environment for child Python processes: the repo importable, one thread each (2 shared cores)."""
    return dict(os.environ, OMP_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
