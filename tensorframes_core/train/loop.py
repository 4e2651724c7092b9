"""The training loop: Adam on the unoriented loss ``1 - |cos|``, a checkpoint every epoch, exact resume.

Every epoch: shuffle (seeded generator, or ``DistributedSampler`` under torchrun), step through the
batches (mixed precision on CUDA, the same code in float32 on CPU), skip steps whose loss or gradient
is not finite, validate on held-out procedural clouds, then atomically write ``out/last.pt`` (the
previous one kept as ``out/prev.pt``). ``resume=True`` restores weights, optimizer, RNG and
data-order state from the latest good checkpoint and carries on to ``epochs`` in total; in a single
process the result is the same as an uninterrupted run.
"""
from __future__ import annotations

import math
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch import nn
from torch.utils.data import RandomSampler
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from tensorframes_core.models import build_model
from tensorframes_core.train import distributed
from tensorframes_core.train.checkpoint import (
    LAST,
    PREV,
    load_latest,
    remove_stale_temps,
    save_checkpoint,
    weights_hash,
)
from tensorframes_core.train.config import TrainConfig, to_json
from tensorframes_core.train.data import describe_data, training_set, validation_set
from tensorframes_core.train.evaluate import angle_errors
from tensorframes_core.train.metrics import summarize
from tensorframes_core.train.step import TrainingError, TrainStep


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of (0-based) ``epoch``: cosine from ``lr`` towards 0, x0.1 at 1/2 and 3/4, or constant.

    >>> [round(learning_rate(TrainConfig(lr=1.0, epochs=4), e), 3) for e in range(4)]
    [1.0, 0.854, 0.5, 0.146]
    >>> [round(learning_rate(TrainConfig(lr=1.0, epochs=4, lr_schedule="step"), e), 3) for e in range(4)]
    [1.0, 1.0, 0.1, 0.01]
    """
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
    if config.lr_schedule == "step":
        return config.lr * 0.1 ** sum(epoch >= max(1, int(config.epochs * f)) for f in (0.5, 0.75))
    return config.lr


def _amp(config: TrainConfig, device: torch.device):
    """``(autocast dtype or None, GradScaler)``: bf16 (fp16 where bf16 is missing) on CUDA, nothing on CPU."""
    dtype = None
    if config.amp and device.type == "cuda":
        dtype = torch.bfloat16 if config.amp_dtype == "bf16" and torch.cuda.is_bf16_supported() else torch.float16
    return dtype, torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def _all_finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


def _rng_state(data_rng: torch.Generator) -> Dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda, "data": data_rng.get_state()}


def _restore_rng(state: Dict[str, Any], data_rng: torch.Generator, ctx: distributed.DistContext, seed: int,
                 epoch: int) -> None:
    """Rank 0's saved RNG streams on rank 0 (bit-exact resume in one process); fresh seeds on the others."""
    data_rng.set_state(state["data"])
    if ctx.rank == 0:
        torch.set_rng_state(state["torch"])
        if torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])
    else:
        torch.manual_seed(seed + ctx.rank + 1009 * epoch)


def _resume(config: TrainConfig, model: nn.Module, optimizer, scaler, data_rng, ctx) -> Optional[Dict[str, Any]]:
    """Load the latest good checkpoint of ``config.out`` into the run; its metadata, or None to start afresh."""
    out = Path(config.out)
    if not (out / LAST).exists() and not (out / PREV).exists():
        if ctx.is_main:
            warnings.warn(f"--resume: no checkpoint in {out} yet; starting from scratch", RuntimeWarning, stacklevel=3)
        return None
    ckpt, _ = load_latest(out)
    meta, training = ckpt["metadata"], ckpt["training"] or {}
    if meta["config"] != model.config:
        raise ValueError(f"--resume: {out} holds a {meta['config']} model but this run asks for {model.config}; "
                         f"pass the same --arch/--mode/--frames/--size or use another --out")
    if "rng" not in training or training.get("optimizer") is None:
        raise ValueError(f"--resume: the checkpoint in {out} has no training state (an exported model?)")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(training["optimizer"])
    if training.get("scaler"):
        scaler.load_state_dict(training["scaler"])
    _restore_rng(training["rng"], data_rng, ctx, config.seed, meta["epoch"])
    return meta


def _loader(dataset, config: TrainConfig, ctx: distributed.DistContext, data_rng: torch.Generator):
    if ctx.enabled:
        sampler = DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                     seed=config.seed)
    else:
        sampler = RandomSampler(dataset, generator=data_rng)
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                      pin_memory=ctx.device.type == "cuda")


def _train_epoch(steps: TrainStep, loader, epoch: int, config: TrainConfig, ctx) -> Dict[str, float]:
    steps.model.train()
    losses, points, start = [], 0, time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", leave=False,
               disable=not (ctx.is_main and config.progress))
    for batch in bar:
        batch = batch.to(ctx.device, non_blocking=True)
        loss = steps(batch)
        points += batch.num_nodes
        if loss is not None:
            losses.append(loss)
        rate = points * ctx.world_size / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix(loss="nan" if loss is None else f"{loss:.4f}", pts_s=f"{rate:.0f}")
    seconds = time.perf_counter() - start
    return {"train_loss": sum(losses) / len(losses) if losses else float("nan"), "time_s": seconds,
            "points_per_s": points * ctx.world_size / max(seconds, 1e-9)}


