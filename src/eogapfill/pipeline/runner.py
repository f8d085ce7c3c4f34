"""A run of the pipeline: the days, the method, one task per day on Dask, written in order.

:func:`run` fills a range of days into one store (:mod:`eogapfill.pipeline.store`) on a
Dask cluster (:mod:`eogapfill.pipeline.cluster`); :func:`process_day` is the task of one day.
The fill methods are those of the registry (:data:`eogapfill.fill.METHODS`) on the HEALPix
grid, or any function with the fill signature.

A run fills the whole sphere, or only a ``region`` (a lat/lon box, :func:`check_region`): the
store then holds the region's cells (a partial grid) and says so in its attributes. The
source resolution follows the grid unless given (:func:`default_resolution`).

A day with nothing to fill (no gap: every sea cell observed, as a small region can be on a
clear day) is a filled day: it is stored as observed (``filled_std`` 0 when the method gives
one) without calling the fill, and the log says so.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.data import open_l3s, open_l4
from eogapfill.fill.registry import FillMethod, method_info, method_names, regional_methods
from eogapfill.healpix import HealpixGrid, Region, check_box, check_nside, region_cells
from eogapfill.pipeline.cluster import (
    _check_scheduler_address,
    _close_client,
    _connect_timeout,
    _default_cluster,
    _quiet_cancelled_tasks,
    _quiet_logger,
    _window,
    connect_scheduler,
)
from eogapfill.pipeline.store import (
    _FLOAT_VARIABLES,
    _append_day,
    _check_compatible,
    _check_output_path,
    _check_region_compatible,
    _committed_length,
    _is_new,
    _new_days,
    _region_attrs,
    _remove_stale_partials,
    _rollback_uncommitted,
    _run_attrs,
    _store_attrs,
    _store_lock,
    _zmetadata,
    open_output,
    stored_days,
)
from eogapfill.preprocess import MASK_FLAGS, prepare_day
from eogapfill.regrid import to_healpix

__all__ = [
    "RegionWithoutSeaError",
    "available_methods",
    "check_method_options",
    "check_region",
    "day_range",
    "default_resolution",
    "fill_days",
    "normalised_box",
    "process_day",
    "region_summary",
    "regional_methods",
    "resolve_method",
    "run",
    "source_days",
]

logger = logging.getLogger(__name__)

FillFunction = Callable[..., xr.Dataset]
#: The finest nside filled from the 0.25 degree sample by default; finer ones read 0.1 degree.
_COARSE_SOURCE_MAX_NSIDE = 128
#: Options the pipeline sets itself, or that cannot travel to a worker as data.
_PIPELINE_OPTIONS = ("client",)
#: The attribute that marks a day with nothing to fill (a task's result, never stored).
_NOTHING_TO_FILL = "eogapfill_nothing_to_fill"
#: Attributes of a day that come from its fill, carried over to a day with nothing to fill.
_FILL_ATTRS = ("fill_protocol", "fill_protocol_note")
#: Errors of a task that running again may get past: faults of the network, the machines or
#: a store, not of the inputs (distributed's own are named, not imported).
_TRANSIENT_NAMES = ("KilledWorker", "CommClosedError", "CancelledError", "FutureCancelledError")


class RegionWithoutSeaError(ValueError):
    """A region whose cells are all land or lakes: refused before any day is computed."""


# --------------------------------------------------------------------------------------------
# methods: the registry's HEALPix fills, or a function
# --------------------------------------------------------------------------------------------
def _entry(method: str | FillFunction) -> FillMethod:
    """The registry entry of a method name, or an entry made for a function or its path."""
    if callable(method):
        return FillMethod(getattr(method, "__name__", "custom"), method, grid="healpix")
    if ":" in method:
        return FillMethod(method.split(":")[1], method, grid="healpix")
    entry = method_info(method)
    if entry.grid != "healpix":
        raise ValueError(
            f"the fill method {method!r} works on a lat/lon grid, and the pipeline fills "
            f"HEALPix maps: choose one of {', '.join(method_names('healpix'))}"
        )
    return entry


def available_methods() -> list[str]:
    """Names of the registry's HEALPix methods whose modules are installed (none imported).

    >>> "laplace" in available_methods()
    True
    """
    return list(method_names("healpix", available=True))


def _fills_regions(method: str | FillFunction) -> bool:
    """Whether a method fills a regional (partial) map: the registry's ``regional`` flag; a
    function or ``"module:function"`` is trusted (its own checks run on the first day)."""
    if callable(method) or ":" in method:
        return True
    return _entry(method).regional


def check_region(
    region: Region | None, nside: int, method: str | FillFunction = "laplace"
) -> tuple[Region | None, np.ndarray | None]:
    """Check a region before any work; return the box as floats and its NESTED cell ids.

    ``region`` is a lat/lon box ``(lon0, lon1, lat0, lat1)`` in degrees (``lon0 > lon1``
    crosses 180; longitudes in -360 .. 360, 360 degrees apart for every longitude), or None
    for the full sphere. A box that covers every cell is the full sphere: ``(None, None)``.

    The longitudes come back in -180 .. 180 (:func:`normalised_box`): ``(-190, -170, ...)``
    and ``(170, -170, ...)`` are the same box, the same cells and the same store.

    Raises ``ValueError`` for a bad box (latitudes outside -90 .. 90, ``lat0 >= lat1``, equal
    longitudes) and for a method that needs the full sphere (naming those that fill a region).

    >>> box, ids = check_region((-80, -50, 25, 45), 64)
    >>> box, ids.size
    ((-80.0, -50.0, 25.0, 45.0), 656)
    >>> check_region((-190, -170, -10, 10), 16)[0]
    (170.0, -170.0, -10.0, 10.0)
    """
    if region is None:
        return None, None
    box = normalised_box(check_box(region))
    if not _fills_regions(method):
        raise ValueError(
            f"the fill method {method!r} needs the whole sphere and does not fill a region: "
            f"choose one of {', '.join(regional_methods())}, or fill the whole sphere"
        )
    check_nside(nside)
    ids = region_cells(nside, box)
    if ids.size == 12 * nside**2:
        return None, None
    return box, ids


def normalised_box(box: Region) -> Region:
    """The box with its longitudes in -180 .. 180 (the east one in -180 .. 180, 180 included).

    A box that spans every longitude (``lon1 - lon0`` of 360 degrees or more) is returned as
    it is. ``lon0 > lon1`` still means a box that crosses 180.

    >>> normalised_box((-190.0, -170.0, -10.0, 10.0))
    (170.0, -170.0, -10.0, 10.0)
    >>> normalised_box((190.0, 200.0, 0.0, 5.0))
    (-170.0, -160.0, 0.0, 5.0)
    """
    lon0, lon1, lat0, lat1 = (float(x) for x in box)
    if abs(lon1 - lon0) >= 360.0:
        return lon0, lon1, lat0, lat1
    west = (lon0 + 180.0) % 360.0 - 180.0
    east = (lon1 + 180.0) % 360.0 - 180.0
    if east == -180.0:
        east = 180.0
    if west == east:  # a box whose ends meet: keep the words it was given in
        return lon0, lon1, lat0, lat1
    return west, east, lat0, lat1


def region_summary(box: Region, nside: int, ids: np.ndarray) -> str:
    """One line on a region's cells: how many, how big, what share of the sphere.

    >>> box, ids = check_region((-80, -50, 25, 45), 64)
    >>> region_summary(box, 64, ids)
    'region lon -80 .. -50, lat 25 .. 45: 656 cells of nside 64 (about 102 km), 1.33% of the sphere'
    """
    grid = HealpixGrid(nside, cell_ids=ids)
    lon0, lon1, lat0, lat1 = box
    return (
        f"region lon {lon0:g} .. {lon1:g}, lat {lat0:g} .. {lat1:g}: {grid.npix} cells of "
        f"nside {nside} (about {grid.resolution_km:.0f} km), "
        f"{100 * grid.npix / grid.sphere_npix:.2f}% of the sphere"
    )


def default_resolution(nside: int) -> float:
    """The sample's grid spacing, degrees, that gives several points per cell at ``nside``.

    0.25 degree up to nside 128 (cells of 0.46 degree and more), 0.1 degree (the products'
    own grid) from nside 256 (0.23 degree cells, finer than 0.25 degree).

    >>> default_resolution(128), default_resolution(512)
    (0.25, 0.1)
    """
    check_nside(nside)
    return 0.25 if nside <= _COARSE_SOURCE_MAX_NSIDE else 0.1


def resolve_method(method: str | FillFunction) -> FillFunction:
    """The fill function of ``method`` (imports its module now).

    ``method`` is a name of the registry (:data:`eogapfill.fill.METHODS`), a
    ``"module:function"`` string or a function. Raises ``ValueError`` for an unknown name and
    ``ImportError`` (saying what to install) when the module is missing.

    >>> resolve_method("eogapfill.fill.alm:fill_alm").__name__
    'fill_alm'
    """
    return _entry(method).load()


def _check_method_available(method: str) -> str | FillFunction:
    entry = _entry(method)
    if missing := entry.missing():
        raise ValueError(
            f"the fill method {method!r} is not available in this installation "
            f"({', '.join(missing)} is missing); available: {', '.join(available_methods())}"
        )
    return entry.target


def check_method_options(
    method: str | FillFunction, options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Check a fill's options against its signature, before any day is computed.

    As :meth:`eogapfill.fill.FillMethod.check_options`; ``client`` is refused too (a Dask
    client cannot travel to a worker). The fill's own checks still run on every day: this
    catches the mistakes that need no data.

    >>> check_method_options("laplace", {})
    {}
    >>> check_method_options("oi", {"n_members": True})
    Traceback (most recent call last):
    ...
    ValueError: the oi fill's option n_members must be int, got True (bool); e.g. n_members=0
    """
    return _entry(method).check_options(options, exclude=_PIPELINE_OPTIONS)


