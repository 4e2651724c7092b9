"""Multi-process data-parallel training under ``torchrun``; a no-op in a single process.

``torchrun --nproc_per_node=N -m tensorframes_core.train ARGS`` starts N copies of
``tensorframes train ARGS``. Each reads ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``, joins the process
group (NCCL on CUDA, Gloo on CPU), wraps the model in ``DistributedDataParallel`` (gradients are
averaged, so every rank holds the same weights) and draws its share of each epoch from a
``DistributedSampler``. Only rank 0 prints and writes checkpoints.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(device: Optional[str] = None, local_rank: int = 0) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` or ``"auto"``: CUDA (GPU ``local_rank``) if available, else CPU.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device in (None, "auto"):
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
    return dev


def setup(device: Optional[str] = None, timeout_s: float = 1800.0) -> DistContext:
    """Join the process group when ``WORLD_SIZE > 1`` (set by torchrun); the context of this process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    owns = world_size > 1 and not dist.is_initialized()
    if owns:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return DistContext(rank, world_size, local_rank, dev, owns)


def wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    """``DistributedDataParallel(model)`` when distributed, else ``model``."""
    if not ctx.enabled:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def any_true(flag: bool, ctx: DistContext) -> bool:
    """True if ``flag`` is true on any rank (every rank gets the same answer, so they branch alike)."""
    if not ctx.enabled:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def gather_strings(value: str, ctx: DistContext) -> List[str]:
    """``value`` from every rank, in rank order."""
    if not ctx.enabled:
        return [value]
    out: List[Optional[str]] = [None] * ctx.world_size
    dist.all_gather_object(out, value)
    return [str(v) for v in out]


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in one process)."""
    if ctx.enabled:
        dist.barrier()


def cleanup(ctx: DistContext) -> None:
    """Leave the process group if :func:`setup` joined it (a caller's own group is left alone)."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()
