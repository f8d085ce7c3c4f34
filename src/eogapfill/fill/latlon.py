"""Fills on the regular latitude/longitude grid of a preprocessed day.

These are the classic grid baselines, for comparison with the HEALPix fills. The map is a 2-D
``DataArray`` on (``latitude`` ascending, ``longitude`` ascending) in degC, or a day from
:func:`eogapfill.preprocess.prepare_day` (then ``SST_L3S`` is filled and the gaps default to
``sea & isnan(SST_L3S)``). Land cells (NaN, not in the gaps) are never written.

- :func:`fill_interpolate_na`: xarray's ``interpolate_na`` along latitude, then along
  longitude (periodic on a global grid), then the nearest observed cell for what remains.
- :func:`fill_loess` and :func:`fill_gauss_seidel`: wrappers of ``pyinterp.fill``. pyinterp
  has no wheel on PyPI; install it from conda-forge (``conda install -c conda-forge
  pyinterp``). Both the ``Grid2D`` API (pyinterp <= 2025) and the array API (pyinterp >= 2026)
  are supported.
"""

from __future__ import annotations

import inspect
import warnings
from types import ModuleType

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from eogapfill.fill.common import FillInputs, checked_options, finish_fill, prepare_fill

__all__ = ["fill_gauss_seidel", "fill_interpolate_na", "fill_loess"]

LAT = "latitude"
LON = "longitude"


def latlon_fill_inputs(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None,
    *,
    method: str,
) -> FillInputs:
    """Checked inputs of a lat/lon fill.

    A ``Dataset`` gives ``SST_L3S`` and, unless ``gaps`` is passed, ``gap`` if present, else
    ``sea & isnan(SST_L3S)``. The map must be 2-D on ``latitude`` and ``longitude``, both
    strictly increasing.
    """
    if isinstance(sst, xr.Dataset):
        if "SST_L3S" not in sst:
            raise ValueError(
                f"{method}: the dataset has no 'SST_L3S' variable; pass a day from "
                "eogapfill.preprocess.prepare_day, or pass (sst, gaps) DataArrays"
            )
        if gaps is None:
            if "gap" in sst:
                gaps = sst["gap"]
            elif "sea" in sst:
                gaps = sst["sea"].astype(bool) & sst["SST_L3S"].isnull()
            else:
                raise ValueError(
                    f"{method}: the dataset has neither 'gap' nor 'sea': pass gaps=<boolean map>"
                )
        sst = sst["SST_L3S"]
    inputs = prepare_fill(sst, gaps, method=method)
    da = inputs.sst
    if da.ndim != 2 or set(da.dims) != {LAT, LON}:
        raise ValueError(
            f"{method}: expects a 2-D map on ('{LAT}', '{LON}'), got dims {da.dims}; select "
            "one day (e.g. .isel(time=0)); for HEALPix maps use fill_laplace"
        )
    for name in (LAT, LON):
        coord = np.asarray(da[name].values, dtype="float64")
        if coord.size > 1 and not (np.diff(coord) > 0).all():
            raise ValueError(
                f"{method}: '{name}' must be strictly increasing; use .sortby('{name}') first"
            )
    return inputs


def _is_global(lon: np.ndarray) -> bool:
    """True if the longitudes are regular cell centres around the whole circle."""
    if lon.size < 3:
        return False
    step = np.diff(lon)
    return bool(np.allclose(step, step[0], rtol=1e-4) and abs(lon.size * step[0] - 360.0) < 1e-3)


def _bracketed(
    todo: np.ndarray, known: np.ndarray, coord: np.ndarray, axis: int, max_gap: float | None
) -> np.ndarray:
    """Cells of ``todo`` whose nearest non-``todo`` cells on both sides along ``axis`` are known.

    A run of ``todo`` cells that ends on land (a cell neither known nor to do) or on the edge
    of the array is rejected, and so is one longer than ``max_gap`` (coordinate distance
    between the two bracketing known cells, as in xarray's ``interpolate_na``).
    """
    n = todo.shape[axis]
    shape = [1, 1]
    shape[axis] = n
    index = np.broadcast_to(np.arange(n).reshape(shape), todo.shape)
    before = np.maximum.accumulate(np.where(~todo, index, -1), axis=axis)
    after = np.flip(
        np.minimum.accumulate(np.flip(np.where(~todo, index, n), axis=axis), axis=axis), axis=axis
    )
    ok = todo & (before >= 0) & (after < n)
    before = np.clip(before, 0, n - 1)
    after = np.clip(after, 0, n - 1)
    ok &= np.take_along_axis(known, before, axis) & np.take_along_axis(known, after, axis)
    if max_gap is not None:
        ok &= (coord[after] - coord[before]) <= max_gap
    return ok