def _run_options(
    fill: FillFunction, options: Mapping[str, Any] | None, threads: int
) -> dict[str, Any]:
    """The options of one task: a fill that takes ``threads`` gets the task's share, and one
    that shows ``progress`` is quiet, unless the options say otherwise."""
    options = dict(options or {})
    try:
        takes = inspect.signature(fill).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return options
    if "threads" in takes:
        options.setdefault("threads", threads)
    if "progress" in takes:
        options.setdefault("progress", False)
    return options


# --------------------------------------------------------------------------------------------
# days
# --------------------------------------------------------------------------------------------
def day_range(
    start: str | np.datetime64 | pd.Timestamp, end: str | np.datetime64 | pd.Timestamp
) -> list[pd.Timestamp]:
    """The days from ``start`` to ``end``, both included, as midnight timestamps.

    >>> [d.strftime("%m-%d") for d in day_range("2024-06-01", "2024-06-03")]
    ['06-01', '06-02', '06-03']
    """
    first, last = _as_day(start, "start"), _as_day(end, "end")
    if last < first:
        raise ValueError(
            f"the end {last.date()} is before the start {first.date()}: give the first day as "
            "start and the last as end"
        )
    return list(pd.date_range(first, last, freq="D"))


def _as_day(value: object, what: str) -> pd.Timestamp:
    """One day as a midnight timestamp; ``ValueError`` saying how to write it otherwise."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as err:
        raise ValueError(
            f"cannot read the {what} {value!r} as a day: write it as YYYY-MM-DD, e.g. 2024-06-01"
        ) from err
    if stamp is pd.NaT or pd.isna(stamp):
        raise ValueError(f"the {what} is missing ({value!r}): give a day as YYYY-MM-DD")
    if stamp.tzinfo is not None:
        raise ValueError(
            f"the {what} {value!r} has a time zone: the products' days are UTC days, give the "
            f"day alone as YYYY-MM-DD (e.g. {stamp.tz_convert('UTC').date()} in UTC)"
        )
    return stamp.floor("D")


def _thread_share() -> int:
    """Threads this task may use: its Dask worker's threads, else this process's cores."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError):
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            return os.cpu_count() or 1


