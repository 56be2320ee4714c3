"""Each package's public API is its ``__init__.__all__``: sorted, and every name importable."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import yteso


def _packages() -> list[str]:
    names = ["yteso"]
    for info in pkgutil.walk_packages(yteso.__path__, "yteso."):
        if info.ispkg and ".data" not in info.name:
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _packages())
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        public = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and n != "annotations" and not isinstance(v, ModuleType)
        ]
        assert not public, f"{name} defines public names {public} but no __all__"
        return
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names missing {symbol}"
