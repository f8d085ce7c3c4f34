"""The fill contract, run over every method of the registry.

Every fill (:mod:`eogapfill.fill.common`) returns the observed cells bit-identical, leaves land
NaN, fills every gap, ignores the values inside the gaps, records its protocol, refuses an
empty gap mask with a clear ``ValueError``, and, when it draws members, gives the same members
for the same seed. A space-time method (grid ``"healpix-stack"``) keeps the same contract for
the day it fills out of a stack of days, ``fill(stack, target)``, and ignores the values inside
the gaps of every day. A method gets these tests by being registered
(:data:`eogapfill.fill.METHODS`); its own test file keeps what is particular to it.
"""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eogapfill.fill import METHODS, FillMethod
from eogapfill.healpix import healpix_dataset
from tests.markers import marks_of

NSIDE = 16  # the smallest grid every HEALPix fill takes (foscat's masks need 16)
RES = 4.0  # degrees, the lat/lon scene
PROTOCOLS = ("honest", "previous-day", "oracle")


def _params(*, stochastic: bool | None = None) -> list:
    """The single-day methods (a map in, the map filled)."""
    return [
        pytest.param(name, id=name, marks=marks_of(entry))
        for name, entry in METHODS.items()
        if (stochastic is None or entry.stochastic == stochastic) and not entry.spacetime
    ]


def _stack_params(*, stochastic: bool | None = None) -> list:
    """The space-time methods (a stack of days and a target day in, that day filled)."""
    return [
        pytest.param(name, id=name, marks=marks_of(entry))
        for name, entry in METHODS.items()
        if entry.spacetime and (stochastic is None or entry.stochastic == stochastic)
    ]


# --------------------------------------------------------------------------------------------
# one small scene per grid
# --------------------------------------------------------------------------------------------
def _healpix_scene(seed: int = 0) -> tuple[xr.Dataset, np.ndarray]:
    """A smooth field with small-scale noise, a continent, cloud discs over the sea."""
    npix = 12 * NSIDE**2
    x, y, z = hp.pix2vec(NSIDE, np.arange(npix), nest=True)
    rng = np.random.default_rng(seed)
    field = 18.0 + 8.0 * z + 2.0 * x * y + rng.normal(0.0, 0.3, npix)
    land = np.zeros(npix, dtype=bool)
    land[hp.query_disc(NSIDE, hp.ang2vec(20.0, 10.0, lonlat=True), np.radians(30), nest=True)] = (
        True
    )
    gap = np.zeros(npix, dtype=bool)
    for lon, lat in rng.uniform([-180, -60], [180, 60], size=(10, 2)):
        vec = hp.ang2vec(lon, lat, lonlat=True)
        gap[hp.query_disc(NSIDE, vec, np.radians(12), nest=True)] = True
    gap &= ~land
    sst = np.where(land | gap, np.nan, field)
    ds = healpix_dataset({"SST_L3S": sst, "gap": gap, "sea": ~land}, NSIDE)
    ds["SST_L3S"].attrs["units"] = "degC"
    return ds, land


def _latlon_scene(seed: int = 0) -> tuple[xr.Dataset, np.ndarray]:
    """The same on a global lat/lon grid: two continents, an Antarctic, cloud discs."""
    lat = np.arange(-90.0 + RES / 2, 90.0, RES)
    lon = np.arange(-180.0 + RES / 2, 180.0, RES)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    rad_la, rad_lo = np.radians(la), np.radians(lo)
    field = 28.0 - 30.0 * np.sin(rad_la) ** 2 + 2.0 * np.cos(rad_lo) * np.cos(rad_la)
    land = (
        ((abs(lo - 20) < 25) & (abs(la - 10) < 30))
        | ((abs(lo + 100) < 20) & (abs(la - 45) < 15))
        | (la < -75)
    )
    rng = np.random.default_rng(seed)
    gap = np.zeros(la.shape, dtype=bool)
    for _ in range(12):
        c_la, c_lo = np.arcsin(rng.uniform(-0.9, 0.9)), rng.uniform(-np.pi, np.pi)
        cos = np.sin(rad_la) * np.sin(c_la) + np.cos(rad_la) * np.cos(c_la) * np.cos(rad_lo - c_lo)
        gap |= cos > np.cos(np.radians(rng.uniform(5.0, 15.0)))
    gap &= ~land
    coords = {"latitude": lat, "longitude": lon}
    dims = ("latitude", "longitude")
    ds = xr.Dataset(
        {
            "SST_L3S": xr.DataArray(
                np.where(land | gap, np.nan, field), coords, dims, attrs={"units": "degC"}
            ),
            "gap": xr.DataArray(gap, coords, dims),
            "sea": xr.DataArray(~land, coords, dims),
        }
    )
    return ds, land


