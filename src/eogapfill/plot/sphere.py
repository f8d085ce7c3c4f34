"""Maps of HEALPix fields: the full sphere with healpy, side-by-side panels of one region.

Both functions draw regional maps too, on a lat/lon box with their coast
(:mod:`eogapfill.plot.regional`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import Colormap, to_rgba
from matplotlib.figure import Figure

from eogapfill.healpix import HealpixGrid
from eogapfill.plot.regional import _region_map, _region_panels, _regional
from eogapfill.plot.style import (
    CLOUD_COLOR,
    COAST_COLOR,
    LAND_COLOR,
    _new_figure,
    _panel_grid,
    _panel_range,
    _resolve_cmap,
)

__all__ = ["plot_healpix", "plot_healpix_panels"]


def _nested_values(da: xr.DataArray | np.ndarray, what: str = "plot_healpix") -> np.ndarray:
    """The values of a full-sphere NESTED map as float64, shape ``(npix,)``, checked."""
    values = da
    if isinstance(da, xr.DataArray):
        if "cell_ids" in da.coords:
            ids = np.asarray(da["cell_ids"].values)
            if not np.array_equal(ids, np.arange(ids.size)):
                raise ValueError(
                    f"{what} draws full-sphere NESTED maps whose cell_ids are 0 .. npix-1; "
                    "put the field on the full grid first (eogapfill.healpix.healpix_dataset)"
                )
        values = da.values
    values = np.asarray(values, dtype=np.float64).ravel()
    try:
        hp.npix2nside(values.size)  # raises unless a full HEALPix map
    except ValueError as err:
        raise ValueError(
            f"{values.size} values is not a full HEALPix map (12 * nside**2 cells); a "
            "regional map needs its cell_ids (a DataArray from to_healpix(..., region=...)) "
            "or grid=HealpixGrid(nside, cell_ids=...)"
        ) from err
    return values


def plot_healpix(
    da: xr.DataArray | np.ndarray,
    *,
    projection: Literal["cart", "moll", "gnom"] = "cart",
    title: str | None = None,
    cmap: str | Colormap | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    unit: str | None = None,
    bad_color: str = LAND_COLOR,
    rot: tuple[float, float] | None = None,
    lonra: tuple[float, float] | None = None,
    latra: tuple[float, float] | None = None,
    reso: float | None = None,
    xsize: int | None = None,
    grid: HealpixGrid | None = None,
    sea: xr.DataArray | np.ndarray | None = None,
    cloud_color: str = CLOUD_COLOR,
    coast_color: str = COAST_COLOR,
) -> Figure:
    """Map of a NESTED HEALPix field in geographic orientation: the full sphere with healpy,
    a region on a lat/lon box with its coast.

    Parameters
    ----------
    da
        Values on the ``12 * nside**2`` cells in NESTED order (an array, or a DataArray on dim
        ``cells`` whose ``cell_ids`` are ``0 .. npix-1``), or a regional map: a DataArray
        whose ``cell_ids`` are the region's cells (from ``to_healpix(..., region=...)``), or
        an array with ``grid``. NaN cells are drawn in ``bad_color``.
    projection
        ``"cart"`` (plate carree, :func:`healpy.cartview`), ``"moll"`` (Mollweide) or
        ``"gnom"`` (gnomonic zoom around ``rot``).
    title, cmap, vmin, vmax, unit
        Title, colour map (default ``roma_r``), colour range and unit label (default: the
        ``units`` attribute).
    rot
        ``(lon, lat)`` of the map centre, degrees.
    lonra, latra
        Longitude and latitude ranges of a ``"cart"`` map, degrees.
    reso, xsize
        Pixel size (arcmin) and width (pixels) of the ``"gnom"`` image (default: 400 pixels
        spanning 40 degrees); ``xsize`` also sets the width of the other projections.
    grid
        The :class:`~eogapfill.healpix.HealpixGrid` of a regional map given as an array.
    sea, cloud_color, coast_color
        Regional maps only. ``sea``: the region's ``sea`` (bool) or ``sea_fraction`` map; NaN
        sea cells are drawn in ``cloud_color``, NaN land cells in ``bad_color``, and the coast
        (``coast_color``) is the 0.5 contour of that sea map. Without it the coast is the
        outline of the finite cells (cloud edges included) and every NaN cell is land.

    Regional maps are drawn on a plate carree box around the region's cells (``lonra`` and
    ``latra`` override it; ``xsize`` sets the image width, by default about three pixels a
    cell), cells outside the region in :data:`OUTSIDE_COLOR`; only ``projection="cart"``
    applies and ``rot``/``reso`` do not. The coast comes from the map's own sea mask, not
    from a coastline database.

    Returns
    -------
    matplotlib.figure.Figure
        healpy's figure; its first axes holds the projected image (longitude increasing to
        the east, ``flip="geo"``), the second the colour bar. For a regional map, the first
        axes spans the box in degrees (``ax.get_xlim()``, ``ax.get_ylim()``), holds the
        background image then the field (``ax.get_images()[-1]``) and the coast, a contour
        set whose ``get_gid()`` is ``"coast"``.

    Examples
    --------
    >>> fig = plot_healpix(np.arange(12 * 4**2, dtype=float), title="cells")
    >>> len(fig.axes)
    2
    """
    if isinstance(da, xr.DataArray) and unit is None:
        unit = da.attrs.get("units", "")
    regional = _regional(da, grid, "plot_healpix")
    if regional is not None:
        if projection != "cart":
            raise ValueError(
                f"a regional map is drawn on a lat/lon box: use projection='cart', got "
                f"{projection!r}"
            )
        if rot is not None or reso is not None:
            raise ValueError(
                "rot and reso apply to full-sphere maps; a regional map is drawn on a box "
                "around its region (choose it with lonra, latra)"
            )
        values, region_grid = regional
        return _region_map(
            values,
            region_grid,
            sea=sea,
            title=title,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            unit=unit,
            lonra=lonra,
            latra=latra,
            xsize=xsize,
            bad_color=bad_color,
            cloud_color=cloud_color,
            coast_color=coast_color,
        )
    values = _nested_values(da)
    healpy_map = np.where(np.isfinite(values), values, hp.UNSEEN)
    options = {
        "nest": True,
        "flip": "geo",
        "title": "" if title is None else title,
        "cmap": _resolve_cmap(cmap).with_extremes(bad=bad_color),
        "min": vmin,
        "max": vmax,
        "unit": unit or "",
        "badcolor": bad_color,
    }
    if rot is not None:
        options["rot"] = rot
    if projection == "cart":
        view = hp.cartview
        # copies: healpy rewrites lonra in place (and fails on a tuple)
        options.update(
            lonra=None if lonra is None else list(lonra),
            latra=None if latra is None else list(latra),
        )
        if xsize is not None:
            options["xsize"] = xsize
    elif projection == "moll":
        view = hp.mollview
        if xsize is not None:
            options["xsize"] = xsize
    elif projection == "gnom":
        view = hp.gnomview
        options["xsize"] = 400 if xsize is None else xsize
        # default: a view 40 degrees wide, whatever the image width
        options["reso"] = reso if reso is not None else 40.0 * 60.0 / options["xsize"]
    else:
        raise ValueError(f"projection must be 'cart', 'moll' or 'gnom', got {projection!r}")
    view(healpy_map, **options)  # healpy draws on a new pyplot figure
    fig = plt.gcf()
    plt.close(fig)  # returned, not kept by pyplot: displayed once in a notebook
    return fig


def plot_healpix_panels(
    maps: Mapping[str, xr.DataArray | np.ndarray],
    *,
    sea: xr.DataArray | np.ndarray | None = None,
    rot: tuple[float, float] | None = None,
    reso: float | None = None,
    lonra: tuple[float, float] | None = None,
    latra: tuple[float, float] | None = None,
    xsize: int = 400,
    ncols: int | None = None,
    cmap: str | Colormap | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    label: str | None = None,
    land_color: str = LAND_COLOR,
    cloud_color: str = CLOUD_COLOR,
    grid: HealpixGrid | None = None,
    coast_color: str = COAST_COLOR,
) -> Figure:
    """Several HEALPix maps of the same region side by side, on one colour scale.

    With ``rot`` the panels are gnomonic zooms centred on ``rot``; without it, plate carree
    maps over ``lonra`` x ``latra``. Longitudes increase to the east (healpy's ``"geo"``
    convention), cells are drawn as they are (nearest cell, no smoothing).

    Parameters
    ----------
    maps
        Panel title -> full-sphere NESTED map (array of ``12 * nside**2`` values, or a
        DataArray on ``cells``); the maps may have different ``nside``. Or regional maps,
        all on one regional grid (DataArrays with the region's ``cell_ids``, or arrays with
        ``grid``): then each panel is a plate carree box around the region with the coast
        of the map's own sea mask (see :func:`plot_healpix`), ``rot`` and ``reso`` do not
        apply, and ``xsize`` defaults to about three pixels a cell.
    sea
        Boolean sea map (the regridded day's ``sea``): a NaN cell on the sea is drawn in
        ``cloud_color`` (a gap), off the sea in ``land_color``. Without it every NaN cell is
        drawn in ``land_color``.
    rot
        ``(lon, lat)`` of the centre of a gnomonic zoom, degrees.
    reso
        Pixel size of the zoom, arcmin (default: ``xsize`` pixels spanning 40 degrees).
    lonra, latra
        Longitude and latitude ranges of the plate carree maps, degrees (default: the whole
        globe; for regional maps the box around the region).
    xsize
        Width of each panel's image, pixels.
    ncols
        Panels per row (default: all in one row, at most 4).
    cmap, vmin, vmax, label
        Colour map (default ``roma_r``), shared colour range (default: the 1st and 99th
        percentiles of the finite values shown) and colour-bar label.
    land_color, cloud_color
        Colours of the NaN cells off the sea and on the sea.
    grid
        The :class:`~eogapfill.healpix.HealpixGrid` of regional maps given as arrays.
    coast_color
        Colour of the coast of regional maps: the 0.5 contour of ``sea`` (bool or sea
        fraction), or without it of each map's finite cells.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel, then the shared colour bar.

    Examples
    --------
    >>> ramp = np.arange(12 * 8**2, dtype=float)
    >>> fig = plot_healpix_panels({"a": ramp, "b": ramp[::-1].copy()}, rot=(0.0, 0.0))
    >>> len(fig.axes)
    3
    """
    if not maps:
        raise ValueError("maps is empty: pass {'title': healpix_map, ...}")
    regional = {title: _regional(m, grid, "plot_healpix_panels") for title, m in maps.items()}
    if any(r is not None for r in regional.values()):
        return _region_panels(
            regional,
            sea=sea,
            grid=grid,
            rot=rot,
            reso=reso,
            lonra=lonra,
            latra=latra,
            xsize=None if xsize == 400 else xsize,
            ncols=ncols,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            label=label,
            land_color=land_color,
            cloud_color=cloud_color,
            coast_color=coast_color,
        )
    lonra = (-180.0, 180.0) if lonra is None else lonra
    latra = (-90.0, 90.0) if latra is None else latra
    if rot is not None:
        projector = hp.projector.GnomonicProj(
            rot=rot,
            xsize=xsize,
            reso=40.0 * 60.0 / xsize if reso is None else reso,
            flipconv="geo",
        )
    else:
        projector = hp.projector.CartesianProj(
            xsize=xsize, lonra=list(lonra), latra=list(latra), flipconv="geo"
        )

    def project(values: np.ndarray) -> np.ndarray:
        nside = hp.npix2nside(values.size)
        image = projector.projmap(values, lambda x, y, z: hp.vec2pix(nside, x, y, z, nest=True))
        return np.asarray(image, dtype=np.float64)

    images = {title: project(_nested_values(m, "plot_healpix_panels")) for title, m in maps.items()}
    sea_image = None
    if sea is not None:
        sea_image = project(_nested_values(sea, "plot_healpix_panels")) >= 0.5
    shown = np.concatenate([im[np.isfinite(im)] for im in images.values()])
    vmin, vmax = _panel_range(shown, vmin, vmax)
    nrows, ncols = _panel_grid(len(images), ncols)
    ratio = images[next(iter(images))].shape[0] / images[next(iter(images))].shape[1]
    fig = _new_figure((3.6 * ncols + 0.8, 3.6 * nrows * ratio + 0.6))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    colormap = _resolve_cmap(cmap)
    image = None
    for ax, (title, values) in zip(axes, images.items(), strict=False):
        missing = ~np.isfinite(values)
        background = np.zeros((*values.shape, 4))
        if sea_image is None:
            background[missing] = to_rgba(land_color)
        else:
            background[missing & ~sea_image] = to_rgba(land_color)
            background[missing & sea_image] = to_rgba(cloud_color)
        ax.imshow(background, origin="lower", interpolation="nearest")
        image = ax.imshow(
            np.ma.masked_invalid(values),
            origin="lower",
            interpolation="nearest",
            cmap=colormap,
            vmin=vmin,
            vmax=vmax,
        )
        ax.set_title(title, fontsize="medium")
        ax.set_axis_off()
    for ax in axes[len(images) :]:
        ax.set_visible(False)
    fig.colorbar(image, ax=list(axes[: len(images)]), label=label or "", shrink=0.8)
    return fig
