"""Procedural shapes: exact normals, area-uniform sampling, noise scale, determinism."""
import numpy as np
import pytest
import torch

from tensorframes_core.data import InputError, shapes

IMPLICIT = [n for n in shapes.NAMES if shapes._surface(n, 0).implicit is not None]
PARAMETRIC = [n for n in shapes.NAMES if n not in IMPLICIT]


def test_families():
    assert len(shapes.NAMES) >= 12 and set(IMPLICIT) == {"blob", "gyroid"}
    assert shapes.NOISE_LEVELS == (0.0, 0.00125, 0.006, 0.012)
    assert set(shapes.ALIGNED) < set(shapes.NAMES) and shapes.SUITES["all"] == shapes.NAMES


def test_families_expand_suites_in_order_without_repeats():
    assert shapes.families("aligned") == shapes.ALIGNED
    assert shapes.families(" box , all")[:2] == ("box", "sphere") and len(shapes.families("box,all")) == len(shapes.NAMES)
    assert shapes.families(["torus", "torus"]) == ("torus",)
    for bad in ("teapot", "box,", ""):
        with pytest.raises(InputError, match="shape"):
            shapes.families(bad)


def test_union_of_boxes_samples_only_the_outer_boundary_by_area():
    """A (|x|, |y|, |z| <= 1) with B (x in [0.5, 2.5], |y|, |z| <= 0.5) stuck into its +x face: the
    boundary of the union is A's 24 minus the 1 covered by B, plus B's 1 + 4 x 1.5 outside A (30 in all)."""
    a, b = ((0, 0, 0), (1, 1, 1)), ((1.5, 0, 0), (1, 0.5, 0.5))
    surface = shapes.Surface(shapes._union_of_boxes([a, b]))
    pos, normals, _ = shapes._sample(surface, 6000, np.random.default_rng(0))

    def inside(box, margin):
        c, h = np.array(box[0], float), np.array(box[1], float)
        return (np.abs(pos - c) < h - margin).all(1)

    def on_face(box):
        c, h = np.array(box[0], float), np.array(box[1], float)
        d = np.abs(pos - c)
        return (d <= h + 1e-12).all(1) & np.isclose(d, h, rtol=0, atol=1e-12).any(1)

    assert not (inside(a, 1e-9) | inside(b, 1e-9)).any()  # nothing from inside the solid
    assert (on_face(a) | on_face(b)).all()
    assert (np.abs(normals).max(1) == 1).all()  # face normals, exactly axis-aligned
    np.testing.assert_allclose((pos[:, 0] > 1 + 1e-9).mean(), 7 / 30, atol=0.02)  # B's share of the area
    assert np.isclose(pos[:, 0], -1).mean() > 3 / 30  # A's -x face (4 of 30) is all there


@pytest.mark.parametrize("name", ["table", "chair", "shelf"])
def test_furniture_faces_sit_on_the_canonical_axes(name):
    cloud = shapes.make(name, 2000, seed=4)
    assert torch.equal(cloud.normals.abs().max(1).values, torch.ones(2000))  # aligned, like ModelNet40's
    counts = torch.bincount(cloud.normals.abs().argmax(1), minlength=3)
    assert (counts > 40).all()  # faces along every axis


@pytest.mark.parametrize("name", shapes.NAMES)
def test_every_family_is_finite_unit_and_deterministic(name):
    cloud = shapes.make(name, 300, noise=0.006, seed=5)
    assert cloud.pos.shape == (300, 3) and cloud.pos.dtype == cloud.normals.dtype == torch.float32
    assert cloud.pos.isfinite().all() and cloud.normals.isfinite().all()
    torch.testing.assert_close(cloud.normals.norm(dim=1), torch.ones(300), atol=1e-6, rtol=0)
    again = shapes.make(name, 300, noise=0.006, seed=5)
    assert torch.equal(cloud.pos, again.pos) and torch.equal(cloud.normals, again.normals)
    assert not torch.equal(cloud.pos, shapes.make(name, 300, noise=0.006, seed=6).pos)
    assert cloud.name == f"{name}_5"


def fd_tangents(fn, u, v, h=1e-6):
    return (fn(u + h, v) - fn(u - h, v)) / (2 * h), (fn(u, v + h) - fn(u, v - h)) / (2 * h)


