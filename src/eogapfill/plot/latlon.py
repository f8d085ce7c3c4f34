"""Maps of fields on a regular latitude/longitude grid, and a day of the L3S and L4 products."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, to_rgba
from matplotlib.figure import Figure

from eogapfill.plot.style import (
    CLOUD_COLOR,
    ICE_COLOR,
    LAND_COLOR,
    _new_figure,
    _resolve_cmap,
)
from eogapfill.preprocess import single_day
from eogapfill.seawater import temperature_unit

__all__ = ["plot_latlon", "plot_sample_day"]


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
