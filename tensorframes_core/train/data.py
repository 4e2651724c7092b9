"""Training, validation and test clouds, as PyG ``Data(pos, normal)``, with disjoint procedural seeds.

Procedural shape seeds: training ``0 .. n_train - 1``, validation ``VAL_SEED ..``, test ``TEST_SEED ..``
(:data:`tensorframes_core.data.shapes.TEST_SEED`), so no shape is ever in two splits.

>>> clouds = procedural_clouds(3, 64, noise=(0.0, 0.006), names=("box", "gyroid"))
>>> [(d.pos.shape[0], round(noise, 3)) for d, noise in zip(clouds, noise_schedule(3, (0.0, 0.006), 2))]
[(64, 0.0), (64, 0.0), (64, 0.006)]
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

from torch.utils.data import ConcatDataset, DataLoader, Dataset
from tqdm.auto import tqdm

from tensorframes_core.data import InputError, ModelNet40Normals, PCPNet, PointCloud, ProceduralNormals, shapes
from tensorframes_core.data.meshes import MESH_DENSITIES, benchmark_cloud, condition_seed, mesh_files, read_mesh
from tensorframes_core.train.config import TrainConfig

TEST_SEED = shapes.TEST_SEED
VAL_SEED = 900_000
DATA_KINDS = ("procedural", "modelnet40", "pcpnet", "meshes")
DENSE_EVERY = 4  # with --data meshes, every 4th round of meshes is sampled at twice the points


def noise_schedule(n_clouds: int, noise: Sequence[float], n_families: int) -> List[float]:
    """The noise level of each cloud: ``noise`` cycles once per round of ``n_families`` shape families,
    so every family is seen at every level (``noise[(i // n_families) % len(noise)]``).

    >>> noise_schedule(5, (0.0, 0.1), 2)
    [0.0, 0.0, 0.1, 0.1, 0.0]
    """
    if not noise:
        raise InputError("give at least one noise level")
    return [float(noise[(i // n_families) % len(noise)]) for i in range(n_clouds)]


def _procedural(n_clouds: int, n_points: int, noise: Sequence[float], seed: int, names: Sequence[str]) -> Dataset:
    """Cloud ``i``: family ``names[i % len(names)]``, shape seed ``seed + i``, noise by :func:`noise_schedule`."""
    levels = noise_schedule(n_clouds, noise, len(names))
    parts, start = [], 0
    while start < n_clouds:  # runs of equal noise level, each a ProceduralNormals with contiguous seeds
        stop = start
        while stop < n_clouds and levels[stop] == levels[start]:
            stop += 1
        names_here = tuple(names[(start + j) % len(names)] for j in range(len(names)))
        parts.append(ProceduralNormals(stop - start, n_points, levels[start], seed + start, names_here,
                                       transform=PointCloud.to_data))
        start = stop
    return ConcatDataset(parts)


def materialize(dataset: Dataset, workers: int = 0, progress: bool = False, desc: str = "data") -> list:
    """Every item of ``dataset`` in a list (generated once, ``workers`` processes in parallel)."""
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    return list(tqdm(loader, total=len(dataset), desc=desc, disable=not progress, leave=False))


def procedural_clouds(
    n_clouds: int,
    n_points: int,
    noise: Sequence[float] = (0.0,),
    seed: int = 0,
    names: Sequence[str] = shapes.ALIGNED,
    workers: int = 0,
    progress: bool = False,
) -> list:
    """``n_clouds`` procedural ``Data(pos, normal)`` (see :func:`_procedural`), generated now."""
    if n_clouds < 1 or n_points < 1:
        raise InputError(f"need n_clouds >= 1 and n_points >= 1; got {n_clouds}, {n_points}")
    return materialize(_procedural(n_clouds, n_points, noise, seed, names), workers, progress, f"clouds (seed {seed})")


def mesh_clouds(root, n_clouds: int, n_points: int, noise: Sequence[float], seed: int) -> list:
    """``n_clouds`` clouds sampled from the meshes below ``root`` (``data.meshes`` conventions), generated now.

    Cloud ``i`` comes from mesh ``i % M``; its round ``r = i // M`` sets the noise ``noise[r % L]``, the
    density ``MESH_DENSITIES[(r // L) % 3]`` and the size: ``2 * n_points`` every ``DENSE_EVERY``-th
    round, else ``n_points``, so that the model sees more than one sampling density.
    """
    paths = mesh_files(root)
    meshes = [read_mesh(p) for p in paths]
    clouds = []
    for i in range(n_clouds):
        (vertices, faces), rnd = meshes[i % len(meshes)], i // len(meshes)
        level, density = float(noise[rnd % len(noise)]), MESH_DENSITIES[(rnd // len(noise)) % len(MESH_DENSITIES)]
        size = 2 * n_points if rnd % DENSE_EVERY == DENSE_EVERY - 1 else n_points
        cloud_seed = condition_seed(paths[i % len(meshes)].stem, level, density, seed + i)
        clouds.append(benchmark_cloud(vertices, faces, size, level, density, cloud_seed))
    return clouds


def training_set(config: TrainConfig, progress: bool = False):
    """The training clouds: procedural (seeds ``0 .. n_train - 1``, generated up front), meshes (``n_train``
    clouds of the meshes in ``root`` plus ``n_train // 2`` procedural ones) or a dataset on disk."""
    if config.data not in DATA_KINDS:
        raise InputError(f"unknown data {config.data!r}; choose one of {', '.join(DATA_KINDS)}")
    if config.data == "procedural":
        if config.n_train > VAL_SEED:
            raise InputError(f"n_train must be at most {VAL_SEED} (seeds above are validation and test shapes)")
        return procedural_clouds(config.n_train, config.n_points, config.noise, 0, config.shapes, config.workers,
                                 progress)
    if config.root is None:
        raise InputError(f"--data {config.data} needs --root PATH (the folder holding the data set)")
    if config.data == "meshes":
        procedural = procedural_clouds(max(1, config.n_train // 2), config.n_points, config.noise, 0, config.shapes,
                                       config.workers, progress)
        return mesh_clouds(config.root, config.n_train, config.n_points, config.noise, 0) + procedural
    if config.data == "modelnet40":
        return ModelNet40Normals(config.root, "train", config.n_points, transform=PointCloud.to_data)
    return PCPNet(config.root, config.list_file, config.n_points, transform=PointCloud.to_data)


def validation_set(config: TrainConfig, progress: bool = False) -> list:
    """The held-out clouds checked after every epoch: ``n_val`` clouds of the meshes in ``val_root`` when
    given, else procedural ones (seeds ``VAL_SEED ..``)."""
    if config.val_root is not None:
        return mesh_clouds(config.val_root, config.n_val, config.n_points, config.noise, VAL_SEED)
    if config.n_val > TEST_SEED - VAL_SEED:
        raise InputError(f"n_val must be at most {TEST_SEED - VAL_SEED}")
    return procedural_clouds(config.n_val, config.n_points, config.noise, VAL_SEED, config.shapes, config.workers,
                             progress)


def describe_data(config: TrainConfig, n_clouds: int) -> Dict[str, Any]:
    """The JSON description of a run's training and validation data, stored in its checkpoints."""
    val: Dict[str, Any] = {"kind": "procedural", "n_clouds": config.n_val, "seed": VAL_SEED,
                           "noise": list(config.noise), "shapes": list(config.shapes)}
    if config.val_root is not None:
        val = {"kind": "meshes", "root": str(config.val_root), "n_clouds": config.n_val, "seed": VAL_SEED,
               "noise": list(config.noise)}
    desc: Dict[str, Any] = {"kind": config.data, "n_clouds": n_clouds, "n_points": config.n_points, "val": val}
    if config.data == "meshes":
        desc.update(root=str(config.root), noise=list(config.noise), shapes=list(config.shapes),
                    procedural_seeds=[0, max(1, config.n_train // 2) - 1])
    if config.data == "procedural":
        desc.update(noise=list(config.noise), seeds=[0, config.n_train - 1], shapes=list(config.shapes))
    elif config.data == "modelnet40":
        desc.update(root=str(config.root), split="train")
    else:
        desc.update(root=str(config.root), list_file=config.list_file)
    return desc
