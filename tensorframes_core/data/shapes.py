"""Procedural surfaces with exact normals, sampled like the PCPNet benchmark.

Every family is a set of parametric patches x(u, v) or an implicit surface f(x) = 0, in a
canonical axis-aligned pose (like ModelNet40: no random rotation), with a random scale and
aspect (per seed) applied as x -> A x inside the map. The furniture (table, chair, shelf) is a
union of axis-aligned boxes: every box's faces, masked (NaN) where they lie inside another box. The
disk is planar: a cloud symmetric under the mirror through its plane.
Normals are exact: t_u x t_v, or grad f / |grad f| on the implicit surface, with derivatives by
the complex step (d/du g(u) = Im g(u + ih) / h, h = 1e-20: no truncation or cancellation error), in numpy
float64 (many small torch ops cost far more here: dispatch and thread overhead).

Sampling is area-uniform: parametric patches by rejection with the area element |t_u x t_v|;
implicit surfaces by uniform points of a thin shell |f / |grad f|| < delta (delta = 2% of the
box; its thickness is 2 delta + O(delta^3), so uniform up to O(delta^2) curvature terms), found
via a grid of cells near f = 0 and Newton-projected onto f = 0. Noise displaces points by a
Gaussian with std = noise times the bounding-box diagonal; the normals stay those of the clean
point (as in PCPNet).
Seeds: keep train and test disjoint, e.g. train seeds 0.. and test seeds ``TEST_SEED`` = 10**6..

>>> cloud = make("torus", 500, noise=0.006, seed=3)
>>> len(cloud), cloud.pos.dtype, bool(torch.allclose(cloud.normals.norm(dim=1), torch.ones(500)))
(500, torch.float32, True)
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import torch

from .cloud import MAX_POINTS, MIN_POINTS, InputError, PointCloud

NOISE_LEVELS = (0.0, 0.00125, 0.006, 0.012)
DENSITIES = ("uniform", "nonuniform", "gradient", "striped")
TEST_SEED = 10**6

Map = Callable[[np.ndarray, np.ndarray], np.ndarray]
Patch = tuple[Map, tuple[float, float], tuple[float, float]]
TAU = 2 * np.pi


@dataclass(frozen=True)
class Surface:
    """Parametric patches (map(u, v) -> (M, 3), u range, v range; NaN marks points outside the
    patch) or an implicit f: (M, 3) -> (M,) with a search box ``bounds`` = (lo, hi) that also clips.
    ``params``: this instance's random parameters (``a``: per-axis scale; sphere and star use its mean)."""

    patches: tuple[Patch, ...] = ()
    implicit: Callable[[np.ndarray], np.ndarray] | None = None
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    params: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- patches
H = 1e-20  # complex step


def _stack(*cols: np.ndarray) -> np.ndarray:
    return np.stack(cols, axis=-1)


def _sphere_map(u, v):
    """Unit sphere by azimuth u in [0, 2 pi] and height v in [-1, 1]: equal-area (Archimedes)."""
    rho = np.sqrt(1 - v * v)
    return _stack(rho * np.cos(u), rho * np.sin(u), v)


def _radial(radius: Callable[[np.ndarray], np.ndarray]) -> Patch:
    """The star-shaped surface x = radius(d) d over unit directions d."""

    def fn(u, v):
        d = _sphere_map(u, v)
        return radius(d)[:, None] * d

    return fn, (0.0, TAU), (-1.0, 1.0)


def _face(axis: int, sign: float, disk: bool = False) -> Patch:
    """The plane x[axis] = sign over [-1, 1]^2 (a unit disk if disk), normal sign * e_axis."""

    def fn(u, v):
        cols = [None, None, None]
        cols[axis] = np.full_like(u, sign)
        cols[(axis + 1) % 3], cols[(axis + 2) % 3] = sign * u, v
        x = _stack(*cols)
        return np.where(((u * u + v * v).real <= 1)[:, None], x, np.nan) if disk else x

    return fn, (-1.0, 1.0), (-1.0, 1.0)


def _tube(half_height: float) -> Patch:
    """The lateral surface of the unit cylinder |z| <= half_height, normal outward."""
    return (lambda u, v: _stack(np.cos(u), np.sin(u), v)), (0.0, TAU), (-half_height, half_height)


def _cap(z: float, v_range: tuple[float, float]) -> Patch:
    """A unit hemisphere (v_range (0, 1) or (-1, 0)) moved to height z."""
    return (lambda u, v: _sphere_map(u, v) + np.array([0.0, 0.0, z])), (0.0, TAU), v_range


