"""Open the Copernicus Marine SST stores: L3S (observations with clouds) and L4 (gap-free).

The remote stores are ARCO Zarr (format 2, consolidated metadata) served over HTTPS from
S3-compatible object storage. The same code path opens a local copy, any HTTP server or any
S3 endpoint; ``source="sample"`` (the default) opens the embedded sample that
:mod:`eogapfill.sample` generates, so that everything works offline.

========  ===================================================  ==========================
product   variables                                            chunking
========  ===================================================  ==========================
L3S       ``sea_surface_temperature`` (K), ``quality_level``    time (one day a chunk)
L4        ``analysed_sst`` (K), ``mask`` (1 sea 2 land 4 lake   time, or geo (all days
          8 ice), ``sea_ice_fraction``, ``analysis_error``     per spatial tile)
========  ===================================================  ==========================

Read a day over the whole globe from a time-chunked store; a long time series at a few
points from the geo-chunked one.

Remote stores fail loudly and in bounded time (:mod:`eogapfill.stores`): every request to an ``http(s)://`` or ``s3://``
store gives up after :data:`DEFAULT_TIMEOUT` (10 s to connect, 20 s without an answer; change
it with ``timeout=`` or ``$EOGAPFILL_TIMEOUT``), and a chunk that the store's metadata lists but
the server does not give (404, 500, a timeout) raises :class:`StoreError` naming its URL
instead of reading as missing data.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.stores import (
    DEFAULT_TIMEOUT,
    TIMEOUT_ENV,
    MissingChunks,
    StoreError,
    Timeout,
    open_store,
    store_timeout,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "L3S_URL",
    "L4_URLS",
    "TIMEOUT_ENV",
    "StoreError",
    "open_day",
    "open_l3s",
    "open_l4",
    "open_store",
    "select_time",
    "store_timeout",
]

_HOST = "https://s3.waw3-1.cloudferro.com"
L3S_URL = (
    f"{_HOST}/mdl-arco-time-045/arco/SST_GLO_SST_L3S_NRT_OBSERVATIONS_010_010/"
    "IFREMER-GLOB-SST-L3-NRT-OBS_FULL_TIME_SERIE_202211/timeChunked.zarr"
)
_L4_PATH = "arco/SST_GLO_PHY_L4_NRT_010_043/cmems_obs-sst_glo_phy_nrt_l4_P1D-m_202303"
L4_URLS = {
    "time": f"{_HOST}/mdl-arco-time-045/{_L4_PATH}/timeChunked.zarr",
    "geo": f"{_HOST}/mdl-arco-geo-045/{_L4_PATH}/geoChunked.zarr",
}
#: Dataset ids and versions for the ``copernicusmarine`` toolbox route.
TOOLBOX_IDS = {
    "l3s": ("IFREMER-GLOB-SST-L3-NRT-OBS_FULL_TIME_SERIE", "202211"),
    "l4": ("cmems_obs-sst_glo_phy_nrt_l4_P1D-m", "202303"),
}
L3S_VARIABLES = ("sea_surface_temperature", "quality_level")
L4_VARIABLES = ("analysed_sst", "mask")

Source = Literal["sample", "cmems", "copernicusmarine"]
DayLike = str | dt.date | np.datetime64 | pd.Timestamp
TimeLike = DayLike | slice | None

#: Environment variable of the folder that holds the generated sample (``~/.cache/eogapfill``).
_CACHE_ENV = "EOGAPFILL_CACHE"


def _parse_day(value: object, what: str = "time") -> pd.Timestamp:
    """The UTC day of a date given as ISO text, ``datetime.date``, numpy or pandas time."""
    form = "write it as YYYY-MM-DD (ISO 8601), e.g. '2024-06-01'"
    if isinstance(value, str):
        try:
            parsed: object = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a date: {form}") from None
    elif isinstance(value, dt.date | np.datetime64 | pd.Timestamp):
        parsed = value
    else:
        raise TypeError(
            f"{what} must be a day, got {type(value).__name__} {value!r}: {form} (a "
            "datetime.date, numpy.datetime64 or pandas.Timestamp works too)"
        )
    try:
        stamp = pd.Timestamp(parsed)
    except (ValueError, OverflowError) as err:
        raise ValueError(f"{what} {value!r} is not a usable date ({err}): {form}") from None
    if pd.isna(stamp):
        raise ValueError(f"{what} {value!r} is not a time (NaT): {form}")
    if stamp.tzinfo is not None:
        utc = stamp.tz_convert("UTC")
        if stamp.utcoffset() != pd.Timedelta(0):
            raise ValueError(
                f"{what} {value!r} carries the time zone {stamp.tzinfo}: the products' days are "
                f"UTC days without a time zone; give the UTC day, e.g. '{utc:%Y-%m-%d}'"
            )
        stamp = utc.tz_localize(None)
    return stamp.floor("D")


def _time_bounds(time: TimeLike) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last instant of the days asked for; checks the form before any network."""
    if time is None:
        return None, None
    if isinstance(time, slice):
        if time.step is not None:
            raise ValueError(
                f"a time slice takes no step, got {time!r}: select every n-th day afterwards "
                "with .isel(time=slice(None, None, n))"
            )
        start = None if time.start is None else _parse_day(time.start, "the start")
        stop = None if time.stop is None else _parse_day(time.stop, "the end")
        if start is not None and stop is not None and stop < start:
            raise ValueError(
                f"the end {stop:%Y-%m-%d} is before the start {start:%Y-%m-%d}: swap them, "
                f"slice('{stop:%Y-%m-%d}', '{start:%Y-%m-%d}')"
            )
    else:
        start = stop = _parse_day(time)
    end = None if stop is None else stop + pd.Timedelta("1D") - pd.Timedelta("1ns")
    return start, end


