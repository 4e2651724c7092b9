"""Fuzz: random bytes, bit flips, truncations of valid files and .npy points past float32's range give a cloud or InputError only.

CI runs a quick profile (16 cases per format); `make fuzz` sets TFE_FUZZ_EXAMPLES for the long one.
"""
import io
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorframes_core.data import FORMATS, InputError, PointCloud, load_point_cloud


def huge_npy(data: st.DataObject) -> bytes:
    """A .npy of float64 points some of which lie beyond float32's range (finite only in float64)."""
    pts = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).normal(size=(40, 3))
    rows = data.draw(st.lists(st.integers(0, 39), min_size=1, max_size=5))
    pts[rows] *= data.draw(st.sampled_from([1e19, 1e38, 1e39, 1e300]))
    buf = io.BytesIO()
    np.save(buf, pts)
    return buf.getvalue()


def mutate(data: st.DataObject, base: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["random", "flip", "truncate", "huge"]))
    if kind == "random":
        return data.draw(st.binary(max_size=600))
    if kind == "huge":
        return huge_npy(data)
    if kind == "truncate":
        return base[: data.draw(st.integers(0, len(base)))]
    out = bytearray(base)
    flips = st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 7)), min_size=1, max_size=8)
    for pos, bit in data.draw(flips):
        out[pos] ^= 1 << bit
    return bytes(out)


@pytest.mark.parametrize("ext", FORMATS)
@settings(max_examples=int(os.environ.get("TFE_FUZZ_EXAMPLES", "16")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_loader_never_raises_anything_but_input_error(valid_files, ext, data):
    blob = mutate(data, valid_files[ext])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cloud = load_point_cloud(blob, filename="fuzz" + ext, n_points=32)
        except InputError:
            return
    assert isinstance(cloud, PointCloud)
    assert cloud.pos.isfinite().all() and 8 <= len(cloud) <= 32
    if cloud.normals is not None:
        assert cloud.normals.isfinite().all()
