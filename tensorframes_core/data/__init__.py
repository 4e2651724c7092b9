"""Point clouds with normals: the container, file loaders, procedural shapes and datasets.

>>> from tensorframes_core.data import shapes
>>> cloud = shapes.make("cylinder", 256, noise=shapes.NOISE_LEVELS[2], seed=1)
>>> cloud.to_data()
Data(pos=[256, 3], normal=[256, 3])
"""
from . import datasets, shapes
from .cloud import MAX_POINTS, MIN_POINTS, InputError, PointCloud, validate_cloud
from .datasets import ModelNet40Normals, PCPNet, ProceduralNormals
from .demo import demo_shapes
from .formats import FORMATS, MAX_BYTES, load_point_cloud, sample_mesh

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
