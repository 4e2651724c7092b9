"""Writers for small valid files of every format, built in memory with numpy and trimesh."""
import io

import numpy as np
import pytest
import trimesh

from tensorframes_core.data import FORMATS


def unit_cloud(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32-exact points and unit normals."""
    rng = np.random.default_rng(seed)
    pos = rng.normal(size=(n, 3)).astype(np.float32).astype(np.float64)
    normals = rng.normal(size=(n, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return pos, normals.astype(np.float32).astype(np.float64)


def text_table(table: np.ndarray, sep: str = " ", header: str = "") -> bytes:
    rows = "\n".join(sep.join(repr(float(v)) for v in row) for row in table)
    return (header + rows + "\n").encode()


def ply_points(pos, normals=None, binary: bool = False, claim: int | None = None) -> bytes:
    table = pos if normals is None else np.hstack([pos, normals])
    names = ["x", "y", "z"] + ([] if normals is None else ["nx", "ny", "nz"])
    fmt = "binary_little_endian" if binary else "ascii"
    header = f"ply\nformat {fmt} 1.0\ncomment test\nelement vertex {claim or len(table)}\n"
    header += "".join(f"property float {n}\n" for n in names) + "end_header\n"
    body = table.astype("<f4").tobytes() if binary else text_table(table)
    return header.encode() + body


def pcd_bytes(pos, normals=None, mode: str = "ascii", claim: int | None = None) -> bytes:
    """Fields x y z, a 1-byte intensity, then normals (if any): exercises offsets."""
    n = len(pos)
    fields = "x y z intensity" + ("" if normals is None else " normal_x normal_y normal_z")
    k = 4 if normals is None else 7
    header = (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS " + fields + "\nSIZE 4 4 4 1" + " 4" * (k - 4)
        + "\nTYPE F F F U" + " F" * (k - 4) + "\nCOUNT" + " 1" * k
        + f"\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {claim or n}\nDATA {mode}\n"
    )
    intensity = np.arange(n) % 256
    if mode == "ascii":
        cols = [pos, intensity[:, None]] + ([] if normals is None else [normals])
        return header.encode() + text_table(np.hstack(cols))
    names = ["x", "y", "z", "i"] + ([] if normals is None else ["nx", "ny", "nz"])
    dtype = np.dtype([(m, "<u1" if m == "i" else "<f4") for m in names])
    rec = np.zeros(n, dtype)
    for j, m in enumerate(("x", "y", "z")):
        rec[m] = pos[:, j]
    rec["i"] = intensity
    if normals is not None:
        for j, m in enumerate(("nx", "ny", "nz")):
            rec[m] = normals[:, j]
    return header.encode() + rec.tobytes()


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def mesh_bytes(mesh: trimesh.Trimesh, ext: str) -> bytes:
    out = mesh.export(file_type=ext[1:])
    return out.encode() if isinstance(out, str) else out


@pytest.fixture(scope="session")
def cloud():
    return unit_cloud()


@pytest.fixture(scope="session")
def valid_files(cloud) -> dict[str, bytes]:
    """One small valid file per supported extension."""
    pos, normals = cloud
    table = np.hstack([pos, normals])
    files = {
        ".xyz": text_table(pos),
        ".txt": text_table(table, sep=","),
        ".pts": text_table(pos, header=f"{len(pos)}\n"),
        ".csv": text_table(table, sep=",", header="x,y,z,nx,ny,nz\n"),
        ".npy": npy_bytes(table.astype(np.float32)),
        ".npz": npz_bytes(points=pos, normals=normals),
        ".pcd": pcd_bytes(pos, normals, mode="binary"),
    }
    mesh = trimesh.creation.icosphere(subdivisions=1)
    files.update({ext: mesh_bytes(mesh, ext) for ext in (".ply", ".obj", ".stl", ".off", ".glb")})
    assert set(files) == set(FORMATS)
    return files
