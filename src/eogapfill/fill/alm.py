"""Spherical-harmonic fill: a least-squares fit of real harmonics up to ``lmax``.

The observed sea cells are fitted by real, orthonormal spherical harmonics up to degree
``lmax`` (:mod:`eogapfill.harmonics`: the basis, its column order and the fit), and the fit is
evaluated in the gaps. It is smooth by construction: it keeps the large scales
(``lmax = 15`` resolves about 20000 km / 15 ≈ 1300 km) and none of the fronts, which makes it
a start for other fills (foscat) and the large-scale mean of optimal interpolation
(:mod:`eogapfill.fill.oi`).

The basis and the array-level fit live in :mod:`eogapfill.harmonics`; their public names are
re-exported here (``from eogapfill.fill.alm import real_ylm_basis`` keeps working).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from eogapfill.fill.common import (
    checked_options,
    finish_fill,
    fit_inputs,
    prepare_healpix_fill,
    require_full_sphere,
)
from eogapfill.harmonics import (
    MIN_RCOND,
    constrained_lmax,
    evaluate_alm,
    fit_harmonics,
    harmonic_degrees,
    real_ylm_basis,
)
from eogapfill.healpix import grid_of

__all__ = [
    "ON_A_REGION",
    "MIN_RCOND",
    "constrained_lmax",
    "evaluate_alm",
    "fill_alm",
    "fit_alm",
    "harmonic_degrees",
    "real_ylm_basis",
]


#: What to use instead on a regional (partial) map: a harmonic fit needs the whole sphere.
ON_A_REGION = (
    "a spherical-harmonic fit needs the whole sphere (on a region its harmonics are "
    "ill-conditioned); on a region use fill_oi or fill_laplace "
    "(eogapfill.fill.registry.regional_methods()), or regrid the day on the full sphere"
)


def fit_alm(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    lmax: int = 15,
    ridge: float = 0.0,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Least-squares fit of real spherical harmonics up to ``lmax`` to the observed cells.

    Parameters
    ----------
    sst : xarray.DataArray or Dataset
        Full-sphere HEALPix map on ``cells`` (degC, NaN = no value), or a regridded day (its
        ``SST_L3S`` and ``gap``).
    gaps : boolean map, optional
        Cells to leave out of the fit besides the NaN ones.
    lmax : int
        Largest degree; ``(lmax+1)**2`` coefficients need at least as many observed cells.
    ridge : float
        Tikhonov weight (dimensionless, >= 0), see :func:`eogapfill.harmonics.fit_harmonics`:
        0 (default) is the plain least-squares fit; use ~1e-3 when large gaps leave harmonics
        unconstrained.

    Returns
    -------
    coeffs : xarray.DataArray
        Shape ``((lmax+1)**2,)`` on dim ``harmonic`` with coords ``l`` and ``m`` (the column
        order of :func:`real_ylm_basis`), units of the map times ``sqrt(sr)``.
    large_scale : xarray.DataArray
        The fitted map on every cell (land included), same dims and coords as ``sst``.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> y = real_ylm_basis(8, 2)
    >>> ds = healpix_dataset({"sst": 15 + 2 * y[:, 2]}, nside=8)
    >>> coeffs, smooth = fit_alm(ds.sst, lmax=2)
    >>> bool(np.allclose(smooth, ds.sst))
    True
    """
    sst, observed, _ = fit_inputs(sst, gaps, method="alm")
    grid = grid_of(sst)
    require_full_sphere(grid, "alm", ON_A_REGION)
    values = np.asarray(sst.values, dtype="float64")
    coeffs, fitted = fit_harmonics(values, observed, grid.nside, lmax, ridge=ridge)
    ell, m = harmonic_degrees(lmax)
    coeffs_da = xr.DataArray(
        coeffs,
        dims="harmonic",
        coords={"l": ("harmonic", ell), "m": ("harmonic", m)},
        attrs={"long_name": "real spherical-harmonic coefficients", "lmax": lmax},
    )
    large = sst.copy(data=fitted).assign_attrs(
        {**sst.attrs, "long_name": f"least-squares spherical-harmonic fit, lmax={lmax}"}
    )
    return coeffs_da, large


