"""What every representation of O(d) shares: spec, dim, rho, transform, +, str, ==.

A reps object is a direct sum of terms ``mul x V_order``. A subclass says how big one copy of
``V_order`` is (:meth:`Reps._order_dim`), which terms pick up an extra factor det R
(:meth:`Reps._is_pseudo`), and how the group acts on one copy (:meth:`Reps._blocks` for the
matrices, :meth:`Reps._act` for the action on features). ``rho`` and ``transform`` are written once here.
"""
from __future__ import annotations

from typing import Any, Iterator, List, Optional, Tuple

import torch

from tensorframes_core.reps.spec import Term, parse_spec

Tensor = torch.Tensor


class Reps:
    """Base class; use :class:`TensorReps` or :class:`Irreps`."""

    letters: str = ""

    def __init__(self, spec: str, d: int) -> None:
        if not self.letters:
            raise TypeError("Reps is a base class: use TensorReps or Irreps")
        if isinstance(d, bool) or not isinstance(d, int) or d < 2:
            raise ValueError(f"spatial dimension d must be an int >= 2, got {d!r}")
        self.d = d
        self.terms: Tuple[Term, ...] = parse_spec(spec, self.letters)
        self.dim = sum(t.mul * self._order_dim(t.order) for t in self.terms)
        self._run_table = self._make_runs()

    # --- what a subclass defines -------------------------------------------------------------
    def _order_dim(self, order: int) -> int:
        raise NotImplementedError

    def _is_pseudo(self, term: Term) -> bool:
        """Whether the term is multiplied by det R on top of its plain action."""
        raise NotImplementedError

    def _blocks(self, R: Tensor) -> Any:
        """Whatever :meth:`_act` and :meth:`_matrix` need (computed once per call)."""
        return R

    def _act(self, part: Tensor, order: int, ctx: Any) -> Tensor:
        """Plain action on ``part: (..., mul * order_dim)``, broadcast against the batch of ``R``."""
        raise NotImplementedError

    def _matrix(self, order: int, ctx: Any) -> Tensor:
        """Plain representation matrix of one copy, ``(..., order_dim, order_dim)``."""
        raise NotImplementedError

    # --- the group action --------------------------------------------------------------------
    def rho(self, R: Tensor) -> Tensor:
        """Block-diagonal representation matrices ``(..., dim, dim)`` of orthogonal ``R: (..., d, d)``.

        Meant for tests and small batches; use :meth:`transform` on features.
        """
        self._check_matrix(R)
        ctx = self._blocks(R)
        det = fast_det(R)[..., None, None] if self.has_pseudo else None
        out = R.new_zeros(*R.shape[:-2], self.dim, self.dim)
        start = 0
        for term in self.terms:
            block = self._matrix(term.order, ctx)
            if self._is_pseudo(term):
                block = block * det
            n = block.shape[-1]
            for _ in range(term.mul):
                out[..., start:start + n, start:start + n] = block
                start += n
        return out

    def transform(self, x: Tensor, R: Tensor) -> Tensor:
        """``rho(R) @ x`` for ``x: (..., dim)`` and ``R: (..., d, d)`` (batch shapes broadcast), without building rho.

        Consecutive terms of the same kind are handled together; scalars are only copied into the output.
        """
        self._check_matrix(R)
        if x.shape[-1] != self.dim:
            raise ValueError(f"features have {x.shape[-1]} channels but reps {self} have dim {self.dim}")
        batch = torch.broadcast_shapes(x.shape[:-1], R.shape[:-2])
        det = fast_det(R)[..., None] if self.has_pseudo else None
        out = [part.expand(*batch, part.shape[-1]) for part in self._runs(x, self._blocks(R), det)]
        if len(out) == 1 and (self._run_table[0][0] > 0 or self._run_table[0][1]):
            return out[0]  # already a fresh tensor
        return torch.cat(out, dim=-1)  # also copies a lone run of scalars: never alias the input

    def transform_shared(self, x: Tensor, R: Tensor) -> Tensor:
        """``rho(R_b) x_{b,g}`` for ``x: (B, G, dim)`` and ``R: (B, d, d)``: one matrix for the ``G`` rows of
        each entry (a receiver's ``G`` incoming messages). Equals ``transform(x, R[:, None])``, with the
        ``G`` rows folded into the multiplicities: one ``(B, G * mul, ...)`` product per run of terms
        instead of ``B * G`` small ones.
        """
        self._check_matrix(R)
        if x.dim() != 3 or x.shape[-1] != self.dim or R.dim() != 3 or x.shape[0] != R.shape[0]:
            raise ValueError(f"need x: (B, G, {self.dim}) and R: (B, d, d), got {tuple(x.shape)} and {tuple(R.shape)}")
        batch, group = x.shape[:2]
        det = fast_det(R)[:, None, None] if self.has_pseudo else None
        return torch.cat(self._runs(x, self._blocks(R), det, fold=(batch, group)), dim=-1)

    def _runs(self, x: Tensor, ctx: Any, det: Optional[Tensor], fold: Optional[Tuple[int, int]] = None) -> List[Tensor]:
        """Each run of terms of ``x`` acted on (scalars as they are), times ``det`` for pseudo runs;
        ``fold = (B, G)``: ``x: (B, G, dim)`` acted on with ``G`` folded into the multiplicity."""
        out: List[Tensor] = []
        for order, pseudo, start, stop in self._run_table:
            part = x[..., start:stop]
            if order > 0 and fold is None:
                part = self._act(part, order, ctx)
            elif order > 0:  # explicit sizes (no -1): empty batches reshape too
                part = self._act(part.reshape(fold[0], fold[1] * (stop - start)), order, ctx).reshape(
                    *fold, stop - start)
            if pseudo:
                part = part * det
            out.append(part)
        return out

    def _make_runs(self) -> Tuple[Tuple[int, bool, int, int], ...]:
        """``(order, pseudo, start, stop)`` of maximal runs of consecutive terms of the same kind."""
        runs: List[List] = []
        start = 0
        for t in self.terms:
            stop = start + t.mul * self._order_dim(t.order)
            key = (t.order, self._is_pseudo(t))
            if runs and tuple(runs[-1][:2]) == key:
                runs[-1][3] = stop
            else:
                runs.append([*key, start, stop])
            start = stop
        return tuple(tuple(r) for r in runs)

    def _check_matrix(self, R: Tensor) -> None:
        if R.dim() < 2 or R.shape[-2:] != (self.d, self.d):
            raise ValueError(f"expected (..., {self.d}, {self.d}) matrices for {self!r}, got shape {tuple(R.shape)}")

    # --- description ---------------------------------------------------------------------------
    @property
    def has_pseudo(self) -> bool:
        """Whether any term needs det R."""
        return any(self._is_pseudo(t) for t in self.terms)

    @property
    def num_scalars(self) -> int:
        """Channels that are invariant under all of O(d) (order 0, no det factor)."""
        return sum(t.mul for t in self.terms if t.order == 0 and not self._is_pseudo(t))

    def slices(self) -> List[slice]:
        """Channel slice of each term, in order."""
        out, start = [], 0
        for t in self.terms:
            stop = start + t.mul * self._order_dim(t.order)
            out.append(slice(start, stop))
            start = stop
        return out

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __add__(self, other: "Reps") -> "Reps":
        if type(other) is not type(self) or other.d != self.d:
            raise ValueError(f"cannot add {other!r} to {self!r}: need the same kind of reps and the same d")
        return self._with_spec(f"{self}+{other}")

    def _with_spec(self, spec: str) -> "Reps":
        raise NotImplementedError

    def __str__(self) -> str:
        return "+".join(str(t) for t in self.terms)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.d == self.d and other.terms == self.terms

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.terms, self.d))


def fast_det(R: Tensor) -> Tensor:
    """``det R`` for ``R: (..., d, d)``; closed form for d = 2, 3 (batched LU is several times slower).

    >>> fast_det(torch.diag(torch.tensor([1., -1., 1.])))
    tensor(-1.)
    """
    if R.shape[-1] == 2:
        return R[..., 0, 0] * R[..., 1, 1] - R[..., 0, 1] * R[..., 1, 0]
    if R.shape[-1] == 3:
        return (torch.linalg.cross(R[..., 0, :], R[..., 1, :]) * R[..., 2, :]).sum(-1)
    return torch.linalg.det(R)
