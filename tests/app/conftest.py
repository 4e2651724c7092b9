"""Shared fixtures for the app tests: the repository root on sys.path, the script path, small settings."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAIN = str(ROOT / "app" / "main.py")
SMALL = {"n_points": "300"}  # keeps every AppTest run around a second after the first


@pytest.fixture
def app_test():
    """A factory: a fresh AppTest of the explorer with the given URL query parameters, already run."""
    from streamlit.testing.v1 import AppTest

    def make(**query: str):
        at = AppTest.from_file(MAIN, default_timeout=120)
        for name, value in {**SMALL, **query}.items():
            at.query_params[name] = value
        return at.run()

    return make
