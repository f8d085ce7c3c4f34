"""Texture of a fill on the hidden cells: masked spectra, neighbour residuals, gradients.

Spectra are compared after removing a *common* large-scale map (:func:`large_scale_fit`),
which avoids the masked-``anafast`` trap; :func:`gradient_histogram_distance` compares the
distributions of ``|grad T|``, which white noise fails.

On a regional (partial) grid every neighbour statistic uses the grid's own neighbours: a
neighbour outside the region is absent, never a value. An angular power spectrum needs the
whole sphere, so on a region :func:`masked_spectra` refuses and
:func:`small_scale_power_ratio` compares *structure functions* instead
(:func:`structure_functions`: mean squared differences of pairs of masked cells a few cells
apart, the regional measure of small-scale variance); the common large-scale map of a region
is a low-degree polynomial in local east/north coordinates, not spherical harmonics.
"""

from __future__ import annotations

from typing import Literal

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.harmonics import fit_harmonics
from eogapfill.healpix import EARTH_RADIUS_KM, HealpixGrid, grid_of, neighbour_mean
from eogapfill.validate.inputs import (
    ArrayLike,
    GridLike,
    checked_grid,
    checked_pair,
    map_of,
    mask_of,
    values_of,
)

__all__ = [
    "gradient_histogram_distance",
    "gradient_histograms",
    "gradient_magnitude",
    "large_scale_fit",
    "masked_spectra",
    "neighbour_variance_ratio",
    "small_scale_power_ratio",
    "structure_functions",
]


def _is_sphere(npix: int) -> bool:
    try:
        hp.npix2nside(npix)
    except ValueError:
        return False
    return True


def _grid_of_map(values: ArrayLike, nside: GridLike | None, npix: int) -> HealpixGrid:
    """The grid of one map: given, or read from its size (full sphere) or its ``cell_ids``."""
    if nside is not None:
        return checked_grid(nside, npix, values)
    if isinstance(values, xr.DataArray) and "cell_ids" in values.coords and not _is_sphere(npix):
        return grid_of(values)
    return HealpixGrid(hp.npix2nside(npix))


def large_scale_fit(
    values: ArrayLike,
    observed: ArrayLike | None = None,
    *,
    nside: GridLike | None = None,
    lmax: int = 15,
    ridge: float = 1e-3,
    degree: int = 2,
) -> np.ndarray:
    """Least-squares fit of real spherical harmonics ``l <= lmax`` to observed cells (on a
    region: a polynomial of ``degree`` in local coordinates).

    The map to remove from both the fill and the truth before comparing their spectra
    (:func:`small_scale_power_ratio`): the package's Alm fit
    (:func:`eogapfill.harmonics.fit_harmonics`, the fit of ``fill_alm``) of the observed cells,
    evaluated on every cell.

    Large holes (continents, big cloud systems) leave some harmonics nearly unconstrained and
    a plain fit can swing by tens of degrees inside them; then the common map dominates both
    masked maps and the spectral ratio drifts back to 1. The default ``ridge=1e-3`` (a
    Tikhonov penalty, see ``fit_harmonics``) keeps the fit bounded there at the cost of a few
    hundredths of a degree on the observed cells; ``ridge=0`` gives the plain fit.

    On a regional (partial) grid, harmonics of the whole sphere are not constrained by a
    region: the fit is instead a polynomial of total ``degree`` (2: a quadratic surface) in the
    east/north coordinates of the cells seen from the region's centre, with the same relative
    Tikhonov ``ridge`` on every term but the constant; ``lmax`` is not used there.

    Parameters
    ----------
    values : array (npix,)
        NESTED map, degC (NaN = not observed); ``npix`` cells of its grid.
    observed : bool array (npix,), optional
        Cells to fit; default: the finite cells of ``values``.
    nside : int or HealpixGrid, optional
        The grid of the map (checked against its length); a regional map needs its
        :class:`~eogapfill.healpix.HealpixGrid` unless it is a DataArray with ``cell_ids``.
    lmax : int
        Largest multipole of the fit (15: scales above about 1300 km).
    ridge : float
        Tikhonov weight (>= 0).
    degree : int
        Degree of the regional polynomial (>= 0).

    Returns
    -------
    np.ndarray (npix,)
        The fitted large-scale map, NESTED, finite everywhere (degC).

    Examples
    --------
    >>> m = np.full(12 * 16**2, 20.0)
    >>> bool(np.allclose(large_scale_fit(m), 20.0))
    True
    """
    v = map_of(values, "values")
    npix = v.size
    grid = _grid_of_map(values, nside, npix)
    obs = np.isfinite(v)
    if observed is not None:
        obs &= mask_of(observed, npix, "observed")
    if not obs.any():
        raise ValueError("no finite observed cell to fit the large-scale map on")
    if grid.is_partial:
        return _polynomial_fit(v, obs, grid, degree, ridge)
    _, large = fit_harmonics(np.where(obs, v, np.nan), obs, grid.nside, lmax, ridge=ridge)
    return np.asarray(large, dtype="float64")


