import math

import pytest
import torch

from tensorframes_core.equivariance import random_orthogonal
from tensorframes_core.train.metrics import abs_cosine, angle_error, cosine_loss, summarize


def directions(degrees, dtype=torch.float64):
    rad = torch.deg2rad(torch.tensor(degrees, dtype=dtype))
    return torch.stack([torch.cos(rad), torch.sin(rad), torch.zeros_like(rad)], dim=-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_known_angles_are_unoriented(dtype):
    pred = directions([0.0, 90.0, 180.0, 45.0, 135.0, 30.0, 210.0], dtype)
    target = directions([0.0] * 7, dtype) * 3.0  # lengths do not matter
    expected = torch.tensor([0.0, 90.0, 0.0, 45.0, 45.0, 30.0, 30.0], dtype=torch.float64)
    torch.testing.assert_close(angle_error(pred, target).double(), expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(cosine_loss(pred, target).double(), (1 - torch.cos(torch.deg2rad(expected))).mean(),
                               atol=1e-6, rtol=0)


def test_small_angles_are_accurate_in_float32():
    # arccos(cos) in float32 cannot resolve 1e-4 degrees (it returns 0 or ~0.02); atan2 does
    err = angle_error(directions([1e-4], torch.float32), directions([0.0], torch.float32))
    assert abs(float(err) - 1e-4) < 1e-6


def test_degenerate_inputs_are_safe():
    pred = torch.tensor([[0.0, 0.0, 0.0], [1e-30, 0.0, 0.0], [1.0, 0.0, 0.0]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(angle_error(pred, target), torch.full((3,), 90.0))
    loss = cosine_loss(pred, target)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(1.0) and torch.isfinite(pred.grad).all()
    assert torch.isnan(angle_error(torch.full((1, 3), float("nan")), target[:1])).all()  # NaN is reported, not hidden


def test_loss_gradient_at_perfect_prediction_is_finite():
    pred = directions([0.0, 180.0]).requires_grad_(True)
    cosine_loss(pred, directions([0.0, 0.0])).backward()
    assert torch.isfinite(pred.grad).all()


def test_errors_are_o3_invariant_and_the_check_can_fail():
    g = torch.Generator().manual_seed(0)
    pred, target = (torch.randn(50, 3, generator=g, dtype=torch.float64) for _ in range(2))
    q = random_orthogonal(d=3, dtype=torch.float64, generator=g)
    q = q * torch.tensor([[-1.0], [1.0], [1.0]], dtype=torch.float64) if torch.linalg.det(q) > 0 else q  # a reflection
    torch.testing.assert_close(angle_error(pred @ q.T, target @ q.T), angle_error(pred, target), atol=1e-9, rtol=0)
    assert (angle_error(pred @ q.T, target) - angle_error(pred, target)).abs().max() > 1.0  # turning one side only


def test_summary_values():
    errors = torch.tensor([0.0, 4.0, 5.0, 9.0, 12.0, 60.0])
    s = summarize(errors)
    assert s["mean"] == pytest.approx(15.0) and s["n"] == 6
    assert s["median"] == pytest.approx(5.0)  # the lower middle value for an even count
    assert s["pct_5"] == pytest.approx(100 * 2 / 6) and s["pct_10"] == pytest.approx(100 * 4 / 6)  # strict <
    assert s["rms"] == pytest.approx(math.sqrt(float((errors ** 2).mean())))
    assert s["abs_cos"] == pytest.approx(float(torch.cos(torch.deg2rad(errors.double())).mean()))


def test_rms_follows_pcpnet_per_cloud_average():
    errors = torch.tensor([3.0, 4.0, 0.0, 0.0, 0.0, 0.0])
    cloud = torch.tensor([7, 7, 2, 2, 2, 2])  # any labels; clouds weigh the same whatever their size
    assert summarize(errors, cloud)["rms"] == pytest.approx(math.sqrt(12.5) / 2)
    assert summarize(errors)["rms"] == pytest.approx(math.sqrt(25 / 6))
    with pytest.raises(ValueError):
        summarize(torch.zeros(0))


def test_abs_cosine_range():
    g = torch.Generator().manual_seed(1)
    c = abs_cosine(torch.randn(100, 3, generator=g), torch.randn(100, 3, generator=g))
    assert (c >= 0).all() and (c <= 1).all()
