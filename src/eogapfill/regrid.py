"""Regrid a day between its regular latitude/longitude grid and the HEALPix grid.

:func:`to_healpix` puts every source point into the HEALPix cell that contains it (healpy
``ang2pix``, true east longitudes, no east-west mirror) and averages, in one ``np.bincount``
pass over the points: band by band for numpy inputs, block by block (lazily) for dask inputs.
The cell of every source point is computed once per (grid, nside) and cached. With a
``region`` every step works on the region's cells only: their centres, the source rows and
columns that can fall in them (the region's latitudes and longitudes with a margin of two
cells), the nearest-point copy of its empty cells; time and memory scale with the region, so
a 6 x 4 degree box at nside 8192 costs what its 400 000 cells cost, not the sphere's 805
million.
:func:`to_latlon` goes back to a regular grid, for plots and export, by sampling at each grid
point the cell that contains it.

Rules of the binning:

- a cell's value is the mean of the source points *with a value* that fall in it;
- a cell is sea when the fraction of its source points that are open sea (the day's ``sea``)
  is at least ``sea_threshold``; every variable is NaN in the other cells, so land never
  becomes ocean;
- ``gap`` is a sea cell without an observation (``SST_L3S`` NaN): what a fill fills.

Cells that contain no source point (``nside`` finer than the grid somewhere) copy their
*nearest* source point (nearest row, nearest column): its ``sea`` flag, its values, hence its
gap status, come from a real point, so such a cell is a gap only where that point is a cloud.
Their number is the ``regrid_nearest_cells`` attribute; a warning says when they are most of
the cells (the grid is too coarse for that ``nside``). Cells beyond the edge of a regional grid
have no data: ``sea_fraction`` NaN, ``sea`` and ``gap`` False (never filled); their number is
``regrid_outside_cells``.

An all-cloud day is regridded (``gap`` is then True on every sea cell) with a warning, for
numpy inputs; the fills refuse to run on it. Dask inputs give a lazy result and are not
inspected: check ``ds.gap.all()`` yourself if it matters.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import (
    HealpixGrid,
    Region,
    box_label,
    check_nside,
    grid_of,
    healpix_dataset,
    nest_to_ring,
    region_cells,
    sorted_unique,
)
from eogapfill.seawater import temperature_unit

__all__ = ["to_healpix", "to_latlon"]

_CONTRACT_VARIABLES = ("SST_L3S", "SST_L4")
_MAX_DEGC = 100.0  # a cell mean above this is not a sea temperature in degC
_BAND_POINTS = 2**20  # source points per bincount pass on numpy inputs
_SQUEEZABLE = ("time",)  # length-1 dims dropped from the day (kept as scalar coords)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _check_axis(values: object, name: str) -> np.ndarray:
    """Validate a latitude or longitude axis (degrees) and return it as float64, shape (n,)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D coordinate (a regular lat/lon grid), got shape {arr.shape}; "
            "curvilinear grids are not supported"
        )
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 points, got {arr.size}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric degrees, got dtype {arr.dtype}")
    arr = arr.astype("float64")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has NaN or infinite values")
    step = np.diff(arr)
    if not ((step > 0).all() or (step < 0).all()):
        raise ValueError(
            f"{name} must be strictly monotonic (increasing or decreasing); "
            f"sort it with day.sortby({name!r}) and drop duplicates"
        )
    lo, hi = float(arr.min()), float(arr.max())
    if name == "latitude":
        if lo < -90.0 or hi > 90.0:
            raise ValueError(f"latitude must lie in [-90, 90] degrees north, got {lo} .. {hi}")
    else:
        if lo < -180.0 or hi > 360.0:
            raise ValueError(
                f"longitude must be degrees east in -180..180 or 0..360, got {lo} .. {hi}"
            )
        if lo < 0.0 and hi > 180.0:
            raise ValueError(
                f"longitude mixes the -180..180 and 0..360 conventions ({lo} .. {hi}); "
                "convert it with ((lon + 180) % 360) - 180 and sortby('longitude')"
            )
    return arr


def _check_threshold(sea_threshold: float) -> float:
    threshold = float(sea_threshold)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(
            f"sea_threshold must be in (0, 1] (fraction of open-sea source points that makes a "
            f"cell sea), got {sea_threshold!r}; 0 would turn land into ocean"
        )
    return threshold