def _local_coordinates(grid: HealpixGrid) -> tuple[np.ndarray, np.ndarray]:
    """East and north coordinates of the cells seen from the grid's centre, in [-1, 1]."""
    xyz = grid.vectors()
    centre = xyz.mean(axis=0)
    if np.linalg.norm(centre) < 1e-6:  # cells all around the sphere: any centre will do
        centre = xyz[0].copy()
    centre /= np.linalg.norm(centre)
    east = np.cross([0.0, 0.0, 1.0], centre)
    if np.linalg.norm(east) < 1e-9:  # centred on a pole
        east = np.array([0.0, 1.0, 0.0])
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    e, n = xyz @ east, xyz @ north
    scale = max(float(np.abs(e).max()), float(np.abs(n).max()), 1e-12)
    return e / scale, n / scale


def _polynomial_fit(
    v: np.ndarray, obs: np.ndarray, grid: HealpixGrid, degree: int, ridge: float
) -> np.ndarray:
    """Least-squares polynomial of ``degree`` in local east/north coordinates, every cell."""
    if degree < 0 or ridge < 0:
        raise ValueError(f"degree and ridge must be >= 0, got {degree} and {ridge}")
    e, n = _local_coordinates(grid)
    design = np.stack(
        [
            e**i * n**j
            for total in range(degree + 1)
            for i, j in ((k, total - k) for k in range(total + 1))
        ],
        axis=1,
    )
    a = design[obs]
    penalty = ridge * obs.sum() * np.eye(a.shape[1])
    penalty[0, 0] = 0.0  # the mean is never damped
    coef = np.linalg.lstsq(a.T @ a + penalty, a.T @ v[obs], rcond=None)[0]
    return design @ coef


def common_large_scale(
    large_scale: ArrayLike | float | None, truth: np.ndarray, mask: np.ndarray, nside: GridLike
) -> np.ndarray:
    """The common large-scale map: given, a constant, or fitted on the truth off the mask."""
    if large_scale is None:
        return large_scale_fit(truth, np.isfinite(truth) & ~mask, nside=nside)
    values = values_of(large_scale, "large_scale")
    if values.ndim == 0:
        return np.full(truth.size, float(values))
    return map_of(values, "large_scale", truth.size)


