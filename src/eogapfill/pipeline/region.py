"""The region of a run: a lat/lon box checked and normalised, its cells, and the refusal
of a box without a sea cell before any work (:class:`RegionWithoutSeaError`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eogapfill.data import open_l4
from eogapfill.fill.registry import regional_methods
from eogapfill.healpix import HealpixGrid, Region, check_box, check_nside, region_cells
from eogapfill.pipeline.methods import FillFunction, _fills_regions
from eogapfill.pipeline.store import _store_attrs
from eogapfill.preprocess import MASK_FLAGS

__all__ = ["RegionWithoutSeaError", "check_region", "normalised_box", "region_summary"]


class RegionWithoutSeaError(ValueError):
    """A region whose cells are all land or lakes: refused before any day is computed."""


def check_region(
    region: Region | None, nside: int, method: str | FillFunction = "laplace"
) -> tuple[Region | None, np.ndarray | None]:
    """Check a region before any work; return the box as floats and its NESTED cell ids.

    ``region`` is a lat/lon box ``(lon0, lon1, lat0, lat1)`` in degrees (``lon0 > lon1``
    crosses 180; longitudes in -360 .. 360, 360 degrees apart for every longitude), or None
    for the full sphere. A box that covers every cell is the full sphere: ``(None, None)``.

    The longitudes come back in -180 .. 180 (:func:`normalised_box`): ``(-190, -170, ...)``
    and ``(170, -170, ...)`` are the same box, the same cells and the same store.

    Raises ``ValueError`` for a bad box (latitudes outside -90 .. 90, ``lat0 >= lat1``, equal
    longitudes) and for a method that needs the full sphere (naming those that fill a region).

    >>> box, ids = check_region((-80, -50, 25, 45), 64)
    >>> box, ids.size
    ((-80.0, -50.0, 25.0, 45.0), 656)
    >>> check_region((-190, -170, -10, 10), 16)[0]
    (170.0, -170.0, -10.0, 10.0)
    """
    if region is None:
        return None, None
    box = normalised_box(check_box(region))
    if not _fills_regions(method):
        raise ValueError(
            f"the fill method {method!r} needs the whole sphere and does not fill a region: "
            f"choose one of {', '.join(regional_methods())}, or fill the whole sphere"
        )
    check_nside(nside)
    ids = region_cells(nside, box)
    if ids.size == 12 * nside**2:
        return None, None
    return box, ids


def normalised_box(box: Region) -> Region:
    """The box with its longitudes in -180 .. 180 (the east one in -180 .. 180, 180 included).

    A box that spans every longitude (``lon1 - lon0`` of 360 degrees or more) is returned as
    it is. ``lon0 > lon1`` still means a box that crosses 180.

    >>> normalised_box((-190.0, -170.0, -10.0, 10.0))
    (170.0, -170.0, -10.0, 10.0)
    >>> normalised_box((190.0, 200.0, 0.0, 5.0))
    (-170.0, -160.0, 0.0, 5.0)
    """
    lon0, lon1, lat0, lat1 = (float(x) for x in box)
    if abs(lon1 - lon0) >= 360.0:
        return lon0, lon1, lat0, lat1
    west = (lon0 + 180.0) % 360.0 - 180.0
    east = (lon1 + 180.0) % 360.0 - 180.0
    if east == -180.0:
        east = 180.0
    if west == east:  # a box whose ends meet: keep the words it was given in
        return lon0, lon1, lat0, lat1
    return west, east, lat0, lat1


def region_summary(box: Region, nside: int, ids: np.ndarray) -> str:
    """One line on a region's cells: how many, how big, what share of the sphere.

    >>> box, ids = check_region((-80, -50, 25, 45), 64)
    >>> region_summary(box, 64, ids)
    'region lon -80 .. -50, lat 25 .. 45: 656 cells of nside 64 (about 102 km), 1.33% of the sphere'
    """
    grid = HealpixGrid(nside, cell_ids=ids)
    lon0, lon1, lat0, lat1 = box
    return (
        f"region lon {lon0:g} .. {lon1:g}, lat {lat0:g} .. {lat1:g}: {grid.npix} cells of "
        f"nside {nside} (about {grid.resolution_km:.0f} km), "
        f"{100 * grid.npix / grid.sphere_npix:.2f}% of the sphere"
    )


def _store_box(out: Path, box: Region | None) -> Region | None:
    """The store's own words for ``box`` when they name the same box (a store written with
    ``(-190, -170, ...)`` is asked for as ``(170, -170, ...)``), else ``box``."""
    have = _store_attrs(out).get("region_box")
    if box is None or have is None:
        return box
    stored = tuple(float(x) for x in have)
    return stored if normalised_box(stored) == normalised_box(box) else box


def _check_region_has_sea(
    day: pd.Timestamp, source: str, resolution: float, nside: int, box: Region, ids: np.ndarray
) -> None:
    """Refuse a region without a sea cell (a box on land) before any work:
    :class:`RegionWithoutSeaError`.

    A cell is sea when at least half of the L4 points in it are sea (open or under ice, the
    mask's sea bit), as the regridding counts them; read from ``day``'s L4 land mask.
    """
    import healpy as hp

    mask = open_l4(day.strftime("%Y-%m-%d"), source=source, resolution=resolution)["mask"]
    mask = mask.isel(time=0) if "time" in mask.dims else mask
    lat = np.asarray(mask["latitude"].values, dtype="float64")
    lon = np.asarray(mask["longitude"].values, dtype="float64")
    margin = 2.0 * float(hp.max_pixrad(nside, degrees=True))  # cells reach past the box
    rows = np.flatnonzero((lat >= box[2] - margin) & (lat <= box[3] + margin))
    if rows.size == 0:
        return
    flags = np.asarray(mask.isel(latitude=rows).values).astype("int64")
    water = (flags & MASK_FLAGS["sea"]) > 0
    lon2, lat2 = np.meshgrid(lon, lat[rows])
    pix = hp.ang2pix(nside, lon2.ravel(), lat2.ravel(), nest=True, lonlat=True)
    inside = np.isin(pix, ids)
    cell = np.searchsorted(ids, pix[inside])
    points = np.bincount(cell, minlength=ids.size)
    sea_points = np.bincount(cell, weights=water.ravel()[inside], minlength=ids.size)
    if not points.any() or (sea_points[points > 0] >= 0.5 * points[points > 0]).any():
        return
    lon0, lon1, lat0, lat1 = box
    raise RegionWithoutSeaError(
        f"the region lon {lon0:g} .. {lon1:g}, lat {lat0:g} .. {lat1:g} holds no sea cell at "
        f"nside {nside}: its {ids.size} cell(s) are land or lakes in the {source!r} land mask "
        f"({day.date()}); choose a box over the ocean"
    )
