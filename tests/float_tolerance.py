"""The tests' one rule for float tolerances (uniquely named module, imported as ``from float_tolerance import tol``).

An absolute tolerance is ``64 x ops x eps(dtype)`` times the size of the values compared, where ``ops``
counts the rounding steps one output entry goes through (e.g. a dot product of length n: n; a chain of
l such products: the product of their lengths). 64 covers the constant factors of summation order,
BLAS blocking and thread count, so a tolerance never rests on one machine's run.
"""
import torch


def tol(dtype: torch.dtype, ops: float = 1.0, scale: float = 1.0) -> float:
    """``64 * ops * eps(dtype) * scale``.

    >>> tol(torch.float64) == 64 * torch.finfo(torch.float64).eps
    True
    """
    return 64.0 * ops * torch.finfo(dtype).eps * scale
