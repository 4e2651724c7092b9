"""Pretrained normal estimators shipped as package data, ``tensorframes_core/checkpoints/<arch>_<mode>_<frames>.pt``
(read through ``importlib.resources``, so an installed wheel has them too; never downloaded).

Make one with ``tensorframes train ... --out runs/x`` then ``tensorframes export runs/x``.

>>> isinstance(available_pretrained(), list)
True
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
from torch import nn

CHECKPOINT_DIR = Path(str(resources.files("tensorframes_core") / "checkpoints"))
FLAGSHIP = ("multiscale", "tensor_frames", "pca")  # the estimator for users' data: load_pretrained()


def pretrained_name(arch: str, mode: str, frames: str) -> str:
    """The file stem of a pretrained model.

    >>> pretrained_name("dgcnn", "tensor_frames", "pca")
    'dgcnn_tensor_frames_pca'
    """
    return f"{arch}_{mode}_{frames}"


def available_pretrained(root: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """The pretrained models in ``root`` (default :data:`CHECKPOINT_DIR`), from their sidecar JSON:
    ``name``, ``path``, ``arch``, ``mode``, ``frames``, ``epoch``, ``metrics``, ``data``, ``created``."""
    from tensorframes_core.train.checkpoint import sidecar  # the training stack: loaded when needed

    folder = Path(root) if root is not None else CHECKPOINT_DIR
    found = []
    for path in sorted(folder.glob("*.pt")):
        try:
            meta = json.loads(sidecar(path).read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict):
            continue
        found.append({"name": path.stem, "path": str(path),
                      **{k: meta.get(k) for k in ("arch", "mode", "frames", "epoch", "metrics", "data", "created")}})
    return found


def load_pretrained(
    arch: str = FLAGSHIP[0],
    mode: str = FLAGSHIP[1],
    frames: str = FLAGSHIP[2],
    map_location: Optional[Union[str, torch.device]] = None,
    root: Optional[Union[str, Path]] = None,
) -> nn.Module:
    """The pretrained ``arch``/``mode``/``frames`` model in eval mode (checked like any checkpoint);
    :class:`~tensorframes_core.train.checkpoint.CheckpointError` listing what exists if it is missing.
    With no arguments: the flagship estimator (:data:`FLAGSHIP`, trained on real meshes), the one to
    use on your own data; the others are the explorer's classroom models (procedural shapes)."""
    from tensorframes_core.train.checkpoint import CheckpointError, load_model

    folder = Path(root) if root is not None else CHECKPOINT_DIR
    path = folder / f"{pretrained_name(arch, mode, frames)}.pt"
    if not path.is_file():
        listing = ", ".join(f"{e['arch']}/{e['mode']}/{e['frames']}" for e in available_pretrained(folder)) or (
            "none (make one with `tensorframes train` then `tensorframes export`)")
        raise CheckpointError(f"no pretrained {arch}/{mode}/{frames} model at {path}; available: {listing}")
    return load_model(path, map_location=map_location)
