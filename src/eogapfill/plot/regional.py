"""Maps of regional (partial) HEALPix fields on a plate carree lat/lon box with their coast.

A regional map (:func:`eogapfill.regrid.to_healpix` with ``region=``) is drawn on a box around
the region's cells, cells outside the region in :data:`~eogapfill.plot.OUTSIDE_COLOR`. There is
no coastline database here: the coast drawn is the outline of the map's own sea cells (the 0.5
contour of a ``sea`` or ``sea_fraction`` map on the grid, or of where the map is finite when
none is given), so it follows the HEALPix cells. :func:`~eogapfill.plot.plot_healpix` and
:func:`~eogapfill.plot.plot_healpix_panels` hand regional maps to this module.
"""

from __future__ import annotations

from collections.abc import Mapping

import healpy as hp
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from eogapfill.healpix import HealpixGrid, grid_of
from eogapfill.plot.style import (
    OUTSIDE_COLOR,
    _new_figure,
    _panel_grid,
    _panel_range,
    _resolve_cmap,
)


def _regional(
    da: xr.DataArray | np.ndarray, grid: HealpixGrid | None, what: str
) -> tuple[np.ndarray, HealpixGrid] | None:
    """Values ``(npix,)`` and grid of a regional map; None for a full-sphere map."""
    has_ids = isinstance(da, xr.DataArray) and "cell_ids" in da.coords
    if grid is not None:
        if not isinstance(grid, HealpixGrid):
            raise TypeError(f"{what}: grid must be an eogapfill.healpix.HealpixGrid, got {grid!r}")
        values = np.asarray(da.values if isinstance(da, xr.DataArray) else da, np.float64)
        if values.ndim != 1 or values.size != grid.npix:
            raise ValueError(
                f"{what}: the map has shape {values.shape} but the grid has ({grid.npix},) cells"
            )
        if has_ids and not np.array_equal(np.asarray(da["cell_ids"].values), grid.ids):
            raise ValueError(f"{what}: the map's cell_ids are not those of grid=")
        return (values, grid) if grid.is_partial else None
    if not has_ids:
        return None
    ids = np.asarray(da["cell_ids"].values)
    try:
        hp.npix2nside(ids.size)
        return None  # as many cells as a full sphere: drawn (and checked) as before
    except ValueError:
        pass
    try:
        grid = grid_of(da)
    except ValueError as err:
        raise ValueError(
            f"{what}: a regional map needs increasing NESTED cell_ids with their 'level' "
            f"attribute, or grid=HealpixGrid(nside, cell_ids=...): {err}"
        ) from None
    values = np.asarray(da.values, np.float64)
    if values.ndim != 1:
        raise ValueError(f"{what}: plot one map at a time, got shape {values.shape}")
    return values, grid


def _region_box(grid: HealpixGrid) -> tuple[float, float, float, float]:
    """``(lon0, lon1, lat0, lat1)`` in degrees around the region's cells (their corners);
    longitudes continue past 180 for a region that crosses it."""
    corners = hp.boundaries(grid.nside, grid.ids, step=1, nest=True)  # (n, 3, 4)
    lon, lat = hp.vec2ang(np.moveaxis(corners, 1, -1).reshape(-1, 3), lonlat=True)
    clon, _ = grid.lonlat()
    centre = float(np.degrees(np.angle(np.exp(1j * np.radians(clon)).mean())))
    lon = centre + (lon - centre + 180.0) % 360.0 - 180.0
    lon0, lon1 = max(float(lon.min()), centre - 180.0), min(float(lon.max()), centre + 180.0)
    return lon0, lon1, float(lat.min()), float(lat.max())


