"""HEALPix back to a regular lat/lon grid: :func:`to_latlon` samples at each grid point the
cell that contains it (for plots and export)."""

from __future__ import annotations

from collections.abc import Sequence

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.healpix import HealpixGrid, grid_of
from eogapfill.regrid.checks import check_axis
from eogapfill.regrid.geometry import region_cols, region_rows

__all__ = ["to_latlon"]


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
    rows = np.arange(lat.size)[region_rows(lat, clat, grid.nside)]
    cols = np.arange(lon.size)[region_cols(lon, clon, clat, grid.nside)]
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
        lat = check_axis(latitude, "latitude")
        lon = check_axis(longitude, "longitude")

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
