"""Normals for every point of an uploaded file, in a background thread (the page only displays a capped
sample). The thread never calls Streamlit; the page polls the job and offers the result for download."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tensorframes_core.data import InputError, load_point_cloud
from tensorframes_core.data.writers import encode_normals
from tensorframes_core.normals import estimate_normals

WHOLE_FILE_POINTS = 10_000_000
STAGES = {"waiting": 0.0, "reading": 0.1, "estimating": 0.3, "writing": 0.9, "done": 1.0, "failed": 1.0}


@dataclass
class WholeFileJob:
    """Read ``data`` (named ``filename``), estimate normals with ``method``, encode a binary PLY.

    ``status``: "waiting" -> "reading" -> "estimating" -> "writing" -> "done" | "failed" (``message``).
    """

    data: bytes
    filename: str
    method: str = "default"  # the flagship estimator, as ``tensorframes normals`` uses it
    status: str = "waiting"
    message: str = ""
    n_points: int = 0
    result: bytes | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def progress(self) -> float:
        return STAGES[self.status]

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> WholeFileJob:
        self.thread = threading.Thread(target=self._run, name=f"tfe-normals-{self.filename}", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.status = "reading"
            cloud = load_point_cloud(self.data, filename=self.filename, max_points=WHOLE_FILE_POINTS,
                                     max_bytes=len(self.data) + 1, dtype=None)  # float64 where float32 rounds
            self.n_points = len(cloud)
            self.status = "estimating"
            normals = estimate_normals(cloud.pos, self.method)
            self.status = "writing"
            colors = None if cloud.colors is None else cloud.colors.numpy()
            self.result = encode_normals(".ply", cloud.pos.numpy(), normals.numpy(), colors)
            self.status = "done"
        except InputError as exc:
            self.status, self.message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - shown on the page, never a traceback
            self.status, self.message = "failed", f"{type(exc).__name__}: {exc}"
