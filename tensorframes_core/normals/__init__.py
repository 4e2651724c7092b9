"""Normals for whole clouds: ``estimate_normals``, the ``EstimateNormals`` transform, orientation, search."""
from tensorframes_core.normals.classical import jet_normals, pca_normals
from tensorframes_core.normals.estimate import estimate_normals
from tensorframes_core.normals.orient import orient_normals
from tensorframes_core.normals.search import neighbour_index
from tensorframes_core._lazy import lazy_exports

__getattr__, _dir = lazy_exports(__name__, {"EstimateNormals": "tensorframes_core.normals.transform:EstimateNormals"})

__all__ = ["estimate_normals", "EstimateNormals", "orient_normals", "pca_normals", "jet_normals", "neighbour_index"]