def _interpolate_along(
    field: np.ndarray,
    todo: np.ndarray,
    coord: np.ndarray,
    axis: int,
    *,
    periodic: bool,
    method: str,
    max_gap: float | None,
) -> np.ndarray:
    """``field`` (lat, lon) with the bracketed ``todo`` cells interpolated along ``axis``.

    ``periodic`` (longitude, ``axis=1`` only) pads each row with the cells of the other side
    of the date line, as many as the longest run of ``todo`` cells touching either edge needs.
    """
    known = np.isfinite(field)
    pad = 0
    if periodic:
        n = field.shape[1]
        full = todo.all(axis=1)
        lead = np.where(full, n, np.argmin(todo, axis=1))
        trail = np.where(full, n, np.argmin(todo[:, ::-1], axis=1))
        pad = min(n, int(max(lead.max(), trail.max())) + 1)

        def wrap(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a[:, n - pad :], a, a[:, :pad]], axis=1)

        field, todo, known = wrap(field), wrap(todo), wrap(known)
        coord = np.concatenate([coord[n - pad :] - 360.0, coord, coord[:pad] + 360.0])
    dims = ("a", "b")
    line = xr.DataArray(field, dims=dims, coords={dims[axis]: coord})
    result = line.interpolate_na(dims[axis], method=method, use_coordinate=True).values
    out = np.where(_bracketed(todo, known, coord, axis, max_gap), result, field)
    return out[:, pad : out.shape[1] - pad] if pad else out


def _nearest_observed(
    field: np.ndarray, todo: np.ndarray, observed: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    """Give each ``todo`` cell the value of the nearest observed cell (great-circle distance)."""
    lat2, lon2 = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")

    def unit(mask: np.ndarray) -> np.ndarray:
        phi, lam = lat2[mask], lon2[mask]
        return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])

    _, nearest = cKDTree(unit(observed)).query(unit(todo))
    out = field.copy()
    out[todo] = field[observed][nearest]
    return out


@checked_options("interpolate_na")
def fill_interpolate_na(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    method: str = "linear",
    max_gap: float | None = None,
) -> xr.Dataset:
    """Fill a lat/lon map by 1-D interpolation along latitude, then longitude, then nearest.

    1. Along latitude, each run of gap cells between two observed cells is interpolated
       (:meth:`xarray.DataArray.interpolate_na`); runs that end on land or at the edge of
       the grid are left for later, so no value is carried across a continent.
    2. Along longitude, the same on the map of step 1, wrapping around the date line when the
       grid is global.
    3. Gap cells still empty (a cloud on the pole, a bay closed by land, runs longer than
       ``max_gap``) take the value of the nearest observed cell (great-circle distance).

    Parameters
    ----------
    sst : xarray.DataArray or xarray.Dataset
        Map on (``latitude``, ``longitude``) in degC, NaN = missing; or a preprocessed day.
    gaps : boolean array of the map's shape, optional
        True where a value must be made (sea without observation).
    method : str
        Interpolation method of :meth:`xarray.DataArray.interpolate_na` ("linear",
        "nearest", "cubic", "pchip", ...).
    max_gap : float, optional
        Longest run to interpolate, in degrees between the two bracketing observed cells;
        longer runs go to step 3. Default: no limit.

    Returns
    -------
    xarray.Dataset
        ``filled`` on the map's dims; attributes ``filled_along_latitude``,
        ``filled_along_longitude`` and ``filled_nearest`` count the cells of each step.

    Examples
    --------
    >>> lat = np.arange(-89.0, 90.0, 2.0)
    >>> lon = np.arange(-179.0, 180.0, 2.0)
    >>> sst = xr.DataArray(np.tile(15 + lat[:, None] / 10, (1, lon.size)), coords={"latitude": lat,
    ...                    "longitude": lon}, dims=("latitude", "longitude"))
    >>> gaps = (abs(sst.latitude) < 10) & (abs(sst.longitude) < 10)
    >>> out = fill_interpolate_na(sst.where(~gaps), gaps)
    >>> bool(np.allclose(out.filled, sst))   # linear in latitude: recovered exactly
    True
    """
    if max_gap is not None and not max_gap > 0:
        raise ValueError(f"fill_interpolate_na: max_gap must be > 0 degrees, got {max_gap!r}")
    inputs = latlon_fill_inputs(sst, gaps, method="interpolate_na")
    da = inputs.sst
    order = (da.get_axis_num(LAT), da.get_axis_num(LON))
    field = np.where(inputs.observed, inputs.values, np.nan).transpose(order)  # (lat, lon)
    gaps_ll = inputs.gaps.transpose(order)
    observed_ll = inputs.observed.transpose(order)
    lat = np.asarray(da[LAT].values, dtype="float64")
    lon = np.asarray(da[LON].values, dtype="float64")

    counts = {}
    for axis, coord, name, periodic in (
        (0, lat, "filled_along_latitude", False),
        (1, lon, "filled_along_longitude", _is_global(lon)),
    ):
        todo = gaps_ll & np.isnan(field)
        field = _interpolate_along(
            field, todo, coord, axis, periodic=periodic, method=method, max_gap=max_gap
        )
        counts[name] = int((todo & np.isfinite(field)).sum())
    todo = gaps_ll & np.isnan(field)
    counts["filled_nearest"] = int(todo.sum())
    if todo.any():
        field = _nearest_observed(field, todo, observed_ll, lat, lon)
    values = field.transpose(np.argsort(order))
    return finish_fill(
        inputs,
        values,
        method="interpolate_na",
        attrs={"interpolation": method, **counts},
    )


