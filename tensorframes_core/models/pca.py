"""The classical baseline as a model: the PCA normal (smallest-variance axis of the k nearest neighbours)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tensorframes_core.frames import pca_frames
from tensorframes_core.models.base import FRAMES, INPUT_REPS, MODES, TASKS, check_choice, frame_aux, normalise_clouds, unpack


class PCANormals(nn.Module):
    """Parameter-free normals ``n_i = pca_frames(pos, k).matrices[i, 0]`` (row 0 of the PCA frame).

    Same call convention and ``aux`` as :class:`~tensorframes_core.models.base.NormalModel`, so it
    is evaluated through the same code path; ``mode`` and ``frames`` are accepted and ignored
    (recorded as ``"baseline"`` and ``"pca"``). There is no message passing: ``aux["edge_index"]``
    is empty. Equivariant wherever the PCA frame is (see ``aux["fallback_mask"]``).
    """

    def __init__(self, mode: str = "baseline", frames: str = "pca", task: str = "normals", k: int = 16) -> None:
        super().__init__()
        check_choice("mode", mode, MODES)
        check_choice("frames", frames, FRAMES)
        check_choice("task", task, TASKS)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)
        self.config = {"arch": "pca", "mode": "baseline", "frames": "pca", "task": task, "k": self.k}

    def forward(self, data, return_aux: bool = False) -> Any:
        pos, batch, num_graphs = unpack(data)
        frames = pca_frames(normalise_clouds(pos, batch, num_graphs), k=self.k, batch=batch)
        R = frames.matrices.to(pos.dtype)
        normals = R[:, 0]
        if not return_aux:
            return normals
        no_edges = torch.zeros(2, 0, dtype=torch.long, device=pos.device)
        return normals, frame_aux(frames, R, pos.new_zeros(0, 4), no_edges, None, INPUT_REPS)

    def extra_repr(self) -> str:
        return f"k={self.k}"
