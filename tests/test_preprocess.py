"""Units, quality levels and the sea mask make one clean day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eogapfill.preprocess import (
    load_day,
    prepare_day,
    quality_filter,
    save_day,
    sea_mask,
    temperature_unit,
    to_celsius,
)
from eogapfill.seawater import sea_water_bounds


def _products(shape=(4, 6), *, day="2024-06-01", lat_descending=False):
    rng = np.random.default_rng(0)
    lat = np.linspace(-60, 60, shape[0])
    if lat_descending:
        lat = lat[::-1]
    lon = np.linspace(-170, 170, shape[1])
    coords = {"time": [pd.Timestamp(day)], "latitude": lat, "longitude": lon}
    dims = ("time", "latitude", "longitude")
    kelvin = 288.0 + rng.normal(size=(1, *shape))
    mask = np.ones((1, *shape), dtype="int8")
    mask[0, 0, :2] = 2  # land
    mask[0, 1, 0] = 4  # lake
    mask[0, -1, -1] = 9  # ice-covered sea
    ql = np.full((1, *shape), 5, dtype="int8")
    ql[0, 2, 3] = 3
    sst = kelvin.copy()
    sst[0, 3, 2] = np.nan  # a cloud
    l3s = xr.Dataset(
        {
            "sea_surface_temperature": (dims, sst, {"units": "kelvin"}),
            "quality_level": (dims, ql),
        },
        coords=coords,
    )
    l4 = xr.Dataset(
        {"analysed_sst": (dims, kelvin, {"units": "kelvin"}), "mask": (dims, mask)}, coords=coords
    )
    return l3s, l4


def test_to_celsius_uses_the_units():
    k = xr.DataArray([271.15, 303.15], dims="x", attrs={"units": "K"})
    np.testing.assert_allclose(to_celsius(k).values, [-2.0, 30.0])
    c = xr.DataArray([10.0, 20.0], dims="x", attrs={"units": "degC"})
    np.testing.assert_allclose(to_celsius(c).values, [10.0, 20.0])


@pytest.mark.parametrize(
    ("values", "units", "match"),
    [
        pytest.param([15.0, 20.0], "kelvin", "look like degC", id="celsius-labelled-kelvin"),
        pytest.param([290.0, 300.0], "degC", "look like kelvin", id="kelvin-labelled-celsius"),
        pytest.param([290.0, 300.0], None, "no 'units' attribute", id="no-units"),
        pytest.param([290.0, 300.0], "m", "not a temperature", id="not-a-temperature"),
    ],
)
def test_unit_mixups_raise(values, units, match):
    attrs = {} if units is None else {"units": units}
    with pytest.raises(ValueError, match=match):
        to_celsius(xr.DataArray(values, dims="x", attrs=attrs, name="sst"))


_SPELLINGS = [
    *[(u, "kelvin", 300.15) for u in ("K", "kelvin", "Kelvin", "kelvins", "degK", "degrees_K")],
    *[
        (u, "degC", 27.0)
        for u in (
            "degC",
            "deg_C",
            "degrees_C",
            "degree_Celsius",
            "degrees_Celsius",
            "celsius",
            "°C",
            "C",
            "deg C",
        )
    ],
    *[(u, "degF", 80.6) for u in ("degF", "degree_Fahrenheit", "fahrenheit", "°F", "deg F")],
]


@pytest.mark.parametrize(("units", "unit", "value"), _SPELLINGS, ids=lambda x: str(x))
def test_one_unit_recogniser_for_every_reader(units, unit, value):
    from eogapfill.plot import _celsius

    assert temperature_unit(units) == unit
    da = xr.DataArray([value], dims="x", attrs={"units": units}, name="sst")
    np.testing.assert_allclose(to_celsius(da).values, [27.0])
    np.testing.assert_allclose(_celsius(da).values, [27.0])
    low, high = sea_water_bounds(units)
    assert low < value < high


@pytest.mark.parametrize("units", ["", "m", "1", "degrees_north", None])
def test_what_is_not_a_temperature(units):
    assert temperature_unit(units) is None


def test_quality_filter_keeps_level_5_only():
    sst = xr.DataArray([1.0, 2.0, 3.0], dims="x")
    ql = xr.DataArray([5, 4, 5], dims="x")
    assert np.isnan(quality_filter(sst, ql).values).tolist() == [False, True, False]
    with pytest.raises(ValueError, match="0..5"):
        quality_filter(sst, ql, min_level=7)


def test_sea_mask_excludes_land_lake_and_ice():
    mask = xr.DataArray(np.array([1, 2, 4, 9, 1], dtype="int8"), dims="x")
    assert sea_mask(mask).values.tolist() == [True, False, False, False, True]


def test_prepare_day_separates_clouds_from_land():
    l3s, l4 = _products(lat_descending=True)
    day = prepare_day(l3s, l4)
    assert list(day.data_vars) == ["SST_L3S", "SST_L4", "mask", "sea"]
    assert day["SST_L3S"].attrs["units"] == "degC"
    assert np.all(np.diff(day.latitude.values) > 0)
    sea = day["sea"].values
    observed = np.isfinite(day["SST_L3S"].values)
    assert not observed[~sea].any()  # land, lake and ice are never observations
    assert np.isfinite(day["SST_L4"].values[sea]).all()
    gaps = sea & ~observed
    assert gaps.sum() == 2  # the cloud and the quality-3 pixel
    l3s_c = l3s["sea_surface_temperature"].isel(time=0).sortby("latitude").values - 273.15
    np.testing.assert_allclose(day["SST_L3S"].values[observed], l3s_c[observed])


def test_prepare_day_rejects_mismatched_inputs():
    l3s, l4 = _products()
    with pytest.raises(ValueError, match="different grids"):
        prepare_day(l3s, l4.isel(longitude=slice(0, 4)))
    _, l4_other = _products(day="2024-06-02")
    with pytest.raises(ValueError, match="open the same day"):
        prepare_day(l3s, l4_other)
    with pytest.raises(ValueError, match="no 'quality_level'"):
        prepare_day(l3s.drop_vars("quality_level"), l4)
    two_days = xr.concat([l3s, l3s.assign_coords(time=[pd.Timestamp("2024-06-02")])], "time")
    with pytest.raises(ValueError, match="holds 2 days"):
        prepare_day(two_days, l4)


def test_save_and_load_round_trip(tmp_path):
    day = prepare_day(*_products())
    path = save_day(day, tmp_path / "day.zarr")
    xr.testing.assert_identical(load_day(path).load(), day)
    with pytest.raises(FileNotFoundError, match="save_day"):
        load_day(tmp_path / "nothing.zarr")


def test_prepare_sample_day(sample_day):
    sea = sample_day["sea"].values
    observed = np.isfinite(sample_day["SST_L3S"].values)
    cloud_fraction = 1 - observed[sea].mean()
    assert 0.15 < cloud_fraction < 0.6
    assert -3 < float(sample_day["SST_L4"].min()) and float(sample_day["SST_L4"].max()) < 36
