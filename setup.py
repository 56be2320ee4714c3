"""Build: the bulk loader's hot path compiled with mypyc, and its hand-written C extensions
(docs/dev/native.md).

Metadata lives in pyproject.toml; this file only adds the compiled modules and the C
extensions listed in yteso/native.py. mypyc runs when build_ext is prepared (wheel and
editable builds), not for the metadata steps pip runs first. Set YTESO_PURE_BUILD=1 to build
without compiling.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _native() -> ModuleType:
    """yteso/native.py, loaded by path: yteso's dependencies are not installed yet."""
    spec = importlib.util.spec_from_file_location("_yteso_native", ROOT / "yteso" / "native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class MypycBuildExt(build_ext):
    """Runs mypyc when the extensions are prepared, then records the sources they came from."""

    record = ""

    def finalize_options(self) -> None:
        from mypyc.build import mypycify

        native = _native()
        os.chdir(ROOT)  # mypy derives module names from paths relative to the package root
        sources = [os.path.relpath(native.source_path(m, "yteso")) for m in native.COMPILED]
        # Before compiling: an edit made while the build runs then reads as stale, never fresh.
        self.record = native.build_record(native.built_modules(), "yteso")
        hand_written = [
            Extension(
                module,
                sources=[os.path.relpath(native.source_path(module, "yteso"))],
                extra_compile_args=["-O2", "-Wall", "-Werror"],
            )
            for module in native.C_EXTENSIONS
        ]
        self.distribution.ext_modules = hand_written + mypycify(
            # No project config: the build environment lacks yteso's dependencies (Any here).
            ["--config-file=", "--ignore-missing-imports", "--python-version=3.11", *sources],
            group_name=native.GROUP,
            opt_level="3",
        )
        super().finalize_options()

    def run(self) -> None:
        super().run()
        targets = [Path(self.build_lib) / "yteso"]
        if self.inplace:
            targets.append(ROOT / "yteso")
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            (target / _native().BUILD_RECORD).write_text(self.record, encoding="utf-8")


# A placeholder, replaced by mypyc's extensions in MypycBuildExt.finalize_options: it marks
# the wheel as platform-specific and makes build_ext run, without running mypyc for pip's
# metadata steps.
PLACEHOLDER = [Extension("yteso._native__mypyc", sources=[])]

if os.environ.get("YTESO_PURE_BUILD", "") not in ("", "0"):
    setup()
else:
    setup(ext_modules=PLACEHOLDER, cmdclass={"build_ext": MypycBuildExt})
