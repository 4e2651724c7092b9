"""load_point_cloud: every format round-trips; every bad input raises InputError, fast."""
import io
import warnings

import numpy as np
import pytest
import torch
import trimesh
from conftest import mesh_bytes, npy_bytes, npz_bytes, pcd_bytes, ply_points, text_table

from tensorframes_core.data import FORMATS, InputError, demo_shapes, formats, load_point_cloud, sample_mesh


def assert_cloud(loaded, pos, normals=None):
    np.testing.assert_allclose(loaded.pos.numpy(), pos, atol=1e-6)
    assert loaded.pos.dtype == torch.float32
    if normals is None:
        assert loaded.normals is None
    else:
        np.testing.assert_allclose(loaded.normals.numpy(), normals, atol=1e-6)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize(
    "filename, make, with_normals",
    [
        ("a.xyz", lambda p, n: text_table(p), False),
        ("a.xyz", lambda p, n: text_table(np.hstack([p, n]), sep="\t"), True),
        ("a.txt", lambda p, n: text_table(np.hstack([p, n]), sep=", "), True),
        ("a.pts", lambda p, n: text_table(p, header=f"# comment\n{len(p)}\n"), False),
        ("a.csv", lambda p, n: text_table(np.hstack([n, p]), sep=",", header="nx,ny,nz,x,y,z\n"), True),
        ("a.npy", lambda p, n: npy_bytes(p), False),
        ("a.npy", lambda p, n: npy_bytes(np.asfortranarray(np.hstack([p, n]))), True),
        ("a.npz", lambda p, n: npz_bytes(pos=p, normal=n), True),
        ("a.npz", lambda p, n: npz_bytes(whatever=p), False),
        ("a.pcd", lambda p, n: pcd_bytes(p, n, "ascii"), True),
        ("a.pcd", lambda p, n: pcd_bytes(p, n, "binary"), True),
        ("a.pcd", lambda p, n: pcd_bytes(p, None, "binary"), False),
        ("a.ply", lambda p, n: ply_points(p, n), True),
        ("a.PLY", lambda p, n: ply_points(p, n, binary=True), True),
        ("a.ply", lambda p, n: ply_points(p, binary=True), False),
    ],
)
def test_point_formats_round_trip(cloud, filename, make, with_normals):
    pos, normals = cloud
    loaded = load_point_cloud(make(pos, normals), filename=filename)
    assert_cloud(loaded, pos, normals if with_normals else None)
    assert loaded.name == "a"


def test_path_and_stream_sources(tmp_path, cloud, valid_files):
    pos, normals = cloud
    path = tmp_path / "cloud.pcd"
    path.write_bytes(valid_files[".pcd"])
    for source in (path, str(path)):
        assert_cloud(load_point_cloud(source), pos, normals)
    with open(path, "rb") as fh:
        assert_cloud(load_point_cloud(fh), pos, normals)
    assert_cloud(load_point_cloud(io.BytesIO(valid_files[".pcd"]), filename="x.pcd"), pos, normals)
    # filename overrides the path's extension
    odd = tmp_path / "cloud.dat"
    odd.write_bytes(valid_files[".xyz"])
    assert_cloud(load_point_cloud(odd, filename="cloud.xyz"), pos)


def box_points(ext: str, n: int, seed: int = 0):
    mesh = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    return load_point_cloud(mesh_bytes(mesh, ext), filename="box" + ext, n_points=n, seed=seed)


@pytest.mark.parametrize("ext", [".ply", ".obj", ".stl", ".off", ".glb"])
def test_meshes_sample_the_surface_with_face_normals(ext):
    cloud = box_points(ext, 3000)
    pos, normals = cloud.pos.double().numpy(), cloud.normals.double().numpy()
    half = np.array([0.5, 1.0, 1.5])
    on_face = np.isclose(np.abs(pos), half, atol=1e-6)  # which face each point lies on
    assert on_face.any(axis=1).all()
    axis = on_face.argmax(axis=1)
    expected = np.zeros_like(pos)
    expected[np.arange(len(pos)), axis] = np.sign(pos[np.arange(len(pos)), axis])
    np.testing.assert_allclose(normals, expected, atol=1e-6)
    # area-weighted: face pairs of areas 6, 3, 2 (of 11)
    fractions = np.bincount(axis, minlength=3) / len(axis)
    np.testing.assert_allclose(fractions, [6 / 11, 3 / 11, 2 / 11], atol=0.03)


