"""Smooth local masks: where on the sphere a statistic is measured.

A scattering-transform fill (:mod:`eogapfill.fill.foscat`) does not match one set of
statistics for the whole globe: the Gulf Stream and the tropical Pacific do not share their
texture. It measures the statistics under a few *local masks*, smooth windows that together
cover the sphere, each multiplied by the cells that may be counted (the sea, or the observed
sea). The regions are the cells of a coarse HEALPix grid (the 12 base pixels, or their 48
children); each region's indicator map is smoothed with a Gaussian beam so that the windows
overlap and have no sharp edge, then scaled to a maximum of 1.
"""

from __future__ import annotations

from functools import lru_cache

import healpy as hp
import numpy as np

from eogapfill.healpix import HealpixGrid, check_nside

__all__ = ["MIN_NSIDE", "local_masks"]

#: The coarsest grid the local masks are offered on. A region is one base pixel, a square of
#: ``nside x nside`` cells: at ``nside = 16`` the wavelet transform has 5 dyadic scales
#: (16, 8, 4, 2, 1 cells) inside a region, enough for its statistics to mean something.
MIN_NSIDE = 16


@lru_cache(maxsize=8)
def _windows(nside: int, n_regions: int, smooth_deg: float) -> np.ndarray:
    """The smoothed regions, each scaled to a maximum of 1, shape ``(n_regions, npix)``."""
    npix = 12 * nside**2
    # In NESTED order the cells of coarse cell k are the contiguous block k of (nside/c)**2 cells.
    region = np.arange(npix) // (npix // n_regions)
    indicators = np.stack(
        [hp.reorder((region == k).astype("float64"), n2r=True) for k in range(n_regions)]
    )
    lmax = 3 * nside - 1
    alms = hp.map2alm(indicators, lmax=lmax, pol=False)
    beam = hp.gauss_beam(np.radians(smooth_deg), lmax=lmax)
    smooth = hp.alm2map([hp.almxfl(alm, beam) for alm in alms], nside, lmax=lmax, pol=False)
    smooth = hp.reorder(np.atleast_2d(smooth), r2n=True)
    smooth = np.clip(smooth, 0.0, None)  # the beam's ringing dips slightly below zero
    windows = smooth / smooth.max(axis=1, keepdims=True)
    windows.setflags(write=False)
    return windows


def local_masks(
    nside: int,
    sea: np.ndarray | None = None,
    *,
    n_regions: int = 12,
    smooth_deg: float | None = None,
    finer: bool = False,
) -> np.ndarray:
    """Smooth local masks, one per region of a coarse HEALPix grid, times ``sea``.

    Parameters
    ----------
    nside
        The map's HEALPix nside (NESTED); at least :data:`MIN_NSIDE` (16), and at least 32
        for 48 regions.
    sea
        Weights of the cells that may be counted, shape ``(12 * nside**2,)``: a boolean sea
        (or observed-sea) mask or floats in [0, 1]. ``None`` counts every cell.
    n_regions
        12 (one region per base pixel, as in the original tutorial) or 48 (the children of
        the base pixels, nside 2).
    smooth_deg
        Full width at half maximum of the Gaussian beam that smooths each region, degrees.
        Default: 60 for 12 regions, 30 for 48 (the regions' own size).
    finer
        Shorthand for ``n_regions=48``.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(n_regions, 12 * nside**2)``, values in [0, 1]: row ``k`` is
        the smoothed region ``k`` (maximum 1) times ``sea``.

    Raises
    ------
    ValueError
        If ``nside`` is not a power of two or is too small, if ``n_regions`` is not 12 or 48,
        or if ``sea`` has the wrong shape or counts no cell.

    Examples
    --------
    >>> import numpy as np
    >>> masks = local_masks(16, np.ones(12 * 16**2, dtype=bool))
    >>> masks.shape, bool(masks.min() >= 0), float(masks.max())
    ((12, 3072), True, 1.0)
    """
    check_nside(nside)
    if finer:
        if n_regions not in (12, 48):
            raise ValueError(f"finer=True asks for 48 regions, but n_regions={n_regions} was given")
        n_regions = 48
    if n_regions not in (12, 48):
        raise ValueError(
            f"n_regions must be 12 (base pixels) or 48 (their children), got {n_regions}"
        )
    coarse_nside = 1 if n_regions == 12 else 2
    min_nside = MIN_NSIDE * coarse_nside
    if nside < min_nside:
        raise ValueError(
            f"nside {nside} is too small for {n_regions} local masks: each region must hold "
            f"at least {MIN_NSIDE}x{MIN_NSIDE} cells for the scattering scales; use nside >= "
            f"{min_nside} (regrid with a larger nside)"
        )
    npix = HealpixGrid(nside).npix
    if sea is None:
        weight = np.ones(npix)
    else:
        weight = np.asarray(sea, dtype="float64")
        if weight.shape != (npix,):
            raise ValueError(
                f"sea has shape {weight.shape}, expected ({npix},) for nside {nside} (NESTED)"
            )
        if not np.all(np.isfinite(weight)) or weight.min() < 0:
            raise ValueError("sea must be finite weights >= 0 (a boolean mask is fine)")
        if not weight.any():
            raise ValueError("sea counts no cell: the local masks would be empty")
    if smooth_deg is None:
        smooth_deg = 60.0 if n_regions == 12 else 30.0
    if not smooth_deg > 0:
        raise ValueError(f"smooth_deg must be a positive angle in degrees, got {smooth_deg}")

    masks = _windows(nside, n_regions, float(smooth_deg))
    return masks * weight[None, :]
