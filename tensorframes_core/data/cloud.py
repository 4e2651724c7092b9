"""The point-cloud container and the input checks every loader shares."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

MAX_POINTS = 2_000_000
MIN_POINTS = 8
MAX_COORDINATE = 1e19  # |x| below it: x^2 + y^2 + z^2 stays finite in float32 (max 3.4e38)


class InputError(ValueError):
    """Bad input for a loader: the message says what was wrong and what was expected."""


@dataclass
class PointCloud:
    """Points with optional unit normals and colours.

    pos: (N, 3) float32 (float64 if loaded so); normals: (N, 3) float32 unit vectors or None; name: a label;
    colors: (N, 3) uint8 RGB or None (kept from the file, written back by ``data.writers``).

    >>> cloud = PointCloud(torch.zeros(10, 3), None, "ten")
    >>> len(cloud), cloud.to_data()
    (10, Data(pos=[10, 3]))
    """

    pos: torch.Tensor
    normals: torch.Tensor | None = None
    name: str = ""
    colors: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.pos.shape[0])

    def to_data(self):
        """A `torch_geometric.data.Data` with `pos` and, when there are normals, `normal` (N, 3)."""
        from torch_geometric.data import Data

        if self.normals is None:
            return Data(pos=self.pos)
        return Data(pos=self.pos, normal=self.normals)

    def subsample(self, n: int, seed: int = 0) -> PointCloud:
        """A seeded random subset of n points (original order kept); the cloud itself if n >= N.

        >>> cloud = PointCloud(torch.arange(30.0).view(10, 3))
        >>> len(cloud.subsample(4, seed=1)), cloud.subsample(50) is cloud
        (4, True)
        """
        if n >= len(self):
            return self
        if n < 1:
            raise InputError(f"cannot subsample to {n} points; ask for at least 1")
        rng = np.random.default_rng(seed)
        idx = torch.from_numpy(np.sort(rng.choice(len(self), size=n, replace=False)))
        normals = None if self.normals is None else self.normals[idx]
        colors = None if self.colors is None else self.colors[idx]
        return PointCloud(self.pos[idx], normals, self.name, colors)


def _as_array(values, what: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers, got {type(values).__name__}: {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InputError(
            f"{what} must have shape (N, 3) (one 3-D point per row); got shape {tuple(arr.shape)}"
        )
    return arr


def validate_cloud(
    pos,
    normals=None,
    max_points: int = MAX_POINTS,
    n_points: int | None = None,
    name: str = "",
    seed: int = 0,
    colors=None,
    dtype: torch.dtype | None = torch.float32,
) -> PointCloud:
    """Check raw points (and normals, colours) and return a :class:`PointCloud`, positions in ``dtype``:
    float32, float64, or ``None``: float32 where that keeps every coordinate, else float64 (coordinates
    that float32 would round, e.g. a geo-referenced scan's metres at 10^6).

    pos: (N, 3) array-like; normals: (N, 3) array-like or None; colors: (N, 3) RGB array-like or None
    (0..255, or 0..1 floats; kept as uint8).
    Raises :class:`InputError` for: a shape other than (N, 3), NaN/Inf, coordinates beyond
    ``MAX_COORDINATE`` (1e19: float32 squares would overflow; float64 values past float32's range
    would even become inf in the cast), fewer than
    ``MIN_POINTS`` points, all points identical, more than ``max_points`` points.
    With ``n_points`` a larger cloud is subsampled (seeded) to ``n_points`` with a warning
    instead. Normals are normalised to unit length; if any normal has zero length the normals
    are dropped (``normals=None``) with a warning, since a partial target field is unusable.

    >>> validate_cloud([[0, 0, 0]] * 9)
    Traceback (most recent call last):
    ...
    tensorframes_core.data.cloud.InputError: all 9 points are identical (the cloud has zero extent)
    >>> validate_cloud(np.random.rand(100, 3), np.ones((100, 3))).normals[0]
    tensor([0.5774, 0.5774, 0.5774])
    """
    if dtype not in (torch.float32, torch.float64, None):
        raise ValueError(f"dtype must be torch.float32, torch.float64 or None, got {dtype}")
    p = _as_array(pos, "positions")
    n = len(p)
    if n < MIN_POINTS:
        raise InputError(f"a point cloud needs at least {MIN_POINTS} points; got {n}")
    if n_points is not None and n_points < MIN_POINTS:
        raise InputError(f"n_points must be at least {MIN_POINTS}; got {n_points}")
    if not np.isfinite(p).all():
        bad = int((~np.isfinite(p)).any(axis=1).sum())
        raise InputError(f"{bad} of {n} points have NaN or infinite coordinates; remove them first")
    big = np.abs(p).max() if n else 0.0
    if big > MAX_COORDINATE:
        raise InputError(f"coordinates up to {big:.3g} in magnitude: beyond {MAX_COORDINATE:.0e}, squared distances "
                         "overflow float32; rescale the cloud (e.g. to metres) first")
    nrm = None if normals is None else _as_array(normals, "normals")
    if nrm is not None and len(nrm) != n:
        raise InputError(f"got {len(nrm)} normals for {n} points; need one normal per point")
    if nrm is not None and not np.isfinite(nrm).all():
        raise InputError("some normals are NaN or infinite")
    rgb = None if colors is None else _colors(colors, n)
    cap = max_points if n_points is None else min(n_points, max_points)
    if n > cap:
        if n_points is None:
            raise InputError(
                f"too many points: {n} > {max_points}; pass n_points to subsample instead"
            )
        warnings.warn(f"subsampling {n} points to {cap} (seed {seed})", stacklevel=2)
        idx = np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))
        p = p[idx]
        nrm = None if nrm is None else nrm[idx]
        rgb = None if rgb is None else rgb[idx]
    p32 = p.astype(np.float32)
    if dtype == torch.float32 or (dtype is None and np.array_equal(p32, p)):
        p = p32
    elif not p.flags.writeable:  # a view of the file's bytes
        p = p.copy()
    if (p.max(axis=0) == p.min(axis=0)).all():
        raise InputError(f"all {len(p)} points are identical (the cloud has zero extent)")
    if nrm is not None:
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        if (length <= 1e-12).any():
            warnings.warn(
                f"{int((length <= 1e-12).sum())} normals have zero length; dropping all normals",
                stacklevel=2,
            )
            nrm = None
        else:
            nrm = torch.from_numpy((nrm / length).astype(np.float32))
    return PointCloud(torch.from_numpy(p), nrm, name, None if rgb is None else torch.from_numpy(rgb))


def _colors(values, n: int) -> np.ndarray:
    """``(n, 3)`` uint8 from RGB values in 0..255 (or 0..1 floats); ``InputError`` if unusable."""
    arr = _as_array(values, "colours")
    if len(arr) != n or not np.isfinite(arr).all():
        raise InputError(f"got {len(arr)} colours for {n} points, or non-finite ones; need one RGB per point")
    if arr.size and arr.max() <= 1.0 and not np.equal(np.mod(arr, 1), 0).all():
        arr = arr * 255.0  # floats in [0, 1]
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
