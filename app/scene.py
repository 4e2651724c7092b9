"""Results + picture settings -> a renderer-neutral :class:`Scene` (points, arrows), and its pyvista form.

Only picture settings are read here, so building a scene never reruns a model. ``render.py``
draws a Scene with plotly in the page, or with pyvista in a separate process.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from tensorframes_core.nn import to_global

from tensorframes_core.reps import vector_slice
from app.pipeline import Results
from app.settings import Settings

PRED = "#f57c00"      # predicted normals
TRUTH = "#212121"     # ground-truth normals
UNDO = "#00acc1"      # g^-1 f(g x)
FALLBACK = "#d81b60"  # nodes where a frame fallback fired
AXIS_COLORS = ("#e53935", "#43a047", "#1e88e5")  # frame rows e1, e2, e3
EDGE = "#7e57c2"
SENT = "#6a1b9a"      # neighbour's vector as the neighbour means it
READ = "#00897b"      # the same message as the receiver reads it
ERROR_SCALE = "Turbo"
MAX_ERROR_DEG = 90.0


@dataclass(frozen=True)
class PointLayer:
    """Markers at ``pos (N, 3)``: coloured by ``values (N,)`` on a colour bar, or one ``color``."""

    name: str
    pos: np.ndarray
    values: np.ndarray | None = None
    color: str = "#90a4ae"
    size: float = 3.0
    colorbar: str = ""
    cmax: float = MAX_ERROR_DEG


@dataclass(frozen=True)
class ArrowLayer:
    """Segments from ``origins (M, 3)`` along ``vectors (M, 3)`` (arrows if ``heads``)."""

    name: str
    origins: np.ndarray
    vectors: np.ndarray
    color: str
    width: float = 3.0
    heads: bool = False


@dataclass(frozen=True)
class View:
    """One 3D view."""

    title: str
    points: tuple[PointLayer, ...] = ()
    arrows: tuple[ArrowLayer, ...] = ()


@dataclass(frozen=True)
class Scene:
    """One or two views drawn with the same camera; ``notes`` explain what is (not) shown."""

    views: tuple[View, ...]
    notes: tuple[str, ...] = field(default=())


def subsample(n: int, percent: float) -> np.ndarray:
    """About ``percent`` % of ``range(n)``, evenly spread and deterministic (at least one)."""
    m = max(1, int(round(n * percent / 100.0)))
    return np.unique(np.linspace(0, n - 1, m).round().astype(np.int64))


def spacing(pos: np.ndarray) -> float:
    """A length for glyphs: about the spacing of N points on a surface with this bounding-box diagonal."""
    return float(np.linalg.norm(pos.max(0) - pos.min(0))) / max(len(pos), 1) ** 0.5


def _colour_values(s: Settings, err: np.ndarray | None, gap: np.ndarray) -> tuple[np.ndarray | None, str, float]:
    """(values, colour-bar title, colour-bar top): angle errors and gaps on one fixed 0-90° scale, so a colour
    means the same angle in every lesson and every view."""
    if s.color_by == "angle error" and err is not None:
        return err, "angle error (°)", MAX_ERROR_DEG
    if s.color_by in ("angle error", "equivariance gap"):
        return gap, "equivariance gap (°)", MAX_ERROR_DEG
    return None, "", MAX_ERROR_DEG


def _triads(pos: np.ndarray, frames: np.ndarray, idx: np.ndarray, length: float) -> list[ArrowLayer]:
    return [ArrowLayer(f"frame e{k + 1}", pos[idx], frames[idx, k] * length, AXIS_COLORS[k], 4.0)
            for k in range(3)]


def _one_view(title: str, s: Settings, pos, pred, err, gt, gap, length, undone=None) -> View:
    values, bar, top = _colour_values(s, err, gap)
    points = [PointLayer(title, pos, values, size=s.point_size, colorbar=bar, cmax=top)]
    arrows: list[ArrowLayer] = []
    idx = subsample(len(pos), s.arrow_density)
    if s.show_pred:
        # heads: a network's output has a sign, and equivariance is about that sign too
        arrows.append(ArrowLayer("predicted normal", pos[idx], pred.normals[idx] * length * s.arrow_size, PRED,
                                 heads=True))
    if s.show_gt and gt is not None:
        arrows.append(ArrowLayer("true normal", pos[idx], gt[idx] * length * s.arrow_size, TRUTH, heads=True))
    if undone is not None:
        arrows.append(ArrowLayer("g⁻¹·f(g·x)", pos[idx], undone[idx] * length * s.arrow_size, UNDO, 5.0, True))
    if s.show_frames:
        arrows += _triads(pos, pred.frames, subsample(len(pos), s.frame_density),
                          0.7 * length * s.frame_size)
    if s.show_fallback and pred.fallback.any():
        points.append(PointLayer("frame fallback", pos[pred.fallback], color=FALLBACK, size=s.point_size + 5))
    if s.show_messages:
        points_m, arrows_m = message_layers(pos, pred, s.node % len(pos), s.neighbour, length * 2.5)
        points += points_m
        arrows += arrows_m
    return View(title, tuple(points), tuple(arrows))


@dataclass(frozen=True)
class Message:
    """One first-layer message j -> i: the neighbour's vector feature in j's frame (``sent``), as i
    uses it (``received``, in i's frame), and both drawn in global coordinates."""

    receiver: int
    sender: int
    senders: np.ndarray
    sent: np.ndarray
    received: np.ndarray
    meant_global: np.ndarray
    read_global: np.ndarray


def message(pred, node: int, neighbour: int) -> Message | None:
    """The message from the ``neighbour``-th sender into ``node``, or None if ``node`` receives none."""
    incoming = np.flatnonzero(pred.edge_index[1] == node)
    if len(incoming) == 0:
        return None
    e = incoming[neighbour % len(incoming)]
    j = int(pred.edge_index[0, e])
    vec = vector_slice(pred.reps)
    sent, received = pred.sent[e, vec], pred.received[e, vec]
    meant = to_global(torch.from_numpy(sent[None]), "1x1n", torch.from_numpy(pred.frames[[j]]))[0].numpy()
    read = to_global(torch.from_numpy(received[None]), "1x1n", torch.from_numpy(pred.frames[[node]]))[0].numpy()
    return Message(node, j, pred.edge_index[0, incoming], sent, received, meant, read)


def receivers(pred) -> np.ndarray:
    """Nodes that receive at least one first-layer message."""
    return np.unique(pred.edge_index[1])


def message_layers(pos, pred, node: int, neighbour: int, length: float):
    """Neighbourhood edges of ``node``, the frames of i and j, and the vector j sends vs what i reads."""
    msg = message(pred, node, neighbour)
    if msg is None:
        return [], []
    i, j = msg.receiver, msg.sender
    unit = length / max(np.linalg.norm(msg.meant_global), 1e-12)
    points = [PointLayer("receiver i", pos[[i]], color="#000000", size=10),
              PointLayer("sender j", pos[[j]], color=SENT, size=9)]
    arrows = [ArrowLayer("edges j→i", pos[msg.senders], pos[i] - pos[msg.senders], EDGE, 2.0)]
    arrows += _triads(pos, pred.frames, np.array([i]), 0.6 * length)
    arrows += _triads(pos, pred.frames, np.array([j]), 0.6 * length)
    # both from i, long, the first wider: equal messages show as one teal arrow edged in purple
    arrows.append(ArrowLayer("j's vector (as j means it)", pos[[i]], 1.6 * msg.meant_global[None] * unit, SENT,
                             12.0, True))
    arrows.append(ArrowLayer("same message as i reads it", pos[[i]], 1.6 * msg.read_global[None] * unit, READ,
                             6.0, True))
    return points, arrows


def neighbourhood_scene(res: Results, s: Settings) -> Scene | None:
    """Close-ups of node i's first-layer neighbourhood in x and in g·x (None if i receives no messages)."""
    node = s.node % len(res.cloud.pos)
    views = []
    for title, pos, pred in (("neighbourhood of i in x", res.cloud.pos, res.pred),
                             ("the same in g·x", res.moved_pos, res.moved_pred)):
        msg = message(pred, node, s.neighbour)
        if msg is None:
            return None
        radius = float(np.linalg.norm(pos[msg.senders] - pos[node], axis=1).max()) or spacing(pos)
        points, arrows = message_layers(pos, pred, node, s.neighbour, 0.6 * radius)
        views.append(View(title, (PointLayer("neighbours", pos[msg.senders], color="#90a4ae", size=6),
                                  *points), tuple(arrows)))
    return Scene(tuple(views))


def build_scene(res: Results, s: Settings) -> Scene:
    """The views for ``res`` under picture settings ``s`` (side by side or overlaid)."""
    length = 2.5 * spacing(res.cloud.pos)
    undone = res.undone if s.show_undo else None
    left = _one_view("original x", s, res.cloud.pos, res.pred, res.err_deg, res.cloud.normals, res.gap_deg,
                     length, undone)
    right = _one_view("transformed g·x", s, res.moved_pos, res.moved_pred, res.moved_err_deg, res.moved_gt,
                      res.gap_deg, length)
    notes = []
    if s.show_messages and message(res.pred, s.node % len(res.cloud.pos), s.neighbour) is None:
        notes.append(f"Node {s.node} receives no first-layer messages in this model; pick one of "
                     f"{', '.join(map(str, receivers(res.pred)[:8])) or 'none (this model passes no messages)'}.")
    if s.color_by == "angle error" and res.err_deg is None:
        notes.append("This cloud has no ground-truth normals: points are coloured by the equivariance gap.")
    if s.layout == "overlay":
        faded = PointLayer("original x", res.cloud.pos, color="#b0bec5", size=max(1, s.point_size - 1))
        return Scene((View("x (grey) and g·x overlaid", (faded,) + right.points, left.arrows + right.arrows),),
                     tuple(notes))
    return Scene((left, right), tuple(notes))


def as_plain(scene: Scene) -> dict:
    """The scene as nested dicts, lists and numpy arrays (what the pyvista render process reads)."""
    return {"views": [{"title": v.title, "points": [vars(p) for p in v.points],
                       "arrows": [vars(a) for a in v.arrows]} for v in scene.views]}
