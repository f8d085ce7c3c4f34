"""Hide observed pixels under another day's clouds: the cells the scores are computed on.

On a regional (partial) grid the pattern is read by cell id: another day's regional map of
the same region is used as it is, a full-sphere (or larger) one gives its clouds on the
region's cells, and cells the pattern does not cover count as clear. Moving the pattern
(``lon_shift``) keeps it inside the region: on each iso-latitude ring the region's cells,
taken west to east, are rotated cyclically, so clouds pushed out of the east edge come back
in from the west (:func:`shift_longitude` with a regional grid).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import HealpixGrid, check_nside, grid_of
from eogapfill.validate.inputs import ArrayLike

__all__ = ["cloud_pattern_from", "hide_pixels", "shift_longitude"]


def cloud_pattern_from(ds_other: xr.Dataset) -> xr.DataArray:
    """The cloud pattern of a regridded day: its ``gap`` map (bool, ``(cells,)``).

    Parameters
    ----------
    ds_other : xr.Dataset
        A day regridded to HEALPix (:func:`eogapfill.regrid.to_healpix`) with a ``gap``
        variable (sea cells without an observation).

    Returns
    -------
    xr.DataArray
        Boolean map named ``cloud_pattern``, True under the day's clouds.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> ds = healpix_dataset({"gap": np.arange(48) < 5}, nside=2)
    >>> int(cloud_pattern_from(ds).sum())
    5
    """
    grid_of(ds_other)
    if "gap" not in ds_other:
        raise ValueError(
            "the dataset has no 'gap' variable: pass a day regridded with "
            "eogapfill.regrid.to_healpix (its 'gap' marks the sea cells under clouds)"
        )
    gap = ds_other["gap"]
    if gap.dtype != bool:
        raise TypeError(f"'gap' must be boolean, got dtype {gap.dtype}")
    return gap.rename("cloud_pattern").assign_attrs(
        long_name="cloud pattern (True = no observation at sea)"
    )


@lru_cache(maxsize=8)
def _rings(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """First RING index and length of each of the ``4 * nside - 1`` iso-latitude rings."""
    npix = 12 * nside**2
    i = np.arange(1, 4 * nside)
    length = np.where(i < nside, 4 * i, np.where(i <= 3 * nside, 4 * nside, 4 * (4 * nside - i)))
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    assert start[-1] + length[-1] == npix
    return start, length


def shift_longitude(values: ArrayLike, nside: int | HealpixGrid, degrees: float) -> np.ndarray:
    """Move a NESTED map eastward by ``degrees`` of longitude, in whole cells of each ring.

    Each iso-latitude ring of the ring scheme is rotated by ``round(degrees / 360 * n)``
    cells, ``n`` being the ring's length (``4 * nside`` near the equator, fewer towards the
    poles), so the map keeps its values and shapes and moves by ``degrees`` to within half a
    cell. Used to move a cloud pattern over other water.

    On a regional grid the map stays in the region: the ``k`` cells of the region on a ring,
    taken west to east, are rotated by ``round(degrees / 360 * n) mod k`` places (values
    leaving the east edge re-enter at the west edge), so every value is kept and shapes
    away from the seam move east by ``degrees``.

    Parameters
    ----------
    values : array (npix,)
        Any NESTED map (bool or numbers) with one value per cell of the grid.
    nside : int or HealpixGrid
        HEALPix nside of a full-sphere map, or the (regional) grid of the map.
    degrees : float
        Eastward shift, degrees (any real; taken modulo 360).

    Returns
    -------
    np.ndarray (npix,)
        The shifted map, same dtype.

    Examples
    --------
    >>> m = np.zeros(48, dtype=bool); m[0] = True          # a cell at lon 45, nside 2
    >>> lon, _ = hp.pix2ang(2, np.flatnonzero(shift_longitude(m, 2, 90.0)), nest=True, lonlat=True)
    >>> lon.tolist()
    [135.0]
    """
    arr = np.asarray(values.values if isinstance(values, xr.DataArray) else values)
    if isinstance(nside, HealpixGrid):
        if nside.is_partial:
            if arr.shape != (nside.npix,):
                raise ValueError(
                    f"map has shape {arr.shape}, the regional grid has ({nside.npix},) cells"
                )
            return _shift_in_region(arr, nside, degrees)
        nside = nside.nside
    check_nside(nside)
    npix = 12 * nside**2
    if arr.shape != (npix,):
        raise ValueError(f"map has shape {arr.shape}, nside {nside} needs ({npix},)")
    start, length = _rings(nside)
    ring_pix = hp.nest2ring(nside, np.arange(npix))
    ring = np.searchsorted(start, ring_pix, side="right") - 1
    steps = np.rint((degrees % 360.0) / 360.0 * length).astype(np.int64)
    pos = (ring_pix - start[ring] + steps[ring]) % length[ring]
    target = hp.ring2nest(nside, start[ring] + pos)
    out = np.empty_like(arr)
    out[target] = arr
    return out


def _shift_in_region(arr: np.ndarray, grid: HealpixGrid, degrees: float) -> np.ndarray:
    """Rotate the region's cells of each ring, west to east, by ``degrees`` of longitude."""
    start, length = _rings(grid.nside)
    ring_pix = hp.nest2ring(grid.nside, grid.ids)
    ring = np.searchsorted(start, ring_pix, side="right") - 1
    place = ring_pix - start[ring]
    order = np.lexsort((place, ring))
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(ring[order])) + 1, [order.size]])
    out = np.empty_like(arr)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        seq = order[a:b]  # this ring's cells, by RING index
        n = int(length[ring[seq[0]]])
        k = seq.size
        if k > 1:  # start after the widest empty arc: the west edge of the region
            gaps = np.diff(np.concatenate([place[seq], [place[seq[0]] + n]]))
            seq = np.roll(seq, -((int(np.argmax(gaps)) + 1) % k))
        steps = int(np.rint((degrees % 360.0) / 360.0 * n)) % k
        out[np.roll(seq, -steps)] = arr[seq]
    return out


