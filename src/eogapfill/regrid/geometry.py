"""Where the source points of a lat/lon grid go at one nside: their cells, the number of points
per cell and the nearest point of each cell without one, on the sphere or on a region's cells
only (every array then scales with the region). Computed once per (grid, nside, region) and
cached."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np

from eogapfill.healpix import nest_to_ring

__all__ = [
    "BAND_POINTS",
    "Geometry",
    "clear_cache",
    "geometry_of",
    "region_cols",
    "region_rows",
    "suggest_nside",
]

BAND_POINTS = 2**20  # source points per pass (ang2pix, bincount) on numpy inputs


@dataclass(frozen=True)
class Geometry:
    """Where the source points go, at one nside, on the sphere or on a region's cells.

    Cells are numbered in the geometry's own order: RING ids on the full sphere, positions in
    the region's sorted NESTED ids (``cell_ids``) on a region. Only the source rows ``rows``
    and columns ``cols`` that can fall in those cells are binned.
    """

    nside: int
    cell_ids: np.ndarray | None  # (ncells,) NESTED ids of a region; None: the sphere, RING order
    rows: slice  # source rows that can fall in the cells
    cols: slice | np.ndarray  # source columns that can fall in the cells (sorted indices)
    pix: np.ndarray  # (len(rows), len(cols)) cell of each of those points; -1: no cell
    npoints: np.ndarray  # (ncells,) number of source points per cell
    nearest_cells: np.ndarray  # cells without a point, inside the grid's extent
    nearest_rows: np.ndarray  # source row (of the whole grid) of their nearest point
    nearest_cols: np.ndarray  # source column (of the whole grid) of their nearest point
    n_outside: int  # cells without a point beyond the grid's extent (no data)
    token: str  # names the source-cell array in dask graphs

    @property
    def ncells(self) -> int:
        return int(self.npoints.size)

    @property
    def n_inside(self) -> int:
        return self.ncells - self.n_outside

    def ring_ids(self, cells: np.ndarray) -> np.ndarray:
        """RING ids of cells given in the geometry's order."""
        if self.cell_ids is None:
            return cells
        return hp.nest2ring(self.nside, self.cell_ids[cells])

    def nested(self, values: np.ndarray) -> np.ndarray:
        """A map in the geometry's order, in the order of the output (NESTED ids)."""
        if self.cell_ids is None:
            return values[nest_to_ring(self.nside)]
        return values


def _nearest_on_axis(axis: np.ndarray, x: np.ndarray, period: float | None) -> tuple:
    """Nearest index on a monotonic ``axis`` for positions ``x``, and whether ``x`` is inside."""
    descending = axis[0] > axis[-1]
    a = axis[::-1] if descending else axis
    lower = a[0] - (a[1] - a[0]) / 2
    upper = a[-1] + (a[-1] - a[-2]) / 2
    if period is None:
        lower, upper = max(lower, -90.0), min(upper, 90.0)
        inside = (x >= lower) & (x <= upper)
    else:
        x = lower + np.mod(x - lower, period)
        inside = (upper - lower >= period - 1e-9) | (x <= upper)
    idx = np.searchsorted((a[:-1] + a[1:]) / 2, x)
    idx = np.clip(idx, 0, a.size - 1)
    return (a.size - 1 - idx if descending else idx), inside