def _check_day(day: xr.Dataset, variables: tuple[str, ...]) -> xr.Dataset:
    """Return the day reduced to ``sea`` and ``variables`` on dims (latitude, longitude)."""
    if not isinstance(day, xr.Dataset):
        raise TypeError(f"to_healpix expects an xarray.Dataset (a lat/lon day), got {type(day)}")
    if not variables:
        raise ValueError("variables is empty: name at least one variable to regrid")
    needed = ("sea", *variables)
    missing = [name for name in needed if name not in day.data_vars]
    if missing:
        hint = " ('sea' is the open-sea mask, mask == 1)" if "sea" in missing else ""
        raise ValueError(
            f"the day lacks variable(s) {missing}{hint}; variables present: "
            f"{sorted(map(str, day.data_vars))}. Build the day with "
            "eogapfill.preprocess.prepare_day(l3s, l4)"
        )
    sub = day[list(needed)]
    for dim in _SQUEEZABLE:
        if dim in sub.dims and sub.sizes[dim] == 1:
            sub = sub.squeeze(dim)
    for name in needed:
        dims = set(sub[name].dims)
        if dims != {"latitude", "longitude"}:
            raise ValueError(
                f"{name!r} has dims {sub[name].dims}; to_healpix regrids one 2-D day on dims "
                "('latitude', 'longitude'): select one time with day.isel(time=i), or rename "
                "the dims, e.g. day.rename(lat='latitude', lon='longitude')"
            )
        unit = temperature_unit(sub[name].attrs.get("units"))
        if unit in ("kelvin", "degF"):
            raise ValueError(
                f"{name!r} is in {unit}; the HEALPix day is in degC: convert it first "
                "(eogapfill.preprocess.to_celsius, or prepare_day does it)"
            )
    for dim in ("latitude", "longitude"):
        if dim not in sub.coords:
            raise ValueError(f"the day has no {dim!r} coordinate: assign it (degrees)")
    return sub.transpose("latitude", "longitude")


