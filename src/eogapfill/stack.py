"""A window of days on one HEALPix grid: the stack ``(time, cells)`` that space-time fills read.

Each day is regridded on its own (:func:`eogapfill.regrid.to_healpix`, the same cell means as
a single-day fill sees) and the days are put side by side on a ``time`` axis. Only the HEALPix
maps are kept: a lat/lon day is released once regridded, so the memory of a stack is its
days' maps (``n_days x n_cells`` values) plus one lat/lon day at a time. :func:`stack_days`
puts maps already regridded side by side (how the pipeline's moving window builds the stack of
each day it fills without regridding a day twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.healpix import POSITION_NAMES, Region, grid_of
from eogapfill.regrid import to_healpix

__all__ = ["check_stack", "healpix_stack", "open_stack", "stack_days"]

#: Variables of a stack: the observations, the gap and sea masks of each day.
STACK_VARIABLES = ("SST_L3S", "gap", "sea")


def _kept(m: xr.Dataset) -> list[str]:
    """The stack's variables of a map, with where its observations are when it says so."""
    return [*STACK_VARIABLES, *(p for p in POSITION_NAMES if p in m.data_vars)]


def _regrid_day(
    day: xr.Dataset,
    nside: int,
    region: Region | Mapping[str, object] | None,
    sea_threshold: float,
) -> xr.Dataset:
    """One lat/lon day as a loaded HEALPix map of ``SST_L3S``, ``gap``, ``sea`` and the
    observed cells' positions."""
    hp_day = to_healpix(
        day, nside, variables=("SST_L3S",), region=region, sea_threshold=sea_threshold
    )
    return hp_day[_kept(hp_day)].load()


def _join(maps: list[xr.Dataset], times: np.ndarray, attrs: dict) -> xr.Dataset:
    """Maps of single days, one grid, as one ``(time, cells)`` dataset."""
    first = maps[0]
    grid = grid_of(first)
    for k, other in enumerate(maps[1:], start=1):
        if grid_of(other) != grid:
            raise ValueError(f"day {k} of the stack is not on the grid of day 0")
    names = [n for n in _kept(first) if all(n in m.data_vars for m in maps)]
    data = {
        name: (("time", "cells"), np.stack([m[name].values for m in maps]), first[name].attrs)
        for name in names
    }
    out = xr.Dataset(
        data,
        coords={"time": ("time", times), "cell_ids": first["cell_ids"]},
        attrs=attrs,
    )
    return out


def stack_days(maps: Sequence[xr.Dataset]) -> xr.Dataset:
    """Single-day HEALPix maps, one grid, in time order, as one ``(time, cells)`` stack.

    Parameters
    ----------
    maps : sequence of xarray.Dataset
        Days as :func:`eogapfill.regrid.to_healpix` gives them: ``SST_L3S`` (degC), ``gap``
        and ``sea`` on ``cells``, a scalar ``time`` coordinate, the same ``cell_ids``; their
        ``observed_lon`` and ``observed_lat`` are kept when every day has them (other
        variables, such as ``SST_L4``, are left out).

    Returns
    -------
    xarray.Dataset
        What :func:`healpix_stack` returns for the same days (the attributes of the first
        map's grid and regridding).

    Raises
    ------
    ValueError
        No map, a map without ``time`` or a stack variable, days out of order or on
        different grids.
    """
    if not maps:
        raise ValueError("stack_days: no map given; pass at least one day")
    for k, m in enumerate(maps):
        missing = [v for v in STACK_VARIABLES if v not in m]
        if missing or "time" not in m.coords:
            what = missing or ["a 'time' coordinate"]
            raise ValueError(
                f"stack_days: map {k} has no {', '.join(what)}; regrid each day with "
                "eogapfill.regrid.to_healpix"
            )
    times = np.array([np.datetime64(m["time"].values, "ns") for m in maps])
    if (np.diff(times) <= np.timedelta64(0, "ns")).any():
        raise ValueError("stack_days: the maps must be in increasing time order, one per day")
    attrs = {key: v for key, v in maps[0].attrs.items() if key.startswith(("healpix", "regrid"))}
    return _join([m[_kept(m)] for m in maps], times, attrs)


