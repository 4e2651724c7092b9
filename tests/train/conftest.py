"""Fixtures for the training tests; the shared settings live in train_helpers.py."""
import pytest
from train_helpers import TINY, TINY_SIZE

from tensorframes_core.models import build_model
from tensorframes_core.train import TrainConfig


@pytest.fixture
def tiny_config(tmp_path):
    """``tiny_config(**overrides)`` -> a TrainConfig writing to ``tmp_path / "run"`` unless told otherwise."""
    def make(**overrides):
        return TrainConfig(**{**TINY, "out": str(tmp_path / "run"), **overrides})
    return make


@pytest.fixture
def tiny_model():
    return build_model("gcn", "tensor_frames", "pca", **TINY_SIZE)
