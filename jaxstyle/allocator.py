"""glibc's allocator set to keep freed memory: no page faults on XLA's per-call buffers.

An XLA:CPU program allocates its temporary buffer on every call (192 MB for the Gatys
value and gradient at 384x216) from one of its worker threads. glibc serves a request that
large with a fresh ``mmap`` and returns it with ``munmap``, so every call touches ~49,000
new pages: 0.09 s of kernel time per evaluation, ~10 % of its wall time on the 2-core CPU
(``benchmarks/speed/malloc_faults.py``; docs/BENCHMARKS.md, "Page faults"). With one arena for
every thread, no ``mmap`` for large requests and a high trim threshold, the buffer comes
from the heap and is reused from call to call.

:func:`keep_freed_memory` changes a process-wide setting, so only the command-line entry
points call it (:mod:`jaxstyle.cli`), before anything starts a thread; from Python, call it
first thing. ``JAXSTYLE_MALLOC=0`` leaves the allocator as it is. :data:`ENV` is the same
setting for another process (glibc reads it at start-up), for benchmarks.
"""
from __future__ import annotations

import ctypes
import os
import sys

ENV_SWITCH = "JAXSTYLE_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8  # glibc <malloc.h>
TRIM_THRESHOLD = 1 << 30  # freed memory kept up to 1 GiB above the heap's top
SETTINGS = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
ENV = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def keep_freed_memory() -> bool:
    """Apply :data:`SETTINGS` with ``mallopt``; True when all were applied.

    A no-op (False) off glibc or with ``JAXSTYLE_MALLOC=0``. Threads that already own an
    arena keep it, so call this before the first JAX computation of the process.
    """
    if os.environ.get(ENV_SWITCH, "1") == "0" or not _glibc():
        return False
    try:
        libc = ctypes.CDLL(None)
        return all(libc.mallopt(param, value) == 1 for param, value in SETTINGS)
    except (OSError, AttributeError):
        return False
