"""Score gap fills honestly: hide observed pixels under real clouds, fill, compare.

The protocol (DINCAE / DINEOF style cross-validation):

1. take a regridded day and the cloud pattern of *another* day (:func:`cloud_pattern_from`);
2. hide the clear sea pixels of the day that fall under those clouds (:func:`hide_pixels`):
   their observed values become the truth, the fill never sees them;
3. fill the day with its extra gaps and score the fill on the hidden pixels only
   (:func:`score_fill`, :func:`compare_methods`; :func:`validation_experiment` does all three).

Scores, all computed on the hidden cells (``mask``):

- pointwise: :func:`rmse`, :func:`bias`, :func:`mae`, the skill :func:`skill` (``mu``) and
  the :func:`error_histogram`;
- texture: :func:`small_scale_power_ratio` (spectra after removing a *common* large-scale map,
  which avoids the masked-``anafast`` trap), :func:`neighbour_variance_ratio` and
  :func:`gradient_histogram_distance` (the distribution of ``|grad T|``, which white noise fails);
- probabilistic: :func:`crps_ensemble`, :func:`spread_skill` for ensembles, and
  :func:`crps_gaussian`, :func:`spread_skill_gaussian`, :func:`zscore_std` for a Gaussian
  predictive ``(mean, std)``.

Every map is a full-sphere NESTED HEALPix map of shape ``(npix,)`` with ``npix = 12 * nside**2``
(numpy array or ``DataArray`` on ``cells``); temperatures are in degC, gradients in degC/km.
``truth`` only needs to be finite on the mask (NaN elsewhere is fine: for instance the day's
observed SST before hiding, NaN under its own clouds and on land).

Every result row records its ``protocol``: ``"honest"`` (the fill used the observed pixels
only, the default), ``"previous-day"`` (its statistics came from another day's L4 or a
climatology) or ``"oracle"`` (it saw the same day's L4, as the original tutorial did: a
reproduction, not a score). The truth itself is observed SST here; when the day's L4 is used
as a full-field truth instead, remember that it is an optimal-interpolation analysis, smoother
than real SST, so scores against it favour smooth fills.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import healpy as hp
import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.fill.laplace import neighbour_mean
from eogapfill.healpix import EARTH_RADIUS_KM, check_nside, grid_of, healpix_dataset, neighbours

__all__ = [
    "PROTOCOLS",
    "ValidationCase",
    "bias",
    "cloud_pattern_from",
    "compare_methods",
    "crps_ensemble",
    "crps_gaussian",
    "default_methods",
    "error_histogram",
    "gradient_histogram_distance",
    "gradient_histograms",
    "gradient_magnitude",
    "hide_pixels",
    "large_scale_fit",
    "mae",
    "masked_spectra",
    "neighbour_variance_ratio",
    "rmse",
    "score_fill",
    "shift_longitude",
    "skill",
    "small_scale_power_ratio",
    "spread_skill",
    "spread_skill_gaussian",
    "validation_experiment",
    "zscore_std",
]

#: Where a fill's reference information came from (the ``protocol`` column of every score).
PROTOCOLS = ("honest", "previous-day", "oracle")

ArrayLike = np.ndarray | xr.DataArray


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _values(x: ArrayLike | float, name: str) -> np.ndarray:
    if isinstance(x, xr.Dataset):
        raise TypeError(
            f"{name} must be a map (numpy array or DataArray), got a Dataset; "
            f"pick a variable, e.g. result['filled']"
        )
    return np.asarray(x.values if isinstance(x, xr.DataArray) else x, dtype="float64")


def _map(x: ArrayLike, name: str, npix: int | None = None) -> np.ndarray:
    """A 1-D float map; checks its length against ``npix`` when given."""
    values = _values(x, name)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D HEALPix map (cells,), got shape {values.shape}")
    if npix is not None and values.size != npix:
        raise ValueError(
            f"{name} has {values.size} cells but the other maps have {npix}: "
            "score maps of the same nside (regrid both to one grid)"
        )
    return values


def _mask(mask: ArrayLike, npix: int, name: str = "mask") -> np.ndarray:
    """A non-empty boolean mask of length ``npix``."""
    values = np.asarray(mask.values if isinstance(mask, xr.DataArray) else mask)
    if values.dtype != bool:
        raise TypeError(f"{name} must be boolean (True = scored cell), got dtype {values.dtype}")
    if values.shape != (npix,):
        raise ValueError(
            f"{name} has shape {values.shape} but the maps have ({npix},): "
            "build the mask on the same grid as the maps"
        )
    if not values.any():
        raise ValueError(
            f"{name} is empty: there is no cell to score; hide some observed pixels first "
            "with eogapfill.validate.hide_pixels"
        )
    return values


def _nside_of(npix: int, nside: int) -> int:
    check_nside(nside)
    if 12 * nside**2 != npix:
        try:
            actual = f"; the maps are nside {hp.npix2nside(npix)}"
        except ValueError:
            actual = ""
        raise ValueError(
            f"nside={nside} needs {12 * nside**2} cells but the maps have {npix}{actual}: "
            "pass the nside of the maps"
        )
    return nside


def _pair(
    x: ArrayLike, truth: ArrayLike, mask: ArrayLike, *, x_name: str = "filled"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(x, truth, mask)``: same length, non-empty mask, both finite on the mask."""
    t = _map(truth, "truth")
    v = _map(x, x_name, t.size)
    m = _mask(mask, t.size)
    bad = int((~np.isfinite(t[m])).sum())
    if bad:
        raise ValueError(
            f"truth has {bad} non-finite value(s) on the mask: score only cells where the truth "
            "is known, e.g. mask & np.isfinite(truth)"
        )
    bad = int((~np.isfinite(v[m])).sum())
    if bad:
        raise ValueError(
            f"{x_name} has {bad} non-finite value(s) on the mask: the fill left hidden cells "
            "empty (or the mask covers land)"
        )
    return v, t, m


