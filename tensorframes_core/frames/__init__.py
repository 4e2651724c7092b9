"""Local frames: per-node orthogonal matrices that turn with the input (rows = local axes)."""
from tensorframes_core.frames.base import Frames, as_matrices, split_frames
from tensorframes_core.frames.controls import identity_frames, random_frames, random_global_frames, three_nn_frames
from tensorframes_core.frames.learned import LearnedFrames
from tensorframes_core.frames.neighbours import neighbour_offsets
from tensorframes_core.frames.pca import pca_frames

__all__ = [
    "Frames", "as_matrices", "split_frames", "pca_frames", "LearnedFrames", "three_nn_frames",
    "identity_frames", "random_frames", "random_global_frames", "neighbour_offsets",
]
