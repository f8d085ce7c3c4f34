"""Optimal interpolation (simple kriging) and Gaussian conditional simulation on the sphere.

The fill works on anomalies: the observed cells minus their large-scale spherical-harmonic
fit (:func:`eogapfill.harmonics.fit_harmonics`, ``lmax = 15`` by default). The anomalies are
modelled as a zero-mean Gaussian field with an isotropic Matérn covariance
(:class:`~eogapfill.random_fields.CovarianceModel`, re-exported here with
:func:`~eogapfill.random_fields.gaussian_random_field` and
:func:`~eogapfill.random_fields.angular_power_spectrum`), fitted on the observed cells only
(:func:`fit_covariance`): gstools fits the empirical variogram for a first guess, the nugget
(measurement noise and texture finer than a cell) is the intercept of the variogram at the
shortest lags, then cross-validation on observed cells, held out as far from the data as the
gap cells are, tunes the length scale. Each gap cell is predicted from its ``n_neighbours``
nearest observed cells by simple kriging (local optimal interpolation); the nugget enters the
weights, and the observed cells keep their observed values.

The error bars (``filled_std``, the error against the noise-free SST) are calibrated on the
observed cells (:func:`error_calibration`): the kriging variance is scaled by the local
variance of the observed anomalies (a front or a western boundary current varies ten times
more than a calm tropical sea; :func:`~eogapfill.fill.kriging.local_variance_ratio`), the
background's own error is added as a function of the distance to the data, and both are
inflated, by distance, so that observed cells hidden under the day's own gap pattern (moved
elsewhere) get a mean squared z-score of 1. The mean does not change. The calibration
rebuilds the background and kriges up to 20 000 hidden cells for each of three hidings: the
fill takes about twice as long (nside 64 to 256).

Each observed cell is kriged where its value was measured (:mod:`eogapfill.fill.positions`):
a cell at a cloud's edge holds the mean of its clear part only, off the cell's centre
(``observed_lon``, ``observed_lat`` of :func:`eogapfill.regrid.to_healpix`); the gap cells
are predicted at their centres. Placed at its centre, such a cell made the gap next to it seem
closer to the data than it is, and its error bars too narrow.

Distances enter the covariance as chord lengths ``2 R sin(d / 2R)`` (``R = 6371 km``), as in
gstools' ``latlon`` models: a Matérn of the chord is positive definite on the sphere for every
smoothness, and differs from one of the great-circle distance by less than 0.3 % below 1000 km.

Conditional members (``n_members > 0``) are unconditional Gaussian random fields with the same
covariance (spherical-harmonic synthesis of its angular power spectrum, plus white noise for the
nugget and for the variance finer than the grid), each conditioned on the observations by
kriging its own values at the observed cells: ``member = mean + (sim - kriged sim)``, scaled
like the error bars. The fields are drawn at the cells' centres, so they are kriged with the
centres' weights and their deviations scaled to the error variance of the measured positions
(with the data's weights they spread 15 % too little next to a cloud's edge). Far from the
data each member also carries a smooth draw of the background's error. Their spread in the gaps equals
``filled_std`` in expectation; a draw beyond what sea water can have is clipped to it.

With fewer than 50 observed cells (a small region under clouds) no covariance can be fitted:
the fill warns and uses :data:`~eogapfill.fill.kriging.DEFAULT_COVARIANCE`.

The background (large scale) is the harmonic fit near the data and its Laplace continuation
far from it, clipped to the observed range (see ``background`` of :func:`fill_oi`): a free
degree-15 fit can write tens of degrees into an enclosed sea under one cloud.

On a regional (partial) grid the harmonic fit is replaced by the observations smoothed with a
Gaussian of ``background_scale_km`` (300 km; :func:`~eogapfill.fill.kriging.smooth_observed`),
blended with its Laplace continuation as above; the covariance is fitted on the region's
observed cells; the members' unconditional fields are drawn on the full sphere at the map's
nside and cut to the region (the cost of a full-sphere draw: at nside 512, 3.1 M cells a
field). Away from the region's edge the fill equals the full-sphere fill of the same map with
the same covariance, background and seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import healpy as hp
import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from eogapfill.fill.common import (
    check_count,
    check_seed,
    checked_options,
    finish_fill,
    prepare_healpix_fill,
)
from eogapfill.fill.kriging import (
    DEFAULT_COVARIANCE,
    MIN_OBSERVED_FOR_FIT,
    REGIONAL_SCALE_KM,
    fit_covariance,
    fit_covariance_arrays,
    krige,
    large_scale,
    local_variance_ratio,
)
from eogapfill.fill.positions import observation_vectors
from eogapfill.healpix import EARTH_RADIUS_KM, HealpixGrid, nearest_distance_km
from eogapfill.random_fields import (
    SMOOTHNESS,
    CovarianceModel,
    angular_power_spectrum,
    gaussian_random_field,
)
from eogapfill.seawater import sea_water_bounds

__all__ = [
    "BACKGROUNDS",
    "BACKGROUND_REACH_KM",
    "EARTH_RADIUS_KM",
    "VARIANCE_SCALE_KM",
    "CovarianceModel",
    "ErrorCalibration",
    "angular_power_spectrum",
    "error_calibration",
    "fill_oi",
    "fit_covariance",
    "gaussian_random_field",
]

#: Backgrounds (large scales) that fill_oi can krige the anomalies around.
BACKGROUNDS = ("blended", "continued", "harmonic")
#: Gaussian width (km) over which the local variance of the anomalies is measured.
VARIANCE_SCALE_KM = 500.0
#: Distance to the data (km) over which the blended background passes from the harmonic fit
#: to its Laplace continuation. The continuation knows only a gap's observed edges: under a
#: large cloud that borders sea ice it carries the warm edge's values towards the ice (sample,
#: nside 64: +0.39 degC mean error 400-800 km from the data with a reach of 500 km).
BACKGROUND_REACH_KM = 1000.0


def _continue_into(
    template: xr.DataArray, field: np.ndarray, known: np.ndarray, unknown: np.ndarray
) -> np.ndarray:
    """``field`` on the ``known`` cells, its Laplace continuation on the ``unknown`` ones.

    The continuation is the smoothest map that meets ``field`` at the edge of each unknown
    region: by the maximum principle it stays within the values around that region.
    """
    from eogapfill.fill.laplace import fill_laplace

    boundary = template.copy(data=np.where(known, field, np.nan))
    filled = fill_laplace(boundary, unknown).filled.values
    return np.where(unknown, filled, field)


def _background(
    template: xr.DataArray,
    values: np.ndarray,
    observed: np.ndarray,
    unknown: np.ndarray,
    grid: HealpixGrid,
    lmax: int,
    kind: str,
    reach_km: float = BACKGROUND_REACH_KM,
    scale_km: float = REGIONAL_SCALE_KM,
) -> tuple[np.ndarray, np.ndarray]:
    """The large-scale background of the OI: ``(on every cell, the harmonic fit)``.

    ``"harmonic"`` is the least-squares harmonic fit up to ``lmax`` everywhere; it can run
    away far from any observation (an enclosed sea under one cloud). ``"continued"`` keeps the
    fit on the observed cells and continues it into the ``unknown`` cells by Laplace's
    equation, so that it cannot leave the range of the fit around each gap. Both clip the
    fit to the range of the observed values (where the data are sparse, near the ice edge,
    a degree-15 fit can miss them by several degC). ``"blended"``
    weighs the two by the distance ``d`` to the nearest observed cell: the harmonic fit with
    weight ``exp(-(d / reach_km)**2)``, the continuation with the rest.

    On a regional grid the fit is :func:`~eogapfill.fill.kriging.smooth_observed` (width
    ``scale_km``) instead of harmonics; where it is undefined (beyond ``3 scale_km`` of the
    data) the continuation stands alone.
    """
    fitted = large_scale(values, observed, grid, lmax, scale_km=scale_km, check=kind == "harmonic")
    if kind != "harmonic":  # a large scale never leaves the range of the observations
        seen = values[observed]
        fitted = np.clip(fitted, seen.min(), seen.max())
    if kind == "harmonic":
        return fitted, fitted
    continued = _continue_into(template, fitted, observed, unknown)
    if kind == "continued":
        return continued, fitted
    # blended: the harmonic fit near the data, its continuation far from it
    cells = np.flatnonzero(unknown)
    distance = nearest_distance_km(grid, observed, cells)
    weight = np.exp(-((distance / reach_km) ** 2))
    out = continued.copy()
    out[cells] = weight * fitted[cells] + (1 - weight) * continued[cells]
    if grid.is_partial:  # the smoothed field is undefined far from the data
        out[cells] = np.where(np.isfinite(fitted[cells]), out[cells], continued[cells])
    return out, fitted


def _moved_gaps(cells_mask: np.ndarray, grid: HealpixGrid, attempt: int) -> np.ndarray:
    """The gap pattern moved elsewhere on the grid, the ``attempt``-th way (1, 2 or 3).

    On the full sphere: turned by ``attempt`` x 90 degrees of longitude (exact on HEALPix).
    On a region: mirrored across the region's middle meridian (1), parallel (2) or both (3);
    cells that fall outside the region are dropped.
    """
    if not grid.is_partial:
        nside = grid.nside
        theta, phi = hp.pix2ang(nside, np.arange(cells_mask.size), nest=True)
        target = hp.ang2pix(nside, theta, phi + attempt * np.pi / 2, nest=True)
    else:
        lon, lat = grid.lonlat()
        lon = lon[0] + (lon - lon[0] + 180.0) % 360.0 - 180.0  # no jump at the antimeridian
        if attempt & 1:
            lon = lon.min() + lon.max() - lon
        if attempt & 2:
            lat = lat.min() + lat.max() - lat
        target = grid.position(hp.ang2pix(grid.nside, lon, lat, nest=True, lonlat=True))
    out = np.zeros_like(cells_mask)
    moved = target[cells_mask]
    out[moved[moved >= 0]] = True
    return out


@dataclass(frozen=True)
class ErrorCalibration:
    """What the OI learns about its own errors by hiding observed cells.

    Attributes
    ----------
    distance_km, background_variance : numpy.ndarray
        Bin centres of the distance to the nearest observation (km) and the background's
        error variance there (degC**2), shape ``(n_bins,)``, non-decreasing; empty when too
        few cells could be hidden.
    inflation : numpy.ndarray
        Factor on the predicted error variance, per distance bin, that makes the mean
        squared z-score of the hidden cells 1 there (ones when not fitted).
    n_hidden : int
        Hidden cells the calibration rests on.
    """

    distance_km: np.ndarray
    background_variance: np.ndarray
    inflation: np.ndarray
    n_hidden: int = 0


#: The fitted inflation of the error variance stays within these bounds.
INFLATION_BOUNDS = (0.25, 4.0)
#: Weight (in hidden cells) of the overall inflation in each distance bin's inflation.
SHRINK_CELLS = 200
#: Hidden cells scored per hiding at most (a fixed random sample of them beyond).
MAX_HIDDEN_CELLS = 20_000


def _krige_at(
    model: CovarianceModel,
    xyz: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    columns: np.ndarray,
    n_neighbours: int,
    bound: float = np.inf,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Krige ``columns`` (shape ``(sources.size, n_vars)``) from the ``sources`` cells to the
    ``targets`` cells with each target's ``n_neighbours`` nearest sources (within the unit
    chord ``bound``). Returns predictions ``(targets.size, n_vars)`` and variances."""
    k = min(n_neighbours, sources.size)
    dist, idx = cKDTree(xyz[sources]).query(xyz[targets], k=k, distance_upper_bound=bound)
    dist, idx = dist.reshape(targets.size, k), idx.reshape(targets.size, k)
    return krige(model, dist, idx, xyz[sources], columns, progress=progress)


