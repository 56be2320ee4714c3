"""The examples in docs/validation.md run as they are written."""

from __future__ import annotations

import doctest

from tests.conftest import REPO


def test_validation_page_examples() -> None:
    page = REPO / "docs" / "validation.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6
    assert result.failed == 0
