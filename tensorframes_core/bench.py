"""``tensorframes bench``: speed and memory of tensor frames next to their baselines, in one table.

Every figure comes from the same run: the median of ``--repeats`` timed calls after ``--warmup``
untimed ones. CUDA is timed with events (and synchronised); its peak memory is
``torch.cuda.max_memory_allocated`` above what was allocated before the timed calls. On CPU the time
is wall-clock (``perf_counter``; ``--clock process`` takes the process's CPU time instead, which a busy
shared machine inflates less: use it with ``--threads 1``) and the peak memory comes from one more,
profiled call: the largest running total of the allocator's CPU tensor memory above its level before
the call, as the profiler's allocation events report it (``n/a`` where torch does not expose them).
Sections (``--only``):

====== =========================================================================================
s1     training step (forward + backward + Adam) and inference, every arch x mode, 32 x 1,024 points
s2     the same on one cloud of 100,000 points
s3     dgcnn tensor_frames inference on 1,000,000 points (GPU only)
blocks knn_graph, radius_graph, fps, pca_frames (and its 3x3 eigen-solver), LearnedFrames at 100k, 1M
edges  ``TensorReps.transform`` and ``frame_change`` per edge, GB/s against the measured copy bandwidth
peer   an e3nn tensor-field network (uvu and fully connected tensor products) against our layer
====== =========================================================================================

A 2-core CPU cannot run those sizes: the CPU profile uses smaller ones (:data:`PROFILES`, labelled
in the table); ``--quick`` is a smoke run for CI. The ``ratio`` column compares each row with the
row named in ``vs`` (``baseline`` of the same arch, size and step; the smaller size; the device's
copy bandwidth; our tensor-frames layer); ``target`` shows the issue's target where one applies.

>>> PROFILES["cpu"].s2, PROFILES["gpu"].s3
((1, 10000), 1000000)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch_geometric.data import Batch, Data

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.frames import LearnedFrames, pca_frames
from tensorframes_core.frames.eigen import symmetric_eig
from tensorframes_core.graph import fps, knn_graph, radius_graph
from tensorframes_core.models import build_model
from tensorframes_core.models.dgcnn import FrameEdgeConv
from tensorframes_core.nn import frame_change
from tensorframes_core.reps import TensorReps

Tensor = torch.Tensor

ARCHS = ("pointnet2", "dgcnn", "gcn", "transformer")
VARIANTS = (("baseline", "pca"), ("augment", "pca"), ("scalar_frames", "pca"), ("tensor_frames", "pca"),
            ("tensor_frames", "learned"))
SECTIONS = ("s1", "s2", "s3", "blocks", "edges", "peer")
K = 16
HIDDEN = "16x0n+8x1n"  # the models' default hidden reps (NormalModel)
EDGE_REPS = (HIDDEN, "4x0n+4x1n+4x2n")
PEER_IRREPS = "16x0e+8x1o"  # the same width as HIDDEN
PEER_LAYERS = 3


@dataclass(frozen=True)
class Profile:
    """Problem sizes: ``s1``/``s2`` = (clouds, points per cloud); ``s3`` points or ``None`` (skipped);
    ``blocks`` point counts of the building blocks (edges: ``K`` per point); ``fps_picks`` samples
    drawn by the fps row; ``peer`` = (clouds, points) of the peer comparison; ``copy_mb`` the size of
    the tensor whose copy gives the reference bandwidth; ``threads`` torch CPU threads (0: torch's)."""

    name: str
    s1: Tuple[int, int]
    s2: Tuple[int, int]
    s3: Optional[int]
    blocks: Tuple[int, int]
    fps_picks: int
    peer: Tuple[int, int]
    copy_mb: int
    repeats: int
    warmup: int
    threads: int = 0


PROFILES: Dict[str, Profile] = {
    "gpu": Profile("gpu", (32, 1024), (1, 100_000), 1_000_000, (100_000, 1_000_000), 1024, (32, 1024), 1024, 5, 2),
    "cpu": Profile("cpu", (8, 1024), (1, 10_000), None, (10_000, 100_000), 256, (8, 1024), 256, 3, 1),
    # smoke runs: one thread, so that a busy CI machine cannot stall torch's thread pool
    "quick": Profile("quick", (2, 64), (1, 300), None, (300, 1_000), 8, (2, 64), 8, 1, 0, threads=1),
    "quick-gpu": Profile("quick-gpu", (2, 64), (1, 300), 20_000, (300, 1_000), 8, (2, 64), 8, 1, 0, threads=1),
}


@dataclass
class Row:
    """One line of the table (and of the JSON)."""

    section: str
    name: str
    size: str
    ms: Optional[float] = None
    peak_mb: Optional[float] = None
    ratio: Optional[float] = None
    vs: str = ""
    target: str = ""
    note: str = ""


# --- measuring ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: the profiler's C++ side logs every start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_peak_mb(fn: Callable[[], object]) -> Optional[float]:
    """Peak of the CPU tensor memory allocated during one call of ``fn``, above its level before the call.

    Read from the profiler's allocation events, which carry the allocator's running total (the CPU
    counterpart of ``torch.cuda.max_memory_allocated``); ``None`` where this torch does not expose them.
    """
    try:
        from torch._C._profiler import _EventType

        activities = [torch.profiler.ProfilerActivity.CPU]
        with _native_stderr_silenced(), torch.profiler.profile(activities=activities, profile_memory=True) as prof:
            fn()
        stack, events = list(prof.profiler.kineto_results.experimental_event_tree()), []
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
                events.append((node.start_time_ns, node.extra_fields.total_allocated, node.extra_fields.alloc_size))
        if not events:
            return 0.0
        events.sort()
        before = events[0][1] - events[0][2]  # the running total can carry blocks from earlier sessions
        return (max(total for _, total, _ in events) - before) / 2**20
    except (ImportError, AttributeError, RuntimeError):
        return None


@dataclass
class Timer:
    """``timer(fn) -> (median ms, peak MB)`` over ``repeats`` calls after ``warmup`` calls (CPU: the
    peak from one more, profiled call)."""

    device: torch.device
    repeats: int
    warmup: int
    clock: Callable[[], float] = time.perf_counter

    def __call__(self, fn: Callable[[], object]) -> Tuple[float, Optional[float]]:
        cuda = self.device.type == "cuda"
        for _ in range(self.warmup):
            fn()
        times: List[float] = []
        if cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
            for _ in range(self.repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            return statistics.median(times), (torch.cuda.max_memory_allocated(self.device) - base) / 2**20
        for _ in range(self.repeats):
            t0 = self.clock()
            fn()
            times.append((self.clock() - t0) * 1e3)
        return statistics.median(times), _cpu_peak_mb(fn)


def _measure(timer: Timer, row: Row, fn: Callable[[], object]) -> Row:
    """Fill ``row.ms``/``row.peak_mb``; a failing row (e.g. out of memory) keeps its error as a note."""
    try:
        row.ms, row.peak_mb = timer(fn)
    except (RuntimeError, ValueError, MemoryError) as err:
        row.note = f"error: {type(err).__name__}: {str(err).splitlines()[0][:80]}"
    finally:
        if timer.device.type == "cuda":
            torch.cuda.empty_cache()
    return row


# --- inputs ------------------------------------------------------------------------------------

def ellipsoid_clouds(clouds: int, points: int, device: torch.device, seed: int = 0) -> Batch:
    """``clouds`` random ellipsoid surfaces of ``points`` points each, with their exact unit normals ``y``.

    >>> data = ellipsoid_clouds(2, 50, torch.device("cpu"))
    >>> data.pos.shape, data.y.shape, data.num_graphs
    (torch.Size([100, 3]), torch.Size([100, 3]), 2)
    """
    gen = torch.Generator().manual_seed(seed)
    axes = 0.5 + torch.rand(clouds, 1, 3, generator=gen)
    u = torch.randn(clouds, points, 3, generator=gen)
    pos = axes * u / u.norm(dim=-1, keepdim=True)
    normals = pos / axes**2  # gradient of sum (x_a / axes_a)^2
    normals = normals / normals.norm(dim=-1, keepdim=True)
    data = Batch.from_data_list([Data(pos=p, y=n) for p, n in zip(pos, normals)])
    return data.to(device)


def _size(clouds: int, points: int) -> str:
    return f"{clouds} x {points:,}" if clouds > 1 else f"{points:,} pts"


# --- sections ----------------------------------------------------------------------------------

def _train_step(model: torch.nn.Module, data: Batch) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = (1 - (model(data) * data.y).sum(-1).abs()).mean()
        loss.backward()
        opt.step()

    return step


def _inference(model: torch.nn.Module, data: Batch) -> Callable[[], Tensor]:
    def infer() -> Tensor:
        with torch.no_grad():
            return model(data)

    return infer


def _ratio_target(arch: str, step: str, mode: str, frames: str) -> Optional[float]:
    """The issue's training-step ratio target (tensor_frames / baseline) where one applies."""
    if step == "train" and mode == "tensor_frames" and arch in ("dgcnn", "pointnet2"):
        return 1.25 if frames == "pca" else 1.5
    return None


def _verdict(value: Optional[float], limit: float, unit: str) -> str:
    if value is None:
        return f"<= {limit:g}{unit}: n/a"
    return f"<= {limit:g}{unit}: {'met' if value <= limit else 'MISSED'}"


def model_rows(section: str, clouds: int, points: int, device: torch.device, timer: Timer,
               archs: Sequence[str], cpu_target: bool) -> List[Row]:
    """Training step and inference of every ``arch`` x variant; ratios to ``baseline`` of the same arch."""
    data = ellipsoid_clouds(clouds, points, device)
    size = _size(clouds, points)
    rows: List[Row] = []
    for arch in archs:
        for step in ("train", "infer"):
            base: Optional[float] = None
            for mode, frames in VARIANTS:
                torch.manual_seed(0)
                model = build_model(arch, mode, frames=frames).to(device)
                fn = _train_step(model.train(), data) if step == "train" else _inference(model.eval(), data)
                row = _measure(timer, Row(section, f"{step} {arch} {mode}/{frames}", size), fn)
                if mode == "baseline":
                    base = row.ms
                if base and row.ms is not None:
                    row.ratio, row.vs = row.ms / base, "baseline"
                limit = _ratio_target(arch, step, mode, frames)
                if limit is not None:
                    row.target = _verdict(row.ratio, limit, "x")
                if cpu_target and (arch, step, mode, frames) == ("dgcnn", "infer", "tensor_frames", "pca"):
                    row.target = _verdict(row.ms, 1000, " ms")
                rows.append(row)
    return rows


def s3_rows(points: Optional[int], device: torch.device, timer: Timer) -> List[Row]:
    """dgcnn tensor_frames inference on one huge cloud (time and peak memory)."""
    row = Row("s3", "infer dgcnn tensor_frames/pca", f"{points:,} pts" if points else "1,000,000 pts")
    if points is None or device.type != "cuda":
        row.note = "skipped: GPU only (run with --device cuda)"
        return [row]
    model = build_model("dgcnn", "tensor_frames").to(device).eval()
    _measure(timer, row, _inference(model, ellipsoid_clouds(1, points, device)))
    if points == 1_000_000:
        ms_ok = _verdict(row.ms, 2000, " ms")
        mb_ok = _verdict(None if row.peak_mb is None else row.peak_mb / 1024, 16, " GB")
        row.target = f"{ms_ok}; {mb_ok}"
    return [row]


def block_rows(sizes: Tuple[int, int], fps_picks: int, device: torch.device, timer: Timer) -> List[Row]:
    """Graph search, sampling and frames at two sizes; ``ratio`` = larger / smaller (time), memory in the note."""
    rows: List[Row] = []
    learned = LearnedFrames(k=K).to(device).eval()
    for points in sizes:
        pos = ellipsoid_clouds(1, points, device).pos
        radius = 2.0 * math.sqrt(K / points)  # ~K neighbours on these surfaces (area ~ 4 pi)
        cov = torch.randn(points, 3, 3, device=device)
        cov = cov @ cov.transpose(1, 2)

        def learned_frames() -> object:
            with torch.no_grad():
                return learned(pos)

        cases = [
            (f"knn_graph k={K}", lambda: knn_graph(pos, K)),
            (f"radius_graph r={radius:.3g} max 64", lambda: radius_graph(pos, radius, max_num_neighbors=64)),
            (f"fps {fps_picks:,} picks", lambda: fps(pos, (fps_picks - 0.5) / points)),
            (f"pca_frames k={K} (incl. kNN)", lambda: pca_frames(pos, k=K)),
            ("symmetric_eig 3x3 (pca's solver)", lambda: symmetric_eig(cov)),
            (f"LearnedFrames k={K} (incl. kNN)", learned_frames),
        ]
        for name, fn in cases:
            rows.append(_measure(timer, Row("blocks", name, f"{points:,} pts"), fn))
    small, large = rows[:len(rows) // 2], rows[len(rows) // 2:]
    for a, b in zip(small, large):
        if a.ms and b.ms is not None:
            b.ratio, b.vs = b.ms / a.ms, f"{sizes[0]:,} pts"
        if sizes[1] == 1_000_000 and b.name.startswith("knn_graph"):
            b.target = _verdict(b.ms, 300, " ms")
        if sizes[1] == 1_000_000 and b.name.startswith("pca_frames"):
            b.target = _verdict(b.ms, 20, " ms")
    return rows


def memory_growth_notes(rows: Sequence[Row]) -> None:
    """Note on each larger-size block row how its peak memory compares with the smaller size's."""
    blocks = [r for r in rows if r.section == "blocks"]
    for a, b in zip(blocks[:len(blocks) // 2], blocks[len(blocks) // 2:]):
        if a.peak_mb and b.peak_mb is not None:
            b.note = (b.note + "; " if b.note else "") + f"memory x{b.peak_mb / a.peak_mb:.1f}"


def edge_rows(sizes: Tuple[int, int], copy_mb: int, device: torch.device, timer: Timer) -> List[Row]:
    """Per-edge transforms (``K`` edges per point) as achieved bandwidth vs a ``copy_mb`` tensor copy."""
    itemsize = torch.finfo(torch.float32).bits // 8
    blob = torch.ones(copy_mb * 2**20 // itemsize, device=device)
    copy = _measure(timer, Row("edges", "copy (tensor.clone)", f"{blob.numel() * itemsize / 2**20:,.0f} MB"),
                    blob.clone)
    copy_gbs = 2 * blob.numel() * itemsize / (copy.ms * 1e6) if copy.ms else None
    del blob
    copy.note = f"{copy_gbs:.1f} GB/s" if copy_gbs else copy.note
    rows = [copy]
    for points in sizes:
        n_edges = points * K
        # frames gathered per edge, as a layer sees them: a pool of node frames indexed at random
        pool = random_orthogonal(4096, dtype=torch.float32, device=device)
        R_src, R_dst = (pool[torch.randint(0, 4096, (n_edges,), device=device)] for _ in range(2))
        for spec in EDGE_REPS:
            reps = TensorReps(spec)
            x = torch.randn(n_edges, reps.dim, device=device)
            cases = [("TensorReps.transform", lambda: reps.transform(x, R_src), 2 * reps.dim + 9),
                     ("frame_change", lambda: frame_change(x, reps, R_src, R_dst), 2 * reps.dim + 18)]
            for name, fn, floats in cases:
                row = _measure(timer, Row("edges", f"{name} {spec}", f"{n_edges:,} edges"), fn)
                if row.ms and copy_gbs:
                    gbs = n_edges * floats * itemsize / (row.ms * 1e6)
                    row.ratio, row.vs, row.note = gbs / copy_gbs, "copy GB/s", f"{gbs:.1f} GB/s"
                rows.append(row)
    return rows


class _OurStack(torch.nn.Module):
    """``PEER_LAYERS`` tensor-frames EdgeConv layers of width ``HIDDEN`` (the dgcnn layer)."""

    def __init__(self, frame_transform: bool) -> None:
        super().__init__()
        dim = TensorReps(HIDDEN).dim
        self.layers = torch.nn.ModuleList(FrameEdgeConv(HIDDEN, dim, frame_transform) for _ in range(PEER_LAYERS))

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor, frames: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x, pos, edge_index, frames=frames)
        return x


def _e3nn_stack(kind: str) -> torch.nn.Module:
    """A tensor-field network of ``PEER_LAYERS`` layers on ``PEER_IRREPS``: spherical harmonics l <= 2 of
    the edge vector, a radial MLP giving per-edge weights, ``kind`` = ``uvu`` (NequIP-style
    ``TensorProduct`` + ``Linear``) or ``fctp`` (``FullyConnectedTensorProduct``), sum, gate."""
    from e3nn import o3
    from e3nn.math import soft_one_hot_linspace
    from e3nn.nn import FullyConnectedNet, Gate

    irreps = o3.Irreps(PEER_IRREPS)
    sh_irreps = o3.Irreps.spherical_harmonics(2)
    n_basis = 8

    class Layer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            scalars = o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l == 0])
            gated = o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l > 0])
            self.gate = Gate(scalars, [torch.nn.functional.silu], f"{gated.num_irreps}x0e", [torch.sigmoid], gated)
            target = self.gate.irreps_in
            if kind == "fctp":
                self.tp = o3.FullyConnectedTensorProduct(irreps, sh_irreps, target, shared_weights=False,
                                                         internal_weights=False)
                self.lin = torch.nn.Identity()
            else:
                mid, instructions = [], []
                for i, (mul, ir_in) in enumerate(irreps):
                    for j, (_, ir_sh) in enumerate(sh_irreps):
                        for ir_out in ir_in * ir_sh:
                            if ir_out in target:
                                instructions.append((i, j, len(mid), "uvu", True))
                                mid.append((mul, ir_out))
                mid_irreps = o3.Irreps(mid)
                self.tp = o3.TensorProduct(irreps, sh_irreps, mid_irreps, instructions, shared_weights=False,
                                           internal_weights=False)
                self.lin = o3.Linear(mid_irreps, target)
            self.radial = FullyConnectedNet([n_basis, 32, self.tp.weight_numel], torch.nn.functional.silu)

        def forward(self, x: Tensor, sh: Tensor, emb: Tensor, edge_index: Tensor) -> Tensor:
            src, dst = edge_index
            messages = self.tp(x[src], sh, self.radial(emb))
            summed = torch.zeros(x.shape[0], messages.shape[1], dtype=x.dtype, device=x.device).index_add_(
                0, dst, messages) / math.sqrt(K)
            return self.gate(self.lin(summed))

    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(Layer() for _ in range(PEER_LAYERS))

        def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
            vec = pos[edge_index[0]] - pos[edge_index[1]]
            sh = o3.spherical_harmonics(sh_irreps, vec, normalize=True, normalization="component")
            emb = soft_one_hot_linspace(vec.norm(dim=-1), 0.0, 1.0, n_basis, basis="smooth_finite", cutoff=True)
            emb = emb * n_basis**0.5
            for layer in self.layers:
                x = layer(x, sh, emb, edge_index)
            return x

    return Stack()


def peer_rows(clouds: int, points: int, device: torch.device, timer: Timer) -> List[Row]:
    """Our tensor-frames EdgeConv stack vs e3nn TFN stacks of the same width and depth (train and infer)."""
    data = ellipsoid_clouds(clouds, points, device)
    pos, batch = data.pos, data.batch
    edge_index = knn_graph(pos, K, batch)
    frames = pca_frames(pos, K, batch).matrices
    x = torch.randn(pos.shape[0], TensorReps(HIDDEN).dim, device=device)
    size = f"{_size(clouds, points)}, {PEER_LAYERS} layers"
    nets: List[Tuple[str, Callable[[], torch.nn.Module], Callable[[torch.nn.Module], Tensor]]] = [
        ("ours tensor_frames (EdgeConv)", lambda: _OurStack(True), lambda m: m(x, pos, edge_index, frames)),
        ("ours scalar messages (EdgeConv)", lambda: _OurStack(False), lambda m: m(x, pos, edge_index, frames)),
    ]
    try:
        import e3nn  # noqa: F401  (optional: the `bench` extra)
    except ImportError:
        e3nn_note = "skipped: e3nn not installed (pip install tensorframes-explorer[bench])"
    else:
        e3nn_note = ""
        nets += [(f"e3nn TFN {kind} l<=2", lambda kind=kind: _e3nn_stack(kind), lambda m: m(x, pos, edge_index))
                 for kind in ("uvu", "fctp")]
    rows: List[Row] = []
    for step in ("train", "infer"):
        ours: Optional[float] = None
        for name, build, run in nets:
            torch.manual_seed(0)
            net = build().to(device)
            if step == "train":
                opt = torch.optim.Adam(net.parameters(), lr=1e-3)

                def fn(net=net, run=run, opt=opt) -> None:
                    opt.zero_grad(set_to_none=True)
                    run(net).pow(2).mean().backward()
                    opt.step()
            else:
                def fn(net=net, run=run) -> Tensor:
                    with torch.no_grad():
                        return run(net)
            row = _measure(timer, Row("peer", f"{step} {name}", size), fn)
            if ours is None:
                ours = row.ms
            elif ours and row.ms is not None:
                row.ratio, row.vs = row.ms / ours, "ours TF"
                limit = {"uvu": 4.5, "fctp": 19.0}.get(name.split()[2], None) if name.startswith("e3nn") else None
                if limit is not None and step == "train":
                    row.target = f">= {limit:g}x: {'met' if row.ratio >= limit else 'MISSED'}"
            rows.append(row)
        if e3nn_note:
            rows.append(Row("peer", f"{step} e3nn TFN (uvu, fctp)", size, note=e3nn_note))
    return rows


# --- output ------------------------------------------------------------------------------------

COLUMNS = ("section", "name", "size", "ms", "peak MB", "ratio", "vs", "target", "note")


def _cells(row: Row) -> List[str]:
    def num(v: Optional[float], digits: int) -> str:
        return "" if v is None else f"{v:,.{digits}f}"

    ms_digits = 3 if row.ms is not None and row.ms < 1 else (2 if row.ms is not None and row.ms < 100 else 1)
    return [row.section, row.name, row.size, num(row.ms, ms_digits),
            "n/a" if row.peak_mb is None and row.ms is not None else num(row.peak_mb, 1),
            "" if row.ratio is None else f"{row.ratio:.2f}", row.vs, row.target, row.note]


def format_table(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table.

    >>> print(format_table([Row("s1", "infer dgcnn baseline/pca", "8 x 1,024", 12.5, 40.0)]))
    | section | name                     | size      | ms    | peak MB | ratio | vs | target | note |
    |---------|--------------------------|-----------|-------|---------|-------|----|--------|------|
    | s1      | infer dgcnn baseline/pca | 8 x 1,024 | 12.50 | 40.0    |       |    |        |      |
    """
    table = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(line[c]) for line in table) for c in range(len(COLUMNS))]
    fmt = lambda line: "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(table[0]), rule] + [fmt(line) for line in table[1:]])


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with the number of torch threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, torch using {torch.get_num_threads()} thread(s)"


# --- entry point -------------------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tensorframes bench", description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", metavar="PATH", help="also write the rows and the setup as JSON")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (CI)")
    parser.add_argument("--repeats", type=int, help="timed calls per row (median); default by profile")
    parser.add_argument("--warmup", type=int, help="untimed calls before timing; default by profile")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated architectures")
    parser.add_argument("--clock", choices=("wall", "process"), default="wall",
                        help="CPU timing: wall clock, or the process's CPU time (for busy shared machines)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's; 1 with --quick)")
    args = parser.parse_args(argv)
    args.only = [s for s in args.only.split(",") if s]
    args.archs = [a for a in args.archs.split(",") if a]
    bad = sorted(set(args.only) - set(SECTIONS)) + sorted(set(args.archs) - set(ARCHS))
    if bad:
        parser.error(f"unknown sections/archs {bad}; sections: {SECTIONS}, archs: {ARCHS}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available")
    return args


def run(args: argparse.Namespace, log: Callable[[str], None] = lambda s: None) -> Tuple[Dict, List[Row]]:
    """All the selected sections; returns ``(meta, rows)``."""
    device = torch.device(args.device)
    name = ("quick-gpu" if device.type == "cuda" else "quick") if args.quick else device.type.replace("cuda", "gpu")
    profile = PROFILES[name]
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or profile.threads or threads)
    try:
        return _run_sections(args, profile, device, log)
    finally:
        torch.set_num_threads(threads)


def _run_sections(args: argparse.Namespace, profile: Profile, device: torch.device,
                  log: Callable[[str], None]) -> Tuple[Dict, List[Row]]:
    clock = time.process_time if args.clock == "process" else time.perf_counter
    timer = Timer(device, args.repeats or profile.repeats, args.warmup if args.warmup is not None else profile.warmup,
                  clock)
    sections = {
        "s1": lambda: model_rows("s1", *profile.s1, device, timer, args.archs, cpu_target=False),
        "s2": lambda: model_rows("s2", *profile.s2, device, timer, args.archs,
                                 cpu_target=device.type == "cpu" and profile.s2 == (1, 10_000)),
        "s3": lambda: s3_rows(profile.s3, device, timer),
        "blocks": lambda: block_rows(profile.blocks, profile.fps_picks, device, timer),
        "edges": lambda: edge_rows(profile.blocks, profile.copy_mb, device, timer),
        "peer": lambda: peer_rows(*profile.peer, device, timer),
    }
    rows: List[Row] = []
    for section in SECTIONS:
        if section in args.only:
            t0 = time.perf_counter()
            rows += sections[section]()
            log(f"[bench] {section} done in {time.perf_counter() - t0:.0f} s")
    memory_growth_notes(rows)
    meta = {
        "device": device_name(device), "torch": torch.__version__, "python": platform.python_version(),
        "profile": asdict(profile), "repeats": timer.repeats, "warmup": timer.warmup,
        "threads": torch.get_num_threads(), "clock": "cuda events" if device.type == "cuda" else args.clock,
        "command": "tensorframes bench " + " ".join(args.argv),
    }
    return meta, rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``tensorframes bench [--device cpu|cuda] [--json PATH] [--quick] [--repeats N] ...``: print the table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv
    meta, rows = run(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"device: {meta['device']}; torch {meta['torch']}; profile {meta['profile']['name']}; clock {meta['clock']}; "
          f"median of {meta['repeats']} after {meta['warmup']} warm-up; command: {meta['command']}")
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": [asdict(r) for r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
