"""Checked inputs of the scores: maps, masks and nside, with messages that say what to pass."""

from __future__ import annotations

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import HealpixGrid, check_nside, grid_of

#: A NESTED HEALPix map: a numpy array or a DataArray on ``cells``, with one value per cell of
#: its grid (``12 * nside**2`` on the full sphere, the region's cells on a partial grid).
ArrayLike = np.ndarray | xr.DataArray

#: The grid of the maps: the ``nside`` of full-sphere maps, or a :class:`HealpixGrid`
#: (needed for regional maps given as plain arrays).
GridLike = int | HealpixGrid


def values_of(x: ArrayLike | float, name: str) -> np.ndarray:
    if isinstance(x, xr.Dataset):
        raise TypeError(
            f"{name} must be a map (numpy array or DataArray), got a Dataset; "
            f"pick a variable, e.g. result['filled']"
        )
    return np.asarray(x.values if isinstance(x, xr.DataArray) else x, dtype="float64")


def map_of(x: ArrayLike, name: str, npix: int | None = None) -> np.ndarray:
    """A 1-D float map; checks its length against ``npix`` when given."""
    values = values_of(x, name)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D HEALPix map (cells,), got shape {values.shape}")
    if npix is not None and values.size != npix:
        raise ValueError(
            f"{name} has {values.size} cells but the other maps have {npix}: "
            "score maps of the same grid (same nside, same region)"
        )
    return values


def mask_of(mask: ArrayLike, npix: int, name: str = "mask") -> np.ndarray:
    """A non-empty boolean mask of length ``npix``."""
    values = np.asarray(mask.values if isinstance(mask, xr.DataArray) else mask)
    if values.dtype != bool:
        raise TypeError(f"{name} must be boolean (True = scored cell), got dtype {values.dtype}")
    if values.shape != (npix,):
        raise ValueError(
            f"{name} has shape {values.shape} but the maps have ({npix},): "
            "build the mask on the same grid as the maps"
        )
    if not values.any():
        raise ValueError(
            f"{name} is empty: there is no cell to score; hide some observed pixels first "
            "with eogapfill.validate.hide_pixels"
        )
    return values


def checked_nside(npix: int, nside: int) -> int:
    check_nside(nside)
    if 12 * nside**2 != npix:
        try:
            actual = f"; the maps are nside {hp.npix2nside(npix)}"
        except ValueError:
            actual = ""
        raise ValueError(
            f"nside={nside} needs {12 * nside**2} cells but the maps have {npix}{actual}: "
            "pass the nside of the maps, or for regional maps their grid "
            "(eogapfill.healpix.grid_of(ds))"
        )
    return nside


def checked_grid(nside: GridLike, npix: int, *maps: object) -> HealpixGrid:
    """The grid of maps of ``npix`` cells: from a :class:`HealpixGrid`, or from an ``nside``
    (full sphere when ``npix == 12 * nside**2``, else the partial grid of the first map that
    carries ``cell_ids``)."""
    if isinstance(nside, HealpixGrid):
        if nside.npix != npix:
            raise ValueError(
                f"the grid has {nside.npix} cells (nside {nside.nside}"
                f"{', regional' if nside.is_partial else ''}) but the maps have {npix}: "
                "pass the grid of the maps (eogapfill.healpix.grid_of(ds))"
            )
        return nside
    check_nside(nside)
    if 12 * nside**2 != npix:
        for m in maps:
            if isinstance(m, xr.DataArray | xr.Dataset) and "cell_ids" in m.coords:
                grid = grid_of(m)
                if grid.nside == nside and grid.npix == npix:
                    return grid
        checked_nside(npix, nside)  # raises: say what to pass
    return HealpixGrid(nside)


def checked_pair(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, *, x_name: str = "filled"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(x, truth, mask)``: same length (and same ``cell_ids`` when both carry them),
    non-empty mask, both finite on the mask."""
    _same_cells(x, truth, x_name)
    t = map_of(truth, "truth")
    v = map_of(x, x_name, t.size)
    m = mask_of(mask, t.size)
    bad = int((~np.isfinite(t[m])).sum())
    if bad:
        raise ValueError(
            f"truth has {bad} non-finite value(s) on the mask: score only cells where the truth "
            "is known, e.g. mask & np.isfinite(truth)"
        )
    bad = int((~np.isfinite(v[m])).sum())
    if bad:
        raise ValueError(
            f"{x_name} has {bad} non-finite value(s) on the mask: the fill left hidden cells "
            "empty (or the mask covers land)"
        )
    return v, t, m


def _same_cells(x: object, truth: object, x_name: str) -> None:
    """Raise when two DataArrays carry different ``cell_ids`` (maps of different regions)."""
    if not all(isinstance(a, xr.DataArray) and "cell_ids" in a.coords for a in (x, truth)):
        return
    a, b = np.asarray(x["cell_ids"].values), np.asarray(truth["cell_ids"].values)  # type: ignore[index]
    if a.shape == b.shape and not np.array_equal(a, b):
        raise ValueError(
            f"{x_name} and truth are on different cells (cell_ids differ): score maps of the "
            "same grid, e.g. both from the same regional day"
        )