@pytest.fixture(scope="module")
def scenes() -> dict[str, tuple[xr.Dataset, np.ndarray]]:
    """The shared scene of each grid: ``(day, land)``, the day with ``SST_L3S`` and ``gap``."""
    return {"healpix": _healpix_scene(), "latlon": _latlon_scene()}


def _options(entry: FillMethod, seed: int = 1) -> dict:
    """Small, quick, reproducible settings, from the options the fill takes."""
    quick = {"n_epochs": 2, "threads": 1, "progress": False, "n_members": 2, "seed": seed}
    return {key: value for key, value in quick.items() if key in entry.options}


def _fill(
    name: str, sst: xr.DataArray, gaps: xr.DataArray | np.ndarray, seed: int = 1
) -> xr.Dataset:
    entry = METHODS[name]
    return entry.load()(sst, gaps, **_options(entry, seed))


@pytest.fixture(scope="module")
def results(scenes) -> dict[str, xr.Dataset]:
    """Each method's fill of its grid's scene, computed once."""

    class Results(dict):
        def __missing__(self, name: str) -> xr.Dataset:
            day, _ = scenes[METHODS[name].grid]
            self[name] = _fill(name, day.SST_L3S, day.gap)
            return self[name]

    return Results()


def _variables(out: xr.Dataset) -> list[str]:
    return [name for name in ("filled", "members") if name in out]


# --------------------------------------------------------------------------------------------
# the contract
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", _params())
def test_observed_cells_come_back_bit_identical(name, scenes, results) -> None:
    day, _ = scenes[METHODS[name].grid]
    out = results[name]
    observed = ~day.gap.values
    for variable in _variables(out):
        values = out[variable].values.reshape(-1, *observed.shape)
        for member in values:
            assert np.array_equal(member[observed], day.SST_L3S.values[observed], equal_nan=True), (
                variable
            )
    assert out.filled.dims == day.SST_L3S.dims


@pytest.mark.parametrize("name", _params())
def test_land_stays_nan_and_every_gap_is_filled(name, scenes, results) -> None:
    day, land = scenes[METHODS[name].grid]
    out = results[name]
    for variable in _variables(out):
        values = out[variable].values.reshape(-1, *land.shape)
        assert np.isnan(values[:, land]).all(), variable
        assert np.isfinite(values[:, day.gap.values]).all(), variable


@pytest.mark.parametrize("name", _params())
def test_values_inside_the_gaps_are_ignored(name, scenes, results) -> None:
    day, _ = scenes[METHODS[name].grid]
    garbage = day.SST_L3S.where(~day.gap, 1.0e6)
    again = _fill(name, garbage, day.gap)
    for variable in _variables(again):
        assert np.array_equal(
            again[variable].values, results[name][variable].values, equal_nan=True
        ), variable


@pytest.mark.parametrize("name", _params())
def test_the_protocol_is_recorded(name, results) -> None:
    assert results[name].attrs["protocol"] == "honest"  # every default uses observed cells only
    assert results[name].attrs["protocol"] in PROTOCOLS


