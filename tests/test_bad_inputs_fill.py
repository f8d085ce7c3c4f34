"""Bad inputs and implausible outputs of the fills: every case fails loudly or stays physical.

The sweep runs every cheap fill with its default options on every day of the sample at
nside 16 and 32 and checks that no gap value leaves what sea water can have; the finer grids
(64 to 256) are swept by ``benchmarks/bench_bounds.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eogapfill.fill import get_method
from eogapfill.fill.alm import constrained_lmax, fill_alm
from eogapfill.fill.common import SEA_WATER_DEGC, ImplausibleTemperatureWarning
from eogapfill.fill.noise import fill_noise
from eogapfill.fill.oi import fill_oi
from eogapfill.fill.registry import METHODS
from eogapfill.healpix import healpix_dataset
from eogapfill.sample import SAMPLE_DAYS, SAMPLE_START
from tests.conftest import TEST_RESOLUTION

DAYS = [d.strftime("%Y-%m-%d") for d in pd.date_range(SAMPLE_START, periods=SAMPLE_DAYS)]
#: The cloudiest day of the sample: large seas under one cloud.
CLOUDY_DAY = DAYS[-1]
#: A day on which the plain degree-15 fit is constrained yet overshoots in the gaps (nside 16).
OVERSHOOT_DAY = DAYS[2]


def _healpix_day(date: str, nside: int) -> xr.Dataset:
    from eogapfill.data import open_l3s, open_l4
    from eogapfill.preprocess import prepare_day
    from eogapfill.regrid import to_healpix

    day = prepare_day(
        open_l3s(date, resolution=TEST_RESOLUTION), open_l4(date, resolution=TEST_RESOLUTION)
    ).load()
    return to_healpix(day, nside)


@pytest.fixture(scope="module")
def days(sample_dir) -> dict[tuple[str, int], xr.Dataset]:
    """Every sample day on HEALPix at nside 16 and 32."""
    return {(d, n): _healpix_day(d, n) for d in DAYS for n in (16, 32)}


def _gap_range(out: xr.Dataset, gaps: np.ndarray) -> tuple[float, float]:
    values = [out.filled.values[gaps]]
    if "members" in out:
        values.append(out.members.values[:, gaps].ravel())
    both = np.concatenate(values)
    return float(both.min()), float(both.max())


@pytest.mark.parametrize("nside", [16, 32])
@pytest.mark.parametrize(
    "method",
    [
        pytest.param("laplace", id="laplace"),
        pytest.param("noise", id="noise"),
        pytest.param("alm", id="alm"),
        pytest.param("oi", id="oi"),
    ],
)
def test_default_fills_stay_in_sea_water_on_every_sample_day(days, method, nside) -> None:
    fill = get_method(method)
    low, high = SEA_WATER_DEGC
    for date in DAYS:
        ds = days[(date, nside)]
        with warnings.catch_warnings():
            warnings.simplefilter("error", ImplausibleTemperatureWarning)
            out = fill(ds)
        lo, hi = _gap_range(out, ds.gap.values)
        assert low <= lo and hi <= high, f"{method} on {date} at nside {nside}: [{lo}, {hi}]"
        assert out.attrs["n_implausible"] == 0


def test_oi_with_members_stays_in_sea_water_on_the_cloudiest_day(days) -> None:
    ds = days[(CLOUDY_DAY, 32)]
    out = fill_oi(ds, n_members=4, seed=0)
    lo, hi = _gap_range(out, ds.gap.values)
    assert SEA_WATER_DEGC[0] <= lo and hi <= SEA_WATER_DEGC[1]


def test_the_raw_harmonic_fit_warns_and_says_where(days) -> None:
    ds = days[(OVERSHOOT_DAY, 16)]
    with pytest.warns(ImplausibleTemperatureWarning, match="outside what sea water can have") as w:
        out = fill_alm(ds, ridge=0.0, clip=False)
    message = str(w[0].message)
    assert "degC" in message and ("E " in message or "W " in message)
    assert out.attrs["n_implausible"] > 0
    lo, hi = _gap_range(out, ds.gap.values)
    assert lo < SEA_WATER_DEGC[0] or hi > SEA_WATER_DEGC[1]


def test_the_bounds_warning_can_be_made_an_error(days) -> None:
    ds = days[(OVERSHOOT_DAY, 16)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImplausibleTemperatureWarning)
        with pytest.raises(ImplausibleTemperatureWarning, match="make this an error"):
            fill_alm(ds, ridge=0.0, clip=False)
    out = fill_alm(ds)  # the defaults (a small ridge, clipped to the observed range) do not
    assert out.attrs["n_implausible"] == 0 and out.attrs["n_clipped"] >= 0


def test_the_harmonic_oi_background_is_refused_where_the_default_fills(days) -> None:
    ds = days[(CLOUDY_DAY, 32)]
    with pytest.raises(ValueError, match="cannot constrain a fit up to lmax=15"):
        fill_oi(ds, background="harmonic")
    out = fill_oi(ds)
    assert out.attrs["background"] == "blended" and out.attrs["n_implausible"] == 0


def test_oi_std_carries_the_background_error_far_from_the_data(days) -> None:
    ds = days[(CLOUDY_DAY, 32)]
    out = fill_oi(ds)
    prior = np.sqrt(out.attrs["covariance_sill"] + out.attrs["covariance_nugget"])
    assert out.attrs["background_error_max_degC"] > 0
    # kriging alone never exceeds the prior standard deviation; with the background error the
    # cells farthest from the data do
    assert out.filled_std.values[ds.gap.values].max() > prior


@pytest.mark.parametrize("lmax", [20, 25, 30])
def test_an_lmax_the_data_cannot_constrain_is_refused_with_one_that_works(days, lmax) -> None:
    ds = days[(CLOUDY_DAY, 16)]
    with pytest.raises(ValueError, match=rf"cannot constrain a fit up to lmax={lmax}") as err:
        fill_alm(ds, lmax=lmax, ridge=0.0)
    suggested = int(str(err.value).split("Use lmax=")[1].split(" ")[0])
    assert 0 <= suggested < lmax
    out = fill_alm(ds, lmax=suggested, ridge=0.0)  # the named degree works
    assert np.isfinite(out.filled.values[ds.gap.values]).all()


def test_constrained_lmax_of_a_well_observed_map_is_the_requested_one() -> None:
    from eogapfill.harmonics import normal_equations

    nside = 16
    values = 20 + np.random.default_rng(0).normal(size=12 * nside**2)
    observed = np.ones(values.size, bool)
    normal, _ = normal_equations(values, observed, nside, 10)
    assert constrained_lmax(normal, 10) == 10


def _small_map() -> xr.Dataset:
    nside = 8
    values = 20 + np.random.default_rng(1).normal(size=12 * nside**2)
    gaps = np.zeros(values.size, bool)
    gaps[::5] = True
    ds = healpix_dataset({"SST_L3S": np.where(gaps, np.nan, values), "gap": gaps}, nside)
    ds["SST_L3S"].attrs["units"] = "degC"
    return ds


@pytest.mark.parametrize(
    ("fill", "kwargs", "match"),
    [
        pytest.param(
            fill_oi, {"n_members": True}, "n_members must be int, got True", id="oi-bool-members"
        ),
        pytest.param(
            fill_oi,
            {"n_members": -1},
            "n_members must be an integer >= 0",
            id="oi-negative-members",
        ),
        pytest.param(
            fill_oi, {"n_members": 2.0}, "n_members must be int, got 2.0", id="oi-float-members"
        ),
        pytest.param(
            fill_oi,
            {"n_neighbours": 0},
            "n_neighbours must be >= 1, got 0",
            id="oi-no-neighbours",
        ),
        pytest.param(
            fill_oi, {"n_members": 1, "seed": -1}, "seed must be an integer", id="oi-negative-seed"
        ),
        pytest.param(
            fill_oi,
            {"n_members": 1, "seed": 1.5},
            "seed must be int or None, got 1.5",
            id="oi-fractional-seed",
        ),
        pytest.param(
            fill_oi,
            {"background": "zonal"},
            "background must be one of",
            id="oi-unknown-background",
        ),
        pytest.param(
            fill_oi,
            {"background_reach_km": 0},
            "background_reach_km must be > 0",
            id="oi-zero-reach",
        ),
        pytest.param(
            fill_noise, {"n_members": True}, "n_members must be int", id="noise-bool-members"
        ),
        pytest.param(
            fill_noise, {"n_members": 0}, "n_members must be an integer >= 1", id="noise-no-members"
        ),
        pytest.param(fill_noise, {"seed": -3}, "seed must be an integer", id="noise-negative-seed"),
        pytest.param(fill_noise, {"seed": True}, "seed must be int or None", id="noise-bool-seed"),
    ],
)
def test_bad_fill_options_raise_before_any_work(fill, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        fill(_small_map(), **kwargs)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("laplace", {"max_iter": 0}),
        ("laplace", {"tol": -1.0}),
        ("noise", {"std": -0.5}),
        ("alm", {"lmax": -5}),
        ("alm", {"ridge": -1.0}),
        ("oi", {"lmax": -5}),
        ("oi", {"background": "bogus"}),
        ("oi", {"variance_scale_km": 0.0}),
    ],
)
def test_a_fill_refuses_an_option_with_the_registry_message(name, options) -> None:
    """One set of bounds: the function refuses what the command line refuses, in its words."""
    entry = METHODS[name]
    with pytest.raises(ValueError) as registry_error:
        entry.check_options(options)
    with pytest.raises(ValueError) as fill_error:
        entry.load()(_small_map(), **options)
    assert str(fill_error.value) == str(registry_error.value)


@pytest.mark.parametrize(
    "fill", [pytest.param(fill_oi, id="oi"), pytest.param(fill_noise, id="noise")]
)
def test_no_seed_records_one_that_reproduces_the_members(fill) -> None:
    ds = _small_map()
    first = fill(ds, n_members=2, seed=None)
    seed = first.attrs["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    again = fill(ds, n_members=2, seed=seed)
    np.testing.assert_array_equal(first.members.values, again.members.values)


def test_a_kelvin_map_is_checked_in_kelvin() -> None:
    ds = _small_map()
    ds["SST_L3S"] = ds["SST_L3S"] + 273.15
    ds["SST_L3S"].attrs["units"] = "K"
    out = fill_oi(ds, covariance="fit")
    assert out.attrs["n_implausible"] == 0  # 293 K is sea water


@pytest.mark.parametrize("method", ["laplace", "noise", "alm", "oi"])
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        pytest.param(lambda ds: ds.expand_dims(time=2), "single day", id="two-days"),
        pytest.param(
            lambda ds: ds.isel(cells=slice(None, None, -1)),
            "cell_ids must be increasing",
            id="reordered-cells",
        ),
    ],
)
def test_every_healpix_fill_shares_one_input_check(method, mutate, match) -> None:
    ds = mutate(_small_map())
    with pytest.raises(ValueError, match=match):
        get_method(method)(ds)
