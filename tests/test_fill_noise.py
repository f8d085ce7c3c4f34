"""Laplace + white noise: the null stochastic control."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr

from eogapfill.fill.laplace import fill_laplace
from eogapfill.fill.noise import DEFAULT_NOISE_STD, fill_noise, observed_neighbour_std
from eogapfill.healpix import healpix_dataset

NSIDE = 32


def make_day(nside: int = NSIDE, seed: int = 0) -> tuple[xr.Dataset, np.ndarray]:
    """Smooth field with small-scale noise, a continent, and cloud discs over the sea."""
    npix = 12 * nside**2
    x, y, z = hp.pix2vec(nside, np.arange(npix), nest=True)
    rng = np.random.default_rng(seed)
    field = 18.0 + 8.0 * z + 2.0 * x * y + rng.normal(0.0, 0.3, npix)
    land = np.zeros(npix, dtype=bool)
    land[hp.query_disc(nside, hp.ang2vec(20.0, 10.0, lonlat=True), np.radians(30), nest=True)] = (
        True
    )
    gap = np.zeros(npix, dtype=bool)
    for lon, lat in rng.uniform([-180, -60], [180, 60], size=(12, 2)):
        vec = hp.ang2vec(lon, lat, lonlat=True)
        gap[hp.query_disc(nside, vec, np.radians(12), nest=True)] = True
    gap &= ~land
    sst = np.where(land | gap, np.nan, field)
    return healpix_dataset({"SST_L3S": sst, "gap": gap, "sea": ~land}, nside), land


def test_members_differ_in_gaps_only_and_keep_observations():
    ds, land = make_day()
    out = fill_noise(ds, n_members=5, seed=0)
    members = out.members.values
    gap = ds.gap.values
    assert members.shape == (5, ds.sizes["cells"])
    assert out.members.dims == ("member", "cells")
    for m in range(5):
        assert np.array_equal(members[m, ~gap], ds.SST_L3S.values[~gap], equal_nan=True)
        assert np.isfinite(members[m, gap]).all()
    assert np.isnan(out.filled.values[land]).all()
    assert (np.diff(members[:, gap], axis=0) != 0).all()
    np.testing.assert_allclose(out.filled.values[gap], members[:, gap].mean(axis=0))


def test_spread_matches_the_requested_std_in_gaps_and_is_zero_elsewhere():
    ds, _ = make_day()
    std = 0.7
    out = fill_noise(ds, n_members=4, seed=1, std=std)
    gap = ds.gap.values
    spread = out.filled_std.values
    assert (spread[~gap] == 0).all()
    assert np.sqrt(np.mean(spread[gap] ** 2)) == pytest.approx(std, rel=0.05)
    base = fill_laplace(ds).filled.values
    noise = out.members.values[:, gap] - base[gap]
    assert noise.std() == pytest.approx(std, rel=0.05)
    assert abs(noise.mean()) < 4 * std / np.sqrt(noise.size)
    assert out.attrs["noise_std_degC"] == std


def test_default_std_is_the_observed_neighbour_difference_std():
    ds, _ = make_day()
    sst = ds.SST_L3S.values
    observed = np.isfinite(sst) & ~ds.gap.values
    # independent computation with healpy's neighbour query
    nb = hp.get_all_neighbours(NSIDE, np.arange(sst.size), nest=True)  # (8, npix)
    values = np.where(nb >= 0, np.where(observed, sst, np.nan)[nb], np.nan)
    has = np.isfinite(values).any(axis=0) & observed
    diff = sst[has] - np.nanmean(values[:, has], axis=0)
    expected = diff.std()
    assert observed_neighbour_std(ds) == pytest.approx(expected, rel=1e-12)
    out = fill_noise(ds, seed=0)
    assert out.attrs["noise_std_degC"] == pytest.approx(expected, rel=1e-12)
    # white noise of std 0.3 on a smooth field: about 0.3 * sqrt(1 + 1/8)
    assert expected == pytest.approx(0.3 * np.sqrt(1 + 1 / 8), rel=0.1)


def test_single_member_and_given_base():
    ds, _ = make_day()
    base = fill_laplace(ds)
    out = fill_noise(ds, base=base, n_members=1, seed=3, std=0.2)
    gap = ds.gap.values
    np.testing.assert_array_equal(out.filled.values, out.members.values[0])
    np.testing.assert_array_equal(out.filled_std.values[gap], 0.2)
    assert out.attrs["base_fill"] == "laplace"
    again = fill_noise(ds, base=base.filled.values, n_members=1, seed=3, std=0.2)
    np.testing.assert_array_equal(again.filled.values, out.filled.values)
    assert again.attrs["base_fill"] == "given"


def test_zero_std_gives_the_base_fill():
    ds, _ = make_day()
    out = fill_noise(ds, n_members=2, seed=0, std=0.0)
    np.testing.assert_array_equal(out.filled.values, fill_laplace(ds).filled.values)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"n_members": 0}, "n_members", id="no-members"),
        pytest.param({"n_members": 2.5}, "n_members", id="float-members"),
        pytest.param({"std": -1.0}, "std", id="negative-std"),
        pytest.param({"std": np.nan}, "std", id="nan-std"),
        pytest.param({"base": "alm"}, "base must be", id="unknown-base"),
        pytest.param({"base": np.zeros(5)}, "shape", id="base-shape"),
        pytest.param({"base": np.full(12 * NSIDE**2, np.nan)}, "NaN in the gaps", id="base-nan"),
        pytest.param({"base": xr.Dataset()}, "'filled'", id="base-no-filled"),
    ],
)
def test_bad_options_raise(options, match):
    ds, _ = make_day()
    with pytest.raises(ValueError, match=match):
        fill_noise(ds, seed=0, **options)


def test_no_observed_neighbour_pair_falls_back_to_the_default_std_with_a_warning():
    """A small region under clouds: no noise level to measure, a default that says so."""
    nside = 4
    sst = np.full(12 * nside**2, np.nan)
    sst[0] = 20.0  # one observation: no neighbour difference can be formed
    gap = np.isnan(sst)
    ds = healpix_dataset({"SST_L3S": sst, "gap": gap}, nside)
    with pytest.raises(ValueError, match="std="):
        observed_neighbour_std(ds)
    with pytest.warns(UserWarning, match="default std 0.4 degC"):
        out = fill_noise(ds, seed=0, n_members=200)
    assert out.attrs["noise_std_default"] == 1
    assert out.attrs["noise_std_degC"] == DEFAULT_NOISE_STD
    assert out.members.values[:, 0].tolist() == [20.0] * 200  # the observation stays
    deviation = out.members.values[:, gap] - fill_laplace(ds).filled.values[gap]
    assert abs(deviation.std() - DEFAULT_NOISE_STD) < 0.02
    given = fill_noise(ds, seed=0, std=0.5)
    assert given.attrs["noise_std_default"] == 0
    assert np.isfinite(given.filled.values).all()