def default_command() -> str:
    """This process's command line, for the record."""
    return shlex.join([Path(sys.executable).name, *sys.argv])


def train(config: TrainConfig) -> Dict[str, Any]:
    """Train (or resume) the run described by ``config``; returns its results.

    ``{"epochs", "val" (validation metrics), "train_loss", "history", "time_s" (this call),
    "skipped_steps" (whole run), "checkpoint", "weights_sha256", "rank_weights_sha256", "world_size"}``.
    Raises ``ValueError`` for bad settings and :class:`TrainingError` when training diverges.
    """
    config = config.checked()
    ctx = distributed.setup(config.device)
    try:
        return _run(config, ctx)
    finally:
        distributed.cleanup(ctx)


def _run(config: TrainConfig, ctx: distributed.DistContext) -> Dict[str, Any]:
    started = time.perf_counter()
    out = Path(config.out)
    if not config.resume and ((out / LAST).exists() or (out / PREV).exists()):
        raise ValueError(f"{out} already holds a checkpoint; pass --resume to continue it or choose another --out")
    torch.manual_seed(config.seed)
    model = build_model(config.arch, config.mode, config.frames, **config.size)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"arch {config.arch!r} has no parameters to train; evaluate it with `tensorframes eval`")
    model = model.to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    amp_dtype, scaler = _amp(config, ctx.device)
    data_rng = torch.Generator().manual_seed(config.seed)
    resumed = _resume(config, model, optimizer, scaler, data_rng, ctx) if config.resume else None
    if ctx.is_main:
        remove_stale_temps(out)
    if resumed is None:
        torch.manual_seed(config.seed + ctx.rank)
    start_epoch = resumed["epoch"] if resumed else 0
    history: List[Dict[str, Any]] = list(resumed["history"]) if resumed else []
    skipped_before = int(resumed.get("skipped_steps", 0)) if resumed else 0
    command = config.command or default_command()

    show = ctx.is_main and config.progress
    train_set = training_set(config, progress=show)
    val_set = validation_set(config, progress=show) if ctx.is_main else None
    loader = _loader(train_set, config, ctx, data_rng)
    ddp = distributed.wrap(model, ctx)
    steps = TrainStep(ddp, optimizer, max_bad_steps=config.max_bad_steps, grad_clip=config.grad_clip,
                      amp_dtype=amp_dtype, scaler=scaler, ctx=ctx,
                      hint=f"; no checkpoint was written for this epoch, the last good one (if any) is in "
                           f"{config.out}. Try a lower --lr, or check the data.")
    hashes = [resumed["weights_sha256"]] if resumed else []
    completed = start_epoch
    for epoch in range(start_epoch, config.epochs):
        skipped_at_start = steps.skipped
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch)
        if ctx.enabled:
            loader.sampler.set_epoch(epoch)
        stats = _train_epoch(steps, loader, epoch, config, ctx)
        hashes = distributed.gather_strings(weights_hash(model.state_dict()), ctx)
        if len(set(hashes)) > 1:
            raise TrainingError(f"the {ctx.world_size} ranks hold different weights after epoch {epoch + 1}")
        if ctx.is_main:
            if not _all_finite(model):
                raise TrainingError(f"non-finite weights after epoch {epoch + 1}; not writing a checkpoint")
            val = summarize(*angle_errors(model, val_set, batch_size=config.batch_size, device=ctx.device))
            history.append({"epoch": epoch + 1, **stats, "lr": learning_rate(config, epoch),
                            "skipped_steps": steps.skipped - skipped_at_start, "val": val})
            save_checkpoint(
                out / LAST, model, optimizer, epoch=epoch + 1, previous=out / PREV,
                metadata={"command": command, "data": describe_data(config, len(train_set)),
                          "metrics": {"val": val, "train_loss": stats["train_loss"]}, "history": history,
                          "train_config": to_json(config), "skipped_steps": skipped_before + steps.skipped,
                          "world_size": ctx.world_size, "rank_weights_sha256": hashes},
                training={"rng": _rng_state(data_rng), "scaler": scaler.state_dict()})
            if config.progress:
                print(f"epoch {epoch + 1}/{config.epochs}: loss {stats['train_loss']:.4f}, val mean "
                      f"{val['mean']:.2f} deg, rms {val['rms']:.2f}, {stats['points_per_s']:.0f} points/s, "
                      f"{steps.skipped} skipped", flush=True)
        distributed.barrier(ctx)
        completed = epoch + 1
    final = history[-1] if history else {}
    return {
        "epochs": completed, "val": final.get("val"), "train_loss": final.get("train_loss"), "history": history,
        "time_s": time.perf_counter() - started, "skipped_steps": skipped_before + steps.skipped,
        "checkpoint": str(out / LAST), "weights_sha256": weights_hash(model.state_dict()),
        "rank_weights_sha256": hashes, "world_size": ctx.world_size,
    }