@pytest.mark.parametrize("name", _params())
def test_an_empty_gap_mask_is_refused(name, scenes) -> None:
    day, _ = scenes[METHODS[name].grid]
    with pytest.raises(ValueError, match="gap mask is empty"):
        _fill(name, day.SST_L3S, day.gap & False)


@pytest.mark.parametrize("name", _params(stochastic=True))
def test_same_seed_same_members_other_seed_other_members(name, scenes, results) -> None:
    day, _ = scenes[METHODS[name].grid]
    first = results[name]
    same = _fill(name, day.SST_L3S, day.gap, seed=1)
    other = _fill(name, day.SST_L3S, day.gap, seed=2)
    assert first.attrs["seed"] == 1
    assert first.sizes["member"] == 2
    np.testing.assert_array_equal(first.members.values, same.members.values)
    gap = day.gap.values
    assert not np.array_equal(first.members.values[:, gap], other.members.values[:, gap])


@pytest.mark.parametrize("name", _params())
def test_observed_cells_bit_identical_for_any_gap_mask(name, scenes) -> None:
    """Property: whatever the gap mask (scattered cells, from few to half the sea)."""
    day, land = scenes[METHODS[name].grid]
    complete = day.SST_L3S.fillna(day.SST_L3S.mean()).where(~xr.DataArray(land, dims=day.gap.dims))

    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(seed=st.integers(0, 2**32 - 1), fraction=st.floats(0.01, 0.5))
    def check(seed: int, fraction: float) -> None:
        rng = np.random.default_rng(seed)
        gaps = (rng.random(land.shape) < fraction) & ~land
        gaps.flat[np.flatnonzero(~land)[seed % int((~land).sum())]] = True  # never empty
        out = _fill(name, complete, gaps)
        observed = ~gaps
        for variable in _variables(out):
            values = out[variable].values.reshape(-1, *land.shape)
            for member in values:
                assert np.array_equal(member[observed], complete.values[observed], equal_nan=True)

    check()


def test_every_registered_method_is_in_the_matrix() -> None:
    names = {p.values[0] for p in _params()} | {p.values[0] for p in _stack_params()}
    assert names == set(METHODS)
    assert {p.values[0] for p in _params(stochastic=True)} | {
        p.values[0] for p in _stack_params(stochastic=True)
    } == {name for name, entry in METHODS.items() if entry.stochastic}


# --------------------------------------------------------------------------------------------
# the contract of a space-time method: one day of a stack of days
# --------------------------------------------------------------------------------------------
N_DAYS, TARGET = 5, 2


def _healpix_stack_scene() -> tuple[xr.Dataset, np.ndarray]:
    """Five days of the HEALPix scene: the field warming by 0.2 degC a day, new clouds each
    day, the same continent. Returns ``(stack, land)``."""
    days = [_healpix_scene(seed) for seed in range(N_DAYS)]
    land = days[0][1]
    field = [
        np.where(d.gap.values, d.SST_L3S.values, d.SST_L3S.values + 0.2 * t)
        for t, (d, _) in enumerate(days)
    ]
    stack = xr.Dataset(
        {
            "SST_L3S": (("time", "cells"), np.stack(field), {"units": "degC"}),
            "gap": (("time", "cells"), np.stack([d.gap.values for d, _ in days])),
            "sea": (("time", "cells"), np.broadcast_to(~land, (N_DAYS, land.size)).copy()),
        },
        coords={
            "cell_ids": days[0][0].cell_ids,
            "time": np.datetime64("2024-06-01", "ns") + np.arange(N_DAYS) * np.timedelta64(1, "D"),
        },
    )
    return stack, land


def _fill_stack(name: str, stack: xr.Dataset, target: int = TARGET, seed: int = 1) -> xr.Dataset:
    entry = METHODS[name]
    return entry.load()(stack, target, **_options(entry, seed))


@pytest.fixture(scope="module")
def stack_scene() -> tuple[xr.Dataset, np.ndarray]:
    return _healpix_stack_scene()


