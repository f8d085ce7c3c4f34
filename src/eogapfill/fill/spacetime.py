"""Space-time optimal interpolation: a day's gaps kriged from its own clear sky and its
neighbouring days'.

Each day of the window ``target - k .. target + k`` is turned into anomalies around the
target day's background (the single-day OI's, :func:`eogapfill.fill.oi.fill_oi`'s
``"blended"``: on the full sphere the harmonic fit up to ``lmax`` of its observed cells, on a
region its observations smoothed by a Gaussian, continued into the gaps), minus the day's
mean change from the target on the cells observed on both days, so that a seasonal warming or
a day's bias does not pass from one day to the next. (Around each day's own harmonic fit, a
fit that overshoots where that day has few observations, as in the Kara Sea, would pass its
overshoot to the target: -8 degC were written that way.) The anomalies are modelled as a
zero-mean Gaussian field with a separable covariance

``C(d, dt) = sill * rho_space(d) * rho ** |dt| + nugget * [same cell, same day]``

where ``d`` is the chord between two cells (km) and ``dt`` the number of days between them.
``rho_space``, ``sill`` and ``nugget`` are fitted on the target day's observed cells exactly as
the single-day OI fits them (:func:`~eogapfill.fill.kriging.fit_covariance`). ``rho``, the
day-to-day correlation of the anomalies, is measured on the cells observed on both days of
each consecutive pair of the window: their correlation, corrected for the nugget (which does
not persist), pooled over the pairs (a pair ``dt`` days apart gives ``r ** (1 / dt)``). Only
observed cells enter either fit.

Each gap cell of the target day is predicted by simple kriging from its ``n_neighbours``
nearest observed cells of the target day and the ``n_neighbours_other`` nearest observed cells
of each other day of the window, and gets the target day's background (the single-day OI's,
:func:`eogapfill.fill.oi.fill_oi`'s ``"blended"``) plus the kriged anomaly. With ``window=0``
the mean is the single-day OI mean with the same covariance. ``filled_std`` is the kriging
standard deviation of the noise-free SST, without the single-day OI's calibration and
without the background's own error. Conditional members (``n_members``) are drawn in
space-time: fields of the same separable covariance over the window's days
(:func:`spacetime_fields`), each conditioned on the window's observed cells with the same
kriging weights, so that their spread in the gaps is ``filled_std``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from eogapfill.fill.common import (
    FillInputs,
    check_count,
    check_seed,
    checked_options,
    finish_fill,
    prepare_healpix_fill,
)
from eogapfill.fill.oi import (
    INFLATION_BOUNDS,
    _background,
    _clip_to_sea_water,
    _fitted_or_default,
    _moved_gaps,
)
from eogapfill.fill.positions import observation_vectors
from eogapfill.healpix import EARTH_RADIUS_KM, POSITION_NAMES, HealpixGrid
from eogapfill.random_fields import CovarianceModel, gaussian_random_field
from eogapfill.stack import check_stack

__all__ = [
    "day_offsets",
    "fill_spacetime",
    "fill_spacetime_oi",
    "fit_time_correlation",
    "spacetime_fields",
]

#: Largest day-to-day correlation kept (a correlation of 1 makes the covariance singular).
MAX_RHO = 0.98
#: Fewest cells observed on both days for a pair to enter the fit of ``rho``.
MIN_PAIR_CELLS = 30

#: Hidden cells that the calibration of ``filled_std`` kriges at most (a fixed random sample
#: beyond). One factor is fitted: its mean squared z-score is known to about 2 % from 5000
#: cells, which cost a quarter of a day's fill at nside 128 (20 000 cost 5.6 s of 21.6 s).
HIDDEN_CELLS = 5000


@dataclass(frozen=True)
class _Day:
    """The observed anomalies of one day of the window."""

    offset: float  # days from the target
    xyz: np.ndarray  # (n, 3) unit vectors of its observed cells
    anomalies: np.ndarray  # (n,) degC
    cells: np.ndarray  # (n,) indices in the grid


@dataclass(frozen=True)
class _Window:
    """The days of the window as the kriging sees them (what :func:`_krige_gaps` and
    :func:`_hidden_inflation` share)."""

    grid: HealpixGrid
    used: tuple[int, ...]  # the days' indices in the stack, the target first
    offsets: np.ndarray  # (n_days,) the days' positions, days
    anomalies: np.ndarray  # (n_days, npix) degC, NaN where a day is not observed
    xyz: tuple[np.ndarray, ...]  # per day of used, (npix, 3): where each cell's value is
    model: CovarianceModel
    rho: float
    n_neighbours: int  # nearest observed cells of the target day
    n_other: int  # nearest observed cells of each other day


def day_offsets(stack: xr.Dataset) -> np.ndarray:
    """Position of each day of the stack on a time axis in days, shape ``(time,)``.

    From the ``time`` coordinate (datetimes); 0, 1, 2, ... when it is absent or not a date.
    """
    if "time" in stack.coords and np.issubdtype(stack["time"].dtype, np.datetime64):
        t = stack["time"].values.astype("datetime64[s]").astype("int64")
        return (t - t[0]) / 86400.0
    return np.arange(stack.sizes["time"], dtype="float64")


def _anomalies_around(
    values: np.ndarray,
    observed: np.ndarray,
    large: np.ndarray,
    target_values: np.ndarray,
    target_observed: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Another day's anomalies around the target day's background, shape ``(npix,)``.

    Its observed values minus the target's ``large`` (the background that the fill adds back)
    and minus the day's mean change from the target, measured on the cells observed on both
    days (0 with fewer than :data:`MIN_PAIR_CELLS` of them); NaN elsewhere. Returns the
    anomalies and that change (degC).
    """
    both = observed & target_observed
    change = 0.0
    if both.sum() >= MIN_PAIR_CELLS:
        change = float(np.mean(values[both] - target_values[both]))
    out = np.full(values.shape, np.nan)
    out[observed] = values[observed] - large[observed] - change
    out[~np.isfinite(out)] = np.nan  # a background undefined there (far outside a region)
    return out, change