@pytest.mark.parametrize("name", PARAMETRIC)
def test_parametric_normals_are_orthogonal_to_finite_difference_tangents(name):
    surface = shapes._surface(name, 2)
    pos, normals, aux = shapes._sample(surface, 400, np.random.default_rng(0))
    for k, (fn, _, _) in enumerate(surface.patches):
        sel = aux[:, 0] == k
        if not sel.any():  # a face hidden inside another box of a union
            continue
        u, v = aux[sel, 1], aux[sel, 2]
        np.testing.assert_allclose(fn(u, v), pos[sel], atol=1e-12)  # on the surface
        for t in fd_tangents(fn, u, v):
            t = t / np.linalg.norm(t, axis=1, keepdims=True)
            assert np.abs((t * normals[sel]).sum(1)).max() < 1e-4


def test_exactness_check_can_fail():
    """Negative control: normals taken 1e-3 away in the parameter break the 1e-4 bound."""
    surface = shapes._surface("torus", 2)
    (fn, _, _), = surface.patches
    _, normals, aux = shapes._sample(surface, 400, np.random.default_rng(0))
    t_u, _ = fd_tangents(fn, aux[:, 1] + 1e-3, aux[:, 2])
    t_u /= np.linalg.norm(t_u, axis=1, keepdims=True)
    assert np.abs((t_u * normals).sum(1)).max() > 1e-4


@pytest.mark.parametrize("name", IMPLICIT)
def test_implicit_points_on_level_set_with_gradient_normals(name):
    surface = shapes._surface(name, 2)
    pos, normals, _ = shapes._sample(surface, 400, np.random.default_rng(0))
    assert np.abs(surface.implicit(pos)).max() < 1e-9
    h = 1e-6
    grad = np.stack([(surface.implicit(pos + h * e) - surface.implicit(pos - h * e)) / (2 * h) for e in np.eye(3)], 1)
    grad /= np.linalg.norm(grad, axis=1, keepdims=True)
    assert (1 - np.abs((grad * normals).sum(1))).max() < 1e-8


def test_independent_equations_sphere_ellipsoid_box_cylinder():
    """Surface equations written here from scratch, parameters recovered from the cloud."""
    p = shapes.make("sphere", 500, seed=3).pos.double()
    n = shapes.make("sphere", 500, seed=3).normals.double()
    r = p.norm(dim=1)
    assert r.std() / r.mean() < 1e-6 and (1 - (n * p / r[:, None]).sum(1)).abs().max() < 1e-5

    c = shapes.make("ellipsoid", 500, seed=3)
    p, n = c.pos.double().numpy(), c.normals.double().numpy()
    inv_a2, *_ = np.linalg.lstsq(p**2, np.ones(len(p)), rcond=None)  # x^2/a^2 + y^2/b^2 + z^2/c^2 = 1
    assert np.abs(p**2 @ inv_a2 - 1).max() < 1e-5
    grad = p * inv_a2
    assert (1 - (n * grad).sum(1) / np.linalg.norm(grad, axis=1)).max() < 1e-6  # outward too

    c = shapes.make("box", 500, seed=3)
    p, n = c.pos.double().numpy(), c.normals.double().numpy()
    half = np.abs(p).max(0)
    on = np.isclose(np.abs(p), half, rtol=1e-6)
    assert on.any(1).all()
    axis = on.argmax(1)
    expected = np.eye(3)[axis] * np.sign(p[np.arange(len(p)), axis])[:, None]
    np.testing.assert_allclose(n, expected, atol=1e-7)  # canonical pose: axis-aligned normals

    c = shapes.make("cylinder", 500, seed=3)
    p, n = c.pos.double().numpy(), c.normals.double().numpy()
    cap = np.isclose(np.abs(p[:, 2]), np.abs(p[:, 2]).max(), rtol=1e-6)
    np.testing.assert_allclose(n[cap], np.sign(p[cap, 2:]) * [0, 0, 1], atol=1e-7)
    side = p[~cap]
    inv_ab2, *_ = np.linalg.lstsq(side[:, :2] ** 2, np.ones(len(side)), rcond=None)
    assert np.abs(side[:, :2] ** 2 @ inv_ab2 - 1).max() < 1e-5
    grad = np.concatenate([side[:, :2] * inv_ab2, 0 * side[:, :1]], 1)
    assert (1 - (n[~cap] * grad).sum(1) / np.linalg.norm(grad, axis=1)).max() < 1e-6


