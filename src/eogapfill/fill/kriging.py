"""Local simple kriging on the sphere and the fit of its covariance to the observed cells.

The machinery of :func:`eogapfill.fill.oi.fill_oi`: each target cell is predicted from its
``k`` nearest observed cells by simple kriging, in batches of stacked small solves
(:func:`krige`); the Matérn covariance of the anomalies is fitted on the observed cells only
(:func:`fit_covariance`): a variogram first guess (gstools), the nugget from the variogram's
intercept at the shortest lags (:func:`variogram_nugget`), then cross-validation of the length
scale on observed cells held out as far from the data as the gap cells are; the local variance
of the anomalies (:func:`local_variance_ratio`) scales the error bars. Distances are chord
lengths (km).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import healpy as hp
import numpy as np
import scipy.optimize
import xarray as xr
from scipy.spatial import cKDTree

from eogapfill.fill.common import fit_inputs
from eogapfill.harmonics import fit_harmonics
from eogapfill.healpix import EARTH_RADIUS_KM, HealpixGrid, grid_of
from eogapfill.random_fields import SMOOTHNESS, CovarianceModel

__all__ = [
    "DEFAULT_COVARIANCE",
    "MAX_LAG_KM",
    "MAX_SILL_FACTOR",
    "MIN_OBSERVED_FOR_FIT",
    "REGIONAL_SCALE_KM",
    "fit_covariance",
    "fit_covariance_arrays",
    "krige",
    "large_scale",
    "local_variance_ratio",
    "smooth_observed",
    "variogram_nugget",
]

MIN_OBSERVED_FOR_FIT = 50
#: Longest lag (km) of the empirical variogram and largest fitted length scale.
MAX_LAG_KM = 3000.0
#: The fitted sill stays below this multiple of the variance of the observed anomalies.
MAX_SILL_FACTOR = 3.0
#: Nugget share of the total variance in the fallback first guess (:func:`_robust_guess`).
ROBUST_NUGGET_SHARE = 0.1
#: Gaussian width (km) of the regional large scale (:func:`smooth_observed`).
REGIONAL_SCALE_KM = 300.0
#: The covariance of the anomalies when too few cells are observed to fit one (fewer than
#: :data:`MIN_OBSERVED_FOR_FIT`): exponential, sill 1 degC**2 (wider than the 0.2 - 0.6 fitted
#: on the sample days, so that the error bars err on the safe side), length scale 300 km,
#: nugget 0.01 degC**2 (0.1 degC of measurement noise).
DEFAULT_COVARIANCE = CovarianceModel(sill=1.0, length_scale_km=300.0, nugget=0.01, nu=0.5)
#: Shortest lags of the variogram whose intercept gives the nugget, in cells.
NUGGET_LAGS_CELLS = 4


def smooth_observed(
    values: np.ndarray,
    observed: np.ndarray,
    grid: HealpixGrid,
    scale_km: float,
    targets: np.ndarray | None = None,
) -> np.ndarray:
    """Gaussian-weighted mean of the observed cells around every cell of ``grid`` (degC).

    A normalised convolution: the observed cells are summed in blocks of a coarser NESTED
    level (cells no wider than ``scale_km``), and each cell gets
    ``sum_j K(d_j) S_j / sum_j K(d_j) N_j`` over the blocks ``j`` within ``3 scale_km``
    (``S_j``, ``N_j``: sum and count of the block's observed values, ``K`` a Gaussian of the
    chord of width ``scale_km``). A convex combination of observed values: it never leaves
    their range. NaN where no observed block lies within ``3 scale_km``. ``values``,
    ``observed``: shape ``(grid.npix,)``; returns the same shape, or with ``targets`` (indices
    of cells) shape ``(targets.size,)``, the value at those cells only.
    """
    level = grid.level
    coarse = level
    while coarse > 0 and hp.nside2resol(2**coarse) * EARTH_RADIUS_KM < scale_km / 2:
        coarse -= 1
    obs = np.flatnonzero(observed)
    blocks, which = np.unique(grid.ids[obs] // 4 ** (level - coarse), return_inverse=True)
    sums = np.bincount(which, weights=values[obs], minlength=blocks.size)
    counts = np.bincount(which, minlength=blocks.size).astype("float64")
    block_xyz = np.stack(hp.pix2vec(2**coarse, blocks, nest=True), axis=1)
    reach = 3.0 * scale_km / EARTH_RADIUS_KM
    k = int(min(blocks.size, 64))
    where = grid.vectors() if targets is None else grid.vectors()[targets]
    dist, idx = cKDTree(block_xyz).query(where, k=k, distance_upper_bound=reach)
    dist, idx = dist.reshape(-1, k), idx.reshape(-1, k)
    found = idx < blocks.size
    weight = np.where(found, np.exp(-0.5 * (EARTH_RADIUS_KM * dist / scale_km) ** 2), 0.0)
    safe = np.where(found, idx, 0)
    total = (weight * counts[safe]).sum(axis=1)
    out = np.full(where.shape[0], np.nan)
    np.divide((weight * sums[safe]).sum(axis=1), total, out=out, where=total > 0)
    return out


def large_scale(
    values: np.ndarray,
    observed: np.ndarray,
    grid: HealpixGrid,
    lmax: int,
    *,
    scale_km: float = REGIONAL_SCALE_KM,
    check: bool = False,
) -> np.ndarray:
    """The large scale that kriging works around, on every cell of ``grid`` (degC).

    On the full sphere the least-squares harmonic fit up to ``lmax``
    (:func:`~eogapfill.harmonics.fit_harmonics`; ``check`` refuses unconstrained harmonics);
    on a region, where harmonics are ill-conditioned, :func:`smooth_observed` with
    ``scale_km`` (NaN beyond ``3 scale_km`` of every observation).
    """
    if grid.is_partial:
        return smooth_observed(values, observed, grid, scale_km)
    return fit_harmonics(values, observed, grid.nside, lmax, check=check)[1]


def local_variance_ratio(
    anomalies: np.ndarray,
    observed: np.ndarray,
    grid: HealpixGrid,
    scale_km: float,
    targets: np.ndarray,
) -> np.ndarray:
    """Local variance of the anomalies over their mean variance, at the ``targets`` cells.

    The squared anomalies of the observed cells, smoothed by a Gaussian of ``scale_km``
    (:func:`smooth_observed`), divided by their mean over the observed cells: about 1 where the
    field varies as much as on average, up to 10 along fronts and western boundary currents,
    below 1 in calm seas. 1 where no observed cell lies within ``3 scale_km``; at least 0.01.
    ``anomalies``, ``observed``: shape ``(grid.npix,)``; ``targets``: cell indices; returns
    shape ``(targets.size,)``. The variance of a non-stationary model
    ``C(x, y) = s(x) s(y) rho(|x - y|)`` with ``s(x)**2`` this ratio times the sill.
    """
    squared = np.where(observed, anomalies, 0.0) ** 2
    mean = float(squared[observed].mean()) if observed.any() else 0.0
    if not mean > 0:
        return np.ones(targets.size)
    local = smooth_observed(squared, observed, grid, scale_km, targets=targets) / mean
    return np.maximum(np.where(np.isfinite(local), local, 1.0), 0.01)


def variogram_nugget(
    xyz: np.ndarray,
    anomalies: np.ndarray,
    cell_km: float,
    model: CovarianceModel,
    seed: int = 0,
    n_centres: int = 2000,
) -> tuple[float, float]:
    """The nugget as the intercept of the variogram at the shortest lags.

    Pairs of observed cells up to :data:`NUGGET_LAGS_CELLS` cells apart (from at most
    ``n_centres`` random cells to every observed cell) give the empirical semivariance in bins
    one cell wide; ``nugget + sill (1 - rho(d))``, with ``rho`` the correlation of ``model``
    (its length scale and smoothness), is fitted to them by non-negative least squares (bins
    weighted by their pair counts). The nugget is its value at lag 0: the variance of what
    does not correlate from one cell to the next (measurement noise, sub-cell texture).

    Parameters
    ----------
    xyz : numpy.ndarray
        Unit vectors of the observed cells, shape ``(n, 3)``.
    anomalies : numpy.ndarray
        Their anomalies (degC), shape ``(n,)``.
    cell_km : float
        The grid's cell size (km).
    model : CovarianceModel
        Gives the shape of the correlation at short lags.

    Returns
    -------
    nugget, sill : float
        degC**2 each; ``(nan, nan)`` when fewer than three lag bins have pairs.
    """
    from scipy.optimize import nnls

    n = anomalies.size
    rng = np.random.default_rng(seed)
    centres = rng.choice(n, size=min(n, n_centres), replace=False)
    reach = (NUGGET_LAGS_CELLS + 0.5) * cell_km / EARTH_RADIUS_KM
    tree = cKDTree(xyz)
    lists = tree.query_ball_point(xyz[centres], r=reach)
    first = np.repeat(centres, [len(x) for x in lists])
    second = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
    keep = first != second
    first, second = first[keep], second[keep]
    lag = EARTH_RADIUS_KM * np.linalg.norm(xyz[first] - xyz[second], axis=1)
    which = np.clip(np.floor(lag / cell_km + 0.5).astype(int), 1, NUGGET_LAGS_CELLS) - 1
    half_squares = 0.5 * (anomalies[first] - anomalies[second]) ** 2
    counts = np.bincount(which, minlength=NUGGET_LAGS_CELLS).astype("float64")
    used = counts > 0
    if used.sum() < 3:
        return float("nan"), float("nan")
    gamma = np.bincount(which, weights=half_squares, minlength=NUGGET_LAGS_CELLS)[used]
    gamma /= counts[used]
    centre_km = np.bincount(which, weights=lag, minlength=NUGGET_LAGS_CELLS)[used] / counts[used]
    design = np.stack([np.ones(centre_km.size), 1.0 - model.correlation_chord(centre_km)], axis=1)
    weight = np.sqrt(counts[used])
    (nugget, sill), _ = nnls(design * weight[:, None], gamma * weight)
    return float(nugget), float(sill)


def _batch_size(k: int) -> int:
    """Targets per batch so that a (batch, k, k) float64 array stays near 8 MB."""
    return max(1, (1 << 20) // (k * k))


@dataclass(frozen=True)
class _Geometry:
    """Chord lengths (km) among the neighbours of each target and to the target itself."""

    among: np.ndarray  # (b, k, k)
    to_target: np.ndarray  # (b, k)
    missing: np.ndarray  # (b, k) bool: no neighbour in this slot


def _geometry(obs_xyz: np.ndarray, idx: np.ndarray, dist: np.ndarray) -> _Geometry:
    """Geometry of a batch from ``cKDTree.query`` output (unit chords, ``n_obs`` = missing)."""
    missing = idx >= obs_xyz.shape[0]
    xyz = obs_xyz[np.where(missing, 0, idx)]  # (b, k, 3)
    among = np.matmul(xyz, xyz.transpose(0, 2, 1))  # cosines, then chords in km
    among *= -2.0
    among += 2.0
    np.maximum(among, 0.0, out=among)
    np.sqrt(among, out=among)
    among *= EARTH_RADIUS_KM
    to_target = EARTH_RADIUS_KM * np.where(missing, 0.0, dist)
    return _Geometry(among, to_target, missing)


def _weights(model: CovarianceModel, geo: _Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Simple-kriging weights ``(b, k)`` and variances ``(b,)`` (degC**2) of a batch."""
    k = geo.among.shape[-1]
    diag = np.arange(k)
    cov = model.sill * model.correlation_chord(geo.among)
    cov[:, diag, diag] += model.nugget
    rhs = model.sill * model.correlation_chord(geo.to_target)
    if geo.missing.any():  # a missing neighbour gets an identity row and a zero weight
        cov[geo.missing[:, :, None] | geo.missing[:, None, :]] = 0.0
        cov[:, diag, diag] = np.where(geo.missing, 1.0, cov[:, diag, diag])
        rhs[geo.missing] = 0.0
    weights = np.linalg.solve(cov, rhs[:, :, None])[:, :, 0]
    var = model.variance - np.einsum("bk,bk->b", weights, rhs)
    return weights, np.maximum(var, 0.0)


