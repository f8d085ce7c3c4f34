"""What every fill shares: checked inputs, and an output that never touches observed cells.

Every fill has the same signature::

    fill_xxx(sst, gaps=None, **options) -> xr.Dataset

``sst`` is a map (a HEALPix ``DataArray`` on ``cells``, or a lat/lon one for the grid fills)
whose NaN are missing values, and ``gaps`` a boolean map of the same shape, True where a value
must be made. ``sst`` may also be a regridded HEALPix ``Dataset``: then ``sst = ds.SST_L3S`` and
``gaps = ds.gap``. Values of ``sst`` inside ``gaps`` are ignored; cells outside ``gaps`` are
returned bit-identical (land stays NaN). The result is a ``Dataset`` with

- ``filled``: the filled map (same dims as ``sst``),
- optionally ``filled_std`` (an uncertainty, same dims) and ``members`` (``member`` x dims).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from eogapfill.healpix import HealpixGrid, grid_of
from eogapfill.seawater import (
    SEA_WATER_DEGC,
    ImplausibleTemperatureWarning,
    sea_water_bounds,
    temperature_unit,
)

__all__ = [
    "SEA_WATER_DEGC",
    "FillInputs",
    "ImplausibleTemperatureWarning",
    "NothingToFillError",
    "check_count",
    "check_seed",
    "checked_options",
    "finish_fill",
    "fit_inputs",
    "prepare_fill",
    "prepare_healpix_fill",
    "require_full_sphere",
    "sea_water_bounds",
]


def check_count(value: object, name: str, *, minimum: int = 1, method: str = "fill") -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``, else ``ValueError``.

    >>> check_count(3, "n_members")
    3
    >>> check_count(True, "n_members")
    Traceback (most recent call last):
    ...
    ValueError: fill: n_members must be an integer >= 1, got True (a bool); pass a number such as n_members=4
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        what = " (a bool)" if isinstance(value, bool) else ""
        raise ValueError(
            f"{method}: {name} must be an integer >= {minimum}, got {value!r}{what}; "
            f"pass a number such as {name}={max(minimum, 4)}"
        )
    return int(value)


def check_seed(seed: object, *, method: str = "fill") -> int:
    """A reproducible seed: ``None`` draws a fresh one (returned, so that it can be recorded).

    Integers in ``[0, 2**32)`` pass; a negative, fractional, bool or other seed raises
    ``ValueError``.

    >>> check_seed(7)
    7
    >>> 0 <= check_seed(None) < 2**32
    True
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**32)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(
            f"{method}: seed must be an integer in [0, 2**32) or None (a fresh one, recorded in "
            f"the result's attributes), got {seed!r}"
        )
    return int(seed)


_Fill = TypeVar("_Fill", bound=Callable[..., Any])


