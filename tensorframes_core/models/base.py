"""What every normal-estimation model shares: normalisation, frames per mode, input and output transforms.

One forward pass of a :class:`NormalModel` (the architecture only supplies ``body``)::

    pos --centre (per-cloud mean), scale (per-cloud RMS radius)--> p_i
        --frames for the mode--> R_i
        --to_local--> x_i = [1, R_i p_i]                       ("1x0n+1x1n", invariant numbers)
        --body (message passing, rho(R_i R_j^T) on every hop)--> h_i
        --VectorHead--> y_i (local 1x1n) --unit, to_global--> n_i = R_i^T y_i / |y_i|

Modes change only the frames and whether features are moved between frames:

=============== ============================================== =================
mode            frames R_i                                     rho(R_i R_j^T)
=============== ============================================== =================
baseline        identity                                       skipped (= I)
augment         one Haar O(3) per cloud while training,        skipped (= I within
                identity in ``eval()``                         a cloud)
scalar_frames   ``frames`` (pca, learned, 3nn, random)         skipped
tensor_frames   ``frames`` (pca, learned, 3nn, random)         applied
=============== ============================================== =================

In ``baseline`` and ``augment`` every edge joins two nodes of one cloud, whose frames are equal, so
the skipped transform is exactly the identity: these modes run the plain network with no per-edge
work, which is the fair reference for the cost of tensor frames.

``frames="random"`` (a fresh random frame per node and call) is a control: it is NOT equivariant,
since such frames do not rotate with the input.
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from tensorframes_core.frames import (
    LearnedFrames,
    as_matrices,
    identity_frames,
    pca_frames,
    random_frames,
    random_global_frames,
    three_nn_frames,
)
from tensorframes_core.frames.rules import CloudContext
from tensorframes_core.graph import knn_table
from tensorframes_core.models.layers import VectorHead
from tensorframes_core.nn import TFMessagePassing, to_global, to_local
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor

MODES = ("baseline", "augment", "scalar_frames", "tensor_frames")
FRAMES = ("pca", "learned", "3nn", "random")
TASKS = ("normals",)
INPUT_REPS = "1x0n+1x1n"  # [1, p_i]: a constant and the position about the cloud's centroid


def check_choice(what: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else ``ValueError`` listing them.

    >>> check_choice("mode", "baseline", MODES)
    'baseline'
    """
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {', '.join(choices)}")
    return value


def unpack(data) -> Tuple[Tensor, Tensor, int]:
    """``(pos (N, 3), batch (N,) long, num_graphs)`` from a PyG ``Data``/``Batch`` or a ``pos`` tensor."""
    if isinstance(data, Tensor):
        pos, batch = data, None
    else:
        pos, batch = data.pos, getattr(data, "batch", None)
    if pos is None or pos.dim() != 2 or pos.shape[-1] != 3:
        raise ValueError(f"expected pos of shape (N, 3), got {None if pos is None else tuple(pos.shape)}")
    if not pos.is_floating_point():
        pos = pos.to(torch.get_default_dtype())
    if batch is None:
        batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    return pos, batch.long(), num_graphs


