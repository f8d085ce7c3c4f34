"""Space-time OI: a field that persists from day to day is filled better with the window."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.oi import fill_oi
from eogapfill.fill.spacetime import (
    fill_spacetime,
    fill_spacetime_oi,
    fit_time_correlation,
    spacetime_fields,
)
from eogapfill.healpix import HealpixGrid, healpix_dataset
from eogapfill.random_fields import CovarianceModel, gaussian_random_field

NSIDE = 32
RHO = 0.9


def persistent_stack(n_days: int, rho: float, seed: int = 1) -> tuple[xr.Dataset, np.ndarray]:
    """An AR(1) anomaly field (day-to-day correlation ``rho``) on a large scale, with a
    different cloud pattern each day and 0.1 degC of observation noise; land in one box."""
    model = CovarianceModel(1.0, 600.0, 0.0)
    lon, lat = HealpixGrid(NSIDE).lonlat()
    shocks = gaussian_random_field(model, NSIDE, n_fields=n_days, seed=seed)
    anomalies = np.empty_like(shocks)
    anomalies[0] = shocks[0]
    for t in range(1, n_days):
        anomalies[t] = rho * anomalies[t - 1] + np.sqrt(1 - rho**2) * shocks[t]
    truth = 20 + 5 * np.cos(np.radians(lat))[None] + anomalies
    cloud_field = CovarianceModel(1.0, 1000.0, 0.0)
    clouds = gaussian_random_field(cloud_field, NSIDE, n_fields=n_days, seed=seed + 1) > 0.3
    land = (np.abs(lon) < 30) & (np.abs(lat) < 30)
    gaps = clouds & ~land[None]
    noise = 0.1 * np.random.default_rng(seed).standard_normal(truth.shape)
    observed = np.where(gaps | land[None], np.nan, truth + noise)
    sea = np.broadcast_to(~land, gaps.shape).copy()
    stack = xr.Dataset(
        {
            "SST_L3S": (("time", "cells"), observed, {"units": "degC"}),
            "gap": (("time", "cells"), gaps),
            "sea": (("time", "cells"), sea),
        },
        coords={
            "cell_ids": healpix_dataset({}, NSIDE).cell_ids,
            "time": np.datetime64("2024-06-01") + np.arange(n_days) * np.timedelta64(1, "D"),
        },
    )
    return stack, truth


@pytest.fixture(scope="module")
def scene() -> tuple[xr.Dataset, np.ndarray]:
    return persistent_stack(7, RHO)


def _rmse(filled: xr.DataArray, truth: np.ndarray, cells: np.ndarray) -> float:
    return float(np.sqrt(np.mean((filled.values[cells] - truth[cells]) ** 2)))


def test_window_beats_single_day_on_persistent_field(scene) -> None:
    stack, truth = scene
    t = 3
    gaps = stack["gap"].values[t]
    single = fill_oi(stack.isel(time=t))
    spacetime = fill_spacetime_oi(stack, t, window=3)
    single_rmse = _rmse(single["filled"], truth[t], gaps)
    spacetime_rmse = _rmse(spacetime["filled"], truth[t], gaps)
    assert spacetime_rmse < 0.7 * single_rmse
    assert 0.6 < spacetime.attrs["rho"] < 0.98
    assert spacetime.attrs["window_days"] == 7


def test_window_zero_is_the_single_day_oi(scene) -> None:
    stack, _ = scene
    single = fill_oi(stack.isel(time=2))
    alone = fill_spacetime_oi(stack, 2, window=0)
    np.testing.assert_allclose(alone["filled"].values, single["filled"].values, atol=1e-9)


def test_observed_cells_and_land_untouched(scene) -> None:
    stack, _ = scene
    out = fill_spacetime_oi(stack, 0, window=2)
    sst = stack["SST_L3S"].values[0]
    observed = np.isfinite(sst)
    np.testing.assert_array_equal(out["filled"].values[observed], sst[observed])
    land = ~stack["sea"].values[0]
    assert np.isnan(out["filled"].values[land]).all()
    gaps = stack["gap"].values[0]
    assert np.isfinite(out["filled"].values[gaps]).all()
    std = out["filled_std"].values
    assert (std[gaps] > 0).all() and (std[~gaps] == 0).all()


def test_uncorrelated_days_lend_nothing() -> None:
    stack, truth = persistent_stack(5, 0.0, seed=4)
    out = fill_spacetime_oi(stack, 2, window=2)
    assert out.attrs["rho"] < 0.2
    single = fill_oi(stack.isel(time=2))
    gaps = stack["gap"].values[2]
    assert _rmse(out["filled"], truth[2], gaps) < 1.1 * _rmse(single["filled"], truth[2], gaps)


def test_time_correlation_recovers_a_known_rho() -> None:
    rng = np.random.default_rng(0)
    a = np.empty((6, 5000))
    a[0] = rng.standard_normal(5000)
    for t in range(1, 6):
        a[t] = 0.8 * a[t - 1] + 0.6 * rng.standard_normal(5000)
    noisy = a + np.sqrt(0.25) * rng.standard_normal(a.shape)
    model = CovarianceModel(1.0, 100.0, 0.25)
    rho, pairs = fit_time_correlation(noisy, np.arange(6.0), model)
    assert pairs == 5
    assert abs(rho - 0.8) < 0.05


def test_fill_every_day(scene) -> None:
    stack, _ = scene
    out = fill_spacetime(stack.isel(time=slice(0, 3)), window=1)
    assert out["filled"].dims == ("time", "cells")
    assert out.sizes["time"] == 3
    assert np.isfinite(out["filled"].values[stack["gap"].values[:3]]).all()


def test_bad_target_and_rho(scene) -> None:
    stack, _ = scene
    with pytest.raises(ValueError, match="target"):
        fill_spacetime_oi(stack, 9)
    with pytest.raises(ValueError, match="rho"):
        fill_spacetime_oi(stack, 1, rho=1.0)
    with pytest.raises(ValueError, match="no \\['gap'\\]"):
        fill_spacetime_oi(stack.drop_vars("gap"), 1)


@pytest.mark.parametrize(("change", "message"), [("nan", "no position"), ("far", "not this map's")])
def test_a_window_day_whose_positions_are_not_its_maps_is_refused(
    scene, change: str, message: str
) -> None:
    stack, _ = scene
    stack = stack.isel(time=slice(0, 3))
    observed = np.isfinite(stack["SST_L3S"].values) & ~stack["gap"].values
    lon, lat = (np.broadcast_to(a, observed.shape) for a in HealpixGrid(NSIDE).lonlat())
    lon, lat = np.where(observed, lon, np.nan), np.where(observed, lat, np.nan)
    placed = stack.assign(
        observed_lon=(("time", "cells"), lon), observed_lat=(("time", "cells"), lat)
    )
    fill_spacetime_oi(placed, 1, window=1, rho=0.5, calibrate=False)  # the centres: accepted
    cell = np.flatnonzero(observed[2])[0]  # a neighbouring day, not the target, is checked
    if change == "nan":
        lon[2, cell] = np.nan
    else:
        lat[2, cell] += 30.0 if lat[2, cell] < 0 else -30.0
    bad = stack.assign(observed_lon=(("time", "cells"), lon), observed_lat=(("time", "cells"), lat))
    with pytest.raises(ValueError, match=f"spacetime_oi: .*{message}"):
        fill_spacetime_oi(bad, 1, window=1, rho=0.5, calibrate=False)


def test_spacetime_fields_have_the_separable_covariance() -> None:
    model = CovarianceModel(1.0, 1500.0, 0.3)
    fields = spacetime_fields(model, 0.7, np.array([3.0, 0.0, 1.0]), HealpixGrid(8), 400, seed=2)
    assert fields.shape == (400, 3, 12 * 8**2)
    var = fields.var(axis=0).mean(axis=-1)
    np.testing.assert_allclose(var, model.sill, rtol=0.12)  # the signal: no nugget in it

    def corr(a: int, b: int) -> float:
        x, y = fields[:, a], fields[:, b]
        return float(np.mean(x * y) / np.sqrt(np.mean(x**2) * np.mean(y**2)))

    assert abs(corr(1, 2) - 0.7) < 0.06  # one day apart
    assert abs(corr(1, 0) - 0.7**3) < 0.08  # three days apart
    assert abs(corr(2, 0) - 0.7**2) < 0.08


def test_members_are_conditional_simulations_in_space_time(scene) -> None:
    stack, truth = scene
    t = 3
    gaps = stack["gap"].values[t]
    model = CovarianceModel(1.0, 600.0, 0.01)  # the scene's own covariance
    options = {"window": 2, "covariance": model, "rho": RHO, "n_members": 40, "seed": 7}
    out = fill_spacetime_oi(stack, t, **options)
    members = out["members"].values
    sst = stack["SST_L3S"].values[t]
    observed = np.isfinite(sst)
    assert members.shape == (40, sst.size)
    assert (members[:, observed] == sst[observed]).all()
    std = out["filled_std"].values[gaps]
    spread = members[:, gaps].std(axis=0, ddof=1)
    assert abs(np.mean(spread**2) / np.mean(std**2) - 1.0) < 0.1  # spread = filled_std
    # the truth is like one more member: its z-score against the kriging error has std ~1
    z = (truth[t][gaps] - out["filled"].values[gaps]) / std
    assert 0.8 < z.std() < 1.2
    again = fill_spacetime_oi(stack, t, **options)
    np.testing.assert_array_equal(again["members"].values, members)  # the seed repeats it
    assert out.attrs["seed"] == 7 and "members" not in fill_spacetime_oi(stack, t, window=2)