def select_time(ds: xr.Dataset, time: TimeLike, *, url: str = "") -> xr.Dataset:
    """Select one day (``"2024-06-01"``), a slice of days, or everything (``None``).

    Days are UTC days given as ISO 8601 text (``"2024-06-01"``; a time of day is ignored) or
    as ``datetime.date``, ``numpy.datetime64``, ``pandas.Timestamp``; a slice includes both
    ends. The time dimension is kept (length 1 for one day). Raises ``ValueError`` (or
    ``TypeError``) on a malformed day, and :class:`StoreError` with the store's time range
    when nothing matches.
    """
    start, end = _time_bounds(time)
    if time is None:
        return ds
    if "time" not in ds.dims:
        raise StoreError(f"the store {url!r} has no 'time' dimension")
    times = ds.indexes["time"]
    first, last = times[0].date(), times[-1].date()
    selected = ds.sel(time=slice(start, end))
    if selected.sizes["time"] == 0:
        asked = (
            f"{start:%Y-%m-%d}"
            if start is not None and start == end.floor("D")
            else (
                f"{'...' if start is None else f'{start:%Y-%m-%d}'} to "
                f"{'...' if end is None else f'{end:%Y-%m-%d}'}"
            )
        )
        raise StoreError(
            f"no data for {asked} in {url or 'the store'}: it covers {first} to {last}. "
            "Pick a day in that range (for other days of the sample, write them with "
            "eogapfill.sample.write_sample(folder, start=..., days=...) and open them with "
            "open_l3s(day, url=folder + '/l3s.zarr'))."
        )
    return selected


def _check_variables(ds: xr.Dataset, required: tuple[str, ...], url: str) -> None:
    missing = [v for v in required if v not in ds.data_vars]
    if missing:
        raise StoreError(
            f"the store {url!r} has no variable {', '.join(map(repr, missing))} "
            f"(it has {', '.join(map(repr, ds.data_vars)) or 'none'}): is it the right product?"
        )


