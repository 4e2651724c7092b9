"""Lazy re-exports (PEP 562): a package names its API and imports each part on first use, so that a
command which needs little (``tensorframes normals --method pca``) does not pay for PyG and friends."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Tuple


def lazy_exports(package: str, exports: Dict[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``package``; ``exports`` maps a name to ``"module:attribute"`` or to
    ``"module"`` (the name is that module itself).

    >>> getattr_, _ = lazy_exports("demo", {"sqrt": "math:sqrt"})
    >>> getattr_("sqrt")(4.0)
    2.0
    """
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = exports[name].partition(":")
        value = importlib.import_module(module)
        return getattr(value, attribute) if attribute else value

    def __dir__() -> List[str]:
        return sorted(exports)

    return __getattr__, __dir__
