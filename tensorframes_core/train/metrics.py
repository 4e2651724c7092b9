"""Unoriented normal errors: the loss ``1 - |cos|`` and the angle metrics of the PCPNet benchmark.

Normals of a point cloud have no sign, so ``n`` and ``-n`` are equally right: the angle error is
``arccos |cos(n_pred, n_true)|`` in ``[0, 90]`` degrees.

>>> pred = torch.tensor([[1., 0., 0.], [0., 1., 0.], [-1., 0., 0.]])
>>> angle_error(pred, torch.tensor([[1., 0., 0.]]).expand(3, 3))
tensor([ 0., 90.,  0.])
>>> summary = summarize(torch.tensor([1., 3., 20.]))
>>> summary["median"], round(summary["pct_5"], 2)
(3.0, 66.67)
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import torch

Tensor = torch.Tensor

METRICS = ("mean", "median", "rms", "pct_5", "pct_10", "abs_cos")


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float64 stays float64; half precisions and float32 are computed in float32."""
    return torch.promote_types(x.dtype, torch.float32) if x.is_floating_point() else torch.float32


def abs_cosine(pred: Tensor, target: Tensor) -> Tensor:
    r"""``|cos(pred_i, target_i)|`` for rows of ``(N, 3)`` tensors, in ``[0, 1]``; a zero row gives 0.

    :math:`|p \cdot t| / \max(|p| |t|, \epsilon)`, computed in float32 or better.

    >>> abs_cosine(torch.tensor([[0., 2., 0.], [0., 0., 0.]]), torch.tensor([[0., -1., 0.], [1., 0., 0.]]))
    tensor([1., 0.])
    """
    dtype = torch.promote_types(_compute_dtype(pred), _compute_dtype(target))
    p, t = pred.to(dtype), target.to(dtype)
    eps = torch.finfo(dtype).tiny ** 0.5
    denom = (p.norm(dim=-1) * t.norm(dim=-1)).clamp_min(eps)
    return ((p * t).sum(-1).abs() / denom).clamp(0.0, 1.0)


def cosine_loss(pred: Tensor, target: Tensor) -> Tensor:
    r"""The unoriented loss :math:`\frac{1}{N} \sum_i (1 - |\cos(p_i, t_i)|)`, a scalar in ``[0, 1]``.

    >>> cosine_loss(torch.tensor([[0., 0., -1.]]), torch.tensor([[0., 0., 1.]]))
    tensor(0.)
    """
    return (1.0 - abs_cosine(pred, target)).mean()


def angle_error(pred: Tensor, target: Tensor) -> Tensor:
    r"""Unoriented angle error in degrees, ``(N,)`` in ``[0, 90]``: :math:`\arccos |\cos(p_i, t_i)|`.

    Computed as ``atan2(|p x t|, |p . t|)`` (the same angle, but accurate near 0 where arccos is
    not); a zero row in either input counts as 90 degrees (no information), NaN stays NaN.
    """
    dtype = torch.promote_types(_compute_dtype(pred), _compute_dtype(target))
    p, t = pred.to(dtype), target.to(dtype)
    eps = torch.finfo(dtype).tiny ** 0.5
    p_norm, t_norm = p.norm(dim=-1, keepdim=True), t.norm(dim=-1, keepdim=True)
    u, v = p / p_norm.clamp_min(eps), t / t_norm.clamp_min(eps)
    angle = torch.rad2deg(torch.atan2(torch.linalg.cross(u, v).norm(dim=-1), (u * v).sum(-1).abs()))
    degenerate = ((p_norm <= eps) | (t_norm <= eps)).squeeze(-1)
    return torch.where(degenerate, torch.full_like(angle, 90.0), angle)


def summarize(errors: Tensor, cloud: Optional[Tensor] = None) -> Dict[str, float]:
    r"""Summary of angle errors ``errors: (N,)`` in degrees (from :func:`angle_error`).

    ``mean``, ``median``, ``pct_5`` and ``pct_10`` (percent of points under 5 and 10 degrees) and
    ``abs_cos`` (mean :math:`|\cos| = \cos(\text{error})`) are over all points. ``rms`` follows
    PCPNet: the RMS angle of each cloud (``cloud: (N,)`` cloud index per point), averaged over
    clouds; without ``cloud`` all points are one cloud. ``n`` is the number of points.

    >>> summarize(torch.tensor([3., 4., 0., 0.]), cloud=torch.tensor([0, 0, 1, 1]))["rms"]
    1.7677669529663689
    """
    e = errors.detach().reshape(-1).to(torch.float64)
    if e.numel() == 0:
        raise ValueError("summarize needs at least one error value")
    if cloud is None:
        rms = e.pow(2).mean().sqrt()
    else:
        index = cloud.detach().reshape(-1).to(device=e.device, dtype=torch.long)
        _, index = torch.unique(index, return_inverse=True)
        zeros = torch.zeros(int(index.max()) + 1, dtype=e.dtype, device=e.device)
        count = zeros.index_add(0, index, torch.ones_like(e))
        square = zeros.index_add(0, index, e.pow(2))
        rms = (square / count).sqrt().mean()
    return {
        "mean": float(e.mean()),
        "median": float(e.median()),
        "rms": float(rms),
        "pct_5": float((e < 5.0).to(e.dtype).mean() * 100.0),
        "pct_10": float((e < 10.0).to(e.dtype).mean() * 100.0),
        "abs_cos": float(torch.cos(e * (math.pi / 180.0)).mean()),
        "n": int(e.numel()),
    }