def test_twisted_box_normals_follow_inverse_transpose_jacobian():
    """Untwist each point back onto the box, take the box face normal n0, check n ~ J^{-T} n0."""
    surface = shapes._surface("twisted_box", 4)
    rate, half = surface.params["rate"], surface.params["half"]
    pos, normals, _ = shapes._sample(surface, 300, np.random.default_rng(1))
    z = pos[:, 2]
    c, s = np.cos(rate * z), np.sin(rate * z)
    box = np.stack([c * pos[:, 0] + s * pos[:, 1], -s * pos[:, 0] + c * pos[:, 1], z], 1)
    on = np.isclose(np.abs(box), half, rtol=1e-9)
    assert on.any(1).all()
    axis = on.argmax(1)
    n0 = np.eye(3)[axis] * np.sign(box[np.arange(len(box)), axis])[:, None]
    jac = np.zeros((len(z), 3, 3))  # J of x -> (R(rate z) (x, y), z) at the box point
    jac[:, 0, 0], jac[:, 0, 1], jac[:, 1, 0], jac[:, 1, 1], jac[:, 2, 2] = c, -s, s, c, 1
    jac[:, 0, 2] = rate * (-s * box[:, 0] - c * box[:, 1])
    jac[:, 1, 2] = rate * (c * box[:, 0] - s * box[:, 1])
    expected = np.linalg.solve(np.transpose(jac, (0, 2, 1)), n0[..., None])[..., 0]
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(normals, expected, atol=1e-9)  # same orientation (det J = 1)


def test_sampling_is_area_uniform():
    # Archimedes: z is uniform on a sphere; an implicit sphere must match (shell sampler)
    implicit = shapes.Surface(implicit=lambda x: (x * x).sum(1) - 1, bounds=(-1.1 * np.ones(3), 1.1 * np.ones(3)))
    for surface in (shapes._surface("sphere", 0), implicit):
        pos, _, _ = shapes._sample(surface, 4000, np.random.default_rng(0))
        z = np.sort(pos[:, 2] / np.linalg.norm(pos, axis=1).mean())
        assert np.abs(z - np.linspace(-1, 1, len(z))).max() < 0.07  # KS-type bound, ~2x the 5% level
    # a box's faces in proportion to their areas
    p = shapes.make("box", 6000, seed=1).pos.double().numpy()
    half = np.abs(p).max(0)
    counts = np.bincount(np.isclose(np.abs(p), half, rtol=1e-6).argmax(1), minlength=3)
    areas = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]])
    np.testing.assert_allclose(counts / counts.sum(), areas / areas.sum(), atol=0.02)


def test_noise_scales_with_the_bounding_box_diagonal():
    for level in shapes.NOISE_LEVELS[1:]:
        clean = shapes.make("torus", 3000, noise=0.0, seed=7)
        noisy = shapes.make("torus", 3000, noise=level, seed=7)
        assert torch.equal(clean.normals, noisy.normals)  # normals of the clean points
        p = clean.pos.double()
        diagonal = (p.max(0).values - p.min(0).values).norm()
        ratio = (noisy.pos.double() - p).std() / (level * diagonal)
        assert 0.95 < ratio < 1.05


def test_nonuniform_density_is_skewed_and_uniform_is_not():
    def skew(cloud):
        p = cloud.pos.double()
        t = (p - p.min(0).values) / (p.max(0).values - p.min(0).values)
        upper = (t > 0.5).double().mean(0)
        return float(torch.maximum(upper / (1 - upper), (1 - upper) / upper).max())

    assert skew(shapes.make("sphere", 3000, seed=2)) < 1.15
    assert skew(shapes.make("sphere", 3000, seed=2, density="gradient")) > 1.8
    striped = shapes.make("sphere", 3000, seed=2, density="striped")
    assert len(striped) == 3000 and not torch.equal(striped.pos, shapes.make("sphere", 3000, seed=2).pos)
    assert len(shapes.make("blob", 200, density="nonuniform")) == 200


def test_make_dataset_cycles_families_with_disjoint_seeds():
    train = shapes.make_dataset(5, 64, noise=0.00125, names=("sphere", "cone"))
    test = shapes.make_dataset(2, 64, seed=shapes.TEST_SEED, names=("sphere", "cone"))
    assert [c.name for c in train] == ["sphere_0", "cone_1", "sphere_2", "cone_3", "sphere_4"]
    assert [c.name for c in test] == ["sphere_1000000", "cone_1000001"]
    assert torch.equal(train[3].pos, shapes.make("cone", 64, 0.00125, seed=3).pos)


def test_make_rejects_bad_arguments():
    for kwargs, match in [
        (dict(name="teapot"), "unknown shape"),
        (dict(density="spotty"), "unknown density"),
        (dict(n_points=5), "n_points"),
        (dict(noise=-0.1), "noise"),
        (dict(seed=-1), "seed"),
    ]:
        with pytest.raises(InputError, match=match):
            shapes.make(**{"name": "sphere", "n_points": 64, **kwargs})
