"""Bulk-load workers end with the loader that started them.

A ``ProcessPoolExecutor`` worker waits for its next task on a pipe whose write end it also
holds, so when the loader is killed (SIGKILL, the OOM killer) nothing ever wakes it: it would
sleep on, holding its memory, until someone kills it by hand. On Linux the kernel can send a
signal when the parent goes (``prctl(PR_SET_PDEATHSIG)``). The signal fires when the parent
*thread* that created the worker ends, so the loader must create and use its pool in one
thread (``bulk_load._prepared_stream`` does: workers start on ``submit`` and the pool is shut
down in the same generator). Elsewhere this is a no-op: such a worker stays as it was.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def exit_with_parent(parent: int) -> None:
    """In a worker: be killed when ``parent`` (the loader's pid) dies, or exit now if it
    already has (it may die between the fork and this call, before the kernel would tell)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        # SIGKILL, not SIGTERM: a worker holds no connection or file to close, and a handler
        # inherited from the loader could otherwise swallow the signal.
        failed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0
    except (OSError, AttributeError):  # a libc without prctl
        return
    if not failed and os.getppid() != parent:
        os._exit(1)