def _transformed(patches: Sequence[Patch], g: Callable[[np.ndarray], np.ndarray]) -> tuple[Patch, ...]:
    """Patches composed with a map g: (M, 3) -> (M, 3); derivatives carry J_g, so normals follow
    J^{-T} n (Nanson) and area elements det J |J^{-T} n| automatically."""
    return tuple(((lambda u, v, fn=fn: g(fn(u, v))), ur, vr) for fn, ur, vr in patches)


def _box_faces() -> list[Patch]:
    return [_face(axis, sign) for axis in range(3) for sign in (1.0, -1.0)]


def _union_of_boxes(boxes: Sequence[tuple[Sequence[float], Sequence[float]]]) -> tuple[Patch, ...]:
    """The boundary of a union of axis-aligned boxes, each (centre (3,), half size (3,)): every box's
    faces, NaN where a point lies strictly inside another box. Boxes that meet must overlap (no face
    shared or flush), so the kept face points are exactly the union's boundary, each with its face normal."""
    boxes = [(np.asarray(c, dtype=float), np.asarray(h, dtype=float)) for c, h in boxes]
    patches: list[Patch] = []
    for i, (centre, half) in enumerate(boxes):
        others = [box for j, box in enumerate(boxes) if j != i]

        def place(x, centre=centre, half=half, others=others):
            y = x * half + centre
            inside = np.zeros(len(y), dtype=bool)
            for c, h in others:
                inside |= (np.abs(y.real - c) < h).all(1)
            return np.where(inside[:, None], np.nan, y)

        patches += _transformed(_box_faces(), place)
    return tuple(patches)


# ----------------------------------------------------------------------------- families
def _sphere(rng, a):
    return Surface(_transformed([_radial(lambda d: np.ones_like(d[:, 0]))], _scale(a.mean())))


def _ellipsoid(rng, a):
    return Surface(_transformed([_radial(lambda d: np.ones_like(d[:, 0]))], _scale(a)))


def _superquadric(rng, a):
    p = int(rng.choice([4, 6, 8]))  # |x|^p + |y|^p + |z|^p = 1: a rounded cube
    return Surface(_transformed([_radial(lambda d: (d**p).sum(1) ** (-1 / p))], _scale(a)), params={"p": p})


def _star(rng, a):
    m, k = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    amp, amp_z = rng.uniform(0.12, 0.25), rng.uniform(0.04, 0.12)

    def radius(d):  # 1 + amp * Re((d_x + i d_y)^m) + amp_z * cos(k pi d_z): smooth at the poles
        re, im = np.ones_like(d[:, 0]), np.zeros_like(d[:, 0])
        for _ in range(m):
            re, im = re * d[:, 0] - im * d[:, 1], re * d[:, 1] + im * d[:, 0]
        return 1 + amp * re + amp_z * np.cos(k * np.pi * d[:, 2])

    params = {"m": m, "k": k, "amp": amp, "amp_z": amp_z}
    return Surface(_transformed([_radial(radius)], _scale(a.mean())), params=params)


def _torus(rng, a):
    r = rng.uniform(0.25, 0.45)

    def fn(u, v):
        ring = 1 + r * np.cos(v)
        return _stack(ring * np.cos(u), ring * np.sin(u), r * np.sin(v))

    return Surface(_transformed([(fn, (0.0, TAU), (0.0, TAU))], _scale(a)), params={"r": r})


def _box(rng, a):
    return Surface(_transformed(_box_faces(), _scale(a)))


def _cylinder(rng, a):
    patches = [_tube(1.0), _face(2, 1.0, disk=True), _face(2, -1.0, disk=True)]
    return Surface(_transformed(patches, _scale(a)))


def _cone(rng, a):
    def lateral(u, v):  # apex (0, 0, 1), base circle of radius 1 at z = -1
        return _stack((1 - v) * np.cos(u), (1 - v) * np.sin(u), 2 * v - 1)

    patches = [(lateral, (0.0, TAU), (0.0, 1.0)), _face(2, -1.0, disk=True)]
    return Surface(_transformed(patches, _scale(a)))


def _capsule(rng, a):
    h = rng.uniform(0.5, 1.2)
    patches = [_tube(h), _cap(h, (0.0, 1.0)), _cap(-h, (-1.0, 0.0))]
    return Surface(_transformed(patches, _scale(a)), params={"h": h})


