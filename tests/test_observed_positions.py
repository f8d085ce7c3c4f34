"""Where a cell's observations are: coverage and mean position from the regridding, and the
OI kriging partly observed cells where they were measured."""

from __future__ import annotations

import warnings

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.oi import fill_oi
from eogapfill.fill.positions import observation_vectors
from eogapfill.healpix import HealpixGrid, nearest_distance_km
from eogapfill.regrid import to_healpix
from tests.test_regrid import make_day


def _cells_of(day: xr.Dataset, nside: int) -> np.ndarray:
    lon2, lat2 = np.meshgrid(day.longitude.values, day.latitude.values)
    return hp.ang2pix(nside, lon2, lat2, nest=True, lonlat=True)


def _mean_position(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    v = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]).sum(1)
    return float(np.rad2deg(np.arctan2(v[1], v[0]))), float(
        np.rad2deg(np.arcsin(v[2] / np.linalg.norm(v)))
    )


def test_coverage_and_position_are_the_observed_points_share_and_mean() -> None:
    day = make_day(1.0, seed=3, sea=np.ones((180, 360), bool), cloud=0.0)
    cells = _cells_of(day, 8)
    target = int(cells[120, 200])  # one cell: hide the northern half of its points
    inside = cells == target
    lat2 = np.broadcast_to(day.latitude.values[:, None], cells.shape)
    lon2 = np.broadcast_to(day.longitude.values[None, :], cells.shape)
    north = inside & (lat2 > np.median(lat2[inside]))
    sst = day.SST_L3S.values.copy()
    sst[north] = np.nan
    day["SST_L3S"] = day.SST_L3S.copy(data=sst)

    out = to_healpix(day, 8)
    kept = inside & ~north
    assert out.coverage.values[target] == pytest.approx(kept.sum() / inside.sum(), rel=1e-6)
    lon, lat = _mean_position(lon2[kept], lat2[kept])
    assert out.observed_lon.values[target] == pytest.approx(lon, abs=1e-6)
    assert out.observed_lat.values[target] == pytest.approx(lat, abs=1e-6)
    # the observed half lies south of the cell's centre
    assert out.observed_lat.values[target] < hp.pix2ang(8, target, nest=True, lonlat=True)[1]
    full = int(cells[60, 100])
    assert out.coverage.values[full] == 1.0
    lon_full, lat_full = _mean_position(lon2[cells == full], lat2[cells == full])
    assert out.observed_lat.values[full] == pytest.approx(lat_full, abs=1e-6)


def test_gaps_have_zero_coverage_and_no_position_and_land_has_neither() -> None:
    out = to_healpix(make_day(2.0, seed=1, cloud=0.8), 16)
    gap, sea = out.gap.values, out.sea.values
    assert gap.any() and (~sea).any()
    assert (out.coverage.values[gap] == 0).all()
    assert np.isnan(out.observed_lon.values[gap]).all()
    assert (
        np.isnan(out.coverage.values[~sea]).all() and np.isnan(out.observed_lat.values[~sea]).all()
    )
    seen = sea & ~gap
    assert ((out.coverage.values[seen] > 0) & (out.coverage.values[seen] <= 1)).all()
    assert np.isfinite(out.observed_lon.values[seen]).all()


def test_lazy_and_regional_positions_equal_the_spheres() -> None:
    day = make_day(1.0, seed=2, cloud=0.5)
    ref = to_healpix(day, 16)
    lazy = to_healpix(day.chunk({"latitude": 45, "longitude": 90}), 16).load()
    wrap = (lazy.observed_lon.values - ref.observed_lon.values + 180.0) % 360.0 - 180.0
    assert np.nanmax(np.abs(wrap)) < 1e-9
    np.testing.assert_allclose(lazy.observed_lat.values, ref.observed_lat.values, atol=1e-9)
    np.testing.assert_allclose(lazy.coverage.values, ref.coverage.values)
    region = to_healpix(day, 16, region=(-30, 10, -20, 20))
    ids = region.cell_ids.values
    np.testing.assert_allclose(region.observed_lat.values, ref.observed_lat.values[ids], atol=1e-9)
    np.testing.assert_allclose(region.coverage.values, ref.coverage.values[ids])


