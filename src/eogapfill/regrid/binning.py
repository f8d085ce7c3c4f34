"""Lat/lon day to HEALPix cell means: :func:`to_healpix`, on the sphere or a region."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from eogapfill.healpix import (
    HealpixGrid,
    Region,
    box_label,
    check_nside,
    healpix_dataset,
    region_cells,
    sorted_unique,
)
from eogapfill.regrid.checks import CONTRACT_VARIABLES, check_axis, check_day, check_threshold
from eogapfill.regrid.geometry import geometry_of, suggest_nside
from eogapfill.regrid.means import bin_dask, bin_numpy, dask_arrays, finish
from eogapfill.regrid.resample_backend import backend_method, resampled_means
from eogapfill.seawater import temperature_unit

__all__ = ["to_healpix"]


def _region(
    nside: int, region: Region | Mapping[str, object] | None
) -> tuple[np.ndarray | None, dict[str, object]]:
    """The region's NESTED ids at ``nside`` (None: the full sphere) and its attributes."""
    if region is None:
        return None, {}
    ids = region_cells(nside, region)
    if isinstance(region, Mapping):
        cells = sorted_unique(np.asarray(region["cells"]).ravel())
        described = f"{cells.size} cells of level {int(region['level'])}"  # type: ignore[call-overload]
    else:
        described = box_label(region)
    if ids.size == 12 * nside**2:
        return None, {}
    return ids, {"healpix_partial": 1, "healpix_region": described}


