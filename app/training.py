"""Train a small model in the app: a background thread per browser session, with a stop button.

The job builds its OWN model (never the shared cached ones), so training in one session cannot
change what another session sees. Each step is the core's :class:`TrainStep` (the same loss,
clipping and non-finite guard as ``tensorframes train``). The thread never calls Streamlit; the
page polls the job.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch_geometric.data import Batch

from tensorframes_core.data import shapes
from tensorframes_core.models import build_model
from tensorframes_core.train import TrainStep

MAX_BAD_STEPS = 5


@dataclass
class TrainJob:
    """One training run; ``status`` goes "waiting" -> "running" -> "done" | "stopped" | "failed".
    The data: ``BATCHES`` fixed batches of ``clouds_per_step`` procedural clouds, taken in turn."""

    BATCHES: ClassVar[int] = 4
    arch: str
    mode: str
    frames: str
    steps: int = 40
    clouds_per_step: int = 2
    n_points: int = 256
    noise: float = 0.0
    lr: float = 3e-3
    seed: int = 0
    label: str = ""
    losses: list[float] = field(default_factory=list)
    status: str = "waiting"
    message: str = ""
    model: torch.nn.Module | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def progress(self) -> float:
        return min(1.0, len(self.losses) / max(self.steps, 1))

    def start(self) -> TrainJob:
        """Start the background thread (daemon: it never blocks a server shutdown)."""
        self.thread = threading.Thread(target=self.run, name=f"tfe-train-{self.label}", daemon=True)
        self.status = "running"
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """The loop: core training steps on procedural shapes (exact normals) until done or stopped."""
        try:
            self.status = "running"
            torch.manual_seed(self.seed)
            model = build_model(self.arch, self.mode, self.frames)
            n = self.BATCHES
            clouds = shapes.make_dataset(n * self.clouds_per_step, self.n_points, noise=self.noise, seed=self.seed)
            batches = itertools.cycle([Batch.from_data_list([c.to_data() for c in clouds[k::n]]) for k in range(n)])
            step = TrainStep(model, torch.optim.Adam(model.parameters(), lr=self.lr), max_bad_steps=MAX_BAD_STEPS)
            model.train()
            for _ in range(self.steps):
                if self.stop_event.is_set():
                    break
                loss = step(next(batches))
                if loss is not None:
                    self.losses.append(loss)
            self.model = model.eval().requires_grad_(False)
            self.status = "stopped" if self.stop_event.is_set() else "done"
        except Exception as exc:  # noqa: BLE001 - reported on the page, never raised into the thread pool
            self.status, self.message = "failed", f"{type(exc).__name__}: {exc}"