def fit_time_correlation(
    anomalies: np.ndarray, offsets: np.ndarray, model: CovarianceModel
) -> tuple[float, int]:
    """The day-to-day correlation ``rho`` of the anomalies' signal, from consecutive days.

    Parameters
    ----------
    anomalies : numpy.ndarray, shape ``(n_days, n_cells)``
        Each day's anomalies around its own large scale (degC), NaN where not observed.
    offsets : numpy.ndarray, shape ``(n_days,)``
        The days' positions (days).
    model : CovarianceModel
        The spatial covariance: its nugget share is removed from the correlation,
        ``rho_pair = r * (sill + nugget) / sill``.

    Returns
    -------
    rho : float
        In ``[0, MAX_RHO]``, pooled over the pairs (weighted by their cells); 0 when no pair
        has :data:`MIN_PAIR_CELLS` cells observed on both days.
    n_pairs : int
        The pairs used.
    """
    total, weight, n_pairs = 0.0, 0.0, 0
    for a, b, dt in zip(anomalies[:-1], anomalies[1:], np.diff(offsets), strict=True):
        both = np.isfinite(a) & np.isfinite(b)
        if both.sum() < MIN_PAIR_CELLS or not dt > 0:
            continue
        x, y = a[both], b[both]
        denom = np.sqrt(np.mean(x**2) * np.mean(y**2))
        if not denom > 0:
            continue
        r = float(np.mean(x * y) / denom) * model.variance / model.sill
        total += both.sum() * float(np.clip(r, 0.0, 1.0)) ** (1.0 / dt)
        weight += both.sum()
        n_pairs += 1
    if weight == 0:
        return 0.0, 0
    return float(min(total / weight, MAX_RHO)), n_pairs


