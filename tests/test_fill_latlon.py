"""Fills on the regular latitude/longitude grid."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.latlon import fill_gauss_seidel, fill_interpolate_na, fill_loess

RES = 2.0
LAT = np.arange(-90.0 + RES / 2, 90.0, RES)
LON = np.arange(-180.0 + RES / 2, 180.0, RES)


def latlon(values: np.ndarray, name: str = "SST_L3S") -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("latitude", "longitude"),
        coords={"latitude": LAT, "longitude": LON},
        name=name,
        attrs={"units": "degC"},
    )


def grids() -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(LAT, LON, indexing="ij")


def smooth_field() -> np.ndarray:
    lat, lon = np.radians(grids())
    return 28.0 - 30.0 * np.sin(lat) ** 2 + 2.0 * np.cos(lon) * np.cos(lat)


def cloud_discs(seed: int, n: int = 15) -> np.ndarray:
    lat, lon = np.radians(grids())
    rng = np.random.default_rng(seed)
    mask = np.zeros(lat.shape, dtype=bool)
    for _ in range(n):
        c_lat = np.arcsin(rng.uniform(-0.9, 0.9))
        c_lon = rng.uniform(-np.pi, np.pi)
        cos_angle = np.sin(lat) * np.sin(c_lat) + np.cos(lat) * np.cos(c_lat) * np.cos(lon - c_lon)
        mask |= cos_angle > np.cos(np.radians(rng.uniform(4.0, 15.0)))
    return mask


def make_day(seed: int = 0) -> xr.Dataset:
    """A preprocessed-day-like dataset: two continents, an Antarctic, clouds over the sea."""
    lat, lon = grids()
    land = (
        ((abs(lon - 20) < 25) & (abs(lat - 10) < 30))
        | ((abs(lon + 100) < 20) & (abs(lat - 45) < 15))
        | (lat < -75)
    )
    sea = ~land
    gap = cloud_discs(seed) & sea
    sst = np.where(sea & ~gap, smooth_field(), np.nan)
    return xr.Dataset(
        {"SST_L3S": latlon(sst), "sea": latlon(sea, "sea")},
        attrs={"title": "synthetic day"},
    )


def gaps_of(ds: xr.Dataset) -> xr.DataArray:
    return ds.sea & ds.SST_L3S.isnull()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="linear"),
        pytest.param({"method": "nearest"}, id="nearest"),
        pytest.param({"method": "cubic"}, id="cubic"),
        pytest.param({"max_gap": 6.0}, id="max-gap"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_observed_identical_land_untouched_gaps_filled(seed, options):
    ds = make_day(seed)
    gap = gaps_of(ds).values
    out = fill_interpolate_na(ds, **options)
    filled = out.filled.values
    sst = ds.SST_L3S.values
    assert np.array_equal(filled[~gap], sst[~gap], equal_nan=True)
    assert np.isnan(filled[~ds.sea.values]).all()
    assert np.isfinite(filled[gap]).all()
    assert out.filled.dims == ("latitude", "longitude")
    counts = [out.attrs[k] for k in ("filled_along_latitude", "filled_along_longitude")]
    assert sum(counts) + out.attrs["filled_nearest"] == gap.sum()


def test_higher_order_interpolation_is_more_accurate_on_a_smooth_field():
    ds = make_day(2)
    gap = gaps_of(ds).values
    truth = smooth_field()[gap]

    def rmse(method: str) -> float:
        filled = fill_interpolate_na(ds, method=method).filled.values
        return float(np.sqrt(np.mean((filled[gap] - truth) ** 2)))

    errors = [rmse("cubic"), rmse("linear"), rmse("nearest")]
    assert errors == sorted(errors)
    assert errors[-1] < truth.std()  # even the crudest beats the mean of the gaps
    assert errors[0] < 0.2  # degC, on a field ranging over 30 degC


def test_field_linear_in_latitude_is_recovered_exactly():
    lat, lon = grids()
    truth = 15.0 + 0.2 * lat
    gap = cloud_discs(3) & (abs(lat) < 70)
    out = fill_interpolate_na(latlon(np.where(gap, np.nan, truth)), latlon(gap))
    assert out.attrs["filled_nearest"] == 0
    np.testing.assert_allclose(out.filled.values, truth, atol=1e-9)


def test_runs_are_not_carried_across_land():
    """A cloud north of a land strip is filled from its own side, not from across the land."""
    lat, lon = grids()
    land = (lat > 0) & (lat < 10) & (abs(lon) < 40)
    field = np.where(lat < 0, 30.0, 0.0)
    gap = (lat > 10) & (lat < 20) & (abs(lon) < 20)
    sst = np.where(land | gap, np.nan, field)
    out = fill_interpolate_na(latlon(sst), latlon(gap))
    assert out.attrs["filled_along_latitude"] == 0
    assert out.attrs["filled_along_longitude"] == gap.sum()
    np.testing.assert_array_equal(out.filled.values[gap], 0.0)
    assert np.isnan(out.filled.values[land]).all()


def test_longitude_pass_wraps_across_the_date_line():
    lat, lon = grids()
    land = ((lat == 25) | (lat == 35)) & (abs(lon) > 160)
    gap = (lat > 25) & (lat < 35) & (abs(lon) > 170)
    field = np.sin(np.radians(lon)) + 0.01 * lat
    out = fill_interpolate_na(latlon(np.where(land | gap, np.nan, field)), latlon(gap))
    assert out.attrs["filled_nearest"] == 0
    assert out.attrs["filled_along_longitude"] == gap.sum()
    # linear in the unwrapped longitude between the observed cells at 169 E and 169 W (191 E)
    unwrapped = np.where(lon < 0, lon + 360.0, lon)
    west = np.sin(np.radians(169.0)) + 0.01 * lat
    east = np.sin(np.radians(191.0)) + 0.01 * lat
    expected = west + (unwrapped - 169.0) / 22.0 * (east - west)
    np.testing.assert_allclose(out.filled.values[gap], expected[gap], atol=1e-12)


def test_polar_cloud_takes_the_nearest_observation():
    lat, lon = grids()
    field = smooth_field()
    gap = lat > 80
    out = fill_interpolate_na(latlon(np.where(gap, np.nan, field)), latlon(gap))
    assert out.attrs["filled_nearest"] == gap.sum()
    row = np.flatnonzero(LAT == 79.0)[0]
    expected = np.broadcast_to(field[row], field.shape)
    np.testing.assert_array_equal(out.filled.values[gap], expected[gap])


def test_max_gap_limits_the_interpolation():
    lat, lon = grids()
    truth = 15.0 + 0.2 * lat
    gap = (abs(lat) < 16) & (abs(lon - 60) < 16)
    sst, gaps = latlon(np.where(gap, np.nan, truth)), latlon(gap)
    free = fill_interpolate_na(sst, gaps)
    limited = fill_interpolate_na(sst, gaps, max_gap=10.0)
    assert free.attrs["filled_nearest"] == 0
    assert limited.attrs["filled_nearest"] > 0
    assert np.abs(limited.filled.values - truth)[gap].max() > 0.5


def test_dataset_input_and_transposed_map():
    ds = make_day(4)
    gaps = gaps_of(ds)
    a = fill_interpolate_na(ds)
    b = fill_interpolate_na(ds.SST_L3S, gaps)
    assert np.array_equal(a.filled.values, b.filled.values, equal_nan=True)
    c = fill_interpolate_na(ds.SST_L3S.T, gaps.T)
    assert c.filled.dims == ("longitude", "latitude")
    assert np.array_equal(c.filled.values.T, a.filled.values, equal_nan=True)


def test_values_inside_the_gaps_are_ignored():
    ds = make_day(5)
    gaps = gaps_of(ds)
    garbage = ds.SST_L3S.where(~gaps, -5.0e3)
    assert np.array_equal(
        fill_interpolate_na(ds.SST_L3S, gaps).filled.values,
        fill_interpolate_na(garbage, gaps).filled.values,
        equal_nan=True,
    )


@pytest.mark.parametrize(
    ("make_args", "kwargs", "error", "match"),
    [
        pytest.param(
            lambda ds: (ds.SST_L3S.expand_dims(time=1), gaps_of(ds).expand_dims(time=1)),
            {},
            ValueError,
            "2-D map",
            id="time-dim",
        ),
        pytest.param(
            lambda ds: (ds.isel(latitude=slice(None, None, -1)),),
            {},
            ValueError,
            "strictly increasing",
            id="descending-lat",
        ),
        pytest.param(lambda ds: (ds.drop_vars("sea"),), {}, ValueError, "neither", id="no-sea"),
        pytest.param(lambda ds: (ds.drop_vars("SST_L3S"),), {}, ValueError, "SST_L3S", id="no-sst"),
        pytest.param(
            lambda ds: (ds.SST_L3S, gaps_of(ds) & False), {}, ValueError, "empty", id="no-gap"
        ),
        pytest.param(
            lambda ds: (ds.SST_L3S * np.nan, ds.sea), {}, ValueError, "all cloud", id="all-cloud"
        ),
        pytest.param(
            lambda ds: (ds.SST_L3S, gaps_of(ds).isel(latitude=slice(1, None))),
            {},
            ValueError,
            "does not match",
            id="shape",
        ),
        pytest.param(lambda ds: (ds,), {"max_gap": 0.0}, ValueError, "max_gap", id="max-gap"),
    ],
)
def test_bad_inputs_raise_clear_errors(make_args, kwargs, error, match):
    args = make_args(make_day(0))
    with pytest.raises(error, match=match):
        fill_interpolate_na(*args, **kwargs)


@pytest.mark.parametrize("fill", [fill_loess, fill_gauss_seidel], ids=["loess", "gauss_seidel"])
def test_missing_pyinterp_says_how_to_install(fill, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyinterp", None)
    monkeypatch.setitem(sys.modules, "pyinterp.fill", None)
    with pytest.raises(ImportError, match="conda install -c conda-forge pyinterp"):
        fill(make_day(0))


@pytest.mark.parametrize(
    ("fill", "options"),
    [
        pytest.param(fill_loess, {}, id="loess"),
        pytest.param(fill_loess, {"nx": 1, "ny": 1}, id="loess-small-window"),
        pytest.param(fill_gauss_seidel, {}, id="gauss_seidel"),
    ],
)
def test_pyinterp_fills_keep_observations_and_land(fill, options):
    pytest.importorskip("pyinterp")
    ds = make_day(6)
    gap = gaps_of(ds).values
    out = fill(ds, **options)
    filled = out.filled.values
    assert np.array_equal(filled[~gap], ds.SST_L3S.values[~gap], equal_nan=True)
    assert np.isnan(filled[~ds.sea.values]).all()
    truth = smooth_field()[gap]
    assert np.sqrt(np.mean((filled[gap] - truth) ** 2)) < truth.std()


def test_pyinterp_gauss_seidel_keeps_a_linear_field():
    pytest.importorskip("pyinterp")
    lat, _ = grids()
    truth = 15.0 + 0.2 * lat
    gap = cloud_discs(7) & (abs(lat) < 60)
    out = fill_gauss_seidel(latlon(np.where(gap, np.nan, truth)), latlon(gap), epsilon=1e-8)
    np.testing.assert_allclose(out.filled.values[gap], truth[gap], atol=0.05)