def test_a_cell_that_copies_its_nearest_point_stands_at_its_centre() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nside finer than the points
        out = to_healpix(make_day(4.0, seed=0, cloud=0.0), 32)
    seen = np.flatnonzero(out.sea.values & ~out.gap.values)
    lon_c, lat_c = hp.pix2ang(32, out.cell_ids.values[seen], nest=True, lonlat=True)
    offset = hp.rotator.angdist(
        [out.observed_lon.values[seen], out.observed_lat.values[seen]], [lon_c, lat_c], lonlat=True
    )
    # no two observed cells share a position (a kriging system would be singular)
    assert np.degrees(offset).max() < np.degrees(hp.nside2resol(32))
    positions = np.round(
        np.stack([out.observed_lon.values[seen], out.observed_lat.values[seen]]), 9
    )
    assert np.unique(positions, axis=1).shape[1] == seen.size


def _front_day() -> xr.Dataset:
    """A rough field on a 0.25 degree grid with large clouds: cloud edges cut cells in part."""
    lat = np.arange(-59.875, 60, 0.25)
    lon = np.arange(-179.875, 180, 0.25)
    rng = np.random.default_rng(5)
    lat2 = np.broadcast_to(lat[:, None], (lat.size, lon.size))
    lon2 = np.broadcast_to(lon[None, :], (lat.size, lon.size))
    walk = np.cumsum(rng.normal(0, 0.15, (lat.size, lon.size)), axis=1)
    walk -= walk.mean(axis=1, keepdims=True)
    truth = 20 + 8 * np.cos(np.deg2rad(lat2)) + np.cumsum(rng.normal(0, 0.15, lat.size))[:, None]
    truth = (truth + walk).astype("float32")
    cloud = (np.sin(np.deg2rad(3.1 * lon2)) + np.sin(np.deg2rad(4.3 * lat2 + 20))) > 0.6
    dims = ("latitude", "longitude")
    return xr.Dataset(
        {
            "SST_L3S": (dims, np.where(cloud, np.nan, truth), {"units": "degC"}),
            "SST_L4": (dims, truth, {"units": "degC"}),
            "sea": (dims, np.ones(truth.shape, bool)),
        },
        coords={"latitude": lat, "longitude": lon},
    )


def test_oi_error_bars_next_to_partly_observed_cells_grow_with_measured_positions() -> None:
    hp_day = to_healpix(_front_day(), 32)
    grid = HealpixGrid(32, cell_ids=hp_day.cell_ids.values)
    observed = hp_day.sea.values & ~hp_day.gap.values
    partial = observed & (hp_day.coverage.values < 0.6)
    assert partial.sum() > 50
    gaps = hp_day.gap.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placed = fill_oi(hp_day, calibrate=False, lmax=4)
        centred = fill_oi(
            hp_day.drop_vars(["observed_lon", "observed_lat"]), calibrate=False, lmax=4
        )
    assert placed.attrs["observed_positions"] == "measured"
    assert centred.attrs["observed_positions"] == "cell centres"
    # the same covariance fit (positions only move the kriging), observed cells untouched
    assert placed.attrs["covariance_length_scale_km"] == centred.attrs["covariance_length_scale_km"]
    np.testing.assert_array_equal(placed.filled.values[observed], hp_day.SST_L3S.values[observed])
    # gap cells whose nearest observed cell is partly observed: their data are farther away
    near = np.flatnonzero(gaps)
    d = nearest_distance_km(grid, observed, near)
    nearest = near[d < 1.2 * grid.resolution_km]
    ratio = placed.filled_std.values[nearest] / centred.filled_std.values[nearest]
    assert np.median(ratio) > 1.02
    # and the error bars are nearer the errors (z-scores against the truth)
    truth = hp_day.SST_L4.values[near]
    z = [
        np.std((o.filled.values[near] - truth) / o.filled_std.values[near])
        for o in (placed, centred)
    ]
    assert abs(z[0] - 1) < abs(z[1] - 1)
    far = np.flatnonzero(gaps)[d > 4 * grid.resolution_km]
    assert np.median(placed.filled_std.values[far] / centred.filled_std.values[far]) < 1.02


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shape", "map's shape"),
        ("nan", "no position"),
        ("far", "not this map's"),
    ],
)
def test_positions_that_are_not_the_maps_are_refused(change: str, message: str) -> None:
    hp_day = to_healpix(make_day(2.0, seed=1, cloud=0.8), 16)
    lon, lat = hp_day.observed_lon.values.copy(), hp_day.observed_lat.values.copy()
    seen = np.flatnonzero(np.isfinite(lon))
    if change == "shape":
        lon = lon[:-1]
    elif change == "nan":
        lon[seen[0]] = np.nan
    else:
        lat[seen[0]] += 30.0 if lat[seen[0]] < 0 else -30.0
    observed = hp_day.sea.values & ~hp_day.gap.values
    with pytest.raises(ValueError, match=message):
        observation_vectors(hp_day, (lon, lat), HealpixGrid(16), observed)
    with pytest.raises(ValueError, match=message):
        fill_oi(hp_day, positions=(lon, lat))