def _source_cells(nside: int, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """RING cell of every point of the grid ``lat x lon``, shape ``(nlat, nlon)``, in bands."""
    dtype = np.int32 if 12 * nside**2 < 2**31 else np.int64
    pix = np.empty((lat.size, lon.size), dtype=dtype)
    rows = max(1, BAND_POINTS // max(lon.size, 1))
    for i0 in range(0, lat.size, rows):
        pix[i0 : i0 + rows] = hp.ang2pix(
            nside, lon[None, :], lat[i0 : i0 + rows, None], nest=False, lonlat=True
        )
    return pix


def _nearest_points(
    nside: int, lat: np.ndarray, lon: np.ndarray, ring: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest source row and column of the RING cells ``ring`` (their centres), and whether
    each centre lies inside the grid's extent."""
    clon, clat = hp.pix2ang(nside, ring, nest=False, lonlat=True)
    rows, in_lat = _nearest_on_axis(lat, clat, None)
    cols, in_lon = _nearest_on_axis(lon, clon, 360.0)
    return rows, cols, in_lat & in_lon


def _token(nside: int, *arrays: bytes) -> str:
    return hashlib.sha1(b"".join(arrays) + str(nside).encode()).hexdigest()


@lru_cache(maxsize=4)
def _sphere_geometry(nside: int, lat_bytes: bytes, lon_bytes: bytes) -> Geometry:
    lat = np.frombuffer(lat_bytes, dtype="float64")
    lon = np.frombuffer(lon_bytes, dtype="float64")
    npix = 12 * nside**2
    pix = _source_cells(nside, lat, lon)
    counts = np.zeros(npix, dtype=np.int64)
    rows = max(1, BAND_POINTS // lon.size)
    for i0 in range(0, lat.size, rows):
        counts += np.bincount(pix[i0 : i0 + rows].ravel(), minlength=npix)
    npoints = counts.astype(pix.dtype)
    empty = np.flatnonzero(npoints == 0)
    rows_nn, cols_nn, inside = _nearest_points(nside, lat, lon, empty)
    return _frozen(
        Geometry(
            nside=nside,
            cell_ids=None,
            rows=slice(0, lat.size),
            cols=slice(0, lon.size),
            pix=pix,
            npoints=npoints,
            nearest_cells=empty[inside],
            nearest_rows=rows_nn[inside],
            nearest_cols=cols_nn[inside],
            n_outside=int((~inside).sum()),
            token=_token(nside, lat_bytes, lon_bytes),
        )
    )


@lru_cache(maxsize=4)
def _region_geometry(nside: int, lat_bytes: bytes, lon_bytes: bytes, ids_bytes: bytes) -> Geometry:
    """The geometry of a region's cells: every array scales with the region, not the sphere."""
    lat = np.frombuffer(lat_bytes, dtype="float64")
    lon = np.frombuffer(lon_bytes, dtype="float64")
    ids = np.frombuffer(ids_bytes, dtype=np.int64)
    clon, clat = hp.pix2ang(nside, ids, nest=True, lonlat=True)
    rows = region_rows(lat, clat, nside)
    cols = region_cols(lon, clon, clat, nside)
    del clon, clat
    ring = _source_cells(nside, lat[rows], lon[cols])
    nest = hp.ring2nest(nside, ring)
    at = np.minimum(np.searchsorted(ids, nest), ids.size - 1)
    dtype = np.int32 if ids.size < 2**31 else np.int64
    pix = np.where(ids[at] == nest, at, -1).astype(dtype)
    del ring, nest, at
    npoints = np.bincount(pix[pix >= 0], minlength=ids.size).astype(dtype)
    empty = np.flatnonzero(npoints == 0)
    rows_nn, cols_nn, inside = _nearest_points(nside, lat, lon, hp.nest2ring(nside, ids[empty]))
    return _frozen(
        Geometry(
            nside=nside,
            cell_ids=ids,
            rows=rows,
            cols=cols,
            pix=pix,
            npoints=npoints,
            nearest_cells=empty[inside],
            nearest_rows=rows_nn[inside],
            nearest_cols=cols_nn[inside],
            n_outside=int((~inside).sum()),
            token=_token(nside, lat_bytes, lon_bytes, ids_bytes),
        )
    )


def _frozen(geometry: Geometry) -> Geometry:
    """The geometry with its arrays read-only (it is cached and shared)."""
    for value in vars(geometry).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return geometry


def _cell_degrees(nside: int) -> float:
    """Square root of a cell's area, degrees."""
    return float(np.degrees(np.sqrt(hp.nside2pixarea(nside))))


def region_rows(lat: np.ndarray, clat: np.ndarray, nside: int) -> slice:
    """The source rows that can fall in cells centred at latitudes ``clat`` (two cells and
    one row of margin)."""
    margin = 2.0 * _cell_degrees(nside) + float(np.abs(np.diff(lat)).max())
    keep = np.flatnonzero((lat >= clat.min() - margin) & (lat <= clat.max() + margin))
    if keep.size < 2:
        return slice(0, lat.size)
    return slice(int(keep[0]), int(keep[-1]) + 1)


def region_cols(
    lon: np.ndarray, clon: np.ndarray, clat: np.ndarray, nside: int
) -> slice | np.ndarray:
    """The source columns that can fall in cells centred at ``(clon, clat)``: the arc of
    longitudes the centres span, widened by twice the widest cell's longitude span (a cell
    at latitude ``phi`` spans at most ``90 / nside / cos(phi)`` degrees of longitude) and
    the grid's median spacing; every column when that reaches round the sphere or a pole.
    (A cell without a point copies its nearest point from the whole grid, not from these.)"""
    everything = slice(0, lon.size)
    polar = float(np.abs(clat).max()) + 2.0 * _cell_degrees(nside)
    if polar >= 89.0:
        return everything
    step = float(np.median(np.abs(np.diff(lon))))
    margin = 2.0 * (90.0 / nside) / np.cos(np.radians(polar)) + step
    start, width = _arc(clon)
    if width + 2.0 * margin >= 360.0:
        return everything
    offset = np.mod(lon - (start - margin), 360.0)
    cols = np.flatnonzero(offset <= width + 2.0 * margin)
    if cols.size == 0:  # the region lies beyond the grid's longitudes
        return slice(0, 1)
    if cols[-1] - cols[0] + 1 == cols.size:
        return slice(int(cols[0]), int(cols[-1]) + 1)
    return cols


def _arc(lon: np.ndarray, bins: int = 3600) -> tuple[float, float]:
    """The shortest arc ``(start, width)`` (degrees east) that holds every longitude ``lon``,
    rounded outwards to ``360 / bins`` degrees."""
    size = 360.0 / bins
    occupied = np.bincount((np.mod(lon, 360.0) // size).astype(np.intp) % bins, minlength=bins)
    full = np.flatnonzero(occupied)
    gaps = np.diff(np.concatenate([full, [full[0] + bins]])) - 1  # empty bins after each
    k = int(np.argmax(gaps))
    first = int(full[(k + 1) % full.size])
    return first * size, (bins - int(gaps[k])) * size


def geometry_of(
    nside: int, lat: np.ndarray, lon: np.ndarray, ids: np.ndarray | None = None
) -> Geometry:
    """The (cached) geometry of the grid ``lat x lon`` at ``nside``: the sphere, or the
    cells ``ids`` (NESTED, sorted) of a region."""
    if ids is None:
        return _sphere_geometry(nside, lat.tobytes(), lon.tobytes())
    ids = np.asarray(ids, dtype=np.int64)
    return _region_geometry(nside, lat.tobytes(), lon.tobytes(), ids.tobytes())


def clear_cache() -> None:
    """Forget the cached geometries (the next regridding of each grid computes its own)."""
    _sphere_geometry.cache_clear()
    _region_geometry.cache_clear()


def suggest_nside(lat: np.ndarray, lon: np.ndarray) -> int:
    """Largest nside whose cells are no smaller than the grid spacing (at the equator)."""
    spacing = np.deg2rad(max(np.abs(np.diff(lat)).min(), np.abs(np.diff(lon)).min()))
    ratio = np.sqrt(4 * np.pi / 12) / spacing
    return int(2 ** max(0, int(np.floor(np.log2(ratio)))))