def _neighbours(
    day: _Day, targets_xyz: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` nearest observed cells of ``day`` to each target: unit chords ``(n, k)``,
    unit vectors ``(n, k, 3)``, anomalies ``(n, k)`` and grid cells ``(n, k)``."""
    n = targets_xyz.shape[0]
    k = min(k, day.cells.size)
    if k == 0:
        empty = np.zeros((n, 0))
        return np.full((n, 0), np.inf), np.zeros((n, 0, 3)), empty, empty.astype(np.int64)
    dist, idx = cKDTree(day.xyz).query(targets_xyz, k=k)
    dist, idx = dist.reshape(n, k), idx.reshape(n, k)
    return dist, day.xyz[idx], day.anomalies[idx], day.cells[idx]


def _krige_batch(
    model: CovarianceModel,
    rho: float,
    chord: np.ndarray,
    xyz: np.ndarray,
    dt: np.ndarray,
    vals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Simple kriging of a batch with the separable covariance.

    ``chord``: ``(b, K)`` unit chords to the target; ``xyz``: ``(b, K, 3)``; ``dt``: ``(K,)``
    days from the target; ``vals``: ``(b, K)`` or ``(b, K, m)`` (m variables kriged with the
    same weights). Returns the means ``(b,)`` or ``(b, m)`` and the variances of the
    noise-free anomaly ``(b,)`` (degC**2).
    """
    k = chord.shape[1]
    cos = np.matmul(xyz, xyz.transpose(0, 2, 1))
    among = EARTH_RADIUS_KM * np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0))
    lag = np.abs(dt[:, None] - dt[None, :])
    cov = model.sill * model.correlation_chord(among) * rho**lag
    diag = np.arange(k)
    cov[:, diag, diag] += model.nugget
    rhs = model.sill * model.correlation_chord(EARTH_RADIUS_KM * chord) * rho ** np.abs(dt)
    weights = np.linalg.solve(cov, rhs[:, :, None])[:, :, 0]
    mean = np.einsum("bk,bk...->b...", weights, vals)
    var = model.sill - np.einsum("bk,bk->b", weights, rhs)
    return mean, np.maximum(var, 0.0)


def _window(n_days: int, target: int, window: int) -> list[int]:
    """The days of the window, the target first."""
    others = [t for t in range(target - window, target + window + 1) if t != target]
    return [target, *[t for t in others if 0 <= t < n_days]]


def _has_positions(stack: xr.Dataset) -> bool:
    """Whether the stack says where each day's observations are (``observed_lon/lat``)."""
    return all(p in stack.data_vars for p in POSITION_NAMES)


def _day_vectors(
    stack: xr.Dataset, used: list[int], grid: HealpixGrid, observed: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Where each cell's value is on each day of ``used``, shape ``(npix, 3)`` each
    (:func:`~eogapfill.fill.positions.observation_vectors`), from the stack's
    ``observed_lon`` and ``observed_lat`` (:func:`_has_positions`): an observed cell at its
    measured position, every other cell at its centre. Refused when a day's positions are not
    its map's (NaN on an observed cell, or far from it)."""
    out = []
    for t in used:
        lon, lat = (stack[p].isel(time=t) for p in POSITION_NAMES)
        xyz, _ = observation_vectors(
            stack["SST_L3S"].isel(time=t), (lon, lat), grid, observed[t], method="spacetime_oi"
        )
        out.append(xyz)
    return tuple(out)


@checked_options("spacetime_oi")
def fill_spacetime_oi(
    stack: xr.Dataset,
    target: int,
    *,
    window: int = 3,
    covariance: str | CovarianceModel = "fit",
    rho: float | None = None,
    nu: float = 0.5,
    lmax: int = 15,
    n_neighbours: int = 32,
    n_neighbours_other: int = 16,
    calibrate: bool = True,
    n_members: int = 0,
    seed: int | None = None,
) -> xr.Dataset:
    """Fill one day of a HEALPix stack by space-time optimal interpolation (module docstring).

    Parameters
    ----------
    stack : xarray.Dataset
        ``SST_L3S`` (degC), ``gap`` and ``sea`` on ``(time, cells)`` with ``cell_ids``
        (:func:`eogapfill.stack.healpix_stack`); full sphere or a region.
    target : int
        Index of the day to fill.
    window : int
        Days on each side of the target that lend their observations (0: the target alone).
    covariance : "fit" or CovarianceModel
        The spatial covariance of the anomalies: fitted on the target day's observed cells, or
        given.
    rho : float, optional
        The day-to-day correlation of the anomalies; default: fitted
        (:func:`fit_time_correlation`) on the window's observed cells.
    nu, lmax
        As in :func:`eogapfill.fill.oi.fill_oi`.
    n_neighbours, n_neighbours_other : int
        Nearest observed cells of the target day, and of each other day, used for each gap
        cell.
    calibrate : bool
        Scale ``filled_std`` (and the members' deviations) so that the target's observed
        cells, hidden under its own gap pattern moved elsewhere (as
        :func:`eogapfill.fill.oi.error_calibration` hides them) and kriged from the rest of
        the window, get a mean squared z-score of 1 (:func:`_hidden_inflation`); the factor
        is the attribute ``error_inflation``. The background is not rebuilt without them.
    n_members : int
        Conditional simulations in space-time to return as ``members``: unconditional fields
        of the separable covariance over the window's days (:func:`spacetime_fields`, plus
        the nugget's noise), each conditioned on the window's observed cells by kriging its
        own values there: ``member = filled + (field - kriged field)`` in the gaps (with the
        weights of the cells' centres, where the fields are drawn, scaled to the error
        variance of the measured positions when the stack has them). Their spread in the
        gaps is ``filled_std`` in expectation; a draw beyond what sea water can have is
        clipped to it (attribute ``members_clipped``).
    seed : int, optional
        Seed of the simulations; ``None`` draws one, recorded in the attribute ``seed``.

    Returns
    -------
    xarray.Dataset
        The target day on ``cells``: ``filled`` (degC; observed cells as observed),
        ``filled_std`` (degC, the kriging standard deviation of the noise-free SST,
        calibrated as ``calibrate`` says, 0 off the gaps),
        ``members`` (``member``, ``cells``) when ``n_members > 0``;
        attributes ``rho``, ``rho_pairs``, ``window``, ``window_days`` (days used),
        ``n_neighbours``, ``n_neighbours_other``, the covariance (``covariance_*``) and
        ``protocol`` = ``"honest"``.
    """
    values, gaps, _ = check_stack(stack, "spacetime_oi")
    n_days = values.shape[0]
    if not isinstance(target, int | np.integer) or not 0 <= int(target) < n_days:
        raise ValueError(
            f"spacetime_oi: target must be a day index in 0..{n_days - 1}, got {target!r}"
        )
    target = int(target)
    window = check_count(window, "window", minimum=0, method="spacetime_oi")
    n_neighbours = check_count(n_neighbours, "n_neighbours", method="spacetime_oi")
    n_other = check_count(
        n_neighbours_other, "n_neighbours_other", minimum=0, method="spacetime_oi"
    )
    n_members = check_count(n_members, "n_members", minimum=0, method="spacetime_oi")
    seed = check_seed(seed, method="spacetime_oi")
    if rho is not None and not 0.0 <= rho < 1.0:
        raise ValueError(f"spacetime_oi: rho must be in [0, 1), got {rho!r}; or None to fit it")
    day_map = stack.isel(time=target)
    inputs, grid = prepare_healpix_fill(day_map["SST_L3S"], day_map["gap"], method="spacetime_oi")
    large, fitted = _background(
        inputs.sst, inputs.values, inputs.observed, inputs.gaps, grid, lmax, "blended"
    )
    info: dict[str, float] = {}
    if isinstance(covariance, CovarianceModel):
        model = covariance
    elif covariance == "fit":
        model, info, _ = _fitted_or_default(
            inputs.values, inputs.observed, grid, inputs.gaps, fitted, nu, lmax, n_neighbours
        )
    else:
        raise ValueError(
            f"spacetime_oi: covariance must be 'fit' or a CovarianceModel, got {covariance!r}"
        )
    offsets = day_offsets(stack)
    used = _window(n_days, target, window)
    observed = np.isfinite(values) & ~gaps
    anomalies = np.full(values.shape, np.nan)
    anomalies[target, inputs.observed] = inputs.values[inputs.observed] - fitted[inputs.observed]
    changes = []
    for t in used[1:]:
        anomalies[t], change = _anomalies_around(
            values[t], observed[t], large, inputs.values, inputs.observed
        )
        changes.append(change)
    if rho is None:
        order = sorted(used)
        rho, n_pairs = fit_time_correlation(anomalies[order], offsets[order], model)
    else:
        n_pairs = 0
    gap_cells = np.flatnonzero(inputs.gaps)
    sims = target_signal = None
    if n_members:  # the fields as observed (the nugget's noise added), the target's signal
        sims = spacetime_fields(model, rho, offsets[used], grid, n_members, seed)
        target_signal = sims[:, 0][:, gap_cells].copy()  # the target is used[0]
        rng = np.random.default_rng([seed, 3])
        for rank in range(len(used)):
            sims[:, rank] += np.sqrt(model.nugget) * rng.standard_normal(sims[:, rank].shape)
    # with measured positions the fields (drawn at the centres) are kriged apart, below
    placed = _has_positions(stack)
    centres = tuple(grid.vectors() for _ in used)
    days = _Window(
        grid=grid,
        used=tuple(used),
        offsets=offsets,
        anomalies=anomalies,
        xyz=_day_vectors(stack, used, grid, observed) if placed else centres,
        model=model,
        rho=rho,
        n_neighbours=n_neighbours,
        n_other=n_other,
    )
    mean, var = _krige_gaps(days, inputs.gaps, None if placed else sims)
    inflation, n_hidden = 1.0, 0
    if calibrate:
        inflation, n_hidden = _hidden_inflation(days, inputs)
    filled = np.full(inputs.values.shape, np.nan)
    std = np.zeros(inputs.values.shape)
    kriged = mean if mean.ndim == 1 else mean[:, 0]
    filled[gap_cells] = large[gap_cells] + kriged
    std[gap_cells] = np.sqrt(inflation * var)
    members = None
    if target_signal is not None:
        members = np.broadcast_to(inputs.values, (n_members, inputs.values.size)).copy()
        if placed:
            # the fields are drawn at the cells' centres: conditioned with the weights of the
            # centres and scaled to the error variance of the measured positions (with their
            # weights the deviations had less spread than filled_std next to a cloud's edge)
            at_centres = replace(days, xyz=centres)
            sim_mean, sim_var = _krige_gaps(at_centres, inputs.gaps, sims)
            kriged_sims = sim_mean[:, 1:]
            spread = np.sqrt(inflation * var / np.maximum(sim_var, 1e-300))
        else:
            kriged_sims, spread = mean[:, 1:], np.sqrt(inflation)
        deviation = (target_signal - kriged_sims.T) * spread
        members[:, gap_cells] = filled[gap_cells] + deviation
        members_clipped = _clip_to_sea_water(
            members, gap_cells, str(inputs.sst.attrs.get("units", ""))
        )
    attrs = {
        "rho": float(rho),
        "rho_pairs": int(n_pairs),
        "rho_fitted": int(n_pairs > 0),
        "day_changes_degC": np.asarray(changes, dtype="float64"),
        "window": int(window),
        "window_days": len(used),
        "n_neighbours": int(n_neighbours),
        "n_neighbours_other": int(n_other),
        "covariance": "given" if isinstance(covariance, CovarianceModel) else "fitted",
        "covariance_nu": model.nu,
        "covariance_sill": model.sill,
        "covariance_length_scale_km": model.length_scale_km,
        "covariance_nugget": model.nugget,
        "calibrated": int(calibrate),
        "error_inflation": float(np.sqrt(inflation)),
        "error_n_hidden": int(n_hidden),
        "lmax": int(lmax),
        **{f"fit_{key}": value for key, value in info.items()},
    }
    if n_members:
        attrs["seed"] = seed
        attrs["members_clipped"] = members_clipped
    out = finish_fill(inputs, filled, method="spacetime_oi", std=std, members=members, attrs=attrs)
    return (
        out.assign_coords(time=stack["time"].isel(time=target)) if "time" in stack.coords else out
    )


def _krige_gaps(
    days: _Window, targets: np.ndarray, sims: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Kriged anomalies at the ``targets`` cells (a mask) ``(n_targets,)`` and their variances.

    Each observed cell of a day is kriged where its value is (``days.xyz``), and each target
    cell is predicted where the target day's vectors put it: its centre for a gap cell, its
    measured position for an observed one (a hidden one). With ``sims`` (shape
    ``(m, len(days.used), npix)``, unconditional fields of the window's days as observed,
    nugget included) the means are ``(n_targets, 1 + m)``: the anomalies' then each field's,
    kriged from its own values at the same observed cells with the same weights.
    """
    used, offsets, anomalies = days.used, days.offsets, days.anomalies
    gap_xyz = days.xyz[0][np.flatnonzero(targets)]
    parts = []
    for rank, t in enumerate(used):
        if rank > 0 and (days.rho == 0.0 or days.n_other == 0):
            break  # uncorrelated days lend nothing
        cells = np.flatnonzero(np.isfinite(anomalies[t]))
        day = _Day(offsets[t] - offsets[used[0]], days.xyz[rank][cells], anomalies[t, cells], cells)
        chord, nb_xyz, vals, nb_cells = _neighbours(
            day, gap_xyz, days.n_neighbours if rank == 0 else days.n_other
        )
        if sims is not None:  # (n, k, 1 + m): the anomalies, then each field at those cells
            seen = sims[:, rank][:, nb_cells].transpose(1, 2, 0)
            vals = np.concatenate([vals[:, :, None], seen], axis=2)
        parts.append((chord, nb_xyz, vals, np.full(chord.shape[1], day.offset)))
    chord = np.concatenate([p[0] for p in parts], axis=1)
    nb_xyz = np.concatenate([p[1] for p in parts], axis=1)
    vals = np.concatenate([p[2] for p in parts], axis=1)
    dt = np.concatenate([p[3] for p in parts])
    n, k = chord.shape
    mean, var = np.empty((n, *vals.shape[2:])), np.empty(n)
    batch = max(1, (1 << 20) // (k * k))
    for lo in range(0, n, batch):
        hi = min(lo + batch, n)
        mean[lo:hi], var[lo:hi] = _krige_batch(
            days.model, days.rho, chord[lo:hi], nb_xyz[lo:hi], dt, vals[lo:hi]
        )
    return mean, var


def _hidden_inflation(days: _Window, inputs: FillInputs) -> tuple[float, int]:
    """Factor on the kriging variance from the target's observed cells hidden under its gap
    pattern moved elsewhere (the first of three moves that hides 100 cells; at most
    :data:`HIDDEN_CELLS` of them, a fixed sample), kriged from the rest
    of the window: the mean of ``(error**2 - nugget) / variance``, within
    :data:`~eogapfill.fill.oi.INFLATION_BOUNDS`. Returns ``(1.0, 0)`` when none can be hidden.
    """
    for attempt in (1, 2, 3):
        hidden = inputs.observed & _moved_gaps(inputs.gaps, days.grid, attempt)
        if hidden.sum() >= 100:
            break
    else:
        return 1.0, 0
    cells = np.flatnonzero(hidden)
    if cells.size > HIDDEN_CELLS:  # a fixed sample: the cost stays bounded
        cells = np.sort(np.random.default_rng(attempt).choice(cells, HIDDEN_CELLS, False))
    targets = np.zeros(hidden.size, dtype=bool)
    targets[cells] = True
    seen = days.anomalies.copy()
    seen[days.used[0], hidden] = np.nan  # the target day does not see its hidden cells
    mean, var = _krige_gaps(replace(days, anomalies=seen), targets)
    error_sq = (days.anomalies[days.used[0], cells] - mean) ** 2
    z2 = (error_sq - days.model.nugget) / np.maximum(var, 1e-12)
    return float(np.clip(np.mean(z2), *INFLATION_BOUNDS)), int(cells.size)


def spacetime_fields(
    model: CovarianceModel,
    rho: float,
    offsets: np.ndarray,
    grid: HealpixGrid,
    n_fields: int,
    seed: int,
) -> np.ndarray:
    """Unconditional space-time Gaussian fields of the separable covariance's signal.

    The signal is a first-order autoregression in time of spatial fields of covariance
    ``model`` without its nugget, ``s(t1) = r s(t0) + sqrt(1 - r**2) e`` with
    ``r = rho ** (t1 - t0)`` and ``e`` a new spatial field
    (:func:`~eogapfill.random_fields.gaussian_random_field`), so that its covariance is
    ``sill * rho_space(d) * rho ** |dt|`` exactly. The nugget (noise new every day and
    cell) is not in them.

    Parameters
    ----------
    offsets : numpy.ndarray, shape ``(n_days,)``
        The days' positions (days), in any order.
    n_fields, seed
        How many fields, and the seed that makes them.

    Returns
    -------
    numpy.ndarray, shape ``(n_fields, n_days, grid.npix)``, degC
    """
    ids = grid.ids if grid.is_partial else None
    signal_model = replace(model, nugget=0.0)
    order = np.argsort(offsets, kind="stable")
    fields = np.empty((n_fields, offsets.size, grid.npix))
    previous, last = None, 0.0
    for rank, t in enumerate(order):
        rng = np.random.default_rng([seed, 2, rank])
        fresh = gaussian_random_field(
            signal_model, grid.nside, n_fields=n_fields, seed=rng, cells=ids
        )
        if previous is None:
            current = fresh
        else:
            r = rho ** (offsets[t] - last)
            current = r * previous + np.sqrt(max(1.0 - r * r, 0.0)) * fresh
        fields[:, t] = current
        previous, last = current, offsets[t]
    return fields


def fill_spacetime(stack: xr.Dataset, *, window: int = 3, **options: object) -> xr.Dataset:
    """Fill every day of a stack by :func:`fill_spacetime_oi` (``options`` passed on).

    Returns ``filled`` and ``filled_std`` on ``(time, cells)``; a day without a gap is kept as
    observed (``filled_std`` 0). The attributes are the last filled day's, with ``rho`` per
    day in ``rho_by_day`` (NaN for a day without a gap).
    """
    values, gaps, _ = check_stack(stack, "spacetime_oi")
    days, rhos = [], []
    for t in range(values.shape[0]):
        if not gaps[t].any():
            sst = stack["SST_L3S"].isel(time=t)
            days.append(
                xr.Dataset({"filled": sst, "filled_std": sst.copy(data=np.zeros(sst.shape))})
            )
            rhos.append(np.nan)
            continue
        out = fill_spacetime_oi(stack, t, window=window, **options)  # type: ignore[arg-type]
        days.append(out)
        rhos.append(out.attrs["rho"])
    result = xr.concat(days, dim="time", combine_attrs="drop_conflicts")
    result.attrs["rho_by_day"] = np.asarray(rhos)
    if "time" in stack.coords:
        result = result.assign_coords(time=stack["time"])
    return result
