"""The settings of a training run (what ``tensorframes train`` parses its flags into).

>>> config = TrainConfig(arch="gcn", epochs=2, size={"layers": 1}).checked()
>>> config.arch, config.noise, to_json(config)["size"]
('gcn', (0.0,), {'layers': 1})
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from tensorframes_core.data import shapes
from tensorframes_core.models import ARCHS, FRAMES, MODES

LR_SCHEDULES = ("cosine", "step", "constant")
AMP_DTYPES = ("bf16", "fp16")


@dataclass
class TrainConfig:
    """One training run. Procedural data by default; ``data="modelnet40"|"pcpnet"|"meshes"`` read ``root``;
    ``val_root``: a folder of meshes to validate on (default: procedural validation clouds).

    ``size``: the model's size kwargs (see ``models.size_kwargs``); ``noise``: training noise
    levels (fractions of the bounding-box diagonal) cycled over the clouds; ``shapes``: procedural
    families; ``epochs``: the total, also when resuming; ``max_bad_steps``: consecutive non-finite
    steps tolerated before stopping; ``amp``: mixed precision on CUDA (ignored on CPU);
    ``command``: recorded in the checkpoints.
    """

    arch: str = "dgcnn"
    mode: str = "tensor_frames"
    frames: str = "pca"
    size: Dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    out: str = "runs/default"
    resume: bool = False
    data: str = "procedural"
    root: Optional[str] = None
    val_root: Optional[str] = None
    list_file: str = "trainingset_whitenoise.txt"
    n_train: int = 512
    n_val: int = 28
    n_points: int = 1024
    noise: Tuple[float, ...] = (0.0,)
    shapes: Tuple[str, ...] = shapes.ALIGNED
    batch_size: int = 8
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    weight_decay: float = 0.0
    grad_clip: Optional[float] = 10.0
    seed: int = 0
    device: Optional[str] = None
    amp: bool = True
    amp_dtype: str = "bf16"
    max_bad_steps: int = 5
    workers: int = 0
    progress: bool = True
    command: Optional[str] = None

    def checked(self) -> "TrainConfig":
        """A copy with tuples normalised; ``ValueError`` naming the first bad setting."""
        config = dataclasses.replace(self, noise=tuple(float(x) for x in self.noise), shapes=tuple(self.shapes),
                                     size=dict(self.size))
        for name, value, choices in (("arch", config.arch, ARCHS), ("mode", config.mode, MODES),
                                     ("frames", config.frames, FRAMES),
                                     ("lr_schedule", config.lr_schedule, LR_SCHEDULES),
                                     ("amp_dtype", config.amp_dtype, AMP_DTYPES)):
            if value not in choices:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
        positive = {"epochs": config.epochs, "n_train": config.n_train, "n_val": config.n_val,
                    "n_points": config.n_points, "batch_size": config.batch_size, "max_bad_steps": config.max_bad_steps}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not config.lr > 0 or config.weight_decay < 0 or config.workers < 0:
            raise ValueError(f"need lr > 0, weight_decay >= 0, workers >= 0; got {config.lr}, "
                             f"{config.weight_decay}, {config.workers}")
        if not config.noise or any(not 0 <= x < 1 for x in config.noise):
            raise ValueError(f"noise levels must be in [0, 1); got {config.noise}")
        unknown = sorted(set(config.shapes) - set(shapes.NAMES))
        if unknown or not config.shapes:
            raise ValueError(f"unknown shapes {unknown}; choose from {', '.join(shapes.NAMES)}")
        return config


def to_json(config: TrainConfig) -> Dict[str, Any]:
    """The config as a JSON-serialisable dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
