"""Texture of a fill on the hidden cells: masked spectra, neighbour residuals, gradients.

Spectra are compared after removing a *common* large-scale map (:func:`large_scale_fit`),
which avoids the masked-``anafast`` trap; :func:`gradient_histogram_distance` compares the
distributions of ``|grad T|``, which white noise fails.
"""

from __future__ import annotations

from typing import Literal

import healpy as hp
import numpy as np
import xarray as xr

from eogapfill.harmonics import fit_harmonics
from eogapfill.healpix import EARTH_RADIUS_KM, neighbour_mean, neighbours
from eogapfill.validate.inputs import (
    ArrayLike,
    checked_nside,
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
]


def large_scale_fit(
    values: ArrayLike,
    observed: ArrayLike | None = None,
    *,
    nside: int | None = None,
    lmax: int = 15,
    ridge: float = 1e-3,
) -> np.ndarray:
    """Least-squares fit of real spherical harmonics ``l <= lmax`` to observed cells.

    The map to remove from both the fill and the truth before comparing their spectra
    (:func:`small_scale_power_ratio`): the package's Alm fit
    (:func:`eogapfill.harmonics.fit_harmonics`, the fit of ``fill_alm``) of the observed cells,
    evaluated on every cell.

    Large holes (continents, big cloud systems) leave some harmonics nearly unconstrained and
    a plain fit can swing by tens of degrees inside them; then the common map dominates both
    masked maps and the spectral ratio drifts back to 1. The default ``ridge=1e-3`` (a
    Tikhonov penalty, see ``fit_harmonics``) keeps the fit bounded there at the cost of a few
    hundredths of a degree on the observed cells; ``ridge=0`` gives the plain fit.

    Parameters
    ----------
    values : array (npix,)
        NESTED map, degC (NaN = not observed).
    observed : bool array (npix,), optional
        Cells to fit; default: the finite cells of ``values``.
    nside : int, optional
        Checked against the map's length when given.
    lmax : int
        Largest multipole of the fit (15: scales above about 1300 km).
    ridge : float
        Tikhonov weight (>= 0).

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
    nside_map = hp.npix2nside(npix) if nside is None else checked_nside(npix, nside)
    obs = np.isfinite(v)
    if observed is not None:
        obs &= mask_of(observed, npix, "observed")
    if not obs.any():
        raise ValueError("no finite observed cell to fit the large-scale map on")
    _, large = fit_harmonics(np.where(obs, v, np.nan), obs, nside_map, lmax, ridge=ridge)
    return np.asarray(large, dtype="float64")


def common_large_scale(
    large_scale: ArrayLike | float | None, truth: np.ndarray, mask: np.ndarray, nside: int
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
    nside: int,
    *,
    lmax: int | None = None,
    large_scale: ArrayLike | float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angular power spectra of ``x`` and ``truth`` restricted to the mask.

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
    nside : int
        HEALPix nside of the maps.
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
    checked_nside(t.size, nside)
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
    nside: int,
    *,
    lmax: int | None = None,
    large_scale: ArrayLike | float | None = None,
    l_min_frac: float = 0.25,
) -> float:
    """Small-scale power of ``x`` relative to the truth, in the gaps (1 = right texture).

    The ratio of ``sum C_l`` over ``l`` in ``[l_min_frac * lmax, lmax]`` of the masked
    spectra of ``x`` and ``truth`` (:func:`masked_spectra`). Removing the common large-scale
    map matters: without it the step at the gap edges dominates the high multipoles and the
    ratio is close to 1 even for the smoothest fill; with it a large-scale (Alm) fill scores
    about 0 and a neighbour-average fill well below 1.

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
    ell, cl_x, cl_t = masked_spectra(x, truth, mask, nside, lmax=lmax, large_scale=large_scale)
    band = ell >= int(np.ceil(l_min_frac * ell[-1]))
    denominator = cl_t[band].sum()
    if not denominator > 0:
        raise ValueError("the truth has no small-scale power on the mask: the ratio is undefined")
    return float(cl_x[band].sum() / denominator)


