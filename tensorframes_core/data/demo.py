"""Demo meshes that ship without downloads: ours in ``assets/shapes`` and pyvista's bundled PLYs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "shapes"
PYVISTA_MESHES = ("airplane", "ant", "nut")


def demo_shapes() -> dict[str, Path]:
    """Name -> path of every demo mesh present (load them with ``load_point_cloud``).

    Ours (knot, twisted_nut, bumpy_blob) exist in a source checkout; pyvista's airplane, ant and
    nut are added when pyvista is installed (located without importing it).

    >>> from tensorframes_core.data import load_point_cloud
    >>> len(load_point_cloud(demo_shapes()["knot"], n_points=256))
    256
    """
    found = {p.stem: p for p in sorted(ASSETS.glob("*.ply"))}
    spec = importlib.util.find_spec("pyvista")
    if spec is not None and spec.submodule_search_locations:
        examples = Path(spec.submodule_search_locations[0]) / "examples"
        found.update({n: examples / f"{n}.ply" for n in PYVISTA_MESHES if (examples / f"{n}.ply").is_file()})
    return found
