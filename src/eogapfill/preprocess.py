"""Turn the raw L3S and L4 products into one clean day on their common lat/lon grid.

- temperatures go from kelvin to degC with pint-xarray (CF unit strings read by cf_xarray);
- only the best observations are kept (``quality_level == 5`` by default);
- the L4 ``mask`` bit flags (1 sea, 2 land, 4 lake, 8 ice) say what is open sea: a missing
  value over the sea is a cloud (a gap to fill); land, lakes and ice are never gaps.

The result of :func:`prepare_day` has ``SST_L3S`` and ``SST_L4`` (degC), ``mask`` (the L4
flags) and ``sea`` (bool) on dims ``(latitude, longitude)``.
"""

from __future__ import annotations

from pathlib import Path

import cf_xarray.units  # noqa: F401  (registers CF unit strings with pint)
import numpy as np
import pint_xarray  # noqa: F401  (registers the .pint accessor)
import xarray as xr

__all__ = [
    "MASK_FLAGS",
    "load_day",
    "prepare_day",
    "quality_filter",
    "save_day",
    "sea_mask",
    "to_celsius",
]

#: L4 ``mask`` bit flags.
MASK_FLAGS = {"sea": 1, "land": 2, "lake": 4, "ice": 8}
# Plausible ranges of sea-surface temperature in each unit, for catching unit mix-ups.
_PLAUSIBLE = {"kelvin": (260.0, 320.0), "degC": (-5.0, 45.0)}


def to_celsius(da: xr.DataArray) -> xr.DataArray:
    """Convert a temperature to degC with pint-xarray, checking that the units are honest.

    Raises ``ValueError`` when ``units`` is missing, or when the values contradict it (a
    field in degC labelled kelvin, or the reverse), with the fix to apply.

    >>> t = xr.DataArray([273.15, 300.15], dims="x", attrs={"units": "kelvin"})
    >>> to_celsius(t).values.round(2).tolist(), to_celsius(t).attrs["units"]
    ([0.0, 27.0], 'degC')
    """
    name = da.name or "temperature"
    units = da.attrs.get("units")
    if units is None:
        raise ValueError(
            f"{name!r} has no 'units' attribute: set it, e.g. da.attrs['units'] = 'kelvin'"
        )
    quantified = da.pint.quantify()
    dim = quantified.pint.units.dimensionality
    if str(dim) != "[temperature]":
        raise ValueError(f"{name!r} has units {units!r}, which is not a temperature")
    median = float(np.nanmedian(np.asarray(da.values, dtype="float64"))) if da.size else np.nan
    in_kelvin = quantified.pint.units == quantified.pint.registry.kelvin
    lo, hi = _PLAUSIBLE["kelvin" if in_kelvin else "degC"]
    if np.isfinite(median) and not lo <= median <= hi:
        other = "degC" if in_kelvin else "kelvin"
        raise ValueError(
            f"{name!r} says units={units!r} but its median {median:.2f} is not a plausible SST "
            f"in those units ({lo} to {hi}): the data look like {other}; fix the 'units' "
            "attribute before converting"
        )
    out = quantified.pint.to("degC").pint.dequantify()
    out.attrs["units"] = "degC"
    for key in ("valid_min", "valid_max", "valid_range", "_FillValue"):  # kelvin bounds no longer hold
        out.attrs.pop(key, None)
    return out


def quality_filter(
    sst: xr.DataArray, quality_level: xr.DataArray, min_level: int = 5
) -> xr.DataArray:
    """Keep values whose ``quality_level >= min_level`` (5 = best); others become NaN."""
    if not 0 <= min_level <= 5:
        raise ValueError(f"min_level must be in 0..5 (5 = best), got {min_level}")
    return sst.where(quality_level >= min_level)


def sea_mask(mask: xr.DataArray) -> xr.DataArray:
    """Open sea where the L4 flags are exactly ``sea`` (``mask == 1``): no land, lake or ice."""
    out = mask == MASK_FLAGS["sea"]
    out.attrs = {"long_name": "open sea (L4 mask == 1)"}
    return out.rename("sea")


