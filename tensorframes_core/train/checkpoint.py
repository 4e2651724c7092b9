"""Checkpoints: tensors and JSON only, written atomically, hashed, validated before anything is built.

A checkpoint is a ``torch.save`` of a plain dict that ``torch.load(weights_only=True)`` can read::

    {"format": "tensorframes-checkpoint", "format_version": 1,
     "metadata": "<JSON string>",          # arch, mode, frames, config, data, metrics, version, command, ...
     "model": state_dict,                  # tensors only
     "training": {...}}                    # optional: optimizer, RNG states (for --resume)

``metadata["weights_sha256"]`` is a SHA-256 of the model tensors (names, dtypes, shapes, bytes),
checked on every load. ``<path>.json`` holds the same metadata for people. Nothing is ever
unpickled beyond tensors and builtin containers, so a file carrying code is refused, not run.

A training run keeps ``last.pt`` and ``prev.pt`` in its folder; :func:`load_latest` falls back to
``prev.pt`` (with a warning) when ``last.pt`` is missing or damaged.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import pickle
import secrets
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
from torch import nn

import tensorframes_core
from tensorframes_core.models import ARCHS, FRAMES, MODES, build_model, size_kwargs

PathLike = Union[str, Path]

FORMAT = "tensorframes-checkpoint"
FORMAT_VERSION = 1
LAST, PREV = "last.pt", "prev.pt"
REQUIRED_METADATA = ("arch", "mode", "frames", "config", "weights_sha256", "version", "created", "command")


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged, tampered with, unsafe or incompatible; the message says which."""


def weights_hash(state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: every tensor's name, dtype, shape and bytes, in name order.

    >>> h = weights_hash({"w": torch.zeros(2)})
    >>> h == weights_hash({"w": torch.zeros(2)}), h == weights_hash({"w": torch.ones(2)})
    (True, False)
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"state dict entry {name!r} is a {type(tensor).__name__}, not a tensor")
        t = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{t.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(path: Path, write: Callable[[Any], None]) -> Path:
    """``write(file)`` into a temporary file next to ``path``, flushed and fsynced; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # mode per umask
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def remove_stale_temps(folder: PathLike) -> List[Path]:
    """Delete temporary files that a killed :func:`atomic_write` left in ``folder``; returns them."""
    stale = [p for p in Path(folder).glob(".*.tmp") if p.is_file()] if Path(folder).is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def atomic_write(path: PathLike, write: Callable[[Any], None]) -> None:
    """Write ``path`` all-or-nothing: temp file in the same folder, flush, fsync, ``os.replace``."""
    path = Path(path)
    tmp = _write_temp(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def sidecar(path: PathLike) -> Path:
    """The human-readable metadata next to a checkpoint: ``<path>.json``."""
    return Path(f"{path}.json")


def save_checkpoint(
    path: PathLike,
    model: nn.Module,
    optimizer: Optional[torch.optim.Optimizer] = None,
    epoch: int = 0,
    metadata: Optional[Mapping[str, Any]] = None,
    training: Optional[Mapping[str, Any]] = None,
    previous: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Atomically write ``model``'s weights and metadata to ``path`` (and ``<path>.json``); returns the metadata.

    ``metadata`` (JSON-serialisable) is completed with arch, mode, frames and config (from
    ``model.config``), epoch, package version, command and created time (unless given) and the
    weights hash. ``optimizer`` and ``training`` (tensors, numbers, strings, containers) are kept
    for resuming. With ``previous``, an existing ``path`` is first moved there (``last`` -> ``prev``).
    """
    path = Path(path)
    config = getattr(model, "config", None)
    if not isinstance(config, Mapping):
        raise CheckpointError("the model has no `config` dict; build it with tensorframes_core.models.build_model")
    state = {name: t.detach().to("cpu") for name, t in model.state_dict().items()}
    meta = {
        "version": tensorframes_core.__version__, "command": "",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **dict(metadata or {}),
        "arch": config["arch"], "mode": config["mode"], "frames": config["frames"], "config": dict(config),
        "epoch": int(epoch), "weights_sha256": weights_hash(state),
    }
    text = json.dumps(meta, indent=2, sort_keys=True)
    payload: Dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": text, "model": state}
    if optimizer is not None or training:
        optimizer_state = None if optimizer is None else optimizer.state_dict()
        payload["training"] = {**dict(training or {}), "optimizer": optimizer_state}
    tmp = _write_temp(path, lambda f: torch.save(payload, f))
    try:
        if previous is not None and path.exists():
            os.replace(path, previous)
            if sidecar(path).exists():
                os.replace(sidecar(path), sidecar(previous))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write(sidecar(path), lambda f: f.write(text.encode() + b"\n"))
    _fsync_dir(path.parent)
    return meta


def _parse_version(version: Any) -> Tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(version).split(".")[:2])
    except ValueError:
        raise CheckpointError(f"metadata version {version!r} is not a version number") from None


