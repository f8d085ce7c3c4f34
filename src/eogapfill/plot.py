"""Maps of SST fields: latitude/longitude grids and HEALPix maps.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show``: in a
notebook the returned figure is displayed once (figures are not left registered with pyplot),
in a script save it with ``fig.savefig(...)``. The code only draws on figures it is given or
creates, so it runs with any backend, including the headless ``Agg``.

Colours: SST with the perceptually uniform ``roma_r`` colour map of cmcrameri (Crameri 2018,
blue cold to red warm); land and lakes in grey, sea ice in pale blue, and missing
observations over the sea (clouds) in white, so that a gap never looks like land.

Regional (partial) HEALPix maps (:func:`eogapfill.regrid.to_healpix` with ``region=``) are
drawn by :func:`plot_healpix` and :func:`plot_healpix_panels` on a plate carree lat/lon box
around the region, cells outside the region in :data:`OUTSIDE_COLOR`. There is no coastline
database here: the coast drawn is the outline of the map's own sea cells (the 0.5 contour of a
``sea`` or ``sea_fraction`` map on the grid, or of where the map is finite when none is
given), so it follows the HEALPix cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from eogapfill.healpix import HealpixGrid, grid_of
from eogapfill.preprocess import single_day
from eogapfill.seawater import temperature_unit

__all__ = [
    "CLOUD_COLOR",
    "COAST_COLOR",
    "ICE_COLOR",
    "LAND_COLOR",
    "OUTSIDE_COLOR",
    "plot_healpix",
    "plot_healpix_panels",
    "plot_latlon",
    "plot_sample_day",
    "sst_cmap",
]

#: Colour of land and lakes.
LAND_COLOR = "0.6"
#: Colour of sea without a value (clouds, gaps).
CLOUD_COLOR = "white"
#: Colour of sea ice without a value.
ICE_COLOR = "#c3d3e0"
#: Colour of the cells outside a regional map's region.
OUTSIDE_COLOR = "0.9"
#: Colour of the coast line of regional maps.
COAST_COLOR = "black"


def sst_cmap(name: str = "roma_r") -> Colormap:
    """A cmcrameri colour map (default ``roma_r``) with transparent missing values.

    >>> sst_cmap().name
    'roma_r'
    """
    import cmcrameri.cm as ccm

    try:
        cmap = ccm.cmaps[name]
    except KeyError as err:
        raise ValueError(
            f"unknown cmcrameri colour map {name!r}; try 'roma_r', 'lajolla' or 'vik'"
        ) from err
    return cmap.with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A new figure made through pyplot, then released by it.

    Going through pyplot activates the backend, which in IPython registers the display of
    ``Figure`` objects: a returned figure then shows even when it is the first figure of the
    kernel. Closing it keeps pyplot from showing it a second time.
    """
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


def _resolve_cmap(cmap: str | Colormap | None) -> Colormap:
    if cmap is None:
        return sst_cmap()
    if isinstance(cmap, str):
        try:
            return sst_cmap(cmap)
        except ValueError:
            return plt.get_cmap(cmap).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    return cmap


