"""Keep freed memory for the next forward pass instead of giving it back to the system.

glibc's malloc has two thresholds that hurt here:

- Above its mmap threshold, an allocation gets a fresh mapping, which is unmapped again on free.
- Beyond its trim threshold, free memory at the top of the heap is given back to the system.

A forward pass allocates and frees activations of megabytes: each intermediate of a pass of eight
texts for nine models is about 4 MB, and 25 MB for 32 windows of a long text. So each pass faulted
its memory back in, page by page. Measured with ``Predictor.logit_sums`` on 2 threads (bfloat16):

| pass | page faults per pass | time per pass |
|---|---|---|
| 8 texts x 9 models | 6,000-8,000 → 0 | 30-34 → 23-24 ms |
| a 12-window text | 16,000-18,000 → 0 | 190-210 → 172-180 ms |
| a 40-window text | 62,000-66,000 → 0 | 678-687 → 606-614 ms |
| training on 2,500 banking77 rows (``classifier_core.training.train``) | 12.7-12.9 M → 0.13-0.15 M in all | 43.3-43.4 → 24.4-26.0 s |

The cost is memory kept after a peak: the process holds up to its largest pass's working set. That
was about 60 MB more resident after the passes above, with the same peak. The web process held
822-829 MB after ``bench-predict``'s long text and batches, against 727-741 MB before.

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
