"""Tensor Frames: make any message-passing network O(d)-equivariant.

>>> import tensorframes_core as tf
>>> tf.TensorReps("2x1n").dim
6
"""
__version__ = "0.1.0"

from tensorframes_core.data import InputError, load_point_cloud, shapes
from tensorframes_core.equivariance import assert_equivariant, equivariance_error, random_orthogonal
from tensorframes_core.frames import (
    Frames,
    LearnedFrames,
    identity_frames,
    pca_frames,
    random_frames,
    random_global_frames,
    three_nn_frames,
)
from tensorframes_core.graph import fps, knn, knn_graph, radius, radius_graph
from tensorframes_core.models import build_model
from tensorframes_core.pretrained import load_pretrained
from tensorframes_core.nn import TFMessagePassing, frame_change, make_equivariant, to_global, to_local
from tensorframes_core.normals import EstimateNormals, estimate_normals
from tensorframes_core.reps import Irreps, TensorReps, as_reps

__all__ = [
    "__version__",
    "TensorReps", "Irreps", "as_reps",
    "Frames", "pca_frames", "LearnedFrames", "three_nn_frames", "identity_frames", "random_frames",
    "random_global_frames",
    "knn", "knn_graph", "radius", "radius_graph", "fps",
    "to_local", "to_global", "frame_change", "TFMessagePassing", "make_equivariant",
    "build_model", "load_pretrained",
    "load_point_cloud", "InputError", "shapes", "estimate_normals", "EstimateNormals",
    "random_orthogonal", "equivariance_error", "assert_equivariant",
]
