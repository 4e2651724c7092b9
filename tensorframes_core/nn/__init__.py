"""Message passing in local frames: the input, edge and output frame changes and the layers.

>>> from tensorframes_core.nn import TFMessagePassing, make_equivariant, to_local, to_global, frame_change
"""
from tensorframes_core.nn.message_passing import TFMessagePassing
from tensorframes_core.nn.propagate import FrameSpec, propagate_in_frames
from tensorframes_core.nn.transforms import (apply_edgewise, frame_change, frame_change_by_receiver, relative_frames,
                                             to_global, to_local)
from tensorframes_core.nn.wrap import EquivariantWrapper, make_equivariant

__all__ = [
    "to_local",
    "to_global",
    "frame_change",
    "frame_change_by_receiver",
    "relative_frames",
    "apply_edgewise",
    "TFMessagePassing",
    "make_equivariant",
    "EquivariantWrapper",
    "FrameSpec",
    "propagate_in_frames",
]