def error_calibration(
    template: xr.DataArray,
    values: np.ndarray,
    observed: np.ndarray,
    gaps: np.ndarray,
    grid: HealpixGrid,
    model: CovarianceModel,
    *,
    lmax: int,
    kind: str | np.ndarray,
    n_neighbours: int,
    reach_km: float = BACKGROUND_REACH_KM,
    scale_km: float = REGIONAL_SCALE_KM,
    variance_scale_km: float | None = VARIANCE_SCALE_KM,
    xyz: np.ndarray | None = None,
) -> ErrorCalibration:
    """Learn the OI's errors on observed cells hidden under the day's own gap pattern.

    The gap pattern, turned by 90, 180 and 270 degrees of longitude (on a region: mirrored
    within it), hides observed cells; for each turn that hides at least 100 of them (only the
    first such turn without ``variance_scale_km``; at most :data:`MAX_HIDDEN_CELLS` of them
    scored, a fixed random sample), the
    background is rebuilt without them (``kind``: a background name, or a given map that
    stays) and their values are predicted as in :func:`fill_oi`. Observed cells only: the
    gap cells are never read.

    - The background's error variance: the squared background error minus the anomaly
      variance of ``model`` (times the local ratio,
      :func:`~eogapfill.fill.kriging.local_variance_ratio`), averaged in bins of the distance
      to the nearest kept observation, made non-decreasing (zero for a given background).
    - With ``variance_scale_km``, the inflation per distance bin: the mean of
      ``(error**2 - nugget) / predicted`` over the hidden cells, where ``predicted`` is the
      local ratio times the kriging variance of the noise-free value plus the background's
      error left by the kriging weights (within :data:`INFLATION_BOUNDS`).
      ``None`` fits no inflation and takes the local ratio as 1 (a given covariance).

    ``values``, ``observed``, ``gaps``: shape ``(grid.npix,)``; ``xyz``: where each cell's
    value is, shape ``(grid.npix, 3)`` (:func:`~eogapfill.fill.positions.observation_vectors`;
    default the cells' centres): a hidden cell is predicted where it was measured.
    """
    given = not isinstance(kind, str)
    n_coeffs = 0 if grid.is_partial or given else (lmax + 1) ** 2
    xyz = grid.vectors() if xyz is None else xyz
    pieces = []
    for attempt in (1, 2, 3):
        hidden = observed & _moved_gaps(gaps, grid, attempt)
        kept = observed & ~hidden
        if hidden.sum() < 100 or kept.sum() < max(2 * n_coeffs, MIN_OBSERVED_FOR_FIT):
            continue
        if given:
            large = fitted = np.asarray(kind, dtype="float64")
        else:
            large, fitted = _background(
                template, values, kept, gaps | hidden, grid, lmax, kind, reach_km, scale_km
            )
        cells, sources = np.flatnonzero(hidden), np.flatnonzero(kept)
        if cells.size > MAX_HIDDEN_CELLS:  # a fixed sample: the cost stays bounded
            rng = np.random.default_rng(attempt)
            cells = np.sort(rng.choice(cells, MAX_HIDDEN_CELLS, replace=False))
        ratio = np.ones(cells.size)
        if variance_scale_km is not None:
            ratio = local_variance_ratio(values - fitted, kept, grid, variance_scale_km, cells)
        background_sq = (values[cells] - large[cells]) ** 2
        piece = [nearest_distance_km(grid, kept, cells), ratio, background_sq]
        if variance_scale_km is not None:
            columns = np.stack([values[sources] - large[sources], np.ones(sources.size)], 1)
            pred, var = _krige_at(model, xyz, sources, cells, columns, n_neighbours)
            var = np.maximum(var - model.nugget, 0.0)  # the error of the noise-free value
            error_sq = (values[cells] - large[cells] - pred[:, 0]) ** 2
            piece += [var, (1.0 - pred[:, 1]) ** 2, error_sq]
        pieces.append(piece)
        if variance_scale_km is None:  # the background's error alone: one hiding is enough
            break
    if not pieces:
        return ErrorCalibration(np.empty(0), np.empty(0), np.empty(0))
    columns = (np.concatenate(piece) for piece in zip(*pieces, strict=True))
    distance, ratio, background_sq, *kriged = columns
    order = np.argsort(distance)
    bins = np.array_split(order, int(np.clip(order.size // 50, 1, 12)))
    centres = np.array([np.median(distance[b]) for b in bins])
    excess = np.zeros(centres.size)
    if not given:
        unit = background_sq - ratio * model.variance
        excess = np.maximum.accumulate(np.maximum([np.mean(unit[b]) for b in bins], 0.0))
    inflation = np.ones(centres.size)
    if kriged:
        var, leftover, error_sq = kriged
        predicted = ratio * var + leftover * np.interp(distance, centres, excess)
        # a hidden cell's value carries the nugget (scaled as the whole covariance) on top
        z2 = (error_sq - ratio * model.nugget) / np.maximum(predicted, 1e-12)
        # each bin's mean, shrunk towards the mean of all bins (as if it held SHRINK_CELLS
        # more cells at that mean): few hidden cells per bin on a small region
        overall = float(np.mean(z2))
        means = [(z2[b].sum() + SHRINK_CELLS * overall) / (b.size + SHRINK_CELLS) for b in bins]
        inflation = np.clip(means, *INFLATION_BOUNDS)
    return ErrorCalibration(centres, excess, inflation, int(distance.size))


def _fitted_or_default(
    values: np.ndarray,
    observed: np.ndarray,
    grid: HealpixGrid,
    gaps: np.ndarray,
    background: np.ndarray,
    nu: float,
    lmax: int,
    n_neighbours: int,
) -> tuple[CovarianceModel, dict[str, float], bool]:
    """The covariance fitted to the observed cells, or :data:`DEFAULT_COVARIANCE` with a
    warning when fewer than :data:`MIN_OBSERVED_FOR_FIT` are observed. Returns the model, the
    fit's diagnostics and whether the default stands in."""
    if nu not in SMOOTHNESS:
        raise ValueError(f"nu must be one of {SMOOTHNESS} (0.5 = exponential), got {nu!r}")
    n_obs = int(observed.sum())
    if n_obs < MIN_OBSERVED_FOR_FIT:
        model = replace(DEFAULT_COVARIANCE, nu=nu)
        warnings.warn(
            f"oi: {n_obs} observed cell(s) are too few to fit a covariance (at least "
            f"{MIN_OBSERVED_FOR_FIT}); the fill uses the default covariance (Matern nu={nu}, "
            f"sill {model.sill:g} degC**2, length scale {model.length_scale_km:g} km, nugget "
            f"{model.nugget:g} degC**2), whose error bars are a guess. A larger region, a "
            "coarser grid or a given covariance (covariance=CovarianceModel(...)) avoids it",
            UserWarning,
            stacklevel=3,
        )
        return model, {"n_observed": float(n_obs)}, True
    model, info = fit_covariance_arrays(
        values,
        observed,
        grid,
        gaps,
        nu=nu,
        lmax=lmax,
        n_neighbours=n_neighbours,
        n_sample=1000,
        refine=True,
        background=background,
    )
    return model, info, False


def _clip_to_sea_water(members: np.ndarray, cells: np.ndarray, units: str) -> int:
    """Clip the members' ``cells`` (in place) to what sea water can have in ``units``.

    A Gaussian draw far from the data near the ice edge, where the calibrated error reaches
    several degC, can fall below the freezing point of sea water; such a draw is set to the
    bound (:data:`~eogapfill.seawater.SEA_WATER_DEGC`). Returns how many values were clipped
    (0 for maps whose units are not a temperature).
    """
    bounds = sea_water_bounds(units)
    if bounds is None:
        return 0
    part = members[:, cells]
    outside = int(((part < bounds[0]) | (part > bounds[1])).sum())
    members[:, cells] = np.clip(part, *bounds)
    return outside


@checked_options("oi")
def fill_oi(
    sst: xr.DataArray | xr.Dataset,
    gaps: xr.DataArray | np.ndarray | None = None,
    *,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
    covariance: str | CovarianceModel = "fit",
    nu: float = 0.5,
    lmax: int = 15,
    background: str | np.ndarray = "blended",
    background_reach_km: float = BACKGROUND_REACH_KM,
    background_scale_km: float = REGIONAL_SCALE_KM,
    n_neighbours: int = 32,
    radius_km: float | None = None,
    calibrate: bool | None = None,
    variance_scale_km: float = VARIANCE_SCALE_KM,
    n_members: int = 0,
    seed: int | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Fill the gaps by optimal interpolation (local simple kriging) of the anomalies.

    Parameters
    ----------
    sst, gaps
        As in every fill (see :mod:`eogapfill.fill.common`): a HEALPix map (degC), full-sphere
        or regional, and a boolean map of the cells to fill, or a regridded day. On a region
        the covariance is fitted on the region's observed cells and the members are drawn on
        the full sphere at the map's nside, then cut to the region.
    positions : (lon, lat) arrays, optional
        Where each observed cell's value was measured, degrees, each shape ``(n_cells,)``:
        ``observed_lon`` and ``observed_lat`` of :func:`eogapfill.regrid.to_healpix`, read
        from a regridded day when not given. A cell at a cloud's edge is the mean of its clear
        part, off the cell's centre; kriged there, the gap cells next to it get the error bars
        of their real distance to the data (:mod:`eogapfill.fill.positions`). Without them,
        the cells' centres.
    covariance : "fit" or CovarianceModel
        ``"fit"`` fits a Matérn of smoothness ``nu`` to the observed cells
        (:func:`fit_covariance`); or pass a model of the anomalies.
    nu : float
        Smoothness of the fitted Matérn (0.5, 1.5 or 2.5); ignored with a given model.
    lmax : int
        Degree of the spherical-harmonic large-scale fit removed before kriging.
    background : {"blended", "continued", "harmonic"} or numpy.ndarray
        The large scale that the anomalies are kriged around, and that a gap cell far from
        every observation falls back to; or a given large-scale map, shape ``(npix,)`` (the
        map's cells, degC, finite on the observed and gap cells; its error is then left out
        of ``filled_std``). ``"harmonic"``: the harmonic fit everywhere, which
        can run away (tens of degrees) in a large gap far from the data. ``"continued"``:
        the fit on the observed cells, continued into the gaps by Laplace's equation, so that
        it stays within the values around each gap (but flattens large-scale gradients).
        ``"blended"`` (default): the harmonic fit near the data, its continuation beyond
        ``background_reach_km``.
    background_reach_km : float
        Distance to the nearest observation (km) over which ``"blended"`` passes from the
        harmonic fit to the continuation (weight ``exp(-(d / reach)**2)``); default
        :data:`BACKGROUND_REACH_KM` (1000 km: on the sample's 10 days the mean RMSE of the
        gap cells is 3.7-5.2 % lower than with 500 km at nside 32-128).
    background_scale_km : float
        On a regional map (a partial grid) the large scale is not a harmonic fit (ill-posed
        on part of the sphere) but the observations smoothed by a Gaussian of this width (km,
        :func:`~eogapfill.fill.kriging.smooth_observed`), continued and blended as above;
        ``"harmonic"`` is refused there. Ignored on the full sphere.
    n_neighbours : int
        Observed cells used for each gap cell (its nearest ones).
    radius_km : float, optional
        Use only neighbours closer than this (km); a gap cell with none gets the large-scale
        value and the prior standard deviation. Must exceed the cell size.
    calibrate : bool, optional
        Calibrate ``filled_std`` on the observed cells (:func:`error_calibration`): the local
        variance of the anomalies and an inflation by distance to the data. Default: when the
        covariance is fitted; with a given model its kriging variance stands as it is.
    variance_scale_km : float
        Gaussian width (km) over which the local variance of the anomalies is measured.
    n_members : int
        Number of conditional simulations to return as ``members``.
    seed : int, optional
        Seed of the simulations (the covariance fit is deterministic anyway); ``None`` draws
        one, recorded in the attribute ``seed`` so that the run can be repeated.
    progress : bool
        Show a progress bar over the kriging batches.

    Returns
    -------
    xarray.Dataset
        ``filled`` (kriging mean plus background, degC), ``filled_std`` (degC, 0 outside the
        gaps: the error against the noise-free SST, the kriging standard deviation with the
        background's own error, which grows with the distance to the data, calibrated as
        above; against a noisy observation add ``covariance_nugget``), ``members``
        (``member``, ``cells``) when ``n_members > 0``. Attributes: the covariance
        parameters (``covariance_*``; ``covariance_default`` = 1 when the default stood in),
        the calibration (``calibrated``, ``error_inflation``: the root mean square of the
        inflation over the distance bins, ``error_n_hidden``), ``members_clipped`` and, when
        fitted, the diagnostics of :func:`fit_covariance` (``fit_*``, e.g. ``fit_cv_rmse``).

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> model = CovarianceModel(sill=1.0, length_scale_km=1500.0, nugget=0.01)
    >>> truth = 20 + gaussian_random_field(model, nside=16, seed=0)[0]
    >>> gaps = np.zeros(truth.size, bool); gaps[::7] = True
    >>> sst = healpix_dataset({"sst": np.where(gaps, np.nan, truth)}, nside=16).sst
    >>> out = fill_oi(sst, gaps, covariance=model, lmax=2)
    >>> bool(np.sqrt(np.mean((out.filled - truth)[gaps] ** 2)) < 0.5)
    True
    """
    # the options' values were checked against the registry's rules (checked_options)
    inputs, grid = prepare_healpix_fill(sst, gaps, method="oi")
    n_neighbours = check_count(n_neighbours, "n_neighbours", method="oi")
    n_members = check_count(n_members, "n_members", minimum=0, method="oi")
    seed = check_seed(seed, method="oi")
    given = not isinstance(background, str)
    if given:
        background_map = np.asarray(background, dtype="float64")
        if background_map.shape != inputs.values.shape:
            raise ValueError(
                f"oi: a given background must have the map's shape {inputs.values.shape}, "
                f"got {background_map.shape}"
            )
        if not np.isfinite(background_map[inputs.observed | inputs.gaps]).all():
            raise ValueError("oi: the given background has NaN on observed or gap cells")
    elif background == "harmonic" and grid.is_partial:
        raise ValueError(
            "oi: background='harmonic' needs the full sphere (a harmonic fit on a region is "
            "ill-conditioned); on a region use background='blended' or 'continued'"
        )
    if radius_km is not None and not radius_km > grid.resolution_km:
        raise ValueError(
            f"oi: radius_km={radius_km} is smaller than a cell at nside {grid.nside} "
            f"({grid.resolution_km:.0f} km): no neighbour could be reached; use a radius of "
            "several cells or radius_km=None"
        )
    values, observed = inputs.values, inputs.observed
    if given:
        large = fitted = background_map
    else:
        large, fitted = _background(
            inputs.sst,
            values,
            observed,
            inputs.gaps,
            grid,
            lmax,
            background,
            background_reach_km,
            background_scale_km,
        )
    info: dict[str, float] = {}
    fallback = False
    if isinstance(covariance, str):
        if covariance != "fit":
            raise ValueError(f"covariance must be 'fit' or a CovarianceModel, got {covariance!r}")
        model, info, fallback = _fitted_or_default(
            values, observed, grid, inputs.gaps, fitted, nu, lmax, n_neighbours
        )
    elif isinstance(covariance, CovarianceModel):
        model = covariance
    else:
        raise TypeError(
            f"covariance must be 'fit' or a CovarianceModel, got {type(covariance).__name__}"
        )
    if calibrate is None:
        calibrate = isinstance(covariance, str)
    obs_cells = np.flatnonzero(observed)
    gap_cells = np.flatnonzero(inputs.gaps)
    xyz, placed = observation_vectors(sst, positions, grid, observed, method="oi")
    region_ids = grid.ids if grid.is_partial else None
    bound = np.inf if radius_km is None else 2 * np.sin(radius_km / (2 * EARTH_RADIUS_KM))
    columns = [values[obs_cells] - large[obs_cells], np.ones(obs_cells.size)]
    sims = None
    if n_members:
        sims = gaussian_random_field(
            model, grid.nside, n_fields=n_members, seed=seed, cells=region_ids
        )
        if not placed:  # the fields and the data at the same places: one kriging
            columns += [sim[obs_cells] for sim in sims]
    pred, var = _krige_at(
        model, xyz, obs_cells, gap_cells, np.stack(columns, axis=1), n_neighbours, bound, progress
    )
    sim_pred, sim_var = None, var
    if sims is not None and not placed:
        sim_pred = pred[:, 2:]
    elif sims is not None:
        # the fields are drawn at the cells' centres: conditioned with the weights of the
        # centres, whose error variance is ``sim_var`` (kriged with the measured positions'
        # weights, their deviations had less spread than filled_std next to a cloud's edge)
        sim_pred, sim_var = _krige_at(
            model, grid.vectors(), obs_cells, gap_cells, sims[:, obs_cells].T, n_neighbours, bound
        )
    filled = np.full(values.shape, np.nan)
    filled[gap_cells] = large[gap_cells] + pred[:, 0]
    # the background's error reaches a gap cell with the weight that kriging leaves it; the
    # local variance and the inflation scale both terms (1 without calibration)
    calibration = error_calibration(
        inputs.sst,
        values,
        observed,
        inputs.gaps,
        grid,
        model,
        lmax=lmax,
        kind=background_map if given else background,
        n_neighbours=n_neighbours,
        reach_km=background_reach_km,
        scale_km=background_scale_km,
        variance_scale_km=variance_scale_km if calibrate else None,
        xyz=xyz,
    )
    background_var = np.zeros(gap_cells.size)
    scale = np.ones(gap_cells.size)  # the inflation
    ratio = np.ones(gap_cells.size)  # the local variance
    if calibration.distance_km.size:
        gap_km = nearest_distance_km(grid, obs_cells, gap_cells)
        error_var = np.interp(gap_km, calibration.distance_km, calibration.background_variance)
        background_var = error_var * (1 - pred[:, 1]) ** 2
        scale = np.interp(gap_km, calibration.distance_km, calibration.inflation)
    if calibrate:
        ratio = local_variance_ratio(values - fitted, observed, grid, variance_scale_km, gap_cells)
    std = np.zeros(values.shape)
    signal_var = np.maximum(var - model.nugget, 0.0)  # the noise-free SST's error
    std[gap_cells] = np.sqrt(scale * (ratio * signal_var + background_var))
    members = None
    if sims is not None:
        members = np.broadcast_to(values, (n_members, values.size)).copy()
        # the simulations' deviations have the kriging variance with the nugget: scaled to
        # the noise-free error, their spread is filled_std
        shrink = np.sqrt(signal_var / np.maximum(sim_var, 1e-300))
        deviation = (sims[:, gap_cells] - sim_pred.T) * np.sqrt(scale * ratio) * shrink
        members[:, gap_cells] = filled[gap_cells] + deviation
        if background_var.any():
            # the background's error is large-scale: a smooth unit-variance field per member,
            # scaled by its standard deviation, so that the spread matches filled_std
            smooth = gaussian_random_field(
                CovarianceModel(1.0, background_reach_km, nu=2.5),
                grid.nside,
                n_fields=n_members,
                seed=np.random.default_rng([seed, 1]),
                cells=region_ids,
            )
            members[:, gap_cells] += smooth[:, gap_cells] * np.sqrt(scale * background_var)
        members_clipped = _clip_to_sea_water(
            members, gap_cells, str(inputs.sst.attrs.get("units", ""))
        )
    k = min(n_neighbours, obs_cells.size)
    error_var = calibration.background_variance
    attrs = {
        "covariance": "fitted" if isinstance(covariance, str) else "given",
        "covariance_nu": model.nu,
        "covariance_sill": model.sill,
        "covariance_length_scale_km": model.length_scale_km,
        "covariance_nugget": model.nugget,
        "lmax": lmax,
        "background": "given" if given else background,
        "background_reach_km": float(background_reach_km),
        "background_error_max_degC": float(np.sqrt(error_var.max())) if error_var.size else 0.0,
        "calibrated": int(calibrate),
        "error_inflation": float(np.sqrt(np.mean(np.square(calibration.inflation))))
        if calibration.inflation.size
        else 1.0,
        "error_n_hidden": calibration.n_hidden,
        "error_variance_scale_km": float(variance_scale_km) if calibrate else float("nan"),
        "observed_positions": "measured" if placed else "cell centres",
        "covariance_default": int(fallback),
        "n_neighbours": int(k),
        "radius_km": float("nan") if radius_km is None else float(radius_km),
        **{f"fit_{key}": value for key, value in info.items()},
    }
    if grid.is_partial and not given:
        attrs["background_scale_km"] = float(background_scale_km)
    if n_members:
        attrs["seed"] = seed
        attrs["members_clipped"] = members_clipped
    return finish_fill(inputs, filled, method="oi", std=std, members=members, attrs=attrs)
