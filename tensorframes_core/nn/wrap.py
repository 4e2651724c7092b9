"""``make_equivariant``: tensorial messages for an unmodified PyG layer.

The layer's own ``forward`` runs unchanged; only its ``propagate`` is replaced (on that instance) by
:func:`~tensorframes_core.nn.propagate.propagate_in_frames`, which moves the declared tensors into
the receiver's frame before ``message``. The wrapper hands the frames to that ``propagate`` through a
thread-local slot for the duration of the call (the layer's ``forward`` has no ``frames`` argument);
no hooks, so it works the same under ``torch.compile``. Features going in and out of the wrapper are
local (use :func:`to_local` / :func:`to_global` around the network).

What to declare (``C``: reps whose ``dim`` is the width of the propagated tensor)::

    layer                     declare                                     why
    EdgeConv(nn)              local={"x": C_in}                           nn([x_i, x_j - x_i]), x_j moved first
    PointNetConv(l_nn, g_nn)  local={"x": C_in}, global_={"pos": "1x1n"}  R_i pos_j - R_i pos_i = R_i (pos_j - pos_i)
    GCNConv(in, out)          local={"x": C_out}, C_out.dim == out        lin runs before propagate: declare its output
    GATConv(in, out, heads)   local={"x": C_out}, C_out.dim == out        lin(x) is (N, heads, out): C_out per head;
                                                                          attention logits are local (invariant) numbers
    GINConv(nn), SimpleConv   local={"x": C_in}                           sum of moved x_j (then nn)

What is exact: every number computed from local features is invariant, so with equivariant frames
a wrapped layer is exactly O(d)-equivariant whatever the declaration (also with
``frame_transform=False``). The declaration decides whether messages are *tensorial*:
``rho(R_i R_j^T)`` is the correct change of frame when the propagated channels are coefficients of
the declared reps. A ``Linear`` on local features (GCN, GAT) may mix all channels, because its inputs
are invariant numbers; its output is then *defined* to be ``C_out`` in the node's frame, and the frame
change after it is correct. Inputs of ``edge_update`` (GATv2Conv's ``x_i + x_j``) are not moved:
declaring such a name raises. Undeclared ``pos`` raises too (raw global coordinates).
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Mapping, Optional

import torch
from torch_geometric.nn import MessagePassing

from tensorframes_core.nn.propagate import FrameSpec, propagate_in_frames

Tensor = torch.Tensor


_CALL = threading.local()  # (layer, frames) of the wrapper call in progress in this thread
_CALL.current = None  # other threads start without it: getattr(..., None) below


def _propagate_with_frames(layer: MessagePassing, spec: FrameSpec, edge_index, size=None, **kwargs: Any) -> Tensor:
    current = getattr(_CALL, "current", None)
    if current is None or current[0] is not layer:
        raise ValueError(f"this {type(layer).__name__} was made equivariant: call its wrapper with frames=")
    return propagate_in_frames(layer, spec, current[1], edge_index, size, kwargs)


class EquivariantWrapper(torch.nn.Module):
    """``layer`` with declared propagated tensors moved into the receiver's frame (see module docs).

    Call as ``wrapper(*layer_args, frames=frames, **layer_kwargs)``. For the duration of the call the
    frames sit in a thread-local slot where the layer's ``propagate`` finds them: nothing per call is
    stored on a module, and it traces under ``torch.compile(fullgraph=True)``.
    """

    def __init__(
        self,
        layer: MessagePassing,
        local: Mapping[str, Any],
        global_: Optional[Mapping[str, Any]] = None,
        frame_transform: bool = True,
        d: int = 3,
    ) -> None:
        super().__init__()
        if not isinstance(layer, MessagePassing):
            raise TypeError(f"expected a torch_geometric MessagePassing layer, got {type(layer).__name__}")
        if isinstance(vars(layer).get("propagate"), functools.partial):
            raise ValueError(f"this {type(layer).__name__} is already wrapped")
        if not local and not global_:
            raise ValueError("declare at least one local or global tensor")
        self.frame_spec = FrameSpec(local, global_, frame_transform, d)
        self.frame_spec.check(layer)
        layer.propagate = functools.partial(_propagate_with_frames, layer, self.frame_spec)
        self.layer = layer

    def forward(self, *args: Any, frames=None, **kwargs: Any) -> Any:
        if frames is None:
            raise ValueError(f"{type(self.layer).__name__}: frames= is required")
        if not isinstance(vars(self.layer).get("propagate"), functools.partial):
            raise RuntimeError("the layer's propagate was replaced (explain/decomposed_layers?): frames would be lost")
        previous = getattr(_CALL, "current", None)
        _CALL.current = (self.layer, frames)
        try:
            return self.layer(*args, **kwargs)
        finally:
            _CALL.current = previous


def make_equivariant(
    layer: MessagePassing,
    local: Mapping[str, Any],
    global_: Optional[Mapping[str, Any]] = None,
    frame_transform: bool = True,
    d: int = 3,
) -> EquivariantWrapper:
    """Wrap an unmodified PyG ``layer`` so that its messages are tensorial.

    ``local``: names the layer propagates that hold local features, with their reps
    (``x_j -> rho(R_i R_j^T) x_j``); ``global_``: global inputs moved by ``rho(R_i)``. The ``layer``
    instance is modified in place (its ``propagate``) and is then only usable through the wrapper.

    >>> import torch
    >>> from torch_geometric.nn import SimpleConv
    >>> from tensorframes_core.equivariance import random_orthogonal
    >>> from tensorframes_core.nn import to_local
    >>> conv = make_equivariant(SimpleConv(aggr="sum"), local={"x": "1x1n"})
    >>> R = random_orthogonal(2, dtype=torch.float64)
    >>> v = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)       # one global vector at both nodes
    >>> out = conv(to_local(v.expand(2, 3), "1x1n", R), torch.tensor([[0], [1]]), frames=R)
    >>> torch.allclose(out[1], to_local(v, "1x1n", R[1:])[0])         # node 1 sees it in its own frame
    True
    """
    return EquivariantWrapper(layer, local, global_, frame_transform, d)
