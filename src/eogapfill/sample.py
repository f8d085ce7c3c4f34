"""The embedded sample: generated SST days in the Copernicus Marine schema, offline.

Every chapter, command and test of the package can run without a network because this module
generates realistic L3S and L4 days, with exactly the variables, units and flags of the
Copernicus Marine products (``sea_surface_temperature`` and ``quality_level`` for L3S;
``analysed_sst``, ``mask``, ``sea_ice_fraction`` and ``analysis_error`` for L4), and writes them
as Zarr stores laid out like the ARCO stores (format 2, consolidated metadata).

How a day is made
-----------------
1. **Base.** A real analysis: NOAA OISST v2.1 of 2017-07-29 on its 0.25 degree grid (public
   domain, Huang et al. 2021, doi:10.1175/JCLI-D-20-0166.1), shipped with the package as a
   compressed netCDF file. Its fronts, currents (Gulf Stream, Kuroshio, Agulhas, the Antarctic
   Circumpolar Current), upwelling and sea ice are real.
2. **Coastlines.** The OISST water mask, refined at the target resolution with the 1 km GLOBE
   land mask of ``global-land-mask`` (shipped with that package; nothing is downloaded): a cell
   is sea when at least half of it is water and it touches OISST's ocean. Water bodies that
   OISST analyses but that do not connect to the world ocean, even across straits of a few
   tens of km (the Black Sea does), are lakes (flag 4): the Caspian Sea and the Great Lakes.
3. **Weather of the ocean.** The base is stirred by a random divergence-free velocity field
   (large eddies of a few hundred km renewed over about 8 days, small ones of about 100 km
   renewed over 3 days, all stronger where the base has strong fronts), so that fronts meander
   and shed filaments; a smooth large-scale anomaly (about 0.4 degC, scales of 1000+ km,
   12 days) and a seasonal cycle (zonal, by hemisphere) are added. The random fields evolve
   smoothly with the date: the previous day is a good but imperfect guide (day-to-day
   differences of about 0.2 degC rms).
4. **Small scales.** A non-Gaussian texture (a saturated random field with a red spectrum,
   scales from about 2 degrees down to the grid) whose amplitude grows with the local
   temperature gradient: it is strongest in western-boundary currents and along fronts.
   Base + stirring + anomaly + texture is the day's "truth".
5. **Sea ice** where the large-scale temperature is near freezing (-1.8 degC):
   ``sea_ice_fraction``, and ``mask = 9`` (sea and ice) where it exceeds 0.15.
6. **L4** ``analysed_sst`` is the truth smoothed over about 13 km (an analysis is smoother than
   the ocean), with an ``analysis_error`` that grows under clouds and along fronts.
7. **L3S.** Clouds are a thresholded random field with a power-law spectrum (so cloud objects
   of all sizes, from single pixels to ocean-basin systems), zonally stretched, more frequent at
   high latitudes and in the tropical convergence zone; each day covers a different fraction,
   between 22 and 40 % of the open ocean (area weighted). Clear ocean gets the truth plus
   sensor noise (0.1 K) with ``quality_level`` 5; a band along cloud and ice edges gets levels
   2 to 4 with a cold bias (cloud contamination) and more noise, so that keeping
   ``quality_level == 5`` removes the edges, as with the real product. Land, lakes, sea ice
   and clouds have no value (NaN) and ``quality_level`` 0.

Everything is deterministic: the same ``(date, seed, resolution)`` gives the same bytes.
The fields that move the fronts live on the 0.25 degree grid whatever the resolution, so all
resolutions show the same ocean; the texture, the clouds and the noise are drawn on each grid.
One day takes a few seconds at 0.25 degree and about 10 s at 0.1 degree (2 busy CPU cores,
under 1 GB of memory); the first call of a process also reads the land mask (about 10 s).

Limits
------
The sample is a generated field over a real base: good for learning, testing and benchmarking
code, **not for science conclusions**. Its stirring is a random kinematic deformation, not
ocean dynamics; a single base day stands for every date (the seasonal cycle is a zonal
correction, and the sea-ice edge barely moves with the seasons); lakes never freeze; clouds
are independent from one day to the next and from the ocean below; the OISST base is itself a
smooth optimal-interpolation analysis, so scales below about 100 km come from the texture
model, not from observations. The 0.1 degree grid refines the coastlines but its base is the
0.25 degree field interpolated.

Examples
--------
>>> l3s, l4 = generate_day("2024-06-01", resolution=1.0)
>>> l3s["sea_surface_temperature"].dims
('time', 'latitude', 'longitude')
>>> l4["analysed_sst"].attrs["units"]
'kelvin'
"""

from __future__ import annotations

import datetime as _dt
import importlib.resources
import importlib.util
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.fft
import xarray as xr
from scipy import ndimage, special
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "OISST_REFERENCE",
    "PRODUCTS",
    "RESOLUTIONS",
    "SAMPLE_DAYS",
    "SAMPLE_START",
    "SAMPLE_VERSION",
    "cache_dir",
    "generate_day",
    "oisst_base",
    "sample_grid",
    "sample_store",
    "write_sample",
]

