"""Which modules are compiled with mypyc, and whether their compiled build may run.

The bulk loader's hot path (parse, structure validation, FHIRPath invariants, stamping, index
rows) is compiled by ``setup.py`` into one mypyc group: the same sources, ~30% less CPU per
resource (docs/dev/native.md). The build records a CRC-32 of each compiled module's source in
``native_build.txt`` beside this file. :func:`select` runs at ``import yteso``: if that record is
missing or any source changed since (an editable install edited and not rebuilt), or
``YTESO_PURE=1`` is set, every compiled module loads from its ``.py`` instead. All or none:
modules of one group call each other natively, so a fresh module would still call a stale one.

Hand-written C extensions (``C_EXTENSIONS``) join the same build, record and rule: each is the
twin of a pure-Python function its caller keeps, and :func:`c_extension` hands it out only
while the compiled build is current, so ``YTESO_PURE=1`` or a stale build runs the Python twin.

Standard library only: ``setup.py`` loads this file before anything is installed.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from collections.abc import Sequence
from importlib import import_module
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from types import ModuleType

# Hand-written C twins of hot pure-Python functions (docs/dev/native.md, "C extensions"):
# ``yteso.store._x`` is built from ``yteso/store/_x.c``. Chosen by measurement, like COMPILED.
C_EXTENSIONS: tuple[str, ...] = (
    "yteso.fhir.validation._structure",  # the structure walk's verdict (validation.verdict)
    "yteso.store._text",  # index_rows.fold_content and fold_narrative
    "yteso.store._builders",  # index_builders' token, date, reference, string, quantity rows
    "yteso.store._blocks",  # copy_format.copy_tables, index_blocks.value_groups
)
# Chosen by measurement (docs/benchmarks.md): the worker's path through the bulk loader. Not
# here: modules whose tests monkeypatch functions the group would call natively (bulk_load,
# search_filters, sql_store), and those where compiling measured no gain.
COMPILED: tuple[str, ...] = (
    "yteso.fhir.json_codec",
    "yteso.fhir.validation.primitives",
    "yteso.fhir.validation.references",
    "yteso.fhir.validation.specs",
    "yteso.fhir.validation.structure",
    "yteso.fhirpath.invariant_rules",
    "yteso.fhirpath.invariant_shortcuts",
    "yteso.fhirpath.invariants",
    "yteso.fhirpath.plain_walks",
    "yteso.store.bulk_prepare",
    "yteso.store.compartments",
    "yteso.store.composite_rows",
    "yteso.store.copy_binary",
    "yteso.store.copy_format",
    "yteso.store.date_ranges",
    "yteso.store.index_blocks",
    "yteso.store.index_builders",
    "yteso.store.index_rows",
    "yteso.store.index_tables",
    "yteso.store.index_values",
    "yteso.store.meta_stamp",
    "yteso.store.text_folding",
    "yteso.store.validation_gate",
)
# The group's shared library: yteso/_native__mypyc.*.so, importable wherever yteso is.
GROUP = "yteso._native"
BUILD_RECORD = "native_build.txt"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# What select() decided: "compiled", "pure" (YTESO_PURE=1), "stale" or "absent" (no build).
mode = "absent"


def source_path(module: str, package_dir: str = PACKAGE_DIR) -> str:
    """``yteso.store.index_rows`` -> ``<package_dir>/store/index_rows.py``; a C extension's
    source is its ``.c`` file."""
    suffix = ".c" if module in C_EXTENSIONS else ".py"
    return os.path.join(package_dir, *module.split(".")[1:]) + suffix


def built_modules() -> tuple[str, ...]:
    """Everything the build compiles and records: the mypyc group and the C extensions."""
    return COMPILED + C_EXTENSIONS


def source_checksum(path: str) -> str:
    """CRC-32 of a source file: change detection, not security (hashlib's import alone costs
    ~2 ms at every start; zlib is loaded already)."""
    with open(path, "rb") as file:
        return f"{zlib.crc32(file.read()):08x}"


def build_record(modules: Sequence[str], package_dir: str) -> str:
    """The text of ``native_build.txt``: one ``module checksum`` line per compiled module."""
    return "".join(
        f"{module} {source_checksum(source_path(module, package_dir))}\n" for module in modules
    )


def stale_modules(package_dir: str = PACKAGE_DIR) -> list[str] | None:
    """Compiled modules whose source or extension no longer matches the build; None when there
    is no build record (a pure install), [] when the compiled build is current."""
    try:
        with open(os.path.join(package_dir, BUILD_RECORD), encoding="utf-8") as file:
            recorded = dict(line.split() for line in file if line.strip())
    except OSError:
        return None
    built = built_modules()
    stale = [module for module in built if module not in recorded]
    for module, checksum in recorded.items():
        source = source_path(module, package_dir)
        extension = os.path.splitext(source)[0] + EXTENSION_SUFFIXES[0]
        try:
            current = source_checksum(source)
        except OSError:
            current = ""
        if current != checksum or not os.path.exists(extension) or module not in built:
            stale.append(module)
    return stale


class _SourceFinder(MetaPathFinder):
    """Loads the compiled modules from their ``.py`` files, ahead of the extension beside it."""

    def __init__(self, modules: Sequence[str], package_dir: str) -> None:
        self.sources = {module: source_path(module, package_dir) for module in modules}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        return None if source is None else spec_from_file_location(fullname, source)


def select() -> str:
    """Decide once, before any compiled module is imported, whether they run compiled."""
    global mode
    stale: list[str] | None = None
    if any(module in sys.modules for module in COMPILED):
        return mode  # decided already (select() is idempotent)
    if os.environ.get("YTESO_PURE", "") not in ("", "0"):
        mode = "pure"
    else:
        stale = stale_modules()
        mode = "absent" if stale is None else "stale" if stale else "compiled"
    if mode != "compiled" and not any(type(f) is _SourceFinder for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder(COMPILED, PACKAGE_DIR))
    if mode == "stale":
        warnings.warn(
            f"yteso: compiled modules are older than their sources ({', '.join(stale or ())}); "
            "running all of them from the .py sources. Rebuild: pip install -e .",
            RuntimeWarning,
            stacklevel=3,
        )
    return mode


def c_extension(module: str) -> ModuleType | None:
    """The C extension ``module`` when the compiled build is current, else None: the caller
    then runs the function's Python twin (``YTESO_PURE=1``, a stale or absent build)."""
    if module not in C_EXTENSIONS:
        raise ValueError(f"{module} is not listed in C_EXTENSIONS")
    return import_module(module) if select() == "compiled" else None