def _latlon_values(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values (nlat, nlon) with latitude ascending, latitude, longitude) of a lat/lon map."""
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"expected an xarray.DataArray on (latitude, longitude), got {type(da)}")
    rename = {d: n for d, n in (("lat", "latitude"), ("lon", "longitude")) if d in da.dims}
    da = da.rename(rename)
    if "latitude" not in da.dims or "longitude" not in da.dims:
        raise ValueError(f"expected dims (latitude, longitude), got {da.dims}")
    extra = [d for d in da.dims if d not in ("latitude", "longitude")]
    for d in extra:
        if da.sizes[d] != 1:
            raise ValueError(
                f"plot one map at a time: dimension {d!r} has {da.sizes[d]} values; select "
                f"one, e.g. da.isel({d}=0)"
            )
    da = da.squeeze(extra, drop=True)
    da = da.transpose("latitude", "longitude").sortby("latitude")
    return (
        np.asarray(da.values, dtype=np.float64),
        np.asarray(da["latitude"].values, dtype=np.float64),
        np.asarray(da["longitude"].values, dtype=np.float64),
    )


def _extent(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    dlat = (lat[-1] - lat[0]) / max(lat.size - 1, 1) if lat.size > 1 else 1.0
    dlon = (lon[-1] - lon[0]) / max(lon.size - 1, 1) if lon.size > 1 else 1.0
    return (lon[0] - dlon / 2, lon[-1] + dlon / 2, lat[0] - dlat / 2, lat[-1] + dlat / 2)


def _background(mask: np.ndarray, land_color: str, ice_color: str) -> np.ndarray:
    """RGBA image (nlat, nlon, 4): land/lake and ice in colour, transparent elsewhere."""
    rgba = np.zeros((*mask.shape, 4))
    if mask.dtype == bool:
        rgba[mask] = to_rgba(land_color)
        return rgba
    flags = mask.astype(np.int64)
    rgba[(flags & 8) != 0] = to_rgba(ice_color)
    rgba[(flags & 6) != 0] = to_rgba(land_color)
    return rgba


def plot_latlon(
    da: xr.DataArray,
    *,
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    title: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    mask: xr.DataArray | np.ndarray | None = None,
    land_color: str = LAND_COLOR,
    cloud_color: str = CLOUD_COLOR,
    ice_color: str = ICE_COLOR,
    colorbar: bool = True,
    label: str | None = None,
) -> Figure:
    """Map of a field on a regular latitude/longitude grid (plate carree).

    Parameters
    ----------
    da
        Field on dims ``(latitude, longitude)`` (or ``lat``/``lon``; other dims of length 1 are
        dropped). NaN cells are not coloured.
    ax
        Axes to draw on; by default a new figure is made.
    cmap
        Colour map or its name (cmcrameri names first); default ``roma_r``.
    title, vmin, vmax, label
        Title, colour range and colour-bar label (default: the ``units`` attribute).
    mask
        What lies under the NaN cells, on the same grid: the L4 bit flags (1 sea, 2 land,
        4 lake, 8 ice), drawn land/lake in ``land_color`` and ice in ``ice_color``, or a
        boolean array that is True on land. NaN cells over the sea show ``cloud_color``.
        Without a mask every NaN cell shows ``land_color``.
    colorbar
        Add a colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``ax.get_images()[-1]`` holds the field (latitude ascending, origin lower).

    Examples
    --------
    >>> da = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("latitude", "longitude"),
    ...                   coords={"latitude": [-45, 45], "longitude": [-120, 0, 120]})
    >>> fig = plot_latlon(da, title="demo")
    >>> len(fig.axes)
    2
    """
    values, lat, lon = _latlon_values(da)
    cmap = _resolve_cmap(cmap)
    if ax is None:
        aspect = (lat[-1] - lat[0] + 1e-9) / (lon[-1] - lon[0] + 1e-9)
        width = 9.0
        fig = _new_figure((width, max(2.5, min(9.0, width * aspect * 0.9 + 1.0))))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    extent = _extent(lat, lon)
    ax.set_facecolor(cloud_color if mask is not None else land_color)
    if mask is not None:
        m = mask
        if isinstance(m, xr.DataArray):
            m, _, _ = _latlon_values(m)
            m = m.astype(bool) if mask.dtype == bool else m
        m = np.asarray(m)
        if m.shape != values.shape:
            raise ValueError(f"mask has shape {m.shape}, the field {values.shape}: use one grid")
        ax.imshow(
            _background(m, land_color, ice_color),
            origin="lower",
            extent=extent,
            interpolation="nearest",
            zorder=0,
        )
    image = ax.imshow(
        np.ma.masked_invalid(values),
        origin="lower",
        extent=extent,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        zorder=1,
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(
            image,
            ax=ax,
            label=label if label is not None else da.attrs.get("units", ""),
            shrink=0.9,
        )
    return fig


def _celsius(da: xr.DataArray) -> xr.DataArray:
    """A temperature in degC, from any :func:`~eogapfill.seawater.temperature_unit`."""
    unit = temperature_unit(da.attrs.get("units"))
    if unit == "kelvin":
        out = da - 273.15
    elif unit == "degC":
        out = da
    elif unit == "degF":
        out = (da - 32.0) / 1.8
    else:
        raise ValueError(
            f"{da.name!r} has units {da.attrs.get('units')!r}: expected a temperature, "
            "'kelvin', 'degC' or 'degF'"
        )
    return out.assign_attrs(units="degC")


def plot_sample_day(
    l3s_day: xr.Dataset,
    l4_day: xr.Dataset,
    *,
    min_quality: int = 5,
    extent: tuple[float, float, float, float] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str | Colormap | None = None,
) -> Figure:
    """Two maps of a day in degC: the L3S observations (with their clouds) and the L4 analysis.

    Parameters
    ----------
    l3s_day, l4_day
        One day of the products in the Copernicus Marine schema (``sea_surface_temperature``
        and ``quality_level``; ``analysed_sst`` and ``mask``), e.g. from
        :func:`eogapfill.sample.generate_day` or :func:`eogapfill.data.open_l3s`.
    min_quality
        Lowest ``quality_level`` shown (5: best quality only, the usual choice).
    extent
        ``(lon_min, lon_max, lat_min, lat_max)`` in degrees to zoom on a region.
    vmin, vmax, cmap
        Colour range (degC; default: the 1st to 99th percentile of the L4 map) and colour map.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: the L3S map, the L4 map and a shared colour bar.

    Examples
    --------
    >>> from eogapfill.sample import generate_day
    >>> fig = plot_sample_day(*generate_day("2024-06-01", resolution=1.0))
    >>> len(fig.axes)
    3
    """
    l3s = single_day(l3s_day, "l3s_day")
    l4 = single_day(l4_day, "l4_day")
    for ds, names in (
        (l3s, ("sea_surface_temperature", "quality_level")),
        (l4, ("analysed_sst", "mask")),
    ):
        missing = [n for n in names if n not in ds]
        if missing:
            raise ValueError(f"missing variable(s) {missing}: pass the L3S day then the L4 day")
    obs = _celsius(l3s["sea_surface_temperature"])
    obs = obs.where(l3s["quality_level"] >= min_quality)
    ana = _celsius(l4["analysed_sst"])
    mask = l4["mask"]
    if extent is not None:
        lon0, lon1, lat0, lat1 = extent
        region = {"longitude": slice(lon0, lon1), "latitude": slice(lat0, lat1)}
        obs, ana, mask = (x.sortby("latitude").sel(region) for x in (obs, ana, mask))
        if obs.size == 0:
            raise ValueError(
                f"extent {extent} selects no cell: (lon_min, lon_max, lat_min, lat_max)"
            )
    if vmin is None or vmax is None:
        lo, hi = np.nanpercentile(ana.values, [1, 99])
        vmin = float(np.floor(lo)) if vmin is None else vmin
        vmax = float(np.ceil(hi)) if vmax is None else vmax
    values, lat, lon = _latlon_values(ana)
    ratio = (lat[-1] - lat[0] + 1e-9) / (lon[-1] - lon[0] + 1e-9)
    fig = _new_figure((9.0, min(14.0, 2 * 7.0 * ratio + 1.5)))
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    day = str(np.datetime64(l4["time"].values, "D")) if "time" in l4.coords else ""
    plot_latlon(
        obs,
        ax=axes[0],
        mask=mask,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        colorbar=False,
        title=f"L3S {day}: sea_surface_temperature, quality_level >= {min_quality} "
        "(white: no observation)",
    )
    plot_latlon(
        ana,
        ax=axes[1],
        mask=mask,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        colorbar=False,
        title=f"L4 {day}: analysed_sst (gap-free)",
    )
    axes[0].set_xlabel("")
    fig.colorbar(axes[1].get_images()[-1], ax=list(axes), label="SST (degC)", shrink=0.8)
    return fig


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
        options.update(lonra=lonra, latra=latra)
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
    if shown.size == 0:
        raise ValueError("no finite value to draw in the region")
    if vmin is None or vmax is None:
        lo, hi = np.percentile(shown, [1, 99])
        vmin = float(lo) if vmin is None else vmin
        vmax = float(hi) if vmax is None else vmax
    ncols = min(len(images), 4) if ncols is None else ncols
    nrows = -(-len(images) // ncols)
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
    shown = shown[np.isfinite(shown)]
    if shown.size == 0:
        raise ValueError("no finite value to draw in the region")
    if vmin is None or vmax is None:
        lo, hi = np.percentile(shown, [1, 99])
        vmin = float(lo) if vmin is None else vmin
        vmax = float(hi) if vmax is None else vmax
    ncols = min(len(values), 4) if ncols is None else ncols
    nrows = -(-len(values) // ncols)
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