# ---------------------------------------------------------------------------------------------
# Neighbour statistics
# ---------------------------------------------------------------------------------------------


def neighbour_variance_ratio(x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: int) -> float:
    """Variance of ``x - mean of its neighbours`` on the mask, relative to the truth's.

    Each map's residual uses its own finite HEALPix neighbours
    (:func:`eogapfill.healpix.neighbour_mean`: NaN neighbours, such as land or unknown
    truth, are left out). 1: the fill is as rough at the cell scale as the truth;
    0: a harmonic (Laplace) fill; white noise of the right variance also gives 1, so read it
    with :func:`gradient_histogram_distance`.

    Examples
    --------
    >>> nside = 8; t = np.random.default_rng(1).normal(size=12 * nside**2)
    >>> neighbour_variance_ratio(t, t, np.ones(t.size, bool), nside)
    1.0
    """
    v, t, m = checked_pair(x, truth, mask, x_name="x")
    checked_nside(t.size, nside)
    rx = (v - neighbour_mean(v, nside))[m]
    rt = (t - neighbour_mean(t, nside))[m]
    ok = np.isfinite(rx) & np.isfinite(rt)
    if ok.sum() < 2:
        raise ValueError(
            "fewer than 2 masked cells have a finite neighbour: the ratio is undefined"
        )
    denominator = np.var(rt[ok])
    if not denominator > 0:
        raise ValueError("the truth equals the mean of its neighbours on the mask: ratio undefined")
    return float(np.var(rx[ok]) / denominator)


def gradient_magnitude(values: ArrayLike, nside: int, cells: ArrayLike | None = None) -> np.ndarray:
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
    nside : int
    cells : int or bool array, optional
        The cells where the gradient is wanted (indices or mask); default all.

    Returns
    -------
    np.ndarray
        ``|grad T|`` of the chosen cells, degC/km; NaN where the cell is NaN or fewer than
        two neighbours are finite.
    """
    v = map_of(values, "values")
    checked_nside(v.size, nside)
    if cells is None:
        idx = np.arange(v.size)
    else:
        c = np.asarray(cells.values if isinstance(cells, xr.DataArray) else cells)
        idx = np.flatnonzero(c) if c.dtype == bool else c.astype(np.int64)
    nb = neighbours(nside)[idx]
    centre = np.stack(hp.pix2vec(nside, idx, nest=True), axis=-1)
    others = np.stack(hp.pix2vec(nside, np.where(nb >= 0, nb, 0), nest=True), axis=-1)
    cos = np.clip(np.einsum("ik,ijk->ij", centre, others), -1.0, 1.0)
    dist_km = np.arccos(cos) * EARTH_RADIUS_KM
    diff = np.where(nb >= 0, v[nb], np.nan) - v[idx][:, None]
    slope2 = (diff / dist_km) ** 2
    finite = np.isfinite(slope2)
    count = finite.sum(axis=1)
    mean2 = np.where(finite, slope2, 0.0).sum(axis=1) / np.maximum(count, 1)
    return np.where(count >= 2, np.sqrt(2.0 * mean2), np.nan)


def _gradients(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: int
) -> tuple[np.ndarray, np.ndarray]:
    v, t, m = checked_pair(x, truth, mask, x_name="x")
    checked_nside(t.size, nside)
    gx = gradient_magnitude(v, nside, m)
    gt = gradient_magnitude(t, nside, m)
    ok = np.isfinite(gx) & np.isfinite(gt)
    if ok.sum() < 2:
        raise ValueError("fewer than 2 masked cells have a gradient: widen the mask")
    return gx[ok], gt[ok]


def gradient_histograms(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, nside: int, bins: int | np.ndarray = 40
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
    nside: int,
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
