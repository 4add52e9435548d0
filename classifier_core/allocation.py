"""Keep freed memory for the next forward pass instead of giving it back to the system.

glibc's malloc has two thresholds that hurt here:

- Above its mmap threshold, an allocation gets a fresh mapping, which is unmapped again on free.
- Beyond its trim threshold, free memory at the top of the heap is given back to the system.

A forward pass allocates and frees activations of megabytes, so each pass faulted its memory back in,
page by page; with the thresholds raised, passes reuse it (no page faults; a training run about 40 %
faster). The cost is memory kept after a peak: a process holds up to its largest pass's working set.
The measurements: docs/decisions/0003-keep-freed-memory.md.

A process started with ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_TOP_PAD_``
in its environment is left as set (the last, at glibc's default of 131072, gives the old behaviour).
Other C libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024 * 1024  # allocations up to this come from the heap
TRIM_THRESHOLD = 512 * 1024 * 1024  # free memory at the top of the heap kept up to this
_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


@cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once; whether they are raised. (Setting
    them twice at once would be harmless: the encoder's loader calls this under its own lock anyway.)"""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in _ENVIRONMENT):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: another libc has other knobs)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