@pytest.fixture(scope="module")
def stack_results(stack_scene) -> dict[str, xr.Dataset]:
    """Each space-time method's fill of the target day of the stack, computed once."""

    class Results(dict):
        def __missing__(self, name: str) -> xr.Dataset:
            self[name] = _fill_stack(name, stack_scene[0])
            return self[name]

    return Results()


@pytest.mark.parametrize("name", _stack_params())
def test_a_spacetime_fill_gives_the_target_day_with_observed_cells_bit_identical(
    name, stack_scene, stack_results
) -> None:
    stack, _ = stack_scene
    out = stack_results[name]
    day = stack.isel(time=TARGET)
    observed = ~day.gap.values
    assert out.filled.dims == ("cells",)
    assert out["time"].values == stack["time"].values[TARGET]
    for variable in _variables(out):
        for member in out[variable].values.reshape(-1, observed.size):
            np.testing.assert_array_equal(member[observed], day.SST_L3S.values[observed])


@pytest.mark.parametrize("name", _stack_params())
def test_a_spacetime_fill_leaves_land_nan_and_fills_every_gap(
    name, stack_scene, stack_results
) -> None:
    stack, land = stack_scene
    out = stack_results[name]
    for variable in _variables(out):
        values = out[variable].values.reshape(-1, land.size)
        assert np.isnan(values[:, land]).all(), variable
        assert np.isfinite(values[:, stack.gap.values[TARGET]]).all(), variable
    if METHODS[name].gives_std():
        std = out.filled_std.values
        assert (std[stack.gap.values[TARGET]] > 0).all() and (
            std[~land & ~stack.gap.values[TARGET]] == 0
        ).all()
    assert out.attrs["protocol"] == "honest"


@pytest.mark.parametrize("name", _stack_params())
def test_a_spacetime_fill_ignores_the_values_inside_every_days_gaps(
    name, stack_scene, stack_results
) -> None:
    stack, _ = stack_scene
    garbage = stack.copy()
    garbage["SST_L3S"] = stack.SST_L3S.where(~stack.gap, 1.0e6)
    again = _fill_stack(name, garbage)
    for variable in _variables(again):
        np.testing.assert_array_equal(again[variable].values, stack_results[name][variable].values)


@pytest.mark.parametrize("name", _stack_params())
def test_a_spacetime_fill_refuses_a_target_without_gap(name, stack_scene) -> None:
    stack, _ = stack_scene
    clear = stack.copy()
    clear["gap"] = stack.gap.where(stack.time != stack.time[TARGET], False)
    with pytest.raises(ValueError, match="gap mask is empty"):
        _fill_stack(name, clear)
    with pytest.raises(ValueError, match=r"target must be a day index in 0\.\.4"):
        _fill_stack(name, stack, target=N_DAYS)


@pytest.mark.parametrize("name", _stack_params(stochastic=True))
def test_a_spacetime_fill_gives_the_same_members_for_the_same_seed(
    name, stack_scene, stack_results
) -> None:
    stack, _ = stack_scene
    first = stack_results[name]
    same = _fill_stack(name, stack, seed=1)
    other = _fill_stack(name, stack, seed=2)
    assert first.attrs["seed"] == 1 and first.sizes["member"] == 2
    np.testing.assert_array_equal(first.members.values, same.members.values)
    gap = stack.gap.values[TARGET]
    assert not np.array_equal(first.members.values[:, gap], other.members.values[:, gap])


@pytest.mark.parametrize("name", _stack_params())
def test_a_spacetime_entry_says_its_window_and_takes_a_stack_and_a_target(name) -> None:
    import inspect

    entry = METHODS[name]
    assert entry.grid == "healpix-stack" and entry.window >= 0 and entry.min_days >= 1
    inputs = list(inspect.signature(entry.load()).parameters)[:2]
    assert inputs == ["stack", "target"]
    assert not {"stack", "target"} & set(entry.options)
    if "window" in entry.options:  # the function's own default is the entry's
        assert entry.options["window"].default == entry.window
