"""``Frames``: per-node orthogonal matrices plus the diagnostics that show where equivariance is fragile."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch

Tensor = torch.Tensor


@dataclass(frozen=True, eq=False)
class Frames:
    """Local frames of ``N`` nodes.

    ``matrices: (N, d, d)``: rows are the node's axes (local coords of a global v are ``R_i v``;
    det may be -1). ``quality: (N,)``: the smallest relative eigen-gap / sign margin the construction
    relied on (0 where a fallback fired). ``fallback_mask: (N,)``: nodes whose frame came from a
    deterministic, non-equivariant fallback (degenerate neighbourhoods); ``fallback_count`` counts them.
    ``rules: (N, d)`` uint8: which tie-breaking rule decided each axis (codes index
    ``frames.rules.RULES``; 0, the construction itself, when not given).

    >>> f = Frames(torch.eye(3).repeat(4, 1, 1))
    >>> len(f), f.fallback_count
    (4, 0)
    """

    matrices: Tensor
    quality: Optional[Tensor] = None
    fallback_mask: Optional[Tensor] = None
    rules: Optional[Tensor] = None

    def __post_init__(self) -> None:
        m = self.matrices
        if m.dim() != 3 or m.shape[-1] != m.shape[-2]:
            raise ValueError(f"frame matrices must be (N, d, d), got {tuple(m.shape)}")
        if self.quality is None:
            object.__setattr__(self, "quality", torch.ones(m.shape[0], dtype=m.dtype, device=m.device))
        if self.fallback_mask is None:
            object.__setattr__(self, "fallback_mask", torch.zeros(m.shape[0], dtype=torch.bool, device=m.device))
        if self.rules is None:
            object.__setattr__(self, "rules", torch.zeros(m.shape[:2], dtype=torch.uint8, device=m.device))

    @property
    def fallback_count(self) -> int:
        return int(self.fallback_mask.sum())

    def __len__(self) -> int:
        return self.matrices.shape[0]

    def __getitem__(self, index) -> "Frames":
        """Frames of a subset of nodes (e.g. FPS centres)."""
        return Frames(self.matrices[index], self.quality[index], self.fallback_mask[index], self.rules[index])

    def to(self, device=None, dtype=None) -> "Frames":
        return Frames(self.matrices.to(device, dtype), self.quality.to(device, dtype), self.fallback_mask.to(device),
                      self.rules.to(device))


FramesLike = Union[Frames, Tensor]


def as_matrices(frames: FramesLike) -> Tensor:
    """The ``(N, d, d)`` matrices of a ``Frames`` or of a plain tensor of orthogonal matrices."""
    if isinstance(frames, Frames):
        return frames.matrices
    if isinstance(frames, Tensor) and frames.dim() == 3 and frames.shape[-1] == frames.shape[-2]:
        return frames
    raise ValueError(f"expected Frames or an (N, d, d) tensor, got {type(frames).__name__}"
                     f"{tuple(frames.shape) if isinstance(frames, Tensor) else ''}")


def split_frames(frames: Union[FramesLike, Tuple[FramesLike, FramesLike]]) -> Tuple[Tensor, Tensor]:
    """``(source, target)`` matrices: a single frames object serves both sides of the graph."""
    if isinstance(frames, (tuple, list)):
        if len(frames) != 2:
            raise ValueError("bipartite frames must be a pair (frames_source, frames_target)")
        return as_matrices(frames[0]), as_matrices(frames[1])
    m = as_matrices(frames)
    return m, m
