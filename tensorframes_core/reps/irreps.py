"""Irreducible representations of O(3) in e3nn notation: ``Irreps("8x0e+4x1o+2x2e")``."""
from __future__ import annotations

from typing import List

import torch

from tensorframes_core.reps.base import Reps
from tensorframes_core.reps.spec import Term
from tensorframes_core.reps.wigner import prepare_wigner, wigner_D_all

Tensor = torch.Tensor


class Irreps(Reps):
    """Direct sum of O(3) irreps ``MULx(l)(e|o)``, each of dimension 2l+1, in e3nn's real basis.

    With p = +1 for ``e`` and -1 for ``o`` (e3nn's convention),

        D_{l,p}(R) = p^[det R < 0] * D^l(det(R) R),

    D^l the real Wigner-D of the rotation (built without Euler angles, see
    :mod:`tensorframes_core.reps.wigner`). So ``1o`` is a vector (``Irreps("1o").rho(R) == R``
    for all R in O(3)), ``1e`` an axial vector, ``0o`` a pseudo-scalar.

    >>> Irreps("8x0e+4x1o+2x2e").dim
    30
    >>> str(Irreps("1o + 0e"))
    '1x1o+1x0e'
    >>> Irreps("1x0o").transform(torch.tensor([2.]), -torch.eye(3))
    tensor([-2.])
    """

    letters = "eo"

    def __init__(self, spec: str) -> None:
        super().__init__(spec, 3)
        self.lmax = max(t.order for t in self.terms)
        prepare_wigner(self.lmax)  # solve the constants now, outside any torch.compile region

    def _order_dim(self, order: int) -> int:
        return 2 * order + 1

    def _is_pseudo(self, term: Term) -> bool:
        # D^l(det(R) R) = det(R)^l D^l(R) (D^l has degree l in R), so the net factor is
        # (p * (-1)^l)^[det R < 0]: a det R factor exactly when p != (-1)^l.
        parity = 1 if term.letter == "e" else -1
        return parity != (-1) ** term.order

    def _blocks(self, R: Tensor) -> List[Tensor]:
        return wigner_D_all(R, self.lmax)

    def _act(self, part: Tensor, order: int, Ds: List[Tensor]) -> Tensor:
        m, width = 2 * order + 1, part.shape[-1]  # explicit sizes (no -1): empty batches reshape too
        out = part.reshape(*part.shape[:-1], width // m, m) @ Ds[order].transpose(-1, -2)  # (..., mul, 2l+1)
        return out.reshape(*out.shape[:-2], width)

    def _matrix(self, order: int, Ds: List[Tensor]) -> Tensor:
        return Ds[order]

    def _with_spec(self, spec: str) -> "Irreps":
        return Irreps(spec)

    def __repr__(self) -> str:
        return f"Irreps({str(self)!r})"
