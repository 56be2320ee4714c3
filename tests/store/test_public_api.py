"""The package's public API: a sorted ``__all__`` whose names all exist."""

from __future__ import annotations

import yteso.store


def test_all_is_sorted_and_importable() -> None:
    assert yteso.store.__all__ == sorted(yteso.store.__all__)
    for name in yteso.store.__all__:
        assert getattr(yteso.store, name) is not None
