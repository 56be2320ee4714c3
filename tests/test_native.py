"""The compiled hot path (yteso.native): compiled only when current, all or none, YTESO_PURE."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, SourceFileLoader
from pathlib import Path

import pytest

from yteso import native

PACKAGE_DIR = Path(native.PACKAGE_DIR)
BUILT = native.stale_modules() == []  # this install holds a current compiled build
CI = os.environ.get("CI") == "true"
PURE_REQUESTED = os.environ.get("YTESO_PURE", "") not in ("", "0")

# Prints the decision, then each compiled module's loader, one per line.
PROBE = """
import importlib, yteso, yteso.native as n
print(n.mode)
for name in n.COMPILED:
    print(name, type(importlib.import_module(name).__loader__).__name__)
for name in n.C_EXTENSIONS:
    print("C", name, n.c_extension(name) is not None)
"""


def fake_package(root: Path, record: bool = True) -> Path:
    """A package directory with every compiled module's source and extension file."""
    for module in native.built_modules():
        source = Path(native.source_path(module, str(root)))
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n", encoding="utf-8")
        source.with_suffix(EXTENSION_SUFFIXES[0]).write_bytes(b"")
    if record:
        text = native.build_record(native.built_modules(), str(root))
        (root / native.BUILD_RECORD).write_text(text, encoding="utf-8")
    return root


def test_a_current_build_is_not_stale(tmp_path: Path) -> None:
    assert native.stale_modules(str(fake_package(tmp_path))) == []


def test_no_build_record_means_no_compiled_build(tmp_path: Path) -> None:
    assert native.stale_modules(str(fake_package(tmp_path, record=False))) is None


def test_an_edited_source_or_a_missing_extension_is_stale(tmp_path: Path) -> None:
    root = fake_package(tmp_path)
    edited, removed = native.COMPILED[3], native.COMPILED[-1]
    source = Path(native.source_path(edited, str(root)))
    source.write_text(source.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    Path(native.source_path(removed, str(root))[:-3] + EXTENSION_SUFFIXES[0]).unlink()
    assert native.stale_modules(str(root)) == [edited, removed]


def test_a_module_added_to_the_list_after_the_build_is_stale(tmp_path: Path) -> None:
    root = fake_package(tmp_path)
    record = root / native.BUILD_RECORD
    lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
    record.write_text("".join(lines[1:]), encoding="utf-8")
    assert native.stale_modules(str(root)) == [native.COMPILED[0]]


def probe(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Imports yteso from ``root`` (a copy of the installed package) in a fresh interpreter."""
    environment = {k: v for k, v in os.environ.items() if k not in ("YTESO_PURE", "PYTHONPATH")}
    environment.update(env, PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", PROBE],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def loaders(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines()[1:] if not line.startswith("C ")}


def c_extensions_handed_out(output: str) -> dict[str, bool]:
    """Per C extension, whether ``c_extension`` gave the module (else: the Python twin runs)."""
    lines = [line.split() for line in output.splitlines() if line.startswith("C ")]
    return {name: given == "True" for _, name, given in lines}


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    if not BUILT:
        if CI and not PURE_REQUESTED:
            pytest.fail("CI=true: the compiled build is missing or stale (pip install -e .)")
        pytest.skip("no current compiled build in this install")
    shutil.copytree(PACKAGE_DIR, tmp_path / "yteso", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_fresh_build_runs_compiled(package_copy: Path) -> None:
    result = probe(package_copy)
    assert result.stdout.splitlines()[0] == "compiled"
    assert loaders(result.stdout) == {ExtensionFileLoader.__name__}
    assert c_extensions_handed_out(result.stdout) == dict.fromkeys(native.C_EXTENSIONS, True)
    assert "older than their sources" not in result.stderr


def test_an_edited_source_runs_every_compiled_module_from_source(package_copy: Path) -> None:
    edited = "yteso.store.text_folding"
    source = Path(native.source_path(edited, str(package_copy / "yteso")))
    source.write_text(source.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = probe(package_copy)
    assert result.stdout.splitlines()[0] == "stale"
    assert loaders(result.stdout) == {SourceFileLoader.__name__}
    assert c_extensions_handed_out(result.stdout) == dict.fromkeys(native.C_EXTENSIONS, False)
    assert result.stderr.count("older than their sources") == 1
    assert edited in result.stderr


def test_yteso_pure_runs_every_compiled_module_from_source(package_copy: Path) -> None:
    result = probe(package_copy, YTESO_PURE="1")
    assert result.stdout.splitlines()[0] == "pure"
    assert loaders(result.stdout) == {SourceFileLoader.__name__}
    assert c_extensions_handed_out(result.stdout) == dict.fromkeys(native.C_EXTENSIONS, False)
    assert "older than their sources" not in result.stderr


@pytest.mark.skipif(not CI or PURE_REQUESTED, reason="CI=true without YTESO_PURE only")
def test_ci_tests_the_compiled_build() -> None:
    # CI measures and tests what production runs: the compiled modules, not their sources
    assert native.mode == "compiled"
    for name in native.COMPILED:
        assert isinstance(importlib.import_module(name).__loader__, ExtensionFileLoader), name
    for name in native.C_EXTENSIONS:
        module = native.c_extension(name)
        assert module is not None and isinstance(module.__loader__, ExtensionFileLoader), name


def test_only_listed_c_extensions_are_handed_out() -> None:
    with pytest.raises(ValueError, match="C_EXTENSIONS"):
        native.c_extension("yteso.store.index_rows")
