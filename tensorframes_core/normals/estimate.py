"""``estimate_normals``: unit normals for every point of a cloud, by a classical method or a trained model."""
from __future__ import annotations

from typing import Optional, Union

import torch
from tqdm.auto import tqdm

from tensorframes_core.data.cloud import InputError
from tensorframes_core.normals.classical import jet_normals, pca_normals
from tensorframes_core.normals.orient import orient_normals, parse_orientation
from tensorframes_core.normals import search
from tensorframes_core.normals.search import nearest_of, neighbour_chunks, neighbour_index
from tensorframes_core.pretrained import FLAGSHIP

Tensor = torch.Tensor

DEFAULT_METHOD = "/".join(FLAGSHIP)  # the flagship estimator, trained on real meshes
DEFAULT_K = {"pca": 16, "jet": 24}
METHODS = ("default", "pca", "jet", "ARCH/MODE/FRAMES")
MODEL_POINTS = 65_536  # a model sees at most this many points of a cloud (estimate_normals' model_points)


def _device(device: Optional[Union[str, torch.device]]) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def estimate_normals(pos: Tensor, method: str = "default", k: Optional[int] = None, orient: Optional[str] = None,
                     device: Optional[Union[str, torch.device]] = None, progress: bool = False,
                     model_points: Optional[int] = MODEL_POINTS) -> Tensor:
    """Unit normals ``(N, 3)`` of ``pos: (N, 3)`` (any float dtype; returned in it, on ``pos.device``).

    ``method``: ``"default"`` (the flagship estimator, ``pretrained.FLAGSHIP``), ``"pca"`` (plane fit
    of the ``k`` nearest, default k = 16), ``"jet"`` (quadric fit, k = 24) or a shipped model
    ``"ARCH/MODE/FRAMES"`` (see ``available_pretrained``). A model runs on at most ``model_points``
    points, every ``ceil(N / model_points)``-th by index (a choice that does not depend on the
    orientation), and every other point takes the normal of the nearest of them: the models were trained
    on clouds of 1,000-4,000 points, and in a denser scan the noise per point spacing outgrows what they
    learned, so on noisy scans the subsample gives the better normals, and faster (on clean dense samples
    every point keeps a little more detail; ``benchmarks/density_table.py``). ``model_points`` ``None``
    or 0: the model sees every point. A model with a bounded receptive field runs on the CPU in tiles of
    ``tiles.TILE`` points with the one-pass result (``normals.tiles``); others, and any model on a GPU,
    on the whole cloud at once.
    ``orient``: ``None``/``"none"`` (unoriented), ``"centroid"``, ``"viewpoint:X,Y,Z"`` or
    ``"consistent"`` (see :func:`~tensorframes_core.normals.orient.orient_normals`). ``device``:
    ``"auto"`` (GPU when there is one), ``"cpu"``, ``"cuda"``... Everything runs on the offsets from the
    bounding box's centre, taken in ``pos.dtype`` (normals do not depend on it): a float64 cloud far from
    the origin (a geo-referenced scan) keeps its precision where float32 takes over. One neighbour search
    serves the estimate and the orientation; classical methods run in blocks of points (bounded memory, the same
    result as one pass), with a progress bar over the blocks if ``progress``.

    >>> import tensorframes_core as tf
    >>> cloud = tf.shapes.make("sphere", 2000, seed=0)
    >>> n = estimate_normals(cloud.pos, "pca", orient="centroid")
    >>> bool(((n * cloud.normals).sum(-1) > 0.99).float().mean() > 0.99)
    True
    """
    if not isinstance(pos, Tensor) or pos.dim() != 2 or pos.shape[1] != 3 or not pos.is_floating_point():
        raise InputError(f"pos must be a float tensor of shape (N, 3), got "
                         f"{tuple(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__}")
    if pos.shape[0] < 3 or not bool(torch.isfinite(pos).all()):
        raise InputError("pos needs at least 3 points, all finite")
    how = parse_orientation(orient)
    method = DEFAULT_METHOD if method == "default" else method
    if k is not None and k < 3:
        raise InputError(f"k must be at least 3, got {k}")
    if model_points is not None and model_points != 0 and model_points < 3:
        raise InputError(f"model_points must be at least 3 (or 0: every point), got {model_points}")
    work = pos.detach().to(_device(device))
    origin = (work.amax(0) + work.amin(0)) / 2
    work = work - origin
    if isinstance(how, Tensor):  # a viewpoint, in the input's coordinates
        how = how - origin.double().cpu()
    index = None
    if method in ("pca", "jet"):
        estimate, k = (pca_normals if method == "pca" else jet_normals), k or DEFAULT_K[method]
        # on the CPU, float64 once: the KD-tree and every jet block take it without a copy of their own;
        # PCA fits in the input's precision (pca_normals)
        coords = work.double() if work.device.type == "cpu" else work
        source = work if method == "pca" else coords
        normals = torch.empty(work.shape[0], 3, dtype=work.dtype, device=work.device)
        if how == "consistent":
            index = torch.empty(work.shape[0], k, dtype=torch.long, device=work.device)
        blocks = neighbour_chunks(coords, k)  # one tree, bounded memory
        total = -(-work.shape[0] // search.CHUNK)
        for ids, block in tqdm(blocks, total=total, desc=f"{method} normals", unit="block", disable=not progress,
                               leave=False):
            normals[ids] = estimate(source, block, ids).to(work.dtype)
            if index is not None:
                index[ids] = block
    else:
        normals = _model_normals(work, method, progress, model_points)
    if how == "consistent" and index is None:
        index = neighbour_index(work, k or DEFAULT_K["pca"])
    return orient_normals(work, normals, how, index).to(pos.device, pos.dtype)


def _model_normals(pos: Tensor, method: str, progress: bool, model_points: Optional[int]) -> Tensor:
    from tensorframes_core.pretrained import load_pretrained

    parts = method.split("/")
    if len(parts) != 3:
        raise InputError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    model = load_pretrained(*parts, map_location=pos.device)
    n = pos.shape[0]
    if model_points and n > model_points:
        seen = pos[::-(-n // model_points)]
        return _run_model(model, seen, progress)[nearest_of(pos, seen).to(pos.device)]
    return _run_model(model, pos, progress)


def _run_model(model: torch.nn.Module, pos: Tensor, progress: bool) -> Tensor:
    """``model``'s normals of every point of ``pos: (N, 3)``: in tiles where that gives the one-pass result."""
    from tensorframes_core.normals.tiles import TILE, can_tile, tiled_normals

    if pos.device.type == "cpu" and pos.shape[0] > TILE and can_tile(model):
        return tiled_normals(model, pos, progress=progress)
    param = next(model.parameters(), None)
    with torch.no_grad():
        return model(pos.to(param.dtype if param is not None else torch.float32))