def _one_day(ds: xr.Dataset, what: str) -> xr.Dataset:
    if "time" in ds.dims:
        if ds.sizes["time"] != 1:
            raise ValueError(
                f"{what} holds {ds.sizes['time']} days: select one, e.g. "
                f"{what}.sel(time='2024-06-01') or open_l3s('2024-06-01')"
            )
        ds = ds.isel(time=0)
    return ds


def _check_same_grid(a: xr.Dataset, b: xr.Dataset) -> None:
    for dim in ("latitude", "longitude"):
        if dim not in a.coords or dim not in b.coords:
            raise ValueError(f"both products need a {dim!r} coordinate")
        if a.sizes[dim] != b.sizes[dim] or not np.allclose(a[dim].values, b[dim].values, atol=1e-6):
            raise ValueError(
                f"L3S and L4 are on different grids ({dim}: {a.sizes[dim]} vs {b.sizes[dim]} "
                "points): open both at the same resolution or interpolate one onto the other "
                "with .interp_like"
            )


def prepare_day(l3s: xr.Dataset, l4: xr.Dataset, *, min_quality: int = 5) -> xr.Dataset:
    """One clean day from the raw products: ``SST_L3S``, ``SST_L4`` (degC), ``mask``, ``sea``.

    ``SST_L3S`` keeps observations with ``quality_level >= min_quality`` over open sea; NaN
    there means "no observation" (cloud), NaN elsewhere means "not sea". Latitude is made
    ascending. Raises on missing variables, different grids, different days or unit errors.
    """
    for ds, what, names in (
        (l3s, "l3s", ("sea_surface_temperature", "quality_level")),
        (l4, "l4", ("analysed_sst", "mask")),
    ):
        missing = [n for n in names if n not in ds]
        if missing:
            raise ValueError(
                f"{what} has no {', '.join(map(repr, missing))}: open it with "
                f"eogapfill.data.open_{what}(...)"
            )
    l3s, l4 = _one_day(l3s, "l3s"), _one_day(l4, "l4")
    if "time" in l3s.coords and "time" in l4.coords:
        t3, t4 = l3s["time"].values.astype("datetime64[D]"), l4["time"].values.astype("datetime64[D]")
        if t3 != t4:
            raise ValueError(f"L3S is for {t3} but L4 for {t4}: open the same day of both")
    l3s, l4 = l3s.sortby("latitude"), l4.sortby("latitude")
    _check_same_grid(l3s, l4)
    sea = sea_mask(l4["mask"])
    observed = quality_filter(to_celsius(l3s["sea_surface_temperature"]), l3s["quality_level"], min_quality)
    sst_l3s = observed.where(sea)
    sst_l3s.attrs.update(
        long_name=f"observed SST (quality_level >= {min_quality}, open sea); NaN = no observation",
        units="degC",
    )
    sst_l4 = to_celsius(l4["analysed_sst"]).where(sea)
    sst_l4.attrs.update(long_name="L4 analysed SST (open sea)", units="degC")
    day = xr.Dataset(
        {"SST_L3S": sst_l3s, "SST_L4": sst_l4, "mask": l4["mask"], "sea": sea},
        attrs={"title": "eogapfill prepared day", "min_quality_level": min_quality},
    )
    # Coordinates of the L4 win where the two differ by rounding only.
    return day.assign_coords(latitude=l4["latitude"], longitude=l4["longitude"])


def save_day(day: xr.Dataset, path: str | Path) -> Path:
    """Write a prepared day to a local Zarr store (format 2, consolidated); returns the path."""
    path = Path(path)
    day.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
    return path


def load_day(path: str | Path) -> xr.Dataset:
    """Open a day written by :func:`save_day`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved day at {path}: write one with save_day(day, path)")
    return xr.open_zarr(path, consolidated=True)
