"""``build_model``: every architecture by name, in every mode, with every kind of frames."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Type

from torch import nn

from tensorframes_core.models.base import FRAMES, MODES, TASKS, NormalModel, check_choice
from tensorframes_core.models.dgcnn import DGCNN
from tensorframes_core.models.gcn import GCN
from tensorframes_core.models.multiscale import MultiScale
from tensorframes_core.models.pca import PCANormals
from tensorframes_core.models.pointnet2 import PointNet2
from tensorframes_core.models.transformer import Transformer

_CLASSES: Dict[str, Type[nn.Module]] = {
    "pointnet2": PointNet2,
    "dgcnn": DGCNN,
    "gcn": GCN,
    "transformer": Transformer,
    "multiscale": MultiScale,
    "pca": PCANormals,
}
ARCHS = tuple(_CLASSES)
_FIXED = ("mode", "frames", "task")


def size_kwargs(arch: str) -> Dict[str, Any]:
    """The size kwargs of ``arch`` with their defaults.

    >>> size_kwargs("pca")
    {'k': 16}
    """
    cls = _CLASSES[check_choice("arch", arch, ARCHS)]
    params = dict(inspect.signature(NormalModel.__init__).parameters) if issubclass(cls, NormalModel) else {}
    params.update(inspect.signature(cls.__init__).parameters)  # an architecture's own defaults win
    return {name: p.default for name, p in params.items()
            if p.default is not inspect.Parameter.empty and name not in _FIXED and p.kind is p.POSITIONAL_OR_KEYWORD}


def build_model(arch: str, mode: str, frames: str = "pca", task: str = "normals", **size: Any) -> nn.Module:
    """A normal-estimation model; ``model(data)`` returns unit normals ``(N, 3)`` in the global frame.

    ``arch`` in :data:`ARCHS`, ``mode`` in ``MODES``, ``frames`` in ``FRAMES``, ``task`` in ``TASKS``;
    ``size`` overrides the defaults of :func:`size_kwargs`. ``build_model(**model.config)`` rebuilds
    the same architecture.

    >>> model = build_model("dgcnn", "tensor_frames", layers=2)
    >>> model.config["layers"], model.config["mode"]
    (2, 'tensor_frames')
    >>> build_model("resnet", "baseline")
    Traceback (most recent call last):
    ...
    ValueError: unknown arch 'resnet'; valid choices: pointnet2, dgcnn, gcn, transformer, multiscale, pca
    """
    check_choice("arch", arch, ARCHS)
    check_choice("mode", mode, MODES)
    check_choice("frames", frames, FRAMES)
    check_choice("task", task, TASKS)
    valid = size_kwargs(arch)
    unknown = sorted(set(size) - set(valid))
    if unknown:
        raise ValueError(f"unknown size kwargs {unknown} for arch {arch!r}; valid: {', '.join(valid)}")
    return _CLASSES[arch](mode=mode, frames=frames, task=task, **size)
