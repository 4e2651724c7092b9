"""Writing points with normals, by the output file's extension, atomically (no partial file on failure).

Formats: binary little-endian .ply (x y z nx ny nz float32), .xyz/.txt (six columns), .csv (with a header),
.npz (``pos``, ``normals``) and binary .pcd (``x y z normal_x normal_y normal_z``).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .cloud import InputError

WRITE_FORMATS = (".ply", ".xyz", ".txt", ".csv", ".npz", ".pcd")


def _ply(pos: np.ndarray, normals: np.ndarray) -> bytes:
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(pos)}\n"
              + "".join(f"property float {name}\n" for name in ("x", "y", "z", "nx", "ny", "nz"))
              + "end_header\n").encode()
    return header + np.hstack([pos, normals]).astype("<f4").tobytes()


def _pcd(pos: np.ndarray, normals: np.ndarray) -> bytes:
    header = ("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
              "FIELDS x y z normal_x normal_y normal_z\nSIZE 4 4 4 4 4 4\nTYPE F F F F F F\nCOUNT 1 1 1 1 1 1\n"
              f"WIDTH {len(pos)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(pos)}\nDATA binary\n").encode()
    return header + np.hstack([pos, normals]).astype("<f4").tobytes()


def _text(pos: np.ndarray, normals: np.ndarray, delimiter: str, header: str = "") -> bytes:
    buf = io.BytesIO()
    np.savetxt(buf, np.hstack([pos, normals]), fmt="%.9g", delimiter=delimiter, header=header, comments="")
    return buf.getvalue()


def _npz(pos: np.ndarray, normals: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, pos=pos, normals=normals)
    return buf.getvalue()


def encode_normals(ext: str, pos: np.ndarray, normals: np.ndarray) -> bytes:
    """The file bytes for ``pos: (N, 3)`` and ``normals: (N, 3)`` in the format of ``ext``.

    >>> encode_normals(".csv", np.zeros((1, 3)), np.ones((1, 3))).decode().splitlines()
    ['x,y,z,nx,ny,nz', '0,0,0,1,1,1']
    """
    ext = ext.lower()
    if ext == ".ply":
        return _ply(pos, normals)
    if ext == ".pcd":
        return _pcd(pos, normals)
    if ext == ".npz":
        return _npz(pos, normals)
    if ext == ".csv":
        return _text(pos, normals, ",", "x,y,z,nx,ny,nz")
    if ext in (".xyz", ".txt"):
        return _text(pos, normals, " ")
    raise InputError(f"cannot write {ext or '(no extension)'!r}; choose one of {' '.join(WRITE_FORMATS)}")


def write_normals(path: str | os.PathLike, pos: np.ndarray, normals: np.ndarray) -> Path:
    """Write ``pos`` and ``normals`` to ``path`` (format by extension) through a temporary file in the same
    folder, renamed into place only when complete. Returns the path."""
    path = Path(path)
    data = encode_normals(path.suffix, np.asarray(pos), np.asarray(normals))
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")  # created like any file (the umask applies)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
