"""The ocean of a day: the OISST base stirred, warmed, weathered, textured, frozen and clouded.

:func:`generate_day` makes the L3S and L4 datasets of one day; the steps are described in
:mod:`eogapfill.sample`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import xarray as xr
from scipy import special

from eogapfill.sample.base import (
    BASE_DAY_OF_YEAR,
    DYN,
    FREEZING,
    KELVIN,
    VALID_KELVIN,
    DateLike,
    as_day,
    base_interpolator,
    check_resolution,
    check_seed,
    filled_base,
    oisst_water,
    sample_grid,
    static_fields,
)
from eogapfill.sample.fields import (
    Interpolator,
    day_rng,
    evolving,
    gaussian_field,
    gradient,
    masked_smooth,
    resample,
    smooth,
    smooth_deg,
    wrap_dilate,
)
from eogapfill.sample.schema import make_datasets

__all__ = ["generate_day"]

# random streams: each physical ingredient draws from its own, so that changing one leaves the
# others identical
_S_PSI, _S_PSI2, _S_ANOM, _S_TEX, _S_CLOUD, _S_COVER, _S_NOISE, _S_QL = range(1, 9)
_S_DIURNAL, _S_SYNOPTIC = 9, 10

_PSI_LARGE = ("band", 0.18, 3.0, 1.0)  # meanders and rings, wavelengths of 4-8 degrees
_PSI_SMALL = ("band", 0.7, 3.0, 1.0)  # small eddies that draw filaments, about 1.5 degrees
_SMALL_EDDIES = 0.3  # streamfunction of the small eddies relative to the large ones
_ANOM_SPECTRUM = ("red", 1 / 15, 2.5, 1.3)  # basin-scale anomalies
_TEX_SPECTRUM = ("band", 0.6, 2.0, 1.0)  # fronts and filaments, red spectrum below 2 degrees
_CLOUD_SPECTRUM = ("red", 1 / 25, 1.9, 1.8)  # power law, zonally stretched
_STIR_STEPS = 6
# weather: diurnal warming in calm, sunny patches and synoptic air-sea flux events, drawn on a
# 1 degree grid (scales of a few hundred to 1500 km)
_WEATHER_GRID = 1.0  # degrees
_DIURNAL_SPECTRUM = ("band", 1 / 10, 3.0, 1.0)  # calm patches, wavelengths of about 10 degrees
_SYNOPTIC_SPECTRUM = ("band", 1 / 12, 3.0, 1.3)  # weather systems, zonally elongated
_DIURNAL_TAU = 1.0  # days: renewed daily
_SYNOPTIC_TAU = 2.5  # days: wind mixing and cooling events of 1-3 days
_DIURNAL_MAX = 2.5  # degC: the warmest calm patches saturate
_DIURNAL_SLOPE = 1.5  # degC per standard deviation of the calm field above its threshold
_DIURNAL_THRESHOLD = 0.3  # standard deviations: about 38 % of the ocean warms on a day
_SYNOPTIC_RMS = 0.35  # degC
_STIR_RMS = 0.35  # rms displacement of the stirring, degrees


@lru_cache(maxsize=1)
def _eddy_intensity() -> np.ndarray:
    """Relative eddy intensity on the 0.25 degree grid, (720, 1440) float32.

    Eddies are stronger where the base has strong fronts (western-boundary currents, the
    Antarctic Circumpolar Current), and vanish near the poles.
    """
    lat, _ = sample_grid(DYN)
    ocean, _ = oisst_water()
    grad = smooth(gradient(filled_base(), lat, DYN), 6.0)  # smoothed over 1.5 degrees
    reference = np.quantile(grad[ocean], 0.9)
    intensity = 0.3 + np.clip(grad / reference, 0.0, 2.5)
    polar = np.clip((85.0 - np.abs(lat)) / 10.0, 0.0, 1.0)[:, None]
    intensity = (intensity * polar).astype(np.float32)
    intensity.flags.writeable = False
    return intensity


def _dyn_shape() -> tuple[int, int]:
    return round(180 / DYN), round(360 / DYN)


def _stirring(day: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (degrees of latitude, of longitude) of a day, on the 0.25 degree grid.

    Backward trajectories through a random, divergence-free velocity field made of large
    eddies (meanders, rings; renewed over about 8 days) and small ones (filaments; 3 days).
    """
    intensity = _eddy_intensity()
    ocean, _ = oisst_water()
    lat, lon = sample_grid(DYN)
    shape = _dyn_shape()
    large = evolving(_S_PSI, day, 8.0, seed, shape, DYN, _PSI_LARGE)
    small = evolving(_S_PSI2, day, 3.0, seed, shape, DYN, _PSI_SMALL)
    psi = (large + _SMALL_EDDIES * small) * intensity
    coslat = np.maximum(np.cos(np.deg2rad(lat)), 0.1).astype(np.float32)[:, None]
    east = -np.gradient(psi, DYN, axis=0)
    north = (np.roll(psi, -1, axis=1) - np.roll(psi, 1, axis=1)) / (2 * DYN * coslat)
    speed = float(np.sqrt(np.mean(east[ocean] ** 2 + north[ocean] ** 2)))
    scale = _STIR_RMS / (_STIR_STEPS * speed)
    velocity = Interpolator((east + 1j * north).astype(np.complex64) * scale, order=1)
    y = np.broadcast_to(lat[:, None], shape).astype(np.float32)
    x = np.broadcast_to(lon[None, :], shape).astype(np.float32)
    for _ in range(_STIR_STEPS):
        uv = velocity(y, x)
        y = np.clip(y - uv.imag, -89.9, 89.9)
        x = x - uv.real / np.maximum(np.cos(np.deg2rad(y)), 0.1)
    return (y - lat[:, None]).astype(np.float32), (x - lon[None, :]).astype(np.float32)


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
    return amplitude * (np.cos(w * (doy - peak)) - np.cos(w * (BASE_DAY_OF_YEAR - peak)))


