"""The ``yteso`` command run as a user runs it: a child process, output captured."""

from __future__ import annotations

import subprocess
import sys


def run_yteso(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m yteso ARGS``; the exit code is left to the test to judge."""
    return subprocess.run(
        [sys.executable, "-m", "yteso", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
