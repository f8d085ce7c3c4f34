"""One day of a run, the task a Dask worker computes: open, prepare, regrid and fill it
(:func:`process_day`); the first three steps on their own are :func:`regrid_day` (what a
space-time run, :mod:`eogapfill.pipeline.window`, computes once per day of its window).

A day with nothing to fill (no gap: every sea cell observed, as a small region can be on a
clear day) is returned as observed, without calling the fill, and marked so for the writer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.data import L3S_VARIABLES, L4_VARIABLES, open_l3s, open_l4
from eogapfill.healpix import Region, check_nside
from eogapfill.pipeline.methods import _run_options, resolve_method
from eogapfill.pipeline.store import _FLOAT_VARIABLES
from eogapfill.preprocess import prepare_day
from eogapfill.regrid import to_healpix

__all__ = ["process_day", "regrid_day"]

#: The attribute that marks a day with nothing to fill (a task's result, never stored).
_NOTHING_TO_FILL = "eogapfill_nothing_to_fill"


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
    check_nside(nside)
    threads = threads or _thread_share()
    fill_function = resolve_method(method if fill is None else fill)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    options = _run_options(fill_function, method_options, threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)

    day_stamp = pd.Timestamp(date).floor("D")
    hp_day = regrid_day(
        day_stamp, nside=nside, source=source, resolution=resolution, region=region, threads=threads
    )
    if not bool(hp_day["gap"].any()):  # nothing to fill: the day is complete as observed
        return _day_output(hp_day, _as_observed(hp_day, name), day_stamp, name)
    result = fill_function(hp_day, **options)
    return _day_output(hp_day, result, day_stamp, name)


def regrid_day(
    date: str | pd.Timestamp,
    *,
    nside: int = 128,
    source: str = "sample",
    resolution: float = 0.25,
    region: Region | Mapping[str, Any] | None = None,
    threads: int | None = None,
) -> xr.Dataset:
    """Open, prepare and regrid one day: the HEALPix map that :func:`process_day` fills.

    Arguments as in :func:`process_day`. Returns the loaded map on ``cells`` (every cell of
    the sphere, or the region's; a region without open sea that day, under sea ice, gives a
    map without a sea cell and nothing to fill): ``SST_L3S``, ``SST_L4`` (degC), ``gap``, ``sea`` (bool),
    ``cell_ids`` with the xdggs attributes and the day as a scalar ``time`` coordinate.
    """
    check_nside(nside)
    threads = threads or _thread_share()
    label = pd.Timestamp(date).floor("D").strftime("%Y-%m-%d")
    scheduler = (
        {"scheduler": "synchronous"}
        if threads == 1
        else {"scheduler": "threads", "num_workers": threads}
    )
    # Read with this task's own scheduler, given to the read itself: a task never changes
    # dask's settings, which every thread of its worker shares (an in-process worker's with
    # the run itself), so the days computed beside it and the run that closes the cluster
    # keep theirs.
    l3s = _read(open_l3s(label, source=source, resolution=resolution), L3S_VARIABLES, scheduler)
    l4 = _read(open_l4(label, source=source, resolution=resolution), L4_VARIABLES, scheduler)
    day = prepare_day(l3s, l4)
    # a region whose water is all under sea ice today has nothing to fill: kept, not refused
    # (a box on land is refused before the run starts: pipeline.region)
    return to_healpix(day, nside, region=region, allow_no_sea=region is not None).load()


def _read(ds: xr.Dataset, names: tuple[str, ...], scheduler: Mapping[str, Any]) -> xr.Dataset:
    """The variables ``names`` of ``ds``, those that :func:`~eogapfill.preprocess.prepare_day`
    reads (the ones it has: a missing one is reported there), loaded with ``scheduler``."""
    return ds[[name for name in names if name in ds]].load(**scheduler)


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
