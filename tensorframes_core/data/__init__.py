"""Point clouds with normals: the container, file loaders, procedural shapes and datasets.

>>> from tensorframes_core.data import shapes
>>> cloud = shapes.make("cylinder", 256, noise=shapes.NOISE_LEVELS[2], seed=1)
>>> cloud.to_data()
Data(pos=[256, 3], normal=[256, 3])
"""
from tensorframes_core._lazy import lazy_exports

from . import shapes
from .cloud import MAX_POINTS, MIN_POINTS, InputError, PointCloud, validate_cloud
from .demo import demo_shapes
from .formats import FORMATS, MAX_BYTES, load_point_cloud, sample_mesh

# the datasets need torch.utils.data (and the loaders PyG): imported when first used
__getattr__, _dir = lazy_exports(__name__, {
    "datasets": "tensorframes_core.data.datasets",
    **{name: f"tensorframes_core.data.datasets:{name}" for name in ("ModelNet40Normals", "PCPNet", "ProceduralNormals")},
})

__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "MAX_POINTS",
    "MIN_POINTS",
    "InputError",
    "ModelNet40Normals",
    "PCPNet",
    "PointCloud",
    "ProceduralNormals",
    "datasets",
    "demo_shapes",
    "load_point_cloud",
    "sample_mesh",
    "shapes",
    "validate_cloud",
]
