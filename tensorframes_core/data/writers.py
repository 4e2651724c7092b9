"""Writing points with normals, by the output file's extension, atomically (no partial file on failure).

Formats: binary little-endian .ply (x y z nx ny nz float32, red green blue uchar), .xyz/.txt (six or nine
columns), .csv (with a header), .npz (``pos``, ``normals``, ``colors``) and binary .pcd (``x y z normal_x
normal_y normal_z`` and ``rgb`` packed as PCL does). Colours are written when given. Positions that float32
would round (geo-referenced scans: metres at 10^6) are written in float64 (PLY ``double``, PCD size 8, 15
significant digits in text: exact for values of up to 15 digits, as text files carry), else in float32.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Optional

import numpy as np

from .cloud import InputError

WRITE_FORMATS = (".ply", ".xyz", ".txt", ".csv", ".npz", ".pcd")


def position_type(pos: np.ndarray) -> str:
    """``"<f4"`` if every coordinate of ``pos: (N, 3)`` is exact in float32, else ``"<f8"``.

    >>> position_type(np.array([[0.5, 1.0, 2.0]])), position_type(np.array([[5401234.567, 0.0, 0.0]]))
    ('<f4', '<f8')
    """
    pos = np.asarray(pos)
    if pos.dtype == np.float32 or np.array_equal(pos.astype(np.float32), pos):
        return "<f4"
    return "<f8"


def _ply(pos: np.ndarray, normals: np.ndarray, colors: Optional[np.ndarray]) -> bytes:
    kind = position_type(pos)
    fields = [(name, kind) for name in ("x", "y", "z")] + [(name, "<f4") for name in ("nx", "ny", "nz")]
    if colors is not None:
        fields += [(name, "u1") for name in ("red", "green", "blue")]
    rows = np.empty(len(pos), dtype=fields)
    for i, name in enumerate(("x", "y", "z")):
        rows[name], rows["n" + name] = pos[:, i], normals[:, i]
    if colors is not None:
        rows["red"], rows["green"], rows["blue"] = colors.T
    kinds = {"<f4": "float", "<f8": "double", "u1": "uchar"}
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(pos)}\n"
              + "".join(f"property {kinds[kind]} {name}\n" for name, kind in fields)
              + "end_header\n").encode()
    return header + rows.tobytes()


def _pcd(pos: np.ndarray, normals: np.ndarray, colors: Optional[np.ndarray]) -> bytes:
    kind = position_type(pos)
    fields = [(name, kind) for name in ("x", "y", "z")] + [(f"normal_{a}", "<f4") for a in "xyz"]
    if colors is not None:
        fields.append(("rgb", "<u4"))
    rows = np.empty(len(pos), dtype=fields)
    for i, axis in enumerate("xyz"):
        rows[axis], rows[f"normal_{axis}"] = pos[:, i], normals[:, i]
    if colors is not None:
        rows["rgb"] = (colors[:, 0].astype(np.uint32) << 16) | (colors[:, 1].astype(np.uint32) << 8) | colors[:, 2]
    sizes = " ".join(kind[-1] for _, kind in fields)
    header = ("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
              f"FIELDS {' '.join(name for name, _ in fields)}\nSIZE {sizes}\nTYPE {' '.join(['F'] * len(fields))}\n"
              f"COUNT {' '.join(['1'] * len(fields))}\n"
              f"WIDTH {len(pos)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(pos)}\nDATA binary\n").encode()
    return header + rows.tobytes()


def _text(pos: np.ndarray, normals: np.ndarray, colors: Optional[np.ndarray], delimiter: str,
          header: str = "") -> bytes:
    buf = io.BytesIO()
    digits = "%.9g" if position_type(pos) == "<f4" else "%.15g"
    np.savetxt(buf, np.hstack([pos, normals]), fmt=[digits] * 3 + ["%.9g"] * 3, delimiter=delimiter)
    lines = buf.getvalue().decode().splitlines()
    if colors is not None:
        lines = [row + delimiter + delimiter.join(map(str, rgb)) for row, rgb in zip(lines, colors.tolist())]
        header = header and delimiter.join([header, "red", "green", "blue"])
    return "\n".join(([header] if header else []) + lines + [""]).encode()


def _npz(pos: np.ndarray, normals: np.ndarray, colors: Optional[np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, pos=pos, normals=normals, **({} if colors is None else {"colors": colors}))
    return buf.getvalue()


def encode_normals(ext: str, pos: np.ndarray, normals: np.ndarray, colors: Optional[np.ndarray] = None) -> bytes:
    """The file bytes for ``pos: (N, 3)``, ``normals: (N, 3)`` and ``colors: (N, 3)`` uint8 or None in
    the format of ``ext``.

    >>> encode_normals(".csv", np.zeros((1, 3)), np.ones((1, 3))).decode().splitlines()
    ['x,y,z,nx,ny,nz', '0,0,0,1,1,1']
    >>> encode_normals(".xyz", np.zeros((1, 3)), np.ones((1, 3)), np.array([[255, 0, 7]], np.uint8)).decode()
    '0 0 0 1 1 1 255 0 7\\n'
    """
    ext = ext.lower()
    colors = None if colors is None else np.asarray(colors, dtype=np.uint8)
    if ext == ".ply":
        return _ply(pos, normals, colors)
    if ext == ".pcd":
        return _pcd(pos, normals, colors)
    if ext == ".npz":
        return _npz(pos, normals, colors)
    if ext == ".csv":
        return _text(pos, normals, colors, ",", "x,y,z,nx,ny,nz")
    if ext in (".xyz", ".txt"):
        return _text(pos, normals, colors, " ")
    raise InputError(f"cannot write {ext or '(no extension)'!r}; choose one of {' '.join(WRITE_FORMATS)}")


def write_normals(path: str | os.PathLike, pos: np.ndarray, normals: np.ndarray,
                  colors: Optional[np.ndarray] = None) -> Path:
    """Write ``pos``, ``normals`` (and ``colors``) to ``path`` (format by extension) through a temporary
    file in the same folder, renamed into place only when complete. Returns the path."""
    path = Path(path)
    data = encode_normals(path.suffix, np.asarray(pos), np.asarray(normals), colors)
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
