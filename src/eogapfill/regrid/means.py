"""Cell means by partial sums: per block of source points, merged, then finished into the
variables of a HEALPix day (sea fraction, sea, gap), for numpy and dask inputs."""

from __future__ import annotations

from collections.abc import Sequence

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.regrid.geometry import BAND_POINTS, Geometry

__all__ = ["bin_dask", "bin_numpy", "dask_arrays", "finish"]

_MAX_DEGC = 100.0  # a cell mean above this is not a sea temperature in degC


def _refuse_hot(name: str, mean: np.ndarray, good: np.ndarray, geometry: Geometry) -> None:
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


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit vectors of the points ``lat x lon`` (degrees), shape ``(3, lat.size, lon.size)``."""
    phi, lam = np.deg2rad(np.asarray(lat, "float64")), np.deg2rad(np.asarray(lon, "float64"))
    phi, lam = np.broadcast_arrays(phi[:, None], lam[None, :])
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _partial(
    pix: np.ndarray, sea: np.ndarray, *values: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[int, np.ndarray]:
    """Per-cell sums of one block of source points, over the cells the block spans.

    ``pix``: the cell of each point (in the geometry's order; -1: none, the point is left
    out); ``lat``, ``lon``: the block's rows and columns (degrees). Returns ``(lo, table)``;
    ``table`` has shape ``(4 + 2 * len(values), hi - lo + 1)``: the number of open-sea points,
    for each variable the sum and the count of its finite values, then the sums of the unit
    vectors (x, y, z) of the points where the first variable is finite. In RING order a
    latitude band of points spans a short range of ids.
    """
    idx = np.asarray(pix).ravel()
    rows = 4 + 2 * len(values)
    xyz = unit_vectors(lat, lon).reshape(3, -1)
    if idx.size and idx.min() < 0:
        kept = idx >= 0
        idx = idx[kept]
        sea = np.asarray(sea).ravel()[kept]
        values = tuple(np.asarray(v).ravel()[kept] for v in values)
        xyz = xyz[:, kept]
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
        if k == 0:  # where the first variable's values are
            for axis in range(3):
                table[rows - 3 + axis] = np.bincount(local[ok], weights=xyz[axis][ok], minlength=n)
    if not values:
        table[rows - 3 :] = 0.0
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


def finish(
    part: tuple[int, np.ndarray],
    nearest_sea: np.ndarray,
    nearest_values: Sequence[np.ndarray],
    *,
    geometry: Geometry,
    threshold: float,
    dtypes: Sequence[np.dtype],
    checked: Sequence[str | None],
) -> tuple[np.ndarray, ...]:
    """Cell means, sea fraction, coverage, sea and gap from the merged partial sums.

    ``coverage`` is the share of a sea cell's open-sea source points that hold a value of the
    first variable (1 for a cell that copies its nearest point and has a value; 0 for a gap;
    NaN off the sea); ``observed_lon``, ``observed_lat`` (degrees) the mean position of those
    points (the centre of a cell that copies its nearest point, which stands for the whole
    cell; NaN in a gap and off the sea).

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
    counted = np.zeros(npix)
    for k, (near, dtype, name) in enumerate(zip(nearest_values, dtypes, checked, strict=True)):
        total, count = ring(1 + 2 * k), ring(2 + 2 * k)
        near = np.asarray(near, dtype="float64").ravel()
        ok = np.isfinite(near)
        total[cells] = np.where(ok, near, 0.0)
        count[cells] = ok
        if k == 0:
            counted = count
        good = sea & (count > 0)
        mean = np.full(npix, np.nan, dtype=dtype)
        np.divide(total, count, out=mean, where=good, casting="same_kind")
        if name is not None and good.any() and float(np.nanmax(mean)) > _MAX_DEGC:
            _refuse_hot(name, mean, good, geometry)
        means.append(mean)
    gap = sea & np.isnan(means[0])
    rows = table.shape[0]
    summed = np.stack([ring(rows - 3 + axis) for axis in range(3)])
    if cells.size:  # a copied point stands for its whole cell: placed at the centre
        summed[:, cells] = np.stack(hp.pix2vec(geometry.nside, geometry.ring_ids(cells)))
    norm = np.sqrt((summed**2).sum(axis=0))
    observed_lon = np.full(npix, np.nan)
    observed_lat = np.full(npix, np.nan)
    where = sea & ~gap & (norm > 0)
    if where.any():
        x, y, z = summed[:, where] / norm[where]
        observed_lon[where] = np.rad2deg(np.arctan2(y, x))
        observed_lat[where] = np.rad2deg(np.arcsin(np.clip(z, -1.0, 1.0)))
    coverage = np.full(npix, np.nan, dtype="float32")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.minimum(counted / np.maximum(n_sea, 1.0), 1.0)
    coverage[sea] = np.where(gap, 0.0, share)[sea]
    outputs = (
        *means,
        sea_fraction.astype("float32"),
        coverage,
        observed_lon,
        observed_lat,
        sea,
        gap,
    )
    return tuple(geometry.nested(x) for x in outputs)


def _block_of(pix: np.ndarray, i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    return pix[i0:i1, j0:j1]


def bin_numpy(
    arrays: Sequence[np.ndarray], geometry: Geometry, lat: np.ndarray, lon: np.ndarray
) -> tuple[int, np.ndarray]:
    """Partial sums over the geometry's rows and columns, band of rows by band of rows
    (numpy inputs: ``sea`` then the variables, each of the grid's shape ``lat x lon``)."""
    nlat, nlon = geometry.pix.shape
    arrays = [a[geometry.rows][:, geometry.cols] for a in arrays]
    lat, lon = np.asarray(lat)[geometry.rows], np.asarray(lon)[geometry.cols]
    acc = np.zeros((4 + 2 * (len(arrays) - 1), geometry.ncells))
    rows = max(1, BAND_POINTS // nlon)
    for i0 in range(0, nlat, rows):
        band = slice(i0, i0 + rows)
        lo, table = _partial(geometry.pix[band], *(a[band] for a in arrays), lat=lat[band], lon=lon)
        acc[:, lo : lo + table.shape[1]] += table
    return 0, acc


def dask_arrays(sub: xr.Dataset, names: Sequence[str]) -> list:
    """The variables ``names`` as dask arrays with the chunks of the first lazy one."""
    import dask.array as da

    data = [sub[name].data for name in names]
    chunks = next(x for x in data if isinstance(x, da.Array)).chunks
    return [
        x.rechunk(chunks) if isinstance(x, da.Array) else da.from_array(x, chunks=chunks)
        for x in data
    ]


def bin_dask(data: Sequence, geometry: Geometry, lat: np.ndarray, lon: np.ndarray) -> object:
    """Lazy partial sums over the geometry's rows and columns, one task per dask block,
    merged by a tree of pairwise sums (a delayed ``(lo, table)``); ``lat``, ``lon``: the
    grid's axes (degrees)."""
    import dask

    data = [x[geometry.rows][:, geometry.cols] for x in data]
    lat, lon = np.asarray(lat)[geometry.rows], np.asarray(lon)[geometry.cols]
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
            parts.append(
                partial(
                    p,
                    *(b[i, j] for b in blocks),
                    lat=lat[row_edges[i] : row_edges[i + 1]],
                    lon=lon[col_edges[j] : col_edges[j + 1]],
                )
            )
    merge = dask.delayed(_merge, pure=True)
    while len(parts) > 1:
        parts = [
            merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]