# --------------------------------------------------------------------------------------------
# geometry of a (grid, nside[, region]): computed once, cached
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Geometry:
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
    rows = max(1, _BAND_POINTS // max(lon.size, 1))
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
def _sphere_geometry(nside: int, lat_bytes: bytes, lon_bytes: bytes) -> _Geometry:
    lat = np.frombuffer(lat_bytes, dtype="float64")
    lon = np.frombuffer(lon_bytes, dtype="float64")
    npix = 12 * nside**2
    pix = _source_cells(nside, lat, lon)
    counts = np.zeros(npix, dtype=np.int64)
    rows = max(1, _BAND_POINTS // lon.size)
    for i0 in range(0, lat.size, rows):
        counts += np.bincount(pix[i0 : i0 + rows].ravel(), minlength=npix)
    npoints = counts.astype(pix.dtype)
    empty = np.flatnonzero(npoints == 0)
    rows_nn, cols_nn, inside = _nearest_points(nside, lat, lon, empty)
    return _frozen(
        _Geometry(
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
def _region_geometry(nside: int, lat_bytes: bytes, lon_bytes: bytes, ids_bytes: bytes) -> _Geometry:
    """The geometry of a region's cells: every array scales with the region, not the sphere."""
    lat = np.frombuffer(lat_bytes, dtype="float64")
    lon = np.frombuffer(lon_bytes, dtype="float64")
    ids = np.frombuffer(ids_bytes, dtype=np.int64)
    clon, clat = hp.pix2ang(nside, ids, nest=True, lonlat=True)
    rows = _region_rows(lat, clat, nside)
    cols = _region_cols(lon, clon, clat, nside)
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
        _Geometry(
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


def _frozen(geometry: _Geometry) -> _Geometry:
    """The geometry with its arrays read-only (it is cached and shared)."""
    for value in vars(geometry).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return geometry


def _cell_degrees(nside: int) -> float:
    """Square root of a cell's area, degrees."""
    return float(np.degrees(np.sqrt(hp.nside2pixarea(nside))))


def _region_rows(lat: np.ndarray, clat: np.ndarray, nside: int) -> slice:
    """The source rows that can fall in cells centred at latitudes ``clat`` (two cells and
    one row of margin)."""
    margin = 2.0 * _cell_degrees(nside) + float(np.abs(np.diff(lat)).max())
    keep = np.flatnonzero((lat >= clat.min() - margin) & (lat <= clat.max() + margin))
    if keep.size < 2:
        return slice(0, lat.size)
    return slice(int(keep[0]), int(keep[-1]) + 1)


def _region_cols(
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


def _geometry(
    nside: int, lat: np.ndarray, lon: np.ndarray, ids: np.ndarray | None = None
) -> _Geometry:
    """The (cached) geometry of the grid ``lat x lon`` at ``nside``: the sphere, or the
    cells ``ids`` (NESTED, sorted) of a region."""
    if ids is None:
        return _sphere_geometry(nside, lat.tobytes(), lon.tobytes())
    ids = np.asarray(ids, dtype=np.int64)
    return _region_geometry(nside, lat.tobytes(), lon.tobytes(), ids.tobytes())


def _suggest_nside(lat: np.ndarray, lon: np.ndarray) -> int:
    """Largest nside whose cells are no smaller than the grid spacing (at the equator)."""
    spacing = np.deg2rad(max(np.abs(np.diff(lat)).min(), np.abs(np.diff(lon)).min()))
    ratio = np.sqrt(4 * np.pi / 12) / spacing
    return int(2 ** max(0, int(np.floor(np.log2(ratio)))))


def _refuse_hot(name: str, mean: np.ndarray, good: np.ndarray, geometry: _Geometry) -> None:
    """Raise on cell means (in the geometry's order) above :data:`_MAX_DEGC`: kelvin when
    many are, else glitches to mask, named with their place."""
    hot = good & (mean > _MAX_DEGC)
    top = float(np.nanmax(mean))
    if hot.sum() > 0.5 * good.sum():
        raise ValueError(
            f"{name!r} has cell means up to {top:.1f} in {hot.sum()} of {good.sum()} cells, not "
            "sea temperatures in degC: is it kelvin? convert it with "
            "eogapfill.preprocess.to_celsius (prepare_day does it)"
        )
    ids = np.flatnonzero(hot)
    lon, lat = hp.pix2ang(geometry.nside, geometry.ring_ids(ids[:3]), lonlat=True)
    lon = (lon + 180.0) % 360.0 - 180.0
    places = "; ".join(f"lon {x:.2f}, lat {y:.2f}" for x, y in zip(lon, lat, strict=True))
    raise ValueError(
        f"{name!r} has {ids.size} of {good.sum()} cells with means above {_MAX_DEGC:g} degC (up "
        f"to {top:.6g}) at {places}{' ...' if ids.size > 3 else ''}: glitches, not a sea "
        "temperature. Mask them before regridding, with eogapfill.preprocess.check_sst(da) "
        "(prepare_day does it), or sst.where(sst < 40)."
    )


# --------------------------------------------------------------------------------------------
# binning: partial sums per block of source points, merged, then finished
# --------------------------------------------------------------------------------------------
def _partial(pix: np.ndarray, sea: np.ndarray, *values: np.ndarray) -> tuple[int, np.ndarray]:
    """Per-cell sums of one block of source points, over the cells the block spans.

    ``pix``: the cell of each point (in the geometry's order; -1: none, the point is left
    out). Returns ``(lo, table)``; ``table`` has shape ``(1 + 2 * len(values), hi - lo + 1)``:
    the number of open-sea points, then for each variable the sum and the count of its finite
    values. In RING order a latitude band of points spans a short range of ids.
    """
    idx = np.asarray(pix).ravel()
    rows = 1 + 2 * len(values)
    if idx.size and idx.min() < 0:
        kept = idx >= 0
        idx = idx[kept]
        sea = np.asarray(sea).ravel()[kept]
        values = tuple(np.asarray(v).ravel()[kept] for v in values)
    if idx.size == 0:
        return 0, np.zeros((rows, 0))
    lo, hi = int(idx.min()), int(idx.max())
    local = (idx - lo).astype(np.intp, copy=False)
    n = hi - lo + 1
    table = np.empty((rows, n))
    s = np.asarray(sea).ravel()
    if s.dtype != bool:
        s = np.nan_to_num(s.astype("float64", copy=False)) != 0
    table[0] = np.bincount(local[s], minlength=n)
    for k, v in enumerate(values):
        v = np.asarray(v).ravel()
        ok = np.isfinite(v)
        if ok.all():
            table[1 + 2 * k] = np.bincount(local, weights=v, minlength=n)
            table[2 + 2 * k] = np.bincount(local, minlength=n)
        else:
            sel = local[ok]
            table[1 + 2 * k] = np.bincount(sel, weights=v[ok], minlength=n)
            table[2 + 2 * k] = np.bincount(sel, minlength=n)
    return lo, table


def _merge(a: tuple[int, np.ndarray], b: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
    """Sum two partial tables over the union of their id ranges."""
    if a[1].shape[1] == 0:
        return b
    if b[1].shape[1] == 0:
        return a
    lo = min(a[0], b[0])
    hi = max(a[0] + a[1].shape[1], b[0] + b[1].shape[1])
    out = np.zeros((a[1].shape[0], hi - lo))
    for start, table in (a, b):
        out[:, start - lo : start - lo + table.shape[1]] += table
    return lo, out


def _finish(
    part: tuple[int, np.ndarray],
    nearest_sea: np.ndarray,
    nearest_values: Sequence[np.ndarray],
    *,
    geometry: _Geometry,
    threshold: float,
    dtypes: Sequence[np.dtype],
    checked: Sequence[str | None],
) -> tuple[np.ndarray, ...]:
    """Cell means, sea fraction, sea and gap from the merged partial sums.

    Works in the geometry's order (the order of the partial sums: RING on the sphere) and
    returns arrays in NESTED order.
    """
    lo, table = part
    npix = geometry.ncells
    cells = geometry.nearest_cells

    def ring(row: int) -> np.ndarray:
        if lo == 0 and table.shape[1] == npix:
            return table[row]
        full = np.zeros(npix)
        full[lo : lo + table.shape[1]] = table[row]
        return full

    npoints = geometry.npoints.astype("float64")
    npoints[cells] = 1.0
    n_sea = ring(0)
    s = np.asarray(nearest_sea).ravel()
    if s.dtype != bool:
        s = np.nan_to_num(s.astype("float64")) != 0
    n_sea[cells] = s
    with np.errstate(invalid="ignore", divide="ignore"):
        sea_fraction = n_sea / npoints  # NaN beyond a regional grid's edge (0 / 0)
    sea = sea_fraction >= threshold

    means = []
    for k, (near, dtype, name) in enumerate(zip(nearest_values, dtypes, checked, strict=True)):
        total, count = ring(1 + 2 * k), ring(2 + 2 * k)
        near = np.asarray(near, dtype="float64").ravel()
        ok = np.isfinite(near)
        total[cells] = np.where(ok, near, 0.0)
        count[cells] = ok
        good = sea & (count > 0)
        mean = np.full(npix, np.nan, dtype=dtype)
        np.divide(total, count, out=mean, where=good, casting="same_kind")
        if name is not None and good.any() and float(np.nanmax(mean)) > _MAX_DEGC:
            _refuse_hot(name, mean, good, geometry)
        means.append(mean)
    gap = sea & np.isnan(means[0])
    outputs = (*means, sea_fraction.astype("float32"), sea, gap)
    return tuple(geometry.nested(x) for x in outputs)


def _block_of(pix: np.ndarray, i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    return pix[i0:i1, j0:j1]


def _bin_numpy(arrays: Sequence[np.ndarray], geometry: _Geometry) -> tuple[int, np.ndarray]:
    """Partial sums over the geometry's rows and columns, band of rows by band of rows
    (numpy inputs: ``sea`` then the variables, each of the grid's shape)."""
    nlat, nlon = geometry.pix.shape
    arrays = [a[geometry.rows][:, geometry.cols] for a in arrays]
    acc = np.zeros((1 + 2 * (len(arrays) - 1), geometry.ncells))
    rows = max(1, _BAND_POINTS // nlon)
    for i0 in range(0, nlat, rows):
        band = slice(i0, i0 + rows)
        lo, table = _partial(geometry.pix[band], *(a[band] for a in arrays))
        acc[:, lo : lo + table.shape[1]] += table
    return 0, acc


def _dask_arrays(sub: xr.Dataset, names: Sequence[str]) -> list:
    """The variables ``names`` as dask arrays with the chunks of the first lazy one."""
    import dask.array as da

    data = [sub[name].data for name in names]
    chunks = next(x for x in data if isinstance(x, da.Array)).chunks
    return [
        x.rechunk(chunks) if isinstance(x, da.Array) else da.from_array(x, chunks=chunks)
        for x in data
    ]


def _bin_dask(data: Sequence, geometry: _Geometry) -> object:
    """Lazy partial sums over the geometry's rows and columns, one task per dask block,
    merged by a tree of pairwise sums (a delayed ``(lo, table)``)."""
    import dask

    data = [x[geometry.rows][:, geometry.cols] for x in data]
    chunks = data[0].chunks
    pix = dask.delayed(geometry.pix, name=f"healpix-source-cells-{geometry.token}", traverse=False)
    blocks = [x.to_delayed() for x in data]
    row_edges = np.cumsum((0, *chunks[0]))
    col_edges = np.cumsum((0, *chunks[1]))
    take = dask.delayed(_block_of, pure=True)
    partial = dask.delayed(_partial, pure=True)
    parts = []
    for i in range(len(chunks[0])):
        for j in range(len(chunks[1])):
            p = take(pix, row_edges[i], row_edges[i + 1], col_edges[j], col_edges[j + 1])
            parts.append(partial(p, *(b[i, j] for b in blocks)))
    merge = dask.delayed(_merge, pure=True)
    while len(parts) > 1:
        parts = [
            merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


def _region(
    nside: int, region: Region | Mapping[str, object] | None
) -> tuple[np.ndarray | None, dict[str, object]]:
    """The region's NESTED ids at ``nside`` (None: the full sphere) and its attributes."""
    if region is None:
        return None, {}
    ids = region_cells(nside, region)
    if isinstance(region, Mapping):
        cells = sorted_unique(np.asarray(region["cells"]).ravel())
        described = f"{cells.size} cells of level {int(region['level'])}"  # type: ignore[call-overload]
    else:
        described = box_label(region)
    if ids.size == 12 * nside**2:
        return None, {}
    return ids, {"healpix_partial": 1, "healpix_region": described}


def to_healpix(
    day: xr.Dataset,
    nside: int,
    *,
    sea_threshold: float = 0.5,
    variables: Sequence[str] = _CONTRACT_VARIABLES,
    region: Region | Mapping[str, object] | None = None,
) -> xr.Dataset:
    """Regrid a lat/lon day onto the NESTED HEALPix grid by cell means: the full sphere, or
    only the cells of a ``region`` (a partial grid).

    Parameters
    ----------
    day : xarray.Dataset
        One day on dims ``(latitude, longitude)`` (1-D, strictly monotonic, degrees; longitude
        in -180..180 or 0..360), with the open-sea mask ``sea`` (bool) and the ``variables``
        (degC for SST; NaN = no value). A length-1 ``time`` dim is squeezed; scalar coords
        (``time``) are kept. Numpy or dask backed.
    nside : int
        HEALPix resolution, a power of two (128 is about 27 km, 512 about 7 km).
    sea_threshold : float, default 0.5
        A cell is sea when at least this fraction of its source points is open sea.
    variables : sequence of str, default ``("SST_L3S", "SST_L4")``
        Variables to average. ``gap`` is computed from the first one.
    region : tuple or mapping, optional
        Keep only a region: a box ``(lon0, lon1, lat0, lat1)`` in degrees (every cell that
        touches it; ``lon0 > lon1`` crosses 180), or ``{"cells": ids, "level": level}``,
        NESTED ids at a coarser level (see :func:`eogapfill.healpix.region_cells`). Each kept
        cell is the mean of *all* its source points, as on the full sphere, so a regional
        map equals the full-sphere map on the region's cells.

    Returns
    -------
    xarray.Dataset
        Undecoded HEALPix dataset (dim ``cells`` of length ``12 * nside**2``, or the region's
        cells in increasing id order; coordinate ``cell_ids`` with the xdggs attributes;
        decode it with :func:`eogapfill.healpix.decode`)
        holding the ``variables`` (cell means, NaN off the sea), ``sea_fraction`` (float32,
        NaN beyond a regional grid), ``sea`` and ``gap`` (bool). Lazy (dask) when the input
        is; numpy otherwise. The attributes record nside, threshold and how many cells copied
        their nearest point (``regrid_nearest_cells``) or lie beyond the grid
        (``regrid_outside_cells``); a regional map also records ``healpix_partial=1`` and
        ``healpix_region`` (the box, or the level and number of the coarse cells).

    Raises
    ------
    ValueError
        Bad nside or threshold, missing variable, non-(latitude, longitude) dims, latitude or
        longitude not 1-D / not monotonic / mixed conventions, kelvin data, no sea cell.

    Warns
    -----
    UserWarning
        When most cells contain no source point (nside too fine for the grid), and when a
        (numpy) day has no observation in any sea cell (every sea cell is a gap).

    Examples
    --------
    >>> lat = np.arange(-89.0, 90.0, 2.0)
    >>> lon = np.arange(-179.0, 180.0, 2.0)
    >>> sst = xr.DataArray(np.full((lat.size, lon.size), 15.0, "float32"),
    ...                    coords={"latitude": lat, "longitude": lon}, attrs={"units": "degC"})
    >>> day = xr.Dataset({"SST_L3S": sst, "SST_L4": sst, "sea": sst > 0})
    >>> hp_day = to_healpix(day, nside=8)
    >>> hp_day.sizes["cells"], float(hp_day.SST_L3S.mean()), int(hp_day.gap.sum())
    (768, 15.0, 0)
    """
    level = check_nside(nside)
    threshold = _check_threshold(sea_threshold)
    variables = (variables,) if isinstance(variables, str) else tuple(variables)
    sub = _check_day(day, variables)
    lat = _check_axis(sub["latitude"].values, "latitude")
    lon = _check_axis(sub["longitude"].values, "longitude")
    ids, region_attrs = _region(int(nside), region)
    grid = HealpixGrid(int(nside), cell_ids=ids)
    geometry = _geometry(grid.nside, lat, lon, ids)

    n_nearest, n_inside, n_outside = (
        geometry.nearest_cells.size,
        geometry.n_inside,
        geometry.n_outside,
    )
    if n_nearest > 0.5 * max(n_inside, 1):
        warnings.warn(
            f"nside {nside} is finer than the source grid: {n_nearest} of {n_inside} "
            "cells contain no source point and copy their nearest point; use "
            f"nside <= {_suggest_nside(lat[geometry.rows], lon)} for cell means",
            UserWarning,
            stacklevel=2,
        )

    names = ("sea", *variables)
    dtypes = [np.result_type(sub[v].dtype, np.float32) for v in variables]
    checked = [
        v
        if v in _CONTRACT_VARIABLES or temperature_unit(sub[v].attrs.get("units")) == "degC"
        else None
        for v in variables
    ]
    rows, cols = geometry.nearest_rows, geometry.nearest_cols
    finish_kw = {"geometry": geometry, "threshold": threshold, "dtypes": dtypes, "checked": checked}
    lazy = any(sub[name].chunks is not None for name in names)
    if lazy:
        import dask
        import dask.array as da

        data = _dask_arrays(sub, names)
        part = _bin_dask(data, geometry)
        near = [x.vindex[rows, cols] if rows.size else np.empty(0, x.dtype) for x in data]
        finish = dask.delayed(_finish, pure=True, nout=len(variables) + 3)
        results = finish(part, near[0], near[1:], **finish_kw)
        out_dtypes = [*dtypes, np.dtype("float32"), np.dtype(bool), np.dtype(bool)]
        results = [
            da.from_delayed(r, shape=(grid.npix,), dtype=dt)
            for r, dt in zip(results, out_dtypes, strict=True)
        ]
    else:
        arrays = [np.asarray(sub[name].values) for name in names]
        part = _bin_numpy(arrays, geometry)
        near = [a[rows, cols] for a in arrays]
        results = list(_finish(part, near[0], near[1:], **finish_kw))

    means, (sea_fraction, sea, gap) = results[: len(variables)], results[len(variables) :]
    if not lazy:
        if not sea.any():
            where = " in the region" if grid.is_partial else ""
            raise ValueError(
                f"no sea cell{where} at nside {nside} with sea_threshold {threshold}: the day's "
                "'sea' mask is empty or too sparse there; check it (sea = mask == 1), the "
                "region (lon0, lon1, lat0, lat1), or lower the threshold"
            )
        if gap[sea].all():
            warnings.warn(
                f"{variables[0]!r} has no observation in any sea cell: every sea cell is a gap "
                "(gap is all True over the sea); a fill has nothing to start from",
                UserWarning,
                stacklevel=2,
            )

    data_vars: dict[str, tuple] = {}
    for name, mean in zip(variables, means, strict=True):
        attrs = dict(sub[name].attrs)
        if name in _CONTRACT_VARIABLES:
            attrs.setdefault("units", "degC")
        attrs["cell_methods"] = "cells: mean (source points with a value; NaN off the sea)"
        data_vars[name] = ("cells", mean, attrs)
    data_vars["sea_fraction"] = (
        "cells",
        sea_fraction,
        {"long_name": "fraction of the cell's source points that are open sea", "units": "1"},
    )
    data_vars["sea"] = ("cells", sea, {"long_name": f"sea cell (sea_fraction >= {threshold})"})
    data_vars["gap"] = (
        "cells",
        gap,
        {"long_name": f"sea cell without an observation ({variables[0]} is NaN)"},
    )
    attrs = dict(day.attrs)
    attrs.update(
        regrid_method="HEALPix cell mean of the source points (healpy ang2pix, NESTED)",
        healpix_nside=grid.nside,
        healpix_level=level,
        sea_threshold=threshold,
        regrid_nearest_cells=n_nearest,
        regrid_outside_cells=n_outside,
        **region_attrs,
    )
    out = healpix_dataset(data_vars, grid, attrs=attrs)
    scalars = {k: v for k, v in day.coords.items() if k not in out.coords and v.ndim == 0}
    scalars.update({k: v for k, v in sub.coords.items() if k not in out.coords and v.ndim == 0})
    return out.assign_coords(scalars)


def _take_cells(values: np.ndarray, pix: np.ndarray) -> np.ndarray:
    """``values[..., pix]``: sample the last (cells) axis at the cells of a lat/lon grid;
    ``pix == -1`` (outside a partial grid) gives NaN, or False for booleans."""
    if (pix >= 0).all():
        return values[..., pix]
    fill = False if values.dtype == bool else np.nan
    dtype = values.dtype if values.dtype == bool else np.result_type(values.dtype, np.float32)
    out = np.full((*values.shape[:-1], *pix.shape), fill, dtype=dtype)
    inside = pix >= 0
    out[..., inside] = values[..., pix[inside]]
    return out


def _around(grid: HealpixGrid, lat: np.ndarray, lon: np.ndarray) -> tuple:
    """The rows and columns of a global lat/lon grid (ascending axes, longitude -180..180)
    that fall in a partial grid's cells; the cost scales with the region, not the grid."""
    clon, clat = grid.lonlat()
    rows = np.arange(lat.size)[_region_rows(lat, clat, grid.nside)]
    cols = np.arange(lon.size)[_region_cols(lon, clon, clat, grid.nside)]
    pix = hp.ang2pix(grid.nside, lon[None, cols], lat[rows, None], nest=True, lonlat=True)
    inside = grid.position(pix) >= 0
    rows, cols = rows[inside.any(axis=1)], cols[inside.any(axis=0)]
    if rows.size == 0:
        raise ValueError(
            f"no point of the lat/lon grid (spacing {abs(lat[1] - lat[0]):g} degrees) falls in "
            f"the {grid.npix} cells of the region: use a finer resolution, or pass "
            "latitude= and longitude="
        )
    lat = lat[rows[0] : rows[-1] + 1]
    if (np.diff(cols) > 1).any():  # a region across 180: 0..360 degrees east
        start = int(np.argmax(np.diff(cols))) + 1
        lon = np.concatenate([lon[cols[start] :], lon[: cols[start - 1] + 1] + 360.0])
        return lat, lon
    return lat, lon[cols[0] : cols[-1] + 1]


def to_latlon(
    obj: xr.Dataset | xr.DataArray,
    *,
    resolution: float | None = None,
    latitude: np.ndarray | Sequence[float] | None = None,
    longitude: np.ndarray | Sequence[float] | None = None,
) -> xr.Dataset | xr.DataArray:
    """Sample a HEALPix dataset or array on a regular lat/lon grid (nearest cell).

    Each grid point takes the value of the HEALPix cell that contains it (healpy ``ang2pix``,
    NESTED): no interpolation, for plots and export.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        HEALPix object with a ``cells`` dim and ``cell_ids`` (decoded or not), full-sphere or
        partial: points outside a partial grid are NaN (False for booleans).
    resolution : float, optional
        Grid spacing in degrees (default 0.25), dividing 180: cell centres from
        ``-90 + resolution / 2`` and ``-180 + resolution / 2``; on a partial grid only the
        rows and columns around the region are kept.
    latitude, longitude : array-like, optional
        Explicit 1-D monotonic axes in degrees (longitude -180..180 or 0..360, kept as given),
        instead of ``resolution``. Give both or neither.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same variables on dims ``(..., latitude, longitude)``; variables without ``cells`` are
        kept, coordinates on ``cells`` are dropped.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> ds = healpix_dataset({"x": np.arange(48.0)}, nside=2)
    >>> grid = to_latlon(ds, resolution=30.0)
    >>> grid.x.shape
    (6, 12)
    """
    grid = grid_of(obj)
    if "cells" not in obj.dims:
        raise ValueError(f"not a HEALPix object: no 'cells' dim (dims: {tuple(obj.dims)})")
    if latitude is None and longitude is None:
        res = 0.25 if resolution is None else float(resolution)
        if not res > 0:
            raise ValueError(f"resolution must be a positive number of degrees, got {resolution!r}")
        nlat = int(round(180.0 / res))
        if nlat < 1 or abs(nlat * res - 180.0) > 1e-9 * 180.0:
            raise ValueError(
                f"resolution must divide 180 degrees (e.g. 0.1, 0.25, 0.5, 1), got {resolution!r};"
                " or pass latitude= and longitude= explicitly"
            )
        lat = -90.0 + res * (np.arange(nlat) + 0.5)
        lon = -180.0 + res * (np.arange(2 * nlat) + 0.5)
        if grid.is_partial:
            lat, lon = _around(grid, lat, lon)
    elif latitude is None or longitude is None:
        raise ValueError("give both latitude and longitude, or neither (then resolution is used)")
    elif resolution is not None:
        raise ValueError("give either resolution or latitude/longitude, not both")
    else:
        lat = _check_axis(latitude, "latitude")
        lon = _check_axis(longitude, "longitude")

    pix = hp.ang2pix(grid.nside, lon[None, :], lat[:, None], nest=True, lonlat=True)
    ids = np.asarray(obj["cell_ids"].values)
    if grid.is_partial:
        pix = grid.position(pix)
    elif not np.array_equal(ids, np.arange(grid.npix)):
        position = np.empty(grid.npix, dtype=np.int64)
        position[ids] = np.arange(grid.npix)
        pix = position[pix]
    on_cells = [name for name, c in obj.coords.items() if "cells" in c.dims]
    plain = obj.drop_vars(on_cells)
    sizes = {"latitude": lat.size, "longitude": lon.size}

    def sample(da: xr.DataArray) -> xr.DataArray:
        if "cells" not in da.dims:
            return da
        return xr.apply_ufunc(
            _take_cells,
            da,
            kwargs={"pix": pix},
            input_core_dims=[["cells"]],
            output_core_dims=[["latitude", "longitude"]],
            dask="parallelized",
            output_dtypes=[da.dtype],
            dask_gufunc_kwargs={"output_sizes": sizes, "allow_rechunk": True},
            keep_attrs=True,
        )

    if isinstance(plain, xr.DataArray):
        out = sample(plain)
    else:
        out = plain.map(sample, keep_attrs=True)
    out = out.assign_coords(
        latitude=("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        longitude=("longitude", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    )
    out.attrs = dict(obj.attrs)
    out.attrs["regrid_method"] = f"nearest HEALPix cell (nside {grid.nside}, NESTED)"
    return out