def _heightfield(rng, a):
    centres, widths = rng.uniform(-1, 1, (4, 2)), rng.uniform(0.25, 0.6, 4)
    heights, freq, phase = rng.uniform(-0.35, 0.35, 4), rng.uniform(1.5, 3.5, 2), rng.uniform(0, TAU, 2)

    def fn(u, v):  # z = bumps + a gentle ripple over [-1, 1]^2
        z = 0.08 * np.sin(freq[0] * u + phase[0]) * np.cos(freq[1] * v + phase[1])
        for (cu, cv), w, h in zip(centres, widths, heights):
            z = z + h * np.exp(-((u - cu) ** 2 + (v - cv) ** 2) / w**2)
        return _stack(u, v, z)

    return Surface(_transformed([(fn, (-1.0, 1.0), (-1.0, 1.0))], _scale(a)))


def _twisted_box(rng, a):
    rate = rng.uniform(0.4, 0.9)  # radians per unit height

    def twist(x):  # rotate each slice z by rate * z: J has det 1, normals -> J^{-T} n
        c, s = np.cos(rate * x[:, 2]), np.sin(rate * x[:, 2])
        return _stack(c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1], x[:, 2])

    half = a * np.array([0.5, 0.5, 1.0])
    patches = _transformed(_transformed(_box_faces(), _scale(half)), twist)
    return Surface(patches, params={"rate": rate, "half": half})


def _mobius(rng, a):
    w = rng.uniform(0.25, 0.45)

    def fn(u, v):  # one-sided: normals are unoriented anyway
        ring = 1 + v * np.cos(u / 2)
        return _stack(ring * np.cos(u), ring * np.sin(u), v * np.sin(u / 2))

    return Surface(_transformed([(fn, (0.0, TAU), (-w, w))], _scale(a)), params={"w": w})


def _blob(rng, a):
    k = int(rng.integers(3, 6))
    steps = rng.normal(size=(k - 1, 3))
    steps *= rng.uniform(0.55, 0.8, (k - 1, 1)) / np.linalg.norm(steps, axis=1, keepdims=True)
    centres = np.concatenate([np.zeros((1, 3)), np.cumsum(steps, axis=0)])
    centres -= centres.mean(0)
    s2 = rng.uniform(0.38, 0.5, k) ** 2  # neighbours at <= 2.1 sigma stay joined by a neck

    def f(x):  # metaballs: sum_k exp(-|x/a - c_k|^2 / s_k^2) - 1/2 (loops: numpy is slow on short axes)
        y = (x / a).T
        total = np.full_like(y[0], -0.5)
        for c, s in zip(centres, s2):
            total = total + np.exp(-((y[0] - c[0]) ** 2 + (y[1] - c[1]) ** 2 + (y[2] - c[2]) ** 2) / s)
        return total

    reach = 1.6 * np.sqrt(s2.max())
    bounds = ((centres.min(0) - reach) * a, (centres.max(0) + reach) * a)
    return Surface(implicit=f, bounds=bounds, params={"centres": centres, "s2": s2})


def _gyroid(rng, a):
    level = rng.uniform(-0.2, 0.2)

    def f(x):  # one period of the gyroid, clipped to the box |x_i| <= a_i
        s, c = np.sin((x * (np.pi / a)).T), np.cos((x * (np.pi / a)).T)
        return s[0] * c[1] + s[1] * c[2] + s[2] * c[0] - level

    return Surface(implicit=f, bounds=(-a, a), params={"level": level})


def _table(rng, a):
    """A top board on four legs (each leg reaches the board's mid-plane, inset from the corners)."""
    depth, half_t, leg = rng.uniform(0.5, 1.0), rng.uniform(0.03, 0.07), rng.uniform(0.04, 0.09)
    height, inset = rng.uniform(0.5, 0.9), rng.uniform(0.04, 0.15)
    top = ((0, 0, height - half_t), (1, depth, half_t))
    legs = [((sx * (1 - inset - leg), sy * (depth - inset - leg), -half_t / 2), (leg, leg, height - half_t / 2))
            for sx in (1, -1) for sy in (1, -1)]
    params = {"depth": depth, "height": height}
    return Surface(_transformed(_union_of_boxes([top] + legs), _scale(a)), params=params)