def _masked_anomaly(values: np.ndarray, large: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values - large`` on the mask with its mean removed, zero elsewhere, RING order."""
    out = np.zeros(values.size)
    d = values[mask] - large[mask]
    out[mask] = d - d.mean()
    return hp.reorder(out, n2r=True)


def masked_spectra(
    x: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    nside: GridLike,
    *,
    lmax: int | None = None,
    large_scale: ArrayLike | float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angular power spectra of ``x`` and ``truth`` restricted to the mask (full sphere only).

    Both maps get the same treatment: the common ``large_scale`` map is subtracted, the
    cells outside the mask are set to zero (never UNSEEN or NaN, which ``anafast`` turns into
    nonsense), the mean over the mask is removed, and ``healpy.anafast`` runs on the map
    reordered to RING.

    Parameters
    ----------
    x, truth : array (npix,)
        NESTED maps (degC), finite on the mask.
    mask : bool array (npix,)
        Cells kept, e.g. the hidden cells.
    nside : int or HealpixGrid
        HEALPix nside of the maps. A regional grid raises: a spherical-harmonic spectrum of
        a region is not defined; use :func:`structure_functions` there.
    lmax : int, optional
        Largest multipole, default ``3 * nside - 1``.
    large_scale : array (npix,), float or None
        Map removed from both; None: :func:`large_scale_fit` (``l <= 15``) of ``truth`` on
        its finite cells off the mask. Pass the fit of the observed cells of the day the fill
        saw (the :func:`compare_methods` default) when the truth is a full field. ``0.0``
        removes nothing: the masked-anafast trap, for demonstration only.

    Returns
    -------
    ell : np.ndarray (lmax + 1,)
    cl_x, cl_truth : np.ndarray (lmax + 1,)
        Pseudo-spectra, degC**2 (not corrected for the mask: compare them, do not interpret
        them alone).
    """
    v, t, m = checked_pair(x, truth, mask, x_name="x")
    grid = checked_grid(nside, t.size, x, truth)
    if grid.is_partial:
        raise ValueError(
            "masked_spectra needs full-sphere maps: an angular power spectrum is not defined "
            "on a region; use structure_functions (small_scale_power_ratio does on a region)"
        )
    nside = grid.nside
    lmax = 3 * nside - 1 if lmax is None else int(lmax)
    if not 1 <= lmax <= 3 * nside - 1:
        raise ValueError(f"lmax must be in [1, {3 * nside - 1}] for nside {nside}, got {lmax}")
    large = common_large_scale(large_scale, t, m, nside)
    if not np.isfinite(large[m]).all():
        raise ValueError("large_scale is not finite on the mask")
    cl_x = hp.anafast(_masked_anomaly(v, large, m), lmax=lmax)
    cl_t = hp.anafast(_masked_anomaly(t, large, m), lmax=lmax)
    return np.arange(lmax + 1), np.asarray(cl_x), np.asarray(cl_t)


def small_scale_power_ratio(
    x: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    nside: GridLike,
    *,
    lmax: int | None = None,
    large_scale: ArrayLike | float | None = None,
    l_min_frac: float = 0.25,
    max_lag: float = 3.0,
) -> float:
    """Small-scale power of ``x`` relative to the truth, in the gaps (1 = right texture).

    The ratio of ``sum C_l`` over ``l`` in ``[l_min_frac * lmax, lmax]`` of the masked
    spectra of ``x`` and ``truth`` (:func:`masked_spectra`). Removing the common large-scale
    map matters: without it the step at the gap edges dominates the high multipoles and the
    ratio is close to 1 even for the smoothest fill; with it a large-scale (Alm) fill scores
    about 0 and a neighbour-average fill well below 1.

    On a regional grid (a :class:`~eogapfill.healpix.HealpixGrid` with ``cell_ids``, or
    DataArrays carrying them) the ratio is that of the structure functions instead
    (:func:`structure_functions`): the sum over pairs of masked cells at most ``max_lag``
    cell sizes apart of the squared differences of ``x - large``, over the same sum for the
    truth (``lmax`` and ``l_min_frac`` are not used there).

    Examples
    --------
    >>> nside = 16; npix = 12 * nside**2
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=npix); mask = np.arange(npix) < npix // 2
    >>> small_scale_power_ratio(truth, truth, mask, nside, large_scale=0.0)
    1.0
    """
    if not 0.0 <= l_min_frac < 1.0:
        raise ValueError(f"l_min_frac must be in [0, 1), got {l_min_frac}")
    grid = checked_grid(nside, map_of(truth, "truth").size, x, truth)
    if grid.is_partial:
        _, d_x, d_t, count = structure_functions(
            x, truth, mask, grid, max_lag=max_lag, large_scale=large_scale
        )
        used = count > 0  # empty distance bins hold NaN
        denominator = float((d_t[used] * count[used]).sum())
        if not denominator > 0:
            raise ValueError(
                "the truth has no small-scale variance on the mask: the ratio is undefined"
            )
        return float((d_x[used] * count[used]).sum() / denominator)
    ell, cl_x, cl_t = masked_spectra(x, truth, mask, nside, lmax=lmax, large_scale=large_scale)
    band = ell >= int(np.ceil(l_min_frac * ell[-1]))
    denominator = cl_t[band].sum()
    if not denominator > 0:
        raise ValueError("the truth has no small-scale power on the mask: the ratio is undefined")
    return float(cl_x[band].sum() / denominator)


def structure_functions(
    x: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    nside: GridLike,
    *,
    max_lag: float = 3.0,
    n_bins: int | None = None,
    large_scale: ArrayLike | float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Structure functions ``D(r) = mean (a_i - a_j)**2`` of ``x`` and ``truth`` on the mask.

    The regional counterpart of :func:`masked_spectra` (and valid on the full sphere too):
    ``a = map - large`` with the common large-scale map removed from both, over every pair of
    masked cells ``i, j`` whose centres are at most ``max_lag`` cell sizes apart
    (great-circle distance, cell size :attr:`HealpixGrid.resolution_km`), binned by
    distance. At lags of a few cells ``D`` measures the variance of the small scales: a
    smooth fill has a small ``D``, white noise a flat one.

    Parameters
    ----------
    x, truth : array (npix,)
        NESTED maps of one grid (degC), finite on the mask.
    mask : bool array (npix,)
        Cells kept (e.g. the hidden cells); both cells of a pair are in the mask.
    nside : int or HealpixGrid
        The grid of the maps (a regional one needs its grid unless the maps carry
        ``cell_ids``).
    max_lag : float
        Largest distance, in cell sizes (> 0).
    n_bins : int, optional
        Number of distance bins, default ``ceil(max_lag)``.
    large_scale : array (npix,), float or None
        As for :func:`masked_spectra` (None: :func:`large_scale_fit` of the truth off the
        mask; on a region, the polynomial fit).

    Returns
    -------
    lag_km : np.ndarray (n_bins,)
        Mean distance of the pairs of each bin, km (NaN for an empty bin).
    d_x, d_truth : np.ndarray (n_bins,)
        Structure functions, degC**2 (NaN for an empty bin).
    n_pairs : np.ndarray (n_bins,) int

    Examples
    --------
    >>> t = np.random.default_rng(3).normal(size=12 * 8**2); m = np.ones(t.size, bool)
    >>> _, d_x, d_t, n = structure_functions(t, t, m, 8, large_scale=0.0)
    >>> bool(np.allclose(d_x, d_t)), int(n.sum()) > 0
    (True, True)
    """
    from scipy.spatial import cKDTree

    v, t, m = checked_pair(x, truth, mask, x_name="x")
    grid = checked_grid(nside, t.size, x, truth)
    if not max_lag > 0:
        raise ValueError(f"max_lag must be a positive number of cell sizes, got {max_lag}")
    n_bins = int(np.ceil(max_lag)) if n_bins is None else int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    large = common_large_scale(large_scale, t, m, grid)
    if not np.isfinite(large[m]).all():
        raise ValueError("large_scale is not finite on the mask")
    cells = np.flatnonzero(m)
    xyz = grid.vectors()[cells]
    max_km = max_lag * grid.resolution_km
    chord = 2.0 * np.sin(min(max_km / EARTH_RADIUS_KM, np.pi) / 2.0)
    pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray")
    if pairs.shape[0] == 0:
        raise ValueError(
            f"no two masked cells lie within {max_lag} cell sizes: widen the mask or max_lag"
        )
    i, j = cells[pairs[:, 0]], cells[pairs[:, 1]]
    cos = np.clip(np.einsum("ik,ik->i", xyz[pairs[:, 0]], xyz[pairs[:, 1]]), -1.0, 1.0)
    dist = np.arccos(cos) * EARTH_RADIUS_KM
    which = np.minimum((dist / max_km * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(which, minlength=n_bins)

    def binned(values: np.ndarray) -> np.ndarray:
        out = np.full(n_bins, np.nan)
        np.divide(np.bincount(which, values, n_bins), count, out=out, where=count > 0)
        return out

    ax, at = v - large, t - large
    return binned(dist), binned((ax[i] - ax[j]) ** 2), binned((at[i] - at[j]) ** 2), count


# ---------------------------------------------------------------------------------------------
# Neighbour statistics
# ---------------------------------------------------------------------------------------------


def neighbour_variance_ratio(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: GridLike
) -> float:
    """Variance of ``x - mean of its neighbours`` on the mask, relative to the truth's.

    Each map's residual uses its own finite HEALPix neighbours
    (:func:`eogapfill.healpix.neighbour_mean`: NaN neighbours, such as land or unknown
    truth, are left out). 1: the fill is as rough at the cell scale as the truth;
    0: a harmonic (Laplace) fill; white noise of the right variance also gives 1, so read it
    with :func:`gradient_histogram_distance`. ``nside`` may be a (regional)
    :class:`~eogapfill.healpix.HealpixGrid`: neighbours outside the region are absent.

    Examples
    --------
    >>> nside = 8; t = np.random.default_rng(1).normal(size=12 * nside**2)
    >>> neighbour_variance_ratio(t, t, np.ones(t.size, bool), nside)
    1.0
    """
    v, t, m = checked_pair(x, truth, mask, x_name="x")
    grid = checked_grid(nside, t.size, x, truth)
    rx = (v - neighbour_mean(v, grid))[m]
    rt = (t - neighbour_mean(t, grid))[m]
    ok = np.isfinite(rx) & np.isfinite(rt)
    if ok.sum() < 2:
        raise ValueError(
            "fewer than 2 masked cells have a finite neighbour: the ratio is undefined"
        )
    denominator = np.var(rt[ok])
    if not denominator > 0:
        raise ValueError("the truth equals the mean of its neighbours on the mask: ratio undefined")
    return float(np.var(rx[ok]) / denominator)


def gradient_magnitude(
    values: ArrayLike, nside: GridLike, cells: ArrayLike | None = None
) -> np.ndarray:
    """``|grad T|`` from the differences to the HEALPix neighbours, degC/km.

    For each cell, the directional derivatives ``(T_n - T_c) / d_n`` towards its finite
    neighbours ``n`` (``d_n`` the great-circle distance, Earth radius 6371 km) are combined
    as ``sqrt(2 * mean(derivative**2))``: for a linear field and neighbours spread evenly
    around the cell (8 on HEALPix) this is exactly ``|grad T|``, since the mean of
    ``cos**2`` over all directions is 1/2. HEALPix neighbours are not quite evenly spread: on smooth
    fields the estimate is within about 10 % of the true gradient, the same for any two maps,
    which is what comparing distributions needs.

    Parameters
    ----------
    values : array (npix,)
        NESTED map, degC (NaN = unknown, left out).
    nside : int or HealpixGrid
        The grid of the map; on a regional grid only the neighbours inside the region count.
    cells : int or bool array, optional
        The cells where the gradient is wanted (indices or mask); default all.

    Returns
    -------
    np.ndarray
        ``|grad T|`` of the chosen cells, degC/km; NaN where the cell is NaN or fewer than
        two neighbours are finite.
    """
    v = map_of(values, "values")
    grid = checked_grid(nside, v.size, values)
    if cells is None:
        idx = np.arange(v.size)
    else:
        c = np.asarray(cells.values if isinstance(cells, xr.DataArray) else cells)
        idx = np.flatnonzero(c) if c.dtype == bool else c.astype(np.int64)
    nb = grid.neighbours()[idx]
    xyz = grid.vectors()
    centre = xyz[idx]
    others = xyz[np.where(nb >= 0, nb, 0)]
    cos = np.clip(np.einsum("ik,ijk->ij", centre, others), -1.0, 1.0)
    dist_km = np.arccos(cos) * EARTH_RADIUS_KM
    diff = np.where(nb >= 0, v[nb], np.nan) - v[idx][:, None]
    slope2 = (diff / dist_km) ** 2
    finite = np.isfinite(slope2)
    count = finite.sum(axis=1)
    mean2 = np.where(finite, slope2, 0.0).sum(axis=1) / np.maximum(count, 1)
    return np.where(count >= 2, np.sqrt(2.0 * mean2), np.nan)


def _gradients(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: GridLike
) -> tuple[np.ndarray, np.ndarray]:
    v, t, m = checked_pair(x, truth, mask, x_name="x")
    grid = checked_grid(nside, t.size, x, truth)
    gx = gradient_magnitude(v, grid, m)
    gt = gradient_magnitude(t, grid, m)
    ok = np.isfinite(gx) & np.isfinite(gt)
    if ok.sum() < 2:
        raise ValueError("fewer than 2 masked cells have a gradient: widen the mask")
    return gx[ok], gt[ok]


def gradient_histograms(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: GridLike, bins: int | np.ndarray = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histograms of ``|grad T|`` (degC/km) of ``x`` and ``truth`` on the mask, shared edges.

    Returns ``(counts_x, counts_truth, edges)``, ready for ``plt.stairs``.
    """
    gx, gt = _gradients(x, truth, mask, nside)
    edges = np.histogram_bin_edges(np.concatenate([gx, gt]), bins=bins)
    return np.histogram(gx, edges)[0], np.histogram(gt, edges)[0], edges


def gradient_histogram_distance(
    x: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    nside: GridLike,
    *,
    metric: Literal["wasserstein", "l1"] = "wasserstein",
    bins: int | np.ndarray = 40,
    relative: bool = True,
) -> float:
    """Distance between the distributions of ``|grad T|`` of ``x`` and ``truth`` on the mask.

    ``|grad T|`` comes from :func:`gradient_magnitude`. With ``metric="wasserstein"`` the
    distance is the Wasserstein-1 (earth mover's) distance of the two samples
    (``scipy.stats.wasserstein_distance``), in degC/km, divided by the truth's mean
    ``|grad T|`` when ``relative`` (dimensionless: 0.5 means the gradients are off by half
    their typical size). With ``metric="l1"`` it is ``sum |p - q|`` of the two histograms
    normalised to 1 on shared ``bins`` (in [0, 2]). 0 for the truth; white noise, whose
    gradients are all alike, is far from a truth with fronts (a few strong gradients over
    calm water), and so is a fill too smooth to have fronts.

    Examples
    --------
    >>> nside = 8; t = np.random.default_rng(2).normal(size=12 * nside**2)
    >>> gradient_histogram_distance(t, t, np.ones(t.size, bool), nside)
    0.0
    """
    from scipy.stats import wasserstein_distance

    gx, gt = _gradients(x, truth, mask, nside)
    if metric == "wasserstein":
        distance = float(wasserstein_distance(gx, gt))
        if relative:
            scale = gt.mean()
            if not scale > 0:
                raise ValueError("the truth has no gradient on the mask: use relative=False")
            distance /= scale
        return float(distance)
    if metric == "l1":
        edges = np.histogram_bin_edges(np.concatenate([gx, gt]), bins=bins)
        p = np.histogram(gx, edges)[0] / gx.size
        q = np.histogram(gt, edges)[0] / gt.size
        return float(np.abs(p - q).sum())
    raise ValueError(f"metric must be 'wasserstein' or 'l1', got {metric!r}")
