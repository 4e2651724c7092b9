"""Training, evaluation and checkpoints for normal regression (``tensorframes train`` / ``eval``).

>>> import torch
>>> from tensorframes_core.train import cosine_loss
>>> float(cosine_loss(torch.tensor([[0., 0., 1.]]), torch.tensor([[0., 0., -1.]])))
0.0
"""
from tensorframes_core.train.checkpoint import (
    CheckpointError,
    export_checkpoint,
    load_checkpoint,
    load_latest,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from tensorframes_core.train.config import TrainConfig
from tensorframes_core.train.evaluate import ROTATIONS, evaluate, format_table, to_rows
from tensorframes_core.train.loop import train
from tensorframes_core.train.step import TrainingError, TrainStep
from tensorframes_core.train.metrics import abs_cosine, angle_error, cosine_loss, summarize

__all__ = [
    "TrainConfig", "train", "TrainingError", "TrainStep",
    "evaluate", "ROTATIONS", "format_table", "to_rows",
    "save_checkpoint", "load_checkpoint", "read_checkpoint", "load_latest", "load_model", "export_checkpoint",
    "CheckpointError",
    "angle_error", "abs_cosine", "cosine_loss", "summarize",
]