def _chair(rng, a):
    """A seat on four legs with a backrest rising from the seat's back edge."""
    depth, half_t, leg = rng.uniform(0.8, 1.0), rng.uniform(0.04, 0.08), rng.uniform(0.05, 0.09)
    legs_h, back_h, inset = rng.uniform(0.4, 0.6), rng.uniform(0.5, 0.9), rng.uniform(0.03, 0.1)
    seat = ((0, 0, 0), (1, depth, half_t))
    legs = [((sx * (1 - inset - leg), sy * (depth - inset - leg), -legs_h / 2), (leg, leg, legs_h / 2))
            for sx in (1, -1) for sy in (1, -1)]
    back = ((0, -(depth - inset - half_t), back_h / 2), (1 - inset, half_t, back_h / 2))
    params = {"depth": depth, "legs_h": legs_h, "back_h": back_h}
    return Surface(_transformed(_union_of_boxes([seat, back] + legs), _scale(a)), params=params)


def _shelf(rng, a):
    """A bookcase: two side panels, a back panel and 2-5 boards (top and bottom included) between them."""
    depth, side, board = rng.uniform(0.3, 0.6), rng.uniform(0.03, 0.06), rng.uniform(0.02, 0.05)
    n_boards = int(rng.integers(2, 6))
    sides = [((sx * (1 - side), 0, 0), (side, depth, 1)) for sx in (1, -1)]
    back = ((0, -(depth - board - 0.01), 0), (1 - side, board, 1 - 0.02))  # no face flush with the sides'
    levels = np.linspace(-(1 - board - 0.02), 1 - board - 0.02, n_boards)
    boards = [((0, 0, z), (1 - side, depth - 0.02, board)) for z in levels]
    params = {"depth": depth, "n_boards": n_boards}
    return Surface(_transformed(_union_of_boxes(sides + [back] + boards), _scale(a)), params=params)


def _disk(rng, a):
    """A flat elliptical sheet: the whole cloud is its own mirror image through its plane, so no frame
    can tell its two sides apart (the explorer's lesson on where frames must fail)."""
    return Surface(_transformed([_face(2, 1.0, disk=True)], _scale(a)))


def _scale(a) -> Callable[[np.ndarray], np.ndarray]:
    scale = np.broadcast_to(a, 3).copy()
    return lambda x: x * scale


_FAMILIES = {
    "sphere": _sphere,
    "ellipsoid": _ellipsoid,
    "torus": _torus,
    "superquadric": _superquadric,
    "box": _box,
    "cylinder": _cylinder,
    "cone": _cone,
    "capsule": _capsule,
    "heightfield": _heightfield,
    "twisted_box": _twisted_box,
    "blob": _blob,
    "star": _star,
    "gyroid": _gyroid,
    "mobius": _mobius,
    "table": _table,
    "chair": _chair,
    "shelf": _shelf,
    "disk": _disk,
}
NAMES: tuple[str, ...] = tuple(_FAMILIES)
ALIGNED: tuple[str, ...] = ("box", "cylinder", "cone", "heightfield", "table", "chair", "shelf")
"""The default training and test suite, like ModelNet40: man-made shapes whose faces sit on the canonical
axes, so a model without frames can lean on the pose (and a rotated test shows it). The curved families
(sphere, blob, ...) show every normal direction in one pose and would teach a baseline to ignore it."""
SUITES: dict[str, tuple[str, ...]] = {"all": NAMES, "aligned": ALIGNED}


