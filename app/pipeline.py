"""Settings -> cloud -> g * cloud -> model outputs: cached calls into ``tensorframes_core``.

Caching (shared by all sessions, read-only): models with ``st.cache_resource`` (built once per
(arch, mode, frames), used only in ``eval`` + ``inference_mode``), clouds and predictions with
``st.cache_data`` (returned as copies). A widget that only changes the picture hits these caches
and never reruns a model; a change of shape never reloads a model.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st
import torch
from torch_geometric.data import Data

from tensorframes_core.data import shapes
from tensorframes_core.data.cloud import InputError
from tensorframes_core.data.formats import MAX_BYTES, load_point_cloud
from tensorframes_core.equivariance import orbit_sweep as core_orbit_sweep
from tensorframes_core.equivariance import relative_equivariance_error
from tensorframes_core.group import rotation_about, rotation_from_euler, transform_matrix
from tensorframes_core.models import build_model
from tensorframes_core.reps import as_reps
from tensorframes_core.train.metrics import angle_error

from app.settings import MAX_POINTS, Settings

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
MAX_UPLOAD_BYTES = min(MAX_BYTES, 50 * 2**20)
VECTOR = as_reps("1x1n")


def device_label() -> str:
    """The device the models run on, in words."""
    return f"GPU: {torch.cuda.get_device_name(DEVICE)}" if DEVICE.type == "cuda" else "CPU"


# ----------------------------------------------------------------------------- clouds
@dataclass(frozen=True)
class Cloud:
    """A point cloud as numpy arrays: pos (N, 3) float32, normals (N, 3) or None, notices for the user."""

    pos: np.ndarray
    normals: np.ndarray | None
    name: str
    notices: tuple[str, ...] = ()


def _as_cloud(point_cloud, notices=()) -> Cloud:
    normals = None if point_cloud.normals is None else point_cloud.normals.numpy()
    return Cloud(point_cloud.pos.numpy(), normals, point_cloud.name, tuple(notices))


@st.cache_data(max_entries=16, show_spinner=False)
def gallery_cloud(shape: str, n_points: int, noise: float, seed: int) -> Cloud:
    """A procedural shape with exact normals."""
    return _as_cloud(shapes.make(shape, n_points, noise=noise, seed=seed))


@st.cache_data(max_entries=8, show_spinner=False)
def uploaded_cloud(data: bytes, filename: str, n_points: int) -> Cloud:
    """An uploaded file (any format ``load_point_cloud`` reads), capped at ``n_points``; raises InputError."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{filename}: the file is {len(data) / 2**20:.0f} MB; the limit is "
                         f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB. Subsample it first.")
    n_points = min(n_points, MAX_POINTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cloud = load_point_cloud(data, filename=filename, n_points=n_points, dtype=None)
    notices = [f"{filename}: {w.message}" for w in caught]
    if cloud.pos.dtype == torch.float64:  # float32 would round its coordinates: a geo-referenced scan
        centre = (cloud.pos.amax(0) + cloud.pos.amin(0)) / 2
        cloud = replace(cloud, pos=(cloud.pos - centre).float())
        notices.append(f"{filename}: coordinates this far from the origin lose their precision in float32, so the "
                       f"cloud is shown relative to its centre ({', '.join(f'{c:.3f}' for c in centre.tolist())}); "
                       "the whole-file download keeps them as read")
    return _as_cloud(cloud, notices)


# ----------------------------------------------------------------------------- transform
def transform_of(s: Settings) -> np.ndarray:
    """The (3, 3) orthogonal g chosen in the sidebar (rotation after the optional mirror)."""
    if s.rot_mode == "axis + angle":
        rotation = rotation_about(s.axis, s.angle)
    else:
        rotation = rotation_from_euler(s.euler_x, s.euler_y, s.euler_z)
    return transform_matrix(rotation, s.mirror if s.reflect else None).numpy()


def apply(g: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``vectors (N, 3)`` moved by g, via the core's vector representation."""
    out = VECTOR.transform(torch.from_numpy(vectors).double(), torch.from_numpy(g).double())
    return out.numpy().astype(vectors.dtype)


# ----------------------------------------------------------------------------- models
@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference; ``status`` is "pretrained", "untrained", "classical" or "trained here"."""

    model: torch.nn.Module = field(compare=False)
    key: str
    status: str
    note: str = ""


def _pretrained(arch: str, mode: str, frames: str):
    """``(model, note)`` from ``tensorframes_core.pretrained`` if there is a usable checkpoint, else ``(None, why)``."""
    try:
        from tensorframes_core.pretrained import load_pretrained
    except ImportError:
        return None, "no pretrained checkpoints in this installation"
    try:
        return load_pretrained(arch, mode, frames), ""
    except Exception as exc:  # noqa: BLE001 - a missing or broken checkpoint must not break the app
        return None, f"no usable checkpoint ({type(exc).__name__}: {exc})"


@st.cache_resource(max_entries=24, show_spinner=False)
def shared_model(arch: str, mode: str, frames: str) -> LoadedModel:
    """The model for (arch, mode, frames): pretrained if a checkpoint exists, else seeded untrained weights.

    Shared by every session, so it is frozen: eval mode, no gradients, only used under inference_mode.
    """
    key = f"{arch}/{mode}/{frames}"
    if arch == "pca":
        model, status, note = build_model(arch, mode, frames), "classical", "PCA needs no training"
    else:
        model, note = _pretrained(arch, mode, frames)
        status = "pretrained"
        if model is None:
            torch.manual_seed(0)
            model, status = build_model(arch, mode, frames), "untrained"
    model = model.to(DEVICE).eval().requires_grad_(False)
    return LoadedModel(model, f"{key}/{status}", status, note)


@dataclass(frozen=True)
class Prediction:
    """One forward pass: normals (N, 3), frames (N, 3, 3) rows = axes, fallback (N,) bool, first-layer
    edge_index (2, E) ([0] = sender j, [1] = receiver i), sent/received (E, dim) of reps ``reps``."""

    normals: np.ndarray
    frames: np.ndarray
    fallback: np.ndarray
    edge_index: np.ndarray
    sent: np.ndarray
    received: np.ndarray
    reps: str


@st.cache_data(max_entries=48, show_spinner=False)
def predict(model_key: str, _model: torch.nn.Module, pos: np.ndarray) -> Prediction:
    """``model(pos)`` with its aux outputs, cached on (model_key, pos)."""
    data = Data(pos=torch.from_numpy(np.ascontiguousarray(pos)).to(DEVICE))
    with torch.inference_mode():
        normals, aux = _model(data, return_aux=True)
    cpu = {k: v.detach().cpu().numpy() for k, v in aux.items() if isinstance(v, torch.Tensor)}
    return Prediction(normals.detach().cpu().float().numpy(), cpu["frames"].astype(np.float32),
                      cpu["fallback_mask"].astype(bool), cpu["edge_index"].astype(np.int64),
                      cpu["sent"].astype(np.float32), cpu["received"].astype(np.float32), str(aux["reps"]))


SWEEP_ANGLES = tuple(range(0, 361, 15))
SWEEP_POINTS = 600


@st.cache_data(max_entries=16, show_spinner=False)
def orbit_sweep(model_key: str, _model: torch.nn.Module, pos: np.ndarray, axis: str, mirror: str | None) -> list[float]:
    """Equivariance error for g = rotation(angle about ``axis``) [@ mirror] at SWEEP_ANGLES, on <= SWEEP_POINTS points."""
    pos_t = torch.from_numpy(pos[np.linspace(0, len(pos) - 1, min(len(pos), SWEEP_POINTS)).astype(int)])

    def fn(p: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return _model(Data(pos=p.float().to(DEVICE))).cpu().double()

    return core_orbit_sweep(fn, pos_t.double(), axis, SWEEP_ANGLES, mirror)


# ----------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class Results:
    """Everything the picture needs for one (cloud, g, model)."""

    cloud: Cloud
    g: np.ndarray
    moved_pos: np.ndarray
    moved_gt: np.ndarray | None
    pred: Prediction
    moved_pred: Prediction
    undone: np.ndarray                 # g^-1 f(g x): comparable with f(x)
    eq_error: float                    # ||f(gx) - g f(x)|| / ||f(x)||
    fallback_any: np.ndarray           # (N,) a frame fallback fired at the point in x or in g x
    eq_error_regular: float            # the same, over points where no fallback fired
    gap_deg: np.ndarray                # per point angle between f(x) and g^-1 f(gx)
    err_deg: np.ndarray | None         # per point angle error of f(x) vs ground truth
    moved_err_deg: np.ndarray | None   # ... of f(gx) vs g n


@st.cache_data(max_entries=32, show_spinner=False)
def layer_errors(name: str, pos: np.ndarray, g: np.ndarray) -> dict[str, float]:
    """Equivariance error of PyG layer ``name`` plain and wrapped by ``make_equivariant`` (``nn.layer_zoo``),
    random weights, float64, on this cloud and this g."""
    from tensorframes_core.nn.layer_zoo import layer_equivariance

    return layer_equivariance(name, torch.from_numpy(pos).double(), torch.from_numpy(g).double())


def run(cloud: Cloud, g: np.ndarray, loaded: LoadedModel) -> Results:
    """Predict on x and g x (cached) and derive the numbers the page shows."""
    moved_pos = apply(g, cloud.pos)
    pred = predict(loaded.key, loaded.model, cloud.pos)
    moved = predict(loaded.key, loaded.model, moved_pos)
    g_t = torch.from_numpy(g)
    undone = apply(g.T.copy(), moved.normals)
    f_x, f_gx = torch.from_numpy(pred.normals).double(), torch.from_numpy(moved.normals).double()
    eq_error = relative_equivariance_error(f_x, f_gx, g_t)
    fallback_any = pred.fallback | moved.fallback
    regular = torch.from_numpy(~fallback_any)
    eq_regular = relative_equivariance_error(f_x[regular], f_gx[regular], g_t) if bool(regular.any()) else eq_error
    gap = angle_error(f_x, torch.from_numpy(undone).double()).numpy()
    moved_gt = err = moved_err = None
    if cloud.normals is not None:
        moved_gt = apply(g, cloud.normals)
        err = angle_error(f_x, torch.from_numpy(cloud.normals).double()).numpy()
        moved_err = angle_error(f_gx, torch.from_numpy(moved_gt).double()).numpy()
    return Results(cloud, g, moved_pos, moved_gt, pred, moved, undone, eq_error, fallback_any, eq_regular, gap, err,
                   moved_err)