def normalise_clouds(pos: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    r"""Each cloud centred at its mean and divided by its RMS radius: :math:`p_i = (x_i - c) / s`.

    ``s = sqrt(mean_i |x_i - c|^2)`` is invariant and ``c`` equivariant, so ``p`` moves with ``Q``
    exactly like ``x`` and is the same for a cloud in metres or millimetres, anywhere in space.
    A cloud of coincident points keeps ``s = 1``. Returns a new ``(N, 3)`` tensor.

    >>> p = normalise_clouds(torch.tensor([[1e3, 0., 0.], [1e3 + 2., 0., 0.]]), torch.zeros(2, dtype=torch.long), 1)
    >>> p
    tensor([[-1.,  0.,  0.],
            [ 1.,  0.,  0.]])
    """
    count = torch.zeros(num_graphs, dtype=pos.dtype, device=pos.device).index_add_(
        0, batch, torch.ones_like(pos[:, 0])).clamp_min(1)
    centre = torch.zeros(num_graphs, pos.shape[1], dtype=pos.dtype, device=pos.device).index_add_(0, batch, pos)
    centred = pos - (centre / count[:, None])[batch]
    square = torch.zeros_like(count).index_add_(0, batch, centred.pow(2).sum(-1))
    scale = (square / count).sqrt()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return centred / scale[batch, None]


def unit_vectors(y: Tensor) -> Tensor:
    """Rows of ``y: (N, d)`` scaled to unit length; a (near) zero row becomes ``e_0``.

    Done in the local frame, where ``e_0`` is the frame's first axis, so the fallback is equivariant too.

    >>> unit_vectors(torch.tensor([[3., 0., 4.], [0., 0., 0.]]))
    tensor([[0.6000, 0.0000, 0.8000],
            [1.0000, 0.0000, 0.0000]])
    """
    eps = torch.finfo(y.dtype).eps
    norm = y.norm(dim=-1, keepdim=True)
    e0 = torch.zeros_like(y).index_fill(-1, torch.tensor([0], device=y.device), 1.0)
    return torch.where(norm > eps, y / norm.clamp_min(eps), e0)


class CloudScope(NamedTuple):
    """What a tile of a larger cloud takes from the whole, so that its points get exactly the outputs of
    one pass over the whole cloud (``normals.tiles``). The tile's ``pos`` is then already normalised for
    the whole cloud. ``table``: the shared neighbour table of the tile's points (``knn_table`` layout,
    ``shared_k`` columns, indices into the tile, ``-1`` outside it); ``frames``: the whole cloud's
    :class:`~tensorframes_core.frames.rules.CloudContext` rows of the tile; ``coarse``: for architectures
    with coarse scales, ``(reference (M, 3), index (N, K) into it, dist (N, K))``."""

    table: Tuple[Tensor, Tensor]
    frames: CloudContext
    coarse: Optional[Tuple[Tensor, Tensor, Tensor]] = None


class FrameSelector(nn.Module):
    """The node frames for a ``mode`` (see the module table); holds ``LearnedFrames`` when those are used.

    ``forward(pos: (N, 3), batch: (N,)) -> Frames``. Frames are built from the normalised positions.
    """

    def __init__(self, mode: str, frames: str, k: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.mode = check_choice("mode", mode, MODES)
        self.kind = check_choice("frames", frames, FRAMES)
        self.k = int(k)
        self.uses_frames = mode in ("scalar_frames", "tensor_frames")
        self.learned = LearnedFrames(k=self.k, hidden=hidden) if self.uses_frames and frames == "learned" else None

    def forward(self, pos: Tensor, batch: Tensor, table: Optional[Tuple[Tensor, Tensor]] = None,
                context: Optional[CloudContext] = None):
        """``table``: the model's shared neighbour table, used by PCA frames (``>= k + 1`` columns);
        ``context``: the whole cloud's context when ``pos`` is a tile of it (PCA frames)."""
        n, kw = pos.shape[0], {"dtype": pos.dtype, "device": pos.device}
        if self.mode == "augment" and self.training:
            return random_global_frames(batch, n=n, **kw)
        if not self.uses_frames:
            return identity_frames(n, **kw)
        if self.kind == "pca":
            return pca_frames(pos, k=self.k, batch=batch, table=table, context=context)
        if self.kind == "learned":
            return self.learned(pos, batch=batch)
        if self.kind == "3nn":
            return three_nn_frames(pos, batch=batch)
        return random_frames(n, **kw)

    def extra_repr(self) -> str:
        return f"mode={self.mode}, frames={self.kind}, k={self.k}"


class EdgeProbe(TFMessagePassing):
    """Per-edge features as the receiver uses them (the same propagate path as every layer, no aggregation).

    ``forward(x: (N, dim), edge_index: (2, E), frames) -> (E, dim)``: ``rho(R_i R_j^T) x_j``, or ``x_j``
    with ``frame_transform=False``. Used for ``aux["received"]``.
    """

    def __init__(self, reps, frame_transform: bool = True) -> None:
        super().__init__(local={"x": reps}, frame_transform=frame_transform, aggr="sum")

    def forward(self, x: Tensor, edge_index: Tensor, frames) -> Tensor:
        return self.propagate(edge_index, frames=frames, x=x)

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def aggregate(self, inputs: Tensor) -> Tensor:
        return inputs


class NormalModel(nn.Module):
    """Base class: unit normals ``(N, 3)`` in the global frame from a point cloud, in any of the four modes.

    Subclasses build their layers in ``__init__`` (feature reps ``self.in_reps`` in, ``self.hidden``
    out, moving features between frames only if ``self.frame_transform``) and implement
    ``body(x, pos, batch, frames, num_graphs) -> (h: (N, hidden.dim), edge_index)`` where ``x: (N, in_reps.dim)``
    are the local input features, ``pos`` the normalised positions, ``frames: (N, 3, 3)`` and
    ``edge_index`` the first message-passing layer's edges in point indices. A subclass whose body
    searches the positions' nearest neighbours sets ``self.shared_k``: the forward pass then makes
    one ``knn_table(pos, pos, shared_k, exclude_self=True)``, gives it to the PCA frames and to
    ``body(..., table=)``, instead of two searches.

    ``model(data)`` -> normals; ``model(data, return_aux=True)`` -> ``(normals, aux)`` with ``frames``
    ``(N, 3, 3)``, ``fallback_mask`` ``(N,)``, ``edge_index`` ``(2, E)``, ``sent`` ``(E, in_dim)`` (sender's
    input features in the sender's frame), ``received`` ``(E, in_dim)`` (as the receiver uses them) and
    ``reps`` (``str(in_reps)``). ``model.config`` rebuilds the model: ``build_model(**model.config)``.

    Architectures with other inputs set the class attribute ``input_reps`` and override
    :meth:`global_inputs` (e.g. ``multiscale``: neighbourhood moments instead of positions).
    """

    input_reps: str = INPUT_REPS
    receptive_hops: Optional[int] = None  # neighbour-table hops that decide a point's output, if bounded

    def __init__(
        self,
        arch: str,
        mode: str,
        frames: str,
        task: str,
        sizes: Dict[str, Any],
        hidden: str = "16x0n+8x1n",
        frame_k: int = 16,
        frame_hidden: int = 32,
    ) -> None:
        super().__init__()
        check_choice("task", task, TASKS)
        self.frame_selector = FrameSelector(mode, frames, frame_k, frame_hidden)
        self.frame_transform = mode == "tensor_frames"
        self.in_reps = as_reps(self.input_reps)
        self.hidden = as_reps(hidden)
        self.head = VectorHead(self.hidden.dim)
        self.probe = EdgeProbe(self.in_reps, self.frame_transform)
        self.shared_k = 0
        self.config: Dict[str, Any] = {
            "arch": arch, "mode": mode, "frames": frames, "task": task,
            "hidden": str(self.hidden), "frame_k": int(frame_k), "frame_hidden": int(frame_hidden), **sizes,
        }

    def global_inputs(self, pos: Tensor, batch: Tensor, table: Optional[Tuple[Tensor, Tensor]],
                      scope: Optional[CloudScope] = None) -> Tensor:
        """Per-point input features in the global frame, ``(N, in_reps.dim)``: ``[1, p_i]`` here."""
        return torch.cat([torch.ones_like(pos[:, :1]), pos], dim=-1)

    def body(self, x: Tensor, pos: Tensor, batch: Tensor, frames: Tensor, num_graphs: int,
             table: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, data, return_aux: bool = False, scope: Optional[CloudScope] = None):
        """``scope``: this cloud is a tile of a larger one (see :class:`CloudScope`; one cloud only)."""
        pos, batch, num_graphs = unpack(data)
        param = next(self.parameters(), None)
        dtype = param.dtype if param is not None and param.is_floating_point() else pos.dtype
        in_dtype = pos.dtype
        if scope is None:
            pos = normalise_clouds(pos.to(dtype), batch, num_graphs)
            table = knn_table(pos, pos, self.shared_k, batch, batch, exclude_self=True) if self.shared_k else None
        else:
            pos, table = pos.to(dtype), scope.table
        frames = self.frame_selector(pos, batch, table, None if scope is None else scope.frames)
        R = as_matrices(frames).to(dtype)
        x = to_local(self.global_inputs(pos, batch, table, scope), self.in_reps, R)
        h, edge_index = self.body(x, pos, batch, R, num_graphs, table=table)
        normals = to_global(unit_vectors(self.head(h)), "1x1n", R).to(in_dtype)
        if not return_aux:
            return normals
        return normals, frame_aux(frames, R, x, edge_index, self.probe, str(self.in_reps))


def frame_aux(frames, R: Tensor, x: Tensor, edge_index: Tensor, probe: Optional[EdgeProbe], reps: str) -> Dict[str, Any]:
    """The ``aux`` dict of ``model(data, return_aux=True)`` (see :class:`NormalModel`)."""
    mask = getattr(frames, "fallback_mask", None)
    if mask is None:
        mask = torch.zeros(R.shape[0], dtype=torch.bool, device=R.device)
    sent = x.index_select(0, edge_index[0])
    received = sent if probe is None else probe(x, edge_index, frames=R)
    return {"frames": R, "fallback_mask": mask, "edge_index": edge_index, "sent": sent,
            "received": received, "reps": reps}
