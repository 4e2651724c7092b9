"""return_aux contents (the frame change on the first layer's edges) and the augment mode's train/eval behaviour."""
import pytest
import torch

from conftest import NETWORKS, TINY, two_clouds
from tensorframes_core.models import build_model
from tensorframes_core.reps import as_reps


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames", "baseline"])
def test_aux_shapes_and_frame_change(arch, mode):
    model = build_model(arch, mode, "pca", **TINY[arch]).double().eval()
    data = two_clouds(48)
    normals, aux = model(data, return_aux=True)
    torch.testing.assert_close(normals, model(data))
    n, (two, e) = 96, aux["edge_index"].shape
    reps = as_reps(aux["reps"])
    assert two == 2 and e > 0 and aux["edge_index"].max() < n
    assert aux["frames"].shape == (n, 3, 3) and aux["fallback_mask"].shape == (n,)
    assert aux["fallback_mask"].dtype == torch.bool
    assert aux["sent"].shape == aux["received"].shape == (e, reps.dim) and reps.dim > 3  # contains a vector
    R = aux["frames"]
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3, dtype=R.dtype).expand(n, 3, 3))
    if mode == "baseline":
        assert torch.equal(R, torch.eye(3, dtype=R.dtype).expand(n, 3, 3))
    j, i = aux["edge_index"]
    assert (data.batch[j] == data.batch[i]).all()  # messages never cross clouds
    if mode == "scalar_frames":
        assert torch.equal(aux["received"], aux["sent"])
    else:  # rho(R_i R_j^T) sent, with rho built by the reps: independent of the layer code
        expected = (reps.rho(R[i] @ R[j].transpose(1, 2)) @ aux["sent"].unsqueeze(-1)).squeeze(-1)
        torch.testing.assert_close(aux["received"], expected, atol=1e-12, rtol=0)
    if mode == "tensor_frames":
        assert not torch.allclose(aux["received"], aux["sent"])


@pytest.mark.parametrize("arch", NETWORKS)
def test_augment_random_in_training_baseline_in_eval(arch):
    torch.manual_seed(0)
    augment = build_model(arch, "augment", **TINY[arch])
    baseline = build_model(arch, "baseline", **TINY[arch])
    baseline.load_state_dict(augment.state_dict())  # same body: same parameters
    data = two_clouds(48, torch.float32)
    augment.train()
    torch.manual_seed(1)
    first, aux = augment(data, return_aux=True)
    torch.manual_seed(2)
    second = augment(data)
    assert (first - second).abs().max() > 1e-3
    R = aux["frames"]
    assert torch.allclose(R[data.batch == 0], R[0].expand(48, 3, 3))  # one frame per cloud
    assert not torch.allclose(R[0], R[-1])
    augment.eval(), baseline.eval()
    torch.testing.assert_close(augment(data), baseline(data), atol=0, rtol=0)


@pytest.mark.parametrize("arch", NETWORKS)
def test_augment_training_is_the_plain_network_on_turned_clouds(arch):
    """Augment skips the frame change (R_i R_j^T = I inside a cloud): in training it must equal the
    baseline network run on each cloud turned by that cloud's random frame, turned back."""
    torch.manual_seed(0)
    augment = build_model(arch, "augment", **TINY[arch]).double().train()
    baseline = build_model(arch, "baseline", **TINY[arch]).double().eval()
    baseline.load_state_dict(augment.state_dict())
    data = two_clouds(48, torch.float64)
    normals, aux = augment(data, return_aux=True)
    for c in range(2):
        sel = data.batch == c
        Q = aux["frames"][sel][0]
        assert abs(abs(float(torch.linalg.det(Q))) - 1) < 1e-12 and not torch.allclose(Q, torch.eye(3, dtype=Q.dtype))
        torch.testing.assert_close(normals[sel], baseline(data.pos[sel] @ Q.T) @ Q, atol=1e-10, rtol=0)