#: First day of the default sample.
SAMPLE_START = "2024-06-01"
#: Number of days of the default sample.
SAMPLE_DAYS = 10
#: Version of the generator; part of the cache folder name, bumped whenever the output changes.
SAMPLE_VERSION = 2
#: Grid spacings (degrees) the generator supports: 0.25 (default), 0.1 (the Copernicus grid),
#: 0.5 and 1.0 (quick looks and tests).
RESOLUTIONS = (1.0, 0.5, 0.25, 0.1)
#: Store folder name of each product.
PRODUCTS = {"l3s": "l3s.zarr", "l4": "l4_time.zarr", "l4_geo": "l4_geo.zarr"}
#: Citation of the base field.
OISST_REFERENCE = (
    "Huang, B., C. Liu, V. Banzon, E. Freeman, G. Graham, B. Hankins, T. Smith and H.-M. Zhang, "
    "2021: Improvements of the Daily Optimum Interpolation Sea Surface Temperature (DOISST) "
    "Version 2.1. J. Climate, 34, 2923-2939, doi:10.1175/JCLI-D-20-0166.1"
)

_OISST_FILE = "oisst_v2.1_20170729_0.25deg.nc"
_BASE_DAY_OF_YEAR = 210  # 2017-07-29
_KELVIN = 273.15
_FREEZING = -1.8  # degC, sea water
_VALID_KELVIN = (270.15, 318.15)  # -3 to 45 degC, as in the Copernicus products
_DYN = 0.25  # grid of the OISST base and of the fields that move the fronts, degrees
_EARLIEST = np.datetime64("1981-09-01", "D")  # start of the satellite SST era (OISST)
_LATEST = np.datetime64("2100-12-31", "D")
_GEO_TILE = 256
# random streams: each physical ingredient draws from its own, so that changing one leaves the
# others identical
_S_PSI, _S_PSI2, _S_ANOM, _S_TEX, _S_CLOUD, _S_COVER, _S_NOISE, _S_QL = range(1, 9)

DateLike = str | np.datetime64 | pd.Timestamp | _dt.date


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------
def _check_resolution(resolution: float) -> float:
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


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _as_day(date: DateLike) -> np.datetime64:
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
    r = _check_resolution(resolution)
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


def _wrap_dilate(mask: np.ndarray, iterations: int, connectivity: int = 2) -> np.ndarray:
    """Binary dilation periodic in longitude (the last axis); 8-connected by default."""
    if iterations <= 0:
        return mask.copy()
    pad = iterations
    padded = np.pad(mask, ((0, 0), (pad, pad)), mode="wrap")
    structure = ndimage.generate_binary_structure(2, connectivity)
    grown = ndimage.binary_dilation(padded, structure=structure, iterations=pad)
    return grown[:, pad:-pad]


