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
from typing import NamedTuple

import healpy as hp
import numpy as np
import xarray as xr

__all__ = [
    "EARTH_RADIUS_KM",
    "MAX_NSIDE",
    "HealpixGrid",
    "Rings",
    "cell_lonlat",
    "cell_vectors",
    "check_nside",
    "decode",
    "grid_of",
    "healpix_dataset",
    "nearest_distance_km",
    "neighbour_mean",
    "neighbours",
    "nest_to_ring",
    "ring_to_nest",
    "rings",
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


def nearest_distance_km(nside: int, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) from each target cell to the nearest source cell.

    ``sources``: a boolean map or NESTED cell ids; ``targets``: the same. Returns shape
    ``(n_targets,)``.

    >>> sources = np.zeros(12 * 4**2, bool); sources[0] = True
    >>> float(nearest_distance_km(4, sources, np.array([0]))[0])
    0.0
    """
    from scipy.spatial import cKDTree

    xyz = cell_vectors(nside)
    chord, _ = cKDTree(xyz[sources]).query(xyz[targets], k=1)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0.0, 1.0))


@lru_cache(maxsize=8)
def _neighbours(nside: int) -> np.ndarray:
    nb = hp.get_all_neighbours(nside, np.arange(12 * nside**2), nest=True).T.copy()
    nb.setflags(write=False)
    return nb


def neighbours(nside: int) -> np.ndarray:
    """The 8 NESTED neighbours of every cell, shape ``(npix, 8)``; -1 where a cell has only 7."""
    check_nside(nside)
    return _neighbours(nside)


class Rings(NamedTuple):
    """The ``4 nside - 1`` rings of constant latitude of the RING scheme, north to south.

    Each field has shape ``(4 nside - 1,)``; a ring's cells are equally spaced in longitude.
    """

    start: np.ndarray  #: first RING pixel of each ring (int64)
    length: np.ndarray  #: number of cells of each ring (int64)
    theta: np.ndarray  #: colatitude of each ring, radians
    phi0: np.ndarray  #: longitude of each ring's first cell, radians east


@lru_cache(maxsize=8)
def _rings(nside: int) -> Rings:
    index = np.arange(1, 4 * nside, dtype=np.int64)
    start, length, _, _, _ = hp.ringinfo(nside, index)
    theta, phi0 = hp.pix2ang(nside, start)
    out = Rings(start.astype(np.int64), length.astype(np.int64), theta, phi0)
    for a in out:
        a.setflags(write=False)
    return out


def rings(nside: int) -> Rings:
    """The iso-latitude rings of the grid (read-only, cached).

    >>> r = rings(2)
    >>> r.start.tolist(), r.length.tolist()
    ([0, 4, 12, 20, 28, 36, 44], [4, 8, 8, 8, 8, 8, 4])
    """
    check_nside(nside)
    return _rings(nside)


@lru_cache(maxsize=8)
def _reorder(nside: int, to_nest: bool) -> np.ndarray:
    convert = hp.ring2nest if to_nest else hp.nest2ring
    idx = convert(nside, np.arange(12 * nside**2, dtype=np.int64))
    idx.setflags(write=False)
    return idx


def ring_to_nest(nside: int) -> np.ndarray:
    """NESTED id of every RING pixel, shape ``(npix,)`` (read-only, cached).

    A RING-ordered map ``r`` becomes NESTED with ``nest[ring_to_nest(nside)] = r``.

    >>> ring_to_nest(1).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    """
    check_nside(nside)
    return _reorder(nside, True)


def nest_to_ring(nside: int) -> np.ndarray:
    """RING id of every NESTED cell, shape ``(npix,)`` (read-only, cached).

    A NESTED map ``x`` becomes RING-ordered with ``ring[nest_to_ring(nside)] = x``, and
    ``x[ring_to_nest(nside)]`` is the same RING-ordered map.

    >>> bool((nest_to_ring(4)[ring_to_nest(4)] == np.arange(192)).all())
    True
    """
    check_nside(nside)
    return _reorder(nside, False)


def neighbour_mean(values: np.ndarray | xr.DataArray, nside: int) -> np.ndarray:
    """Mean of the finite HEALPix neighbours of every cell.

    Parameters
    ----------
    values : array, shape ``(..., 12 * nside**2)``
        A full-sphere NESTED map (any unit); NaN marks a missing value. Leading dimensions
        (e.g. ensemble members) are handled independently.
    nside : int
        HEALPix resolution parameter of the map.

    Returns
    -------
    numpy.ndarray, same shape as ``values``
        The mean of the finite values among each cell's 8 (or 7) neighbours, NaN where no
        neighbour is finite. ``values - neighbour_mean(values, nside)`` is the
        neighbour-difference field used to measure small-scale texture.

    Examples
    --------
    >>> x = np.full(48, np.nan)
    >>> x[neighbours(2)[0, :2]] = [1.0, 3.0]   # two neighbours of cell 0 known
    >>> float(neighbour_mean(x, 2)[0])
    2.0
    """
    check_nside(nside)
    nb = neighbours(nside)
    arr = np.asarray(values, dtype="float64")
    if arr.ndim == 0 or arr.shape[-1] != nb.shape[0]:
        raise ValueError(
            f"neighbour_mean: values of shape {arr.shape} do not end with the {nb.shape[0]} "
            f"cells of nside {nside}; pass a full-sphere NESTED map"
        )
    exists = nb >= 0
    gathered = arr[..., np.where(exists, nb, 0)]  # (..., npix, 8)
    usable = exists & np.isfinite(gathered)
    total = np.where(usable, gathered, 0.0).sum(axis=-1)
    count = usable.sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out
