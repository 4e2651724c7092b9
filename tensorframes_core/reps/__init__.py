"""Representations of O(d): Cartesian tensors (any d) and O(3) irreps, one interface.

Both have ``.dim``, ``.d``, ``.rho(R) -> (..., dim, dim)``, ``.transform(x, R) == rho(R) @ x``
(computed without building rho), ``+``, ``str`` (canonical spec), ``==``.
"""
from typing import Union

from tensorframes_core.reps.base import Reps
from tensorframes_core.reps.irreps import Irreps
from tensorframes_core.reps.spec import spec_letters
from tensorframes_core.reps.tensor_reps import TensorReps

__all__ = ["Reps", "TensorReps", "Irreps", "as_reps", "vector_slice"]


def as_reps(spec_or_reps: Union[str, Reps], d: int = 3) -> Reps:
    """A reps object from a spec (``"2x1n"`` -> TensorReps of dimension ``d``, ``"2x1o"`` -> Irreps), or unchanged.

    >>> as_reps("2x1n").dim
    6
    >>> as_reps("16x0e+2x1o")
    Irreps('16x0e+2x1o')
    >>> as_reps("2x1n", d=2)
    TensorReps('2x1n', d=2)
    >>> as_reps("2x1q")
    Traceback (most recent call last):
    ...
    ValueError: cannot read reps '2x1q': terms must all end in n/p (Cartesian, ...) or all in e/o (irreps, ...)
    """
    if isinstance(spec_or_reps, Reps):
        return spec_or_reps
    letters = spec_letters(spec_or_reps)
    if letters and set(letters) <= set("np"):
        return TensorReps(spec_or_reps, d)
    if letters and set(letters) <= set("eo"):
        if d != 3:
            raise ValueError(f"irreps {spec_or_reps!r} are O(3) representations, but d={d}")
        return Irreps(spec_or_reps)
    raise ValueError(
        f"cannot read reps {spec_or_reps!r}: terms must all end in n/p (Cartesian, e.g. '16x0n+8x1n') "
        "or all in e/o (irreps, e.g. '8x0e+4x1o')"
    )


def vector_slice(reps) -> slice:
    """Columns of the first vector block ("1n" Cartesian or "1o" irrep) in features of type ``reps``.

    >>> vector_slice("1x0n+1x1n")
    slice(1, 4, None)
    """
    parsed = as_reps(reps)
    start = 0
    for term in parsed.terms:
        size = as_reps(f"1x{term.order}{term.letter}").dim
        if term.order == 1 and term.letter in ("n", "o"):
            return slice(start, start + size)
        start += term.mul * size
    raise ValueError(f"no vector feature in {reps!r}")
