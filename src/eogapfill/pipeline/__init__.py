"""Fill many days at once on a Dask cluster, into one resumable Zarr store.

:func:`run` takes a range of days and, for each one, opens the L3S and L4 products,
prepares the day (:func:`eogapfill.preprocess.prepare_day`), regrids it to HEALPix
(:func:`eogapfill.regrid.to_healpix`) and fills its gaps with the chosen method. Days are
computed in parallel, one task per day, on a ``dask.distributed`` client (a local cluster of
two single-threaded worker processes by default; any client works, a Dask Gateway cluster
too). Each task returns a small in-memory dataset (nside 128 is 196 608 cells), and the
process that called :func:`run` writes the finished days to **one** Zarr store (format 2,
consolidated), appended along ``time`` in date order, one day per chunk.

The store (:mod:`eogapfill.pipeline.store`) holds ``SST_L3S``, ``SST_filled``, ``SST_L4``,
``gap``, ``sea`` (and ``filled_std`` when the method gives one) on dims ``(time, cells)``;
open it with :func:`open_output`. It survives a crash (a re-run resumes) and takes one writer
at a time (:class:`StoreBusyError`): see that module's notes. The run itself is
:mod:`eogapfill.pipeline.runner`; what it checks first, :mod:`~eogapfill.pipeline.methods`
(the method and its options), :mod:`~eogapfill.pipeline.region` and
:mod:`~eogapfill.pipeline.plan` (the days); one day's task, :mod:`eogapfill.pipeline.day`;
the writing in date order, :mod:`eogapfill.pipeline.writer`; the Dask cluster,
:mod:`eogapfill.pipeline.cluster`.

``run(..., region=(lon0, lon1, lat0, lat1))`` fills only the cells of a lat/lon box (degrees)
and writes a regional store (a partial grid: the region's cells); at nside 256 and finer the
sample is read at 0.1 degree unless ``resolution`` says otherwise (:func:`default_resolution`).
A box without a sea cell is refused before any work (:class:`RegionWithoutSeaError`); a day
with no gap in it (every sea cell observed) is stored as observed, ``filled_std`` 0.

``run(..., method="spacetime_oi", window=K)`` (or ``"eof"``) fills each day from its window,
the ``K`` days on each side (``2K + 1`` days), into the same store: each day regridded once,
at most ``2K + 1`` regridded days held (:mod:`eogapfill.pipeline.window`).

Examples
--------
>>> from eogapfill.pipeline import run, open_output
>>> ds = run("2024-06-01", "2024-06-03", method="laplace", nside=64,
...          out="filled.zarr")  # doctest: +SKIP
>>> open_output("filled.zarr").SST_filled.sizes  # doctest: +SKIP
Frozen({'time': 3, 'cells': 49152})
"""

from __future__ import annotations

from eogapfill.fill.registry import register_method
from eogapfill.pipeline.cluster import connect_scheduler
from eogapfill.pipeline.runner import (
    RegionWithoutSeaError,
    available_methods,
    check_method_options,
    check_region,
    check_window,
    day_range,
    default_resolution,
    normalised_box,
    process_day,
    region_summary,
    regional_methods,
    resolve_method,
    run,
    source_days,
    window_days,
    window_summary,
)
from eogapfill.pipeline.store import (
    OUTPUT_VARIABLES,
    DamagedStoreError,
    StoreBusyError,
    damaged_days,
    open_output,
    stored_days,
)

__all__ = [
    "OUTPUT_VARIABLES",
    "DamagedStoreError",
    "RegionWithoutSeaError",
    "StoreBusyError",
    "available_methods",
    "check_method_options",
    "check_region",
    "check_window",
    "connect_scheduler",
    "damaged_days",
    "day_range",
    "default_resolution",
    "normalised_box",
    "open_output",
    "process_day",
    "region_summary",
    "register_method",
    "regional_methods",
    "resolve_method",
    "run",
    "source_days",
    "stored_days",
    "window_days",
    "window_summary",
]
