"""PointCloud helpers and the shared validate_cloud checks."""
import numpy as np
import pytest
import torch

from tensorframes_core.data import MAX_POINTS, InputError, PointCloud, validate_cloud


def test_validate_returns_float32_unit_normals_from_any_array_like():
    pos = torch.randn(20, 3, dtype=torch.float64)
    normals = 3 * torch.randn(20, 3)
    cloud = validate_cloud(pos, normals, name="c")
    assert cloud.pos.dtype == cloud.normals.dtype == torch.float32 and cloud.name == "c"
    torch.testing.assert_close(cloud.normals, torch.nn.functional.normalize(normals, dim=1))
    assert normals.abs().max() > 1.5  # the input was not normalised in place
    assert len(validate_cloud(pos.tolist())) == 20


@pytest.mark.parametrize(
    "pos, normals, match",
    [
        (np.zeros((20, 2)), None, r"shape \(N, 3\)"),
        (np.zeros((2, 10, 3)), None, r"shape \(N, 3\)"),
        ("not numbers", None, "numbers"),
        (np.random.rand(7, 3), None, "at least 8 points; got 7"),
        (np.full((9, 3), np.inf), None, "NaN or infinite"),
        (np.ones((9, 3)), None, "identical"),
        (np.random.rand(9, 3) * 1e39, None, "overflow float32"),  # finite in float64, inf in float32
        (np.random.rand(9, 3) * 3e19, None, "overflow float32"),  # squared distances would be inf
        (np.random.rand(9, 3), np.ones((8, 3)), "8 normals for 9 points"),
        (np.random.rand(9, 3), np.full((9, 3), np.nan), "normals are NaN"),
    ],
)
def test_validate_rejects(pos, normals, match):
    with pytest.raises(InputError, match=match):
        validate_cloud(pos, normals)


def test_too_many_points_raise_or_subsample_with_warning():
    pos, normals = np.random.rand(50, 3), np.random.rand(50, 3) + 0.1
    assert MAX_POINTS == 2_000_000
    with pytest.raises(InputError, match="too many points: 50 > 20; pass n_points"):
        validate_cloud(pos, max_points=20)
    with pytest.warns(UserWarning, match="subsampling 50 points to 20"):
        cloud = validate_cloud(pos, normals, n_points=20, seed=4)
    with pytest.warns(UserWarning):
        again = validate_cloud(pos, normals, n_points=20, seed=4)
    assert len(cloud) == 20 and torch.equal(cloud.pos, again.pos)
    rows = [int(np.argmin(np.abs(pos - p).sum(1))) for p in cloud.pos.double().numpy()]
    assert rows == sorted(rows)  # original order kept, normals paired with their points
    expected = normals[rows] / np.linalg.norm(normals[rows], axis=1, keepdims=True)
    np.testing.assert_allclose(cloud.normals.numpy(), expected, atol=1e-6)
    with pytest.raises(InputError, match="n_points must be at least 8"):
        validate_cloud(pos, n_points=4)


def test_zero_normals_dropped_with_warning():
    normals = np.ones((9, 3))
    normals[2] = 0
    with pytest.warns(UserWarning, match="1 normals have zero length"):
        assert validate_cloud(np.random.rand(9, 3), normals).normals is None


def test_point_cloud_helpers():
    cloud = PointCloud(torch.arange(60.0).view(20, 3), torch.ones(20, 3), "x")
    sub = cloud.subsample(5, seed=2)
    assert len(sub) == 5 and sub.name == "x" and torch.equal(sub.pos, cloud.subsample(5, seed=2).pos)
    assert (sub.pos[1:, 0] > sub.pos[:-1, 0]).all()
    assert not torch.equal(sub.pos, cloud.subsample(5, seed=3).pos)
    data = cloud.to_data()
    assert torch.equal(data.pos, cloud.pos) and torch.equal(data.normal, cloud.normals)
    with pytest.raises(InputError):
        cloud.subsample(0)
