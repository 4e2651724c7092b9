"""The spec grammar shared by all reps: ``"16x0n+2x1p"`` (Cartesian) or ``"8x0e+4x1o"`` (irreps).

A spec is terms joined by ``+``; a term is ``[MULx]ORDER LETTER`` (multiplicity 1 if omitted),
spaces ignored. Which letters are allowed is up to the reps class.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Tuple

_TERM = re.compile(r"^(?:(\d+)x)?(\d+)([a-z])$")


class Term(NamedTuple):
    """``mul`` copies of one representation: tensor order k (or irrep degree l) and its letter.

    >>> str(Term(2, 1, "p"))
    '2x1p'
    """

    mul: int
    order: int
    letter: str

    def __str__(self) -> str:
        return f"{self.mul}x{self.order}{self.letter}"


def parse_spec(spec: str, letters: str) -> Tuple[Term, ...]:
    """Terms of ``spec``; every letter must be one of ``letters``, else ``ValueError``.

    >>> parse_spec("2x1n + 0p", "np")
    (Term(mul=2, order=1, letter='n'), Term(mul=1, order=0, letter='p'))
    >>> parse_spec("1x1o", "np")
    Traceback (most recent call last):
    ...
    ValueError: bad term '1x1o' in reps spec '1x1o': expected [MULx]ORDER followed by one of 'n', 'p', e.g. '16x0n'
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty or non-string reps spec: {spec!r}")
    terms = []
    for piece in spec.replace(" ", "").split("+"):
        match = _TERM.match(piece)
        if match is None or match.group(3) not in letters:
            allowed = ", ".join(repr(c) for c in letters)
            raise ValueError(
                f"bad term {piece!r} in reps spec {spec!r}: expected [MULx]ORDER followed by one of "
                f"{allowed}, e.g. '16x0{letters[0]}'"
            )
        mul = 1 if match.group(1) is None else int(match.group(1))
        if mul == 0:
            raise ValueError(f"zero multiplicity in term {piece!r} of reps spec {spec!r}")
        terms.append(Term(mul, int(match.group(2)), match.group(3)))
    return tuple(terms)


def spec_letters(spec: str) -> str:
    """The set of final letters of a spec's terms, sorted (``"2x1n+0p"`` -> ``"np"``); ``""`` if unreadable.

    >>> spec_letters("8x0e + 4x1o")
    'eo'
    """
    if not isinstance(spec, str):
        return ""
    return "".join(sorted({p.strip()[-1] for p in spec.split("+") if p.strip()}))
