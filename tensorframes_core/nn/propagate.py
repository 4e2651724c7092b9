"""The one propagate path shared by :class:`TFMessagePassing` and :func:`make_equivariant`.

PyG's ``MessagePassing.propagate`` lifts node tensors to edges in ``_collect`` and then calls
``message``. :func:`propagate_in_frames` runs the same steps explicitly (``_collect`` -> frame changes
-> ``message`` -> ``aggregate`` -> ``update``), so the frame changes are ordinary code on the call path:

* local feature ``x`` (declared in ``local``): ``x_j -> rho(R_i R_j^T) x_j``; ``x_i`` is already in the
  receiver's frame;
* global input ``e`` (declared in ``global_``): ``e``, ``e_i``, ``e_j -> rho(R_i) (.)`` (a bare ``e`` is
  per edge, ``(E, ..., dim)``);
* ``edge_vec`` (a reserved ``message`` argument): ``R_i (pos_j - pos_i)`` from ``propagate(..., pos=)``.

Message hooks are not run (PyG skips them under ``torch.compile`` as well, so eager and compiled
runs agree), the fused ``message_and_aggregate`` path is never taken (there would be no per-edge
message to change frame) and ``decomposed_layers`` is ignored (same result in one piece).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import torch
from torch_geometric.nn import MessagePassing

from tensorframes_core.frames import split_frames
from tensorframes_core.nn.transforms import apply_edgewise, relative_frames
from tensorframes_core.reps import as_reps

Tensor = torch.Tensor

EDGE_VEC = "edge_vec"
RESERVED = frozenset({"frames", EDGE_VEC}) | frozenset(MessagePassing.special_args)


def _uses(name: str, args: List[str]) -> bool:
    return any(a in args for a in (name, f"{name}_i", f"{name}_j"))


class FrameSpec:
    """Which propagated tensors are local features and which are global geometric inputs.

    ``local`` and ``global_`` map the names passed to ``propagate`` to reps (objects or spec strings,
    parsed with ``as_reps(spec, d)``; a bad spec raises ``ValueError``).
    """

    def __init__(
        self,
        local: Optional[Mapping[str, Any]] = None,
        global_: Optional[Mapping[str, Any]] = None,
        frame_transform: bool = True,
        d: int = 3,
    ) -> None:
        self.local = {name: as_reps(reps, d) for name, reps in dict(local or {}).items()}
        self.global_ = {name: as_reps(reps, d) for name, reps in dict(global_ or {}).items()}
        self.frame_transform = bool(frame_transform)
        for name in [*self.local, *self.global_]:
            if not isinstance(name, str) or not name.isidentifier() or name in RESERVED:
                raise ValueError(f"{name!r} cannot be declared: use the name passed to propagate "
                                 f"(reserved: {sorted(RESERVED)})")
            if name.endswith(("_i", "_j")):
                raise ValueError(f"declare {name[:-2]!r}, the name passed to propagate, not {name!r}")
        both = set(self.local) & set(self.global_)
        if both:
            raise ValueError(f"{sorted(both)} declared both local and global")

    @property
    def names(self) -> List[str]:
        return [*self.local, *self.global_]

    def check(self, module: MessagePassing) -> None:
        """Raise ``ValueError`` for declarations that ``module``'s ``message``/``aggregate``/``update`` never read."""
        owner = type(module).__name__
        user_args = list(module._user_args)
        for name in self.names:
            if not _uses(name, user_args):
                raise ValueError(
                    f"{owner}: {name!r} is declared but message/aggregate/update never read "
                    f"{name!r}, {name}_i or {name}_j (they read {user_args}); a misspelling?")
            if _uses(name, list(module._edge_user_args)):
                raise ValueError(f"{owner}: {name!r} is read by edge_update, which runs outside propagate "
                                 "and would not see the frame change; read it in message instead")
        if _uses("pos", user_args) and "pos" not in self.names:
            raise ValueError(f"{owner} reads 'pos' (global coordinates, not invariant): declare "
                             "global_={'pos': '1x1n'} or read the edge vector 'edge_vec' instead")

    def __repr__(self) -> str:
        return (f"FrameSpec(local={ {k: str(v) for k, v in self.local.items()} }, "
                f"global_={ {k: str(v) for k, v in self.global_.items()} }, frame_transform={self.frame_transform})")


