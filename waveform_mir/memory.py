"""Keep freed memory in the process rather than giving it back to the system after each step.

A training step allocates and frees the same few tens of megabytes of temporaries over and
over: the frequency-domain front-ends' band tensors (a batch of 32 one-second crops cut into
64 bands of 1080 complex points is 17.7 MB, and forward and backward make several). glibc
serves blocks above its mmap threshold (128 KiB, raised adaptively up to 32 MiB) with fresh
``mmap`` pages and hands the top of the heap back to the system above its trim threshold, so
every step page-faults and zeroes those megabytes again. On one CPU thread, retaining them
made the front-end grid's training steps 1.03-1.38x faster (the SincNet filterbank's 1.29x;
``scripts/bench_allocator.py`` measures it against the system's default, side by side).
With ``mmap`` off for ordinary allocations and no trimming, a freed block is reused by the
next step instead; a process then keeps its peak heap until it exits, which is what a
training or scoring run wants anyway.

The switch applies to glibc (Linux) only and is a no-op elsewhere (macOS, musl, Windows).
``WAVEFORM_MIR_SYSTEM_MALLOC=1`` keeps the system's behaviour.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's <malloc.h>
M_MMAP_MAX = -4
NO_TRIMMING = 2**31 - 1  # the largest trim threshold a C int holds: 2 GiB of free heap top

OPT_OUT_VARIABLE = "WAVEFORM_MIR_SYSTEM_MALLOC"


def _glibc_mallopt():
    """glibc's ``mallopt``, or ``None`` where the C library is not glibc."""
    if not hasattr(os, "confstr"):
        return None
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError):
        return None
    library = ctypes.util.find_library("c") or "libc.so.6"
    try:
        mallopt = ctypes.CDLL(library).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def retain_freed_memory() -> bool:
    """Make this process reuse freed heap memory instead of returning it; ``True`` if applied.

    Call it once, early (the ``waveform-mir`` command does, for every sub-command); it only
    changes how later allocations are served. Blocks already mapped are unaffected.
    """
    if os.environ.get(OPT_OUT_VARIABLE, "") not in ("", "0"):
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NO_TRIMMING))