def krige(
    model: CovarianceModel,
    dist: np.ndarray,
    idx: np.ndarray,
    obs_xyz: np.ndarray,
    obs_values: np.ndarray,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Simple kriging of targets from their neighbours, in batches of stacked small solves.

    ``dist``/``idx``: ``(n, k)`` unit-sphere chords and indices into the observed cells from
    ``cKDTree.query`` (``inf`` / ``n_obs`` where there are fewer neighbours); ``obs_values``:
    ``(n_obs, n_vars)``. Returns predictions ``(n, n_vars)`` and kriging variances ``(n,)``.
    """
    n, k = idx.shape
    mean = np.empty((n, obs_values.shape[1]))
    var = np.empty(n)
    batch = _batch_size(k)
    starts = range(0, n, batch)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=-(-n // batch), desc="kriging", unit="batch")
    padded = np.vstack([obs_values, np.zeros((1, obs_values.shape[1]))])
    for lo in starts:
        hi = min(lo + batch, n)
        weights, var[lo:hi] = _weights(model, _geometry(obs_xyz, idx[lo:hi], dist[lo:hi]))
        mean[lo:hi] = np.einsum("bk,bkv->bv", weights, padded[idx[lo:hi]])
    return mean, var


def _validation_neighbours(
    tree: cKDTree,
    obs_xyz: np.ndarray,
    held_out: np.ndarray,
    k: int,
    exclusion: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest observed cells of each held-out observed cell, itself excluded.

    With ``exclusion`` (unit chords, one per held-out cell) the cells closer than it are
    dropped too, so that a held-out cell sits as far from the data as a gap cell does.
    """
    n_obs = obs_xyz.shape[0]
    k_query = min(n_obs, k + 1 if exclusion is None else 8 * k)
    dist, idx = tree.query(obs_xyz[held_out], k=k_query)
    dist, idx = dist.reshape(held_out.size, k_query), idx.reshape(held_out.size, k_query)
    drop = idx == held_out[:, None]
    if exclusion is not None:
        drop |= dist < exclusion[:, None]
    # keep the first k kept neighbours of each row, in distance order
    order = np.argsort(drop, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(dist, order, axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    dropped = np.take_along_axis(drop, order, axis=1)
    return np.where(dropped, np.inf, dist), np.where(dropped, n_obs, idx)


def _cross_validate(
    model: CovarianceModel, geo: _Geometry, values: np.ndarray, truth: np.ndarray
) -> tuple[float, float, float]:
    """Scores of the held-out cells: RMSE (degC), Gaussian log score, mean squared z-score.

    The log score is the mean negative log predictive density (up to a constant),
    ``mean(log var + err**2 / var) / 2``: unlike the RMSE it also judges the predicted
    variance, which identifies the length scale of an exponential covariance.
    """
    weights, var = _weights(model, geo)
    var = np.maximum(var, 1e-12)
    err = np.einsum("bk,bk->b", weights, values) - truth
    z2 = err**2 / var
    return (
        float(np.sqrt(np.mean(err**2))),
        float(0.5 * np.mean(np.log(var) + z2)),
        float(np.mean(z2)),
    )


def _robust_guess(
    centres: np.ndarray,
    gamma: np.ndarray,
    variance: float,
    nu: float,
    min_km: float,
    max_km: float,
) -> CovarianceModel:
    """The fallback first guess when the variogram fit fails or runs into a bound.

    Total variance: the variance of the anomalies, 10 % of it as nugget. Length scale: the
    lag at which the empirical variogram first reaches ``1 - 1/e`` of that variance (the
    e-folding distance of an exponential covariance; linear interpolation between bins), or
    ``max_km / 3`` when it never does; clipped to ``[min_km, max_km]``.
    """
    level = (1.0 - math.exp(-1.0)) * variance
    above = np.flatnonzero(gamma >= level)
    length = max_km / 3.0
    if above.size:
        i = int(above[0])
        if i == 0:
            length = float(centres[0])
        else:
            x0, x1, g0, g1 = centres[i - 1], centres[i], gamma[i - 1], gamma[i]
            length = float(x0 + (x1 - x0) * (level - g0) / (g1 - g0)) if g1 > g0 else float(x1)
    length = float(np.clip(length, min_km, max_km))
    return CovarianceModel(
        sill=(1.0 - ROBUST_NUGGET_SHARE) * variance,
        length_scale_km=length,
        nugget=ROBUST_NUGGET_SHARE * variance,
        nu=nu,
    )


def _variogram_guess(
    xyz_km: np.ndarray,
    anomalies: np.ndarray,
    nu: float,
    min_km: float,
    max_km: float,
    seed: int,
) -> tuple[CovarianceModel, bool]:
    """Matérn fitted by gstools to the empirical variogram of the anomalies (chord lengths).

    The fit is bounded: sill (partial) at most ``MAX_SILL_FACTOR`` times the variance of the
    anomalies, nugget at most that variance, length scale within ``[min_km, max_km]`` (half a
    cell, and the extent of the observed cells or 3000 km). Where the fit fails, is not
    finite, or ends on the upper bound of the sill or on either bound of the length scale (an
    empirical variogram that never levels off within the region, or one flat from the first
    lag), the :func:`_robust_guess` stands in. Returns the model and whether it is the
    fallback.
    """
    import gstools as gs

    edges = np.linspace(0.0, max_km, 31)
    centres, gamma = gs.vario_estimate(
        tuple(xyz_km.T),
        anomalies,
        edges,
        sampling_size=min(anomalies.size, 1000),
        sampling_seed=seed,
    )
    keep = np.isfinite(gamma)
    centres, gamma = centres[keep], gamma[keep]
    variance = float(np.var(anomalies))
    robust = _robust_guess(centres, gamma, variance, nu, min_km, max_km)
    if variance <= 0 or centres.size < 3:
        return robust, True
    # gstools' Matérn scales the lag by sqrt(nu) / len_scale, ours by sqrt(2 nu) / length
    to_gs = 1.0 / math.sqrt(2.0)
    lo, hi = min_km * to_gs, max_km * to_gs
    model = gs.Matern(dim=3, nu=nu, var=variance, len_scale=float(np.clip(hi / 6, lo, hi)))
    model.var_bounds = [0.0, MAX_SILL_FACTOR * variance]
    model.nugget_bounds = [0.0, variance]
    model.len_scale_bounds = [lo, hi]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit_variogram(centres, gamma, nu=False, nugget=True)
    except (RuntimeError, ValueError):
        return robust, True
    sill, length, nugget = float(model.var), float(model.len_scale), float(model.nugget)
    if not (np.isfinite([sill, length, nugget]).all() and sill > 0):
        return robust, True
    if sill >= 0.99 * MAX_SILL_FACTOR * variance or not 1.01 * lo < length < 0.99 * hi:
        return robust, True
    guess = CovarianceModel(
        sill=max(sill, 1e-6 * variance),
        length_scale_km=length / to_gs,
        nugget=nugget,
        nu=nu,
    )
    return guess, False


def _observed_extent_km(xyz: np.ndarray) -> float:
    """Largest chord (km) between the given unit vectors (at most a few thousand)."""
    from scipy.spatial.distance import pdist

    if xyz.shape[0] < 2:
        return 0.0
    return float(EARTH_RADIUS_KM * pdist(xyz).max())


def fit_covariance(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    nu: float = 0.5,
    lmax: int = 15,
    n_neighbours: int = 32,
    n_sample: int = 1000,
    refine: bool = True,
) -> tuple[CovarianceModel, dict[str, float]]:
    """Fit a :class:`CovarianceModel` to the anomalies of the observed cells.

    Anomalies are the observed cells minus their large scale (:func:`large_scale`: the
    spherical-harmonic fit up to ``lmax``, or on a regional map the smoothed observations). A Matérn
    of smoothness ``nu`` is fitted to their empirical variogram (gstools, chord-length bins up
    to 3000 km or the extent of the observed cells, a random subsample of 1000 cells); its
    total variance ``sill + nugget`` is kept. The fit is bounded: the sill by
    ``MAX_SILL_FACTOR`` (3) times the variance of the anomalies, the nugget by that variance,
    the length scale between half a cell and that extent. On a small region the empirical
    variogram may never level off (a front or a gradient across the region): unbounded, the fit
    ran away to length scales of 1e7 km and sills of 1e4 degC**2, which the cross-validation
    could only trade for a length of a quarter of a cell, and the members went to hundreds of
    degC. When the fit fails or ends on a bound (of the sill or the length scale), a robust
    guess stands in (``variogram_fallback`` = 1): the variance of the anomalies, 10 % of it
    as nugget, and the lag where the empirical variogram reaches ``1 - 1/e`` of it as length
    scale (within the bounds).
    The nugget is then the intercept of the variogram at the shortest lags
    (:func:`variogram_nugget`: one-cell bins up to four cells, the model's shape fitted to
    them), the variance finer than a cell that does not correlate with the next cell
    (measurement noise, sub-cell texture); the total variance stays.
    If ``refine``, the length scale is then tuned by cross-validation on
    ``n_sample`` observed cells, each kriged from its ``n_neighbours`` nearest other observed
    cells, the length scale kept between one cell and the extent above. When ``gaps`` are known, the observed cells closer to a held-out cell than a
    distance drawn from the gap cells' distances to their nearest observation are left out
    too, so that held-out cells lie as far from the data as gap cells do (plain leave-one-out
    tunes the model for interpolating between adjacent cells, which at fine grids picks
    length scales of thousands of km). The criterion is the Gaussian log score of the
    held-out cells (negative log predictive density), which judges the kriging variance as
    well as the error: the RMSE alone is flat in the length scale of an exponential model.
    Gap cells are never used. Deterministic (fixed subsample).

    Returns
    -------
    model : CovarianceModel
    diagnostics : dict
        ``cv_rmse`` (degC), ``cv_log_score`` and ``cv_mean_z2`` (mean squared standardised
        error, 1 when calibrated) of the held-out cells; ``variogram_length_scale_km`` (the
        first guess); ``variogram_fallback`` (1.0 when the robust guess replaced the
        variogram fit, else 0.0); ``variogram_nugget`` (degC**2); ``n_observed``.

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> from eogapfill.random_fields import gaussian_random_field
    >>> truth = 20 + gaussian_random_field(CovarianceModel(1.0, 1500.0, 0.01), 16, seed=1)[0]
    >>> model, info = fit_covariance(healpix_dataset({"t": truth}, 16).t, lmax=2)
    >>> 700 < model.length_scale_km < 3000
    True
    """
    inputs_sst, observed, gap_mask = fit_inputs(sst, gaps, method="oi")
    grid = grid_of(inputs_sst)
    values = np.asarray(inputs_sst.values, dtype="float64")
    return fit_covariance_arrays(
        values,
        observed,
        grid,
        gap_mask,
        nu=nu,
        lmax=lmax,
        n_neighbours=n_neighbours,
        n_sample=n_sample,
        refine=refine,
    )


def fit_covariance_arrays(
    values: np.ndarray,
    observed: np.ndarray,
    grid: HealpixGrid,
    gaps: np.ndarray | None,
    *,
    nu: float,
    lmax: int,
    n_neighbours: int,
    n_sample: int,
    refine: bool,
    background: np.ndarray | None = None,
) -> tuple[CovarianceModel, dict[str, float]]:
    """:func:`fit_covariance` on arrays of the grid's cells, shape ``(grid.npix,)`` each.

    ``background``: the large scale to remove (default :func:`large_scale`: the harmonic fit
    up to ``lmax`` on the sphere, the smoothed observations on a region).
    """
    n_obs = int(observed.sum())
    if n_obs < MIN_OBSERVED_FOR_FIT:
        raise ValueError(
            f"oi: {n_obs} observed cell(s) are too few to fit a covariance (at least "
            f"{MIN_OBSERVED_FOR_FIT}); pass covariance=CovarianceModel(...) or use a finer grid"
        )
    if nu not in SMOOTHNESS:
        raise ValueError(f"nu must be one of {SMOOTHNESS} (0.5 = exponential), got {nu!r}")
    if background is None:
        background = large_scale(values, observed, grid, lmax)
    obs_cells = np.flatnonzero(observed)
    anomalies = values[obs_cells] - background[obs_cells]
    xyz = grid.vectors()
    obs_xyz = xyz[obs_cells]
    rng = np.random.default_rng(20240601)
    sample = np.sort(rng.choice(n_obs, size=min(n_sample, n_obs), replace=False))
    # length scales between one cell and the extent of the observed cells (a region's size)
    cell = grid.resolution_km
    max_km = max(min(MAX_LAG_KM, _observed_extent_km(obs_xyz[sample])), 4.0 * cell)
    guess, fallback = _variogram_guess(
        EARTH_RADIUS_KM * obs_xyz[sample], anomalies[sample], nu, cell / 2, max_km, 1
    )
    info = {
        "variogram_length_scale_km": guess.length_scale_km,
        "variogram_fallback": float(fallback),
        "n_observed": float(n_obs),
    }
    tree = cKDTree(obs_xyz)
    exclusion = None
    if gaps is not None and gaps.any():
        gap_dist, _ = tree.query(xyz[gaps], k=1)
        exclusion = rng.choice(gap_dist, size=sample.size)
    k = min(n_neighbours, n_obs - 1)
    dist, idx = _validation_neighbours(tree, obs_xyz, sample, k, exclusion)
    geo = _geometry(obs_xyz, idx, dist)
    padded = np.append(anomalies, 0.0)
    nb_values, truth = padded[idx], anomalies[sample]
    nugget, _ = variogram_nugget(obs_xyz, anomalies, cell, guess)
    if not np.isfinite(nugget):  # too few close pairs: keep the variogram fit's nugget
        nugget = guess.nugget
    total = guess.variance
    nugget = float(min(nugget, 0.9 * total))
    info["variogram_nugget"] = nugget

    def make(log_length: float) -> CovarianceModel:
        length = float(np.clip(np.exp(log_length), cell, max_km))
        return CovarianceModel(total - nugget, length, nugget, nu)

    model = make(np.log(guess.length_scale_km))
    if refine:
        # the nugget is the variogram's intercept; the length scale is tuned by its log score
        log_bounds = (np.log(cell), np.log(max_km))

        def cost(log_length: float) -> float:
            return _cross_validate(make(log_length), geo, nb_values, truth)[1]

        start = np.log(guess.length_scale_km)
        grid_points = np.clip(start + np.linspace(-1.0, 1.0, 9), *log_bounds)
        best = min(grid_points, key=cost)
        step = 0.25
        found = scipy.optimize.minimize_scalar(
            cost,
            bounds=(max(best - step, log_bounds[0]), min(best + step, log_bounds[1])),
            method="bounded",
            options={"xatol": 0.02, "maxiter": 20},
        )
        model = make(found.x if found.fun < cost(best) else best)
    rmse, log_score, z2 = _cross_validate(model, geo, nb_values, truth)
    info.update(cv_rmse=rmse, cv_log_score=log_score, cv_mean_z2=z2)
    return model, info
