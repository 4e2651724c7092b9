"""Tensor Frames: make any message-passing network O(d)-equivariant."""
__version__ = "0.1.0"