def to_healpix(
    day: xr.Dataset,
    nside: int,
    *,
    sea_threshold: float = 0.5,
    variables: Sequence[str] = CONTRACT_VARIABLES,
    region: Region | Mapping[str, object] | None = None,
    backend: str = "bin",
    allow_no_sea: bool = False,
) -> xr.Dataset:
    """Regrid a lat/lon day onto the NESTED HEALPix grid by cell means: the full sphere, or
    only the cells of a ``region`` (a partial grid).

    Parameters
    ----------
    day : xarray.Dataset
        One day on dims ``(latitude, longitude)`` (1-D, strictly monotonic, degrees; longitude
        in -180..180 or 0..360), with the open-sea mask ``sea`` (bool) and the ``variables``
        (degC for SST; NaN = no value). A length-1 ``time`` dim is squeezed; scalar coords
        (``time``) are kept. Numpy or dask backed.
    nside : int
        HEALPix resolution, a power of two (128 is about 27 km, 512 about 7 km).
    sea_threshold : float, default 0.5
        A cell is sea when at least this fraction of its source points is open sea.
    variables : sequence of str, default ``("SST_L3S", "SST_L4")``
        Variables to average. ``gap`` is computed from the first one.
    region : tuple or mapping, optional
        Keep only a region: a box ``(lon0, lon1, lat0, lat1)`` in degrees (every cell that
        touches it; ``lon0 > lon1`` crosses 180), or ``{"cells": ids, "level": level}``,
        NESTED ids at a coarser level (see :func:`eogapfill.healpix.region_cells`). Each kept
        cell is the mean of *all* its source points, as on the full sphere, so a regional
        map equals the full-sphere map on the region's cells.
    backend : str, default ``"bin"``
        How an observed cell gets its value: ``"bin"``, the mean of its points, or
        ``"resample-nearest"``, ``"resample-bilinear"``, ``"resample-conservative"``,
        ``"resample-groupby"`` (the optional healpix-resample package, numpy days only; see
        :mod:`eogapfill.regrid.resample_backend`). ``sea`` and ``gap`` are the binning's.
    allow_no_sea : bool, default False
        Return a map without a sea cell (``sea`` and ``gap`` all False) instead of raising:
        a region whose water is all under sea ice that day has nothing to fill (the
        pipeline stores such a day as it is).

    Returns
    -------
    xarray.Dataset
        Undecoded HEALPix dataset (dim ``cells`` of length ``12 * nside**2``, or the region's
        cells in increasing id order; coordinate ``cell_ids`` with the xdggs attributes;
        decode it with :func:`eogapfill.healpix.decode`)
        holding the ``variables`` (cell means, NaN off the sea), ``sea_fraction`` (float32,
        NaN beyond a regional grid), ``coverage`` (float32, the share of a sea cell's open-sea
        points that hold the first variable: 0 in a gap, below 1 at a cloud's edge; NaN off
        the sea), ``observed_lon`` and ``observed_lat`` (float64 degrees, the mean position
        of those points: where a partly observed cell's value was measured; NaN in a gap),
        ``sea`` and ``gap`` (bool). Lazy (dask) when the input
        is; numpy otherwise. The attributes record nside, threshold and how many cells copied
        their nearest point (``regrid_nearest_cells``) or lie beyond the grid
        (``regrid_outside_cells``); a regional map also records ``healpix_partial=1`` and
        ``healpix_region`` (the box, or the level and number of the coarse cells).

    Raises
    ------
    ValueError
        Bad nside or threshold, missing variable, non-(latitude, longitude) dims, latitude or
        longitude not 1-D / not monotonic / mixed conventions, kelvin data, no sea cell
        (unless ``allow_no_sea``).

    Warns
    -----
    UserWarning
        When most cells contain no source point (nside too fine for the grid), and when a
        (numpy) day has no observation in any sea cell (every sea cell is a gap).

    Examples
    --------
    >>> lat = np.arange(-89.0, 90.0, 2.0)
    >>> lon = np.arange(-179.0, 180.0, 2.0)
    >>> sst = xr.DataArray(np.full((lat.size, lon.size), 15.0, "float32"),
    ...                    coords={"latitude": lat, "longitude": lon}, attrs={"units": "degC"})
    >>> day = xr.Dataset({"SST_L3S": sst, "SST_L4": sst, "sea": sst > 0})
    >>> hp_day = to_healpix(day, nside=8)
    >>> hp_day.sizes["cells"], float(hp_day.SST_L3S.mean()), int(hp_day.gap.sum())
    (768, 15.0, 0)
    """
    level = check_nside(nside)
    method = backend_method(backend)
    threshold = check_threshold(sea_threshold)
    variables = (variables,) if isinstance(variables, str) else tuple(variables)
    sub = check_day(day, variables)
    lat = check_axis(sub["latitude"].values, "latitude")
    lon = check_axis(sub["longitude"].values, "longitude")
    ids, region_attrs = _region(int(nside), region)
    grid = HealpixGrid(int(nside), cell_ids=ids)
    geometry = geometry_of(grid.nside, lat, lon, ids)

    n_nearest, n_inside, n_outside = (
        geometry.nearest_cells.size,
        geometry.n_inside,
        geometry.n_outside,
    )
    if n_nearest > 0.5 * max(n_inside, 1):
        warnings.warn(
            f"nside {nside} is finer than the source grid: {n_nearest} of {n_inside} "
            "cells contain no source point and copy their nearest point; use "
            f"nside <= {suggest_nside(lat[geometry.rows], lon)} for cell means",
            UserWarning,
            stacklevel=2,
        )

    names = ("sea", *variables)
    dtypes = [np.result_type(sub[v].dtype, np.float32) for v in variables]
    checked = [
        v
        if v in CONTRACT_VARIABLES or temperature_unit(sub[v].attrs.get("units")) == "degC"
        else None
        for v in variables
    ]
    rows, cols = geometry.nearest_rows, geometry.nearest_cols
    finish_kw = {"geometry": geometry, "threshold": threshold, "dtypes": dtypes, "checked": checked}
    lazy = any(sub[name].chunks is not None for name in names)
    if lazy and method is not None:
        raise ValueError(f"backend={backend!r} needs a numpy day: load it first (day.load())")
    if lazy:
        import dask
        import dask.array as da

        data = dask_arrays(sub, names)
        part = bin_dask(data, geometry, lat, lon)
        near = [x.vindex[rows, cols] if rows.size else np.empty(0, x.dtype) for x in data]
        lazy_finish = dask.delayed(finish, pure=True, nout=len(variables) + 6)
        results = lazy_finish(part, near[0], near[1:], **finish_kw)
        # means, sea_fraction, coverage, observed_lon, observed_lat, sea, gap
        out_dtypes = [*dtypes, *[np.dtype("float32")] * 2, *[np.dtype("float64")] * 2]
        out_dtypes += [np.dtype(bool), np.dtype(bool)]
        results = [
            da.from_delayed(r, shape=(grid.npix,), dtype=dt)
            for r, dt in zip(results, out_dtypes, strict=True)
        ]
    else:
        arrays = [np.asarray(sub[name].values) for name in names]
        part = bin_numpy(arrays, geometry, lat, lon)
        near = [a[rows, cols] for a in arrays]
        results = list(finish(part, near[0], near[1:], **finish_kw))

    means, extra = results[: len(variables)], results[len(variables) :]
    sea_fraction, coverage, observed_lon, observed_lat, sea, gap = extra
    if method is not None:  # the observed cells' values from healpix-resample
        means, n_kept = resampled_means(
            method, lat, lon, arrays[1:], means, grid.nside, ids, geometry.rows, geometry.cols
        )
        region_attrs.update(regrid_backend=f"healpix-resample {method}", regrid_kept_cells=n_kept)
    if not lazy:
        if not sea.any() and not allow_no_sea:
            where = " in the region" if grid.is_partial else ""
            raise ValueError(
                f"no sea cell{where} at nside {nside} with sea_threshold {threshold}: the day's "
                "'sea' mask is empty or too sparse there; check it (sea = mask == 1), the "
                "region (lon0, lon1, lat0, lat1), or lower the threshold"
            )
        if sea.any() and gap[sea].all():
            warnings.warn(
                f"{variables[0]!r} has no observation in any sea cell: every sea cell is a gap "
                "(gap is all True over the sea); a fill has nothing to start from",
                UserWarning,
                stacklevel=2,
            )

    data_vars: dict[str, tuple] = {}
    for name, mean in zip(variables, means, strict=True):
        attrs = dict(sub[name].attrs)
        if name in CONTRACT_VARIABLES:
            attrs.setdefault("units", "degC")
        attrs["cell_methods"] = "cells: mean (source points with a value; NaN off the sea)"
        data_vars[name] = ("cells", mean, attrs)
    data_vars["sea_fraction"] = (
        "cells",
        sea_fraction,
        {"long_name": "fraction of the cell's source points that are open sea", "units": "1"},
    )
    data_vars["coverage"] = (
        "cells",
        coverage,
        {
            "long_name": f"share of the cell's open-sea source points that hold {variables[0]}",
            "units": "1",
            "comment": "1 fully observed, 0 a gap; a partly observed cell (at a cloud's edge) "
            "is the mean of part of the cell only",
        },
    )
    for axis, values in (("lon", observed_lon), ("lat", observed_lat)):
        data_vars[f"observed_{axis}"] = (
            "cells",
            values,
            {
                "long_name": f"mean {'longitude' if axis == 'lon' else 'latitude'} of the "
                f"cell's source points that hold {variables[0]}",
                "units": "degrees_east" if axis == "lon" else "degrees_north",
                "comment": "where the cell's observations are: off the cell's centre in a "
                "partly observed cell; NaN in a gap",
            },
        )
    data_vars["sea"] = ("cells", sea, {"long_name": f"sea cell (sea_fraction >= {threshold})"})
    data_vars["gap"] = (
        "cells",
        gap,
        {"long_name": f"sea cell without an observation ({variables[0]} is NaN)"},
    )
    attrs = dict(day.attrs)
    attrs.update(
        regrid_method="HEALPix cell mean of the source points (healpy ang2pix, NESTED)",
        healpix_nside=grid.nside,
        healpix_level=level,
        sea_threshold=threshold,
        regrid_nearest_cells=n_nearest,
        regrid_outside_cells=n_outside,
        **region_attrs,
    )
    out = healpix_dataset(data_vars, grid, attrs=attrs)
    scalars = {k: v for k, v in day.coords.items() if k not in out.coords and v.ndim == 0}
    scalars.update({k: v for k, v in sub.coords.items() if k not in out.coords and v.ndim == 0})
    return out.assign_coords(scalars)