def _region_axes(
    grid: HealpixGrid,
    lonra: tuple[float, float] | None,
    latra: tuple[float, float] | None,
    width: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre longitudes ``(nlon,)``, latitudes ``(nlat,)`` and the local index of the
    cell under each pixel ``(nlat, nlon)`` (-1 outside the region)."""
    lon0, lon1, lat0, lat1 = _region_box(grid)
    if lonra is not None:
        lon0, lon1 = (float(x) for x in lonra)
    if latra is not None:
        lat0, lat1 = (float(x) for x in latra)
    if not (lon1 > lon0 and lat1 > lat0):
        raise ValueError(f"empty lat/lon box: lon {lon0} .. {lon1}, lat {lat0} .. {lat1}")
    step = hp.nside2resol(grid.nside, arcmin=True) / 60.0 / 3.0  # 3 pixels a cell
    nlon = int(np.clip(np.ceil((lon1 - lon0) / step), 8, 1200)) if width is None else int(width)
    nlat = int(np.clip(np.ceil((lat1 - lat0) / step), 8, 1200))
    lon = lon0 + (np.arange(nlon) + 0.5) * (lon1 - lon0) / nlon
    lat = lat0 + (np.arange(nlat) + 0.5) * (lat1 - lat0) / nlat
    pix = hp.ang2pix(grid.nside, lon[None, :], lat[:, None], nest=True, lonlat=True)
    return lon, lat, grid.position(pix)


def _sea_cells(sea: xr.DataArray | np.ndarray | None, grid: HealpixGrid) -> np.ndarray | None:
    """A boolean sea map ``(npix,)`` from a bool map or a sea fraction (>= 0.5), or None."""
    if sea is None:
        return None
    checked = _regional(sea, grid, "sea")
    assert checked is not None
    values = checked[0]
    return np.isfinite(values) & (values >= 0.5)


def _draw_region(
    ax: Axes,
    values: np.ndarray,
    sea: np.ndarray | None,
    lon: np.ndarray,
    lat: np.ndarray,
    at: np.ndarray,
    *,
    cmap: Colormap,
    vmin: float | None,
    vmax: float | None,
    land_color: str,
    cloud_color: str,
    coast_color: str,
) -> AxesImage:
    """Draw a regional map on a lat/lon box: background, field, coast; returns the field."""
    inside = at >= 0
    take = np.maximum(at, 0)
    image = np.where(inside, values[take], np.nan)
    is_sea = inside & (sea[take] if sea is not None else np.isfinite(image))
    missing = inside & ~np.isfinite(image)
    background = np.zeros((*image.shape, 4))
    background[~inside] = to_rgba(OUTSIDE_COLOR)
    background[missing & ~is_sea] = to_rgba(land_color)
    background[missing & is_sea] = to_rgba(cloud_color)
    dlon, dlat = lon[1] - lon[0], lat[1] - lat[0]
    extent = (lon[0] - dlon / 2, lon[-1] + dlon / 2, lat[0] - dlat / 2, lat[-1] + dlat / 2)
    ax.imshow(background, origin="lower", extent=extent, interpolation="nearest", zorder=0)
    shown = ax.imshow(
        np.ma.masked_invalid(image),
        origin="lower",
        extent=extent,
        interpolation="nearest",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        zorder=1,
    )
    land_and_sea = np.ma.masked_array(is_sea.astype(np.float64), mask=~inside)
    if is_sea[inside].any() and not is_sea[inside].all():
        coast = ax.contour(
            lon, lat, land_and_sea, levels=[0.5], colors=coast_color, linewidths=0.8, zorder=2
        )
        coast.set_gid("coast")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    return shown


def _region_map(
    values: np.ndarray,
    region_grid: HealpixGrid,
    *,
    sea: xr.DataArray | np.ndarray | None,
    title: str | None,
    cmap: str | Colormap | None,
    vmin: float | None,
    vmax: float | None,
    unit: str | None,
    lonra: tuple[float, float] | None,
    latra: tuple[float, float] | None,
    xsize: int | None,
    bad_color: str,
    cloud_color: str,
    coast_color: str,
) -> Figure:
    """:func:`~eogapfill.plot.plot_healpix` of a regional map ``(npix,)``: one lat/lon box."""
    lon, lat, at = _region_axes(region_grid, lonra, latra, xsize)
    ratio = (lat[-1] - lat[0] + 1e-9) / (lon[-1] - lon[0] + 1e-9)
    fig = _new_figure((8.0, max(3.0, min(9.0, 8.0 * ratio + 1.0))))
    ax = fig.add_subplot()
    shown = _draw_region(
        ax,
        values,
        _sea_cells(sea, region_grid),
        lon,
        lat,
        at,
        cmap=_resolve_cmap(cmap),
        vmin=vmin,
        vmax=vmax,
        land_color=bad_color,
        cloud_color=cloud_color,
        coast_color=coast_color,
    )
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_title("" if title is None else title)
    fig.colorbar(shown, ax=ax, label=unit or "", shrink=0.9)
    return fig


def _region_panels(
    regional: Mapping[str, tuple[np.ndarray, HealpixGrid] | None],
    *,
    sea: xr.DataArray | np.ndarray | None,
    grid: HealpixGrid | None,
    rot: tuple[float, float] | None,
    reso: float | None,
    lonra: tuple[float, float] | None,
    latra: tuple[float, float] | None,
    xsize: int | None,
    ncols: int | None,
    cmap: str | Colormap | None,
    vmin: float | None,
    vmax: float | None,
    label: str | None,
    land_color: str,
    cloud_color: str,
    coast_color: str,
) -> Figure:
    """:func:`plot_healpix_panels` of regional maps: one lat/lon box per panel."""
    grids = {r[1] for r in regional.values() if r is not None}
    if any(r is None for r in regional.values()) or len(grids) != 1:
        raise ValueError(
            "plot_healpix_panels draws either full-sphere maps or regional maps of one region: "
            "the maps given are on different grids; regrid them on the same region"
        )
    if rot is not None or reso is not None:
        raise ValueError(
            "rot and reso apply to full-sphere maps; regional maps are drawn on a box around "
            "their region (choose it with lonra, latra)"
        )
    region = grid if grid is not None else grids.pop()
    lon, lat, at = _region_axes(region, lonra, latra, xsize)
    inside = at >= 0
    take = np.maximum(at, 0)
    values = {title: r[0] for title, r in regional.items() if r is not None}
    shown = np.concatenate([v[take][inside] for v in values.values()])
    vmin, vmax = _panel_range(shown[np.isfinite(shown)], vmin, vmax)
    nrows, ncols = _panel_grid(len(values), ncols)
    ratio = (lat[-1] - lat[0] + 1e-9) / (lon[-1] - lon[0] + 1e-9)
    fig = _new_figure((3.6 * ncols + 0.8, 3.6 * nrows * ratio + 0.8))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    sea_cells = _sea_cells(sea, region)
    colormap = _resolve_cmap(cmap)
    image = None
    for ax, (title, v) in zip(axes, values.items(), strict=False):
        image = _draw_region(
            ax,
            v,
            sea_cells,
            lon,
            lat,
            at,
            cmap=colormap,
            vmin=vmin,
            vmax=vmax,
            land_color=land_color,
            cloud_color=cloud_color,
            coast_color=coast_color,
        )
        ax.set_title(title, fontsize="medium")
        ax.tick_params(labelsize="small")
    for ax in axes[len(values) :]:
        ax.set_visible(False)
    fig.colorbar(image, ax=list(axes[: len(values)]), label=label or "", shrink=0.8)
    return fig