def hide_pixels(
    ds_hpx: xr.Dataset,
    cloud_pattern: ArrayLike,
    *,
    seed: int | None = None,
    fraction: float | None = None,
    lon_shift: float | Literal["random"] = 0.0,
    block_nside: int = 8,
) -> tuple[xr.Dataset, xr.DataArray]:
    """Hide the clear sea pixels of a day that lie under another day's clouds.

    Parameters
    ----------
    ds_hpx : xr.Dataset
        A regridded day (``SST_L3S`` degC, ``gap``, ``sea``; dim ``cells``).
    cloud_pattern : bool array or DataArray (npix,)
        True where clouds are, e.g. ``cloud_pattern_from(other_day)``; same nside as the day.
        A DataArray with ``cell_ids`` is read by cell id, so on a regional day it may come
        from another day's map of the same region, of a larger region or of the full sphere
        (cells it does not cover count as clear); an array has one value per cell of the day.
    seed : int, optional
        Seed of the random choices (``lon_shift="random"``, the blocks kept by ``fraction``).
    fraction : float in (0, 1], optional
        Hide only about this fraction of the day's clear sea cells: the pattern is kept on
        NESTED blocks of level ``block_nside`` taken in random order until the count is
        reached, so the hidden cells keep the shapes of real clouds. The pattern may cover
        fewer cells than asked; ``hidden.attrs["hidden_fraction"]`` gives what was hidden.
        On a region only the blocks that meet it count (take a finer ``block_nside`` for a
        small region).
        None: hide every clear sea cell under the pattern.
    lon_shift : float or "random"
        Move the pattern eastward by this many degrees first (:func:`shift_longitude`), or by
        a random angle; 0 takes the pattern as is. On a regional day the pattern is rotated
        within the region, ring by ring (see the module's description).
    block_nside : int
        Block level for ``fraction`` (8: 768 blocks of about 7 degrees).

    Returns
    -------
    ds_hidden : xr.Dataset
        Copy of ``ds_hpx`` with ``SST_L3S`` NaN and ``gap`` True on the hidden cells; every
        other variable (``SST_L4`` included) unchanged.
    hidden : xr.DataArray (cells,) bool
        True on the withheld observed cells: the cells to score. Their truth is
        ``ds_hpx.SST_L3S`` (the values before hiding).

    Raises
    ------
    ValueError
        If the grids differ or if the pattern covers no clear sea cell (nothing hidden).

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> sst = np.where(np.arange(48) < 40, 15.0, np.nan)
    >>> ds = healpix_dataset({"SST_L3S": sst, "sea": np.ones(48, bool), "gap": np.isnan(sst)}, 2)
    >>> hidden_ds, hidden = hide_pixels(ds, np.arange(48) % 2 == 0)
    >>> int(hidden.sum()), int(hidden_ds.gap.sum())
    (20, 28)
    """
    grid = grid_of(ds_hpx)
    for name in ("SST_L3S", "gap"):
        if name not in ds_hpx:
            raise ValueError(
                f"the dataset has no {name!r} variable: pass a day regridded with "
                "eogapfill.regrid.to_healpix"
            )
    other = None
    if isinstance(cloud_pattern, xr.DataArray) and "cell_ids" in cloud_pattern.coords:
        other = grid_of(cloud_pattern)
        if other.nside != grid.nside:
            raise ValueError(
                f"the cloud pattern is on nside {other.nside} but the day on nside "
                f"{grid.nside}: regrid both days to the same nside"
            )
    pattern = np.asarray(
        cloud_pattern.values if isinstance(cloud_pattern, xr.DataArray) else cloud_pattern
    )
    if pattern.dtype != bool:
        raise TypeError(f"cloud_pattern must be boolean (True = cloud), got dtype {pattern.dtype}")
    if other is not None and other != grid:  # another region's cells: read them by id
        at = other.position(grid.ids)
        if not (at >= 0).any():
            raise ValueError(
                "the cloud pattern covers none of the day's cells: take the clouds of a day "
                "regridded on the same region (or on the full sphere)"
            )
        pattern = np.where(at >= 0, pattern[np.maximum(at, 0)], False)
    if pattern.shape != (grid.npix,):
        raise ValueError(
            f"the cloud pattern has shape {pattern.shape} but the day has ({grid.npix},) "
            f"cells (nside {grid.nside}): regrid both days to the same nside"
        )
    rng = np.random.default_rng(seed)
    if isinstance(lon_shift, str):
        if lon_shift != "random":
            raise ValueError(
                f"lon_shift must be a number of degrees or 'random', got {lon_shift!r}"
            )
        lon_shift = float(rng.uniform(0.0, 360.0))
    if lon_shift % 360.0:
        pattern = shift_longitude(pattern, grid, float(lon_shift))

    sst = np.asarray(ds_hpx["SST_L3S"].values, dtype="float64")
    gap = np.asarray(ds_hpx["gap"].values, dtype=bool)
    sea = np.asarray(ds_hpx["sea"].values, dtype=bool) if "sea" in ds_hpx else np.ones_like(gap)
    clear = sea & ~gap & np.isfinite(sst)
    hidden = pattern & clear
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        hidden = _keep_blocks(hidden, grid, block_nside, fraction * clear.sum(), rng)
    n_hidden = int(hidden.sum())
    if n_hidden == 0:
        raise ValueError(
            "the cloud pattern covers no clear sea cell of this day: nothing to hide; take "
            "another day's clouds or move them (lon_shift='random')"
        )
    out = ds_hpx.copy()
    out["SST_L3S"] = ds_hpx["SST_L3S"].copy(
        data=np.where(hidden, np.nan, sst).astype(ds_hpx["SST_L3S"].dtype)
    )
    out["gap"] = ds_hpx["gap"].copy(data=gap | hidden)
    hidden_da = (
        ds_hpx["gap"]
        .copy(data=hidden)
        .rename("hidden")
        .assign_attrs(
            long_name="observed sea cells withheld for validation",
            hidden_cells=n_hidden,
            hidden_fraction=float(n_hidden / max(int(clear.sum()), 1)),
            lon_shift_deg=float(lon_shift),
        )
    )
    return out, hidden_da


def _keep_blocks(
    hidden: np.ndarray,
    grid: HealpixGrid,
    block_nside: int,
    target: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Keep whole NESTED blocks of ``hidden``, in random order, until ``target`` cells."""
    check_nside(block_nside)
    block_nside = min(block_nside, grid.nside)
    per_block = (grid.nside // block_nside) ** 2
    block = grid.ids // per_block  # the block of each cell of the grid
    counts = np.bincount(block[hidden], minlength=12 * block_nside**2)
    order = rng.permutation(np.flatnonzero(counts))
    if order.size == 0:
        return hidden
    cumulative = np.cumsum(counts[order])
    n_keep = int(np.searchsorted(cumulative, max(target, 1.0))) + 1
    keep = np.zeros(counts.size, dtype=bool)
    keep[order[:n_keep]] = True
    return hidden & keep[block]
