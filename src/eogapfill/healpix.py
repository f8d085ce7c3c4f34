"""The HEALPix grid: levels, cell centres, neighbours and the xdggs description.

Every HEALPix dataset of the package covers the whole sphere in NESTED order: a ``cells``
dimension of length ``12 * nside**2`` with a ``cell_ids`` coordinate ``0 .. npix-1`` whose
attributes describe the grid for xdggs (``grid_name="healpix"``, ``level=log2(nside)``,
``indexing_scheme="nested"``). Longitudes are geographic (degrees east); no east-west mirror.

The variables of a regridded day (see :mod:`eogapfill.regrid`) are

========================  ==========================================================
``SST_L3S`` (cells)       observed SST in degC; NaN where there is no observation
``SST_L4`` (cells)        gap-free analysis in degC; NaN off the sea
``sea_fraction`` (cells)  fraction of the cell's source points that are open sea
``sea`` (cells)           bool, the cell is sea (``sea_fraction >= threshold``)
``gap`` (cells)           bool, sea cell without an observation: what a fill fills
========================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np
import xarray as xr

__all__ = [
    "EARTH_RADIUS_KM",
    "MAX_NSIDE",
    "HealpixGrid",
    "cell_lonlat",
    "cell_vectors",
    "check_nside",
    "decode",
    "grid_of",
    "healpix_dataset",
    "neighbours",
]

#: Earth radius used for every distance and cell size of the package, km.
EARTH_RADIUS_KM = 6371.0


#: Largest nside the package accepts (level 13, cells about 0.8 km): one float32 map of
#: ``12 * 8192**2`` cells already takes 3.2 GB.
MAX_NSIDE = 8192


def check_nside(nside: int) -> int:
    """Return the level ``log2(nside)``; raise a clear error unless ``nside`` is a power of two
    from 1 to :data:`MAX_NSIDE`.

    >>> check_nside(64)
    6
    """
    if isinstance(nside, bool) or not isinstance(nside, int | np.integer) or nside < 1:
        raise ValueError(
            f"nside must be a positive integer power of two (1, 2, 4, ... {MAX_NSIDE}), "
            f"got {nside!r}"
        )
    if nside > MAX_NSIDE:
        raise ValueError(
            f"nside {nside} is above the largest the package handles, {MAX_NSIDE} (a map of "
            f"{12 * nside**2:.3g} cells, {12 * nside**2 * 4 / 1e9:.3g} GB a float32 variable): "
            f"use nside <= {MAX_NSIDE}; the 0.1 degree products hold about as much detail as "
            "nside 512 to 1024"
        )
    level = int(nside).bit_length() - 1
    if 2**level != nside:
        lower, upper = 2**level, 2 ** (level + 1)
        raise ValueError(
            f"nside must be a power of two, got {nside}; use {lower} or {upper} instead"
        )
    return level


@dataclass(frozen=True)
class HealpixGrid:
    """A full-sphere NESTED HEALPix grid.

    >>> g = HealpixGrid(32)
    >>> g.level, g.npix, round(g.resolution_km)
    (5, 12288, 204)
    """

    nside: int

    def __post_init__(self) -> None:
        check_nside(self.nside)

    @property
    def level(self) -> int:
        return int(np.log2(self.nside))

    @property
    def npix(self) -> int:
        return 12 * self.nside**2

    @property
    def resolution_km(self) -> float:
        """Square root of the cell area, km (Earth radius :data:`EARTH_RADIUS_KM`)."""
        return float(np.sqrt(hp.nside2pixarea(self.nside)) * EARTH_RADIUS_KM)

    @property
    def attrs(self) -> dict[str, object]:
        """Attributes of ``cell_ids`` that xdggs >= 0.6 reads."""
        return {"grid_name": "healpix", "level": self.level, "indexing_scheme": "nested"}


def grid_of(obj: xr.Dataset | xr.DataArray) -> HealpixGrid:
    """The grid of a HEALPix dataset or array, checked against its size."""
    if "cell_ids" not in obj.coords:
        raise ValueError(
            "not a HEALPix object: no 'cell_ids' coordinate; regrid first with "
            "eogapfill.regrid.to_healpix(day, nside)"
        )
    attrs = obj["cell_ids"].attrs
    size = obj["cell_ids"].size
    if "level" in attrs:
        nside = 2 ** int(attrs["level"])
    else:  # decoded by xdggs: the attributes live on the index
        nside = hp.npix2nside(size)
    grid = HealpixGrid(nside)
    if size != grid.npix:
        raise ValueError(
            f"HEALPix object has {size} cells but nside {nside} needs {grid.npix}: "
            "eogapfill works on full-sphere maps"
        )
    return grid


def healpix_dataset(
    data_vars: dict[str, np.ndarray | tuple],
    nside: int,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build an undecoded full-sphere HEALPix dataset.

    ``data_vars`` maps names to arrays of shape ``(npix,)`` (or to ``(dims, array)`` tuples
    whose last dim is ``cells``). Decode it with :func:`decode` to get the xdggs index.

    >>> ds = healpix_dataset({"x": np.zeros(48)}, nside=2)
    >>> dict(ds.cell_ids.attrs)
    {'grid_name': 'healpix', 'level': 1, 'indexing_scheme': 'nested'}
    """
    grid = HealpixGrid(nside)
    variables = {}
    for name, value in data_vars.items():
        if isinstance(value, tuple):
            variables[name] = value
        else:
            value = np.asarray(value)
            if value.shape != (grid.npix,):
                raise ValueError(f"{name!r} has shape {value.shape}, expected ({grid.npix},)")
            variables[name] = ("cells", value)
    cell_ids = xr.Variable("cells", np.arange(grid.npix, dtype="int64"), grid.attrs)
    return xr.Dataset(variables, coords={"cell_ids": cell_ids}, attrs=attrs or {})


def decode(ds: xr.Dataset) -> xr.Dataset:
    """Attach the xdggs HEALPix index (``ds.dggs`` accessor) to an undecoded dataset."""
    import xdggs

    return xdggs.decode(ds)


@lru_cache(maxsize=8)
def _lonlat(nside: int) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True, lonlat=True)
    lon = np.where(lon > 180.0, lon - 360.0, lon)
    lon.setflags(write=False)
    lat.setflags(write=False)
    return lon, lat


def cell_lonlat(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres ``(lon, lat)`` in degrees, lon in [-180, 180), shape ``(npix,)`` each."""
    check_nside(nside)
    return _lonlat(nside)


@lru_cache(maxsize=4)
def _vectors(nside: int) -> np.ndarray:
    xyz = np.stack(hp.pix2vec(nside, np.arange(12 * nside**2), nest=True), axis=1)
    xyz.setflags(write=False)
    return xyz


def cell_vectors(nside: int) -> np.ndarray:
    """Unit vectors of the cell centres, shape ``(npix, 3)`` (read-only, cached)."""
    check_nside(nside)
    return _vectors(nside)


@lru_cache(maxsize=8)
def _neighbours(nside: int) -> np.ndarray:
    nb = hp.get_all_neighbours(nside, np.arange(12 * nside**2), nest=True).T.copy()
    nb.setflags(write=False)
    return nb


def neighbours(nside: int) -> np.ndarray:
    """The 8 NESTED neighbours of every cell, shape ``(npix, 8)``; -1 where a cell has only 7."""
    check_nside(nside)
    return _neighbours(nside)
