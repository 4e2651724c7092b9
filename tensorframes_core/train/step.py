"""One optimisation step on the unoriented loss ``1 - |cos|``, guarded against non-finite values.

Shared by ``tensorframes train`` (:mod:`tensorframes_core.train.loop`) and the explorer's in-app
training, so both skip the same bad steps and stop the same way.

>>> import torch
>>> from torch_geometric.data import Data
>>> from tensorframes_core.models import build_model
>>> model = build_model("gcn", "tensor_frames", "pca")
>>> step = TrainStep(model, torch.optim.Adam(model.parameters(), lr=1e-3))
>>> cloud = Data(pos=torch.randn(64, 3), normal=torch.nn.functional.normalize(torch.randn(64, 3), dim=-1))
>>> 0.0 <= step(cloud) <= 1.0, step.skipped
(True, 0)
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tensorframes_core.train import distributed
from tensorframes_core.train.metrics import cosine_loss


class TrainingError(RuntimeError):
    """Training stopped on purpose (diverged, or the ranks disagree); no bad checkpoint was written."""


class TrainStep:
    """``step(batch) -> loss | None``: forward, ``1 - |cos|`` against ``batch.normal: (N, 3)``, backward, clip, Adam.

    A step whose loss or gradient norm is not finite changes no weight, is counted in ``skipped`` and
    returns ``None``; ``max_bad_steps`` of them in a row raise :class:`TrainingError` (``hint`` is
    appended to its message). ``amp_dtype``/``scaler``: mixed precision (CUDA); ``ctx``: under torchrun
    every rank takes the same branch. A model with nothing to train is a ``ValueError``.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        max_bad_steps: int = 5,
        grad_clip: Optional[float] = 10.0,
        amp_dtype: Optional[torch.dtype] = None,
        scaler: Optional[torch.amp.GradScaler] = None,
        ctx: Optional[distributed.DistContext] = None,
        hint: str = "",
    ) -> None:
        if not any(p.requires_grad for p in model.parameters()):
            raise ValueError(f"{type(model).__name__} has no parameters to train")
        self.model, self.optimizer, self.amp_dtype = model, optimizer, amp_dtype
        param = next(model.parameters(), None)
        self.ctx = ctx or distributed.DistContext(device=param.device if param is not None else torch.device("cpu"))
        self.scaler = scaler or torch.amp.GradScaler(self.ctx.device.type, enabled=False)
        self.max_bad_steps, self.grad_clip, self.hint = int(max_bad_steps), grad_clip, hint
        self.skipped = 0
        self.consecutive = 0

    def __call__(self, batch) -> Optional[float]:
        self.optimizer.zero_grad(set_to_none=True)
        amp = self.amp_dtype is not None
        with torch.autocast(self.ctx.device.type, dtype=self.amp_dtype or torch.float32, enabled=amp):
            pred = self.model(batch)
        loss = cosine_loss(pred.float(), batch.normal)
        ok = not distributed.any_true(not bool(torch.isfinite(loss)), self.ctx)
        if ok:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            max_norm = self.grad_clip if self.grad_clip else float("inf")
            norm = nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
            # with fp16 loss scaling, inf gradients are routine: the scaler skips the step and lowers the scale
            ok = bool(torch.isfinite(norm)) or self.scaler.is_enabled()
            if ok:
                self.scaler.step(self.optimizer)
            self.scaler.update()
        if ok:
            self.consecutive = 0
            return float(loss.detach())
        self.skipped += 1
        self.consecutive += 1
        if self.consecutive >= self.max_bad_steps:
            raise TrainingError(f"stopped after {self.consecutive} consecutive steps with a non-finite loss or "
                                f"gradient ({self.skipped} skipped in all){self.hint}")
        return None