def _days(n: int = 3) -> list[xr.Dataset]:
    days = []
    for k in range(n):
        day = make_day(1.0, seed=k, cloud=0.6).assign_coords(
            time=np.datetime64("2024-06-01", "ns") + np.timedelta64(k, "D")
        )
        days.append(to_healpix(day, 16))
    return days


def test_a_stack_keeps_where_each_days_observations_are() -> None:
    from eogapfill.stack import stack_days

    days = _days()
    stack = stack_days(days)
    assert stack.observed_lat.dims == ("time", "cells")
    np.testing.assert_array_equal(stack.observed_lat.values[1], days[1].observed_lat.values)
    # a day without them: the stack keeps the cells' centres for every day
    partial = stack_days([days[0].drop_vars(["observed_lon", "observed_lat"]), *days[1:]])
    assert "observed_lon" not in partial


def test_space_time_oi_reads_the_days_observed_positions() -> None:
    from eogapfill.fill.spacetime import fill_spacetime_oi
    from eogapfill.stack import stack_days

    stack = stack_days(_days())
    centres = stack.drop_vars(["observed_lon", "observed_lat"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placed = fill_spacetime_oi(stack, target=1, window=1, rho=0.5, lmax=4)
        centred = fill_spacetime_oi(centres, target=1, window=1, rho=0.5, lmax=4)
    gaps = stack.gap.values[1]
    observed = stack.sea.values[1] & ~gaps
    np.testing.assert_array_equal(placed.filled.values[observed], stack.SST_L3S.values[1][observed])
    assert not np.allclose(placed.filled.values[gaps], centred.filled.values[gaps])
    assert not np.allclose(placed.filled_std.values[gaps], centred.filled_std.values[gaps])


def _spread_over_std(out: xr.Dataset, cells: np.ndarray) -> float:
    """The members' variance over ``filled_std**2``, averaged over ``cells`` (1 when right)."""
    spread = out.members.values[:, cells].var(axis=0, ddof=1).mean()
    return float(spread / np.mean(out.filled_std.values[cells] ** 2))


def test_oi_members_next_to_partly_observed_cells_spread_like_the_error_bars() -> None:
    """The fields are drawn at the cells' centres and the data kriged where measured: the
    members still spread as ``filled_std`` says next to a cloud's edge."""
    hp_day = to_healpix(_front_day(), 32)
    grid = HealpixGrid(32, cell_ids=hp_day.cell_ids.values)
    observed = hp_day.sea.values & ~hp_day.gap.values
    gaps = np.flatnonzero(hp_day.gap.values)
    near = gaps[nearest_distance_km(grid, observed, gaps) < 1.2 * grid.resolution_km]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fill_oi(hp_day, calibrate=False, lmax=4, n_members=64, seed=0)
    assert out.attrs["observed_positions"] == "measured"
    np.testing.assert_array_equal(
        out.members.values[:, observed],
        np.broadcast_to(hp_day.SST_L3S.values[observed], (64, observed.sum())),
    )
    assert 0.96 < _spread_over_std(out, near) < 1.04  # 0.92 kriged with the data's weights


def test_space_time_oi_members_spread_like_the_error_bars_with_measured_positions() -> None:
    from eogapfill.fill.spacetime import fill_spacetime_oi
    from eogapfill.stack import stack_days

    stack = stack_days(_days())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fill_spacetime_oi(stack, target=1, window=1, rho=0.5, lmax=4, n_members=64, seed=0)
    gaps = np.flatnonzero(stack.gap.values[1])
    assert 0.9 < _spread_over_std(out, gaps) < 1.1  # 0.82 kriged with the data's weights
