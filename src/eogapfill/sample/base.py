"""The sample's grid and its static fields: the OISST base, coastlines and lakes.

The base is NOAA OISST v2.1 of 2017-07-29 on its 0.25 degree grid, shipped with the package
(``eogapfill/_data``); the coastlines refine its water mask with the 1 km GLOBE mask of
``global-land-mask``. See :mod:`eogapfill.sample` for how a day is made from them.
"""

from __future__ import annotations

import datetime as _dt
import importlib.resources
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from eogapfill.landmask import GLOBE_SHAPE, globe_row_blocks
from eogapfill.sample.fields import Interpolator, wrap_dilate, wrap_label

__all__ = ["OISST_REFERENCE", "RESOLUTIONS", "SAMPLE_VERSION", "oisst_base", "sample_grid"]

#: Version of the generator; part of the cache folder name, bumped whenever the output changes.
SAMPLE_VERSION = 3
#: Grid spacings (degrees) the generator supports: 0.25 (default), 0.1 (the Copernicus grid),
#: 0.5 and 1.0 (quick looks and tests).
RESOLUTIONS = (1.0, 0.5, 0.25, 0.1)
#: Citation of the base field.
OISST_REFERENCE = (
    "Huang, B., C. Liu, V. Banzon, E. Freeman, G. Graham, B. Hankins, T. Smith and H.-M. Zhang, "
    "2021: Improvements of the Daily Optimum Interpolation Sea Surface Temperature (DOISST) "
    "Version 2.1. J. Climate, 34, 2923-2939, doi:10.1175/JCLI-D-20-0166.1"
)

_OISST_FILE = "oisst_v2.1_20170729_0.25deg.nc"
BASE_DAY_OF_YEAR = 210  # 2017-07-29
KELVIN = 273.15
FREEZING = -1.8  # degC, sea water
VALID_KELVIN = (270.15, 318.15)  # -3 to 45 degC, as in the Copernicus products
DYN = 0.25  # grid of the OISST base and of the fields that move the fronts, degrees
_EARLIEST = np.datetime64("1981-09-01", "D")  # start of the satellite SST era (OISST)
_LATEST = np.datetime64("2100-12-31", "D")

DateLike = str | np.datetime64 | pd.Timestamp | _dt.date


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------
def check_resolution(resolution: float) -> float:
    try:
        r = float(resolution)
    except (TypeError, ValueError):
        r = float("nan")
    for allowed in RESOLUTIONS:
        if abs(r - allowed) < 1e-9:
            return allowed
    raise ValueError(
        f"resolution must be one of {RESOLUTIONS} degrees, got {resolution!r}: 0.25 is the "
        "default, 0.1 the grid of the Copernicus Marine products, 1.0 and 0.5 are for quick tests"
    )


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def as_day(date: DateLike) -> np.datetime64:
    """The calendar day of ``date`` (the time of day, if any, is dropped)."""
    try:
        stamp = pd.Timestamp(date)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{date!r} is not a date: pass a day such as '2024-06-01' or a datetime"
        ) from err
    if stamp is pd.NaT or pd.isna(stamp):
        raise ValueError(f"{date!r} is not a date: pass a day such as '2024-06-01'")
    day = np.datetime64(stamp.tz_localize(None) if stamp.tzinfo else stamp, "D")
    if not _EARLIEST <= day <= _LATEST:
        raise ValueError(
            f"the sample covers {_EARLIEST} to {_LATEST} (the satellite SST era), got {day}"
        )
    return day


