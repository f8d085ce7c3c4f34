"""A run of the pipeline: the days, the method, one task per day on Dask, written in order.

:func:`run` fills a range of days into one store (:mod:`eogapfill.pipeline.store`) on a
Dask cluster (:mod:`eogapfill.pipeline.cluster`); :func:`process_day` is the task of one day
(:mod:`eogapfill.pipeline.day`). Before any work, the method and its options
(:mod:`eogapfill.pipeline.methods`), the region (:mod:`eogapfill.pipeline.region`) and the
days (:mod:`eogapfill.pipeline.plan`) are checked; the finished days are written in date
order by :mod:`eogapfill.pipeline.writer`. The fill methods are those of the registry
(:data:`eogapfill.fill.METHODS`) on the HEALPix grid, or any function with the fill signature.

A run fills the whole sphere, or only a ``region`` (a lat/lon box, :func:`check_region`): the
store then holds the region's cells (a partial grid) and says so in its attributes. The
source resolution follows the grid unless given (:func:`default_resolution`).

A day with nothing to fill (no gap: every sea cell observed, as a small region can be on a
clear day) is a filled day: it is stored as observed (``filled_std`` 0 when the method gives
one) without calling the fill, and the log says so.

A space-time method (``"spacetime_oi"``, ``"eof"``) fills each day from a window of days
around it, ``window`` on each side (:mod:`eogapfill.pipeline.window`): each day of the window
regridded once, at most ``2 * window + 1`` of them held, the days written as a single-day
run writes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.healpix import Region, check_nside
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
from eogapfill.pipeline.day import _NOTHING_TO_FILL as _NOTHING_TO_FILL
from eogapfill.pipeline.day import process_day
from eogapfill.pipeline.methods import (
    _check_method_available,
    _gives_std,
    available_methods,
    check_method_options,
    regional_methods,
    resolve_method,
)
from eogapfill.pipeline.methods import _run_options as _run_options
from eogapfill.pipeline.plan import (
    _check_source_has,
    _plan,
    _store_resolution,
    day_range,
    default_resolution,
    source_days,
)
from eogapfill.pipeline.region import (
    RegionWithoutSeaError,
    _check_region_has_sea,
    _store_box,
    check_region,
    normalised_box,
    region_summary,
)
from eogapfill.pipeline.store import (
    _check_compatible,
    _check_output_path,
    _check_region_compatible,
    _committed_length,
    _is_new,
    _region_attrs,
    _remove_stale_partials,
    _rollback_uncommitted,
    _run_attrs,
    _store_lock,
    open_output,
)
from eogapfill.pipeline.window import (
    _check_windows,
    _WindowTasks,
    check_window,
    window_days,
    window_summary,
)
from eogapfill.pipeline.writer import _failure, _Writer

__all__ = [
    "RegionWithoutSeaError",
    "available_methods",
    "check_method_options",
    "check_region",
    "check_window",
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
    "window_days",
    "window_summary",
]

logger = logging.getLogger(__name__)


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
    window: int | None = None,
) -> xr.Dataset:
    """Fill every day from ``start`` to ``end`` and append them to the Zarr store ``out``.

    Parameters
    ----------
    start, end
        First and last day, both included (``"2024-06-01"``).
    method
        Fill method, a HEALPix method of the registry, :data:`eogapfill.fill.METHODS`:
        ``"laplace"`` (default), ``"noise"``, ``"alm"``, ``"oi"``, ``"foscat"``, or a
        space-time one that fills each day from a window of days: ``"spacetime_oi"``,
        ``"eof"``.
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
    window
        For a space-time method: the days on each side of each day that fill it with it
        (``2 * window + 1`` days; those the source holds, beyond ``start`` and ``end`` too,
        fewer at the ends of the source). Default: the method's own (3). Each day is regridded
        once and at most ``2 * window + 1`` regridded days are held
        (:mod:`eogapfill.pipeline.window`). The store records it (attribute ``window``) and
        refuses another. A single-day method refuses a window.

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
        window=window,
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
    window: int | None = None,
) -> tuple[xr.Dataset, int, int]:
    """:func:`run` (every argument given); also returns the number of days this run wrote
    and, of those, the number that had nothing to fill (stored as observed)."""
    days = day_range(start, end)
    check_nside(nside)
    target = _check_method_available(method)
    method_options = check_method_options(method, method_options)
    window = check_window(method, window)
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
        attrs = _run_attrs(method, nside, source, resolution, method_options, window)
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
        have = [] if window is None else source_days(source, resolution)
        if window is not None:
            _check_windows(todo, window, have, method)
            logger.info("%s", window_summary(todo, window, have))
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
        # the cells found once here: every worker regrids onto the same ones
        cells = None if ids is None else {"cells": ids, "level": int(np.log2(nside))}
        grid = dict(nside=nside, source=source, resolution=resolution, region=cells)
        fill = dict(method=method, fill=target, method_options=method_options)
        submit: _DayTasks | _WindowTasks
        if window is None:
            submit = _DayTasks(client, {**fill, **grid})
        else:
            submit = _WindowTasks(client, todo, window, have, grid, {**fill, "window": window})
        try:
            _compute_and_write(client, writer, progress, submit)
            if isinstance(submit, _WindowTasks):
                submit.report()
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


class _DayTasks:
    """Submits the task of one day (:func:`process_day`) to the client."""

    def __init__(self, client: Any, task: Mapping[str, Any]):
        self.client, self.task = client, dict(task)

    def __call__(self, day: pd.Timestamp) -> Any:
        return self.client.submit(
            process_day,
            day,
            pure=False,
            key=f"eogapfill-day-{day:%Y-%m-%d}-{uuid.uuid4().hex[:8]}",
            **self.task,
        )


def _compute_and_write(
    client: Any, writer: _Writer, progress: bool, submit_day: Callable[[pd.Timestamp], Any]
) -> None:
    """Run one task per day (``submit_day(day)`` gives its future), at most a window of
    tasks ahead, and write the days in date order.

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
        future = submit_day(day)
        key_of[future.key] = day
        return future

    first = [f for f in (submit() for _ in range(min(_window(client), len(todo)))) if f]
    stream = as_completed(first)
    attrs = writer.attrs
    bar = tqdm(
        total=len(todo),
        unit="day",
        desc=f"{attrs['fill_method']} nside {attrs['nside']}"
        + (f" window {attrs['window']}" if "window" in attrs else ""),
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