def _open_product(
    product: Literal["l3s", "l4", "l4_geo"],
    time: TimeLike,
    *,
    source: Source,
    url: str | Path | None,
    storage_options: dict | None,
    resolution: float,
    timeout: Timeout,
    missing_chunks: MissingChunks,
) -> xr.Dataset:
    _time_bounds(time)  # a malformed day fails here, before any download
    required = L3S_VARIABLES if product == "l3s" else L4_VARIABLES
    if url is None:
        if source == "sample":
            url = _sample_store(product, resolution)
        elif source == "cmems":
            url = L3S_URL if product == "l3s" else L4_URLS["geo" if product == "l4_geo" else "time"]
        elif source == "copernicusmarine":
            ds = _open_toolbox(product, time)
            _check_variables(ds, required, f"copernicusmarine:{product}")
            return ds
        else:
            raise ValueError(
                f"unknown source {source!r}: use 'sample' (offline, default), 'cmems' "
                "(the public ARCO stores) or 'copernicusmarine' (the toolbox, needs credentials)"
            )
    ds = open_store(
        url, storage_options=storage_options, timeout=timeout, missing_chunks=missing_chunks
    )
    _check_variables(ds, required, str(url))
    return select_time(ds, time, url=str(url))


def _sample_store(product: Literal["l3s", "l4", "l4_geo"], resolution: float) -> Path:
    """The sample's store, generated into its cache folder on first use; a folder that cannot
    be used is named with the variable that chose it."""
    from eogapfill.sample import sample_store
    from eogapfill.sample.store import cache_dir

    try:
        return sample_store(product, resolution=resolution)
    except OSError as err:
        chosen = (
            f"set by ${_CACHE_ENV}"
            if os.environ.get(_CACHE_ENV)
            else f"the default, ${_CACHE_ENV} not set"
        )
        raise StoreError(
            f"cannot use the sample's cache folder {cache_dir()} ({chosen}): "
            f"{err.strerror or type(err).__name__}: {err.filename or err}. Set {_CACHE_ENV} to "
            f"a folder you can write to (e.g. export {_CACHE_ENV}=$HOME/eogapfill-cache), "
            "with room for the sample (about 100 MB; 500 MB at 0.1 degree)"
        ) from err


def _open_toolbox(product: str, time: TimeLike) -> xr.Dataset:
    try:
        import copernicusmarine
    except ImportError as err:
        raise ImportError(
            "source='copernicusmarine' needs the Copernicus Marine toolbox: "
            "pip install copernicusmarine, then copernicusmarine login"
        ) from err
    dataset_id, version = TOOLBOX_IDS["l3s" if product == "l3s" else "l4"]
    start, end = _time_bounds(time)
    try:
        return copernicusmarine.open_dataset(
            dataset_id=dataset_id,
            dataset_version=version,
            start_datetime=None if start is None else str(start),
            end_datetime=None if end is None else str(end),
        )
    except Exception as err:
        raise StoreError(
            f"the Copernicus Marine toolbox could not open {dataset_id} ({err}); check "
            "`copernicusmarine login` or use source='cmems' or 'sample'"
        ) from err