def test_mesh_sampling_is_seeded_and_defaults_to_10k():
    a, b, c = box_points(".obj", 64, seed=1), box_points(".obj", 64, seed=1), box_points(".obj", 64, seed=2)
    assert torch.equal(a.pos, b.pos) and not torch.equal(a.pos, c.pos)
    mesh = trimesh.creation.icosphere(subdivisions=1)
    assert len(load_point_cloud(mesh_bytes(mesh, ".stl"), filename="s.stl")) == 10_000


def test_sample_mesh_is_uniform_on_a_triangle():
    pos, normals = sample_mesh(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), np.array([[0, 1, 2]]), 20000)
    assert (pos[:, :2] >= 0).all() and (pos[:, :2].sum(1) <= 1).all()
    assert np.allclose(normals, [0, 0, 1])
    assert abs((pos[:, 0] + pos[:, 1] < 0.5).mean() - 0.25) < 0.02  # area of the inner half-triangle


def test_faceless_ply_gives_its_vertices(cloud):
    pos, normals = cloud
    assert_cloud(load_point_cloud(ply_points(pos, normals), filename="p.ply", n_points=100), pos, normals)


def test_demo_shapes_load():
    demos = demo_shapes()
    assert {"knot", "twisted_nut", "bumpy_blob"} <= set(demos)
    for name in ("knot", "twisted_nut", "bumpy_blob"):
        assert demos[name].stat().st_size < 300_000
        cloud = load_point_cloud(demos[name], n_points=500)
        assert len(cloud) == 500 and cloud.normals is not None


# ------------------------------------------------------------------ bad input
def raises(data: bytes, filename: str, match: str, **kwargs):
    with pytest.raises(InputError, match=match) as info:
        load_point_cloud(data, filename=filename, **kwargs)
    return info.value


def test_unknown_extension_and_empty_file(valid_files):
    err = raises(b"1 2 3\n" * 10, "cloud.foo", "unknown format '.foo'")
    assert ".xyz" in str(err)  # the message lists what is supported
    raises(b"1 2 3\n" * 10, "noextension", "no extension")
    for ext in FORMATS:
        raises(b"", "e" + ext, "empty")


@pytest.mark.parametrize("ext", FORMATS)
def test_garbage_bytes(ext):
    garbage = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    err = raises(garbage, "g" + ext, "g" + ext)
    assert isinstance(err, ValueError)


def test_bad_values_and_shapes(cloud):
    pos, _ = cloud
    with_nan = pos.copy()
    with_nan[3, 1] = np.nan
    raises(text_table(with_nan), "n.xyz", "NaN or infinite")
    raises(npy_bytes(np.where(np.isnan(with_nan), np.inf, with_nan)), "n.npy", "NaN or infinite")
    raises(text_table(pos[:, :2]), "two.xyz", "3 values per point")
    raises(npy_bytes(pos[:, :2]), "two.npy", "shape")
    raises(npy_bytes(pos.ravel()), "flat.npy", "shape")
    raises(text_table(pos[:5]), "five.xyz", "at least 8 points; got 5")
    raises(text_table(np.ones((20, 3))), "same.xyz", "identical")
    raises(b"x y z\n# only a header\n", "h.xyz", "no data")
    raises(text_table(pos) + b"1 2\n", "ragged.xyz", "could not read")
    raises(npy_bytes(pos.astype(object)), "obj.npy", "could not read|numeric")
    raises(npy_bytes(pos.astype(complex)), "c.npy", "numeric")
    raises(npz_bytes(a=pos, b=pos), "two.npz", "pos, points or xyz")


def test_zero_length_normals_are_dropped_with_a_warning(cloud):
    pos, normals = cloud
    zero = normals.copy()
    zero[0] = 0
    with pytest.warns(UserWarning, match="zero length"):
        loaded = load_point_cloud(text_table(np.hstack([pos, zero])), filename="z.xyz")
    assert loaded.normals is None


def test_too_many_points_subsample_with_warning(cloud):
    pos, normals = cloud
    with pytest.warns(UserWarning, match="subsampling 40 points to 16"):
        loaded = load_point_cloud(ply_points(pos, normals), filename="p.ply", n_points=16)
    assert len(loaded) == 16
    idx = [int(np.argmin(np.abs(pos - p).sum(1))) for p in loaded.pos.double().numpy()]
    np.testing.assert_allclose(loaded.normals.numpy(), normals[idx], atol=1e-6)  # rows stay paired
    raises(text_table(pos), "p.xyz", "n_points must be", n_points=3)