def propagate_in_frames(
    module: MessagePassing,
    spec: FrameSpec,
    frames,
    edge_index,
    size,
    kwargs: Dict[str, Any],
) -> Tensor:
    """``module``'s message passing with every declared tensor moved into the receiver's frame.

    ``frames``: ``Frames``, ``(N, d, d)`` tensor, or ``(frames_src, frames_dst)`` for bipartite graphs
    (element ``k`` goes with ``edge_index[k]``, like PyG's ``x=(x_src, x_dst)``).
    """
    owner = type(module).__name__
    if frames is None:
        raise ValueError(f"{owner}: frames= is required (Frames, (N, d, d) tensor or a (src, dst) pair)")
    missing = [name for name in spec.names if name not in kwargs]
    if missing:
        raise ValueError(f"{owner}: declared {missing} but propagate got only {sorted(kwargs)}")
    if module.explain:
        raise NotImplementedError(f"{owner}: explain=True is not supported with frames")
    user_args = list(module._user_args)
    wants_edge_vec = EDGE_VEC in user_args
    if EDGE_VEC in kwargs:
        raise ValueError(f"{owner}: 'edge_vec' is computed from pos=, do not pass it")
    if wants_edge_vec:
        if kwargs.get("pos") is None:
            raise ValueError(f"{owner}: message reads 'edge_vec': pass pos= to propagate")
        user_args += ["pos_i", "pos_j"]

    mutable_size = module._check_input(edge_index, size)
    coll = module._collect(user_args, edge_index, mutable_size, kwargs)

    _move_into_receiver_frames(coll, spec, frames, mutable_size, module.flow, wants_edge_vec, owner)

    inspector = module.inspector
    out = module.message(**inspector.collect_param_data("message", coll))
    out = module.aggregate(out, **inspector.collect_param_data("aggregate", coll))
    return module.update(out, **inspector.collect_param_data("update", coll))


def _move_into_receiver_frames(coll: Dict[str, Any], spec: FrameSpec, frames, mutable_size, flow: str,
                               wants_edge_vec: bool, owner: str) -> None:
    """The frame changes, in place on PyG's collected per-edge arguments ``coll``."""
    i, j = (1, 0) if flow == "source_to_target" else (0, 1)
    frame_sets = split_frames(frames)
    for k in (i, j):
        if mutable_size[k] is not None and frame_sets[k].shape[0] != mutable_size[k]:
            raise ValueError(f"{owner}: {frame_sets[k].shape[0]} frames for a node set of size {mutable_size[k]}")
    local_j = [name for name in spec.local if coll.get(f"{name}_j") is not None]
    for name in local_j:  # checked in both modes, so frame_transform=False accepts the same inputs
        if coll[f"{name}_j"].shape[-1] != spec.local[name].dim:
            raise ValueError(f"{owner}: {name} has {coll[f'{name}_j'].shape[-1]} channels, "
                             f"its reps {spec.local[name]} have dim {spec.local[name].dim}")
    change_frames = spec.frame_transform and bool(local_j)
    if change_frames or spec.global_ or wants_edge_vec:  # else: scalar messages, nothing to gather
        R_i = frame_sets[i].index_select(0, coll["edge_index_i"])
    if change_frames:
        R_ij = relative_frames(frame_sets[j].index_select(0, coll["edge_index_j"]), R_i)  # once, for all
        for name in local_j:
            key = f"{name}_j"
            coll[key] = apply_edgewise(coll[key], spec.local[name], R_ij, f"{owner}: local {key}")
    if wants_edge_vec:
        edge_vec = coll["pos_j"] - coll["pos_i"]
        coll[EDGE_VEC] = (R_i.to(edge_vec.dtype) @ edge_vec.unsqueeze(-1)).squeeze(-1)
    for name, reps in spec.global_.items():
        for key in (name, f"{name}_i", f"{name}_j"):
            if coll.get(key) is not None:
                coll[key] = apply_edgewise(coll[key], reps, R_i, f"{owner}: global {key}")
