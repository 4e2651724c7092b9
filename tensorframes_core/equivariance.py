"""Random orthogonal matrices and equivariance checks for users' own test suites.

A function ``f`` of a point cloud is O(d)-equivariant when ``f(g x) = rho_out(g) f(x)`` for every
orthogonal ``g`` (rotations AND reflections). These helpers measure how far a function is from that.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Union

import torch

Tensor = torch.Tensor


def random_orthogonal(
    n: Optional[int] = None,
    d: int = 3,
    proper: bool = False,
    dtype: torch.dtype = torch.float32,
    generator: Optional[torch.Generator] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> Tensor:
    """Haar-random orthogonal matrices.

    QR of a Gaussian matrix is only Haar after fixing the signs of R's diagonal (torch's QR alone
    gives det +1 every time for 3x3); with that fix det = -1 half of the time. ``proper=True``
    flips the first row of the improper ones, which gives Haar measure on SO(d).

    Returns ``(d, d)`` if ``n`` is None, else ``(n, d, d)``.

    >>> Q = random_orthogonal(d=3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(Q @ Q.T, torch.eye(3, dtype=torch.float64))
    True
    >>> bool((torch.linalg.det(random_orthogonal(100, proper=True)) > 0).all())
    True
    """
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    shape = (1 if n is None else n, d, d)
    sample_device = generator.device if generator is not None else "cpu"
    gaussian = torch.randn(shape, dtype=torch.float64, generator=generator, device=sample_device)
    q, r = torch.linalg.qr(gaussian)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    q = q * signs.unsqueeze(-2)
    if proper:
        det = torch.linalg.det(q)
        q = torch.cat([q[:, :1] * det[:, None, None], q[:, 1:]], dim=1)
    q = q.to(dtype=dtype, device=device)
    return q[0] if n is None else q


def _alternating_orthogonal(trials: int, d: int, reflections: bool, dtype: torch.dtype, device, generator) -> Tensor:
    """``trials`` Haar matrices; with ``reflections`` every odd one is improper, every even one proper."""
    q = random_orthogonal(trials, d, proper=True, dtype=torch.float64, generator=generator)
    if reflections:
        flip = torch.ones(trials, d, 1, dtype=torch.float64)
        flip[1::2, 0] = -1.0
        q = q * flip
    return q.to(dtype=dtype, device=device)


def equivariance_error(
    fn: Callable[..., Tensor],
    pos: Tensor,
    x: Optional[Tensor] = None,
    in_reps=None,
    out_reps="1x1n",
    trials: int = 8,
    reflections: bool = True,
    generator: Optional[torch.Generator] = None,
) -> float:
    """Worst relative equivariance error ``||f(g x) - rho_out(g) f(x)|| / ||f(x)||`` over ``trials``.

    ``fn`` is called as ``fn(pos)`` or, when ``x`` is given, ``fn(pos, x)`` with ``x`` transformed
    by ``in_reps``. ``pos: (N, d)``; outputs ``(N, out_reps.dim)``. With ``reflections`` half of
    the trials use an improper ``g`` (det -1), so reflections are always tested.

    >>> from tensorframes_core.equivariance import equivariance_error
    >>> pos = torch.randn(20, 3, dtype=torch.float64)
    >>> equivariance_error(lambda p: p - p.mean(0), pos) < 1e-12
    True
    >>> equivariance_error(lambda p: p.abs(), pos) > 0.1
    True
    """
    from tensorframes_core.reps import as_reps

    d = pos.shape[-1]
    out_reps = as_reps(out_reps, d)
    if x is not None:
        if in_reps is None:
            raise ValueError("in_reps is required when x is given")
        in_reps = as_reps(in_reps, d)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, ()).item()))
    call = (lambda p, f: fn(p)) if x is None else fn
    reference = call(pos, x).detach()
    worst = 0.0
    for g in _alternating_orthogonal(trials, d, reflections, pos.dtype, pos.device, generator):
        moved_x = None if x is None else in_reps.transform(x, g)
        worst = max(worst, relative_equivariance_error(reference, call(pos @ g.T, moved_x).detach(), g, out_reps))
    return worst


def assert_equivariant(
    fn: Callable[..., Tensor],
    pos: Tensor,
    x: Optional[Tensor] = None,
    in_reps=None,
    out_reps="1x1n",
    trials: int = 8,
    reflections: bool = True,
    generator: Optional[torch.Generator] = None,
    atol: Optional[float] = None,
) -> float:
    """Raise ``AssertionError`` unless :func:`equivariance_error` is below ``atol``; returns the error.

    ``atol`` defaults to 1e-9 for float64 inputs and 1e-4 for lower precision.
    """
    if atol is None:
        atol = 1e-9 if pos.dtype == torch.float64 else 1e-4
    error = equivariance_error(fn, pos, x, in_reps, out_reps, trials, reflections, generator)
    if not error <= atol:
        raise AssertionError(f"not equivariant: relative error {error:.3e} > atol {atol:.1e}")
    return error


def relative_equivariance_error(f_x: Tensor, f_gx: Tensor, g: Tensor, out_reps="1x1n") -> float:
    """``||f(g x) - rho(g) f(x)|| / ||f(x)||`` for one given ``g``.

    >>> from tensorframes_core.group import mirror
    >>> f = torch.randn(5, 3, dtype=torch.float64)
    >>> relative_equivariance_error(f, f @ mirror("x").T, mirror("x"))
    0.0
    """
    from tensorframes_core.reps import as_reps

    expected = as_reps(out_reps).transform(f_x, g.to(f_x.dtype))
    scale = f_x.norm().clamp_min(torch.finfo(f_x.dtype).tiny)
    return float((f_gx - expected).norm() / scale)


def orbit_sweep(
    fn: Callable[[Tensor], Tensor],
    pos: Tensor,
    axis: str,
    angles_deg: Sequence[float],
    reflect: Optional[str] = None,
) -> List[float]:
    """Equivariance error of ``fn`` (pos (N, 3) -> (N, 3) vectors) for g = rotation(angle) [@ mirror], per angle.
    """
    from tensorframes_core.group import rotation_about, transform_matrix

    reference = fn(pos)
    errors = []
    for angle in angles_deg:
        g = transform_matrix(rotation_about(axis, angle), reflect).to(pos.dtype)
        errors.append(relative_equivariance_error(reference, fn(pos @ g.T), g))
    return errors
