"""Smooth local masks: where on the sphere a statistic is measured.

A scattering-transform fill (:mod:`eogapfill.fill.foscat`) does not match one set of
statistics for the whole globe: the Gulf Stream and the tropical Pacific do not share their
texture. It measures the statistics under a few *local masks*, smooth windows that together
cover the sphere, each multiplied by the cells that may be counted (the sea, or the observed
sea). The regions are the cells of a coarse HEALPix grid (the 12 base pixels, or their 48
children); each region's indicator map is smoothed with a Gaussian beam so that the windows
overlap and have no sharp edge (a Gaussian of the angular distance), then scaled to a
maximum of 1.
"""

from __future__ import annotations

from functools import lru_cache

import healpy as hp
import numpy as np

from eogapfill.healpix import HealpixGrid, cell_vectors, check_nside, nearest_distance_km

__all__ = ["MIN_NSIDE", "local_masks", "near_gap_weights"]

#: The coarsest grid the local masks are offered on. A region is one base pixel, a square of
#: ``nside x nside`` cells: at ``nside = 16`` the wavelet transform has 5 dyadic scales
#: (16, 8, 4, 2, 1 cells) inside a region, enough for its statistics to mean something.
MIN_NSIDE = 16


#: The windows are computed on this grid, then interpolated to finer ones: they are smooth
#: on scales of tens of degrees, far above its 3.7 degree cells.
_WINDOW_NSIDE = 16


@lru_cache(maxsize=8)
def _windows(
    nside: int, n_regions: int, smooth_deg: float, cells: bytes | None = None
) -> np.ndarray:
    """The smoothed regions, each scaled to a maximum of 1 over the sphere, shape
    ``(n_regions, npix)``, or ``(n_regions, n_cells)`` at the NESTED ids ``cells`` (int64
    bytes) only.

    Window ``k`` at a cell is the sum, over the nside-8 cells tiling region ``k``, of a Gaussian
    of the angular distance (FWHM ``smooth_deg``): a direct quadrature, single-threaded and
    predictable in cost (spherical-harmonic smoothing would be the same up to the beam's
    shape, at many times the cost on a busy machine).
    """
    sigma = np.radians(smooth_deg) / np.sqrt(8.0 * np.log(2.0))
    src_nside = 8  # 64 source cells per base pixel, 16 per child: spacing 7 degrees
    src = cell_vectors(src_nside)
    src_region = np.arange(src.shape[0]) // (src.shape[0] // n_regions)
    onehot = np.zeros((src.shape[0], n_regions))
    onehot[np.arange(src.shape[0]), src_region] = 1.0
    eval_nside = min(nside, _WINDOW_NSIDE)
    dst = cell_vectors(eval_nside)
    angle = np.arccos(np.clip(dst @ src.T, -1.0, 1.0))
    coarse = np.exp(-0.5 * (angle / sigma) ** 2) @ onehot  # (npix_eval, n_regions)
    ids = np.arange(12 * nside**2) if cells is None else np.frombuffer(cells, dtype=np.int64)
    if eval_nside == nside:
        windows = coarse.T[:, ids]
    else:  # bilinear interpolation of the RING-ordered coarse windows at the fine cell centres
        theta, phi = hp.pix2ang(nside, ids, nest=True)
        pix, weight = hp.get_interp_weights(eval_nside, theta, phi)  # (4, npix), RING ids
        ring = hp.reorder(coarse.T, n2r=True)  # (n_regions, npix_eval)
        windows = ring[:, pix[0]] * weight[0]
        for j in range(1, 4):
            windows += ring[:, pix[j]] * weight[j]
    if cells is None:
        windows = windows / windows.max(axis=1, keepdims=True)
    else:  # the sphere's maxima, up to the interpolation (< 0.2 %): those of the coarse cells
        windows = windows / coarse.T.max(axis=1, keepdims=True)
    windows.setflags(write=False)
    return windows


def local_masks(
    nside: int,
    sea: np.ndarray | None = None,
    *,
    n_regions: int = 12,
    smooth_deg: float | None = None,
    finer: bool = False,
    cells: np.ndarray | None = None,
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
        Full width at half maximum of the Gaussian (of the angular distance) that smooths
        each region, degrees.
        Default: 60 for 12 regions, 30 for 48 (the regions' own size).
    finer
        Shorthand for ``n_regions=48``.
    cells
        NESTED ids of a regional (partial) map: the masks are evaluated at those cells only
        (``npix`` below is then their number): the full-sphere masks at those cells, to
        within 0.2 % (the scale of each window is its maximum on the coarse grid), without
        the memory of full-sphere masks (12 x 3.1 M values at nside 512).

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
    key = None if cells is None else np.asarray(cells, dtype=np.int64).tobytes()
    npix = HealpixGrid(nside).npix if cells is None else int(np.size(cells))
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

    masks = _windows(nside, n_regions, float(smooth_deg), key)
    return masks * weight[None, :]


def near_gap_weights(
    observed: np.ndarray, gaps: np.ndarray, nside: int | HealpixGrid, scale_km: float
) -> np.ndarray:
    """Weights of the observed cells that favour the clear water next to the gaps.

    A correction of the clear-sky selection bias: clouds sit over fronts and upwelling, so
    the water far from any cloud is calmer than the water under them, and statistics of all
    observed cells alike under-state the texture in the gaps. The weight of an observed cell
    decays with its great-circle distance ``d`` (km) to the nearest gap cell as
    ``exp(-d / scale_km)``; other cells get 0.

    Parameters
    ----------
    observed, gaps : bool arrays (npix,)
        Observed sea cells and gap cells, NESTED order, on the cells of the grid.
    nside : int or HealpixGrid
        HEALPix nside of full-sphere maps, or the (regional) grid of the maps.
    scale_km : float
        e-folding distance of the weights, km (larger: closer to uniform weights).

    Returns
    -------
    numpy.ndarray (npix,)
        Weights in ``[0, 1]``, 1 on the observed neighbours of gap cells.
    """
    grid = nside if isinstance(nside, HealpixGrid) else HealpixGrid(int(nside))
    if not scale_km > 0:
        raise ValueError(f"scale_km must be > 0, got {scale_km}")
    observed = np.asarray(observed, dtype=bool)
    gaps = np.asarray(gaps, dtype=bool)
    if observed.shape != (grid.npix,) or gaps.shape != (grid.npix,):
        raise ValueError(f"observed and gaps must have shape ({grid.npix},)")
    if not gaps.any():
        raise ValueError("no gap cell: the weights favour the cells next to the gaps")
    distance_km = nearest_distance_km(grid, gaps, observed)
    # the 8 neighbours of a gap cell lie up to ~1.5 cells away: count them as distance 0
    distance_km = np.maximum(distance_km - 1.5 * grid.resolution_km, 0.0)
    weights = np.zeros(grid.npix)
    weights[observed] = np.exp(-distance_km / scale_km)
    return weights
