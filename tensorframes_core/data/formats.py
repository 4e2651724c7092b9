"""Read a point cloud (or sample a mesh) from a path, bytes or a binary stream.

Every bad input raises :class:`InputError`; parsers never allocate by a count a header claims
before checking it against the bytes that are actually there.
"""
from __future__ import annotations

import io
import math
import os
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from .cloud import MAX_POINTS, MIN_POINTS, InputError, PointCloud, validate_cloud

MAX_BYTES = 200_000_000
DEFAULT_MESH_POINTS = 10_000
MESH_FORMATS = (".ply", ".obj", ".stl", ".off", ".glb")
TEXT_FORMATS = (".xyz", ".txt", ".pts", ".csv")
FORMATS = MESH_FORMATS + TEXT_FORMATS + (".npy", ".npz", ".pcd")

_POS_NAMES = (("x",), ("y",), ("z",))
_NORMAL_NAMES = (("nx", "normal_x", "n_x"), ("ny", "normal_y", "n_y"), ("nz", "normal_z", "n_z"))
_COLOR_NAMES = (("red", "r"), ("green", "g"), ("blue", "b"))


def load_point_cloud(
    source: str | os.PathLike | bytes | BinaryIO,
    filename: str | None = None,
    n_points: int | None = None,
    seed: int = 0,
    max_points: int = MAX_POINTS,
    max_bytes: int = MAX_BYTES,
    dtype: torch.dtype | None = torch.float32,
) -> PointCloud:
    """Load a point cloud from a file path, bytes or a binary stream.

    The extension of ``filename`` (default: the path's or stream's name) picks the format:
    meshes (.ply .obj .stl .off .glb) are sampled uniformly by area, ``n_points`` points
    (default 10,000, seeded), with face normals; a mesh file without faces gives its vertices
    (a PLY keeps its nx/ny/nz and red/green/blue). Point formats: .xyz .txt .pts .csv (``x y z
    [nx ny nz] [r g b]`` rows, also ``x y z r g b [nx ny nz]`` and ``x y z intensity r g b`` when those
    columns are integers in 0..255; whitespace, commas or semicolons, ``#`` comments, one optional
    header line, which may name the columns: x, nx/normal_x, red/r...), .npy/.npz ((N, 3) or (N, 6);
    npz keys pos|points|xyz, normals|normal and colors|colours|rgb) and .pcd (ascii or binary;
    normal_x.., rgb/rgba packed or r g b fields).
    For point formats ``n_points`` caps the size: larger clouds are subsampled with a warning.
    ``max_points`` and ``max_bytes`` are the limits (raise them for whole scans, as
    ``tensorframes normals`` does).
    Returns a :class:`PointCloud` (positions in ``dtype``: float32, float64, or None: float32 where that
    keeps every coordinate, else float64, as ``tensorframes normals`` reads; unit float32 normals or None,
    uint8 colours or None); raises :class:`InputError`.

    >>> cloud = load_point_cloud(b"# x y z\\n" + b"0 0 0\\n1 2 3\\n" * 4, filename="a.xyz")
    >>> len(cloud), cloud.normals is None, cloud.name
    (8, True, 'a')
    """
    data, filename = _read_source(source, filename, max_bytes)
    ext = Path(filename).suffix.lower()
    if ext not in FORMATS:
        raise InputError(
            f"{filename}: unknown format {ext or '(no extension)'!r}; supported: {' '.join(FORMATS)}"
        )
    if not data:
        raise InputError(f"{filename}: the file is empty")
    if n_points is not None and not MIN_POINTS <= n_points <= max_points:
        raise InputError(f"n_points must be between {MIN_POINTS} and {max_points}; got {n_points}")
    try:
        if ext in MESH_FORMATS:
            pos, normals, colors = _load_mesh(data, ext, n_points, seed)
        else:
            pos, normals, colors = _PARSERS[ext](data)
        return validate_cloud(pos, normals, max_points=max_points, n_points=n_points, name=Path(filename).stem,
                              seed=seed, colors=colors, dtype=dtype)
    except InputError as exc:
        raise InputError(f"{filename}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure on foreign bytes is bad input
        detail = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "..."
        raise InputError(
            f"{filename}: could not read it as {ext[1:].upper()} ({type(exc).__name__}: {detail})"
        ) from exc


def _read_source(source, filename: str | None, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """The raw bytes (at most ``max_bytes``) and a file name that carries the extension."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if filename is None:
            raise InputError("bytes input needs filename=... (its extension names the format)")
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if path.stat().st_size > max_bytes:
            raise InputError(f"{path}: larger than the {max_bytes:,} byte limit")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read it ({exc})") from exc
    elif hasattr(source, "read"):
        filename = filename or getattr(source, "name", None)
        if not isinstance(filename, str):
            raise InputError("a stream without a name needs filename=... to name the format")
        try:
            data = source.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"{filename}: cannot read it ({exc})") from exc
        if not isinstance(data, bytes):
            raise InputError(f"{filename}: open the file in binary mode ('rb')")
    else:
        raise InputError(f"expected a path, bytes or a binary file object; got {type(source).__name__}")
    if len(data) > max_bytes:
        raise InputError(f"{filename}: larger than the {max_bytes:,} byte limit")
    return data, filename


def _split_columns(table: np.ndarray, names: list[str] | None = None):
    """(N, 3) positions, (N, 3) normals or None and (N, 3) colours or None from a table of 3 or 6
    columns (or named ones)."""
    if table.ndim != 2:
        raise InputError(f"expected a table of points (N, 3) or (N, 6); got shape {table.shape}")
    if names is not None and len(names) == table.shape[1]:
        found = _named_columns(names, lambda i: table[:, i])
        if found is not None:
            return found
    cols = table.shape[1]
    if cols == 3:
        return table, None, None
    if cols == 6:
        rgb = _looks_like_colours(table[:, 3:])
        return table[:, :3], None if rgb else table[:, 3:], table[:, 3:] if rgb else None
    if cols == 7 and _looks_like_colours(table[:, 4:]):  # .pts: x y z intensity r g b
        return table[:, :3], None, table[:, 4:]
    if cols == 9:
        if _looks_like_colours(table[:, 3:6]):
            return table[:, :3], table[:, 6:], table[:, 3:6]
        return table[:, :3], table[:, 3:6], table[:, 6:]
    raise InputError(
        "expected 3 values per point (x y z), 6 (x y z nx ny nz, or x y z r g b), 7 (x y z intensity r g b) "
        f"or 9 (x y z nx ny nz r g b); got {cols} (data of shape {table.shape})"
    )


def _looks_like_colours(block: np.ndarray) -> bool:
    """Integer values in 0..255 with some above 1: RGB, not a unit normal."""
    return bool(len(block)) and bool(np.all(block == np.round(block))) and 1 < block.max() <= 255 and block.min() >= 0


def _named_columns(names: list[str], column):
    """``(pos, normals or None, colours or None)`` from named columns (``column(i)`` gives column ``i``),
    or None when x y z are not among ``names``."""
    pos_idx = _column_indices(names, _POS_NAMES)
    if pos_idx is None:
        return None
    n_idx, c_idx = _column_indices(names, _NORMAL_NAMES), _column_indices(names, _COLOR_NAMES)

    def stack(idx):
        return None if idx is None else np.stack([np.ravel(column(i)) for i in idx], axis=1)
    return stack(pos_idx), stack(n_idx), stack(c_idx)


def _column_indices(names: list[str], wanted) -> list[int] | None:
    lower = [name.lower() for name in names]
    found = [next((i for i, n in enumerate(lower) if n in aliases), None) for aliases in wanted]
    return None if None in found else found


# ---------------------------------------------------------------------------- text tables
def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_text(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a text file ({exc})") from exc
    return _split_columns(*_read_table(text))


def _read_table(text: str, delimiter: str | None = None) -> tuple[np.ndarray, list[str] | None]:
    """A float table from text; skips '#' comments and one header line (names or a count)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line and not line.startswith("#"):
            break
        start = end + 1
    else:
        raise InputError("no data: only blank or comment lines")
    if delimiter is None:
        delimiter = next((d for d in ",;" if d in line), None)
    tokens = [t.strip() for t in line.split(delimiter)]
    names = None
    if len(tokens) < 3 or not all(map(_is_number, tokens)):
        names, start = tokens, end + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data" is reported below
        table = np.loadtxt(io.StringIO(text[start:]), delimiter=delimiter, comments="#", ndmin=2)
    if table.size == 0:
        raise InputError("no data rows after the header")
    return table, names


# ---------------------------------------------------------------------------- numpy
def _read_npy(data: bytes) -> np.ndarray:
    """An .npy array, parsed without trusting its header's shape beyond the bytes present."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise InputError(f"unsupported .npy version {version}")
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "fiu":
        raise InputError(f"expected a numeric array; got dtype {dtype}")
    count = math.prod(shape)
    rest = len(data) - fh.tell()
    if count * dtype.itemsize > rest:
        raise InputError(
            f"truncated .npy: shape {shape} needs {count * dtype.itemsize:,} bytes, {rest:,} present"
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=fh.tell())
    return flat.reshape(shape, order="F" if fortran else "C")


def _parse_npy(data: bytes):
    return _split_columns(_read_npy(data))


def _parse_npz(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}

        def array(key: str) -> np.ndarray:
            info = members[key]
            if info.file_size > MAX_BYTES:
                raise InputError(f"array {key!r} is larger than {MAX_BYTES:,} bytes")
            with zf.open(info) as fh:
                return _read_npy(fh.read(MAX_BYTES + 1))

        pos_key = next((k for k in ("pos", "points", "xyz") if k in members), None)
        if pos_key is None and len(members) == 1:
            pos_key = next(iter(members))
        if pos_key is None:
            raise InputError(
                f"no positions: expected an array named pos, points or xyz; found {sorted(members)}"
            )
        pos, normals, _ = _split_columns(array(pos_key))
        normal_key = next((k for k in ("normals", "normal") if k in members), None)
        color_key = next((k for k in ("colors", "colours", "rgb") if k in members), None)
        return (pos, normals if normal_key is None else array(normal_key),
                None if color_key is None else array(color_key))


# ---------------------------------------------------------------------------- PCD
_PCD_TYPES = {"F": "f", "I": "i", "U": "u"}


def _parse_pcd(data: bytes):
    header: dict[str, list[str]] = {}
    offset = 0
    while "DATA" not in header:
        end = data.find(b"\n", offset)
        if end < 0 or len(header) > 32:
            raise InputError("not a PCD file: no 'DATA ascii|binary' header line")
        line = data[offset:end].decode("ascii").strip()
        offset = end + 1
        if line and not line.startswith("#"):
            key, *values = line.split()
            header[key.upper()] = values
    missing = [k for k in ("FIELDS", "SIZE", "TYPE") if k not in header]
    if missing:
        raise InputError(f"PCD header lacks {' '.join(missing)}")
    fields, types = header["FIELDS"], header["TYPE"]
    sizes = [int(s) for s in header["SIZE"]]
    counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
    if not len(fields) == len(sizes) == len(types) == len(counts):
        raise InputError("PCD header: FIELDS, SIZE, TYPE and COUNT differ in length")
    if "POINTS" in header:
        n = int(header["POINTS"][0])
    else:
        n = int(header["WIDTH"][0]) * int(header.get("HEIGHT", ["1"])[0])
    mode = header["DATA"][0].lower() if header["DATA"] else ""
    if n < 0 or min(counts, default=0) < 1:
        raise InputError("PCD header: negative point count or field count < 1")
    if mode == "ascii":
        table, _ = _read_table(data[offset:].decode("ascii"), delimiter=None)
        if table.shape != (n, sum(counts)):
            raise InputError(
                f"PCD header claims {n} points of {sum(counts)} values; found a {table.shape} table"
            )
        first = np.cumsum([0] + counts[:-1])
        columns = {f: table[:, i] for f, i in zip(fields, first)}
    elif mode == "binary":
        row = sum(s * c for s, c in zip(sizes, counts))
        rest = len(data) - offset
        if n * row > rest:
            raise InputError(
                f"truncated binary PCD: {n} points x {row} bytes need {n * row:,} bytes, "
                f"only {rest:,} present"
            )
        formats = [
            (f"<{_PCD_TYPES[t]}{s}", (c,)) if c > 1 else f"<{_PCD_TYPES[t]}{s}"
            for t, s, c in zip(types, sizes, counts)
        ]
        dtype = np.dtype({
            "names": [f"f{i}" for i in range(len(fields))],
            "formats": formats,
            "offsets": list(np.cumsum([0] + [s * c for s, c in zip(sizes, counts)][:-1])),
            "itemsize": row,
        })
        rec = np.frombuffer(data, dtype=dtype, count=n, offset=offset)
        columns = {f: rec[f"f{i}"].reshape(n, -1)[:, 0] for i, f in enumerate(fields)}
    elif mode == "binary_compressed":
        raise InputError(
            "binary_compressed PCD is not supported; save it as binary or ascii "
            "(e.g. pcl_convert_pcd_ascii_binary in.pcd out.pcd 1)"
        )
    else:
        raise InputError(f"unknown PCD DATA mode {mode!r}; expected ascii or binary")
    packed = next((f for f in ("rgb", "rgba") if f in columns), None)
    if packed is not None:  # PCL packs 0x00RRGGBB into the bits of one float32 (or uint32)
        bits = np.asarray(columns.pop(packed), dtype=np.float32 if types[fields.index(packed)] == "F" else np.uint32)
        bits = bits.view(np.uint32) if bits.dtype == np.float32 else bits
        columns.update(red=(bits >> 16) & 255, green=(bits >> 8) & 255, blue=bits & 255)
    names = list(columns)
    found = _named_columns(names, lambda i: np.asarray(columns[names[i]], dtype=np.float64))
    if found is None:
        raise InputError(f"PCD has no x y z fields; fields are {' '.join(fields)}")
    return found


# ---------------------------------------------------------------------------- meshes
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2", "ushort": "u2",
    "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4",
    "double": "f8", "float64": "f8",
}


def _ply_header(data: bytes) -> tuple[str, list, int]:
    """``(format, elements, offset of the body)`` of a PLY file, elements as ``(name, count, [(property,
    types)])`` (``types``: ``("float",)``, or ``("list", count type, item type)``). Fails fast when the
    header claims more elements than the bytes after it can hold."""
    end = data.find(b"end_header", 0, 65536)
    if not data.startswith(b"ply") or end < 0:
        raise InputError("not a PLY file: expected 'ply' ... 'end_header'")
    fmt, elements = None, []
    for parts in (line.split() for line in data[:end].decode("ascii").splitlines()[1:]):
        if parts and parts[0] == "format":
            fmt = parts[1]
        elif parts and parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts and parts[0] == "property" and elements:
            elements[-1][2].append((parts[-1], tuple(parts[1:-1])))
    if any(count < 0 for _, count, _ in elements):
        raise InputError("PLY header has a negative element count")
    if fmt == "ascii":  # a value takes at least 2 bytes ("0 "); a row at least one value
        need = 2 * sum(count * max(len(props), 1) for _, count, props in elements) - 1
    elif fmt in ("binary_little_endian", "binary_big_endian"):  # a list's minimum is its count (no items)
        need = sum(count * max(sum(np.dtype(_PLY_TYPES[t[1] if t[0] == "list" else t[0]]).itemsize
                                   for _, t in props), 1) for _, count, props in elements)
    else:
        raise InputError(f"unknown PLY format {fmt!r}")
    body = end + len(b"end_header")
    rest = len(data) - body
    if need > rest:
        claims = ", ".join(f"{count:,} {name}" for name, count, _ in elements)
        raise InputError(
            f"truncated PLY: the header claims {claims} (at least {need:,} bytes); "
            f"only {rest:,} bytes follow"
        )
    return fmt, elements, body + (2 if data[body:body + 2] == b"\r\n" else 1)


def _parse_ply_points(data: bytes, header: tuple[str, list, int]):
    """``(pos, normals, colours)`` straight from a binary PLY that holds only vertices with scalar
    properties (a scan's usual file: read as one numpy record array, without importing trimesh), or
    None for any other PLY."""
    fmt, elements, body = header
    if fmt == "ascii" or len(elements) != 1 or elements[0][0] != "vertex":
        return None
    _, count, props = elements[0]
    names = [name for name, _ in props]
    if any(len(types) != 1 for _, types in props) or len(set(names)) != len(names):
        return None
    order = "<" if fmt == "binary_little_endian" else ">"
    rows = np.frombuffer(data, np.dtype([(name, order + _PLY_TYPES[t[0]]) for name, t in props]), count, body)
    return _named_columns(names, lambda i: rows[names[i]])


def _load_mesh(data: bytes, ext: str, n_points: int | None, seed: int):
    """Points sampled on a mesh (or a faceless file's vertices) and their normals."""
    if ext == ".ply":
        points = _parse_ply_points(data, _ply_header(data))
        if points is not None:
            return points
    import trimesh

    geom = trimesh.load(io.BytesIO(data), file_type=ext[1:], process=False)
    if isinstance(geom, trimesh.Scene):
        if not geom.geometry:
            raise InputError("the file holds no geometry")
        geom = geom.to_mesh()
    vertices = np.asarray(geom.vertices, dtype=np.float64)
    faces = np.asarray(getattr(geom, "faces", np.zeros((0, 3))), dtype=np.int64)
    if len(faces) == 0:
        raw = geom.metadata.get("_ply_raw", {}).get("vertex", {}).get("data", {})
        names = list(raw.dtype.names or ()) if isinstance(raw, np.ndarray) else list(raw)
        found = _named_columns(names, lambda i: raw[names[i]])
        return (vertices, None, None) if found is None else (vertices, *found[1:])
    return (*sample_mesh(vertices, faces, n_points or DEFAULT_MESH_POINTS, seed), None)


def sample_mesh(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0):
    """n points uniform by area on a triangle mesh, and their face normals (seeded).

    vertices: (V, 3); faces: (F, 3) int -> pos (n, 3), normals (n, 3) float64.

    >>> pos, nrm = sample_mesh(np.eye(3), np.array([[0, 1, 2]]), 5)
    >>> np.allclose(pos.sum(1), 1), np.allclose(nrm, 3 ** -0.5)
    (True, True)
    """
    if not np.isfinite(vertices).all():
        raise InputError("the mesh has NaN or infinite vertex coordinates")
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    total = area.sum()
    if not total > 0:
        raise InputError("the mesh has zero surface area")
    rng = np.random.default_rng(seed)
    face = rng.choice(len(faces), size=n, p=area / total)
    r1, r2 = rng.random((2, n, 1))
    outside = r1 + r2 > 1  # reflect into the triangle: uniform barycentric coordinates
    r1, r2 = np.where(outside, 1 - r1, r1), np.where(outside, 1 - r2, r2)
    t = tri[face]
    pos = t[:, 0] + r1 * (t[:, 1] - t[:, 0]) + r2 * (t[:, 2] - t[:, 0])
    return pos, cross[face] / area[face, None]


_PARSERS = {
    **dict.fromkeys(TEXT_FORMATS, _parse_text),
    ".npy": _parse_npy,
    ".npz": _parse_npz,
    ".pcd": _parse_pcd,
}
