"""Standard architectures for normal regression, each in four modes (baseline, augment, scalar_frames, tensor_frames).

>>> from tensorframes_core.models import ARCHS, MODES, FRAMES, build_model
>>> ARCHS
('pointnet2', 'dgcnn', 'gcn', 'transformer', 'multiscale', 'pca')
"""
from tensorframes_core.models.base import FRAMES, MODES, TASKS, NormalModel
from tensorframes_core.models.registry import ARCHS, build_model, size_kwargs

__all__ = ["build_model", "size_kwargs", "ARCHS", "MODES", "FRAMES", "TASKS", "NormalModel"]
