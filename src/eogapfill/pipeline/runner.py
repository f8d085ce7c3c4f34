"""A run of the pipeline: the days, the method, one task per day on Dask, written in order.

:func:`run` fills a range of days into one store (:mod:`eogapfill.pipeline.store`) on a
Dask cluster (:mod:`eogapfill.pipeline.cluster`); :func:`process_day` is the task of one day.
The fill methods are those of the registry (:data:`eogapfill.fill.METHODS`) on the HEALPix
grid, or any function with the fill signature.

A run fills the whole sphere, or only a ``region`` (a lat/lon box, :func:`check_region`): the
store then holds the region's cells (a partial grid) and says so in its attributes. The
source resolution follows the grid unless given (:func:`default_resolution`).
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
    _region_attrs,
    _remove_stale_partials,
    _rollback_uncommitted,
    _run_attrs,
    _store_attrs,
    _store_lock,
    open_output,
    stored_days,
)
from eogapfill.preprocess import prepare_day
from eogapfill.regrid import to_healpix

__all__ = [
    "available_methods",
    "check_method_options",
    "check_region",
    "day_range",
    "default_resolution",
    "fill_days",
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

    Raises ``ValueError`` for a bad box (latitudes outside -90 .. 90, ``lat0 >= lat1``, equal
    longitudes) and for a method that needs the full sphere (naming those that fill a region).

    >>> box, ids = check_region((-80, -50, 25, 45), 64)
    >>> box, ids.size
    ((-80.0, -50.0, 25.0, 45.0), 656)
    """
    if region is None:
        return None, None
    box = check_box(region)
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
        with the xdggs attributes.

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
    result = fill_function(hp_day, **options)
    return _day_output(hp_day, result, day_stamp, name)


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
    if done and todo and todo[0] < done[-1]:
        raise ValueError(
            f"{out} already ends on {done[-1].date()}; missing earlier days (first "
            f"{todo[0].date()}) cannot be appended after it (time must stay in order): ask for "
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
        configuration (another region or nside too), days the source does not have.
    StoreBusyError
        Another run is writing ``out`` (after ``wait`` seconds).
    TimeoutError
        No Dask scheduler answered at ``scheduler``.
    RuntimeError
        When a day fails; the days before it are kept, and running again resumes.
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
) -> tuple[xr.Dataset, int]:
    """:func:`run` (every argument given); also returns the number of days this run wrote."""
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
            return open_output(out), 0
        _check_source_has(todo, source, resolution)

        own_client = client is None
        if own_client:
            client = (
                connect_scheduler(scheduler, connect_timeout)
                if scheduler is not None
                else _default_cluster(n_workers, 1)
            )
        try:
            written = _compute_and_write(
                client,
                todo,
                out,
                attrs,
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
                committed,
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
    return open_output(out), written


def _store_resolution(out: Path) -> float | None:
    """The source resolution recorded by an existing store (None when there is none)."""
    if _is_new(out):
        return None
    value = _store_attrs(out).get("resolution_deg")
    return None if value is None else float(value)


def _compute_and_write(
    client: Any,
    todo: list[pd.Timestamp],
    out: Path,
    attrs: dict,
    progress: bool,
    task: dict,
    committed: int,
) -> int:
    """Run one task per day, at most a window ahead, and write the days in date order.

    Returns the number of days written. Before each write, checks that the store still holds
    the ``committed`` days it held when this run planned its days, plus the ones it wrote (the
    lock makes it so; this is the last line of defence against a writer that ignores it).
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    pending: Iterable[pd.Timestamp] = iter(todo)
    key_of: dict[str, pd.Timestamp] = {}
    finished: dict[pd.Timestamp, xr.Dataset] = {}
    next_to_write = 0

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
            finished[day] = result.assign_attrs(attrs)
            bar.update(1)
            while next_to_write < len(todo) and todo[next_to_write] in finished:
                if (now := _committed_length(out)) != committed + next_to_write:
                    raise RuntimeError(
                        f"{out} was changed by another writer while this run was writing it "
                        f"(it holds {now} day(s), this run expected {committed + next_to_write}"
                        "); nothing more is written: check the store with "
                        "eogapfill.pipeline.open_output, and run one writer at a time"
                    )
                _append_day(finished.pop(todo[next_to_write]), out)
                next_to_write += 1
                bar.set_postfix(written=next_to_write)
            if failed is None:
                new = submit()
                if new is not None:
                    stream.add(new)
    finally:
        bar.close()
    if failed is not None:
        day, err = failed
        raise RuntimeError(
            f"filling {day.date()} failed ({type(err).__name__}: {err}); the {next_to_write} "
            f"day(s) of this run before it are safe in {out}: fix the cause and run the same "
            "command again to resume"
        ) from err
    return next_to_write