def checked_options(method: str) -> Callable[[_Fill], _Fill]:
    """Decorator: a fill checks its options against the registry's rules first thing.

    The rules of the registered ``method``
    (:meth:`~eogapfill.fill.registry.FillMethod.check_options`) are the one set of bounds
    that the command line, the pipeline and the fill itself apply, so that ``fill_oi(map,
    lmax=-5)`` and ``eogapfill fill --option lmax=-5`` refuse with the same message before
    any data is read.

    >>> from eogapfill.fill.laplace import fill_laplace
    >>> fill_laplace(None, max_iter=0)
    Traceback (most recent call last):
    ...
    ValueError: the laplace fill's option max_iter must be >= 1, got 0; e.g. max_iter=200
    """

    def decorate(fill: _Fill) -> _Fill:
        signature = inspect.signature(fill)

        @functools.wraps(fill)
        def checked(*args: Any, **kwargs: Any) -> Any:
            from eogapfill.fill.registry import _INPUTS, method_info

            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return fill(*args, **kwargs)  # Python's own message names the argument
            options = dict(bound.arguments)
            for key, value in signature.parameters.items():
                if value.kind is inspect.Parameter.VAR_KEYWORD:
                    options.update(options.pop(key, {}))
            for key in _INPUTS:  # the fill's data, not options
                options.pop(key, None)
            method_info(method).check_options(options)
            return fill(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


class NothingToFillError(ValueError):
    """A fill was called with an empty gap mask: the map is already complete.

    A fill refuses it (there is nothing to compute); a caller that fills many maps, such as
    the pipeline, keeps such a map as it is: filled = observed, uncertainty 0.
    """


class FillInputs:
    """Checked inputs of a fill: the map, its gap mask and the observed mask as numpy arrays."""

    def __init__(self, sst: xr.DataArray, gaps: xr.DataArray):
        self.sst = sst
        self.gaps_da = gaps
        self.values = np.asarray(sst.values, dtype="float64")
        self.gaps = np.asarray(gaps.values, dtype=bool)
        self.observed = np.isfinite(self.values) & ~self.gaps

    @property
    def n_gaps(self) -> int:
        return int(self.gaps.sum())

    @property
    def n_observed(self) -> int:
        return int(self.observed.sum())


def prepare_fill(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    method: str = "fill",
    min_observed: int = 1,
) -> FillInputs:
    """Check a fill's inputs and return them as :class:`FillInputs`.

    Raises ``ValueError`` with what to do when the masks do not match the map, or when there
    are fewer than ``min_observed`` observed values; :class:`NothingToFillError` (a
    ``ValueError``) when the gap mask is empty.
    """
    if isinstance(sst, xr.Dataset):
        for name in ("SST_L3S", "gap"):
            if name not in sst:
                raise ValueError(
                    f"{method}: the dataset has no {name!r} variable; pass a day regridded with "
                    "eogapfill.regrid.to_healpix, or pass (sst, gaps) DataArrays"
                )
        if gaps is None:
            gaps = sst["gap"]
        sst = sst["SST_L3S"]
    if not isinstance(sst, xr.DataArray):
        raise TypeError(
            f"{method}: sst must be an xarray DataArray or Dataset, got {type(sst).__name__}"
        )
    if gaps is None:
        raise ValueError(
            f"{method}: no gap mask given: pass gaps=<boolean map, True where to fill>"
        )
    if not isinstance(gaps, xr.DataArray):
        gaps = np.asarray(gaps)
        if gaps.shape != sst.shape:
            raise ValueError(
                f"{method}: the gap mask has shape {gaps.shape} but the map {sst.shape}; "
                "build both from the same regridded day"
            )
        gaps = xr.DataArray(gaps, dims=sst.dims, coords=sst.coords)
    if gaps.dims != sst.dims or gaps.shape != sst.shape:
        raise ValueError(
            f"{method}: the gap mask {dict(gaps.sizes)} does not match the map {dict(sst.sizes)}; "
            "build both from the same regridded day"
        )
    if gaps.dtype != bool:
        raise TypeError(
            f"{method}: gaps must be boolean (True where to fill), got dtype {gaps.dtype}"
        )
    inputs = FillInputs(sst, gaps)
    if inputs.n_gaps == 0:
        raise NothingToFillError(
            f"{method}: the gap mask is empty: there is nothing to fill (every sea cell is "
            "observed); use the map as it is"
        )
    if inputs.n_observed < min_observed:
        raise ValueError(
            f"{method}: only {inputs.n_observed} observed value(s) outside the gaps, at least "
            f"{min_observed} needed: the map is (almost) all cloud; pick another day or a larger area"
        )
    return inputs


def prepare_healpix_fill(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    method: str = "fill",
    min_observed: int = 1,
) -> tuple[FillInputs, HealpixGrid]:
    """Checked inputs of a HEALPix fill and the map's grid: the one input check of those fills.

    Beyond :func:`prepare_fill`, checks that the map is one NESTED HEALPix map on ``cells``
    whose ``cell_ids`` are increasing: ``0 .. npix-1`` (the full sphere) or the cells of a
    region (a partial grid, ``grid.is_partial``). A fill that needs the whole sphere calls
    :func:`require_full_sphere`.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> gap = np.zeros(48, bool); gap[0] = True
    >>> ds = healpix_dataset({"SST_L3S": np.where(gap, np.nan, 20.0), "gap": gap}, nside=2)
    >>> inputs, grid = prepare_healpix_fill(ds, method="demo")
    >>> inputs.n_gaps, inputs.n_observed, grid.nside, grid.is_partial
    (1, 47, 2, False)
    """
    inputs = prepare_fill(sst, gaps, method=method, min_observed=min_observed)
    da = inputs.sst
    if da.dims != ("cells",):
        raise ValueError(
            f"{method}: expects one HEALPix map on the 'cells' dimension, got dims {da.dims}; "
            "select a single day (e.g. .isel(time=0)) or regrid with eogapfill.regrid.to_healpix"
        )
    try:
        grid = grid_of(da)
    except ValueError as err:
        raise ValueError(
            f"{method}: {err}. Keep the cells in NESTED order (da.sortby('cell_ids')); a region "
            "comes from eogapfill.regrid.to_healpix(day, nside, region=...)"
        ) from None
    return inputs, grid


def require_full_sphere(grid: HealpixGrid, method: str, instead: str) -> None:
    """Raise a clear error when a fill that needs the whole sphere gets a partial grid.

    ``instead`` says what to use on a region.
    """
    if grid.is_partial:
        raise ValueError(
            f"{method}: needs a full-sphere map, got a regional grid of {grid.npix} cells "
            f"(nside {grid.nside}); {instead}"
        )


def fit_inputs(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    method: str = "fit",
) -> tuple[xr.DataArray, np.ndarray, np.ndarray | None]:
    """The map, its observed cells and the gap mask of a fit (a model of the observed cells).

    Unlike :func:`prepare_fill`, ``gaps`` may be absent (a fit needs only observed cells):
    ``observed`` is the finite cells outside ``gaps``. A regridded day gives ``SST_L3S`` and,
    unless ``gaps`` is passed, its ``gap``.

    Returns
    -------
    sst : xarray.DataArray
    observed : numpy.ndarray of bool, the map's shape
    gaps : numpy.ndarray of bool, or None when none was given

    >>> sst = xr.DataArray([20.0, np.nan, 21.0], dims="cells")
    >>> fit_inputs(sst, np.array([True, False, False]))[1].tolist()
    [False, False, True]
    """
    if isinstance(sst, xr.Dataset):
        if "SST_L3S" not in sst:
            raise ValueError(
                f"{method}: the dataset has no 'SST_L3S' variable; pass a day regridded with "
                "eogapfill.regrid.to_healpix, or a DataArray"
            )
        if gaps is None and "gap" in sst:
            gaps = sst["gap"]
        sst = sst["SST_L3S"]
    if not isinstance(sst, xr.DataArray):
        raise TypeError(
            f"{method}: sst must be an xarray DataArray or Dataset, got {type(sst).__name__}"
        )
    observed = np.isfinite(np.asarray(sst.values, dtype="float64"))
    if gaps is not None:
        gaps = np.asarray(getattr(gaps, "values", gaps)).astype(bool)
        if gaps.shape != observed.shape:
            raise ValueError(
                f"{method}: gaps shape {gaps.shape} does not match the map {observed.shape}"
            )
        observed &= ~gaps
    return sst, observed, gaps


def finish_fill(
    inputs: FillInputs,
    values: np.ndarray,
    *,
    method: str,
    std: np.ndarray | None = None,
    members: np.ndarray | None = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Wrap a fill's result: gap cells from ``values``, every other cell copied from the input.

    ``values`` has the map's shape; ``std`` too (zero outside the gaps); ``members`` has a
    leading ``member`` axis. Raises if a gap cell is left NaN. The result records
    ``attrs["protocol"]``: the one in ``attrs`` (a fill that used information beyond its
    inputs, e.g. foscat's reference statistics, must say which), else ``"honest"`` (the fill
    saw the observed cells only).
    """
    values = np.asarray(values, dtype="float64")
    if values.shape != inputs.values.shape:
        raise ValueError(f"{method}: produced shape {values.shape}, expected {inputs.values.shape}")
    filled = np.where(inputs.gaps, values, inputs.values)
    left = int(np.isnan(filled[inputs.gaps]).sum())
    if left:
        raise RuntimeError(
            f"{method}: {left} gap cell(s) could not be filled (no observed neighbour reachable); "
            "try a method with a longer reach (alm, laplace) or a coarser grid"
        )
    # the observed cells' positions (eogapfill.fill.positions) describe the input only
    sst = inputs.sst.drop_vars(["observed_lon", "observed_lat"], errors="ignore")
    out_attrs = {"fill_method": method, "protocol": "honest", **(attrs or {})}
    data_vars: dict[str, xr.DataArray] = {
        "filled": sst.copy(data=filled).assign_attrs(
            {**sst.attrs, "long_name": f"SST with gaps filled by {method}"}
        ),
    }
    if std is not None:
        std = np.where(inputs.gaps, np.asarray(std, dtype="float64"), 0.0)
        data_vars["filled_std"] = sst.copy(data=std).assign_attrs(
            {
                "units": sst.attrs.get("units", ""),
                "long_name": f"{method} uncertainty (standard deviation)",
            }
        )
    if members is not None:
        members = np.asarray(members, dtype="float64")
        members = np.where(inputs.gaps[None], members, inputs.values[None])
        data_vars["members"] = xr.DataArray(
            members,
            dims=("member", *sst.dims),
            coords={**sst.coords, "member": np.arange(members.shape[0])},
            attrs={"units": sst.attrs.get("units", ""), "long_name": f"{method} ensemble members"},
        )
    out = xr.Dataset(data_vars, attrs=out_attrs)
    _check_sea_water(out, inputs, method)
    return out


def _where(sst: xr.DataArray, flat_index: int) -> str:
    """``'12.3E 45.6N'`` for one cell of a HEALPix or lat/lon map (empty when unknown)."""
    try:
        if "cell_ids" in sst.coords:
            import healpy as hp

            cell = int(np.asarray(sst["cell_ids"].values).ravel()[flat_index])
            lon, lat = hp.pix2ang(grid_of(sst).nside, cell, nest=True, lonlat=True)
        else:
            index = np.unravel_index(flat_index, sst.shape)
            position = dict(zip(sst.dims, index, strict=True))
            lat = float(sst["latitude"].values[position["latitude"]])
            lon = float(sst["longitude"].values[position["longitude"]])
    except (KeyError, ValueError, TypeError):
        return ""
    lon = (float(lon) + 180.0) % 360.0 - 180.0
    return f" at {abs(lon):.1f}{'E' if lon >= 0 else 'W'} {abs(float(lat)):.1f}{'N' if lat >= 0 else 'S'}"


def _advice(method: str) -> str:
    """What to do about implausible gap values, naming only other fills than ``method``.

    >>> _advice("oi")
    'use a method that stays within the data (fill_laplace), or a finer grid'
    """
    within = [f"fill_{m}" for m in ("oi", "laplace") if m != method]
    own = "a lower lmax or a ridge, " if method == "alm" else ""
    return f"use {own}a method that stays within the data ({', '.join(within)}), or a finer grid"


def _check_sea_water(out: xr.Dataset, inputs: FillInputs, method: str) -> None:
    """Warn (:class:`ImplausibleTemperatureWarning`) when gap values leave :data:`SEA_WATER_DEGC`.

    Checks ``filled`` and ``members`` in the gap cells; records the count in the attribute
    ``n_implausible`` (0 when all are plausible). Maps whose units are not a temperature
    (:func:`~eogapfill.seawater.temperature_unit`; no units = degC) are not checked.
    """
    units = str(inputs.sst.attrs.get("units", ""))
    bounds = sea_water_bounds(units)
    if bounds is None:
        return
    low, high = bounds
    gap_mask = inputs.gaps.ravel()
    gap_cells = np.flatnonzero(gap_mask)
    count, worst, worst_cell = 0, np.nan, -1
    for name in ("filled", "members"):
        if name not in out:
            continue
        in_gaps = out[name].values.reshape(-1, gap_mask.size)[:, gap_mask]
        excess = np.maximum(low - in_gaps, in_gaps - high)  # > 0 outside the bounds
        count += int((excess > 0).sum())
        if worst_cell < 0 and (excess > 0).any():
            member, cell = np.unravel_index(int(np.argmax(excess)), excess.shape)
            worst, worst_cell = float(in_gaps[member, cell]), int(gap_cells[cell])
    out.attrs["n_implausible"] = count
    if not count:
        return
    shown = {"kelvin": "K", "degF": "degF"}.get(temperature_unit(units) or "degC", "degC")
    warnings.warn(
        f"{method}: {count} gap value(s) lie outside what sea water can have "
        f"({low:g} to {high:g} {shown}), e.g. {worst:.1f} {shown}{_where(inputs.sst, worst_cell)}. "
        f"The fill extrapolates far from the observations there: {_advice(method)}. "
        "To make this an error: "
        "warnings.simplefilter('error', eogapfill.seawater.ImplausibleTemperatureWarning).",
        ImplausibleTemperatureWarning,
        stacklevel=3,
    )
