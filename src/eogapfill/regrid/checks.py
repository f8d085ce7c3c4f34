"""Checks of the day, its axes and the sea threshold before regridding (clear errors that say
what to do)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from eogapfill.seawater import temperature_unit

__all__ = ["CONTRACT_VARIABLES", "check_axis", "check_day", "check_threshold"]

#: The variables of a prepared day that are regridded by default (degC).
CONTRACT_VARIABLES = ("SST_L3S", "SST_L4")
_SQUEEZABLE = ("time",)  # length-1 dims dropped from the day (kept as scalar coords)


def check_axis(values: object, name: str) -> np.ndarray:
    """Validate a latitude or longitude axis (degrees) and return it as float64, shape (n,)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D coordinate (a regular lat/lon grid), got shape {arr.shape}; "
            "curvilinear grids are not supported"
        )
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 points, got {arr.size}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric degrees, got dtype {arr.dtype}")
    arr = arr.astype("float64")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has NaN or infinite values")
    step = np.diff(arr)
    if not ((step > 0).all() or (step < 0).all()):
        raise ValueError(
            f"{name} must be strictly monotonic (increasing or decreasing); "
            f"sort it with day.sortby({name!r}) and drop duplicates"
        )
    lo, hi = float(arr.min()), float(arr.max())
    if name == "latitude":
        if lo < -90.0 or hi > 90.0:
            raise ValueError(f"latitude must lie in [-90, 90] degrees north, got {lo} .. {hi}")
    else:
        if lo < -180.0 or hi > 360.0:
            raise ValueError(
                f"longitude must be degrees east in -180..180 or 0..360, got {lo} .. {hi}"
            )
        if lo < 0.0 and hi > 180.0:
            raise ValueError(
                f"longitude mixes the -180..180 and 0..360 conventions ({lo} .. {hi}); "
                "convert it with ((lon + 180) % 360) - 180 and sortby('longitude')"
            )
    return arr


def check_threshold(sea_threshold: float) -> float:
    threshold = float(sea_threshold)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(
            f"sea_threshold must be in (0, 1] (fraction of open-sea source points that makes a "
            f"cell sea), got {sea_threshold!r}; 0 would turn land into ocean"
        )
    return threshold


def check_day(day: xr.Dataset, variables: tuple[str, ...]) -> xr.Dataset:
    """Return the day reduced to ``sea`` and ``variables`` on dims (latitude, longitude)."""
    if not isinstance(day, xr.Dataset):
        raise TypeError(f"to_healpix expects an xarray.Dataset (a lat/lon day), got {type(day)}")
    if not variables:
        raise ValueError("variables is empty: name at least one variable to regrid")
    needed = ("sea", *variables)
    missing = [name for name in needed if name not in day.data_vars]
    if missing:
        hint = " ('sea' is the open-sea mask, mask == 1)" if "sea" in missing else ""
        raise ValueError(
            f"the day lacks variable(s) {missing}{hint}; variables present: "
            f"{sorted(map(str, day.data_vars))}. Build the day with "
            "eogapfill.preprocess.prepare_day(l3s, l4)"
        )
    sub = day[list(needed)]
    for dim in _SQUEEZABLE:
        if dim in sub.dims and sub.sizes[dim] == 1:
            sub = sub.squeeze(dim)
    for name in needed:
        dims = set(sub[name].dims)
        if dims != {"latitude", "longitude"}:
            raise ValueError(
                f"{name!r} has dims {sub[name].dims}; to_healpix regrids one 2-D day on dims "
                "('latitude', 'longitude'): select one time with day.isel(time=i), or rename "
                "the dims, e.g. day.rename(lat='latitude', lon='longitude')"
            )
        unit = temperature_unit(sub[name].attrs.get("units"))
        if unit in ("kelvin", "degF"):
            raise ValueError(
                f"{name!r} is in {unit}; the HEALPix day is in degC: convert it first "
                "(eogapfill.preprocess.to_celsius, or prepare_day does it)"
            )
    for dim in ("latitude", "longitude"):
        if dim not in sub.coords:
            raise ValueError(f"the day has no {dim!r} coordinate: assign it (degrees)")
    return sub.transpose("latitude", "longitude")