@checked_options("alm")
def fill_alm(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    lmax: int = 15,
    ridge: float = 1e-3,
    clip: bool = True,
    fill_land: bool = False,
) -> xr.Dataset:
    """Fill the gaps with a least-squares spherical-harmonic fit of the observed cells.

    Parameters
    ----------
    sst, gaps
        As in every fill (see :mod:`eogapfill.fill.common`): a full-sphere HEALPix map (degC)
        and a boolean map of the cells to fill, or a regridded day. A regional map is refused
        (``ValueError`` naming :data:`ON_A_REGION`'s alternatives: fill_oi, fill_laplace).
    lmax : int
        Largest degree of the fit (15: scales above ~1300 km).
    ridge : float
        Tikhonov weight, see :func:`fit_alm`. The default, 1e-3, keeps harmonics that the
        observed cells leave free from running away in large gaps and changes the fit little
        elsewhere; ``ridge=0`` is the plain least-squares fit of the original recipe, refused
        when the observed cells cannot constrain it (the message names an ``lmax`` that works).
    clip : bool
        Keep the gap values within the range of the observed values (the count of clipped
        cells is the attribute ``n_clipped``). ``clip=False`` shows the raw fit, which warns
        (:class:`~eogapfill.fill.common.ImplausibleTemperatureWarning`) when it leaves the
        temperatures that sea water can have.
    fill_land : bool
        Also write the fit on the cells that are neither observed nor gaps (land). Meant as the
        start of an iterative synthesis, not as a product: those cells are listed by the boolean
        variable ``land_filled`` and the attribute ``fill_land=1``.

    Returns
    -------
    xarray.Dataset
        ``filled`` (degC); observed cells are bit-identical to ``sst``. Attributes ``lmax``,
        ``ridge``, ``fit_rms`` (root mean square of the fit residual on the observed cells) and
        ``n_clipped``.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> y = real_ylm_basis(8, 3)
    >>> truth = 20 + 3 * y[:, 5]
    >>> gaps = np.zeros(768, bool); gaps[:100] = True
    >>> sst = healpix_dataset({"sst": np.where(gaps, np.nan, truth)}, nside=8).sst
    >>> out = fill_alm(sst, gaps, lmax=3, ridge=0.0)  # the plain least-squares fit
    >>> bool(np.allclose(out.filled, truth))
    True
    """
    inputs, grid = prepare_healpix_fill(sst, gaps, method="alm")
    require_full_sphere(grid, "alm", ON_A_REGION)
    _, fitted = fit_harmonics(
        inputs.values, inputs.observed, grid.nside, lmax, ridge=ridge, check=True
    )
    resid = inputs.values[inputs.observed] - fitted[inputs.observed]
    n_clipped = 0
    if clip:
        seen = inputs.values[inputs.observed]
        outside = inputs.gaps & ((fitted < seen.min()) | (fitted > seen.max()))
        n_clipped = int(outside.sum())
        fitted = np.where(inputs.gaps, np.clip(fitted, seen.min(), seen.max()), fitted)
    attrs = {
        "lmax": lmax,
        "ridge": ridge,
        "fit_rms": float(np.sqrt(np.mean(resid**2))),
        "n_clipped": n_clipped,
    }
    out = finish_fill(inputs, fitted, method="alm", attrs=attrs)
    if fill_land:
        land = ~inputs.observed & ~inputs.gaps
        out["filled"] = out["filled"].copy(data=np.where(land, fitted, out["filled"].values))
        out["land_filled"] = inputs.sst.copy(data=land).assign_attrs(
            {"long_name": "cells off the sea written with the harmonic fit (fill_land=True)"}
        )
        out.attrs["fill_land"] = 1
    return out