def open_l3s(
    time: TimeLike = None,
    *,
    source: Source = "sample",
    url: str | Path | None = None,
    storage_options: dict | None = None,
    resolution: float = 0.25,
    timeout: Timeout = None,
    missing_chunks: MissingChunks = "raise",
) -> xr.Dataset:
    """Open the L3S SST product (observations with clouds) lazily.

    Parameters
    ----------
    time
        A UTC day (``"2024-06-01"``, ISO 8601), a ``slice`` of days (both ends included), or
        None for the whole store.
    source
        ``"sample"`` (default, offline), ``"cmems"`` (the public ARCO store) or
        ``"copernicusmarine"`` (the toolbox). Ignored when ``url`` is given.
    url
        Any Zarr store: local path, ``http(s)://`` or ``s3://``.
    storage_options
        fsspec options, e.g. ``{"anon": True}`` or an S3 ``endpoint_url``.
    resolution
        Grid spacing of the sample in degrees (0.25 or 0.1).
    timeout
        Seconds, or ``(connect, read)`` seconds, for each request to a remote store; None:
        ``$EOGAPFILL_TIMEOUT`` or :data:`DEFAULT_TIMEOUT` (10 s, 20 s).
    missing_chunks
        ``"raise"`` (default): a chunk the server cannot give raises :class:`StoreError`;
        ``"fill"`` reads absent chunks as missing data (sparse stores only).

    Returns
    -------
    xr.Dataset
        ``sea_surface_temperature`` (time, latitude, longitude) in kelvin and
        ``quality_level``, dask-backed.

    Examples
    --------
    >>> l3s = open_l3s("2024-06-01")  # doctest: +SKIP
    """
    return _open_product(
        "l3s",
        time,
        source=source,
        url=url,
        storage_options=storage_options,
        resolution=resolution,
        timeout=timeout,
        missing_chunks=missing_chunks,
    )


def open_l4(
    time: TimeLike = None,
    *,
    chunking: Literal["time", "geo"] = "time",
    source: Source = "sample",
    url: str | Path | None = None,
    storage_options: dict | None = None,
    resolution: float = 0.25,
    timeout: Timeout = None,
    missing_chunks: MissingChunks = "raise",
) -> xr.Dataset:
    """Open the L4 SST analysis (gap-free) lazily; see :func:`open_l3s` for the parameters.

    ``chunking="time"`` suits whole-globe days, ``"geo"`` long series over small areas.
    Returns ``analysed_sst`` (kelvin) and ``mask`` (bit flags 1 sea, 2 land, 4 lake, 8 ice).
    """
    if chunking not in ("time", "geo"):
        raise ValueError(f"chunking must be 'time' or 'geo', got {chunking!r}")
    product = "l4" if chunking == "time" else "l4_geo"
    return _open_product(
        product,
        time,
        source=source,
        url=url,
        storage_options=storage_options,
        resolution=resolution,
        timeout=timeout,
        missing_chunks=missing_chunks,
    )


def open_day(
    date: DayLike,
    *,
    source: Source = "sample",
    resolution: float = 0.25,
    storage_options: dict | None = None,
    timeout: Timeout = None,
    min_quality: int = 5,
    implausible: Literal["mask", "raise"] = "mask",
) -> xr.Dataset:
    """One clean day, opened and prepared: ``prepare_day(open_l3s(date), open_l4(date))``.

    Parameters
    ----------
    date
        One UTC day (``"2024-06-01"``, a date or ``numpy.datetime64``); for a range of days
        open the products with :func:`open_l3s` and :func:`open_l4`.
    source, resolution, storage_options, timeout
        As in :func:`open_l3s`, for both products (L4 time-chunked).
    min_quality, implausible
        As in :func:`eogapfill.preprocess.prepare_day`.

    Returns
    -------
    xr.Dataset
        ``SST_L3S`` and ``SST_L4`` (degC), ``mask`` and ``sea`` on ``(latitude, longitude)``,
        lazy (dask-backed): call ``.load()`` to compute it once.

    Examples
    --------
    >>> day = open_day("2024-06-01")  # doctest: +SKIP
    >>> sorted(day.data_vars)  # doctest: +SKIP
    ['SST_L3S', 'SST_L4', 'mask', 'sea']
    """
    from eogapfill.preprocess import prepare_day  # preprocess is the layer above

    if date is None or isinstance(date, slice):
        raise ValueError(
            f"open_day opens one day, got {date!r}: pass a day such as '2024-06-01', or open "
            "a range of days with open_l3s and open_l4"
        )
    where = {
        "source": source,
        "resolution": resolution,
        "storage_options": storage_options,
        "timeout": timeout,
    }
    return prepare_day(
        open_l3s(date, **where),
        open_l4(date, **where),
        min_quality=min_quality,
        implausible=implausible,
    )
