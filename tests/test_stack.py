"""HEALPix stacks of days: each day is the single-day regridding, on one grid."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eogapfill.healpix import grid_of
from eogapfill.regrid import to_healpix
from eogapfill.stack import check_stack, healpix_stack, open_stack


def latlon_cube(n_days: int = 3, step: float = 2.0) -> xr.Dataset:
    """A lat/lon cube: a warm equator, clouds moving east by 20 degrees a day, land in a box."""
    lat = np.arange(-89.0, 90.0, step)
    lon = np.arange(-179.0, 180.0, step)
    glon, glat = np.meshgrid(lon, lat)
    land = (np.abs(glon) < 20) & (np.abs(glat) < 20)
    days = []
    for t in range(n_days):
        sst = 25 * np.cos(np.radians(glat)) + 0.1 * t
        clouds = np.abs(((glon - 20 * t + 180) % 360) - 180) < 30
        days.append(np.where(land | clouds, np.nan, sst))
    time = np.datetime64("2024-06-01") + np.arange(n_days) * np.timedelta64(1, "D")
    return xr.Dataset(
        {
            "SST_L3S": (("time", "latitude", "longitude"), np.stack(days), {"units": "degC"}),
            "sea": (("latitude", "longitude"), ~land),
        },
        coords={"time": time, "latitude": lat, "longitude": lon},
    )


def test_each_day_is_its_own_regridding() -> None:
    cube = latlon_cube()
    stack = healpix_stack(cube, 16)
    assert stack["SST_L3S"].dims == ("time", "cells")
    assert stack.sizes == {"time": 3, "cells": 12 * 16**2}
    assert dict(stack["cell_ids"].attrs)["level"] == 4
    for t in range(3):
        day = to_healpix(cube.isel(time=t), 16, variables=("SST_L3S",))
        np.testing.assert_array_equal(stack["SST_L3S"].values[t], day["SST_L3S"].values)
        np.testing.assert_array_equal(stack["gap"].values[t], day["gap"].values)
    # the clouds move: the gaps differ from day to day
    assert (stack["gap"].values[0] != stack["gap"].values[1]).any()
    values, gaps, sea = check_stack(stack, "test")
    assert not np.isfinite(values[gaps]).any() and not (gaps & ~sea).any()


def test_regional_stack_is_the_sphere_on_its_cells() -> None:
    cube = latlon_cube(2)
    box = (30.0, 60.0, -10.0, 20.0)
    region = healpix_stack(cube, 16, region=box)
    sphere = healpix_stack(cube, 16)
    grid = grid_of(region)
    assert grid.is_partial and region.attrs["healpix_partial"] == 1
    np.testing.assert_array_equal(region["SST_L3S"].values, sphere["SST_L3S"].values[:, grid.ids])


def test_lazy_cube_gives_the_same_stack() -> None:
    cube = latlon_cube(2)
    lazy = healpix_stack(cube.chunk({"time": 1}), 16)
    np.testing.assert_array_equal(lazy["SST_L3S"].values, healpix_stack(cube, 16)["SST_L3S"].values)


def test_bad_cubes_are_refused() -> None:
    cube = latlon_cube(2)
    with pytest.raises(ValueError, match="no \\['sea'\\]"):
        healpix_stack(cube.drop_vars("sea"), 16)
    with pytest.raises(ValueError, match="no 'time' dimension"):
        healpix_stack(cube.isel(time=0), 16)


def test_open_stack_of_the_sample() -> None:
    stack = open_stack("2024-06-01", "2024-06-03", 16)
    assert stack.sizes["time"] == 3
    assert str(stack["time"].values[0])[:10] == "2024-06-01"
    gaps = stack["gap"].values
    assert gaps.any(axis=1).all() and (gaps[0] != gaps[1]).any()
    with pytest.raises(ValueError, match="start <= end"):
        open_stack("2024-06-03", "2024-06-01", 16)


def test_maps_regridded_one_by_one_stack_as_the_cube_does() -> None:
    from eogapfill.stack import stack_days

    cube = latlon_cube(3)
    maps = [to_healpix(cube.isel(time=t), 16, variables=("SST_L3S",)) for t in range(3)]
    joined, whole = stack_days(maps), healpix_stack(cube, 16)
    for name in ("SST_L3S", "gap", "sea"):
        np.testing.assert_array_equal(joined[name].values, whole[name].values)
    np.testing.assert_array_equal(joined["time"].values, whole["time"].values)
    assert grid_of(joined) == grid_of(whole)
    with pytest.raises(ValueError, match="increasing time order"):
        stack_days(maps[::-1])
    with pytest.raises(ValueError, match="map 1 has no gap"):
        stack_days([maps[0], maps[1].drop_vars("gap")])
    with pytest.raises(ValueError, match="no map given"):
        stack_days([])
