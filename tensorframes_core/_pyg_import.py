"""PyG's package import without ``torch._dynamo``: about 1 s less for every process that loads a model.

PyG 2.8 (``torch_geometric/isinstance.py``) runs ``import torch._dynamo`` while it initialises, only to
bind the name for a later ``isinstance`` check against compiled modules; importing torch's compiler
stack costs about 1 s, more than the rest of a cold ``load_pretrained()`` (``benchmarks/startup.py``).
While (and only while) ``torch_geometric`` initialises, ``torch._dynamo`` is a placeholder module: any
attribute read through it imports the real module and forwards. Afterwards the placeholder is gone, so
the first real use (``torch.compile``, ``is_torch_instance``) imports ``torch._dynamo`` as usual.
Nothing changes where PyG or ``torch._dynamo`` was imported before this package.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any, Optional, Sequence

DYNAMO, PYG = "torch._dynamo", "torch_geometric"


class _Placeholder(types.ModuleType):
    """Stands in for ``torch._dynamo`` while PyG initialises; reading an attribute imports the real one."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(DYNAMO) is self:
            del sys.modules[DYNAMO]
        return getattr(importlib.import_module(DYNAMO), name)


class _DeferDynamoLoader(importlib.abc.Loader):
    """PyG's own loader, run with the placeholder in ``sys.modules``; everything else is forwarded."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        placeholder = None
        if DYNAMO not in sys.modules:
            placeholder = sys.modules[DYNAMO] = _Placeholder(DYNAMO)
        try:
            self.loader.exec_module(module)
        finally:
            if placeholder is not None and sys.modules.get(DYNAMO) is placeholder:
                del sys.modules[DYNAMO]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class _PygFinder(importlib.abc.MetaPathFinder):
    """Finds ``torch_geometric`` once (then leaves ``sys.meta_path``) and wraps its loader."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None):
        if fullname != PYG:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(PYG)
        if spec is not None and spec.loader is not None and DYNAMO not in sys.modules:
            spec.loader = _DeferDynamoLoader(spec.loader)
        return spec


def defer_dynamo_during_pyg_import() -> None:
    """Install the finder, unless PyG or ``torch._dynamo`` is already imported (then nothing to save)."""
    if PYG not in sys.modules and DYNAMO not in sys.modules and not any(
            isinstance(finder, _PygFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PygFinder())