def sample_grid(resolution: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (ascending) and longitudes of the sample grid, degrees.

    Parameters
    ----------
    resolution
        Grid spacing in degrees, one of :data:`RESOLUTIONS`.

    Returns
    -------
    latitude, longitude
        Arrays of shape ``(180 / resolution,)`` from ``-90 + r/2`` to ``90 - r/2`` and
        ``(360 / resolution,)`` from ``-180 + r/2`` to ``180 - r/2``, float64.

    Examples
    --------
    >>> lat, lon = sample_grid(1.0)
    >>> lat[:2], lon[-1]
    (array([-89.5, -88.5]), np.float64(179.5))
    """
    r = check_resolution(resolution)
    lat = -90.0 + r * (np.arange(round(180 / r)) + 0.5)
    lon = -180.0 + r * (np.arange(round(360 / r)) + 0.5)
    return lat, lon


# ---------------------------------------------------------------------------------------------
# static fields: base, coastlines, lakes
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _oisst() -> np.ndarray:
    """The packaged OISST field, (720, 1440) float32 degC, latitude ascending, NaN on land."""
    ref = importlib.resources.files("eogapfill") / "_data" / _OISST_FILE
    with importlib.resources.as_file(ref) as path, xr.open_dataset(path) as ds:
        sst = ds["sst"].values.astype(np.float32)
    sst.flags.writeable = False
    return sst


@lru_cache(maxsize=1)
def oisst_water() -> tuple[np.ndarray, np.ndarray]:
    """OISST water split into the world ocean and lakes, on the 0.25 degree grid.

    Straits narrower than the grid (Bosphorus, Dardanelles) are bridged by growing the water
    by two cells before looking for connected water bodies.
    """
    water = np.isfinite(_oisst())
    labels = wrap_label(wrap_dilate(water, 2))
    counts = np.bincount(labels[water])
    counts[0] = 0
    ocean = water & (labels == np.argmax(counts))
    return ocean, water & ~ocean


@lru_cache(maxsize=1)
def filled_base() -> np.ndarray:
    """OISST with land filled by the nearest water value, (720, 1440) float32 degC."""
    sst = _oisst()
    index = ndimage.distance_transform_edt(
        ~np.isfinite(sst), return_distances=False, return_indices=True
    )
    filled = sst[index[0], index[1]]
    filled.flags.writeable = False
    return filled


def _glm_water_fraction(resolution: float) -> np.ndarray:
    """Water fraction of each sample cell from the 1 km GLOBE mask of ``global-land-mask``.

    The mask (21600 x 43200 booleans, about 1 GB unpacked) is streamed block by block
    (:func:`eogapfill.landmask.globe_row_blocks`) so that it is never held in memory.
    Returns (ny, nx) float32 in [0, 1], latitude ascending.
    """
    n_rows, n_cols = GLOBE_SHAPE
    block = round(resolution * n_cols / 360)
    ny, nx = n_rows // block, n_cols // block
    water = np.empty((ny, nx), np.float32)
    for start, ocean in globe_row_blocks(rows=block * max(1, 240 // block)):
        n = ocean.shape[0]
        counts = ocean.reshape(n // block, block, nx, block).sum(axis=(1, 3), dtype=np.int32)
        water[start // block : (start + n) // block] = counts / block**2
    return water[::-1]  # the GLOBE rows run from north to south


def _to_grid(field025: np.ndarray, resolution: float, how: Literal["any", "mean"]) -> np.ndarray:
    """Carry a 0.25 degree field to the sample grid: block reduction or nearest cell."""
    if resolution >= DYN:
        m = round(resolution / DYN)
        blocks = field025.reshape(field025.shape[0] // m, m, field025.shape[1] // m, m)
        return blocks.any(axis=(1, 3)) if how == "any" else blocks.mean(axis=(1, 3))
    lat, lon = sample_grid(resolution)
    i = np.floor((lat + 90.0) / DYN).astype(int)
    j = np.floor((lon + 180.0) / DYN).astype(int)
    return field025[np.ix_(i, j)]


@dataclass(frozen=True)
class _Static:
    """The fields of a sample grid that do not change with the date."""

    resolution: float
    lat: np.ndarray  # (ny,)
    lon: np.ndarray  # (nx,)
    sea: np.ndarray  # (ny, nx) bool
    lake: np.ndarray  # (ny, nx) bool


@lru_cache(maxsize=2)
def static_fields(resolution: float) -> _Static:
    lat, lon = sample_grid(resolution)
    ocean025, lake025 = oisst_water()
    near_ocean = _to_grid(wrap_dilate(ocean025, 1), resolution, "any").astype(bool)
    sea = (_glm_water_fraction(resolution) >= 0.5) & near_ocean
    lake = (_to_grid(lake025, resolution, "mean") >= 0.5) & ~sea
    for a in (lat, lon, sea, lake):
        a.flags.writeable = False
    return _Static(resolution, lat, lon, sea, lake)


@lru_cache(maxsize=1)
def base_interpolator() -> Interpolator:
    """Cubic interpolator of the land-filled OISST base."""
    return Interpolator(filled_base(), order=3)


def oisst_base(resolution: float = 0.25) -> xr.DataArray:
    """The real OISST field the sample is built on, on the sample grid, degC.

    At 0.25 degree it is the packaged NOAA OISST v2.1 analysis of 2017-07-29, at other
    resolutions its cubic interpolation; where the sample's coastline differs from OISST's,
    the nearest OISST value is used. NaN off the sample's water (sea and lakes).

    Returns
    -------
    xarray.DataArray
        Dims ``(latitude, longitude)``, float32 degC, NaN off water.

    Examples
    --------
    >>> base = oisst_base()
    >>> base.shape, base.attrs["units"]
    ((720, 1440), 'degC')
    """
    r = check_resolution(resolution)
    lat, lon = sample_grid(r)
    st = static_fields(r)
    if r == DYN:
        values = np.array(filled_base())
    else:
        values = base_interpolator()(lat[:, None], lon[None, :])
    values[~(st.sea | st.lake)] = np.nan
    return xr.DataArray(
        values,
        dims=("latitude", "longitude"),
        coords={"latitude": lat.astype(np.float32), "longitude": lon.astype(np.float32)},
        name="sst",
        attrs={
            "units": "degC",
            "standard_name": "sea_surface_temperature",
            "long_name": "NOAA OISST v2.1, 2017-07-29 (base field of the sample)",
            "references": OISST_REFERENCE,
        },
    )
