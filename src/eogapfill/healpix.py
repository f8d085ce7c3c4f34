"""The HEALPix grid: levels, cell centres, neighbours, regions and the xdggs description.

A HEALPix dataset of the package is in NESTED order: a ``cells`` dimension with a sorted
``cell_ids`` coordinate whose attributes describe the grid for xdggs (``grid_name="healpix"``,
``level=log2(nside)``, ``indexing_scheme="nested"``). A *full-sphere* dataset has the
``12 * nside**2`` cells ``0 .. npix-1``; a *partial* (regional) one has only the cells of a
region (:func:`region_cells`), in increasing id order. Longitudes are geographic (degrees
east); no east-west mirror.

The variables of a regridded day (see :mod:`eogapfill.regrid`) are

========================  ==========================================================
``SST_L3S`` (cells)       observed SST in degC; NaN where there is no observation
``SST_L4`` (cells)        gap-free analysis in degC; NaN off the sea
``sea_fraction`` (cells)  fraction of the cell's source points that are open sea
``coverage`` (cells)      share of a sea cell's open-sea points that are observed
``sea`` (cells)           bool, the cell is sea (``sea_fraction >= threshold``)
``gap`` (cells)           bool, sea cell without an observation: what a fill fills
========================  ==========================================================

On a partial grid a cell's neighbours outside the region are *absent* (index -1 in
:meth:`HealpixGrid.neighbours`), never land: a fill treats the region's edge as an open
boundary with no data beyond it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import NamedTuple

import healpy as hp
import numpy as np
import xarray as xr

__all__ = [
    "EARTH_RADIUS_KM",
    "MAX_NSIDE",
    "POSITION_NAMES",
    "HealpixGrid",
    "Region",
    "Rings",
    "cell_lonlat",
    "box_label",
    "cell_vectors",
    "check_box",
    "check_nside",
    "decode",
    "grid_of",
    "healpix_dataset",
    "nearest_distance_km",
    "neighbour_mean",
    "neighbours",
    "nest_to_ring",
    "ring_to_nest",
    "region_cells",
    "rings",
    "sorted_unique",
    "with_positions",
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


Region = tuple[float, float, float, float]
"""A lat/lon box ``(lon0, lon1, lat0, lat1)`` in degrees; ``lon0 > lon1`` crosses 180."""


@dataclass(frozen=True, eq=False)
class HealpixGrid:
    """A NESTED HEALPix grid: the full sphere, or the cells of a region (``cell_ids``).

    >>> g = HealpixGrid(32)
    >>> g.level, g.npix, round(g.resolution_km), g.is_partial
    (5, 12288, 204, False)
    >>> r = HealpixGrid(32, cell_ids=np.array([5, 6, 7]))
    >>> r.npix, r.is_partial, r.sphere_npix
    (3, True, 12288)
    """

    nside: int
    cell_ids: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_nside(self.nside)
        if self.cell_ids is None:
            return
        ids = np.asarray(self.cell_ids)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"cell_ids must be a non-empty 1-D array, got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"cell_ids must be integer NESTED ids, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        npix = 12 * self.nside**2
        if ids[0] < 0 or ids[-1] >= npix or (ids.size > 1 and not (np.diff(ids) > 0).all()):
            raise ValueError(
                f"cell_ids must be increasing, unique NESTED ids in 0 .. {npix - 1} (nside "
                f"{self.nside}); sort the cells with ds.sortby('cell_ids')"
            )
        if ids.size == npix:  # every cell: the full sphere
            object.__setattr__(self, "cell_ids", None)
            return
        ids.setflags(write=False)
        object.__setattr__(self, "cell_ids", ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HealpixGrid):
            return NotImplemented
        return self.nside == other.nside and self._key == other._key

    def __hash__(self) -> int:
        return hash((self.nside, self._key))

    @cached_property
    def _key(self) -> str:
        if self.cell_ids is None:
            return "sphere"
        return hashlib.sha1(self.cell_ids.tobytes()).hexdigest()

    @property
    def is_partial(self) -> bool:
        """True for a regional grid (a subset of the sphere's cells)."""
        return self.cell_ids is not None

    @property
    def level(self) -> int:
        return int(np.log2(self.nside))

    @property
    def npix(self) -> int:
        """Number of cells of the grid (of a map on it): ``12 * nside**2`` on the full sphere."""
        return self.sphere_npix if self.cell_ids is None else int(self.cell_ids.size)

    @property
    def sphere_npix(self) -> int:
        """Number of cells of the full sphere at this nside."""
        return 12 * self.nside**2

    @property
    def ids(self) -> np.ndarray:
        """NESTED ids of the grid's cells, shape ``(npix,)`` (``0 .. npix-1`` on the sphere)."""
        if self.cell_ids is None:
            return np.arange(self.sphere_npix, dtype=np.int64)
        return self.cell_ids

    @property
    def resolution_km(self) -> float:
        """Square root of the cell area, km (Earth radius :data:`EARTH_RADIUS_KM`)."""
        return float(np.sqrt(hp.nside2pixarea(self.nside)) * EARTH_RADIUS_KM)

    @property
    def attrs(self) -> dict[str, object]:
        """Attributes of ``cell_ids`` that xdggs >= 0.6 reads."""
        return {"grid_name": "healpix", "level": self.level, "indexing_scheme": "nested"}

    def position(self, ids: np.ndarray) -> np.ndarray:
        """Index in the grid's maps of NESTED cell ``ids``; -1 for cells not in the grid.

        >>> HealpixGrid(2, cell_ids=np.array([3, 9])).position(np.array([9, 4, 3])).tolist()
        [1, -1, 0]
        """
        ids = np.asarray(ids, dtype=np.int64)
        if self.cell_ids is None:
            return np.where((ids >= 0) & (ids < self.sphere_npix), ids, -1)
        at = np.clip(np.searchsorted(self.cell_ids, ids), 0, self.cell_ids.size - 1)
        return np.where(self.cell_ids[at] == ids, at, -1)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres ``(lon, lat)`` in degrees, lon in [-180, 180), shape ``(npix,)`` each."""
        if self.cell_ids is None:
            return _lonlat(self.nside)
        return _partial_lonlat(self.nside, self.cell_ids.tobytes())

    def vectors(self) -> np.ndarray:
        """Unit vectors of the cell centres, shape ``(npix, 3)``."""
        if self.cell_ids is None:
            return _vectors(self.nside)
        return np.stack(hp.pix2vec(self.nside, self.cell_ids, nest=True), axis=1)

    def neighbours(self) -> np.ndarray:
        """The 8 neighbours of every cell as indices into the grid's maps, shape ``(npix, 8)``.

        -1 where a cell has only 7 neighbours and, on a partial grid, where the neighbour lies
        outside the region (absent: no data there, not land).
        """
        if self.cell_ids is None:
            return _neighbours(self.nside)
        return _partial_neighbours(self.nside, self.cell_ids.tobytes())


@lru_cache(maxsize=4)
def _partial_lonlat(nside: int, ids_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    ids = np.frombuffer(ids_bytes, dtype=np.int64)
    lon, lat = hp.pix2ang(nside, ids, nest=True, lonlat=True)
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    lon.setflags(write=False)
    lat.setflags(write=False)
    return lon, lat


@lru_cache(maxsize=4)
def _partial_neighbours(nside: int, ids_bytes: bytes) -> np.ndarray:
    ids = np.frombuffer(ids_bytes, dtype=np.int64)
    grid = HealpixGrid(nside, cell_ids=ids.copy())
    nb = hp.get_all_neighbours(nside, ids, nest=True).T
    local = np.where(nb >= 0, grid.position(np.where(nb >= 0, nb, 0)), -1)
    local.setflags(write=False)
    return local


def region_cells(
    nside: int,
    region: Region | Mapping[str, object] | None = None,
    *,
    cells: Sequence[int] | np.ndarray | None = None,
    level: int | None = None,
) -> np.ndarray:
    """NESTED ids (sorted, int64) at ``nside`` of a region of the sphere.

    Give either a lat/lon box ``region=(lon0, lon1, lat0, lat1)`` in degrees (every cell that
    touches the box, from healpix-geo's ``zone_coverage``; ``lon0 > lon1`` crosses the
    antimeridian), or ``cells``: NESTED ids at a coarser ``level`` (as xdggs and healpix-geo
    describe a region), whose children at ``nside`` make the region; ``region`` may also be
    the mapping ``{"cells": ids, "level": level}`` (how :func:`eogapfill.regrid.to_healpix`
    takes a region of coarse cells).

    >>> region_cells(2, cells=[0], level=0).tolist()
    [0, 1, 2, 3]
    >>> region_cells(2, {"cells": [0], "level": 0}).tolist()
    [0, 1, 2, 3]
    >>> ids = region_cells(64, (-80.0, -50.0, 25.0, 45.0))
    >>> ids.size, bool((np.diff(ids) > 0).all())
    (656, True)
    """
    depth = check_nside(nside)
    if isinstance(region, Mapping):
        if set(region) != {"cells", "level"} or cells is not None:
            raise ValueError(
                'a region given as a mapping needs exactly the keys "cells" (NESTED ids) and '
                f'"level" (their HEALPix level), got {sorted(map(str, region))}'
            )
        region, cells, level = None, region["cells"], int(region["level"])  # type: ignore[call-overload]
    if (region is None) == (cells is None):
        raise ValueError(
            "give one region: a box region=(lon0, lon1, lat0, lat1) in degrees, or "
            "cells=<NESTED ids> with level=<their level>"
        )
    if cells is not None:
        if level is None:
            raise ValueError("cells= needs level=: the HEALPix level of those ids")
        if not 0 <= int(level) <= depth:
            raise ValueError(
                f"the region's level {level} must lie between 0 and the grid's level {depth} "
                f"(nside {nside})"
            )
        coarse = sorted_unique(np.asarray(cells, dtype=np.int64).ravel())
        if coarse.size == 0 or coarse[0] < 0 or coarse[-1] >= 12 * 4 ** int(level):
            raise ValueError(
                f"cells must be NESTED ids in 0 .. {12 * 4 ** int(level) - 1} at level {level}"
            )
        shift = 4 ** (depth - int(level))
        return (coarse[:, None] * shift + np.arange(shift)[None, :]).ravel()
    lon0, lon1, lat0, lat1 = check_box(region)
    if lon1 - lon0 >= 360.0:  # every longitude: three pieces (healpix-geo needs a box < 360)
        pieces = [(-180.0, -60.0), (-60.0, 60.0), (60.0, 180.0)]
    else:
        pieces = [(lon0, lon1)]
    return sorted_unique(np.concatenate([_zone(lo, hi, lat0, lat1, depth) for lo, hi in pieces]))


def sorted_unique(ids: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D integer array, sorted: ``np.unique(ids)`` by a sort.

    numpy 2.4's ``np.unique`` of int64 hashes and took 10 s for the 2.4 million cells of a
    30 x 20 degree box at nside 4096; a sort takes 0.05 s.

    >>> sorted_unique(np.array([5, 1, 5, 3])).tolist()
    [1, 3, 5]
    """
    out = np.sort(ids)
    if out.size < 2:
        return out
    return out[np.concatenate([[True], out[1:] != out[:-1]])]


def check_box(region: object) -> Region:
    """A lat/lon box ``(lon0, lon1, lat0, lat1)`` as floats, degrees, or a clear error.

    Latitudes in -90 .. 90 with ``lat0 < lat1``; longitudes in -360 .. 360 and different
    (``lon0 > lon1`` crosses 180; 360 degrees apart for every longitude).

    >>> check_box([-80, -50, 25, 45])
    (-80.0, -50.0, 25.0, 45.0)
    """
    try:
        box = tuple(float(x) for x in region)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(
            f"a region is a box (lon0, lon1, lat0, lat1) in degrees, got {region!r}"
        ) from None
    if len(box) != 4 or not np.isfinite(box).all():
        raise ValueError(
            f"a region is a box of four finite numbers (lon0, lon1, lat0, lat1) in degrees, "
            f"got {region!r}"
        )
    lon0, lon1, lat0, lat1 = box
    if not (-90.0 <= lat0 <= 90.0 and -90.0 <= lat1 <= 90.0):
        raise ValueError(
            f"the region's latitudes must lie in -90 .. 90 degrees (-90 <= lat0 < lat1 <= 90), "
            f"got lat0={lat0:g}, lat1={lat1:g}"
        )
    if lat0 >= lat1:
        raise ValueError(
            f"the region's lat0 must be south of lat1 (lat0 < lat1), got lat0={lat0:g}, "
            f"lat1={lat1:g}: give the box as lon0 lon1 lat0 lat1, south first"
        )
    if not (-360.0 <= lon0 <= 360.0 and -360.0 <= lon1 <= 360.0) or lon0 == lon1:
        raise ValueError(
            f"the region's longitudes must be two different numbers in -360 .. 360 degrees "
            f"(lon0 > lon1 crosses 180), got lon0={lon0:g}, lon1={lon1:g}"
        )
    return lon0, lon1, lat0, lat1


def box_label(box: Region) -> str:
    """The words a regional dataset records for its box (attribute ``healpix_region``).

    >>> box_label((-80, -50, 25, 45))
    'lon -80.0 .. -50.0, lat 25.0 .. 45.0'
    """
    return "lon {} .. {}, lat {} .. {}".format(*(float(x) for x in box))


def _zone(lon0: float, lon1: float, lat0: float, lat1: float, depth: int) -> np.ndarray:
    """healpix-geo's ``zone_coverage`` of one box (its east edge may not sit on 0 degrees:
    healpix-geo 0.4 then panics; the edge moves 1e-9 degree west)."""
    from healpix_geo.nested import zone_coverage

    west = (lon0 + 180.0) % 360.0 - 180.0
    east = (lon1 + 180.0) % 360.0 - 180.0
    if east == 0.0:
        east = -1e-9
    ids, _, _ = zone_coverage((west, lat0, east, lat1), depth, flat=True)
    return np.asarray(ids, dtype=np.int64)


def grid_of(obj: xr.Dataset | xr.DataArray) -> HealpixGrid:
    """The grid of a HEALPix dataset or array: full sphere, or partial (regional) when its
    ``cell_ids`` are a subset of the sphere's cells."""
    if "cell_ids" not in obj.coords:
        raise ValueError(
            "not a HEALPix object: no 'cell_ids' coordinate; regrid first with "
            "eogapfill.regrid.to_healpix(day, nside)"
        )
    attrs = obj["cell_ids"].attrs
    ids = np.asarray(obj["cell_ids"].values)
    if "level" in attrs:
        nside = 2 ** int(attrs["level"])
    else:  # decoded by xdggs: the attributes live on the index
        try:
            nside = 2 ** int(obj.dggs.grid_info.level)
        except (AttributeError, ValueError, TypeError):
            nside = hp.npix2nside(ids.size)
    try:
        return HealpixGrid(nside, cell_ids=ids)
    except ValueError as err:
        raise ValueError(f"the HEALPix object's cell_ids do not make a grid: {err}") from None


#: Where a regridded day records each observed cell's measured position (degrees).
POSITION_NAMES = ("observed_lon", "observed_lat")


def with_positions(ds: xr.Dataset, name: str = "SST_L3S") -> xr.DataArray:
    """``ds[name]`` carrying the regridded day's ``observed_lon`` and ``observed_lat`` as
    coordinates (when the day has them), so that a fill called as ``fill(sst, gaps)`` knows
    where each observed value was measured."""
    present = [p for p in POSITION_NAMES if p in ds.data_vars]
    if len(present) < 2:
        return ds[name]
    return ds[name].assign_coords({p: ds[p] for p in present})


def healpix_dataset(
    data_vars: dict[str, np.ndarray | tuple],
    nside: int | HealpixGrid,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build an undecoded HEALPix dataset: full-sphere for an ``nside``, partial for a
    :class:`HealpixGrid` with ``cell_ids``.

    ``data_vars`` maps names to arrays of shape ``(npix,)`` (or to ``(dims, array)`` tuples
    whose last dim is ``cells``). Decode it with :func:`decode` to get the xdggs index.

    >>> ds = healpix_dataset({"x": np.zeros(48)}, nside=2)
    >>> dict(ds.cell_ids.attrs)
    {'grid_name': 'healpix', 'level': 1, 'indexing_scheme': 'nested'}
    """
    grid = nside if isinstance(nside, HealpixGrid) else HealpixGrid(nside)
    variables = {}
    for name, value in data_vars.items():
        if isinstance(value, tuple):
            variables[name] = value
        else:
            value = np.asarray(value)
            if value.shape != (grid.npix,):
                raise ValueError(f"{name!r} has shape {value.shape}, expected ({grid.npix},)")
            variables[name] = ("cells", value)
    cell_ids = xr.Variable("cells", grid.ids.copy(), grid.attrs)
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


def nearest_distance_km(
    nside: int | HealpixGrid, sources: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Great-circle distance (km) from each target cell to the nearest source cell.

    ``sources``: a boolean map or indices into the grid's maps (NESTED ids on the full
    sphere); ``targets``: the same. Returns shape ``(n_targets,)``.

    >>> sources = np.zeros(12 * 4**2, bool); sources[0] = True
    >>> float(nearest_distance_km(4, sources, np.array([0]))[0])
    0.0
    """
    from scipy.spatial import cKDTree

    xyz = nside.vectors() if isinstance(nside, HealpixGrid) else cell_vectors(nside)
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


def neighbour_mean(values: np.ndarray | xr.DataArray, nside: int | HealpixGrid) -> np.ndarray:
    """Mean of the finite HEALPix neighbours of every cell.

    Parameters
    ----------
    values : array, shape ``(..., 12 * nside**2)``
        A full-sphere NESTED map (any unit); NaN marks a missing value. Leading dimensions
        (e.g. ensemble members) are handled independently.
    nside : int or HealpixGrid
        HEALPix resolution parameter of a full-sphere map, or the (partial) grid of the map:
        on a partial grid, neighbours outside the region are absent.

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
    grid = nside if isinstance(nside, HealpixGrid) else HealpixGrid(nside)
    nb = grid.neighbours()
    arr = np.asarray(values, dtype="float64")
    if arr.ndim == 0 or arr.shape[-1] != nb.shape[0]:
        raise ValueError(
            f"neighbour_mean: values of shape {arr.shape} do not end with the {nb.shape[0]} "
            f"cells of the grid (nside {grid.nside}); pass a map on that grid"
        )
    exists = nb >= 0
    gathered = arr[..., np.where(exists, nb, 0)]  # (..., npix, 8)
    usable = exists & np.isfinite(gathered)
    total = np.where(usable, gathered, 0.0).sum(axis=-1)
    count = usable.sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out