# ---------------------------------------------------------------------------------------------
# Hiding pixels under another day's clouds
# ---------------------------------------------------------------------------------------------


def cloud_pattern_from(ds_other: xr.Dataset) -> xr.DataArray:
    """The cloud pattern of a regridded day: its ``gap`` map (bool, ``(cells,)``).

    Parameters
    ----------
    ds_other : xr.Dataset
        A day regridded to HEALPix (:func:`eogapfill.regrid.to_healpix`) with a ``gap``
        variable (sea cells without an observation).

    Returns
    -------
    xr.DataArray
        Boolean map named ``cloud_pattern``, True under the day's clouds.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> ds = healpix_dataset({"gap": np.arange(48) < 5}, nside=2)
    >>> int(cloud_pattern_from(ds).sum())
    5
    """
    grid_of(ds_other)
    if "gap" not in ds_other:
        raise ValueError(
            "the dataset has no 'gap' variable: pass a day regridded with "
            "eogapfill.regrid.to_healpix (its 'gap' marks the sea cells under clouds)"
        )
    gap = ds_other["gap"]
    if gap.dtype != bool:
        raise TypeError(f"'gap' must be boolean, got dtype {gap.dtype}")
    return gap.rename("cloud_pattern").assign_attrs(
        long_name="cloud pattern (True = no observation at sea)"
    )


