"""The torch/foscat adapter of the scattering-transform fill: import, operator, device, output.

foscat and torch are imported only here, on first use (:func:`import_foscat`), so that importing
:mod:`eogapfill.fill.foscat` loads neither. Each thread keeps one ``foscat.scat_cov.funct``
(:func:`scat_operator`; one more per region of a partial grid) with the cached sparse products of :mod:`eogapfill.fill.foscat.ops`;
:data:`quiet_stdout` drops what foscat prints while members run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "QuietStdout",
    "available_cores",
    "import_foscat",
    "quiet_stdout",
    "release_free_memory",
    "resolve_device",
    "return_freed_blocks",
    "scat_operator",
]


class _Sink(io.TextIOBase):
    """A text stream that drops what it is given."""

    def write(self, text: str) -> int:
        return len(text)


class QuietStdout:
    """Drop what foscat prints (configuration, log lines, final loss) while members run.

    Unlike :func:`contextlib.redirect_stdout`, it is safe when members run in several threads
    of one process (a threaded Dask worker): the first member in swaps ``sys.stdout``, the
    last one out puts it back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = sys.stdout
                sys.stdout = _Sink()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    sys.stdout = self._saved
                    self._saved = None


quiet_stdout = QuietStdout()


#: What torch says, once per process, about the sparse tensors that foscat builds: notices
#: for torch developers, not for a person filling a map.
_TORCH_NOTICES = (
    "Sparse CSR tensor support is in beta",
    "Sparse invariant checks are implicitly disabled",
    "The given NumPy array is not writable",
)


#: Blocks at least this large (bytes, 4 MiB) are mapped from the system and given back when freed.
_MMAP_THRESHOLD = 1 << 22
_ALLOCATOR = {"set": False}


def return_freed_blocks() -> bool:
    """Make the C allocator (glibc) give freed blocks of 4 MiB and more back to the system:
    a lower memory peak for a slower synthesis, for a machine short of memory.

    A loss evaluation allocates and frees a few hundred tensors of 1 to 25 MB (nside 128).
    glibc raises its mmap threshold each time such a block is freed, so that the next ones
    come from its heap, which keeps the freed memory for reuse. With the threshold fixed at
    4 MiB, chapter 9 at nside 128 (two cores, papermill) peaked at 1.59 GB instead of 1.9 to
    2.0 GB and took 96 s instead of 69 s: the memory of every new block is zeroed by the
    system. (At 256 KiB it peaked at 1.50 GB but took 4 minutes: loss evaluations held at most
    0.44 GB above the memory in use before them instead of 0.80 GB, but each took twice as
    long.) Process-wide and for the rest of the process; call it before the fill. False where
    the C library has no ``mallopt`` (not glibc).
    """
    if _ALLOCATOR["set"]:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3  # glibc's malloc.h
        done = bool(libc.mallopt(m_mmap_threshold, _MMAP_THRESHOLD))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        done = False
    _ALLOCATOR["set"] = done
    return done


def release_free_memory() -> bool:
    """Give the memory that the C allocator (glibc) holds free back to the system, once
    (``malloc_trim``): no setting changes, and nothing is slower afterwards.

    The OI start and each member free hundreds of MB at nside 128 that glibc keeps for
    reuse. :func:`~eogapfill.fill.foscat.fill_foscat` calls this after the start and after
    each member: after the first fill of chapter 9 at nside 128 the process held 0.98 GB
    instead of 1.39 GB (the peak of a synthesis itself, held within one loss evaluation,
    does not change). False where the C library has no ``malloc_trim`` (not glibc).
    """
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False


def import_foscat() -> tuple[Any, Any, Any]:
    """``(foscat.scat_cov, foscat.Synthesis, torch)``, with torch's sparse-tensor notices off."""
    for notice in _TORCH_NOTICES:
        warnings.filterwarnings("ignore", message=notice, category=UserWarning)
    try:
        import foscat.scat_cov as scat_cov
        import foscat.Synthesis as synthesis
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "fill_foscat needs foscat and torch: pip install 'eogapfill[foscat]' "
            "(install the CPU torch wheel first on a machine without a GPU)"
        ) from err
    return scat_cov, synthesis, torch


_OPERATORS = threading.local()
#: Regional operators kept per thread (foscat caches its kernels by nside only, so each set of
#: cells needs its own operator).
_MAX_REGIONAL_OPERATORS = 4


def scat_operator(scat_cov: Any, cell_ids: np.ndarray | None = None) -> Any:
    """This thread's ``foscat.scat_cov.funct`` for a grid: its wavelet kernels, built on first
    use for each nside (about 1 s at nside 32), serve every later member run by the thread.
    Its sparse products run with layouts cached once per matrix
    (:mod:`eogapfill.fill.foscat.ops`).

    ``cell_ids`` (int (n,), sorted NESTED ids) selects a regional operator: foscat builds its
    kernels and down-grading matrices on those cells only, and keys its caches by nside, so
    each region gets an operator of its own (the last few are kept per thread).
    """
    from eogapfill.fill.foscat import ops

    if cell_ids is None:
        operator = getattr(_OPERATORS, "funct", None)
        if operator is None:
            operator = _OPERATORS.funct = scat_cov.funct(silent=True)
        return ops.configure(operator)
    ids = np.ascontiguousarray(cell_ids, dtype=np.int64)
    key = (ids.size, hashlib.sha1(ids.tobytes()).hexdigest())
    regional = getattr(_OPERATORS, "regional", None)
    if regional is None:
        regional = _OPERATORS.regional = {}
    operator = regional.pop(key, None)
    if operator is None:
        operator = scat_cov.funct(silent=True)
    regional[key] = operator  # the most recent last
    while len(regional) > _MAX_REGIONAL_OPERATORS:
        regional.pop(next(iter(regional)))
    return ops.configure(operator)


def resolve_device(device: str) -> str:
    """The device the members run on, ``"cpu"`` or ``"cuda"``, from ``device`` (or ``"auto"``)."""
    _, _, torch = import_foscat()
    has_cuda = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise ValueError(
            "device='cuda' but torch sees no GPU (torch.cuda.is_available() is False); "
            "use device='auto' or 'cpu'"
        )
    if device == "cpu" and has_cuda:
        raise ValueError(
            "device='cpu' but torch sees a GPU, and foscat places its tensors on the GPU "
            "whenever there is one; to run on the CPU, start Python with "
            "CUDA_VISIBLE_DEVICES='' (or use device='auto')"
        )
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
