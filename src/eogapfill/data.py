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
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "L3S_URL",
    "L4_URLS",
    "StoreError",
    "open_l3s",
    "open_l4",
    "open_store",
    "select_time",
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
TimeLike = str | np.datetime64 | pd.Timestamp | slice | None


class StoreError(OSError):
    """A store cannot be opened or does not hold what was asked for."""


def open_store(url: str | Path, *, storage_options: dict | None = None) -> xr.Dataset:
    """Open a Zarr store lazily (dask-backed) from a local path, ``http(s)://`` or ``s3://``.

    Raises :class:`StoreError` naming the URL when it cannot be reached or is not a store.
    """
    url = str(url)
    kwargs: dict = {"chunks": {}, "consolidated": True}
    if "://" in url:
        kwargs["storage_options"] = storage_options or {}
    elif not Path(url).exists():
        raise StoreError(
            f"no Zarr store at {url!r}: check the path, or use source='sample' for the "
            "embedded sample"
        )
    try:
        return xr.open_zarr(url, **kwargs)
    except Exception as err:  # network, auth and format errors come in many types
        raise StoreError(
            f"cannot open the Zarr store {url!r} ({type(err).__name__}: {err}). Check the URL, "
            "your network and credentials (storage_options); to work offline use "
            "source='sample'."
        ) from err


def select_time(ds: xr.Dataset, time: TimeLike, *, url: str = "") -> xr.Dataset:
    """Select one day (``"2024-06-01"``), a slice of days, or everything (``None``).

    The time dimension is kept (length 1 for one day). Raises :class:`StoreError` with the
    store's time range when nothing matches.
    """
    if time is None:
        return ds
    if "time" not in ds.dims:
        raise StoreError(f"the store {url!r} has no 'time' dimension")
    times = ds.indexes["time"]
    first, last = times[0].date(), times[-1].date()
    if isinstance(time, slice):
        selected = ds.sel(time=slice(_day_start(time.start), _day_end(time.stop)))
    else:
        selected = ds.sel(time=slice(_day_start(time), _day_end(time)))
    if selected.sizes["time"] == 0:
        raise StoreError(
            f"no data for time {time!r} in {url or 'the store'}: it covers {first} to {last}. "
            "Pick a day in that range (for the sample, see eogapfill.sample.write_sample to "
            "generate other days)."
        )
    return selected


def _day_start(t: object) -> pd.Timestamp | None:
    return None if t is None else pd.Timestamp(t).floor("D")


def _day_end(t: object) -> pd.Timestamp | None:
    return None if t is None else pd.Timestamp(t).floor("D") + pd.Timedelta("1D") - pd.Timedelta("1ns")


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
) -> xr.Dataset:
    required = L3S_VARIABLES if product == "l3s" else L4_VARIABLES
    if url is None:
        if source == "sample":
            from eogapfill.sample import sample_store

            url = sample_store(product, resolution=resolution)
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
    ds = open_store(url, storage_options=storage_options)
    _check_variables(ds, required, str(url))
    return select_time(ds, time, url=str(url))


def _open_toolbox(product: str, time: TimeLike) -> xr.Dataset:
    try:
        import copernicusmarine
    except ImportError as err:
        raise ImportError(
            "source='copernicusmarine' needs the Copernicus Marine toolbox: "
            "pip install copernicusmarine, then copernicusmarine login"
        ) from err
    dataset_id, version = TOOLBOX_IDS["l3s" if product == "l3s" else "l4"]
    start = end = None
    if isinstance(time, slice):
        start, end = _day_start(time.start), _day_end(time.stop)
    elif time is not None:
        start, end = _day_start(time), _day_end(time)
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
) -> xr.Dataset:
    """Open the L3S SST product (observations with clouds) lazily.

    Parameters
    ----------
    time
        A day (``"2024-06-01"``), a ``slice`` of days, or None for the whole store.
    source
        ``"sample"`` (default, offline), ``"cmems"`` (the public ARCO store) or
        ``"copernicusmarine"`` (the toolbox). Ignored when ``url`` is given.
    url
        Any Zarr store: local path, ``http(s)://`` or ``s3://``.
    storage_options
        fsspec options, e.g. ``{"anon": True}`` or an S3 ``endpoint_url``.
    resolution
        Grid spacing of the sample in degrees (0.25 or 0.1).

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
        "l3s", time, source=source, url=url, storage_options=storage_options, resolution=resolution
    )


def open_l4(
    time: TimeLike = None,
    *,
    chunking: Literal["time", "geo"] = "time",
    source: Source = "sample",
    url: str | Path | None = None,
    storage_options: dict | None = None,
    resolution: float = 0.25,
) -> xr.Dataset:
    """Open the L4 SST analysis (gap-free) lazily; see :func:`open_l3s` for the parameters.

    ``chunking="time"`` suits whole-globe days, ``"geo"`` long series over small areas.
    Returns ``analysed_sst`` (kelvin) and ``mask`` (bit flags 1 sea, 2 land, 4 lake, 8 ice).
    """
    if chunking not in ("time", "geo"):
        raise ValueError(f"chunking must be 'time' or 'geo', got {chunking!r}")
    product = "l4" if chunking == "time" else "l4_geo"
    return _open_product(
        product, time, source=source, url=url, storage_options=storage_options, resolution=resolution
    )