@lru_cache(maxsize=8)
def _rings(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """First RING index and length of each of the ``4 * nside - 1`` iso-latitude rings."""
    npix = 12 * nside**2
    i = np.arange(1, 4 * nside)
    length = np.where(i < nside, 4 * i, np.where(i <= 3 * nside, 4 * nside, 4 * (4 * nside - i)))
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    assert start[-1] + length[-1] == npix
    return start, length


def shift_longitude(values: ArrayLike, nside: int, degrees: float) -> np.ndarray:
    """Move a NESTED map eastward by ``degrees`` of longitude, in whole cells of each ring.

    Each iso-latitude ring of the ring scheme is rotated by ``round(degrees / 360 * n)``
    cells, ``n`` being the ring's length (``4 * nside`` near the equator, fewer towards the
    poles), so the map keeps its values and shapes and moves by ``degrees`` to within half a
    cell. Used to move a cloud pattern over other water.

    Parameters
    ----------
    values : array (npix,)
        Any NESTED map (bool or numbers).
    nside : int
        HEALPix nside of the map.
    degrees : float
        Eastward shift, degrees (any real; taken modulo 360).

    Returns
    -------
    np.ndarray (npix,)
        The shifted map, same dtype.

    Examples
    --------
    >>> m = np.zeros(48, dtype=bool); m[0] = True          # a cell at lon 45, nside 2
    >>> lon, _ = hp.pix2ang(2, np.flatnonzero(shift_longitude(m, 2, 90.0)), nest=True, lonlat=True)
    >>> lon.tolist()
    [135.0]
    """
    check_nside(nside)
    arr = np.asarray(values.values if isinstance(values, xr.DataArray) else values)
    npix = 12 * nside**2
    if arr.shape != (npix,):
        raise ValueError(f"map has shape {arr.shape}, nside {nside} needs ({npix},)")
    start, length = _rings(nside)
    ring_pix = hp.nest2ring(nside, np.arange(npix))
    ring = np.searchsorted(start, ring_pix, side="right") - 1
    steps = np.rint((degrees % 360.0) / 360.0 * length).astype(np.int64)
    pos = (ring_pix - start[ring] + steps[ring]) % length[ring]
    target = hp.ring2nest(nside, start[ring] + pos)
    out = np.empty_like(arr)
    out[target] = arr
    return out


def hide_pixels(
    ds_hpx: xr.Dataset,
    cloud_pattern: ArrayLike,
    *,
    seed: int | None = None,
    fraction: float | None = None,
    lon_shift: float | Literal["random"] = 0.0,
    block_nside: int = 8,
) -> tuple[xr.Dataset, xr.DataArray]:
    """Hide the clear sea pixels of a day that lie under another day's clouds.

    Parameters
    ----------
    ds_hpx : xr.Dataset
        A regridded day (``SST_L3S`` degC, ``gap``, ``sea``; dim ``cells``).
    cloud_pattern : bool array or DataArray (npix,)
        True where clouds are, e.g. ``cloud_pattern_from(other_day)``; same nside as the day.
    seed : int, optional
        Seed of the random choices (``lon_shift="random"``, the blocks kept by ``fraction``).
    fraction : float in (0, 1], optional
        Hide only about this fraction of the day's clear sea cells: the pattern is kept on
        NESTED blocks of level ``block_nside`` taken in random order until the count is
        reached, so the hidden cells keep the shapes of real clouds. The pattern may cover
        fewer cells than asked; ``hidden.attrs["hidden_fraction"]`` gives what was hidden.
        None: hide every clear sea cell under the pattern.
    lon_shift : float or "random"
        Move the pattern eastward by this many degrees first (:func:`shift_longitude`), or by
        a random angle; 0 takes the pattern as is.
    block_nside : int
        Block level for ``fraction`` (8: 768 blocks of about 7 degrees).

    Returns
    -------
    ds_hidden : xr.Dataset
        Copy of ``ds_hpx`` with ``SST_L3S`` NaN and ``gap`` True on the hidden cells; every
        other variable (``SST_L4`` included) unchanged.
    hidden : xr.DataArray (cells,) bool
        True on the withheld observed cells: the cells to score. Their truth is
        ``ds_hpx.SST_L3S`` (the values before hiding).

    Raises
    ------
    ValueError
        If the grids differ or if the pattern covers no clear sea cell (nothing hidden).

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> sst = np.where(np.arange(48) < 40, 15.0, np.nan)
    >>> ds = healpix_dataset({"SST_L3S": sst, "sea": np.ones(48, bool), "gap": np.isnan(sst)}, 2)
    >>> hidden_ds, hidden = hide_pixels(ds, np.arange(48) % 2 == 0)
    >>> int(hidden.sum()), int(hidden_ds.gap.sum())
    (20, 28)
    """
    grid = grid_of(ds_hpx)
    for name in ("SST_L3S", "gap"):
        if name not in ds_hpx:
            raise ValueError(
                f"the dataset has no {name!r} variable: pass a day regridded with "
                "eogapfill.regrid.to_healpix"
            )
    if isinstance(cloud_pattern, xr.DataArray) and "cell_ids" in cloud_pattern.coords:
        other = grid_of(cloud_pattern)
        if other.nside != grid.nside:
            raise ValueError(
                f"the cloud pattern is on nside {other.nside} but the day on nside "
                f"{grid.nside}: regrid both days to the same nside"
            )
    pattern = np.asarray(
        cloud_pattern.values if isinstance(cloud_pattern, xr.DataArray) else cloud_pattern
    )
    if pattern.dtype != bool:
        raise TypeError(f"cloud_pattern must be boolean (True = cloud), got dtype {pattern.dtype}")
    if pattern.shape != (grid.npix,):
        raise ValueError(
            f"the cloud pattern has shape {pattern.shape} but the day has ({grid.npix},) "
            f"cells (nside {grid.nside}): regrid both days to the same nside"
        )
    rng = np.random.default_rng(seed)
    if isinstance(lon_shift, str):
        if lon_shift != "random":
            raise ValueError(
                f"lon_shift must be a number of degrees or 'random', got {lon_shift!r}"
            )
        lon_shift = float(rng.uniform(0.0, 360.0))
    if lon_shift % 360.0:
        pattern = shift_longitude(pattern, grid.nside, float(lon_shift))

    sst = np.asarray(ds_hpx["SST_L3S"].values, dtype="float64")
    gap = np.asarray(ds_hpx["gap"].values, dtype=bool)
    sea = np.asarray(ds_hpx["sea"].values, dtype=bool) if "sea" in ds_hpx else np.ones_like(gap)
    clear = sea & ~gap & np.isfinite(sst)
    hidden = pattern & clear
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        hidden = _keep_blocks(hidden, grid.nside, block_nside, fraction * clear.sum(), rng)
    n_hidden = int(hidden.sum())
    if n_hidden == 0:
        raise ValueError(
            "the cloud pattern covers no clear sea cell of this day: nothing to hide; take "
            "another day's clouds or move them (lon_shift='random')"
        )
    out = ds_hpx.copy()
    out["SST_L3S"] = ds_hpx["SST_L3S"].copy(
        data=np.where(hidden, np.nan, sst).astype(ds_hpx["SST_L3S"].dtype)
    )
    out["gap"] = ds_hpx["gap"].copy(data=gap | hidden)
    hidden_da = (
        ds_hpx["gap"]
        .copy(data=hidden)
        .rename("hidden")
        .assign_attrs(
            long_name="observed sea cells withheld for validation",
            hidden_cells=n_hidden,
            hidden_fraction=float(n_hidden / max(int(clear.sum()), 1)),
            lon_shift_deg=float(lon_shift),
        )
    )
    return out, hidden_da


def _keep_blocks(
    hidden: np.ndarray, nside: int, block_nside: int, target: float, rng: np.random.Generator
) -> np.ndarray:
    """Keep whole NESTED blocks of ``hidden``, in random order, until ``target`` cells."""
    check_nside(block_nside)
    block_nside = min(block_nside, nside)
    per_block = (nside // block_nside) ** 2
    blocks = hidden.reshape(-1, per_block)
    counts = blocks.sum(axis=1)
    order = rng.permutation(np.flatnonzero(counts))
    if order.size == 0:
        return hidden
    cumulative = np.cumsum(counts[order])
    n_keep = int(np.searchsorted(cumulative, max(target, 1.0))) + 1
    keep = np.zeros(blocks.shape[0], dtype=bool)
    keep[order[:n_keep]] = True
    return (blocks & keep[:, None]).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Pointwise scores
# ---------------------------------------------------------------------------------------------


def rmse(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Root-mean-square error on the mask, in the units of the maps (degC).

    Examples
    --------
    >>> rmse(np.array([1.0, 3.0, 9.0]), np.array([0.0, 0.0, 9.0]), np.array([True, True, False]))
    2.23606797749979
    """
    v, t, m = _pair(filled, truth, mask)
    return float(np.sqrt(np.mean((v[m] - t[m]) ** 2)))


def bias(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean error ``filled - truth`` on the mask (degC; positive: the fill is too warm)."""
    v, t, m = _pair(filled, truth, mask)
    return float(np.mean(v[m] - t[m]))


def mae(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean absolute error on the mask (degC)."""
    v, t, m = _pair(filled, truth, mask)
    return float(np.mean(np.abs(v[m] - t[m])))


def skill(
    filled: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    reference: ArrayLike | float | None = None,
) -> float:
    """Skill ``mu = 1 - RMSE / RMS(truth anomaly)`` on the mask (dimensionless, <= 1).

    The truth anomaly is ``truth - reference``; by default the reference is the mean of the
    truth over the mask, so ``mu = 0`` for the fill that puts that one constant everywhere
    (a "climatological" fill that even knows the hidden mean), ``mu = 1`` for a perfect fill,
    and ``mu < 0`` for a fill worse than that constant. Pass ``reference`` (e.g. a
    climatology or the large-scale fit) to measure skill beyond it.

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 3.0]); m = np.ones(3, bool)
    >>> skill(t, t, m), skill(np.full(3, 2.0), t, m)
    (1.0, 0.0)
    """
    v, t, m = _pair(filled, truth, mask)
    if reference is None:
        anomaly = t[m] - t[m].mean()
    else:
        ref = np.broadcast_to(_values(reference, "reference"), t.shape)
        anomaly = t[m] - ref[m]
    scale = np.sqrt(np.mean(anomaly**2))
    if not scale > 0:
        raise ValueError(
            "the truth anomaly is zero on the mask (constant truth): the skill is undefined; "
            "hide more pixels or pass another reference"
        )
    return float(1.0 - np.sqrt(np.mean((v[m] - t[m]) ** 2)) / scale)


def error_histogram(
    filled: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    bins: int | np.ndarray = 41,
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the errors ``filled - truth`` on the mask.

    Parameters
    ----------
    bins : int or array of edges (degC)
        An int gives that many bins spanning ``[-e, e]`` with ``e`` the largest absolute
        error (so zero is a bin centre for odd counts); edges are used as given (errors
        outside them are not counted).

    Returns
    -------
    counts : np.ndarray (nbins,) int
    edges : np.ndarray (nbins + 1,) degC
        Ready for ``plt.stairs(counts, edges)``.

    Examples
    --------
    >>> counts, edges = error_histogram(np.array([0.5, -0.5, 0.0]), np.zeros(3), np.ones(3, bool), 3)
    >>> counts.tolist(), edges.tolist()
    ([1, 1, 1], [-0.75, -0.25, 0.25, 0.75])
    """
    v, t, m = _pair(filled, truth, mask)
    err = v[m] - t[m]
    if np.ndim(bins) == 0:
        nbins = int(bins)
        if nbins < 1:
            raise ValueError(f"bins must be a positive number of bins or edges, got {bins}")
        half = float(np.max(np.abs(err)))
        half = half * nbins / max(nbins - 1, 1) if half > 0 else 1e-6
        edges = np.linspace(-half, half, nbins + 1)
    else:
        edges = np.asarray(bins, dtype="float64")
    counts, edges = np.histogram(err, bins=edges)
    return counts, edges


# ---------------------------------------------------------------------------------------------
# Large-scale fit and spectra
# ---------------------------------------------------------------------------------------------


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
    (:func:`eogapfill.fill.alm.fit_alm`) of the observed cells, evaluated on every cell.

    Large holes (continents, big cloud systems) leave some harmonics nearly unconstrained and
    a plain fit can swing by tens of degrees inside them; then the common map dominates both
    masked maps and the spectral ratio drifts back to 1. The default ``ridge=1e-3`` (a
    Tikhonov penalty, see ``fit_alm``) keeps the fit bounded there at the cost of a few
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
    from eogapfill.fill.alm import fit_alm

    v = _map(values, "values")
    npix = v.size
    nside_map = hp.npix2nside(npix) if nside is None else _nside_of(npix, nside)
    obs = np.isfinite(v)
    if observed is not None:
        obs &= _mask(observed, npix, "observed")
    if not obs.any():
        raise ValueError("no finite observed cell to fit the large-scale map on")
    sst = healpix_dataset({"values": np.where(obs, v, np.nan)}, nside_map)["values"]
    _, large = fit_alm(sst, lmax=lmax, ridge=ridge)
    return np.asarray(large.values, dtype="float64")


def _large_scale_for(
    large_scale: ArrayLike | float | None, truth: np.ndarray, mask: np.ndarray, nside: int
) -> np.ndarray:
    """The common large-scale map: given, a constant, or fitted on the truth off the mask."""
    if large_scale is None:
        return large_scale_fit(truth, np.isfinite(truth) & ~mask, nside=nside)
    values = _values(large_scale, "large_scale")
    if values.ndim == 0:
        return np.full(truth.size, float(values))
    return _map(values, "large_scale", truth.size)


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
    v, t, m = _pair(x, truth, mask, x_name="x")
    _nside_of(t.size, nside)
    lmax = 3 * nside - 1 if lmax is None else int(lmax)
    if not 1 <= lmax <= 3 * nside - 1:
        raise ValueError(f"lmax must be in [1, {3 * nside - 1}] for nside {nside}, got {lmax}")
    large = _large_scale_for(large_scale, t, m, nside)
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
    (:func:`eogapfill.fill.laplace.neighbour_mean`: NaN neighbours, such as land or unknown
    truth, are left out). 1: the fill is as rough at the cell scale as the truth;
    0: a harmonic (Laplace) fill; white noise of the right variance also gives 1, so read it
    with :func:`gradient_histogram_distance`.

    Examples
    --------
    >>> nside = 8; t = np.random.default_rng(1).normal(size=12 * nside**2)
    >>> neighbour_variance_ratio(t, t, np.ones(t.size, bool), nside)
    1.0
    """
    v, t, m = _pair(x, truth, mask, x_name="x")
    _nside_of(t.size, nside)
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
    v = _map(values, "values")
    _nside_of(v.size, nside)
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
    v, t, m = _pair(x, truth, mask, x_name="x")
    _nside_of(t.size, nside)
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


# ---------------------------------------------------------------------------------------------
# Probabilistic scores
# ---------------------------------------------------------------------------------------------


def _members(members: ArrayLike, npix: int) -> np.ndarray:
    """Members as ``(n_members, npix)``; a DataArray is put in ``(member, cells)`` order."""
    if isinstance(members, xr.DataArray):
        if "member" in members.dims:
            members = members.transpose("member", ...)
        values = np.asarray(members.values, dtype="float64")
    else:
        values = np.asarray(members, dtype="float64")
    if values.ndim != 2 or values.shape[1] != npix:
        raise ValueError(
            f"members must have shape (n_members, {npix}) (dims member, cells), got {values.shape}"
        )
    return values


def _ensemble(
    members: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Checked members on the mask ``(n_cells, n_members)`` and truth ``(n_cells,)``."""
    t = _map(truth, "truth")
    ens = _members(members, t.size)
    _, _, m = _pair(ens[0], t, mask, x_name="members")
    sub = ens[:, m].T
    if not np.isfinite(sub).all():
        raise ValueError("members have non-finite values on the mask: a member left gaps empty")
    return sub, t[m]


def crps_ensemble(
    members: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    *,
    estimator: str = "fair",
) -> float:
    """Mean CRPS of an ensemble over the mask (degC; 0 is perfect, lower is better).

    Computed with ``scoringrules.crps_ensemble``. The default ``"fair"`` estimator is
    unbiased for the CRPS of the distribution the members are drawn from, so ensembles of
    different sizes compare fairly; a single member falls back to ``"nrg"`` (then the CRPS is
    the mean absolute error).

    Parameters
    ----------
    members : array (n_members, npix) or DataArray (member, cells)
    truth : array (npix,)
    mask : bool array (npix,)

    Examples
    --------
    >>> t = np.arange(4.0); m = np.ones(4, bool)
    >>> crps_ensemble(np.stack([t, t]), t, m)
    0.0
    """
    import scoringrules as sr

    sub, obs = _ensemble(members, truth, mask)
    if sub.shape[1] == 1:
        estimator = "nrg"
    return float(np.mean(sr.crps_ensemble(obs, sub, m_axis=-1, estimator=estimator)))


def spread_skill(members: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Spread / skill of an ensemble on the mask (1 = calibrated, < 1 = over-confident).

    ``spread = sqrt(mean over cells of the members' variance (ddof=1))`` and ``skill`` the
    RMSE of the ensemble mean; the ratio is multiplied by ``sqrt((M + 1) / M)`` for ``M``
    members, so that an ensemble drawn from the right distribution scores 1 whatever its
    size (Fortin et al. 2014, doi:10.1175/JHM-D-14-0008.1).

    Examples
    --------
    >>> rng = np.random.default_rng(0); n = 20000
    >>> truth = rng.normal(size=n); mean = truth + rng.normal(size=n)
    >>> members = mean + rng.normal(size=(8, n))   # mean error and spread both 1
    >>> round(spread_skill(members, truth, np.ones(n, bool)), 1)
    1.0
    """
    sub, obs = _ensemble(members, truth, mask)
    n_members = sub.shape[1]
    if n_members < 2:
        raise ValueError("spread_skill needs at least 2 members")
    error = np.sqrt(np.mean((sub.mean(axis=1) - obs) ** 2))
    spread = np.sqrt(np.mean(sub.var(axis=1, ddof=1)))
    if not error > 0:
        return float("inf") if spread > 0 else float("nan")
    return float(np.sqrt((n_members + 1) / n_members) * spread / error)


def _gaussian(
    mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu, t, m = _pair(mean, truth, mask, x_name="mean")
    sigma = _map(std, "std", t.size)[m]
    if not np.isfinite(sigma).all() or (sigma < 0).any():
        raise ValueError("std must be finite and >= 0 on the mask")
    return mu[m], sigma, t[m]


def crps_gaussian(mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean CRPS of a Gaussian predictive ``N(mean, std**2)`` over the mask (degC).

    Computed with ``scoringrules.crps_normal``; where ``std == 0`` the CRPS is its limit,
    the absolute error.

    Examples
    --------
    >>> t = np.zeros(3); m = np.ones(3, bool)
    >>> round(crps_gaussian(t, np.ones(3), t, m), 4)      # sigma * (sqrt(2) - 1) / sqrt(pi)
    0.2337
    """
    import scoringrules as sr

    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    crps = np.abs(mu - obs)
    positive = sigma > 0
    if positive.any():
        crps[positive] = sr.crps_normal(obs[positive], mu[positive], sigma[positive])
    return float(np.mean(crps))


def spread_skill_gaussian(
    mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> float:
    """``sqrt(mean(std**2)) / RMSE(mean)`` on the mask (1 = calibrated uncertainty)."""
    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    error = np.sqrt(np.mean((mu - obs) ** 2))
    spread = np.sqrt(np.mean(sigma**2))
    if not error > 0:
        return float("inf") if spread > 0 else float("nan")
    return float(spread / error)


def zscore_std(mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Standard deviation of ``(mean - truth) / std`` on the mask (1 = calibrated).

    Above 1 the stated uncertainty is too small (over-confident), below 1 too large.

    Examples
    --------
    >>> rng = np.random.default_rng(0); t = rng.normal(size=10000); m = np.ones(t.size, bool)
    >>> round(zscore_std(t + 2 * rng.normal(size=t.size), np.full(t.size, 2.0), t, m), 1)
    1.0
    """
    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    if (sigma == 0).any():
        raise ValueError("std is zero on some masked cells: the z-score is undefined there")
    return float(np.std((mu - obs) / sigma))


# ---------------------------------------------------------------------------------------------
# One row per fill
# ---------------------------------------------------------------------------------------------

#: The columns of :func:`compare_methods`, in order.
COLUMNS = (
    "method",
    "protocol",
    "n_hidden",
    "rmse",
    "bias",
    "mae",
    "mu",
    "small_scale_ratio",
    "neighbour_var_ratio",
    "grad_hist_distance",
    "crps",
    "crps_from",
    "spread_skill",
    "zscore_std",
    "member_rmse",
    "member_small_scale_ratio",
    "member_neighbour_var_ratio",
    "member_grad_hist_distance",
    "member_crps",
    "member_spread_skill",
    "seconds",
)


def _texture(
    x: np.ndarray, truth: np.ndarray, mask: np.ndarray, nside: int, large: np.ndarray
) -> tuple[float, float, float]:
    return (
        small_scale_power_ratio(x, truth, mask, nside, large_scale=large),
        neighbour_variance_ratio(x, truth, mask, nside),
        gradient_histogram_distance(x, truth, mask, nside),
    )


def score_fill(
    result: xr.Dataset,
    truth: ArrayLike,
    hidden_mask: ArrayLike,
    *,
    nside: int,
    large_scale: ArrayLike | float | None = None,
    method: str = "fill",
    protocol: Literal["honest", "previous-day", "oracle"] | None = None,
    seconds: float | None = None,
) -> dict[str, object]:
    """Score one fill on the hidden cells: one row of :func:`compare_methods`.

    Parameters
    ----------
    result : xr.Dataset
        A fill's output: ``filled`` (cells), optionally ``filled_std`` and ``members``.
    truth : array or DataArray (npix,)
        The truth, finite on the hidden cells: the day's observed SST before hiding.
    hidden_mask : bool array or DataArray (npix,)
        The withheld cells (from :func:`hide_pixels`).
    nside : int
        HEALPix nside of the maps (checked).
    large_scale : array (npix,), optional
        Common large-scale map for the spectra; None: the ``l <= 15`` fit of the truth's
        finite cells off the mask (with the observed SST as truth: exactly the cells the fill
        saw).
    method : str
        Label of the row.
    protocol : {"honest", "previous-day", "oracle"}, optional
        Where the fill's reference information came from (:data:`PROTOCOLS`). None: the
        protocol the fill recorded in ``result.attrs["protocol"]`` (foscat does), else
        ``"honest"``. A label that contradicts the recorded one raises.
    seconds : float, optional
        Wall time of the fill.

    Returns
    -------
    dict
        Keys :data:`COLUMNS`. ``rmse``, ``bias``, ``mae`` in degC; ``mu`` (:func:`skill`);
        texture ratios of ``filled`` (1 = like the truth; distance 0 = like the truth).
        ``crps`` (degC) is from the Gaussian ``(filled, filled_std)`` when the fill gives a
        std (``crps_from="gaussian"``), else from ``members`` (``"members"``), else the CRPS
        of a point forecast, which equals the MAE (``"point"``); ``spread_skill`` likewise
        (NaN for a point forecast, which states no uncertainty); ``zscore_std`` needs a std.
        ``member_*`` columns are means over the members (NaN without members): a stochastic
        fill's texture is judged on its members, not on their mean. ``member_crps`` and
        ``member_spread_skill`` come from the members alone (two or more), even when the fill
        also gives a std: the fair comparison of ensembles of the same size.
    """
    if not isinstance(result, xr.Dataset) or "filled" not in result:
        raise ValueError(f"{method}: the result must be a fill's Dataset with a 'filled' variable")
    recorded = result.attrs.get("protocol")
    if protocol is None:
        protocol = recorded or "honest"
    elif recorded is not None and recorded != protocol:
        raise ValueError(
            f"{method}: labelled {protocol!r} but the fill records protocol {recorded!r} "
            "(attrs['protocol']): a score must carry the protocol its fill used"
        )
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    filled, t, m = _pair(result["filled"], truth, hidden_mask)
    _nside_of(t.size, nside)
    if "cell_ids" in result.coords and grid_of(result).nside != nside:
        raise ValueError(f"{method}: the result is on nside {grid_of(result).nside}, not {nside}")
    large = _large_scale_for(large_scale, t, m, nside)
    err = filled[m] - t[m]
    nan = float("nan")
    row: dict[str, object] = {
        "method": method,
        "protocol": protocol,
        "n_hidden": int(m.sum()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "bias": float(np.mean(err)),
        "mae": float(np.mean(np.abs(err))),
        "mu": skill(filled, t, m),
    }
    (row["small_scale_ratio"], row["neighbour_var_ratio"], row["grad_hist_distance"]) = _texture(
        filled, t, m, nside, large
    )
    row.update(
        crps=row["mae"],
        crps_from="point",
        spread_skill=nan,
        zscore_std=nan,
        member_rmse=nan,
        member_small_scale_ratio=nan,
        member_neighbour_var_ratio=nan,
        member_grad_hist_distance=nan,
        member_crps=nan,
        member_spread_skill=nan,
    )
    if "members" in result:
        ens = _members(result["members"], t.size)
        row["member_rmse"] = float(np.mean([rmse(e, t, m) for e in ens]))
        textures = np.array([_texture(e, t, m, nside, large) for e in ens])
        (
            row["member_small_scale_ratio"],
            row["member_neighbour_var_ratio"],
            row["member_grad_hist_distance"],
        ) = (float(v) for v in textures.mean(axis=0))
        if ens.shape[0] >= 2:
            row["crps"] = row["member_crps"] = crps_ensemble(ens, t, m)
            row["crps_from"] = "members"
            row["spread_skill"] = row["member_spread_skill"] = spread_skill(ens, t, m)
    if "filled_std" in result:
        std = result["filled_std"]
        row["crps"] = crps_gaussian(filled, std, t, m)
        row["crps_from"] = "gaussian"
        row["spread_skill"] = spread_skill_gaussian(filled, std, t, m)
        if (_map(std, "filled_std", t.size)[m] > 0).all():
            row["zscore_std"] = zscore_std(filled, std, t, m)
    row["seconds"] = nan if seconds is None else float(seconds)
    return {name: row[name] for name in COLUMNS}


# ---------------------------------------------------------------------------------------------
# Comparing the package's fills
# ---------------------------------------------------------------------------------------------

#: Fills of the package: name -> (module, function, options passed when the function takes them).
_FILLS = {
    "laplace": ("eogapfill.fill.laplace", "fill_laplace", ()),
    "noise": ("eogapfill.fill.noise", "fill_noise", ("n_members", "seed")),
    "alm": ("eogapfill.fill.alm", "fill_alm", ()),
    "oi": ("eogapfill.fill.oi", "fill_oi", ("n_members", "seed")),
    "foscat": ("eogapfill.fill.foscat", "fill_foscat", ("n_members", "seed")),
}


def _accepts(fn: Callable, name: str) -> bool:
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def default_methods(
    n_members: int = 4, seed: int = 0, *, include_foscat: bool = False
) -> dict[str, Callable[..., xr.Dataset]]:
    """The package's fills present at run time, as ``name -> fill(sst, gaps)``.

    Laplace, the Laplace + noise control, Alm and optimal interpolation (with ``n_members``
    conditional simulations) when their modules exist; foscat only with
    ``include_foscat=True`` (slow). ``n_members`` and ``seed`` are passed to the fills that
    take them.
    """
    methods: dict[str, Callable[..., xr.Dataset]] = {}
    for name, (module, function, options) in _FILLS.items():
        if name == "foscat" and not include_foscat:
            continue
        try:
            mod = importlib.import_module(module)
        except ImportError as err:
            if name == "foscat":
                raise ImportError(
                    f"foscat fill asked for but not importable ({err}); install the optional "
                    "dependencies with pip install 'eogapfill[foscat]'"
                ) from err
            if err.name == module:  # the module is not there (yet): skip this fill
                continue
            raise
        fn = getattr(mod, function)
        values = {"n_members": n_members, "seed": seed}
        kwargs = {k: values[k] for k in options if _accepts(fn, k)}
        methods[name] = _bind(fn, kwargs)
    return methods


def _bind(fn: Callable[..., xr.Dataset], kwargs: dict) -> Callable[..., xr.Dataset]:
    def call(sst: xr.DataArray, gaps: xr.DataArray) -> xr.Dataset:
        return fn(sst, gaps, **kwargs)

    call.__name__ = getattr(fn, "__name__", "fill")
    return call


def compare_methods(
    ds_hpx: xr.Dataset,
    truth: ArrayLike,
    hidden_mask: ArrayLike,
    methods: Mapping[str, Callable[..., xr.Dataset]] | None = None,
    *,
    n_members: int = 4,
    seed: int = 0,
    protocol_of: Mapping[str, str] | None = None,
    progress: bool = True,
    include_truth: bool = False,
    include_foscat: bool = False,
    large_scale: ArrayLike | None = None,
) -> pd.DataFrame:
    """Fill a day with hidden pixels by several methods and score each on the hidden cells.

    Parameters
    ----------
    ds_hpx : xr.Dataset
        The day *with its pixels hidden* (first output of :func:`hide_pixels`): what the fills
        see. Each method is called as ``fill(ds_hpx.SST_L3S, ds_hpx.gap)``.
    truth : array or DataArray (npix,)
        The truth, finite on the hidden cells (the day's ``SST_L3S`` before hiding).
    hidden_mask : bool array or DataArray (npix,)
        The hidden cells (second output of :func:`hide_pixels`).
    methods : mapping name -> callable, optional
        Fills with the contract signature ``fill(sst, gaps) -> Dataset``; default
        :func:`default_methods` (``n_members``, ``seed``, ``include_foscat``).
    protocol_of : mapping name -> protocol, optional
        The protocol of each method; by default the one the fill records in its result's
        ``attrs["protocol"]`` (foscat does), else ``"honest"`` (the package's other fills use
        the observed pixels only). See :func:`score_fill`.
    progress : bool
        Show a progress bar.
    include_truth : bool
        Add a ``"truth"`` row (the truth put in the hidden cells; protocol ``"oracle"``): it
        scores perfectly and shows the best value of each column.
    large_scale : array (npix,), optional
        Common large-scale map of the spectra; default: the ``l <= 15`` fit
        (:func:`large_scale_fit`) of the observed cells of ``ds_hpx``, the same for all rows.

    Returns
    -------
    pandas.DataFrame
        One row per method, columns :data:`COLUMNS` (see :func:`score_fill`).
    """
    from tqdm.auto import tqdm

    grid = grid_of(ds_hpx)
    nside = grid.nside
    t = _map(truth, "truth", grid.npix)
    m = _mask(hidden_mask, grid.npix, "hidden_mask")
    sst = ds_hpx["SST_L3S"]
    gaps = ds_hpx["gap"]
    seen = np.isfinite(np.asarray(sst.values)) | ~np.asarray(gaps.values, dtype=bool)
    if (m & seen).any():
        raise ValueError(
            f"{int((m & seen).sum())} hidden cell(s) are still observed in ds_hpx: pass the "
            "dataset returned by hide_pixels (the fills must not see the truth)"
        )
    if methods is None:
        methods = default_methods(n_members, seed, include_foscat=include_foscat)
    protocol_of = dict(protocol_of or {})
    unknown = set(protocol_of) - set(methods) - {"truth"}
    if unknown:
        raise ValueError(f"protocol_of names unknown method(s) {sorted(unknown)}")
    if not methods and not include_truth:
        raise ValueError(
            "no fill method to compare: pass methods={'name': fill_function} "
            "(none of the package's fills is importable)"
        )
    if large_scale is None:
        observed = np.isfinite(np.asarray(sst.values, dtype="float64")) & ~np.asarray(gaps.values)
        large = large_scale_fit(sst, observed, nside=nside)
    else:
        large = _map(large_scale, "large_scale", grid.npix)

    rows = []
    if include_truth:
        perfect = np.where(m, t, np.asarray(sst.values, dtype="float64"))
        result = xr.Dataset({"filled": sst.copy(data=perfect)})
        rows.append(
            score_fill(
                result,
                t,
                m,
                nside=nside,
                large_scale=large,
                method="truth",
                protocol=protocol_of.get("truth", "oracle"),
            )
        )
    for name, fill in tqdm(list(methods.items()), desc="fills", disable=not progress):
        start = time.perf_counter()
        try:
            result = fill(sst, gaps)
        except Exception as err:
            raise RuntimeError(f"fill {name!r} failed: {err}") from err
        seconds = time.perf_counter() - start
        rows.append(
            score_fill(
                result,
                t,
                m,
                nside=nside,
                large_scale=large,
                method=name,
                protocol=protocol_of.get(name),
                seconds=seconds,
            )
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ---------------------------------------------------------------------------------------------
# The whole experiment
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationCase:
    """A day prepared for validation by :func:`validation_experiment`.

    Attributes
    ----------
    hidden : xr.Dataset
        The day with extra pixels hidden: give this to the fills.
    truth : xr.DataArray (cells,)
        The day's observed SST before hiding (degC, NaN under its own clouds and on land):
        finite on every hidden cell. An honest truth: real observations the fill never saw.
    hidden_mask : xr.DataArray (cells,) bool
        The hidden cells, where the scores are computed.
    truth_l4 : xr.DataArray (cells,) or None
        The day's L4 analysis, a full-field truth (finite on all sea cells) for texture or
        maps over all the gaps, e.g. ``gradient_histogram_distance(filled, truth_l4,
        hidden.gap, nside)``. It is an optimal-interpolation analysis, smoother than real SST
        and built from the same day's observations: it favours smooth fills, and statistics
        taken from it are the "oracle" protocol.
    large_scale : np.ndarray (npix,)
        ``l <= 15`` fit of the observed cells of ``hidden``, the common map removed before
        spectra.
    nside : int
    """

    hidden: xr.Dataset
    truth: xr.DataArray
    hidden_mask: xr.DataArray
    truth_l4: xr.DataArray | None
    large_scale: np.ndarray = field(repr=False)
    nside: int

    def score(self, result: xr.Dataset, **kwargs: object) -> dict[str, object]:
        """:func:`score_fill` of a fill's result on this case."""
        return score_fill(
            result,
            self.truth,
            self.hidden_mask,
            nside=self.nside,
            large_scale=self.large_scale,
            **kwargs,
        )

    def compare(
        self, methods: Mapping[str, Callable[..., xr.Dataset]] | None = None, **kwargs: object
    ) -> pd.DataFrame:
        """:func:`compare_methods` on this case."""
        return compare_methods(
            self.hidden,
            self.truth,
            self.hidden_mask,
            methods,
            large_scale=self.large_scale,
            **kwargs,
        )


def _on_healpix(day: xr.Dataset, nside: int, regrid_kw: Mapping[str, object]) -> xr.Dataset:
    if "cell_ids" in day.coords:
        grid = grid_of(day)
        if grid.nside != nside:
            raise ValueError(
                f"a day is already on nside {grid.nside}, not {nside}: regrid it again"
            )
        return day
    from eogapfill.regrid import to_healpix

    return to_healpix(day, nside, **regrid_kw)


def validation_experiment(
    day: xr.Dataset,
    other_day: xr.Dataset,
    nside: int,
    *,
    lon_shift: float | Literal["random"] = 0.0,
    fraction: float | None = None,
    seed: int | None = 0,
    regrid_kw: Mapping[str, object] | None = None,
) -> ValidationCase:
    """Hide a day's pixels under another day's clouds, ready to fill and score.

    Parameters
    ----------
    day, other_day : xr.Dataset
        Prepared lat/lon days (:func:`eogapfill.preprocess.prepare_day`), regridded here with
        :func:`eogapfill.regrid.to_healpix` (``regrid_kw`` passed on), or days already on
        HEALPix at this ``nside``.
    nside : int
        HEALPix nside of the experiment.
    lon_shift, fraction, seed
        Passed to :func:`hide_pixels`.

    Returns
    -------
    ValidationCase
        ``case.compare()`` fills with the package's methods and returns the score table;
        ``case.score(result, method=...)`` scores one fill.
    """
    check_nside(nside)
    regrid_kw = dict(regrid_kw or {})
    ds = _on_healpix(day, nside, regrid_kw)
    other = _on_healpix(other_day, nside, regrid_kw)
    hidden, mask = hide_pixels(
        ds, cloud_pattern_from(other), seed=seed, fraction=fraction, lon_shift=lon_shift
    )
    truth = (
        ds["SST_L3S"]
        .rename("truth")
        .assign_attrs(long_name="observed SST before hiding (truth on the hidden cells)")
    )
    observed = np.isfinite(np.asarray(hidden["SST_L3S"].values)) & ~np.asarray(hidden["gap"].values)
    large = large_scale_fit(hidden["SST_L3S"], observed, nside=nside)
    return ValidationCase(
        hidden=hidden,
        truth=truth,
        hidden_mask=mask,
        truth_l4=ds["SST_L4"] if "SST_L4" in ds else None,
        large_scale=large,
        nside=nside,
    )
