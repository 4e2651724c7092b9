"""Datasets of point clouds with normals: ModelNet40 (resampled, with normals), PCPNet, procedural.

Nothing is downloaded: point ``root`` at the data you have. Items are :class:`PointCloud`
(pass ``transform=PointCloud.to_data`` for PyG ``Data``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from . import shapes
from .cloud import InputError, PointCloud, validate_cloud
from .formats import _read_table, load_point_cloud


def _read_list(path: Path) -> list[str]:
    """Non-empty stripped lines of a list file; InputError if it is missing."""
    if not path.is_file():
        raise InputError(f"expected the list file {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class _CloudDataset(Dataset):
    """Shared item plumbing: an optional transform applied to each PointCloud."""

    transform: Callable[[PointCloud], Any] | None = None

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clouds")
        cloud = self.get(index)
        return cloud if self.transform is None else self.transform(cloud)

    def get(self, index: int) -> PointCloud:
        raise NotImplementedError


class ModelNet40Normals(_CloudDataset):
    """ModelNet40 with normals (``modelnet40_normal_resampled``): 6 comma-separated columns
    x,y,z,nx,ny,nz per line in ``<class>/<class>_<id>.txt``; splits ``modelnet40_{split}.txt``.

    root: the folder holding ``modelnet40_normal_resampled/`` or that folder itself.
    sample: "first" takes the first n_points rows (as the original loader does; all if fewer),
    "random" a seeded subset (seed + index). ``classes`` from ``modelnet40_shape_names.txt`` (else from the split);
    ``labels[i]`` indexes ``classes``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        n_points: int = 1024,
        sample: str = "first",
        seed: int = 0,
        transform: Callable[[PointCloud], Any] | None = None,
    ) -> None:
        if split not in ("train", "test") or sample not in ("first", "random"):
            raise InputError(f"split must be train|test and sample first|random; got {split}, {sample}")
        root = Path(root)
        self.root = root / "modelnet40_normal_resampled" if (root / "modelnet40_normal_resampled").is_dir() else root
        split_file = self.root / f"modelnet40_{split}.txt"
        if not split_file.is_file():
            raise InputError(
                f"expected ModelNet40 normals at {root}/modelnet40_normal_resampled/ or {root}/ "
                f"with the split file modelnet40_{split}.txt; {split_file} is missing"
            )
        self.names = _read_list(split_file)
        self.paths = [self.root / name.rsplit("_", 1)[0] / f"{name}.txt" for name in self.names]
        missing = [p for p in self.paths if not p.is_file()]
        if missing:
            raise InputError(f"{len(missing)} files of split {split} are missing, e.g. {missing[0]}")
        names_file = self.root / "modelnet40_shape_names.txt"
        shape_classes = [name.rsplit("_", 1)[0] for name in self.names]
        self.classes = _read_list(names_file) if names_file.is_file() else sorted(set(shape_classes))
        unknown = sorted(set(shape_classes) - set(self.classes))
        if unknown:
            raise InputError(f"classes {unknown} are not listed in {names_file}")
        self.labels = [self.classes.index(c) for c in shape_classes]
        self.n_points, self.sample, self.seed, self.transform = n_points, sample, seed, transform

    def __len__(self) -> int:
        return len(self.paths)

    def get(self, index: int) -> PointCloud:
        cloud = load_point_cloud(self.paths[index])
        if self.sample == "random":
            return cloud.subsample(self.n_points, self.seed + index)
        normals = None if cloud.normals is None else cloud.normals[: self.n_points]
        return PointCloud(cloud.pos[: self.n_points], normals, cloud.name)


class PCPNet(_CloudDataset):
    """The PCPNet benchmark: ``<name>.xyz`` and ``<name>.normals`` (whitespace-separated rows)
    for every name in ``root/<list_file>``; n_points: a seeded random subset (seed + index), or all."""

    def __init__(
        self,
        root: str | Path,
        list_file: str = "testset_all.txt",
        n_points: int | None = None,
        seed: int = 0,
        transform: Callable[[PointCloud], Any] | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"expected the PCPNet folder (with {list_file}, *.xyz, *.normals) at {root}")
        self.names = _read_list(self.root / list_file)
        for name in self.names:
            for ext in (".xyz", ".normals"):
                if not (self.root / f"{name}{ext}").is_file():
                    raise InputError(f"{list_file} lists {name} but {self.root / (name + ext)} is missing")
        self.n_points, self.seed, self.transform = n_points, seed, transform

    def __len__(self) -> int:
        return len(self.names)

    def get(self, index: int) -> PointCloud:
        name = self.names[index]
        pos = load_point_cloud(self.root / f"{name}.xyz").pos
        normals_file = self.root / f"{name}.normals"
        try:
            normals, _ = _read_table(normals_file.read_text())
        except (InputError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{normals_file}: cannot read the normals ({exc})") from exc
        cloud = validate_cloud(pos, np.asarray(normals), name=name)
        return cloud if self.n_points is None else cloud.subsample(self.n_points, self.seed + index)


class ProceduralNormals(_CloudDataset):
    """Clouds of :func:`shapes.make_item`: families cycling through ``names``, seeds seed + index.

    >>> ds = ProceduralNormals(4, 64, noise=0.006)
    >>> len(ds), ds[1].name, tuple(ds[1].normals.shape)
    (4, 'ellipsoid_1', (64, 3))
    """

    def __init__(
        self,
        n_clouds: int,
        n_points: int,
        noise: float = 0.0,
        seed: int = 0,
        names: Sequence[str] = shapes.NAMES,
        density: str = "uniform",
        transform: Callable[[PointCloud], Any] | None = None,
    ) -> None:
        unknown = sorted(set(names) - set(shapes.NAMES))
        if unknown or not names:
            raise InputError(f"unknown shapes {unknown}; choose from {', '.join(shapes.NAMES)}")
        self.n_clouds, self.n_points, self.noise, self.seed = n_clouds, n_points, noise, seed
        self.names, self.density, self.transform = tuple(names), density, transform

    def __len__(self) -> int:
        return self.n_clouds

    def get(self, index: int) -> PointCloud:
        return shapes.make_item(index, self.n_points, self.noise, self.seed, self.names, self.density)
