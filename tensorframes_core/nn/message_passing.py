"""``TFMessagePassing``: PyG's ``MessagePassing`` with tensorial messages."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
from torch_geometric.nn import MessagePassing

from tensorframes_core.nn.propagate import FrameSpec, propagate_in_frames

Tensor = torch.Tensor


class TFMessagePassing(MessagePassing):
    r"""Base class for message passing in local frames (subclass it like ``MessagePassing``).

    .. math::
        f_i' = \psi\Big(f_i,\ \bigoplus_j \phi\big(f_i,\ \rho(R_i R_j^T) f_j,\ \rho_e(R_i) e_{ji},\
        R_i (x_j - x_i)\big)\Big)

    Implement ``message(self, x_i, x_j, ...)`` and call
    ``self.propagate(edge_index, frames=frames, x=x, ...)``. Before ``message`` runs:

    * names in ``local`` are node features in each node's own frame; their ``_j`` version is moved
      into the receiver's frame, ``x_j -> rho(R_i R_j^T) x_j`` (``x_i`` is already there);
    * names in ``global_`` are global geometric inputs (per node, or per edge when read without suffix)
      moved into the receiver's frame, ``e -> rho(R_i) e``;
    * a ``message`` argument named ``edge_vec`` receives ``R_i (pos_j - pos_i)``, ``(E, d)``, from
      ``propagate(..., pos=pos)``.

    ``frame_transform=False`` skips ``rho(R_i R_j^T)`` ("scalar messages", the ablation; same code
    path). ``frames`` is a ``Frames``, an ``(N, d, d)`` tensor, or a ``(src, dst)`` pair with
    ``size=(N_src, N_dst)``. A declared name that the layer never reads raises ``ValueError`` at
    construction, one not passed to ``propagate`` at the call; reading ``pos`` without declaring it raises.
    ``d`` is only used to parse reps strings.

    >>> import torch
    >>> from tensorframes_core.nn import TFMessagePassing
    >>> class Sum(TFMessagePassing):
    ...     def __init__(self):
    ...         super().__init__(local={"x": "1x1n"}, aggr="sum")
    ...     def forward(self, x, edge_index, frames):
    ...         return self.propagate(edge_index, frames=frames, x=x)
    ...     def message(self, x_j):
    ...         return x_j
    >>> R = torch.eye(3).expand(2, 3, 3)
    >>> Sum()(torch.ones(2, 3), torch.tensor([[0, 1], [1, 0]]), R)
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """

    def __init__(
        self,
        local: Optional[Mapping[str, Any]] = None,
        global_: Optional[Mapping[str, Any]] = None,
        frame_transform: bool = True,
        d: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.frame_spec = FrameSpec(local, global_, frame_transform, d)
        self.frame_spec.check(self)

    def _set_jittable_templates(self, raise_on_error: bool = False) -> None:
        # PyG generates a `propagate` from a template for every subclass and installs it on that
        # subclass, which would replace `TFMessagePassing.propagate` (and the frame changes with it).
        # Keep ours; PyG's `explain`/`decomposed_layers` setters rebind these two attributes.
        cls = type(self)
        cls._orig_propagate = cls._jinja_propagate = cls.propagate

    def propagate(self, edge_index, size=None, *, frames=None, **kwargs: Any) -> Tensor:
        """Like ``MessagePassing.propagate``, plus ``frames=`` (required)."""
        return propagate_in_frames(self, self.frame_spec, frames, edge_index, size, kwargs)
