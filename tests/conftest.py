"""Test-wide set-up: ``tests/`` on sys.path, so every test module can ``from float_tolerance import tol``."""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
