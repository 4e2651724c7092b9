"""Every control of the explorer as one immutable :class:`Settings` value, and its URL form.

The sidebar widgets use the field names as their session-state keys, so a preset, the URL and
the widgets all speak the same language: ``{"mode": "baseline", "angle": 90}``.

>>> s = Settings(mode="baseline", angle=90)
>>> to_query(s)
{'angle': '90', 'mode': 'baseline'}
>>> from_query({"angle": "90", "mode": "baseline", "arch": "resnet", "n_points": "lots"})
{'angle': 90, 'mode': 'baseline'}
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tensorframes_core.data import shapes
from tensorframes_core.models import ARCHS, FRAMES, MODES

from tensorframes_core.group import AXES

NOISE_CHOICES = tuple(float(n) for n in shapes.NOISE_LEVELS)
LAYOUTS = ("side by side", "overlay")
RENDERERS = ("plotly (interactive)", "pyvista (vtk.js, interactive)", "pyvista (image)")
COLOR_BY = ("angle error", "equivariance gap", "plain")
ROT_MODES = ("axis + angle", "Euler angles")
SOURCES = ("gallery", "upload")
MODE_LABELS = {
    "baseline": "baseline (no frames)",
    "augment": "augmentation",
    "scalar_frames": "scalar frames",
    "tensor_frames": "tensor frames",
}
ARCH_LABELS = {"pointnet2": "PointNet++", "dgcnn": "DGCNN", "gcn": "GCN", "transformer": "Transformer",
               "multiscale": "Multi-scale (flagship, real meshes)", "pca": "PCA (classical)"}
MAX_POINTS = 5000


@dataclass(frozen=True)
class Settings:
    """One complete state of the explorer (inputs, transform, model, picture)."""

    # input
    source: str = "gallery"
    shape: str = "torus"
    n_points: int = 1500
    noise: float = 0.0
    seed: int = 0
    # transform g = rotation @ mirror
    rot_mode: str = "axis + angle"
    axis: str = "x"
    angle: int = 60
    euler_x: int = 0
    euler_y: int = 0
    euler_z: int = 0
    reflect: bool = False
    mirror: str = "x"
    # model
    arch: str = "gcn"
    mode: str = "tensor_frames"
    frames: str = "pca"
    weights: str = "default"
    # picture only (never reruns a model)
    layout: str = "side by side"
    renderer: str = "plotly (interactive)"
    color_by: str = "angle error"
    point_size: int = 3
    show_pred: bool = True
    show_gt: bool = False
    arrow_density: int = 15
    arrow_size: float = 1.0
    show_frames: bool = False
    frame_density: int = 5
    frame_size: float = 1.0
    show_fallback: bool = True
    show_messages: bool = False
    node: int = 0
    neighbour: int = 0
    show_undo: bool = False

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    @property
    def is_identity(self) -> bool:
        """True when the transform is the identity (nothing to test)."""
        if self.reflect:
            return False
        if self.rot_mode == "axis + angle":
            return self.angle % 360 == 0
        return all(a % 360 == 0 for a in (self.euler_x, self.euler_y, self.euler_z))


DEFAULTS = Settings()
FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
CHOICES: dict[str, tuple] = {
    "source": SOURCES,
    "shape": tuple(shapes.NAMES),
    "noise": NOISE_CHOICES,
    "rot_mode": ROT_MODES,
    "axis": tuple(AXES),
    "mirror": ("x", "y", "z"),
    "arch": tuple(ARCHS),
    "mode": tuple(MODES),
    "frames": tuple(FRAMES),
    "layout": LAYOUTS,
    "renderer": RENDERERS,
    "color_by": COLOR_BY,
}
RANGES: dict[str, tuple[float, float]] = {
    "n_points": (200, MAX_POINTS),
    "seed": (0, 99_999),
    "angle": (-180, 180),
    "euler_x": (-180, 180),
    "euler_y": (-180, 180),
    "euler_z": (-180, 180),
    "point_size": (1, 10),
    "arrow_density": (1, 100),
    "arrow_size": (0.2, 3.0),
    "frame_density": (1, 100),
    "frame_size": (0.2, 3.0),
    "node": (0, MAX_POINTS - 1),
    "neighbour": (0, 63),
}
NOT_IN_URL = ("weights",)  # in-app trained models live in one browser session only
PICTURE = tuple(FIELDS)[tuple(FIELDS).index("layout"):]  # the picture-only fields (never rerun a model)


def _parse(name: str, text: str) -> Any:
    """The typed value of field ``name`` from URL text; ValueError if invalid."""
    kind = type(FIELDS[name].default)
    if kind is bool:
        if text not in ("0", "1", "true", "false"):
            raise ValueError(text)
        value: Any = text in ("1", "true")
    else:
        value = kind(float(text)) if kind is int else kind(text)
    if name in CHOICES and value not in CHOICES[name]:
        raise ValueError(text)
    if name in RANGES and not RANGES[name][0] <= value <= RANGES[name][1]:
        raise ValueError(text)
    return value


def from_query(params: Mapping[str, str]) -> dict[str, Any]:
    """Valid settings from URL query parameters; unknown names and bad values are ignored."""
    values = {}
    for name, text in params.items():
        if name in FIELDS and name not in NOT_IN_URL:
            try:
                values[name] = _parse(name, str(text))
            except (TypeError, ValueError):
                continue
    return values


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, bool) else str(value)


def to_query(settings: Settings) -> dict[str, str]:
    """The non-default fields as URL query parameters (sorted, short URLs)."""
    return {name: _text(getattr(settings, name)) for name in sorted(FIELDS)
            if name not in NOT_IN_URL and getattr(settings, name) != getattr(DEFAULTS, name)}


def from_state(state: Mapping[str, Any]) -> Settings:
    """A :class:`Settings` from widget state, defaults for anything missing."""
    return Settings(**{name: state[name] for name in FIELDS if name in state})