def healpix_stack(
    days: xr.Dataset,
    nside: int,
    region: Region | Mapping[str, object] | None = None,
    *,
    sea_threshold: float = 0.5,
) -> xr.Dataset:
    """Regrid a prepared lat/lon cube of days onto one HEALPix grid, day by day.

    Parameters
    ----------
    days : xarray.Dataset
        ``SST_L3S`` (degC, NaN = no observation) on ``(time, latitude, longitude)`` and the
        open-sea mask ``sea`` (bool, with or without ``time``), as
        :func:`eogapfill.preprocess.prepare_l3` gives; numpy or dask backed (a dask cube is
        computed one day at a time).
    nside : int
        HEALPix resolution (a power of two).
    region : (lon0, lon1, lat0, lat1) or mapping, optional
        Keep only the cells of this box (degrees), as in :func:`~eogapfill.regrid.to_healpix`.
    sea_threshold : float
        Fraction of open-sea source points that makes a cell sea.

    Returns
    -------
    xarray.Dataset
        ``SST_L3S`` (degC, float), ``gap`` and ``sea`` (bool), each ``(time, cells)``;
        ``cell_ids`` with the xdggs attributes (undecoded), ``time`` from the cube. ``sea`` and
        ``gap`` are each day's own (a cell under sea ice one day is not sea that day: a
        space-time fill never writes into it).

    Raises
    ------
    ValueError
        No ``time`` dimension, no ``SST_L3S`` or ``sea``, days on different grids, or what
        :func:`~eogapfill.regrid.to_healpix` refuses (kelvin, bad nside, no sea cell).
    """
    missing = [v for v in ("SST_L3S", "sea") if v not in days]
    if missing:
        raise ValueError(
            f"healpix_stack: the cube has no {missing}; prepare it with "
            "eogapfill.preprocess.prepare_l3 (or prepare_day per day)"
        )
    if "time" not in days["SST_L3S"].dims:
        raise ValueError(
            "healpix_stack: SST_L3S has no 'time' dimension; pass a cube of days "
            "(time, latitude, longitude), or regrid a single day with to_healpix"
        )
    maps = []
    for k in range(days.sizes["time"]):
        day = days[["SST_L3S", "sea"]].isel(time=k)
        maps.append(
            _regrid_day(day.drop_vars("time", errors="ignore"), nside, region, sea_threshold)
        )
    attrs = {key: v for key, v in maps[0].attrs.items() if key.startswith(("healpix", "regrid"))}
    attrs["sea_threshold"] = float(sea_threshold)
    return _join(maps, days["time"].values, attrs)


def open_stack(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    nside: int,
    region: Region | Mapping[str, object] | None = None,
    *,
    resolution: float = 0.25,
    source: str = "sample",
    sea_threshold: float = 0.5,
) -> xr.Dataset:
    """Open the days ``start..end`` (inclusive) of the L3S product as one HEALPix stack.

    Each day is opened and prepared with :func:`eogapfill.data.open_day`, regridded and
    released before the next is opened: the memory holds the stack's maps and one lat/lon
    day. ``resolution`` and ``source`` are those of ``open_day`` (the embedded sample at
    0.25 deg by default). Returns what :func:`healpix_stack` returns.
    """
    from eogapfill.data import open_day

    dates = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize())
    if dates.size == 0:
        raise ValueError(f"open_stack: no day from {start} to {end}; pass start <= end")
    maps = []
    for date in dates:
        day = open_day(date, source=source, resolution=resolution)  # type: ignore[arg-type]
        day = day[["SST_L3S", "sea"]].squeeze(drop=True).load()
        maps.append(_regrid_day(day, nside, region, sea_threshold))
        del day
    attrs = {key: v for key, v in maps[0].attrs.items() if key.startswith(("healpix", "regrid"))}
    attrs["sea_threshold"] = float(sea_threshold)
    return _join(maps, dates.values, attrs)


def check_stack(stack: xr.Dataset, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays of a stack: values ``(time, cells)`` (float64), gaps and sea (bool).

    Raises ``ValueError`` naming what is wrong (a variable, the dims) and what to do.
    """
    missing = [v for v in STACK_VARIABLES if v not in stack]
    if missing:
        raise ValueError(
            f"{method}: the stack has no {missing}; build it with eogapfill.stack.healpix_stack "
            "or open_stack"
        )
    if stack["SST_L3S"].dims != ("time", "cells"):
        raise ValueError(
            f"{method}: SST_L3S must have dims ('time', 'cells'), got {stack['SST_L3S'].dims}"
        )
    values = np.asarray(stack["SST_L3S"].values, dtype="float64")
    gaps = np.asarray(stack["gap"].values, dtype=bool)
    sea = np.asarray(stack["sea"].values, dtype=bool)
    if sea.ndim == 1:
        sea = np.broadcast_to(sea, values.shape)
    if gaps.shape != values.shape or sea.shape != values.shape:
        raise ValueError(f"{method}: gap and sea must have the shape of SST_L3S {values.shape}")
    return values, gaps, sea