def _import_pyinterp(method: str) -> ModuleType:
    """Import pyinterp (and its ``fill`` module) or say how to install it."""
    try:
        import pyinterp
        import pyinterp.fill  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"{method} needs pyinterp, which has no wheel on PyPI: install pyinterp from "
            "conda-forge: conda install -c conda-forge pyinterp "
            "(or use fill_interpolate_na here, or fill_laplace on HEALPix maps)"
        ) from err
    return pyinterp


def _array_api(pyinterp: ModuleType) -> bool:
    """True for pyinterp >= 2026 (fills take numpy arrays and config keywords)."""
    return "config" in inspect.signature(pyinterp.fill.gauss_seidel).parameters


def _lonlat_array(inputs: FillInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(lon, lat) float64 array with NaN in gaps and on land, its axes, and periodicity."""
    da = inputs.sst
    order = (da.get_axis_num(LON), da.get_axis_num(LAT))
    array = np.ascontiguousarray(
        np.where(inputs.observed, inputs.values, np.nan).transpose(order), dtype="float64"
    )
    lon = np.asarray(da[LON].values, dtype="float64")
    lat = np.asarray(da[LAT].values, dtype="float64")
    return array, lon, lat, _is_global(lon)


def _grid2d(
    pyinterp: ModuleType, array: np.ndarray, lon: np.ndarray, lat: np.ndarray, periodic: bool
):
    return pyinterp.Grid2D(pyinterp.Axis(lon, is_circle=periodic), pyinterp.Axis(lat), array)


def _back_to_map(inputs: FillInputs, array_lonlat: np.ndarray) -> np.ndarray:
    da = inputs.sst
    order = (da.get_axis_num(LON), da.get_axis_num(LAT))
    return np.asarray(array_lonlat).transpose(np.argsort(order))


@checked_options("loess")
def fill_loess(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    nx: int = 3,
    ny: int = 3,
    max_passes: int = 50,
    num_threads: int = 0,
) -> xr.Dataset:
    """Fill a lat/lon map with pyinterp's LOESS (tri-cube weighted local regression).

    One pass fills each gap cell that has observed cells within its window; passes repeat
    (land put back to NaN each time) until every gap cell is filled or ``max_passes`` is
    reached. Needs pyinterp (conda-forge).

    Parameters
    ----------
    sst, gaps
        As for :func:`fill_interpolate_na`.
    nx, ny : int
        Half-window in cells along longitude and latitude.
    max_passes : int
        Most passes; a gap cell still empty after them makes the fill raise.
    num_threads : int
        Threads of pyinterp (0: all cores).

    Returns
    -------
    xarray.Dataset
        ``filled``; attribute ``loess_passes``.
    """
    if max_passes < 1:
        raise ValueError(f"fill_loess: max_passes must be >= 1, got {max_passes!r}")
    pyinterp = _import_pyinterp("fill_loess")
    inputs = latlon_fill_inputs(sst, gaps, method="loess")
    array, lon, lat, periodic = _lonlat_array(inputs)
    da = inputs.sst
    gaps_lonlat = inputs.gaps.transpose((da.get_axis_num(LON), da.get_axis_num(LAT)))
    new_api = _array_api(pyinterp)
    passes = 0
    while passes < max_passes and np.isnan(array[gaps_lonlat]).any():
        if new_api:
            result = pyinterp.fill.loess(
                array,
                nx=nx,
                ny=ny,
                value_type="undefined",
                max_iterations=1,
                is_periodic=periodic,
                num_threads=num_threads,
            )
        else:
            result = pyinterp.fill.loess(
                _grid2d(pyinterp, array, lon, lat, periodic),
                nx=nx,
                ny=ny,
                value_type="undefined",
                num_threads=num_threads,
            )
        array = np.ascontiguousarray(
            np.where(gaps_lonlat & np.isnan(array), np.asarray(result), array)
        )
        passes += 1
    return finish_fill(
        inputs,
        _back_to_map(inputs, array),
        method="loess",
        attrs={"loess_nx": int(nx), "loess_ny": int(ny), "loess_passes": passes},
    )


@checked_options("gauss_seidel")
def fill_gauss_seidel(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    first_guess: str = "zonal_average",
    max_iterations: int | None = None,
    epsilon: float = 1e-4,
    relaxation: float | None = None,
    num_threads: int = 0,
) -> xr.Dataset:
    """Fill a lat/lon map by solving Laplace's equation with pyinterp's Gauss-Seidel (SOR).

    pyinterp fills every NaN cell, land included: land cells are unknowns of the relaxation
    (they carry the solution across coasts) and are put back to NaN afterwards. A run that
    stops before ``epsilon`` is reached emits a ``RuntimeWarning``. Needs pyinterp
    (conda-forge).

    Parameters
    ----------
    sst, gaps
        As for :func:`fill_interpolate_na`.
    first_guess : {"zonal_average", "zero"}
        Start of the relaxation.
    max_iterations : int, optional
        Most iterations (pyinterp's default when None).
    epsilon : float
        Residual (degC) below which the relaxation stops.
    relaxation : float, optional
        Over-relaxation factor in (1, 2); pyinterp picks one from the grid size when None.
    num_threads : int
        Threads of pyinterp (0: all cores).

    Returns
    -------
    xarray.Dataset
        ``filled``; attribute ``converged`` (1 or 0).
    """
    if first_guess not in ("zonal_average", "zero"):
        raise ValueError(
            f"fill_gauss_seidel: first_guess must be 'zonal_average' or 'zero', got {first_guess!r}"
        )
    pyinterp = _import_pyinterp("fill_gauss_seidel")
    inputs = latlon_fill_inputs(sst, gaps, method="gauss_seidel")
    array, lon, lat, periodic = _lonlat_array(inputs)
    if _array_api(pyinterp):
        filled = array.copy()  # filled in place
        _, residual = pyinterp.fill.gauss_seidel(
            filled,
            first_guess=first_guess,
            max_iterations=max_iterations,
            epsilon=epsilon,
            relaxation=relaxation,
            is_periodic=periodic,
            num_threads=num_threads,
        )
        converged = bool(residual <= epsilon)
    else:
        converged, filled = pyinterp.fill.gauss_seidel(
            _grid2d(pyinterp, array, lon, lat, periodic),
            first_guess=first_guess,
            max_iteration=max_iterations,
            epsilon=epsilon,
            relaxation=relaxation,
            num_threads=num_threads,
        )
        converged = bool(converged)
    if not converged:
        warnings.warn(
            f"fill_gauss_seidel: the relaxation stopped before reaching epsilon={epsilon:g}; "
            "raise max_iterations or epsilon",
            RuntimeWarning,
            stacklevel=2,
        )
    return finish_fill(
        inputs,
        _back_to_map(inputs, filled),
        method="gauss_seidel",
        attrs={"converged": int(converged), "epsilon_degC": float(epsilon)},
    )
