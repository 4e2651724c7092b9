"""The ``tensorframes`` command: ``train``, ``eval``, ``export``, ``normals`` and ``bench``.

    tensorframes train --arch dgcnn --mode tensor_frames --frames pca --epochs 20 --out runs/dgcnn_tf
    tensorframes train --out runs/dgcnn_tf --epochs 40 --resume
    tensorframes eval --checkpoint runs/dgcnn_tf --rotations none,so3,o3 --noise 0,0.006
    tensorframes eval --arch pca --k 8,16,32 --json results.json
    tensorframes export runs/dgcnn_tf            # -> tensorframes_core/checkpoints/dgcnn_tensor_frames_pca.pt
    tensorframes normals scan.ply --out scan_normals.ply --method jet --orient consistent
    torchrun --nproc_per_node=4 -m tensorframes_core.train --arch dgcnn --out runs/big

Bad inputs end with ``error: ...`` on stderr and exit status 2 (no traceback); a diverged training
run with exit status 1.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from tensorframes_core.data.cloud import InputError

# The training and evaluation stack (PyG, the models) is imported inside the commands that use it, so
# that `tensorframes normals` starts fast.


def _floats(text: str) -> List[float]:
    """``"0,0.006"`` -> ``[0.0, 0.006]``."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> List[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> List[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _families(text: str) -> List[str]:
    from tensorframes_core.data import shapes

    try:
        return list(shapes.families(text))
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _value(text: str) -> Any:
    """A ``--size`` value: int, else float, else the string (e.g. a reps string ``16x0n+8x1n``)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_sizes(items: Sequence[str]) -> Dict[str, Any]:
    """``["layers=2", "hidden=8x0n+4x1n"]`` -> ``{"layers": 2, "hidden": "8x0n+4x1n"}``.

    >>> parse_sizes(["layers=2", "radius1=0.1"])
    {'layers': 2, 'radius1': 0.1}
    """
    sizes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--size expects key=value, got {item!r}")
        sizes[key.strip()] = _value(value.strip())
    return sizes


def _add_data_args(p: argparse.ArgumentParser, list_file: str) -> None:
    from tensorframes_core.data import shapes
    from tensorframes_core.train.data import DATA_KINDS

    p.add_argument("--data", default="procedural", choices=DATA_KINDS, help="procedural shapes or a data set on disk")
    p.add_argument("--root", help="folder of the ModelNet40 or PCPNet data, or of meshes (with --data)")
    p.add_argument("--list-file", default=list_file, help=f"PCPNet list file (default {list_file})")
    p.add_argument("--n-points", type=int, default=1024, help="points per cloud")
    p.add_argument("--shapes", type=_families, default=list(shapes.ALIGNED),
                   help="procedural families or suites (aligned, all), comma-separated (default: aligned)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")


def build_parser() -> argparse.ArgumentParser:
    from tensorframes_core.models import ARCHS, FRAMES, MODES
    from tensorframes_core.train.config import LR_SCHEDULES
    from tensorframes_core.train.data import TEST_SEED
    from tensorframes_core.train.evaluate import ROTATIONS

    parser = argparse.ArgumentParser(prog="tensorframes", description="Tensor Frames normal estimation.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model (checkpoint every epoch; --resume continues)")
    t.add_argument("--arch", default="dgcnn", choices=[a for a in ARCHS if a != "pca"])
    t.add_argument("--mode", default="tensor_frames", choices=MODES)
    t.add_argument("--frames", default="pca", choices=FRAMES)
    t.add_argument("--size", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="model size settings, e.g. layers=2 hidden=8x0n+4x1n")
    t.add_argument("--epochs", type=int, default=10, help="total epochs (also when resuming)")
    t.add_argument("--out", help="run folder (default runs/<arch>_<mode>_<frames>)")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    _add_data_args(t, "trainingset_whitenoise.txt")
    t.add_argument("--n-train", type=int, default=512, help="procedural training clouds")
    t.add_argument("--n-val", type=int, default=28, help="validation clouds")
    t.add_argument("--val-root", help="a folder of meshes to validate on (default: procedural clouds)")
    t.add_argument("--noise", type=_floats, default=[0.0], help="training noise levels, e.g. 0,0.006,0.012")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-schedule", default="cosine", choices=LR_SCHEDULES)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--grad-clip", type=float, default=10.0, help="max gradient norm (0: none)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    t.add_argument("--amp-dtype", default="bf16", choices=("bf16", "fp16"))
    t.add_argument("--max-bad-steps", type=int, default=5, help="consecutive non-finite steps before stopping")
    t.add_argument("--workers", type=int, default=0, help="data loader processes")
    t.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    t.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    t.set_defaults(func=_train)

    e = sub.add_parser("eval", help="evaluate a model as given, under SO(3) and O(3), with noise")
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="a checkpoint file or a run folder")
    which.add_argument("--pretrained", metavar="ARCH/MODE/FRAMES",
                       help="a shipped model (tensorframes_core/checkpoints)")
    which.add_argument("--arch", choices=["pca", "jet"], help="a classical baseline: PCA or jet fitting (no training)")
    e.add_argument("--k", type=_ints, default=None,
                   help="neighbourhood sizes of pca/jet; the best is reported (default pca 16; with --data meshes "
                        "a grid that fits the density: 8..64 at 2,048 points, scaled with the point count)")
    e.add_argument("--densities", type=_names, default=["uniform"],
                   help="with --data meshes: uniform, gradient, striped (comma-separated)")
    e.add_argument("--rotations", type=_names, default=list(ROTATIONS), help="none,so3,o3")
    e.add_argument("--noise", type=_floats, default=[0.0, 0.006], help="procedural test noise levels")
    e.add_argument("--n-clouds", type=int, default=28, help="procedural test clouds")
    e.add_argument("--seed", type=int, default=TEST_SEED, help="first test shape seed")
    _add_data_args(e, "testset_all.txt")
    e.add_argument("--json", nargs="?", const="-", metavar="PATH", help="JSON to PATH, or to stdout without PATH")
    e.set_defaults(func=_eval)

    x = sub.add_parser("export", help="copy a run's model (no training state) to tensorframes_core/checkpoints")
    x.add_argument("source", help="a run folder or checkpoint file")
    x.add_argument("--to", help="folder or .pt file (default tensorframes_core/checkpoints/<arch>_<mode>_<frames>.pt)")
    x.set_defaults(func=_export)

    _add_normals_args(sub.add_parser("normals", help=NORMALS_HELP))

    sub.add_parser("bench", help="benchmarks (tensorframes bench --help)", add_help=False)
    return parser


NORMALS_HELP = "normals for every point of a file, written by the output's extension"


def _add_normals_args(m: argparse.ArgumentParser) -> None:
    m.add_argument("input", help="a point cloud or mesh file (formats of load_point_cloud)")
    m.add_argument("--out", required=True, help="output file: .ply (binary), .xyz, .txt, .csv, .npz or .pcd")
    m.add_argument("--method", default="default", help="default, pca, jet or ARCH/MODE/FRAMES (a shipped model)")
    m.add_argument("--k", type=int, default=None, help="neighbours (default: 16 for pca, 24 for jet)")
    m.add_argument("--orient", default="none", help="none, centroid, viewpoint:X,Y,Z or consistent")
    m.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    m.add_argument("--n-points", type=int, default=None, help="points sampled on a mesh (default 10,000)")
    m.add_argument("--model-points", type=int, default=None,
                   help="a model runs on at most this many points (default 65,536), the others take the nearest "
                        "one's normal (better on noisy dense scans, and faster); 0: every point")
    m.add_argument("--quiet", action="store_true", help="no progress lines")
    m.set_defaults(func=_normals)


WHOLE_FILE_POINTS = 50_000_000  # tensorframes normals: whole scans, far beyond the explorer's cap
WHOLE_FILE_BYTES = 8_000_000_000


def _normals(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tensorframes_core.data import load_point_cloud
    from tensorframes_core.data.writers import encode_normals, write_normals
    from tensorframes_core.normals import estimate_normals
    from tensorframes_core.normals.estimate import MODEL_POINTS

    def say(text: str) -> None:
        if not args.quiet:
            print(f"[normals {time.perf_counter() - start:6.1f} s] {text}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    encode_normals(Path(args.out).suffix, np.zeros((0, 3)), np.zeros((0, 3)))  # a bad output fails before any work
    # float64 where float32 would round a coordinate (a geo-referenced scan): kept, and written back as read
    cloud = load_point_cloud(args.input, n_points=args.n_points, max_points=WHOLE_FILE_POINTS,
                             max_bytes=WHOLE_FILE_BYTES, dtype=None)
    say(f"read {len(cloud):,} points from {args.input}")
    normals = estimate_normals(cloud.pos, args.method, args.k, args.orient, args.device, progress=not args.quiet,
                               model_points=MODEL_POINTS if args.model_points is None else args.model_points)
    say(f"estimated normals ({args.method}, orient {args.orient})")
    write_normals(args.out, cloud.pos.numpy(), normals.numpy(), None if cloud.colors is None else cloud.colors.numpy())
    say(f"wrote {args.out}")
    return 0


def _eval_meshes(args: argparse.Namespace) -> int:
    from tensorframes_core.data.meshes import MESH_DENSITIES
    from tensorframes_core.train.mesh_eval import evaluate_meshes, format_mesh_table

    if args.root is None:
        raise InputError("--data meshes needs --root FOLDER (any folder of .ply/.obj/.stl/.off/.glb meshes)")
    unknown = sorted(set(args.densities) - set(MESH_DENSITIES))
    if unknown:
        raise InputError(f"unknown densities {unknown}; choose from {', '.join(MESH_DENSITIES)}")
    runs = {label: evaluate_meshes(model, args.root, args.n_points, args.noise, args.densities, args.rotations,
                                   args.seed, args.batch_size, args.device)
            for label, model in _models(args).items()}
    best, score = _best(runs)
    rows = [{"rotation": kind, "noise": level, "density": density, **r}
            for (kind, level, density), r in runs[best].items()]
    report = {"model": best, "n_points": args.n_points, "root": str(args.root), "results": rows}
    return _emit(args, report, score, f"{best} on the meshes of {args.root}, {args.n_points} points",
                 format_mesh_table(runs[best]))


def _best(runs: Dict[str, Dict[Any, Dict[str, Any]]]):
    """``(label, {label: mean RMS})``: the candidate with the lowest RMS averaged over its conditions."""
    score = {label: sum(r["rms"] for r in run.values()) / len(run) for label, run in runs.items()}
    return min(score, key=score.get), score


def _emit(args: argparse.Namespace, report: Dict[str, Any], score: Dict[str, float], heading: str,
          table: str) -> int:
    """Print (or write as JSON) an evaluation report; several candidates are listed with their scores."""
    if len(score) > 1:
        report["candidates"] = {label: {"mean_rms": s} for label, s in score.items()}
    if args.json == "-":
        _write_json(report, "-")
        return 0
    if len(score) > 1:
        print("  ".join(f"{label}: mean rms {s:.2f}" for label, s in score.items()))
    print(heading)
    print(table)
    if args.json:
        _write_json(report, args.json)
    return 0


def _record(argv: Sequence[str]) -> str:
    """The command line as the user typed it (torchrun's form under torchrun)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        procs = os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])
        return f"torchrun --nproc_per_node={procs} -m tensorframes_core.train " + shlex.join(list(argv)[1:])
    return "tensorframes " + shlex.join(argv)


def _write_json(obj: Any, path: str) -> None:
    text = json.dumps(obj, indent=2, default=str)
    if path == "-":
        print(text)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tensorframes_core.train.config import TrainConfig
    from tensorframes_core.train.loop import train

    config = TrainConfig(
        arch=args.arch, mode=args.mode, frames=args.frames, size=parse_sizes(args.size), epochs=args.epochs,
        out=args.out or f"runs/{args.arch}_{args.mode}_{args.frames}", resume=args.resume, data=args.data,
        root=args.root, val_root=args.val_root, list_file=args.list_file, n_train=args.n_train, n_val=args.n_val, n_points=args.n_points,
        noise=tuple(args.noise), shapes=tuple(args.shapes), batch_size=args.batch_size, lr=args.lr,
        lr_schedule=args.lr_schedule, weight_decay=args.weight_decay, grad_clip=args.grad_clip or None,
        seed=args.seed, device=args.device, amp=not args.no_amp, amp_dtype=args.amp_dtype,
        max_bad_steps=args.max_bad_steps, workers=args.workers, progress=not args.quiet, command=_record(argv))
    result = train(config)
    if int(os.environ.get("RANK", "0")) == 0:
        val = result["val"] or {}
        print(f"trained {result['epochs']} epochs in {result['time_s']:.1f} s "
              f"({result['skipped_steps']} steps skipped); "
              f"validation mean {val.get('mean', float('nan')):.2f} deg, rms {val.get('rms', float('nan')):.2f}; "
              f"checkpoint {result['checkpoint']}")
        if args.json:
            _write_json(result, args.json)
    return 0


def _eval_data(args: argparse.Namespace):
    from tensorframes_core.data import ModelNet40Normals, PCPNet

    if args.data == "procedural":
        return None
    if args.root is None:
        raise InputError(f"--data {args.data} needs --root PATH")
    if args.data == "modelnet40":
        return ModelNet40Normals(args.root, "test", args.n_points)
    return PCPNet(args.root, args.list_file, args.n_points)


def _k_grid(args: argparse.Namespace) -> List[int]:
    """The neighbourhood sizes to try: given, or one that fits the density (meshes), or PCA's 16."""
    if args.k:
        return args.k
    if args.data != "meshes":
        return [16] if args.arch == "pca" else [24]
    from tensorframes_core.train.mesh_eval import density_k_grid

    return density_k_grid(args.n_points)


def _models(args: argparse.Namespace) -> Dict[str, Any]:
    """``{label: model}`` to evaluate (one, or one per classical ``k``)."""
    from tensorframes_core.models import build_model
    from tensorframes_core.train.checkpoint import load_model

    if args.arch == "pca":
        return {f"pca k={k}": build_model("pca", "baseline", k=k) for k in _k_grid(args)}
    if args.arch == "jet":
        from tensorframes_core.models.jet import JetNormals

        return {f"jet k={k}": JetNormals(k=k) for k in _k_grid(args) if k >= 5}
    if args.checkpoint:
        return {args.checkpoint: load_model(args.checkpoint, map_location=args.device)}
    from tensorframes_core.pretrained import load_pretrained

    parts = args.pretrained.split("/")
    if len(parts) not in (2, 3):
        raise InputError(
            f"--pretrained expects ARCH/MODE/FRAMES, e.g. dgcnn/tensor_frames/pca; got {args.pretrained!r}")
    return {args.pretrained: load_pretrained(*parts, map_location=args.device)}


def _eval(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tensorframes_core.train.distributed import resolve_device
    from tensorframes_core.train.evaluate import ROTATIONS, evaluate, format_table, to_rows

    unknown = sorted(set(args.rotations) - set(ROTATIONS))
    if unknown or not args.rotations:
        raise InputError(f"unknown rotations {unknown}; choose from {', '.join(ROTATIONS)}")
    args.device = resolve_device(args.device)
    if args.data == "meshes":
        return _eval_meshes(args)
    data = _eval_data(args)
    models = _models(args)
    runs = {label: evaluate(model, rotations=args.rotations, noise=args.noise, n_clouds=args.n_clouds,
                            n_points=args.n_points, seed=args.seed, data=data, batch_size=args.batch_size,
                            device=args.device, names=args.shapes)
            for label, model in models.items()}
    best, score = _best(runs)
    report = {"model": best, "config": models[best].config, "results": to_rows(runs[best])}
    return _emit(args, report, score, f"best: {best}" if len(runs) > 1 else best, format_table(runs[best]))


def _export(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tensorframes_core.pretrained import CHECKPOINT_DIR, pretrained_name
    from tensorframes_core.train.checkpoint import export_checkpoint, load_model

    meta = load_model(args.source).checkpoint_metadata
    target = Path(args.to) if args.to else CHECKPOINT_DIR
    if target.suffix != ".pt":
        target = target / f"{pretrained_name(meta['arch'], meta['mode'], meta['frames'])}.pt"
    export_checkpoint(args.source, target)
    print(f"exported {args.source} -> {target}")
    return 0


def _bench(argv: Sequence[str]) -> int:
    try:
        bench = importlib.import_module("tensorframes_core.bench")
    except ModuleNotFoundError as exc:
        if exc.name != "tensorframes_core.bench":
            raise
        print("error: the benchmarks are not part of this installation (tensorframes_core/bench.py is missing)",
              file=sys.stderr)
        return 2
    return int(bench.main(list(argv)) or 0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``tensorframes ARGS``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        if argv[:1] == ["normals"]:  # without the training stack's imports
            normals = argparse.ArgumentParser(prog="tensorframes normals", description=NORMALS_HELP)
            _add_normals_args(normals)
            args = normals.parse_args(argv[1:])
        else:
            args = build_parser().parse_args(argv)
        return args.func(args, argv)
    except RuntimeError as exc:
        from tensorframes_core.train.step import TrainingError

        if not isinstance(exc, TrainingError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:  # InputError and CheckpointError are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (continue a training run with --resume)", file=sys.stderr)
        return 130


def run() -> None:
    """The ``tensorframes`` command: ``main``'s status as the process's. ``normals`` has written and closed
    its output when ``main`` returns, so its process then ends at once (stdio flushed, ``os._exit``): the
    interpreter's teardown of torch's modules takes 0.3 s (``benchmarks/startup.py``)."""
    status = main()
    if sys.argv[1:2] == ["normals"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
