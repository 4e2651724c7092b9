"""PyG is imported without torch._dynamo (``tensorframes_core/_pyg_import.py``), and compiling still works.

Each check runs in a fresh interpreter: this test process has imported PyG already.
"""
import subprocess
import sys

import pytest

LOAD = """
import sys, torch, tensorframes_core as tf
model = tf.load_pretrained()
with torch.no_grad():
    tf.estimate_normals(torch.randn(300, 3))
assert "torch._dynamo" not in sys.modules, "the model's load and run imported torch._dynamo"
assert not any(type(f).__name__ == "_PygFinder" for f in sys.meta_path), "the finder stayed installed"
"""

COMPILE_AFTER = LOAD + """
import importlib, torch_geometric
compiled = torch.compile(torch.nn.Linear(3, 3), backend="eager")
assert compiled(torch.ones(1, 3)).shape == (1, 3)
assert torch_geometric.is_torch_instance(compiled, torch.nn.Linear)
import torch._dynamo.backends.registry as registry
assert torch._dynamo is sys.modules["torch._dynamo"]
assert torch._dynamo.backends.registry is registry, "a torch._dynamo submodule was imported twice"
assert type(torch._dynamo).__name__ == "module"
"""

DYNAMO_FIRST = """
import sys, torch, torch._dynamo, tensorframes_core as tf
tf.load_pretrained()
import torch_geometric
assert type(torch_geometric.__spec__.loader).__name__ != "_DeferDynamoLoader"
"""


@pytest.mark.parametrize("code", [LOAD, COMPILE_AFTER, DYNAMO_FIRST], ids=["load", "compile-after", "dynamo-first"])
def test_pyg_loads_without_dynamo_and_compiling_still_works(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
