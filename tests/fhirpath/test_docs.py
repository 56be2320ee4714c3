"""The examples in docs/fhirpath.md run as they are written."""

from __future__ import annotations

import doctest

from tests.conftest import REPO


def test_fhirpath_page_examples() -> None:
    page = REPO / "docs" / "fhirpath.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0