def test_byte_cap(tmp_path, valid_files):
    path = tmp_path / "big.xyz"
    path.write_bytes(valid_files[".xyz"])
    for source in (path, valid_files[".xyz"], io.BytesIO(valid_files[".xyz"])):
        with pytest.raises(InputError, match="100 byte limit"):
            load_point_cloud(source, filename="big.xyz", max_bytes=100)
    assert len(load_point_cloud(path, max_bytes=10**6)) > 0


def test_point_cap_can_be_raised_for_whole_scans(valid_files):
    with pytest.raises(InputError, match="too many points"):
        load_point_cloud(valid_files[".xyz"], filename="a.xyz", max_points=10)
    assert len(load_point_cloud(valid_files[".xyz"], filename="a.xyz", max_points=10**8)) > 10


def test_bad_sources(tmp_path, valid_files):
    with pytest.raises(InputError, match="no such file"):
        load_point_cloud(tmp_path / "missing.ply")
    with pytest.raises(InputError, match="filename"):
        load_point_cloud(valid_files[".xyz"])
    with pytest.raises(InputError, match="binary mode"):
        load_point_cloud(io.StringIO("1 2 3\n"), filename="a.xyz")
    with pytest.raises(InputError, match="expected a path"):
        load_point_cloud(12345)


@pytest.mark.parametrize("binary", [False, True])
def test_header_claiming_1e12_vertices_fails_before_parsing(cloud, binary):
    pos, normals = cloud
    err = raises(ply_points(pos, normals, binary=binary, claim=10**12), "huge.ply", "claims 1,000,000,000,000 vertex")
    assert "truncated" in str(err)
    raises(pcd_bytes(pos, normals, "binary", claim=10**12), "huge.pcd", "truncated binary PCD")
    raises(npy_bytes(pos)[:-8], "cut.npy", "truncated .npy")


def test_pcd_errors(cloud, valid_files):
    pos, normals = cloud
    raises(valid_files[".pcd"][:-5], "cut.pcd", "truncated binary PCD")
    raises(pcd_bytes(pos, normals, "binary").replace(b"DATA binary", b"DATA binary_compressed"), "c.pcd", "not supported")
    raises(pcd_bytes(pos, normals, "ascii", claim=41), "n.pcd", "claims 41 points")
    raises(pcd_bytes(pos, normals).replace(b"FIELDS x y z", b"FIELDS a b c"), "f.pcd", "no x y z")
    raises(b"VERSION 0.7\nFIELDS x y z\n", "h.pcd", "DATA")


def test_mesh_errors():
    flat = b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n"
    raises(flat, "flat.obj", "zero surface area")
    raises(b"v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", "nan.obj", "NaN")
    raises(b"ply\nformat weird 1.0\nelement vertex 3\nproperty float x\nend_header\n", "w.ply", "unknown PLY format")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        err = raises(b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0\n", "bad.stl", "bad.stl")
    assert err.__cause__ is not None  # the parser's own error is kept as the cause


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_binary_point_ply_is_read_directly_with_every_property(cloud, order, newline):
    """A scan's usual PLY (only vertices, scalar properties of mixed types, either byte order): read
    without trimesh, positions in double, normals and colours by name, other properties skipped."""
    pos, normals = cloud
    fields = [("intensity", "u2"), ("x", "f8"), ("y", "f8"), ("z", "f8"), ("red", "u1"), ("green", "u1"),
              ("blue", "u1"), ("nx", "f4"), ("ny", "f4"), ("nz", "f4")]
    rows = np.zeros(len(pos), dtype=[(name, order + code) for name, code in fields])
    colours = np.random.default_rng(0).integers(0, 256, (len(pos), 3))
    for i, axis in enumerate("xyz"):
        rows[axis], rows["n" + axis] = pos[:, i], normals[:, i]
    rows["red"], rows["green"], rows["blue"] = colours.T
    types = {"u2": "ushort", "f8": "double", "u1": "uchar", "f4": "float"}
    fmt = "binary_little_endian" if order == "<" else "binary_big_endian"
    header = ["ply", f"format {fmt} 1.0", f"element vertex {len(pos)}",
              *(f"property {types[code]} {name}" for name, code in fields), "end_header"]
    data = newline.join(header).encode() + newline.encode() + rows.tobytes()
    assert formats._parse_ply_points(data, formats._ply_header(data)) is not None  # the direct path
    loaded = load_point_cloud(data, filename="scan.ply", max_points=len(pos))
    assert_cloud(loaded, pos, normals)
    np.testing.assert_array_equal(loaded.colors.numpy(), colours)
