"""Tensor Frames: make any message-passing network O(d)-equivariant.

>>> import tensorframes_core as tf
>>> tf.TensorReps("2x1n").dim
6
"""
__version__ = "0.1.0"

from tensorframes_core._lazy import lazy_exports
from tensorframes_core._pyg_import import defer_dynamo_during_pyg_import

defer_dynamo_during_pyg_import()

_EXPORTS = {
    "InputError": "tensorframes_core.data.cloud:InputError",
    "load_point_cloud": "tensorframes_core.data.formats:load_point_cloud",
    "shapes": "tensorframes_core.data.shapes",
    "assert_equivariant": "tensorframes_core.equivariance:assert_equivariant",
    "equivariance_error": "tensorframes_core.equivariance:equivariance_error",
    "random_orthogonal": "tensorframes_core.equivariance:random_orthogonal",
    **{name: f"tensorframes_core.frames:{name}" for name in (
        "Frames", "LearnedFrames", "identity_frames", "pca_frames", "random_frames", "random_global_frames",
        "three_nn_frames")},
    **{name: f"tensorframes_core.graph:{name}" for name in ("fps", "knn", "knn_graph", "radius", "radius_graph")},
    "build_model": "tensorframes_core.models:build_model",
    "load_pretrained": "tensorframes_core.pretrained:load_pretrained",
    **{name: f"tensorframes_core.nn:{name}" for name in (
        "TFMessagePassing", "frame_change", "make_equivariant", "to_global", "to_local")},
    "EstimateNormals": "tensorframes_core.normals.transform:EstimateNormals",
    "estimate_normals": "tensorframes_core.normals.estimate:estimate_normals",
    **{name: f"tensorframes_core.reps:{name}" for name in ("Irreps", "TensorReps", "as_reps")},
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
