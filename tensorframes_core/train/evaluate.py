"""Evaluation as given, under random SO(3) and under random O(3), at several noise levels.

Each test cloud ``i`` is turned by its own fixed orthogonal ``Q_i`` (points and ground-truth normals
alike: ``x -> Q_i x``, ``n -> Q_i n``), so an equivariant model scores the same in every column and a
model that learnt the canonical pose of the training shapes does not. ``"o3"`` uses the ``"so3"``
matrices with the first row negated on every other cloud: exactly half are reflections.

>>> from tensorframes_core.models import build_model
>>> results = evaluate(build_model("pca", "baseline", k=12), rotations=("none", "o3"), noise=(0.0,),
...                    n_clouds=2, n_points=128, names=("box", "gyroid"))
>>> sorted(results), abs(results[("none", 0.0)]["mean"] - results[("o3", 0.0)]["mean"]) < 1e-3
([('none', 0.0), ('o3', 0.0)], True)
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch_geometric.data import Batch, Data

from tensorframes_core.data import InputError, PointCloud, shapes
from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.train.data import TEST_SEED, procedural_clouds
from tensorframes_core.train.metrics import METRICS, angle_error, summarize

ROTATIONS = ("none", "so3", "o3")
Results = Dict[Tuple[str, Optional[float]], Dict[str, float]]


def eval_rotations(kind: str, n: int, seed: int = TEST_SEED) -> torch.Tensor:
    """``(n, 3, 3)`` float64 matrices for ``kind`` in :data:`ROTATIONS`, fixed by ``seed``.

    ``"none"``: identities; ``"so3"``: Haar rotations; ``"o3"``: the same rotations with row 0
    negated for odd ``i`` (Haar on O(3) with det -1 on exactly every other cloud).

    >>> torch.linalg.det(eval_rotations("o3", 4)).round().tolist()
    [1.0, -1.0, 1.0, -1.0]
    """
    if kind not in ROTATIONS:
        raise InputError(f"unknown rotation {kind!r}; choose from {', '.join(ROTATIONS)}")
    if kind == "none":
        return torch.eye(3, dtype=torch.float64).expand(n, 3, 3).clone()
    q = random_orthogonal(n, 3, proper=True, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    if kind == "o3":
        flip = torch.ones(n, 3, 1, dtype=torch.float64)
        flip[1::2, 0] = -1.0
        q = q * flip
    return q


def _as_data(item: Union[Data, PointCloud]) -> Data:
    data = item.to_data() if isinstance(item, PointCloud) else item
    if getattr(data, "normal", None) is None:
        raise InputError("evaluation needs clouds with ground-truth normals")
    return data


def _placement(model: nn.Module, device: Optional[Union[str, torch.device]]) -> Tuple[torch.device, torch.dtype]:
    """Where and in which float dtype to feed ``model``: its parameters', else ``device`` (CPU), float32."""
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    if device is not None:
        return torch.device(device), param.dtype if param is not None else torch.float32
    if param is not None:
        return param.device, param.dtype
    return torch.device("cpu"), torch.float32


@torch.no_grad()
def angle_errors(
    model: nn.Module,
    clouds: Sequence[Union[Data, PointCloud]],
    rotations: Optional[torch.Tensor] = None,
    batch_size: int = 8,
    device: Optional[Union[str, torch.device]] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(errors (N,), cloud (N,))``: unoriented angle errors in degrees of ``model`` on ``clouds``
    (each turned by ``rotations[i]``, ``(n, 3, 3)``, if given), and each point's cloud index.
    The model runs in eval mode (its mode is restored afterwards)."""
    device, dtype = _placement(model, device)
    was_training = model.training
    model.eval()
    errors, index = [], []
    try:
        for start in range(0, len(clouds), batch_size):
            items = []
            for i in range(start, min(start + batch_size, len(clouds))):
                data = _as_data(clouds[i])
                q = torch.eye(3, dtype=torch.float64) if rotations is None else rotations[i].to(torch.float64)
                items.append(Data(pos=(data.pos.to(torch.float64) @ q.T).to(dtype),
                                  normal=(data.normal.to(torch.float64) @ q.T).to(dtype)))
            batch = Batch.from_data_list(items).to(device)
            errors.append(angle_error(model(batch), batch.normal).cpu())
            index.append(batch.batch.cpu() + start)
    finally:
        model.train(was_training)
    return torch.cat(errors), torch.cat(index)


def evaluate(
    model: nn.Module,
    rotations: Sequence[str] = ROTATIONS,
    noise: Sequence[float] = (0.0, 0.006),
    n_clouds: int = 28,
    n_points: int = 1024,
    seed: int = TEST_SEED,
    data: Optional[Sequence[Union[Data, PointCloud]]] = None,
    batch_size: int = 8,
    device: Optional[Union[str, torch.device]] = None,
    names: Sequence[str] = shapes.ALIGNED,
) -> Results:
    """Metrics (:func:`~tensorframes_core.train.metrics.summarize`) of ``model`` per ``(rotation, noise)``.

    Procedural test clouds (``n_clouds`` of ``n_points``, shape seeds ``seed ..``, disjoint from
    training and validation) at each ``noise`` level, or the clouds of ``data`` (a dataset of
    ``PointCloud`` or ``Data`` with normals; keys then have noise ``None``). The same shapes and the
    same matrices (:func:`eval_rotations`) are used for every model.
    """
    if data is not None:
        sets = {None: data}
    else:
        sets = {float(x): procedural_clouds(n_clouds, n_points, (float(x),), seed, names) for x in noise}
    results: Results = {}
    for level, clouds in sets.items():
        if len(clouds) == 0:
            raise InputError("the evaluation data set is empty")
        for kind in rotations:
            errors, cloud = angle_errors(model, clouds, eval_rotations(kind, len(clouds), seed), batch_size, device)
            results[(kind, level)] = summarize(errors, cloud)
    return results


def to_rows(results: Results) -> List[Dict[str, Any]]:
    """The results as JSON-ready rows ``{"rotation", "noise", <metrics>}``."""
    return [{"rotation": kind, "noise": level, **metrics} for (kind, level), metrics in results.items()]


def format_table(results: Results) -> str:
    """The results as an aligned text table, one row per ``(rotation, noise)``."""
    header = ["rotation", "noise"] + list(METRICS)
    rows = [[kind, "data" if level is None else f"{level:g}"] + [f"{m[k]:.2f}" if k != "abs_cos" else f"{m[k]:.4f}"
                                                                  for k in METRICS]
            for (kind, level), m in results.items()]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header] + rows)