def _wrap_label(mask: np.ndarray) -> np.ndarray:
    """Connected components (8-connected) of ``mask``, periodic in longitude; 0 off the mask."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    first, last = labels[:, 0], labels[:, -1]
    pairs = [(first, last), (first[1:], last[:-1]), (first[:-1], last[1:])]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    keep = (a > 0) & (b > 0)
    graph = coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n + 1, n + 1))
    _, component = connected_components(graph, directed=False)
    merged = component[labels] + 1
    merged[labels == 0] = 0
    return merged


@lru_cache(maxsize=1)
def _oisst_water() -> tuple[np.ndarray, np.ndarray]:
    """OISST water split into the world ocean and lakes, on the 0.25 degree grid.

    Straits narrower than the grid (Bosphorus, Dardanelles) are bridged by growing the water
    by two cells before looking for connected water bodies.
    """
    water = np.isfinite(_oisst())
    labels = _wrap_label(_wrap_dilate(water, 2))
    counts = np.bincount(labels[water])
    counts[0] = 0
    ocean = water & (labels == np.argmax(counts))
    return ocean, water & ~ocean


@lru_cache(maxsize=1)
def _filled_base() -> np.ndarray:
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

    The mask file (21600 x 43200 booleans, about 1 GB unpacked) is streamed block by block so
    that it is never held in memory. Returns (ny, nx) float32 in [0, 1], latitude ascending.
    """
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the sample needs the land mask of the 'global-land-mask' package: "
            "pip install global-land-mask"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "globe_combined_mask_compressed.npz"
    with zipfile.ZipFile(path) as archive, archive.open("mask.npy") as stream:
        major, _ = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        (n_rows, n_cols), fortran, dtype = read_header(stream)
        if fortran or dtype != np.dtype(bool):
            raise RuntimeError(f"unexpected layout of the land mask in {path}")
        block = round(resolution * n_cols / 360)
        ny, nx = n_rows // block, n_cols // block
        rows = block * max(1, 240 // block)
        water = np.empty((ny, nx), np.float32)
        for start in range(0, n_rows, rows):
            n = min(rows, n_rows - start)
            ocean = np.frombuffer(stream.read(n * n_cols), dtype=bool)  # True = ocean
            counts = ocean.reshape(n // block, block, nx, block).sum(axis=(1, 3), dtype=np.int32)
            water[start // block : (start + n) // block] = counts / block**2
    return water[::-1]  # the GLOBE rows run from north to south


def _to_grid(field025: np.ndarray, resolution: float, how: Literal["any", "mean"]) -> np.ndarray:
    """Carry a 0.25 degree field to the sample grid: block reduction or nearest cell."""
    if resolution >= _DYN:
        m = round(resolution / _DYN)
        blocks = field025.reshape(field025.shape[0] // m, m, field025.shape[1] // m, m)
        return blocks.any(axis=(1, 3)) if how == "any" else blocks.mean(axis=(1, 3))
    lat, lon = sample_grid(resolution)
    i = np.floor((lat + 90.0) / _DYN).astype(int)
    j = np.floor((lon + 180.0) / _DYN).astype(int)
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
def _static(resolution: float) -> _Static:
    lat, lon = sample_grid(resolution)
    ocean025, lake025 = _oisst_water()
    near_ocean = _to_grid(_wrap_dilate(ocean025, 1), resolution, "any").astype(bool)
    sea = (_glm_water_fraction(resolution) >= 0.5) & near_ocean
    lake = (_to_grid(lake025, resolution, "mean") >= 0.5) & ~sea
    for a in (lat, lon, sea, lake):
        a.flags.writeable = False
    return _Static(resolution, lat, lon, sea, lake)


# ---------------------------------------------------------------------------------------------
# interpolation and random fields
# ---------------------------------------------------------------------------------------------
class _Interpolator:
    """Interpolation of a global field on a regular cell-centre grid, periodic in longitude.

    ``order=1`` is bilinear (plain numpy; a complex field interpolates two components at
    once), ``order=3`` a cubic spline (scipy.ndimage).
    """

    _PAD = 8

    def __init__(self, field: np.ndarray, order: int) -> None:
        p = self._PAD
        self.ny, self.nx = field.shape
        self.step = 180.0 / self.ny
        self.order = order
        dtype = np.float64 if order > 1 else field.dtype
        padded = np.pad(np.asarray(field, dtype), ((p, p), (0, 0)), mode="edge")
        padded = np.pad(padded, ((0, 0), (p, p)), mode="wrap")
        self.coef = ndimage.spline_filter(padded, order=order) if order > 1 else padded

    def __call__(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        p = self._PAD
        lat, lon = np.broadcast_arrays(lat, lon)
        dtype = np.float64 if self.order > 1 else np.float32
        i = (lat.astype(dtype) + 90.0) / self.step - 0.5
        j = (lon.astype(dtype) + 180.0) / self.step - 0.5
        i = np.clip(i, -p / 2, self.ny - 1 + p / 2) + p
        j = np.mod(j, self.nx) + p
        if self.order > 1:
            out = ndimage.map_coordinates(
                self.coef, [i, j], order=self.order, prefilter=False, mode="nearest"
            )
            return out.astype(np.float32)
        i0, j0 = np.floor(i).astype(np.intp), np.floor(j).astype(np.intp)
        wi, wj = i - i0, j - j0
        flat = self.coef.ravel()
        k = i0 * self.coef.shape[1] + j0
        top = flat[k] + wj * (flat[k + 1] - flat[k])
        k += self.coef.shape[1]
        bottom = flat[k] + wj * (flat[k + 1] - flat[k])
        return top + wi * (bottom - top)


def _power(k: np.ndarray, kind: str, k0: float, slope: float) -> np.ndarray:
    """2-D power spectral density shapes; ``k`` in cycles per degree."""
    q = (k / k0) ** 2
    if kind == "red":  # flat below k0, k**(-2 slope) above
        return (1.0 + q) ** (-slope)
    if kind == "band":  # rises as k**2 below k0, falls as k**(2 - 2 slope) above
        return q * (1.0 + q) ** (-slope)
    raise ValueError(kind)


def _gaussian_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    """A standardised Gaussian random field with the given spectrum, (ny, nx) float32.

    ``spectrum = (kind, k0, slope, stretch)``; ``stretch > 1`` elongates the features along
    longitude. Periodic in both directions (the FFT wraps), which is harmless at the poles.
    """
    kind, k0, slope, stretch = spectrum
    ny, nx = shape
    ky = scipy.fft.fftfreq(ny, d=spacing).astype(np.float32)[:, None]
    kx = scipy.fft.rfftfreq(nx, d=spacing).astype(np.float32)[None, :]
    k = np.sqrt((stretch * kx) ** 2 + ky**2)
    amplitude = np.sqrt(_power(k, kind, k0, slope)).astype(np.float32)
    amplitude[0, 0] = 0.0
    noise = rng.standard_normal((2, ny, nx // 2 + 1), dtype=np.float32)
    spec = (noise[0] + 1j * noise[1]) * amplitude
    field = scipy.fft.irfft2(spec, s=(ny, nx)).astype(np.float32)
    field -= field.mean()
    field /= field.std()
    return field


@lru_cache(maxsize=8)
def _anchor(
    stream: int,
    index: int,
    seed: int,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    rng = np.random.default_rng([seed, stream, index])
    field = _gaussian_field(rng, shape, spacing, spectrum)
    field.flags.writeable = False
    return field


def _evolving(
    stream: int,
    day: int,
    tau: float,
    seed: int,
    shape: tuple[int, int],
    spacing: float,
    spectrum: tuple[str, float, float, float],
) -> np.ndarray:
    """A random field that evolves smoothly with the day number, time scale ``tau`` days.

    Independent fields are drawn every ``tau`` days and blended with cos/sin weights, which
    keeps the variance and gives a correlation of about ``cos(pi / (2 tau))`` between days.
    """
    t = day / tau + 0.37 * stream  # offsets: the streams do not renew on the same day
    index = int(np.floor(t))
    u = t - index
    a = _anchor(stream, index, seed, shape, spacing, spectrum)
    b = _anchor(stream, index + 1, seed, shape, spacing, spectrum)
    return (
        np.cos(0.5 * np.pi * u, dtype=np.float32) * a
        + np.sin(0.5 * np.pi * u, dtype=np.float32) * b
    )


def _rng(seed: int, stream: int, day: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day])


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing in grid cells, periodic in longitude."""
    if sigma <= 0:
        return field
    return ndimage.gaussian_filter(field, sigma, mode=("nearest", "wrap"), truncate=3.0)


def _masked_smooth(field: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores cells where ``weight`` is 0 (normalised convolution)."""
    w = weight.astype(np.float32)
    num = _smooth(np.where(weight, field, 0.0).astype(np.float32), sigma)
    den = _smooth(w, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / den, field).astype(np.float32)


def _gradient(field: np.ndarray, lat: np.ndarray, step: float) -> np.ndarray:
    """Magnitude of the horizontal gradient, units of ``field`` per degree of latitude."""
    gy = np.gradient(field, step, axis=0)
    coslat = np.maximum(np.cos(np.deg2rad(lat)), 0.05).astype(np.float32)[:, None]
    gx = (np.roll(field, -1, axis=1) - np.roll(field, 1, axis=1)) / (2 * step * coslat)
    return np.hypot(gx, gy).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the ocean of a day
# ---------------------------------------------------------------------------------------------
_PSI_LARGE = ("band", 0.18, 3.0, 1.0)  # meanders and rings, wavelengths of 4-8 degrees
_PSI_SMALL = ("band", 0.7, 3.0, 1.0)  # small eddies that draw filaments, about 1.5 degrees
_SMALL_EDDIES = 0.3  # streamfunction of the small eddies relative to the large ones
_ANOM_SPECTRUM = ("red", 1 / 15, 2.5, 1.3)  # basin-scale anomalies
_TEX_SPECTRUM = ("band", 0.6, 2.0, 1.0)  # fronts and filaments, red spectrum below 2 degrees
_CLOUD_SPECTRUM = ("red", 1 / 25, 1.9, 1.8)  # power law, zonally stretched
_STIR_STEPS = 6
_STIR_RMS = 0.35  # rms displacement of the stirring, degrees


@lru_cache(maxsize=1)
def _base_interpolator() -> _Interpolator:
    """Cubic interpolator of the land-filled OISST base."""
    return _Interpolator(_filled_base(), order=3)


@lru_cache(maxsize=1)
def _eddy_intensity() -> np.ndarray:
    """Relative eddy intensity on the 0.25 degree grid, (720, 1440) float32.

    Eddies are stronger where the base has strong fronts (western-boundary currents, the
    Antarctic Circumpolar Current), and vanish near the poles.
    """
    lat, _ = sample_grid(_DYN)
    ocean, _ = _oisst_water()
    grad = _smooth(_gradient(_filled_base(), lat, _DYN), 6.0)  # smoothed over 1.5 degrees
    reference = np.quantile(grad[ocean], 0.9)
    intensity = 0.3 + np.clip(grad / reference, 0.0, 2.5)
    polar = np.clip((85.0 - np.abs(lat)) / 10.0, 0.0, 1.0)[:, None]
    intensity = (intensity * polar).astype(np.float32)
    intensity.flags.writeable = False
    return intensity


def _dyn_shape() -> tuple[int, int]:
    return round(180 / _DYN), round(360 / _DYN)


def _stirring(day: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (degrees of latitude, of longitude) of a day, on the 0.25 degree grid.

    Backward trajectories through a random, divergence-free velocity field made of large
    eddies (meanders, rings; renewed over about 8 days) and small ones (filaments; 3 days).
    """
    intensity = _eddy_intensity()
    ocean, _ = _oisst_water()
    lat, lon = sample_grid(_DYN)
    shape = _dyn_shape()
    large = _evolving(_S_PSI, day, 8.0, seed, shape, _DYN, _PSI_LARGE)
    small = _evolving(_S_PSI2, day, 3.0, seed, shape, _DYN, _PSI_SMALL)
    psi = (large + _SMALL_EDDIES * small) * intensity
    coslat = np.maximum(np.cos(np.deg2rad(lat)), 0.1).astype(np.float32)[:, None]
    east = -np.gradient(psi, _DYN, axis=0)
    north = (np.roll(psi, -1, axis=1) - np.roll(psi, 1, axis=1)) / (2 * _DYN * coslat)
    speed = float(np.sqrt(np.mean(east[ocean] ** 2 + north[ocean] ** 2)))
    scale = _STIR_RMS / (_STIR_STEPS * speed)
    velocity = _Interpolator((east + 1j * north).astype(np.complex64) * scale, order=1)
    y = np.broadcast_to(lat[:, None], shape).astype(np.float32)
    x = np.broadcast_to(lon[None, :], shape).astype(np.float32)
    for _ in range(_STIR_STEPS):
        uv = velocity(y, x)
        y = np.clip(y - uv.imag, -89.9, 89.9)
        x = x - uv.real / np.maximum(np.cos(np.deg2rad(y)), 0.1)
    return (y - lat[:, None]).astype(np.float32), (x - lon[None, :]).astype(np.float32)


def _keys(x: np.ndarray) -> np.ndarray:
    """Cubic convolution kernel of Keys (1981), a = -0.5."""
    x = np.abs(x)
    return np.where(
        x <= 1, (1.5 * x - 2.5) * x * x + 1, np.where(x < 2, ((-0.5 * x + 2.5) * x - 4) * x + 2, 0)
    )


@lru_cache(maxsize=8)
def _interp_weights(n_src: int, n_dst: int, periodic: bool, cubic: bool) -> csr_matrix:
    """Sparse (n_dst, n_src) interpolation matrix between two cell-centre grids of an axis."""
    pos = (np.arange(n_dst) + 0.5) * n_src / n_dst - 0.5  # destination centres, source index
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    offsets = np.array([-1, 0, 1, 2]) if cubic else np.array([0, 1])
    cols = lo[:, None] + offsets[None, :]
    vals = _keys(frac[:, None] - offsets[None, :]) if cubic else 1 - np.abs(frac[:, None] - offsets)
    cols = cols % n_src if periodic else np.clip(cols, 0, n_src - 1)
    rows = np.repeat(np.arange(n_dst), offsets.size)
    return csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n_dst, n_src))


def _resample(field: np.ndarray, shape: tuple[int, int], *, cubic: bool = False) -> np.ndarray:
    """A global cell-centre field on another regular grid: block means to a coarser grid,
    separable (bi)linear or cubic interpolation to a finer one."""
    ny, nx = field.shape
    if (ny, nx) == shape:
        return field
    if shape[0] < ny:
        m = ny // shape[0]
        return field.reshape(shape[0], m, shape[1], m).mean(axis=(1, 3), dtype=np.float32)
    wy = _interp_weights(ny, shape[0], False, cubic)
    wx = _interp_weights(nx, shape[1], True, cubic)
    return np.asarray((wx @ (wy @ field).T).T, dtype=np.float32)


def _smooth_deg(field: np.ndarray, sigma_deg: float) -> np.ndarray:
    """Gaussian smoothing with a width in degrees, done on a grid of at least 0.5 degree."""
    ny, nx = field.shape
    step = 180.0 / ny
    if step >= 0.5:
        return _smooth(field, sigma_deg / step)
    m = round(0.5 / step)
    if ny % m or nx % m:
        return _smooth(field, sigma_deg / step)
    coarse = field.reshape(ny // m, m, nx // m, m).mean(axis=(1, 3), dtype=np.float32)
    return _resample(_smooth(coarse, sigma_deg / (step * m)), (ny, nx))


def _seasonal(lat: np.ndarray, day: np.datetime64) -> np.ndarray:
    """Zonal seasonal correction to the base (a day of late July), degC, shape (ny,)."""
    doy = (day - day.astype("datetime64[Y]")).astype(int) + 1
    north = lat >= 0
    envelope = (1.0 - np.exp(-((lat / 18.0) ** 2))) * (
        0.45 + 0.55 * np.exp(-(((np.abs(lat) - 40.0) / 22.0) ** 2))
    )
    amplitude = np.where(north, 3.0, 2.0) * envelope
    peak = np.where(north, 235.0, 52.0)  # warmest day of the year
    w = 2 * np.pi / 365.25
    return amplitude * (np.cos(w * (doy - peak)) - np.cos(w * (_BASE_DAY_OF_YEAR - peak)))


def _cloud_weight(lat: np.ndarray) -> np.ndarray:
    """Relative cloudiness by latitude: storm tracks and the ITCZ cloudier than subtropics."""
    a = np.abs(lat)
    storm = 1.0 / (1.0 + np.exp(-(a - 42.0) / 6.0))
    itcz = np.exp(-0.5 * ((lat - 7.0) / 6.0) ** 2)
    return 0.55 + 0.35 * itcz + 0.9 * storm


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order], dtype=np.float64)
    return float(values[order][np.searchsorted(cum, q * cum[-1])])


def _edge_distance(bad: np.ndarray, width: int) -> np.ndarray:
    """Distance in cells (1..width) of clear cells to the nearest ``bad`` cell; 0 elsewhere."""
    dist = np.zeros(bad.shape, np.int8)
    grown = bad
    for d in range(1, width + 1):
        nxt = _wrap_dilate(grown, 1, connectivity=1)
        dist[nxt & ~grown] = d
        grown = nxt
    return dist


def generate_day(
    date: DateLike, *, resolution: float = 0.25, seed: int = 0
) -> tuple[xr.Dataset, xr.Dataset]:
    """Generate one day of the sample: the L3S observations and the L4 analysis.

    Parameters
    ----------
    date
        The day (``"2024-06-01"``, a datetime or ``numpy.datetime64``), 1981-09-01 to
        2100-12-31; a time of day is ignored.
    resolution
        Grid spacing in degrees, one of :data:`RESOLUTIONS` (0.25 default; 0.1 is the grid of
        the Copernicus products, 6.5 million cells).
    seed
        Non-negative integer; the output is a deterministic function of ``(date, seed,
        resolution)``.

    Returns
    -------
    l3s, l4
        In-memory datasets on dims ``(time, latitude, longitude)`` with ``time`` of length 1,
        latitude ascending, longitude -180..180 (cell centres), in the Copernicus Marine schema:
        L3S ``sea_surface_temperature`` (float32 kelvin, NaN where there is no observation) and
        ``quality_level`` (int8, 0 no data .. 5 best); L4 ``analysed_sst`` (float32 kelvin, NaN
        on land), ``analysis_error`` (float32 kelvin), ``sea_ice_fraction`` (float32, 1) and
        ``mask`` (int8 bit flags: 1 sea, 2 land, 4 lake, 8 ice).

    Examples
    --------
    >>> l3s, l4 = generate_day("2024-06-01", resolution=1.0)
    >>> dict(l3s.sizes)
    {'time': 1, 'latitude': 180, 'longitude': 360}
    >>> bool(l3s["sea_surface_temperature"].isnull().any()), bool(l4["analysed_sst"].notnull().any())
    (True, True)
    """
    r = _check_resolution(resolution)
    seed = _check_seed(seed)
    day = _as_day(date)
    dnum = int((day - np.datetime64("1970-01-01", "D")).astype(int))
    st = _static(r)
    lat, lon = st.lat, st.lon
    shape = (lat.size, lon.size)
    water = st.sea | st.lake

    # large scales on the 0.25 degree grid: stirred base, anomaly, seasonal cycle
    lat025, lon025 = sample_grid(_DYN)
    dlat, dlon = _stirring(dnum, seed)
    large = _base_interpolator()(lat025[:, None] + dlat, lon025[None, :] + dlon)
    anomaly = 0.4 * _evolving(_S_ANOM, dnum, 12.0, seed, _dyn_shape(), _DYN, _ANOM_SPECTRUM)
    # the ice pack stays at freezing: anomalies and seasons fade near -1.8 degC
    calm = np.clip((large - _FREEZING) / 3.0, 0.0, 1.0)
    large += (0.25 + 0.75 * calm) * anomaly
    large += calm * _seasonal(lat025, day).astype(np.float32)[:, None]
    grad = _smooth(_gradient(large, lat025, _DYN), 2.0)  # degC per degree, over 0.5 degree
    large = _resample(large, shape, cubic=True)
    grad = _resample(grad, shape)

    # small scales: a saturated random field, stronger along fronts
    tex = _evolving(_S_TEX, dnum, 3.0, seed, shape, r, _TEX_SPECTRUM)
    amplitude = 0.05 + 0.12 * np.clip(grad, 0.0, 5.0)
    truth = large + amplitude * np.tanh(1.5 * tex)

    # sea ice where the large-scale field is near freezing
    ice_drive = large + 0.1 * tex
    ice_fraction = np.where(st.sea, np.clip((-0.5 - ice_drive) / 0.9, 0.0, 1.0), 0.0)
    ice = ice_fraction >= 0.15
    truth = np.maximum(truth, _FREEZING)
    truth = (1.0 - ice_fraction) * truth + ice_fraction * _FREEZING
    truth = np.where(st.lake, np.maximum(truth, 0.0), truth).astype(np.float32)

    # L4: a smoother analysis
    analysed = _masked_smooth(truth, water, 0.12 / r if r < 1.0 else 0.0)

    # clouds: thresholded power-law field, latitude-dependent, exact daily coverage
    rng_cover = _rng(seed, _S_COVER, dnum)
    coverage = float(rng_cover.uniform(0.22, 0.40))
    g = _gaussian_field(_rng(seed, _S_CLOUD, dnum), shape, r, _CLOUD_SPECTRUM)
    open_sea = st.sea & ~ice
    area = np.cos(np.deg2rad(lat)).astype(np.float32)
    w = _cloud_weight(lat)
    rows = open_sea.sum(axis=1) * area
    p = np.clip(coverage * w / (np.sum(rows * w) / np.sum(rows)), 0.02, 0.97)
    z = g - special.ndtri(p).astype(np.float32)[:, None]
    stride = max(1, round(_DYN / r))
    zs, ms = z[::stride, ::stride], open_sea[::stride, ::stride]
    ws = np.broadcast_to(area[::stride, None], ms.shape)[ms]
    cloud = z < _weighted_quantile(zs[ms], ws, coverage)

    # quality levels: edges of clouds and ice are degraded
    observed = open_sea & ~cloud
    width = max(1, round(0.2 / r))
    dist = _edge_distance(cloud | ice, width)
    rng_ql = _rng(seed, _S_QL, dnum)
    ql = np.zeros(shape, np.int8)
    ql[observed] = 5
    edge = observed & (dist > 0)
    level = 2 + (3 * (dist.astype(np.float32) - 1 + rng_ql.random(shape, np.float32)) // width)
    ql[edge] = np.clip(level, 2, 4).astype(np.int8)[edge]
    speckle = rng_ql.random(shape, np.float32)
    ql[observed & ~edge & (speckle < 0.006)] = 4
    ql[observed & ~edge & (speckle < 0.002)] = 3

    bias = np.array([0, 0, -0.6, -0.35, -0.15, 0.0], np.float32)[ql]
    sigma = np.array([0, 0, 0.45, 0.3, 0.2, 0.1], np.float32)[ql]
    noise = _rng(seed, _S_NOISE, dnum).standard_normal(shape, dtype=np.float32)
    sst = np.clip(truth + bias + sigma * noise + _KELVIN, *_VALID_KELVIN)  # the valid range
    sst = np.where(observed, sst, np.nan).astype(np.float32)

    # analysis error: larger under clouds and along fronts
    cloudiness = _smooth_deg((~observed).astype(np.float32), 1.0)
    error = 0.1 + 0.35 * cloudiness + 0.04 * np.clip(grad, 0.0, 5.0)
    error = np.where(water, error, np.nan).astype(np.float32)

    mask = np.full(shape, 2, np.int8)
    mask[st.sea] = 1
    mask[st.lake] = 4
    mask[ice] = 9
    analysed_k = np.where(water, analysed + _KELVIN, np.nan).astype(np.float32)
    ice_out = np.where(st.sea, ice_fraction, np.nan).astype(np.float32)

    return _datasets(day, r, seed, lat, lon, sst, ql, analysed_k, error, ice_out, mask)


# ---------------------------------------------------------------------------------------------
# datasets, attributes
# ---------------------------------------------------------------------------------------------
_COMMENT = (
    "Generated by eogapfill.sample for teaching and testing: a real NOAA OISST v2.1 analysis "
    "(2017-07-29) stirred by random eddies, plus a slowly evolving anomaly, a seasonal "
    "correction and a non-Gaussian small-scale texture; coastlines from OISST refined with the "
    "GLOBE 1 km land mask (global-land-mask); sea ice where the field is near freezing; random "
    "multi-scale clouds. The variables, units and flags follow the Copernicus Marine products "
    "but the values are not observations: do not draw science conclusions from them."
)


def _coords(day: np.datetime64, lat: np.ndarray, lon: np.ndarray) -> dict:
    return {
        "time": (
            "time",
            np.array([day], dtype="datetime64[ns]"),
            {"standard_name": "time", "long_name": "reference time of the day", "axis": "T"},
        ),
        "latitude": (
            "latitude",
            lat.astype(np.float32),
            {
                "standard_name": "latitude",
                "long_name": "latitude",
                "units": "degrees_north",
                "axis": "Y",
                "valid_min": -90.0,
                "valid_max": 90.0,
            },
        ),
        "longitude": (
            "longitude",
            lon.astype(np.float32),
            {
                "standard_name": "longitude",
                "long_name": "longitude",
                "units": "degrees_east",
                "axis": "X",
                "valid_min": -180.0,
                "valid_max": 180.0,
            },
        ),
    }


def _global_attrs(kind: str, day: np.datetime64, r: float, seed: int) -> dict:
    product = (
        "SST_GLO_SST_L3S_NRT_OBSERVATIONS_010_010"
        if kind == "L3S"
        else "SST_GLO_PHY_L4_NRT_010_043"
    )
    what = "supercollated multi-sensor observations" if kind == "L3S" else "gap-free analysis"
    return {
        "title": f"eogapfill sample: generated {kind} sea surface temperature ({what})",
        "summary": f"A generated day in the layout of the Copernicus Marine product {product}.",
        "source": (
            "Generated by eogapfill.sample from NOAA OISST v2.1 (2017-07-29, public domain) "
            "and the GLOBE land mask of global-land-mask"
        ),
        "institution": "eogapfill (generated data)",
        "references": f"{OISST_REFERENCE}; https://www.ncei.noaa.gov/products/optimum-interpolation-sst",
        "comment": _COMMENT,
        "processing_level": kind,
        "product_layout": product,
        "eogapfill_sample_version": SAMPLE_VERSION,
        "eogapfill_resolution": r,
        "eogapfill_seed": seed,
        "geospatial_lat_resolution": r,
        "geospatial_lon_resolution": r,
        "Conventions": "CF-1.8, ACDD-1.3",
    }


_SST_RANGE = {"valid_min": _VALID_KELVIN[0], "valid_max": _VALID_KELVIN[1]}


def _datasets(
    day: np.datetime64,
    r: float,
    seed: int,
    lat: np.ndarray,
    lon: np.ndarray,
    sst: np.ndarray,
    ql: np.ndarray,
    analysed: np.ndarray,
    error: np.ndarray,
    ice: np.ndarray,
    mask: np.ndarray,
) -> tuple[xr.Dataset, xr.Dataset]:
    dims = ("time", "latitude", "longitude")
    coords = _coords(day, lat, lon)
    l3s = xr.Dataset(
        {
            "sea_surface_temperature": (
                dims,
                sst[None],
                {
                    "standard_name": "sea_surface_subskin_temperature",
                    "long_name": "sea surface subskin temperature",
                    "units": "kelvin",
                    **_SST_RANGE,
                    "comment": "NaN where there is no observation (cloud, land, lake, sea ice)",
                },
            ),
            "quality_level": (
                dims,
                ql[None],
                {
                    "long_name": "quality level of SST pixel",
                    "valid_min": np.int8(0),
                    "valid_max": np.int8(5),
                    "flag_values": np.arange(6, dtype=np.int8),
                    "flag_meanings": (
                        "no_data bad_data worst_quality low_quality acceptable_quality best_quality"
                    ),
                    "comment": "keep quality_level == 5; 2 to 4 mark the edges of clouds and ice",
                },
            ),
        },
        coords=coords,
        attrs=_global_attrs("L3S", day, r, seed),
    )
    l4 = xr.Dataset(
        {
            "analysed_sst": (
                dims,
                analysed[None],
                {
                    "standard_name": "sea_surface_foundation_temperature",
                    "long_name": "analysed sea surface temperature",
                    "units": "kelvin",
                    **_SST_RANGE,
                    "comment": "NaN on land; defined over the sea, sea ice and lakes",
                },
            ),
            "analysis_error": (
                dims,
                error[None],
                {
                    "long_name": "estimated error standard deviation of analysed_sst",
                    "units": "kelvin",
                    "valid_min": 0.0,
                    "valid_max": 5.0,
                },
            ),
            "sea_ice_fraction": (
                dims,
                ice[None],
                {
                    "standard_name": "sea_ice_area_fraction",
                    "long_name": "sea ice area fraction",
                    "units": "1",
                    "valid_min": 0.0,
                    "valid_max": 1.0,
                    "comment": "NaN off the sea",
                },
            ),
            "mask": (
                dims,
                mask[None],
                {
                    "long_name": "land sea ice lake bit mask",
                    "valid_min": np.int8(1),
                    "valid_max": np.int8(15),
                    "flag_masks": np.array([1, 2, 4, 8], np.int8),
                    "flag_meanings": "sea land lake ice",
                    "comment": "open sea is mask == 1; ice-covered sea is 9 (1 + 8)",
                },
            ),
        },
        coords=coords,
        attrs=_global_attrs("L4", day, r, seed),
    )
    return l3s, l4


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
    r = _check_resolution(resolution)
    lat, lon = sample_grid(r)
    st = _static(r)
    if r == _DYN:
        values = np.array(_filled_base())
    else:
        values = _base_interpolator()(lat[:, None], lon[None, :])
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


# ---------------------------------------------------------------------------------------------
# stores
# ---------------------------------------------------------------------------------------------
def _encoding(ds: xr.Dataset, chunks: Callable[[tuple[int, ...]], tuple[int, ...]]) -> dict:
    enc: dict = {}
    for name, var in ds.variables.items():
        e: dict = {"chunks": chunks(var.shape) if var.ndim == 3 else var.shape}
        if name == "time":
            e.update(units="seconds since 1970-01-01 00:00:00", calendar="standard", dtype="int64")
        elif var.dtype.kind == "f":
            e["_FillValue"] = np.float32(np.nan) if var.dtype == np.float32 else np.nan
        else:
            e["_FillValue"] = None
        enc[name] = e
    return enc


# Like the ARCO stores: Zarr format 2, consolidated metadata, and dense: every chunk is written,
# even one that holds only fill values (an all-land tile), so that a missing chunk is a fault
# that eogapfill.data reports, never a region of NaN.
_DENSE_V2 = {"zarr_format": 2, "consolidated": True, "write_empty_chunks": True}


def _days(start: DateLike, days: int) -> list[np.datetime64]:
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    first = _as_day(start)
    last = first + np.timedelta64(int(days) - 1, "D")
    _as_day(last)
    return [first + np.timedelta64(i, "D") for i in range(int(days))]


def _write(
    path: Path,
    *,
    start: DateLike,
    days: int,
    resolution: float,
    seed: int,
    if_exists: Literal["raise", "replace", "keep"],
) -> dict[str, Path]:
    r = _check_resolution(resolution)
    seed = _check_seed(seed)
    dates = _days(start, days)
    path = Path(path)
    targets = {product: path / name for product, name in PRODUCTS.items()}
    if if_exists == "raise":
        existing = [str(t) for t in targets.values() if t.exists()]
        if existing:
            raise FileExistsError(
                f"{', '.join(existing)} already exist: pass overwrite=True or another folder"
            )
    path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-sample-", dir=path))
    try:
        staged = {product: tmp / name for product, name in PRODUCTS.items()}
        for i, day in enumerate(dates):
            l3s, l4 = generate_day(day, resolution=r, seed=seed)
            for ds, store in ((l3s, staged["l3s"]), (l4, staged["l4"])):
                if i == 0:
                    enc = _encoding(ds, lambda shape: (1, *shape[1:]))
                    ds.to_zarr(store, mode="w", encoding=enc, **_DENSE_V2)
                else:
                    ds.to_zarr(store, append_dim="time", **_DENSE_V2)
        with xr.open_zarr(staged["l4"], consolidated=True) as l4_time:
            tile = (len(dates), _GEO_TILE, _GEO_TILE)
            geo = l4_time.chunk({"time": -1, "latitude": _GEO_TILE, "longitude": _GEO_TILE})
            for var in geo.variables.values():
                var.encoding = {}
            enc = _encoding(
                geo, lambda shape: tuple(min(a, b) for a, b in zip(tile, shape, strict=True))
            )
            geo.to_zarr(staged["l4_geo"], mode="w", encoding=enc, **_DENSE_V2)
        for product, target in targets.items():
            if target.exists():
                if if_exists == "keep":
                    continue
                shutil.rmtree(target)
            try:
                os.rename(staged[product], target)
            except OSError:
                if if_exists != "keep" or not target.exists():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return targets


def write_sample(
    path: str | os.PathLike,
    *,
    start: DateLike = SAMPLE_START,
    days: int = SAMPLE_DAYS,
    resolution: float = 0.25,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``days`` generated days as Zarr stores laid out like the Copernicus ARCO stores.

    Three stores are written in ``path``: ``l3s.zarr`` and ``l4_time.zarr`` (one day per chunk,
    the whole globe in it) and ``l4_geo.zarr`` (all days in each chunk, 256 x 256 cell tiles),
    Zarr format 2 with consolidated metadata, dense (every chunk written, even one of fill
    values only). Each store is built in a temporary folder and renamed into place, so an
    interrupted run never leaves a half-written store.

    Parameters
    ----------
    path
        Folder to write into (created if needed).
    start, days
        First day and number of consecutive days.
    resolution, seed
        As in :func:`generate_day`.
    overwrite
        Replace stores that already exist (default: raise ``FileExistsError``).

    Returns
    -------
    dict
        ``{"l3s": path/"l3s.zarr", "l4": path/"l4_time.zarr", "l4_geo": path/"l4_geo.zarr"}``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     stores = write_sample(folder, days=2, resolution=1.0)
    ...     xr.open_zarr(stores["l3s"]).sizes["time"]
    2
    """
    return _write(
        Path(path),
        start=start,
        days=days,
        resolution=resolution,
        seed=seed,
        if_exists="replace" if overwrite else "raise",
    )


def cache_dir() -> Path:
    """Folder of the cached sample stores: ``$EOGAPFILL_CACHE`` or ``~/.cache/eogapfill``."""
    env = os.environ.get("EOGAPFILL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eogapfill"


def sample_store(product: Literal["l3s", "l4", "l4_geo"], *, resolution: float = 0.25) -> Path:
    """Path of a store of the default sample, generated into the cache on first use.

    The default sample is :data:`SAMPLE_DAYS` days from :data:`SAMPLE_START`, seed 0. The first
    call writes all three stores (about a minute at 0.25 degree, a few minutes at 0.1);
    later calls return at once. Two processes may generate at the same time: each writes in
    its own temporary folder and the first rename wins.

    Parameters
    ----------
    product
        ``"l3s"``, ``"l4"`` (time-chunked) or ``"l4_geo"`` (geo-chunked).
    resolution
        Grid spacing in degrees, one of :data:`RESOLUTIONS`.

    Examples
    --------
    >>> sample_store("l3s").name  # doctest: +SKIP
    'l3s.zarr'
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {sorted(PRODUCTS)}, got {product!r}")
    r = _check_resolution(resolution)
    folder = cache_dir() / f"sample-v{SAMPLE_VERSION}-{str(r).replace('.', 'p')}deg"
    target = folder / PRODUCTS[product]
    if not all((folder / name / ".zmetadata").exists() for name in PRODUCTS.values()):
        _write(folder, start=SAMPLE_START, days=SAMPLE_DAYS, resolution=r, seed=0, if_exists="keep")
    return target