def _insolation(lat: np.ndarray, day: np.datetime64) -> np.ndarray:
    """Relative noon insolation by latitude, (ny,) in [0, 1]: the summer hemisphere warms most."""
    doy = (day - day.astype("datetime64[Y]")).astype(int) + 1
    declination = 23.44 * np.sin(2 * np.pi * (doy - 81) / 365.25)
    return np.clip(np.cos(np.deg2rad(lat - declination)), 0.0, 1.0) ** 2


def _weather(day: int, date: np.datetime64, seed: int) -> np.ndarray:
    """SST change of a day's weather on the 0.25 degree grid, (720, 1440) float32 degC.

    Diurnal warming (positive, in calm patches of a few hundred km renewed daily, strongest
    under the summer sun) plus a smaller signed synoptic part (air-sea flux events of 1-3 days).
    """
    ny, nx = round(180 / _WEATHER_GRID), round(360 / _WEATHER_GRID)
    lat, _ = sample_grid(_WEATHER_GRID)
    calm = evolving(_S_DIURNAL, day, _DIURNAL_TAU, seed, (ny, nx), _WEATHER_GRID, _DIURNAL_SPECTRUM)
    excess = np.maximum(calm - _DIURNAL_THRESHOLD, 0.0)
    diurnal = _DIURNAL_MAX * np.tanh(excess * (_DIURNAL_SLOPE / _DIURNAL_MAX))
    diurnal *= _insolation(lat, date).astype(np.float32)[:, None]
    synoptic = evolving(
        _S_SYNOPTIC, day, _SYNOPTIC_TAU, seed, (ny, nx), _WEATHER_GRID, _SYNOPTIC_SPECTRUM
    )
    return resample(diurnal + _SYNOPTIC_RMS * synoptic, _dyn_shape(), cubic=True)


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
        nxt = wrap_dilate(grown, 1, connectivity=1)
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
    r = check_resolution(resolution)
    seed = check_seed(seed)
    day = as_day(date)
    dnum = int((day - np.datetime64("1970-01-01", "D")).astype(int))
    st = static_fields(r)
    lat, lon = st.lat, st.lon
    shape = (lat.size, lon.size)
    water = st.sea | st.lake

    # large scales on the 0.25 degree grid: stirred base, anomaly, seasonal cycle
    lat025, lon025 = sample_grid(DYN)
    dlat, dlon = _stirring(dnum, seed)
    large = base_interpolator()(lat025[:, None] + dlat, lon025[None, :] + dlon)
    anomaly = 0.4 * evolving(_S_ANOM, dnum, 12.0, seed, _dyn_shape(), DYN, _ANOM_SPECTRUM)
    # the ice pack stays at freezing: anomalies and seasons fade near -1.8 degC
    calm = np.clip((large - FREEZING) / 3.0, 0.0, 1.0)
    large += (0.25 + 0.75 * calm) * anomaly
    large += calm * _seasonal(lat025, day).astype(np.float32)[:, None]
    grad = smooth(gradient(large, lat025, DYN), 2.0)  # degC per degree, over 0.5 degree
    # the weather warms and cools the sea but not the ice pack; it moves neither fronts nor ice
    weather = resample(calm * _weather(dnum, day, seed), shape, cubic=True)
    large = resample(large, shape, cubic=True)
    grad = resample(grad, shape)

    # small scales: a saturated random field, stronger along fronts
    tex = evolving(_S_TEX, dnum, 3.0, seed, shape, r, _TEX_SPECTRUM)
    amplitude = 0.05 + 0.12 * np.clip(grad, 0.0, 5.0)
    truth = large + amplitude * np.tanh(1.5 * tex) + weather

    # sea ice where the large-scale field is near freezing
    ice_drive = large + 0.1 * tex
    ice_fraction = np.where(st.sea, np.clip((-0.5 - ice_drive) / 0.9, 0.0, 1.0), 0.0)
    ice = ice_fraction >= 0.15
    truth = np.maximum(truth, FREEZING)
    truth = (1.0 - ice_fraction) * truth + ice_fraction * FREEZING
    truth = np.where(st.lake, np.maximum(truth, 0.0), truth).astype(np.float32)

    # L4: a smoother analysis
    analysed = masked_smooth(truth, water, 0.12 / r if r < 1.0 else 0.0)

    # clouds: thresholded power-law field, latitude-dependent, exact daily coverage
    rng_cover = day_rng(seed, _S_COVER, dnum)
    coverage = float(rng_cover.uniform(0.22, 0.40))
    g = gaussian_field(day_rng(seed, _S_CLOUD, dnum), shape, r, _CLOUD_SPECTRUM)
    open_sea = st.sea & ~ice
    area = np.cos(np.deg2rad(lat)).astype(np.float32)
    w = _cloud_weight(lat)
    rows = open_sea.sum(axis=1) * area
    p = np.clip(coverage * w / (np.sum(rows * w) / np.sum(rows)), 0.02, 0.97)
    z = g - special.ndtri(p).astype(np.float32)[:, None]
    stride = max(1, round(DYN / r))
    zs, ms = z[::stride, ::stride], open_sea[::stride, ::stride]
    ws = np.broadcast_to(area[::stride, None], ms.shape)[ms]
    cloud = z < _weighted_quantile(zs[ms], ws, coverage)

    # quality levels: edges of clouds and ice are degraded
    observed = open_sea & ~cloud
    width = max(1, round(0.2 / r))
    dist = _edge_distance(cloud | ice, width)
    rng_ql = day_rng(seed, _S_QL, dnum)
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
    noise = day_rng(seed, _S_NOISE, dnum).standard_normal(shape, dtype=np.float32)
    sst = np.clip(truth + bias + sigma * noise + KELVIN, *VALID_KELVIN)  # the valid range
    sst = np.where(observed, sst, np.nan).astype(np.float32)

    # analysis error: larger under clouds and along fronts
    cloudiness = smooth_deg((~observed).astype(np.float32), 1.0)
    error = 0.1 + 0.35 * cloudiness + 0.04 * np.clip(grad, 0.0, 5.0)
    error = np.where(water, error, np.nan).astype(np.float32)

    mask = np.full(shape, 2, np.int8)
    mask[st.sea] = 1
    mask[st.lake] = 4
    mask[ice] = 9
    analysed_k = np.where(water, analysed + KELVIN, np.nan).astype(np.float32)
    ice_out = np.where(st.sea, ice_fraction, np.nan).astype(np.float32)

    return make_datasets(day, r, seed, lat, lon, sst, ql, analysed_k, error, ice_out, mask)
