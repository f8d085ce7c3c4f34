"""The sample's Zarr stores, laid out like the Copernicus ARCO stores, and their cache."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from eogapfill.sample.base import SAMPLE_VERSION, DateLike, as_day, check_resolution, check_seed
from eogapfill.sample.ocean import generate_day

__all__ = [
    "PRODUCTS",
    "SAMPLE_DAYS",
    "SAMPLE_START",
    "cache_dir",
    "sample_store",
    "write_sample",
]

#: First day of the default sample.
SAMPLE_START = "2024-06-01"
#: Number of days of the default sample.
SAMPLE_DAYS = 10
#: Store folder name of each product.
PRODUCTS = {"l3s": "l3s.zarr", "l4": "l4_time.zarr", "l4_geo": "l4_geo.zarr"}
_GEO_TILE = 256


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
    first = as_day(start)
    last = first + np.timedelta64(int(days) - 1, "D")
    as_day(last)
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
    r = check_resolution(resolution)
    seed = check_seed(seed)
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
    r = check_resolution(resolution)
    folder = cache_dir() / f"sample-v{SAMPLE_VERSION}-{str(r).replace('.', 'p')}deg"
    target = folder / PRODUCTS[product]
    if not all((folder / name / ".zmetadata").exists() for name in PRODUCTS.values()):
        _write(folder, start=SAMPLE_START, days=SAMPLE_DAYS, resolution=r, seed=0, if_exists="keep")
    return target
