"""Checked inputs of the scores: maps, masks and nside, with messages that say what to pass."""

from __future__ import annotations

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import check_nside

#: A NESTED HEALPix map: a numpy array or a DataArray on ``cells``.
ArrayLike = np.ndarray | xr.DataArray


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
            "score maps of the same nside (regrid both to one grid)"
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
            "pass the nside of the maps"
        )
    return nside


def checked_pair(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, *, x_name: str = "filled"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(x, truth, mask)``: same length, non-empty mask, both finite on the mask."""
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
