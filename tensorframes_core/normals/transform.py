"""``EstimateNormals``: a PyG transform that fills ``data.norm`` (drops into ``transforms.Compose``)."""
from __future__ import annotations

from typing import Optional

from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from tensorframes_core.normals.estimate import MODEL_POINTS, estimate_normals


class EstimateNormals(BaseTransform):
    """``data.norm = estimate_normals(data.pos, method, k, orient, device, model_points=model_points)`` (see there).

    >>> import torch
    >>> from torch_geometric.transforms import Compose, NormalizeScale
    >>> data = Compose([NormalizeScale(), EstimateNormals("pca", orient="centroid")])(Data(pos=torch.randn(100, 3)))
    >>> data.norm.shape
    torch.Size([100, 3])
    """

    def __init__(self, method: str = "default", k: Optional[int] = None, orient: Optional[str] = None,
                 device: Optional[str] = None, model_points: Optional[int] = MODEL_POINTS) -> None:
        self.method, self.k, self.orient, self.device = method, k, orient, device
        self.model_points = model_points

    def forward(self, data: Data) -> Data:
        data.norm = estimate_normals(data.pos, self.method, self.k, self.orient, self.device,
                                     model_points=self.model_points)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(method={self.method!r}, k={self.k}, orient={self.orient!r})"