def validate_metadata(meta: Any) -> Dict[str, Any]:
    """``meta`` if it describes a model this package can build, else :class:`CheckpointError`. Builds nothing.

    >>> validate_metadata({"arch": "dgcnn"})
    Traceback (most recent call last):
    ...
    tensorframes_core.train.checkpoint.CheckpointError: checkpoint metadata lacks mode, frames, config, ...
    """
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint metadata must be a JSON object, got {type(meta).__name__}")
    missing = [key for key in REQUIRED_METADATA if key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint metadata lacks {', '.join(missing)}")
    config = meta["config"]
    for key, known in (("arch", ARCHS), ("mode", MODES), ("frames", FRAMES)):
        if meta[key] not in known:
            raise CheckpointError(
                f"checkpoint {key} {meta[key]!r} is unknown to this version; known: {', '.join(known)}")
        if not isinstance(config, dict) or config.get(key) != meta[key]:
            raise CheckpointError(f"checkpoint config does not match its {key} {meta[key]!r}")
    unknown = sorted(set(config) - set(size_kwargs(meta["arch"])) - {"arch", "mode", "frames", "task"})
    if unknown:
        raise CheckpointError(f"checkpoint config has settings {unknown} that arch {meta['arch']!r} does not take")
    ours, theirs = _parse_version(tensorframes_core.__version__), _parse_version(meta["version"])
    if theirs[:1] != ours[:1] or (ours[0] == 0 and theirs[:2] > ours[:2]):
        raise CheckpointError(
            f"checkpoint written by tensorframes {meta['version']}, incompatible with this version "
            f"{tensorframes_core.__version__}")
    return meta


def read_checkpoint(path: PathLike) -> Dict[str, Any]:
    """The validated contents of a checkpoint file: ``model`` (state dict), ``metadata`` (dict), ``training``.

    Loads with ``torch.load(weights_only=True)`` only, on the CPU; a missing, truncated, corrupted,
    hash-mismatched or code-carrying file raises :class:`CheckpointError`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = next((line.split("error:", 1)[1].split(" Please")[0].strip() for line in str(exc).splitlines()
                       if "WeightsUnpickler error:" in line), "")
        raise CheckpointError(
            f"{path}: refused to load: not a weights-only file (it holds pickled Python objects other than "
            f"tensors, which could run code, or it is damaged){': ' + detail[:160] if detail else ''}") from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, zipfile errors, ... for damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupted?): {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tensorframes checkpoint (no {FORMAT!r} marker)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {payload.get('format_version')!r}, expected {FORMAT_VERSION}")
    try:
        meta = json.loads(payload.get("metadata", ""))
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint metadata is not valid JSON ({exc})") from None
    try:
        validate_metadata(meta)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    state = payload.get("model")
    if not isinstance(state, dict) or weights_hash(state) != meta["weights_sha256"]:
        raise CheckpointError(f"{path}: the weights do not match their SHA-256 in the metadata (corrupted or altered)")
    return {"model": state, "metadata": meta, "training": payload.get("training")}


def load_checkpoint(path: PathLike) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """``(state_dict, metadata)`` of a checkpoint file, validated (see :func:`read_checkpoint`)."""
    ckpt = read_checkpoint(path)
    return ckpt["model"], ckpt["metadata"]


def load_latest(run_dir: PathLike) -> Tuple[Dict[str, Any], Path]:
    """``(read_checkpoint(...), path)`` of a run's ``last.pt``, or of ``prev.pt`` (with a warning) if
    ``last.pt`` is missing or damaged; :class:`CheckpointError` when neither loads."""
    run_dir = Path(run_dir)
    last, prev = run_dir / LAST, run_dir / PREV
    try:
        return read_checkpoint(last), last
    except CheckpointError as exc:
        if not prev.exists():
            if last.exists():
                raise
            raise CheckpointError(f"no checkpoint in {run_dir} (expected {LAST} or {PREV})") from None
        warnings.warn(f"{exc}; falling back to the previous checkpoint {prev}", RuntimeWarning, stacklevel=2)
    return read_checkpoint(prev), prev


def model_from_checkpoint(ckpt: Mapping[str, Any], map_location: Optional[Union[str, torch.device]] = None
                          ) -> nn.Module:
    """The model of a validated checkpoint (:func:`read_checkpoint`), weights loaded, in eval mode."""
    model = build_model(**ckpt["metadata"]["config"])
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"the weights do not fit the model they describe: {exc}") from None
    if map_location is not None:
        model = model.to(map_location)
    return model.eval()


def load_model(path: PathLike, map_location: Optional[Union[str, torch.device]] = None) -> nn.Module:
    """The model saved at ``path`` (a checkpoint file, or a run folder: its latest checkpoint), in eval mode.

    Rebuilt with ``build_model(**metadata["config"])`` after the metadata and weights hash are checked.
    ``model.checkpoint_metadata`` holds the metadata.
    """
    path = Path(path)
    ckpt = load_latest(path)[0] if path.is_dir() else read_checkpoint(path)
    model = model_from_checkpoint(ckpt, map_location)
    model.checkpoint_metadata = ckpt["metadata"]
    return model


def export_checkpoint(src: PathLike, dst: PathLike) -> Dict[str, Any]:
    """Copy a checkpoint (file or run folder) to ``dst`` without its training state; returns the metadata."""
    src = Path(src)
    ckpt = load_latest(src)[0] if src.is_dir() else read_checkpoint(src)
    model = model_from_checkpoint(ckpt)
    meta = {k: v for k, v in ckpt["metadata"].items() if k != "weights_sha256"}
    return save_checkpoint(dst, model, epoch=meta.get("epoch", 0), metadata=meta)