def families(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Family names from a comma list (or sequence) of family and suite names (``SUITES``), in order,
    without repeats; ``InputError`` for an unknown name.

    >>> families("aligned")[:3], families("sphere,box,sphere")
    (('box', 'cylinder', 'cone'), ('sphere', 'box'))
    """
    items = [x.strip() for x in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in items:
        if item not in _FAMILIES and item not in SUITES:
            raise InputError(f"unknown shape {item!r}; choose from {', '.join(NAMES + tuple(SUITES))}")
        out += [n for n in SUITES.get(item, (item,)) if n not in out]
    if not out:
        raise InputError("give at least one shape family")
    return tuple(out)


def _surface(name: str, seed: int) -> Surface:
    """The surface of family ``name`` for ``seed``: scale in [0.5, 1.5], aspect in [0.6, 1.4]^3."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 0])
    a = rng.uniform(0.5, 1.5) * rng.uniform(0.6, 1.4, 3)
    surface = _FAMILIES[name](rng, a)
    return replace(surface, params={"a": a, **surface.params})


# ----------------------------------------------------------------------------- sampling
def _patch_candidates(patches: Sequence[Patch], m: int, rng: np.random.Generator):
    """m uniform parameter draws -> points, unit normals, area elements, (patch, u, v)."""
    sizes = np.array([(u1 - u0) * (v1 - v0) for _, (u0, u1), (v0, v1) in patches])
    which = rng.choice(len(patches), size=m, p=sizes / sizes.sum())
    r = rng.random((m, 2))
    out = []
    with np.errstate(all="ignore"):  # poles and masks give non-finite rows, dropped below
        for k, (fn, (u0, u1), (v0, v1)) in enumerate(patches):
            u = u0 + (u1 - u0) * r[which == k, 0]
            v = v0 + (v1 - v0) * r[which == k, 1]
            step_u = fn(u + 1j * H, v)
            x, t_u, t_v = step_u.real, step_u.imag / H, fn(u, v + 1j * H).imag / H
            c = np.cross(t_u, t_v)
            area = np.linalg.norm(c, axis=1)
            ok = np.isfinite(x).all(1) & np.isfinite(c).all(1) & (area > 0)
            aux = np.stack([np.full_like(u, k), u, v], axis=1)
            out.append((x[ok], c[ok] / area[ok, None], area[ok], aux[ok]))
    return [np.concatenate(parts) for parts in zip(*out)]


def _value_grad(f, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) (M,) and its gradient (M, 3) by complex steps along each axis."""
    steps = [f(x + 1j * H * e) for e in np.eye(3)]
    return steps[0].real, np.stack([s.imag / H for s in steps], axis=1)


def _implicit_sampler(surface: Surface, cells: int = 24) -> Callable:
    """A candidate drawer for an implicit surface: uniform points of the shell
    |f / |grad f|| < delta, found through the grid cells near f = 0, projected onto f = 0."""
    lo, hi = surface.bounds
    size = (hi - lo) / cells
    delta = 0.02 * float(np.min(hi - lo))
    idx = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), -1).reshape(-1, 3)
    val, grad = _value_grad(surface.implicit, lo + (idx + 0.5) * size)
    gnorm = np.linalg.norm(grad, axis=1)
    near = np.abs(val) <= 1.5 * (0.5 * float(np.linalg.norm(size)) + delta) * gnorm  # with margin
    active, bound = idx[near], 2 * delta * gnorm[near]
    if not len(active):
        raise RuntimeError("the implicit surface does not cross its bounds")

    def draw(m: int, rng: np.random.Generator):
        cell = rng.integers(len(active), size=m)
        x = lo + (active[cell] + rng.random((m, 3))) * size
        x = x[np.abs(surface.implicit(x)) < bound[cell]]  # cheap real pre-filter (2x margin)
        val, grad = _value_grad(surface.implicit, x)
        x = x[np.abs(val) < delta * np.linalg.norm(grad, axis=1)]  # the shell
        with np.errstate(all="ignore"):  # a vanishing gradient gives non-finite rows, dropped below
            for _ in range(4):  # Newton steps along the gradient, quadratic: x -= f grad / |grad|^2
                val, grad = _value_grad(surface.implicit, x)
                x = x - (val / (grad * grad).sum(1))[:, None] * grad
            val, grad = _value_grad(surface.implicit, x)
            gnorm = np.linalg.norm(grad, axis=1)
            inside = ((x >= lo) & (x <= hi)).all(1)
            ok = inside & (np.abs(val) <= 1e-11 * gnorm) & (gnorm > 0) & np.isfinite(x).all(1)
        k = int(ok.sum())
        return [x[ok], grad[ok] / gnorm[ok, None], np.ones(k), np.zeros((k, 3))]

    return draw


def _uniform_batches(surface: Surface, rng: np.random.Generator, m: int) -> Iterator[list[np.ndarray]]:
    """Endless batches of area-uniform (points, normals, aux), each in random order."""
    if surface.implicit is not None:
        draw = _implicit_sampler(surface)
    else:
        draw = partial(_patch_candidates, surface.patches)
    bound = None
    for _ in range(100_000):
        x, nrm, area, aux = draw(m, rng)
        if not len(area):
            continue
        if bound is None:
            bound = 1.05 * area.max()  # rejection bound, estimated once from the first batch
        keep = rng.random(len(area)) * bound < area
        order = rng.permutation(int(keep.sum()))
        yield [x[keep][order], nrm[keep][order], aux[keep][order]]
    raise RuntimeError("surface sampling did not converge")


def _take(batches: Iterator[list[np.ndarray]], k: int) -> list[np.ndarray]:
    parts, count = [], 0
    while count < k:
        parts.append(next(batches))
        count += len(parts[-1][0])
    return [np.concatenate(p)[:k] for p in zip(*parts)]


def keep_probability(kind: str, rng: np.random.Generator
                     ) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Keep-probability p(x) in (0, 1] along a random axis: a linear gradient or stripes."""
    axis = int(rng.integers(3))
    if kind == "nonuniform":
        kind = ("gradient", "striped")[int(rng.integers(2))]

    def keep(x, lo, hi):
        t = np.clip((x[:, axis] - lo[axis]) / max(hi[axis] - lo[axis], 1e-12), 0, 1)
        if kind == "gradient":
            return 0.05 + 0.95 * t
        return np.where(np.floor(t * 8) % 2 == 0, 1.0, 0.15)

    return keep


def _sample(surface: Surface, n: int, rng: np.random.Generator, density: str = "uniform"):
    """n points, unit normals, aux (patch, u, v) of a surface, float64."""
    batches = _uniform_batches(surface, rng, m=min(max(2 * n, 4096), 65536))
    if density == "uniform":
        return _take(batches, n)
    keep = keep_probability(density, rng)
    pool = _take(batches, 4 * n)
    lo, hi = pool[0].min(0), pool[0].max(0)  # the density's frame, from the first uniform pool
    chosen, count = [], 0
    while True:
        mask = rng.random(len(pool[0])) < keep(pool[0], lo, hi)
        chosen.append([p[mask] for p in pool])
        count += int(mask.sum())
        if count >= n:
            return [np.concatenate(p)[:n] for p in zip(*chosen)]
        pool = _take(batches, 4 * n)


def make(name: str, n_points: int, noise: float = 0.0, seed: int = 0, density: str = "uniform") -> PointCloud:
    """A cloud of n_points on family ``name`` (see ``NAMES``) with exact unit normals, float32.

    noise: Gaussian displacement std as a fraction of the bounding-box diagonal (``NOISE_LEVELS``);
    density: "uniform" (by area), "gradient", "striped", or "nonuniform" (one of the two by seed).
    Deterministic per (name, n_points, noise, seed, density); the shape depends on (name, seed)
    only and the clean points do not depend on noise.

    >>> make("box", 100, seed=1).pos.shape
    torch.Size([100, 3])
    """
    if name not in _FAMILIES:
        raise InputError(f"unknown shape {name!r}; choose one of {', '.join(NAMES)}")
    if density not in DENSITIES:
        raise InputError(f"unknown density {density!r}; choose one of {', '.join(DENSITIES)}")
    if not MIN_POINTS <= n_points <= MAX_POINTS:
        raise InputError(f"n_points must be between {MIN_POINTS} and {MAX_POINTS}; got {n_points}")
    if not 0 <= noise < 1 or seed < 0:
        raise InputError(f"need 0 <= noise < 1 and seed >= 0; got noise={noise}, seed={seed}")
    key = zlib.crc32(name.encode())
    rng = np.random.default_rng([seed, key, n_points, 1])
    pos, normals, _ = _sample(_surface(name, seed), n_points, rng, density)
    if noise > 0:
        diagonal = np.linalg.norm(pos.max(0) - pos.min(0))
        pos = pos + np.random.default_rng([seed, key, n_points, 2]).normal(0, noise * diagonal, pos.shape)
    normals = normals.astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)  # unit in float32 too
    return PointCloud(torch.from_numpy(pos.astype(np.float32)), torch.from_numpy(normals), f"{name}_{seed}")


def make_item(
    index: int,
    n_points: int,
    noise: float = 0.0,
    seed: int = 0,
    names: Sequence[str] = NAMES,
    density: str = "uniform",
) -> PointCloud:
    """Cloud ``index`` of a procedural dataset: family ``names[index % len(names)]``, seed ``seed + index``."""
    return make(names[index % len(names)], n_points, noise, seed + index, density)


def make_dataset(
    n_clouds: int,
    n_points: int,
    noise: float = 0.0,
    seed: int = 0,
    names: Sequence[str] = NAMES,
    density: str = "uniform",
) -> list[PointCloud]:
    """n_clouds clouds cycling through ``names`` with shape seeds seed, seed + 1, ...

    Keep splits disjoint with seeds far apart: train ``seed=0``, test ``seed=TEST_SEED``.

    >>> [c.name for c in make_dataset(3, 64, names=("sphere", "box"))]
    ['sphere_0', 'box_1', 'sphere_2']
    """
    return [make_item(i, n_points, noise, seed, names, density) for i in range(n_clouds)]