def process_day(
    date: str | pd.Timestamp,
    *,
    method: str | Callable[..., xr.Dataset] = "laplace",
    nside: int = 128,
    source: str = "sample",
    resolution: float = 0.25,
    method_options: Mapping[str, Any] | None = None,
    threads: int | None = None,
    fill: str | Callable[..., xr.Dataset] | None = None,
    region: Region | Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Open, prepare, regrid and fill one day; return it ready to be appended to the store.

    A pure function of its arguments (it reads the source, writes nothing): the task that
    :func:`run` sends to a Dask worker, and the way to look at one day without a store.

    Parameters
    ----------
    date
        The day, e.g. ``"2024-06-01"``.
    method
        A HEALPix method of the registry, :data:`eogapfill.fill.METHODS` (``"laplace"``,
        ``"noise"``, ``"alm"``, ``"oi"``, ``"foscat"``), or a fill function.
    nside
        HEALPix resolution (a power of two; 128: cells of about 50 km).
    source, resolution
        Where the products come from, as in :func:`eogapfill.data.open_l3s`.
    method_options
        Keyword arguments of the fill function (e.g. ``{"lmax": 20}`` for ``alm``).
    threads
        Threads the task may use (torch, dask); default: its worker's share.
    fill
        The fill function, or its ``"module:function"``, when it is not the one registered
        as ``method`` (how :func:`run` hands a method registered in its process to workers).
    region
        Fill only the cells of a region, as :func:`eogapfill.regrid.to_healpix` takes it: a
        lat/lon box ``(lon0, lon1, lat0, lat1)`` in degrees, or ``{"cells": ids, "level":
        level}``; None: the full sphere.

    Returns
    -------
    xarray.Dataset
        Dims ``(time: 1, cells: 12 * nside**2)``, or the region's cells: ``SST_L3S``,
        ``SST_filled``, ``SST_L4`` (float32, degC), ``gap``, ``sea`` (bool) and
        ``filled_std`` when the method gives one; undecoded ``cell_ids`` (sorted NESTED ids)
        with the xdggs attributes. A day without gap is returned as observed, without
        calling the fill (the attribute ``eogapfill_nothing_to_fill`` says so; :func:`run`
        adds ``filled_std`` 0 when its store has one).

    Examples
    --------
    >>> day = process_day("2024-06-01", nside=16, resolution=1.0)  # doctest: +SKIP
    >>> day.SST_filled.where(day.sea).isnull().sum().item()  # doctest: +SKIP
    0
    """
    import dask

    check_nside(nside)
    threads = threads or _thread_share()
    fill_function = resolve_method(method if fill is None else fill)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    options = _run_options(fill_function, method_options, threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)

    day_stamp = pd.Timestamp(date).floor("D")
    label = day_stamp.strftime("%Y-%m-%d")
    scheduler = (
        {"scheduler": "synchronous"}
        if threads == 1
        else {"scheduler": "threads", "num_workers": threads}
    )
    with dask.config.set(**scheduler):
        l3s = open_l3s(label, source=source, resolution=resolution)
        l4 = open_l4(label, source=source, resolution=resolution)
        day = prepare_day(l3s, l4).load()
    hp_day = to_healpix(day, nside, region=region)
    if not bool(hp_day["gap"].any()):  # nothing to fill: the day is complete as observed
        return _day_output(hp_day, _as_observed(hp_day, name), day_stamp, name)
    result = fill_function(hp_day, **options)
    return _day_output(hp_day, result, day_stamp, name)


def _as_observed(hp_day: xr.Dataset, method: str) -> xr.Dataset:
    """The result of a day with no gap: filled = observed, marked for the writer."""
    return xr.Dataset(
        {"filled": hp_day["SST_L3S"]}, attrs={"fill_method": method, _NOTHING_TO_FILL: 1}
    )


def _day_output(
    hp_day: xr.Dataset, result: xr.Dataset, day_stamp: pd.Timestamp, method: str
) -> xr.Dataset:
    """Assemble the stored variables of one day, with a length-1 ``time`` dim."""
    if "filled" not in result:
        raise ValueError(
            f"the fill {method!r} returned no 'filled' variable: it must follow "
            "the fill contract of eogapfill.fill.common"
        )
    time = hp_day["time"].values if "time" in hp_day.coords else np.datetime64(day_stamp, "ns")
    variables = {
        "SST_L3S": hp_day["SST_L3S"],
        "SST_filled": result["filled"].assign_attrs(
            units="degC", long_name=f"SST with gaps filled by {method}", fill_method=method
        ),
        "SST_L4": hp_day["SST_L4"],
        "gap": hp_day["gap"],
        "sea": hp_day["sea"],
    }
    if "filled_std" in result:  # 0 on observed cells, NaN off the sea like SST_filled
        variables["filled_std"] = (
            result["filled_std"]
            .where(hp_day["sea"])
            .assign_attrs(units="degC", long_name=f"{method} uncertainty (standard deviation)")
        )
    out = xr.Dataset(
        {
            name: da.reset_coords(drop=True).astype("float32")
            if name in _FLOAT_VARIABLES
            else da.reset_coords(drop=True)
            for name, da in variables.items()
        },
        coords={"cell_ids": hp_day["cell_ids"]},
    )
    for name in ("SST_L3S", "SST_L4"):
        out[name].attrs = dict(hp_day[name].attrs)
    out = out.expand_dims(time=[np.datetime64(pd.Timestamp(time).to_datetime64(), "ns")])
    out["time"].attrs = {"standard_name": "time", "long_name": "day"}
    for key in ("protocol", "protocol_note"):
        if key in result.attrs:
            out.attrs[f"fill_{key}"] = str(result.attrs[key])
    if result.attrs.get(_NOTHING_TO_FILL):
        out.attrs[_NOTHING_TO_FILL] = 1
    return out


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def source_days(source: str = "sample", resolution: float = 0.25) -> list[pd.Timestamp]:
    """The days the L3S product of ``source`` holds (reads its time axis only).

    >>> source_days("sample", 1.0)[0]  # doctest: +SKIP
    Timestamp('2024-06-01 00:00:00')
    """
    ds = open_l3s(None, source=source, resolution=resolution)  # lazy: reads the time axis
    return sorted({pd.Timestamp(t).floor("D") for t in ds["time"].values})


def _check_source_has(days: list[pd.Timestamp], source: str, resolution: float) -> None:
    """Fail early, on the driver, when the source lacks one of the days."""
    have = source_days(source, resolution)
    have_set = set(have)
    missing = [d for d in days if d not in have_set]
    if missing:
        span = f"{have[0].date()} to {have[-1].date()}" if have else "no day"
        hint = (
            " or the real products (source 'cmems', needs the network)"
            if source == "sample"
            else ""
        )
        raise ValueError(
            f"the {source!r} source has no data for {len(missing)} of the days asked "
            f"(first: {missing[0].date()}); it holds {span}: pick days in that range{hint}"
        )


def _plan(days: list[pd.Timestamp], out: Path) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    done = stored_days(out)
    done_set = set(done)
    todo = [d for d in days if d not in done_set]
    new = _new_days(todo, out)  # damaged days are recomputed in place, wherever they lie
    if done and new and new[0] < done[-1]:
        raise ValueError(
            f"{out} already ends on {done[-1].date()}; missing earlier days (first "
            f"{new[0].date()}) cannot be appended after it (time must stay in order): ask for "
            f"days after {done[-1].date()} or write to another output path"
        )
    return todo, [d for d in days if d in done_set]


def run(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    method: str = "laplace",
    nside: int = 128,
    source: str = "sample",
    out: str | Path,
    client: Any = None,
    resolution: float | None = None,
    method_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    n_workers: int = 2,
    scheduler: str | None = None,
    connect_timeout: float | str | None = None,
    wait: float = 0.0,
    region: Region | None = None,
) -> xr.Dataset:
    """Fill every day from ``start`` to ``end`` and append them to the Zarr store ``out``.

    Parameters
    ----------
    start, end
        First and last day, both included (``"2024-06-01"``).
    method
        Fill method, a HEALPix method of the registry, :data:`eogapfill.fill.METHODS`:
        ``"laplace"`` (default), ``"noise"``, ``"alm"``, ``"oi"``, ``"foscat"``.
    nside
        HEALPix resolution, a power of two (128: 196 608 cells of about 50 km).
    source
        ``"sample"`` (the embedded sample, offline) or ``"cmems"`` (the Copernicus Marine
        ARCO stores), as in :func:`eogapfill.data.open_l3s`.
    out
        Path of the output store (local file system). Days already in it are skipped; its
        method, nside, region, source, resolution and options must match this run's. One run
        at a time writes to it (see the module's notes).
    client
        A ``dask.distributed.Client``. Default: a local cluster of ``n_workers`` processes
        of one thread each, closed at the end.
    resolution
        Grid spacing of the sample, degrees (ignored by ``"cmems"``). Default: that of the
        existing store ``out``, else :func:`default_resolution` (0.25, or 0.1 from nside 256).
    method_options
        Keyword arguments of the fill function (e.g. ``{"lmax": 20}``), checked against its
        signature before anything starts (:func:`check_method_options`).
    progress
        Show a progress bar (tqdm) over the days.
    n_workers
        Workers of the default local cluster. In a script, call :func:`run` under
        ``if __name__ == "__main__":``: the worker processes import the script.
    scheduler
        Address of a running Dask scheduler (``"tcp://host:8786"``) to use instead of a local
        cluster (see :func:`connect_scheduler`); ignored when ``client`` is given.
    connect_timeout
        Seconds to wait for that scheduler (default: the Dask config
        ``distributed.comm.timeouts.connect``, 30 s).
    wait
        Seconds to wait when another run is writing ``out`` (``math.inf``: as long as it
        takes); 0 (default) refuses at once.
    region
        Fill only a lat/lon box ``(lon0, lon1, lat0, lat1)`` in degrees (``lon0 > lon1``
        crosses 180; every cell touching it, :func:`eogapfill.healpix.region_cells`) with a
        method that fills regions (:func:`regional_methods`). The store holds the region's
        cells (``cell_ids`` a sorted subset) and the attributes ``healpix_partial=1``,
        ``healpix_region`` (in words), ``region_box`` and ``region_cells``. None (default):
        the full sphere.

    Returns
    -------
    xarray.Dataset
        The whole store, opened lazily and decoded (:func:`open_output`).

    Raises
    ------
    ValueError
        Bad dates, nside, region or options, unknown or unavailable method (or one that does
        not fill regions), an output path that cannot be written, a store of another
        configuration (another region or nside too), days the source does not have, a
        region without a sea cell (:class:`RegionWithoutSeaError`).
    StoreBusyError
        Another run is writing ``out`` (after ``wait`` seconds).
    TimeoutError
        No Dask scheduler answered at ``scheduler``.
    RuntimeError
        When a day fails or cannot be written; the days before it are kept. The message says
        whether running again can get past it (a fault of the network, a disk, a worker) or
        would stop on the same day (an error of the inputs).
    """
    return fill_days(
        start,
        end,
        method=method,
        nside=nside,
        source=source,
        out=out,
        client=client,
        resolution=resolution,
        method_options=method_options,
        progress=progress,
        n_workers=n_workers,
        scheduler=scheduler,
        connect_timeout=connect_timeout,
        wait=wait,
        region=region,
    )[0]


def fill_days(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    method: str,
    nside: int,
    source: str,
    out: str | Path,
    client: Any,
    resolution: float | None,
    method_options: Mapping[str, Any] | None,
    progress: bool,
    n_workers: int,
    scheduler: str | None,
    connect_timeout: float | str | None,
    wait: float,
    region: Region | None = None,
) -> tuple[xr.Dataset, int, int]:
    """:func:`run` (every argument given); also returns the number of days this run wrote
    and, of those, the number that had nothing to fill (stored as observed)."""
    days = day_range(start, end)
    check_nside(nside)
    target = _check_method_available(method)
    method_options = check_method_options(method, method_options)
    box, ids = check_region(region, nside, method)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise ValueError(
            f"wait must be a number of seconds >= 0 (math.inf: no limit), got {wait!r}"
        )
    if client is None and scheduler is not None:  # a bad address fails now, not later
        _check_scheduler_address(scheduler)
        _connect_timeout(connect_timeout)
    out = Path(out)
    _check_output_path(out)
    with _store_lock(out, wait):
        _remove_stale_partials(out)
        if resolution is None:
            resolution = _store_resolution(out) or default_resolution(nside)
        attrs = _run_attrs(method, nside, source, resolution, method_options)
        if not _is_new(out):
            box = _store_box(out, box)
        attrs.update(_region_attrs(box, ids))
        if not _is_new(out):
            _check_compatible(out, attrs)
            _check_region_compatible(out, attrs)
            _rollback_uncommitted(out)
        todo, skipped = _plan(days, out)
        committed = _committed_length(out)
        if skipped:
            logger.info("%d day(s) already in %s: skipped", len(skipped), out)
        if not todo:
            logger.info(
                "nothing to do: every day from %s to %s is in %s",
                days[0].date(),
                days[-1].date(),
                out,
            )
            return open_output(out), 0, 0
        _check_source_has(todo, source, resolution)
        if ids is not None and box is not None:
            _check_region_has_sea(todo[0], source, resolution, nside, box, ids)

        own_client = client is None
        if own_client:
            client = (
                connect_scheduler(scheduler, connect_timeout)
                if scheduler is not None
                else _default_cluster(n_workers, 1)
            )
        writer = _Writer(out, todo, attrs, committed, _gives_std(method, method_options))
        try:
            _compute_and_write(
                client,
                writer,
                progress,
                dict(
                    method=method,
                    fill=target,
                    nside=nside,
                    source=source,
                    resolution=resolution,
                    method_options=method_options,
                    # the cells found once here: every worker regrids onto the same ones
                    region=None if ids is None else {"cells": ids, "level": int(np.log2(nside))},
                ),
            )
        except KeyboardInterrupt:
            if own_client and scheduler is None:
                _quiet_cancelled_tasks(client)
                with _quiet_logger("distributed"):  # workers that stop late are killed: fine
                    _close_client(client, own_cluster=True)
                own_client = False
            raise
        finally:
            if own_client:
                _close_client(client, own_cluster=scheduler is None)
    return open_output(out), writer.written, writer.clear


def _gives_std(method: str | FillFunction, options: Mapping[str, Any]) -> bool | None:
    """Whether the method's days hold ``filled_std``, as the registry says (None: unknown)."""
    if callable(method) or ":" in method:
        return None
    return _entry(method).gives_std(options)


def _store_resolution(out: Path) -> float | None:
    """The source resolution recorded by an existing store (None when there is none)."""
    if _is_new(out):
        return None
    value = _store_attrs(out).get("resolution_deg")
    return None if value is None else float(value)


def _store_box(out: Path, box: Region | None) -> Region | None:
    """The store's own words for ``box`` when they name the same box (a store written with
    ``(-190, -170, ...)`` is asked for as ``(170, -170, ...)``), else ``box``."""
    have = _store_attrs(out).get("region_box")
    if box is None or have is None:
        return box
    stored = tuple(float(x) for x in have)
    return stored if normalised_box(stored) == normalised_box(box) else box


def _check_region_has_sea(
    day: pd.Timestamp, source: str, resolution: float, nside: int, box: Region, ids: np.ndarray
) -> None:
    """Refuse a region without a sea cell (a box on land) before any work:
    :class:`RegionWithoutSeaError`.

    A cell is sea when at least half of the L4 points in it are sea (open or under ice, the
    mask's sea bit), as the regridding counts them; read from ``day``'s L4 land mask.
    """
    import healpy as hp

    mask = open_l4(day.strftime("%Y-%m-%d"), source=source, resolution=resolution)["mask"]
    mask = mask.isel(time=0) if "time" in mask.dims else mask
    lat = np.asarray(mask["latitude"].values, dtype="float64")
    lon = np.asarray(mask["longitude"].values, dtype="float64")
    margin = 2.0 * float(hp.max_pixrad(nside, degrees=True))  # cells reach past the box
    rows = np.flatnonzero((lat >= box[2] - margin) & (lat <= box[3] + margin))
    if rows.size == 0:
        return
    flags = np.asarray(mask.isel(latitude=rows).values).astype("int64")
    water = (flags & MASK_FLAGS["sea"]) > 0
    lon2, lat2 = np.meshgrid(lon, lat[rows])
    pix = hp.ang2pix(nside, lon2.ravel(), lat2.ravel(), nest=True, lonlat=True)
    inside = np.isin(pix, ids)
    cell = np.searchsorted(ids, pix[inside])
    points = np.bincount(cell, minlength=ids.size)
    sea_points = np.bincount(cell, weights=water.ravel()[inside], minlength=ids.size)
    if not points.any() or (sea_points[points > 0] >= 0.5 * points[points > 0]).any():
        return
    lon0, lon1, lat0, lat1 = box
    raise RegionWithoutSeaError(
        f"the region lon {lon0:g} .. {lon1:g}, lat {lat0:g} .. {lat1:g} holds no sea cell at "
        f"nside {nside}: its {ids.size} cell(s) are land or lakes in the {source!r} land mask "
        f"({day.date()}); choose a box over the ocean"
    )


class _Writer:
    """Writes the finished days to the store in date order, one at a time.

    A day with nothing to fill gets ``filled_std`` 0 (NaN off the sea) when the other days
    have one, and their fill attributes. Whether they have one comes from the store, else
    from the registry (``gives_std``), else from the first day with gaps of this run: until
    then such a day waits (at the end of the run it is written as it is). ``written`` counts
    the days written, ``clear`` those with nothing to fill.

    Before each write, checks that the store still holds the ``committed`` days it held when
    this run planned its days, plus the ones it wrote (the lock makes it so; this is the last
    line of defence against a writer that ignores it), and that the day has the store's
    variables.
    """

    def __init__(
        self,
        out: Path,
        todo: list[pd.Timestamp],
        attrs: dict,
        committed: int,
        gives_std: bool | None = None,
    ):
        self.out, self.todo, self.attrs, self.committed = out, todo, attrs, committed
        self.finished: dict[pd.Timestamp, xr.Dataset] = {}
        self.written = 0
        self.clear = 0
        self.variables = _store_variables(out)
        self.std = gives_std if self.variables is None else "filled_std" in self.variables
        self.fill_attrs = {} if self.variables is None else _fill_attrs(_store_attrs(out))

    def add(self, day: pd.Timestamp, result: xr.Dataset) -> None:
        """Take the result of ``day`` and write every day that is now next in line."""
        if not result.attrs.get(_NOTHING_TO_FILL):
            if self.std is None:
                self.std = "filled_std" in result
            self.fill_attrs = self.fill_attrs or _fill_attrs(result.attrs)
        self.finished[day] = result
        self.flush()

    def flush(self, final: bool = False) -> None:
        """Write the days next in line; ``final``: the days with nothing to fill too, as they are."""
        while self.written < len(self.todo) and self.todo[self.written] in self.finished:
            day = self.todo[self.written]
            result = self.finished[day]
            clear = bool(result.attrs.get(_NOTHING_TO_FILL))
            if clear and self.std is None and not final:
                return
            if clear:
                result = _as_filled_day(result, bool(self.std), self.fill_attrs)
            result = result.assign_attrs(self.attrs)
            result.attrs.pop(_NOTHING_TO_FILL, None)
            self._write(day, result)
            del self.finished[day]
            self.written += 1
            if clear:
                self.clear += 1
                logger.info(
                    "%s: no gap (every sea cell observed): stored as observed%s",
                    day.date(),
                    ", filled_std 0" if self.std else "",
                )

    def _write(self, day: pd.Timestamp, ds: xr.Dataset) -> None:
        if (now := _committed_length(self.out)) != self.committed + self.written:
            raise RuntimeError(
                f"{self.out} was changed by another writer while this run was writing it (it "
                f"holds {now} day(s), this run expected {self.committed + self.written}); "
                "nothing more is written: check the store with "
                "eogapfill.pipeline.open_output, and run one writer at a time"
            )
        have = _store_variables(self.out)
        if have is not None and have != set(ds.data_vars):
            raise ValueError(
                f"{day.date()} holds the variables {', '.join(sorted(ds.data_vars))} but "
                f"{self.out} holds {', '.join(sorted(have))}: a store holds one set of "
                f"variables; {self.kept()}. Write these days to another output path"
            )
        try:
            _append_day(ds, self.out)
        except OSError as err:
            reason = f"{err.strerror}: {err.filename}" if err.strerror else str(err)
            raise RuntimeError(
                f"writing {day.date()} to {self.out} failed ({reason}); {self.kept()}: free "
                "disk space or fix the cause, then run the same command again to resume (the "
                "half-written day is rolled back)"
            ) from err

    def kept(self) -> str:
        """What the store keeps, in words (for a message after a failure)."""
        if _is_new(self.out):
            return f"nothing was written ({self.out} was not created)"
        if not self.written:
            return f"this run wrote no day; the {self.committed} day(s) in {self.out} are safe"
        return f"the {self.written} day(s) of this run before it are safe in {self.out}"


def _store_variables(out: Path) -> set[str] | None:
    """The data variables of an existing store (None: no store yet)."""
    if _is_new(out):
        return None
    names = {key.split("/")[0] for key in _zmetadata(out) if key.endswith("/.zarray")}
    return names - {"time", "cell_ids"}


def _fill_attrs(attrs: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(attrs[key]) for key in _FILL_ATTRS if key in attrs}


def _as_filled_day(ds: xr.Dataset, std: bool, fill_attrs: Mapping[str, str]) -> xr.Dataset:
    """A day with nothing to fill as the filled days are stored: ``filled_std`` 0 on the sea
    (NaN off it) when ``std``, and their fill attributes."""
    ds = ds.assign_attrs(fill_attrs)
    if std and "filled_std" not in ds:
        method = ds["SST_filled"].attrs.get("fill_method", "fill")
        zero = xr.zeros_like(ds["SST_filled"]).where(ds["sea"]).astype("float32")
        ds["filled_std"] = zero.assign_attrs(
            units="degC", long_name=f"{method} uncertainty (standard deviation)"
        )
    return ds


def _is_transient(err: BaseException) -> bool:
    """Whether running again may get past ``err``: a fault of the network, a store or the
    machines (``OSError``, ``MemoryError``, a lost worker), not of the inputs."""
    return isinstance(err, OSError | MemoryError) or type(err).__name__ in _TRANSIENT_NAMES


def _failure(day: pd.Timestamp, err: BaseException, writer: _Writer) -> RuntimeError:
    """The error of a run stopped by the failure of ``day``: what is kept, what to do."""
    what = f"filling {day.date()} failed ({type(err).__name__}: {err}); {writer.kept()}"
    if _is_transient(err):
        return RuntimeError(
            f"{what}. If the cause is gone (network, disk, memory), run the same command "
            "again to resume: the finished days are skipped"
        )
    before = (day - pd.Timedelta(days=1)).date()
    return RuntimeError(
        f"{what}. Running the same command again would stop on {day.date()} again: change "
        f"what the message names, or end the run on {before}"
    )


def _compute_and_write(client: Any, writer: _Writer, progress: bool, task: dict) -> None:
    """Run one task per day, at most a window ahead, and write the days in date order.

    Raises ``RuntimeError`` when a day fails, after writing the days before it.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    todo = writer.todo
    pending: Iterable[pd.Timestamp] = iter(todo)
    key_of: dict[str, pd.Timestamp] = {}

    def submit() -> Any:
        day = next(pending, None)
        if day is None:
            return None
        future = client.submit(
            process_day,
            day,
            pure=False,
            key=f"eogapfill-day-{day:%Y-%m-%d}-{uuid.uuid4().hex[:8]}",
            **task,
        )
        key_of[future.key] = day
        return future

    first = [f for f in (submit() for _ in range(min(_window(client), len(todo)))) if f]
    stream = as_completed(first)
    attrs = writer.attrs
    bar = tqdm(
        total=len(todo),
        unit="day",
        desc=f"{attrs['fill_method']} nside {attrs['nside']}",
        disable=not progress,
    )
    failed: tuple[pd.Timestamp, BaseException] | None = None
    try:
        for future in stream:
            day = key_of.pop(future.key)
            if failed is not None and day > failed[0]:
                continue  # cancelled, or finished after an earlier day failed: not written
            try:
                result = future.result()
            except Exception as err:
                # Keep the days before this one (still running): cancel only the later ones.
                failed = (day, err)
                for other in list(stream.futures):
                    if key_of.get(other.key, day) > day:
                        other.cancel()
                continue
            bar.update(1)
            writer.add(day, result)
            bar.set_postfix(written=writer.written)
            if failed is None:
                new = submit()
                if new is not None:
                    stream.add(new)
        writer.flush(final=True)
    finally:
        bar.close()
    if failed is not None:
        raise _failure(*failed, writer) from failed[1]
