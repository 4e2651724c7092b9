"""The classroom tour: short lessons, each with a preset that sets every control.

>>> [lesson.key for lesson in LESSONS][:2]
['frames', 'baseline']
>>> from app.settings import from_query, to_query, Settings
>>> all(Settings(**from_query(to_query(Settings(**l.values)))) == Settings(**l.values) for l in LESSONS)
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    text: str
    values: dict[str, Any] = field(default_factory=dict)


LESSONS = (
    Lesson("frames", "1 · What a local frame is",
           "Every point gets its own set of axes (red, green, blue), computed from its neighbours; with PCA frames "
           "red is the direction of least spread, the normal, and green and blue lie in the surface. Compare the "
           "two views: the turned chair carries its frames along. Coordinates measured in these axes do not "
           "change at all when the object turns: the network only ever sees such invariant numbers.",
           {"shape": "chair", "mode": "tensor_frames", "frames": "pca", "axis": "x", "angle": 60,
            "show_frames": True, "frame_density": 8, "frame_size": 1.4, "show_pred": False, "color_by": "plain"}),
    Lesson("baseline", "2 · Why a plain network breaks",
           "A plain network reads raw x, y, z coordinates. Turn the object and it sees different numbers, so its "
           "prediction changes in a way that has nothing to do with the turn. Cyan arrows are the predictions on "
           "the turned object, turned back by g⁻¹; orange arrows are the predictions on the original. They "
           "disagree, and the points light up where they do. (Augmentation, training on random rotations, only "
           "makes this approximately right: try the mode “augmentation”.)",
           {"shape": "superquadric", "mode": "baseline", "axis": "x", "angle": 90, "show_undo": True,
            "color_by": "equivariance gap", "arrow_density": 15}),
    Lesson("tensor", "3 · Tensor frames fix it",
           "The same network, now wrapped in tensor frames: features enter in each point's own frame, travel "
           "between points with ρ(R_i R_jᵀ), and leave through R_iᵀ. The cyan and orange arrows now lie on top of "
           "each other and the error is at float round-off, for any rotation you pick.",
           {"shape": "superquadric", "mode": "tensor_frames", "frames": "pca", "axis": "x", "angle": 90,
            "show_undo": True, "color_by": "equivariance gap", "arrow_density": 15}),
    Lesson("messages", "4 · Scalar versus tensorial messages",
           "A neighbour j sends a vector as three numbers in its own frame. With tensor frames the receiver i "
           "first re-expresses them in its frame, ρ(R_i R_jᵀ): the purple arrow (what j means) and the teal arrow "
           "(what i reads) coincide. With scalar messages the numbers are passed on unchanged: still invariant, "
           "but i reads them in the wrong axes. Switch the mode between “scalar frames” and “tensor frames”. "
           "Both arrows start at i. (This lesson uses 3-nearest-neighbour frames, which change a lot from point "
           "to point; with PCA frames on a smooth surface neighbouring frames are similar and the mismatch is "
           "smaller. No trained model uses them, so this network has random weights and its normals are "
           "meaningless: the messages, which are the point here, do not depend on the weights.)",
           {"shape": "ellipsoid", "mode": "scalar_frames", "frames": "3nn", "axis": "y", "angle": 45,
            "show_messages": True, "node": 100, "neighbour": 3, "show_pred": False, "color_by": "plain",
            "layout": "overlay"}),
    Lesson("mirror", "5 · Reflections",
           "A mirror image is not a rotation: a right hand becomes a left hand. Frames may be left-handed "
           "(det R = −1), so they follow mirrors too (a cross product alone would only follow rotations). Toggle "
           "“Reflect” and change the plane: the error stays at round-off for tensor frames.",
           {"shape": "superquadric", "mode": "tensor_frames", "frames": "pca", "angle": 30, "axis": "diagonal",
            "reflect": True, "mirror": "x", "show_frames": True, "frame_density": 4, "show_undo": True}),
    Lesson("sweep", "6 · The whole orbit at once",
           "Open the “Charts” tab and switch on the comparison: the error is measured for every rotation angle "
           "about the chosen axis, with and without a mirror, for this model and for the baseline. Tensor frames "
           "stay flat at round-off; the baseline is only right at 0° (and wherever the shape happens to be "
           "symmetric).",
           {"shape": "capsule", "mode": "tensor_frames", "axis": "y", "angle": 120}),
    Lesson("fallback", "7 · Where frames must fail",
           "A frame needs a direction of least spread and an orientation for each axis. On a box's flat face the "
           "neighbourhood looks the same from both sides, so the library asks the rest of the object (its "
           "centroid, its far field) which side is out: boxes and CAD parts get exact frames. This sheet is "
           "different: the mirror through its plane maps the whole cloud onto itself, so nothing can say which "
           "side is up. The library detects it, uses a fixed fallback and counts it: every point is highlighted "
           "and the verdict names the frames as the cause. Add a little noise and the symmetry, and the fallback, "
           "are gone.",
           {"shape": "disk", "noise": 0.0, "mode": "tensor_frames", "frames": "pca", "axis": "x",
            "angle": 150, "color_by": "equivariance gap", "show_fallback": True, "show_pred": True}),
)
BY_KEY = {lesson.key: lesson for lesson in LESSONS}
